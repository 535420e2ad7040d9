#!/usr/bin/python3
"""Zone transfers out (issue 17): AXFR RRs/s of authd vs knotd as primary for one large zone,
and what a transfer does to authd's queries and event application.

Usage: bench/xfr.py [--rrsets N] [--runs R] [--window S] [--qps Q] [--event-rate E]
                    [--partitions P] [--workers W] [--fetch-wait MS] [--json FILE]

1. bench/genzone.py writes a zone of N RRsets (default 1,000,000; the mix of a hosting zone),
   plus 50 names ev0..ev49 (A) that the events of step 3 change. `streamdns-ctl import`
   produces it to a devbroker of P partitions (64: the mock keeps 5 MiB per partition; ctl
   status checks that nothing was dropped); authd (workers W, [xfr] allow-transfer =
   127.0.0.1, the default serial policy) replays it until its streamdns_authd_rrsets gauge
   shows every RRset, then one GET /zones (timed) must show them in the zone; knotd
   (udp-/tcp-workers W) loads the same file as primary with an ACL allowing transfer.
2. R rounds, interleaved (authd, knotd, authd, ...): build/bench/xfrread reads one full AXFR
   as fast as it comes, parsing every message, and counts the RRs, which must equal the
   zone's. Per transfer: wall time, RRs/s, time to the first message, the longest gap
   between messages, the server's CPU seconds (/proc/<pid>/stat), the reader's CPU seconds
   (to show it is not the bound), and authd's largest RSS while it ran.
3. Latency and events: two helper processes run for 2 x S seconds (default 10 s each half):
   a UDP query loop against authd (Q queries/s, one outstanding, names of the zone) and an
   event loop (E events/s: produce a new address for ev<i> with librdkafka, then query
   until authd answers it; the delay is produce -> visible). The first half runs with no
   transfer; in the second, the main process runs authd transfers back to back. Samples
   are split by whether a transfer was in flight when they started (the first second, the
   producer's connection, is left out); p50/p99/max of both, and every sample over 100 ms
   placed against the transfers: while one waited for its first message (authd building
   the zone's view), while one streamed, or neither.
Figures, not pass/fail: the summary says what a reader needs to judge.
"""
import argparse
import json
import multiprocessing
import os
import random
import re
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
sys.path.insert(0, HERE)
import genzone  # noqa: E402
from qps import cpu_seconds, rss_mb, stop_all  # noqa: E402
from streamdns import BUILD, Authd, Broker, free_port  # noqa: E402

ZONE = "bench.test."
EV_NAMES = 50
CTL = os.path.join(BUILD, "streamdns-ctl")
XFRREAD = os.path.join(BUILD, "bench", "xfrread")

KNOT_CONF = (
    "server:\n  rundir: {d}\n  listen: 127.0.0.1@{port}\n  udp-workers: {workers}\n"
    "  tcp-workers: {workers}\n  background-workers: 1\n"
    "database:\n  storage: {d}\n"
    "acl:\n  - id: xfr\n    address: 127.0.0.1\n    action: transfer\n"
    "template:\n  - id: default\n    storage: {d}\n    semantic-checks: off\n"
    "    zonefile-sync: -1\n    journal-content: none\n    zonefile-load: whole\n"
    "zone:\n  - domain: {zone}\n    file: {zonefile}\n    acl: xfr\n")


def write_zone(rrsets, path):
    """The zone file; returns (RRsets, RRs) it holds."""
    with open(path, "w") as f:
        genzone.write(f, ZONE, rrsets, 1)
        for k in range(EV_NAMES):
            f.write("ev%d A 192.0.2.%d\n" % (k, k + 1))
    with open(path) as f:
        rrs = sum(1 for line in f if line.strip() and not line.startswith("$"))
    return rrsets + EV_NAMES, rrs


def import_zone(broker, path, rrsets):
    t0 = time.time()
    p = subprocess.run([CTL, "-b", broker.address, "--timeout", "60s", "import", path],
                       capture_output=True, text=True)
    dt = time.time() - t0
    if p.returncode != 0:
        sys.exit("import failed (%d):\n%s%s" % (p.returncode, p.stdout, p.stderr[-3000:]))
    st = subprocess.run([CTL, "-b", broker.address, "--timeout", "60s", "status"],
                        capture_output=True, text=True, check=True).stdout
    held = int(re.search(r"RRsets: (\d+)", st).group(1))
    lows = [int(x) for x in re.findall(r"^\s+\d+\s+(\d+)\s+\d+$", st, re.M)]
    if held != rrsets or any(lows):
        sys.exit("the broker dropped events (raise --partitions):\n" + st)
    return dt


def start_knot(d, zonefile, workers):
    port = free_port()
    conf = os.path.join(d, "knot.conf")
    with open(conf, "w") as f:
        f.write(KNOT_CONF.format(d=d, port=port, zone=ZONE, zonefile=zonefile,
                                 workers=workers))
    proc = subprocess.Popen(["knotd", "-c", conf], stdout=subprocess.DEVNULL,
                            stderr=open(os.path.join(d, "knotd.log"), "w"))
    return proc, port


def wait_soa(port, proc, timeout=600):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit("the server on port %d exited with %d" % (port, proc.returncode))
        p = subprocess.run(["dig", "+short", "+time=1", "+tries=1", "-p", str(port),
                            "@127.0.0.1", ZONE, "SOA"], capture_output=True, text=True)
        if p.stdout.strip():
            return
        time.sleep(0.2)
    sys.exit("the server on port %d did not load the zone in %d s" % (port, timeout))


def wait_zone(authd, rrsets, timeout=900):
    """Until authd holds every RRset of the zone (every partition applied), by the
    streamdns_authd_rrsets gauge: /zones hashes the whole zone for its ZONEMD on each call
    (see zones_once), far too slow to poll while a 1M-RRset zone replays."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if authd.proc.poll() is not None:
            sys.exit("authd exited:\n" + authd.read_log()[-3000:])
        try:
            if authd.metrics().get("streamdns_authd_rrsets") == rrsets:
                return
        except (OSError, AssertionError):
            pass
        time.sleep(0.2)
    sys.exit("authd did not hold %d RRsets within %d s" % (rrsets, timeout))


def zones_once(authd):
    """One GET /zones once the zone is in: (seconds it took, RRsets it shows for ZONE)."""
    t0 = time.time()
    status, body = authd.http("/zones", timeout=900)
    dt = time.time() - t0
    held = [z["rrsets"] for z in json.loads(body)["zones"] if z["name"] == ZONE] \
        if status == 200 else []
    return dt, held[0] if held else None


class RssWatch:
    """The largest RSS of pid, sampled every 20 ms while running."""

    def __init__(self, pid):
        self.pid, self.max = pid, 0.0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop.is_set():
            try:
                self.max = max(self.max, rss_mb(self.pid))
            except OSError:
                pass
            time.sleep(0.02)

    def done(self):
        self.stop.set()
        self.thread.join()
        return self.max


def transfer(port, server_pid, watch_rss=False):
    """One AXFR through xfrread: its figures, the server's and the reader's CPU seconds."""
    c0 = cpu_seconds(server_pid)
    watch = RssWatch(server_pid) if watch_rss else None
    t0 = time.monotonic()
    p = subprocess.Popen([XFRREAD, str(port), ZONE], stdout=subprocess.PIPE, text=True)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = status
    t1 = time.monotonic()
    r = {k: float(v) for k, v in (kv.split("=") for kv in out.split())}
    r.update(start=t0, end=t1, server_cpu_s=cpu_seconds(server_pid) - c0,
             reader_cpu_s=ru.ru_utime + ru.ru_stime, rrs_per_s=r["rrs"] / r["total_s"])
    if watch is not None:
        r["rss_max_mb"] = watch.done()
    return r


# ---- helper processes of step 3 ----

def query_loop(port, rrsets, rate, seconds, out):
    """(start, latency ms) of one UDP query at a time, paced at rate/s; a query unanswered
    within 1 s counts as 1000 ms (lost). Queries take turns over 8 sockets: authd's
    workers share the port by SO_REUSEPORT, which picks one by source port, and the
    worker that serves a transfer must be sampled as well as the other."""
    rng = random.Random(3)
    socks = []
    for _ in range(8):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(1.0)
        s.connect(("127.0.0.1", port))
        socks.append(s)
    res, qid = [], 0
    t_end = time.monotonic() + seconds
    nxt = time.monotonic()
    while True:
        now = time.monotonic()
        if now >= t_end:
            break
        if now < nxt:
            time.sleep(nxt - now)
        nxt = max(nxt + 1.0 / rate, time.monotonic())
        qid = (qid + 1) & 0xffff
        name = b"".join(bytes([len(x)]) + x for x in
                        ("h%d" % rng.randrange(rrsets - 2)).encode().split(b".") +
                        [b"bench", b"test"]) + b"\0"
        q = struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 0) + name + struct.pack("!HH", 1, 1)
        s = socks[qid % len(socks)]
        t0 = time.monotonic()
        s.send(q)
        try:
            while True:
                resp = s.recv(4096)
                if resp[:2] == q[:2]:
                    break
            lat = (time.monotonic() - t0) * 1000
        except socket.timeout:
            lat = 1000.0
        res.append((t0, lat))
    out.put(("queries", res))


def event_loop(broker_address, topic, port, rate, seconds, out):
    """(produce time, ms until authd answers the new address) for one event at a time,
    paced at rate/s: ev<i % 50> gets a new address each time."""
    from confluent_kafka import Producer
    prod = Producer({"bootstrap.servers": broker_address, "linger.ms": 0, "acks": 1})
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1.0)
    s.connect(("127.0.0.1", port))
    res, i = [], 0
    t_end = time.monotonic() + seconds
    nxt = time.monotonic()
    while time.monotonic() < t_end:
        now = time.monotonic()
        if now < nxt:
            time.sleep(nxt - now)
        nxt = max(nxt + 1.0 / rate, time.monotonic())
        name = "ev%d.%s" % (i % EV_NAMES, ZONE)
        addr = "10.250.%d.%d" % (i >> 8 & 255, i & 255)
        i += 1
        want = socket.inet_aton(addr)
        q = struct.pack("!HHHHHH", i & 0xffff, 0, 1, 0, 0, 0) + b"".join(
            bytes([len(x)]) + x for x in name.encode().split(b".")[:-1]) + b"\0" + \
            struct.pack("!HH", 1, 1)
        t0 = time.monotonic()
        prod.produce(topic, key="%s|A" % name, value=json.dumps(
            [{"name": name, "type": "A", "content": addr, "ttl": 300}]))
        prod.poll(0)
        seen = None
        while time.monotonic() - t0 < 10:
            s.send(q)
            try:
                resp = s.recv(4096)
            except socket.timeout:
                continue
            if resp.endswith(want) and struct.unpack("!H", resp[6:8])[0] == 1:
                seen = (time.monotonic() - t0) * 1000
                break
            prod.poll(0)
        res.append((t0, seen if seen is not None else float("inf")))
    prod.flush(10)
    out.put(("events", res))


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p))] if v else float("nan")


def split(samples, windows, t_base, first_start):
    """Samples from t_base to the first transfer, and those that started while one was
    in flight."""
    base = [x for t, x in samples if t_base <= t < first_start]
    during = [x for t, x in samples if any(a <= t < b for a, b in windows)]
    return base, during


def slow(samples, runs, ms):
    """Samples slower than ms, each placed against the transfers: "opening" when it
    started or was still waiting while a transfer waited for its first message (authd
    building the zone's view), "streaming" during the rest of one, else "none"."""
    out = []
    for t, x in samples:
        if x <= ms:
            continue
        end = t + min(x, 10000) / 1000
        where = "none"
        for r in runs:
            if t < r["start"] + r["first_s"] and end > r["start"]:
                where = "opening"
                break
            if r["start"] <= t < r["end"]:
                where = "streaming"
        out.append({"ms": round(x, 1), "where": where})
    return out


def summary_of(v):
    return {"n": len(v), "p50_ms": pct(v, 0.5), "p99_ms": pct(v, 0.99),
            "max_ms": max(v) if v else float("nan")}


def under_load(a, broker, rrsets, axfr_rrs, args):
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    total = 2 * args.window + 2
    procs = [ctx.Process(target=query_loop, args=(a.port, rrsets, args.qps, total, out)),
             ctx.Process(target=event_loop, args=(broker.address, broker.topic, a.port,
                                                  args.event_rate, total, out))]
    for p in procs:
        p.start()
    rss_before = rss_mb(a.proc.pid)
    time.sleep(1)                  # the producer's connection, the first fetch: not measured
    t_base = time.monotonic()
    time.sleep(args.window)
    t_end = time.monotonic() + args.window
    runs = []
    watch = RssWatch(a.proc.pid)
    while time.monotonic() < t_end:
        runs.append(transfer(a.port, a.proc.pid))
    rss_max = watch.done()
    results = dict(out.get() for _ in procs)
    for p in procs:
        p.join()
    windows = [(r["start"], r["end"]) for r in runs]
    qb, qd = split(results["queries"], windows, t_base, windows[0][0])
    eb, ed = split(results["events"], windows, t_base, windows[0][0])
    t_first = windows[0][0]
    slow_ms = 100
    return {
        "slow_ms": slow_ms,
        "slow_queries_during": slow([x for x in results["queries"] if x[0] >= t_first],
                                    runs, slow_ms),
        "slow_queries_without": slow([x for x in results["queries"]
                                      if t_base <= x[0] < t_first], runs, slow_ms),
        "slow_events_during": slow([x for x in results["events"] if x[0] >= t_first],
                                   runs, slow_ms),
        "slow_events_without": slow([x for x in results["events"]
                                     if t_base <= x[0] < t_first], runs, slow_ms),
        "transfer_first_s": [r["first_s"] for r in runs],
        "transfers": len(runs),
        "transfers_complete_and_equal": sum(1 for r in runs if r["complete"] == 1 and
                                            r["rrs"] == axfr_rrs),
        "transfer_rrs_per_s_median": statistics.median(r["rrs_per_s"] for r in runs),
        "transfer_first_s_max": max(r["first_s"] for r in runs),
        "transfer_max_gap_s": max(r["max_gap_s"] for r in runs),
        "queries_lost": {"without": sum(1 for x in qb if x >= 1000),
                         "during": sum(1 for x in qd if x >= 1000)},
        "queries_without": summary_of(qb), "queries_during": summary_of(qd),
        "events_without": summary_of(eb), "events_during": summary_of(ed),
        "events_never_seen": sum(1 for x in eb + ed if x == float("inf")),
        "authd_rss_mb_before": rss_before, "authd_rss_mb_max_during": rss_max,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rrsets", type=int, default=1000000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--partitions", type=int, default=64)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--window", type=float, default=10.0,
                    help="seconds of step 3 without, then with transfers")
    ap.add_argument("--qps", type=int, default=2000, help="step 3's UDP queries/s")
    ap.add_argument("--event-rate", type=int, default=100, help="step 3's events/s")
    ap.add_argument("--fetch-wait", type=int, default=5,
                    help="authd's fetch.wait.max.ms: the mock broker holds a fetch this "
                         "long (a real broker answers when data arrives)")
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args()
    if not os.access(XFRREAD, os.X_OK):
        sys.exit("no %s: make %s" % (XFRREAD, os.path.relpath(XFRREAD)))

    d = tempfile.mkdtemp(prefix="bench-xfr-")
    zonefile = os.path.join(d, "zone")
    rrsets, rrs = write_zone(args.rrsets, zonefile)
    axfr_rrs = rrs + 1                     # the SOA first and last
    load0 = os.getloadavg()
    print("zone %s: %d RRsets, %d RRs (an AXFR holds %d); load average %.2f %.2f %.2f"
          % (ZONE, rrsets, rrs, axfr_rrs, *load0))
    broker = Broker(partitions=args.partitions)
    authds, procs = [], []
    res = {"command": " ".join(sys.argv), "date": time.strftime("%Y-%m-%d %H:%M UTC",
                                                                time.gmtime()),
           "rrsets": rrsets, "rrs": rrs, "load_before": load0}
    try:
        res["import_s"] = import_zone(broker, zonefile, rrsets)
        kd = os.path.join(d, "knot")
        os.makedirs(kd)
        t0 = time.time()
        knot, knot_port = start_knot(kd, zonefile, args.workers)
        procs.append(knot)
        wait_soa(knot_port, knot)
        res["knotd_load_s"] = time.time() - t0
        t0 = time.time()
        a = Authd(broker.address, serial=None, workers=args.workers, start=False,
                  sections="[xfr]\nallow-transfer = 127.0.0.1\n"
                           "[kafka]\nfetch.wait.max.ms = %d\n" % args.fetch_wait)
        authds.append(a)
        a.start_nowait()
        wait_zone(a, rrsets)
        res["authd_load_s"] = time.time() - t0
        res["zones_s"], held = zones_once(a)
        print("GET /zones took %.1f s and shows %s RRsets" % (res["zones_s"], held))
        if held != rrsets:
            sys.exit("/zones shows %s RRsets, not %d" % (held, rrsets))
        res["rss_mb_idle"] = {"authd": rss_mb(a.proc.pid), "knotd": rss_mb(knot.pid)}
        print("import %.1f s; knotd loaded in %.1f s, authd replayed in %.1f s; "
              "RSS authd %.0f MB, knotd %.0f MB"
              % (res["import_s"], res["knotd_load_s"], res["authd_load_s"],
                 res["rss_mb_idle"]["authd"], res["rss_mb_idle"]["knotd"]))

        servers = [("authd", a.port, a.proc.pid), ("knotd", knot_port, knot.pid)]
        runs = {s: [] for s, _, _ in servers}
        for rnd in range(args.runs):
            for s, port, pid in servers:
                r = transfer(port, pid, watch_rss=True)
                runs[s].append(r)
                ok = r["complete"] == 1 and r["rrs"] == axfr_rrs
                print("  %s run %d: %s %d RRs in %d messages, %.2f s, %.0f RRs/s; first "
                      "message %.3f s, longest gap %.3f s; server CPU %.2f s, reader CPU "
                      "%.2f s; RSS max %.0f MB; load %.2f"
                      % (s, rnd + 1, "complete," if ok else "INCOMPLETE OR WRONG COUNT,",
                         r["rrs"], r["messages"], r["total_s"], r["rrs_per_s"],
                         r["first_s"], r["max_gap_s"], r["server_cpu_s"], r["reader_cpu_s"],
                         r["rss_max_mb"], os.getloadavg()[0]))
        med = {s: {k: statistics.median(r[k] for r in v) for k in
                   ("total_s", "rrs_per_s", "server_cpu_s", "reader_cpu_s", "first_s")}
               for s, v in runs.items()}
        res["axfr"] = {"runs": runs, "median": med,
                       "all_complete_and_equal": all(r["complete"] == 1 and
                                                     r["rrs"] == axfr_rrs
                                                     for v in runs.values() for r in v)}
        res["axfr"]["ratio_authd_knotd"] = med["authd"]["rrs_per_s"] / med["knotd"]["rrs_per_s"]

        # knotd is idle from here on, but stopped so that it takes no memory or CPU.
        procs.remove(knot)
        knot.terminate()
        knot.wait(30)
        load = under_load(a, broker, rrsets, axfr_rrs, args)
        res["under_load"] = load
        res["load_after"] = os.getloadavg()

        print("\nAXFR of %d RRs, medians of %d interleaved runs (all complete and equal: %s):"
              % (axfr_rrs, args.runs, res["axfr"]["all_complete_and_equal"]))
        for s in med:
            m = med[s]
            print("  %-6s %.2f s  %9.0f RRs/s  first message %.3f s  server CPU %.2f s  "
                  "reader CPU %.2f s" % (s, m["total_s"], m["rrs_per_s"], m["first_s"],
                                         m["server_cpu_s"], m["reader_cpu_s"]))
        print("  ratio authd/knotd (RRs/s) = %.2f" % res["axfr"]["ratio_authd_knotd"])
        print("While authd transfers back to back (%d transfers in %.0f s, %d complete and "
              "equal, median %.0f RRs/s, longest first-message wait %.3f s, longest gap "
              "%.3f s):" % (load["transfers"], args.window, load["transfers_complete_and_equal"],
                            load["transfer_rrs_per_s_median"], load["transfer_first_s_max"],
                            load["transfer_max_gap_s"]))
        for what, unit in (("queries", "UDP query latency, %d/s" % args.qps),
                           ("events", "produce -> visible, %d events/s" % args.event_rate)):
            w, dd = load[what + "_without"], load[what + "_during"]
            print("  %s: without n=%d p50 %.2f p99 %.2f max %.2f ms; during n=%d p50 %.2f "
                  "p99 %.2f max %.2f ms" % (unit, w["n"], w["p50_ms"], w["p99_ms"],
                                             w["max_ms"], dd["n"], dd["p50_ms"],
                                             dd["p99_ms"], dd["max_ms"]))
        print("  queries lost (no answer in 1 s): without %d, during %d; events never "
              "visible: %d" % (load["queries_lost"]["without"], load["queries_lost"]["during"],
                               load["events_never_seen"]))
        for what in ("queries", "events"):
            for ph in ("without", "during"):
                v = load["slow_%s_%s" % (what, ph)]
                by = {}
                for x in v:
                    by.setdefault(x["where"], []).append(x["ms"])
                print("  %s over %d ms, %s transfers: %d%s" % (
                    what, load["slow_ms"], ph, len(v), "".join(
                        "; %s %d (max %.0f ms)" % (k, len(x), max(x))
                        for k, x in sorted(by.items()))))
        print("  each transfer's wait for its first message (s): %s" % " ".join(
            "%.3f" % x for x in load["transfer_first_s"]))
        print("  authd RSS %.0f MB before, at most %.0f MB during the transfers"
              % (load["authd_rss_mb_before"], load["authd_rss_mb_max_during"]))
        print("load average before %.2f, after %.2f" % (load0[0], res["load_after"][0]))
        xfr_lines = [l for l in a.read_log().splitlines() if "xfr:" in l]
        print("authd's log, first and last transfer:\n  %s\n  %s"
              % (xfr_lines[0], xfr_lines[-1]) if xfr_lines else "authd logged no transfer")
        if args.json:
            with open(args.json, "w") as f:
                json.dump(res, f, indent=1, default=str)
        while authds:
            authds.pop().stop()
    finally:
        stop_all(authds, procs, [broker], d)


if __name__ == "__main__":
    main()
