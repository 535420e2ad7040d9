"""streamdns-dnsr against a mini internet on loopback: iteration, caching, failures, limits.

One mini internet (NSD servers on 127.0.0.x) and one resolver per module; tests that need
other settings start a resolver of their own, which takes milliseconds. "Nothing was sent
upstream" is checked with the servers' own counters (NSD statistics and the scripted
servers' logs), not with the resolver's word for it.
"""
import concurrent.futures
import os
import re
import time

import dns.edns
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

import mini_internet as mi
from streamdns import BUILD, wait_until


@pytest.fixture(scope="module")
def net():
    m = mi.MiniInternet()
    yield m
    m.stop()


@pytest.fixture(scope="module")
def dnsr(net):
    d = mi.Dnsr(BUILD, net)
    yield d
    d.stop()


def addrs(r, rdtype="A"):
    return sorted(rd.to_text() for s in r.answer if s.rdtype == dns.rdatatype.from_text(rdtype)
                  for rd in s)


def answer_types(r):
    return [(s.name.to_text().lower(), dns.rdatatype.to_text(s.rdtype)) for s in r.answer]


def ede(r):
    for o in r.options:
        if o.otype == dns.edns.EDE:
            return o.code, o.text
    return None


def upstream_delta(net, fn):
    """Runs fn() and returns (its result, queries the mini internet received meanwhile)."""
    before = net.queries()
    out = fn()
    return out, net.queries() - before


def parallel(fn, items):
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(items)) as ex:
        return list(ex.map(fn, items))


# ------------------------------------------------------------------ resolution


def test_iterative_resolution(dnsr):
    q = dns.message.make_query("WwW.AlPhA.TeSt.", "A", use_edns=0)
    r = dnsr.query(None, message=q)
    assert r.rcode() == dns.rcode.NOERROR
    assert addrs(r) == ["192.0.2.1", "192.0.2.2"]
    assert r.id == q.id
    assert r.question[0].name.to_text() == "WwW.AlPhA.TeSt."   # the client's case
    assert r.flags & dns.flags.RA and r.flags & dns.flags.RD
    assert not r.flags & dns.flags.AA
    assert r.edns == 0 and r.payload == 1232


def test_referral_without_glue(dnsr):
    # beta.test's only NS is ns.beta-dns.example.: its address is looked up first.
    r = dnsr.query("www.beta.test.")
    assert r.rcode() == dns.rcode.NOERROR and addrs(r) == ["192.0.2.20"]


def test_poisoning_attempts_are_ignored(net, dnsr):
    """ns.evil.test answers with a forged A for www.victim.test, forged NS and glue for
    victim.test, and refers sub.evil.test to ns.victim.test with glue pointing at itself."""
    r = dnsr.query("www.evil.test.")
    assert r.rcode() == dns.rcode.NOERROR
    assert answer_types(r) == [("www.evil.test.", "CNAME"), ("www.victim.test.", "A")]
    assert addrs(r) == ["192.0.2.40"]          # not 6.6.6.6: asked from victim.test
    assert dnsr.query("sub.evil.test.").rcode() == dns.rcode.SERVFAIL
    assert dnsr.query("nothing.evil.test.").rcode() == dns.rcode.NXDOMAIN
    assert addrs(dnsr.query("www.victim.test.")) == ["192.0.2.40"]
    assert addrs(dnsr.query("ns.victim.test.")) == [mi.GOOD2]
    assert addrs(dnsr.query("www2.victim.test.")) == ["192.0.2.40"]
    asked_evil = [n for n, _ in net.evil.seen()]
    assert asked_evil and all(n.endswith("evil.test.") for n in asked_evil), asked_evil


def test_answers_without_aa_are_the_zones(net, dnsr):
    """ns.noaa.test serves noaa.test but never sets AA, as real servers sometimes answer.
    Data within the zone asked is its answer all the same (Unbound reads it so too):
    positive, through a CNAME in the zone, NXDOMAIN and NODATA with the zone's SOA. Before,
    each of these was thrown away as lame and the client got SERVFAIL."""
    r = dnsr.query("www.noaa.test.")
    assert r.rcode() == dns.rcode.NOERROR and addrs(r) == ["192.0.2.90"], r
    r, sent = upstream_delta(net, lambda: dnsr.query("www.noaa.test."))
    assert addrs(r) == ["192.0.2.90"] and sent == 0             # cached as an answer
    r = dnsr.query("alias.noaa.test.")
    assert answer_types(r) == [("alias.noaa.test.", "CNAME"), ("www.noaa.test.", "A")]
    r = dnsr.query("nope.noaa.test.")
    assert r.rcode() == dns.rcode.NXDOMAIN and r.authority[0].rdtype == dns.rdatatype.SOA
    r, sent = upstream_delta(net, lambda: dnsr.query("nope.noaa.test.", "TXT"))
    assert r.rcode() == dns.rcode.NXDOMAIN and sent == 0         # the NXDOMAIN was cached
    r = dnsr.query("www.noaa.test.", "TXT")
    assert r.rcode() == dns.rcode.NOERROR and not r.answer
    assert r.authority[0].rdtype == dns.rdatatype.SOA
    # RA without AA: a recursive server answering from its cache, not the zone's: lame.
    r = dnsr.query("rec.noaa.test.", use_edns=0)
    assert r.rcode() == dns.rcode.SERVFAIL and ede(r)[0] == 22, r
    asked = [n for n, _ in net.noaa.seen()]
    assert asked and all(n.endswith("noaa.test.") for n in asked), asked


def test_unusable_glue_is_never_queried(net, dnsr):
    """badglue.test's NS have glue 0.0.0.1, 224.0.0.1 and 127.255.255.255 beside one real
    server; onlybad.test's only those three. Nothing is sent to them: the first zone is
    resolved through its real server, the second fails at once with a reason, not after
    timeouts. Loopback glue is used all along (the root hints are on loopback)."""
    for name in ("www.badglue.test.", "www2.badglue.test."):
        r = dnsr.query(name)
        assert r.rcode() == dns.rcode.NOERROR and addrs(r) == ["192.0.2.80"], r
    r = dnsr.query("www.onlybad.test.", use_edns=0)
    assert r.rcode() == dns.rcode.SERVFAIL, r
    assert ede(r) == (22, "server addresses not queried (special-use or loopback)")
    log = dnsr.read_log()
    for a in mi.BAD_GLUE:
        sent = [l for l in log.splitlines() if " to %s:" % a in l]
        assert not sent, sent
        assert "not querying %s:%d: special-use address" % (a, net.port) in log
    assert "do-not-query-localhost: root hints on loopback" in log
    assert dnsr.stats()["addrs_skipped"] >= 2 * len(mi.BAD_GLUE)   # both zones' glue


def test_queries_leave_from_new_ports_with_random_ids(net, dnsr):
    """RFC 5452: each upstream query has its own source port and an unpredictable id."""
    before = len(net.evil.seen())
    for i in range(8):
        assert dnsr.query("port%d.evil.test." % i).rcode() == dns.rcode.NXDOMAIN
    sources = net.evil.sources[before:]
    assert len(sources) == 8
    assert len({p for p, _ in sources}) == 8, sources
    assert len({i for _, i in sources}) == 8, sources


def test_cname_across_zones(dnsr):
    r = dnsr.query("cname-ext.alpha.test.")
    assert answer_types(r) == [("cname-ext.alpha.test.", "CNAME"), ("www.beta.test.", "A")]
    r = dnsr.query("chain1.alpha.test.")
    assert answer_types(r) == [("chain1.alpha.test.", "CNAME"), ("chain2.alpha.test.", "CNAME"),
                               ("www.victim.test.", "A")]
    assert addrs(r) == ["192.0.2.40"]
    r = dnsr.query("cname-nx.alpha.test.")    # RFC 6604: the rcode is the last name's
    assert r.rcode() == dns.rcode.NXDOMAIN
    assert answer_types(r) == [("cname-nx.alpha.test.", "CNAME")]
    assert r.authority[0].name.to_text() == "beta.test."


def test_dname(net, dnsr):
    want = [("dn.alpha.test.", "DNAME"), ("x.dn.alpha.test.", "CNAME"), ("x.beta.test.", "A")]
    assert answer_types(dnsr.query("x.dn.alpha.test.")) == want
    r, sent = upstream_delta(net, lambda: dnsr.query("x.dn.alpha.test."))
    assert answer_types(r) == want and sent == 0


def test_cname_loop_stops(dnsr):
    r = dnsr.query("loop.alpha.test.", use_edns=0)
    assert r.rcode() == dns.rcode.SERVFAIL
    assert ede(r) == (0, "CNAME chain too long")


# --------------------------------------------------------------------- the cache


def test_cache_hit_sends_nothing_upstream(net, dnsr):
    r1, sent1 = upstream_delta(net, lambda: dnsr.query("www.gamma.test."))
    assert addrs(r1) == ["192.0.2.30"] and sent1 > 0
    assert r1.answer[0].ttl <= 300

    def lower_ttl():
        r = dnsr.query("www.gamma.test.", tcp=True)
        return r if r.answer and r.answer[0].ttl < r1.answer[0].ttl else None
    # TTLs count down: asked until the TTL is lower (a second or so), every answer from
    # the cache.
    r2, sent2 = upstream_delta(net, lambda: wait_until(
        lower_ttl, "the cached TTL of www.gamma.test. to fall below %d" % r1.answer[0].ttl,
        15, log=dnsr.read_log, interval=0.1))
    assert addrs(r2) == ["192.0.2.30"] and sent2 == 0


LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"


def test_cache_ages_on_the_monotonic_clock(net, tmp_path):
    """The wall clock jumps two days ahead, then two days back, under a running dnsr
    (libfaketime, its offset read from a file at every call; CLOCK_MONOTONIC left alone).
    A cached answer (TTL 300) is still served from the cache, its TTL counting down as
    real time passes: neither expired by the jump ahead nor stretched by the jump back."""
    assert os.path.exists(LIBFAKETIME), "libfaketime missing: make deps installs faketime"
    offset = tmp_path / "faketime"
    offset.write_text("+0\n")
    d = mi.Dnsr(BUILD, net, env={"LD_PRELOAD": LIBFAKETIME, "FAKETIME_NO_CACHE": "1",
                                 "FAKETIME_TIMESTAMP_FILE": str(offset),
                                 "FAKETIME_DONT_FAKE_MONOTONIC": "1"})
    try:
        def log_date():
            """The date of dnsr's latest log line (stamped with CLOCK_REALTIME)."""
            d.stats()
            stamps = re.findall(r"^(\d{4}-\d\d-\d\d)T", d.read_log(), re.M)
            assert stamps, d.read_log()[-2000:]
            return time.strptime(stamps[-1], "%Y-%m-%d")

        def cached_ttl():
            """The TTL of www.gamma.test. as dnsr answers it, from its cache."""
            r, sent = upstream_delta(net, lambda: d.query("www.gamma.test."))
            assert addrs(r) == ["192.0.2.30"] and sent == 0, (r, sent)
            return r.answer[0].ttl

        def assert_aged(ttl, what):
            # Down by the real time since before it was cached (whole seconds: one more
            # for the rounding), never up.
            elapsed = time.monotonic() - t0
            assert ttl1 - elapsed - 1 <= ttl <= ttl1, (what, ttl1, ttl, elapsed)

        t0 = time.monotonic()
        r1, sent1 = upstream_delta(net, lambda: d.query("www.gamma.test."))
        assert addrs(r1) == ["192.0.2.30"] and sent1 > 0
        ttl1 = r1.answer[0].ttl
        today = log_date()
        for jump in ("+2d", "-2d"):
            offset.write_text(jump + "\n")
            # The jump took effect in dnsr (its log's date moved), or this proves nothing.
            day = log_date()
            assert (day > today) if jump[0] == "+" else (day < today), \
                "libfaketime did not move dnsr's wall clock by %s: %s" % (jump, day)
            ttl = cached_ttl()
            assert_aged(ttl, jump)
        # ... and still counting down, second by second, on the clock that did not jump.
        wait_until(lambda: cached_ttl() < ttl, "the cached TTL to fall below %d" % ttl, 15,
                   log=d.read_log, interval=0.1)
        assert_aged(cached_ttl(), "later")
    finally:
        offset.write_text("+0\n")
        d.stop()


def test_nxdomain_cached(net, dnsr):
    r1, sent1 = upstream_delta(net, lambda: dnsr.query("nope.alpha.test."))
    assert r1.rcode() == dns.rcode.NXDOMAIN and sent1 > 0
    assert r1.authority[0].rdtype == dns.rdatatype.SOA
    assert r1.authority[0].ttl <= 60            # min(SOA TTL, MINIMUM): RFC 2308
    r2, sent2 = upstream_delta(net, lambda: dnsr.query("nope.alpha.test.", "TXT"))
    assert r2.rcode() == dns.rcode.NXDOMAIN and sent2 == 0   # any type of that name


def test_nodata_cached(net, dnsr):
    dnsr.query("txt.alpha.test.", "TXT")
    r1, sent1 = upstream_delta(net, lambda: dnsr.query("txt.alpha.test.", "AAAA"))
    assert r1.rcode() == dns.rcode.NOERROR and not r1.answer and sent1 > 0
    assert r1.authority[0].rdtype == dns.rdatatype.SOA
    r2, sent2 = upstream_delta(net, lambda: dnsr.query("txt.alpha.test.", "AAAA"))
    assert r2.rcode() == dns.rcode.NOERROR and not r2.answer and sent2 == 0
    assert r2.authority[0].rdtype == dns.rdatatype.SOA


def test_nodata_without_soa_cached_briefly(net, dnsr):
    """RFC 2308 5 gives a NODATA without SOA no TTL: cached a few seconds (5), not at all
    before, so that every repetition went upstream."""
    asked = lambda: len(net.evil.seen())
    before = asked()
    r1, sent1 = upstream_delta(net, lambda: dnsr.query("nosoa.evil.test.", "TXT"))
    assert r1.rcode() == dns.rcode.NOERROR and not r1.answer and not r1.authority
    assert sent1 > 0 and asked() > before
    t1 = time.monotonic()
    r2, sent2 = upstream_delta(net, lambda: dnsr.query("nosoa.evil.test.", "TXT"))
    assert r2.rcode() == dns.rcode.NOERROR and not r2.answer and not r2.authority
    if time.monotonic() - t1 < 3.0:         # inside the 5 s even on a slow machine
        assert sent2 == 0
    # ... and only briefly: asked again once the few seconds have passed.
    again = asked()
    wait_until(lambda: dnsr.query("nosoa.evil.test.", "TXT") and asked() > again,
               "nosoa.evil.test. to be asked upstream again", 15, log=dnsr.read_log,
               interval=0.25)
    assert time.monotonic() - t1 >= 3.0


def test_max_negative_ttl_caps_cache_not_soa_ttl(net):
    """[cache] max-negative-ttl bounds how long a negative answer is kept, not the TTL of
    the SOA handed out with it: that is the server's, counting down while cached."""
    d = mi.Dnsr(BUILD, net, cache="max-negative-ttl = 2\n")
    try:
        # alpha.test's SOA: TTL 3600, MINIMUM 60, both above the cap.
        q = dns.message.make_query("capped.alpha.test.", "A")
        direct = dns.query.udp(q, mi.GOOD, port=net.port, timeout=5)
        server_ttl = direct.authority[0].ttl
        assert direct.rcode() == dns.rcode.NXDOMAIN and server_ttl > 2
        r1, sent1 = upstream_delta(net, lambda: d.query("capped.alpha.test."))
        t1 = time.monotonic()
        assert r1.rcode() == dns.rcode.NXDOMAIN and sent1 > 0
        assert r1.authority[0].rdtype == dns.rdatatype.SOA
        # Neither cut to the cap nor lifted (a second may tick between cache and reply).
        assert server_ttl - 1 <= r1.authority[0].ttl <= server_ttl
        r2, sent2 = upstream_delta(net, lambda: d.query("capped.alpha.test."))
        if time.monotonic() - t1 < 1.0:     # inside the cap (the cache counts whole seconds)
            assert sent2 == 0
            assert server_ttl - 2 <= r2.authority[0].ttl <= server_ttl
        # The entry expires at the cap: asked upstream again long before server_ttl.
        before = net.queries()
        wait_until(lambda: d.query("capped.alpha.test.") and net.queries() > before,
                   "capped.alpha.test. to be asked upstream again", 15, log=d.read_log,
                   interval=0.25)
        assert time.monotonic() - t1 < server_ttl
    finally:
        d.stop()


def test_ttl_expiry(net, dnsr):
    # Inside the TTL: a record of TTL 8 asked twice; the second comes from the cache when it
    # is asked within 7 s of the first (the cache counts whole seconds). A machine so busy
    # that 7 s pass between two queries makes the check say nothing: the pair is tried again
    # once the entry has run out.
    for attempt in range(5):
        t1 = time.monotonic()             # the entry is cached after this
        r1, sent1 = upstream_delta(net, lambda: dnsr.query("ttl8.alpha.test."))
        assert addrs(r1) == ["192.0.2.8"] and r1.answer[0].ttl <= 8 and sent1 > 0
        r2, sent2 = upstream_delta(net, lambda: dnsr.query("ttl8.alpha.test."))
        if time.monotonic() - t1 < 7.0:   # ... and looked up before this
            break
        time.sleep(8.1)       # time must pass for the TTL to run out: not a wait for an event
    else:
        pytest.fail("5 times, more than 7 s between two queries: machine too busy")
    assert addrs(r2) == ["192.0.2.8"] and sent2 == 0
    # Past the TTL: a record of TTL 2, 2.1 s later, is asked upstream again (more time
    # passing on a busy machine only makes that surer).
    r1, sent1 = upstream_delta(net, lambda: dnsr.query("ttl2.alpha.test."))
    assert addrs(r1) == ["192.0.2.4"] and r1.answer[0].ttl <= 2 and sent1 > 0
    time.sleep(2.1)
    r3, sent3 = upstream_delta(net, lambda: dnsr.query("ttl2.alpha.test."))
    assert addrs(r3) == ["192.0.2.4"] and sent3 > 0


def test_identical_queries_share_one_resolution(net, dnsr):
    names = ["www2.gamma.test."] * 40
    rs, sent = upstream_delta(net, lambda: parallel(dnsr.query, names))
    assert all(addrs(r) == ["192.0.2.30"] for r in rs)
    assert 0 < sent < 10, sent


def test_eviction_at_max_size(net):
    small = mi.Dnsr(BUILD, net, cache="max-size = 16K\n", workers=1)
    try:
        assert addrs(small.query("first.many.alpha.test.")) == ["192.0.2.100"]
        _, sent = upstream_delta(net, lambda: small.query("first.many.alpha.test."))
        assert sent == 0
        names = ["n%03d.many.alpha.test." % i for i in range(300)]
        for i in range(0, len(names), 30):
            assert all(addrs(r) == ["192.0.2.100"] for r in parallel(small.query,
                                                                      names[i:i + 30]))
        st = small.stats()
        assert st["cache_bytes"] <= 16 * 1024 and st["cache_evictions"] > 0, st
        r, sent = upstream_delta(net, lambda: small.query("first.many.alpha.test."))
        assert addrs(r) == ["192.0.2.100"] and sent > 0    # evicted: asked again
    finally:
        small.stop()


# --------------------------------------------------------------- broken servers


def test_lame_delegation(net, dnsr):
    """Each lameNN.test is delegated to a server that does not serve it (NSD: REFUSED) and
    to one that does. Which is asked first is random, so 16 zones make it all but certain
    that the lame one is met; after that it is not asked again."""
    lame = net.nsd[mi.LAME]
    names = ["www." + z for z in mi.LAME_ZONES]
    before = net.nsd_stats()[mi.LAME]
    assert all(addrs(r) == ["192.0.2.60"] for r in parallel(dnsr.query, names))
    met = net.nsd_stats()[mi.LAME] - before
    assert met >= 1, "the lame server was never asked"
    rs, _ = upstream_delta(net, lambda: parallel(dnsr.query, ["www2." + z
                                                             for z in mi.LAME_ZONES]))
    assert all(addrs(r) == ["192.0.2.60"] for r in rs)
    assert net.nsd_stats()[mi.LAME] - before == met, "a lame server was asked again"
    assert lame.proc.poll() is None


def test_dead_server_another_is_tried(net, dnsr):
    """deadNN.test: one NS never answers (a black hole), the other does."""
    names = ["www." + z for z in mi.DEAD_ZONES]
    seen = len(net.blackhole.seen())
    # Answered at all means the other server was tried in time: waiting on the dead one
    # past resolve-timeout (4 s) would have given SERVFAIL.
    assert all(addrs(r) == ["192.0.2.70"] for r in parallel(dnsr.query, names))
    hits = len(net.blackhole.seen()) - seen
    assert hits >= 1, "the dead server was never tried"
    rs = parallel(dnsr.query, ["www2." + z for z in mi.DEAD_ZONES])
    assert all(addrs(r) == ["192.0.2.70"] for r in rs)
    assert len(net.blackhole.seen()) - seen == hits, "a dead server was asked again"


def test_all_servers_dead(dnsr):
    r = dnsr.query("www.broken.test.", use_edns=0)
    assert r.rcode() == dns.rcode.SERVFAIL
    code, text = ede(r)
    assert code == 22 and "timed out" in text


def test_large_answer_over_tcp_upstream(net, dnsr):
    tcp_before = sum(net.nsd_stats("tcp").values())
    r = dnsr.query("big.alpha.test.", "TXT", tcp=True)
    assert r.rcode() == dns.rcode.NOERROR
    assert len(r.answer[0]) == len(mi.BIG_TXT)
    assert sum(net.nsd_stats("tcp").values()) > tcp_before     # TC=1 upstream, then TCP
    r = dnsr.query("big.alpha.test.", "TXT", use_edns=0, payload=1232)
    assert r.flags & dns.flags.TC and not r.answer


# ------------------------------------------------------------------ the clients


def test_edns_and_errors(dnsr):
    r = dnsr.query("www.alpha.test.")
    assert r.edns == -1                         # no OPT asked, none given
    q = dns.message.make_query("www.alpha.test.", "A")
    q.use_edns(edns=1)
    assert dnsr.query(None, message=q).rcode() == dns.rcode.BADVERS
    assert dnsr.query("www.alpha.test.", rdclass="CH").rcode() == dns.rcode.REFUSED
    q = dns.message.make_query("www.alpha.test.", "A")
    q.flags &= ~dns.flags.RD
    assert dnsr.query(None, message=q).rcode() == dns.rcode.NOERROR    # cached: answered
    q = dns.message.make_query("uncached.alpha.test.", "A")
    q.flags &= ~dns.flags.RD
    assert dnsr.query(None, message=q).rcode() == dns.rcode.REFUSED    # RD=0: cache only


def test_tcp_pipelining(dnsr):
    import socket
    import struct
    s = socket.create_connection(("127.0.0.1", dnsr.port), timeout=5)
    qs = [dns.message.make_query(n, "A") for n in ("www.alpha.test.", "www.beta.test.",
                                                   "www.example.")]
    s.sendall(b"".join(struct.pack("!H", len(w)) + w for w in (q.to_wire() for q in qs)))
    got = {}
    buf = b""
    while len(got) < 3:
        buf += s.recv(65535)
        while len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
            n = struct.unpack("!H", buf[:2])[0]
            m = dns.message.from_wire(buf[2:2 + n])
            got[m.id] = m
            buf = buf[2 + n:]
    s.close()
    assert sorted(got) == sorted(q.id for q in qs)
    assert all(m.rcode() == dns.rcode.NOERROR and m.answer for m in got.values())


def test_acl_refuses_others(net):
    d = mi.Dnsr(BUILD, net, server="allow = 127.0.0.1/32\n")
    try:
        assert d.query("www.alpha.test.").rcode() == dns.rcode.NOERROR
        for tcp in (False, True):
            r = d.query("www.alpha.test.", source="127.0.0.9", tcp=tcp, use_edns=0)
            assert r.rcode() == dns.rcode.REFUSED and not r.answer
            assert ede(r)[0] == 18              # Prohibited
    finally:
        d.stop()


def test_default_acl_is_loopback_only(net):
    d = mi.Dnsr(BUILD, net)
    try:
        assert "clients allowed: 127.0.0.0/8, ::1" in d.read_log()
    finally:
        d.stop()


# ---------------------------------------------------------------- limits, modes


def test_upstream_query_limit(net):
    """NXNS-style amplification is bounded: a client query may cost at most max-queries."""
    d = mi.Dnsr(BUILD, net, resolver="max-queries = 3\n")
    try:
        assert addrs(d.query("www.alpha.test.")) == ["192.0.2.1", "192.0.2.2"]  # 3 queries
        r, sent = upstream_delta(net, lambda: d.query("www.beta.test.", use_edns=0))
        assert r.rcode() == dns.rcode.SERVFAIL and sent <= 3
        assert ede(r) == (0, "too many upstream queries")
    finally:
        d.stop()


def test_referral_limit(net):
    d = mi.Dnsr(BUILD, net, resolver="max-referrals = 1\n")
    try:
        r = d.query("www.alpha.test.", use_edns=0)     # root -> test -> alpha: 2 referrals
        assert r.rcode() == dns.rcode.SERVFAIL and ede(r) == (0, "too many referrals")
    finally:
        d.stop()


def test_forward_mode(net, dnsr):
    # Forwarding to an authoritative server of the mini internet, then to the resolver.
    fwd = mi.Dnsr(BUILD, None, resolver="mode = forward\nforwarders = %s:%d\n"
                  % (mi.GOOD2, net.port))
    chained = mi.Dnsr(BUILD, None, resolver="mode = forward\nforwarders = 127.0.0.1:%d\n"
                      % dnsr.port)
    try:
        good2 = lambda: net.nsd_stats()[mi.GOOD2]
        before = good2()
        assert addrs(fwd.query("www.victim.test.")) == ["192.0.2.40"]
        assert good2() - before == 1
        assert addrs(fwd.query("www.victim.test.")) == ["192.0.2.40"]
        assert good2() - before == 1            # cached
        assert fwd.query("nope.victim.test.").rcode() == dns.rcode.NXDOMAIN
        r = chained.query("chain1.alpha.test.")
        assert answer_types(r)[-1] == ("www.victim.test.", "A")
        assert chained.query("www.example.").rcode() == dns.rcode.NOERROR
    finally:
        fwd.stop()
        chained.stop()


def test_still_running(dnsr):
    assert dnsr.proc.poll() is None, dnsr.read_log()
    st = dnsr.stats()
    assert st["queries"] > 0 and st["upstream"] > 0 and st["cache_answers"] > 0
