"""Malformed packets: FORMERR or silence, never a crash, and the server keeps serving."""
import glob
import os
import socket
import struct

import dns.message
import dns.rcode
import pytest

from streamdns import Authd, Broker, rr

SOA = "ns1.mal.test. hostmaster.mal.test. 1 3600 900 604800 60"
CORPUS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "fuzz",
                      "dns-packets")


@pytest.fixture(scope="module")
def authd():
    broker = Broker(partitions=1)
    broker.produce([("mal.test.|SOA", [rr("mal.test.", "SOA", SOA)]),
                    ("www.mal.test.|A", [rr("www.mal.test.", "A", "192.0.2.1")])])
    a = Authd(broker.address)
    a.wait_ready()
    a.wait_for("www.mal.test.", "A", lambda r: r.answer)
    yield a
    a.stop()
    broker.stop()


def header(qd=1, an=0, ns=0, ar=0, flags=0x0100, qid=0x1234):
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar)


QUESTION = b"\x03www\x03mal\x04test\x00\x00\x01\x00\x01"


def send(port, data, timeout=5.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(data, ("127.0.0.1", port))
        return s.recv(65535)
    except socket.timeout:
        return None
    finally:
        s.close()


def assert_alive(a):
    r = a.query("www.mal.test.", "A")
    assert r.rcode() == dns.rcode.NOERROR and r.answer
    assert a.proc.poll() is None


FORMERR_CASES = {
    "qdcount 0": header(qd=0),
    "qdcount 2": header(qd=2) + QUESTION + QUESTION,
    "truncated question": header() + QUESTION[:-3],
    "truncated label": header() + b"\x3fwww",
    "pointer to itself": header() + b"\xc0\x0c\x00\x01\x00\x01",
    "pointer loop": header() + b"\x03www\xc0\x0c\x00\x01\x00\x01",
    "forward pointer": header() + b"\xc0\x20\x00\x01\x00\x01" + b"\x00" * 30,
    "pointer out of range": header() + b"\xc3\xff\x00\x01\x00\x01",
    "extended label type": header() + b"\x41www\x00\x00\x01\x00\x01",
    "name over 255": header() + b"\x3f" + b"a" * 63 + b"\x3f" + b"b" * 63 + b"\x3f" +
    b"c" * 63 + b"\x3f" + b"d" * 63 + b"\x00\x00\x01\x00\x01",
    "ancount beyond data": header(an=1) + QUESTION,
    "trailing garbage": header() + QUESTION + b"\xde\xad",
    "rdlength beyond end": header(ar=1) + QUESTION + b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x10",
}


@pytest.mark.parametrize("case", sorted(FORMERR_CASES))
def test_formerr(authd, case):
    resp = send(authd.port, FORMERR_CASES[case])
    assert resp is not None, case
    assert len(resp) >= 12
    qid, flags = struct.unpack("!HH", resp[:4])
    assert qid == 0x1234
    assert flags & 0x8000  # QR
    assert flags & 0x000f == dns.rcode.FORMERR


@pytest.mark.parametrize("data", [b"", b"\x12", b"\x12\x34\x01\x00\x00", header()[:11],
                                  header(flags=0x8100) + QUESTION])
def test_dropped(authd, data):
    """Dropped, shown without a stopwatch: a good query sent right after it from the same
    socket is answered, and its answer is the first datagram to come back (one worker
    reads a socket's datagrams in order and answers in order)."""
    good = dns.message.make_query("www.mal.test.", "A")
    good.id = 0x4321
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(10)
    try:
        s.sendto(data, ("127.0.0.1", authd.port))
        s.sendto(good.to_wire(), ("127.0.0.1", authd.port))
        try:
            first = s.recv(65535)
        except socket.timeout:
            raise AssertionError("no answer within 10 s to a good query sent after %r"
                                 % data) from None
    finally:
        s.close()
    r = dns.message.from_wire(first)
    assert r.id == good.id and r.answer, "answered %r instead of dropping it: %s" % (data, r)
    assert_alive(authd)


def test_oversized_udp(authd):
    resp = send(authd.port, header() + QUESTION + b"\x00" * 8000)
    assert resp is None or struct.unpack("!H", resp[2:4])[0] & 0x000f == dns.rcode.FORMERR
    assert_alive(authd)


def test_tcp_garbage_and_short_frames(authd):
    for payload in (struct.pack("!H", 3) + b"abc", struct.pack("!H", 500) + b"short",
                    b"\xff"):
        s = socket.create_connection(("127.0.0.1", authd.port), timeout=3)
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        try:
            while s.recv(4096):
                pass
        except OSError:
            pass
        s.close()
    assert_alive(authd)


def test_fuzz_corpus_smoke(authd):
    """Every packet of the shared seed corpus, thrown at the server over UDP."""
    # The shared CZ.NIC seeds when the checkout has ../shared beside it (CI does), and the
    # repository's own message corpus in any case.
    files = sorted(glob.glob(os.path.join(CORPUS, "*")) + glob.glob(os.path.join(
        os.path.dirname(__file__), "..", "fuzz", "corpus", "message", "*")))
    if not files:
        pytest.fail("no message corpus found")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setblocking(False)
    sent = 0
    for i, path in enumerate(files):
        with open(path, "rb") as f:
            data = f.read()[:65000]
        try:
            s.sendto(data, ("127.0.0.1", authd.port))
            sent += 1
        except BlockingIOError:
            pass
        if i % 200 == 0:
            try:
                while s.recv(65535):
                    pass
            except BlockingIOError:
                pass
    s.close()
    assert sent > len(files) // 2 and len(files) >= 9
    assert_alive(authd)
