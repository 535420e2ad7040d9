#!/usr/bin/python3
"""Import of a generated 1,000,000-RRset zone with streamdns-ctl into a fresh devbroker.

Usage: bench/ctl_import.py [--rrsets N] [--partitions P] [--runs R]

Generates the zone with bench/genzone.py, starts streamdns-devbroker with P partitions
(librdkafka's mock keeps 5 MiB and 100,000 message sets per partition: 64 hold a 1M
zone), and times `streamdns-ctl import` end to end (parse, validation of every RRset
through the event codec, reading the topic, producing, every delivery report). Then it
checks that the topic holds every RRset (ctl status), and times a second import of the
same file, where every RRset is unchanged (the topic is read back and compared, nothing
is produced). Target: >= 100,000 RRsets/s for the first import. Each run also reports the
CPU seconds ctl and the broker used and the load average before it: on a shared machine
the wall time depends on what else runs, the CPU time does not.
"""
import argparse
import os
import re
import resource
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


def proc_cpu(pid):
    """CPU seconds (user + system) a running process has used."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_import(broker, path):
    """Wall time, counts, ctl's summary, and CPU seconds used by ctl and by the broker:
    the machine is shared, and CPU time says what the wall time would be on idle cores."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    b0 = proc_cpu(broker.proc.pid)
    t0 = time.time()
    p = subprocess.run([CTL, "-b", broker.address, "--timeout", "30s", "import", path],
                       capture_output=True, text=True)
    dt = time.time() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime,
           proc_cpu(broker.proc.pid) - b0)
    if p.returncode != 0:
        sys.exit("import failed (%d):\n%s%s" % (p.returncode, p.stdout, p.stderr[-3000:]))
    m = re.search(r"produced (\d+), unchanged (\d+), deleted (\d+), failed (\d+)", p.stdout)
    return dt, tuple(int(x) for x in m.groups()), p.stdout.strip(), cpu


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
            load = os.getloadavg()[0]
            dt, counts, line, cpu = run_import(broker, path)
            assert counts == (a.rrsets, 0, 0, 0), line
            rates.append(a.rrsets / dt)
            print("run %d: %.2f s, %.0f RRsets/s; CPU: ctl %.2f s, devbroker %.2f s; "
                  "load average before %.2f\n  %s" % (run + 1, dt, a.rrsets / dt, cpu[0],
                                                     cpu[1], load, line))
            st = subprocess.run([CTL, "-b", broker.address, "--timeout", "30s", "status"],
                                capture_output=True, text=True, check=True).stdout
            held = int(re.search(r"RRsets: (\d+)", st).group(1))
            lows = [int(x) for x in re.findall(r"^\s+\d+\s+(\d+)\s+\d+$", st, re.M)]
            assert held == a.rrsets and not any(lows), \
                "the broker dropped events (raise --partitions):\n" + st
            if run == a.runs - 1:
                dt2, counts2, line2, cpu2 = run_import(broker, path)
                assert counts2 == (0, a.rrsets, 0, 0), line2
                print("re-import, all unchanged: %.2f s, %.0f RRsets/s; CPU: ctl %.2f s\n  %s"
                      % (dt2, a.rrsets / dt2, cpu2[0], line2))
        finally:
            broker.stop()
    best = max(rates)
    print("ctl import: rrsets=%d partitions=%d best=%.0f RRsets/s (%s) target=100000 %s"
          % (a.rrsets, a.partitions, best, ", ".join("%.0f" % r for r in rates),
             "MET" if best >= 100000 else "NOT MET"))


if __name__ == "__main__":
    main()
