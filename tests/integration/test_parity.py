"""Seed parity and fleet identity: zone allow-list, instance-local records, identity
(NSID, CH TXT), admin search, Kafka security examples."""
import json
import os
import signal
import subprocess
import tempfile

import dns.edns
import dns.message
import dns.query
import dns.rcode
import dns.rdataclass
import pytest

from streamdns import BUILD, Authd, Broker, rrset_events, wait_until
from zones import EXAMPLE, EXAMPLE_NET

LOCAL = """$ORIGIN example.com.
$TTL 60
ns1 IN A 10.9.9.9
site-only IN TXT "only here"
$ORIGIN site.internal.
@ IN SOA ns.site.internal. h.site.internal. 5 3600 900 604800 60
@ IN NS ns.site.internal.
ns IN A 10.9.9.53
"""


@pytest.fixture(scope="module")
def env():
    broker = Broker(partitions=2)
    broker.produce(rrset_events(EXAMPLE + EXAMPLE_NET))
    d = tempfile.mkdtemp()
    local = os.path.join(d, "local.zone")
    with open(local, "w") as f:
        f.write(LOCAL)
    a = Authd(broker.address,
              extra="identity = inst-a\nnsid = yes\nversion = streamdns-test-1",
              sections="[zones]\nserve = example.com., site.internal.\n"
                       "[local]\nzone-file = %s\n" % local)
    a.wait_ready()
    a.wait_for("www.example.com.", "A", lambda r: r.answer)
    plain = Authd(broker.address, extra="identity-queries = no")
    plain.wait_ready()
    plain.wait_for("www.example.com.", "A", lambda r: r.answer)
    yield broker, a, plain, local
    a.stop()
    plain.stop()
    broker.stop()


def answers(r):
    return sorted(x.to_text() for s in r.answer for x in s)


def test_allow_list(env):
    _, a, plain, _ = env
    assert a.query("www.example.net.", "A").rcode() == dns.rcode.REFUSED
    assert plain.query("www.example.net.", "A").answer
    z = {x["name"]: x["served"] for x in json.loads(a.http("/zones")[1])["zones"]}
    assert z == {"example.com.": True, "example.net.": False}


def test_local_records_override_and_local_zone(env):
    _, a, plain, _ = env
    assert answers(a.query("ns1.example.com.", "A")) == ["10.9.9.9"]
    assert answers(plain.query("ns1.example.com.", "A")) == ["192.0.2.1"]
    assert answers(a.query("site-only.example.com.", "TXT")) == ['"only here"']
    r = a.query("ns.site.internal.", "A")
    assert r.rcode() == dns.rcode.NOERROR and answers(r) == ["10.9.9.53"]
    assert a.query("nope.site.internal.", "A").rcode() == dns.rcode.NXDOMAIN
    # Local data is this instance's own: the topic's digests stay equal across the fleet.
    za = {x["name"]: x["zonemd"] for x in json.loads(a.http("/zones")[1])["zones"]}
    zp = {x["name"]: x["zonemd"] for x in json.loads(plain.http("/zones")[1])["zones"]}
    assert za["example.com."] == zp["example.com."]


def test_sighup_reloads_local_and_serve_and_keeps_them_on_errors(env):
    _, a, _, local = env
    with open(local) as f:
        good = f.read()
    with open(a.conf) as f:
        conf = f.read()
    try:
        with open(local, "w") as f:
            f.write(good + "broken IN A 999.1.1.1\n")
        a.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "local.zone:9:" in a.read_log(),
                   "authd to report the bad line local.zone:9 on SIGHUP", 15,
                   log=a.read_log, proc=a.proc)
        assert answers(a.query("ns1.example.com.", "A")) == ["10.9.9.9"]
        with open(local, "w") as f:
            f.write(good.replace("10.9.9.9", "10.8.8.8"))
        with open(a.conf, "w") as f:
            f.write(conf.replace("serve = example.com., site.internal.",
                                 "serve = example.net., site.internal."))
        a.proc.send_signal(signal.SIGHUP)
        a.wait_for("www.example.net.", "A", lambda r: r.answer)
        assert a.query("www.example.com.", "A").rcode() == dns.rcode.REFUSED
        assert answers(a.query("ns.site.internal.", "A")) == ["10.9.9.53"]
    finally:
        with open(local, "w") as f:
            f.write(good)
        with open(a.conf, "w") as f:
            f.write(conf)
        a.proc.send_signal(signal.SIGHUP)
        a.wait_for("ns1.example.com.", "A", lambda r: answers(r) == ["10.9.9.9"])


def chaos(a, name):
    q = dns.message.make_query(name, "TXT", rdclass=dns.rdataclass.CH)
    return dns.query.udp(q, "127.0.0.1", port=a.port, timeout=2)


def test_identity_nsid_and_chaos(env):
    _, a, plain, _ = env
    q = dns.message.make_query("www.example.com.", "A", use_edns=0,
                               options=[dns.edns.GenericOption(dns.edns.NSID, b"")])
    r = dns.query.udp(q, "127.0.0.1", port=a.port, timeout=2)
    nsid = [o for o in r.options if o.otype == dns.edns.NSID]
    assert nsid and (nsid[0].data if hasattr(nsid[0], "data") else nsid[0].nsid) == b"inst-a"
    r = dns.query.udp(q, "127.0.0.1", port=plain.port, timeout=2)
    assert not [o for o in r.options if o.otype == dns.edns.NSID]     # nsid = no
    for name in ("id.server.", "hostname.bind."):
        r = chaos(a, name)
        assert r.rcode() == dns.rcode.NOERROR and answers(r) == ['"inst-a"']
        assert r.answer[0].rdclass == dns.rdataclass.CH
        assert chaos(plain, name).rcode() == dns.rcode.REFUSED   # identity-queries = no
    assert answers(chaos(a, "version.bind.")) == ['"streamdns-test-1"']
    assert chaos(plain, "version.bind.").rcode() == dns.rcode.REFUSED   # no version set
    assert chaos(a, "other.bind.").rcode() == dns.rcode.REFUSED
    zones = json.loads(a.http("/zones")[1])
    assert zones["identity"] == "inst-a"
    assert 'identity="inst-a"' in a.http("/metrics")[1]


def test_admin_search(env):
    _, a, _, _ = env
    status, body = a.http("/search?name=*.example.com&type=A")
    assert status == 200
    res = json.loads(body)
    names = sorted(x["name"] for x in res["rrsets"])
    assert "www.example.com." in names and "ns1.example.com." in names
    assert all(x["type"] == "A" for x in res["rrsets"])
    ns1 = [x for x in res["rrsets"] if x["name"] == "ns1.example.com."]
    assert {x["local"] for x in ns1} == {True, False}     # local layer and topic both shown
    www = [x for x in res["rrsets"] if x["name"] == "www.example.com."][0]
    assert sorted(r["content"] for r in www["records"]) == ["192.0.2.10", "192.0.2.11"]
    assert not res["truncated"]
    res = json.loads(a.http("/search?name=*&limit=3")[1])
    assert len(res["rrsets"]) == 3 and res["truncated"]
    assert a.http("/search")[0] == 400
    assert a.http("/search?name=x&type=NOPE")[0] == 400


@pytest.mark.parametrize("name", ["authd-sasl-scram.ini", "authd-mtls.ini"])
def test_kafka_security_examples_check(name):
    path = os.path.join(os.path.dirname(__file__), "..", "..", "etc", name)
    p = subprocess.run([os.path.join(BUILD, "streamdns-authd"), "-c", path,
                        "--check-config"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
