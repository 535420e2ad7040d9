"""Zone transfers out: AXFR (RFC 5936) and IXFR (RFC 1995) from authd.

What a transfer holds is compared with what the topic holds (the records produced here);
who may transfer is [xfr] allow-transfer; a large zone streams while queries and events go
on; real secondaries (Knot, NSD) take the zone from authd.
"""
import json
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time

import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsig
import dns.tsigkeyring
import dns.xfr
import dns.zone
import pytest

from streamdns import Authd, Broker, free_port, rr, wait_until
from test_tsig import exchange, sign_request, split_tsig

ZONE = "xfr.test."
CHILD = "child.xfr.test."
BIG = "big.test."
BIG_N = 100000
SECRET = "2v0yTDE8Gg3Oq2b4z1J6ewK8cB2H7fYzmQwq0aOZ5Gs="
OTHER_SECRET = "bWFkZSB1cCBmb3IgdGhlIHRlc3Qgb2YgYSB3cm9uZyBrZXk="
RING = dns.tsigkeyring.from_text({"xfr-key.": SECRET})

RECORDS = [
    (ZONE, "SOA", "ns1.%s h.%s 7 3600 900 604800 60" % (ZONE, ZONE)),
    (ZONE, "NS", "ns1.%s" % ZONE),
    (ZONE, "MX", "10 mail.%s" % ZONE),
    ("ns1." + ZONE, "A", "192.0.2.1"),
    ("www." + ZONE, "A", "192.0.2.2"),
    ("www." + ZONE, "A", "192.0.2.3"),
    ("www." + ZONE, "AAAA", "2001:db8::2"),
    ("*.wild." + ZONE, "TXT", "\"wild\""),
    ("sub." + ZONE, "NS", "ns.sub." + ZONE),           # a delegation not served here
    ("ns.sub." + ZONE, "A", "192.0.2.4"),              # its glue
    ("deep.below.sub." + ZONE, "A", "192.0.2.5"),      # occluded, still the zone's data
    (CHILD, "NS", "ns.%s" % CHILD),                    # a child zone served here too:
    (CHILD, "DS", "12345 13 2 " + "ab" * 32),          # the parent sends NS, DS, glue
    ("ns." + CHILD, "A", "192.0.2.6"),
    (CHILD, "SOA", "ns.%s h.%s 1 3600 900 604800 60" % (CHILD, CHILD)),
    ("x." + CHILD, "A", "192.0.2.7"),                  # the child's own: not the parent's
]
# What the parent's transfer must hold (the child's SOA and x.child are the child's).
PARENT = [r for r in RECORDS if not (r[0] == CHILD and r[1] == "SOA") and
          r[0] != "x." + CHILD]


def events(records):
    sets = {}
    for name, rtype, content in records:
        sets.setdefault("%s|%s" % (name.lower(), rtype), []).append(rr(name, rtype, content))
    return list(sets.items())


def big_events():
    ev = [("%s|SOA" % BIG, [rr(BIG, "SOA", "ns.%s h.%s 1 3600 900 604800 60" % (BIG, BIG))]),
          ("%s|NS" % BIG, [rr(BIG, "NS", "ns." + BIG)])]
    for i in range(BIG_N - 2):
        name = "h%d.%s" % (i, BIG)
        ev.append(("%s|A" % name, [rr(name, "A", "10.%d.%d.%d" % (i >> 16 & 255,
                                                                 i >> 8 & 255, i & 255))]))
    return ev


def rrs_of(messages, drop_soa=True):
    """{(owner, type, rdata text)} of the answer sections of a transfer."""
    out = set()
    for m in messages:
        for rrset in m.answer:
            for rd in rrset:
                if drop_soa and rrset.rdtype == dns.rdatatype.SOA:
                    continue
                out.add((rrset.name.to_text().lower(), dns.rdatatype.to_text(rrset.rdtype),
                         rd.to_text().lower()))
    return out


def expected(records):
    return {(n.lower(), t, dns.rdata.from_text("IN", t, c, origin=dns.name.root, relativize=False)
             .to_text().lower()) for n, t, c in records if t != "SOA"}


def axfr(port, zone, source="127.0.0.1", timeout=30, q=None):
    """Every message of an AXFR (or of q) over TCP, read as dnspython reads them."""
    q = q or dns.message.make_query(zone, "AXFR")
    msgs = []
    with socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                  source_address=(source, 0)) as s:
        dns.query.send_tcp(s, q)
        while True:
            m, _ = dns.query.receive_tcp(s, time.time() + timeout, one_rr_per_rrset=True)
            msgs.append(m)
            if m.rcode() != dns.rcode.NOERROR:
                return msgs
            soas = [r for r in m.answer if r.rdtype == dns.rdatatype.SOA]
            total = sum(len(r) for r in soas)
            if (len(msgs) == 1 and total >= 2) or (len(msgs) > 1 and total >= 1):
                return msgs


@pytest.fixture(scope="module")
def env():
    broker = Broker(partitions=3)
    broker.produce(events(RECORDS))
    # 127.0.0.1 and .3 by address; 127.0.0.4 only with the key; the key from anywhere.
    a = Authd(broker.address, serial=None,
              sections="[xfr]\nallow-transfer = 127.0.0.1, 127.0.0.3/32, "
                       "127.0.0.4 key:xfr-key, key:xfr-key.\n"
                       "[tsig]\nxfr-key = hmac-sha256:%s\nother = hmac-sha256:%s\n"
                       % (SECRET, OTHER_SECRET))
    a.wait_ready()
    a.wait_for("x." + CHILD, "A", lambda r: r.answer)
    yield broker, a
    a.stop()
    broker.stop()


def test_axfr_holds_the_zone_soa_first_and_last(env):
    _, a = env
    msgs = axfr(a.port, ZONE)
    assert all(m.rcode() == dns.rcode.NOERROR for m in msgs)
    assert all(m.flags & dns.flags.AA for m in msgs)
    first, last = msgs[0].answer[0], msgs[-1].answer[-1]
    assert first.rdtype == last.rdtype == dns.rdatatype.SOA
    assert first[0].serial == last[0].serial
    assert first[0].serial == a.query(ZONE, "SOA").answer[0][0].serial
    # The SOA appears exactly twice; everything else exactly as the topic has it.
    assert sum(len(r) for m in msgs for r in m.answer if r.rdtype == dns.rdatatype.SOA) == 2
    assert rrs_of(msgs) == expected(PARENT)


def test_the_child_zone_transfers_its_own(env):
    _, a = env
    msgs = axfr(a.port, CHILD)
    assert rrs_of(msgs) == expected([r for r in RECORDS if r[0].endswith(CHILD) and
                                     r[1] != "DS"])


def test_dig_and_kdig_read_it(env):
    _, a = env
    for tool in (["dig", "+noall", "+answer"], ["kdig", "+noall", "+answer"]):
        p = subprocess.run(tool + ["@127.0.0.1", "-p", str(a.port), ZONE, "AXFR"],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, p.stderr
        lines = [ln.split() for ln in p.stdout.splitlines() if ln and not ln.startswith(";")]
        assert len(lines) == len(PARENT) + 1, p.stdout     # SOA twice, the rest once
        assert lines[0][3] == lines[-1][3] == "SOA"


def test_who_may_transfer(env):
    _, a = env
    # 127.0.0.2 is not in allow-transfer: REFUSED, nothing else.
    m = axfr(a.port, ZONE, source="127.0.0.2")
    assert len(m) == 1 and m[0].rcode() == dns.rcode.REFUSED and not m[0].answer
    assert axfr(a.port, ZONE, source="127.0.0.3")[0].rcode() == dns.rcode.NOERROR
    # Not a zone served here: NOTAUTH; a name inside a zone is not a zone either.
    for name in ("nowhere.test.", "www." + ZONE):
        m = axfr(a.port, name)
        assert m[0].rcode() == dns.rcode.NOTAUTH and not m[0].answer
    assert "streamdns_authd_xfr_total" in a.http("/metrics")[1]


def test_axfr_over_udp_is_refused(env):
    _, a = env
    r = dns.query.udp(dns.message.make_query(ZONE, "AXFR"), "127.0.0.1", port=a.port,
                      timeout=5)
    assert r.rcode() == dns.rcode.REFUSED and not r.answer


def test_transfers_counted_by_zone_and_client(env):
    """streamdns_authd_xfr_requests_total by zone, client address and outcome; names that
    are no zone here get no label of their own."""
    _, a = env
    key = 'streamdns_authd_xfr_requests_total{zone="%s",client="%s",kind="%s"}'

    def count(client, kind, zone=ZONE):
        return a.metrics().get(key % (zone, client, kind), 0)
    before = {k: count(*k) for k in (("127.0.0.2", "refused"), ("127.0.0.3", "axfr"),
                                      ("127.0.0.1", "ixfr-soa-only"),
                                      ("127.0.0.1", "ixfr-as-axfr"))}
    axfr(a.port, ZONE, source="127.0.0.2")
    axfr(a.port, ZONE, source="127.0.0.3")
    axfr(a.port, ZONE, source="127.0.0.3")
    current = a.query(ZONE, "SOA").answer[0][0].serial
    dns.query.udp(ixfr_query(ZONE, current), "127.0.0.1", port=a.port, timeout=5)
    axfr(a.port, ZONE, q=ixfr_query(ZONE, 1))
    axfr(a.port, "nowhere.test.")
    assert count("127.0.0.2", "refused") == before[("127.0.0.2", "refused")] + 1
    assert count("127.0.0.3", "axfr") == before[("127.0.0.3", "axfr")] + 2
    assert count("127.0.0.1", "ixfr-soa-only") == before[("127.0.0.1", "ixfr-soa-only")] + 1
    assert count("127.0.0.1", "ixfr-as-axfr") == before[("127.0.0.1", "ixfr-as-axfr")] + 1
    assert not [k for k in a.metrics() if "nowhere" in k]


def ixfr_query(zone, serial):
    q = dns.message.make_query(zone, "IXFR")
    q.authority.append(dns.rrset.from_text(zone, 0, "IN", "SOA",
                                           "ns. h. %d 0 0 0 0" % serial))
    return q


def test_ixfr(env):
    broker, a = env
    current = a.query(ZONE, "SOA").answer[0][0].serial
    # Over UDP, or from the current serial (or a later one): the SOA alone.
    for q, tcp in ((ixfr_query(ZONE, current - 1), False), (ixfr_query(ZONE, current), True),
                   (ixfr_query(ZONE, current + 5), True)):
        r = (dns.query.tcp if tcp else dns.query.udp)(q, "127.0.0.1", port=a.port, timeout=5)
        assert r.rcode() == dns.rcode.NOERROR
        assert [x.rdtype for x in r.answer] == [dns.rdatatype.SOA]
        assert r.answer[0][0].serial == current
    # From an older serial over TCP: the whole zone, AXFR-style (RFC 1995 4): the current
    # SOA, then a record that is not an SOA, ..., the SOA again.
    msgs = axfr(a.port, ZONE, q=ixfr_query(ZONE, 1))
    first = [r for m in msgs for r in m.answer]
    assert first[0].rdtype == dns.rdatatype.SOA and first[0][0].serial == current
    assert first[1].rdtype != dns.rdatatype.SOA
    assert rrs_of(msgs) == expected(PARENT)
    # Without the SOA in the authority section an IXFR is malformed.
    r = dns.query.tcp(dns.message.make_query(ZONE, "IXFR"), "127.0.0.1", port=a.port,
                      timeout=5)
    assert r.rcode() == dns.rcode.FORMERR


def zone_rrs(zone):
    return {(n.derelativize(zone.origin).to_text().lower(), dns.rdatatype.to_text(r.rdtype),
             r.ttl, rd.to_text().lower()) for n, node in zone.nodes.items() for r in node
            for rd in r}


def test_ixfr_from_the_journal(env):
    """A zone taken at one serial, then changed (an add, a delete, a record replaced, a
    TTL changed): IXFR from that serial sends the steps, not the zone, and dnspython
    applying them to the old zone gets what a new AXFR gives."""
    broker, a = env
    old = dns.zone.from_xfr(dns.query.xfr("127.0.0.1", ZONE, port=a.port, lifetime=30,
                                          relativize=False), relativize=False)
    start = old.get_soa().serial
    changes = [[("ixfr1.%s|A" % ZONE, [rr("ixfr1." + ZONE, "A", "198.51.100.1")])],
               [("www.%s|AAAA" % ZONE, None)],
               [("www.%s|A" % ZONE, [rr("www." + ZONE, "A", "192.0.2.3"),
                                     rr("www." + ZONE, "A", "192.0.2.33")])],
               [("ns1.%s|A" % ZONE, [rr("ns1." + ZONE, "A", "192.0.2.1", 60)])]]
    for ev in changes:
        before = a.query(ZONE, "SOA").answer[0][0].serial
        broker.produce(ev)
        wait_until(lambda: a.query(ZONE, "SOA").answer[0][0].serial != before,
                   "the serial to move", 30, log=a.read_log, proc=a.proc)
    now = a.query(ZONE, "SOA").answer[0][0].serial
    msgs = axfr(a.port, ZONE, q=ixfr_query(ZONE, start))
    rrs = [r for m in msgs for r in m.answer]
    # Incremental: the current SOA, then the SOA of the client's serial (RFC 1995 4).
    assert rrs[0].rdtype == rrs[1].rdtype == dns.rdatatype.SOA
    assert rrs[0][0].serial == now and rrs[1][0].serial == start
    assert len(rrs) < 30          # steps, not the zone
    q, _ = dns.xfr.make_query(old)
    dns.query.inbound_xfr("127.0.0.1", old, q, port=a.port, timeout=30)
    new = dns.zone.from_xfr(dns.query.xfr("127.0.0.1", ZONE, port=a.port, lifetime=30,
                                          relativize=False), relativize=False)
    assert old.get_soa().serial == now
    assert zone_rrs(old) == zone_rrs(new)
    assert ("ixfr1.%s" % ZONE, "A", 300, "198.51.100.1") in zone_rrs(new)
    assert a.metrics()['streamdns_authd_xfr_total{kind="ixfr",result="incremental"}'] >= 2


@pytest.fixture(scope="module")
def big(env):
    broker, a = env
    broker.produce(big_events())

    def all_in():      # every partition applied, not only the one of the last event
        status, body = a.http("/zones")
        return status == 200 and any(z["name"] == BIG and z["rrsets"] == BIG_N
                                     for z in json.loads(body)["zones"])
    wait_until(all_in, "authd to hold all %d RRsets of %s" % (BIG_N, BIG), 120,
               log=a.read_log, proc=a.proc)
    return broker, a


def test_a_large_zone_streams_while_queries_and_events_go_on(big):
    """A client that reads the first message and then stops: authd keeps one version of
    the zone for it, answers queries and applies events meanwhile; the transfer, read to
    the end afterwards, is the version it started with."""
    broker, a = big
    q = dns.message.make_query(BIG, "AXFR")
    s = socket.create_connection(("127.0.0.1", a.port), timeout=60)
    try:
        dns.query.send_tcp(s, q)
        first, _ = dns.query.receive_tcp(s, time.time() + 60, one_rr_per_rrset=True)
        serial = first.answer[0][0].serial
        # The reader is stalled; queries and a change to the zone still go through.
        broker.produce([("late.%s|A" % BIG, [rr("late." + BIG, "A", "192.0.2.99")])])
        a.wait_for("late." + BIG, "A", lambda r: r.answer, timeout=30)
        for i in range(0, BIG_N - 2, 9973):
            r = a.query("h%d.%s" % (i, BIG), "A")
            assert r.rcode() == dns.rcode.NOERROR and r.answer
        assert a.query(BIG, "SOA").answer[0][0].serial != serial
        msgs = [first]
        while True:
            m, _ = dns.query.receive_tcp(s, time.time() + 60, one_rr_per_rrset=True)
            msgs.append(m)
            if any(r.rdtype == dns.rdatatype.SOA for r in m.answer):
                break
    finally:
        s.close()
    assert msgs[-1].answer[-1][0].serial == serial
    got = rrs_of(msgs)
    assert len(got) == BIG_N - 1          # NS and the A records; not late., added after
    assert ("late." + BIG, "A", "192.0.2.99") not in got
    assert len(msgs) > 10                 # streamed in many messages
    # A new transfer has the change.
    assert ("late." + BIG, "A", "192.0.2.99") in rrs_of(axfr(a.port, BIG, timeout=60))


def signed_axfr(port, zone, source, keyring=RING, keyname="xfr-key."):
    """An AXFR signed with keyname, read with dnspython's dns.query.xfr, which checks
    every message's TSIG (RFC 8945 5.3.1: each MAC chained to the one before) and raises
    when one does not verify. A refusal comes back as the one message."""
    try:
        return list(dns.query.xfr("127.0.0.1", zone, port=port, source=source,
                                  keyring=keyring, keyname=keyname, lifetime=60,
                                  relativize=False))
    except dns.query.TransferError as e:
        return [e]


def test_signed_transfer_every_message_verified(big):
    _, a = big
    # 127.0.0.4 needs the key; a big zone so that the stream has many messages.
    msgs = signed_axfr(a.port, BIG, "127.0.0.4")
    assert len(msgs) > 10 and all(m.had_tsig for m in msgs)
    assert len(rrs_of(msgs)) >= BIG_N - 1
    # kdig verifies a signed transfer too.
    p = subprocess.run(["kdig", "-y", "hmac-sha256:xfr-key.:" + SECRET, "@127.0.0.1", "-p",
                        str(a.port), ZONE, "AXFR"], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0 and "Transfer failed" not in p.stdout, p.stdout + p.stderr
    assert p.stdout.count("\tSOA\t") == 2, p.stdout


def test_key_rules_for_transfers(env):
    _, a = env
    # Unsigned from an address allowed only with the key: REFUSED.
    m = axfr(a.port, ZONE, source="127.0.0.4")
    assert m[0].rcode() == dns.rcode.REFUSED and not m[0].answer
    # Another configured key: valid TSIG, but not the allowed key: REFUSED, signed.
    other = dns.tsigkeyring.from_text({"other.": OTHER_SECRET})
    m = signed_axfr(a.port, ZONE, "127.0.0.4", keyring=other, keyname="other.")
    assert isinstance(m[0], dns.query.TransferError) and m[0].rcode == dns.rcode.REFUSED
    # The key allows from any address.
    assert signed_axfr(a.port, ZONE, "127.0.0.5")[0].rcode() == dns.rcode.NOERROR
    # The wrong secret: NOTAUTH/BADSIG; an unknown key: NOTAUTH/BADKEY; no records and
    # no MAC (RFC 8945 5.3.2), so no client library can verify them: read by hand.
    wire = dns.message.make_query(ZONE, "AXFR").to_wire()
    for owner, secret, err in (("xfr-key.", OTHER_SECRET, dns.rcode.BADSIG),
                               ("nobody.", SECRET, dns.rcode.BADKEY)):
        signed, _ = sign_request(wire, owner, "hmac-sha256", secret, int(time.time()))
        msg, _, rd, _ = split_tsig(exchange(a.port, signed, tcp=True))
        assert msg.rcode() == dns.rcode.NOTAUTH and rd.error == err and rd.mac == b""
        assert not msg.answer
    # A request signed an hour ago: NOTAUTH/BADTIME, signed (RFC 8945 5.2.3), no records.
    signed, _ = sign_request(wire, "xfr-key.", "hmac-sha256", SECRET, int(time.time()) - 3600)
    msg, _, rd, _ = split_tsig(exchange(a.port, signed, tcp=True))
    assert msg.rcode() == dns.rcode.NOTAUTH and rd.error == dns.rcode.BADTIME
    assert rd.mac != b"" and not msg.answer
