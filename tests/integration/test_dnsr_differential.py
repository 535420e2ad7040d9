"""Differential test: streamdns-dnsr and Unbound (Debian's) resolve the same names on the same
mini internet; rcode and answer RRsets (owner, type, records; not TTLs, which count down
differently) must match.

Both start cold, and each name is asked of both before the next, so that both have the same
chance to have cached what the earlier names brought. A difference that is justified must be
listed in KNOWN_DIFFERENCES with the exact difference expected; a listed difference that
disappears fails too, so the list stays honest.

Not compared: names whose every server is dead or refuses (www.broken.test, sub.evil.test).
Both give SERVFAIL, but Unbound takes more than ten seconds to give up (it retries with
back-off), which would make the suite slow; test_dnsr.py covers dnsr's side of these.
"""
import dns.exception
import dns.rcode
import dns.rdatatype
import pytest

import mini_internet as mi
from streamdns import BUILD

QUERIES = [
    # plain data, every type the zones hold
    ("www.alpha.test.", "A"), ("WWW.Alpha.TEST.", "A"), ("alpha.test.", "MX"),
    ("alpha.test.", "NS"), ("alpha.test.", "SOA"), ("txt.alpha.test.", "TXT"),
    ("mx.alpha.test.", "A"), ("ns1.alpha.test.", "A"), ("www.alpha.test.", "ANY"),
    # NXDOMAIN and NODATA at every level
    ("nope.alpha.test.", "A"), ("www.alpha.test.", "AAAA"), ("nonexistent-tld.", "A"),
    ("nope.test.", "A"), ("nope.example.", "TXT"), ("alpha.test.", "TXT"),
    # delegations: with glue, without glue, lame, through the poisoner
    ("www.beta.test.", "A"), ("beta.test.", "NS"), ("ns.beta-dns.example.", "A"),
    ("www.gamma.test.", "A"), ("www.victim.test.", "A"), ("ns.victim.test.", "A"),
    ("www.lame01.test.", "A"), ("www.lame02.test.", "A"), ("www.evil.test.", "A"),
    ("nothing.evil.test.", "A"),
    # a zone whose server never sets AA: answers, a CNAME, NXDOMAIN and NODATA all the same
    ("www.noaa.test.", "A"), ("alias.noaa.test.", "A"), ("nope.noaa.test.", "A"),
    ("www.noaa.test.", "TXT"),
    # CNAME and DNAME chains across zones, into NXDOMAIN, into a loop
    ("cname-ext.alpha.test.", "A"), ("cname-ext.alpha.test.", "CNAME"),
    ("cname-in.alpha.test.", "A"), ("chain1.alpha.test.", "A"), ("chain1.alpha.test.", "TXT"),
    ("cname-nx.alpha.test.", "A"), ("loop.alpha.test.", "A"),
    ("x.dn.alpha.test.", "A"), ("nothing.dn.alpha.test.", "A"), ("dn.alpha.test.", "DNAME"),
    # wildcards, the root and TLD apexes
    ("a.b.many.alpha.test.", "A"), ("many.alpha.test.", "A"), (".", "SOA"), (".", "NS"),
    ("test.", "NS"), ("example.", "SOA"),
]
TCP_QUERIES = [("big.alpha.test.", "TXT"), ("www.alpha.test.", "A")]

KNOWN_DIFFERENCES = {}


@pytest.fixture(scope="module")
def resolvers():
    net = mi.MiniInternet()
    dnsr = unbound = None
    try:
        dnsr = mi.Dnsr(BUILD, net)
        unbound = mi.Unbound(net)
        yield dnsr, unbound
    finally:
        for r in (unbound, dnsr):
            if r is not None:
                r.stop()
        net.stop()


def view(r):
    return {
        "rcode": dns.rcode.to_text(r.rcode()),
        "answer": sorted("%s %s %s" % (s.name.to_text().lower(), dns.rdatatype.to_text(s.rdtype),
                                       " | ".join(sorted(x.to_text() for x in s)))
                         for s in r.answer),
    }


def ask(who, server, name, rdtype, tcp):
    """server's reply, as compared. No reply fails the test: both resolvers answer every
    query here (SERVFAIL at worst), and two timeouts would otherwise compare equal."""
    try:
        return view(server.query(name, rdtype, tcp=tcp, timeout=8.0))
    except dns.exception.Timeout:
        raise AssertionError("%s on port %d did not answer %s within 8 s"
                             % (who, server.port, key((name, rdtype), tcp))) from None


def key(q, tcp):
    return "%s %s %s" % ("tcp" if tcp else "udp", q[0], q[1])


CASES = [(q, False) for q in QUERIES] + [(q, True) for q in TCP_QUERIES]


@pytest.mark.parametrize("q,tcp", CASES, ids=[key(q, t) for q, t in CASES])
def test_same_answer_as_unbound(resolvers, q, tcp):
    dnsr, unbound = resolvers
    ours = ask("dnsr", dnsr, q[0], q[1], tcp)
    theirs = ask("unbound", unbound, q[0], q[1], tcp)
    assert dnsr.proc.poll() is None, dnsr.read_log()
    want = KNOWN_DIFFERENCES.get(key(q, tcp))
    if want is None:
        assert ours == theirs, "dnsr %s\nunbound %s" % (ours, theirs)
    else:
        assert (ours, theirs) == want[1], want[0]
