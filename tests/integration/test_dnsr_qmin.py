"""streamdns-dnsr's QNAME minimisation (RFC 9156), watched from the servers' side.

A small internet of scripted authoritative servers (mini_internet.Scripted, each on its own
127.0.0.x address, all on one port), each logging every question it receives: that log is
what the tests read, so "the root saw only the TLD label" is the root's word, not the
resolver's. The servers are simple authoritative ones built from a table of records and
delegations; four of them are broken the ways RFC 9156 3 says real servers are for an
empty non-terminal (a name with no data but names below it): NXDOMAIN, REFUSED, SERVFAIL
or no answer at all. Last, a DNSSEC-signed internet (signed_internet.py, a few zones of it)
for the NXDOMAIN that a validator may trust.

Nothing here is sent to an address outside 127.0.0.0/8.
"""
import re

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

import mini_internet as mi
import signed_internet as si
from streamdns import BUILD

ROOT, TLD, Q, SUB = "127.0.0.51", "127.0.0.52", "127.0.0.53", "127.0.0.54"
BROKEN, REFUSE, SERVFAIL, SILENT = "127.0.0.55", "127.0.0.56", "127.0.0.57", "127.0.0.58"

LONG = ".".join("l%d" % i for i in range(1, 13)) + ".q.test."     # 14 labels

# zone: (server, {owner: [(type, rdata)]}, {child zone: (NS name, its address)})
ZONES = {
    ".": (ROOT, {}, {"test.": ("ns.nic.test.", TLD)}),
    "test.": (TLD, {}, {"q.test.": ("ns.q.test.", Q),
                        "broken.test.": ("ns.broken.test.", BROKEN),
                        "refuse.test.": ("ns.refuse.test.", REFUSE),
                        "servfail.test.": ("ns.servfail.test.", SERVFAIL),
                        "silent.test.": ("ns.silent.test.", SILENT)}),
    "q.test.": (Q, {"www.q.test.": [("A", "192.0.2.1")],
                    "a.b.c.q.test.": [("TXT", '"abc"'), ("A", "192.0.2.2")],
                    "host.q.test.": [("A", "192.0.2.3")],
                    "x.host.q.test.": [("TXT", '"below an A"')],
                    "a.e.f.q.test.": [("TXT", '"ef"')],
                    LONG: [("TXT", '"long"')]},
                {"sub.q.test.": ("ns.sub.q.test.", SUB)}),
    "sub.q.test.": (SUB, {"x.y.sub.q.test.": [("TXT", '"xy"')]}, {}),
}
# The broken ones: a.b.<zone> has data, b.<zone> is an empty non-terminal.
BROKEN_ZONES = {"broken.test.": (BROKEN, dns.rcode.NXDOMAIN),
                "refuse.test.": (REFUSE, dns.rcode.REFUSED),
                "servfail.test.": (SERVFAIL, dns.rcode.SERVFAIL),
                "silent.test.": (SILENT, None)}
for _z, (_addr, _) in BROKEN_ZONES.items():
    ZONES[_z] = (_addr, {"a.b." + _z: [("TXT", '"deep"')]}, {})


def authoritative(zone, broken=False, ent_rcode=None):
    """A handler answering for zone as an authoritative server does: referrals to its
    children (NS and glue), data with AA, NODATA and NXDOMAIN with the SOA. broken: an
    empty non-terminal gets ent_rcode instead of NODATA (None: no answer at all)."""
    _, records, children = ZONES[zone]
    soa = dns.rrset.from_text(zone, 60, "IN", "SOA", "ns.%s h.%s 1 3600 900 604800 60"
                              % (zone.lstrip("."), zone.lstrip(".")))

    def handler(q):
        name = q.question[0].name.to_text().lower()
        rdtype = dns.rdatatype.to_text(q.question[0].rdtype)
        r = dns.message.make_response(q)
        for child, (ns, addr) in children.items():
            if name == child or name.endswith("." + child):
                r.authority.append(dns.rrset.from_text(child, 3600, "IN", "NS", ns))
                r.additional.append(dns.rrset.from_text(ns, 3600, "IN", "A", addr))
                return r
        r.flags |= dns.flags.AA
        if name in records:
            data = [d for t, d in records[name] if t == rdtype]
            if data:
                r.answer.append(dns.rrset.from_text(name, 60, "IN", rdtype, *data))
            else:
                r.authority.append(soa)
        elif name == zone:
            r.authority.append(soa)
        elif any(o.endswith("." + name) for o in records):
            if broken:
                if ent_rcode is None:
                    return None
                r.set_rcode(ent_rcode)
                if ent_rcode == dns.rcode.NXDOMAIN:
                    r.authority.append(soa)
            else:
                r.authority.append(soa)
        else:
            r.set_rcode(dns.rcode.NXDOMAIN)
            r.authority.append(soa)
        return r
    return handler


class QminInternet:
    """The scripted servers of ZONES on one port, and a root hints file for them."""

    def __init__(self, tmp):
        addrs = sorted({v[0] for v in ZONES.values()})
        self.port = mi.free_port_all(addrs)
        self.servers = {}
        try:
            for zone, (addr, _, _) in ZONES.items():
                b = BROKEN_ZONES.get(zone)
                self.servers[addr] = mi.Scripted(
                    addr, self.port, authoritative(zone, b is not None, b and b[1]))
        except BaseException:
            self.stop()
            raise
        self.hints = str(tmp / "root.hints")
        with open(self.hints, "w") as f:
            f.write(".  3600000  NS  A.ROOT.\nA.ROOT.  3600000  A  %s\n" % ROOT)

    def seen(self, addr):
        return self.servers[addr].seen()

    def stop(self):
        for s in self.servers.values():
            s.stop()


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    n = QminInternet(tmp_path_factory.mktemp("qmin"))
    yield n
    n.stop()


def resolver(net, setting, extra=""):
    return mi.Dnsr(BUILD, net, workers=1,
                   resolver="qname-minimisation = %s\n%s" % (setting, extra))


@pytest.fixture(scope="module")
def relaxed(net):
    d = resolver(net, "yes")
    yield d
    d.stop()


class Watch:
    """What each server is asked from now on."""

    def __init__(self, net):
        self.net = net
        self.before = {a: len(net.seen(a)) for a in net.servers}

    def new(self, addr):
        return self.net.seen(addr)[self.before[addr]:]


def metric(d, name):
    status, body = d.http("/metrics")
    assert status == 200
    m = re.search(r"^%s (\d+)$" % re.escape(name), body, re.M)
    assert m, "no %s in /metrics" % name
    return int(m.group(1))


MINIMISED = "streamdns_dnsr_upstream_minimised_queries_total"
FALLBACKS = "streamdns_dnsr_qname_minimisation_fallbacks_total"


def txt(r):
    return [rd.to_text() for s in r.answer if s.rdtype == dns.rdatatype.TXT for rd in s]


def test_each_server_sees_only_its_labels(net, relaxed):
    """(a) From a cold cache: the root is asked the TLD alone, the TLD one label more, and
    only the zone's own servers get the name and the type the client asked."""
    w = Watch(net)
    r = relaxed.query("www.q.test.", "A")
    assert r.rcode() == dns.rcode.NOERROR and r.answer
    assert w.new(ROOT) == [("test.", "A")]
    assert w.new(TLD) == [("q.test.", "A")]
    assert w.new(Q) == [("www.q.test.", "A")]

    # Empty non-terminals inside q.test: one label at a time, the real type at the end.
    w = Watch(net)
    r = relaxed.query("a.b.c.q.test.", "TXT")
    assert txt(r) == ['"abc"']
    assert w.new(ROOT) == [] and w.new(TLD) == []
    assert w.new(Q) == [("c.q.test.", "A"), ("b.c.q.test.", "A"), ("a.b.c.q.test.", "TXT")]

    # A zone cut found by a minimised query: the child's server starts from its own zone.
    w = Watch(net)
    r = relaxed.query("x.y.sub.q.test.", "TXT")
    assert txt(r) == ['"xy"']
    assert w.new(Q) == [("sub.q.test.", "A")]
    assert w.new(SUB) == [("y.sub.q.test.", "A"), ("x.y.sub.q.test.", "TXT")]

    # A name with data (an A) above the one asked: no cut there, go on below it.
    w = Watch(net)
    r = relaxed.query("x.host.q.test.", "TXT")
    assert txt(r) == ['"below an A"']
    assert w.new(Q) == [("host.q.test.", "A"), ("x.host.q.test.", "TXT")]
    assert metric(relaxed, FALLBACKS) == 0


def test_long_name_within_rfc9156_limits(net, relaxed):
    """RFC 9156 2.3: at most 10 queries for a name of many labels, the first four adding
    one label each, then larger steps, the full name last."""
    w = Watch(net)
    before = metric(relaxed, MINIMISED)
    r = relaxed.query(LONG, "TXT")
    assert txt(r) == ['"long"']
    seen = w.new(Q)
    assert seen[-1] == (LONG, "TXT")
    assert len(seen) == 10, seen
    labels = [len(n.rstrip(".").split(".")) for n, _ in seen]
    assert labels[:5] == [3, 4, 5, 6, 7], labels
    assert labels == sorted(labels) and labels[-1] == 14
    assert any(b - a > 1 for a, b in zip(labels, labels[1:])), labels
    assert all(t == "A" for _, t in seen[:-1])
    assert metric(relaxed, MINIMISED) - before == 9


def test_budget_kept_for_the_full_name(net):
    """Relaxed mode stops minimising once half of max-queries is spent, so the full name
    still fits: with max-queries = 4 the root and the TLD take 2 (minimised), and q.test is
    asked the full name at once instead of 9 steps that would exhaust the budget. Strict
    mode keeps minimising, and runs out."""
    for setting, ok in (("yes", True), ("strict", False)):
        d = resolver(net, setting, "max-queries = 4\n")
        try:
            w = Watch(net)
            r = d.query(LONG, "TXT")
            if ok:
                assert txt(r) == ['"long"']
                assert w.new(ROOT) == [("test.", "A")] and w.new(TLD) == [("q.test.", "A")]
                assert w.new(Q) == [(LONG, "TXT")]
            else:
                assert r.rcode() == dns.rcode.SERVFAIL
                assert (LONG, "TXT") not in w.new(Q)
        finally:
            d.stop()


def test_known_names_are_not_asked_again(net, relaxed):
    """A name found to be data of the zone (its NODATA, cached) is not asked again for the
    next name below it: a burst of names under one empty non-terminal costs one question
    more, not one each."""
    w = Watch(net)
    r = relaxed.query("k1.e.f.q.test.", "TXT")
    assert r.rcode() == dns.rcode.NXDOMAIN
    assert w.new(Q) == [("f.q.test.", "A"), ("e.f.q.test.", "A"), ("k1.e.f.q.test.", "TXT")]
    w = Watch(net)
    r = relaxed.query("k2.e.f.q.test.", "TXT")
    assert r.rcode() == dns.rcode.NXDOMAIN
    assert w.new(Q) == [("k2.e.f.q.test.", "TXT")]


def test_relaxed_falls_back_after_nxdomain_for_empty_non_terminal(net, relaxed):
    """(b) A server answering NXDOMAIN for an empty non-terminal (unsigned zone): relaxed
    mode asks the full name, and the NXDOMAIN is not taken for it (nor cached)."""
    before = metric(relaxed, FALLBACKS)
    for name in ("a.b.broken.test.", "a.b.broken.test."):
        w = Watch(net)
        r = relaxed.query(name, "TXT")
        assert r.rcode() == dns.rcode.NOERROR and txt(r) == ['"deep"']
    # The second time the answer comes from the cache.
    assert w.new(BROKEN) == []
    assert metric(relaxed, FALLBACKS) - before == 1
    w = Watch(net)
    r = relaxed.query("a.b.broken.test.", "A")
    assert r.rcode() == dns.rcode.NOERROR and not r.answer
    assert w.new(BROKEN) == [("b.broken.test.", "A"), ("a.b.broken.test.", "A")]


def test_strict_stops_at_nxdomain(net):
    """(c) Strict mode believes the NXDOMAIN and never sends the full name."""
    d = resolver(net, "strict")
    try:
        w = Watch(net)
        r = d.query("a.b.broken.test.", "TXT")
        assert r.rcode() == dns.rcode.NXDOMAIN
        assert w.new(BROKEN) == [("b.broken.test.", "A")]
        assert metric(d, FALLBACKS) == 0
        # Strict, and a server that refuses the minimised question: no answer at all.
        r = d.query("a.b.refuse.test.", "TXT")
        assert r.rcode() == dns.rcode.SERVFAIL
        assert ("a.b.refuse.test.", "TXT") not in net.seen(REFUSE)
    finally:
        d.stop()


@pytest.mark.parametrize("addr,zone", [(REFUSE, "refuse.test."),
                                       (SERVFAIL, "servfail.test."),
                                       (SILENT, "silent.test.")])
def test_relaxed_falls_back_after_failure(net, relaxed, addr, zone):
    """(d) REFUSED, SERVFAIL or no answer to the minimised query: the full name, to the
    same (only) server, and the answer."""
    before = metric(relaxed, FALLBACKS)
    w = Watch(net)
    r = relaxed.query("a.b." + zone, "TXT")
    assert r.rcode() == dns.rcode.NOERROR and txt(r) == ['"deep"']
    assert w.new(addr) == [("b." + zone, "A"), ("a.b." + zone, "TXT")]
    assert metric(relaxed, FALLBACKS) - before == 1


def test_off_sends_the_full_name(net):
    """(e) qname-minimisation = no: every server is asked the full name and type."""
    d = resolver(net, "no")
    try:
        w = Watch(net)
        r = d.query("a.b.c.q.test.", "TXT")
        assert txt(r) == ['"abc"']
        full = [("a.b.c.q.test.", "TXT")]
        assert w.new(ROOT) == full and w.new(TLD) == full and w.new(Q) == full
        assert metric(d, MINIMISED) == 0
    finally:
        d.stop()


def test_forwarders_get_the_full_name(net):
    """Forward mode never minimises: the forwarder resolves the name, it needs all of it."""
    d = mi.Dnsr(BUILD, None, workers=1, resolver="mode = forward\nforwarders = %s:%d\n"
                "qname-minimisation = strict\n" % (Q, net.port))
    try:
        w = Watch(net)
        r = d.query("a.b.c.q.test.", "TXT")
        assert txt(r) == ['"abc"']
        assert w.new(Q) == [("a.b.c.q.test.", "TXT")]
    finally:
        d.stop()


def test_config_rejects_unknown_mode(net, tmp_path):
    import subprocess
    conf = tmp_path / "dnsr.ini"
    conf.write_text("[resolver]\nroot-hints = %s\nqname-minimisation = maybe\n"
                    "[dnssec]\nvalidation = no\n" % net.hints)
    p = subprocess.run([BUILD + "/streamdns-dnsr", "-c", str(conf), "--check-config"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode != 0
    assert "qname-minimisation: 'maybe' is not yes, no or strict" in p.stdout + p.stderr


# --- (f) a signed zone's NXDOMAIN is trusted ---

SIGNED = {".", "test.", "nsec.test.", "nsec3.test.", "unsigned.test."}


@pytest.fixture(scope="module")
def signed():
    s = si.SignedInternet(only=SIGNED)
    yield s
    s.stop()


def asked(d, name):
    """The questions dnsr's debug log shows it sent for names at or below name."""
    return re.findall(r"query (\S*%s)\.? type (\d+) to" % re.escape(name.rstrip(".")),
                      d.read_log())


@pytest.mark.parametrize("zone", ["nsec.test.", "nsec3.test."])
def test_signed_nxdomain_is_trusted(signed, zone):
    """(f) NXDOMAIN for a minimised name, proven by a signed zone (NSEC or NSEC3): the
    answer for the whole name (RFC 8020), validated, with no query for the full name."""
    d = signed.dnsr(BUILD, workers=1)
    try:
        name = "x.nothere." + zone
        r = d.query(name, "TXT", want_dnssec=True)
        assert r.rcode() == dns.rcode.NXDOMAIN
        assert r.flags & dns.flags.AD
        sent = asked(d, "nothere." + zone)
        assert sent == [("nothere." + zone.rstrip("."), "1")], sent
        assert metric(d, FALLBACKS) == 0
        # The whole name's NXDOMAIN was cached: asked again, nothing goes upstream.
        before = metric(d, "streamdns_dnsr_upstream_queries_total")
        r = d.query(name, "TXT", want_dnssec=True)
        assert r.rcode() == dns.rcode.NXDOMAIN and r.flags & dns.flags.AD
        assert metric(d, "streamdns_dnsr_upstream_queries_total") == before
    finally:
        d.stop()


def test_unsigned_nxdomain_falls_back_when_validating(signed):
    """The same below an unsigned delegation: not proven, so relaxed mode asks the full
    name (and gets the same NXDOMAIN, now for the name itself, insecure)."""
    d = signed.dnsr(BUILD, workers=1)
    try:
        r = d.query("x.nothere.unsigned.test.", "TXT", want_dnssec=True)
        assert r.rcode() == dns.rcode.NXDOMAIN
        assert not r.flags & dns.flags.AD
        sent = asked(d, "nothere.unsigned.test.")
        assert ("nothere.unsigned.test", "1") in sent
        assert ("x.nothere.unsigned.test", "16") in sent
        assert metric(d, FALLBACKS) == 1
    finally:
        d.stop()
