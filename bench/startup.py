#!/usr/bin/python3
"""Start-up to ready with a large topic: by full replay and from a snapshot (issue 6).

Usage: bench/startup.py [--rrsets N] [--partitions P] [--poll-zones]
Generates N whole-RRset events (one zone, A records), produces them with kcat through
streamdns-devbroker, then measures the time from starting streamdns-authd to /ready = 200,
once by full replay and once from the snapshot that the first run wrote at stop. Then
build/bench/apply runs the consumer's own per-event work (decode + apply, no Kafka) over
the same events, to show how much of the replay time is authd's and how much the fetch's.
With --poll-zones, a client asks GET /zones over and over during the replay (monitoring
that polls digests while an instance starts): the replay must not wait for it.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration"))
from streamdns import Authd, Broker  # noqa: E402
from qps import rss_mb  # noqa: E402  (bench/ is this script's own directory)


def events_file(n, path):
    with open(path, "w") as f:
        f.write('bench.test.|SOA\t[{"name":"bench.test.","type":"SOA","content":'
                '"ns.bench.test. h.bench.test. 1 3600 900 604800 60","ttl":3600}]\n')
        for i in range(n - 1):
            name = "h%d.bench.test." % i
            f.write('%s|A\t[{"name":"%s","type":"A","content":"10.%d.%d.%d","ttl":300}]\n'
                    % (name, name, i >> 16 & 255, i >> 8 & 255, i & 255))


def poll_zones(a, stop, times):
    """GET /zones until stop is set; each answer's duration in times."""
    while not stop.is_set():
        t = time.time()
        try:
            a.http("/zones", timeout=120)
            times.append(time.time() - t)
        except OSError:
            time.sleep(0.01)


def time_to_ready(a, timeout=120, poll=None):
    t0 = time.time()
    a.start_nowait()
    if poll is not None:
        threading.Thread(target=poll_zones, args=(a,) + poll, daemon=True).start()
    while time.time() - t0 < timeout:
        if a.proc.poll() is not None:
            raise RuntimeError("authd exited: %s" % a.read_log()[-2000:])
        try:
            if a.http("/ready", timeout=1)[0] == 200:
                return time.time() - t0
        except OSError:
            pass
        time.sleep(0.01)
    raise RuntimeError("not ready after %d s" % timeout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rrsets", type=int, default=1000000)
    ap.add_argument("--partitions", type=int, default=64)
    ap.add_argument("--poll-zones", action="store_true",
                    help="GET /zones in a loop during the replay")
    args = ap.parse_args()
    d = tempfile.mkdtemp(prefix="bench-startup-")
    evpath = os.path.join(d, "events.tsv")
    events_file(args.rrsets, evpath)
    broker = Broker(partitions=args.partitions)
    try:
        t0 = time.time()
        with open(evpath) as f:
            subprocess.run(["kcat", "-P", "-b", broker.address, "-t", broker.topic, "-K", "\t",
                            "-X", "linger.ms=50", "-X", "batch.num.messages=10000",
                            "-X", "queue.buffering.max.messages=1000000"],
                           stdin=f, check=True)
        produce = time.time() - t0
        snap = os.path.join(d, "authd.snap")
        a = Authd(broker.address, serial=None, sections="[store]\nsnapshot = %s\nsnapshot-interval = 1h\n"
                  % snap, start=False)
        stop, times = threading.Event(), []
        replay = time_to_ready(a, poll=(stop, times) if args.poll_zones else None)
        stop.set()
        if args.poll_zones:
            print("GET /zones during the replay: %d answers, longest %.2f s"
                  % (len(times), max(times) if times else 0))
        rss = rss_mb(a.proc.pid)
        a.stop()
        from_snap = time_to_ready(a)
        a.stop()
        log = a.read_log()
        print("rrsets=%d partitions=%d produce_s=%.2f replay_to_ready_s=%.2f "
              "snapshot_to_ready_s=%.2f rss_mb=%.0f snapshot_mb=%.1f"
              % (args.rrsets, args.partitions, produce, replay, from_snap, rss,
                 os.path.getsize(snap) / 1e6))
        for line in log.splitlines():
            if "ready:" in line or "snapshot" in line:
                print("  " + line)
        apply = os.path.join(os.environ.get("STREAMDNS_BUILD", "build"), "bench", "apply")
        out = subprocess.run([apply, evpath, "3"], capture_output=True, text=True, check=True)
        print("consumer work without Kafka (bench/apply.c, best of 3): " + out.stdout.strip())
    finally:
        broker.stop()


if __name__ == "__main__":
    main()
