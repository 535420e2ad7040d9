"""streamdns-ctl against a real broker: import, dump, prune, set/delete/watch/status, failures."""
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

import types

import dns.name
import dns.rcode
import dns.rdata
import dns.rdatatype
import dns.rdtypes.ANY.RP
import dns.rdtypes.dnskeybase
import dns.zone
import pytest

from streamdns import BUILD, Authd, Broker, free_port

CTL = os.path.join(BUILD, "streamdns-ctl")
BENCH = os.path.join(os.path.dirname(__file__), "..", "..", "bench")

# Every type authd takes, in the forms BIND and NSD files use: parentheses, comments,
# relative names, escapes, RFC 3597 data, $INCLUDE with an origin. NULL (type 10) is left
# out: common/event.c cannot decode it (see docs/ARCHITECTURE.md).
MAIN_ZONE = r"""; round trip: every type, as a BIND file would have it
$ORIGIN rt.test.
$TTL 3600
@ IN SOA ns1 hostmaster.rt.test. ( 2024010101 ; serial
        3600 900 604800 300 )
@ NS ns1
@ NS ns2.example.net.
ns1 A 192.0.2.53
www 300 A 192.0.2.1
www 300 A 192.0.2.2
WWW 300 A 192.0.2.2
www AAAA 2001:db8::1
alias CNAME www
* A 192.0.2.99
mail MX 10 mx1
mail MX 20 mx2.example.net.
txt TXT "hello world" "quote \" backslash \\ octets \255\195\169"
txt TXT plain
a\.dot TXT "escaped dot in the owner"
sp\032ace TXT "escaped space in the owner"
MixedCase TXT "owner in mixed case"
ptr PTR www
hinfo HINFO "PC" "Linux"
minfo MINFO admin errors
rp RP admin.rt.test. txt
afsdb AFSDB 1 afs
rt RT 10 relay
key KEY \# 73 0100030803010001cddf2bc87c90c986e0be13d2c624d8aef2eec0e62b1ee5f31d22274431ef2178abdb16d5ed90e557fa83c8748f69389ba9fca74af6b78bfac7ccf40760f817a1fc
loc LOC 52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m
_sip._udp SRV 0 5 5060 sip
naptr NAPTR 100 10 "S" "SIP+D2U" "" _sip._udp
kx KX 10 kx
cert CERT PGP 0 0 AAECAwQF
dname DNAME example.net.
apl APL 1:192.168.32.0/21 !1:192.168.38.0/28 2:2001:db8::/32
ds DS 60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118
sshfp SSHFP 4 2 123456789abcdef67890123456789abcdef67890123456789abcdef123456789
ipseckey IPSECKEY 10 1 2 192.0.2.38 AQNRU3mG7TVTO2BkR47usntb102uFJtugbo6BSGvgqt4AQ==
rrsig RRSIG A 8 3 300 20250101000000 20240101000000 12345 rt.test. dGVzdHNpZ25hdHVyZQ==
nsec NSEC www.rt.test. A NS SOA MX RRSIG NSEC DNSKEY
@ DNSKEY 257 3 8 AwEAAc3fK8h8kMmG4L4T0sYk2K7y7sDmKx7l8x0iJ0Qx7yF4q9sW1e2Q5Vf6g8h0j2k4m6n8p0r2t4v6x8z0B2D4F6H8
dhcid DHCID AAIBY2/AuCccgoJbsaxcQc9TUapptP69lOjxfNuVAA2kjEA=
nsec3 NSEC3 1 1 10 AABBCCDD 2VPTU5TIMAMQTTGL4LUU9KG21E0AOR3S A RRSIG
@ NSEC3PARAM 1 0 10 AABBCCDD
_443._tcp.www TLSA 3 1 1 2bb183af5f22588179a53b0a98631fad1a292118aabbccddeeff001122334455
smimea SMIMEA 3 1 1 2bb183af5f22588179a53b0a98631fad1a292118aabbccddeeff001122334455
@ CDS 60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118
@ CDNSKEY 257 3 8 AwEAAc3fK8h8kMmG4L4T0sYk2K7y7sDmKx7l8x0iJ0Qx7yF4q9sW1e2Q5Vf6g8h0j2k4m6n8p0r2t4v6x8z0B2D4F6H8
openpgp OPENPGPKEY AQIDBAUGBwgJ
@ CSYNC 66 3 A NS AAAA
@ ZONEMD 2024010101 1 1 ( 0123456789abcdef0123456789abcdef0123456789abcdef
                          0123456789abcdef0123456789abcdef0123456789abcdef )
svc SVCB 1 svc-target alpn=h2,h3 port=8443 ipv4hint=192.0.2.1
@ HTTPS 1 . alpn=h2
spf SPF "v=spf1 -all"
nid NID 10 0014:4fff:ff20:ee64
l32 L32 10 10.1.2.0
l64 L64 10 2001:0db8:1140:1000
lp LP 10 l64
eui48 EUI48 00-00-5e-00-53-2a
eui64 EUI64 00-00-5e-ef-10-00-00-2a
uri URI 10 1 "ftp://ftp1.example.com/public"
@ CAA 0 issue "ca.example.net"
unknown TYPE65280 \# 4 0A000001
$INCLUDE inc.zone sub.rt.test.
after A 192.0.2.200
"""

INC_ZONE = """; included with the origin sub.rt.test.
host A 198.51.100.1
@ MX 5 host
"""



def _teach_dnspython():
    """dnspython 2.3 has no class for MINFO and KEY: their layouts are RP's (two names,
    RFC 1035 3.3.7) and DNSKEY's (RFC 2535 3.1), so those classes read them."""
    for name, base in (("MINFO", dns.rdtypes.ANY.RP.RP),
                       ("KEY", dns.rdtypes.dnskeybase.DNSKEYBase)):
        if dns.rdata.get_rdata_class(1, dns.rdatatype.from_text(name)) is dns.rdata.GenericRdata:
            mod = types.ModuleType(name.lower())
            setattr(mod, name, type(name, (base,), {}))
            dns.rdata.register_type(mod, dns.rdatatype.from_text(name), name)


_teach_dnspython()

# libknot's table (the one authd uses) without its meta types and NULL, plus an unknown one.
EVERY_TYPE = set("""A NS CNAME SOA PTR HINFO MINFO MX TXT RP AFSDB RT KEY AAAA LOC SRV NAPTR
    KX CERT DNAME APL DS SSHFP IPSECKEY RRSIG NSEC DNSKEY DHCID NSEC3 NSEC3PARAM TLSA SMIMEA
    CDS CDNSKEY OPENPGPKEY CSYNC ZONEMD SVCB HTTPS SPF NID L32 L64 LP EUI48 EUI64 URI CAA
    TYPE65280""".split())


def ctl(broker, *args, timeout=60, check=True, global_args=()):
    p = subprocess.run([CTL, "-b", broker.address, "-t", broker.topic, *global_args, *args],
                       capture_output=True, text=True, timeout=timeout)
    if check:
        assert p.returncode == 0, "ctl %s: rc %d\n%s%s" % (args, p.returncode, p.stdout,
                                                            p.stderr)
    return p


def summary(out):
    """The counts of import's summary line."""
    m = re.search(r"(?:produced|would produce) (\d+), unchanged (\d+), "
                  r"(?:deleted|would delete) (\d+), failed (\d+)", out)
    assert m, out
    return tuple(int(x) for x in m.groups())


def topic_keys(broker, topic=None):
    """Every key in the topic, read by kcat (an independent Kafka client)."""
    p = subprocess.run(["kcat", "-C", "-b", broker.address, "-t", topic or broker.topic,
                        "-o", "beginning", "-e", "-q", "-f", "%k\n"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return [k for k in p.stdout.split("\n") if k]


def rrsets(path, origin=None):
    """{(name, type): (ttl, rdatas)} as dnspython reads the file (an independent parser)."""
    cwd = os.getcwd()
    os.chdir(os.path.dirname(path))  # dnspython opens $INCLUDE relative to the cwd
    try:
        z = dns.zone.from_file(path, origin=origin, relativize=False, allow_include=True,
                               check_origin=False)
    finally:
        os.chdir(cwd)
    out = {}
    for name, rds in z.iterate_rdatasets():
        out[(name, rds.rdtype)] = (rds.ttl, frozenset(rds))
    return out


def write(d, name, text):
    path = os.path.join(d, name)
    with open(path, "w") as f:
        f.write(text)
    return path


@pytest.fixture(scope="module")
def unreachable():
    """Started first, checked last: the default timeout runs alongside the other tests."""
    t0 = time.time()
    p = subprocess.Popen([CTL, "-b", "127.0.0.1:%d" % free_port(), "status"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    yield p, t0
    if p.poll() is None:
        p.kill()
        p.wait()


@pytest.fixture(scope="module")
def env(unreachable):
    d = tempfile.mkdtemp(prefix="ctl-")
    write(d, "inc.zone", INC_ZONE)
    main = write(d, "main.zone", MAIN_ZONE)
    broker = Broker(partitions=4)
    yield broker, d, main
    broker.stop()


@pytest.fixture(scope="module")
def imported(env):
    broker, d, main = env
    p = ctl(broker, "import", main)
    produced, unchanged, deleted, failed = summary(p.stdout)
    assert (unchanged, deleted, failed) == (0, 0, 0)
    return produced


def test_round_trip_every_type(env, imported):
    broker, d, main = env
    p = ctl(broker, "dump", "rt.test.")
    dump = write(d, "dump.zone", p.stdout)
    assert re.search(r"^rt\.test\.\t3600\tIN\tSOA\t", p.stdout, re.M)
    before = rrsets(main)
    after = rrsets(dump, origin="rt.test.")
    assert after == before
    assert imported == len(before)
    assert {dns.rdatatype.to_text(t) for _, t in before} == EVERY_TYPE
    # Importing the dump changes nothing.
    assert summary(ctl(broker, "import", dump).stdout) == (0, imported, 0, 0)


def test_dump_is_in_canonical_order(env, imported):
    broker, _, _ = env
    names = [dns.name.from_text(line.split("\t")[0])
             for line in ctl(broker, "dump", "rt.test").stdout.splitlines()
             if line and not line.startswith(";")]
    assert names == sorted(names)          # dnspython orders names as RFC 4034 6.1 does
    assert names[0] == dns.name.from_text("rt.test.")
    assert ctl(broker, "dump", "rt.test").stdout == ctl(broker, "dump", "rt.test.").stdout


def test_authd_serves_what_was_imported(env, imported):
    broker, _, main = env
    authd = Authd(broker.address, topic=broker.topic)
    try:
        authd.wait_ready()
        r = authd.wait_for("www.rt.test.", "A", lambda r: r.answer)
        assert sorted(x.to_text() for x in r.answer[0]) == ["192.0.2.1", "192.0.2.2"]
        r = authd.query("txt.rt.test.", "TXT")
        assert sorted(x.to_text() for x in r.answer[0]) == [
            '"hello world" "quote \\" backslash \\\\ octets \\255\\195\\169"', '"plain"']
        assert authd.query("a\\.dot.rt.test.", "TXT").answer
        assert authd.query("nothing-here.rt.test.", "A").answer[0][0].to_text() == \
            "192.0.2.99"
        assert authd.query("host.sub.rt.test.", "A").answer
        # Every RRset, as authd sends it, equals the file's.
        for (name, rtype), (ttl, rdatas) in rrsets(main).items():
            if rtype in (dns.rdatatype.DNAME, dns.rdatatype.CNAME) or \
                    name.is_subdomain(dns.name.from_text("sub.rt.test.")):
                continue        # answered with synthesis or from the included part
            r = authd.query(name, rtype, tcp=True)
            assert r.answer and frozenset(r.answer[0]) == rdatas, (name, rtype, r)
        # A change made with set reaches authd.
        ctl(broker, "set", "www.rt.test.", "A", "60", "192.0.2.77")
        authd.wait_for("www.rt.test.", "A",
                       lambda r: [x.to_text() for x in r.answer[0]] == ["192.0.2.77"])
        # www keeps its AAAA, so the wildcard does not apply: NODATA.
        ctl(broker, "delete", "www.rt.test", "a")
        authd.wait_for("www.rt.test.", "A",
                       lambda r: not r.answer and r.rcode() == dns.rcode.NOERROR)
    finally:
        authd.stop()


def test_prune_makes_the_topic_equal_to_the_file(env):
    broker, d, _ = env
    # A BIND-style file without $ORIGIN: the origin comes from the command line.
    v1 = write(d, "p1.zone", "$TTL 60\n@ SOA ns hm 1 60 60 60 60\n@ NS ns\nns A 192.0.2.1\n"
               "a A 192.0.2.2\nb A 192.0.2.3\nb TXT \"b\"\nc MX 1 ns\n")
    p = ctl(broker, "import", "--origin", "prune.test", v1)
    assert summary(p.stdout) == (7, 0, 0, 0)
    # A child zone served from the same topic is not the parent file's to prune.
    ctl(broker, "set", "child.prune.test.", "SOA", "60", "ns.child.prune.test. hm 1 1 1 1 1")
    ctl(broker, "set", "x.child.prune.test.", "A", "60", "192.0.2.50")
    v2 = write(d, "p2.zone", "$TTL 60\n@ SOA ns hm 2 60 60 60 60\n@ NS ns\nns A 192.0.2.1\n"
               "a A 192.0.2.22\nd AAAA 2001:db8::d\n")
    p = ctl(broker, "import", "--origin", "prune.test.", "--prune", "--dry-run", v2)
    assert summary(p.stdout) == (3, 2, 3, 0)
    p = ctl(broker, "import", "--origin", "prune.test.", "--prune", v2)
    assert summary(p.stdout) == (3, 2, 3, 0)
    dump = write(d, "p2.dump", ctl(broker, "dump", "prune.test.").stdout)
    assert rrsets(dump, origin="prune.test.") == rrsets(v2, origin="prune.test.")
    assert "x.child.prune.test." in ctl(broker, "dump", "child.prune.test.").stdout
    # Once more: nothing to do.
    assert summary(ctl(broker, "import", "--origin", "prune.test.", "--prune", v2).stdout) \
        == (0, 5, 0, 0)
    # --prune without the zone's SOA in the file would delete the zone: refused.
    v3 = write(d, "p3.zone", "$TTL 60\na A 192.0.2.22\n")
    p = ctl(broker, "import", "--origin", "prune.test.", "--prune", v3, check=False)
    assert p.returncode == 1 and "--prune needs the SOA" in p.stderr


def test_set_delete_watch_status(env, imported):
    broker, _, _ = env
    w = subprocess.Popen([CTL, "-b", broker.address, "watch", "--count", "4"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "watching" in w.stderr.readline()
        p = ctl(broker, "set", "mx.rt.test.", "MX", "300", "10 mail.rt.test.",
                "20 mx2.example.net.")
        assert "2 record(s)" in p.stdout
        ctl(broker, "delete", "mx.rt.test.", "MX")
        # ctl refuses what authd would reject, and produces nothing.
        p = ctl(broker, "set", "bad.rt.test.", "A", "300", "192.0.2.300", check=False)
        assert p.returncode == 1 and "invalid IPv4" in p.stderr
        p = ctl(broker, "set", "c.rt.test.", "CNAME", "300", "a.", "b.", check=False)
        assert p.returncode == 1 and "exactly one record" in p.stderr
        # An event from another producer that authd rejects: watch says why.
        broker.produce([("MX.rt.test.|MX", '[{"name":"mx.rt.test.","type":"MX",'
                         '"content":"10 m.","ttl":1}]'),
                        ("ok.rt.test.|TXT", [{"name": "ok.rt.test.", "type": "TXT",
                                              "content": '"x"', "ttl": 5}])])
        out, _ = w.communicate(timeout=20)
    finally:
        if w.poll() is None:
            w.kill()
    # Partitions interleave arbitrarily; one key's events keep their order.
    lines = out.splitlines()
    i = [n for n, x in enumerate(lines) if re.match(r"\d+:\d+ mx\.rt\.test\.\|MX$", x)]
    assert len(i) == 1, out
    i = i[0]
    assert "\tMX\t10 mail.rt.test." in lines[i + 1], out
    assert "\tMX\t20 mx2.example.net." in lines[i + 2], out
    assert any(re.match(r"\d+:\d+ mx\.rt\.test\.\|MX deleted$", x) for x in lines[i + 3:])
    assert any("MX.rt.test.|MX rejected (key)" in x for x in lines), out
    assert "ok.rt.test." in out and "bad.rt.test" not in out

    p = ctl(broker, "status")
    assert re.search(r"topic %s at .*: 4 partition" % re.escape(broker.topic), p.stdout)
    assert len(re.findall(r"^\s+\d+\s+\d+\s+\d+$", p.stdout, re.M)) == 4
    assert re.search(r"zone rt\.test\.: \d+ RRsets, serial 2024010101", p.stdout)
    assert re.search(r"events: \d+ read, [1-9]\d* rejected", p.stdout)


def test_config_file_and_options(env, imported):
    broker, d, _ = env
    ini = write(d, "authd.ini", "[kafka]\nbrokers = %s\ntopic = %s\nsocket.timeout.ms = 5000\n"
                % (broker.address, broker.topic))
    p = subprocess.run([CTL, "-c", ini, "status"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0 and "zone rt.test." in p.stdout, p.stderr
    # The command line wins over the file.
    p = subprocess.run([CTL, "-c", ini, "-t", "other", "status"], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 1 and "topic other does not exist" in p.stderr
    bad = write(d, "bad.ini", "[kafka]\nbrokers = %s\nno.such.property = 1\n" % broker.address)
    p = subprocess.run([CTL, "-c", bad, "status"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 2 and "bad.ini:3: no.such.property" in p.stderr, p.stderr
    p = subprocess.run([CTL, "-b", broker.address, "--kafka", "acks=1", "status"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 2 and "acks=all" in p.stderr
    p = subprocess.run([CTL, "-b", broker.address, "--kafka", "socket.timeout.ms=5000",
                        "status"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    # Global options come before the command.
    p = subprocess.run([CTL, "status", "-b", broker.address], capture_output=True, text=True)
    assert p.returncode == 2
    p = subprocess.run([CTL, "--help"], capture_output=True, text=True)
    assert p.returncode == 0 and "import" in p.stdout and "--kafka" in p.stdout


def test_dump_of_everything_reimports_unchanged(env, imported):
    """Every zone of the topic in one file, through a pipe: importing it changes nothing."""
    broker, d, _ = env
    # A fragment without an SOA goes into an existing zone with --origin.
    frag = write(d, "frag.zone", "$TTL 120\nfrag A 192.0.2.120\n")
    assert summary(ctl(broker, "import", "--origin", "rt.test.", frag).stdout) == (1, 0, 0, 0)
    p = ctl(broker, "import", frag, check=False)
    assert p.returncode == 1 and "frag.zone:2: relative owner name" in p.stderr
    frag2 = write(d, "frag2.zone", "frag2.rt.test. 60 A 192.0.2.121\n")
    p = ctl(broker, "import", frag2, check=False)
    assert p.returncode == 1 and "no SOA record: give --origin" in p.stderr
    everything = ctl(broker, "dump").stdout
    assert "frag.rt.test.\t120\tIN\tA\t192.0.2.120" in everything
    assert "; every RRset of topic" in everything
    n = sum(1 for line in everything.splitlines() if line and not line.startswith(";"))
    p = subprocess.run([CTL, "-b", broker.address, "import", "-"], input=everything,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    produced, unchanged, deleted, failed = summary(p.stdout)
    assert (produced, deleted, failed) == (0, 0, 0) and unchanged > 50
    assert unchanged <= n


@pytest.fixture(scope="module")
def empty_broker():
    b = Broker(partitions=2)
    yield b
    b.stop()


BAD_FILES = [
    ("syntax.zone", "$ORIGIN bad.test.\n$TTL 60\n@ SOA ns hm 1 1 1 1 1\nok A 192.0.2.1\n"
     "bad A 192.0.2.300\n", ["syntax.zone:5: invalid IPv4 address"]),
    ("two.zone", "$ORIGIN bad.test.\n$TTL 60\n@ SOA ns hm 1 1 1 1 1\nc CNAME a\n"
     "x A 192.0.2.1\nc CNAME b\n", ["two.zone:4: c.bad.test. CNAME: a CNAME RRset must hold "
                                    "exactly one record, not 2"]),
    ("outside.zone", "$ORIGIN bad.test.\n$TTL 60\n@ SOA ns hm 1 1 1 1 1\n"
     "www.other.test. A 192.0.2.1\n", ["outside.zone:4: www.other.test. A: outside the zone"]),
    ("nottl.zone", "$ORIGIN bad.test.\n@ 60 SOA ns hm 1 1 1 1 1\nwww A 192.0.2.1\n",
     ["nottl.zone:3: no TTL"]),
    ("noorigin.zone", "$TTL 60\nbad.test. SOA ns.bad.test. hm.bad.test. 1 1 1 1 1\n"
     "www A 192.0.2.1\n", ["noorigin.zone:3: relative owner name"]),
    ("include.zone", "$ORIGIN bad.test.\n$TTL 60\n@ SOA ns hm 1 1 1 1 1\n"
     "$INCLUDE missing.zone\n", ["include.zone:4: $INCLUDE", "missing.zone"]),
    ("many.zone", "$ORIGIN bad.test.\n$TTL 60\n@ SOA ns hm 1 1 1 1 1\na A 1.2.3\n"
     "b MX mail\nc AAAA ::g\n", ["many.zone:4: ", "many.zone:5: ", "many.zone:6: "]),
]


@pytest.mark.parametrize("name,text,reasons", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_file_produces_nothing(empty_broker, tmp_path, name, text, reasons):
    path = write(str(tmp_path), name, text)
    p = ctl(empty_broker, "import", path, check=False)
    assert p.returncode == 1, p.stdout
    for reason in reasons:
        assert reason in p.stderr, p.stderr
    assert "nothing was produced" in p.stderr


def test_bad_files_left_the_topic_empty(empty_broker):
    """After every bad file above: not one event, as kcat (another client) sees it."""
    assert topic_keys(empty_broker) == []
    assert "events: 0 read" in ctl(empty_broker, "status").stdout


def test_missing_topic_fails_before_producing(empty_broker, tmp_path):
    path = write(str(tmp_path), "ok.zone", "$ORIGIN ok.test.\n$TTL 60\n"
                 "@ SOA ns hm 1 1 1 1 1\n")
    for args in (("import", path), ("set", "a.ok.test.", "A", "60", "192.0.2.1"),
                 ("delete", "a.ok.test.", "A"), ("dump",), ("status",), ("watch",)):
        p = subprocess.run([CTL, "-b", empty_broker.address, "-t", "no.such.topic", *args],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 1, args
        assert "topic no.such.topic does not exist" in p.stderr, (args, p.stderr)
    # Nothing asked for it by name, so not even a broker that auto-creates made it.
    p = subprocess.run(["kcat", "-L", "-b", empty_broker.address], capture_output=True,
                       text=True, timeout=30)
    assert "no.such.topic" not in p.stdout


def test_unreachable_broker_with_timeout(tmp_path):
    t0 = time.time()
    p = subprocess.run([CTL, "-b", "127.0.0.1:%d" % free_port(), "--timeout", "1500ms", "set",
                        "a.test.", "A", "60", "192.0.2.1"], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 1
    # --timeout took effect: it gave up, and said so, before the 10 s default (a busy
    # machine adds start-up time, not 8 s).
    assert time.time() - t0 < 10
    assert "cannot reach Kafka at 127.0.0.1:" in p.stderr and "within 1.5 s" in p.stderr
    assert "Connection refused" in p.stderr


def test_delivery_failure_names_what_was_not_delivered(tmp_path):
    """The broker stops answering after ctl checked the topic: every event unaccounted for
    is reported, by key, and the exit status says so."""
    path = str(tmp_path / "fail.zone")
    subprocess.run([sys.executable, os.path.join(BENCH, "genzone.py"), "--rrsets", "3000",
                    "--zone", "fail.test.", path], check=True)
    broker = Broker(partitions=2)
    stopped = False
    try:
        # linger.ms keeps the events in ctl for a second: the broker is frozen before any
        # of them can leave.
        p = subprocess.Popen([CTL, "-b", broker.address, "--timeout", "2s", "--kafka",
                              "linger.ms=1000", "import", "--progress", path],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        err = ""
        for line in p.stderr:
            err += line
            if "producing" in line:
                os.kill(broker.proc.pid, signal.SIGSTOP)
                stopped = True
                break
        assert stopped, err
        out, rest = p.communicate(timeout=30)
        err += rest
        assert p.returncode == 1, out + err
        produced, unchanged, deleted, failed = summary(out)
        assert failed > 0 and produced + failed == 3000, out
        assert "not delivered" in err and re.search(r"not delivered: h\d+\.fail\.test\.\|", err)
        assert "run the command again" in err
    finally:
        # Frozen, its clients gone: a graceful stop is not what this test is about.
        if stopped:
            os.kill(broker.proc.pid, signal.SIGCONT)
        broker.proc.kill()
        broker.proc.wait()


def test_default_timeout_is_bounded(unreachable):
    """Started when this module began: without --timeout, it must give up within 30 s."""
    p, t0 = unreachable
    out, err = p.communicate(timeout=max(1, 30 - (time.time() - t0)))
    assert p.returncode == 1
    assert time.time() - t0 < 30
    assert "cannot reach Kafka" in err
