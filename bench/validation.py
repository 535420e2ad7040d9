"""validation.py: DNSSEC validation in streamdns-dnsr (issue 16), same machine, same signed
mini internet, same run (`make bench-validation`; not a test).

The signed mini internet of tests/integration/signed_internet.py (NSD on 127.0.3.x, a signed
root whose DS is the trust anchor, a signed test.) plus one big zone, big.test.: --names
names n<i> and WARM names w<i>, one A record each, signed by ldns-signzone with one ECDSA
P-256 CSK (algorithm 13) and NSEC, served by the NSD of the leaf zones. Three resolvers run
on it at once, each with --threads threads: dnsr with [dnssec] validation = yes ("dnsr-val"),
dnsr with validation = no ("dnsr-off"), and a validating Unbound on the same anchor
(signed_internet.ValidatingUnbound: the validator module, a stub zone per zone cut).

1. Cache hits. A fixed set of names (the w<i> A records, NODATA and NXDOMAIN in big.test. with
   their NSEC proofs, and a few names of the other zones, secure and insecure) is resolved by
   each resolver first, twice; then dnsperf runs for --seconds against each in turn
   (dnsr-val, dnsr-off, unbound, ...), with DO=0 and with DO=1 (-D), --rounds times. The
   ratio of the medians dnsr-val/dnsr-off is issue 16's "within 5 %" (>= 0.95).
2. Cold resolutions of secure names. Each round gives each resolver --names/--rounds names
   n<i> it has never been asked (a slice of big.test., the same slice for each resolver:
   their caches are their own), in one dnsperf pass (-n 1, DO=1) at a fixed number of
   outstanding queries (--concurrency). The chain of trust (the DNSKEYs of ., test. and
   big.test., the DS records) is in each cache before the first round: what is measured is
   one upstream query, one RRSIG verified (none for dnsr-off) and one answer per name.
   Resolutions per second are dnsperf's completed queries over its run time; the ratio of
   the medians dnsr-val/unbound is issue 16's ">= 1.0x", dnsr-off the cost of validating.
   Unbound knows every zone cut from its stub zones (it asks servers it learns from
   referrals on port 53 only), dnsr from referrals; once the cuts are cached, as they are
   here after the priming query, both send one query per name.
Any rcode other than NOERROR in a cold round, or a query lost, is reported; before measuring,
one DO query per resolver checks AD (set by dnsr-val and unbound, not by dnsr-off).

    usage: validation.py [--names N] [--rounds N] [--seconds N] [--threads N]
                         [--clients N] [--concurrency N] [--json FILE]
"""
import argparse
import datetime
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))

import dns.flags  # noqa: E402

import signed_internet as si  # noqa: E402
from qps import cpu_seconds  # noqa: E402

BUILD = os.environ.get("STREAMDNS_BUILD", os.path.join(HERE, "..", "build"))

BIG = "big.test."
WARM = 200  # w<i>.big.test.: the cache-hit names, never in a cold round


def big_zone(names):
    """big.test.: n0..n<names-1> for the cold rounds, w0..w<WARM-1> for the cache hits."""
    recs = [("n%d" % i, "A", "192.0.2.%d" % (i % 250 + 1)) for i in range(names)]
    recs += [("w%d" % i, "A", "198.51.100.%d" % (i % 250 + 1)) for i in range(WARM)]
    return si.ZoneSpec(BIG, si.LEAF, si.leaf(BIG, *recs))


def warm_queries():
    """The cache-hit set: secure positives, NODATA and NXDOMAIN (NSEC), other zones."""
    q = [("w%d.%s" % (i, BIG), "A") for i in range(WARM)]
    q += [("w%d.%s" % (i, BIG), "AAAA") for i in range(0, WARM, 10)]
    q += [("nx%d.%s" % (i, BIG), "A") for i in range(20)]
    q += [("www.alg13.test.", "A"), ("www.alg8.test.", "A"), ("www.nsec3.test.", "A"),
          ("nx.nsec3.test.", "A"), ("www.unsigned.test.", "A"), ("test.", "SOA")]
    return q


def dnsperf(port, datafile, do, clients, outstanding, seconds=None):
    """One dnsperf run (seconds=None: one pass through the file). Returns {qps, completed,
    lost, rcodes, elapsed}."""
    cmd = ["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", datafile,
           "-c", str(clients), "-T", "2", "-q", str(outstanding), "-t", "2"]
    cmd += ["-n", "1"] if seconds is None else ["-l", str(seconds)]
    if do:
        cmd.append("-D")
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout

    def field(name, conv=float):
        m = re.search(r"%s:\s+([0-9.]+)" % name, out)
        if m is None:
            raise RuntimeError("dnsperf printed no %s:\n%s" % (name, out))
        return conv(m.group(1))
    rcodes = {}
    m = re.search(r"Response codes:\s+(.*)", out)
    if m:
        for part in m.group(1).split(","):
            w = part.split()
            if len(w) >= 2:
                rcodes[w[0]] = int(w[1])
    return {"qps": field("Queries per second"), "completed": field("Queries completed", int),
            "lost": field("Queries lost", int), "rcodes": rcodes,
            "elapsed": field(r"Run time \(s\)")}


def check_ad(resolvers):
    """One DO query each: AD from the validators, none from dnsr-off; stops if not."""
    for label, res in resolvers:
        r = res.query("w0." + BIG, "A", timeout=5, want_dnssec=True)
        ad = bool(r.flags & dns.flags.AD)
        if not r.answer or ad != (label != "dnsr-off"):
            raise RuntimeError("%s: w0.%s answered %s with AD=%s: not what the run measures"
                               % (label, BIG, r.rcode(), ad))


def warm(resolvers, queries):
    """Every name of the cache-hit set, twice: the second time from the cache."""
    for _ in range(2):
        for _, res in resolvers:
            for name, rdtype in queries:
                res.query(name, rdtype, timeout=5, want_dnssec=True)


def write_queries(path, queries):
    with open(path, "w") as f:
        f.write("".join("%s %s\n" % q for q in queries))


def cache_hits(resolvers, datafile, args):
    """{(label, do): [qps per round]}, interleaved rounds."""
    runs = {}
    for r in range(args.rounds):
        for do in (False, True):
            for label, res in resolvers:
                m = dnsperf(res.port, datafile, do, args.clients, 500, args.seconds)
                runs.setdefault((label, do), []).append(m["qps"])
                print("cache round %d DO=%d %-9s %10.0f q/s  (lost %d)"
                      % (r + 1, do, label, m["qps"], m["lost"]), flush=True)
    return runs


def cold(resolvers, workdir, args):
    """{label: [{rate, cpu, ...} per round]}: each round a new slice of n<i> per resolver."""
    per_round = args.names // args.rounds
    runs = {label: [] for label, _ in resolvers}
    for r in range(args.rounds):
        path = os.path.join(workdir, "cold%d" % r)
        write_queries(path, [("n%d.%s" % (i, BIG), "A")
                             for i in range(r * per_round, (r + 1) * per_round)])
        for label, res in resolvers:
            c0 = cpu_seconds(res.proc.pid)
            m = dnsperf(res.port, path, True, args.clients, args.concurrency)
            m["cpu"] = cpu_seconds(res.proc.pid) - c0
            bad = {k: v for k, v in m["rcodes"].items() if k != "NOERROR"}
            runs[label].append(m)
            print("cold  round %d %-9s %8.0f resolutions/s  %6d names in %.2f s, "
                  "%.0f per resolver CPU-s%s%s"
                  % (r + 1, label, m["qps"], m["completed"], m["elapsed"],
                     m["completed"] / m["cpu"] if m["cpu"] else 0,
                     "  LOST %d" % m["lost"] if m["lost"] else "",
                     "  RCODES %s" % bad if bad else ""), flush=True)
    return runs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--names", type=int, default=50000,
                    help="names of big.test. for the cold rounds (split among the rounds)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=8, help="per cache-hit run")
    ap.add_argument("--threads", type=int, default=2, help="resolver threads, all three")
    ap.add_argument("--clients", type=int, default=20, help="dnsperf -c")
    ap.add_argument("--concurrency", type=int, default=100,
                    help="outstanding queries in the cold rounds (dnsperf -q)")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = ap.parse_args()

    t0 = time.time()
    net = si.SignedInternet(extra=[big_zone(args.names)])
    print("signed internet up in %.1f s (big.test.: %d names, alg 13, NSEC)"
          % (time.time() - t0, args.names + WARM), flush=True)
    started = []
    workdir = tempfile.mkdtemp(prefix="bench-validation-")
    try:
        # Logging at info level, as Unbound's verbosity 1 (the tests use debug).
        for label, make in (
                ("dnsr-val", lambda: net.dnsr(BUILD, "yes", workers=args.threads, log="info")),
                ("dnsr-off", lambda: net.dnsr(BUILD, "no", workers=args.threads, log="info")),
                ("unbound", lambda: si.ValidatingUnbound(net, threads=args.threads))):
            started.append((label, make()))
        check_ad(started)
        queries = warm_queries()
        warm(started, queries)
        datafile = os.path.join(workdir, "warm")
        write_queries(datafile, queries)
        hits = cache_hits(started, datafile, args)
        cold_runs = cold(started, workdir, args)
        report(args, hits, cold_runs)
    finally:
        for _, res in reversed(started):
            res.stop()
        net.stop()
        for f in os.listdir(workdir):
            os.unlink(os.path.join(workdir, f))
        os.rmdir(workdir)


def report(args, hits, cold_runs):
    med = {k: statistics.median(v) for k, v in hits.items()}
    cmed = {k: statistics.median(m["qps"] for m in v) for k, v in cold_runs.items()}
    ccpu = {k: statistics.median(m["completed"] / m["cpu"] if m["cpu"] else 0 for m in v)
            for k, v in cold_runs.items()}
    cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"],
                         capture_output=True, text=True).stdout.strip()
    machine = "%s, %d CPUs" % (cpu, os.cpu_count())
    today = datetime.date.today().isoformat()
    print("\nCache hits (q/s, median of %d rounds of %d s; every round in brackets):"
          % (args.rounds, args.seconds))
    print("| date | DO | dnsr validation=yes | dnsr validation=no | yes/no | "
          "Unbound (validating) | machine |")
    print("|---|---|---|---|---|---|---|")
    for do in (False, True):
        print("| %s | %d | %.0f | %.0f | %.3f | %.0f | %s |"
              % (today, do, med[("dnsr-val", do)], med[("dnsr-off", do)],
                 med[("dnsr-val", do)] / med[("dnsr-off", do)], med[("unbound", do)],
                 machine))
    for (label, do), v in sorted(hits.items()):
        print("  DO=%d %-9s [%s]" % (do, label, " ".join("%.0f" % x for x in v)))
    print("\nCold secure resolutions (per second, %d names per round, %d outstanding, "
          "median of %d rounds):" % (args.names // args.rounds, args.concurrency, args.rounds))
    print("| date | threads | dnsr validating | Unbound validating | dnsr/Unbound "
          "| dnsr validation=no | per resolver CPU-s: dnsr-val / unbound / dnsr-off "
          "| machine |")
    print("|---|---|---|---|---|---|---|---|")
    print("| %s | %d | %.0f | %.0f | %.2fx | %.0f | %.0f / %.0f / %.0f | %s |"
          % (today, args.threads, cmed["dnsr-val"], cmed["unbound"],
             cmed["dnsr-val"] / cmed["unbound"], cmed["dnsr-off"], ccpu["dnsr-val"],
             ccpu["unbound"], ccpu["dnsr-off"], machine))
    for label, v in cold_runs.items():
        print("  %-9s [%s]" % (label, " ".join("%.0f" % m["qps"] for m in v)))
    if args.json:
        out = {"date": today, "machine": machine, "args": vars(args),
               "cache_hits": {"%s/DO=%d" % (label, do): {"median": med[(label, do)],
                                                         "runs": v}
                              for (label, do), v in hits.items()},
               "cache_hit_ratio": {"DO=%d" % do: med[("dnsr-val", do)] /
                                   med[("dnsr-off", do)] for do in (False, True)},
               "cold": {label: {"median": cmed[label], "per_cpu_second": ccpu[label],
                                "runs": v} for label, v in cold_runs.items()},
               "cold_ratio": cmed["dnsr-val"] / cmed["unbound"]}
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
