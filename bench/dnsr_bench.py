"""dnsr_bench.py: cache-hit queries per second of streamdns-dnsr and of Unbound, same machine,
same mini internet, same dnsperf run (`make bench-dnsr`; not a test).

Both resolvers get the same number of threads. The query list (names of the mini internet:
plain A, MX, TXT, a CNAME chain, wildcard names, NXDOMAIN) is resolved once by each first,
so what dnsperf measures is answering from the cache. Each resolver is measured in turns
(dnsr, unbound, dnsr, unbound, ...); the ratio is of the medians (issue 7), the best turn of
each is printed beside it. Prints a Markdown table row for docs/PERFORMANCE.md.

    usage: dnsr_bench.py [--seconds N] [--rounds N] [--threads N] [--clients N]
"""
import argparse
import datetime
import os
import re
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))

import mini_internet as mi  # noqa: E402

BUILD = os.environ.get("STREAMDNS_BUILD", os.path.join(HERE, "..", "build"))

NAMES = [
    ("www.alpha.test.", "A"), ("alpha.test.", "MX"), ("txt.alpha.test.", "TXT"),
    ("mx.alpha.test.", "A"), ("www.beta.test.", "A"), ("www.gamma.test.", "A"),
    ("www.victim.test.", "A"), ("cname-ext.alpha.test.", "A"), ("chain1.alpha.test.", "A"),
    ("nope.alpha.test.", "A"), ("www.alpha.test.", "AAAA"), ("www.example.", "A"),
] + [("h%03d.many.alpha.test." % i, "A") for i in range(200)]


def dnsperf(port, datafile, seconds, clients, threads):
    out = subprocess.run(["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", datafile,
                          "-l", str(seconds), "-c", str(clients), "-T", str(threads),
                          "-q", "500", "-t", "2"],
                         capture_output=True, text=True, check=True).stdout
    qps = float(re.search(r"Queries per second:\s+([0-9.]+)", out).group(1))
    lost = int(re.search(r"Queries lost:\s+([0-9]+)", out).group(1))
    return qps, lost


def warm(resolver):
    """Resolves every name, twice: the second time must come from the cache."""
    for _ in range(2):
        for name, rdtype in NAMES:
            resolver.query(name, rdtype, timeout=5)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2, help="resolver threads, both")
    ap.add_argument("--clients", type=int, default=20)
    args = ap.parse_args()

    net = mi.MiniInternet()
    dnsr = unbound = None
    try:
        # Logging at info level, as Unbound's verbosity 1 (the tests use debug).
        dnsr = mi.Dnsr(BUILD, net, workers=args.threads, log="info")
        unbound = mi.Unbound(net, threads=args.threads)
        warm(dnsr)
        warm(unbound)
        fd, datafile = tempfile.mkstemp(suffix=".dnsperf")
        with os.fdopen(fd, "w") as f:
            f.write("".join("%s %s\n" % (n, t) for n, t in NAMES))
        runs = {"dnsr": [], "unbound": []}
        for r in range(args.rounds):
            for label, res in (("dnsr", dnsr), ("unbound", unbound)):
                qps, lost = dnsperf(res.port, datafile, args.seconds, args.clients,
                                    min(args.threads, 2))
                print("round %d %-8s %10.0f q/s  (lost %d)" % (r + 1, label, qps, lost),
                      flush=True)
                runs[label].append(qps)
        os.unlink(datafile)
        med = {k: statistics.median(v) for k, v in runs.items()}
        best = {k: max(v) for k, v in runs.items()}
        ratio = med["dnsr"] / med["unbound"]
        cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"],
                             capture_output=True, text=True).stdout.strip()
        print("\n| date | threads | dnsr q/s (median; best) | Unbound q/s (median; best) "
              "| ratio of medians | machine |")
        print("|---|---|---|---|---|---|")
        print("| %s | %d | %.0f; %.0f | %.0f; %.0f | %.2fx | %s, %d CPUs |"
              % (datetime.date.today().isoformat(), args.threads, med["dnsr"], best["dnsr"],
                 med["unbound"], best["unbound"], ratio, cpu, os.cpu_count()))
    finally:
        for r in (unbound, dnsr):
            if r is not None:
                r.stop()
        net.stop()


if __name__ == "__main__":
    main()
