#!/usr/bin/python3
"""Forwarded queries/s: through authd -> dnsr (Unix socket) vs dnsr queried directly, cache
hits, dnsperf, interleaved runs, medians (issues 5 and 7).

Usage: bench/forward.py [--runs R] [--seconds S]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration"))
from mini_internet import Dnsr, MiniInternet  # noqa: E402
from streamdns import BUILD, Authd, Broker, rr  # noqa: E402

NAMES = ["www.alpha.test.", "txt.alpha.test. TXT", "mx.alpha.test.", "www.beta.test.",
         "x.beta.test."] + ["h%d.many.alpha.test." % i for i in range(95)]


def dnsperf(port, qfile, seconds):
    p = subprocess.run(["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", qfile, "-l",
                        str(seconds), "-c", "4", "-T", "2", "-q", "1000"],
                       capture_output=True, text=True)
    for line in p.stdout.splitlines():
        if "Queries per second:" in line:
            return float(line.split(":")[1])
    raise RuntimeError(p.stdout + p.stderr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=8)
    a = ap.parse_args()
    mini = MiniInternet()
    d = tempfile.mkdtemp()
    sock = os.path.join(d, "dnsr.sock")
    broker = Broker(partitions=1)
    try:
        dnsr = Dnsr(BUILD, mini, server="socket = %s\n" % sock, log="warn")
        broker.produce([("z.test.|SOA", [rr("z.test.", "SOA", "a. b. 1 2 3 4 5")])])
        authd = Authd(broker.address, workers=2,
                      sections="[resolver]\nsocket = %s\ntimeout = 2s\n" % sock)
        authd.wait_ready()
        qfile = os.path.join(d, "q")
        with open(qfile, "w") as f:
            for n in NAMES:
                f.write(n if " " in n else n + " A")
                f.write("\n")
        for n in NAMES:                          # warm dnsr's cache
            name, _, t = n.partition(" ")
            dnsr.query(name, t or "A")
        res = {"authd->dnsr": [], "dnsr direct": []}
        for _ in range(a.runs):
            res["authd->dnsr"].append(dnsperf(authd.port, qfile, a.seconds))
            res["dnsr direct"].append(dnsperf(dnsr.port, qfile, a.seconds))
        med = {k: statistics.median(v) for k, v in res.items()}
        print("cache hits, qps median of %d runs: authd->dnsr=%.0f dnsr direct=%.0f "
              "ratio=%.2f" % (a.runs, med["authd->dnsr"], med["dnsr direct"],
                              med["authd->dnsr"] / med["dnsr direct"]))
        print("  runs: %s" % {k: [round(x) for x in v] for k, v in res.items()})
        authd.stop()
        dnsr.stop()
    finally:
        broker.stop()
        mini.stop()


if __name__ == "__main__":
    main()
