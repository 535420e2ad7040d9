#!/usr/bin/python3
"""genzone.py: writes a large, deterministic master file for benchmarks (import, replay, answers).

    bench/genzone.py [--rrsets N] [--zone NAME] [--seed S] FILE

The zone has exactly N RRsets (default 1,000,000): the apex SOA and NS, then names
h<i>.<zone> with a mix of types close to a hosting zone's: 60 % A (one or two records),
15 % AAAA, 10 % TXT, 5 % CNAME, 5 % MX, 5 % SRV. Relative names, $ORIGIN and $TTL are
used as a BIND file would. The same arguments always give the same file, so that figures
from different runs and machines compare.
"""
import argparse
import random
import sys

MIX = [("A", 60), ("AAAA", 15), ("TXT", 10), ("CNAME", 5), ("MX", 5), ("SRV", 5)]


def kinds(rng, n):
    table = [k for k, w in MIX for _ in range(w)]
    for _ in range(n):
        yield table[rng.randrange(len(table))]


def record_lines(kind, i, rng):
    name = "h%d" % i
    if kind == "A":
        out = ["%s A 10.%d.%d.%d" % (name, (i >> 16) & 255, (i >> 8) & 255, i & 255)]
        if rng.random() < 0.3:
            out.append("%s A 172.16.%d.%d" % (name, (i >> 8) & 255, i & 255))
        return out
    if kind == "AAAA":
        return ["%s AAAA 2001:db8::%x:%x" % (name, i >> 16, i & 0xffff)]
    if kind == "TXT":
        return ['%s TXT "v=spf1 ip4:192.0.2.%d -all" "id %d"' % (name, i & 255, i)]
    if kind == "CNAME":
        return ["%s CNAME h%d" % (name, max(0, i - 1))]
    if kind == "MX":
        return ["%s MX 10 mx%d.mail.example.net." % (name, i % 100)]
    return ["%s SRV 0 5 5060 sip%d" % (name, i % 1000)]


def write(f, zone, n, seed):
    rng = random.Random(seed)
    f.write("$ORIGIN %s\n$TTL 3600\n" % zone)
    f.write("@ SOA ns1 hostmaster 1 3600 900 604800 300\n")
    f.write("@ NS ns1.example.net.\n")
    for i, kind in enumerate(kinds(rng, n - 2)):
        f.write("\n".join(record_lines(kind, i, rng)))
        f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rrsets", type=int, default=1000000)
    ap.add_argument("--zone", default="bench.test.")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("file")
    a = ap.parse_args()
    if a.rrsets < 2:
        sys.exit("--rrsets must be at least 2 (SOA and NS)")
    zone = a.zone if a.zone.endswith(".") else a.zone + "."
    with open(a.file, "w") as f:
        write(f, zone, a.rrsets, a.seed)


if __name__ == "__main__":
    main()
