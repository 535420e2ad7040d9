"""Online DNSSEC signing by authd, checked by real validators (Unbound, delv, dnsviz) and
by verifying its signatures here: answers of every kind, compact denial (RFC 9824), two
instances signing alike, bad key sets, and ZSK and CSK rollovers timed as RFC 7583 says."""
import calendar
import json
import os
import re
import socket
import subprocess
import tempfile
import threading
import types
import time

import dns.dnssec
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

import mini_internet as mi
from streamdns import BUILD, Authd, Broker, wait_until

CTL = os.path.join(BUILD, "streamdns-ctl")
DELAY = 1          # [dnssec] propagation-delay, seconds
TTL = 2            # every TTL of the zones below, the negative one (SOA MINIMUM) too
NXNAME = 128       # RFC 9824's NXNAME meta type
CO = 0x4000        # RFC 9824's Compact Answers OK EDNS header flag
BIG = ["%02d-%s" % (i, "y" * 90) for i in range(12)]   # ~1.2 kB: more than 512 octets

# example.test. is signed; below it signed (signed), plain (unsigned), split (KSK + ZSK,
# for the ZSK roll), roll (CSK roll) and keys (bad key sets), all served by the same authd
# and delegated with glue 127.0.0.1; deleg and sdeleg (with a DS) are delegations to
# servers nobody runs, to see the referrals.
PARENT = "example.test."
CHILDREN = ["signed", "plain", "split", "roll", "keys"]
SIGNED = [PARENT] + ["%s.%s" % (c, PARENT) for c in CHILDREN if c != "plain"]
ZONES = ("""$ORIGIN example.test.
@ 2 IN SOA ns hostmaster 1 3600 900 604800 2
@ 2 NS ns
@ 2 MX 10 mail
ns 2 A 127.0.0.1
mail 2 A 192.0.2.25
www 2 A 192.0.2.1
www 2 A 192.0.2.2
alias 2 CNAME alias2
alias2 2 CNAME www
tosigned 2 CNAME www.signed
toplain 2 CNAME www.plain
*.wild 2 TXT "from the wildcard"
a.b.c 2 A 192.0.2.3
deleg 2 NS ns.deleg
ns.deleg 2 A 192.0.2.53
sdeleg 2 NS ns.sdeleg
sdeleg 2 DS 12345 15 2 %s
ns.sdeleg 2 A 192.0.2.54
stray 2 A 192.0.2.8
stray 2 DS 54321 15 2 %s
stray 2 NSEC stray2.example.test. A RRSIG NSEC
""" % ("AB" * 32, "CD" * 32) + "".join('big 2 TXT "%s"\n' % t for t in BIG) + "".join("""%(c)s 2 NS ns.%(c)s
$ORIGIN %(c)s.example.test.
@ 2 IN SOA ns hostmaster 1 3600 900 604800 2
@ 2 NS ns
ns 2 A 127.0.0.1
www 2 A 192.0.2.%(n)d
$ORIGIN example.test.
""" % {"c": c, "n": 10 + i} for i, c in enumerate(CHILDREN)))


def run(*args, timeout=60):
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout)


def ctl(ini, *args):
    p = run(CTL, "-c", ini, *args)
    assert p.returncode == 0, "streamdns-ctl %s: rc %d\n%s%s" % (" ".join(args), p.returncode,
                                                                 p.stdout, p.stderr)
    return p.stdout


def write_ini(path, broker, secret):
    with open(path, "w") as f:
        f.write("[kafka]\nbrokers = %s\ntopic = %s\n[dnssec]\nsecret-file = %s\n"
                "propagation-delay = %ds\n" % (broker.address, broker.topic, secret, DELAY))


def ds_records(out):
    """The DS RDATA texts in what `ctl dnssec ds|enable` printed."""
    return [re.sub(r"\s+", " ", l.split("\tDS\t")[1]).strip()
            for l in out.splitlines() if "\tDS\t" in l and not l.startswith(";")]


def events(broker):
    """{key: value} the topic holds now (latest wins), read with kcat."""
    p = run("kcat", "-C", "-b", broker.address, "-t", broker.topic, "-o", "beginning",
            "-e", "-q", "-Z", "-f", "%k\t%S\t%s\n", timeout=30)
    assert p.returncode == 0, p.stderr
    out = {}
    for line in filter(None, p.stdout.split("\n")):
        key, size, value = line.split("\t", 2)
        out[key] = None if size == "-1" else value
    return out


def ts(text):
    return None if text is None else calendar.timegm(time.strptime(text,
                                                                   "%Y-%m-%dT%H:%M:%SZ"))


class Unbound(mi.Unbound):
    """A validating Unbound whose only trust anchor is anchor (a DS RDATA of example.test.),
    with a stub zone per zone authd serves: Unbound always uses port 53 for servers it
    learns from referrals, so the children are stubs too. Its queries set DO."""

    def __init__(self, authd_port, anchor):
        zones = [PARENT] + ["%s.%s" % (c, PARENT) for c in CHILDREN]
        super().__init__(types.SimpleNamespace(port=authd_port),
                         stubs={z: ["127.0.0.1"] for z in zones},
                         modules="validator iterator",
                         extra='    val-log-level: 2\n    trust-anchor: "%s DS %s"\n'
                               % (PARENT, anchor))

    def query(self, name, rdtype="A", timeout=5.0):
        return super().query(name, rdtype, timeout=timeout, want_dnssec=True)


class Env:
    """The broker, the ctl INI file, the fleet secret, two authd and a validating Unbound."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="dnssec-")
        self.broker = Broker(partitions=2)
        self.secret = os.path.join(self.dir, "fleet.key")
        self.ini = os.path.join(self.dir, "ctl.ini")
        write_ini(self.ini, self.broker, self.secret)
        p = run(CTL, "dnssec", "secret", self.secret)
        assert p.returncode == 0, "streamdns-ctl dnssec secret: %s" % p.stderr
        zf = os.path.join(self.dir, "zones.zone")
        with open(zf, "w") as f:
            f.write(ZONES)
        ctl(self.ini, "import", zf)
        for zone in SIGNED:
            split = ["--split"] if zone.startswith("split.") else []
            ctl(self.ini, "dnssec", "enable", zone, *split)
        [self.ds] = ds_records(ctl(self.ini, "dnssec", "ds", PARENT))
        self.authd = self.start_authd()
        self.authd2 = self.start_authd()
        self.unbound = Unbound(self.authd.port, self.ds)

    def start_authd(self, secret=True):
        sections = ("[dnssec]\nsecret-file = %s\npropagation-delay = %ds\n"
                    % (self.secret, DELAY)) if secret else ""
        a = Authd(self.broker.address, topic=self.broker.topic, sections=sections)
        a.wait_ready()
        if secret:
            for zone in SIGNED:
                a.wait_for(zone, "DNSKEY", lambda r, z=zone: rrsets(r, z, "DNSKEY"),
                           timeout=20)
        return a

    def stop(self):
        self.unbound.stop()
        self.authd2.stop()
        self.authd.stop()
        self.broker.stop()


@pytest.fixture(scope="module")
def env():
    e = Env()
    yield e
    e.stop()


# --- answers and signatures, read here ------------------------------------------------

def query(authd, name, rdtype="A", do=True, co=False, payload=4096, tcp=False):
    q = dns.message.make_query(name, rdtype)
    q.use_edns(0, ednsflags=(dns.flags.DO if do else 0) | (CO if co else 0),
               payload=payload)
    if tcp:
        return dns.query.tcp(q, "127.0.0.1", port=authd.port, timeout=3)
    return dns.query.udp(q, "127.0.0.1", port=authd.port, timeout=3)


def rrsets(r, name=None, rdtype=None, section="answer", covers=None):
    """The RRsets of a section, filtered by owner, type and (for RRSIG) covered type."""
    out = []
    for s in getattr(r, section):
        if name is not None and s.name != dns.name.from_text(name):
            continue
        if rdtype is not None and s.rdtype != dns.rdatatype.from_text(rdtype):
            continue
        if covers is not None and s.covers != dns.rdatatype.from_text(covers):
            continue
        out.append(s)
    return out


def one(r, name, rdtype, section="answer", covers=None):
    found = rrsets(r, name, rdtype, section, covers)
    assert len(found) == 1, "want one %s %s%s in the %s section, got %d:\n%s" % (
        name, rdtype, " covering " + covers if covers else "", section, len(found), r)
    return found[0]


def dnskeys(authd, zone):
    return one(query(authd, zone, "DNSKEY"), zone, "DNSKEY")


def key_tags(rrset):
    return {dns.dnssec.key_id(k) for k in rrset}


def signer_tags(authd, name, rdtype):
    """Key tags of the RRSIGs over name/rdtype, straight from authd."""
    r = query(authd, name, rdtype)
    return {s.key_tag for sig in rrsets(r, name, "RRSIG", covers=rdtype) for s in sig}


def nsec_types(nsec_rrset):
    [rd] = list(nsec_rrset)
    return {dns.rdatatype.from_text(t) for t in rd.to_text().split()[1:]}


def validate(rrset, r, section, zone, keys):
    """Checks rrset's RRSIG in the same section by the zone's DNSKEY RRset (dnspython) and
    the fields a validator relies on; returns the RRSIG RRset."""
    sig = one(r, rrset.name.to_text(), "RRSIG", section,
              covers=dns.rdatatype.to_text(rrset.rdtype))
    dns.dnssec.validate(rrset, sig, {dns.name.from_text(zone): keys})
    now = time.time()
    for s in sig:
        assert s.signer == dns.name.from_text(zone)
        assert s.original_ttl == rrset.ttl and sig.ttl == rrset.ttl
        assert s.labels == len(rrset.name.labels) - 1   # the root label does not count
        assert s.inception % 3600 == 0 and s.expiration % 3600 == 0, "not quantised"
        assert s.inception < now - 3000 and s.expiration > now + 86400
    return sig


# --- 1, 2: a validating resolver -----------------------------------------------------

def resolve(env, name, rdtype):
    return env.unbound.query(name, rdtype)


def answer_texts(r, rdtype):
    return sorted(rd.to_text() for s in rrsets(r, rdtype=rdtype) for rd in s)


@pytest.mark.parametrize("name,rdtype,want", [
    (PARENT, "SOA", None),
    (PARENT, "DNSKEY", None),
    (PARENT, "MX", ["10 mail.example.test."]),
    ("www.example.test.", "A", ["192.0.2.1", "192.0.2.2"]),
    ("alias.example.test.", "A", ["192.0.2.1", "192.0.2.2"]),
    ("tosigned.example.test.", "A", ["192.0.2.10"]),
    ("foo.wild.example.test.", "TXT", ['"from the wildcard"']),
    ("signed.example.test.", "DS", None),
    ("signed.example.test.", "DNSKEY", None),
    ("www.signed.example.test.", "A", ["192.0.2.10"]),
])
def test_validated_positive(env, name, rdtype, want):
    r = resolve(env, name, rdtype)
    assert r.rcode() == dns.rcode.NOERROR, r
    assert r.flags & dns.flags.AD, "AD=0 for %s %s:\n%s" % (name, rdtype, r)
    assert rrsets(r, rdtype=rdtype), r
    if want is not None:
        assert answer_texts(r, rdtype) == want


def test_validated_cname_chain(env):
    r = resolve(env, "alias.example.test.", "A")
    assert [rd.to_text() for s in rrsets(r, rdtype="CNAME") for rd in s] == \
        ["alias2.example.test.", "www.example.test."]
    assert r.flags & dns.flags.AD


@pytest.mark.parametrize("name,rdtype", [
    ("nowhere.example.test.", "A"),          # NXDOMAIN, seen as NODATA (RFC 9824)
    ("www.example.test.", "TXT"),            # NODATA
    ("c.example.test.", "A"),                # an empty non-terminal
    ("b.c.example.test.", "TXT"),            # another
    ("foo.wild.example.test.", "A"),         # wildcard NODATA
    ("nowhere.signed.example.test.", "A"),   # in the signed child
    ("plain.example.test.", "DS"),           # the unsigned child has no DS
])
def test_validated_denial(env, name, rdtype):
    r = resolve(env, name, rdtype)
    assert r.rcode() == dns.rcode.NOERROR, r
    assert not rrsets(r, rdtype=rdtype), r
    assert r.flags & dns.flags.AD, "AD=0 for %s %s:\n%s" % (name, rdtype, r)


@pytest.mark.parametrize("name,rdtype,want", [
    ("www.plain.example.test.", "A", "192.0.2.11"),
    ("toplain.example.test.", "A", "192.0.2.11"),
    ("nowhere.plain.example.test.", "A", None),
])
def test_insecure_below_unsigned_delegation(env, name, rdtype, want):
    r = resolve(env, name, rdtype)
    assert r.rcode() == (dns.rcode.NOERROR if want else dns.rcode.NXDOMAIN), r
    assert not r.flags & dns.flags.AD, r
    if want:
        assert want in answer_texts(r, rdtype)


def test_wrong_trust_anchor_fails(env):
    tag, alg, dt, digest = env.ds.split(" ", 3)
    digest = digest.replace(" ", "")
    wrong = "%s %s %s %s" % (tag, alg, dt, ("0" if digest[0] != "0" else "1") + digest[1:])
    u = Unbound(env.authd.port, wrong)
    try:
        r = u.query("www.example.test.", "A")
        assert r.rcode() == dns.rcode.SERVFAIL, r
    finally:
        u.stop()


def test_unbound_logged_no_validation_failure(env):
    """val-log-level 2 logs every bogus answer: none in all of the above."""
    failures = [l for l in env.unbound.read_log().splitlines() if "validation failure" in l]
    assert not failures, "\n".join(failures[:10])


def test_stored_dnssec_records_not_served_in_a_signed_zone(env):
    """DNSSEC records on the topic at a name that is no delegation (a DS, an NSEC) are not
    served in a signed zone: authd makes its own; the denial is valid and does not list
    them (authd logs such an RRset when it arrives for a zone that has keys already)."""
    for rdtype in ("DS", "NSEC"):
        d = query(env.authd, "stray." + PARENT, rdtype)
        assert not d.answer, d
        nsec = rrsets(d, "stray." + PARENT, "NSEC", "authority")
        types = nsec_types(nsec[0]) if nsec else None
        assert types and types - {dns.rdatatype.NSEC} == {dns.rdatatype.A, dns.rdatatype.RRSIG}, d
        r = resolve(env, "stray." + PARENT, rdtype)
        assert r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AD and not r.answer, r


@pytest.mark.parametrize("name,rdtype", [
    ("www.example.test.", "NSEC"), ("nowhere.example.test.", "NSEC"),
    ("www.example.test.", "RRSIG"),
])
def test_validated_dnssec_qtypes(env, name, rdtype):
    """Queries for the DNSSEC types themselves (after the log check: a failure here logs)."""
    r = resolve(env, name, rdtype)
    assert r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AD, r
    # The denial never lists the type it denies (else it is bogus).
    d = query(env.authd, name, rdtype)
    nsec = rrsets(d, name, "NSEC", "authority")
    assert nsec and dns.rdatatype.from_text(rdtype) not in nsec_types(nsec[0]), d


# --- 3: authd's answers, checked here ------------------------------------------------

@pytest.mark.parametrize("name,rdtype", [
    ("www.example.test.", "A"), ("nowhere.example.test.", "A"), ("www.example.test.", "TXT"),
    (PARENT, "DNSKEY"), ("deleg.example.test.", "A"), ("foo.wild.example.test.", "TXT"),
])
def test_no_dnssec_records_without_do(env, name, rdtype):
    r = query(env.authd, name, rdtype, do=False)
    for section in (r.answer, r.authority, r.additional):
        for s in section:
            assert s.rdtype not in (dns.rdatatype.RRSIG, dns.rdatatype.NSEC), r
    if name == "nowhere.example.test.":
        assert r.rcode() == dns.rcode.NXDOMAIN   # without DO, plain NXDOMAIN


def test_signed_positive(env):
    keys = dnskeys(env.authd, PARENT)
    r = query(env.authd, "www.example.test.", "A")
    validate(one(r, "www.example.test.", "A"), r, "answer", PARENT, keys)
    r = query(env.authd, PARENT, "MX")
    validate(one(r, PARENT, "MX"), r, "answer", PARENT, keys)


def test_signed_dnskey(env):
    r = query(env.authd, PARENT, "DNSKEY")
    keys = one(r, PARENT, "DNSKEY")
    [k] = list(keys)
    assert (k.flags, k.protocol, k.algorithm) == (257, 3, 15)
    assert "%d 15 2" % dns.dnssec.key_id(k) in env.ds
    validate(keys, r, "answer", PARENT, keys)
    # CDS and CDNSKEY (RFC 7344) at the apex, from the same key set.
    r = query(env.authd, PARENT, "CDS")
    cds = one(r, PARENT, "CDS")
    assert [rd.to_text().upper() for rd in cds] == [env.ds.upper()]
    validate(cds, r, "answer", PARENT, keys)


def test_signed_cname_chain(env):
    keys = dnskeys(env.authd, PARENT)
    r = query(env.authd, "alias.example.test.", "A")
    for name, rdtype in [("alias.example.test.", "CNAME"), ("alias2.example.test.", "CNAME"),
                         ("www.example.test.", "A")]:
        validate(one(r, name, rdtype), r, "answer", PARENT, keys)


def test_signed_wildcard_at_expanded_name(env):
    keys = dnskeys(env.authd, PARENT)
    r = query(env.authd, "foo.wild.example.test.", "TXT")
    sig = validate(one(r, "foo.wild.example.test.", "TXT"), r, "answer", PARENT, keys)
    assert [s.labels for s in sig] == [4]


def check_denial(env, r, qname, zone=PARENT):
    """SOA and one compact-denial NSEC at qname (next \\000.qname), both signed; returns
    the NSEC's types."""
    keys = dnskeys(env.authd, zone)
    validate(one(r, zone, "SOA", "authority"), r, "authority", zone, keys)
    nsec = one(r, qname, "NSEC", "authority")
    [rd] = list(nsec)
    assert rd.next == dns.name.Name([b"\x00"]).concatenate(dns.name.from_text(qname))
    validate(nsec, r, "authority", zone, keys)
    assert len(rrsets(r, rdtype="NSEC", section="authority")) == 1
    return nsec_types(nsec)


def test_nxdomain_without_co_is_nodata_with_nxname(env):
    r = query(env.authd, "nowhere.example.test.", "A")
    assert r.rcode() == dns.rcode.NOERROR and not r.answer, r
    assert check_denial(env, r, "nowhere.example.test.") == {
        dns.rdatatype.RRSIG, dns.rdatatype.NSEC, NXNAME}
    assert not r.ednsflags & CO


def test_nxdomain_with_co(env):
    r = query(env.authd, "nowhere.example.test.", "A", co=True)
    assert r.rcode() == dns.rcode.NXDOMAIN, r
    assert r.ednsflags & CO, "CO not echoed:\n%s" % r
    assert NXNAME in check_denial(env, r, "nowhere.example.test.")


def test_nodata_bitmap(env):
    r = query(env.authd, "www.example.test.", "TXT", co=True)
    assert r.rcode() == dns.rcode.NOERROR and not r.answer, r
    assert check_denial(env, r, "www.example.test.") == {
        dns.rdatatype.A, dns.rdatatype.RRSIG, dns.rdatatype.NSEC}


def test_ent_bitmap_even_with_co(env):
    r = query(env.authd, "c.example.test.", "A", co=True)
    assert r.rcode() == dns.rcode.NOERROR and not r.answer, r
    assert check_denial(env, r, "c.example.test.") == {dns.rdatatype.RRSIG,
                                                       dns.rdatatype.NSEC}


def test_wildcard_nodata(env):
    r = query(env.authd, "foo.wild.example.test.", "A", co=True)
    assert r.rcode() == dns.rcode.NOERROR and not r.answer, r
    types = check_denial(env, r, "foo.wild.example.test.")
    assert dns.rdatatype.TXT in types and NXNAME not in types and dns.rdatatype.A not in types


def test_delegation_proofs(env):
    keys = dnskeys(env.authd, PARENT)
    # A signed child: its DS, signed by the parent, in the referral. (The children on the
    # topic are served by this authd, which answers from them: ask below sdeleg.)
    r = query(env.authd, "www.sdeleg.example.test.", "A")
    assert not r.flags & dns.flags.AA and one(r, "sdeleg.example.test.", "NS", "authority")
    ds = one(r, "sdeleg.example.test.", "DS", "authority")
    validate(ds, r, "authority", PARENT, keys)
    # No DS: an NSEC at the cut (NS, RRSIG, NSEC).
    r = query(env.authd, "www.deleg.example.test.", "A")
    assert not r.flags & dns.flags.AA and one(r, "deleg.example.test.", "NS", "authority")
    nsec = one(r, "deleg.example.test.", "NSEC", "authority")
    validate(nsec, r, "authority", PARENT, keys)
    assert nsec_types(nsec) == {dns.rdatatype.NS, dns.rdatatype.RRSIG, dns.rdatatype.NSEC}
    # DS queries are answered by the parent side.
    r = query(env.authd, "signed.example.test.", "DS")
    validate(one(r, "signed.example.test.", "DS"), r, "answer", PARENT, keys)


def test_qtype_nxname_is_formerr(env):
    r = query(env.authd, "www.example.test.", NXNAME)
    assert r.rcode() == dns.rcode.FORMERR, r


def test_truncation_not_half_signed(env):
    r = query(env.authd, "big.example.test.", "TXT", payload=512)
    assert r.flags & dns.flags.TC, "a signed answer larger than 512 octets:\n%s" % r
    for s in r.answer:
        if s.rdtype != dns.rdatatype.RRSIG:
            assert rrsets(r, s.name.to_text(), "RRSIG", covers=dns.rdatatype.to_text(
                s.rdtype)), "sent half signed:\n%s" % r
    r = query(env.authd, "big.example.test.", "TXT", payload=512, tcp=True)
    assert not r.flags & dns.flags.TC
    txt = one(r, "big.example.test.", "TXT")
    assert len(txt) == len(BIG)
    validate(txt, r, "answer", PARENT, dnskeys(env.authd, PARENT))


# --- 4, 5: delv and dnsviz -------------------------------------------------------------

def anchor_file(env):
    path = os.path.join(env.dir, "anchor.conf")
    tag, alg, dt, digest = env.ds.split(" ", 3)
    with open(path, "w") as f:
        f.write('trust-anchors {\n  "%s" static-ds %s %s %s "%s";\n};\n'
                % (PARENT, tag, alg, dt, digest.replace(" ", "")))
    return path


@pytest.mark.parametrize("name,rdtype", [
    ("www.example.test.", "A"), ("nowhere.example.test.", "A"),
    ("www.example.test.", "TXT"), ("foo.wild.example.test.", "TXT"),
])
def test_delv_fully_validated(env, name, rdtype):
    p = run("delv", "@127.0.0.1", "-p", str(env.authd.port), "-a", anchor_file(env),
            "+root=" + PARENT, name, rdtype, timeout=30)
    assert "fully validated" in p.stdout, "delv %s %s:\n%s%s" % (name, rdtype, p.stdout,
                                                                p.stderr)


# dnsviz 0.9.4's grok asks for pygraphviz.release, which pygraphviz 1.7 no longer has.
GROK = """import sys, types, pygraphviz
release = types.ModuleType("pygraphviz.release")
release.version = pygraphviz.__version__
sys.modules["pygraphviz.release"] = pygraphviz.release = release
from dnsviz.commands import grok
grok.main(["grok"] + sys.argv[1:])
"""


def statuses(doc):
    """Every 'status' value in a grok document, and every 'errors'/'warnings' member."""
    found, problems = set(), []
    stack = [("", doc)]
    while stack:
        path, o = stack.pop()
        if isinstance(o, dict):
            for k, v in o.items():
                if k == "status" and isinstance(v, str):
                    found.add(v)
                if k in ("errors", "warnings"):
                    problems.append("%s/%s: %s" % (path, k, json.dumps(v)[:500]))
                stack.append(("%s/%s" % (path, k), v))
        elif isinstance(o, list):
            stack.extend((path, v) for v in o)
    return found, problems


def test_dnsviz_secure(env):
    """dnsviz probes the parent (no ancestors: it has no parent here) and the signed child
    at authd's port; grok, anchored at the DNSKEY whose DS is the anchor, finds every
    RRset, signature, proof and the delegation secure."""
    port = env.authd.port
    probe = os.path.join(env.dir, "probe.json")
    p = run("dnsviz", "probe", "-A", "-o", probe,
            "-x", "%s+:ns.%s=127.0.0.1:%d" % (PARENT, PARENT, port),
            "-x", "signed.%s:ns.signed.%s=127.0.0.1:%d" % (PARENT, PARENT, port),
            PARENT, "signed." + PARENT, "www." + PARENT, timeout=120)
    assert p.returncode == 0, "dnsviz probe: rc %d\n%s" % (p.returncode, p.stderr)
    keys = dnskeys(env.authd, PARENT)
    [ksk] = [k for k in keys if k.flags == 257]
    assert dns.dnssec.make_ds(PARENT, ksk, "SHA256").to_text().upper() == env.ds.upper()
    tk = os.path.join(env.dir, "trusted-keys")
    with open(tk, "w") as f:
        f.write("%s %d IN DNSKEY %s\n" % (PARENT, keys.ttl, ksk.to_text()))
    p = run("/usr/bin/python3", "-c", GROK, "-t", tk, "-r", probe, timeout=120)
    assert p.returncode == 0, "dnsviz grok: rc %d\n%s" % (p.returncode, p.stderr)
    doc = json.loads(p.stdout)
    found, problems = statuses(doc)
    assert not problems, "dnsviz grok:\n" + "\n".join(problems)
    assert found <= {"SECURE", "VALID", "NOERROR"}, found
    for zone in (PARENT, "signed." + PARENT):
        assert doc[zone]["zone"]["status"] == "SECURE", json.dumps(doc[zone])[:2000]
    assert doc["signed." + PARENT]["delegation"]["status"] == "SECURE"


# --- 6: two instances ----------------------------------------------------------------

def test_two_instances_sign_alike(env):
    for zone in SIGNED:
        k1, k2 = dnskeys(env.authd, zone), dnskeys(env.authd2, zone)
        assert k1.ttl == k2.ttl and k1 == k2, "%s DNSKEY: %s\n%s" % (zone, k1, k2)
    for attempt in range(2):
        sigs = []
        for a in (env.authd, env.authd2):
            r = query(a, "www.example.test.", "A")
            sigs.append(sorted(rd.to_digestable() for rd in
                               one(r, "www.example.test.", "RRSIG", covers="A")))
        if sigs[0] == sigs[1]:
            return
        # The hour may have turned between the two queries: once more.
    assert sigs[0] == sigs[1], "different RRSIGs for the same RRset"


# --- 7: bad key sets, and an instance without the fleet secret -------------------------

KEYS_ZONE = "keys." + PARENT


def rejected_keysets(authd):
    return authd.metrics().get('streamdns_authd_events_rejected_total{reason="keyset"}', 0)


def served_keys_validate(env, authd):
    """KEYS_ZONE's DNSKEY RRset as authd serves it, once its A answer validates with it."""
    keys = dnskeys(authd, KEYS_ZONE)
    r = query(authd, "www." + KEYS_ZONE, "A")
    assert r.rcode() == dns.rcode.NOERROR, r
    validate(one(r, "www." + KEYS_ZONE, "A"), r, "answer", KEYS_ZONE, keys)
    return keys


def sealed_elsewhere(env):
    """KEYS_ZONE's key set as ctl makes it with another fleet secret, on another broker."""
    other = Broker(partitions=1)
    try:
        secret = os.path.join(env.dir, "other.key")
        assert run(CTL, "dnssec", "secret", secret).returncode == 0
        ini = os.path.join(env.dir, "other.ini")
        write_ini(ini, other, secret)
        zf = os.path.join(env.dir, "keys.zone")
        with open(zf, "w") as f:
            f.write(ZONES[ZONES.index("$ORIGIN " + KEYS_ZONE):])
        ctl(ini, "import", zf)
        ctl(ini, "dnssec", "enable", KEYS_ZONE)
        return events(other)[KEYS_ZONE + "|DNSSEC"]
    finally:
        other.stop()


def bad_keyset(env, kind):
    good = events(env.broker)[KEYS_ZONE + "|DNSSEC"]
    if kind == "other-secret":
        return sealed_elsewhere(env)
    if kind == "other-zone":
        return events(env.broker)[PARENT + "|DNSSEC"]
    if kind == "moved-keys":   # example.test.'s sealed keys, claimed for KEYS_ZONE
        ks = json.loads(events(env.broker)[PARENT + "|DNSSEC"])
        ks["zone"] = KEYS_ZONE
        return json.dumps(ks)
    if kind == "truncated":
        return good[:len(good) // 2]
    if kind == "unknown-algorithm":
        ks = json.loads(good)
        for k in ks["keys"]:
            k["algorithm"] = 99
        return json.dumps(ks)
    raise ValueError(kind)


@pytest.mark.parametrize("kind", ["other-secret", "other-zone", "moved-keys", "truncated",
                                  "unknown-algorithm"])
def test_bad_keyset_rejected_previous_kept(env, kind):
    authd = env.authd
    good = events(env.broker)[KEYS_ZONE + "|DNSSEC"]
    before = served_keys_validate(env, authd)
    rejected = rejected_keysets(authd)
    loglen = len(authd.read_log())
    env.broker.produce([(KEYS_ZONE + "|DNSSEC", bad_keyset(env, kind))])
    try:
        # Consumed: counted as rejected, or at least said in the log.
        wait_until(lambda: rejected_keysets(authd) > rejected or
                   KEYS_ZONE in authd.read_log()[loglen:],
                   "authd to consume the %s key set of %s" % (kind, KEYS_ZONE),
                   log=authd.read_log)
        said = authd.read_log()[loglen:]
        assert rejected_keysets(authd) > rejected, said
        assert "event rejected" in said and "keyset" in said, said
        assert served_keys_validate(env, authd) == before
        r = resolve(env, "www." + KEYS_ZONE, "A")
        assert r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AD, r
    finally:
        # Whatever authd did with it, the good key set again for the tests that follow.
        env.broker.produce([(KEYS_ZONE + "|DNSSEC", good)])
        wait_until(lambda: rrsets(query(authd, KEYS_ZONE, "DNSKEY"), KEYS_ZONE,
                                  "DNSKEY") == [before] and authd.http("/ready")[0] == 200,
                   "authd to serve %s's good keys again and be ready" % KEYS_ZONE,
                   log=authd.read_log)


def test_without_secret_signed_zones_servfail(env):
    a = Authd(env.broker.address, topic=env.broker.topic)
    try:
        a.wait_ready()
        r = wait_until(lambda: query(a, "www." + PARENT, "A").rcode() == dns.rcode.SERVFAIL,
                       "SERVFAIL (DO=1) for a signed zone on an authd without [dnssec] "
                       "secret-file", log=a.read_log)
        for zone in SIGNED:
            r = query(a, "www." + zone, "A")
            assert r.rcode() == dns.rcode.SERVFAIL and not r.answer, r
        r = query(a, "www.plain." + PARENT, "A")
        assert r.rcode() == dns.rcode.NOERROR and r.answer, "an unsigned zone is served:\n%s" % r
        status, body = a.http("/ready")
        assert status == 503 and "secret-file" in body, (status, body)
        assert a.metrics()["streamdns_authd_dnssec_zones_unusable"] == len(SIGNED)
        # docs/DNSSEC.md: "It answers every query for that zone SERVFAIL", DO or not.
        r = query(a, "www." + PARENT, "A", do=False)
        assert r.rcode() == dns.rcode.SERVFAIL and not r.answer, r
    finally:
        a.stop()


def test_rrl_applies_before_a_fresh_signature(env):
    """A flood of new names with DO from one prefix: what RRL limits costs no signature
    (issue 15: RRL and cookies apply before the signer)."""
    a = Authd(env.broker.address, topic=env.broker.topic,
              sections="[dnssec]\nsecret-file = %s\n[rrl]\nresponses-per-second = 5\n"
                       "slip = 2\n" % env.secret)
    n = 100
    try:
        a.wait_ready()
        a.wait_for("www." + PARENT, "A", lambda r: r.rcode() == dns.rcode.NOERROR)
        # The SOA's signature is made once, by a first negative answer: made here.
        wait_until(lambda: rrsets(query(a, "www." + PARENT, "TXT"), PARENT, "RRSIG",
                                  "authority", covers="SOA"),
                   "a signed NODATA from the RRL authd", log=a.read_log)
        m0 = a.metrics()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            for i in range(n):
                q = dns.message.make_query("flood%d.%s" % (i, PARENT), "A", want_dnssec=True)
                sock.sendto(q.to_wire(), ("127.0.0.1", a.port))
        finally:
            sock.close()

        def handled():
            m = a.metrics()
            sigs = m["streamdns_authd_dnssec_signatures_total"] - \
                m0["streamdns_authd_dnssec_signatures_total"]
            limited = m["streamdns_authd_rrl_limited_total"] - \
                m0["streamdns_authd_rrl_limited_total"]
            return (sigs, limited) if sigs + limited >= n else None
        sigs, limited = wait_until(handled, "authd to answer or limit %d queries" % n,
                                   log=a.read_log)
        # One signature per answered new name, none for a limited one.
        assert limited > 0 and sigs + limited == n, (sigs, limited)
    finally:
        a.stop()


# --- 8: rollovers ------------------------------------------------------------------------

POLL = 0.1    # seconds between two looks at authd's DNSKEY RRset and signatures
SLACK = 0.3   # what two looks can be late by (interval and query time)


class Poller(threading.Thread):
    """Calls sample() every interval seconds until stopped; keeps what it returns."""

    def __init__(self, sample, interval):
        super().__init__(daemon=True)
        self.sample, self.interval = sample, interval
        self.stopping = threading.Event()
        self.seen, self.errors = [], []

    def run(self):
        while not self.stopping.is_set():
            try:
                self.seen.extend(self.sample())
            except Exception as e:   # kept for the test to report, the polling goes on
                self.errors.append("%.2f %s: %s" % (time.time(), type(e).__name__, e))
            self.stopping.wait(self.interval)

    def stop(self):
        self.stopping.set()
        self.join(10)
        assert not self.is_alive(), "a poller did not stop"


def ask_unbound(unbound, zones):
    """Names and keys of the zones through the validating Unbound: for every answer its
    time, name, type, rcode, AD and the key tags of its RRSIGs."""
    seen = []
    for zone in zones:
        for name, rdtype in (("www." + zone, "A"), (zone, "DNSKEY")):
            try:
                r = unbound.query(name, rdtype, timeout=2)
            except dns.exception.Timeout:
                seen.append((time.time(), name, rdtype, "timeout", False, set()))
                continue
            tags = {s.key_tag for sig in rrsets(r, rdtype="RRSIG") for s in sig}
            seen.append((time.time(), name, rdtype, dns.rcode.to_text(r.rcode()),
                         bool(r.flags & dns.flags.AD), tags))
    return seen


def keyset(env, zone):
    return {k["tag"]: k for k in json.loads(events(env.broker)[zone + "|DNSSEC"])["keys"]}


def look(authd, zones):
    """Straight from authd, for each zone: (zone, time, tags in the DNSKEY RRset, tags
    signing www's A, tags signing the DNSKEY)."""
    return [(zone, time.time(), key_tags(dnskeys(authd, zone)),
             signer_tags(authd, "www." + zone, "A"), signer_tags(authd, zone, "DNSKEY"))
            for zone in zones]


def check_timeline(zone, looks, old, new, remove):
    """RFC 7583 as a cache sees it, from authd's answers alone: the new key signs only
    after TTL + delay in the DNSKEY RRset; the old stays TTL + delay after its last
    signature, and goes at its remove time. Returns the first rule's violation, if any
    (the caller checks everything else first), else None."""
    for t, keys, a_signers, _ in looks:
        assert a_signers and a_signers <= keys, "%s at %.1f: A signed by %s, DNSKEY %s" % (
            zone, t, a_signers, keys)
    last = max(t for t, _, a, _ in looks if old in a)
    gone = min(t for t, keys, _, _ in looks if t > last and old not in keys)
    assert gone - last >= TTL + DELAY - SLACK, (
        "%s: key %d left the DNSKEY RRset %.1f s after its last signature; at least the "
        "largest TTL %d + delay %d needed" % (zone, old, gone - last, TTL, DELAY))
    assert remove - SLACK <= gone <= remove + 1 + SLACK, (
        "%s: key %d left at %.1f, its remove time is %d" % (zone, old, gone, remove))
    assert not any(old in keys for t, keys, _, _ in looks if t > gone)
    published = min(t for t, keys, _, _ in looks if new in keys)
    signing = min(t for t, _, a, _ in looks if new in a)
    if signing - published < TTL + DELAY - SLACK:
        return ("%s: key %d signs %.1f s after it was first served in the DNSKEY RRset; at "
                "least DNSKEY TTL %d + delay %d needed" % (zone, new, signing - published,
                                                           TTL, DELAY))
    return None


def test_zsk_and_csk_rollover(env):
    zsk_zone, csk_zone = "split." + PARENT, "roll." + PARENT
    zones = [zsk_zone, csk_zone]
    before = {z: keyset(env, z) for z in zones}
    hammer = Poller(lambda: ask_unbound(env.unbound, zones), 0.02)
    looker = Poller(lambda: look(env.authd, zones), POLL)
    hammer.start()
    looker.start()
    try:
        # The Unbound is warm and sure of both zones before anything changes.
        wait_until(lambda: len([s for s in hammer.seen if s[4]]) >= 8,
                   "Unbound to validate answers from %s and %s" % (zsk_zone, csk_zone),
                   log=env.unbound.read_log)
        ctl(env.ini, "dnssec", "rollover", zsk_zone, "--zsk")
        ctl(env.ini, "dnssec", "rollover", csk_zone, "--csk")
        roll = {}
        for zone, role in ((zsk_zone, "zsk"), (csk_zone, "csk")):
            after = keyset(env, zone)
            [new] = [t for t in after if t not in before[zone]]
            [old] = [t for t, k in before[zone].items() if k["role"] == role]
            assert after[new]["role"] == role
            roll[zone] = (old, new, ts(after[old]["remove"]))
        end = max(r[2] for r in roll.values()) + 2
        wait_until(lambda: time.time() > end, "the old keys' remove times to pass",
                   timeout=30)
    finally:
        looker.stop()
        hammer.stop()
    for p in (looker, hammer):
        assert not p.errors, "polling failed:\n" + "\n".join(p.errors[:10])
    early = [check_timeline(zone, [l[1:] for l in looker.seen if l[0] == zone], *r)
             for zone, r in roll.items()]
    # Through the whole roll the validating resolver was never without an answer it trusts,
    # and saw the signatures change keys.
    bad = [s for s in hammer.seen if s[3] != "NOERROR" or not s[4]]
    assert not bad, "Unbound answered, during the rollovers:\n%s\n--- its log:\n%s" % (
        "\n".join("%.2f %s %s %s AD=%d" % s[:5] for s in bad[:20]),
        env.unbound.read_log()[-3000:])
    for zone, (old, new, _) in roll.items():
        tags = set().union(*(s[5] for s in hammer.seen if s[1] == "www." + zone))
        assert {old, new} <= tags, "%s: Unbound saw signatures by %s" % (zone, tags)
    # The KSK of the split zone goes on signing the DNSKEY RRset, and only it.
    [ksk] = [t for t, k in before[zsk_zone].items() if k["role"] == "ksk"]
    assert all(l[4] == {ksk} for l in looker.seen if l[0] == zsk_zone)
    early = [e for e in early if e]
    assert not early, "; ".join(early)
