"""qmin.py: upstream queries of streamdns-dnsr for a fixed workload with QNAME minimisation
off, relaxed (the default) and strict (not a test; figures for docs/PERFORMANCE.md).

The workload is 200 names of the mini internet (tests/integration/mini_internet.py), each
asked once, one after the other, from a cold cache: the 12 names of dnsr_bench.py (plain
A, MX, TXT, CNAMEs within and across zones, NXDOMAIN, a glueless delegation), www, www2
and a missing name in each of the 16 zones with one lame server, and 140 names under the
wildcard *.many.alpha.test (many.alpha.test is an empty non-terminal: no zone cut, one
more question the first time). The counts are the servers' own (NSD's statistics and the
scripted servers' logs), with dnsr's counters beside them; they do not depend on the
machine's speed, only on the mini internet's zones and dnsr's algorithm, but for which of
a lame zone's two servers is asked first (a few queries either way, in every mode).

A second workload shows the costly cases, on the scripted internet of
tests/integration/test_dnsr_qmin.py: 100 names under two empty non-terminals
(hNNN.b.c.q.test) and 100 names two labels below a name that does not exist
(x.rNNN.q.test: the minimised question gets NXDOMAIN from an unsigned zone, so relaxed
mode asks the full name too; strict mode answers from the first NXDOMAIN).

    usage: qmin.py [--workers N]
"""
import argparse
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))

import mini_internet as mi  # noqa: E402

BUILD = os.environ.get("STREAMDNS_BUILD", os.path.join(HERE, "..", "build"))

BASE = [
    ("www.alpha.test.", "A"), ("alpha.test.", "MX"), ("txt.alpha.test.", "TXT"),
    ("mx.alpha.test.", "A"), ("www.beta.test.", "A"), ("www.gamma.test.", "A"),
    ("www.victim.test.", "A"), ("cname-ext.alpha.test.", "A"), ("chain1.alpha.test.", "A"),
    ("nope.alpha.test.", "A"), ("www.alpha.test.", "AAAA"), ("www.example.", "A"),
]
NAMES = (BASE + [(h + z, "A") for z in mi.LAME_ZONES for h in ("www.", "www2.", "nx.")] +
         [("h%03d.many.alpha.test." % i, "A") for i in range(140)])
assert len(NAMES) == 200


def metric(d, name):
    status, body = d.http("/metrics")
    m = re.search(r"^%s (\d+)$" % re.escape(name), body, re.M)
    return int(m.group(1)) if status == 200 and m else None


DEEP = ([("h%03d.b.c.q.test." % i, "A") for i in range(100)] +
        [("x.r%03d.q.test." % i, "A") for i in range(100)])


def run(net, setting, workers, names=NAMES, received_fn=None):
    received_fn = received_fn or net.queries
    d = mi.Dnsr(BUILD, net, workers=workers, log="info",
                resolver="qname-minimisation = %s\n" % setting)
    try:
        before = received_fn()
        rcodes = {}
        for name, rdtype in names:
            r = d.query(name, rdtype, timeout=5)
            rcodes[r.rcode()] = rcodes.get(r.rcode(), 0) + 1
        received = received_fn() - before
        return {"setting": setting, "received": received,
                "upstream": metric(d, "streamdns_dnsr_upstream_queries_total"),
                "minimised": metric(d, "streamdns_dnsr_upstream_minimised_queries_total"),
                "fallbacks": metric(d, "streamdns_dnsr_qname_minimisation_fallbacks_total"),
                "rcodes": rcodes}
    finally:
        d.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()
    net = mi.MiniInternet()
    try:
        rows = [run(net, s, args.workers) for s in ("no", "yes", "strict")]
    finally:
        net.stop()
    import tempfile
    import pathlib
    import test_dnsr_qmin as tq
    tmp = tempfile.TemporaryDirectory(prefix="qmin-bench-")
    qnet = tq.QminInternet(pathlib.Path(tmp.name))
    try:
        def received():
            return sum(len(qnet.seen(a)) for a in qnet.servers)
        deep = [run(qnet, s, args.workers, DEEP, received) for s in ("no", "yes", "strict")]
    finally:
        qnet.stop()
        tmp.cleanup()
    import dns.rcode
    for title, table in (("mini internet, 200 names", rows),
                         ("empty non-terminals and missing names, 200 names", deep)):
        print("\n%s\n" % title)
        print_table(table)


def print_table(rows):
    import dns.rcode
    print("| qname-minimisation | queries the servers received | dnsr's upstream | "
          "of them minimised | fallbacks | answers |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        answers = ", ".join("%s %d" % (dns.rcode.to_text(k), v)
                            for k, v in sorted(r["rcodes"].items()))
        print("| %s | %d | %d | %d | %d | %s |" % (r["setting"], r["received"],
                                                   r["upstream"], r["minimised"],
                                                   r["fallbacks"], answers))


if __name__ == "__main__":
    main()
