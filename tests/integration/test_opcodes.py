"""Every opcode with QDCOUNT 0, 1 and 2, over UDP and TCP, with and without EDNS, against
authd, dnsr and Knot DNS: the request gate's order (opcode, then question) and the flags
of the reply (RD always copied, CD only for QUERY), as common/gate.c and envelope.c say.
"""
import itertools
import os
import socket
import struct

import pytest

import mini_internet as mi
from streamdns import BUILD, Authd, Broker, rrset_events
from test_differential_knot import KNOTD, Knotd

ZONE = [
    ("opc.test.", "SOA", "ns1.opc.test. hostmaster.opc.test. 1 3600 900 604800 60"),
    ("opc.test.", "NS", "ns1.opc.test."),
    ("ns1.opc.test.", "A", "192.0.2.1"),
    ("www.opc.test.", "A", "192.0.2.2"),
]
QUESTION = b"\x03www\x03opc\x04test\x00\x00\x01\x00\x01"
OPT = b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00"
FLAGS_IN = 0x0100 | 0x0010          # RD and CD set in every request
NOTIFY, UPDATE = 4, 5               # Knot implements both; authd UPDATE (issue 18)
CASES = list(itertools.product(range(16), (0, 1, 2), (False, True), (False, True)))


def request(opcode, qdcount, edns):
    return (struct.pack("!HHHHHH", 0x2bad, (opcode << 11) | FLAGS_IN, qdcount, 0, 0,
                        1 if edns else 0) + QUESTION * qdcount + (OPT if edns else b""))


def exchange(port, data, tcp, timeout=3.0):
    """The reply, or None when none came within timeout (a deliberate silence)."""
    kind = socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, kind) as s:
        s.settimeout(timeout)
        try:
            if tcp:
                s.connect(("127.0.0.1", port))
                s.sendall(struct.pack("!H", len(data)) + data)
                head = s.recv(2, socket.MSG_WAITALL)
                if len(head) < 2:
                    return None
                return s.recv(struct.unpack("!H", head)[0], socket.MSG_WAITALL)
            s.sendto(data, ("127.0.0.1", port))
            return s.recv(65535)
        except (socket.timeout, ConnectionResetError):
            return None


def summary(reply):
    flags, qd, an, ns, ar = struct.unpack("!HHHHH", reply[2:12])
    return {"id": struct.unpack("!H", reply[:2])[0], "qr": flags >> 15,
            "opcode": (flags >> 11) & 15, "aa": (flags >> 10) & 1, "rd": (flags >> 8) & 1,
            "cd": (flags >> 4) & 1, "rcode": flags & 15, "qd": qd, "ar": ar}


def expected_rcode(opcode, qdcount, who):
    if opcode == UPDATE and who == "authd":
        return 1                    # FORMERR: the zone section is not one SOA question
    if opcode != 0:
        return 4                    # NOTIMP, whatever the question section holds
    return 0 if qdcount == 1 else 1     # FORMERR without exactly one question


@pytest.fixture(scope="module")
def servers():
    if not os.path.exists(KNOTD):
        pytest.skip("knotd is not installed")
    broker = Broker(partitions=1)
    broker.produce(rrset_events(ZONE))
    authd = Authd(broker.address)
    dnsr = knot = None
    try:
        authd.wait_ready()
        authd.wait_for("www.opc.test.", "A", lambda r: r.answer)
        knot = Knotd({"opc.test.": ZONE})
        # dnsr forwards to Knot: its one recursive case stays on this machine.
        dnsr = mi.Dnsr(BUILD, None, resolver="mode = forward\nforwarders = 127.0.0.1:%d\n"
                       % knot.port)
        yield authd, dnsr, knot
    finally:
        for s in (knot, dnsr, authd, broker):
            if s is not None:
                s.stop()


def check(reply, opcode, qdcount, edns, who):
    assert reply is not None, "%s sent no reply" % who
    r = summary(reply)
    assert r["id"] == 0x2bad and r["qr"] == 1, (who, r)
    assert r["opcode"] == opcode, (who, r)
    assert r["rcode"] == expected_rcode(opcode, qdcount, who), (who, r)
    assert r["rd"] == 1, ("RD is copied whatever the opcode", who, r)
    assert r["cd"] == (1 if opcode == 0 else 0), ("CD is echoed for QUERY only", who, r)
    assert r["qd"] == (1 if qdcount == 1 else 0), (who, r)
    assert r["ar"] == (1 if edns else 0), ("our OPT answers a valid one", who, r)
    return r


@pytest.mark.parametrize("opcode,qdcount,edns,tcp", CASES,
                         ids=["op%d-qd%d%s%s" % (o, q, "-edns" if e else "", "-tcp" if t else "")
                              for o, q, e, t in CASES])
def test_gate_order_and_flags(servers, opcode, qdcount, edns, tcp):
    authd, dnsr, knot = servers
    data = request(opcode, qdcount, edns)
    ours = check(exchange(authd.port, data, tcp), opcode, qdcount, edns, "authd")
    assert ours["aa"] == (1 if opcode == 0 and qdcount == 1 else 0)
    # dnsr goes through the same gate (its QUERY is answered through Knot, RA=1).
    r = check(exchange(dnsr.port, data, tcp), opcode, qdcount, edns, "dnsr")
    assert r["aa"] == 0
    # Knot DNS agrees, but where it differs on purpose: it implements NOTIFY and UPDATE
    # (issues 17, 18), and it drops a QDCOUNT of 2 where we answer FORMERR (RFC 9619).
    if opcode in (NOTIFY, UPDATE) or qdcount == 2:
        return
    theirs = summary(exchange(knot.port, data, tcp) or pytest.fail("knotd sent no reply"))
    for field in ("opcode", "rcode", "rd", "qd", "ar", "aa"):
        assert ours[field] == theirs[field], (field, ours, theirs)
    if opcode != 0:
        assert ours["cd"] == theirs["cd"], ("cd", ours, theirs)
