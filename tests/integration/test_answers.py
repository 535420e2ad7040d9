"""Answering over UDP and TCP from zones built from events (RFC 1034 4.3.2 and friends)."""
import socket
import struct
import time

import dns.edns
import dns.flags
import dns.message
import dns.opcode
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import pytest

from streamdns import Authd, Broker, rrset_events
from zones import EXAMPLE, EXAMPLE_NET, BIG_TXT


@pytest.fixture(scope="module")
def env():
    broker = Broker(partitions=3)
    broker.produce(rrset_events(EXAMPLE + EXAMPLE_NET))
    authd = Authd(broker.address)
    authd.wait_ready()
    authd.wait_for("www.example.net.", "A", lambda r: len(r.answer) == 1)
    authd.wait_for("big.example.com.", "TXT",
                   lambda r: r.answer and len(r.answer[0]) == len(BIG_TXT), tcp=True)
    yield broker, authd
    authd.stop()
    broker.stop()


def rrs(section, rdtype=None):
    """{(name, type): sorted rdata texts} of a section, lower-cased owners."""
    out = {}
    for s in section:
        if rdtype is not None and s.rdtype != rdtype:
            continue
        out[(s.name.to_text().lower(), dns.rdatatype.to_text(s.rdtype))] = sorted(
            r.to_text() for r in s)
    return out


@pytest.mark.parametrize("tcp", [False, True])
def test_exact_match(env, tcp):
    _, authd = env
    r = authd.query("www.example.com.", "A", tcp=tcp)
    assert r.rcode() == dns.rcode.NOERROR
    assert r.flags & dns.flags.AA
    assert not r.flags & dns.flags.TC
    assert rrs(r.answer) == {("www.example.com.", "A"): ["192.0.2.10", "192.0.2.11"]}
    assert r.answer[0].ttl == 300


def test_question_case_preserved(env):
    _, authd = env
    r = authd.query("WwW.ExAmPlE.CoM.", "A")
    assert r.question[0].name.to_text() == "WwW.ExAmPlE.CoM."
    assert r.answer[0].name.to_text() == "WwW.ExAmPlE.CoM."


@pytest.mark.parametrize("tcp", [False, True])
def test_nxdomain_has_soa_with_negative_ttl(env, tcp):
    _, authd = env
    r = authd.query("nope.example.com.", "A", tcp=tcp)
    assert r.rcode() == dns.rcode.NXDOMAIN
    assert r.flags & dns.flags.AA
    assert not r.answer
    assert [(s.name.to_text(), s.rdtype) for s in r.authority] == [
        ("example.com.", dns.rdatatype.SOA)]
    assert r.authority[0].ttl == 300  # min(SOA TTL 3600, MINIMUM 300), RFC 2308


def test_nodata(env):
    _, authd = env
    r = authd.query("mail.example.com.", "AAAA")
    assert r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AA
    assert not r.answer
    assert r.authority[0].rdtype == dns.rdatatype.SOA


def test_empty_non_terminal_is_nodata(env):
    _, authd = env
    for name in ("b.ent.example.com.", "ent.example.com."):
        r = authd.query(name, "A")
        assert r.rcode() == dns.rcode.NOERROR, name
        assert not r.answer
        assert r.authority[0].rdtype == dns.rdatatype.SOA


def test_cname_chain(env):
    _, authd = env
    r = authd.query("chain1.example.com.", "A")
    assert r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AA
    assert [(s.name.to_text(), dns.rdatatype.to_text(s.rdtype)) for s in r.answer] == [
        ("chain1.example.com.", "CNAME"), ("chain2.example.com.", "CNAME"),
        ("www.example.com.", "A")]


def test_cname_query_for_cname_type(env):
    _, authd = env
    r = authd.query("alias.example.com.", "CNAME")
    assert rrs(r.answer) == {("alias.example.com.", "CNAME"): ["www.example.com."]}


def test_cname_loop_terminates(env):
    _, authd = env
    r = authd.query("loop1.example.com.", "A")
    assert r.rcode() == dns.rcode.NOERROR
    assert [s.name.to_text() for s in r.answer] == ["loop1.example.com.",
                                                     "loop2.example.com."]


def test_dangling_cname_is_nxdomain(env):
    _, authd = env
    r = authd.query("dangling.example.com.", "A")
    assert r.rcode() == dns.rcode.NXDOMAIN  # RFC 6604: the rcode of the last name
    assert r.answer[0].rdtype == dns.rdatatype.CNAME
    assert r.authority[0].rdtype == dns.rdatatype.SOA


def test_cname_out_of_zones_stops(env):
    _, authd = env
    r = authd.query("ext.example.com.", "A")
    assert r.rcode() == dns.rcode.NOERROR
    assert rrs(r.answer) == {("ext.example.com.", "CNAME"): ["www.outside.test."]}


def test_wildcard(env):
    _, authd = env
    r = authd.query("anything.wild.example.com.", "A")
    assert r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AA
    assert rrs(r.answer) == {("anything.wild.example.com.", "A"): ["192.0.2.50"]}
    r = authd.query("deeper.name.wild.example.com.", "TXT")
    assert rrs(r.answer) == {("deeper.name.wild.example.com.", "TXT"): ['"wildcard"']}


def test_wildcard_nodata_and_cname(env):
    _, authd = env
    r = authd.query("x.wild.example.com.", "MX")
    assert r.rcode() == dns.rcode.NOERROR and not r.answer
    assert r.authority[0].rdtype == dns.rdatatype.SOA
    r = authd.query("x.wcname.example.com.", "AAAA")
    assert [(s.name.to_text(), dns.rdatatype.to_text(s.rdtype)) for s in r.answer] == [
        ("x.wcname.example.com.", "CNAME"), ("www.example.com.", "AAAA")]


def test_wildcard_does_not_cover_existing_ent(env):
    _, authd = env
    # wild.example.com exists as the parent of *.wild: NODATA, not a wildcard match.
    r = authd.query("wild.example.com.", "A")
    assert r.rcode() == dns.rcode.NOERROR and not r.answer


def test_referral(env):
    _, authd = env
    for name in ("sub.example.com.", "host.deep.sub.example.com."):
        r = authd.query(name, "A")
        assert r.rcode() == dns.rcode.NOERROR
        assert not r.flags & dns.flags.AA
        assert not r.answer
        assert rrs(r.authority) == {("sub.example.com.", "NS"): [
            "ns.elsewhere.org.", "ns.sub.example.com."]}
        assert rrs(r.additional) == {("ns.sub.example.com.", "A"): ["192.0.2.53"]}


def test_ds_answered_by_parent(env):
    _, authd = env
    r = authd.query("sub.example.com.", "DS")
    assert r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AA
    assert r.answer[0].rdtype == dns.rdatatype.DS


def test_dname(env):
    _, authd = env
    r = authd.query("www.dn.example.com.", "A")
    assert r.rcode() == dns.rcode.NOERROR
    got = [(s.name.to_text(), dns.rdatatype.to_text(s.rdtype), sorted(x.to_text() for x in s))
           for s in r.answer]
    assert got == [("dn.example.com.", "DNAME", ["example.net."]),
                   ("www.dn.example.com.", "CNAME", ["www.example.net."]),
                   ("www.example.net.", "A", ["198.51.100.80"])]


def test_additional_for_mx_ns_srv(env):
    _, authd = env
    r = authd.query("example.com.", "MX")
    assert rrs(r.additional) == {("mail.example.com.", "A"): ["192.0.2.25"]}
    r = authd.query("example.com.", "NS")
    assert rrs(r.additional) == {("ns1.example.com.", "A"): ["192.0.2.1"],
                                 ("ns2.example.com.", "A"): ["192.0.2.2"],
                                 ("ns2.example.com.", "AAAA"): ["2001:db8::2"]}
    r = authd.query("_sip._tcp.example.com.", "SRV")
    assert rrs(r.additional) == {("sip.example.com.", "A"): ["192.0.2.60"]}


@pytest.mark.parametrize("rdtype,text", [
    ("CAA", '0 issue "letsencrypt.org"'),
    ("NAPTR", '100 10 "S" "SIP+D2U" "" _sip._udp.example.com.'),
    ("SSHFP", "1 1 0123456789abcdef0123456789abcdef01234567"),
    ("SVCB", '1 svc2.example.com. alpn="h2,h3" port="8443"'),
])
def test_types(env, rdtype, text):
    _, authd = env
    name = {"CAA": "caa", "NAPTR": "naptr", "SSHFP": "sshfp", "SVCB": "svc"}[rdtype]
    r = authd.query("%s.example.com." % name, rdtype)
    assert [x.to_text() for x in r.answer[0]] == [text]


def test_more_types(env):
    _, authd = env
    assert authd.query("_443._tcp.example.com.", "TLSA").answer[0].rdtype == dns.rdatatype.TLSA
    assert authd.query("example.com.", "HTTPS").answer[0].rdtype == dns.rdatatype.HTTPS
    assert authd.query("example.com.", "DNSKEY").answer[0].rdtype == dns.rdatatype.DNSKEY
    r = authd.query("10.2.0.192.in-addr.arpa.", "PTR")
    assert r.rcode() == dns.rcode.REFUSED  # no zone for in-addr.arpa here
    r = authd.query("opaque.example.com.", "TYPE65280")
    assert r.answer[0][0].to_text() == r"\# 4 0a000001"


def test_edns_echo_and_payload(env):
    _, authd = env
    r = authd.query("www.example.com.", "A", use_edns=0, payload=4096, want_dnssec=True)
    assert r.edns == 0
    assert r.payload == 1232
    assert r.ednsflags & dns.flags.DO


def test_badvers(env):
    _, authd = env
    q = dns.message.make_query("www.example.com.", "A")
    q.use_edns(edns=1)
    r = dns.query.udp(q, "127.0.0.1", port=authd.port, timeout=2)
    assert r.rcode() == dns.rcode.BADVERS
    assert r.edns == 0
    assert not r.answer


def raw_udp(port, data, timeout=5.0):
    """The reply to a hand-made datagram; no reply fails."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(data, ("127.0.0.1", port))
        return s.recv(65535)
    except socket.timeout:
        raise AssertionError("authd on port %d did not answer within %.0f s"
                             % (port, timeout)) from None
    finally:
        s.close()


def test_two_opts_formerr(env):
    _, authd = env
    q = dns.message.make_query("www.example.com.", "A", use_edns=0)
    wire = bytearray(q.to_wire())
    opt = bytes([0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0])
    wire += opt
    struct.pack_into("!H", wire, 10, 2)
    r = dns.message.from_wire(raw_udp(authd.port, bytes(wire)))
    assert r.rcode() == dns.rcode.FORMERR


def test_truncation_udp_and_full_tcp(env):
    _, authd = env
    r = authd.query("big.example.com.", "TXT")
    assert r.flags & dns.flags.TC
    assert not r.answer
    r = authd.query("big.example.com.", "TXT", use_edns=0, payload=1232)
    assert r.flags & dns.flags.TC
    r = authd.query("big.example.com.", "TXT", tcp=True)
    assert not r.flags & dns.flags.TC
    assert len(r.answer[0]) == len(BIG_TXT)


def test_any_is_minimal_over_udp(env):
    _, authd = env
    r = authd.query("www.example.com.", "ANY")
    assert r.rcode() == dns.rcode.NOERROR
    assert len(r.answer) == 1
    r = authd.query("www.example.com.", "ANY", tcp=True)
    assert len(r.answer) == 2


def test_notimp_refused(env):
    _, authd = env
    q = dns.message.make_query("example.com.", "SOA")
    q.set_opcode(dns.opcode.NOTIFY)
    r = dns.query.udp(q, "127.0.0.1", port=authd.port, timeout=2)
    assert r.rcode() == dns.rcode.NOTIMP
    r = authd.query("www.example.com.", "A", rdclass=dns.rdataclass.CH)
    assert r.rcode() == dns.rcode.REFUSED
    r = authd.query("www.not-served.test.", "A")
    assert r.rcode() == dns.rcode.REFUSED
    assert not r.flags & dns.flags.AA
    r = authd.query("example.com.", "AXFR", tcp=True)
    assert r.rcode() == dns.rcode.REFUSED


def tcp_send(sock, msg):
    w = msg.to_wire()
    sock.sendall(struct.pack("!H", len(w)) + w)


def tcp_recv(sock):
    hdr = b""
    while len(hdr) < 2:
        chunk = sock.recv(2 - len(hdr))
        if not chunk:
            return None
        hdr += chunk
    (n,) = struct.unpack("!H", hdr)
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return dns.message.from_wire(data)


def test_tcp_pipelining_and_idle_timeout(env):
    _, authd = env
    s = socket.create_connection(("127.0.0.1", authd.port), timeout=5)
    names = ["www.example.com.", "mail.example.com.", "nope.example.com."]
    qs = [dns.message.make_query(n, "A") for n in names]
    # All three in one write: the server must answer each.
    sent = time.monotonic()
    s.sendall(b"".join(struct.pack("!H", len(q.to_wire())) + q.to_wire() for q in qs))
    got = {}
    for _ in qs:
        r = tcp_recv(s)
        assert r is not None, "connection closed with %d of 3 answers" % len(got)
        got[r.id] = r
    assert sorted(got) == sorted(q.id for q in qs)
    assert got[qs[2].id].rcode() == dns.rcode.NXDOMAIN
    # Idle timeout is 2 s in the test config: the server closes the connection. Its idle
    # clock started after our write, so at least 2 s pass from it to the close however
    # busy the machine (slower only makes it later); the 30 s bound only catches "never".
    s.settimeout(30)
    try:
        assert s.recv(1) == b"", "data on an idle connection"
    except socket.timeout:
        raise AssertionError("authd kept an idle TCP connection open for 30 s "
                             "(tcp-idle-timeout = 2s)") from None
    assert time.monotonic() - sent >= 2.0, "closed before the 2 s idle timeout"
    s.close()
