"""dnsr's anti-spoofing and cookies (issue 8): 0x20, answer checks, RFC 7873, privilege drop.

The upstream side is played by small scripted servers on 127.0.0.20-29, each the only
"root server" of a dnsr of its own (its root hints point at it), answering over UDP and TCP
and recording what it receives with the case kept; the 0x20 test also puts a recording
proxy in front of the mini internet's NSD root. Drops are read from dnsr's debug log (one
line per dropped answer, with the running count).
"""
import os
import pwd
import shutil
import socket
import struct
import tempfile
import threading
import time

import dns.edns
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rrset
import pytest

import mini_internet as mi
from streamdns import BUILD, wait_until
from test_dnsr_socket import Client, query as sock_query

PROXY, LOWER, SPOOF, COOKIE = "127.0.0.20", "127.0.0.21", "127.0.0.22", "127.0.0.23"
ANSWER_IP = "192.0.2.99"


class Server:
    """A UDP and TCP server on addr:port: handler(query message, over_tcp) returns the
    wire answers to send (a list: several datagrams over UDP; the first one over TCP)."""

    def __init__(self, addr, port, handler):
        self.handler = handler
        self.log = []           # (transport, qname as received, COOKIE option or None)
        self.lock = threading.Lock()
        self.stopping = False
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind((addr, port))
        self.udp.settimeout(0.2)
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind((addr, port))
        self.tcp.listen(16)
        self.tcp.settimeout(0.2)
        self.threads = [threading.Thread(target=f, daemon=True)
                        for f in (self.serve_udp, self.serve_tcp)]
        for t in self.threads:
            t.start()

    def record(self, q, transport):
        cookie = [o.to_wire() if hasattr(o, "to_wire") else o.data
                  for o in q.options if o.otype == dns.edns.COOKIE]
        with self.lock:
            self.log.append((transport, q.question[0].name.to_text(),
                             cookie[0] if cookie else None))

    def serve_udp(self):
        while not self.stopping:
            try:
                data, peer = self.udp.recvfrom(4096)
                q = dns.message.from_wire(data)
            except socket.timeout:
                continue
            except Exception:
                if self.stopping:
                    return
                continue
            self.record(q, "udp")
            for wire in self.handler(q, False):
                self.udp.sendto(wire, peer)

    def serve_tcp(self):
        while not self.stopping:
            try:
                conn, _ = self.tcp.accept()
            except (socket.timeout, OSError):
                continue
            with conn:
                conn.settimeout(2)
                try:
                    while True:
                        n = struct.unpack("!H", recv_exactly(conn, 2))[0]
                        q = dns.message.from_wire(recv_exactly(conn, n))
                        self.record(q, "tcp")
                        wire = self.handler(q, True)[0]
                        conn.sendall(struct.pack("!H", len(wire)) + wire)
                except Exception:
                    pass

    def seen(self, transport=None):
        with self.lock:
            return [e for e in self.log if transport is None or e[0] == transport]

    def stop(self):
        self.stopping = True
        for t in self.threads:
            t.join(2)
        self.udp.close()
        self.tcp.close()


def recv_exactly(conn, n):
    buf = b""
    while len(buf) < n:
        data = conn.recv(n - len(buf))
        if not data:
            raise EOFError
        buf += data
    return buf


def authoritative(q, ip=ANSWER_IP, options=None):
    """An AA answer with one A record for whatever was asked."""
    r = dns.message.make_response(q)
    r.flags |= dns.flags.AA
    r.answer.append(dns.rrset.from_text(q.question[0].name, 300, "IN", "A", ip))
    if options is not None:
        r.use_edns(0, 0, 1232, options=options)
    return r


def lower_question(wire, q):
    """The answer with its question name in lower case (compressed owners follow)."""
    n = len(q.question[0].name.to_wire())
    return wire[:12] + wire[12:12 + n].lower() + wire[12 + n:]


def drops(d, why):
    return sum(1 for l in d.read_log().splitlines() if "dropped: " + why in l)


def hints_for(directory, addr):
    path = os.path.join(directory, "root-%s.hints" % addr)
    with open(path, "w") as f:
        f.write(".  3600000  NS  A.ROOT.\nA.ROOT.  3600000  A  %s\n" % addr)
    return path


@pytest.fixture(scope="module")
def net():
    m = mi.MiniInternet()
    yield m
    m.stop()


@pytest.fixture(scope="module")
def workdir():
    d = tempfile.mkdtemp(prefix="dnsr-hardening-")
    os.chmod(d, 0o755)      # the user=nobody resolver reads its hints here
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def port(net):
    """One port for the scripted servers: the mini internet's, which every dnsr queries."""
    return net.port


def start_dnsr(workdir, port, root, resolver="", server=""):
    return mi.Dnsr(BUILD, None, resolver="root-hints = %s\nquery-port = %d\n%s"
                   % (hints_for(workdir, root), port, resolver), server=server)


def a_records(r):
    return sorted(rd.to_text() for s in r.answer if s.rdtype == 1 for rd in s)


# ------------------------------------------------------------------ 0x20


def test_0x20_questions_reach_nsd_in_mixed_case(net, workdir):
    """A proxy in front of NSD's root records the questions: their case is random, and
    NSD (which keeps it) answers them: resolution through the whole tree works."""
    def forward(q, tcp):
        fwd = dns.query.udp(q, mi.ROOT, port=net.port, timeout=2)
        return [fwd.to_wire()]

    proxy = Server(PROXY, net.port, forward)
    # Full names to the root: its log is checked against them, and a minimised one (test.,
    # 4 letters) comes out in one case too often for the randomness check below.
    d = start_dnsr(workdir, net.port, PROXY, resolver="qname-minimisation = no\n")
    try:
        names = ["www.alpha.test.", "www.example.", "txt.alpha.test.", "www.victim.test."]
        for name in names:
            r = d.query(name, "TXT" if name.startswith("txt") else "A")
            assert r.rcode() == dns.rcode.NOERROR and r.answer, (name, r)
        # The root is asked once per TLD (the referrals are cached): test. and example.
        asked = [n for _, n, _ in proxy.seen()]
        assert len(asked) == 2 and all(n.lower() in names for n in asked), asked
        # 10 letters or more: 2^-9 for a name to come out in one case.
        assert all(n != n.lower() and n != n.upper() for n in asked), asked
        assert drops(d, "0x20") == 0 and drops(d, "id or question") == 0
        # No random case reaches the cache: names NSD compressed against the question (the
        # CNAME's target here) come out as dnsr asked, in lower case.
        r = d.query("cname-in.alpha.test.", "A")
        names = [s.name.to_text() for s in r.answer] + [r.answer[0][0].target.to_text()]
        assert names == ["cname-in.alpha.test.", "www.alpha.test.", "www.alpha.test."], names
    finally:
        d.stop()
        proxy.stop()


def test_case_mismatch_is_dropped_and_retried_over_tcp(workdir, port):
    """A server that answers UDP with the question lower-cased: the answer is dropped,
    counted, and the query asked again over TCP, whose answer is taken."""
    def lowering(q, tcp):
        wire = authoritative(q).to_wire()
        return [wire if tcp else lower_question(wire, q)]

    srv = Server(LOWER, port, lowering)
    # One name, one question: QNAME minimisation would add one TCP retry per label.
    d = start_dnsr(workdir, port, LOWER, resolver="qname-minimisation = no\n")
    try:
        r = d.query("www.CaseTest.example.", "A")
        assert r.rcode() == dns.rcode.NOERROR and a_records(r) == [ANSWER_IP]
        assert len(srv.seen("tcp")) == 1, srv.seen()
        udp_name, tcp_name = srv.seen("udp")[0][1], srv.seen("tcp")[0][1]
        assert udp_name == tcp_name and udp_name.lower() == "www.casetest.example."
        assert drops(d, "0x20") == 1
    finally:
        d.stop()
    # Without 0x20 the same server is fine over UDP: the name goes out in lower case.
    d = start_dnsr(workdir, port, LOWER, resolver="use-0x20 = no\n")
    try:
        before = len(srv.seen("tcp"))
        r = d.query("www.nocase.example.", "A")
        assert a_records(r) == [ANSWER_IP]
        assert srv.seen("udp")[-1][1] == "www.nocase.example."
        assert len(srv.seen("tcp")) == before and drops(d, "0x20") == 0
    finally:
        d.stop()
        srv.stop()


def test_spoofed_answers_are_ignored(workdir, port):
    """Before the real answer: one with another question (same id), one with another id
    (same question). Both are dropped and counted; the real one is taken."""
    def spoofing(q, tcp):
        real = authoritative(q)
        other = dns.message.make_query("www.victim.example.", "A")
        other.id = q.id
        wrong_q = authoritative(other, "6.6.6.6")
        wrong_id = authoritative(q, "6.6.6.7")
        wrong_id.id = (q.id + 1) % 65536
        return [wrong_q.to_wire(), wrong_id.to_wire(), real.to_wire()]

    srv = Server(SPOOF, port, spoofing)
    # One question to count the spoofed answers of (minimisation would ask three).
    d = start_dnsr(workdir, port, SPOOF, resolver="qname-minimisation = no\n")
    try:
        r = d.query("www.spoofed.example.", "A")
        assert r.rcode() == dns.rcode.NOERROR and a_records(r) == [ANSWER_IP]
        wait_until(lambda: drops(d, "id or question not ours") >= 2,
                   "dnsr to log the 2 spoofed answers as dropped", 15, log=d.read_log,
                   interval=0.02)
        assert drops(d, "id or question not ours") == 2
        assert srv.seen("tcp") == []
    finally:
        d.stop()
        srv.stop()


# ------------------------------------------------------------------ cookies


def cookie_of(r):
    opts = [o for o in r.options if o.otype == dns.edns.COOKIE]
    assert len(opts) == 1, r
    o = opts[0]
    return o.to_wire() if hasattr(o, "to_wire") else o.data


def with_cookie(name, cookie):
    return dns.message.make_query(name, "A", use_edns=0,
                                  options=[dns.edns.GenericOption(dns.edns.COOKIE, cookie)])


def check_server_cookie(c, client):
    assert len(c) == 24 and c[:8] == client
    assert c[8] == 1 and c[9:12] == b"\0\0\0"           # RFC 9018: version 1, reserved
    assert abs(struct.unpack("!I", c[12:16])[0] - time.time()) < 5


def test_cookies_towards_clients(workdir, port):
    """UDP, TCP and the Unix socket: a client cookie gets a 24-octet COOKIE back (after a
    resolution and from the cache); a malformed COOKIE is FORMERR."""
    srv = Server(COOKIE, port, lambda q, tcp: [authoritative(q).to_wire()])
    sock = os.path.join(workdir, "cookies.sock")
    d = start_dnsr(workdir, port, COOKIE, server="socket = %s\n" % sock)
    try:
        client = os.urandom(8)
        for tcp in (False, True):          # a resolution, then the cache
            r = d.query(None, message=with_cookie("www.cookie.example.", client), tcp=tcp)
            assert a_records(r) == [ANSWER_IP]
            check_server_cookie(cookie_of(r), client)
        # The server cookie sent back is accepted, and a fresh one comes.
        r = d.query(None, message=with_cookie("www.cookie.example.", cookie_of(r)))
        assert r.rcode() == dns.rcode.NOERROR
        check_server_cookie(cookie_of(r), client)
        for bad in (b"short", os.urandom(12), os.urandom(41)):
            r = d.query(None, message=with_cookie("www.cookie.example.", bad))
            assert r.rcode() == dns.rcode.FORMERR, bad
        # No cookie asked, none given.
        r = d.query("www.cookie.example.", "A", use_edns=0)
        assert not [o for o in r.options if o.otype == dns.edns.COOKIE]
        c = Client(sock)
        c.hello()
        c.send(sock_query(7, with_cookie("www2.cookie.example.", client)))
        check_server_cookie(cookie_of(c.answers(1)[7]), client)
        c.close()
    finally:
        d.stop()
    d = start_dnsr(workdir, port, COOKIE, resolver="cookies = no\n")
    try:
        r = d.query(None, message=with_cookie("www.cookie.example.", os.urandom(8)))
        assert r.rcode() == dns.rcode.NOERROR
        assert not [o for o in r.options if o.otype == dns.edns.COOKIE]
        assert srv.seen()[-1][2] is None        # and none upstream
    finally:
        d.stop()
        srv.stop()


def test_cookies_towards_servers(workdir, port):
    """Upstream queries carry our client cookie; the server cookie a server returns goes
    back to it on the next query; an answer with someone else's client cookie is dropped."""
    server_part = b"S" * 16

    def cookies(q, tcp):
        name = q.question[0].name.to_text().lower()
        sent = [o.to_wire() if hasattr(o, "to_wire") else o.data
                for o in q.options if o.otype == dns.edns.COOKIE]
        client = sent[0][:8] if sent else b"\0" * 8
        good = authoritative(q, options=[dns.edns.GenericOption(dns.edns.COOKIE,
                                                                client + server_part)])
        if not name.startswith("forged"):
            return [good.to_wire()]
        forged = authoritative(q, "6.6.6.6", options=[dns.edns.GenericOption(
            dns.edns.COOKIE, bytes(b ^ 0xff for b in client) + server_part)])
        return [forged.to_wire(), good.to_wire()]

    srv = Server(COOKIE, port, cookies)
    d = start_dnsr(workdir, port, COOKIE)
    try:
        assert a_records(d.query("one.example.")) == [ANSWER_IP]
        assert a_records(d.query("two.example.")) == [ANSWER_IP]
        (_, _, first), (_, _, second) = srv.seen()[:2]
        assert first is not None and len(first) == 8          # a client cookie only
        assert second == first + server_part                   # then the server's too
        r = d.query("forged.example.")
        assert a_records(r) == [ANSWER_IP]
        assert drops(d, "client cookie not ours") == 1
    finally:
        d.stop()
        srv.stop()


# ------------------------------------------------------------------ privileges


def test_user_nobody(workdir, port):
    """[server] user = nobody: dnsr runs as nobody once its sockets are open, still
    answers, and its Unix socket stays root's with the configured mode."""
    if os.geteuid() != 0:
        pytest.skip("needs root")
    nobody = pwd.getpwnam("nobody")
    srv = Server(COOKIE, port, lambda q, tcp: [authoritative(q).to_wire()])
    sock = os.path.join(workdir, "nobody.sock")
    d = start_dnsr(workdir, port, COOKIE,
                   server="user = nobody\nsocket = %s\nsocket-mode = 0660\n" % sock)
    try:
        with open("/proc/%d/status" % d.proc.pid) as f:
            status = dict(l.split(":", 1) for l in f.read().splitlines() if ":" in l)
        assert status["Uid"].split() == [str(nobody.pw_uid)] * 4
        assert status["Gid"].split() == [str(nobody.pw_gid)] * 4
        assert a_records(d.query("www.nobody.example.")) == [ANSWER_IP]
        st = os.stat(sock)
        assert st.st_uid == 0 and (st.st_mode & 0o777) == 0o660
        c = Client(sock)                    # we, root, still may connect
        c.hello()
        c.close()
        assert "running as user nobody" in d.read_log()
    finally:
        d.stop()
        srv.stop()
