#!/usr/bin/python3
"""Online signing: authd signed vs unsigned, authd vs knotd mod-onlinesign, signature memory
(issue 15's performance targets), in one run.

Usage: bench/dnssec.py [--names N] [--runs R] [--seconds S] [--workers W] [--nx-queries M]
                       [--positive-queries P]
One zone of N names (default 1,000,000), the zone of bench/qps.py. authd loads it twice, as
events through two devbrokers (one topic each: devbroker makes one topic, and an
auto-created topic has too few partitions to hold 1M names): "authd" serves it unsigned,
"authd-signed" serves it with a key set made by `streamdns-ctl dnssec enable` (one Ed25519
CSK; [dnssec] secret-file). knotd serves the same master file with mod-onlinesign and an
ed25519 policy (one CSK, single-type signing). Every dnsperf query sets DO (-D).
Before measuring, one DO query per server proves it signs (an RRSIG in the answer or the
authority section; the unsigned authd must have none) and the script stops if not.
1. Signature memory: authd-signed's streamdns_authd_dnssec_signature_cache_bytes and RSS
   before and after one DO pass (dnsperf -n 1) of "n<i> A" over all N names; bytes per name.
2. Positive answers, signatures cached: P (default 200,000) queries for existing names (A on every name,
   AAAA on even ones); one warm-up pass on both authds, then R interleaved rounds of S
   seconds (authd, authd-signed, authd, ...); ratio authd-signed/authd (target >= 0.9).
   The signatures authd-signed made during the rounds are printed (0 when all were cached).
3. Nonexistent names, a fresh signature per answer: each round writes a new file of M
   (default 1,000,000) unique random names r<hex>.bench.test. A, so neither server's
   per-name cache hits; R interleaved rounds of authd-signed and knotd; ratio
   authd-signed/knotd (target >= 1.0). A warning is printed when dnsperf ran through the
   whole file in a round (names repeated: raise --nx-queries).
Medians, every run, qps per server CPU-second (utime+stime) and response sizes are printed.
Any rcode other than the expected ones (e.g. SERVFAIL of a zone that cannot be signed) stops
the run: a fast error is not a fast signer.
W is --workers: authd workers, knotd udp-/tcp-workers (default 2).
"""
import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
import dns.flags  # noqa: E402
import dns.message  # noqa: E402
import dns.query  # noqa: E402
import dns.rdatatype  # noqa: E402

from qps import (ZONE, Reference, cpu_seconds, rss_mb, start_authd, start_timed,  # noqa: E402
                 stop_all, write_zone)
from streamdns import BUILD, Broker  # noqa: E402

CTL = os.path.join(BUILD, "streamdns-ctl")

# bench/qps.py's knotd settings, plus online signing with an Ed25519 key of its own keystore.
KNOT_SIGNED_CONF = (
    "server:\n  rundir: {d}\n  listen: 127.0.0.1@{port}\n  udp-workers: {workers}\n"
    "  tcp-workers: {workers}\n  background-workers: 1\n"
    "database:\n  storage: {d}\n"
    "keystore:\n  - id: bench\n    backend: pem\n    config: {d}/keys\n"
    "policy:\n  - id: bench\n    algorithm: ed25519\n    keystore: bench\n"
    "mod-onlinesign:\n  - id: bench\n    policy: bench\n"
    "template:\n  - id: default\n    storage: {d}\n    semantic-checks: off\n"
    "    zonefile-sync: -1\n    journal-content: none\n    zonefile-load: whole\n"
    "zone:\n  - domain: {zone}\n    file: {zonefile}\n    module: mod-onlinesign/bench\n")

CACHE_BYTES = "streamdns_authd_dnssec_signature_cache_bytes"
SIGNATURES = "streamdns_authd_dnssec_signatures_total"


def start_knot_signed(d, zonefile, workers):
    return Reference(d, zonefile, workers, "knot.conf", KNOT_SIGNED_CONF, ["knotd", "-c"])


def produce(broker, path):
    with open(path) as f:
        subprocess.run(["kcat", "-P", "-b", broker.address, "-t", broker.topic, "-K", "\t",
                        "-X", "linger.ms=50", "-X", "batch.num.messages=10000",
                        "-X", "queue.buffering.max.messages=2000000"], stdin=f, check=True)


def ctl(*args):
    p = subprocess.run([CTL, *args], capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise RuntimeError("streamdns-ctl %s: exit %d\n%s%s" % (" ".join(args), p.returncode,
                                                                 p.stdout, p.stderr))
    return p.stdout


def write_positive(n, path, count=200000, seed=11):
    """Existing names only: A on any name, AAAA on even ones (a quarter of the queries)."""
    rng = random.Random(seed)
    with open(path, "w") as f:
        for _ in range(count):
            i = rng.randrange(n)
            if rng.random() < 0.25:
                f.write("n%d.%s AAAA\n" % (i & ~1, ZONE))
            else:
                f.write("n%d.%s A\n" % (i, ZONE))


def write_all_names(n, path):
    with open(path, "w") as f:
        for i in range(n):
            f.write("n%d.%s A\n" % (i, ZONE))


def write_nx(path, count, seed):
    """count distinct names r<hex>.ZONE (none exists: the zone's names are n*, c*, ...)."""
    rng = random.Random(seed)
    seen = set()
    with open(path, "w") as f:
        while len(seen) < count:
            label = "r%016x" % rng.getrandbits(64)
            if label not in seen:
                seen.add(label)
                f.write("%s.%s A\n" % (label, ZONE))


def dnsperf(port, queries, seconds=None, allowed=("NOERROR",)):
    """dnsperf with DO over queries for seconds (None: one pass through the file).
    Returns {qps, sent, lost, rcodes, response_bytes}; raises on a response code outside
    allowed."""
    cmd = ["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", queries, "-D",
           "-c", "4", "-T", "2", "-q", "1000", "-S", "0", "-t", "2"]
    cmd += ["-n", "1"] if seconds is None else ["-l", str(seconds)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if os.environ.get("BENCH_VERBOSE"):
        print(p.stdout)
    r = {"qps": None, "sent": 0, "lost": "?", "rcodes": {}, "response_bytes": 0}
    for line in p.stdout.splitlines():
        key, _, val = line.strip().partition(":")
        val = val.strip()
        if key == "Queries per second":
            r["qps"] = float(val)
        elif key == "Queries sent":
            r["sent"] = int(val.split()[0])
        elif key == "Queries lost":
            r["lost"] = val
        elif key == "Response codes":
            for part in val.split(","):
                w = part.split()
                if len(w) >= 2:
                    r["rcodes"][w[0]] = int(w[1])
        elif key == "Average packet size":
            r["response_bytes"] = int(val.rsplit("response", 1)[1].strip())
    if r["qps"] is None:
        raise RuntimeError("dnsperf failed: %s %s" % (p.stdout, p.stderr))
    bad = {k: v for k, v in r["rcodes"].items() if k not in allowed}
    if bad:
        raise RuntimeError("port %d answered %s to %s (expected only %s): the numbers would "
                           "not measure signing" % (port, bad, queries, "/".join(allowed)))
    return r


def rrsigs(port, name, rdtype):
    """The RRSIGs of a DO query's answer and authority sections: [(covered type, alg)]."""
    q = dns.message.make_query(name, rdtype, want_dnssec=True, payload=4096)
    r = dns.query.udp(q, "127.0.0.1", port=port, timeout=3)
    if r.flags & dns.flags.TC:
        r = dns.query.tcp(q, "127.0.0.1", port=port, timeout=3)
    return [(dns.rdatatype.to_text(rd.type_covered), int(rd.algorithm))
            for section in (r.answer, r.authority) for rs in section
            if rs.rdtype == dns.rdatatype.RRSIG for rd in rs]


def verify_signing(plain, signed, knot):
    """One DO query per server proves what is measured; raises when a server does not sign
    (or the unsigned one does)."""
    nx = "rverify.%s" % ZONE
    checks = [("authd-signed", signed, "n1." + ZONE, "A", True),
              ("authd-signed", signed, nx, "A", True),
              ("knotd", knot, "n1." + ZONE, "A", True),
              ("knotd", knot, nx, "A", True),
              ("authd", plain, "n1." + ZONE, "A", False)]
    out = []
    for server, port, name, rdtype, want in checks:
        sigs = rrsigs(port, name, rdtype)
        if bool(sigs) != want:
            raise RuntimeError("%s (port %d) %s %s with DO: %s" %
                               (server, port, name, rdtype,
                                "no RRSIG: it does not sign" if want else
                                "RRSIGs %s in the unsigned zone" % sigs))
        out.append("%s %s %s: %s" % (server, name.split(".")[0], rdtype,
                                     ",".join("RRSIG(%s alg %d)" % s for s in sigs) or
                                     "no RRSIG"))
    print("signing verified: " + "; ".join(out))


def interleaved(servers, runs, seconds, queries_for, allowed):
    """R rounds over servers [(name, port, pid, authd or None)]; per server: qps, qps per
    CPU-second, response bytes, signatures made (authd only), and whether the file ran out."""
    res = {s[0]: {"qps": [], "cpu": [], "bytes": [], "sigs": [], "wrapped": 0}
           for s in servers}
    for rnd in range(runs):
        queries, count = queries_for(rnd)
        for name, port, pid, authd in servers:
            s0 = authd.metrics().get(SIGNATURES, 0.0) if authd else 0.0
            c0 = cpu_seconds(pid)
            r = dnsperf(port, queries, seconds, allowed)
            cpu = cpu_seconds(pid) - c0
            v = res[name]
            v["qps"].append(r["qps"])
            v["cpu"].append(r["qps"] * seconds / max(cpu, 1e-9))
            v["bytes"].append(r["response_bytes"])
            if authd:
                v["sigs"].append(authd.metrics().get(SIGNATURES, 0.0) - s0)
            if count is not None and r["sent"] > count:
                v["wrapped"] += 1
    return res


def report(title, res):
    med = {s: statistics.median(v["qps"]) for s, v in res.items()}
    print("%s qps median: %s" % (title, " ".join("%s=%.0f" % (s, q) for s, q in med.items())))
    print("  runs: " + " ".join("%s=%s" % (s, [round(x) for x in v["qps"]])
                                for s, v in res.items()))
    print("  qps per server CPU-second: " +
          " ".join("%s=%.0f" % (s, statistics.median(v["cpu"])) for s, v in res.items()))
    print("  response bytes: " +
          " ".join("%s=%d" % (s, statistics.median(v["bytes"])) for s, v in res.items()))
    return med


def bench(n, runs, seconds, workers, nx_count, positive_count=200000):
    d = tempfile.mkdtemp(prefix="bench-dnssec-")
    zonefile, events, apex, rest = (os.path.join(d, x) for x in
                                    ("zone", "events.tsv", "apex.tsv", "rest.tsv"))
    positive, allnames = os.path.join(d, "q-positive"), os.path.join(d, "q-all")
    nsets = write_zone(n, zonefile, events)
    with open(events) as f, open(apex, "w") as a, open(rest, "w") as r:
        for line in f:
            (a if line.startswith(ZONE + "|") else r).write(line)
    write_positive(n, positive, positive_count)
    write_all_names(n, allnames)
    secret, ini = os.path.join(d, "fleet.key"), os.path.join(d, "ctl.ini")
    brokers, procs, authds = [], [], []
    try:
        plain_broker = Broker(partitions=64)
        brokers.append(plain_broker)
        signed_broker = Broker(partitions=64)
        brokers.append(signed_broker)
        ctl("dnssec", "secret", secret)
        with open(ini, "w") as f:
            f.write("[kafka]\nbrokers = %s\ntopic = %s\n[dnssec]\nsecret-file = %s\n"
                    % (signed_broker.address, signed_broker.topic, secret))
        # The apex first, so that `enable` (which reads the topic) finds the zone at once.
        produce(signed_broker, apex)
        t0 = time.time()
        ctl("-c", ini, "dnssec", "enable", ZONE)
        enable_s = time.time() - t0
        produce(signed_broker, rest)
        produce(plain_broker, events)
        kd = os.path.join(d, "knot")
        os.makedirs(kd)
        knot, knot_load = start_timed(start_knot_signed, kd, zonefile, workers, procs)
        plain, plain_load = start_authd(plain_broker, workers, authds)
        signed, signed_load = start_authd(signed_broker, workers, authds,
                                          sections="[dnssec]\nsecret-file = %s\n" % secret)
        print("names=%d rrsets=%d workers=%d enable_s=%.2f load_s: authd=%.2f "
              "authd-signed=%.2f knotd=%.2f" % (n, nsets, workers, enable_s, plain_load,
                                                signed_load, knot_load))
        print("rss_mb: authd=%.0f authd-signed=%.0f knotd=%.0f" %
              (rss_mb(plain.proc.pid), rss_mb(signed.proc.pid), rss_mb(knot.proc.pid)))
        verify_signing(plain.port, signed.port, knot.port)

        # 1. Signature memory after one DO pass over every name.
        m0, rss0 = signed.metrics(), rss_mb(signed.proc.pid)
        r = dnsperf(signed.port, allnames)
        m1, rss1 = signed.metrics(), rss_mb(signed.proc.pid)
        cache0, cache1 = m0.get(CACHE_BYTES, 0.0), m1.get(CACHE_BYTES, 0.0)
        print("signature cache at %d names (one DO pass, %d queries, lost %s, %.0f qps): "
              "%s %.0f -> %.0f bytes = %.1f bytes/name; signatures made %.0f; "
              "RSS %.1f -> %.1f MiB = %.1f bytes/name" %
              (n, r["sent"], r["lost"], r["qps"], CACHE_BYTES, cache0, cache1,
               (cache1 - cache0) / n, m1.get(SIGNATURES, 0.0) - m0.get(SIGNATURES, 0.0),
               rss0, rss1, (rss1 - rss0) * 1048576 / n))

        # 2. Positive answers with DO, signatures cached after a warm-up pass.
        for a in (plain, signed):
            dnsperf(a.port, positive)
        res = interleaved([("authd", plain.port, plain.proc.pid, plain),
                           ("authd-signed", signed.port, signed.proc.pid, signed)],
                          runs, seconds, lambda rnd: (positive, None), ("NOERROR",))
        med = report("Positive DO (existing names, signatures cached)", res)
        print("  signatures made during the rounds: authd-signed=%s (0: all cached)" %
              [round(x) for x in res["authd-signed"]["sigs"]])
        print("  ratio authd-signed/authd=%.2f (target >= 0.9)" %
              (med["authd-signed"] / med["authd"]))

        # 3. Nonexistent names with DO: a fresh file of unique names every round.
        nxfile = os.path.join(d, "q-nx")

        def nx_round(rnd):
            write_nx(nxfile, nx_count, seed=1000 + rnd)
            return nxfile, nx_count
        res = interleaved([("authd-signed", signed.port, signed.proc.pid, signed),
                           ("knotd", knot.port, knot.proc.pid, None)],
                          runs, seconds, nx_round, ("NOERROR", "NXDOMAIN"))
        med = report("NX DO (unique random names, a signature per answer)", res)
        v = res["authd-signed"]
        print("  authd-signed signatures/s: %s, per answer: %s (about 1: no cache hits)" %
              ([round(x / seconds) for x in v["sigs"]],
               [round(x / max(q * seconds, 1), 2) for x, q in zip(v["sigs"], v["qps"])]))
        for s, v in res.items():
            if v["wrapped"]:
                print("  WARNING: %s ran through all %d names in %d of %d rounds (names "
                      "repeated; raise --nx-queries)" % (s, nx_count, v["wrapped"], runs))
        print("  ratio authd-signed/knotd=%.2f (target >= 1.0)" %
              (med["authd-signed"] / med["knotd"]))
        while authds:
            authds.pop().stop()
    finally:
        stop_all(authds, procs, brokers, d)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--names", type=int, default=1000000, help="names in the zone")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--workers", type=int, default=2,
                    help="authd workers, knotd udp-/tcp-workers")
    ap.add_argument("--positive-queries", type=int, default=200000,
                    help="queries in the positive file (its warm-up pass reads it all)")
    ap.add_argument("--nx-queries", type=int, default=1000000,
                    help="unique nonexistent names per round (more than a round sends)")
    a = ap.parse_args()
    bench(a.names, a.runs, a.seconds, a.workers, a.nx_queries, a.positive_queries)


if __name__ == "__main__":
    main()
