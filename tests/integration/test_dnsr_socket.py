"""streamdns-dnsr's Unix socket for authd (proto/PROTOCOL.md), spoken by a small client here.

The resolver iterates over the mini internet (NSD on 127.0.0.x) as in test_dnsr.py; the
client below is the protocol written out with struct, independent of proto/proto.c, so that
the two implementations check each other.
"""
import grp
import os
import random
import shutil
import socket
import stat
import struct
import subprocess
import tempfile

import dns.edns
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import pytest

import mini_internet as mi
from streamdns import BUILD, free_port, wait_until

HELLO, HELLO_OK, QUERY, ANSWER, ERROR = 1, 2, 3, 4, 5
ERR_MALFORMED, ERR_VERSION, ERR_UNEXPECTED = 1, 2, 3
UDP, TCP = 0, 1
CLIENT = ("192.0.2.7", 5353)          # outside dnsr's ACL (loopback): the socket has none


def frame(ftype, body):
    return struct.pack("!IB", 1 + len(body), ftype) + body


def hello(version=1, name=b"pytest"):
    return frame(HELLO, struct.pack("!HHB", version, 0, len(name)) + name)


def query(pid, msg, transport=UDP, client=CLIENT, max_answer=65535, family=None):
    wire = msg.to_wire() if isinstance(msg, dns.message.Message) else msg
    if family is None:
        family = 6 if ":" in client[0] else 4
    if family == 6:
        addr = socket.inet_pton(socket.AF_INET6, client[0])
    else:
        addr = socket.inet_aton(client[0]).ljust(16, b"\0")
    return frame(QUERY, struct.pack("!IBB16sHHI", pid, transport, family, addr, client[1],
                                    max_answer, 0) + wire)


class Client:
    """One connection to dnsr's socket: frames out, frames in (type, body)."""

    def __init__(self, path, timeout=5.0):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def hello(self, version=1):
        self.send(hello(version))
        t, body = self.frame()
        assert t == HELLO_OK, (t, body)
        return struct.unpack("!H", body)[0]

    def frame(self):
        """The next frame, or None at the end of the stream."""
        while True:
            if len(self.buf) >= 4:
                n = struct.unpack("!I", self.buf[:4])[0]
                if len(self.buf) >= 4 + n:
                    t, body = self.buf[4], self.buf[5:4 + n]
                    self.buf = self.buf[4 + n:]
                    return t, body
            data = self.s.recv(65536)
            if not data:
                assert self.buf == b"", "stream ends inside a frame"
                return None
            self.buf += data

    def answers(self, count):
        """count ANSWER frames as {protocol id: DNS message}."""
        got = {}
        while len(got) < count:
            t, body = self.frame()
            assert t == ANSWER, (t, body)
            pid = struct.unpack("!I", body[:4])[0]
            assert pid not in got, "answered twice: %d" % pid
            got[pid] = dns.message.from_wire(body[4:])
        return got

    def error_then_close(self):
        """(code, reason) of the ERROR frame, asserting that the connection then closes."""
        while True:
            f = self.frame()
            assert f is not None, "closed without an ERROR"
            if f[0] == ERROR:
                break
            assert f[0] == ANSWER, f
        code = struct.unpack("!H", f[1][:2])[0]
        assert self.frame() is None, "still open after ERROR"
        return code, f[1][2:].decode()

    def close(self):
        self.s.close()


@pytest.fixture(scope="module")
def net():
    m = mi.MiniInternet()
    yield m
    m.stop()


@pytest.fixture(scope="module")
def sockdir():
    d = tempfile.mkdtemp(prefix="dnsr-sock-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def dnsr(net, sockdir):
    # Two directories that do not exist yet: dnsr makes them.
    path = os.path.join(sockdir, "run", "dnsr", "dnsr.sock")
    d = mi.Dnsr(BUILD, net, server="socket = %s\nsocket-timeout = 1s\n" % path)
    d.sock = path
    yield d
    d.stop()


def connect(d):
    c = Client(d.sock)
    assert c.hello() == 1
    return c


def rrsets(r):
    return sorted((s.name.to_text().lower(), dns.rdatatype.to_text(s.rdtype),
                   tuple(sorted(rd.to_text() for rd in s))) for s in r.answer)


def ede(r):
    for o in r.options:
        if o.otype == dns.edns.EDE:
            return o.code, o.text
    return None


# ------------------------------------------------------------------- the file


def test_socket_file_mode_and_directory(dnsr, sockdir):
    st = os.stat(dnsr.sock)
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o660
    for d in (os.path.join(sockdir, "run"), os.path.dirname(dnsr.sock)):
        assert stat.S_IMODE(os.stat(d).st_mode) == 0o755
    assert "socket %s: authd may connect (mode 0660" % dnsr.sock in dnsr.read_log()


def other_group():
    """A group we may give a file that is not our own primary group (if there is one)."""
    mine = os.getgid()
    if os.geteuid() == 0:
        gids = [g.gr_gid for g in grp.getgrall()]
    else:
        gids = os.getgroups()
    others = sorted(g for g in gids if g != mine)
    return grp.getgrgid(others[0] if others else mine)


def test_mode_and_group_configured(net, sockdir):
    path = os.path.join(sockdir, "mode", "dnsr.sock")
    group = other_group()
    d = mi.Dnsr(BUILD, net, server="socket = %s\nsocket-mode = 600\nsocket-group = %s\n"
                % (path, group.gr_name))
    try:
        st = os.stat(path)
        assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_gid == group.gr_gid
        Client(path).hello()
    finally:
        d.stop()
    assert not os.path.exists(path)          # removed at exit


def test_stale_socket_replaced(net, sockdir):
    path = os.path.join(sockdir, "stale.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)                             # a socket file nobody answers on
    s.close()
    d = mi.Dnsr(BUILD, net, server="socket = %s\n" % path)
    try:
        assert Client(path).hello() == 1
        assert "replaced a stale socket" in d.read_log()
    finally:
        d.stop()


def start_fails(sockdir, path):
    """dnsr's exit status and stderr when started with socket = path."""
    conf = os.path.join(sockdir, "fails.ini")
    with open(conf, "w") as f:
        f.write("[server]\nlisten = 127.0.0.1:%d\nsocket = %s\n"
                "[resolver]\nmode = forward\nforwarders = 127.0.0.1\n" % (free_port(), path))
    p = subprocess.run([os.path.join(BUILD, "streamdns-dnsr"), "-c", conf],
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 1, p.stderr
    return p.stderr


def test_not_a_socket_or_in_use_is_an_error(sockdir):
    path = os.path.join(sockdir, "file.sock")
    with open(path, "w") as f:
        f.write("mine\n")
    assert "exists and is not a socket; not replacing it" in start_fails(sockdir, path)
    assert open(path).read() == "mine\n"      # left alone
    err = start_fails(sockdir, os.path.join(path, "dnsr.sock"))
    assert "directory %s: Not a directory" % path in err
    path = os.path.join(sockdir, "live.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen()
    try:
        assert "another process is answering on it" in start_fails(sockdir, path)
    finally:
        s.close()


def test_config_checks(sockdir):
    path = os.path.join(sockdir, "check.ini")
    with open(path, "w") as f:
        f.write("[server]\nsocket = %s\nsocket-mode = 0999\nsocket-group = no-such-group\n"
                "[resolver]\nmode = forward\nforwarders = 127.0.0.1\n" % ("x" * 120))
    dnsr = os.path.join(BUILD, "streamdns-dnsr")
    p = subprocess.run([dnsr, "-c", path, "--check-config"], capture_output=True, text=True)
    assert p.returncode == 1
    assert "%s:3: socket-mode: '0999' is not an octal mode" % path in p.stderr
    assert "%s:4: socket-group: no group 'no-such-group'" % path in p.stderr
    with open(path, "w") as f:
        f.write("[server]\nsocket = %s\n[resolver]\nmode = forward\nforwarders = 127.0.0.1\n"
                % ("x" * 120))
    p = subprocess.run([dnsr, "-c", path, "--check-config"], capture_output=True, text=True)
    assert p.returncode == 1 and "socket: '%s/%s' is longer than 107 octets" % (
        sockdir, "x" * 120) in p.stderr
    p = subprocess.run([dnsr, "--help"], capture_output=True, text=True)
    for key in ("socket ", "socket-mode", "socket-group", "socket-timeout"):
        assert "\n  " + key in p.stdout


# ------------------------------------------------------------------ the hello


def test_hello(dnsr):
    c = Client(dnsr.sock)
    assert c.hello(version=1) == 1
    c.close()
    c = Client(dnsr.sock)
    assert c.hello(version=7) == 1           # min(ours, theirs)
    c.close()
    assert 'HELLO version 7; speaking version 1' in dnsr.read_log()
    assert "socket: connection from pid %d uid %d gid %d" % (os.getpid(), os.getuid(),
                                                             os.getgid()) in dnsr.read_log()


def test_version_0_is_refused(dnsr):
    c = Client(dnsr.sock)
    c.send(hello(version=0))
    assert c.error_then_close()[0] == ERR_VERSION


def test_query_before_hello(dnsr):
    c = Client(dnsr.sock)
    c.send(query(1, dns.message.make_query("www.alpha.test.", "A")))
    code, reason = c.error_then_close()
    assert code in (ERR_MALFORMED, ERR_UNEXPECTED) and "before HELLO" in reason
    assert "before HELLO; sending ERROR" in dnsr.read_log()


# ---------------------------------------------------------------- the queries


def test_pipelined_queries_match_udp(dnsr):
    names = [("www.alpha.test.", "A"), ("www.beta.test.", "A"), ("www.example.", "A"),
             ("txt.alpha.test.", "TXT"), ("alpha.test.", "MX"), ("nope.alpha.test.", "A"),
             ("cname-ext.alpha.test.", "A"), ("chain1.alpha.test.", "A"),
             ("x.dn.alpha.test.", "A"), ("txt.alpha.test.", "AAAA")]
    names += [("p%03d.many.alpha.test." % i, "A") for i in range(190)]
    qs = {}
    for i, (name, rdtype) in enumerate(names):
        q = dns.message.make_query(name, rdtype, use_edns=0)
        q.id = 4242                          # the same DNS id for all: the protocol's counts
        qs[1000 + i] = q
    c = connect(dnsr)
    c.send(b"".join(query(pid, q) for pid, q in qs.items()))
    got = c.answers(len(qs))
    c.close()
    assert sorted(got) == sorted(qs)
    for pid, q in qs.items():
        r = got[pid]
        assert r.id == 4242 and r.question[0].name == q.question[0].name
        u = dnsr.query(None, message=q)       # now from the cache, over UDP
        assert (r.rcode(), rrsets(r)) == (u.rcode(), rrsets(u)), q.question[0]
    assert got[1005].rcode() == dns.rcode.NXDOMAIN
    assert all(r.rcode() == dns.rcode.NOERROR for pid, r in got.items() if pid != 1005)


def test_client_id_case_and_edns_kept(dnsr):
    c = connect(dnsr)
    q = dns.message.make_query("WwW.AlPhA.TeSt.", "A", use_edns=0, payload=4096)
    q.id = 0xbeef
    c.send(query(7, q))
    r = c.answers(1)[7]
    assert r.id == 0xbeef and r.question[0].name.to_text() == "WwW.AlPhA.TeSt."
    assert r.edns == 0 and r.payload == 1232   # dnsr's own payload size, as over UDP
    assert r.flags & dns.flags.RA and r.flags & dns.flags.QR and not r.flags & dns.flags.AA
    q = dns.message.make_query("www.alpha.test.", "A")
    c.send(query(8, q, client=("2001:db8::7", 53)))
    r = c.answers(1)[8]
    assert r.edns == -1 and sorted(rd.to_text() for rd in r.answer[0]) == [
        "192.0.2.1", "192.0.2.2"]
    c.close()
    assert "query 8 from [2001:db8::7]:53 over udp" in dnsr.read_log()


def test_max_answer_and_transport(dnsr):
    c = connect(dnsr)
    q = dns.message.make_query("big.alpha.test.", "TXT", use_edns=0, payload=4096)
    c.send(query(1, q, transport=TCP))                    # the whole answer (~2.5 KB)
    r = c.answers(1)[1]
    assert not r.flags & dns.flags.TC and len(r.answer[0]) == len(mi.BIG_TXT)
    c.send(query(2, q, transport=UDP, max_answer=4096))   # dnsr's 1232 still applies
    c.send(query(3, q, transport=TCP, max_answer=600))
    c.send(query(4, q, transport=TCP, max_answer=100))    # below 512: 512
    got = c.answers(3)
    c.close()
    for r in got.values():
        assert r.flags & dns.flags.TC and not r.answer and r.rcode() == dns.rcode.NOERROR
        assert r.question[0].name.to_text() == "big.alpha.test."
    q = dns.message.make_query("txt.alpha.test.", "TXT")
    c = connect(dnsr)
    c.send(query(5, q, max_answer=512))
    r = c.answers(1)[5]
    assert not r.flags & dns.flags.TC and r.answer
    c.close()


def test_answered_as_resolved_not_in_order(dnsr):
    """A slow resolution (every server of broken.test is a black hole) does not hold back
    the answers behind it; it ends in SERVFAIL with an Extended DNS Error."""
    dnsr.query("www.alpha.test.")
    c = connect(dnsr)
    c.send(query(1, dns.message.make_query("www.broken.test.", "A", use_edns=0)))
    c.send(b"".join(query(2 + i, dns.message.make_query("www.alpha.test.", "A"))
                    for i in range(5)))
    order = []
    while len(order) < 6:
        t, body = c.frame()
        assert t == ANSWER
        pid = struct.unpack("!I", body[:4])[0]
        order.append(pid)
        if pid == 1:
            r = dns.message.from_wire(body[4:])
            assert r.rcode() == dns.rcode.SERVFAIL and ede(r)[0] == 22
    c.close()
    assert order[-1] == 1 and sorted(order[:5]) == [2, 3, 4, 5, 6]


def test_not_a_query_is_answered_formerr(dnsr):
    c = connect(dnsr)
    resp = dns.message.make_response(dns.message.make_query("www.alpha.test.", "A"))
    c.send(query(9, resp))                   # QR=1: UDP would drop it; here: one answer
    r = c.answers(1)[9]
    assert r.rcode() == dns.rcode.FORMERR and r.id == resp.id
    c.close()


# ------------------------------------------------------------- broken peers


def test_garbage_clients_do_not_disturb_others(dnsr):
    good = connect(dnsr)
    rnd = random.Random(5)
    cases = [
        # (what is sent, the ERROR code expected)
        (b"\x80" + bytes(rnd.randrange(256) for _ in range(999)), ERR_MALFORMED),
        (struct.pack("!IB", 1 << 31, HELLO), ERR_MALFORMED),
        (hello() + struct.pack("!IB", 1 << 31, QUERY), ERR_MALFORMED),
        (hello() + struct.pack("!I", 0), ERR_MALFORMED),
        (hello() + query(1, b"\0" * 11), ERR_MALFORMED),                   # DNS < 12
        (hello() + query(1, b"\0" * 12, family=5), ERR_MALFORMED),
        (hello() + query(1, b"\0" * 12, transport=2), ERR_MALFORMED),
        (hello() + frame(9, b"x"), ERR_MALFORMED),                         # unknown type
        (hello() + frame(HELLO, struct.pack("!HHB", 1, 0, 9) + b"abc"), ERR_MALFORMED),
        (hello() + frame(HELLO_OK, b"\0\1"), ERR_UNEXPECTED),
        (hello() + hello(), ERR_UNEXPECTED),
    ]
    for data, want in cases:
        bad = Client(dnsr.sock)
        bad.send(data)
        if data.startswith(hello()):
            assert bad.frame()[0] == HELLO_OK
        assert bad.error_then_close()[0] == want, data[:40]
        good.send(query(len(data), dns.message.make_query("www.alpha.test.", "A")))
        assert good.answers(1)[len(data)].rcode() == dns.rcode.NOERROR
    good.close()
    log = dnsr.read_log()
    assert "frame length out of range; sending ERROR 1 and closing" in log
    assert 'socket pid %d uid %d gid %d "pytest": malformed frame' % (
        os.getpid(), os.getuid(), os.getgid()) in log


def test_close_with_queries_in_flight(dnsr):
    for round_ in range(3):
        c = connect(dnsr)
        c.send(b"".join(query(i, dns.message.make_query("gone%d-%d.many.alpha.test." %
                                                           (round_, i), "A"))
                        for i in range(100)))
        c.close()                            # their answers have nowhere to go
    c = connect(dnsr)
    c.send(query(1, dns.message.make_query("gone0-1.many.alpha.test.", "A")))
    assert c.answers(1)[1].rcode() == dns.rcode.NOERROR
    c.close()
    wait_until(lambda: "closed by the peer with" in dnsr.read_log(),
               "dnsr to log a peer that closed with queries in flight", 15,
               log=dnsr.read_log, proc=dnsr.proc)
    assert dnsr.proc.poll() is None


def test_peer_that_stops_reading_is_disconnected(dnsr):
    slow = dnsr.stats()["sock_slow"]
    other = connect(dnsr)
    c = connect(dnsr)
    c.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    q = dns.message.make_query("big.alpha.test.", "TXT")
    dnsr.query(None, message=q, tcp=True)     # cached: answered at once, ~2.5 KB each
    c.send(b"".join(query(i, q, transport=TCP) for i in range(1000)))
    wait_until(lambda: "answers unread for 1000 ms; disconnecting" in dnsr.read_log(),
               "dnsr to disconnect a peer that stopped reading", 20, log=dnsr.read_log,
               proc=dnsr.proc, interval=0.1)
    other.send(query(1, dns.message.make_query("www.alpha.test.", "A")))
    assert other.answers(1)[1].rcode() == dns.rcode.NOERROR
    other.close()
    c.s.settimeout(30)
    while True:                              # what was sent before, then the end
        try:
            if not c.s.recv(65536):
                break
        except ConnectionResetError:
            break
    c.close()
    assert dnsr.stats()["sock_slow"] == slow + 1


def test_counters(dnsr):
    before = dnsr.stats()
    c = connect(dnsr)
    c.send(b"".join(query(i, dns.message.make_query("www.alpha.test.", "A")) for i in range(3)))
    c.answers(3)
    c.close()
    bad = Client(dnsr.sock)
    bad.send(struct.pack("!IB", 0, 0))
    bad.error_then_close()
    after = dnsr.stats()
    delta = {k: after[k] - before[k] for k in after}
    assert (delta["sock_conns"], delta["sock_queries"], delta["sock_malformed"]) == (2, 3, 1)
    assert delta["queries"] == 3 and delta["refused"] == 0
