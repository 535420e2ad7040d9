#!/usr/bin/python3
"""Dynamic updates (issue 18): RFC 2136 UPDATE throughput of authd against knotd, under
contention on one name, and update -> visible-everywhere latency, in one run.

Usage: bench/update.py [--updates N] [--clients C ...] [--runs R] [--workers W]
                       [--contention-updates K] [--latency-updates M] [--fetch-wait MS]
                       [--knot-journal none|changes] [--json FILE]

Every update is TCP, one outstanding per client connection, TSIG hmac-sha256 signed with
one key (`[tsig] bench-key` granted bench.test. by `[update] bench-key`; for knotd a `key:`
and an ACL `action: update`). Each client process signs all its messages before the clock
starts (dnspython's cost stays out of the measurement; the TSIG fudge is 300 s) and then only
writes them and reads the answers; an answer other than NOERROR is retried (at most 3 times)
and counted. R rounds, each:

1. Throughput through one instance: N updates (default 2000), each adding one TXT record at
   a distinct name of bench.test., spread over C concurrent clients (default C = 1 and 8),
   against authd (workers W, the default serial policy `topic`, fetch.wait.max.ms MS) and
   against knotd as a dynamic-update primary of the same zone (udp-/tcp-workers W,
   background-workers 1, journal-content --knot-journal, zonefile-sync -1), interleaved
   (authd C=1, knotd C=1, authd C=8, ...). updates/s = N / (last answer - first send);
   also each update's time from send to NOERROR (p50/p99/max, queueing behind the other
   clients' included). One update before each timed section is left out of it (warm-up:
   the first update of a fresh or idle instance costs more; its time is printed). 20 of
   the names are then queried on each server: each must hold its record.
2. Contention: a fresh devbroker and 2 authd instances on its topic; C clients per
   instance (the largest C), K updates in all (default 200), all adding distinct TXT
   records to _acme-challenge.bench.test. Reported: updates/s, and from each instance's
   /metrics streamdns_authd_update_conflicts_total and streamdns_authd_update_retries_total,
   and how long both instances' clients were sending at once (the race the figures are of).
   Then every record must be in the RRset on both instances (checked over TCP, waiting up
   to 15 s for the other instance to follow); the script fails loudly if one is not.
   K is kept under 240: authd refuses to grow an RRset past 64 KiB counted at the worst
   case of 265 octets of owner and header per record (common/rrset.c), about 240 records
   of this size; and every add writes the whole RRset as one event (K^2/2 records written
   in all, into one partition of the mock broker, which keeps 5 MiB).
3. Latency, on the same two instances A and B: M sequential updates (default 300) through
   A, each adding a TXT record at a new name. One loop sends the update over TCP and then
   queries B over UDP as fast as B answers (one query outstanding), watching both sockets:
   send -> NOERROR from A (which by design serves the change then), and send -> B's first
   answer with the record. p50/p99/max of both.
Medians over the R rounds, with every round's figure; --json writes everything.
"""
import argparse
import json
import multiprocessing
import os
import random
import select
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

import dns.message
import dns.query
import dns.rcode
import dns.tsig
import dns.tsigkeyring
import dns.update

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
sys.path.insert(0, HERE)
from qps import cpu_seconds, stop_all  # noqa: E402
from streamdns import Authd, Broker, free_port, rr, terminate  # noqa: E402

ZONE = "bench.test."
ACME = "_acme-challenge." + ZONE
KEYNAME = "bench-key"
SECRET = "c3RyZWFtZG5zIHVwZGF0ZSBiZW5jaCBrZXkgMzIgYnl0ZXM="
RING = dns.tsigkeyring.from_text({KEYNAME + ".": SECRET})
KNOTD = "/usr/sbin/knotd"
RETRIES = 3

KNOT_CONF = (
    "server:\n  rundir: {d}\n  listen: 127.0.0.1@{port}\n  udp-workers: {workers}\n"
    "  tcp-workers: {workers}\n  background-workers: 1\n"
    "database:\n  storage: {d}/db\n"
    "log:\n  - target: stderr\n    any: notice\n"
    "key:\n  - id: {key}.\n    algorithm: hmac-sha256\n    secret: {secret}\n"
    "acl:\n  - id: upd\n    address: 127.0.0.1\n    key: {key}.\n    action: update\n"
    "template:\n  - id: default\n    storage: {d}\n    semantic-checks: off\n"
    "    zonefile-sync: -1\n    journal-content: {journal}\n    zonefile-load: whole\n"
    "zone:\n  - domain: {zone}\n    file: zone\n    acl: upd\n")


def zone_records():
    return [(ZONE, "SOA", "ns1.%s h.%s 1 3600 600 86400 60" % (ZONE, ZONE), 3600),
            (ZONE, "NS", "ns1." + ZONE, 3600), ("ns1." + ZONE, "A", "192.0.2.1", 3600)]


def produce_zone(broker):
    broker.produce([("%s|%s" % (n, t), [rr(n, t, c, ttl)])
                    for n, t, c, ttl in zone_records()])


def start_authd(broker, workers, fetch_wait):
    a = Authd(broker.address, serial=None, workers=workers, start=False,
              sections="[tsig]\n%s = hmac-sha256:%s\n[update]\n%s = %s\n"
                       "[kafka]\nfetch.wait.max.ms = %d\n"
                       % (KEYNAME, SECRET, KEYNAME, ZONE, fetch_wait))
    a.start_nowait()
    return a


def wait_zone(port, what, proc=None, log=None, timeout=60):
    """Until the server answers the zone's SOA with NOERROR and an answer."""
    q = dns.message.make_query(ZONE, "SOA")
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            sys.exit("%s exited with %d%s" % (what, proc.returncode,
                                               ":\n" + log()[-3000:] if log else ""))
        try:
            r = dns.query.udp(q, "127.0.0.1", port=port, timeout=0.5)
            if r.rcode() == dns.rcode.NOERROR and r.answer:
                return
        except (dns.exception.DNSException, OSError):
            pass
        time.sleep(0.1)
    sys.exit("%s on port %d did not serve %s within %d s%s"
             % (what, port, ZONE, timeout, ":\n" + log()[-3000:] if log else ""))


def start_knot(d, workers, journal):
    os.makedirs(d)
    with open(os.path.join(d, "zone"), "w") as f:
        for n, t, c, ttl in zone_records():
            f.write("%s %d IN %s %s\n" % (n, ttl, t, c))
    port = free_port()
    conf = os.path.join(d, "knot.conf")
    with open(conf, "w") as f:
        f.write(KNOT_CONF.format(d=d, port=port, workers=workers, key=KEYNAME, secret=SECRET,
                                 journal=journal, zone=ZONE))
    logpath = os.path.join(d, "knotd.log")
    proc = subprocess.Popen([KNOTD, "-c", conf], stdout=subprocess.DEVNULL,
                            stderr=open(logpath, "w"))
    wait_zone(port, "knotd", proc, lambda: open(logpath).read())
    return proc, port, logpath


def update_wire(name, text):
    """One signed UPDATE adding TXT "text" at name, as TCP wire (length first)."""
    u = dns.update.UpdateMessage(ZONE, keyring=RING, keyname=KEYNAME + ".",
                                 keyalgorithm=dns.tsig.HMAC_SHA256)
    u.add(name, 60, "TXT", '"%s"' % text)
    w = u.to_wire()
    return struct.pack("!H", len(w)) + w


def read_msg(sock, buf):
    """One length-prefixed DNS message from sock; (message, rest of buf). None at EOF."""
    while True:
        if len(buf) >= 2:
            n = struct.unpack("!H", buf[:2])[0]
            if len(buf) >= 2 + n:
                return buf[2:2 + n], buf[2 + n:]
        data = sock.recv(65536)
        if not data:
            return None, buf
        buf += data


def connect(port):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def client(port, items, barrier, out):
    """A client process: signs every update of items [(name, text)], waits at the barrier,
    then sends them one at a time over one TCP connection (reconnecting if the server
    closes it), retrying an answer other than NOERROR up to RETRIES times."""
    wires = [update_wire(n, t) for n, t in items]
    sock = connect(port)
    c0 = time.process_time()
    barrier.wait()
    t_first = time.monotonic()
    ok, bad, failed, reconnects = 0, {}, [], 0
    buf = b""
    lat = []
    for (_, text), w in zip(items, wires):
        tries = 0
        t0 = time.monotonic()
        while True:
            try:
                sock.sendall(w)
                msg, buf = read_msg(sock, buf)
            except OSError:
                msg = None
            if msg is None:               # closed: again on a new connection
                reconnects += 1
                sock.close()
                sock, buf = connect(port), b""
                if reconnects > 100:
                    raise SystemExit("the server on port %d keeps closing" % port)
                continue
            if msg[:2] != w[2:4]:
                raise SystemExit("answer with a wrong id from port %d" % port)
            rcode = msg[3] & 15
            if rcode == 0:
                ok += 1
                lat.append((time.monotonic() - t0) * 1000)
                break
            name = dns.rcode.to_text(rcode)
            bad[name] = bad.get(name, 0) + 1
            tries += 1
            if tries > RETRIES:
                failed.append(text)
                break
    t_end = time.monotonic()
    sock.close()
    out.put({"port": port, "first": t_first, "end": t_end, "ok": ok, "lat_ms": lat,
             "not_noerror": bad, "failed": failed, "reconnects": reconnects,
             "cpu_s": time.process_time() - c0})


def run_clients(ports_items):
    """ports_items: [(port, items)], one client process each. Returns the summed figures
    and the wall time from the first send to the last answer."""
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    barrier = ctx.Barrier(len(ports_items))
    procs = [ctx.Process(target=client, args=(p, items, barrier, out))
             for p, items in ports_items]
    for p in procs:
        p.start()
    res = []
    for _ in procs:
        while True:
            try:
                res.append(out.get(timeout=5))
                break
            except Exception:
                if any(p.exitcode not in (None, 0) for p in procs):
                    for p in procs:
                        p.kill()
                    sys.exit("a client process failed")
    for p in procs:
        p.join()
    wall = max(r["end"] for r in res) - min(r["first"] for r in res)
    bad = {}
    for r in res:
        for k, v in r["not_noerror"].items():
            bad[k] = bad.get(k, 0) + v
    return {"wall_s": wall, "ok": sum(r["ok"] for r in res),
            "failed": [t for r in res for t in r["failed"]], "not_noerror": bad,
            "reconnects": sum(r["reconnects"] for r in res),
            "client_cpu_s": sum(r["cpu_s"] for r in res),
            "updates_per_s": sum(r["ok"] for r in res) / wall,
            "latency": summary([x for r in res for x in r.pop("lat_ms")]), "clients": res}


def warm(port, tag):
    """One update (at warm-<tag>) before a timed section, so that what is measured is the
    steady state: the first update of a fresh or idle instance costs more (its producer's
    first message to the topic). Returns its ms from send to answer."""
    w = update_wire("warm-%s.%s" % (tag, ZONE), tag)
    s = connect(port)
    t0 = time.monotonic()
    s.sendall(w)
    msg, _ = read_msg(s, b"")
    ms = (time.monotonic() - t0) * 1000
    s.close()
    if msg is None or msg[3] & 15 != 0:
        sys.exit("the warm-up update to port %d failed: %s" % (
            port, "closed" if msg is None else dns.rcode.to_text(msg[3] & 15)))
    return ms


def split(items, c):
    return [items[k::c] for k in range(c)]


def txt_of(port, name, tcp=True):
    q = dns.message.make_query(name, "TXT")
    r = (dns.query.tcp if tcp else dns.query.udp)(q, "127.0.0.1", port=port, timeout=5)
    return {b"".join(rd.strings).decode() for rs in r.answer for rd in rs}


def throughput(server, port, pid, n, c, tag):
    items = [("%s-%d.%s" % (tag, i, ZONE), "%s-%d" % (tag, i)) for i in range(n)]
    warm_ms = warm(port, tag)
    c0 = cpu_seconds(pid)
    r = run_clients([(port, part) for part in split(items, c)])
    r["warmup_ms"] = warm_ms
    r["server_cpu_s"] = cpu_seconds(pid) - c0
    if r["failed"]:
        sys.exit("%s: %d updates failed (%s)" % (server, len(r["failed"]), r["not_noerror"]))
    for name, text in random.Random(tag).sample(items, min(20, len(items))):
        if txt_of(port, name, tcp=False) != {text}:
            sys.exit("%s does not serve %s TXT %s after its NOERROR" % (server, name, text))
    return r


def metric(a, name):
    return sum(v for k, v in a.metrics().items() if k == name or k.startswith(name + "{"))


def contention(pair, k, c, tag):
    """K updates to one name, C clients per instance of pair; every record checked on both."""
    items = [(ACME, "%s-%d" % (tag, i)) for i in range(k)]
    parts = split(items, c * len(pair))
    warm_ms = [warm(a.port, "%s-%d" % (tag, j)) for j, a in enumerate(pair)]
    before = [(metric(a, "streamdns_authd_update_conflicts_total"),
               metric(a, "streamdns_authd_update_retries_total")) for a in pair]
    r = run_clients([(pair[j % len(pair)].port, part) for j, part in enumerate(parts)])
    r["warmup_ms"] = warm_ms
    # How long both instances' clients were sending at once: the race the figures are of.
    spans = [(min(x["first"] for x in r["clients"] if x["port"] == a.port),
              max(x["end"] for x in r["clients"] if x["port"] == a.port)) for a in pair]
    r["both_busy_s"] = max(0.0, min(e for _, e in spans) - max(b for b, _ in spans))
    after = [(metric(a, "streamdns_authd_update_conflicts_total"),
              metric(a, "streamdns_authd_update_retries_total")) for a in pair]
    r["conflicts"] = [int(x[0] - y[0]) for x, y in zip(after, before)]
    r["retries"] = [int(x[1] - y[1]) for x, y in zip(after, before)]
    # Every record, those whose update never got NOERROR (after RETRIES more tries)
    # included: the check fails then too, naming them.
    failed = set(r["failed"])
    want = {t for _, t in items}
    bad = []
    for a in pair:
        deadline = time.time() + 15
        while True:
            have = txt_of(a.port, ACME)
            if have == want or time.time() > deadline:
                break
            time.sleep(0.1)
        if have != want:
            bad.append("authd on port %d holds %d of the %d records at %s "
                       "(%d missing, e.g. %s; %d it should not hold: %s)"
                       % (a.port, len(have & want), len(want), ACME, len(want - have),
                          sorted(want - have)[:5], len(have - want), sorted(have - want)[:5]))
    if bad:
        sys.exit("CONTENTION CHECK FAILED (%d updates got no NOERROR in %d tries: %s; "
                 "answers other than NOERROR: %s):\n  %s\n  logs: %s"
                 % (len(failed), RETRIES + 1, sorted(failed)[:5], r["not_noerror"],
                    "\n  ".join(bad), " ".join(a.logpath for a in pair)))
    r["all_present_on_both"] = True
    return r


def latency(a, b, m, tag):
    """M sequential updates through a; (ms to NOERROR from a, ms to b's first answer)."""
    tcp = connect(a.port)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.connect(("127.0.0.1", b.port))
    warm(a.port, tag)
    jobs = []
    for i in range(m):
        name = "%s-%d.%s" % (tag, i, ZONE)
        q = dns.message.make_query(name, "TXT")
        q.flags = 0
        jobs.append((update_wire(name, "v%d" % i), q.to_wire()))
    noerr, vis = [], []
    for w, q in jobs:
        t0 = time.monotonic()
        tcp.sendall(w)
        t_a = t_b = None
        buf = b""
        outstanding = None            # when the query to b in flight was sent
        while t_a is None or t_b is None:
            now = time.monotonic()
            if now - t0 > 15:
                sys.exit("LATENCY: no %s within 15 s" % ("NOERROR from A" if t_a is None
                                                         else "answer from B"))
            if t_b is None and (outstanding is None or now - outstanding > 0.05):
                udp.send(q)
                outstanding = now
            rd = ([tcp] if t_a is None else []) + ([udp] if t_b is None else [])
            ready, _, _ = select.select(rd, [], [], 0.05)
            if tcp in ready:
                data = tcp.recv(65536)
                if not data:
                    sys.exit("LATENCY: A closed the connection")
                buf += data
                if len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
                    t_a = time.monotonic()
                    if buf[5] & 15 != 0:
                        sys.exit("LATENCY: A answered %s" % dns.rcode.to_text(buf[5] & 15))
            if udp in ready:
                resp = udp.recv(65536)
                if resp[:2] == q[:2]:
                    outstanding = None
                    if resp[3] & 15 == 0 and struct.unpack("!H", resp[6:8])[0] > 0:
                        t_b = time.monotonic()
        noerr.append((t_a - t0) * 1000)
        vis.append((t_b - t0) * 1000)
    tcp.close()
    udp.close()
    return {"noerror_a": summary(noerr), "visible_b": summary(vis),
            "b_before_a": sum(1 for x, y in zip(noerr, vis) if y < x)}


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p))] if v else float("nan")


def summary(v):
    return {"n": len(v), "p50_ms": pct(v, 0.5), "p99_ms": pct(v, 0.99), "max_ms": max(v)}


def med(vals):
    return statistics.median(vals)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--updates", type=int, default=2000, help="N of step 1")
    ap.add_argument("--clients", type=int, nargs="+", default=[1, 8], help="C of step 1")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--contention-updates", type=int, default=200,
                    help="K of step 2 (an RRset holds at most ~240 short TXT records: "
                         "authd counts 265 octets of owner and header per record)")
    ap.add_argument("--latency-updates", type=int, default=300, help="M of step 3")
    ap.add_argument("--fetch-wait", type=int, default=1,
                    help="authd's fetch.wait.max.ms: the mock broker holds a fetch this "
                         "long (a real broker answers when data arrives)")
    ap.add_argument("--knot-journal", choices=("none", "changes"), default="none")
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args()
    if not os.access(KNOTD, os.X_OK):
        sys.exit("no %s (apt-get install knot)" % KNOTD)
    cmax = max(args.clients)

    d = tempfile.mkdtemp(prefix="bench-update-")
    load0 = open("/proc/loadavg").read().strip()
    print("bench/update.py: load average at start %s" % load0)
    res = {"command": " ".join(sys.argv),
           "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "load_start": load0, "args": vars(args), "rounds": []}
    authds, procs, brokers = [], [], []
    try:
        broker = Broker(partitions=3)
        brokers.append(broker)
        produce_zone(broker)
        a = start_authd(broker, args.workers, args.fetch_wait)
        authds.append(a)
        wait_zone(a.port, "authd", a.proc, a.read_log)
        knot, knot_port, knot_log = start_knot(os.path.join(d, "knot"), args.workers,
                                               args.knot_journal)
        procs.append(knot)

        for rnd in range(args.runs):
            rd = {"throughput": {}}
            for c in args.clients:
                for server, port, pid in (("authd", a.port, a.proc.pid),
                                          ("knotd", knot_port, knot.pid)):
                    r = throughput(server, port, pid, args.updates, c,
                                   "r%dc%d" % (rnd, c))
                    rd["throughput"]["%s/%d" % (server, c)] = r
                    print("  round %d %s C=%d: %d updates in %.2f s = %.0f updates/s; "
                          "server CPU %.2f s, clients' CPU %.2f s; not NOERROR %s; "
                          "per update p50 %.2f p99 %.2f max %.0f ms; "
                          "warm-up update %.1f ms; load %.2f"
                          % (rnd + 1, server, c, r["ok"], r["wall_s"], r["updates_per_s"],
                             r["server_cpu_s"], r["client_cpu_s"],
                             r["not_noerror"] or "none", r["latency"]["p50_ms"],
                             r["latency"]["p99_ms"], r["latency"]["max_ms"], r["warmup_ms"],
                             os.getloadavg()[0]), flush=True)
                rd["throughput"]["ratio/%d" % c] = (
                    rd["throughput"]["authd/%d" % c]["updates_per_s"] /
                    rd["throughput"]["knotd/%d" % c]["updates_per_s"])

            # Two instances on a topic of their own (the contended RRset starts empty).
            b2 = Broker(partitions=3)
            brokers.append(b2)
            produce_zone(b2)
            pair = [start_authd(b2, args.workers, args.fetch_wait) for _ in range(2)]
            authds.extend(pair)
            for x in pair:
                wait_zone(x.port, "authd", x.proc, x.read_log)
            r = contention(pair, args.contention_updates, cmax, "r%d" % rnd)
            rd["contention"] = r
            print("  round %d contention: %d updates to %s through 2 instances x %d "
                  "clients in %.2f s (both busy %.2f s) = %.0f updates/s; conflicts %s, "
                  "retries %s; not NOERROR %s; every record on both instances; warm-up "
                  "updates %s ms" % (
                      rnd + 1, r["ok"], ACME, cmax, r["wall_s"], r["both_busy_s"],
                      r["updates_per_s"], r["conflicts"], r["retries"],
                      r["not_noerror"] or "none",
                      " ".join("%.1f" % x for x in r["warmup_ms"])), flush=True)
            r = latency(pair[0], pair[1], args.latency_updates, "lat%d" % rnd)
            rd["latency"] = r
            print("  round %d latency over %d updates: send -> NOERROR from A p50 %.2f p99 "
                  "%.2f max %.2f ms; send -> visible at B p50 %.2f p99 %.2f max %.2f ms "
                  "(B first in %d)" % (rnd + 1, args.latency_updates,
                                       r["noerror_a"]["p50_ms"], r["noerror_a"]["p99_ms"],
                                       r["noerror_a"]["max_ms"], r["visible_b"]["p50_ms"],
                                       r["visible_b"]["p99_ms"], r["visible_b"]["max_ms"],
                                       r["b_before_a"]), flush=True)
            for x in pair:
                authds.remove(x)
                x.stop()
            brokers.remove(b2)
            b2.stop()
            res["rounds"].append(rd)

        R = res["rounds"]
        m = {}
        for c in args.clients:
            for s in ("authd", "knotd"):
                m["%s/%d" % (s, c)] = med(r["throughput"]["%s/%d" % (s, c)]["updates_per_s"]
                                          for r in R)
                m["%s/%d cpu" % (s, c)] = med(r["throughput"]["%s/%d" % (s, c)]
                                              ["server_cpu_s"] for r in R)
            m["ratio/%d" % c] = med(r["throughput"]["ratio/%d" % c] for r in R)
        m["contention"] = med(r["contention"]["updates_per_s"] for r in R)
        for k in ("noerror_a", "visible_b"):
            for p in ("p50_ms", "p99_ms"):
                m["%s %s" % (k, p)] = med(r["latency"][k][p] for r in R)
        res["median"] = m
        res["load_end"] = open("/proc/loadavg").read().strip()

        def each(f):
            return " ".join(f(r) for r in R)

        print("\nDynamic updates, medians of %d rounds (each round's figure in brackets); "
              "TCP, TSIG hmac-sha256, one outstanding per client" % args.runs)
        print("%-44s %s" % ("", "updates/s"))
        for c in args.clients:
            for s in ("authd", "knotd"):
                key = "%s/%d" % (s, c)
                print("%-44s %9.0f  (%s); server CPU %.2f s" % (
                    "%s, %d updates, C=%d" % (s, args.updates, c), m[key],
                    each(lambda r: "%.0f" % r["throughput"][key]["updates_per_s"]),
                    m[key + " cpu"]))
            print("%-44s %9.2f  (%s)" % ("  authd/knotd, C=%d" % c, m["ratio/%d" % c],
                                         each(lambda r: "%.2f" % r["throughput"]
                                              ["ratio/%d" % c])))
        print("%-44s %9.0f  (%s)" % ("contention: %d to one name, 2 x %d clients"
                                     % (args.contention_updates, cmax), m["contention"],
                                     each(lambda r: "%.0f" % r["contention"]
                                          ["updates_per_s"])))
        print("%-44s %s" % ("  conflicts per instance",
                            each(lambda r: "%s" % r["contention"]["conflicts"])))
        print("%-44s %s" % ("  retries per instance",
                            each(lambda r: "%s" % r["contention"]["retries"])))
        print("%-44s %s" % ("  seconds both instances were busy",
                            each(lambda r: "%.2f/%.2f" % (r["contention"]["both_busy_s"],
                                                          r["contention"]["wall_s"]))))
        print("%-44s %s" % ("  not NOERROR (retried by the client)",
                            each(lambda r: "%s" % (r["contention"]["not_noerror"] or "{}"))))
        print("%-44s %s" % ("  every record on both instances", "yes, every round"))
        for k, what in (("noerror_a", "send -> NOERROR from A"),
                        ("visible_b", "send -> visible at B")):
            print("%-44s p50 %.2f ms (%s)  p99 %.2f ms (%s)" % (
                "%s, %d sequential" % (what, args.latency_updates), m[k + " p50_ms"],
                each(lambda r: "%.2f" % r["latency"][k]["p50_ms"]), m[k + " p99_ms"],
                each(lambda r: "%.2f" % r["latency"][k]["p99_ms"])))
        print("load average at start %s; at end %s" % (load0, res["load_end"]))
        if args.json:
            with open(args.json, "w") as f:
                json.dump(res, f, indent=1, default=str)
        while authds:
            authds.pop().stop()
        procs.remove(knot)
        rc = terminate(knot)
        if rc != 0:
            print("knotd exited with %s:\n%s" % (rc, open(knot_log).read()[-2000:]))
    finally:
        stop_all(authds, procs, brokers, d)


if __name__ == "__main__":
    main()
