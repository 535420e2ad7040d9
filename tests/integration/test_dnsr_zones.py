"""Per-zone forwarding and stubs in streamdns-dnsr: [forward-zone NAME] and [stub-zone NAME].

The mini internet (NSD on 127.0.0.x) is what recursion finds; beside it, scripted servers
that no delegation leads to: an authoritative server for internal. (with a delegation of
sub.internal. to a second one) and a recursive-style server (RA set, AA clear) for corp.
Each records the RD bit and whether dnsr's loop mark (EDNS option 65001) came with the
query. With validation on, an internal zone under the signed mini internet's nsec.test.
(which knows nothing of it: its NSEC proves the name does not exist) is bogus unless the
section says insecure = yes. Last, the loop: a forward zone of dnsr pointing at the authd
that forwards to that dnsr's socket.
"""
import os
import subprocess
import tempfile
import types

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

import mini_internet as mi
import signed_internet as si
from streamdns import BUILD, Authd, Broker, metrics, wait_until

DNSR = os.path.join(BUILD, "streamdns-dnsr")
ETC = os.path.join(os.path.dirname(__file__), "..", "..", "etc")
STUB, SUBSTUB, FWD = "127.0.0.30", "127.0.0.31", "127.0.0.32"
SIGNED_STUB = "127.0.3.30"
LOOP_MARK = 65001


class Server(mi.Scripted):
    """A scripted server that also logs (qname, type, RD, loop mark present)."""

    def __init__(self, addr, port, answer):
        self.log = []
        self.answer = answer
        super().__init__(addr, port, self.handle)

    def handle(self, q):
        marked = any(o.otype == LOOP_MARK for o in q.options)
        with self.lock:
            self.log.append((q.question[0].name.to_text().lower(),
                             dns.rdatatype.to_text(q.question[0].rdtype),
                             bool(q.flags & dns.flags.RD), marked))
        return self.answer(q)

    def asked(self):
        with self.lock:
            return list(self.log)


def rr(name, rdtype, rdata, ttl=300):
    return dns.rrset.from_text(name, ttl, "IN", rdtype, rdata)


def authoritative(zone, data, delegations=None):
    """An AA server for zone: data {(name, type): (type, rdata)}; delegations {child:
    (ns name, address)}, answered as referrals with glue; NXDOMAIN otherwise."""
    def answer(q):
        name = q.question[0].name.to_text().lower()
        rdtype = dns.rdatatype.to_text(q.question[0].rdtype)
        r = dns.message.make_response(q)
        for child, (ns, addr) in (delegations or {}).items():
            if name == child or name.endswith("." + child):
                r.authority.append(rr(child, "NS", ns))
                r.additional.append(rr(ns, "A", addr))
                return r
        r.flags |= dns.flags.AA
        soa = rr(zone, "SOA", "ns.%s h.%s 1 3600 900 604800 60" % (zone, zone))
        if (name, rdtype) in data:
            t, v = data[(name, rdtype)]
            r.answer.append(rr(name, t, v))
        elif (name, "CNAME") in data:
            r.answer.append(rr(name, "CNAME", data[(name, "CNAME")][1]))
        elif name in {n for n, _ in data}:
            r.authority.append(soa)
        else:
            r.set_rcode(dns.rcode.NXDOMAIN)
            r.authority.append(soa)
        return r
    return answer


def recursive_corp(q):
    """A recursive server's answers for corp. (RA, no AA). out.corp. is a CNAME out of the
    zone, with an address for its target that is not the forwarder's to give."""
    name = q.question[0].name.to_text().lower()
    r = dns.message.make_response(q)
    r.flags |= dns.flags.RA
    r.flags &= ~dns.flags.AA
    if name == "www.corp." and q.question[0].rdtype == dns.rdatatype.A:
        r.answer.append(rr(name, "A", "10.2.2.2"))
    elif name == "out.corp.":
        r.answer.append(rr(name, "CNAME", "www.alpha.test."))
        r.answer.append(rr("www.alpha.test.", "A", "6.6.6.6"))
    else:
        r.set_rcode(dns.rcode.NXDOMAIN)
        r.authority.append(rr("corp.", "SOA", "ns.corp. h.corp. 1 3600 900 604800 60"))
    return r


INTERNAL = {("www.internal.", "A"): ("A", "10.1.1.1"),
            ("alias.internal.", "CNAME"): ("CNAME", "www.alpha.test.")}
SUB = {("www.sub.internal.", "A"): ("A", "10.1.1.2")}


@pytest.fixture(scope="module")
def net():
    m = mi.MiniInternet()
    # The mini internet's port: servers learnt from a referral (below the stub zone) are
    # asked on query-port, as every other.
    port = m.port
    m.zones = types.SimpleNamespace(
        port=port,
        stub=Server(STUB, port, authoritative(
            "internal.", INTERNAL, {"sub.internal.": ("ns.sub.internal.", SUBSTUB)})),
        sub=Server(SUBSTUB, port, authoritative("sub.internal.", SUB)),
        fwd=Server(FWD, port, recursive_corp))
    yield m
    for s in (m.zones.stub, m.zones.sub, m.zones.fwd):
        s.stop()
    m.stop()


def zone_sections(port, stub_extra="", fwd_extra=""):
    return ("[stub-zone internal.]\nservers = %s:%d\n%s"
            "[forward-zone corp]\nservers = %s:%d\n%s" % (STUB, port, stub_extra, FWD, port,
                                                          fwd_extra))


@pytest.fixture(scope="module")
def dnsr(net):
    d = mi.Dnsr(BUILD, mini=net, sections=zone_sections(net.zones.port))
    yield d
    d.stop()


def addresses(r):
    return sorted(str(x) for s in r.answer if s.rdtype == dns.rdatatype.A for x in s)


def test_stub_zone_beside_recursion(dnsr, net):
    r = dnsr.query("www.internal.", "A")
    assert r.rcode() == dns.rcode.NOERROR and addresses(r) == ["10.1.1.1"], r
    asked = [e for e in net.zones.stub.asked() if e[0] == "www.internal."]
    assert asked and all(rd is False and not mark for _, _, rd, mark in asked), asked
    # The rest of the world still by iteration from the root hints.
    r = dnsr.query("www.alpha.test.", "A")
    assert addresses(r) == ["192.0.2.1", "192.0.2.2"], r
    assert not [e for e in net.zones.stub.asked() if "alpha" in e[0]]


def test_stub_zone_referral_below_is_followed(dnsr, net):
    r = dnsr.query("www.sub.internal.", "A")
    assert r.rcode() == dns.rcode.NOERROR and addresses(r) == ["10.1.1.2"], r
    assert [e for e in net.zones.sub.asked() if e[0] == "www.sub.internal."]


def test_stub_zone_cname_out_of_it_resolved_by_recursion(dnsr, net):
    r = dnsr.query("alias.internal.", "A")
    assert r.rcode() == dns.rcode.NOERROR, r
    assert addresses(r) == ["192.0.2.1", "192.0.2.2"], r
    assert not [e for e in net.zones.stub.asked() if e[0] == "www.alpha.test."]


def test_nxdomain_in_stub_zone(dnsr, net):
    r = dnsr.query("nothere.internal.", "A")
    assert r.rcode() == dns.rcode.NXDOMAIN, r
    assert r.authority and r.authority[0].name.to_text() == "internal.", r


def test_forward_zone_rd1_and_answer_without_aa(dnsr, net):
    r = dnsr.query("www.corp.", "A")
    assert r.rcode() == dns.rcode.NOERROR and addresses(r) == ["10.2.2.2"], r
    asked = [e for e in net.zones.fwd.asked() if e[0] == "www.corp."]
    assert asked and all(rd and mark for _, _, rd, mark in asked), asked
    r = dnsr.query("nothere.corp.", "A")
    assert r.rcode() == dns.rcode.NXDOMAIN, r


def test_forward_zone_gets_the_full_name(dnsr, net):
    """A forwarder resolves the name itself: QNAME minimisation (on by default) never cuts
    a forward zone's question down, while a stub zone's servers are minimised."""
    before = len(net.zones.fwd.asked())
    dnsr.query("x.y.deep.corp.", "TXT")
    asked = net.zones.fwd.asked()[before:]
    assert asked and all(e[0] == "x.y.deep.corp." and e[1] == "TXT" for e in asked), asked
    before = len(net.zones.stub.asked())
    dnsr.query("x.y.deep.internal.", "TXT")
    asked = net.zones.stub.asked()[before:]
    assert ("deep.internal.", "A") in [(e[0], e[1]) for e in asked], asked


def test_forward_zone_data_out_of_zone_not_trusted(dnsr, net):
    """The forwarder speaks for corp. only: the CNAME's target is resolved on its own."""
    r = dnsr.query("out.corp.", "A")
    assert r.rcode() == dns.rcode.NOERROR, r
    assert addresses(r) == ["192.0.2.1", "192.0.2.2"], r
    assert not [e for e in net.zones.fwd.asked() if e[0] == "www.alpha.test."]


def test_zone_servers_on_loopback_with_do_not_query_localhost(net):
    """Root hints off loopback (the shipped ones), so loopback servers learnt from
    referrals are not asked; the configured zone servers on loopback are all the same."""
    hints = os.path.abspath(os.path.join(ETC, "root.hints"))
    d = mi.Dnsr(BUILD, mini=types.SimpleNamespace(hints=hints, port=net.port),
                resolver="do-not-query-localhost = yes\n",
                sections=zone_sections(net.zones.port))
    try:
        assert addresses(d.query("www.internal.", "A")) == ["10.1.1.1"]
        assert addresses(d.query("www.corp.", "A")) == ["10.2.2.2"]
        # The referral below the stub zone leads to loopback too: it was configured.
        assert addresses(d.query("www.sub.internal.", "A")) == ["10.1.1.2"]
    finally:
        d.stop()


def test_forward_zone_to_a_real_resolver(dnsr, net):
    """The module's dnsr as the recursive server of another's forward zone: it resolves
    only for RD=1 (a query without it gets the cache or REFUSED), and the loop mark of the
    other process is not its own. The other's root hints are off loopback and never used."""
    hints = os.path.abspath(os.path.join(ETC, "root.hints"))
    d = mi.Dnsr(BUILD, mini=types.SimpleNamespace(hints=hints, port=net.port),
                sections="[forward-zone victim.test.]\nservers = 127.0.0.1:%d\n" % dnsr.port)
    try:
        r = d.query("www.victim.test.", "A")
        assert r.rcode() == dns.rcode.NOERROR and addresses(r) == ["192.0.2.40"], r
        assert dnsr_metric(dnsr, "streamdns_dnsr_forwarding_loops_total") == 0
        assert dnsr_metric(d, "streamdns_dnsr_forwarding_loops_total") == 0
    finally:
        d.stop()


def test_zones_apply_in_forward_mode(net):
    """mode = forward: the zones first, the global forwarders (here the forward zone's
    recursive server, which knows only corp.) for the rest."""
    d = mi.Dnsr(BUILD, mini=net, resolver="mode = forward\nforwarders = %s:%d\n"
                % (FWD, net.zones.port), sections=zone_sections(net.zones.port))
    try:
        before = len([e for e in net.zones.fwd.asked() if e[0] == "www.internal."])
        assert addresses(d.query("www.internal.", "A")) == ["10.1.1.1"]
        assert len([e for e in net.zones.fwd.asked() if e[0] == "www.internal."]) == before
        r = d.query("www.alpha.test.", "A")
        assert r.rcode() == dns.rcode.NXDOMAIN, r     # the forwarder's word for it
        assert [e for e in net.zones.fwd.asked() if e[0] == "www.alpha.test." and e[2]]
    finally:
        d.stop()


# ---- validation: an internal zone under a signed parent ----

@pytest.fixture(scope="module")
def signed():
    s = si.SignedInternet(only={".", "test.", "nsec.test."})
    port = mi.free_port_all([SIGNED_STUB])
    stub = Server(SIGNED_STUB, port, authoritative(
        "corp.nsec.test.", {("www.corp.nsec.test.", "A"): ("A", "10.3.3.3")}))
    s.stub_port, s.stub = port, stub
    yield s
    stub.stop()
    s.stop()


def test_internal_zone_under_signed_parent(signed):
    section = "[stub-zone corp.nsec.test.]\nservers = %s:%d\n" % (SIGNED_STUB,
                                                                    signed.stub_port)
    strict = signed.dnsr(BUILD, sections=section)
    try:
        r = strict.query("www.corp.nsec.test.", "A", want_dnssec=True)
        # nsec.test. proves the name does not exist: data from below it is bogus.
        assert r.rcode() == dns.rcode.SERVFAIL, r
        assert si.EDE_BOGUS in si.ede_codes(r) or si.EDE_NSEC_MISSING in si.ede_codes(r) \
            or si.EDE_RRSIGS_MISSING in si.ede_codes(r), r
        # The signed parts of the world validate as before.
        r = strict.query("www.nsec.test.", "A", want_dnssec=True)
        assert r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AD, r
    finally:
        strict.stop()
    # DS is the parent's: the stub server was never asked for the DS of its apex.
    assert not [e for e in signed.stub.asked() if e[:2] == ("corp.nsec.test.", "DS")]
    lenient = signed.dnsr(BUILD, sections=section + "insecure = yes\n")
    try:
        r = lenient.query("www.corp.nsec.test.", "A", want_dnssec=True)
        assert r.rcode() == dns.rcode.NOERROR and addresses(r) == ["10.3.3.3"], r
        assert not r.flags & dns.flags.AD, r
        r = lenient.query("www.nsec.test.", "A", want_dnssec=True)
        assert r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AD, r
    finally:
        lenient.stop()


# ---- configuration errors ----

def check(text):
    d = tempfile.mkdtemp(prefix="dnsr-zones-")
    path = os.path.join(d, "dnsr.ini")
    with open(path, "w") as f:
        f.write(text)
    with open(os.path.join(d, "root.hints"), "w") as f:
        f.write(". 3600000 NS A.ROOT.\nA.ROOT. 3600000 A 127.0.0.2\n")
    p = subprocess.run([DNSR, "-c", path, "--check-config"], capture_output=True,
                       text=True, timeout=10)
    return p.returncode, p.stderr.replace(path, "FILE")


def test_config_errors_with_file_and_line():
    rc, err = check("[dnssec]\nvalidation = no\n"                 # 1-2
                    "[forward-zone corp.example]\n"               # 3
                    "servers = 192.0.2.1, 192.0.2.2:5353\n"       # 4
                    "[forward-zone CORP.example.]\n"              # 5: twice
                    "servers = 192.0.2.3\n"                       # 6
                    "[stub-zone corp.example]\n"                  # 7: both kinds
                    "servers = 192.0.2.3\n"                       # 8
                    "[stub-zone bad..name]\n"                     # 9
                    "servers = 192.0.2.4\n"                       # 10
                    "[stub-zone ok.]\n"                           # 11
                    "servers = 192.0.2.256\n"                     # 12
                    "bogus = 1\n"                                 # 13
                    "insecure = maybe\n"                          # 14
                    "[forward-zone]\n"                            # 15
                    "servers = 192.0.2.5:70000\n")                # 16
    assert rc == 1
    lines = err.strip().splitlines()
    expect = [
        "FILE:5: [forward-zone CORP.example.]: a second section for CORP.example. "
        "(the first is at line 3)",
        "FILE:7: [stub-zone corp.example]: corp.example is already a forward-zone "
        "(line 3): a zone is either forwarded or a stub",
        "FILE:9: [stub-zone bad..name]: 'bad..name' is not a domain name",
        "FILE:12: servers: '192.0.2.256': not an IPv4 or IPv6 address",
        "FILE:13: bogus: unknown key in section [stub-zone ok.]",
        "FILE:14: insecure: 'maybe' is not yes or no",
        "FILE:15: [forward-zone]: expected [forward-zone NAME] (one name)",
    ]
    assert lines == expect, err


def test_config_servers_required_and_valid_file():
    rc, err = check("[dnssec]\nvalidation = no\n[stub-zone a.]\nservers = 127.0.0.1\n"
                    "[forward-zone b.]\ninsecure = yes\n")
    assert rc == 1
    assert err.strip() == "FILE:5: servers: required in [forward-zone b.]", err
    rc, err = check("[dnssec]\nvalidation = no\n[stub-zone a.]\nservers = 127.0.0.1\n"
                    "[forward-zone b.]\nservers = ::1, [::1]:5353, 127.0.0.1:5300\n")
    assert rc == 0, err


def test_help_lists_the_sections():
    p = subprocess.run([DNSR, "--help"], capture_output=True, text=True, timeout=10)
    out = p.stdout + p.stderr
    assert "[forward-zone NAME]" in out and "[stub-zone NAME]" in out, out


# ---- the loop: dnsr forwards a zone to the authd that forwards to dnsr ----

def event(name, rdtype, content, ttl=60):
    return ("%s|%s" % (name, rdtype),
            [{"name": name, "type": rdtype, "content": content, "ttl": ttl}])


@pytest.fixture(scope="module")
def pair(net):
    broker = Broker(partitions=1)
    broker.produce([event("in.lab.", "SOA", "ns.in.lab. h.in.lab. 1 3600 900 604800 60"),
                    event("in.lab.", "NS", "ns.in.lab."),
                    event("www.in.lab.", "A", "10.4.4.4"),
                    event("alias.in.lab.", "CNAME", "www.out.lab.")])
    d = tempfile.mkdtemp(prefix="zones-loop-")
    sock = os.path.join(d, "dnsr.sock")
    authd = Authd(broker.address, topic=broker.topic, start=False,
                  sections="[resolver]\nsocket = %s\ntimeout = 5s\n" % sock)
    dnsr = mi.Dnsr(BUILD, mini=net, server="socket = %s\n" % sock, log="info",
                   sections="[forward-zone lab.]\nservers = 127.0.0.1:%d\n" % authd.port)
    authd.start()
    authd.wait_ready()
    authd.wait_for("www.in.lab.", "A", lambda r: r.answer)
    yield types.SimpleNamespace(authd=authd, dnsr=dnsr, broker=broker)
    dnsr.stop()
    authd.stop()
    broker.stop()


def dnsr_metric(d, name):
    status, body = d.http("/metrics")
    assert status == 200, body
    return metrics(body).get(name, 0)


def test_forward_zone_to_authd_answers_its_zone(pair):
    r = pair.dnsr.query("www.in.lab.", "A")
    assert r.rcode() == dns.rcode.NOERROR and addresses(r) == ["10.4.4.4"], r


def test_forward_zone_to_authd_does_not_loop(pair):
    """out.lab. is in dnsr's forward zone but not in authd's zones: authd hands it back to
    dnsr's socket with dnsr's own loop mark, and dnsr fails it instead of sending it out
    again. One round, counted on both sides."""
    fwd0 = pair.authd.metrics().get("streamdns_authd_forwarded_total", 0)
    loops0 = dnsr_metric(pair.dnsr, "streamdns_dnsr_forwarding_loops_total")
    r = pair.dnsr.query("x.out.lab.", "A")
    assert r.rcode() == dns.rcode.SERVFAIL, r
    assert dnsr_metric(pair.dnsr, "streamdns_dnsr_forwarding_loops_total") == loops0 + 1
    assert pair.authd.metrics().get("streamdns_authd_forwarded_total", 0) == fwd0 + 1
    # authd's own clients are not caught by it: their query carries no mark of ours.
    r = pair.authd.query("www.alpha.test.", "A", timeout=5.0)
    assert addresses(r) == ["192.0.2.1", "192.0.2.2"], r


def test_cname_completion_through_forward_zone_does_not_loop(pair):
    """authd completes its CNAME out of its zones through dnsr with a query of its own
    (no options): dnsr sends that on to authd, marked, and the next round is caught."""
    fwd0 = pair.authd.metrics().get("streamdns_authd_forwarded_total", 0)
    loops0 = dnsr_metric(pair.dnsr, "streamdns_dnsr_forwarding_loops_total")
    r = pair.dnsr.query("alias.in.lab.", "A")
    assert r.rcode() == dns.rcode.SERVFAIL, r
    assert dnsr_metric(pair.dnsr, "streamdns_dnsr_forwarding_loops_total") == loops0 + 1
    assert pair.authd.metrics().get("streamdns_authd_forwarded_total", 0) == fwd0 + 2
