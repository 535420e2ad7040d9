"""Cookies (RFC 7873/9018) and response rate limiting on authd's UDP."""
import os
import socket
import struct
import time

import dns.edns
import dns.flags
import dns.message
import dns.query
import dns.rcode
import pytest

from streamdns import Authd, Broker, rr, wait_until

SOA = "ns.rl.test. h.rl.test. 1 3600 900 604800 60"


@pytest.fixture(scope="module")
def authd():
    broker = Broker(partitions=1)
    broker.produce([("rl.test.|SOA", [rr("rl.test.", "SOA", SOA)]),
                    ("www.rl.test.|A", [rr("www.rl.test.", "A", "192.0.2.1")])])
    a = Authd(broker.address, sections="[rrl]\nresponses-per-second = 50\nslip = 2\n")
    a.wait_ready()
    a.wait_for("www.rl.test.", "A", lambda r: r.answer)
    yield a
    a.stop()
    broker.stop()


def query_with_cookie(a, cookie, src="127.0.0.1"):
    q = dns.message.make_query("www.rl.test.", "A", use_edns=0,
                               options=[dns.edns.GenericOption(10, cookie)])
    return dns.query.udp(q, "127.0.0.1", port=a.port, timeout=2, source=src)


def server_cookie(r):
    opts = [o for o in r.options if o.otype == 10]
    assert len(opts) == 1
    return opts[0].to_wire() if hasattr(opts[0], "to_wire") else opts[0].data


def test_cookie_issued(authd):
    client = os.urandom(8)
    r = query_with_cookie(authd, client)
    c = server_cookie(r)
    assert len(c) == 24 and c[:8] == client
    assert c[8] == 1 and c[9:12] == b"\0\0\0"           # RFC 9018: version 1, reserved
    ts = struct.unpack("!I", c[12:16])[0]
    assert abs(ts - time.time()) < 5
    # Sent back, it is accepted and a fresh one comes with the answer.
    r2 = query_with_cookie(authd, c)
    assert r2.rcode() == dns.rcode.NOERROR and server_cookie(r2)[:8] == client


def test_malformed_cookie_is_formerr(authd):
    r = query_with_cookie(authd, b"short")
    assert r.rcode() == dns.rcode.FORMERR


def burst(a, wire, n, src="127.0.0.1"):
    """Sends wire n times at once from one socket; (full answers, TC=1 answers) received
    until none has come for a second (ample on a busy machine: the answers are sent at
    once or never, RRL drops the rest)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 0))
    s.settimeout(1.0)
    for _ in range(n):
        s.sendto(wire, ("127.0.0.1", a.port))
    full = tc = 0
    try:
        while True:
            data = s.recv(4096)
            flags = struct.unpack("!H", data[2:4])[0]
            if flags & 0x0200:
                tc += 1
            else:
                full += 1
    except socket.timeout:
        pass
    s.close()
    return full, tc


def flood(a, n, src):
    return burst(a, dns.message.make_query("www.rl.test.", "A").to_wire(), n, src)


def rrl_limited(a):
    return a.metrics().get("streamdns_authd_rrl_limited_total", 0.0)


def test_rrl_limits_a_flood_and_spares_others(authd):
    t0 = time.time()
    full, tc = flood(authd, 600, "127.0.0.1")
    seconds = int(time.time() - t0) + 2
    assert full <= 50 * seconds, (full, tc)
    assert tc > 0                                    # slip: some TC=1 instead of silence
    assert full + tc < 600
    # Another /24 is not affected, nor is the flooded one over TCP.
    r = dns.query.udp(dns.message.make_query("www.rl.test.", "A"), "127.0.0.1",
                      port=authd.port, timeout=2, source="127.0.1.1")
    assert r.answer
    assert authd.query("www.rl.test.", "A", tcp=True).answer
    _, body = authd.http("/metrics")
    limited = [l for l in body.splitlines() if l.startswith("streamdns_authd_rrl_limited_total")]
    # Each slipped answer counts as limited (dropped ones too; the kernel may lose some
    # of a burst before they are read at all, so the sum need not reach 600).
    assert limited and float(limited[0].split()[1]) >= tc + 1


def test_valid_cookie_is_exempt_from_rrl(authd):
    # The first query has a client cookie only, so RRL applies to it: poll until the
    # earlier flood's second is over and it gets a full answer with a server cookie.
    client = os.urandom(8)

    def full_answer():
        r = query_with_cookie(authd, client)
        return r if r.answer and not r.flags & dns.flags.TC else None
    c = server_cookie(wait_until(full_answer, "a full answer to a client-cookie query once "
                                 "the rate limit lets one through", 15, log=authd.read_log))
    flood(authd, 300, "127.0.0.1")
    answered = 0
    for _ in range(20):
        r = query_with_cookie(authd, c)
        if not r.flags & dns.flags.TC and r.answer:
            answered += 1
        c = server_cookie(r)
    assert answered == 20
    # A forged server cookie is not.
    # A forged server cookie is not: 100 such queries after a flood get RRL's treatment,
    # which is seen, not assumed from silence: slipped TC=1 answers come back (slip = 2)
    # and authd counts the limited ones.
    forged = c[:16] + bytes(8)
    flood(authd, 300, "127.0.0.1")
    before = rrl_limited(authd)
    q = dns.message.make_query("www.rl.test.", "A", use_edns=0,
                               options=[dns.edns.GenericOption(10, forged)]).to_wire()
    full, tc = burst(authd, q, 100)
    assert tc > 0, "no TC=1 answer to 100 forged-cookie queries (full answers: %d)" % full
    assert full < 100, "all 100 forged-cookie queries answered in full: RRL did not apply"
    assert rrl_limited(authd) >= before + tc, "the slipped answers were not counted as limited"


def test_drops_privileges_after_binding(authd):
    """[server] user: the sockets are bound as root, then the process runs as that user."""
    import pwd
    if os.geteuid() != 0:
        pytest.fail("this test needs root (CI and the dev machines run as root)")
    broker = Broker(partitions=1)
    try:
        broker.produce([("rl.test.|SOA", [rr("rl.test.", "SOA", SOA)])])
        a = Authd(broker.address, extra="user = nobody")
        try:
            a.wait_ready()
            uid = pwd.getpwnam("nobody").pw_uid
            status = open("/proc/%d/status" % a.proc.pid).read()
            uids = [l for l in status.splitlines() if l.startswith("Uid:")][0].split()[1:]
            assert uids == [str(uid)] * 4
            assert a.query("rl.test.", "SOA").answer
            assert "running as user nobody" in a.read_log()
        finally:
            a.stop()
    finally:
        broker.stop()
