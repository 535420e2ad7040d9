/*
 * tsig.c: TSIG (RFC 8945) on libknot's tsig-op: the key table, judging a request in
 * RFC 8945 5.2's order, signing responses. libknot checks full-length MACs (in constant
 * time, contrib/string.c const_time_memcmp) and signs NOERROR and BADTIME responses; it
 * knows neither truncated MACs (5.2.2.1) nor a signed BADTRUNC, so those two compute the
 * same HMAC with libdnssec here and compare with sodium_memcmp.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libdnssec/tsig.h>
#include <libknot/consts.h>
#include <libknot/descriptor.h>
#include <libknot/errcode.h>
#include <libknot/rrset.h>
#include <libknot/tsig-op.h>
#include <sodium.h>

#include "common/tsig.h"

#define TSIG_KEYS_MAX	1024
#define TSIG_SECRET_MAX	1024	/* octets of secret we accept */

struct tsig_keys {
	size_t		 n;
	knot_tsig_key_t	 keys[TSIG_KEYS_MAX];
};

/* A request's TSIG RR, read from RDATA that wire_read_message() checked. */
struct tsig_rr {
	const uint8_t	*alg;		/* uncompressed, as in the message */
	uint64_t	 time_signed;
	uint16_t	 fudge;
	const uint8_t	*mac;
	uint16_t	 mac_len;
	uint16_t	 orig_id;
	uint16_t	 error;
	const uint8_t	*other;
	uint16_t	 other_len;
};

static const struct {
	const char		*name;
	dnssec_tsig_algorithm_t	 alg;
} algorithms[] = {
	{ "hmac-md5", DNSSEC_TSIG_HMAC_MD5 },
	{ "hmac-sha1", DNSSEC_TSIG_HMAC_SHA1 },
	{ "hmac-sha224", DNSSEC_TSIG_HMAC_SHA224 },
	{ "hmac-sha256", DNSSEC_TSIG_HMAC_SHA256 },
	{ "hmac-sha384", DNSSEC_TSIG_HMAC_SHA384 },
	{ "hmac-sha512", DNSSEC_TSIG_HMAC_SHA512 },
};

int
tsig_algorithm(const char *name)
{
	for (size_t i = 0; i < sizeof(algorithms) / sizeof(algorithms[0]); i++)
		if (strcasecmp(name, algorithms[i].name) == 0)
			return (int)algorithms[i].alg;
	return -1;
}

size_t
tsig_algorithm_size(int alg)
{
	return dnssec_tsig_algorithm_size((dnssec_tsig_algorithm_t)alg);
}

struct tsig_keys *
tsig_keys_new(void)
{
	return calloc(1, sizeof(struct tsig_keys));
}

void
tsig_keys_free(struct tsig_keys *k)
{
	if (k == NULL)
		return;
	for (size_t i = 0; i < k->n; i++) {
		sodium_memzero(k->keys[i].secret.data, k->keys[i].secret.size);
		knot_tsig_key_deinit(&k->keys[i]);
	}
	free(k);
}

size_t
tsig_keys_count(const struct tsig_keys *k)
{
	return k != NULL ? k->n : 0;
}

const knot_tsig_key_t *
tsig_keys_find(const struct tsig_keys *k, const uint8_t *name)
{
	if (k == NULL)
		return NULL;
	for (size_t i = 0; i < k->n; i++)
		if (dname_equal(k->keys[i].name, name))
			return &k->keys[i];
	return NULL;
}

/* "ALGORITHM:BASE64" into key's algorithm and secret. */
static int
parse_secret(const char *value, knot_tsig_key_t *key, char *err, size_t errlen)
{
	const char *colon = strchr(value, ':'), *b64;
	char alg[32];
	uint8_t secret[TSIG_SECRET_MAX];
	size_t n = 0;
	int a;

	if (colon == NULL || (size_t)(colon - value) >= sizeof(alg)) {
		snprintf(err, errlen, "expected ALGORITHM:BASE64-SECRET");
		return -1;
	}
	memcpy(alg, value, (size_t)(colon - value));
	alg[colon - value] = '\0';
	if ((a = tsig_algorithm(alg)) < 0) {
		snprintf(err, errlen, "unknown algorithm '%s' (hmac-sha256, hmac-sha224, "
		    "hmac-sha384, hmac-sha512, hmac-sha1 or hmac-md5)", alg);
		return -1;
	}
	b64 = colon + 1;
	if (*b64 == '\0') {
		snprintf(err, errlen, "empty secret");
		return -1;
	}
	if (sodium_base642bin(secret, sizeof(secret), b64, strlen(b64), NULL, &n, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0) {
		snprintf(err, errlen, "secret is not valid base64 (or longer than %d octets)",
		    TSIG_SECRET_MAX);
		return -1;
	}
	if (n == 0) {
		snprintf(err, errlen, "empty secret");
		return -1;
	}
	key->algorithm = (dnssec_tsig_algorithm_t)a;
	key->secret.data = malloc(n);
	if (key->secret.data == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(key->secret.data, secret, n);
	key->secret.size = n;
	sodium_memzero(secret, sizeof(secret));
	return 0;
}

int
tsig_keys_add(struct tsig_keys *k, const char *name, const char *value, char *err,
    size_t errlen)
{
	uint8_t wire[DNAME_MAXLEN];
	knot_tsig_key_t key;
	int n;

	memset(&key, 0, sizeof(key));
	if ((n = dname_from_str(name, NULL, wire)) <= 1) {
		snprintf(err, errlen, "'%s' is not a key name (a domain name)", name);
		return -1;
	}
	dname_lower(wire);
	if (tsig_keys_find(k, wire) != NULL) {
		snprintf(err, errlen, "key '%s' given twice", name);
		return -1;
	}
	if (k->n == TSIG_KEYS_MAX) {
		snprintf(err, errlen, "more than %d keys", TSIG_KEYS_MAX);
		return -1;
	}
	if (parse_secret(value, &key, err, errlen) != 0)
		return -1;
	if ((key.name = malloc((size_t)n)) == NULL) {
		knot_tsig_key_deinit(&key);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(key.name, wire, (size_t)n);
	k->keys[k->n++] = key;
	return 0;
}

static uint64_t
read48(const uint8_t *p)
{
	return ((uint64_t)wire_read16(p) << 32) | ((uint64_t)wire_read16(p + 2) << 16) |
	    wire_read16(p + 4);
}

static void
write48(uint8_t *p, uint64_t v)
{
	wire_write16(p, (uint16_t)(v >> 32));
	wire_write16(p + 2, (uint16_t)(v >> 16));
	wire_write16(p + 4, (uint16_t)v);
}

/* The fields of the checked RDATA at rd. */
static void
read_rr(const uint8_t *rd, struct tsig_rr *t)
{
	const uint8_t *p = rd + dname_len(rd);

	t->alg = rd;
	t->time_signed = read48(p);
	t->fudge = wire_read16(p + 6);
	t->mac_len = wire_read16(p + 8);
	t->mac = p + 10;
	p += 10 + t->mac_len;
	t->orig_id = wire_read16(p);
	t->error = wire_read16(p + 2);
	t->other_len = wire_read16(p + 4);
	t->other = p + 6;
}

/*
 * The TSIG variables of RFC 8945 4.3.3 up to other len (other data follows): key name
 * and algorithm in canonical (lower-case) form, class ANY, TTL 0, the timers, the error.
 */
static size_t
put_variables(uint8_t *v, const uint8_t *key_name, const uint8_t *alg, uint64_t time_signed,
    uint16_t fudge, uint16_t error, uint16_t other_len)
{
	size_t n = dname_len(key_name), a = dname_len(alg);

	memcpy(v, key_name, n);
	dname_lower(v);
	wire_write16(v + n, KNOT_CLASS_ANY);
	memset(v + n + 2, 0, 4);
	n += 6;
	memcpy(v + n, alg, a);
	dname_lower(v + n);
	n += a;
	write48(v + n, time_signed);
	wire_write16(v + n + 6, fudge);
	wire_write16(v + n + 8, error);
	wire_write16(v + n + 10, other_len);
	return n + 12;
}

#define VARS_MAX	(2 * DNAME_MAXLEN + 18)

/*
 * The HMAC (libdnssec) of a prior MAC with its length (when prior_len > 0), msg, the
 * variables vars and other data: what RFC 8945 4.3 signs. Returns its size, 0 on failure.
 */
static size_t
hmac(const knot_tsig_key_t *key, const uint8_t *prior, size_t prior_len, const uint8_t *msg,
    size_t len, const uint8_t *vars, size_t vlen, const uint8_t *other, size_t olen,
    uint8_t *out)
{
	dnssec_tsig_ctx_t *c = NULL;
	uint8_t plen[2];
	dnssec_binary_t parts[] = {
		{ .data = plen, .size = prior_len > 0 ? 2 : 0 },
		{ .data = (uint8_t *)prior, .size = prior_len },
		{ .data = (uint8_t *)msg, .size = len },
		{ .data = (uint8_t *)vars, .size = vlen },
		{ .data = (uint8_t *)other, .size = olen },
	};
	size_t n;

	wire_write16(plen, (uint16_t)prior_len);
	if (dnssec_tsig_new(&c, key->algorithm, &key->secret) != 0)
		return 0;
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		if (parts[i].size > 0)
			dnssec_tsig_add(c, &parts[i]);
	n = dnssec_tsig_size(c);
	if (n > TSIG_MAC_MAX || dnssec_tsig_write(c, out) != 0)
		n = 0;
	dnssec_tsig_free(c);
	return n;
}

/* RFC 8945 5.2.3: within the fudge of our clock. */
static bool
time_ok(uint64_t time_signed, uint16_t fudge)
{
	uint64_t now = (uint64_t)time(NULL);

	return time_signed + fudge >= now && time_signed <= now + fudge;
}

/* A full-length MAC: libknot's check of MAC (constant time) and time. */
static enum tsig_result
check_full(const knot_tsig_key_t *key, const uint8_t *owner, const uint8_t *stripped,
    size_t slen, const uint8_t *rdata, uint16_t rdlen)
{
	knot_rrset_t *rr = knot_rrset_new(owner, KNOT_RRTYPE_TSIG, KNOT_CLASS_ANY, 0, NULL);
	int ret;

	if (rr == NULL || knot_rrset_add_rdata(rr, rdata, rdlen, NULL) != KNOT_EOK) {
		knot_rrset_free(rr, NULL);
		return TSIG_BADSIG;	/* out of memory: fail closed */
	}
	ret = knot_tsig_server_check(rr, stripped, slen, key);
	knot_rrset_free(rr, NULL);
	switch (ret) {
	case KNOT_EOK:
		return TSIG_OK;
	case KNOT_TSIG_EBADTIME:
		return TSIG_BADTIME;
	case KNOT_TSIG_EBADKEY:
		return TSIG_BADKEY;
	default:
		return TSIG_BADSIG;
	}
}

/*
 * A truncated MAC (RFC 8945 5.2.2.1 rule 4): our HMAC truncated the same way, compared
 * in constant time, then the time; valid, it is still refused by our policy (BADTRUNC).
 */
static enum tsig_result
check_truncated(const knot_tsig_key_t *key, const uint8_t *owner, const uint8_t *stripped,
    size_t slen, const struct tsig_rr *t)
{
	uint8_t vars[VARS_MAX], mac[TSIG_MAC_MAX];
	size_t vlen = put_variables(vars, owner, t->alg, t->time_signed, t->fudge, t->error,
	    t->other_len);
	size_t n = hmac(key, NULL, 0, stripped, slen, vars, vlen, t->other, t->other_len, mac);

	if (n < t->mac_len || sodium_memcmp(mac, t->mac, t->mac_len) != 0)
		return TSIG_BADSIG;
	if (!time_ok(t->time_signed, t->fudge))
		return TSIG_BADTIME;
	return TSIG_BADTRUNC;
}

enum tsig_result
tsig_verify(const struct tsig_keys *keys, const uint8_t *msg, size_t len,
    const struct dns_query *q, struct tsig_ctx *ctx)
{
	size_t pos = q->tsig_pos, size, min;
	const knot_tsig_key_t *key;
	struct tsig_rr t;
	uint8_t *stripped;

	memset(ctx, 0, offsetof(struct tsig_ctx, key_name));
	ctx->key_name[0] = ctx->alg_name[0] = 0;
	if (q->tsig_pos == 0)
		return ctx->result = TSIG_NONE;
	if (dname_unpack(msg, len, &pos, ctx->key_name) < 0)
		return ctx->result = TSIG_FORMERR;	/* wire_read_message read it */
	dname_lower(ctx->key_name);
	read_rr(msg + q->tsig_rdata, &t);
	memcpy(ctx->alg_name, t.alg, dname_len(t.alg));
	dname_lower(ctx->alg_name);	/* names compare without case (RFC 8945 4.2) */
	ctx->time_signed = t.time_signed;
	key = tsig_keys_find(keys, ctx->key_name);
	if (key == NULL || dnssec_tsig_algorithm_from_dname(ctx->alg_name) != key->algorithm)
		return ctx->result = TSIG_BADKEY;
	/* 5.2.2.1: longer than the HMAC, or shorter than max(10, half): FORMERR. */
	size = dnssec_tsig_algorithm_size(key->algorithm);
	min = size / 2 > 10 ? size / 2 : 10;
	if (t.mac_len > size || t.mac_len < min)
		return ctx->result = TSIG_FORMERR;
	/* What the MAC covers: the message without the TSIG, ARCOUNT less one, original id. */
	if ((stripped = malloc(q->tsig_pos)) == NULL)
		return ctx->result = TSIG_BADSIG;
	memcpy(stripped, msg, q->tsig_pos);
	wire_write16(stripped + 10, (uint16_t)(wire_read16(stripped + 10) - 1));
	wire_write16(stripped, t.orig_id);
	ctx->result = t.mac_len == size ?
	    check_full(key, ctx->key_name, stripped, q->tsig_pos, msg + q->tsig_rdata,
	    q->tsig_rdlen) : check_truncated(key, ctx->key_name, stripped, q->tsig_pos, &t);
	free(stripped);
	if (ctx->result == TSIG_OK || ctx->result == TSIG_BADTIME ||
	    ctx->result == TSIG_BADTRUNC) {
		ctx->key = key;
		memcpy(ctx->mac, t.mac, t.mac_len);	/* 5.2.2.1: the truncated one */
		ctx->mac_len = t.mac_len;
	}
	return ctx->result;
}

uint16_t
tsig_reserve(const struct tsig_ctx *ctx)
{
	size_t mac = ctx->key != NULL ? dnssec_tsig_algorithm_size(ctx->key->algorithm) : 0;

	if (ctx->result == TSIG_NONE || ctx->result == TSIG_FORMERR)
		return 0;
	/* owner, type to rdlen, algorithm, timers, MAC size, MAC, id, error, other (6) */
	return (uint16_t)(dname_len(ctx->key_name) + 10 + dname_len(ctx->alg_name) + 10 +
	    mac + 6 + 6);
}

/* 5.3.2: the error with an empty MAC, the request's time signed; unsigned. */
static int
add_unsigned(const struct tsig_ctx *ctx, uint16_t error, uint8_t *msg, size_t *len,
    size_t cap)
{
	knot_rrset_t *rr = knot_rrset_new(ctx->key_name, KNOT_RRTYPE_TSIG, KNOT_CLASS_ANY, 0,
	    NULL);
	int ret = -1;

	if (rr != NULL && knot_tsig_create_rdata(rr, ctx->alg_name, 0, 0) == KNOT_EOK) {
		knot_tsig_rdata_set_time_signed(rr, ctx->time_signed);
		ret = knot_tsig_add(msg, len, cap, error, rr) == KNOT_EOK ? 0 : -1;
	}
	knot_rrset_free(rr, NULL);
	return ret;
}

/*
 * A signed BADTRUNC (5.3.2, 5.2.4), which libknot's signer does not write: the request's
 * (truncated) MAC, the response, the variables with the error, our full MAC.
 */
static int
sign_badtrunc(struct tsig_ctx *ctx, uint8_t *msg, size_t *len, size_t cap)
{
	const knot_tsig_key_t *key = ctx->key;
	const uint8_t *alg = dnssec_tsig_algorithm_to_dname(key->algorithm);
	uint64_t now = (uint64_t)time(NULL);
	uint8_t vars[VARS_MAX], mac[TSIG_MAC_MAX], *p;
	size_t vlen = put_variables(vars, key->name, alg, now, TSIG_FUDGE, TSIG_ERR_BADTRUNC, 0);
	size_t n = hmac(key, ctx->mac, ctx->mac_len, msg, *len, vars, vlen, NULL, 0, mac);
	size_t owner = dname_len(key->name), a = dname_len(alg);
	size_t rdlen = a + 10 + n + 6;

	if (n == 0 || *len + owner + 10 + rdlen > cap)
		return -1;
	p = msg + *len;
	memcpy(p, key->name, owner);
	p += owner;
	wire_write16(p, KNOT_RRTYPE_TSIG);
	wire_write16(p + 2, KNOT_CLASS_ANY);
	memset(p + 4, 0, 4);
	wire_write16(p + 8, (uint16_t)rdlen);
	p += 10;
	memcpy(p, alg, a);
	p += a;
	write48(p, now);
	wire_write16(p + 6, TSIG_FUDGE);
	wire_write16(p + 8, (uint16_t)n);
	memcpy(p + 10, mac, n);
	p += 10 + n;
	wire_write16(p, wire_read16(msg));	/* original id */
	wire_write16(p + 2, TSIG_ERR_BADTRUNC);
	wire_write16(p + 4, 0);
	*len += owner + 10 + rdlen;
	wire_write16(msg + 10, (uint16_t)(wire_read16(msg + 10) + 1));
	memcpy(ctx->mac, mac, n);
	ctx->mac_len = n;
	return 0;
}

/* Signs with libknot: NOERROR, or BADTIME with the server's time in other data. */
static int
sign_knot(struct tsig_ctx *ctx, uint16_t error, uint8_t *msg, size_t *len, size_t cap)
{
	uint8_t digest[TSIG_MAC_MAX];
	size_t dlen = sizeof(digest);

	if (knot_tsig_sign(msg, len, cap, ctx->mac, ctx->mac_len, digest, &dlen, ctx->key,
	    error, ctx->time_signed) != KNOT_EOK)
		return -1;
	memcpy(ctx->mac, digest, dlen);
	ctx->mac_len = dlen;
	return 0;
}

void
tsig_ctx_request(struct tsig_ctx *ctx, const knot_tsig_key_t *key)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->result = TSIG_OK;		/* no request MAC: signs as a request (RFC 8945 4.3.1) */
	ctx->key = key;
}

int
tsig_sign_first(struct tsig_ctx *ctx, uint8_t *msg, size_t *len, size_t cap)
{
	int ret = 0;

	switch (ctx->result) {
	case TSIG_NONE:
	case TSIG_FORMERR:
	case TSIG_RESULTS:
		return 0;
	case TSIG_BADKEY:
		return add_unsigned(ctx, TSIG_ERR_BADKEY, msg, len, cap);
	case TSIG_BADSIG:
		return add_unsigned(ctx, TSIG_ERR_BADSIG, msg, len, cap);
	case TSIG_BADTIME:
		ret = sign_knot(ctx, TSIG_ERR_BADTIME, msg, len, cap);
		break;
	case TSIG_BADTRUNC:
		ret = sign_badtrunc(ctx, msg, len, cap);
		break;
	case TSIG_OK:
		ret = sign_knot(ctx, 0, msg, len, cap);
		break;
	}
	if (ret == 0)
		ctx->nsigned++;
	return ret;
}

int
tsig_sign_next(struct tsig_ctx *ctx, uint8_t *msg, size_t *len, size_t cap)
{
	uint8_t digest[TSIG_MAC_MAX];
	size_t dlen = sizeof(digest);

	if (ctx->result != TSIG_OK || ctx->nsigned == 0)
		return -1;
	if (knot_tsig_sign_next(msg, len, cap, ctx->mac, ctx->mac_len, digest, &dlen,
	    ctx->key, msg, *len) != KNOT_EOK)
		return -1;
	memcpy(ctx->mac, digest, dlen);
	ctx->mac_len = dlen;
	ctx->nsigned++;
	return 0;
}

const char *
tsig_result_name(enum tsig_result r)
{
	static const char *const names[TSIG_RESULTS] = {
		"none", "ok", "formerr", "badkey", "badsig", "badtime", "badtrunc",
	};

	return r < TSIG_RESULTS ? names[r] : "?";
}
