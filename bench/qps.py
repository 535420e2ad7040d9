#!/usr/bin/python3
"""authd vs knotd vs nsd: UDP (and TCP) queries per second with dnsperf, in one run (issue 7).

Usage: bench/qps.py [--names N ...] [--runs R] [--seconds S] [--tcp] [--workers W]
                    [--baseline-build DIR]
For each N (default 100000 and 1000000) generates one zone: A on every name, AAAA on half,
MX and TXT on a tenth each, CNAMEs, wildcards and a delegation; and a query mix of 80 %
existing names, 10 % NXDOMAIN, 5 % NODATA, 5 % CNAME/wildcard. knotd and nsd load it as a
master file, authd as events through devbroker. dnsperf runs against each in turn,
interleaved (A B C A B C ...), R times; medians and ratios are printed, with qps per
server CPU-second (utime+stime of the server process).
Reference settings: knotd udp-workers W, tcp-workers W, background-workers 1; nsd
server-count W, reuseport yes, rrl-ratelimit 0, minimal-responses yes; authd workers W;
W is --workers (default 2; `make bench-qps-one` runs W = 1).
--baseline-build DIR also starts the streamdns-authd of DIR (another commit's build
directory) on its own port, loaded from the same topic, and measures it in the same
interleaved rounds as "authd-base", with the ratio authd/authd-base.
"""
import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration"))
from streamdns import Authd, Broker, free_port, terminate  # noqa: E402

ZONE = "bench.test."


def records(n):
    yield ("@", "SOA", "ns1 hostmaster 1 3600 900 604800 300")
    yield ("@", "NS", "ns1")
    yield ("ns1", "A", "192.0.2.1")
    yield ("mail", "A", "192.0.2.25")
    yield ("sub", "NS", "ns.sub")
    yield ("ns.sub", "A", "192.0.2.53")
    for j in range(100):
        yield ("*.w%d" % j, "A", "192.0.2.%d" % (j + 100))
    for i in range(n):
        name = "n%d" % i
        yield (name, "A", "10.%d.%d.%d" % (i >> 16 & 255, i >> 8 & 255, i & 255))
        if i % 2 == 0:
            yield (name, "AAAA", "2001:db8::%x:%x" % (i >> 16, i & 0xffff))
        if i % 10 == 0:
            yield (name, "MX", "10 mail")
        if i % 10 == 1:
            yield (name, "TXT", '"v=spf1 -all" "%d"' % i)
        if i % 20 == 0:
            yield ("c%d" % i, "CNAME", name)


def write_zone(n, zonefile, eventsfile):
    sets = {}
    with open(zonefile, "w") as z:
        z.write("$ORIGIN %s\n$TTL 3600\n" % ZONE)
        for owner, rtype, content in records(n):
            z.write("%s %s %s\n" % (owner, rtype, content))
            fq = ZONE if owner == "@" else owner + "." + ZONE
            c = content
            if rtype in ("NS", "CNAME"):
                c = c + "." + ZONE
            elif rtype == "SOA":
                c = "ns1.%s hostmaster.%s 1 3600 900 604800 300" % (ZONE, ZONE)
            elif rtype == "MX":
                c = "10 mail." + ZONE
            sets.setdefault((fq, rtype), []).append(c)
    with open(eventsfile, "w") as e:
        for (fq, rtype), contents in sets.items():
            recs = ",".join('{"name":"%s","type":"%s","content":"%s","ttl":3600}'
                            % (fq, rtype, c.replace('"', '\\"')) for c in contents)
            e.write("%s|%s\t[%s]\n" % (fq, rtype, recs))
    return len(sets)


def write_queries(n, path, count=200000, seed=7):
    rng = random.Random(seed)
    with open(path, "w") as f:
        for _ in range(count):
            r = rng.random()
            i = rng.randrange(n)
            if r < 0.80:
                f.write("n%d.%s %s\n" % (i, ZONE, "AAAA" if i % 2 == 0 and r < 0.2 else "A"))
            elif r < 0.90:
                f.write("x%d.%s A\n" % (i, ZONE))
            elif r < 0.95:
                f.write("n%d.%s AAAA\n" % (i | 1, ZONE))
            elif r < 0.975:
                f.write("c%d.%s A\n" % (i - i % 20, ZONE))
            else:
                f.write("q%d.w%d.%s A\n" % (i, i % 100, ZONE))


KNOT_CONF = (
    "server:\n  rundir: {d}\n  listen: 127.0.0.1@{port}\n  udp-workers: {workers}\n"
    "  tcp-workers: {workers}\n  background-workers: 1\n"
    "database:\n  storage: {d}\n"
    "template:\n  - id: default\n    storage: {d}\n    semantic-checks: off\n"
    "    zonefile-sync: -1\n    journal-content: none\n    zonefile-load: whole\n"
    "zone:\n  - domain: {zone}\n    file: {zonefile}\n")

NSD_CONF = (
    'server:\n  ip-address: 127.0.0.1@{port}\n  server-count: {workers}\n  reuseport: yes\n'
    '  rrl-ratelimit: 0\n  minimal-responses: yes\n  username: ""\n'
    '  zonesdir: "{d}"\n  database: ""\n  pidfile: "{d}/nsd.pid"\n'
    '  xfrdfile: "{d}/xfrd.state"\n  zonelistfile: "{d}/zone.list"\n'
    '  logfile: "{d}/nsd.log"\n  hide-version: yes\n'
    'remote-control:\n  control-enable: no\n'
    'zone:\n  name: {zone}\n  zonefile: "{zonefile}"\n')


class Reference:
    """A reference server (knotd, nsd) on a free port, its configuration written in d."""

    def __init__(self, d, zonefile, workers, conf_name, conf_template, argv):
        self.port = free_port()
        conf = os.path.join(d, conf_name)
        with open(conf, "w") as f:
            f.write(conf_template.format(d=d, port=self.port, zone=ZONE, zonefile=zonefile,
                                         workers=workers))
        self.proc = subprocess.Popen(argv + [conf], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)


def start_knot(d, zonefile, workers):
    return Reference(d, zonefile, workers, "knot.conf", KNOT_CONF, ["knotd", "-c"])


def start_nsd(d, zonefile, workers):
    return Reference(d, zonefile, workers, "nsd.conf", NSD_CONF, ["nsd", "-d", "-c"])


def start_timed(start, d, zonefile, workers, procs):
    """Starts a reference server (added to procs); returns it and its seconds to answer."""
    t0 = time.time()
    server = start(d, zonefile, workers)
    procs.append(server.proc)
    wait_answer(server.port)
    return server, time.time() - t0


def wait_answer(port, timeout=300):
    deadline = time.time() + timeout
    while time.time() < deadline:
        p = subprocess.run(["dig", "+short", "+time=1", "+tries=1", "-p", str(port),
                            "@127.0.0.1", "n1." + ZONE, "A"], capture_output=True, text=True)
        if p.stdout.strip():
            return
        time.sleep(0.2)
    raise RuntimeError("server on port %d did not answer" % port)


def cpu_seconds(pid):
    """utime+stime of a process and its threads (and its children: nsd forks)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    parent = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parent[int(entry)] = int(open("/proc/%s/stat" % entry).read()
                                         .rsplit(")", 1)[1].split()[1])
            except OSError:
                pass
    pids, grew = {pid}, True
    while grew:
        more = {c for c, pp in parent.items() if pp in pids} - pids
        grew = bool(more)
        pids |= more
    for p in pids:
        try:
            fields = open("/proc/%d/stat" % p).read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except OSError:
            pass
    return total


def dnsperf(port, queries, seconds, tcp):
    cmd = ["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", queries, "-l", str(seconds),
           "-c", "4", "-T", "2", "-q", "1000", "-S", "0"]
    if tcp:
        cmd += ["-m", "tcp"]
    p = subprocess.run(cmd, capture_output=True, text=True)
    qps = lost = None
    if os.environ.get("BENCH_VERBOSE"):
        print(p.stdout)
    for line in p.stdout.splitlines():
        if "Queries per second:" in line:
            qps = float(line.split(":")[1])
        if "Queries lost:" in line:
            lost = line.split(":")[1].strip()
    if qps is None:
        raise RuntimeError("dnsperf failed: %s %s" % (p.stdout, p.stderr))
    return qps, lost


def rss_mb(pid):
    """Resident set size of pid in MiB (bench/startup.py uses it too)."""
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return 0.0


def start_authd(broker, workers, authds, build=None, sections=""):
    """Starts authd (added to authds) from build (None: STREAMDNS_BUILD), with INI
    sections; returns it and its seconds to ready and answering."""
    t0 = time.time()
    authd = Authd(broker.address, workers=workers, start=False, build=build,
                  sections=sections)
    authds.append(authd)
    authd.start_nowait()
    authd.wait_ready(timeout=600)
    wait_answer(authd.port)
    return authd, time.time() - t0


def stop_all(authds, procs, brokers, d):
    """Everything a bench started, stopped even after a failure, and its directory."""
    for a in authds:
        if a.proc is not None:
            terminate(a.proc)
    for p in procs:
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
    for b in brokers:
        b.stop()
    shutil.rmtree(d, ignore_errors=True)


def bench(n, runs, seconds, tcp_too, workers, baseline_build):
    d = tempfile.mkdtemp(prefix="bench-qps-")
    zonefile, events, queries = (os.path.join(d, x) for x in ("zone", "events.tsv", "q"))
    nsets = write_zone(n, zonefile, events)
    write_queries(n, queries)
    broker = Broker(partitions=64)
    procs, authds = [], []
    try:
        with open(events) as f:
            subprocess.run(["kcat", "-P", "-b", broker.address, "-t", broker.topic, "-K", "\t",
                            "-X", "linger.ms=50", "-X", "batch.num.messages=10000",
                            "-X", "queue.buffering.max.messages=2000000"], stdin=f, check=True)
        kd, nd = os.path.join(d, "knot"), os.path.join(d, "nsd")
        os.makedirs(kd)
        os.makedirs(nd)
        knot, knot_load = start_timed(start_knot, kd, zonefile, workers, procs)
        nsd, nsd_load = start_timed(start_nsd, nd, zonefile, workers, procs)
        authd, authd_load = start_authd(broker, workers, authds)
        servers = [("authd", authd.port, authd.proc.pid)]
        loads = [("authd", authd_load)]
        if baseline_build:
            base, base_load = start_authd(broker, workers, authds, build=baseline_build)
            servers.append(("authd-base", base.port, base.proc.pid))
            loads.append(("authd-base", base_load))
        servers += [("knotd", knot.port, knot.proc.pid), ("nsd", nsd.port, nsd.proc.pid)]
        loads += [("knotd", knot_load), ("nsd", nsd_load)]
        print("names=%d rrsets=%d workers=%d load_s: %s" %
              (n, nsets, workers, " ".join("%s=%.2f" % sl for sl in loads)))
        print("rss_mb: " + " ".join("%s=%.0f" % (s, rss_mb(pid)) for s, _, pid in servers))
        modes = [False, True] if tcp_too else [False]
        for tcp in modes:
            res = {s: [] for s, _, _ in servers}
            cpu = {s: [] for s, _, _ in servers}
            for _ in range(runs):
                for s, port, pid in servers:
                    c0 = cpu_seconds(pid)
                    qps, lost = dnsperf(port, queries, seconds, tcp)
                    res[s].append(qps)
                    cpu[s].append(qps * seconds / max(cpu_seconds(pid) - c0, 1e-9))
            med = {s: statistics.median(v) for s, v in res.items()}
            medc = {s: statistics.median(v) for s, v in cpu.items()}
            print("%s qps median: %s" % ("TCP" if tcp else "UDP",
                  " ".join("%s=%.0f" % (s, med[s]) for s in med)))
            print("  runs: " + " ".join("%s=%s" % (s, [round(x) for x in v])
                                        for s, v in res.items()))
            print("  qps per server CPU-second: " + " ".join("%s=%.0f" % (s, medc[s])
                                                           for s in medc))
            print("  ratio authd/knotd=%.2f authd/nsd=%.2f%s" %
                  (med["authd"] / med["knotd"], med["authd"] / med["nsd"],
                   " authd/authd-base=%.2f" % (med["authd"] / med["authd-base"])
                   if "authd-base" in med else ""))
        while authds:
            authds.pop().stop()
    finally:
        stop_all(authds, procs, [broker], d)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--names", type=int, nargs="+", default=[100000, 1000000])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--tcp", action="store_true")
    ap.add_argument("--workers", type=int, default=2,
                    help="authd workers, knotd udp-/tcp-workers, nsd server-count")
    ap.add_argument("--baseline-build", metavar="DIR",
                    help="also measure the streamdns-authd in DIR (an older build)")
    a = ap.parse_args()
    if a.baseline_build:
        a.baseline_build = os.path.abspath(a.baseline_build)
        if not os.access(os.path.join(a.baseline_build, "streamdns-authd"), os.X_OK):
            ap.error("no streamdns-authd in %s" % a.baseline_build)
    for n in a.names:
        bench(n, a.runs, a.seconds, a.tcp, a.workers, a.baseline_build)


if __name__ == "__main__":
    main()
