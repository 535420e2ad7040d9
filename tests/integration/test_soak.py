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

from streamdns import Authd, Broker, rr, udp_kernel_drops

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
        time.sleep(0.05)      # pacing, not synchronisation: ~1,000 events/s
    p.stdin.close()
    rc = p.wait(30)
    if rc != 0:
        raise RuntimeError("kcat exited with %d after %d events" % (rc, n))
    return n


class Churn(threading.Thread):
    """churn() in a thread; an exception there is kept and re-raised by join() in the
    main thread, where pytest sees it (an assert in a thread only prints a traceback)."""

    def __init__(self, broker, expected):
        super().__init__()
        self.broker, self.expected, self.stop = broker, expected, threading.Event()
        self.events, self.error = None, None

    def run(self):
        try:
            self.events = churn(self.broker, self.stop, self.expected)
        except BaseException as e:   # noqa: B902 -- handed to the main thread
            self.error = e

    def finish(self):
        self.stop.set()
        self.join(60)
        assert not self.is_alive(), "the churn thread did not end within 60 s"
        if self.error is not None:
            raise AssertionError("event churn failed: %r" % self.error) from self.error
        return self.events


def dnsperf_count(out, what):
    """dnsperf's 'Queries <what>: N ...' figure."""
    line = [l for l in out.splitlines() if l.strip().startswith("Queries %s:" % what)]
    assert line, "no 'Queries %s' in dnsperf's output:\n%s" % (what, out)
    return int(line[0].split()[2])


def answered_udp(a):
    """authd's count of UDP queries answered, every rcode."""
    return sum(v for k, v in a.metrics().items()
               if k.startswith("streamdns_authd_queries_total{") and 'transport="udp"' in k)


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
        expected = {}
        t = Churn(broker, expected)
        t.start()
        before = answered_udp(a)
        drops_before = udp_kernel_drops()
        perf = subprocess.Popen(["dnsperf", "-s", "127.0.0.1", "-p", str(a.port), "-d", qfile,
                                 "-l", str(SOAK_SECONDS), "-Q", "5000", "-c", "2"],
                                stdout=subprocess.PIPE, text=True)
        samples, t0 = [], time.time()
        while perf.poll() is None:
            samples.append((time.time() - t0, rss_mb(a.proc.pid)))
            time.sleep(1)     # the RSS sampling period
        out = perf.stdout.read()
        kernel_drops = udp_kernel_drops() - drops_before
        events = t.finish()
        assert perf.returncode == 0, out
        sent, completed, lost = (dnsperf_count(out, k) for k in ("sent", "completed", "lost"))
        # How many queries a busy machine gets through is not the point; that authd
        # answers every one it reads is. A lost query must be one the kernel dropped
        # (socket buffer full, counted in /proc/net/snmp), not one authd read and ignored.
        assert completed > 0, out
        assert lost <= kernel_drops, ("%d queries lost but the kernel dropped only %d "
                                      "datagrams\n%s" % (lost, kernel_drops, out))
        # Every answer dnsperf got is one authd counts (others may query meanwhile: >=).
        assert answered_udp(a) - before >= completed, out
        # Flat RSS: after the first quarter (warm-up), growth stays within the bound.
        warm = [m for s, m in samples if s >= SOAK_SECONDS / 4]
        growth = max(warm) - warm[0]
        print("soak %d s: %d queries sent, %d lost (kernel drops %d); RSS after warm-up "
              "%.1f..%.1f MB (growth %.1f MB); %d events"
              % (SOAK_SECONDS, sent, lost, kernel_drops, min(warm), max(warm), growth,
                 events))
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
