"""Soak: query load (dnsperf) plus event churn; RSS stays flat, no answer is lost, and the
final state is exactly the last event of every key. SOAK_SECONDS (default 20; `make soak`
runs 60) sets the duration."""
import json
import os
import random
import subprocess
import tempfile
import threading
import time

import dns.rcode

from streamdns import Authd, Broker, rr

SOAK_SECONDS = int(os.environ.get("SOAK_SECONDS", "20"))
# ASan keeps freed memory in quarantine (up to 256 MB), so under the sanitizers RSS says
# nothing about leaks (LeakSanitizer checks those at exit); the bound is for real builds.
RSS_GROWTH_BOUND_MB = 8 if not os.environ.get("STREAMDNS_SANITIZED") else 512
SOA = "ns.soak.test. h.soak.test. 1 3600 900 604800 60"


def rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def churn(broker, stop, expected):
    """Updates and deletes 200 RRsets through one kcat process until stop is set."""
    rng = random.Random(5)
    p = subprocess.Popen(["kcat", "-P", "-b", broker.address, "-t", broker.topic, "-K", "\t",
                          "-Z", "-X", "linger.ms=5"], stdin=subprocess.PIPE, text=True)
    n = 0
    while not stop.is_set():
        for _ in range(50):
            i = rng.randrange(200)
            key = "k%d.soak.test.|A" % i
            if rng.random() < 0.2:
                p.stdin.write("%s\t\n" % key)
                expected[i] = None
            else:
                addr = "10.0.%d.%d" % (n >> 8 & 255, n & 255)
                p.stdin.write("%s\t%s\n" % (key, json.dumps(
                    [rr("k%d.soak.test." % i, "A", addr)])))
                expected[i] = addr
            n += 1
        p.stdin.flush()
        time.sleep(0.05)      # ~1,000 events/s
    p.stdin.close()
    assert p.wait(30) == 0
    return n


def test_soak():
    broker = Broker(partitions=4)
    d = tempfile.mkdtemp()
    qfile = os.path.join(d, "q")
    with open(qfile, "w") as f:
        for i in range(200):
            f.write("k%d.soak.test. A\nnx%d.soak.test. A\n" % (i, i))
    try:
        broker.produce([("soak.test.|SOA", [rr("soak.test.", "SOA", SOA)])])
        a = Authd(broker.address)
        a.wait_ready()
        a.wait_for("soak.test.", "SOA", lambda r: r.answer)
        expected, stop = {}, threading.Event()
        t = threading.Thread(target=lambda: expected.update(
            {"_events": churn(broker, stop, expected)}))
        t.start()
        perf = subprocess.Popen(["dnsperf", "-s", "127.0.0.1", "-p", str(a.port), "-d", qfile,
                                 "-l", str(SOAK_SECONDS), "-Q", "5000", "-c", "2"],
                                stdout=subprocess.PIPE, text=True)
        samples, t0 = [], time.time()
        while perf.poll() is None:
            samples.append((time.time() - t0, rss_mb(a.proc.pid)))
            time.sleep(1)
        out = perf.stdout.read()
        stop.set()
        t.join()
        lost = [l for l in out.splitlines() if "Queries lost" in l][0]
        sent = [l for l in out.splitlines() if "Queries sent" in l][0]
        assert int(lost.split()[2]) == 0, out
        assert int(sent.split()[2]) > SOAK_SECONDS * 4000, out
        # Flat RSS: after the first quarter (warm-up), growth stays within the bound.
        warm = [m for s, m in samples if s >= SOAK_SECONDS / 4]
        growth = max(warm) - warm[0]
        print("soak %d s: %s; %s; RSS after warm-up %.1f..%.1f MB (growth %.1f MB); %d events"
              % (SOAK_SECONDS, sent.strip(), lost.strip(), min(warm), max(warm), growth,
                 expected["_events"]))
        assert growth < RSS_GROWTH_BOUND_MB, samples
        # The final state is the last event of every key.
        for i in range(200):
            if i not in expected:
                continue
            want = expected[i]
            r = a.wait_for("k%d.soak.test." % i, "A",
                           lambda r: (r.rcode() == dns.rcode.NXDOMAIN) if want is None else
                           (bool(r.answer) and r.answer[0][0].to_text() == want))
        a.stop()
    finally:
        broker.stop()
