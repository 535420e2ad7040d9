"""Differential test: the same zones served by Knot DNS (from master files) and by authd (from
Kafka events through devbroker) must give the same answers to the same queries.

Compared per query: rcode, opcode, AA, TC, the reply's EDNS version, DO bit and payload, and
the answer, authority and additional sections as sets of RRsets (owner lower-cased, type, TTL,
sorted rdata texts; the order of RRsets in a section is ignored). An unparsable reply is a
result too; no reply from either server fails the test, naming the server and the query. Differences that are justified
(an RFC-permitted choice of one of the servers) are listed in KNOWN_DIFFERENCES with the exact
difference expected; every other query must compare equal. A listed difference that
disappears fails too, so the list stays honest.
"""
import os
import shutil
import subprocess
import tempfile
from collections import namedtuple

import dns.exception
import dns.flags
import dns.message
import dns.opcode
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import pytest

from streamdns import Authd, Broker, free_port, rrset_events, wait_until
from zones import BIG_TXT, EXAMPLE, EXAMPLE_NET, WILDCARD_ENT, zone_file

KNOTD = "/usr/sbin/knotd"

ZONES = {
    "example.com.": EXAMPLE + WILDCARD_ENT,
    "example.net.": EXAMPLE_NET,
}

# ---------------------------------------------------------------------------- queries

Q = namedtuple("Q", "qname qtype tcp edns payload do rdclass opcode")


def q(qname, qtype="A", tcp=False, edns=-1, payload=None, do=False, rdclass="IN",
      opcode="QUERY"):
    return Q(qname, qtype, tcp, edns, payload, do, rdclass, opcode)


def key(x):
    """The query's name in KNOWN_DIFFERENCES and in the test ids."""
    parts = ["tcp" if x.tcp else "udp", x.qname, x.qtype]
    if x.rdclass != "IN":
        parts.append("class-" + x.rdclass)
    if x.edns >= 0:
        parts.append("edns%d" % x.edns)
    if x.payload is not None:
        parts.append("payload%d" % x.payload)
    if x.do:
        parts.append("do")
    if x.opcode != "QUERY":
        parts.append(x.opcode)
    return " ".join(parts)


UDP_QUERIES = [
    # exact match, every type in zones.py, question case
    q("www.example.com."),
    q("www.example.com.", "AAAA"),
    q("WwW.ExAmPlE.CoM."),
    q("EXAMPLE.COM.", "MX"),
    q("example.com.", "SOA"),
    q("example.com.", "NS"),
    q("example.com.", "MX"),
    q("example.com.", "TXT"),
    q("example.com.", "HTTPS"),
    q("example.com.", "DNSKEY"),
    q("ns1.example.com."),
    q("ns2.example.com.", "AAAA"),
    q("mail.example.com."),
    q("_sip._tcp.example.com.", "SRV"),
    q("sip.example.com."),
    q("caa.example.com.", "CAA"),
    q("naptr.example.com.", "NAPTR"),
    q("sshfp.example.com.", "SSHFP"),
    q("_443._tcp.example.com.", "TLSA"),
    q("svc.example.com.", "SVCB"),
    q("opaque.example.com.", "TYPE65280"),
    q("10.2.0.192.in-addr.arpa.", "PTR"),  # in the events, but in no zone
    q("example.net.", "SOA"),
    q("example.net.", "NS"),
    q("www.example.net."),
    # NXDOMAIN, NODATA, empty non-terminals
    q("nope.example.com."),
    q("deep.nope.example.com.", "AAAA"),
    q("nope.example.net."),
    q("mail.example.com.", "AAAA"),
    q("www.example.com.", "MX"),
    q("example.com.", "A"),
    q("ent.example.com."),
    q("b.ent.example.com.", "TXT"),
    q("a.b.ent.example.com."),
    q("x.a.b.ent.example.com."),
    # CNAME: type CNAME, chain, loop, dangling, out of the zones
    q("alias.example.com."),
    q("alias.example.com.", "AAAA"),
    q("alias.example.com.", "CNAME"),
    q("alias.example.com.", "MX"),
    q("chain1.example.com."),
    q("chain1.example.com.", "CNAME"),
    q("loop1.example.com."),
    q("dangling.example.com."),
    q("ext.example.com."),
    # wildcards: match, NODATA, CNAME, the wildcard itself, ENTs
    q("anything.wild.example.com."),
    q("deeper.name.wild.example.com.", "TXT"),
    q("x.wild.example.com.", "MX"),
    q("x.wild.example.com.", "AAAA"),
    q("*.wild.example.com."),
    q("wild.example.com."),
    q("x.wcname.example.com.", "AAAA"),
    q("x.wcname.example.com."),
    q("x.wcname.example.com.", "CNAME"),
    q("ent.wild.example.com."),            # ENT below the wildcard's parent: no wildcard
    q("x.ent.wild.example.com."),          # below that ENT: NXDOMAIN, no wildcard
    q("host.ent.wild.example.com."),
    # delegation: at and below the cut, glue, DS at the cut
    q("sub.example.com."),
    q("sub.example.com.", "NS"),
    q("host.deep.sub.example.com."),
    q("ns.sub.example.com."),
    q("sub.example.com.", "DS"),
    q("sub.example.com.", "DS", edns=0, do=True),
    q("x.sub.example.com.", "DS"),
    # DNAME
    q("www.dn.example.com."),
    q("nope.dn.example.com."),
    q("dn.example.com.", "DNAME"),
    q("dn.example.com."),
    # EDNS
    q("www.example.com.", edns=0),
    q("www.example.com.", edns=0, payload=4096, do=True),
    q("nope.example.com.", edns=0, payload=1232, do=True),
    q("example.com.", "NS", edns=0, payload=512),
    q("www.example.com.", edns=0, payload=100),
    q("www.example.com.", edns=1),         # BADVERS
    q("nope.example.com.", edns=1),
    # truncation
    q("big.example.com.", "TXT"),
    q("big.example.com.", "TXT", edns=0, payload=1232),
    q("big.example.com.", "TXT", edns=0, payload=4096),
    q("big.example.com.", "TXT", edns=0, payload=65535),
    # ANY
    q("www.example.com.", "ANY"),
    q("example.com.", "ANY"),
    q("nope.example.com.", "ANY"),
    q("x.wild.example.com.", "ANY"),
    q("alias.example.com.", "ANY"),
    q("sub.example.com.", "ANY"),
    q("www.example.com.", "RRSIG"),
    q("www.example.com.", "TYPE65280"),
    # other class, names outside every zone, other opcodes
    q("www.example.com.", rdclass="CH"),
    q("www.example.com.", rdclass="ANY"),
    q("www.not-served.test."),
    q("example.org.", "SOA"),
    q("com.", "NS"),
    q(".", "SOA"),
    q("example.com.", "SOA", opcode="NOTIFY"),
]

TCP_QUERIES = [
    q("www.example.com.", tcp=True),
    q("WwW.ExAmPlE.CoM.", tcp=True),
    q("nope.example.com.", tcp=True),
    q("mail.example.com.", "AAAA", tcp=True),
    q("chain1.example.com.", tcp=True),
    q("anything.wild.example.com.", tcp=True),
    q("sub.example.com.", tcp=True),
    q("www.dn.example.com.", tcp=True),
    q("example.com.", "NS", tcp=True),
    q("big.example.com.", "TXT", tcp=True),
    q("big.example.com.", "TXT", tcp=True, edns=0, payload=1232),
    q("www.example.com.", "ANY", tcp=True),
    q("example.com.", "ANY", tcp=True),
    q("x.wild.example.com.", "ANY", tcp=True),
    q("alias.example.com.", "ANY", tcp=True),
    q("www.example.com.", tcp=True, edns=1),
    q("www.not-served.test.", tcp=True),
    q("example.com.", "AXFR", tcp=True),
]

QUERIES = UDP_QUERIES + TCP_QUERIES

# --------------------------------------------------------------- known differences
#
# key(query) -> (justification, {field: (knot, authd)}). For a section the pair holds the
# RRsets found only in knot's section and only in authd's (see diff() below).

NS_GLUE = ("ns1.example.com. 300 A 192.0.2.1", "ns2.example.com. 300 A 192.0.2.2",
           "ns2.example.com. 300 AAAA 2001:db8::2")
WWW_A = "www.example.com. 300 A 192.0.2.10 | 192.0.2.11"
WWW_NET_A = "www.example.net. 300 A 198.51.100.80"
APEX_OTHERS = (
    "example.com. 300 DNSKEY 257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0d "
    "xCjjnopKl+GqJxpVXckHAeF+KkxLbxIL fDLUT0rAK9iUzy1L53eKGQ==",
    'example.com. 300 HTTPS 1 . alpn="h2"',
    "example.com. 300 MX 10 mail.example.com. | 20 mx.elsewhere.org.",
    'example.com. 300 TXT "v=spf1 -all"',
    "example.com. 3600 SOA ns1.example.com. hostmaster.example.com. 2024010101 3600 900 "
    "604800 300")

DNAME_CHASE = ("both permitted: authd follows the synthesized CNAME into its other zone "
               "example.net (RFC 1034 4.3.2 step 3a 'go back to step 1', RFC 6672 3.2); "
               "knot stops at the zone boundary and leaves the rest to the resolver")
ANY_TCP = ("both permitted: RFC 8482 lets a responder answer ANY with one RRset (4.1) on "
           "any transport (knot, also over TCP) or conventionally over TCP only (authd)")

KNOWN_DIFFERENCES = {
    "udp www.dn.example.com. A": (DNAME_CHASE, {
        "answer": ((), (WWW_NET_A,)),
    }),
    "tcp www.dn.example.com. A": (DNAME_CHASE, {
        "answer": ((), (WWW_NET_A,)),
    }),
    "udp nope.dn.example.com. A": (
        DNAME_CHASE + "; authd's rcode is that of the last name, RFC 6604 2.1", {
            "rcode": ("NOERROR", "NXDOMAIN"),
            "authority": ((), ("example.net. 300 SOA ns1.example.net. hostmaster.example.net."
                               " 7 3600 900 604800 600",)),
        }),
    "udp example.com. ANY": (
        "both permitted: same single RRset (NS); additional data is optional (RFC 1034 "
        "4.3.2 step 6), knot adds the NS addresses, authd does none for ANY", {
            "additional": (NS_GLUE, ()),
        }),
    "tcp www.example.com. ANY": (ANY_TCP, {
        "answer": ((), ("www.example.com. 300 AAAA 2001:db8::10",)),
    }),
    "tcp x.wild.example.com. ANY": (ANY_TCP, {
        "answer": ((), ('x.wild.example.com. 300 TXT "wildcard"',)),
    }),
    "tcp example.com. ANY": (
        ANY_TCP + "; additional data optional (RFC 1034 4.3.2 step 6)", {
            "answer": ((), APEX_OTHERS),
            "additional": (NS_GLUE, ()),
        }),
    "udp www.example.com. A class-ANY": (
        "authd permitted (REFUSED for policy, RFC 1035 4.1.1); knot answers from IN with "
        "AA=1, which RFC 1034 3.7.1 says a QCLASS=* answer can never be", {
            "rcode": ("NOERROR", "REFUSED"),
            "aa": (True, False),
            "answer": ((WWW_A,), ()),
        }),
    "udp example.com. SOA NOTIFY": (
        "both permitted: authd implements no NOTIFY, NOTIMP as RFC 1996 3.12 says; knot "
        "implements it and answers NOTAUTH to a sender its ACL does not allow", {
            "rcode": ("NOTAUTH", "NOTIMP"),
        }),
    "tcp example.com. AXFR": (
        "both permitted: no transfers offered; authd REFUSED (policy, RFC 1035 4.1.1), knot "
        "NOTAUTH ('not authorized', its choice for an ACL denial)", {
            "rcode": ("NOTAUTH", "REFUSED"),
        }),
}

# Not listed, because authd is wrong there (they fail until authd is fixed):
#   udp/tcp alias.example.com. ANY: authd restarts the query at the CNAME's target, but
#   QTYPE * matches CNAME and "queries which match the CNAME type are not restarted"
#   (RFC 1034 3.6.2, 4.3.2 step 3a); knot returns the CNAME alone.

# ---------------------------------------------------------------------- servers


class Knotd:
    """knotd in the foreground, serving ZONES from master files in a temp dir."""

    def __init__(self, zones):
        self.dir = tempfile.mkdtemp(prefix="knotd-")
        self.port = free_port()
        zlines = []
        for origin, records in zones.items():
            fname = origin + "zone"
            with open(os.path.join(self.dir, fname), "w") as f:
                f.write(zone_file(origin, records))
            zlines.append("  - domain: %s\n    file: %s\n" % (origin, fname))
        self.conf = os.path.join(self.dir, "knot.conf")
        with open(self.conf, "w") as f:
            f.write(
                "server:\n"
                "    listen: 127.0.0.1@%d\n"
                "    rundir: %s\n"
                "    udp-workers: 2\n"
                "    tcp-workers: 1\n"
                "    background-workers: 1\n"
                "database:\n"
                "    storage: %s\n"
                "control:\n"
                "    listen: %s\n"
                "log:\n"
                "  - target: stderr\n"
                "    any: info\n"
                "template:\n"
                "  - id: default\n"
                "    storage: %s\n"
                "    semantic-checks: off\n"
                "    zonefile-sync: -1\n"
                "    journal-content: none\n"
                "    zonefile-load: whole\n"
                "zone:\n%s"
                % (self.port, self.dir, os.path.join(self.dir, "db"),
                   os.path.join(self.dir, "knot.sock"), self.dir, "".join(zlines)))
        self.logpath = os.path.join(self.dir, "knotd.log")
        self.logf = open(self.logpath, "w")
        self.proc = subprocess.Popen([KNOTD, "-c", self.conf], stdout=self.logf,
                                     stderr=subprocess.STDOUT)
        try:
            self._wait(zones)
        except BaseException:
            self.stop()
            raise

    def _wait(self, zones):
        pending = set(zones)

        def served():
            for origin in sorted(pending):
                try:
                    r = dns.query.udp(dns.message.make_query(origin, "SOA"), "127.0.0.1",
                                      port=self.port, timeout=0.3)
                    if r.rcode() == dns.rcode.NOERROR and r.answer:
                        pending.discard(origin)
                except (dns.exception.DNSException, OSError):
                    pass
            return not pending
        wait_until(served, "knotd on port %d to serve %s" % (self.port, sorted(zones)), 30,
                   log=self.read_log, proc=self.proc)

    def read_log(self):
        with open(self.logpath) as f:
            return f.read()

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.logf.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def servers():
    if not os.path.exists(KNOTD):
        pytest.skip("knotd is not installed")
    knot = Knotd(ZONES)
    broker = authd = None
    try:
        broker = Broker(partitions=3)
        broker.produce(rrset_events(sum(ZONES.values(), [])))
        authd = Authd(broker.address)
        authd.wait_ready()
        authd.wait_for("www.example.net.", "A", lambda r: len(r.answer) == 1)
        authd.wait_for("host.ent.wild.example.com.", "A", lambda r: len(r.answer) == 1)
        authd.wait_for("big.example.com.", "TXT",
                       lambda r: r.answer and len(r.answer[0]) == len(BIG_TXT), tcp=True)
        yield knot, authd
    finally:
        if authd is not None:
            authd.stop()
        if broker is not None:
            broker.stop()
        knot.stop()


# ------------------------------------------------------------------ comparison


def make_message(x):
    m = dns.message.make_query(x.qname, x.qtype,
                               rdclass=dns.rdataclass.from_text(x.rdclass))
    # Not make_query(use_edns=..., want_dnssec=...): dnspython 2.3's want_dnssec(False)
    # clears the EDNS version bits, so a version-1 query would go out as EDNS0.
    if x.edns >= 0:
        m.use_edns(edns=x.edns, ednsflags=dns.flags.DO if x.do else 0,
                   payload=x.payload if x.payload is not None else 1232)
    return m


def ask(x, server, port):
    """server's reply to x. No reply fails the test: every query here is answered by both
    servers, and two timeouts would otherwise compare equal."""
    m = make_message(x)
    if x.opcode != "QUERY":
        m.set_opcode(dns.opcode.from_text(x.opcode))
    try:
        if x.tcp:
            return dns.query.tcp(m, "127.0.0.1", port=port, timeout=5.0)
        return dns.query.udp(m, "127.0.0.1", port=port, timeout=5.0)
    except dns.exception.Timeout:
        raise AssertionError("%s on port %d did not answer %s within 5 s"
                             % (server, port, key(x))) from None
    except Exception as e:  # a reply dnspython cannot parse or match counts as a result
        return "error: %s: %s" % (type(e).__name__, e)


def rrsets(section):
    """A section as a set of RRsets: 'owner TTL TYPE rdata | rdata ...'."""
    out = set()
    for s in section:
        out.add("%s %d %s %s" % (s.name.to_text().lower(), s.ttl,
                                 dns.rdatatype.to_text(s.rdtype),
                                 " | ".join(sorted(r.to_text() for r in s))))
    return frozenset(out)


def view(r):
    """What is compared of a reply."""
    if isinstance(r, str):
        return {"reply": r}
    return {
        "reply": "ok",
        "rcode": dns.rcode.to_text(r.rcode()),
        "opcode": dns.opcode.to_text(r.opcode()),
        "aa": bool(r.flags & dns.flags.AA),
        "tc": bool(r.flags & dns.flags.TC),
        "edns": r.edns,
        "do": bool(r.ednsflags & dns.flags.DO) if r.edns >= 0 else None,
        "payload": r.payload if r.edns >= 0 else None,
        "answer": rrsets(r.answer),
        "authority": rrsets(r.authority),
        "additional": rrsets(r.additional),
    }


def diff(knot, authd):
    """{field: (knot's value, authd's value)} for the fields that differ; for a section,
    (RRsets only in knot's, RRsets only in authd's), each a sorted tuple."""
    out = {}
    for f in sorted(set(knot) | set(authd)):
        a, b = knot.get(f), authd.get(f)
        if a == b:
            continue
        if isinstance(a, frozenset) and isinstance(b, frozenset):
            out[f] = (tuple(sorted(a - b)), tuple(sorted(b - a)))
        else:
            out[f] = (a, b)
    return out


@pytest.mark.parametrize("x", [x for x in QUERIES if x.edns >= 0], ids=key)
def test_query_on_the_wire(x):
    """The queries are what they claim to be (EDNS version, payload, DO)."""
    m = dns.message.from_wire(make_message(x).to_wire())
    assert m.edns == x.edns
    assert bool(m.ednsflags & dns.flags.DO) == x.do
    assert m.payload == (x.payload if x.payload is not None else 1232)


def test_known_differences_are_queries():
    keys = [key(x) for x in QUERIES]
    assert len(keys) == len(set(keys)), "duplicate queries"
    assert set(KNOWN_DIFFERENCES) <= set(keys)
    for k, (why, d) in KNOWN_DIFFERENCES.items():
        assert why and d, k


@pytest.mark.parametrize("x", QUERIES, ids=key)
def test_same_answer(servers, x):
    knot, authd = servers
    got = diff(view(ask(x, "knotd", knot.port)), view(ask(x, "authd", authd.port)))
    assert authd.proc.poll() is None, "authd died on %s: %s" % (key(x), authd.read_log())
    why, want = KNOWN_DIFFERENCES.get(key(x), ("", {}))
    assert got == want, "%s: {field: (knot, authd)} differs from the expected %s%s" % (
        key(x), "difference (%s)" % why if why else "equality",
        "" if want else "; list it in KNOWN_DIFFERENCES only if the RFCs permit both")
