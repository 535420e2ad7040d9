"""The whole system under supervisord (Debian's): devbroker, dnsr, authd and a one-shot
import, with the mini internet of the dnsr tests as "the internet"."""
import os
import shutil
import socket
import subprocess
import tempfile
import urllib.request

import dns.edns
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from mini_internet import MiniInternet
from streamdns import BUILD, free_port, log_tail, metrics, wait_until

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

ZONE = """$ORIGIN example.com.
$TTL 300
@ 3600 IN SOA ns1 hostmaster 1 3600 900 604800 300
@ IN NS ns1
ns1 IN A 192.0.2.1
www IN A 192.0.2.10
out IN CNAME www.alpha.test.
"""


class System:
    def __init__(self, mini):
        self.dir = tempfile.mkdtemp(prefix="system-")
        self.port, self.admin, self.dnsr_port, self.kafka = (free_port() for _ in range(4))
        self.sock = os.path.join(self.dir, "run", "dnsr.sock")
        self.conf = os.path.join(self.dir, "supervisord.conf")
        d = self.dir
        with open(os.path.join(d, "example.zone"), "w") as f:
            f.write(ZONE)
        with open(os.path.join(d, "authd.ini"), "w") as f:
            f.write("[server]\nlisten = 127.0.0.1:%d\nworkers = 2\n[kafka]\nbrokers = "
                    "127.0.0.1:%d\nretry-interval = 200ms\n[admin]\nlisten = 127.0.0.1:%d\n"
                    "[resolver]\nsocket = %s\ntimeout = 5s\n"
                    % (self.port, self.kafka, self.admin, self.sock))
        with open(os.path.join(d, "dnsr.ini"), "w") as f:
            # The mini internet is unsigned, under a root of its own: no validation.
            f.write("[server]\nlisten = 127.0.0.1:%d\nsocket = %s\n[resolver]\n"
                    "root-hints = %s\nquery-port = %d\nquery-timeout = 250ms\n"
                    "[dnssec]\nvalidation = no\n"
                    % (self.dnsr_port, self.sock, mini.hints, mini.port))
        b = BUILD
        with open(self.conf, "w") as f:
            f.write("""[supervisord]
logfile = {d}/supervisord.log
pidfile = {d}/supervisord.pid
childlogdir = {d}
[unix_http_server]
file = {d}/supervisor.sock
[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
[supervisorctl]
serverurl = unix://{d}/supervisor.sock
[program:devbroker]
command = {b}/streamdns-devbroker --listen 127.0.0.1:{k} --partitions 3
stdout_logfile = {d}/devbroker.log
redirect_stderr = true
[program:dnsr]
command = {b}/streamdns-dnsr -c {d}/dnsr.ini
stdout_logfile = {d}/dnsr.log
redirect_stderr = true
[program:authd]
command = {b}/streamdns-authd -c {d}/authd.ini
stdout_logfile = {d}/authd.log
redirect_stderr = true
[program:import]
command = sh -c 'for i in $(seq 60); do {b}/streamdns-ctl -b 127.0.0.1:{k} --timeout 5 import {d}/example.zone && exit 0; sleep 1; done; exit 1'
autorestart = false
startsecs = 0
stdout_logfile = {d}/import.log
redirect_stderr = true
""".format(d=d, b=b, k=self.kafka))
        subprocess.run(["supervisord", "-c", self.conf], check=True)

    def ctl(self, *args):
        return subprocess.run(["supervisorctl", "-c", self.conf] + list(args),
                              capture_output=True, text=True)

    def pid(self, name):
        return int(self.ctl("pid", name).stdout.strip())

    def query(self, name, rdtype="A", timeout=3, **kw):
        q = dns.message.make_query(name, rdtype, **kw)
        return dns.query.udp(q, "127.0.0.1", port=self.port, timeout=timeout)

    def wait(self, name, pred, timeout=30, rdtype="A"):
        """Polls until pred(answer to name) holds; returns that answer."""
        last = []

        def check():
            r = self.query(name, rdtype, timeout=1)
            last[:] = [r]
            return r if pred(r) else None
        try:
            return wait_until(check, "an answer to %s %s that satisfies the condition"
                              % (name, rdtype), timeout, interval=0.1)
        except AssertionError as e:
            raise AssertionError("%s\n--- last answer:\n%s\n%s"
                                 % (e, last[0] if last else "none", self.logs())) from None

    def logs(self):
        out = ""
        for n in ("authd", "dnsr", "import", "devbroker"):
            p = os.path.join(self.dir, n + ".log")
            if os.path.exists(p):
                with open(p) as f:
                    out += "== last lines of %s.log\n%s\n" % (n, log_tail(f.read()))
        return out

    def stop(self):
        self.ctl("shutdown")
        try:
            wait_until(lambda: not os.path.exists(os.path.join(self.dir, "supervisord.pid")),
                       "supervisord to shut down (its pid file to go)", 30, interval=0.1,
                       log=self.logs)
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def system():
    mini = MiniInternet()
    s = None
    try:
        s = System(mini)
        s.wait("www.example.com.", lambda r: r.answer)
        yield s
    finally:
        if s is not None:
            s.stop()
        mini.stop()


def texts(r):
    return sorted(x.to_text() for rrset in r.answer for x in rrset)


def test_authoritative_and_recursive(system):
    r = system.query("www.example.com.")
    assert r.flags & dns.flags.AA and texts(r) == ["192.0.2.10"]
    r = system.wait("www.alpha.test.", lambda r: r.answer)
    assert texts(r) == ["192.0.2.1", "192.0.2.2"]
    assert r.flags & dns.flags.RA and not r.flags & dns.flags.AA
    r = system.query("WwW.AlPhA.TeSt.")
    assert r.question[0].name.to_text() == "WwW.AlPhA.TeSt."
    # RD=0 for a name outside our zones: REFUSED, nothing forwarded.
    q = dns.message.make_query("www.alpha.test.", "A")
    q.flags &= ~dns.flags.RD
    assert dns.query.udp(q, "127.0.0.1", port=system.port, timeout=2).rcode() == \
        dns.rcode.REFUSED


def test_cname_out_of_zone_completed(system):
    r = system.wait("out.example.com.", lambda r: len(r.answer) >= 2)
    assert [(x.name.to_text(), x.rdtype) for x in r.answer] == [
        ("out.example.com.", 5), ("www.alpha.test.", 1)]
    assert r.flags & dns.flags.RA


def test_dnsr_stopped_then_started(system):
    authd_pid = system.pid("authd")
    assert system.ctl("stop", "dnsr").returncode == 0
    r = system.query("txt.alpha.test.", "TXT", use_edns=0, timeout=10)
    assert r.rcode() == dns.rcode.SERVFAIL
    # Failed at once because the connection is gone (EDE 23, Network Error), not at the
    # 5 s forward timeout (EDE 22, No Reachable Authority): said by the answer, not by a
    # stopwatch that a busy machine would fool.
    ede = [o for o in r.options if o.otype == dns.edns.EDE]
    assert [o.code for o in ede] == [dns.edns.EDECode.NETWORK_ERROR], [o.to_text() for o in ede]
    for _ in range(5):                         # authoritative answers go on
        assert texts(system.query("www.example.com.")) == ["192.0.2.10"]
    assert system.ctl("start", "dnsr").returncode == 0
    system.wait("txt.alpha.test.", lambda r: r.rcode() == dns.rcode.NOERROR, timeout=15)
    assert system.pid("authd") == authd_pid    # recovered without restarting authd


def test_garbage_client_on_the_socket(system):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(system.sock)
    s.sendall(b"\x7f\xff\xff\xff" + os.urandom(64))
    # dnsr reads the frame, rejects its length and hangs up (perhaps after an error
    # frame): wait for the hang-up, not for a while.
    s.settimeout(30)
    try:
        while s.recv(4096):
            pass
    except ConnectionResetError:
        pass
    except socket.timeout:
        raise AssertionError("dnsr kept a garbage client's connection open for 30 s\n"
                             + system.logs()) from None
    s.close()
    r = system.wait("mx.alpha.test.", lambda r: r.answer)
    assert texts(r) == ["192.0.2.3"]


BURST_NAMES = [("www.alpha.test.", "A", ["192.0.2.1", "192.0.2.2"]),
               ("txt.alpha.test.", "TXT", ['"hello world"']),
               ("mx.alpha.test.", "A", ["192.0.2.3"])] + \
              [("x%d.many.alpha.test." % i, "A", ["192.0.2.100"]) for i in range(50)]


def pipelined(port, queries, conns):
    """Writes every query (wire bytes) over conns TCP connections before reading any
    answer (RFC 7766 pipelining), so that all are outstanding at once; returns the
    answers, parsed, in the order of queries. TCP loses nothing, so every query must
    come back however busy the machine: a missing one is authd's (or dnsr's) fault."""
    socks = []
    for c in range(conns):
        s = socket.create_connection(("127.0.0.1", port), timeout=120)
        socks.append(s)
        s.sendall(b"".join(len(w).to_bytes(2, "big") + w for w in queries[c::conns]))

    def read_exactly(s, n):
        buf = b""
        while len(buf) < n:
            chunk = s.recv(n - len(buf))
            if not chunk:
                raise AssertionError("authd closed the connection with answers missing")
            buf += chunk
        return buf
    answers = [None] * len(queries)
    try:
        for c, s in enumerate(socks):
            for i in range(c, len(queries), conns):
                n = int.from_bytes(read_exactly(s, 2), "big")
                answers[i] = read_exactly(s, n)
    except socket.timeout:
        got = sum(a is not None for a in answers)
        raise AssertionError("%d of %d pipelined queries unanswered after 120 s of silence"
                             % (len(queries) - got, len(queries))) from None
    finally:
        for s in socks:
            s.close()
    return answers


def metric(system, name):
    """One sample of authd's /metrics, 0 if absent."""
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % system.admin,
                                timeout=10) as r:
        return metrics(r.read().decode()).get(name, 0.0)


def test_ten_thousand_outstanding_forwarded_queries(system):
    """10,000 queries outstanding at once through authd to dnsr, every one answered.

    Over TCP, so that loss in the kernel (a full UDP socket buffer, which a busy machine
    gives at any rate) cannot be mistaken for authd's; the same burst over UDP, where the
    kernel's drops are set against authd's, is `make bench-forward-burst`."""
    for name, rdtype, _ in BURST_NAMES:          # resolved once: dnsr answers from cache
        system.wait(name, lambda r: r.answer, rdtype=rdtype)
    failures = metric(system, "streamdns_authd_forward_failures_total")
    qs, want = [], []
    for i in range(10000):
        name, rdtype, rdata = BURST_NAMES[i % len(BURST_NAMES)]
        q = dns.message.make_query(name, rdtype)
        q.id = i % 65536
        qs.append(q)
        want.append(sorted(rdata))
    answers = pipelined(system.port, [q.to_wire() for q in qs], conns=4)
    wrong = []
    for q, wire, rdata in zip(qs, answers, want):
        r = dns.message.from_wire(wire)
        if not q.is_response(r) or r.rcode() != dns.rcode.NOERROR or texts(r) != rdata \
                or not r.flags & dns.flags.RA:
            wrong.append("%s %s: %s %s" % (q.question[0].name, dns.rdatatype.to_text(
                q.question[0].rdtype), dns.rcode.to_text(r.rcode()), texts(r)))
    assert not wrong, "%d of 10000 answers wrong, e.g.\n%s\n%s" % (
        len(wrong), "\n".join(wrong[:10]), system.logs())
    assert metric(system, "streamdns_authd_forward_failures_total") == failures
