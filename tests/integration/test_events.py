"""Events becoming answers: updates, deletes, rejected events, restarts, readiness."""

import dns.edns
import dns.flags
import dns.rcode
import pytest

from streamdns import Authd, Broker, rr, wait_until

SOA = "ns1.ev.test. hostmaster.ev.test. 1 3600 900 604800 60"


@pytest.fixture(scope="module")
def env():
    broker = Broker(partitions=4)
    broker.produce([
        ("ev.test.|SOA", [rr("ev.test.", "SOA", SOA, 3600)]),
        ("ev.test.|NS", [rr("ev.test.", "NS", "ns1.ev.test.")]),
        ("www.ev.test.|A", [rr("www.ev.test.", "A", "192.0.2.1")]),
    ])
    authd = Authd(broker.address)
    authd.wait_ready()
    authd.wait_for("www.ev.test.", "A", lambda r: r.answer)
    yield broker, authd
    authd.stop()
    broker.stop()


def answers(r):
    return sorted(x.to_text() for s in r.answer for x in s)


def test_update_becomes_visible(env):
    """How fast (produce -> answer, under query load) is bench/propagation.py's figure;
    a stopwatch here would measure how busy the machine is."""
    broker, authd = env
    broker.produce([("www.ev.test.|A", [rr("www.ev.test.", "A", "192.0.2.2"),
                                        rr("www.ev.test.", "A", "192.0.2.3")])])
    authd.wait_for("www.ev.test.", "A", lambda r: answers(r) == ["192.0.2.2", "192.0.2.3"])


def test_tombstone_and_empty_array_delete(env):
    broker, authd = env
    broker.produce([("gone.ev.test.|A", [rr("gone.ev.test.", "A", "192.0.2.9")]),
                    ("gone2.ev.test.|TXT", [rr("gone2.ev.test.", "TXT", '"x"')])])
    authd.wait_for("gone.ev.test.", "A", lambda r: answers(r) == ["192.0.2.9"])
    authd.wait_for("gone2.ev.test.", "TXT", lambda r: r.answer)
    broker.produce([("gone.ev.test.|A", None), ("gone2.ev.test.|TXT", [])])
    authd.wait_for("gone.ev.test.", "A", lambda r: r.rcode() == dns.rcode.NXDOMAIN)
    authd.wait_for("gone2.ev.test.", "TXT", lambda r: r.rcode() == dns.rcode.NXDOMAIN)


BAD = [
    ("www.ev.test.|A", "not json", "json"),
    ("www.ev.test.|A", '{"name":"www.ev.test."}', "json"),
    ("www.ev.test.|A", [rr("other.ev.test.", "A", "192.0.2.66")], "mismatch"),
    ("www.ev.test.|A", [rr("www.ev.test.", "A", "999.1.1.1")], "content"),
    ("www.ev.test.|A", [rr("www.ev.test.", "A", "192.0.2.66", ttl=-1)], "ttl"),
    ("WWW.ev.test.|A", [rr("www.ev.test.", "A", "192.0.2.66")], "key"),
    ("www.ev.test.|a", [rr("www.ev.test.", "A", "192.0.2.66")], "key"),
    ("www.ev.test.|A", [rr("www.ev.test.", "A", "192.0.2.66\n$INCLUDE /etc/passwd")],
     "content"),
]


def test_bad_events_rejected_and_zone_unchanged(env):
    broker, authd = env
    before = answers(authd.query("www.ev.test.", "A"))
    assert before
    broker.produce([(k, v) for k, v, _ in BAD])
    # A marker after the bad events: once it is visible, all of them were consumed.
    broker.produce([("marker.ev.test.|TXT", [rr("marker.ev.test.", "TXT", '"m"')])])
    # Keys may sit on other partitions than the marker: wait for every rejection line.
    wait_until(lambda: authd.read_log().count("event rejected") >= len(BAD),
               "authd to log %d rejected events" % len(BAD), 15, log=authd.read_log,
               proc=authd.proc)
    log = authd.read_log()
    for _, _, reason in BAD:
        assert ": %s: " % reason in log
    assert "partition" in log and "offset" in log
    assert answers(authd.query("www.ev.test.", "A")) == before
    assert authd.query("other.ev.test.", "A").rcode() == dns.rcode.NXDOMAIN
    assert authd.proc.poll() is None


def test_zone_appears_and_disappears_with_soa(env):
    broker, authd = env
    applied = authd.metrics()["streamdns_authd_events_applied_total"]
    broker.produce([("host.late.test.|A", [rr("host.late.test.", "A", "192.0.2.7")])])
    # Consumed (applied, not rejected) and still no zone for it: REFUSED.
    wait_until(lambda: authd.metrics()["streamdns_authd_events_applied_total"] > applied,
               "authd to apply the event for host.late.test.", 15, log=authd.read_log,
               proc=authd.proc)
    assert authd.query("host.late.test.", "A").rcode() == dns.rcode.REFUSED
    broker.produce([("late.test.|SOA", [rr("late.test.", "SOA", SOA.replace("ev", "late"))])])
    authd.wait_for("host.late.test.", "A", lambda r: answers(r) == ["192.0.2.7"])
    broker.produce([("late.test.|SOA", None)])
    authd.wait_for("host.late.test.", "A", lambda r: r.rcode() == dns.rcode.REFUSED)


def test_restart_replays_topic(env):
    broker, authd = env
    broker.produce([("www.ev.test.|A", [rr("www.ev.test.", "A", "192.0.2.200")]),
                    ("new.ev.test.|AAAA", [rr("new.ev.test.", "AAAA", "2001:db8::200")])])
    authd.wait_for("new.ev.test.", "AAAA", lambda r: r.answer)
    authd.wait_for("www.ev.test.", "A", lambda r: answers(r) == ["192.0.2.200"])
    authd.stop()
    authd.start()
    authd.wait_ready()
    assert answers(authd.query("www.ev.test.", "A")) == ["192.0.2.200"]
    assert answers(authd.query("new.ev.test.", "AAAA")) == ["2001:db8::200"]
    assert authd.query("gone.ev.test.", "A").rcode() == dns.rcode.NXDOMAIN


def test_not_ready_until_topic_exists():
    """No broker topic yet: SERVFAIL with EDE 14 (Not Ready), then ready once it exists."""
    broker = Broker(topic="other.topic", partitions=1)
    try:
        authd = Authd(broker.address, topic="late.topic")
        try:
            r = authd.query("www.ev.test.", "A", use_edns=0)
            assert r.rcode() == dns.rcode.SERVFAIL
            ede = [o for o in r.options if o.otype == dns.edns.EDE]
            assert ede and ede[0].code == 14
            wait_until(lambda: "retrying" in authd.read_log(),
                       "authd to log that it is retrying for the missing topic", 15,
                       log=authd.read_log, proc=authd.proc)
            broker.produce([("x.late.|SOA", [rr("x.late.", "SOA", SOA)])], topic="late.topic")
            authd.wait_ready(timeout=15)
            authd.wait_for("x.late.", "SOA", lambda r: r.answer)
        finally:
            authd.stop()
    finally:
        broker.stop()
