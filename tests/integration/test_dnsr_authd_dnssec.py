"""Zones signed by authd resolve secure through dnsr (issue 16): directly, and through
authd's forwarding of names it does not serve (proto/PROTOCOL.md).

The setup: one authd serves a signed root "." (NS and glue for itself on 127.0.0.1), a signed
child example. (its DS made by authd from the child's key set), a signed corp. with CNAMEs
out of it, an unsigned plain. (no DS: insecure) and an unsigned bogus. whose DS at the root
is stored on the topic and matches no key (bogus). dnsr iterates from root hints naming that
authd (query-port = its port) and validates from the root's DS, as `streamdns-ctl dnssec ds .`
prints it. A second authd, the front, serves only corp. ([zones] serve) and forwards every
other name to dnsr's socket. A validating Unbound on the same anchor is the reference."""
import os
import tempfile
import types

import dns.edns
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

import mini_internet as mi
import test_dnssec as td
from streamdns import BUILD, Authd, Broker, wait_until

BOGUS_DS = "12345 15 2 " + "AB" * 32
ZONES = """$ORIGIN .
. 2 IN SOA a.root-servers.test. hostmaster.test. 1 3600 900 604800 2
. 2 NS a.root-servers.test.
a.root-servers.test. 2 A 127.0.0.1
example. 2 NS ns.example.
ns.example. 2 A 127.0.0.1
corp. 2 NS ns.corp.
ns.corp. 2 A 127.0.0.1
plain. 2 NS ns.plain.
ns.plain. 2 A 127.0.0.1
bogus. 2 NS ns.bogus.
bogus. 2 DS %s
ns.bogus. 2 A 127.0.0.1
$ORIGIN example.
@ 2 SOA ns hostmaster 1 3600 900 604800 2
@ 2 NS ns
ns 2 A 127.0.0.1
www 2 A 192.0.2.1
alias 2 CNAME www
*.wild 2 TXT "from the wildcard"
$ORIGIN corp.
@ 2 SOA ns hostmaster 1 3600 900 604800 2
@ 2 NS ns
ns 2 A 127.0.0.1
tosigned 2 CNAME www.example.
tonx 2 CNAME nx.example.
tobogus 2 CNAME www.bogus.
$ORIGIN plain.
@ 2 SOA ns hostmaster 1 3600 900 604800 2
@ 2 NS ns
ns 2 A 127.0.0.1
www 2 A 192.0.2.9
$ORIGIN bogus.
@ 2 SOA ns hostmaster 1 3600 900 604800 2
@ 2 NS ns
ns 2 A 127.0.0.1
www 2 A 192.0.2.66
""" % BOGUS_DS
SIGNED = [".", "example.", "corp."]


class Env:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="authdval-")
        self.broker = Broker(partitions=2)
        secret = os.path.join(self.dir, "fleet.key")
        ini = os.path.join(self.dir, "ctl.ini")
        td.write_ini(ini, self.broker, secret)
        p = td.run(td.CTL, "dnssec", "secret", secret)
        assert p.returncode == 0, p.stderr
        zf = os.path.join(self.dir, "zones.zone")
        with open(zf, "w") as f:
            f.write(ZONES)
        td.ctl(ini, "import", zf)
        for zone in SIGNED:
            td.ctl(ini, "dnssec", "enable", zone)
        self.ds = td.ds_records(td.ctl(ini, "dnssec", "ds", "."))
        anchor = os.path.join(self.dir, "root.anchor")
        with open(anchor, "w") as f:
            f.write("".join(". 2 IN DS %s\n" % d for d in self.ds))
        dnssec = "[dnssec]\nsecret-file = %s\npropagation-delay = 1s\n" % secret
        self.authd = self.signing_authd(dnssec, SIGNED)
        hints = os.path.join(self.dir, "root.hints")
        with open(hints, "w") as f:
            f.write(".  3600000 NS A.ROOT-SERVERS.TEST.\n"
                    "A.ROOT-SERVERS.TEST. 3600000 A 127.0.0.1\n")
        sock = os.path.join(self.dir, "dnsr.sock")
        self.dnsr = mi.Dnsr(BUILD, mini=types.SimpleNamespace(hints=hints,
                                                             port=self.authd.port),
                            server="socket = %s\n" % sock, log="info",
                            dnssec="validation = yes\ntrust-anchor-file = %s\n" % anchor)
        self.front = self.signing_authd(
            dnssec + "[zones]\nserve = corp.\n[resolver]\nsocket = %s\ntimeout = 5s\n"
            % sock, ["corp."])
        self.unbound = mi.Unbound(
            types.SimpleNamespace(port=self.authd.port),
            stubs={z: ["127.0.0.1"] for z in (".", "example.", "corp.", "plain.", "bogus.")},
            modules="validator iterator",
            extra='    trust-anchor: ". DS %s"\n    ede: yes\n' % self.ds[0])

    def signing_authd(self, sections, zones):
        a = Authd(self.broker.address, topic=self.broker.topic, sections=sections)
        a.wait_ready()
        for z in zones:
            a.wait_for(z, "DNSKEY", lambda r, z=z: td.rrsets(r, z, "DNSKEY"), timeout=20)
        return a

    def stop(self):
        self.unbound.stop()
        self.front.stop()
        self.dnsr.stop()
        self.authd.stop()
        self.broker.stop()


@pytest.fixture(scope="module")
def env():
    e = Env()
    yield e
    e.stop()


def ask(port, name, rdtype, do=True, ad=False, cd=False, edns=True):
    q = dns.message.make_query(name, rdtype, use_edns=0 if edns else False,
                               want_dnssec=do)
    q.flags |= (dns.flags.AD if ad else 0) | (dns.flags.CD if cd else 0)
    return dns.query.udp(q, "127.0.0.1", port=port, timeout=5)


def sigs(r, section="answer"):
    return [s for s in getattr(r, section) if s.rdtype == dns.rdatatype.RRSIG]


def ede(r):
    return [int(o.code) for o in r.options if o.otype == dns.edns.EDE]


def summary(r):
    return (dns.rcode.to_text(r.rcode()), bool(r.flags & dns.flags.AD), ede(r)[:1])


# name, type, rcode, AD: as a validating Unbound answers (checked against it below).
DIRECT = [
    (".", "SOA", "NOERROR", True),
    ("example.", "DNSKEY", "NOERROR", True),
    ("www.example.", "A", "NOERROR", True),
    ("alias.example.", "A", "NOERROR", True),              # CNAME in the zone
    ("x.wild.example.", "TXT", "NOERROR", True),           # wildcard, signed at the name
    ("x.wild.example.", "A", "NOERROR", True),             # wildcard NODATA
    ("nx.example.", "A", "NOERROR", True),                 # compact denial: NXNAME = NODATA
    ("a.b.nx.example.", "A", "NOERROR", True),             # below a name that does not exist
    ("www.example.", "TXT", "NOERROR", True),              # NODATA
    ("wild.example.", "A", "NOERROR", True),               # an empty non-terminal
    ("nx.", "A", "NOERROR", True),                         # compact denial in the root
    ("example.", "DS", "NOERROR", True),                   # the DS authd makes from keys
    ("plain.", "DS", "NOERROR", True),                     # NSEC at the cut: no DS
    ("www.plain.", "A", "NOERROR", False),                 # insecure delegation
    ("tosigned.corp.", "A", "NOERROR", True),              # CNAME across signed zones
    ("www.bogus.", "A", "SERVFAIL", False),                # DS matching no key
]


@pytest.mark.parametrize("name,rdtype,rcode,ad", DIRECT,
                         ids=["%s/%s" % (d[0], d[1]) for d in DIRECT])
def test_direct(env, name, rdtype, rcode, ad):
    """DO=1 to dnsr: the rcode and AD the table says, as Unbound; RRSIGs on secure data."""
    r = ask(env.dnsr.port, name, rdtype)
    ref = env.unbound.query(name, rdtype, want_dnssec=True)
    assert summary(r)[:2] == (rcode, ad), "dnsr:\n%s\n%s" % (r, env.dnsr.read_log()[-3000:])
    assert summary(ref)[:2] == (rcode, ad), "unbound:\n%s\n%s" % (ref, env.unbound.read_log())
    if ad:
        assert sigs(r) or sigs(r, "authority"), r
    if rcode == "SERVFAIL":
        assert ede(r) and ede(r)[0] == ede(ref)[0], (r, ref)


def test_direct_compact_denial_keeps_the_proof(env):
    """The NODATA dnsr makes of authd's compact NXDOMAIN carries the NSEC (with NXNAME)
    and the SOA, signed, to a DO client."""
    r = ask(env.dnsr.port, "nx.example.", "A")
    nsec = [s for s in r.authority if s.rdtype == dns.rdatatype.NSEC]
    assert nsec and str(nsec[0].name) == "nx.example.", r
    assert td.NXNAME in td.nsec_types(nsec[0]), r
    assert len(sigs(r, "authority")) == 2, r


def test_direct_bogus_with_cd(env):
    r = ask(env.dnsr.port, "www.bogus.", "A", cd=True)
    assert r.rcode() == dns.rcode.NOERROR and r.answer and not r.flags & dns.flags.AD, r


# --- through the front authd's forwarding --------------------------------------------

def test_forwarded_do(env):
    """DO=1: dnsr's answer as it gave it: AD=1, the RRSIGs, DO echoed."""
    r = ask(env.front.port, "www.example.", "A")
    assert summary(r) == ("NOERROR", True, []), r
    assert sigs(r) and r.ednsflags & dns.flags.DO, r
    assert not r.flags & dns.flags.AA, r


def test_forwarded_denial_do(env):
    r = ask(env.front.port, "nx.example.", "A")
    assert summary(r) == ("NOERROR", True, []) and not r.answer, r
    assert [s for s in r.authority if s.rdtype == dns.rdatatype.NSEC], r


@pytest.mark.parametrize("ad", [False, True])
def test_forwarded_without_do(env, ad):
    """DO=0: no DNSSEC records; AD only when the query set AD (RFC 6840 5.8)."""
    r = ask(env.front.port, "www.example.", "A", do=False, ad=ad)
    assert r.rcode() == dns.rcode.NOERROR and r.answer and not sigs(r), r
    assert bool(r.flags & dns.flags.AD) == ad, r


def test_forwarded_without_edns(env):
    r = ask(env.front.port, "www.example.", "A", do=False, edns=False)
    assert r.rcode() == dns.rcode.NOERROR and r.answer and not sigs(r) and r.edns < 0, r
    assert not r.flags & dns.flags.AD, r


def test_forwarded_bogus(env):
    """CD=0: SERVFAIL with dnsr's EDE; CD=1: the data, CD echoed, AD=0."""
    direct = ask(env.dnsr.port, "www.bogus.", "A")
    r = ask(env.front.port, "www.bogus.", "A")
    assert r.rcode() == dns.rcode.SERVFAIL and ede(r) == ede(direct) and ede(r), (r, direct)
    r = ask(env.front.port, "www.bogus.", "A", cd=True)
    assert r.rcode() == dns.rcode.NOERROR and r.answer, r
    assert r.flags & dns.flags.CD and not r.flags & dns.flags.AD, r


# --- CNAME completion: authd's CNAME, dnsr's target -----------------------------------

def test_completion_secure_target(env):
    """Our signed CNAME and dnsr's validated target, each with its RRSIGs; AD=0: authd
    does not validate its own zone's chain of trust (docs/ARCHITECTURE.md), even though
    dnsr asked directly answers the same chain AD=1."""
    r = ask(env.front.port, "tosigned.corp.", "A")
    assert r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AA, r
    types = [(str(s.name), dns.rdatatype.to_text(s.rdtype), dns.rdatatype.to_text(s.covers) if s.covers else "")
             for s in r.answer]
    assert set(types) == {("tosigned.corp.", "CNAME", ""),
                          ("tosigned.corp.", "RRSIG", "CNAME"),
                          ("www.example.", "A", ""), ("www.example.", "RRSIG", "A")}, r
    assert not r.flags & dns.flags.AD, r
    r = ask(env.front.port, "tosigned.corp.", "A", do=False, ad=True)
    assert r.answer and not sigs(r) and not r.flags & dns.flags.AD, r


def test_completion_negative_target(env):
    """The target's denial (SOA and NSEC, signed, for DO) is kept in the authority section."""
    r = ask(env.front.port, "tonx.corp.", "A")
    assert r.rcode() == dns.rcode.NOERROR, r
    assert [s.rdtype for s in r.answer if s.rdtype != dns.rdatatype.RRSIG] == \
        [dns.rdatatype.CNAME], r
    got = {dns.rdatatype.to_text(s.rdtype) for s in r.authority}
    assert got == {"SOA", "NSEC", "RRSIG"}, r
    r = ask(env.front.port, "tonx.corp.", "A", do=False)
    assert {dns.rdatatype.to_text(s.rdtype) for s in r.authority} == {"SOA"}, r


def test_completion_bogus_target(env):
    """A bogus target: SERVFAIL with dnsr's EDE, nothing of the chain; CD=1: the chain."""
    direct = ask(env.dnsr.port, "www.bogus.", "A")
    r = ask(env.front.port, "tobogus.corp.", "A")
    assert r.rcode() == dns.rcode.SERVFAIL and not r.answer, r
    assert ede(r) and ede(r) == ede(direct), (r, direct)
    r = ask(env.front.port, "tobogus.corp.", "A", cd=True)
    assert r.rcode() == dns.rcode.NOERROR and len(r.answer) >= 2, r
    assert r.flags & dns.flags.CD, r
