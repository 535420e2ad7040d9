"""[zones] serial = topic (the default): one serial per topic, on every instance.

The expected serial is computed here from the topic itself, read with kcat (partition,
offset and key of every event): the SOA event's own serial plus, for each partition, 1 +
the highest offset of an event at or below the apex. Two instances that started at
different times, one restarted from a snapshot, must all serve that value, and every change
to the zone (a set, a tombstone) must raise it.
"""
import json
import os
import shutil
import subprocess
import tempfile

import dns.rcode
import pytest

from streamdns import BUILD, Authd, Broker, rr, wait_until

CTL = os.path.join(BUILD, "streamdns-ctl")
ZONE = "ser.test."
OTHER = "other.test."


def soa(zone, serial):
    return ("%s|SOA" % zone, [rr(zone, "SOA", "ns.%s h.%s %d 3600 900 604800 60"
                                 % (zone, zone, serial), 3600)])


def a_event(name, addr):
    return ("%s|A" % name, [rr(name, "A", addr)])


def topic_log(broker):
    """[(partition, offset, key, value)] of every event, read with kcat."""
    p = subprocess.run(["kcat", "-C", "-b", broker.address, "-t", broker.topic, "-e", "-q",
                        "-f", "%p\t%o\t%k\t%s\n"], capture_output=True, text=True,
                       timeout=30, check=True)
    out = []
    for line in p.stdout.splitlines():
        part, off, key, value = line.split("\t", 3)
        out.append((int(part), int(off), key, value))
    return out


def expected_serial(broker, zone):
    """The serial the topic gives zone, computed independently of authd."""
    base, nxt = None, {}
    for part, off, key, value in topic_log(broker):
        owner = key.split("|")[0]
        if owner != zone and not owner.endswith("." + zone):
            continue
        nxt[part] = max(nxt.get(part, 0), off + 1)
        if key == zone + "|SOA" and value:
            base = int(json.loads(value)[0]["content"].split()[2])
    assert base is not None
    return (base + sum(nxt.values())) % 2**32


def served_serial(a, zone):
    r = a.query(zone, "SOA")
    assert r.rcode() == dns.rcode.NOERROR and r.answer, r
    return r.answer[0][0].serial


def wait_serial(a, zone, want):
    return wait_until(lambda: served_serial(a, zone) == want,
                      "authd on port %d to serve %s with serial %d" % (a.port, zone, want),
                      15, log=a.read_log, proc=a.proc)


@pytest.fixture(scope="module")
def env():
    broker = Broker(partitions=3)
    broker.produce([soa(ZONE, 2024010101), soa(OTHER, 5)] +
                   [a_event("h%d.%s" % (i, ZONE), "192.0.2.%d" % i) for i in range(20)] +
                   [a_event("x.%s" % OTHER, "192.0.2.1")])
    snapdir = tempfile.mkdtemp(prefix="serials-")
    snap = os.path.join(snapdir, "authd.snap")
    a = Authd(broker.address, serial=None,
              sections="[store]\nsnapshot = %s\nsnapshot-interval = 1h\n" % snap)
    a.wait_ready()
    # More events before the second instance starts: it replays them in one go.
    broker.produce([a_event("late%d.%s" % (i, ZONE), "198.51.100.%d" % i) for i in range(5)])
    b = Authd(broker.address, serial=None)
    b.wait_ready()
    yield broker, a, b, snap
    a.stop()
    b.stop()
    broker.stop()
    shutil.rmtree(snapdir, ignore_errors=True)


def test_every_instance_serves_the_topics_serial(env):
    broker, a, b, _ = env
    want = expected_serial(broker, ZONE)
    # Above the SOA event's own serial: a secondary moved from as-is does not go back.
    assert want > 2024010101
    wait_serial(a, ZONE, want)
    wait_serial(b, ZONE, want)
    assert served_serial(a, OTHER) == served_serial(b, OTHER) == expected_serial(broker, OTHER)


def test_every_change_raises_it_on_every_instance(env):
    broker, a, b, _ = env
    before, other = expected_serial(broker, ZONE), expected_serial(broker, OTHER)
    for events in ([a_event("new.%s" % ZONE, "203.0.113.1")],      # a set
                   [("h3.%s|A" % ZONE, None)],                       # a tombstone
                   [a_event("h4.%s" % ZONE, "203.0.113.4")]):        # a replacement
        broker.produce(events)
        want = expected_serial(broker, ZONE)
        assert want != before
        assert (want - before) % 2**32 < 2**31       # RFC 1982: greater
        wait_serial(a, ZONE, want)
        wait_serial(b, ZONE, want)
        before = want
    # A zone no event touched keeps its serial.
    assert served_serial(a, OTHER) == served_serial(b, OTHER) == other
    # The ZONEMD digests of both instances agree (the SOA is part of them).
    za, zb = a.http("/zones"), b.http("/zones")
    assert za[0] == zb[0] == 200
    assert [z for z in json.loads(za[1])["zones"] if z["name"] == ZONE] == \
        [z for z in json.loads(zb[1])["zones"] if z["name"] == ZONE]


def test_restart_from_snapshot_keeps_it(env):
    broker, a, b, _ = env
    want = expected_serial(broker, ZONE)
    wait_serial(a, ZONE, want)
    a.stop()
    a.start()
    a.wait_ready()
    assert "resuming from its offsets" in a.read_log().split("starting")[-1]
    assert served_serial(a, ZONE) == want
    broker.produce([a_event("after.%s" % ZONE, "203.0.113.9")])
    want = expected_serial(broker, ZONE)
    wait_serial(a, ZONE, want)
    wait_serial(b, ZONE, want)


def test_as_is_serves_the_events_serial(env):
    broker, _, _, _ = env
    c = Authd(broker.address, serial="as-is")
    try:
        c.wait_ready()
        wait_serial(c, ZONE, 2024010101)
        assert served_serial(c, OTHER) == 5
    finally:
        c.stop()


def test_bad_policy_is_a_config_error(tmp_path):
    conf = tmp_path / "authd.ini"
    conf.write_text("[kafka]\nbrokers = 127.0.0.1:9\n[zones]\nserial = unixtime\n")
    p = subprocess.run([os.path.join(BUILD, "streamdns-authd"), "-c", str(conf),
                        "--check-config"], capture_output=True, text=True, timeout=30)
    assert p.returncode != 0
    assert "authd.ini:4: serial: 'unixtime' is not topic or as-is" in p.stderr, p.stderr
