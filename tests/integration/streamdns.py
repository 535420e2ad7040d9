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


def log_tail(text, lines=30):
    """The last lines of a daemon's log, for a failure message."""
    tail = text.splitlines()[-lines:]
    return "\n".join(tail) if tail else "(empty)"


def wait_until(cond, what, timeout=10.0, log=None, proc=None, interval=0.05):
    """Polls cond() until it returns a true value, and returns that value.

    Any machine, however busy, gets there eventually; a fixed sleep only works on an idle
    one. On timeout, or when proc (a Popen) exits first, raises AssertionError naming what
    was waited for, for how long, the last value or exception cond() gave, and the tail of
    log() (a callable returning the daemon's log text). A DNS timeout or a refused
    connection inside cond() only means "not yet"."""
    t0 = time.monotonic()
    last = None
    while True:
        try:
            v = cond()
            if v:
                return v
            last = v
        except (dns.exception.DNSException, OSError) as e:
            last = "%s: %s" % (type(e).__name__, e)
        waited = time.monotonic() - t0
        exited = proc is not None and proc.poll() is not None
        if exited or waited >= timeout:
            why = ("the process exited with %s" % proc.returncode if exited else
                   "gave up after %.1f s" % waited)
            msg = "waited for %s: %s; last result: %s" % (what, why, last)
            if log is not None:
                try:
                    msg += "\n--- last lines of the log:\n" + log_tail(log())
                except OSError as e:
                    msg += "\n(log unreadable: %s)" % e
            raise AssertionError(msg)
        time.sleep(interval)


def udp_kernel_drops():
    """The kernel's count of UDP datagrams dropped for want of socket buffer space, in
    this network namespace (/proc/net/snmp, the Udp: line's RcvbufErrors + SndbufErrors;
    other processes' drops count too, which only errs towards blaming the kernel). Loss
    the kernel counts here is not the daemon's."""
    with open("/proc/net/snmp") as f:
        rows = [l.split() for l in f if l.startswith("Udp:")]
    head, vals = rows[0], rows[1]
    return sum(int(vals[head.index(k)]) for k in ("RcvbufErrors", "SndbufErrors")
               if k in head)


def metrics(body):
    """Prometheus text -> {'name{labels}': value}."""
    out = {}
    for line in body.splitlines():
        if line and not line.startswith("#"):
            k, _, v = line.rpartition(" ")
            out[k] = float(v)
    return out


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
        line = self._readline(15)
        if not line.startswith("ready "):
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("waited for devbroker on %s to print 'ready': got %r "
                                 "(exit status %s)\n--- last lines of the log:\n%s"
                                 % (self.address, line, self.proc.returncode,
                                    log_tail(self.read_log())))

    def _readline(self, timeout):
        """The first line on stdout, or "" when none comes within timeout seconds."""
        import select
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        return self.proc.stdout.readline() if ready else ""

    def read_log(self):
        with open(self.log.name) as f:
            return f.read()

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
    """streamdns-authd with a generated INI file; build, when given, is the directory of
    another build's binaries (bench/qps.py --baseline-build), else BUILD.

    serial: the [zones] serial policy. Tests compare answers with zone files and reference
    servers that serve the SOA event's own serial, so the default here is "as-is";
    test_serials.py and test_xfr.py run the product's default (None: no key, "topic")."""

    def __init__(self, broker_address, topic="streamdns.zones", extra="", workers=2,
                 sections="", start=True, build=None, serial="as-is"):
        self.build = build or BUILD
        if serial is not None and build is None:   # another build may not know the key
            sections += "\n[zones]\nserial = %s\n" % serial
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
        self.proc = subprocess.Popen([os.path.join(self.build, "streamdns-authd"), "-c",
                                      self.conf], stderr=self.logf)

    def start(self, timeout=20):
        self.start_nowait()
        wait_until(lambda: self.query("ready.check.", "A", timeout=0.5),
                   "authd on port %d to answer a query" % self.port, timeout,
                   log=self.read_log, proc=self.proc)

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

    def wait_ready(self, timeout=20):
        """Until authd has caught up with the topic (no more SERVFAIL for not ready)."""
        def ready():
            r = self.query("ready.check.", "A", timeout=0.5)
            return r if r.rcode() != dns.rcode.SERVFAIL else None
        wait_until(ready, "authd on port %d to be ready (an answer other than SERVFAIL)"
                   % self.port, timeout, log=self.read_log, proc=self.proc)

    def wait_for(self, name, rdtype, pred, timeout=15.0, tcp=False):
        """Polls until pred(response) holds; returns the response. A query that times
        out is retried until the deadline; the failure shows the last answer."""
        last = []

        def check():
            r = self.query(name, rdtype, tcp=tcp, timeout=1.0)
            last[:] = [r]
            return r if pred(r) else None
        try:
            return wait_until(check, "an answer to %s %s%s that satisfies the condition"
                              % (name, rdtype, " over TCP" if tcp else ""), timeout,
                              log=self.read_log, proc=self.proc, interval=0.02)
        except AssertionError as e:
            raise AssertionError("%s\n--- last answer:\n%s"
                                 % (e, last[0] if last else "none")) from None

    def metrics(self):
        """The admin endpoint's /metrics as {'name{labels}': value}."""
        status, body = self.http("/metrics")
        assert status == 200, "GET /metrics: %d %s" % (status, body)
        return metrics(body)

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
