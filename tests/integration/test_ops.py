"""Operating authd: admin HTTP, metrics (promtool), ZONEMD, snapshots, SIGHUP, statsd, logs."""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import dns.rcode
import dns.zone
import dns.zonetypes
import pytest

from streamdns import (Authd, Broker, free_port, log_tail, rr, rrset_events,
                       wait_until)
from zones import EXAMPLE, EXAMPLE_NET, zone_file


def burst(n, zone="burst.test."):
    """n events: a zone with n-1 A RRsets (the same on every run of the test)."""
    ev = [("%s|SOA" % zone, [rr(zone, "SOA", "ns.%s h.%s 1 3600 900 604800 60" % (zone, zone),
                                 3600)])]
    for i in range(n - 1):
        name = "h%d.%s" % (i, zone)
        ev.append(("%s|A" % name, [rr(name, "A", "10.%d.%d.%d" % (i >> 16 & 255, i >> 8 & 255,
                                                                  i & 255))]))
    return ev


@pytest.fixture(scope="module")
def env():
    broker = Broker(partitions=4)
    broker.produce(rrset_events(EXAMPLE + EXAMPLE_NET))
    snapdir = tempfile.mkdtemp(prefix="snap-")
    snap = os.path.join(snapdir, "authd.snap")
    a = Authd(broker.address, sections="[store]\nsnapshot = %s\nsnapshot-interval = 1s\n" % snap)
    a.wait_ready()
    a.wait_for("www.example.net.", "A", lambda r: r.answer)
    yield broker, a, snap
    a.stop()
    broker.stop()
    shutil.rmtree(snapdir, ignore_errors=True)


def zones(a):
    status, body = a.http("/zones")
    assert status == 200, body
    return json.loads(body)


def metric(a, name, labels=""):
    status, body = a.http("/metrics")
    assert status == 200
    for line in body.splitlines():
        if line.startswith(name + (("{" + labels + "}") if labels else " ")):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError("%s{%s} not in /metrics" % (name, labels))


def test_health_ready_and_promtool(env):
    _, a, _ = env
    assert a.http("/health") == (200, "ok\n")
    assert a.http("/ready") == (200, "ready\n")
    assert a.http("/nope")[0] == 404
    for _ in range(5):
        a.query("www.example.com.", "A")
    a.query("nope.example.com.", "A", tcp=True)
    status, body = a.http("/metrics")
    assert status == 200
    p = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True,
                       text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    assert metric(a, "streamdns_authd_queries_total",
                  'transport="udp",rcode="NOERROR"') >= 5
    assert metric(a, "streamdns_authd_queries_total", 'transport="tcp",rcode="NXDOMAIN"') >= 1
    assert metric(a, "streamdns_authd_ready") == 1
    assert metric(a, "streamdns_authd_zones") == 2
    assert metric(a, "streamdns_authd_events_applied_total") == len(
        rrset_events(EXAMPLE + EXAMPLE_NET))
    assert metric(a, "streamdns_authd_answer_duration_seconds_count") >= 6


def test_zones_json_and_independent_zonemd(env):
    _, a, _ = env
    z = zones(a)
    byname = {x["name"]: x for x in z["zones"]}
    assert set(byname) == {"example.com.", "example.net."}
    assert byname["example.net."]["serial"] == 7
    assert byname["example.net."]["rrsets"] == 3 and byname["example.net."]["records"] == 3
    assert sum(int(v) for v in z["offsets"].values()) == len(rrset_events(EXAMPLE + EXAMPLE_NET))
    # An independent ZONEMD (dnspython) over the same records as a master file.
    for origin, records in (("example.com.", EXAMPLE), ("example.net.", EXAMPLE_NET)):
        zone = dns.zone.from_text(zone_file(origin, records), origin=origin, relativize=False,
                                  check_origin=False)
        want = zone.compute_digest(dns.zonetypes.DigestHashAlgorithm.SHA512).digest.hex()
        assert byname[origin]["zonemd"] == want, origin


def test_ready_flips_after_catch_up():
    broker = Broker(topic="other", partitions=1)
    try:
        a = Authd(broker.address, topic="flip.topic")
        try:
            assert a.http("/ready")[0] == 503
            assert metric(a, "streamdns_authd_ready") == 0
            broker.produce([("flip.test.|SOA", [rr("flip.test.", "SOA", "a. b. 1 2 3 4 5")])],
                           topic="flip.topic")
            wait_until(lambda: a.http("/ready")[0] == 200, "GET /ready to give 200", 30,
                       log=a.read_log, proc=a.proc, interval=0.1)
            assert a.http("/ready") == (200, "ready\n")
        finally:
            a.stop()
    finally:
        broker.stop()


def test_two_instances_agree_after_burst(env):
    broker, a, _ = env
    b = Authd(broker.address)
    try:
        b.wait_ready()
        broker.produce(burst(10000))
        want_total = len(rrset_events(EXAMPLE + EXAMPLE_NET)) + 10000

        def both_caught_up():
            za, zb = zones(a), zones(b)
            done = all(sum(z["offsets"].values()) == want_total for z in (za, zb))
            return (za, zb) if done else None
        try:
            za, zb = wait_until(both_caught_up, "both instances to reach %d events"
                                % want_total, 90, log=b.read_log, proc=b.proc, interval=0.2)
        except AssertionError as e:
            raise AssertionError("%s\nfirst instance's log:\n%s"
                                 % (e, log_tail(a.read_log()))) from None
        assert za == zb
        assert any(x["name"] == "burst.test." and x["rrsets"] == 10000 for x in za["zones"])
    finally:
        b.stop()


def test_snapshot_restart_corrupt_and_foreign(env):
    broker, a, snap = env
    before = zones(a)
    a.stop()          # SIGTERM: a final snapshot
    assert os.path.getsize(snap) > 0
    a.start()
    a.wait_ready()
    assert "snapshot %s loaded" % snap in a.read_log()
    assert zones(a) == before
    assert metric(a, "streamdns_authd_events_applied_total") == 0  # nothing replayed
    a.stop()
    # Corrupt one octet in the middle: ignored, full replay, same state.
    with open(snap, "r+b") as f:
        f.seek(os.path.getsize(snap) // 2)
        c = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([c[0] ^ 0xff]))
    a.start()
    a.wait_ready()
    assert "ignored: checksum mismatch" in a.read_log()
    assert zones(a) == before
    assert metric(a, "streamdns_authd_events_applied_total") == sum(before["offsets"].values())
    # A snapshot of another topic is not used.
    broker.produce([("o.test.|SOA", [rr("o.test.", "SOA", "a. b. 1 2 3 4 5")])],
                   topic="streamdns.other")
    a.stop()          # the full replay's final snapshot replaces the corrupt one
    assert "snapshot %s written" % snap in a.read_log()
    foreign = snap + ".foreign"
    shutil.copy(snap, foreign)
    other = Authd(broker.address, topic="streamdns.other",
                  sections="[store]\nsnapshot = %s\n" % foreign)
    try:
        other.wait_ready()
        assert "belongs to another topic" in other.read_log()
        assert other.query("www.example.com.", "A").rcode() == dns.rcode.REFUSED
        other.wait_for("o.test.", "SOA", lambda r: r.answer)
    finally:
        other.stop()
        a.start()
        a.wait_ready()


def test_snapshot_offsets_gone_replays(env):
    """A snapshot whose offsets the broker no longer has (a recreated topic) is dropped."""
    broker, a, snap = env
    fresh = Broker(partitions=4)
    try:
        fresh.produce([("fresh.test.|SOA", [rr("fresh.test.", "SOA", "a. b. 1 2 3 4 5")])])
        c = Authd(fresh.address, sections="[store]\nsnapshot = %s\n" % snap)
        try:
            c.wait_ready()
            log = c.read_log()
            assert "snapshot offsets do not fit the topic" in log, log
            assert c.query("www.example.com.", "A").rcode() == dns.rcode.REFUSED
            c.wait_for("fresh.test.", "SOA", lambda r: r.answer)
        finally:
            c.stop()
    finally:
        fresh.stop()


def test_sighup_invalid_config_keeps_running(env):
    _, a, _ = env
    with open(a.conf) as f:
        good = f.read()
    try:
        with open(a.conf, "w") as f:
            f.write(good + "\n[server]\nnot a valid line\n")
        a.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "keeping the running configuration" in a.read_log(),
                   "authd to reject the invalid configuration on SIGHUP", 15,
                   log=a.read_log, proc=a.proc)
        assert a.proc.poll() is None
        assert a.query("www.example.com.", "A").answer
        with open(a.conf, "w") as f:
            f.write(good.replace("level = info", "level = debug"))
        reloads = a.read_log().count("SIGHUP: reloaded")
        a.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: a.read_log().count("SIGHUP: reloaded") > reloads,
                   "authd to reload the valid configuration on SIGHUP", 15,
                   log=a.read_log, proc=a.proc)
    finally:
        with open(a.conf, "w") as f:
            f.write(good)


def test_token_statsd_and_json_logs(env):
    broker, _, _ = env
    d = tempfile.mkdtemp()
    token = os.path.join(d, "token")
    with open(token, "w") as f:
        f.write("s3cret-token\n")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    a = Authd(broker.address, sections="[admin]\ntoken-file = %s\n[metrics]\nstatsd = "
              "127.0.0.1:%d\nstatsd-interval = 200ms\n[log]\nformat = json\n"
              % (token, sock.getsockname()[1]))
    try:
        a.wait_ready()
        assert a.http("/metrics")[0] == 401
        assert a.http("/metrics", token="wrong")[0] == 401
        assert a.http("/metrics", token="s3cret-token")[0] == 200
        data, deadline = "", time.time() + 30
        while "streamdns_authd_ready:1|g" not in data and time.time() < deadline:
            dgram = sock.recv(65535).decode()      # statsd-interval is 200ms
            assert len(dgram) <= 1400 and dgram.endswith("\n")
            data += dgram
        assert "streamdns.authd.streamdns_authd_ready:1|g" in data, \
            "no ready gauge in 30 s of statsd datagrams:\n" + data[-2000:]
        assert "|g" in data
        lines = [l for l in a.read_log().splitlines() if l.strip()]
        assert lines and all(json.loads(l)["prog"] == "streamdns-authd" for l in lines)
    finally:
        a.stop()
        sock.close()
        shutil.rmtree(d, ignore_errors=True)


def test_grafana_dashboard_uses_real_metrics(env):
    """Every metric the shipped dashboard queries is one authd exports."""
    import re
    path = os.path.join(os.path.dirname(__file__), "..", "..", "etc", "grafana-authd.json")
    with open(path) as f:
        dash = json.load(f)
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    used = set(re.findall(r"streamdns_authd_[a-z_]+", " ".join(exprs)))
    _, body = env[1].http("/metrics")
    exported = set(re.findall(r"^(streamdns_authd_[a-z_]+)", body, re.M))
    assert used and used <= exported, used - exported
