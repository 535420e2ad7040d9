"""streamdns.py: start the real daemons and a real broker for the integration tests."""
import json
import os
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode

BUILD = os.environ.get("STREAMDNS_BUILD",
                       os.path.join(os.path.dirname(__file__), "..", "..", "build"))


_HANDED_OUT = set()


def free_port():
    """A port free for both UDP and TCP on 127.0.0.1, never handed out twice by this
    process (a stopped daemon's port must not go to another one before it restarts)."""
    for _ in range(200):
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            if port in _HANDED_OUT:
                continue
            u.bind(("127.0.0.1", port))
            _HANDED_OUT.add(port)
            return port
        except OSError:
            continue
        finally:
            u.close()
            t.close()
    raise RuntimeError("no free port")


class Broker:
    """streamdns-devbroker on a free port."""

    def __init__(self, topic="streamdns.zones", partitions=3):
        self.topic = topic
        self.port = free_port()
        self.address = "127.0.0.1:%d" % self.port
        self.log = tempfile.NamedTemporaryFile(prefix="devbroker-", suffix=".log",
                                               delete=False)
        self.proc = subprocess.Popen(
            [os.path.join(BUILD, "streamdns-devbroker"), "--listen", self.address,
             "--topic", topic, "--partitions", str(partitions)],
            stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("ready "):
            raise RuntimeError("devbroker did not start: %r" % line)

    def produce(self, events, topic=None):
        """events: list of (key, value) where value is a JSON-able list, a raw string, or
        None for a tombstone. Produced with kcat, a real Kafka client, in one batch."""
        lines = []
        for key, value in events:
            if value is None:
                v = ""
            elif isinstance(value, str):
                v = value
            else:
                v = json.dumps(value)
            assert "\t" not in key and "\n" not in v
            lines.append("%s\t%s" % (key, v))
        # -Z turns the empty values into NULL (tombstones).
        subprocess.run(["kcat", "-P", "-b", self.address, "-t", topic or self.topic,
                        "-K", "\t", "-Z", "-X", "message.timeout.ms=10000"],
                       input="\n".join(lines) + "\n", text=True, check=True,
                       timeout=30)

    def stop(self):
        self.proc.terminate()
        try:
            rc = self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("devbroker did not stop on SIGTERM")
        # A clean stop exits 0; under the sanitizers a report makes it non-zero.
        assert rc == 0, "devbroker exited with %d" % rc


class Authd:
    """streamdns-authd with a generated INI file."""

    def __init__(self, broker_address, topic="streamdns.zones", extra="", workers=2,
                 sections="", start=True):
        self.port = free_port()
        self.admin_port = free_port()
        self.dir = tempfile.mkdtemp(prefix="authd-")
        self.conf = os.path.join(self.dir, "authd.ini")
        self.logpath = os.path.join(self.dir, "authd.log")
        with open(self.conf, "w") as f:
            f.write("[server]\nlisten = 127.0.0.1:%d\nworkers = %d\n"
                    "tcp-idle-timeout = 2s\n%s\n[kafka]\nbrokers = %s\ntopic = %s\n"
                    "retry-interval = 200ms\n[log]\nlevel = info\n"
                    "[admin]\nlisten = 127.0.0.1:%d\n%s\n"
                    % (self.port, workers, extra, broker_address, topic, self.admin_port,
                       sections))
        self.proc = None
        if start:
            self.start()

    def start_nowait(self):
        assert self.proc is None, "already running"
        self.logf = open(self.logpath, "a")
        self.proc = subprocess.Popen([os.path.join(BUILD, "streamdns-authd"), "-c",
                                      self.conf], stderr=self.logf)

    def start(self):
        self.start_nowait()
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("authd exited: %s" % self.read_log())
            try:
                self.query("ready.check.", "A", timeout=0.5)
                return
            except Exception:
                time.sleep(0.05)
        raise RuntimeError("authd did not answer: %s" % self.read_log())

    def http(self, path, token=None, timeout=5.0):
        """GET on the admin endpoint; returns (status, body text)."""
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.admin_port, path))
        if token is not None:
            req.add_header("Authorization", "Bearer " + token)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def read_log(self):
        with open(self.logpath) as f:
            return f.read()

    def query(self, name, rdtype="A", tcp=False, timeout=2.0, **kw):
        q = dns.message.make_query(name, rdtype, **kw)
        if tcp:
            return dns.query.tcp(q, "127.0.0.1", port=self.port, timeout=timeout)
        return dns.query.udp(q, "127.0.0.1", port=self.port, timeout=timeout)

    def wait_ready(self, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                r = self.query("ready.check.", "A", timeout=0.5)
                if r.rcode() != dns.rcode.SERVFAIL:
                    return
            except dns.exception.Timeout:
                pass
            time.sleep(0.05)
        raise RuntimeError("authd not ready: %s" % self.read_log())

    def wait_for(self, name, rdtype, pred, timeout=5.0, tcp=False):
        """Polls until pred(response) holds; returns the response."""
        deadline = time.time() + timeout
        r = None
        while time.time() < deadline:
            r = self.query(name, rdtype, tcp=tcp)
            if pred(r):
                return r
            time.sleep(0.02)
        raise AssertionError("condition not met for %s %s; last answer:\n%s"
                             % (name, rdtype, r))

    def stop(self, sig=None):
        if self.proc is None:
            return
        rc = terminate(self.proc)
        self.logf.close()
        self.proc = None
        assert rc == 0, "authd exited with %s:\n%s" % (rc, self.read_log()[-4000:])


def terminate(proc, grace=20):
    """SIGTERM, then the exit status (a string when it had to be killed). A clean stop
    exits 0; under the sanitizers a report or a leak makes it non-zero."""
    proc.terminate()
    try:
        return proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return "killed: no exit within %d s of SIGTERM" % grace


def rr(name, rtype, content, ttl=300, **extra):
    d = {"name": name, "type": rtype, "content": content, "ttl": ttl}
    d.update(extra)
    return d


def rrset_events(records):
    """Groups (name, type, content[, ttl]) tuples into whole-RRset events."""
    sets = {}
    for r in records:
        name, rtype, content = r[0], r[1], r[2]
        ttl = r[3] if len(r) > 3 else 300
        sets.setdefault("%s|%s" % (name.lower(), rtype), []).append(
            rr(name, rtype, content, ttl))
    return list(sets.items())
