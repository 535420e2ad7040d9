"""mini_internet.py: a small internet on loopback for the resolver tests.

Root, TLD and leaf zones are served by NSD (one instance per server address, 127.0.0.2 to
127.0.0.12, so that every referral is a real one), all on one free port, which is what the
resolver must use as its query port. Three scripted servers complete the picture: a black
hole that never answers (127.0.0.13), a poisoner that answers with data outside its bailiwick
(127.0.0.14), and a server that serves its zone without ever setting AA (127.0.0.15). A root
hints file in the IANA named.root format points at the root server.

Nothing here is ever sent to an address outside 127.0.0.0/8. Two delegations carry glue that
can be no server's address (0.0.0.1, 224.0.0.1, 127.255.255.255, ...): the resolver must
not send anything there, and the tests check that it does not.
"""
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import threading

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset

from streamdns import terminate, wait_until

NSD = "/usr/sbin/nsd"
NSD_CONTROL = "/usr/sbin/nsd-control"

ROOT, TLD1, TLD2, EXAMPLE = "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"
GOOD, GOOD2, LAME, DEAD, EVIL = "127.0.0.10", "127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14"
NOAA = "127.0.0.15"
# Glue no resolver should ever send to ("this network", multicast, 127/8's broadcast).
BAD_GLUE = ["0.0.0.1", "224.0.0.1", "127.255.255.255"]

LAME_ZONES = ["lame%02d.test." % i for i in range(1, 17)]
DEAD_ZONES = ["dead%02d.test." % i for i in range(1, 17)]
BIG_TXT = ['"%02d-%s"' % (i, "y" * 76) for i in range(30)]   # ~2.5 KB: TC=1 over UDP


def soa(zone, mname, minimum=300, ttl=3600):
    rname = "hostmaster." + (zone if zone != "." else "root.")
    return (zone, ttl, "SOA", "%s %s 1 3600 900 604800 %d" % (mname, rname, minimum))


def zone_root():
    return [
        soa(".", "a.root.", 86400, 86400),
        (".", 86400, "NS", "a.root."),
        ("a.root.", 86400, "A", ROOT),
        ("test.", 86400, "NS", "ns1.nic.test."),
        ("test.", 86400, "NS", "ns2.nic.test."),
        ("ns1.nic.test.", 86400, "A", TLD1),
        ("ns2.nic.test.", 86400, "A", TLD2),
        ("example.", 86400, "NS", "ns.nic.example."),
        ("ns.nic.example.", 86400, "A", EXAMPLE),
    ]


def zone_test():
    rr = [
        soa("test.", "ns1.nic.test."),
        ("test.", 3600, "NS", "ns1.nic.test."),
        ("test.", 3600, "NS", "ns2.nic.test."),
        ("ns1.nic.test.", 3600, "A", TLD1),
        ("ns2.nic.test.", 3600, "A", TLD2),
        ("ns-good.nic.test.", 3600, "A", GOOD),
        ("ns-lame.nic.test.", 3600, "A", LAME),
        ("ns-dead.nic.test.", 3600, "A", DEAD),
        # glue inside the delegated zone
        ("alpha.test.", 3600, "NS", "ns1.alpha.test."),
        ("alpha.test.", 3600, "NS", "ns2.alpha.test."),
        ("ns1.alpha.test.", 3600, "A", GOOD),
        ("ns2.alpha.test.", 3600, "A", GOOD2),
        # no glue: the NS name lives in another TLD
        ("beta.test.", 3600, "NS", "ns.beta-dns.example."),
        ("gamma.test.", 3600, "NS", "ns.gamma.test."),
        ("ns.gamma.test.", 3600, "A", LAME),
        ("victim.test.", 3600, "NS", "ns.victim.test."),
        ("ns.victim.test.", 3600, "A", GOOD2),
        ("evil.test.", 3600, "NS", "ns.evil.test."),
        ("ns.evil.test.", 3600, "A", EVIL),
        ("broken.test.", 3600, "NS", "ns-dead.nic.test."),
        # served without AA (the scripted not_authoritative())
        ("noaa.test.", 3600, "NS", "ns.noaa.test."),
        ("ns.noaa.test.", 3600, "A", NOAA),
        # glue that is no server's address, beside one good server; then only bad glue
        ("badglue.test.", 3600, "NS", "ns4.badglue.test."),
        ("ns4.badglue.test.", 3600, "A", GOOD2),
    ]
    for i, a in enumerate(BAD_GLUE):
        rr += [("badglue.test.", 3600, "NS", "ns%d.badglue.test." % (i + 1)),
               ("ns%d.badglue.test." % (i + 1), 3600, "A", a),
               ("onlybad.test.", 3600, "NS", "ns%d.onlybad.test." % (i + 1)),
               ("ns%d.onlybad.test." % (i + 1), 3600, "A", a)]
    for z in LAME_ZONES:
        rr += [(z, 3600, "NS", "ns-lame.nic.test."), (z, 3600, "NS", "ns-good.nic.test.")]
    for z in DEAD_ZONES:
        rr += [(z, 3600, "NS", "ns-dead.nic.test."), (z, 3600, "NS", "ns-good.nic.test.")]
    return rr


def zone_alpha():
    z = "alpha.test."
    rr = [
        soa(z, "ns1.alpha.test.", 60),
        (z, 3600, "NS", "ns1.alpha.test."),
        (z, 3600, "NS", "ns2.alpha.test."),
        ("ns1.alpha.test.", 3600, "A", GOOD),
        ("ns2.alpha.test.", 3600, "A", GOOD2),
        (z, 300, "MX", "10 mx.alpha.test."),
        ("mx.alpha.test.", 300, "A", "192.0.2.3"),
        ("www.alpha.test.", 300, "A", "192.0.2.1"),
        ("www.alpha.test.", 300, "A", "192.0.2.2"),
        ("txt.alpha.test.", 300, "TXT", '"hello world"'),
        ("ttl2.alpha.test.", 2, "A", "192.0.2.4"),
        ("ttl8.alpha.test.", 8, "A", "192.0.2.8"),
        ("cname-ext.alpha.test.", 300, "CNAME", "www.beta.test."),
        ("chain1.alpha.test.", 300, "CNAME", "chain2.alpha.test."),
        ("chain2.alpha.test.", 300, "CNAME", "www.victim.test."),
        ("cname-nx.alpha.test.", 300, "CNAME", "nothere.beta.test."),
        ("cname-in.alpha.test.", 300, "CNAME", "www.alpha.test."),
        ("loop.alpha.test.", 300, "CNAME", "loop.beta.test."),
        ("dn.alpha.test.", 300, "DNAME", "beta.test."),
        ("*.many.alpha.test.", 300, "A", "192.0.2.100"),
    ]
    rr += [("big.alpha.test.", 300, "TXT", t) for t in BIG_TXT]
    return rr


def zone_beta():
    z = "beta.test."
    return [
        soa(z, "ns.beta-dns.example."),
        (z, 3600, "NS", "ns.beta-dns.example."),
        ("www.beta.test.", 300, "A", "192.0.2.20"),
        ("x.beta.test.", 300, "A", "192.0.2.21"),
        ("loop.beta.test.", 300, "CNAME", "loop.alpha.test."),
    ]


def zone_example():
    z = "example."
    return [
        soa(z, "ns.nic.example."),
        (z, 3600, "NS", "ns.nic.example."),
        ("ns.nic.example.", 3600, "A", EXAMPLE),
        ("ns.beta-dns.example.", 3600, "A", GOOD2),
        ("www.example.", 300, "A", "192.0.2.50"),
    ]


def zone_simple(z, ns, ip, hosts=()):
    """A leaf zone: SOA, NS, www and www2, and the addresses of in-zone NS names."""
    return ([soa(z, ns[0])] + [(z, 3600, "NS", n) for n in ns] +
            [("www." + z, 300, "A", ip), ("www2." + z, 300, "A", ip)] +
            [(h, 3600, "A", a) for h, a in hosts])


ZONES = {
    ".": zone_root(),
    "test.": zone_test(),
    "example.": zone_example(),
    "alpha.test.": zone_alpha(),
    "beta.test.": zone_beta(),
    "gamma.test.": zone_simple("gamma.test.", ["ns.gamma.test."], "192.0.2.30",
                               [("ns.gamma.test.", LAME)]),
    "victim.test.": zone_simple("victim.test.", ["ns.victim.test."], "192.0.2.40",
                                [("ns.victim.test.", GOOD2)]),
    "badglue.test.": zone_simple(
        "badglue.test.", ["ns%d.badglue.test." % i for i in range(1, 5)], "192.0.2.80",
        [("ns%d.badglue.test." % (i + 1), a) for i, a in enumerate(BAD_GLUE + [GOOD2])]),
}
for _z in LAME_ZONES:
    ZONES[_z] = zone_simple(_z, ["ns-lame.nic.test.", "ns-good.nic.test."], "192.0.2.60")
for _z in DEAD_ZONES:
    ZONES[_z] = zone_simple(_z, ["ns-dead.nic.test.", "ns-good.nic.test."], "192.0.2.70")

# Which NSD instance serves which zones.
SERVERS = {
    ROOT: ["."],
    TLD1: ["test."],
    TLD2: ["test."],
    EXAMPLE: ["example."],
    GOOD: ["alpha.test."] + LAME_ZONES + DEAD_ZONES,
    GOOD2: ["alpha.test.", "beta.test.", "victim.test.", "badglue.test."],
    LAME: ["gamma.test."],
}

# Every zone cut and its servers, as a stub-zone list for Unbound (see test_dnsr_differential).
DELEGATIONS = {
    ".": [ROOT], "test.": [TLD1, TLD2], "example.": [EXAMPLE],
    "alpha.test.": [GOOD, GOOD2], "beta.test.": ["host:ns.beta-dns.example."],
    "gamma.test.": [LAME], "victim.test.": [GOOD2], "evil.test.": [EVIL],
    "noaa.test.": [NOAA], "badglue.test.": [GOOD2],
}
for _z in LAME_ZONES:
    DELEGATIONS[_z] = [LAME, GOOD]


def zone_text(records):
    return "".join("%s %d IN %s %s\n" % r for r in records)


def addresses():
    return sorted(set(SERVERS) | {DEAD, EVIL, NOAA})


def free_port_all(addrs):
    """A port free for UDP and TCP on every one of addrs."""
    for _ in range(200):
        port = random.randint(20000, 59999)
        socks = []
        try:
            for a in addrs:
                for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                    s = socket.socket(socket.AF_INET, kind)
                    socks.append(s)
                    s.bind((a, port))
            return port
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no port free on all of %s" % addrs)


class Nsd:
    """One NSD instance on addr:port serving zones, with a control socket for its counters."""

    def __init__(self, workdir, addr, port, zones, zonefiles=None):
        """zonefiles: {zone: path of its zone file}, for zones not in ZONES."""
        self.addr = addr
        self.dir = os.path.join(workdir, "nsd-" + addr)
        os.makedirs(self.dir)
        zlines = []
        for z in zones:
            fname = (z.rstrip(".") or "root") + ".zone"
            if zonefiles and z in zonefiles:
                shutil.copyfile(zonefiles[z], os.path.join(self.dir, fname))
            else:
                with open(os.path.join(self.dir, fname), "w") as f:
                    f.write(zone_text(ZONES[z]))
            zlines.append('zone:\n    name: "%s"\n    zonefile: "%s"\n' % (z, fname))
        self.conf = os.path.join(self.dir, "nsd.conf")
        with open(self.conf, "w") as f:
            f.write(
                "server:\n"
                "    ip-address: %s@%d\n"
                "    server-count: 1\n"
                "    username: \"\"\n"
                "    chroot: \"\"\n"
                "    zonesdir: \"%s\"\n"
                "    database: \"\"\n"
                "    pidfile: \"%s/nsd.pid\"\n"
                "    xfrdfile: \"%s/xfrd.state\"\n"
                "    zonelistfile: \"%s/zone.list\"\n"
                "    logfile: \"%s/nsd.log\"\n"
                "    verbosity: 0\n"
                "    hide-version: yes\n"
                "    round-robin: no\n"
                "    refuse-any: no\n"
                "remote-control:\n"
                "    control-enable: yes\n"
                "    control-interface: %s/nsd.ctl\n"
                "%s" % (addr, port, self.dir, self.dir, self.dir, self.dir, self.dir,
                        self.dir, "".join(zlines)))
        self.proc = subprocess.Popen([NSD, "-d", "-c", self.conf], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.STDOUT)
        self.zones = zones
        self.port = port

    def wait(self, timeout):
        pending = set(self.zones)

        def served():
            for z in sorted(pending):
                try:
                    r = dns.query.udp(dns.message.make_query(z, "SOA"), self.addr,
                                      port=self.port, timeout=0.2)
                    if r.rcode() == dns.rcode.NOERROR and r.answer:
                        pending.discard(z)
                except (dns.exception.DNSException, OSError):
                    pass
            return not pending
        wait_until(served, "nsd on %s:%d to serve %s" % (self.addr, self.port,
                                                         sorted(pending)),
                   timeout, log=self.read_log, proc=self.proc)

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


class Scripted(threading.Thread):
    """A UDP server answering with handler(query) (None: stay silent); logs every query."""

    def __init__(self, addr, port, handler):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((addr, port))
        self.sock.settimeout(0.2)
        self.handler = handler
        self.queries = []   # (qname lower-case text, type text)
        self.sources = []   # (source port, DNS id) of each query
        self.lock = threading.Lock()
        self.stopping = False
        self.start()

    def run(self):
        while not self.stopping:
            try:
                data, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                q = dns.message.from_wire(data)
            except Exception:
                continue
            with self.lock:
                self.queries.append((q.question[0].name.to_text().lower(),
                                     dns.rdatatype.to_text(q.question[0].rdtype)))
                self.sources.append((peer[1], q.id))
            r = self.handler(q)
            if r is not None:
                self.sock.sendto(r.to_wire(), peer)

    def seen(self):
        with self.lock:
            return list(self.queries)

    def stop(self):
        self.stopping = True
        self.join(2)
        self.sock.close()


def poisoner(q):
    """ns.evil.test: authoritative for evil.test, and trying to speak for victim.test too."""
    name = q.question[0].name.to_text().lower()
    r = dns.message.make_response(q)
    r.flags |= dns.flags.AA
    poison_a = dns.rrset.from_text("www.victim.test.", 300, "IN", "A", "6.6.6.6")
    poison_glue = dns.rrset.from_text("ns.victim.test.", 300, "IN", "A", EVIL)
    poison_ns = dns.rrset.from_text("victim.test.", 300, "IN", "NS", "ns.victim.test.")
    if name == "www.evil.test.":
        # A CNAME out of the zone, with a forged answer for its target and forged NS/glue.
        r.answer.append(dns.rrset.from_text(name, 300, "IN", "CNAME", "www.victim.test."))
        r.answer.append(poison_a)
        r.authority.append(poison_ns)
        r.additional.append(poison_glue)
    elif name == "nosoa.evil.test.":
        # NODATA with an empty authority section: no SOA to take a negative TTL from.
        pass
    elif name.endswith("sub.evil.test."):
        # A referral whose only glue is for a name outside evil.test.
        r.flags &= ~dns.flags.AA
        r.authority.append(dns.rrset.from_text("sub.evil.test.", 300, "IN", "NS",
                                               "ns.victim.test."))
        r.additional.append(poison_glue)
    else:
        r.set_rcode(dns.rcode.NXDOMAIN)
        r.authority.append(dns.rrset.from_text(
            "evil.test.", 300, "IN", "SOA", "ns.evil.test. h.evil.test. 1 3600 900 604800 300"))
        r.additional.append(poison_a)
    return r


def not_authoritative(q):
    """ns.noaa.test: serves noaa.test, but AA is never set (as some real servers answer).
    rec.noaa.test. is answered with RA set as well: a recursive server's answer, lame."""
    name = q.question[0].name.to_text().lower()
    rdtype = q.question[0].rdtype
    r = dns.message.make_response(q)
    r.flags &= ~dns.flags.AA
    zone_ns = dns.rrset.from_text("noaa.test.", 3600, "IN", "NS", "ns.noaa.test.")
    zone_soa = dns.rrset.from_text("noaa.test.", 3600, "IN", "SOA",
                                   "ns.noaa.test. h.noaa.test. 1 3600 900 604800 60")
    data = {("www.noaa.test.", dns.rdatatype.A): ("A", "192.0.2.90"),
            ("rec.noaa.test.", dns.rdatatype.A): ("A", "192.0.2.91"),
            ("ns.noaa.test.", dns.rdatatype.A): ("A", NOAA),
            ("noaa.test.", dns.rdatatype.NS): ("NS", "ns.noaa.test."),
            ("noaa.test.", dns.rdatatype.SOA): None}
    if name == "rec.noaa.test.":
        r.flags |= dns.flags.RA
    if name == "alias.noaa.test.":
        r.answer.append(dns.rrset.from_text(name, 300, "IN", "CNAME", "www.noaa.test."))
        name = "www.noaa.test."
    if (name, rdtype) in data:
        d = data[(name, rdtype)]
        r.answer.append(zone_soa if d is None else
                        dns.rrset.from_text(name, 300, "IN", d[0], d[1]))
        r.authority.append(zone_ns)
    elif name in {n for n, _ in data}:
        r.authority.append(zone_soa)              # NODATA
    else:
        r.set_rcode(dns.rcode.NXDOMAIN)
        r.authority.append(zone_soa)
    return r


class MiniInternet:
    """The servers above, started together; stop() ends them all."""

    def __init__(self):
        if not os.path.exists(NSD):
            raise RuntimeError("nsd is not installed")
        self.dir = tempfile.mkdtemp(prefix="mini-internet-")
        self.port = free_port_all(addresses())
        self.nsd = {}
        self.blackhole = self.evil = self.noaa = None
        try:
            for addr, zones in SERVERS.items():
                self.nsd[addr] = Nsd(self.dir, addr, self.port, zones)
            self.blackhole = Scripted(DEAD, self.port, lambda q: None)
            self.evil = Scripted(EVIL, self.port, poisoner)
            self.noaa = Scripted(NOAA, self.port, not_authoritative)
            timeout = 30
            for n in self.nsd.values():
                n.wait(timeout)
        except BaseException:
            self.stop()
            raise
        self.hints = os.path.join(self.dir, "root.hints")
        with open(self.hints, "w") as f:
            f.write(";       mini internet root hints (named.root format)\n"
                    ".                        3600000      NS    A.ROOT.\n"
                    "A.ROOT.                  3600000      A     %s\n" % ROOT)

    def queries(self):
        """Queries received so far by every server (NSD counters plus the scripted ones)."""
        return sum(self.nsd_stats().values()) + len(self.blackhole.seen()) + \
            len(self.evil.seen()) + len(self.noaa.seen())

    def nsd_stats(self, key="queries"):
        procs = {a: subprocess.Popen([NSD_CONTROL, "-c", n.conf, "stats_noreset"],
                                     stdout=subprocess.PIPE, text=True)
                 for a, n in self.nsd.items()}
        out = {}
        for a, p in procs.items():
            text = p.communicate(timeout=10)[0]
            vals = dict(l.split("=", 1) for l in text.splitlines() if "=" in l)
            if key == "queries":
                out[a] = int(vals.get("num.queries", 0))
            else:
                out[a] = int(vals.get("num.tcp", 0))
        return out

    def stop(self):
        for n in self.nsd.values():
            n.stop()
        for s in (self.blackhole, self.evil, self.noaa):
            if s is not None:
                s.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class Dnsr:
    """streamdns-dnsr with a generated INI file, started against a mini internet.

    dnssec is the body of the [dnssec] section. The mini internet is unsigned and its root
    is not the real one, so validation is off unless a test asks for it."""

    def __init__(self, build, mini=None, resolver="", server="", cache="", workers=2,
                 log="debug", admin="", metrics="", sections="", env=None,
                 dnssec="validation = no\n"):
        """sections: more INI text (whole sections) for the end; env: extra environment
        variables for the process (e.g. an LD_PRELOAD)."""
        from streamdns import free_port
        self.port = free_port()
        # Every instance has its admin endpoint on a port of its own (see http()).
        self.admin_port = free_port()
        self.dir = tempfile.mkdtemp(prefix="dnsr-")
        self.conf = os.path.join(self.dir, "dnsr.ini")
        self.logpath = os.path.join(self.dir, "dnsr.log")
        hints = "root-hints = %s\nquery-port = %d\n" % (mini.hints, mini.port) if mini else ""
        with open(self.conf, "w") as f:
            f.write("[server]\nlisten = 127.0.0.1:%d\nworkers = %d\ntcp-idle-timeout = 2s\n%s\n"
                    "[resolver]\n%squery-timeout = 250ms\nresolve-timeout = 4s\n%s\n"
                    "[cache]\n%s\n[log]\nlevel = %s\n[admin]\n%s%s\n[metrics]\n%s\n"
                    "[dnssec]\n%s\n%s"
                    % (self.port, workers, server, hints, resolver, cache, log,
                       "" if "listen" in admin else "listen = 127.0.0.1:%d\n" % self.admin_port,
                       admin, metrics, dnssec, sections))
        self.logf = open(self.logpath, "w")
        self.proc = subprocess.Popen([os.path.join(build, "streamdns-dnsr"), "-c", self.conf],
                                     stderr=self.logf,
                                     env=dict(os.environ, **env) if env else None)
        try:
            # Class CH is refused at once: an answer means the listeners are up.
            wait_until(lambda: self.query(".", "A", rdclass="CH", timeout=0.2),
                       "dnsr on port %d to answer a query" % self.port, 20,
                       log=self.read_log, proc=self.proc, interval=0.02)
        except AssertionError:
            terminate(self.proc)
            self.logf.close()
            raise

    def query(self, name, rdtype="A", tcp=False, timeout=5.0, source=None, message=None,
              **kw):
        q = message or dns.message.make_query(name, rdtype, **kw)
        if tcp:
            return dns.query.tcp(q, "127.0.0.1", port=self.port, timeout=timeout,
                                 source=source)
        return dns.query.udp(q, "127.0.0.1", port=self.port, timeout=timeout, source=source)

    def read_log(self):
        with open(self.logpath) as f:
            return f.read()

    def http(self, path, token=None, timeout=5.0):
        """GET on the admin endpoint; returns (status, body text)."""
        from streamdns import Authd
        return Authd.http(self, path, token=token, timeout=timeout)

    def stats(self):
        """The counters dnsr logs on SIGUSR1, as a dict of ints."""
        before = self.read_log().count(" stats: ")
        self.proc.send_signal(signal.SIGUSR1)
        lines = wait_until(
            lambda: [l for l in self.read_log().splitlines() if " stats: " in l][before:],
            "dnsr to log a stats line after SIGUSR1", 15, log=self.read_log,
            proc=self.proc, interval=0.02)
        return {k: int(v) for k, v in
                (kv.split("=") for kv in lines[-1].split(" stats: ")[1].split())}

    def stop(self):
        if self.proc is None:
            return
        from streamdns import terminate
        rc = terminate(self.proc)
        self.logf.close()
        self.proc = None
        log = self.read_log()
        shutil.rmtree(self.dir, ignore_errors=True)
        assert rc == 0, "dnsr exited with %s:\n%s" % (rc, log[-4000:])


class Unbound:
    """Unbound, the reference resolver, on the same mini internet.

    Unbound has no setting for the port of the servers it learns from referrals (it is
    always 53), so each zone cut of the mini internet is given to it as a stub zone with
    addr@port (stub-host@port for the glueless one, which Unbound then resolves itself).
    The root stub is the root hints file's server: Unbound takes a root-hints file before a
    root stub ("second hints for zone . ignored"), and a hints file cannot carry a port.
    Everything else is Unbound's defaults, with RFC 6761's "test." local zone off.
    """

    def __init__(self, mini, threads=1, extra="", stubs=None, modules="iterator"):
        """stubs: {zone: [addr, ...]} served on port mini.port, or "host:NAME" entries;
        by default the mini internet's cuts. modules: Unbound's module-config."""
        from streamdns import free_port
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="unbound-")
        self.conf = os.path.join(self.dir, "unbound.conf")
        zones, stubs = stubs if stubs is not None else DELEGATIONS, []
        for zone, servers in zones.items():
            lines = ['stub-zone:\n    name: "%s"\n' % zone]
            for s in servers:
                if s.startswith("host:"):
                    lines.append('    stub-host: "%s@%d"\n' % (s[5:], mini.port))
                else:
                    lines.append('    stub-addr: %s@%d\n' % (s, mini.port))
            stubs.append("".join(lines))
        with open(self.conf, "w") as f:
            f.write(
                "server:\n"
                "    interface: 127.0.0.1@%d\n"
                "    port: %d\n"
                "    num-threads: %d\n"
                "    do-ip6: no\n"
                "    do-not-query-localhost: no\n"
                "    access-control: 127.0.0.0/8 allow\n"
                "    chroot: \"\"\n"
                "    username: \"\"\n"
                "    directory: \"%s\"\n"
                "    pidfile: \"%s/unbound.pid\"\n"
                "    use-syslog: no\n"
                "    logfile: \"%s/unbound.log\"\n"
                "    verbosity: 1\n"
                "    module-config: \"%s\"\n"
                "    local-zone: \"test.\" nodefault\n"
                "%s"
                "remote-control:\n"
                "    control-enable: no\n"
                "%s" % (self.port, self.port, threads, self.dir, self.dir, self.dir,
                        modules, extra, "".join(stubs)))
        self.proc = subprocess.Popen(["/usr/sbin/unbound", "-d", "-c", self.conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        # localhost. is one of Unbound's own local zones: no upstream query.
        wait_until(lambda: self.query("localhost.", "A", timeout=0.2),
                   "unbound on port %d to answer a query" % self.port, 20,
                   log=self.read_log, proc=self.proc, interval=0.02)

    def query(self, name, rdtype="A", tcp=False, timeout=5.0, **kw):
        q = dns.message.make_query(name, rdtype, **kw)
        if tcp:
            return dns.query.tcp(q, "127.0.0.1", port=self.port, timeout=timeout)
        return dns.query.udp(q, "127.0.0.1", port=self.port, timeout=timeout)

    def read_log(self):
        try:
            with open(os.path.join(self.dir, "unbound.log")) as f:
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
