/*
 * test_tsig.c: TSIG (common/tsig.c): the key table, requests signed by libknot as a client
 * would sign them judged by tsig_verify (every algorithm, BADKEY, BADSIG, BADTIME,
 * truncated MACs), responses checked with libknot's client checks, a sign_next chain.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <libknot/consts.h>
#include <libknot/errcode.h>
#include <libknot/packet/pkt.h>
#include <libknot/tsig-op.h>

#include "common/gate.h"
#include "common/tsig.h"

#define ID	0x5a5a

static const char *const ALGS[] = {
	"hmac-md5", "hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512",
};
#define SECRET	"2v0yTDE8Gg3Oq2b4z1J6ewK8cB2H7fYzmQwq0aOZ5Gs="
#define OTHER	"AAAATDE8Gg3Oq2b4z1J6ewK8cB2H7fYzmQwq0aOZ5Gs="

/*
 * The clock libknot and tsig.c read, moved by clock_shift seconds: this definition
 * interposes libc's time() for the whole program, libknot included.
 */
static long clock_shift;

time_t
time(time_t *t)
{
	struct timespec ts;
	time_t now;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = ts.tv_sec + clock_shift;
	if (t != NULL)
		*t = now;
	return now;
}

/* The one key of a table keys_with() made. */
static const knot_tsig_key_t *
kk(const struct tsig_keys *k)
{
	static const char *const names[] = { "key.example.", "nokey.example." };
	uint8_t wire[DNAME_MAXLEN];

	for (size_t i = 0; i < 2; i++) {
		assert_true(dname_from_str(names[i], NULL, wire) > 0);
		if (tsig_keys_find(k, wire) != NULL)
			return tsig_keys_find(k, wire);
	}
	fail();
	return NULL;
}

static struct tsig_keys *
keys_with(const char *name, const char *value)
{
	struct tsig_keys *k = tsig_keys_new();
	char err[256];

	assert_non_null(k);
	assert_int_equal(tsig_keys_add(k, name, value, err, sizeof(err)), 0);
	return k;
}

/* A query for www.example.com. A, signed as a client signs it (libknot), at clock_shift. */
static size_t
signed_query(const knot_tsig_key_t *key, uint8_t *buf, size_t cap, uint8_t *mac,
    size_t *maclen)
{
	uint8_t qname[DNAME_MAXLEN];
	struct wire_writer w;
	size_t len;

	assert_true(dname_from_str("www.example.com.", NULL, qname) > 0);
	wire_init(&w, buf, cap);
	wire_header(&w, ID, DNS_FLAG_RD);
	assert_int_equal(wire_question(&w, qname, DNS_TYPE_A, DNS_CLASS_IN), 0);
	len = wire_finish(&w);
	*maclen = TSIG_MAC_MAX;
	assert_int_equal(knot_tsig_sign(buf, &len, cap, NULL, 0, mac, maclen, key, 0, 0),
	    KNOT_EOK);
	return len;
}

/* A response to the query (header and question of q, QR set) for the signer. */
static size_t
response(const struct dns_query *q, uint8_t *buf, size_t cap)
{
	struct wire_writer w;

	wire_init(&w, buf, cap);
	wire_header(&w, q->id, DNS_FLAG_QR | DNS_FLAG_AA);
	assert_int_equal(wire_question(&w, q->qname, q->qtype, q->qclass), 0);
	return wire_finish(&w);
}

static enum tsig_result
judge(const struct tsig_keys *k, const uint8_t *msg, size_t len, struct tsig_ctx *ctx)
{
	struct dns_query q;

	assert_int_equal(wire_read_message(msg, len, &q), WIRE_OK);
	assert_true(q.tsig_pos > 0);
	return tsig_verify(k, msg, len, &q, ctx);
}

/*
 * Parses a response with libknot (which strips its TSIG from the wire) and checks it as
 * a client would: the first message against the request MAC, later ones (next) against
 * the previous MAC. Returns libknot's result; *tsig_error and the MAC are left for checks.
 */
static int
client_check(uint8_t *msg, size_t len, const knot_tsig_key_t *key, const uint8_t *prev,
    size_t prevlen, bool next, uint16_t *tsig_error, uint8_t *mac, size_t *maclen)
{
	knot_pkt_t *pkt = knot_pkt_new(msg, (uint16_t)len, NULL);
	int ret;

	assert_non_null(pkt);
	assert_int_equal(knot_pkt_parse(pkt, 0), KNOT_EOK);
	assert_non_null(pkt->tsig_rr);
	*tsig_error = knot_tsig_rdata_error(pkt->tsig_rr);
	*maclen = knot_tsig_rdata_mac_length(pkt->tsig_rr);
	memcpy(mac, knot_tsig_rdata_mac(pkt->tsig_rr), *maclen);
	ret = next ? knot_tsig_client_check_next(pkt->tsig_rr, pkt->wire, pkt->size, prev,
	    prevlen, key, 0) : knot_tsig_client_check(pkt->tsig_rr, pkt->wire, pkt->size,
	    prev, prevlen, key, 0);
	knot_pkt_free(pkt);
	return ret;
}

static void
test_keys(void **state)
{
	struct tsig_keys *k = tsig_keys_new();
	uint8_t name[DNAME_MAXLEN];
	char err[256];

	assert_int_equal(tsig_keys_add(k, "Xfr-Key", "hmac-sha256:" SECRET, err,
	    sizeof(err)), 0);
	assert_int_equal(tsig_keys_add(k, "other.example.", "HMAC-SHA512:" SECRET, err,
	    sizeof(err)), 0);
	assert_int_equal(tsig_keys_count(k), 2);
	assert_true(dname_from_str("xfr-KEY.", NULL, name) > 0);
	assert_non_null(tsig_keys_find(k, name));
	assert_int_equal(tsig_keys_find(k, name)->algorithm, DNSSEC_TSIG_HMAC_SHA256);
	assert_int_equal(tsig_keys_find(k, name)->secret.size, 32);
	assert_int_equal(tsig_keys_add(k, "xfr-key.", "hmac-sha1:" SECRET, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "twice"));
	assert_int_equal(tsig_keys_add(k, "a", "hmac-sha3:" SECRET, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown algorithm"));
	assert_int_equal(tsig_keys_add(k, "b", "hmac-sha256:not*base64", err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "base64"));
	assert_int_equal(tsig_keys_add(k, "c", "hmac-sha256:", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "empty secret"));
	assert_int_equal(tsig_keys_add(k, "d", SECRET, err, sizeof(err)), -1);
	assert_int_equal(tsig_keys_add(k, "e..f", "hmac-sha256:" SECRET, err, sizeof(err)),
	    -1);
	assert_int_equal(tsig_keys_count(k), 2);
	tsig_keys_free(k);
	tsig_keys_free(NULL);
}

/* Every algorithm: a signed query verifies, its signed response verifies for the client. */
static void
test_round_trip(void **state)
{
	for (size_t i = 0; i < sizeof(ALGS) / sizeof(ALGS[0]); i++) {
		char value[128];
		struct tsig_keys *k;
		const knot_tsig_key_t *key;
		uint8_t q[512], r[512], mac[TSIG_MAC_MAX], rmac[TSIG_MAC_MAX];
		size_t qlen, rlen, maclen, rmaclen;
		struct tsig_ctx ctx;
		struct dns_query dq;
		uint16_t err;

		snprintf(value, sizeof(value), "%s:%s", ALGS[i], SECRET);
		k = keys_with("key.example.", value);
		key = kk(k);
		qlen = signed_query(key, q, sizeof(q), mac, &maclen);
		assert_int_equal(judge(k, q, qlen, &ctx), TSIG_OK);
		assert_ptr_equal(ctx.key, key);
		assert_memory_equal(ctx.mac, mac, maclen);
		assert_int_equal(wire_read_message(q, qlen, &dq), WIRE_OK);
		rlen = response(&dq, r, sizeof(r));
		assert_true(tsig_reserve(&ctx) >= 10);
		assert_int_equal(tsig_sign_first(&ctx, r, &rlen, sizeof(r)), 0);
		assert_int_equal(client_check(r, rlen, key, mac, maclen, false, &err, rmac,
		    &rmaclen), KNOT_EOK);
		assert_int_equal(err, 0);
		assert_int_equal(rmaclen, tsig_algorithm_size(key->algorithm));
		tsig_keys_free(k);
	}
}

static void
upper(uint8_t *name)
{
	for (size_t i = 0; i < dname_len(name); i++)
		if (name[i] >= 'a' && name[i] <= 'z')
			name[i] = (uint8_t)(name[i] - 'a' + 'A');
}

/* Key and algorithm names in another case still verify: the MAC covers canonical forms. */
static void
test_case(void **state)
{
	struct tsig_keys *k = keys_with("key.example.", "hmac-sha256:" SECRET);
	uint8_t q[512], mac[TSIG_MAC_MAX];
	size_t qlen, maclen;
	struct tsig_ctx ctx;
	struct dns_query dq;

	qlen = signed_query(kk(k), q, sizeof(q), mac, &maclen);
	assert_int_equal(wire_read_message(q, qlen, &dq), WIRE_OK);
	upper(q + dq.tsig_pos);		/* the key name */
	upper(q + dq.tsig_rdata);	/* the algorithm */
	assert_int_equal(judge(k, q, qlen, &ctx), TSIG_OK);
	tsig_keys_free(k);
}

/* An unknown key, an unknown algorithm for a known key: BADKEY, the error unsigned. */
static void
test_badkey(void **state)
{
	struct tsig_keys *server = keys_with("key.example.", "hmac-sha256:" SECRET);
	struct tsig_keys *c1 = keys_with("nokey.example.", "hmac-sha256:" SECRET);
	struct tsig_keys *c2 = keys_with("key.example.", "hmac-sha512:" SECRET);
	uint8_t q[512], r[512], mac[TSIG_MAC_MAX];
	size_t qlen, rlen, maclen;
	struct tsig_ctx ctx;
	struct dns_query dq;
	knot_pkt_t *pkt;

	qlen = signed_query(kk(c2), q, sizeof(q), mac, &maclen);
	assert_int_equal(judge(server, q, qlen, &ctx), TSIG_BADKEY);
	assert_int_equal(judge(NULL, q, qlen, &ctx), TSIG_BADKEY);
	qlen = signed_query(kk(c1), q, sizeof(q), mac, &maclen);
	assert_int_equal(judge(server, q, qlen, &ctx), TSIG_BADKEY);
	assert_null(ctx.key);
	assert_int_equal(wire_read_message(q, qlen, &dq), WIRE_OK);
	rlen = response(&dq, r, sizeof(r));
	assert_int_equal(tsig_sign_first(&ctx, r, &rlen, sizeof(r)), 0);
	pkt = knot_pkt_new(r, (uint16_t)rlen, NULL);
	assert_int_equal(knot_pkt_parse(pkt, 0), KNOT_EOK);
	assert_non_null(pkt->tsig_rr);
	assert_int_equal(knot_tsig_rdata_error(pkt->tsig_rr), KNOT_RCODE_BADKEY);
	assert_int_equal(knot_tsig_rdata_mac_length(pkt->tsig_rr), 0);
	assert_true(knot_dname_is_equal(pkt->tsig_rr->owner, kk(c1)->name));
	knot_pkt_free(pkt);
	tsig_keys_free(server);
	tsig_keys_free(c1);
	tsig_keys_free(c2);
}

/* The wrong secret, a changed message: BADSIG, unsigned. */
static void
test_badsig(void **state)
{
	struct tsig_keys *server = keys_with("key.example.", "hmac-sha256:" SECRET);
	struct tsig_keys *client = keys_with("key.example.", "hmac-sha256:" OTHER);
	uint8_t q[512], r[512], mac[TSIG_MAC_MAX];
	size_t qlen, rlen, maclen;
	struct tsig_ctx ctx;
	struct dns_query dq;
	knot_pkt_t *pkt;

	qlen = signed_query(kk(client), q, sizeof(q), mac, &maclen);
	assert_int_equal(judge(server, q, qlen, &ctx), TSIG_BADSIG);
	assert_null(ctx.key);
	assert_int_equal(wire_read_message(q, qlen, &dq), WIRE_OK);
	rlen = response(&dq, r, sizeof(r));
	assert_int_equal(tsig_sign_first(&ctx, r, &rlen, sizeof(r)), 0);
	pkt = knot_pkt_new(r, (uint16_t)rlen, NULL);
	assert_int_equal(knot_pkt_parse(pkt, 0), KNOT_EOK);
	assert_int_equal(knot_tsig_rdata_error(pkt->tsig_rr), KNOT_RCODE_BADSIG);
	assert_int_equal(knot_tsig_rdata_mac_length(pkt->tsig_rr), 0);
	knot_pkt_free(pkt);

	qlen = signed_query(kk(server), q, sizeof(q), mac, &maclen);
	q[3] ^= 0x10;	/* CD flipped after signing */
	assert_int_equal(judge(server, q, qlen, &ctx), TSIG_BADSIG);
	tsig_keys_free(server);
	tsig_keys_free(client);
}

/* Signed 1000 s ago: BADTIME, signed, the request's time signed and our time in other. */
static void
test_badtime(void **state)
{
	struct tsig_keys *k = keys_with("key.example.", "hmac-sha256:" SECRET);
	uint8_t q[512], r[512], mac[TSIG_MAC_MAX], rmac[TSIG_MAC_MAX];
	size_t qlen, rlen, maclen, rmaclen;
	struct tsig_ctx ctx;
	struct dns_query dq;
	knot_pkt_t *pkt;
	uint16_t err;
	time_t now;

	clock_shift = -1000;
	qlen = signed_query(kk(k), q, sizeof(q), mac, &maclen);
	clock_shift = 0;
	now = time(NULL);
	assert_int_equal(judge(k, q, qlen, &ctx), TSIG_BADTIME);
	assert_non_null(ctx.key);
	assert_int_equal(wire_read_message(q, qlen, &dq), WIRE_OK);
	rlen = response(&dq, r, sizeof(r));
	assert_int_equal(tsig_sign_first(&ctx, r, &rlen, sizeof(r)), 0);
	pkt = knot_pkt_new(r, (uint16_t)rlen, NULL);
	assert_int_equal(knot_pkt_parse(pkt, 0), KNOT_EOK);
	assert_int_equal(knot_tsig_rdata_other_data_length(pkt->tsig_rr), 6);
	{
		const uint8_t *o = knot_tsig_rdata_other_data(pkt->tsig_rr);
		uint64_t t = ((uint64_t)o[0] << 40) | ((uint64_t)o[1] << 32) |
		    ((uint64_t)o[2] << 24) | ((uint64_t)o[3] << 16) | ((uint64_t)o[4] << 8) | o[5];

		assert_true(t >= (uint64_t)now && t <= (uint64_t)now + 2);
	}
	assert_true(knot_tsig_rdata_time_signed(pkt->tsig_rr) <= (uint64_t)now - 999);
	knot_pkt_free(pkt);
	/* The client, on its own (slow) clock, verifies it with the request's MAC. */
	rlen = response(&dq, r, sizeof(r));
	assert_int_equal(judge(k, q, qlen, &ctx), TSIG_BADTIME);
	assert_int_equal(tsig_sign_first(&ctx, r, &rlen, sizeof(r)), 0);
	clock_shift = -1000;
	assert_int_equal(client_check(r, rlen, kk(k), mac, maclen, false, &err, rmac,
	    &rmaclen), KNOT_EOK);
	clock_shift = 0;
	assert_int_equal(err, KNOT_RCODE_BADTIME);
	/* Within the fudge (300 s) it is fine. */
	clock_shift = -200;
	qlen = signed_query(kk(k), q, sizeof(q), mac, &maclen);
	clock_shift = 0;
	assert_int_equal(judge(k, q, qlen, &ctx), TSIG_OK);
	tsig_keys_free(k);
}

/* Rewrites the MAC of the signed query q (its TSIG at the end) to n octets of mac. */
static size_t
set_mac(uint8_t *q, size_t qlen, const uint8_t *mac, size_t n)
{
	struct dns_query dq;
	uint8_t tail[32];
	size_t p, taillen;
	uint16_t oldlen;

	assert_int_equal(wire_read_message(q, qlen, &dq), WIRE_OK);
	p = dq.tsig_rdata + dname_len(q + dq.tsig_rdata) + 8;
	oldlen = wire_read16(q + p);
	taillen = qlen - (p + 2 + oldlen);
	memcpy(tail, q + p + 2 + oldlen, taillen);
	wire_write16(q + p, (uint16_t)n);
	memcpy(q + p + 2, mac, n);
	memcpy(q + p + 2 + n, tail, taillen);
	wire_write16(q + dq.tsig_rdata - 2, (uint16_t)(dq.tsig_rdlen - oldlen + n));
	return qlen - oldlen + n;
}

/* RFC 8945 5.2.2.1: too long or too short FORMERR, a valid truncation BADTRUNC (signed). */
static void
test_truncation(void **state)
{
	struct tsig_keys *k = keys_with("key.example.", "hmac-sha256:" SECRET);
	uint8_t q[512], r[512], mac[TSIG_MAC_MAX], bad[TSIG_MAC_MAX], rmac[TSIG_MAC_MAX];
	size_t qlen, rlen, maclen, rmaclen, n;
	struct tsig_ctx ctx;
	struct dns_query dq;
	uint16_t err;

	n = signed_query(kk(k), q, sizeof(q), mac, &maclen);
	assert_int_equal(maclen, 32);
	memcpy(bad, mac, maclen);
	bad[32] = 0;
	assert_int_equal(judge(k, q, set_mac(q, n, bad, 33), &ctx), TSIG_FORMERR);
	n = signed_query(kk(k), q, sizeof(q), mac, &maclen);
	assert_int_equal(judge(k, q, set_mac(q, n, mac, 15), &ctx), TSIG_FORMERR);
	n = signed_query(kk(k), q, sizeof(q), mac, &maclen);
	memcpy(bad, mac, 16);
	bad[3] ^= 1;
	assert_int_equal(judge(k, q, set_mac(q, n, bad, 16), &ctx), TSIG_BADSIG);
	n = signed_query(kk(k), q, sizeof(q), mac, &maclen);
	qlen = set_mac(q, n, mac, 16);
	assert_int_equal(judge(k, q, qlen, &ctx), TSIG_BADTRUNC);
	assert_int_equal(ctx.mac_len, 16);
	assert_int_equal(wire_read_message(q, qlen, &dq), WIRE_OK);
	rlen = response(&dq, r, sizeof(r));
	assert_int_equal(tsig_sign_first(&ctx, r, &rlen, sizeof(r)), 0);
	assert_int_equal(client_check(r, rlen, kk(k), mac, 16, false, &err, rmac,
	    &rmaclen), KNOT_EOK);
	assert_int_equal(err, KNOT_RCODE_BADTRUNC);
	assert_int_equal(rmaclen, 32);
	tsig_keys_free(k);
}

/* A transfer's messages: first with tsig_sign_first, then each with sign_next, chained. */
static void
test_sign_next(void **state)
{
	struct tsig_keys *k = keys_with("key.example.", "hmac-sha384:" SECRET);
	uint8_t q[512], r[512], mac[TSIG_MAC_MAX], prev[TSIG_MAC_MAX];
	size_t qlen, rlen, maclen, prevlen;
	struct tsig_ctx ctx;
	struct dns_query dq;
	uint16_t err;

	qlen = signed_query(kk(k), q, sizeof(q), mac, &maclen);
	assert_int_equal(judge(k, q, qlen, &ctx), TSIG_OK);
	assert_int_equal(wire_read_message(q, qlen, &dq), WIRE_OK);
	rlen = response(&dq, r, sizeof(r));
	assert_int_equal(tsig_sign_next(&ctx, r, &rlen, sizeof(r)), -1);	/* first first */
	assert_int_equal(tsig_sign_first(&ctx, r, &rlen, sizeof(r)), 0);
	assert_int_equal(client_check(r, rlen, kk(k), mac, maclen, false, &err, prev,
	    &prevlen), KNOT_EOK);
	for (int i = 0; i < 3; i++) {
		uint8_t next[TSIG_MAC_MAX];
		size_t nextlen;

		rlen = response(&dq, r, sizeof(r));
		assert_int_equal(tsig_sign_next(&ctx, r, &rlen, sizeof(r)), 0);
		assert_int_equal(client_check(r, rlen, kk(k), prev, prevlen, true, &err,
		    next, &nextlen), KNOT_EOK);
		memcpy(prev, next, nextlen);
		prevlen = nextlen;
	}
	assert_int_equal(ctx.nsigned, 4);
	/* A message signed next but checked against the wrong MAC fails. */
	rlen = response(&dq, r, sizeof(r));
	assert_int_equal(tsig_sign_next(&ctx, r, &rlen, sizeof(r)), 0);
	assert_int_not_equal(client_check(r, rlen, kk(k), mac, maclen, true, &err,
	    prev, &prevlen), KNOT_EOK);
	/* No room: -1, the message unchanged. */
	rlen = response(&dq, r, sizeof(r));
	{
		size_t before = rlen;

		assert_int_equal(tsig_sign_next(&ctx, r, &rlen, rlen + 20), -1);
		assert_int_equal(rlen, before);
	}
	tsig_keys_free(k);
}

/* wire_read_message: TSIG last, once, in the additional section, class ANY, else FORMERR. */
static void
test_placement(void **state)
{
	struct tsig_keys *k = keys_with("key.example.", "hmac-sha256:" SECRET);
	uint8_t q[1024], mac[TSIG_MAC_MAX];
	size_t qlen, maclen, tsiglen;
	struct dns_query dq;
	struct gate_policy p = { .xfr_rcode = DNS_RCODE_REFUSED, .tsig_keys = k };
	struct gate_result g;

	qlen = signed_query(kk(k), q, sizeof(q), mac, &maclen);
	assert_int_equal(wire_read_message(q, qlen, &dq), WIRE_OK);
	tsiglen = qlen - dq.tsig_pos;
	/* Two TSIG RRs. */
	memcpy(q + qlen, q + dq.tsig_pos, tsiglen);
	wire_write16(q + 10, 2);
	assert_int_equal(wire_read_message(q, qlen + tsiglen, &dq), WIRE_FORMERR);
	assert_true(dq.tsig_malformed);
	assert_int_equal(gate_check(&p, q, qlen + tsiglen, NULL, 0, &dq, &g), GATE_REPLY);
	assert_int_equal(g.step, GATE_TSIG);
	assert_int_equal(g.rcode, DNS_RCODE_FORMERR);
	/* In the answer section. */
	wire_write16(q + 10, 0);
	wire_write16(q + 6, 1);
	assert_int_equal(wire_read_message(q, qlen, &dq), WIRE_FORMERR);
	/* Class IN. */
	wire_write16(q + 10, 1);
	wire_write16(q + 6, 0);
	assert_int_equal(wire_read_message(q, qlen, &dq), WIRE_OK);
	wire_write16(q + dq.tsig_pos + dname_len(q + dq.tsig_pos) + 2, DNS_CLASS_IN);
	assert_int_equal(wire_read_message(q, qlen, &dq), WIRE_FORMERR);
	tsig_keys_free(k);
}

/* The gate: NOTAUTH at the TSIG step, before the opcode; a valid TSIG passes. */
static void
test_gate(void **state)
{
	struct tsig_keys *k = keys_with("key.example.", "hmac-sha256:" SECRET);
	struct tsig_keys *other = keys_with("key.example.", "hmac-sha256:" OTHER);
	struct gate_policy p = { .xfr_rcode = DNS_RCODE_REFUSED, .tsig_keys = k };
	uint8_t q[512], mac[TSIG_MAC_MAX];
	size_t qlen, maclen;
	struct dns_query dq;
	struct gate_result g;

	qlen = signed_query(kk(k), q, sizeof(q), mac, &maclen);
	assert_int_equal(gate_check(&p, q, qlen, NULL, 0, &dq, &g), GATE_ANSWER);
	assert_int_equal(g.tsig.result, TSIG_OK);
	assert_int_equal(dq.tsig_reserve, tsig_reserve(&g.tsig));
	qlen = signed_query(kk(other), q, sizeof(q), mac, &maclen);
	assert_int_equal(gate_check(&p, q, qlen, NULL, 0, &dq, &g), GATE_REPLY);
	assert_int_equal(g.step, GATE_TSIG);
	assert_int_equal(g.rcode, DNS_RCODE_NOTAUTH);
	assert_int_equal(g.tsig.result, TSIG_BADSIG);
	assert_string_equal(gate_step_name(GATE_TSIG), "tsig");
	tsig_keys_free(k);
	tsig_keys_free(other);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_case),
		cmocka_unit_test(test_badkey),
		cmocka_unit_test(test_badsig),
		cmocka_unit_test(test_badtime),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_sign_next),
		cmocka_unit_test(test_placement),
		cmocka_unit_test(test_gate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
