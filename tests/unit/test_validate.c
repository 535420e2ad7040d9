/* test_validate.c: unit tests of DNSSEC validation: signatures, DS, denials, the budgets. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <libdnssec/binary.h>
#include <libdnssec/error.h>
#include <libdnssec/key.h>
#include <libdnssec/keytag.h>
#include <libdnssec/nsec.h>
#include <libdnssec/sign.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "dnsr/validate.h"
#include "common/dname.h"
#include "common/wire.h"

#define NOW	1800000000u	/* 2027-01-15 */

static uint8_t zone[DNAME_MAXLEN], owner[DNAME_MAXLEN];
static unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];

static const uint8_t *
name(const char *text, uint8_t *out)
{
	assert_true(dname_from_str(text, NULL, out) > 0);
	dname_lower(out);
	return out;
}

static struct rrset *
rrset1(uint16_t type, uint32_t ttl, const uint8_t *rd, size_t len)
{
	struct rrset_builder b;

	rrset_builder_init(&b, type);
	assert_int_equal(rrset_builder_add(&b, ttl, rd, (uint16_t)len), 0);
	return rrset_builder_finish(&b);
}

/* The zone's Ed25519 DNSKEY RDATA (flags 257), into out; returns its length. */
static size_t
dnskey_rdata(uint8_t *out)
{
	wire_write16(out, 257);
	out[2] = 3;
	out[3] = 15;
	memcpy(out + 4, pk, sizeof(pk));
	return 4 + sizeof(pk);
}

static uint16_t
tag_of(const uint8_t *rd, size_t len)
{
	dnssec_binary_t b = { .size = len, .data = (uint8_t *)rd };
	uint16_t t;

	dnssec_keytag(&b, &t);
	return t;
}

struct buf {
	uint8_t	p[4096];
	size_t	len;
};

static int
add(void *arg, const uint8_t *p, size_t len)
{
	struct buf *b = arg;

	memcpy(b->p + b->len, p, len);
	b->len += len;
	return 0;
}

/*
 * The RRSIG RDATA over rs at o up to its signature (alg, labels, validity window and tag
 * as given, signed by the zone) into rd, and what the signature covers into b; returns
 * the octets of rd written.
 */
static size_t
to_sign(uint8_t *rd, struct buf *b, const uint8_t *o, const struct rrset *rs, uint8_t alg,
    int labels, uint32_t incept, uint32_t expire, uint16_t tag)
{
	size_t zl = dname_len(zone), pre = 18 + zl;
	const uint8_t *so = o;
	uint8_t wild[DNAME_MAXLEN];

	wire_write16(rd, rs->type);
	rd[2] = alg;
	rd[3] = (uint8_t)labels;
	wire_write16(rd + 4, 0);
	wire_write16(rd + 6, (uint16_t)rs->ttl);
	rd[8] = (uint8_t)(expire >> 24); rd[9] = (uint8_t)(expire >> 16);
	rd[10] = (uint8_t)(expire >> 8); rd[11] = (uint8_t)expire;
	rd[12] = (uint8_t)(incept >> 24); rd[13] = (uint8_t)(incept >> 16);
	rd[14] = (uint8_t)(incept >> 8); rd[15] = (uint8_t)incept;
	wire_write16(rd + 16, tag);
	memcpy(rd + 18, zone, zl);
	if (labels < dname_labels(o)) {
		while (dname_labels(so) > labels)
			so = dname_parent(so);
		wild[0] = 1;
		wild[1] = '*';
		memcpy(wild + 2, so, dname_len(so));
		so = wild;
	}
	b->len = 0;
	add(b, rd, pre);
	assert_int_equal(rrset_canonical(so, rs, rs->ttl, add, b), 0);
	return pre;
}

/* An RRSIG over rs at o by the zone's Ed25519 key: labels, validity window, tag as given. */
static struct rrset *
sign(const uint8_t *o, const struct rrset *rs, int labels, uint32_t incept, uint32_t expire,
    uint16_t tag)
{
	uint8_t rd[512];
	struct buf b;
	unsigned long long siglen;
	size_t pre = to_sign(rd, &b, o, rs, 15, labels, incept, expire, tag);

	crypto_sign_detached(rd + pre, &siglen, b.p, b.len, sk);
	return rrset1(DNS_TYPE_RRSIG, rs->ttl, rd, pre + siglen);
}

static struct rrset *keys;
static uint16_t tag;

static int
setup(void **state)
{
	uint8_t rd[64];
	size_t len;

	val_init();
	crypto_sign_keypair(pk, sk);
	name("example.", zone);
	len = dnskey_rdata(rd);
	tag = tag_of(rd, len);
	keys = rrset1(DNS_TYPE_DNSKEY, 3600, rd, len);
	return 0;
}

static int
teardown(void **state)
{
	free(keys);
	return 0;
}

static const uint8_t a_rd[4] = { 192, 0, 2, 1 };

static void
verify(const uint8_t *o, const struct rrset *rs, const struct rrset *sigs, struct val_out *out,
    struct val_budget *b)
{
	struct val_set s = { o, rs, sigs, SEC_UNCHECKED };

	val_verify(&s, zone, keys, NULL, UINT64_MAX, NOW, b, out);
}

static void
test_signatures(void **state)
{
	struct val_budget b = { 100, 100 };
	struct rrset *rs = rrset1(DNS_TYPE_A, 300, a_rd, 4), *sigs, *other;
	struct val_out out;
	uint8_t bad[4] = { 192, 0, 2, 2 };

	name("www.example.", owner);
	sigs = sign(owner, rs, 2, NOW - 3600, NOW + 100, tag);
	verify(owner, rs, sigs, &out, &b);
	assert_int_equal(out.sec, SEC_SECURE);
	assert_int_equal(out.ttl, 100);		/* RFC 4035 5.3.3: not past expiration */
	assert_int_equal(out.labels, 2);
	assert_int_equal(b.verifies, 99);
	/* Other data under the same signature. */
	other = rrset1(DNS_TYPE_A, 300, bad, 4);
	verify(owner, other, sigs, &out, &b);
	assert_int_equal(out.sec, SEC_BOGUS);
	assert_int_equal(out.ede, EDE_DNSSEC_BOGUS);
	free(other);
	free(sigs);
	/* The window, the key tag, no signature at all. */
	sigs = sign(owner, rs, 2, NOW - 7200, NOW - 3600, tag);
	verify(owner, rs, sigs, &out, &b);
	assert_int_equal(out.ede, EDE_SIG_EXPIRED);
	free(sigs);
	sigs = sign(owner, rs, 2, NOW + 3600, NOW + 7200, tag);
	verify(owner, rs, sigs, &out, &b);
	assert_int_equal(out.ede, EDE_SIG_NOT_YET_VALID);
	free(sigs);
	sigs = sign(owner, rs, 2, NOW - 3600, NOW + 3600, (uint16_t)(tag + 1));
	verify(owner, rs, sigs, &out, &b);
	assert_int_equal(out.ede, EDE_DNSKEY_MISSING);
	free(sigs);
	verify(owner, rs, NULL, &out, &b);
	assert_int_equal(out.sec, SEC_BOGUS);
	assert_int_equal(out.ede, EDE_RRSIGS_MISSING);
	/* A wildcard expansion: signed as *.example., labels 1. */
	name("a.b.example.", owner);
	sigs = sign(owner, rs, 1, NOW - 3600, NOW + 3600, tag);
	verify(owner, rs, sigs, &out, &b);
	assert_int_equal(out.sec, SEC_SECURE);
	assert_int_equal(out.labels, 1);
	free(sigs);
	free(rs);
}

/* ---- ECDSA (algorithms 13, 14), verified with libcrypto ---- */

/* A zone key made with libcrypto: its DNSKEY RDATA and RRset, the curve's half size. */
struct ec_zone {
	uint8_t		 alg;
	size_t		 half;
	EVP_PKEY	*k;
	uint8_t		 rd[4 + 96];
	size_t		 len;
	uint16_t	 tag;
	struct rrset	*keys;
};

/* The zone's key as DNSKEY RDATA (RFC 6605 4: X || Y), its RRset and its tag. */
static void
ec_publish(struct ec_zone *z)
{
	z->tag = tag_of(z->rd, z->len);
	free(z->keys);
	z->keys = rrset1(DNS_TYPE_DNSKEY, 3600, z->rd, z->len);
}

static void
ec_zone_new(struct ec_zone *z, uint8_t alg)
{
	uint8_t pub[1 + 96];
	size_t pl = 0;

	memset(z, 0, sizeof(*z));
	z->alg = alg;
	z->half = alg == 13 ? 32 : 48;
	z->k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", alg == 13 ? "P-256" : "P-384");
	assert_non_null(z->k);
	assert_int_equal(EVP_PKEY_get_octet_string_param(z->k, OSSL_PKEY_PARAM_PUB_KEY, pub,
	    sizeof(pub), &pl), 1);
	assert_int_equal(pl, 1 + 2 * z->half);
	assert_int_equal(pub[0], 4);	/* uncompressed */
	wire_write16(z->rd, 257);
	z->rd[2] = 3;
	z->rd[3] = alg;
	memcpy(z->rd + 4, pub + 1, 2 * z->half);
	z->len = 4 + 2 * z->half;
	ec_publish(z);
}

static void
ec_zone_free(struct ec_zone *z)
{
	EVP_PKEY_free(z->k);
	free(z->keys);
}

/* An RRSIG over rs at o by z's key, valid around NOW: DER's r and s padded, r || s. */
static struct rrset *
ec_sign(const struct ec_zone *z, const uint8_t *o, const struct rrset *rs)
{
	uint8_t rd[512], der[128];
	const uint8_t *dp = der;
	size_t derlen = sizeof(der);
	struct buf b;
	size_t pre = to_sign(rd, &b, o, rs, z->alg, dname_labels(o), NOW - 3600, NOW + 3600,
	    z->tag);
	EVP_MD_CTX *mc = EVP_MD_CTX_new();
	ECDSA_SIG *es;

	assert_int_equal(EVP_DigestSignInit_ex(mc, NULL, z->alg == 13 ? "SHA256" : "SHA384",
	    NULL, NULL, z->k, NULL), 1);
	assert_int_equal(EVP_DigestSign(mc, der, &derlen, b.p, b.len), 1);
	EVP_MD_CTX_free(mc);
	assert_non_null(es = d2i_ECDSA_SIG(NULL, &dp, (long)derlen));
	assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(es), rd + pre, (int)z->half),
	    (int)z->half);
	assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(es), rd + pre + z->half, (int)z->half),
	    (int)z->half);
	ECDSA_SIG_free(es);
	return rrset1(DNS_TYPE_RRSIG, rs->ttl, rd, pre + 2 * z->half);
}

/* sigs's first RRSIG with its signature changed: len octets, or one bit flipped (len 0). */
static struct rrset *
ec_resig(const struct rrset *sigs, size_t len, uint8_t fill)
{
	struct rdata_ref r;
	struct rrsig s;
	uint8_t rd[512];

	rrset_first(sigs, &r);
	assert_int_equal(rrsig_parse(r.data, r.len, &s), 0);
	memcpy(rd, r.data, r.len);
	if (len == 0) {
		rd[r.len - 1] ^= 1;
		return rrset1(DNS_TYPE_RRSIG, 300, rd, r.len);
	}
	memset(rd + s.prelen, fill, len);
	return rrset1(DNS_TYPE_RRSIG, 300, rd, s.prelen + len);
}

/* The verdict on owner's rs with sigs by z, keys kept (val_keys) or built per try. */
static void
ec_check(const struct ec_zone *z, const struct rrset *rs, const struct rrset *sigs,
    bool kept, struct val_out *out)
{
	struct val_budget b = { 100, 100 };
	struct val_set s = { owner, rs, sigs, SEC_UNCHECKED };
	struct val_keys *vk = kept ? val_keys_new(z->keys) : NULL;

	assert_true(!kept || vk != NULL);
	val_verify(&s, zone, z->keys, vk, UINT64_MAX, NOW, &b, out);
	assert_int_equal(b.verifies, 99);	/* one key, one try, whatever the verdict */
	val_keys_free(vk);
}

static void
assert_bogus(const struct ec_zone *z, const struct rrset *rs, const struct rrset *sigs)
{
	struct val_out out;

	for (int kept = 0; kept < 2; kept++) {
		ec_check(z, rs, sigs, kept, &out);
		assert_int_equal(out.sec, SEC_BOGUS);
		assert_int_equal(out.ede, EDE_DNSSEC_BOGUS);
		assert_string_equal(out.why, "signature does not verify");
	}
}

/* libdnssec (GnuTLS) agrees that the test's signature is good: the test signs right. */
static void
assert_libdnssec_agrees(const struct ec_zone *z, const struct rrset *rs,
    const struct rrset *sigs)
{
	dnssec_binary_t kb = { .size = z->len, .data = (uint8_t *)z->rd };
	dnssec_key_t *k = NULL;
	dnssec_sign_ctx_t *ctx = NULL;
	struct rdata_ref r;
	struct rrsig s;
	struct buf b;
	uint8_t rd[512];

	rrset_first(sigs, &r);
	assert_int_equal(rrsig_parse(r.data, r.len, &s), 0);
	to_sign(rd, &b, owner, rs, z->alg, s.labels, s.inception, s.expiration, s.tag);
	assert_int_equal(dnssec_key_new(&k), DNSSEC_EOK);
	assert_int_equal(dnssec_key_set_rdata(k, &kb), DNSSEC_EOK);
	assert_int_equal(dnssec_sign_new(&ctx, k), DNSSEC_EOK);
	assert_int_equal(dnssec_sign_init(ctx), DNSSEC_EOK);
	assert_int_equal(dnssec_sign_add(ctx, &(dnssec_binary_t){ .size = b.len,
	    .data = b.p }), DNSSEC_EOK);
	assert_int_equal(dnssec_sign_verify(ctx, false, &(dnssec_binary_t){
	    .size = s.siglen, .data = (uint8_t *)s.sig }), DNSSEC_EOK);
	dnssec_sign_free(ctx);
	dnssec_key_free(k);
}

static void
test_ecdsa_alg(uint8_t alg)
{
	struct rrset *rs = rrset1(DNS_TYPE_A, 300, a_rd, 4), *sigs, *bad, *other;
	uint8_t other_rd[4] = { 192, 0, 2, 2 };
	struct ec_zone z;
	struct val_out out;

	assert_true(val_algorithm_supported(alg));
	ec_zone_new(&z, alg);
	name("www.example.", owner);
	sigs = ec_sign(&z, owner, rs);
	assert_libdnssec_agrees(&z, rs, sigs);
	for (int kept = 0; kept < 2; kept++) {
		ec_check(&z, rs, sigs, kept, &out);
		assert_int_equal(out.sec, SEC_SECURE);
		assert_int_equal(out.ttl, 300);
	}
	/* Tampered: a bit of the signature, or other data under it. */
	bad = ec_resig(sigs, 0, 0);
	assert_bogus(&z, rs, bad);
	free(bad);
	other = rrset1(DNS_TYPE_A, 300, other_rd, 4);
	assert_bogus(&z, other, sigs);
	free(other);
	/* Malformed signatures: a length off by one either way, r = s = 0, r = s = 2^n - 1. */
	bad = ec_resig(sigs, 2 * z.half - 1, 0x5a);
	assert_bogus(&z, rs, bad);
	free(bad);
	bad = ec_resig(sigs, 2 * z.half + 1, 0x5a);
	assert_bogus(&z, rs, bad);
	free(bad);
	bad = ec_resig(sigs, 2 * z.half, 0);
	assert_bogus(&z, rs, bad);
	free(bad);
	bad = ec_resig(sigs, 2 * z.half, 0xff);
	assert_bogus(&z, rs, bad);
	free(bad);
	free(sigs);
	/* A key that is no point of the curve: libcrypto refuses to build it. */
	z.rd[z.len - 1] ^= 1;
	ec_publish(&z);
	sigs = ec_sign(&z, owner, rs);
	assert_bogus(&z, rs, sigs);
	{
		struct val_keys *vk = val_keys_new(z.keys);

		assert_non_null(vk);
		assert_true(val_keys_mem(vk) < 1000);	/* kept as not built */
		val_keys_free(vk);
	}
	free(sigs);
	/* A key of the wrong length, either way. */
	z.rd[z.len - 1] ^= 1;
	z.len--;
	ec_publish(&z);
	sigs = ec_sign(&z, owner, rs);
	assert_bogus(&z, rs, sigs);
	free(sigs);
	z.len += 2;
	ec_publish(&z);
	sigs = ec_sign(&z, owner, rs);
	assert_bogus(&z, rs, sigs);
	free(sigs);
	free(rs);
	ec_zone_free(&z);
}

static void
test_ecdsa_p256(void **state)
{
	test_ecdsa_alg(13);
}

static void
test_ecdsa_p384(void **state)
{
	test_ecdsa_alg(14);
}

/* The keys kept with a DNSKEY RRset follow its order; non-ECDSA keys take no key. */
static void
test_ecdsa_kept_keys(void **state)
{
	struct rrset *rs = rrset1(DNS_TYPE_A, 300, a_rd, 4), *sigs, *mixed, *saved;
	struct ec_zone z;
	struct rrset_builder kb;
	struct rdata_ref r;
	struct val_keys *vk;
	struct val_out out;

	ec_zone_new(&z, 13);
	name("www.example.", owner);
	sigs = ec_sign(&z, owner, rs);
	rrset_builder_init(&kb, DNS_TYPE_DNSKEY);
	rrset_first(keys, &r);			/* and the Ed25519 key */
	assert_int_equal(rrset_builder_add(&kb, 3600, r.data, r.len), 0);
	assert_int_equal(rrset_builder_add(&kb, 3600, z.rd, (uint16_t)z.len), 0);
	mixed = rrset_builder_finish(&kb);
	saved = z.keys;
	z.keys = mixed;
	vk = val_keys_new(mixed);
	assert_true(val_keys_mem(vk) > 2000 && val_keys_mem(vk) < 3000);	/* one EC key */
	ec_check(&z, rs, sigs, true, &out);
	assert_int_equal(out.sec, SEC_SECURE);
	/*
	 * The kept key is what verifies, not the RDATA: with two octets of X swapped (the
	 * key tag, a sum of 16-bit words, stays) the RDATA is another point or none, and
	 * only the key built before still verifies.
	 */
	{
		struct val_budget b = { 100, 100 };
		struct val_set set = { owner, rs, sigs, SEC_UNCHECKED };
		uint8_t *x;

		for (const uint8_t *q = rrset_first(mixed, &r); q && r.data[3] != 13;
		    q = rrset_next(mixed, q, &r))
			;
		assert_int_equal(r.data[3], 13);
		x = (uint8_t *)r.data + 4;
		assert_int_not_equal(x[0], x[2]);
		x[0] ^= x[2];
		x[2] ^= x[0];
		x[0] ^= x[2];
		assert_int_equal(tag_of(r.data, r.len), z.tag);
		val_verify(&set, zone, mixed, vk, UINT64_MAX, NOW, &b, &out);
		assert_int_equal(out.sec, SEC_SECURE);
		val_verify(&set, zone, mixed, NULL, UINT64_MAX, NOW, &b, &out);
		assert_int_equal(out.sec, SEC_BOGUS);
	}
	val_keys_free(vk);
	z.keys = saved;
	free(mixed);
	free(sigs);
	free(rs);
	ec_zone_free(&z);
	val_keys_free(NULL);
}

/* KeyTrap: many keys share the signature's tag; only a few are ever tried. */
static void
test_key_tag_collisions(void **state)
{
	struct val_budget b = { 100, 100 };
	struct rrset_builder kb;
	struct rrset *many, *rs = rrset1(DNS_TYPE_A, 300, a_rd, 4), *sigs, *saved = keys;
	struct val_out out;
	uint8_t rd[4 + 32];
	int n = 0;

	name("www.example.", owner);
	rrset_builder_init(&kb, DNS_TYPE_DNSKEY);
	/* Made-up Ed25519 keys, their last two octets chosen so that they share one tag. */
	while (n < 30) {
		randombytes_buf(rd + 4, 32);
		wire_write16(rd, 257);
		rd[2] = 3;
		rd[3] = 15;
		for (uint32_t w = 0; w < 65536; w++) {
			wire_write16(rd + 34, (uint16_t)w);
			if (tag_of(rd, sizeof(rd)) == 0x1234)
				break;
		}
		if (tag_of(rd, sizeof(rd)) != 0x1234)
			continue;
		assert_int_equal(rrset_builder_add(&kb, 3600, rd, sizeof(rd)), 0);
		n++;
	}
	assert_int_equal(n, 30);
	many = rrset_builder_finish(&kb);
	keys = many;
	sigs = sign(owner, rs, 2, NOW - 3600, NOW + 3600, 0x1234);
	verify(owner, rs, sigs, &out, &b);
	keys = saved;
	assert_int_equal(out.sec, SEC_BOGUS);
	assert_true(100 - b.verifies <= VAL_MAX_TRIES_PER_SET);
	/* With the zone's own key among them, its RRSIG is tried first and verifies. */
	{
		struct rrset_builder kb2, sb2;
		struct rdata_ref r;
		struct rrset *both, *good = sign(owner, rs, 2, NOW - 3600, NOW + 3600, tag), *all;

		rrset_builder_init(&kb2, DNS_TYPE_DNSKEY);
		rrset_builder_init(&sb2, DNS_TYPE_RRSIG);
		for (const uint8_t *p = rrset_first(many, &r); p; p = rrset_next(many, p, &r))
			rrset_builder_add(&kb2, 3600, r.data, r.len);
		rrset_first(saved, &r);
		rrset_builder_add(&kb2, 3600, r.data, r.len);
		rrset_first(sigs, &r);
		rrset_builder_add(&sb2, 300, r.data, r.len);
		rrset_first(good, &r);
		rrset_builder_add(&sb2, 300, r.data, r.len);
		all = rrset_builder_finish(&kb2);
		both = rrset_builder_finish(&sb2);
		keys = all;
		b.verifies = 100;
		verify(owner, rs, both, &out, &b);
		keys = saved;
		assert_int_equal(out.sec, SEC_SECURE);
		assert_int_equal(b.verifies, 99);
		free(all);
		free(both);
		free(good);
	}
	/* The budget, once spent, fails at once. */
	b.verifies = 0;
	free(sigs);
	sigs = sign(owner, rs, 2, NOW - 3600, NOW + 3600, tag);
	verify(owner, rs, sigs, &out, &b);
	assert_int_equal(out.sec, SEC_BOGUS);
	free(sigs);
	free(many);
	free(rs);
}

static void
test_dnskey_and_ds(void **state)
{
	struct val_budget b = { 100, 100 };
	struct val_set s;
	struct val_out out;
	dnssec_binary_t kd = { .size = keys->datalen - 2, .data = (uint8_t *)keys->data + 2 };
	dnssec_binary_t ds = { 0 };
	dnssec_key_t *k;
	struct rrset *dsrs, *sigs = sign(zone, keys, 1, NOW - 3600, NOW + 3600, tag);
	uint8_t unknown[36];

	assert_int_equal(dnssec_key_new(&k), 0);
	assert_int_equal(dnssec_key_set_rdata(k, &kd), 0);
	assert_int_equal(dnssec_key_set_dname(k, zone), 0);
	assert_int_equal(dnssec_key_create_ds(k, DNSSEC_KEY_DIGEST_SHA256, &ds), 0);
	dsrs = rrset1(DNS_TYPE_DS, 3600, ds.data, ds.size);
	s = (struct val_set){ zone, keys, sigs, SEC_UNCHECKED };
	val_dnskey(zone, dsrs, NULL, &s, NOW, &b, &out);
	assert_int_equal(out.sec, SEC_SECURE);
	/* A DNSKEY trust anchor is compared by RDATA. */
	val_dnskey(zone, NULL, keys, &s, NOW, &b, &out);
	assert_int_equal(out.sec, SEC_SECURE);
	/* A DS naming another key: bogus, DNSKEY missing. */
	ds.data[ds.size - 1] ^= 1;
	free(dsrs);
	dsrs = rrset1(DNS_TYPE_DS, 3600, ds.data, ds.size);
	val_dnskey(zone, dsrs, NULL, &s, NOW, &b, &out);
	assert_int_equal(out.sec, SEC_BOGUS);
	assert_int_equal(out.ede, EDE_DNSKEY_MISSING);
	/* RFC 6840 5.2: only DS of algorithms or digests we lack: insecure, not bogus. */
	memcpy(unknown, ds.data, 4);
	unknown[2] = 253;
	memset(unknown + 4, 0, 32);
	free(dsrs);
	dsrs = rrset1(DNS_TYPE_DS, 3600, unknown, sizeof(unknown));
	val_dnskey(zone, dsrs, NULL, &s, NOW, &b, &out);
	assert_int_equal(out.sec, SEC_INSECURE);
	unknown[2] = 15;
	unknown[3] = 200;
	free(dsrs);
	dsrs = rrset1(DNS_TYPE_DS, 3600, unknown, sizeof(unknown));
	val_dnskey(zone, dsrs, NULL, &s, NOW, &b, &out);
	assert_int_equal(out.sec, SEC_INSECURE);
	free(dsrs);
	free(sigs);
	dnssec_binary_free(&ds);
	dnssec_key_free(k);
}

/* An NSEC RRset at o pointing to next, with the types given (0-terminated). */
static struct rrset *
nsec(const char *o, const char *next, const uint16_t *types, uint8_t *obuf)
{
	uint8_t rd[512], nb[DNAME_MAXLEN];
	dnssec_nsec_bitmap_t *bm = dnssec_nsec_bitmap_new();
	size_t nl;

	name(o, obuf);
	name(next, nb);
	nl = dname_len(nb);
	memcpy(rd, nb, nl);
	for (; *types != 0; types++)
		dnssec_nsec_bitmap_add(bm, *types);
	dnssec_nsec_bitmap_write(bm, rd + nl);
	nl += dnssec_nsec_bitmap_size(bm);
	dnssec_nsec_bitmap_free(bm);
	return rrset1(DNS_TYPE_NSEC, 300, rd, nl);
}

static void
test_nsec_denials(void **state)
{
	static const uint16_t apex[] = { DNS_TYPE_SOA, DNS_TYPE_NS, DNS_TYPE_NSEC, 0 };
	static const uint16_t a[] = { DNS_TYPE_A, DNS_TYPE_NSEC, 0 };
	static const uint16_t deleg[] = { DNS_TYPE_NS, DNS_TYPE_NSEC, 0 };
	struct val_budget b = { 100, 100 };
	uint8_t o[4][DNAME_MAXLEN], q[DNAME_MAXLEN];
	struct val_set s[4];
	struct rrset *r[4];

	/* example. -> b.example. -> d.example. (a delegation) -> x.example. -> example. */
	r[0] = nsec("example.", "b.example.", apex, o[0]);
	r[1] = nsec("b.example.", "d.example.", a, o[1]);
	r[2] = nsec("d.example.", "x.example.", deleg, o[2]);
	r[3] = nsec("x.example.", "example.", a, o[3]);
	for (int i = 0; i < 4; i++)
		s[i] = (struct val_set){ o[i], r[i], NULL, SEC_SECURE };
	/* c.example.: covered by b's NSEC; *.example. covered by the apex NSEC. */
	assert_int_equal(val_denial(zone, name("c.example.", q), DNS_TYPE_A, s, 4, &b),
	    PROOF_NXDOMAIN);
	assert_int_equal(val_denial(zone, name("c.example.", q), DNS_TYPE_A, s + 1, 3, &b),
	    PROOF_NONE);	/* without the wildcard's proof */
	/* The last NSEC wraps to the apex. */
	assert_int_equal(val_denial(zone, name("z.example.", q), DNS_TYPE_A, s, 4, &b),
	    PROOF_NXDOMAIN);
	assert_int_equal(val_denial(zone, name("b.example.", q), DNS_TYPE_MX, s, 4, &b),
	    PROOF_NODATA);
	assert_int_equal(val_denial(zone, name("b.example.", q), DNS_TYPE_A, s, 4, &b),
	    PROOF_NONE);
	/* Below a delegation the parent's NSEC proves nothing. */
	assert_int_equal(val_denial(zone, name("e.d.example.", q), DNS_TYPE_A, s, 4, &b),
	    PROOF_NONE);
	assert_int_equal(val_denial(zone, name("d.example.", q), DNS_TYPE_DS, s, 4, &b),
	    PROOF_REFERRAL);
	assert_int_equal(val_denial(zone, name("b.example.", q), DNS_TYPE_DS, s, 4, &b),
	    PROOF_NOT_CUT);
	/* Unvalidated NSEC records count for nothing. */
	s[1].sec = SEC_BOGUS;
	assert_int_equal(val_denial(zone, name("c.example.", q), DNS_TYPE_A, s, 4, &b),
	    PROOF_NONE);
	for (int i = 0; i < 4; i++)
		free(r[i]);
}

/*
 * The NSEC3 chain of example. when the apex is its only name, into obuf: one record whose
 * next hash is its own, so it covers every other hash; SHA-1, the salt aabbccdd.
 */
static struct rrset *
nsec3_apex(uint16_t iterations, uint8_t *obuf)
{
	static const uint8_t salt[] = { 0xaa, 0xbb, 0xcc, 0xdd };
	static const char b32hex[] = "0123456789abcdefghijklmnopqrstuv";
	static const uint16_t types[] = { DNS_TYPE_SOA, DNS_TYPE_NS, DNS_TYPE_RRSIG,
	    DNS_TYPE_DNSKEY, DNS_TYPE_NSEC3PARAM, 0 };
	dnssec_nsec3_params_t params = { .algorithm = DNSSEC_NSEC3_ALGORITHM_SHA1,
	    .iterations = iterations, .salt = { .size = sizeof(salt), .data = (uint8_t *)salt } };
	dnssec_binary_t in = { .size = dname_len(zone), .data = zone }, h = { 0 };
	dnssec_nsec_bitmap_t *bm = dnssec_nsec_bitmap_new();
	uint8_t rd[512];
	unsigned acc = 0, bits = 0;
	size_t o = 1, len;

	assert_int_equal(dnssec_nsec3_hash(&in, &params, &h), DNSSEC_EOK);
	assert_int_equal(h.size, 20);
	for (size_t i = 0; i < h.size; i++) {	/* 160 bits: 32 base32hex digits */
		acc = acc << 8 | h.data[i];
		for (bits += 8; bits >= 5; bits -= 5)
			obuf[o++] = (uint8_t)b32hex[(acc >> (bits - 5)) & 31];
	}
	obuf[0] = 32;
	memcpy(obuf + 33, zone, dname_len(zone));
	rd[0] = DNSSEC_NSEC3_ALGORITHM_SHA1;
	rd[1] = 0;
	wire_write16(rd + 2, iterations);
	rd[4] = sizeof(salt);
	memcpy(rd + 5, salt, sizeof(salt));
	rd[9] = 20;
	memcpy(rd + 10, h.data, 20);
	len = 30;
	for (const uint16_t *t = types; *t != 0; t++)
		dnssec_nsec_bitmap_add(bm, *t);
	dnssec_nsec_bitmap_write(bm, rd + len);
	len += dnssec_nsec_bitmap_size(bm);
	dnssec_nsec_bitmap_free(bm);
	dnssec_binary_free(&h);
	return rrset1(DNS_TYPE_NSEC3, 300, rd, len);
}

/* A name depth labels of "a" below example. */
static const uint8_t *
deep(int depth, uint8_t *out)
{
	size_t o = 0;

	for (int i = 0; i < depth; i++) {
		out[o++] = 1;
		out[o++] = 'a';
	}
	memcpy(out + o, zone, dname_len(zone));
	assert_true(dname_len(out) <= DNAME_MAXLEN);
	return out;
}

/*
 * CVE-2023-50868: an NXDOMAIN proof by NSEC3 hashes the name, its ancestors up to the
 * closest encloser, the next closer name and the wildcard: depth + 3 hashes when the
 * closest encloser is the apex. The budget of a client query bounds them, and says so
 * (hashes = -1) when a proof failed for want of them; more than 150 iterations are not
 * computed at all (RFC 9276: insecure).
 */
static void
test_nsec3_hash_budget(void **state)
{
	uint8_t o[DNAME_MAXLEN], q[DNAME_MAXLEN];
	struct val_budget b;
	struct val_set s;
	struct rrset *r = nsec3_apex(VAL_NSEC3_MAX_ITERATIONS, o);

	s = (struct val_set){ o, r, NULL, SEC_SECURE };
	b = (struct val_budget){ VAL_BUDGET_VERIFIES, VAL_BUDGET_HASHES };
	assert_int_equal(val_denial(zone, deep(1, q), DNS_TYPE_A, &s, 1, &b), PROOF_NXDOMAIN);
	assert_int_equal(b.hashes, VAL_BUDGET_HASHES - 4);
	/* The deepest name whose proof fits, then one label more. */
	b = (struct val_budget){ VAL_BUDGET_VERIFIES, VAL_BUDGET_HASHES };
	assert_int_equal(val_denial(zone, deep(VAL_BUDGET_HASHES - 3, q), DNS_TYPE_A, &s, 1,
	    &b), PROOF_NXDOMAIN);
	assert_int_equal(b.hashes, 0);
	b = (struct val_budget){ VAL_BUDGET_VERIFIES, VAL_BUDGET_HASHES };
	assert_int_equal(val_denial(zone, deep(VAL_BUDGET_HASHES - 2, q), DNS_TYPE_A, &s, 1,
	    &b), PROOF_NONE);
	assert_int_equal(b.hashes, -1);
	/* Spent, it stays spent: nothing more is hashed. */
	assert_int_equal(val_denial(zone, deep(1, q), DNS_TYPE_A, &s, 1, &b), PROOF_NONE);
	assert_int_equal(b.hashes, -1);
	assert_false(val_wildcard_ok(zone, deep(2, q), 1, &s, 1, &b));
	assert_int_equal(b.hashes, -1);
	free(r);

	/* 151 iterations: insecure however deep the name, and not one hash computed. */
	r = nsec3_apex(VAL_NSEC3_MAX_ITERATIONS + 1, o);
	s = (struct val_set){ o, r, NULL, SEC_SECURE };
	b = (struct val_budget){ VAL_BUDGET_VERIFIES, VAL_BUDGET_HASHES };
	assert_int_equal(val_denial(zone, deep(120, q), DNS_TYPE_A, &s, 1, &b),
	    PROOF_INSECURE);
	assert_int_equal(b.hashes, VAL_BUDGET_HASHES);
	free(r);
}

static void
test_rrsig_parse(void **state)
{
	uint8_t rd[64] = { 0 };
	struct rrsig s;

	assert_int_equal(rrsig_parse(rd, 10, &s), -1);
	rd[18] = 64;		/* a label too long for a name */
	assert_int_equal(rrsig_parse(rd, sizeof(rd), &s), -1);
	rd[18] = 0;		/* the root, then a signature */
	assert_int_equal(rrsig_parse(rd, 19, &s), -1);	/* no signature */
	assert_int_equal(rrsig_parse(rd, 30, &s), 0);
	assert_int_equal(s.siglen, 11);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signatures),
		cmocka_unit_test(test_key_tag_collisions),
		cmocka_unit_test(test_ecdsa_p256),
		cmocka_unit_test(test_ecdsa_p384),
		cmocka_unit_test(test_ecdsa_kept_keys),
		cmocka_unit_test(test_dnskey_and_ds),
		cmocka_unit_test(test_nsec_denials),
		cmocka_unit_test(test_nsec3_hash_budget),
		cmocka_unit_test(test_rrsig_parse),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
