"""RFC 2136 dynamic UPDATE on authd: two instances on one topic take TSIG-signed updates
from nsupdate, knsupdate, dnspython and certbot's rfc2136 plugin; prerequisites (3.2),
the update semantics of 3.4 (CNAME rules, apex SOA and NS protection, SOA serials),
refusals and malformed zone sections; concurrent updates through both instances; the
events they produce (`streamdns-ctl dump`) replayed by a third, fresh instance.

An instance answers NOERROR only once it serves the change, so the instance that took an
update is asked right away; the other one is polled until it has it.
"""
import concurrent.futures
import os
import socket
import struct
import subprocess
import time

import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.query
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.serial
import dns.tsig
import dns.tsigkeyring
import dns.update
import pytest

from streamdns import BUILD, Authd, Broker, rrset_events, wait_until
from test_tsig import exchange, sign_request, split_tsig

CTL = os.path.join(BUILD, "streamdns-ctl")
TOPIC = "streamdns.zones"
ZONE = "upd.test."
SECOND = "second.test."
KEY = "upd-key."
OTHER_KEY = "other-key."
SECRET = "2v0yTDE8Gg3Oq2b4z1J6ewK8cB2H7fYzmQwq0aOZ5Gs="
OTHER_SECRET = "bWFkZSB1cCBmb3IgdGhlIHRlc3Qgb2YgYSB3cm9uZyBrZXk="
WRONG_SECRET = "AAAATDE8Gg3Oq2b4z1J6ewK8cB2H7fYzmQwq0aOZ5Gs="
ACME_KEY = "acme-key."
ACME_SECRET = "YWNtZSBrZXkgb2YgdGhlIHRlc3RzLCBuYW1lcyBhbmQgdHlwZXM="
SECTIONS = ("[tsig]\nupd-key = hmac-sha256:%s\nother-key = hmac-sha256:%s\n"
            "acme-key = hmac-sha256:%s\n"
            "[update]\nupd-key = upd.test., second.test.\nother-key = second.test.\n"
            # names and types: the ACME challenge name, and anything below dyn.
            "acme-key = _acme-challenge.grant.upd.test. TXT, *.dyn.upd.test. A AAAA\n"
            % (SECRET, OTHER_SECRET, ACME_SECRET))
RECORDS = [
    (ZONE, "SOA", "ns1.upd.test. hostmaster.upd.test. 1 3600 900 604800 60"),
    (ZONE, "NS", "ns1.upd.test."),
    ("ns1." + ZONE, "A", "192.0.2.1"),
    (SECOND, "SOA", "ns1.second.test. hostmaster.second.test. 1 3600 900 604800 60"),
    (SECOND, "NS", "ns1.second.test."),
    ("ns1." + SECOND, "A", "192.0.2.101"),
]
UPDATE_TIMEOUT = 30.0     # one update, on a loaded machine
CONVERGE_TIMEOUT = 30.0   # the other instance catching up


# --- helpers -------------------------------------------------------------------------

def ring(key=KEY, secret=SECRET):
    return dns.tsigkeyring.from_text({key: secret})


def make_update(zone=ZONE, key=KEY, secret=SECRET):
    """An UpdateMessage for zone, signed with key (unsigned when key is None)."""
    if key is None:
        return dns.update.UpdateMessage(zone)
    return dns.update.UpdateMessage(zone, keyring=ring(key, secret), keyname=key,
                                    keyalgorithm=dns.tsig.HMAC_SHA256)


def send(inst, u, tcp=True, timeout=UPDATE_TIMEOUT):
    """Sends u to inst; returns the response (its TSIG verified by dnspython when u is
    signed: it raises otherwise)."""
    return (dns.query.tcp if tcp else dns.query.udp)(u, "127.0.0.1", port=inst.port,
                                                     timeout=timeout)


def update(inst, build, zone=ZONE, key=KEY, secret=SECRET, tcp=True):
    """Builds an update with build(u) and sends it to inst; returns the response."""
    u = make_update(zone, key, secret)
    build(u)
    return send(inst, u, tcp)


def ok(inst, build, zone=ZONE, tcp=True):
    """An update that must be NOERROR (and signed)."""
    r = update(inst, build, zone=zone, tcp=tcp)
    assert r.opcode() == dns.opcode.UPDATE
    assert r.rcode() == dns.rcode.NOERROR, "update answered %s:\n%s" % (
        dns.rcode.to_text(r.rcode()), r)
    assert r.had_tsig, "NOERROR to a signed update is unsigned:\n%s" % r
    return r


def ask(inst, name, rdtype, timeout=5.0):
    """A query over TCP (no datagram loss on a busy machine)."""
    q = dns.message.make_query(name, rdtype)
    return dns.query.tcp(q, "127.0.0.1", port=inst.port, timeout=timeout)


def rdatas(inst, name, rdtype):
    """The set of rdata texts (lower case) of the answer's RRset name/rdtype."""
    r = ask(inst, name, rdtype)
    out = set()
    for rrset in r.answer:
        if (rrset.name == dns.name.from_text(name)
                and rrset.rdtype == dns.rdatatype.from_text(rdtype)):
            out |= {rd.to_text().lower() for rd in rrset}
    return out


def view(inst, name, rdtype):
    """Everything of an answer that two instances serving the same data must agree on:
    the rcode, the AA bit and the answer section's records with their TTLs."""
    r = ask(inst, name, rdtype)
    rrs = sorted("%s %d %s %s" % (rrset.name.to_text().lower(), rrset.ttl,
                                  dns.rdatatype.to_text(rrset.rdtype), rd.to_text().lower())
                 for rrset in r.answer for rd in rrset)
    return (dns.rcode.to_text(r.rcode()), bool(r.flags & dns.flags.AA), tuple(rrs))


def soa(inst, zone=ZONE):
    r = ask(inst, zone, "SOA")
    assert r.rcode() == dns.rcode.NOERROR and r.answer, "no SOA for %s:\n%s" % (zone, r)
    return r.answer[0][0]


def wait_rdatas(inst, name, rdtype, expected, timeout=CONVERGE_TIMEOUT):
    """Polls inst until name/rdtype holds exactly the set expected (rdata texts)."""
    expected = {dns.rdata.from_text("IN", rdtype, e).to_text().lower() for e in expected}
    return wait_until(lambda: rdatas(inst, name, rdtype) == expected or None,
                      "%s %s on port %d to be exactly %s (last seen: see log)"
                      % (name, rdtype, inst.port, sorted(expected)), timeout,
                      log=inst.read_log, proc=inst.proc, interval=0.05)


def now_and_later(first, second, name, rdtype, expected):
    """first took the update: it must serve expected right away; second, soon."""
    exp = {dns.rdata.from_text("IN", rdtype, e).to_text().lower() for e in expected}
    got = rdatas(first, name, rdtype)
    assert got == exp, ("%s %s right after NOERROR on the instance that took the update "
                        "(port %d): %s, expected %s"
                        % (name, rdtype, first.port, sorted(got), sorted(exp)))
    try:
        wait_rdatas(second, name, rdtype, expected)
    except AssertionError as e:
        raise AssertionError("%s\nthe other instance serves %s" % (
            e, sorted(rdatas(second, name, rdtype)))) from None


def converge(insts, keys, timeout=CONVERGE_TIMEOUT):
    """Polls until every instance answers every (name, rdtype) of keys alike; returns
    {key: view}."""
    last = {}

    def same():
        views = {k: [view(i, *k) for i in insts] for k in keys}
        last.clear()
        last.update(views)
        if all(len(set(v)) == 1 for v in views.values()):
            return {k: v[0] for k, v in views.items()}
        return None
    try:
        return wait_until(same, "%d instances to answer %s alike" % (len(insts), keys),
                          timeout, log=insts[0].read_log)
    except AssertionError as e:
        diff = {k: v for k, v in last.items() if len(set(v)) != 1}
        raise AssertionError("%s\n--- differing answers (per instance):\n%s" % (
            e, "\n".join("%s: %s" % (k, v) for k, v in diff.items()))) from None


def settle(env):
    """Both instances serve the same SOA (nothing of an earlier test still on its way)."""
    return converge([env.a, env.b], [(ZONE, "SOA"), (SECOND, "SOA")])


def snapshot(env, keys):
    """{(instance port, name, rdtype): view} of both instances."""
    return {(i.port,) + k: view(i, *k) for i in (env.a, env.b) for k in keys}


def rcode_of(wire):
    return struct.unpack("!H", wire[2:4])[0] & 15


class Env:
    pass


@pytest.fixture(scope="module")
def env():
    broker = Broker(topic=TOPIC, partitions=4)
    insts = []
    try:
        broker.produce(rrset_events(RECORDS))
        e = Env()
        e.broker = broker
        # The product's default serial policy (topic): every change raises the serial.
        e.a = Authd(broker.address, topic=TOPIC, sections=SECTIONS, serial=None)
        insts.append(e.a)
        e.b = Authd(broker.address, topic=TOPIC, sections=SECTIONS, serial=None)
        insts.append(e.b)
        for i in insts:
            i.wait_ready()
            i.wait_for("ns1." + SECOND, "A", lambda r: r.answer)
            i.wait_for("ns1." + ZONE, "A", lambda r: r.answer)
        yield e
    finally:
        for i in insts:
            i.stop()
        broker.stop()


# --- 1. nsupdate and knsupdate ---------------------------------------------------------

def run_tool(tool, port, tcp, lines):
    script = "server 127.0.0.1 %d\nzone %s\n%s\nsend\n" % (port, ZONE, "\n".join(lines))
    if tool == "nsupdate":
        cmd = ["/usr/bin/nsupdate", "-y", "hmac-sha256:upd-key:" + SECRET]
    else:
        script += "answer\n"
        cmd = ["knsupdate", "-y", "hmac-sha256:upd-key:" + SECRET, "-t", "30"]
    if tcp:
        cmd.append("-v")
    p = subprocess.run(cmd, input=script, capture_output=True, text=True, timeout=60)
    out = p.stdout + p.stderr
    assert p.returncode == 0, "%s exited with %d for\n%s\n--- output:\n%s" % (
        tool, p.returncode, script, out)
    for bad in ("error", "failed", "refused", "notauth", "couldn't", "warning"):
        assert bad not in out.lower().replace("noerror", ""), (
            "%s said %r for\n%s\n--- output:\n%s" % (tool, bad, script, out))
    if tool == "knsupdate":
        assert "status: NOERROR" in out, out
    return out


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
@pytest.mark.parametrize("tool", ["nsupdate", "knsupdate"])
def test_command_line_tools(env, tool, tcp):
    a, b = (env.a, env.b) if tool == "nsupdate" else (env.b, env.a)
    base = "%s-%s.%s" % (tool, "tcp" if tcp else "udp", ZONE)
    h1, h2 = "h1." + base, "h2." + base
    # add: two A and a TXT at h1, an A at h2
    run_tool(tool, a.port, tcp, [
        "update add %s 300 A 192.0.2.10" % h1,
        "update add %s 300 A 192.0.2.11" % h1,
        "update add %s 300 TXT \"hello %s\"" % (h1, tool),
        "update add %s 300 A 192.0.2.12" % h2,
    ])
    now_and_later(a, b, h1, "A", ["192.0.2.10", "192.0.2.11"])
    now_and_later(a, b, h1, "TXT", ['"hello %s"' % tool])
    now_and_later(a, b, h2, "A", ["192.0.2.12"])
    # delete one record, through the other instance
    run_tool(tool, b.port, tcp, ["update delete %s A 192.0.2.10" % h1])
    now_and_later(b, a, h1, "A", ["192.0.2.11"])
    now_and_later(b, a, h1, "TXT", ['"hello %s"' % tool])
    # delete an RRset
    run_tool(tool, a.port, tcp, ["update delete %s TXT" % h1])
    now_and_later(a, b, h1, "TXT", [])
    now_and_later(a, b, h1, "A", ["192.0.2.11"])
    # add again, then delete the whole name
    run_tool(tool, b.port, tcp, ["update add %s 300 AAAA 2001:db8::10" % h1])
    now_and_later(b, a, h1, "AAAA", ["2001:db8::10"])
    run_tool(tool, b.port, tcp, ["update delete %s" % h1])
    r = ask(b, h1, "A")
    assert r.rcode() == dns.rcode.NXDOMAIN and not r.answer, r
    wait_until(lambda: ask(a, h1, "AAAA").rcode() == dns.rcode.NXDOMAIN,
               "%s to be NXDOMAIN on port %d" % (h1, a.port), CONVERGE_TIMEOUT,
               log=a.read_log)
    now_and_later(b, a, h2, "A", ["192.0.2.12"])      # the other name is untouched


# --- 2. prerequisites --------------------------------------------------------------------

P = "p." + ZONE               # the prerequisites' name; p.upd.test. itself is empty
PA = "a." + P                 # a.p.upd.test.: A {192.0.2.1, 192.0.2.2}, TXT, MX
PKEYS = [(PA, "A"), (PA, "TXT"), (PA, "MX"), (PA, "AAAA"), (P, "A"), ("none." + P, "A")]

# (id, a function adding the prerequisites, the rcode expected)
PREREQS = [
    ("yxdomain-ok", lambda u: u.present(PA), dns.rcode.NOERROR),
    ("yxdomain-missing", lambda u: u.present("none." + P), dns.rcode.NXDOMAIN),
    ("yxdomain-empty-nonterminal", lambda u: u.present(P), dns.rcode.NXDOMAIN),
    ("nxdomain-ok", lambda u: u.absent("none." + P), dns.rcode.NOERROR),
    ("nxdomain-empty-nonterminal", lambda u: u.absent(P), dns.rcode.NOERROR),
    ("nxdomain-in-use", lambda u: u.absent(PA), dns.rcode.YXDOMAIN),
    ("yxrrset-ok", lambda u: u.present(PA, "A"), dns.rcode.NOERROR),
    ("yxrrset-missing-type", lambda u: u.present(PA, "AAAA"), dns.rcode.NXRRSET),
    ("yxrrset-missing-name", lambda u: u.present("none." + P, "A"), dns.rcode.NXRRSET),
    ("yxrrset-value-ok", lambda u: u.present(PA, "A", "192.0.2.1", "192.0.2.2"),
     dns.rcode.NOERROR),
    ("yxrrset-value-other-order", lambda u: u.present(PA, "A", "192.0.2.2", "192.0.2.1"),
     dns.rcode.NOERROR),
    ("yxrrset-value-name-case", lambda u: u.present(PA, "MX", "10 MAIL.P.upd.test."),
     dns.rcode.NOERROR),
    ("yxrrset-value-subset", lambda u: u.present(PA, "A", "192.0.2.1"), dns.rcode.NXRRSET),
    ("yxrrset-value-superset",
     lambda u: u.present(PA, "A", "192.0.2.1", "192.0.2.2", "192.0.2.3"),
     dns.rcode.NXRRSET),
    ("yxrrset-value-different", lambda u: u.present(PA, "A", "192.0.2.1", "192.0.2.9"),
     dns.rcode.NXRRSET),
    ("yxrrset-value-missing", lambda u: u.present(PA, "AAAA", "2001:db8::1"),
     dns.rcode.NXRRSET),
    ("nxrrset-ok", lambda u: u.absent(PA, "AAAA"), dns.rcode.NOERROR),
    ("nxrrset-exists", lambda u: u.absent(PA, "A"), dns.rcode.YXRRSET),
    ("all-hold", lambda u: (u.present(PA), u.absent(PA, "AAAA"), u.present(PA, "TXT")),
     dns.rcode.NOERROR),
    ("one-fails", lambda u: (u.present(PA), u.present(PA, "AAAA"), u.absent("none." + P)),
     dns.rcode.NXRRSET),
]


@pytest.fixture(scope="module")
def prereq_data(env):
    ok(env.a, lambda u: (u.add(PA, 300, "A", "192.0.2.1", "192.0.2.2"),
                         u.add(PA, 300, "TXT", '"prereq"'),
                         u.add(PA, 300, "MX", "10 mail.p.upd.test.")))
    converge([env.a, env.b], PKEYS)
    return env


@pytest.mark.parametrize("case,prereq,rcode", PREREQS, ids=[p[0] for p in PREREQS])
def test_prerequisite(prereq_data, case, prereq, rcode):
    env = prereq_data
    marker = "m-%s.%s" % (case, P)
    keys = PKEYS + [(marker, "TXT")]
    settle(env)
    before = snapshot(env, keys)
    serial = soa(env.a).serial

    def build(u):
        prereq(u)
        u.add(marker, 300, "TXT", '"%s"' % case)
    r = update(env.a, build)
    assert r.had_tsig
    assert r.rcode() == rcode, "prerequisite %s: %s, expected %s\n%s" % (
        case, dns.rcode.to_text(r.rcode()), dns.rcode.to_text(rcode), r)
    if rcode == dns.rcode.NOERROR:
        now_and_later(env.a, env.b, marker, "TXT", ['"%s"' % case])
    else:
        # Nothing changed: the marker is not there, the data and the serial are the same.
        assert soa(env.a).serial == serial, "a failed prerequisite changed the serial"
        settle(env)
        after = snapshot(env, keys)
        assert after == before, "a failed prerequisite changed the data"
    # p.upd.test.'s data is what it was either way
    converge([env.a, env.b], PKEYS)
    assert snapshot(env, PKEYS) == {k: v for k, v in before.items() if k[1:] in PKEYS}


NOTZONE_CASES = [
    ("prereq-other-zone", lambda u: (u.present("ns1." + SECOND),
                                     u.add("nz1." + ZONE, 300, "A", "192.0.2.50"))),
    ("prereq-outside", lambda u: (u.absent("www.example."),
                                  u.add("nz2." + ZONE, 300, "A", "192.0.2.50"))),
    ("update-other-zone", lambda u: (u.add("nz3." + ZONE, 300, "A", "192.0.2.50"),
                                     u.add("nz3." + SECOND, 300, "A", "192.0.2.50"))),
    ("update-outside", lambda u: (u.add("nz4." + ZONE, 300, "A", "192.0.2.50"),
                                  u.add("www.example.", 300, "A", "192.0.2.50"))),
    ("update-parent", lambda u: (u.add("nz5." + ZONE, 300, "A", "192.0.2.50"),
                                 u.delete("test.", "A"))),
]


@pytest.mark.parametrize("case,build", NOTZONE_CASES, ids=[c[0] for c in NOTZONE_CASES])
def test_notzone(env, case, build):
    keys = [("nz%d.%s" % (i, ZONE), "A") for i in range(1, 6)] + [
        ("nz3." + SECOND, "A"), ("ns1." + SECOND, "A"), (ZONE, "SOA"), (SECOND, "SOA")]
    settle(env)
    before = snapshot(env, keys)
    r = update(env.a, build)
    assert r.had_tsig
    assert r.rcode() == dns.rcode.NOTZONE, "%s: %s, expected NOTZONE\n%s" % (
        case, dns.rcode.to_text(r.rcode()), r)
    settle(env)
    assert snapshot(env, keys) == before, "a NOTZONE update changed something"


# --- 3. refusals -----------------------------------------------------------------------

def add_a(name):
    """An update adding name A 192.0.2.66."""
    def build(u):
        u.add(name, 300, "A", "192.0.2.66")
    return build


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_unsigned_is_refused(env, tcp):
    name = "unsigned-%d.%s" % (tcp, ZONE)
    r = update(env.a, add_a(name), key=None, tcp=tcp)
    assert r.rcode() == dns.rcode.REFUSED, r
    assert not r.had_tsig
    settle(env)
    for i in (env.a, env.b):
        assert ask(i, name, "A").rcode() == dns.rcode.NXDOMAIN


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_key_not_granted_is_refused_signed(env, tcp):
    name = "otherkey-%d.%s" % (tcp, ZONE)
    # dnspython verifies the response's TSIG with other-key: it raises if it does not.
    r = update(env.b, add_a(name), key=OTHER_KEY, secret=OTHER_SECRET,
               tcp=tcp)
    assert r.rcode() == dns.rcode.REFUSED, r
    assert r.had_tsig, "the REFUSED to a validly signed update is unsigned"
    settle(env)
    for i in (env.a, env.b):
        assert ask(i, name, "A").rcode() == dns.rcode.NXDOMAIN


def test_other_key_granted_for_second_zone(env):
    """other-key is granted second.test. only: there it works."""
    name = "otherkey." + SECOND
    r = update(env.b, add_a(name), zone=SECOND, key=OTHER_KEY,
               secret=OTHER_SECRET)
    assert r.rcode() == dns.rcode.NOERROR and r.had_tsig, r
    now_and_later(env.b, env.a, name, "A", ["192.0.2.66"])


def test_upd_key_updates_second_zone(env):
    name = "updkey." + SECOND
    ok(env.a, add_a(name), zone=SECOND)
    now_and_later(env.a, env.b, name, "A", ["192.0.2.66"])


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_unknown_key_is_notauth_badkey(env, tcp):
    name = "unknownkey-%d.%s" % (tcp, ZONE)
    u = make_update(ZONE, "nobody.", SECRET)
    add_a(name)(u)
    msg, owner, rd, _ = split_tsig(exchange(env.a.port, u.to_wire(), tcp, timeout=10))
    assert msg.rcode() == dns.rcode.NOTAUTH, msg
    assert rd.error == dns.rcode.BADKEY and rd.mac == b"", rd
    assert owner == dns.name.from_text("nobody.")
    settle(env)
    for i in (env.a, env.b):
        assert ask(i, name, "A").rcode() == dns.rcode.NXDOMAIN


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_wrong_secret_is_notauth_badsig(env, tcp):
    name = "wrongsecret-%d.%s" % (tcp, ZONE)
    u = make_update(ZONE, KEY, WRONG_SECRET)
    add_a(name)(u)
    msg, _, rd, _ = split_tsig(exchange(env.b.port, u.to_wire(), tcp, timeout=10))
    assert msg.rcode() == dns.rcode.NOTAUTH, msg
    assert rd.error == dns.rcode.BADSIG and rd.mac == b"", rd
    settle(env)
    for i in (env.a, env.b):
        assert ask(i, name, "A").rcode() == dns.rcode.NXDOMAIN


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_zone_not_served_is_notauth(env, tcp):
    # With the key granted other zones: NOTAUTH, signed (dnspython verifies it).
    r = update(env.a, add_a("www.nothere.test."),
               zone="nothere.test.", tcp=tcp)
    assert r.rcode() == dns.rcode.NOTAUTH, r
    assert r.had_tsig, "the NOTAUTH to a validly signed update is unsigned"
    # Not served comes before unsigned.
    r = update(env.a, add_a("www.nothere.test."),
               zone="nothere.test.", key=None, tcp=tcp)
    assert r.rcode() == dns.rcode.NOTAUTH, r
    # A name under a served zone, but not a zone itself.
    r = update(env.a, add_a("www.ns1." + ZONE),
               zone="ns1." + ZONE, tcp=tcp)
    assert r.rcode() == dns.rcode.NOTAUTH, r
    for i in (env.a, env.b):
        assert ask(i, "www.ns1." + ZONE, "A").rcode() == dns.rcode.NXDOMAIN


# --- 4. malformed zone sections ------------------------------------------------------------

def raw_rr(owner, rdtype, rdclass, ttl, rdata):
    return dns.name.from_text(owner).to_wire() + struct.pack(
        "!HHIH", rdtype, rdclass, ttl, len(rdata)) + rdata


def raw_update(zones, owner, qid=0x4242, extra=()):
    """An UPDATE's wire: the zone section zones [(name, rdtype)], one add of owner A,
    then the update RRs extra (wire)."""
    wire = struct.pack("!HHHHHH", qid, dns.opcode.UPDATE << 11, len(zones), 0,
                       1 + len(extra), 0)
    for name, rdtype in zones:
        wire += dns.name.from_text(name).to_wire() + struct.pack(
            "!HH", dns.rdatatype.from_text(rdtype), dns.rdataclass.IN)
    wire += raw_rr(owner, dns.rdatatype.A, dns.rdataclass.IN, 300,
                   socket.inet_aton("192.0.2.77"))
    return wire + b"".join(extra)


MALFORMED = [
    ("zone-count-0", []),
    ("zone-count-2", [(ZONE, "SOA"), (ZONE, "SOA")]),
    ("zone-count-2-two-zones", [(ZONE, "SOA"), (SECOND, "SOA")]),
    ("zone-type-A", [(ZONE, "A")]),
]


@pytest.mark.parametrize("signed", [False, True], ids=["unsigned", "signed"])
@pytest.mark.parametrize("case,zones", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_zone_section_is_formerr(env, case, zones, signed):
    owner = "mal-%s-%d.%s" % (case, signed, ZONE)
    wire = raw_update(zones, owner)
    if signed:
        wire, _ = sign_request(wire, KEY, "hmac-sha256", SECRET, int(time.time()))
    for tcp in (False, True):
        reply = exchange(env.a.port, wire, tcp, timeout=10)
        assert reply[:2] == wire[:2]
        assert rcode_of(reply) == dns.rcode.FORMERR, "%s (%s, %s): %s, expected FORMERR" % (
            case, "signed" if signed else "unsigned", "tcp" if tcp else "udp",
            dns.rcode.to_text(rcode_of(reply)))
    settle(env)
    for i in (env.a, env.b):
        assert ask(i, owner, "A").rcode() == dns.rcode.NXDOMAIN


def test_raw_update_well_formed_control(env):
    """The same hand-built wire with one SOA zone entry, signed, is applied: the FORMERRs
    above are the zone section's, not the builder's."""
    owner = "mal-control." + ZONE
    wire, _ = sign_request(raw_update([(ZONE, "SOA")], owner), KEY, "hmac-sha256", SECRET,
                           int(time.time()))
    reply = exchange(env.a.port, wire, True, timeout=UPDATE_TIMEOUT)
    assert rcode_of(reply) == dns.rcode.NOERROR, dns.rcode.to_text(rcode_of(reply))
    now_and_later(env.a, env.b, owner, "A", ["192.0.2.77"])


A4 = socket.inet_aton("192.0.2.78")
# Update RRs RFC 2136 3.4.1.3 rejects with FORMERR, each after a valid add in the same
# message: the whole update is refused, the add is not applied either.
PRESCAN = [
    ("add-type-ANY", raw_rr("pre-any." + ZONE, dns.rdatatype.ANY, dns.rdataclass.IN, 300,
                            b"")),
    ("add-type-AXFR", raw_rr("pre-axfr." + ZONE, dns.rdatatype.AXFR, dns.rdataclass.IN,
                             300, b"")),
    ("add-class-CH", raw_rr("pre-ch." + ZONE, dns.rdatatype.A, dns.rdataclass.CH, 300, A4)),
    ("delete-rrset-with-rdata", raw_rr("ns1." + ZONE, dns.rdatatype.A, dns.rdataclass.ANY,
                                       0, A4)),
    ("delete-rrset-with-ttl", raw_rr("ns1." + ZONE, dns.rdatatype.A, dns.rdataclass.ANY,
                                     300, b"")),
    ("delete-record-with-ttl", raw_rr("ns1." + ZONE, dns.rdatatype.A, dns.rdataclass.NONE,
                                      300, socket.inet_aton("192.0.2.1"))),
    ("delete-record-type-ANY", raw_rr("ns1." + ZONE, dns.rdatatype.ANY,
                                      dns.rdataclass.NONE, 0, b"")),
]


@pytest.mark.parametrize("case,bad", PRESCAN, ids=[c[0] for c in PRESCAN])
def test_prescan_formerr_changes_nothing(env, case, bad):
    owner = "prescan-%s.%s" % (case, ZONE)
    keys = [(owner, "A"), ("ns1." + ZONE, "A"), (ZONE, "SOA")]
    settle(env)
    before = snapshot(env, keys)
    wire, _ = sign_request(raw_update([(ZONE, "SOA")], owner, extra=[bad]), KEY,
                           "hmac-sha256", SECRET, int(time.time()))
    reply = exchange(env.b.port, wire, True, timeout=UPDATE_TIMEOUT)
    assert rcode_of(reply) == dns.rcode.FORMERR, "%s: %s, expected FORMERR" % (
        case, dns.rcode.to_text(rcode_of(reply)))
    settle(env)
    assert snapshot(env, keys) == before, "a FORMERR update changed something"


# --- 5. CNAME rules, apex protection, SOA replacement ------------------------------

def test_cname_add_ignored_at_name_with_data(env):
    name = "cn-data." + ZONE
    ok(env.a, lambda u: u.add(name, 300, "A", "192.0.2.30"))
    now_and_later(env.a, env.b, name, "A", ["192.0.2.30"])
    ok(env.b, lambda u: u.add(name, 300, "CNAME", "target.example."))
    now_and_later(env.b, env.a, name, "CNAME", [])
    now_and_later(env.b, env.a, name, "A", ["192.0.2.30"])
    # At a new name, the first of CNAME and A in the message wins.
    name2 = "cn-data2." + ZONE
    ok(env.a, lambda u: (u.add(name2, 300, "TXT", '"first"'),
                         u.add(name2, 300, "CNAME", "target.example.")))
    now_and_later(env.a, env.b, name2, "TXT", ['"first"'])
    now_and_later(env.a, env.b, name2, "CNAME", [])


def test_other_data_ignored_at_cname(env):
    name = "cn." + ZONE
    ok(env.a, lambda u: u.add(name, 300, "CNAME", "target1.example."))
    now_and_later(env.a, env.b, name, "CNAME", ["target1.example."])
    ok(env.b, lambda u: (u.add(name, 300, "A", "192.0.2.31"),
                         u.add(name, 300, "TXT", '"next to a cname"')))
    converge([env.a, env.b], [(name, "A"), (name, "TXT"), (name, "CNAME")])
    for i in (env.b, env.a):
        for t in ("A", "TXT"):
            r = ask(i, name, t)
            owned = [x for x in r.answer if x.name == dns.name.from_text(name)]
            assert [x.rdtype for x in owned] == [dns.rdatatype.CNAME], (
                "%s %s at a CNAME on port %d:\n%s" % (name, t, i.port, r))
        assert rdatas(i, name, "CNAME") == {"target1.example."}
    # A CNAME added at a CNAME replaces it.
    ok(env.b, lambda u: u.add(name, 300, "CNAME", "target2.example."))
    now_and_later(env.b, env.a, name, "CNAME", ["target2.example."])


def test_apex_soa_and_ns_are_protected(env):
    a, b = env.a, env.b
    settle(env)
    soa_before = soa(a)
    ns_before = rdatas(a, ZONE, "NS")
    assert ns_before == {"ns1.upd.test."}

    def apex_intact(first, second):
        for i in (first, second):
            converge([a, b], [(ZONE, "SOA"), (ZONE, "NS")])
            s = soa(i)
            assert (s.mname, s.rname, s.minimum) == (soa_before.mname, soa_before.rname,
                                                     soa_before.minimum), s
            assert rdatas(i, ZONE, "NS") == ns_before

    ok(a, lambda u: u.delete(ZONE, "SOA"))                       # ANY SOA: ignored
    apex_intact(a, b)
    ok(b, lambda u: u.delete(ZONE, "SOA", soa_before.to_text()))   # NONE SOA: ignored
    apex_intact(b, a)
    ok(a, lambda u: u.delete(ZONE, "NS"))                        # ANY NS: ignored
    apex_intact(a, b)
    ok(b, lambda u: u.delete(ZONE, "NS", "ns1.upd.test."))        # the last NS: ignored
    apex_intact(b, a)
    # ANY ANY at the apex deletes everything but SOA and NS.
    ok(a, lambda u: u.add(ZONE, 300, "TXT", '"apex marker"'))
    now_and_later(a, b, ZONE, "TXT", ['"apex marker"'])
    ok(b, lambda u: u.delete(ZONE))
    now_and_later(b, a, ZONE, "TXT", [])
    apex_intact(b, a)
    # An NS that is not the last one may go.
    ok(a, lambda u: u.add(ZONE, 300, "NS", "ns2.upd.test."))
    now_and_later(a, b, ZONE, "NS", ["ns1.upd.test.", "ns2.upd.test."])
    ok(b, lambda u: u.delete(ZONE, "NS", "ns1.upd.test."))
    now_and_later(b, a, ZONE, "NS", ["ns2.upd.test."])
    ok(a, lambda u: (u.add(ZONE, 300, "NS", "ns1.upd.test."),
                     u.delete(ZONE, "NS", "ns2.upd.test.")))
    now_and_later(a, b, ZONE, "NS", ["ns1.upd.test."])
    apex_intact(a, b)


def test_soa_add_replaces_only_with_greater_serial(env):
    a, b = env.a, env.b
    settle(env)
    before = soa(a)
    lower = "ns1.upd.test. lower.upd.test. 0 3600 900 604800 60"
    ok(a, lambda u: u.add(ZONE, 300, "SOA", lower))
    converge([a, b], [(ZONE, "SOA")])
    for i in (a, b):
        s = soa(i)
        assert s.rname == before.rname, "an SOA with a lower serial replaced the SOA: %s" % s
    greater = ("ns1.upd.test. greater.upd.test. %d 3600 900 604800 60"
               % ((before.serial + 1000) % 2**32))
    ok(b, lambda u: u.add(ZONE, 300, "SOA", greater))
    s = soa(b)
    assert s.rname == dns.name.from_text("greater.upd.test."), (
        "an SOA with a greater serial did not replace the SOA: %s" % s)
    assert dns.serial.Serial(s.serial) > dns.serial.Serial(before.serial), s
    converge([a, b], [(ZONE, "SOA")])


# --- 6. concurrency --------------------------------------------------------------------

ACME = "_acme-challenge." + ZONE


def txt(token):
    return '"%s"' % token


def run_concurrently(ops):
    """ops: [(instance, build)], all sent at once; returns their responses (or the
    exceptions) in order."""
    with concurrent.futures.ThreadPoolExecutor(len(ops)) as ex:
        futs = [ex.submit(update, inst, build) for inst, build in ops]
        out = []
        for f in futs:
            try:
                out.append(f.result())
            except Exception as e:           # reported with the others below
                out.append(e)
        return out


def update_log_lines(insts, word="SERVFAIL"):
    """authd's log lines about updates answered SERVFAIL."""
    return "\n".join(l for i in insts for l in i.read_log().splitlines()
                     if "update " in l and word in l)


def check_all_noerror(results, what, insts=()):
    bad = [(i, r if isinstance(r, Exception) else dns.rcode.to_text(r.rcode()))
           for i, r in enumerate(results)
           if isinstance(r, Exception) or r.rcode() != dns.rcode.NOERROR]
    assert not bad, "%s: not NOERROR: %s\n--- authd's log of failed updates:\n%s" % (
        what, bad, update_log_lines(insts))


def test_concurrent_updates_lose_nothing(env):
    a, b = env.a, env.b
    tokens = ["tok-%02d" % i for i in range(20)]
    insts = [a if i % 2 == 0 else b for i in range(20)]
    results = run_concurrently([
        (inst, (lambda t: lambda u: u.add(ACME, 60, "TXT", txt(t)))(t))
        for inst, t in zip(insts, tokens)])
    check_all_noerror(results, "20 concurrent adds", (a, b))
    # Each instance serves at least its own adds at once.
    for inst in (a, b):
        mine = {txt(t) for t, i in zip(tokens, insts) if i is inst}
        got = rdatas(inst, ACME, "TXT")
        assert mine <= got, "port %d lacks its own adds right after NOERROR: %s" % (
            inst.port, sorted(mine - got))
    current = set(tokens)
    for i in (a, b):
        wait_rdatas(i, ACME, "TXT", [txt(t) for t in current])
    for rnd in range(3):
        gone = sorted(current)[:5]
        new = ["round%d-%d" % (rnd, k) for k in range(5)]
        ops = []
        for k, t in enumerate(gone):
            ops.append((a if k % 2 else b,
                        (lambda t: lambda u: u.delete(ACME, "TXT", txt(t)))(t)))
        for k, t in enumerate(new):
            ops.append((b if k % 2 else a,
                        (lambda t: lambda u: u.add(ACME, 60, "TXT", txt(t)))(t)))
        check_all_noerror(run_concurrently(ops), "round %d: 5 deletes and 5 adds" % rnd,
                          (a, b))
        current = (current - set(gone)) | set(new)
        assert len(current) == 20
        for i in (a, b):
            try:
                wait_rdatas(i, ACME, "TXT", [txt(t) for t in current])
            except AssertionError as e:
                got = {x.strip('"') for x in rdatas(i, ACME, "TXT")}
                raise AssertionError("%s\nround %d on port %d: missing %s, extra %s" % (
                    e, rnd, i.port, sorted(current - got), sorted(got - current))) from None
    # Every record has the TTL of the adds.
    for i in (a, b):
        r = ask(i, ACME, "TXT")
        assert r.answer[0].ttl == 60


# --- 7. serials --------------------------------------------------------------------------

def test_every_change_raises_the_serial(env):
    a, b = env.a, env.b
    for first, second, n in ((a, b, 1), (b, a, 2), (a, b, 3)):
        settle(env)
        before = soa(first).serial
        assert soa(second).serial == before
        ok(first, lambda u: u.add("serial." + ZONE, 300, "TXT", '"change %d"' % n))
        after = soa(first).serial
        assert dns.serial.Serial(after) > dns.serial.Serial(before), (
            "serial %d after an update through port %d, %d before" % (after, first.port,
                                                                       before))
        wait_until(lambda: soa(second).serial == after,
                   "the other instance's serial to become %d" % after, CONVERGE_TIMEOUT,
                   log=second.read_log)
        # Both serve the same serial and the same change.
        now_and_later(first, second, "serial." + ZONE, "TXT",
                      ['"change %d"' % k for k in range(1, n + 1)])
        assert soa(first).serial == soa(second).serial == after


# --- 8. certbot's DNS-01 plugin --------------------------------------------------------

def test_certbot_rfc2136(env):
    from certbot_dns_rfc2136._internal.dns_rfc2136 import _RFC2136Client
    a, b = env.a, env.b
    name = "_acme-challenge.www." + ZONE
    ca = _RFC2136Client("127.0.0.1", a.port, KEY, SECRET, dns.tsig.HMAC_SHA256)
    cb = _RFC2136Client("127.0.0.1", b.port, KEY, SECRET, dns.tsig.HMAC_SHA256)
    assert ca._find_domain(name) == ZONE      # a TSIG-signed SOA query, answered and signed
    ca.add_txt_record(name, "token-apex", 60)
    assert rdatas(a, name, "TXT") == {txt("token-apex")}
    cb.add_txt_record(name, "token-wildcard", 60)
    both = [txt("token-apex"), txt("token-wildcard")]
    now_and_later(b, a, name, "TXT", both)
    for i in (a, b):
        assert ask(i, name, "TXT").answer[0].ttl == 60
    ca.del_txt_record(name, "token-apex")
    now_and_later(a, b, name, "TXT", [txt("token-wildcard")])
    cb.del_txt_record(name, "token-wildcard")
    now_and_later(b, a, name, "TXT", [])
    for i in (a, b):
        assert ask(i, name, "TXT").rcode() == dns.rcode.NXDOMAIN


# --- 10. atomicity across instances (RFC 2136 3.7) --------------------------------
# The second instance may not serve the first update yet when the second one arrives;
# RFC 2136 3.7 still wants each update decided on the zone as the earlier ones left it
# (in the sequential case the second is sent only after the first was answered NOERROR).

def test_sequential_updates_through_both_instances(env):
    a, b = env.a, env.b
    problems = []
    touched = []
    try:
        sequential_rounds(a, b, problems, touched)
    finally:
        # The names go again, whatever the outcome: the later tests see a valid zone.
        keys = [(x, t) for x in touched for t in ("A", "CNAME", "TXT")]
        converge([a, b], keys)
        ok(a, lambda u: [u.delete(x) for x in touched])
        converge([a, b], keys)
    assert not problems, "\n".join(problems)


def sequential_rounds(a, b, problems, touched):
    for k in range(8):
        n, c, m = ("seq-%s%d.%s" % (w, k, ZONE) for w in ("del", "cname", "claim"))
        touched.extend([n, c, m])
        # an add, then a delete of the name
        ok(a, lambda u: u.add(n, 300, "A", "192.0.2.90"))
        ok(b, lambda u: u.delete(n))
        # an A, then a CNAME (to be ignored)
        ok(a, lambda u: u.add(c, 300, "A", "192.0.2.91"))
        ok(b, lambda u: u.add(c, 300, "CNAME", "target.example."))
        # a claim with "name not in use", then a second claim of the same name
        ok(a, lambda u: (u.absent(m), u.add(m, 300, "A", "192.0.2.92")))
        r = update(b, lambda u: (u.absent(m), u.add(m, 300, "TXT", '"second claim"')))
        if r.rcode() != dns.rcode.YXDOMAIN:
            problems.append("%s: the second claim (through port %d) got %s, expected "
                            "YXDOMAIN" % (m, b.port, dns.rcode.to_text(r.rcode())))
        keys = [(n, "A"), (c, "A"), (c, "CNAME"), (m, "A"), (m, "TXT")]
        converge([a, b], keys)
        if ask(a, n, "A").rcode() != dns.rcode.NXDOMAIN:
            problems.append("%s: still there after its deletion: %s"
                            % (n, rdatas(a, n, "A")))
        if rdatas(a, c, "CNAME"):
            problems.append("%s: a CNAME was added next to an A" % c)
        if rdatas(a, m, "TXT"):
            problems.append("%s: the second claim's TXT was added" % m)


def test_cname_rule_and_prerequisites_under_concurrent_updates(env):
    """Each pair is sent at once through both instances: whichever is first, the other
    sees its result (RFC 2136 3.7: atomic with respect to other updates)."""
    a, b = env.a, env.b
    names = ["race-cname%d.%s" % (k, ZONE) for k in range(10)]
    claims = ["race-claim%d.%s" % (k, ZONE) for k in range(10)]
    keys = ([(n, t) for n in names for t in ("A", "CNAME")] +
            [(m, t) for m in claims for t in ("A", "TXT")])
    try:
        problems = concurrent_rounds(env, names, claims, keys)
    finally:
        # The names go again, whatever the outcome: the later tests see a valid zone.
        converge([a, b], keys)
        ok(a, lambda u: [u.delete(x) for x in names + claims])
        converge([a, b], keys)
    assert not problems, "%d of %d races broke the rules:\n%s" % (
        len(problems), len(names) + len(claims), "\n".join(problems))


def concurrent_rounds(env, names, claims, keys):
    a, b = env.a, env.b
    ops = []
    for n in names:
        ops.append((a, (lambda n: lambda u: u.add(n, 300, "A", "192.0.2.93"))(n)))
        ops.append((b, (lambda n: lambda u: u.add(n, 300, "CNAME", "target.example."))(n)))
    check_all_noerror(run_concurrently(ops), "CNAME and A adds", (a, b))
    ops = []
    for m in claims:
        ops.append((a, (lambda m: lambda u: (u.absent(m), u.add(m, 300, "A",
                                                                "192.0.2.94")))(m)))
        ops.append((b, (lambda m: lambda u: (u.absent(m), u.add(m, 300, "TXT",
                                                                '"b"')))(m)))
    claim_results = run_concurrently(ops)
    converge([a, b], keys)
    in_dump = parse_dump(dump(env, ZONE))
    problems = []
    for n in names:
        types = sorted(t for (o, t) in in_dump if o == n)
        if "CNAME" in types and len(types) > 1:
            problems.append("%s: CNAME and other data in the topic: %s; port %d answers "
                            "A with %s" % (n, types, a.port, view(a, n, "A")))
    for k, m in enumerate(claims):
        rcodes = [r if isinstance(r, Exception) else dns.rcode.to_text(r.rcode())
                  for r in claim_results[2 * k:2 * k + 2]]
        types = sorted(t for (o, t) in in_dump if o == m)
        if sorted(rcodes) != ["NOERROR", "YXDOMAIN"] or len(types) != 1:
            problems.append("%s: the two claims got %s (expected one NOERROR, one "
                            "YXDOMAIN); the topic has %s" % (m, rcodes, types))
    return problems


# --- 9. the events: dump, and a fresh instance replaying them ----------------------

def dump(env, zone):
    p = subprocess.run([CTL, "-b", env.broker.address, "-t", TOPIC, "dump", zone],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout


def parse_dump(text):
    """{(owner, type): {rdata text}} of a dump, line by line (a master file dnspython's
    zone reader would refuse, CNAME and other data say, is still read)."""
    out = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith(";"):
            continue
        owner, ttl, rdclass, rdtype, rdata = line.split(None, 4)
        assert rdclass == "IN", line
        rd = dns.rdata.from_text(rdclass, rdtype, rdata, origin=dns.name.root,
                                 relativize=False)
        out.setdefault((owner.lower(), rdtype), set()).add(rd.to_text().lower())
    return out


def test_dump_and_replay(env):
    a, b = env.a, env.b
    ok(a, lambda u: (u.add("dump." + ZONE, 300, "A", "192.0.2.80"),
                     u.add("dump." + ZONE, 300, "TXT", '"dumped"'),
                     u.add("gone." + ZONE, 300, "A", "192.0.2.81")))
    wait_rdatas(b, "gone." + ZONE, "A", ["192.0.2.81"])
    ok(b, lambda u: u.delete("gone." + ZONE))
    settle(env)
    text = dump(env, ZONE)
    in_dump = parse_dump(text)
    assert in_dump[("dump." + ZONE, "A")] == {"192.0.2.80"}, text
    assert in_dump[("dump." + ZONE, "TXT")] == {'"dumped"'}, text
    assert not any(n == "gone." + ZONE for n, _ in in_dump), text
    # The dump is what both instances serve, record for record (but the SOA serial,
    # which the topic policy computes).
    for (name, rdtype), want in in_dump.items():
        if rdtype == "SOA":
            continue
        for i in (a, b):
            assert rdatas(i, name, rdtype) == want, (name, rdtype, i.port, text)
    # A third instance, started now, replays the topic and serves exactly the same.
    c = Authd(env.broker.address, topic=TOPIC, sections=SECTIONS, serial=None)
    try:
        c.wait_ready()
        keys = sorted(set(in_dump) | {(n, t) for n, _ in in_dump for t in ("A", "TXT")} |
                      {(ZONE, "SOA"), (ZONE, "NS"), (SECOND, "SOA"),
                       ("otherkey." + SECOND, "A"), ("updkey." + SECOND, "A"),
                       ("gone." + ZONE, "A"), ("h1.nsupdate-udp." + ZONE, "A"),
                       ("_acme-challenge.www." + ZONE, "TXT")})
        views = converge([a, b, c], keys)
        assert views[("dump." + ZONE, "A")][2] == ("dump.upd.test. 300 A 192.0.2.80",)
        assert views[("gone." + ZONE, "A")][0] == "NXDOMAIN"
        # And an update through the fresh one reaches the others.
        ok(c, lambda u: u.add("fresh." + ZONE, 300, "A", "192.0.2.82"))
        now_and_later(c, a, "fresh." + ZONE, "A", ["192.0.2.82"])
        wait_rdatas(b, "fresh." + ZONE, "A", ["192.0.2.82"])
        converge([a, b, c], [(ZONE, "SOA"), ("fresh." + ZONE, "A")])
    finally:
        c.stop()


# --- finer grants: names and types ----------------------------------------------------

def acme(inst, build):
    return update(inst, build, key=ACME_KEY, secret=ACME_SECRET)


def test_grant_by_name_and_type(env):
    """acme-key may change TXT at _acme-challenge.grant.upd.test. and A/AAAA below
    dyn.upd.test.,
    nothing else; a refusal is signed and changes nothing."""
    chal = "_acme-challenge.grant." + ZONE
    r = acme(env.a, lambda u: u.add(chal, 60, "TXT", '"granted"'))
    assert r.rcode() == dns.rcode.NOERROR and r.had_tsig, r
    now_and_later(env.a, env.b, chal, "TXT", ['"granted"'])
    r = acme(env.b, lambda u: u.add("host.dyn." + ZONE, 60, "A", "192.0.2.77"))
    assert r.rcode() == dns.rcode.NOERROR, r
    now_and_later(env.b, env.a, "host.dyn." + ZONE, "A", ["192.0.2.77"])
    refused = [
        ("A at the challenge name", lambda u: u.add(chal, 60, "A", "192.0.2.78")),
        ("TXT elsewhere", lambda u: u.add("www." + ZONE, 60, "TXT", '"no"')),
        ("the pattern's own name", lambda u: u.add("dyn." + ZONE, 60, "A", "192.0.2.79")),
        ("TXT below dyn", lambda u: u.add("h2.dyn." + ZONE, 60, "TXT", '"no"')),
        ("a whole name deleted", lambda u: u.delete("host.dyn." + ZONE)),
        ("one granted RR beside one not", lambda u: (
            u.add(chal, 60, "TXT", '"half"'), u.add("www." + ZONE, 60, "A", "192.0.2.80"))),
    ]
    for what, build in refused:
        r = acme(env.a, build)
        assert r.rcode() == dns.rcode.REFUSED, (what, r)
        assert r.had_tsig, (what, "the REFUSED is unsigned")
    settle(env)
    for i in (env.a, env.b):
        assert rdatas(i, chal, "TXT") == {'"granted"'}
        assert rdatas(i, chal, "A") == set()
        assert rdatas(i, "host.dyn." + ZONE, "A") == {"192.0.2.77"}
        assert ask(i, "dyn." + ZONE, "A").answer == []
    # And acme-key is granted nothing in second.test.
    r = update(env.a, lambda u: u.add("_acme-challenge." + SECOND, 60, "TXT", '"x"'),
               zone=SECOND, key=ACME_KEY, secret=ACME_SECRET)
    assert r.rcode() == dns.rcode.REFUSED, r


def test_bad_grant_is_a_config_error(tmp_path):
    """A pattern without types, a type that is not one, a name that is not absolute."""
    for item in ("*.dyn.upd.test.", "x.upd.test. NOTATYPE", "relative.name TXT"):
        ini = tmp_path / "authd.ini"
        ini.write_text("[tsig]\nk = hmac-sha256:%s\n[update]\nk = %s\n" % (SECRET, item))
        p = subprocess.run([os.path.join(BUILD, "streamdns-authd"), "-c", str(ini),
                            "--check-config"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=30)
        assert p.returncode == 1, (item, p.stdout, p.stderr)
        assert "authd.ini:4: k: " in p.stderr, (item, p.stderr)   # file:line: key: why


# --- require-signed: the events an update writes are signed --------------------------

def test_updates_under_require_signed(tmp_path):
    """With require-signed, an instance's own update events must carry a trusted
    signature: [kafka] sign-key signs them, and they are applied; an unsigned producer's
    event next to them is still refused. A sign-key whose public half is not trusted is a
    configuration error (every update would time out)."""
    fleet, producer = str(tmp_path / "authd.key"), str(tmp_path / "ctl.key")
    for k in (fleet, producer):
        subprocess.run([CTL, "keygen", k], check=True, capture_output=True, timeout=30)
    trusted = tmp_path / "trusted"
    trusted.write_text(open(fleet + ".pub").read() + open(producer + ".pub").read())
    only_ctl = tmp_path / "only-ctl"
    only_ctl.write_text(open(producer + ".pub").read())
    broker = Broker(partitions=2)
    a = None
    try:
        base = [CTL, "-b", broker.address, "-t", TOPIC, "--timeout", "10s",
                "--sign-key", producer]
        for name, rtype, content in RECORDS[:3]:
            subprocess.run(base + ["set", name, rtype, "60", content], check=True,
                           capture_output=True, timeout=60)
        a = Authd(broker.address, topic=TOPIC, serial=None, start=False, sections=SECTIONS)
        with open(a.conf, "a") as f:
            f.write("[kafka]\nrequire-signed = yes\ntrusted-keys = %s\nsign-key = %s\n"
                    % (only_ctl, fleet))
        p = subprocess.run([os.path.join(BUILD, "streamdns-authd"), "-c", a.conf,
                            "--check-config"], capture_output=True, text=True, timeout=30)
        assert p.returncode == 1 and "sign-key: its public key is not in" in p.stderr, \
            p.stderr
        with open(a.conf, "a") as f:
            f.write("[kafka]\ntrusted-keys = %s\n" % trusted)
        with open(a.conf) as f:
            text = f.read().replace("trusted-keys = %s\n" % only_ctl, "")
        with open(a.conf, "w") as f:
            f.write(text)
        a.start()
        a.wait_ready()
        name = "signed-update." + ZONE
        ok(a, add_a(name))
        assert rdatas(a, name, "A") == {"192.0.2.66"}
        m = a.metrics()
        assert m.get('streamdns_authd_events_rejected_total{reason="signature"}', 0) == 0, m
        assert m.get('streamdns_authd_updates_total{rcode="NOERROR"}', 0) == 1, m
    finally:
        if a is not None:
            a.stop()
        broker.stop()
