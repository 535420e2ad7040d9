"""Real secondaries of authd: Knot DNS and NSD, with TSIG, kept current by NOTIFY.

The zone's SOA refresh is an hour, so only authd's NOTIFY can explain a secondary picking a
change up within the test. What each secondary ends with is compared with authd's own
transfer of the zone (itself compared with the topic in test_xfr.py).
"""
import os
import shutil
import subprocess
import tempfile
import time

import dns.message
import dns.opcode
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsigkeyring
import pytest

from streamdns import BUILD, Authd, Broker, free_port, rr, wait_until

CTL = os.path.join(BUILD, "streamdns-ctl")
ZONE = "sec.test."
SECRET = "2v0yTDE8Gg3Oq2b4z1J6ewK8cB2H7fYzmQwq0aOZ5Gs="
RING = dns.tsigkeyring.from_text({"xfr-key.": SECRET})


def zone_events():
    ev = [("%s|SOA" % ZONE, [rr(ZONE, "SOA", "ns1.%s h.%s 1 3600 600 86400 60"
                                 % (ZONE, ZONE), 3600)]),
          ("%s|NS" % ZONE, [rr(ZONE, "NS", "ns1." + ZONE)]),
          ("ns1.%s|A" % ZONE, [rr("ns1." + ZONE, "A", "192.0.2.1")])]
    for i in range(200):
        name = "h%d.%s" % (i, ZONE)
        ev.append(("%s|A" % name, [rr(name, "A", "10.0.%d.%d" % (i >> 8, i & 255))]))
    return ev


class Knot:
    def __init__(self, port, primary_port):
        self.port = port
        self.dir = tempfile.mkdtemp(prefix="knot-secondary-")
        self.conf = os.path.join(self.dir, "knot.conf")
        with open(self.conf, "w") as f:
            f.write("server:\n    listen: 127.0.0.1@%d\n    rundir: %s\n"
                    "    udp-workers: 1\n    tcp-workers: 1\n    background-workers: 1\n"
                    "database:\n    storage: %s\n"
                    "log:\n  - target: stderr\n    any: info\n"
                    "key:\n  - id: xfr-key.\n    algorithm: hmac-sha256\n    secret: %s\n"
                    "remote:\n  - id: authd\n    address: 127.0.0.1@%d\n    key: xfr-key.\n"
                    "acl:\n  - id: from-authd\n    address: 127.0.0.1\n    key: xfr-key.\n"
                    "    action: notify\n"
                    "  - id: out\n    address: 127.0.0.1\n    action: transfer\n"
                    "template:\n  - id: default\n    storage: %s\n    zonefile-sync: -1\n"
                    "    zonefile-load: none\n    journal-content: changes\n"
                    "zone:\n  - domain: %s\n    master: authd\n    acl: [from-authd, out]\n"
                    % (port, self.dir, os.path.join(self.dir, "db"), SECRET, primary_port,
                       self.dir, ZONE))
        self.logpath = os.path.join(self.dir, "knotd.log")
        self.logf = open(self.logpath, "w")
        self.proc = subprocess.Popen(["/usr/sbin/knotd", "-c", self.conf], stdout=self.logf,
                                     stderr=subprocess.STDOUT)

    def read_log(self):
        with open(self.logpath) as f:
            return f.read()

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.logf.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class Nsd:
    def __init__(self, port, primary_port):
        self.port = port
        self.dir = tempfile.mkdtemp(prefix="nsd-secondary-")
        self.conf = os.path.join(self.dir, "nsd.conf")
        with open(self.conf, "w") as f:
            f.write('server:\n    ip-address: 127.0.0.1@%d\n    server-count: 1\n'
                    '    username: ""\n    chroot: ""\n    zonesdir: "%s"\n'
                    '    database: ""\n    pidfile: "%s/nsd.pid"\n'
                    '    xfrdfile: "%s/xfrd.state"\n    zonelistfile: "%s/zone.list"\n'
                    '    xfrdir: "%s"\n    logfile: "%s/nsd.log"\n    verbosity: 2\n'
                    'remote-control:\n    control-enable: no\n'
                    'key:\n    name: "xfr-key."\n    algorithm: hmac-sha256\n'
                    '    secret: "%s"\n'
                    'zone:\n    name: "%s"\n    zonefile: "sec.test.zone"\n'
                    '    allow-notify: 127.0.0.1 xfr-key.\n'
                    '    request-xfr: 127.0.0.1@%d xfr-key.\n'
                    '    provide-xfr: 127.0.0.1 NOKEY\n'
                    % (port, self.dir, self.dir, self.dir, self.dir, self.dir, self.dir,
                       SECRET, ZONE, primary_port))
        self.proc = subprocess.Popen(["/usr/sbin/nsd", "-d", "-c", self.conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)

    def read_log(self):
        try:
            with open(os.path.join(self.dir, "nsd.log")) as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def soa_serial(port, timeout=0.5):
    try:
        r = dns.query.udp(dns.message.make_query(ZONE, "SOA"), "127.0.0.1", port=port,
                          timeout=timeout)
    except Exception:
        return None
    return r.answer[0][0].serial if r.rcode() == dns.rcode.NOERROR and r.answer else None


def zone_content(port, keyring=None):
    """{(owner, type, rdata)} of an AXFR from port, SOA included once."""
    out = set()
    for m in dns.query.xfr("127.0.0.1", ZONE, port=port, keyring=keyring,
                           keyname="xfr-key." if keyring else None, lifetime=60,
                           relativize=False):
        for rrset in m.answer:
            for rd in rrset:
                out.add((rrset.name.to_text().lower(), dns.rdatatype.to_text(rrset.rdtype),
                         rd.to_text().lower()))
    return out


@pytest.fixture(scope="module")
def env():
    broker = Broker(partitions=3)
    broker.produce(zone_events())
    knot_port, nsd_port = free_port(), free_port()
    a = Authd(broker.address, serial=None,
              sections="[tsig]\nxfr-key = hmac-sha256:%s\n"
                       "[xfr]\nallow-transfer = key:xfr-key\n"
                       "notify = 127.0.0.1:%d, 127.0.0.1:%d\nnotify-key = xfr-key\n"
                       % (SECRET, knot_port, nsd_port))
    a.wait_ready()
    a.wait_for("h199." + ZONE, "A", lambda r: r.answer)
    knot, nsd = Knot(knot_port, a.port), Nsd(nsd_port, a.port)
    yield broker, a, knot, nsd
    knot.stop()
    nsd.stop()
    a.stop()
    broker.stop()


def wait_serial(sec, want, what):
    t0 = time.monotonic()
    wait_until(lambda: soa_serial(sec.port) == want,
               "%s to serve %s serial %d" % (what, ZONE, want), 60, log=sec.read_log,
               proc=sec.proc)
    return time.monotonic() - t0


def ctl(broker, *args):
    p = subprocess.run([CTL, "-b", broker.address, "-t", broker.topic] + list(args),
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr


def test_initial_transfer(env):
    _, a, knot, nsd = env
    serial = soa_serial(a.port)
    wait_serial(knot, serial, "knotd")
    wait_serial(nsd, serial, "nsd")
    want = zone_content(a.port, RING)
    assert len(want) == 203       # SOA, NS, ns1 and 200 names
    assert zone_content(knot.port) == want
    assert zone_content(nsd.port) == want


def test_changes_reach_both_through_notify(env):
    broker, a, knot, nsd = env
    for change in (("set", "new." + ZONE, "A", "300", "203.0.113.7"),
                   ("delete", "h7." + ZONE, "A"),
                   ("set", "h8." + ZONE, "A", "300", "203.0.113.8", "203.0.113.9")):
        before = soa_serial(a.port)
        ctl(broker, *change)
        wait_until(lambda: soa_serial(a.port) != before, "authd's serial to change", 30,
                   log=a.read_log, proc=a.proc)
        serial = soa_serial(a.port)
        took = [wait_serial(knot, serial, "knotd"), wait_serial(nsd, serial, "nsd")]
        print("%s: knotd %.2f s, nsd %.2f s after authd served it" % (change[0], *took))
        want = zone_content(a.port, RING)
        assert zone_content(knot.port) == want
        assert zone_content(nsd.port) == want
    log = a.read_log()
    assert "acknowledged" in log
    # Knot and NSD, holding the zone, ask IXFR; authd answers from its journal.
    assert "xfr: IXFR %s" % ZONE in log, log[-3000:]
    m = a.metrics()
    assert m['streamdns_authd_notify_total{result="acked"}'] >= 6


def test_incoming_notify_is_not_implemented(env):
    _, a, _, _ = env
    q = dns.message.make_query(ZONE, "SOA")
    q.set_opcode(dns.opcode.NOTIFY)
    r = dns.query.udp(q, "127.0.0.1", port=a.port, timeout=5)
    assert r.rcode() == dns.rcode.NOTIMP
