#!/usr/bin/python3
"""Forwarded queries/s: through authd -> dnsr (Unix socket) vs dnsr queried directly, cache
hits, dnsperf, interleaved runs, medians (issues 5 and 7).

--burst N: instead, N UDP queries sent at once through authd -> dnsr (dnsperf -q N), per
run: how many were lost, how many datagrams the kernel dropped meanwhile (socket buffers
full, /proc/net/snmp), and what authd itself counted. Loss beyond the kernel's drops is
authd's. test_system.py proves the same burst over TCP, where nothing is lost by chance.

Usage: bench/forward.py [--runs R] [--seconds S] [--burst N]
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
from streamdns import BUILD, Authd, Broker, rr, udp_kernel_drops  # noqa: E402

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


def burst_run(authd, qfile, n):
    """One burst of n queries at once; a dict of what was lost and counted where."""
    def authd_counts():
        m = authd.metrics()
        udp = sum(v for k, v in m.items() if k.startswith("streamdns_authd_queries_total{")
                  and 'transport="udp"' in k)
        dropped = m.get('streamdns_authd_queries_total{transport="udp",rcode="dropped"}', 0)
        return udp, dropped, m.get("streamdns_authd_forward_failures_total", 0)
    udp0, dropped0, failed0 = authd_counts()
    kernel0 = udp_kernel_drops()
    p = subprocess.run(["dnsperf", "-s", "127.0.0.1", "-p", str(authd.port), "-d", qfile,
                        "-n", "1", "-q", str(n), "-t", "30"], capture_output=True, text=True)
    kernel = udp_kernel_drops() - kernel0
    udp, dropped, failed = authd_counts()
    lost = [l for l in p.stdout.splitlines() if l.strip().startswith("Queries lost:")]
    if not lost:
        raise RuntimeError(p.stdout + p.stderr)
    lost = int(lost[0].split()[2])
    return {"lost": lost, "kernel drops": kernel, "authd read": int(udp - udp0),
            "authd dropped": int(dropped - dropped0), "SERVFAIL": int(failed - failed0),
            "lost beyond kernel": max(0, lost - kernel)}


def burst(authd, d, n, runs):
    qfile = os.path.join(d, "burst")
    with open(qfile, "w") as f:
        for i in range(n):
            name = NAMES[i % len(NAMES)]
            f.write(name if " " in name else name + " A")
            f.write("\n")
    res = [burst_run(authd, qfile, n) for _ in range(runs)]
    print("%d UDP queries at once through authd->dnsr, %d runs (machine-dependent: the "
          "kernel drops what the sockets cannot hold)" % (n, runs))
    for k in res[0]:
        print("  %-20s median %6.0f  runs %s" % (k, statistics.median(r[k] for r in res),
                                                 [r[k] for r in res]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--burst", type=int, default=0, metavar="N")
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
        if a.burst:
            burst(authd, d, a.burst, a.runs)
            authd.stop()
            dnsr.stop()
            return
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
