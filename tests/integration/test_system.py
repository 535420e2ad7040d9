"""The whole system under supervisord (Debian's): devbroker, dnsr, authd and a one-shot
import, with the mini internet of the dnsr tests as "the internet"."""
import os
import shutil
import socket
import subprocess
import tempfile
import time

import dns.edns
import dns.flags
import dns.message
import dns.query
import dns.rcode
import pytest

from mini_internet import MiniInternet
from streamdns import BUILD, free_port

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
                    "[resolver]\nsocket = %s\ntimeout = 1s\n"
                    % (self.port, self.kafka, self.admin, self.sock))
        with open(os.path.join(d, "dnsr.ini"), "w") as f:
            f.write("[server]\nlisten = 127.0.0.1:%d\nsocket = %s\n[resolver]\n"
                    "root-hints = %s\nquery-port = %d\nquery-timeout = 250ms\n"
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

    def wait(self, name, pred, timeout=30):
        deadline, r = time.time() + timeout, None
        while time.time() < deadline:
            try:
                r = self.query(name, timeout=1)
                if pred(r):
                    return r
            except Exception:
                pass
            time.sleep(0.1)
        raise AssertionError("%s: last answer %s\n%s" % (name, r, self.logs()))

    def logs(self):
        out = ""
        for n in ("authd", "dnsr", "import", "devbroker"):
            p = os.path.join(self.dir, n + ".log")
            if os.path.exists(p):
                out += "== %s\n%s\n" % (n, open(p).read()[-2000:])
        return out

    def stop(self):
        self.ctl("shutdown")
        deadline = time.time() + 20
        while time.time() < deadline and os.path.exists(os.path.join(self.dir,
                                                                       "supervisord.pid")):
            time.sleep(0.1)
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
    t0 = time.time()
    r = system.query("txt.alpha.test.", "TXT", use_edns=0)
    assert time.time() - t0 < 1.5
    assert r.rcode() == dns.rcode.SERVFAIL
    assert [o for o in r.options if o.otype == dns.edns.EDE]
    for _ in range(5):                         # authoritative answers go on
        assert texts(system.query("www.example.com.")) == ["192.0.2.10"]
    assert system.ctl("start", "dnsr").returncode == 0
    system.wait("txt.alpha.test.", lambda r: r.rcode() == dns.rcode.NOERROR, timeout=15)
    assert system.pid("authd") == authd_pid    # recovered without restarting authd


def test_garbage_client_on_the_socket(system):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(system.sock)
    s.sendall(b"\x7f\xff\xff\xff" + os.urandom(64))
    time.sleep(0.3)
    s.close()
    r = system.wait("mx.alpha.test.", lambda r: r.answer)
    assert texts(r) == ["192.0.2.3"]


def test_ten_thousand_outstanding_forwarded_queries(system):
    system.wait("www.alpha.test.", lambda r: r.answer)
    qfile = os.path.join(system.dir, "q")
    with open(qfile, "w") as f:
        for i in range(10000):
            f.write("%s A\n" % ["www.alpha.test.", "txt.alpha.test.", "mx.alpha.test.",
                                "x%d.many.alpha.test." % (i % 50)][i % 4])
    p = subprocess.run(["dnsperf", "-s", "127.0.0.1", "-p", str(system.port), "-d", qfile,
                        "-n", "1", "-q", "10000", "-t", "10"], capture_output=True, text=True)
    lost = [l for l in p.stdout.splitlines() if "Queries lost" in l]
    completed = [l for l in p.stdout.splitlines() if "Queries completed" in l]
    assert lost and int(lost[0].split()[2]) == 0, p.stdout
    assert int(completed[0].split()[2]) == 10000, p.stdout
    assert "SERVFAIL" not in p.stdout, p.stdout
