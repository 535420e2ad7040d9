/* test_reply.c: unit tests of dnsr's answers: cache chains and the response on the wire. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dnsr/cache.h"
#include "dnsr/reply.h"
#include "common/dname.h"
#include "common/wire.h"

static const struct cache_limits no_clamp = { 0, UINT32_MAX, UINT32_MAX };

static void
W(const char *s, uint8_t *out)
{
	assert_true(dname_from_str(s, NULL, out) > 0);
}

static struct rrset *
one(uint16_t type, uint32_t ttl, const uint8_t *rd, size_t len)
{
	struct rrset_builder b;

	rrset_builder_init(&b, type);
	assert_int_equal(rrset_builder_add(&b, ttl, rd, (uint16_t)len), 0);
	return rrset_builder_finish(&b);
}

/* Caches one RRset of a single record (a name for CNAME/DNAME, else octets). */
static void
put(struct cache *c, const char *owner, uint16_t type, const void *rd, size_t len,
    uint8_t flags, uint32_t expire)
{
	uint8_t o[DNAME_MAXLEN], name[DNAME_MAXLEN];
	struct cache_entry *e;

	W(owner, o);
	if (type == DNS_TYPE_CNAME || type == DNS_TYPE_DNAME) {
		W(rd, name);
		rd = name;
		len = dname_len(name);
	}
	e = cache_entry_positive(o, one(type, 300, rd, len), CACHE_RANK_ANSWER, flags, expire);
	assert_true(cache_insert(c, e, 1000));
	cache_entry_unref(e);
}

static struct cache *
fixture(void)
{
	struct cache *c = cache_new(1 << 20, &no_clamp);
	uint8_t soa[64], n[DNAME_MAXLEN];
	size_t sl;
	struct cache_entry *e;

	put(c, "www.example.", DNS_TYPE_A, "\xc0\x00\x02\x01", 4, 0, 1300);
	put(c, "alias.example.", DNS_TYPE_CNAME, "mid.example.", 0, 0, 1300);
	put(c, "mid.example.", DNS_TYPE_CNAME, "www.example.", 0, 0, 1100);
	put(c, "loop1.example.", DNS_TYPE_CNAME, "loop2.example.", 0, 0, 1300);
	put(c, "loop2.example.", DNS_TYPE_CNAME, "loop1.example.", 0, 0, 1300);
	put(c, "x.dn.example.", DNS_TYPE_CNAME, "x.other.", 0, CACHE_FLAG_SYNTH, 1300);
	put(c, "other-alias.example.", DNS_TYPE_CNAME, "gone.example.", 0, 0, 1300);
	sl = (size_t)dname_from_str("ns.example.", NULL, soa);
	sl += (size_t)dname_from_str("h.example.", NULL, soa + sl);
	memset(soa + sl, 0, 20);
	sl += 20;
	W("gone.example.", n);
	e = cache_entry_negative(n, CACHE_TYPE_NXDOMAIN, (const uint8_t *)"\x07" "example",
	    one(DNS_TYPE_SOA, 60, soa, sl), 1060, 1000);
	assert_true(cache_insert(c, e, 1000));
	cache_entry_unref(e);
	return c;
}

static enum reply_lookup
lookup(struct cache *c, const char *name, uint16_t qtype, struct result *r, char *next,
    int *links)
{
	uint8_t n[DNAME_MAXLEN], nx[DNAME_MAXLEN];
	enum reply_lookup rc;

	W(name, n);
	result_init(r);
	*links = 0;
	rc = reply_lookup(c, n, qtype, 1000, r, nx, links, 12, true);
	if (rc == LOOKUP_MISS)
		dname_to_str(nx, next, DNAME_STRLEN);
	return rc;
}

static void
test_lookup_chains(void **state)
{
	struct cache *c = fixture();
	char next[DNAME_STRLEN];
	struct result r;
	int links;

	assert_int_equal(lookup(c, "www.example.", DNS_TYPE_A, &r, next, &links), LOOKUP_DONE);
	assert_int_equal(r.nan, 1);
	assert_int_equal(r.rcode, DNS_RCODE_NOERROR);
	result_clear(&r);
	assert_int_equal(lookup(c, "alias.example.", DNS_TYPE_A, &r, next, &links),
	    LOOKUP_DONE);
	assert_int_equal(r.nan, 3);
	assert_int_equal(links, 2);
	assert_int_equal(r.an[0]->type, DNS_TYPE_CNAME);
	assert_int_equal(r.an[2]->type, DNS_TYPE_A);
	result_clear(&r);
	/* The chain goes as far as the cache does, then says where to go on. */
	assert_int_equal(lookup(c, "alias.example.", DNS_TYPE_AAAA, &r, next, &links),
	    LOOKUP_MISS);
	assert_string_equal(next, "www.example.");
	assert_int_equal(r.nan, 2);
	result_clear(&r);
	/* A CNAME query is answered by the CNAME itself. */
	assert_int_equal(lookup(c, "alias.example.", DNS_TYPE_CNAME, &r, next, &links),
	    LOOKUP_DONE);
	assert_int_equal(r.nan, 1);
	result_clear(&r);
	/* NXDOMAIN at the end of a chain: the rcode of the last name (RFC 6604). */
	assert_int_equal(lookup(c, "other-alias.example.", DNS_TYPE_A, &r, next, &links),
	    LOOKUP_DONE);
	assert_int_equal(r.rcode, DNS_RCODE_NXDOMAIN);
	assert_int_equal(r.nan, 1);
	assert_non_null(r.neg);
	result_clear(&r);
	assert_int_equal(lookup(c, "loop1.example.", DNS_TYPE_A, &r, next, &links),
	    LOOKUP_CHAIN_LIMIT);
	result_clear(&r);
	/* ANY is never answered from the cache. */
	assert_int_equal(lookup(c, "www.example.", DNS_TYPE_ANY, &r, next, &links), LOOKUP_MISS);
	assert_string_equal(next, "www.example.");
	result_clear(&r);
	cache_free(c);
}

static void
test_synthesized_cname_needs_its_dname(void **state)
{
	struct cache *c = fixture();
	char next[DNAME_STRLEN];
	struct result r;
	int links;

	/* Without the DNAME the synthesized CNAME is not answered alone. */
	assert_int_equal(lookup(c, "x.dn.example.", DNS_TYPE_A, &r, next, &links), LOOKUP_MISS);
	assert_string_equal(next, "x.dn.example.");
	assert_int_equal(r.nan, 0);
	result_clear(&r);
	put(c, "dn.example.", DNS_TYPE_DNAME, "other.", 0, 0, 1300);
	assert_int_equal(lookup(c, "x.dn.example.", DNS_TYPE_A, &r, next, &links), LOOKUP_MISS);
	assert_string_equal(next, "x.other.");
	assert_int_equal(r.nan, 2);
	assert_int_equal(r.an[0]->type, DNS_TYPE_DNAME);
	assert_int_equal(r.an[1]->type, DNS_TYPE_CNAME);
	result_clear(&r);
	cache_free(c);
}

static size_t
query(uint8_t *buf, const char *name, uint16_t qtype, bool edns, uint16_t payload,
    struct dns_query *q)
{
	struct wire_writer w;
	uint8_t n[DNAME_MAXLEN];
	size_t len;

	W(name, n);
	wire_init(&w, buf, 512);
	wire_header(&w, 0xbeef, DNS_FLAG_RD | DNS_FLAG_CD);
	wire_question(&w, n, qtype, DNS_CLASS_IN);
	if (edns)
		wire_opt(&w, payload, 0, 0, 0, NULL, 0);
	len = wire_finish(&w);
	assert_int_equal(wire_parse_query(buf, len, q), WIRE_OK);
	return len;
}

static void
test_wire_answer(void **state)
{
	struct cache *c = fixture();
	uint8_t qbuf[512], out[DNS_MAX_MSG];
	char next[DNAME_STRLEN];
	struct dns_query q;
	struct wire_msg m;
	struct wire_iter it;
	struct wire_rr rr;
	struct result r;
	int links, n = 0;
	size_t len;

	query(qbuf, "ALIAS.Example.", DNS_TYPE_A, false, 0, &q);
	assert_int_equal(lookup(c, "alias.example.", DNS_TYPE_A, &r, next, &links), LOOKUP_DONE);
	len = reply_write(out, sizeof(out), &q, &r, false, 1232, 1040);
	assert_int_equal(wire_msg_parse(out, len, &m), 0);
	assert_int_equal(m.id, 0xbeef);
	assert_int_equal(m.flags, DNS_FLAG_QR | DNS_FLAG_RD | DNS_FLAG_CD | DNS_FLAG_RA);
	assert_memory_equal(m.qname, "\x05" "ALIAS\x07" "Example", 14);	/* the client's case */
	assert_false(m.edns);
	assert_int_equal(m.counts[WIRE_AN], 3);
	wire_iter_init(&m, &it);
	while (wire_iter_next(&m, &it, &rr) == 1) {
		/* TTLs count down: 1300 - 1040, and mid expires at 1100 */
		assert_int_equal(rr.ttl, n == 1 ? 60 : 260);
		n++;
	}
	result_clear(&r);
	cache_free(c);
}

static void
test_wire_negative_and_errors(void **state)
{
	struct cache *c = fixture();
	uint8_t qbuf[512], out[DNS_MAX_MSG];
	char next[DNAME_STRLEN];
	struct dns_query q;
	struct wire_msg m;
	struct wire_iter it;
	struct wire_rr rr;
	struct result r;
	int links;
	size_t len;

	query(qbuf, "gone.example.", DNS_TYPE_A, true, 4096, &q);
	assert_int_equal(lookup(c, "gone.example.", DNS_TYPE_A, &r, next, &links), LOOKUP_DONE);
	len = reply_write(out, sizeof(out), &q, &r, false, 1232, 1010);
	assert_int_equal(wire_msg_parse(out, len, &m), 0);
	assert_int_equal(wire_msg_rcode(&m), DNS_RCODE_NXDOMAIN);
	assert_int_equal(m.counts[WIRE_NS], 1);
	assert_true(m.edns);
	assert_int_equal(m.edns_udp, 1232);		/* ours, not the client's 4096 */
	wire_iter_init(&m, &it);
	assert_int_equal(wire_iter_next(&m, &it, &rr), 1);
	assert_int_equal(rr.type, DNS_TYPE_SOA);
	assert_int_equal(rr.ttl, 50);
	result_clear(&r);
	/* SERVFAIL with an Extended DNS Error: code 22 and the text. */
	len = reply_error(out, sizeof(out), &q, DNS_RCODE_SERVFAIL, EDE_NO_REACHABLE_AUTHORITY,
	    "upstream servers timed out", false, 1232);
	assert_int_equal(wire_msg_parse(out, len, &m), 0);
	assert_int_equal(wire_msg_rcode(&m), DNS_RCODE_SERVFAIL);
	wire_iter_init(&m, &it);
	assert_int_equal(wire_iter_next(&m, &it, &rr), 1);
	assert_int_equal(rr.type, DNS_TYPE_OPT);
	assert_int_equal(rr.rdlen, 4 + 2 + strlen("upstream servers timed out"));
	assert_int_equal(wire_read16(out + rr.rdata), EDNS_OPT_EDE);
	assert_int_equal(wire_read16(out + rr.rdata + 4), EDE_NO_REACHABLE_AUTHORITY);
	assert_memory_equal(out + rr.rdata + 6, "upstream servers timed out", 26);
	cache_free(c);
}

static void
test_wire_truncation(void **state)
{
	struct cache *c = cache_new(1 << 20, &no_clamp);
	uint8_t qbuf[512], out[DNS_MAX_MSG], txt[200], n[DNAME_MAXLEN];
	struct rrset_builder b;
	struct cache_entry *e;
	struct dns_query q;
	struct wire_msg m;
	struct result r;
	size_t len;

	memset(txt, 'x', sizeof(txt));
	txt[0] = 199;
	rrset_builder_init(&b, DNS_TYPE_TXT);
	for (int i = 0; i < 10; i++) {
		txt[1] = (uint8_t)('0' + i);
		assert_int_equal(rrset_builder_add(&b, 60, txt, sizeof(txt)), 0);
	}
	W("big.example.", n);
	e = cache_entry_positive(n, rrset_builder_finish(&b), CACHE_RANK_ANSWER, 0, 2000);
	result_init(&r);
	assert_int_equal(result_add(&r, e), 0);
	cache_entry_unref(e);
	/* Over UDP with 1232 octets: TC=1 and no partial RRset. */
	query(qbuf, "big.example.", DNS_TYPE_TXT, true, 1232, &q);
	len = reply_write(out, sizeof(out), &q, &r, false, 1232, 1000);
	assert_true(len <= 1232);
	assert_int_equal(wire_msg_parse(out, len, &m), 0);
	assert_true(m.flags & DNS_FLAG_TC);
	assert_int_equal(m.counts[WIRE_AN], 0);
	assert_true(m.edns);
	/* Over TCP: all of it. */
	len = reply_write(out, sizeof(out), &q, &r, true, 1232, 1000);
	assert_int_equal(wire_msg_parse(out, len, &m), 0);
	assert_false(m.flags & DNS_FLAG_TC);
	assert_int_equal(m.counts[WIRE_AN], 10);
	/* Without EDNS the limit is 512. */
	query(qbuf, "big.example.", DNS_TYPE_TXT, false, 0, &q);
	len = reply_write(out, sizeof(out), &q, &r, false, 1232, 1000);
	assert_true(len <= 512);
	result_clear(&r);
	cache_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup_chains),
		cmocka_unit_test(test_synthesized_cname_needs_its_dname),
		cmocka_unit_test(test_wire_answer),
		cmocka_unit_test(test_wire_negative_and_errors),
		cmocka_unit_test(test_wire_truncation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
