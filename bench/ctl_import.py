#!/usr/bin/python3
"""Import of a generated 1,000,000-RRset zone with streamdns-ctl into a fresh devbroker.

Usage: bench/ctl_import.py [--rrsets N] [--partitions P] [--runs R]

Generates the zone with bench/genzone.py, starts streamdns-devbroker with P partitions
(librdkafka's mock keeps 5 MiB and 100,000 message sets per partition: 64 hold a 1M
zone), and times `streamdns-ctl import` end to end (parse, validation of every RRset
through the event codec, reading the topic, producing, every delivery report). Then it
checks that the topic holds every RRset (ctl status), and times a second import of the
same file, where every RRset is unchanged (the topic is read back and compared, nothing
is produced). Target: >= 100,000 RRsets/s for the first import.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
sys.path.insert(0, HERE)
import genzone  # noqa: E402
from streamdns import BUILD, Broker  # noqa: E402

CTL = os.path.join(BUILD, "streamdns-ctl")


def run_import(broker, path):
    t0 = time.time()
    p = subprocess.run([CTL, "-b", broker.address, "--timeout", "30s", "import", path],
                       capture_output=True, text=True)
    dt = time.time() - t0
    if p.returncode != 0:
        sys.exit("import failed (%d):\n%s%s" % (p.returncode, p.stdout, p.stderr[-3000:]))
    m = re.search(r"produced (\d+), unchanged (\d+), deleted (\d+), failed (\d+)", p.stdout)
    return dt, tuple(int(x) for x in m.groups()), p.stdout.strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rrsets", type=int, default=1000000)
    ap.add_argument("--partitions", type=int, default=64)
    ap.add_argument("--runs", type=int, default=1, help="fresh-broker imports to time")
    a = ap.parse_args()
    d = tempfile.mkdtemp(prefix="bench-ctl-")
    path = os.path.join(d, "bench.zone")
    t0 = time.time()
    with open(path, "w") as f:
        genzone.write(f, "bench.test.", a.rrsets, 1)
    print("generated %d RRsets (%.1f MB) in %.1f s" % (a.rrsets, os.path.getsize(path) / 1e6,
                                                      time.time() - t0))
    rates = []
    for run in range(a.runs):
        broker = Broker(partitions=a.partitions)
        try:
            dt, counts, line = run_import(broker, path)
            assert counts == (a.rrsets, 0, 0, 0), line
            rates.append(a.rrsets / dt)
            print("run %d: %s" % (run + 1, line))
            st = subprocess.run([CTL, "-b", broker.address, "--timeout", "30s", "status"],
                                capture_output=True, text=True, check=True).stdout
            held = int(re.search(r"RRsets: (\d+)", st).group(1))
            lows = [int(x) for x in re.findall(r"^\s+\d+\s+(\d+)\s+\d+$", st, re.M)]
            assert held == a.rrsets and not any(lows), \
                "the broker dropped events (raise --partitions):\n" + st
            if run == a.runs - 1:
                dt2, counts2, line2 = run_import(broker, path)
                assert counts2 == (0, a.rrsets, 0, 0), line2
                print("re-import, all unchanged: %s" % line2)
        finally:
            broker.stop()
    best = max(rates)
    print("ctl import: rrsets=%d partitions=%d best=%.0f RRsets/s (%s) target=100000 %s"
          % (a.rrsets, a.partitions, best, ", ".join("%.0f" % r for r in rates),
             "MET" if best >= 100000 else "NOT MET"))


if __name__ == "__main__":
    main()
