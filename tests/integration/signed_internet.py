"""signed_internet.py: a DNSSEC-signed mini internet on loopback, for validating resolvers.

A signed root (KSK + ZSK, algorithm 13) whose DS is the trust anchor (anchor_file), a
signed TLD "test." below it, and under test. one zone per case: secure zones for each
algorithm, NSEC and NSEC3 denials, opt-out, NSEC3 with the most iterations a validator
accepts (150, for the NSEC3 hash exhaustion attack) and with too many, wildcards,
CNAMEs across zones, unsigned delegations, DS records with an algorithm or digest nobody
implements, and bogus zones (expired and not-yet-valid signatures, a DS matching no key, a
missing RRSIG, tampered data, a denial that does not cover the name, NSEC records missing).

Keys are made by ldns-keygen and the zones signed by ldns-signzone (Debian's ldnsutils) when
the SignedInternet is built, children first so that each parent gets its children's DS
(ldns-key2ds) before it is signed; every validity window is computed from the current time.
Zones are served by NSD (mini_internet.Nsd, one instance per address, all on one free port):
the root, the TLD, the secure and insecure leaves, and the bogus leaves, four processes.

CASES is the table of what a validating resolver must answer for each case, as a validating
Unbound 1.17 (the reference: see test_dnsr_validation.py) answers it: rcode, AD on a DO=1
query, and the Extended DNS Error code (RFC 8914) or None.

Nothing here uses any address outside 127.0.0.0/8.
"""
import base64
import collections
import os
import random
import shutil
import struct
import subprocess
import tempfile
import time

import dns.edns
import dns.flags
import dns.message
import dns.rcode

import mini_internet as mi

ROOT, TLD, LEAF, BOGUS = "127.0.3.1", "127.0.3.2", "127.0.3.3", "127.0.3.4"
TTL = 300
DAY = 86400
NSEC3_SALT = "aabbccdd"

# RFC 8914 codes, by the names the RFC gives them.
EDE_BOGUS, EDE_SIG_EXPIRED, EDE_SIG_NOT_YET_VALID = 6, 7, 8
EDE_DNSKEY_MISSING, EDE_RRSIGS_MISSING, EDE_NSEC_MISSING = 9, 10, 12

# The algorithms a validator must implement (issue 16), and DSA (3), which RFC 8624 says
# validators MUST NOT use any more: a zone signed with it is insecure.
SECURE_ALGS = (8, 10, 13, 14, 15, 16)
ALG_NAMES = {3: "DSA", 8: "RSASHA256", 10: "RSASHA512", 13: "ECDSAP256SHA256",
             14: "ECDSAP384SHA384", 15: "ED25519", 16: "ED448"}


class ZoneSpec:
    """One zone of the signed internet and how it is signed (or broken).

    keys: algorithm numbers; one key means a CSK (flags 257), "split" a KSK + ZSK pair.
    denial: "nsec" or "nsec3" (with iterations, salt, optout); signed=False: a plain zone.
    window: (inception, expiration) in seconds relative to now.
    ds: what the parent gets: "match" (the KSK's DS), "nomatch" (a DS of a key that is not
    in the zone), "alg253" / "digest253" (the DS with its algorithm / digest type replaced by
    253, a value no validator implements), None (no DS: an insecure delegation).
    digest: DS digest type (2 SHA-256, 4 SHA-384). edit: a function run on the signed zone's
    lines (lists of fields) that returns the lines to serve."""

    def __init__(self, name, server, records, signed=True, keys=(13,), split=False,
                 denial="nsec", iterations=0, salt="", optout=False, window=(-DAY, 30 * DAY),
                 ds="match", digest=2, edit=None):
        self.name, self.server, self.records = name, server, records
        self.signed, self.keys, self.split = signed, keys, split
        self.denial, self.iterations, self.salt, self.optout = denial, iterations, salt, optout
        self.window, self.ds, self.digest, self.edit = window, ds, digest, edit
        self.children = []


def soa(zone):
    return (zone, TTL, "SOA", "ns.nic.test. hostmaster.nic.test. 1 3600 900 604800 %d" % TTL)


def leaf(zone, *extra, ns="ns-leaf.test."):
    """SOA, NS and www A (192.0.2.1) of a leaf zone, then extra (name relative to zone)."""
    rr = [soa(zone), (zone, TTL, "NS", ns), ("www." + zone, TTL, "A", "192.0.2.1")]
    for name, rdtype, rdata in extra:
        rr.append(((name + "." if name else "") + zone, TTL, rdtype, rdata))
    return rr


DENIAL_RECORDS = [
    ("*.wild", "TXT", '"from the wildcard"'),
    ("www", "TXT", '"www"'),
    ("tonsec3", "CNAME", "www.nsec3.test."),
    ("tonsec", "CNAME", "www.nsec.test."),
    ("tounsigned", "CNAME", "www.unsigned.test."),
]


# --- post-signing edits: each takes and returns the signed zone's lines as field lists --

def drop_rrsig(owner, covered):
    def edit(lines):
        return [l for l in lines
                if not (l[0] == owner and l[3] == "RRSIG" and l[4].split()[0] == covered)]
    return edit


def change_a(owner, new):
    def edit(lines):
        return [l[:4] + [new] if l[0] == owner and l[3] == "A" else l for l in lines]
    return edit


def drop_owner(owner):
    """Everything at owner, its NSEC and RRSIGs included: the neighbour's NSEC still names
    owner as its next name, so an NXDOMAIN for owner comes with an NSEC that does not cover
    it (a name equal to an NSEC's next name exists)."""
    def edit(lines):
        return [l for l in lines if l[0] != owner]
    return edit


def drop_type(rdtype):
    def edit(lines):
        return [l for l in lines
                if l[3] != rdtype and not (l[3] == "RRSIG" and l[4].split()[0] == rdtype)]
    return edit


def key_tag(rdata):
    """RFC 4034 Appendix B."""
    ac = sum(b << 8 if i % 2 == 0 else b for i, b in enumerate(rdata))
    return (ac + (ac >> 16)) & 0xFFFF


KEYTRAP_TAG, KEYTRAP_KEYS, KEYTRAP_SIGS = 4242, 50, 50


def colliding_keys(tag=KEYTRAP_TAG, n=KEYTRAP_KEYS):
    """n alg-13 zone keys, valid P-256 points, whose key tag is tag: read from
    keytrap_keys.txt, written by gen_keytrap_keys.py (finding them takes a minute). As
    DNSKEY RDATA text."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "keytrap_keys.txt")
    with open(path) as f:
        keys = ["256 3 13 " + l.strip() for l in f if l.strip()]
    assert all(key_tag(struct.pack(">HBB", 256, 3, 13) + base64.b64decode(k.split()[3]))
               == tag for k in keys), "keytrap_keys.txt: tags are not %d" % tag
    assert len(keys) >= n, "keytrap_keys.txt: %d keys, %d wanted" % (len(keys), n)
    return keys[:n]


def stamp(t):
    """An RRSIG time in the YYYYMMDDHHmmSS form NSD reads."""
    return time.strftime("%Y%m%d%H%M%S", time.gmtime(t))


def keytrap_sigs(owner, signer, now, tag=KEYTRAP_TAG, n=KEYTRAP_SIGS):
    """n RRSIGs over owner's A by key tag tag, with random signatures (CVE-2023-50387)."""
    rng = random.Random(50388)

    def edit(lines):
        lines = drop_rrsig(owner, "A")(lines)   # only the colliding ones remain
        for _ in range(n):
            sig = base64.b64encode(bytes(rng.randrange(256) for _ in range(64))).decode()
            lines.append([owner, str(TTL), "IN", "RRSIG", "A 13 %d %d %s %s %d %s %s" % (
                owner.count("."), TTL, stamp(now + 30 * DAY), stamp(now - DAY), tag, signer,
                sig)])
        return lines
    return edit


def deep_name(zone, labels, n=0):
    """A name labels labels below zone, each label one octet (the deepest names the
    255-octet limit allows), the n-th of its kind: n is written in base 36 into the first
    labels, so that different n are different names (and none is cached for another)."""
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    first = []
    while n:
        n, d = divmod(n, 36)
        first.append(digits[d])
    first = first or ["0"]
    if len(first) > labels:
        raise ValueError("n too large for %d labels" % labels)
    name = ".".join(first + ["a"] * (labels - len(first))) + "." + zone
    if sum(1 + len(l) for l in name.split(".")) > 255:     # the root's "" gives its 1
        raise ValueError("%s: longer than 255 octets" % name)
    return name


def zones(extra=()):
    """The zone specs, parents before children; extra: more ZoneSpecs (below zones of the
    table, e.g. a big zone for bench/validation.py), appended last."""
    t = "test."
    z = [
        ZoneSpec(".", ROOT, [
            (".", DAY, "SOA", "a.root. hostmaster.root. 1 3600 900 604800 %d" % TTL),
            (".", DAY, "NS", "a.root."),
            ("a.root.", DAY, "A", ROOT),
            ("test.", DAY, "NS", "ns.nic.test."),
            ("ns.nic.test.", DAY, "A", TLD),
        ], split=True),
        ZoneSpec(t, TLD, [
            soa(t), (t, TTL, "NS", "ns.nic.test."),
            ("ns.nic.test.", TTL, "A", TLD),
            ("ns-leaf.test.", TTL, "A", LEAF),
            ("ns-bogus.test.", TTL, "A", BOGUS),
        ], split=True),
    ]
    # Secure, one zone per algorithm; alg8 with a KSK + ZSK, the others with one CSK; the
    # alg14 DS with a SHA-384 digest (type 4), the others SHA-256.
    for alg in SECURE_ALGS:
        name = "alg%d.test." % alg
        z.append(ZoneSpec(name, LEAF, leaf(name), keys=(alg,), split=alg == 8,
                          digest=4 if alg == 14 else 2))
    z += [
        ZoneSpec("nsec.test.", LEAF, leaf("nsec.test.", *DENIAL_RECORDS)),
        ZoneSpec("nsec3.test.", LEAF, leaf("nsec3.test.", *DENIAL_RECORDS),
                 denial="nsec3", iterations=5, salt=NSEC3_SALT),
        # Opt-out: the unsigned delegation insecure.optout.test has no NSEC3 of its own.
        ZoneSpec("optout.test.", LEAF, leaf("optout.test."), denial="nsec3", iterations=0,
                 optout=True),
        ZoneSpec("insecure.optout.test.", LEAF, leaf("insecure.optout.test."), signed=False,
                 ds=None),
        # RFC 9276 3.2: more iterations than a validator accepts make NSEC3 proofs insecure.
        ZoneSpec("iter200.test.", LEAF, leaf("iter200.test."), denial="nsec3",
                 iterations=200, salt=NSEC3_SALT),
        # NSEC3 hash exhaustion (CVE-2023-50868): the most iterations a validator still
        # accepts (RFC 9276; dnsr's and Unbound's limit, 150) and a salt. What makes it
        # costly is the query: an NXDOMAIN for a name 100+ labels deep (deep_name) asks for
        # a closest-encloser proof that hashes the name's ancestors. And the same with 500
        # iterations, past every validator's limit: insecure however deep the name.
        ZoneSpec("hashtrap.test.", LEAF, leaf("hashtrap.test."), denial="nsec3",
                 iterations=150, salt=NSEC3_SALT),
        ZoneSpec("iter500.test.", LEAF, leaf("iter500.test."), denial="nsec3",
                 iterations=500, salt=NSEC3_SALT),
        ZoneSpec("unsigned.test.", LEAF, leaf("unsigned.test."), signed=False, ds=None),
        # RFC 4035 5.2 / RFC 6840 5.2: a DS set whose algorithms (digest types) are all
        # unknown makes the zone insecure.
        ZoneSpec("unknownalg.test.", LEAF, leaf("unknownalg.test."), ds="alg253"),
        ZoneSpec("unknowndigest.test.", LEAF, leaf("unknowndigest.test."), ds="digest253"),
        ZoneSpec("alg3.test.", LEAF, leaf("alg3.test."), keys=(3,)),
        # Bogus.
        ZoneSpec("expired.test.", BOGUS, leaf("expired.test.", ns="ns-bogus.test."),
                 window=(-10 * DAY, -2 * DAY)),
        ZoneSpec("notyet.test.", BOGUS, leaf("notyet.test.", ns="ns-bogus.test."),
                 window=(2 * DAY, 10 * DAY)),
        ZoneSpec("badds.test.", BOGUS, leaf("badds.test.", ns="ns-bogus.test."),
                 ds="nomatch"),
        ZoneSpec("nosig.test.", BOGUS, leaf("nosig.test.", ns="ns-bogus.test."),
                 edit=drop_rrsig("www.nosig.test.", "A")),
        ZoneSpec("tampered.test.", BOGUS, leaf("tampered.test.", ns="ns-bogus.test."),
                 edit=change_a("www.tampered.test.", "192.0.2.66")),
        ZoneSpec("baddenial.test.", BOGUS,
                 leaf("baddenial.test.", ("a", "A", "192.0.2.2"), ("gap", "A", "192.0.2.3"),
                      ("z", "A", "192.0.2.4"), ns="ns-bogus.test."),
                 edit=drop_owner("gap.baddenial.test.")),
        ZoneSpec("nonsec.test.", BOGUS, leaf("nonsec.test.", ns="ns-bogus.test."),
                 edit=drop_type("NSEC")),
        # KeyTrap (CVE-2023-50387): the real KSK signs a DNSKEY RRset that also holds 50
        # keys sharing one key tag; www's A has 50 RRSIGs by that tag that verify with none.
        ZoneSpec("keytrap.test.", BOGUS,
                 leaf("keytrap.test.", *[("", "DNSKEY", k) for k in colliding_keys()],
                      ns="ns-bogus.test."),
                 edit=keytrap_sigs("www.keytrap.test.", "keytrap.test.", time.time())),
    ]
    z += list(extra)
    by_name = {s.name: s for s in z}
    for s in z:
        if s.name != ".":
            parent = s.name.split(".", 1)[1] or "."
            by_name[parent].children.append(s)
    return z


Case = collections.namedtuple("Case", "qname qtype rcode ad ede why")

NOERROR, NXDOMAIN, SERVFAIL = "NOERROR", "NXDOMAIN", "SERVFAIL"

# What a validating resolver answers (a DO=1 query, CD=0), as Unbound 1.17.1 answers it.
CASES = [
    # secure positives, one per algorithm
    Case(".", "SOA", NOERROR, True, None, "the root itself, from the anchor"),
    Case("test.", "SOA", NOERROR, True, None, "the TLD, KSK + ZSK"),
] + [
    Case("www.alg%d.test." % a, "A", NOERROR, True, None,
         "algorithm %d (%s)" % (a, ALG_NAMES[a]))
    for a in SECURE_ALGS
] + [
    # NSEC
    Case("nx.nsec.test.", "A", NXDOMAIN, True, None, "NSEC NXDOMAIN"),
    Case("www.nsec.test.", "MX", NOERROR, True, None, "NSEC NODATA"),
    Case("a.wild.nsec.test.", "TXT", NOERROR, True, None, "NSEC wildcard expansion"),
    Case("a.wild.nsec.test.", "A", NOERROR, True, None, "NSEC wildcard NODATA"),
    Case("tonsec3.nsec.test.", "A", NOERROR, True, None, "CNAME to another signed zone"),
    Case("tounsigned.nsec.test.", "A", NOERROR, False, None, "CNAME to an unsigned zone"),
    # NSEC3, 5 iterations and a salt
    Case("nx.nsec3.test.", "A", NXDOMAIN, True, None, "NSEC3 NXDOMAIN"),
    Case("www.nsec3.test.", "MX", NOERROR, True, None, "NSEC3 NODATA"),
    Case("a.wild.nsec3.test.", "TXT", NOERROR, True, None, "NSEC3 wildcard expansion"),
    Case("a.wild.nsec3.test.", "A", NOERROR, True, None, "NSEC3 wildcard NODATA"),
    Case("tonsec.nsec3.test.", "A", NOERROR, True, None, "CNAME to another signed zone"),
    Case("tounsigned.nsec3.test.", "A", NOERROR, False, None, "CNAME to an unsigned zone"),
    # NSEC3 opt-out
    Case("www.optout.test.", "A", NOERROR, True, None, "opt-out zone, a signed name"),
    Case("www.insecure.optout.test.", "A", NOERROR, False, None,
         "unsigned delegation under an opt-out NSEC3 span"),
    Case("nx.optout.test.", "A", NXDOMAIN, False, None,
         "NXDOMAIN whose next closer name is covered by an opt-out NSEC3"),
    # NSEC3 with 200 iterations: Unbound 1.17.1's val-nsec3-keysize-iterations defaults to
    # "1024 150 2048 150 4096 150", so the denial is insecure (AD=0), without an EDE (RFC
    # 9276's code 27 is not sent by 1.17); answers that need no NSEC3 stay secure.
    Case("www.iter200.test.", "A", NOERROR, True, None,
         "200 iterations: positive answers need no NSEC3"),
    Case("nx.iter200.test.", "A", NXDOMAIN, False, None, "200 iterations: insecure denial"),
    # 150 iterations, the most a validator accepts, still validate; 500 are insecure (the
    # deep names of these zones are test_dnsr_validation.py's NSEC3 hash exhaustion cases).
    Case("nx.hashtrap.test.", "A", NXDOMAIN, True, None, "150 iterations: validated"),
    Case("www.iter500.test.", "A", NOERROR, True, None,
         "500 iterations: positive answers need no NSEC3"),
    Case("nx.iter500.test.", "A", NXDOMAIN, False, None, "500 iterations: insecure denial"),
    # insecure delegations
    Case("www.unsigned.test.", "A", NOERROR, False, None, "no DS: insecure"),
    Case("nx.unsigned.test.", "A", NXDOMAIN, False, None, "no DS: insecure NXDOMAIN"),
    Case("unsigned.test.", "DS", NOERROR, True, None, "the parent's proof of no DS"),
    Case("alg13.test.", "DS", NOERROR, True, None, "a DS, from the parent"),
    Case("www.unknownalg.test.", "A", NOERROR, False, None, "DS of algorithm 253 only"),
    Case("www.unknowndigest.test.", "A", NOERROR, False, None, "DS of digest type 253 only"),
    # Unbound 1.17.1 (Debian, OpenSSL 3) does not implement DSA: insecure, as RFC 8624 wants.
    Case("www.alg3.test.", "A", NOERROR, False, None, "DSA keys and signatures (alg 3)"),
    # bogus; the windows are two days past (expired) and two days ahead (not yet valid),
    # beyond Unbound's clock skew allowance (10 % of the window, 1 h to 1 day)
    Case("www.expired.test.", "A", SERVFAIL, False, EDE_SIG_EXPIRED, "signatures expired"),
    Case("www.notyet.test.", "A", SERVFAIL, False, EDE_SIG_NOT_YET_VALID,
         "signatures not yet valid"),
    Case("www.badds.test.", "A", SERVFAIL, False, EDE_DNSKEY_MISSING, "DS matches no key"),
    Case("www.nosig.test.", "A", SERVFAIL, False, EDE_RRSIGS_MISSING, "RRSIG removed"),
    Case("www.tampered.test.", "A", SERVFAIL, False, EDE_BOGUS, "A changed after signing"),
    # A denial that is there but proves nothing is not "NSEC Missing" to Unbound: it says
    # "nameerror proof failed" with the general code 6.
    Case("gap.baddenial.test.", "A", SERVFAIL, False, EDE_BOGUS,
         "NXDOMAIN whose NSEC does not cover the name"),
    # Unbound's text: "no DNSSEC records ... for DS nx.nonsec.test." (qname minimisation
    # asks for the DS of the name first), code 12.
    Case("nx.nonsec.test.", "A", SERVFAIL, False, EDE_NSEC_MISSING, "NXDOMAIN without NSEC"),
]


def case_id(c):
    return "%s/%s" % (c.qname.rstrip(".") or ".", c.qtype)


# --- answers, reduced to what is compared --------------------------------------------

def ede_codes(r):
    """The EDE info codes of a response, in order."""
    return tuple(int(o.code) for o in r.options if o.otype == dns.edns.EDE)


def summary(r):
    """(rcode text, AD, first EDE code or None) of a response."""
    codes = ede_codes(r)
    return (dns.rcode.to_text(r.rcode()), bool(r.flags & dns.flags.AD),
            codes[0] if codes else None)


def compare(dnsr_response, unbound_response):
    """The differences between two resolvers' answers to one query in rcode, AD and EDE
    codes, as a list of strings (empty: they agree)."""
    out = []
    a, b = summary(dnsr_response), summary(unbound_response)
    if a[0] != b[0]:
        out.append("rcode: dnsr %s, unbound %s" % (a[0], b[0]))
    if a[1] != b[1]:
        out.append("AD: dnsr %s, unbound %s" % (a[1], b[1]))
    if ede_codes(dnsr_response) != ede_codes(unbound_response):
        out.append("EDE: dnsr %s, unbound %s" % (ede_codes(dnsr_response),
                                                 ede_codes(unbound_response)))
    return out


# --- building ---------------------------------------------------------------------

def run(args, cwd):
    p = subprocess.run(args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True)
    if p.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(args), p.returncode, p.stderr))
    return p.stdout


def keygen(keydir, zone, alg, ksk):
    """A key for zone made by ldns-keygen; returns its base name (K<zone>+<alg>+<id>)."""
    bits = ["-b", "1024"] if alg in (3, 8, 10) else []  # small keys: fast, enough here
    return run(["ldns-keygen", "-a", ALG_NAMES[alg]] + bits + (["-k"] if ksk else []) +
               [zone], keydir).strip()


def ds_of(keydir, base, digest):
    """The DS of a key as [owner, key tag, algorithm, digest type, digest]."""
    out = run(["ldns-key2ds", "-n", "-%d" % digest, base + ".key"], keydir)
    ds = []
    for l in out.splitlines():
        f = l.split()
        if f and not l.startswith(";"):
            i = f.index("DS")
            ds.append([f[0]] + f[i + 1:])
    return ds


def zone_file_name(zone):
    return (zone.rstrip(".") or "root") + ".zone"


def sign(spec, zdir, keydir, extra, late, now):
    """Writes spec's zone file into zdir, signed as the spec says, with extra records (the
    children's NS and DS) and late ones (added after signing: an opt-out zone's unsigned
    delegations, which an opt-out NSEC3 chain leaves out); returns the DS records for its
    parent."""
    path = os.path.join(zdir, zone_file_name(spec.name))
    with open(path, "w") as f:
        f.write(mi.zone_text(spec.records + extra + ([] if spec.signed else late)))
    if not spec.signed:
        return []
    bases, ksks = [], []
    for alg in spec.keys:
        ksk = keygen(keydir, spec.name, alg, True)
        bases.append(ksk)
        ksks.append(ksk)
        if spec.split:
            bases.append(keygen(keydir, spec.name, alg, False))
    args = ["ldns-signzone", "-o", spec.name, "-f", path + ".signed",
            "-i", str(int(now + spec.window[0])), "-e", str(int(now + spec.window[1]))]
    if spec.denial == "nsec3":
        args += ["-n", "-t", str(spec.iterations)] + (["-s", spec.salt] if spec.salt else [])
        if spec.optout:
            args.append("-p")
    run(args + [path] + [os.path.join(keydir, b) for b in bases], keydir)
    with open(path + ".signed") as f:
        lines = [l.split(None, 4) for l in f if l.strip() and not l.startswith(";")]
    lines += [[r[0], str(r[1]), "IN", r[2], r[3]] for r in late]
    if spec.edit:
        lines = spec.edit(lines)
    with open(path, "w") as f:
        f.write("".join("\t".join(l) + "\n" for l in lines))
    os.unlink(path + ".signed")
    if spec.ds == "nomatch":
        ksks = [keygen(keydir, spec.name, spec.keys[0], True)]
    ds = [r for k in ksks for r in ds_of(keydir, k, spec.digest)]
    for r in ds:
        if spec.ds == "alg253":
            r[2] = "253"
        elif spec.ds == "digest253":
            r[3] = "253"
    return ds


class SignedInternet:
    """The signed zones, served by NSD on ROOT, TLD, LEAF and BOGUS at one port."""

    def __init__(self, extra=(), only=None):
        """extra: more ZoneSpecs, served beside the table's (see zones()); only: the names
        of the zones to build (parents included), for a module that needs a few."""
        if not os.path.exists(mi.NSD):
            raise RuntimeError("nsd is not installed")
        for tool in ("ldns-keygen", "ldns-signzone", "ldns-key2ds"):
            if shutil.which(tool) is None:
                raise RuntimeError("%s is not installed (Debian ldnsutils)" % tool)
        self.dir = tempfile.mkdtemp(prefix="signed-internet-")
        self.specs = zones(extra)
        if only is not None:
            self.specs = [z for z in self.specs if z.name in only]
            for z in self.specs:
                z.children = [c for c in z.children if c.name in only]
        self.nsd = {}
        try:
            self._build()
            self.port = mi.free_port_all(sorted({s.server for s in self.specs}))
            servers = collections.defaultdict(list)
            for s in self.specs:
                servers[s.server].append(s.name)
            for addr, names in sorted(servers.items()):
                self.nsd[addr] = mi.Nsd(self.dir, addr, self.port, names,
                                        zonefiles=self.zonefiles)
            for n in self.nsd.values():
                n.wait(30)
        except BaseException:
            self.stop()
            raise
        self.hints = os.path.join(self.dir, "root.hints")
        with open(self.hints, "w") as f:
            f.write(";       signed mini internet root hints (named.root format)\n"
                    ".                        3600000      NS    A.ROOT.\n"
                    "A.ROOT.                  3600000      A     %s\n" % ROOT)

    def _build(self):
        keydir = os.path.join(self.dir, "keys")
        zdir = os.path.join(self.dir, "zones")
        os.makedirs(keydir)
        os.makedirs(zdir)
        now = time.time()
        self.zonefiles = {}
        ds = {}
        for s in reversed(self.specs):      # children first
            extra, late = [], []
            for c in s.children:
                ns = (c.name, TTL, "NS", c.records[1][3])
                # ldns-signzone -p still gives an unsigned delegation an NSEC3 (opt-out
                # flag set); an opt-out signer leaves it out of the chain, as adding the NS
                # after signing does, so that the opt-out span really is what proves it.
                (late if s.optout and not ds[c.name] else extra).append(ns)
                extra += [(r[0], TTL, "DS", " ".join(r[1:])) for r in ds[c.name]]
            ds[s.name] = sign(s, zdir, keydir, extra, late, now)
            self.zonefiles[s.name] = os.path.join(zdir, zone_file_name(s.name))
        self.anchor_file = os.path.join(self.dir, "root.anchor")
        with open(self.anchor_file, "w") as f:
            f.write("".join(". %d IN DS %s\n" % (DAY, " ".join(r[1:])) for r in ds["."]))
        # The same anchor as the root KSK's DNSKEY, for readers of either form.
        self.anchor_dnskey_file = os.path.join(self.dir, "root.dnskey")
        with open(self.anchor_dnskey_file, "w") as f:
            for name in sorted(os.listdir(keydir)):
                if name.startswith("K.+") and name.endswith(".key"):
                    with open(os.path.join(keydir, name)) as k:
                        f.write("".join(l for l in k if "DNSKEY\t257 " in l or
                                        "DNSKEY 257 " in l))

    def dnsr(self, build, validation="yes", sections="", **kw):
        """streamdns-dnsr (mini_internet.Dnsr) on this internet's hints and port, with
        [dnssec] validation and this internet's anchor; kw go to mini_internet.Dnsr."""
        return mi.Dnsr(build, mini=self, dnssec="validation = %s\ntrust-anchor-file = %s\n"
                       % (validation, self.anchor_file), sections=sections, **kw)

    def delegations(self):
        """Every zone cut and its server, as the stubs of mini_internet.Unbound."""
        return {s.name: [s.server] for s in self.specs}

    def stop(self):
        for n in self.nsd.values():
            n.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class ValidatingUnbound(mi.Unbound):
    """Unbound with its validator on, the only trust anchor the internet's anchor_file, a
    stub zone per zone cut (Unbound asks servers it learns from referrals on port 53 only),
    Extended DNS Errors on (Unbound 1.17 sends none without ede: yes) and aggressive use of
    NSEC off, so that an answer does not depend on what earlier queries cached. query()
    sets DO."""

    def __init__(self, internet, extra="", anchor_file=None, threads=1):
        super().__init__(internet, threads=threads, stubs=internet.delegations(),
                         modules="validator iterator",
                         extra='    trust-anchor-file: "%s"\n    ede: yes\n'
                               '    val-log-level: 2\n    aggressive-nsec: no\n%s'
                               % (anchor_file or internet.anchor_file, extra))

    def query(self, name, rdtype="A", timeout=5.0, **kw):
        kw.setdefault("want_dnssec", True)
        return super().query(name, rdtype, timeout=timeout, **kw)
