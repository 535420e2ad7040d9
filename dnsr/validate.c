/* validate.c: DNSSEC validation: RRSIGs, DS to DNSKEY, NSEC and NSEC3 denials, with budgets. */
#include <stdlib.h>
#include <string.h>

#include <libdnssec/crypto.h>
#include <libdnssec/error.h>
#include <libdnssec/key.h>
#include <libdnssec/keytag.h>
#include <libdnssec/nsec.h>
#include <libdnssec/sign.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "dnsr/validate.h"
#include "common/dname.h"
#include "common/wire.h"

#define DNSKEY_FLAG_ZONE	0x0100
#define DNSKEY_FLAG_REVOKE	0x0080
#define NSEC3_FLAG_OPTOUT	0x01
#define NSEC3_HASH_SHA1		1
#define NSEC3_HASH_LEN		20
#define MAX_KEYS		64	/* keys of one DNSKEY RRset considered */
#define DNSKEY_KEY_OFFSET	4	/* flags, protocol, algorithm, then the public key */
#define EC_POINT_UNCOMPRESSED	0x04	/* SEC 1 2.3.3: 0x04 || X || Y */
#define EC_MAX_HALF		48	/* P-384: octets of a coordinate, of r, of s */
/* DER of ECDSA-Sig-Value: SEQUENCE of two INTEGERs, each up to EC_MAX_HALF + 1 octets. */
#define EC_DER_MAX		(2 * (2 + EC_MAX_HALF + 1) + 3)
#define EC_KEY_MEM		2200	/* an EC EVP_PKEY's heap (measured, mallinfo2) */

/* Which library verifies an algorithm's signatures. */
enum crypto_lib {
	LIB_NONE,	/* not validated here (RFC 8624 3.1): what only it signs is insecure */
	LIB_DNSSEC,	/* libdnssec (GnuTLS, nettle) */
	LIB_OSSL_EC,	/* OpenSSL's libcrypto: its ECDSA verifies in ~50 us, nettle's in
			 * ~116 us, and that decides the cold validation rate
			 * (docs/PERFORMANCE.md) */
};

struct alg_impl {
	uint8_t		 alg;
	uint8_t		 lib;		/* enum crypto_lib */
	const char	*group;		/* LIB_OSSL_EC: the curve, libcrypto's name */
	const char	*digest;	/* LIB_OSSL_EC */
	size_t		 half;		/* LIB_OSSL_EC: octets of X, Y, r, s (RFC 6605) */
};

/* The one place that decides who verifies what; algorithms not listed are LIB_NONE. */
static const struct alg_impl algs[] = {
	{ DNSSEC_KEY_ALGORITHM_RSA_SHA256, LIB_DNSSEC, NULL, NULL, 0 },
	{ DNSSEC_KEY_ALGORITHM_RSA_SHA512, LIB_DNSSEC, NULL, NULL, 0 },
	{ DNSSEC_KEY_ALGORITHM_ECDSA_P256_SHA256, LIB_OSSL_EC, "prime256v1", "SHA256", 32 },
	{ DNSSEC_KEY_ALGORITHM_ECDSA_P384_SHA384, LIB_OSSL_EC, "secp384r1", "SHA384", 48 },
	{ DNSSEC_KEY_ALGORITHM_ED25519, LIB_DNSSEC, NULL, NULL, 0 },
	{ DNSSEC_KEY_ALGORITHM_ED448, LIB_DNSSEC, NULL, NULL, 0 },
};

/* Keys made ready for libcrypto once, by their index in the DNSKEY RRset. */
struct val_keys {
	size_t		 n;
	EVP_PKEY	*pk[];		/* NULL: no ECDSA key, or one libcrypto refused */
};

void
val_init(void)
{
	dnssec_crypto_init();
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Length of the uncompressed name at p within len octets, or 0. */
static size_t
name_in(const uint8_t *p, size_t len)
{
	size_t n = 0;

	while (n < len && n < DNAME_MAXLEN) {
		if (p[n] == 0)
			return n + 1;
		if (p[n] > 63)
			return 0;
		n += (size_t)p[n] + 1;
	}
	return 0;
}

int
rrsig_parse(const uint8_t *rd, size_t len, struct rrsig *s)
{
	size_t nl;

	if (len < 18 + 1 || (nl = name_in(rd + 18, len - 18)) == 0 || 18 + nl >= len)
		return -1;
	s->covered = get16(rd);
	s->algorithm = rd[2];
	s->labels = rd[3];
	s->original_ttl = get32(rd + 4);
	s->expiration = get32(rd + 8);
	s->inception = get32(rd + 12);
	s->tag = get16(rd + 16);
	s->signer = rd + 18;
	s->prelen = 18 + nl;
	s->sig = rd + s->prelen;
	s->siglen = len - s->prelen;
	return 0;
}

const uint8_t *
val_signer(const uint8_t *owner, const struct rrset *sigs)
{
	struct rdata_ref rd;
	struct rrsig s;

	if (sigs == NULL)
		return NULL;
	for (const uint8_t *p = rrset_first(sigs, &rd); p; p = rrset_next(sigs, p, &rd))
		if (rrsig_parse(rd.data, rd.len, &s) == 0 && dname_is_below(owner, s.signer))
			return s.signer;
	return NULL;
}

static const struct alg_impl *
alg_impl(uint8_t alg)
{
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (algs[i].alg == alg)
			return &algs[i];
	return NULL;	/* RFC 8624: SHA-1 and older ones are not validated */
}

bool
val_algorithm_supported(uint8_t alg)
{
	const struct alg_impl *a = alg_impl(alg);

	if (a == NULL)
		return false;
	switch (a->lib) {
	case LIB_DNSSEC:
		return dnssec_algorithm_key_support(alg);
	case LIB_OSSL_EC:
		return true;	/* libcrypto 3 has both curves */
	default:
		return false;
	}
}

bool
val_digest_supported(uint8_t digest)
{
	return digest == DNSSEC_KEY_DIGEST_SHA256 || digest == DNSSEC_KEY_DIGEST_SHA384;
}

/* ---- signatures ---- */

/* RFC 1982 comparison of 32-bit times: a before (or at) b. */
static bool
serial_le(uint32_t a, uint32_t b)
{
	return (int32_t)(b - a) >= 0;
}

/* A libdnssec key from DNSKEY RDATA (zone: its owner, or NULL), or NULL. */
static dnssec_key_t *
key_from_rdata(const uint8_t *rd, size_t len, const uint8_t *zone)
{
	dnssec_binary_t kb = { .size = len, .data = (uint8_t *)rd };
	dnssec_key_t *k = NULL;

	if (dnssec_key_new(&k) != DNSSEC_EOK)
		return NULL;
	if (dnssec_key_set_rdata(k, &kb) != DNSSEC_EOK ||
	    (zone != NULL && dnssec_key_set_dname(k, zone) != DNSSEC_EOK)) {
		dnssec_key_free(k);
		return NULL;
	}
	return k;
}

/* ---- libdnssec: RSA, EdDSA ---- */

static int
dnssec_feed(void *arg, const uint8_t *p, size_t len)
{
	dnssec_binary_t b = { .size = len, .data = (uint8_t *)p };

	return dnssec_sign_add(arg, &b) == DNSSEC_EOK ? 0 : -1;
}

static bool
dnssec_verify(const uint8_t *o, const struct rrset *rs, const struct rrsig *sig,
    const uint8_t *pre, const uint8_t *key, size_t keylen)
{
	dnssec_binary_t sb = { .size = sig->siglen, .data = (uint8_t *)sig->sig };
	dnssec_binary_t pb = { .size = sig->prelen, .data = (uint8_t *)pre };
	dnssec_key_t *k;
	dnssec_sign_ctx_t *ctx = NULL;
	bool ok = false;

	if ((k = key_from_rdata(key, keylen, NULL)) == NULL)
		return false;
	if (dnssec_sign_new(&ctx, k) == DNSSEC_EOK && dnssec_sign_init(ctx) == DNSSEC_EOK &&
	    dnssec_sign_add(ctx, &pb) == DNSSEC_EOK)
		ok = rrset_canonical(o, rs, sig->original_ttl, dnssec_feed, ctx) == 0 &&
		    dnssec_sign_verify(ctx, false, &sb) == DNSSEC_EOK;
	dnssec_sign_free(ctx);
	dnssec_key_free(k);
	return ok;
}

/* ---- libcrypto: ECDSA (RFC 6605) ---- */

/*
 * A libcrypto public key from ECDSA DNSKEY RDATA (the key is X || Y), or NULL when it has
 * the wrong length or is no point of the curve (EVP_PKEY_fromdata checks).
 */
static EVP_PKEY *
ec_key_new(const struct alg_impl *a, const uint8_t *rd, size_t len)
{
	uint8_t point[1 + 2 * EC_MAX_HALF];
	EVP_PKEY_CTX *pc;
	EVP_PKEY *pk = NULL;
	OSSL_PARAM params[3];

	if (len != DNSKEY_KEY_OFFSET + 2 * a->half)
		return NULL;
	point[0] = EC_POINT_UNCOMPRESSED;
	memcpy(point + 1, rd + DNSKEY_KEY_OFFSET, 2 * a->half);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
	    (char *)a->group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point,
	    1 + 2 * a->half);
	params[2] = OSSL_PARAM_construct_end();
	if ((pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(pc) != 1 ||
	    EVP_PKEY_fromdata(pc, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		EVP_PKEY_free(pk);
		pk = NULL;
		ERR_clear_error();	/* a hostile key must not leave errors for others */
	}
	EVP_PKEY_CTX_free(pc);
	return pk;
}

/*
 * The DNSSEC signature r || s as DER's ECDSA-Sig-Value, which EVP_DigestVerify takes,
 * into der (EC_DER_MAX octets); its length, or -1 when the signature is malformed.
 */
static int
ec_sig_der(const struct alg_impl *a, const uint8_t *sig, size_t len, uint8_t *der)
{
	ECDSA_SIG *es;
	BIGNUM *r, *s;
	uint8_t *p = der;
	int n = -1;

	if (len != 2 * a->half || (es = ECDSA_SIG_new()) == NULL)
		return -1;
	r = BN_bin2bn(sig, (int)a->half, NULL);
	s = BN_bin2bn(sig + a->half, (int)a->half, NULL);
	if (r != NULL && s != NULL && ECDSA_SIG_set0(es, r, s) == 1) {
		r = s = NULL;		/* es owns them */
		if (i2d_ECDSA_SIG(es, NULL) <= EC_DER_MAX)
			n = i2d_ECDSA_SIG(es, &p);
	}
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	return n;
}

static int
ec_feed(void *arg, const uint8_t *p, size_t len)
{
	return EVP_DigestVerifyUpdate(arg, p, len) == 1 ? 0 : -1;
}

/* pk: the key kept for this DNSKEY, or NULL to build it from key now. */
static bool
ec_verify(const struct alg_impl *a, EVP_PKEY *pk, const uint8_t *o, const struct rrset *rs,
    const struct rrsig *sig, const uint8_t *pre, const uint8_t *key, size_t keylen)
{
	uint8_t der[EC_DER_MAX];
	EVP_PKEY *built = NULL;
	EVP_MD_CTX *mc;
	int derlen;
	bool ok;

	if ((derlen = ec_sig_der(a, sig->sig, sig->siglen, der)) < 0)
		return false;
	if (pk == NULL && (pk = built = ec_key_new(a, key, keylen)) == NULL)
		return false;
	if ((mc = EVP_MD_CTX_new()) == NULL) {
		EVP_PKEY_free(built);
		return false;
	}
	ok = EVP_DigestVerifyInit_ex(mc, NULL, a->digest, NULL, NULL, pk, NULL) == 1 &&
	    EVP_DigestVerifyUpdate(mc, pre, sig->prelen) == 1 &&
	    rrset_canonical(o, rs, sig->original_ttl, ec_feed, mc) == 0 &&
	    EVP_DigestVerifyFinal(mc, der, (size_t)derlen) == 1;
	if (!ok)
		ERR_clear_error();
	EVP_MD_CTX_free(mc);
	EVP_PKEY_free(built);
	return ok;
}

struct val_keys *
val_keys_new(const struct rrset *keys)
{
	struct val_keys *vk;
	struct rdata_ref kd;
	size_t n = 0, i = 0;

	for (const uint8_t *q = rrset_first(keys, &kd); q && n < MAX_KEYS;
	    q = rrset_next(keys, q, &kd))
		n++;
	if ((vk = calloc(1, sizeof(*vk) + n * sizeof(vk->pk[0]))) == NULL)
		return NULL;
	vk->n = n;
	for (const uint8_t *q = rrset_first(keys, &kd); q && i < n;
	    q = rrset_next(keys, q, &kd), i++) {
		const struct alg_impl *a = alg_impl(kd.len > DNSKEY_KEY_OFFSET ? kd.data[3] : 0);

		if (a != NULL && a->lib == LIB_OSSL_EC)
			vk->pk[i] = ec_key_new(a, kd.data, kd.len);
	}
	return vk;
}

size_t
val_keys_mem(const struct val_keys *vk)
{
	size_t mem = 0;

	for (size_t i = 0; vk != NULL && i < vk->n; i++)
		mem += vk->pk[i] != NULL ? EC_KEY_MEM : 0;
	return vk != NULL ? mem + sizeof(*vk) + vk->n * sizeof(vk->pk[0]) : 0;
}

void
val_keys_free(struct val_keys *vk)
{
	for (size_t i = 0; vk != NULL && i < vk->n; i++)
		EVP_PKEY_free(vk->pk[i]);
	free(vk);
}

/* ---- one signature ---- */

/*
 * Does the RRSIG sig (its RDATA rd) over owner's rs verify with the DNSKEY RDATA key
 * (pk: that key kept for libcrypto, or NULL)? RFC 4034 3.1.8.1: the RRSIG RDATA up to the
 * signature, its signer name lower case, then the RRset in canonical form with the
 * original TTL, at the owner the signature was made for (the wildcard when labels says
 * the answer was expanded, RFC 4035 5.3.2).
 */
static bool
verify_one(const uint8_t *owner, const struct rrset *rs, const struct rrsig *sig,
    const uint8_t *rd, const uint8_t *key, size_t keylen, EVP_PKEY *pk)
{
	const struct alg_impl *a = alg_impl(sig->algorithm);
	uint8_t pre[18 + DNAME_MAXLEN], signed_owner[DNAME_MAXLEN];
	const uint8_t *o = owner;
	int extra = dname_labels(owner) - sig->labels;

	memcpy(pre, rd, sig->prelen);
	dname_lower(pre + 18);
	for (; extra > 0; extra--)
		o = dname_parent(o);
	if (o != owner) {
		signed_owner[0] = 1;
		signed_owner[1] = '*';
		memcpy(signed_owner + 2, o, dname_len(o));
		o = signed_owner;
	}
	switch (a != NULL ? a->lib : LIB_NONE) {
	case LIB_DNSSEC:
		return dnssec_verify(o, rs, sig, pre, key, keylen);
	case LIB_OSSL_EC:
		return ec_verify(a, pk, o, rs, sig, pre, key, keylen);
	default:
		return false;
	}
}

static uint16_t
key_tag(const uint8_t *rd, size_t len)
{
	dnssec_binary_t b = { .size = len, .data = (uint8_t *)rd };
	uint16_t tag = 0;

	dnssec_keytag(&b, &tag);
	return tag;
}

/* A DNSKEY RDATA that may sign zone data: zone key, protocol 3, not revoked. */
static bool
key_usable(const uint8_t *rd, size_t len)
{
	return len > 4 && (get16(rd) & DNSKEY_FLAG_ZONE) && !(get16(rd) & DNSKEY_FLAG_REVOKE) &&
	    rd[2] == 3;
}

static void
bogus(struct val_out *out, int ede, const char *why)
{
	out->sec = SEC_BOGUS;
	out->ede = ede;
	out->why = why;
}

/* The usable keys of keys (within keymask) that a signature by alg and tag may be by. */
static size_t
matching_keys(const struct rrset *keys, uint64_t keymask, uint8_t alg, uint16_t tag)
{
	struct rdata_ref kd;
	size_t i = 0, n = 0;

	for (const uint8_t *q = keys ? rrset_first(keys, &kd) : NULL; q && i < MAX_KEYS;
	    q = rrset_next(keys, q, &kd), i++)
		if ((keymask & (UINT64_C(1) << i)) && key_usable(kd.data, kd.len) &&
		    kd.data[3] == alg && key_tag(kd.data, kd.len) == tag)
			n++;
	return n;
}

/*
 * RRSIGs whose key tag names one key are tried first, then those whose tag several keys
 * share (a KeyTrap zone: many keys, one tag), each of those against at most
 * VAL_MAX_TRIES_PER_SET keys; the whole RRset costs at most VAL_MAX_VERIFIES_PER_SET
 * verifications, and the resolution's budget bounds everything.
 */
void
val_verify(const struct val_set *s, const uint8_t *zone, const struct rrset *keys,
    const struct val_keys *kept, uint64_t keymask, uint32_t now, struct val_budget *b,
    struct val_out *out)
{
	int owner_labels = dname_labels(s->owner), verifies = 0;
	bool expired = false, future = false, nokey = false, failed = false, limited = false;
	struct rdata_ref rd, kd;
	struct rrsig sig;

	memset(out, 0, sizeof(*out));
	if (owner_labels > 0 && s->owner[0] == 1 && s->owner[1] == '*')
		owner_labels--;	/* RFC 4034 3.1.3 */
	for (int pass = 0; pass < 2; pass++)
	for (const uint8_t *p = s->sigs ? rrset_first(s->sigs, &rd) : NULL; p;
	    p = rrset_next(s->sigs, p, &rd)) {
		size_t nkeys, i = 0;
		int tries = 0;

		if (rrsig_parse(rd.data, rd.len, &sig) != 0 || sig.covered != s->rs->type ||
		    !dname_equal(sig.signer, zone) || !dname_is_below(s->owner, zone) ||
		    sig.labels > owner_labels || !val_algorithm_supported(sig.algorithm))
			continue;
		if (!serial_le(sig.inception, now)) {
			future = true;
			continue;
		}
		if (!serial_le(now, sig.expiration)) {
			expired = true;
			continue;
		}
		nkeys = matching_keys(keys, keymask, sig.algorithm, sig.tag);
		if (nkeys == 0) {
			nokey = true;
			continue;
		}
		if ((pass == 0) != (nkeys == 1))
			continue;
		for (const uint8_t *q = rrset_first(keys, &kd); q && i < MAX_KEYS;
		    q = rrset_next(keys, q, &kd), i++) {
			if (!(keymask & (UINT64_C(1) << i)) || !key_usable(kd.data, kd.len) ||
			    kd.data[3] != sig.algorithm || key_tag(kd.data, kd.len) != sig.tag)
				continue;
			/* A key tag shared by many keys must not buy many verifications. */
			if (tries++ >= VAL_MAX_TRIES_PER_SET) {
				limited = true;
				break;
			}
			if (verifies++ >= VAL_MAX_VERIFIES_PER_SET || b->verifies <= 0) {
				bogus(out, EDE_DNSSEC_BOGUS, "too many signature checks");
				return;
			}
			b->verifies--;
			if (verify_one(s->owner, s->rs, &sig, rd.data, kd.data, kd.len,
			    kept != NULL && i < kept->n ? kept->pk[i] : NULL)) {
				uint32_t left = sig.expiration - now;

				out->sec = SEC_SECURE;
				out->ttl = s->rs->ttl;
				if (sig.original_ttl < out->ttl)
					out->ttl = sig.original_ttl;
				if (left < out->ttl)
					out->ttl = left;
				out->labels = sig.labels;
				return;
			}
			failed = true;
		}
	}
	if (limited && !failed) {
		bogus(out, EDE_DNSSEC_BOGUS, "too many signature checks");
		return;
	}
	if (failed)
		bogus(out, EDE_DNSSEC_BOGUS, "signature does not verify");
	else if (nokey)
		bogus(out, EDE_DNSKEY_MISSING, "no DNSKEY matches the RRSIG");
	else if (expired)
		bogus(out, EDE_SIG_EXPIRED, "signature expired");
	else if (future)
		bogus(out, EDE_SIG_NOT_YET_VALID, "signature not yet valid");
	else
		bogus(out, EDE_RRSIGS_MISSING, "RRSIG missing");
}

/* ---- DS and DNSKEY ---- */

/* Does DS RDATA ds name the DNSKEY RDATA key of zone? */
static bool
ds_matches(const uint8_t *zone, const uint8_t *ds, size_t dslen, const uint8_t *key,
    size_t keylen)
{
	dnssec_binary_t out = { 0 };
	dnssec_key_t *k;
	bool ok = false;

	if ((k = key_from_rdata(key, keylen, zone)) == NULL)
		return false;
	if (dnssec_key_create_ds(k, ds[3], &out) == DNSSEC_EOK)
		ok = out.size == dslen && memcmp(out.data, ds, dslen) == 0;
	dnssec_binary_free(&out);
	dnssec_key_free(k);
	return ok;
}

void
val_dnskey(const uint8_t *zone, const struct rrset *ds, const struct rrset *anchor_keys,
    const struct val_set *dnskey, uint32_t now, struct val_budget *b, struct val_out *out)
{
	uint64_t mask = 0;
	bool supported = false;
	struct rdata_ref rd, kd;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (anchor_keys != NULL) {
		supported = true;
		i = 0;
		for (const uint8_t *q = rrset_first(dnskey->rs, &kd); q && i < MAX_KEYS;
		    q = rrset_next(dnskey->rs, q, &kd), i++)
			for (const uint8_t *p = rrset_first(anchor_keys, &rd); p;
			    p = rrset_next(anchor_keys, p, &rd))
				if (rd.len == kd.len && memcmp(rd.data, kd.data, rd.len) == 0 &&
				    key_usable(kd.data, kd.len) &&
				    val_algorithm_supported(kd.data[3]))
					mask |= UINT64_C(1) << i;
	}
	for (const uint8_t *p = ds ? rrset_first(ds, &rd) : NULL; p; p = rrset_next(ds, p, &rd)) {
		if (rd.len < 5 || !val_algorithm_supported(rd.data[2]) ||
		    !val_digest_supported(rd.data[3]))
			continue;
		supported = true;
		i = 0;
		for (const uint8_t *q = rrset_first(dnskey->rs, &kd); q && i < MAX_KEYS;
		    q = rrset_next(dnskey->rs, q, &kd), i++) {
			if (!key_usable(kd.data, kd.len) || kd.data[3] != rd.data[2] ||
			    key_tag(kd.data, kd.len) != get16(rd.data) || (mask & (UINT64_C(1) << i)))
				continue;
			if (b->hashes <= 0) {
				bogus(out, EDE_DNSSEC_BOGUS, "too many DS digests");
				return;
			}
			b->hashes--;
			if (ds_matches(zone, rd.data, rd.len, kd.data, kd.len))
				mask |= UINT64_C(1) << i;
		}
	}
	if (!supported) {
		/* RFC 6840 5.2: nothing here can be checked, so the zone is unsigned to us. */
		out->sec = SEC_INSECURE;
		return;
	}
	if (mask == 0) {
		bogus(out, EDE_DNSKEY_MISSING, "no DNSKEY matches the DS");
		return;
	}
	val_verify(dnskey, zone, dnskey->rs, NULL, mask, now, b, out);
}

/* ---- NSEC ---- */

struct nsec {
	const uint8_t	*owner;
	uint8_t		 next[DNAME_MAXLEN];
	const uint8_t	*bitmap;
	uint16_t	 bmlen;
};

static int
nsec_parse(const uint8_t *owner, const uint8_t *rd, size_t len, struct nsec *n)
{
	size_t nl = name_in(rd, len);

	if (nl == 0)
		return -1;
	n->owner = owner;
	memcpy(n->next, rd, nl);
	dname_lower(n->next);
	n->bitmap = rd + nl;
	n->bmlen = (uint16_t)(len - nl);
	return 0;
}

static bool
has_type(const uint8_t *bitmap, uint16_t len, uint16_t type)
{
	return dnssec_nsec_bitmap_contains(bitmap, len, type);
}

/* Does the NSEC n cover name (owner < name < next, the last NSEC wrapping to the apex)? */
static bool
nsec_covers(const struct nsec *n, const uint8_t *zone, const uint8_t *name)
{
	if (dname_canon_cmp(n->owner, name) >= 0 || !dname_is_below(name, zone))
		return false;
	if (dname_canon_cmp(n->next, n->owner) <= 0)
		return true;	/* the last NSEC of the zone */
	return dname_canon_cmp(name, n->next) < 0;
}

/*
 * An NSEC at a delegation (NS without SOA) or at a DNAME proves nothing about names
 * below its owner (RFC 4035 5.4, RFC 6672 5.3.4.1): the parent has no say there.
 */
static bool
nsec_cuts_off(const struct nsec *n, const uint8_t *name)
{
	if (dname_equal(n->owner, name) || !dname_is_below(name, n->owner))
		return false;
	return (has_type(n->bitmap, n->bmlen, DNS_TYPE_NS) &&
	    !has_type(n->bitmap, n->bmlen, DNS_TYPE_SOA)) ||
	    has_type(n->bitmap, n->bmlen, DNS_TYPE_DNAME);
}

/* The longest common ancestor of a and b (both lower case), as a pointer into a. */
static const uint8_t *
common_ancestor(const uint8_t *a, const uint8_t *b)
{
	for (const uint8_t *p = a; p != NULL; p = dname_parent(p))
		if (dname_is_below(b, p))
			return p;
	return NULL;
}

/* The record at name, exactly: what its types prove for (qtype). */
static enum proof
exact_types(const uint8_t *bitmap, uint16_t len, uint16_t qtype)
{
	bool ns = has_type(bitmap, len, DNS_TYPE_NS), soa = has_type(bitmap, len, DNS_TYPE_SOA);

	if (qtype == DNS_TYPE_DS) {
		if (has_type(bitmap, len, DNS_TYPE_DS))
			return PROOF_NONE;
		return ns && !soa ? PROOF_REFERRAL : PROOF_NOT_CUT;
	}
	if (has_type(bitmap, len, qtype) || has_type(bitmap, len, DNS_TYPE_CNAME) ||
	    (ns && !soa))
		return PROOF_NONE;
	return PROOF_NODATA;
}

static enum proof
nsec_denial(const uint8_t *zone, const uint8_t *qname, uint16_t qtype,
    const struct val_set *sets, size_t n)
{
	struct nsec cov, x;
	const uint8_t *ce = NULL;
	uint8_t wild[DNAME_MAXLEN];
	bool have_cov = false;
	struct rdata_ref rd;

	for (size_t i = 0; i < n; i++) {
		if (sets[i].rs->type != DNS_TYPE_NSEC || sets[i].sec != SEC_SECURE ||
		    rrset_first(sets[i].rs, &rd) == NULL ||
		    nsec_parse(sets[i].owner, rd.data, rd.len, &x) != 0)
			continue;
		if (dname_equal(x.owner, qname))
			return exact_types(x.bitmap, x.bmlen, qtype);
		if (!have_cov && nsec_covers(&x, zone, qname) && !nsec_cuts_off(&x, qname)) {
			cov = x;
			have_cov = true;
		}
	}
	if (!have_cov)
		return PROOF_NONE;
	/* An empty non-terminal: the name has descendants, so it exists, without data. */
	if (dname_is_below(cov.next, qname) && !dname_equal(cov.next, qname))
		return qtype == DNS_TYPE_DS ? PROOF_NOT_CUT : PROOF_NODATA;
	ce = common_ancestor(qname, cov.owner);
	{
		const uint8_t *c2 = common_ancestor(qname, cov.next);

		if (c2 != NULL && (ce == NULL || dname_labels(c2) > dname_labels(ce)))
			ce = c2;
	}
	if (ce == NULL || !dname_is_below(ce, zone) || dname_len(ce) + 2 > DNAME_MAXLEN)
		return PROOF_NONE;
	wild[0] = 1;
	wild[1] = '*';
	memcpy(wild + 2, ce, dname_len(ce));
	for (size_t i = 0; i < n; i++) {
		if (sets[i].rs->type != DNS_TYPE_NSEC || sets[i].sec != SEC_SECURE ||
		    rrset_first(sets[i].rs, &rd) == NULL ||
		    nsec_parse(sets[i].owner, rd.data, rd.len, &x) != 0)
			continue;
		if (dname_equal(x.owner, wild)) {
			/* RFC 4035 3.1.3.4: a wildcard NODATA */
			enum proof p = exact_types(x.bitmap, x.bmlen, qtype);

			return p == PROOF_NONE ? PROOF_NONE : PROOF_NODATA;
		}
		if (nsec_covers(&x, zone, wild) && !nsec_cuts_off(&x, wild))
			return PROOF_NXDOMAIN;
	}
	return PROOF_NONE;
}

/* ---- NSEC3 ---- */

struct nsec3 {
	uint8_t		 flags;
	uint16_t	 iterations;
	const uint8_t	*salt;
	uint8_t		 saltlen;
	uint8_t		 owner_hash[NSEC3_HASH_LEN];
	const uint8_t	*next;
	const uint8_t	*bitmap;
	uint16_t	 bmlen;
};

static int
b32hex(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'v')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'V')
		return c - 'A' + 10;
	return -1;
}

/* The first label of owner as a base32hex SHA-1 hash (RFC 5155 3.3), unpadded. */
static int
owner_hash(const uint8_t *owner, uint8_t *out)
{
	unsigned acc = 0, bits = 0;
	size_t o = 0;

	if (owner[0] != 32)
		return -1;
	for (size_t i = 1; i <= 32; i++) {
		int v = b32hex(owner[i]);

		if (v < 0)
			return -1;
		acc = acc << 5 | (unsigned)v;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	return o == NSEC3_HASH_LEN ? 0 : -1;
}

static int
nsec3_parse(const uint8_t *owner, const uint8_t *rd, size_t len, struct nsec3 *n)
{
	size_t p;

	if (len < 5 || rd[0] != NSEC3_HASH_SHA1)
		return -1;
	n->flags = rd[1];
	n->iterations = get16(rd + 2);
	n->saltlen = rd[4];
	n->salt = rd + 5;
	p = 5 + (size_t)n->saltlen;
	if (p + 1 > len || rd[p] != NSEC3_HASH_LEN || p + 1 + NSEC3_HASH_LEN > len)
		return -1;
	n->next = rd + p + 1;
	p += 1 + NSEC3_HASH_LEN;
	n->bitmap = rd + p;
	n->bmlen = (uint16_t)(len - p);
	return owner_hash(owner, n->owner_hash);
}

/* The NSEC3 records of zone that a proof may use, parsed, with one set of parameters. */
struct nsec3_view {
	size_t		 n;
	struct nsec3	 recs[16];
	bool		 too_costly;	/* RFC 9276: iterations over the limit */
};

static void
nsec3_gather(const uint8_t *zone, const struct val_set *sets, size_t n, struct nsec3_view *v)
{
	struct rdata_ref rd;

	v->n = 0;
	v->too_costly = false;
	for (size_t i = 0; i < n && v->n < sizeof(v->recs) / sizeof(v->recs[0]); i++) {
		struct nsec3 *r = &v->recs[v->n];

		if (sets[i].rs->type != DNS_TYPE_NSEC3 || sets[i].sec != SEC_SECURE ||
		    sets[i].owner[0] == 0 || !dname_equal(dname_parent(sets[i].owner), zone) ||
		    rrset_first(sets[i].rs, &rd) == NULL ||
		    nsec3_parse(sets[i].owner, rd.data, rd.len, r) != 0)
			continue;
		if (r->iterations > VAL_NSEC3_MAX_ITERATIONS) {
			v->too_costly = true;
			continue;
		}
		/* RFC 5155 8.2: records with other parameters than the first are ignored. */
		if (v->n > 0 && (r->iterations != v->recs[0].iterations ||
		    r->saltlen != v->recs[0].saltlen ||
		    memcmp(r->salt, v->recs[0].salt, r->saltlen) != 0))
			continue;
		v->n++;
	}
}

static int
hash_name(const struct nsec3_view *v, const uint8_t *name, struct val_budget *b,
    uint8_t *out)
{
	dnssec_nsec3_params_t params = {
		.algorithm = NSEC3_HASH_SHA1,
		.iterations = v->recs[0].iterations,
		.salt = { .size = v->recs[0].saltlen, .data = (uint8_t *)v->recs[0].salt },
	};
	dnssec_binary_t in = { .size = dname_len(name), .data = (uint8_t *)name }, h = { 0 };
	int rc = -1;

	if (b->hashes <= 0) {
		b->hashes = -1;		/* spent: what failed, failed for want of hashes */
		return -1;
	}
	b->hashes--;
	if (dnssec_nsec3_hash(&in, &params, &h) == DNSSEC_EOK && h.size == NSEC3_HASH_LEN) {
		memcpy(out, h.data, NSEC3_HASH_LEN);
		rc = 0;
	}
	dnssec_binary_free(&h);
	return rc;
}

static const struct nsec3 *
nsec3_match(const struct nsec3_view *v, const uint8_t *h)
{
	for (size_t i = 0; i < v->n; i++)
		if (memcmp(v->recs[i].owner_hash, h, NSEC3_HASH_LEN) == 0)
			return &v->recs[i];
	return NULL;
}

static const struct nsec3 *
nsec3_cover(const struct nsec3_view *v, const uint8_t *h)
{
	for (size_t i = 0; i < v->n; i++) {
		const struct nsec3 *r = &v->recs[i];
		int lo = memcmp(r->owner_hash, h, NSEC3_HASH_LEN);
		int hi = memcmp(h, r->next, NSEC3_HASH_LEN);

		if (memcmp(r->next, r->owner_hash, NSEC3_HASH_LEN) <= 0) {
			if (lo < 0 || hi < 0)	/* the last one wraps around */
				return r;
		} else if (lo < 0 && hi < 0) {
			return r;
		}
	}
	return NULL;
}

/*
 * RFC 5155 8.3: the closest encloser of qname (an ancestor with a matching NSEC3) and
 * the NSEC3 covering the next closer name. Returns the closest encloser (a pointer into
 * qname) or NULL; *nc_cover receives the covering record.
 */
static const uint8_t *
closest_encloser(const struct nsec3_view *v, const uint8_t *zone, const uint8_t *qname,
    struct val_budget *b, const struct nsec3 **nc_cover)
{
	uint8_t h[NSEC3_HASH_LEN];
	const uint8_t *nc = qname;

	for (const uint8_t *ce = dname_parent(qname); ce != NULL && dname_is_below(ce, zone);
	    nc = ce, ce = dname_parent(ce)) {
		const struct nsec3 *m;

		if (hash_name(v, ce, b, h) != 0)
			return NULL;
		if ((m = nsec3_match(v, h)) == NULL)
			continue;
		/* A delegation's NSEC3 proves nothing below it (RFC 5155 8.3). */
		if (has_type(m->bitmap, m->bmlen, DNS_TYPE_DNAME) ||
		    (has_type(m->bitmap, m->bmlen, DNS_TYPE_NS) &&
		    !has_type(m->bitmap, m->bmlen, DNS_TYPE_SOA)))
			return NULL;
		if (hash_name(v, nc, b, h) != 0 || (*nc_cover = nsec3_cover(v, h)) == NULL)
			return NULL;
		return ce;
	}
	return NULL;
}

static enum proof
nsec3_denial(const uint8_t *zone, const uint8_t *qname, uint16_t qtype,
    const struct val_set *sets, size_t n, struct val_budget *b)
{
	struct nsec3_view v;
	const struct nsec3 *m, *cov = NULL;
	const uint8_t *ce;
	uint8_t h[NSEC3_HASH_LEN], wild[DNAME_MAXLEN];

	nsec3_gather(zone, sets, n, &v);
	if (v.n == 0)
		return v.too_costly ? PROOF_INSECURE : PROOF_NONE;
	if (hash_name(&v, qname, b, h) != 0)
		return PROOF_NONE;
	if ((m = nsec3_match(&v, h)) != NULL)
		return exact_types(m->bitmap, m->bmlen, qtype);
	if ((ce = closest_encloser(&v, zone, qname, b, &cov)) == NULL)
		return v.too_costly ? PROOF_INSECURE : PROOF_NONE;
	/* RFC 5155 8.6 and 9.2: an opt-out span may hide an unsigned delegation. */
	if (cov->flags & NSEC3_FLAG_OPTOUT)
		return PROOF_INSECURE;
	if (dname_len(ce) + 2 > DNAME_MAXLEN)
		return PROOF_NONE;
	wild[0] = 1;
	wild[1] = '*';
	memcpy(wild + 2, ce, dname_len(ce));
	if (hash_name(&v, wild, b, h) != 0)
		return PROOF_NONE;
	if ((m = nsec3_match(&v, h)) != NULL) {
		enum proof p = exact_types(m->bitmap, m->bmlen, qtype);

		return p == PROOF_NONE ? PROOF_NONE : PROOF_NODATA;	/* 8.7 */
	}
	return nsec3_cover(&v, h) != NULL ? PROOF_NXDOMAIN : PROOF_NONE;
}

enum proof
val_denial(const uint8_t *zone, const uint8_t *qname, uint16_t qtype,
    const struct val_set *sets, size_t n, struct val_budget *b)
{
	for (size_t i = 0; i < n; i++)
		if (sets[i].rs->type == DNS_TYPE_NSEC3)
			return nsec3_denial(zone, qname, qtype, sets, n, b);
	return nsec_denial(zone, qname, qtype, sets, n);
}

bool
val_wildcard_ok(const uint8_t *zone, const uint8_t *qname, int labels,
    const struct val_set *sets, size_t n, struct val_budget *b)
{
	const uint8_t *nc = qname;
	struct nsec3_view v;
	struct rdata_ref rd;
	struct nsec x;
	uint8_t h[NSEC3_HASH_LEN];

	while (dname_labels(nc) > labels + 1)
		nc = dname_parent(nc);
	for (size_t i = 0; i < n; i++) {
		if (sets[i].rs->type != DNS_TYPE_NSEC || sets[i].sec != SEC_SECURE ||
		    rrset_first(sets[i].rs, &rd) == NULL ||
		    nsec_parse(sets[i].owner, rd.data, rd.len, &x) != 0)
			continue;
		/* RFC 4035 5.3.4: no closer match to qname exists. */
		if (nsec_covers(&x, zone, qname) && !nsec_cuts_off(&x, qname))
			return true;
	}
	nsec3_gather(zone, sets, n, &v);
	/* RFC 5155 8.8: the next closer name is covered (opt-out or not). */
	return v.n > 0 && hash_name(&v, nc, b, h) == 0 && nsec3_cover(&v, h) != NULL;
}
