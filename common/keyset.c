/* keyset.c: a zone's DNSSEC keys as one event: JSON codec, sealing, key tags, DS, signing. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <jansson.h>
#include <libdnssec/binary.h>
#include <libdnssec/crypto.h>
#include <libdnssec/error.h>
#include <libdnssec/key.h>
#include <libdnssec/keytag.h>
#include <libdnssec/pem.h>
#include <libdnssec/sign.h>
#include <sodium.h>

#include "common/conf.h"
#include "common/keyset.h"

#define DS_DIGEST_SHA256	2
#define ED25519_PUB_LEN		crypto_sign_PUBLICKEYBYTES
#define ED25519_SEED_LEN	crypto_sign_SEEDBYTES
#define P256_PUB_LEN		64	/* RFC 6605 4: x then y */
#define NONCE_LEN		crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define MAC_LEN			crypto_aead_xchacha20poly1305_ietf_ABYTES
#define PLAIN_MAX		1024	/* a PKCS#8 PEM of a P-256 key is about 250 octets */
#define SEALED_MAX		(NONCE_LEN + PLAIN_MAX + MAC_LEN)
#define AD_MAX			(DNAME_MAXLEN + 3)
#define TIME_FORMAT		"%Y-%m-%dT%H:%M:%SZ"
#define SECRET_FILE_MAX		256

static const char *const role_names[] = {
	[KEY_CSK] = "csk",
	[KEY_KSK] = "ksk",
	[KEY_ZSK] = "zsk",
};

static pthread_once_t crypto_once = PTHREAD_ONCE_INIT;
static bool crypto_ok;

static void
crypto_init(void)
{
	crypto_ok = sodium_init() >= 0;
	dnssec_crypto_init();
}

static bool
crypto_ready(void)
{
	pthread_once(&crypto_once, crypto_init);
	return crypto_ok;
}

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* ---- names of things ---- */

const char *
keyset_role_name(enum keyset_role role)
{
	return (unsigned)role < sizeof(role_names) / sizeof(role_names[0]) ?
	    role_names[role] : "?";
}

const char *
keyset_algorithm_name(uint8_t algorithm)
{
	switch (algorithm) {
	case DNSSEC_ALG_ECDSAP256SHA256:
		return "ECDSAP256SHA256";
	case DNSSEC_ALG_ED25519:
		return "ED25519";
	}
	return NULL;
}

static size_t
pub_len(uint8_t algorithm)
{
	switch (algorithm) {
	case DNSSEC_ALG_ECDSAP256SHA256:
		return P256_PUB_LEN;
	case DNSSEC_ALG_ED25519:
		return ED25519_PUB_LEN;
	}
	return 0;
}

/* ---- DNSKEY RDATA, key tag, DS ---- */

size_t
keyset_dnskey_rdata(const struct keyset_key *k, uint8_t *out, size_t cap)
{
	if (cap < 4 + k->publen)
		return 0;
	out[0] = (uint8_t)(k->flags >> 8);
	out[1] = (uint8_t)k->flags;
	out[2] = DNSKEY_PROTOCOL;
	out[3] = k->algorithm;
	memcpy(out + 4, k->pub, k->publen);
	return 4 + k->publen;
}

static uint16_t
key_tag(const struct keyset_key *k)
{
	uint8_t rdata[4 + KEYSET_PUB_MAX];
	dnssec_binary_t b = { .data = rdata };
	uint16_t tag = 0;

	b.size = keyset_dnskey_rdata(k, rdata, sizeof(rdata));
	dnssec_keytag(&b, &tag);
	return tag;
}

size_t
keyset_ds_rdata(const struct keyset *ks, const struct keyset_key *k, uint8_t *out,
    size_t cap)
{
	uint8_t rdata[4 + KEYSET_PUB_MAX];
	size_t zlen = dname_len(ks->zone), rlen;
	crypto_hash_sha256_state h;

	if (cap < 4 + crypto_hash_sha256_BYTES || !crypto_ready())
		return 0;
	rlen = keyset_dnskey_rdata(k, rdata, sizeof(rdata));
	/* RFC 4509 2.1: digest = SHA-256(owner in canonical form | DNSKEY RDATA). */
	crypto_hash_sha256_init(&h);
	crypto_hash_sha256_update(&h, ks->zone, zlen);
	crypto_hash_sha256_update(&h, rdata, rlen);
	out[0] = (uint8_t)(k->tag >> 8);
	out[1] = (uint8_t)k->tag;
	out[2] = k->algorithm;
	out[3] = DS_DIGEST_SHA256;
	crypto_hash_sha256_final(&h, out + 4);
	return 4 + crypto_hash_sha256_BYTES;
}

/* ---- states ---- */

bool
keyset_published(const struct keyset_key *k, time_t now)
{
	return k->publish != KEYSET_NEVER && k->publish <= now &&
	    (k->remove == KEYSET_NEVER || now < k->remove);
}

bool
keyset_signing(const struct keyset_key *k, time_t now)
{
	return k->active != KEYSET_NEVER && k->active <= now &&
	    (k->retire == KEYSET_NEVER || now < k->retire);
}

bool
keyset_wants_ds(const struct keyset_key *k, time_t now)
{
	return k->role != KEY_ZSK && keyset_published(k, now) &&
	    (k->retire == KEYSET_NEVER || now < k->retire);
}

/* ---- private keys ---- */

static void
priv_free(struct keyset_key *k)
{
	if (k->priv == NULL)
		return;
	if (k->algorithm == DNSSEC_ALG_ED25519) {
		sodium_memzero(k->priv, crypto_sign_SECRETKEYBYTES);
		free(k->priv);
	} else {
		dnssec_key_free(k->priv);
	}
	k->priv = NULL;
}

/* The Ed25519 secret key from its seed; its public key into pub. NULL on failure. */
static uint8_t *
ed25519_from_seed(const uint8_t *seed, uint8_t pub[ED25519_PUB_LEN])
{
	uint8_t *sk = malloc(crypto_sign_SECRETKEYBYTES);

	if (sk != NULL && crypto_sign_seed_keypair(pub, sk, seed) != 0) {
		sodium_memzero(sk, crypto_sign_SECRETKEYBYTES);
		free(sk);
		sk = NULL;
	}
	return sk;
}

/* A libdnssec P-256 key from a PKCS#8 PEM; its public key into pub. NULL on failure. */
static dnssec_key_t *
p256_from_pem(const uint8_t *pem, size_t len, uint8_t pub[P256_PUB_LEN])
{
	dnssec_binary_t b = { .size = len, .data = (uint8_t *)pem }, pk;
	dnssec_key_t *key = NULL;

	if (dnssec_key_new(&key) != DNSSEC_EOK)
		return NULL;
	if (dnssec_key_set_algorithm(key, DNSSEC_ALG_ECDSAP256SHA256) != DNSSEC_EOK ||
	    dnssec_key_set_flags(key, DNSKEY_FLAG_ZONE) != DNSSEC_EOK ||
	    dnssec_key_load_pkcs8(key, &b) != DNSSEC_EOK ||
	    dnssec_key_get_pubkey(key, &pk) != DNSSEC_EOK || pk.size != P256_PUB_LEN) {
		dnssec_key_free(key);
		return NULL;
	}
	memcpy(pub, pk.data, P256_PUB_LEN);
	return key;
}

/* A new P-256 private key as PKCS#8 PEM (caller frees with dnssec_binary_free). */
static int
p256_generate(dnssec_binary_t *pem)
{
	gnutls_x509_privkey_t x;
	int ret = -1;

	if (gnutls_x509_privkey_init(&x) != GNUTLS_E_SUCCESS)
		return -1;
	if (gnutls_x509_privkey_generate(x, GNUTLS_PK_ECDSA,
	    GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0) == GNUTLS_E_SUCCESS &&
	    dnssec_pem_from_x509(x, pem) == DNSSEC_EOK)
		ret = 0;
	gnutls_x509_privkey_deinit(x);
	return ret;
}

/*
 * The private key from its sealed plaintext, checked against k's public key: a key that
 * opens but does not match is as wrong as one that does not open.
 */
static void *
priv_from_plain(const struct keyset_key *k, const uint8_t *plain, size_t len)
{
	uint8_t pub[KEYSET_PUB_MAX];
	void *priv = NULL;

	if (k->algorithm == DNSSEC_ALG_ED25519 && len == ED25519_SEED_LEN)
		priv = ed25519_from_seed(plain, pub);
	else if (k->algorithm == DNSSEC_ALG_ECDSAP256SHA256)
		priv = p256_from_pem(plain, len, pub);
	if (priv == NULL)
		return NULL;
	if (sodium_memcmp(pub, k->pub, k->publen) != 0) {
		struct keyset_key tmp = { .algorithm = k->algorithm, .priv = priv };

		priv_free(&tmp);
		return NULL;
	}
	return priv;
}

/* ---- sealing ---- */

/* The associated data: zone (lower case wire), key tag (network order), algorithm. */
static size_t
seal_ad(const struct keyset *ks, const struct keyset_key *k, uint8_t ad[AD_MAX])
{
	size_t zlen = dname_len(ks->zone);

	memcpy(ad, ks->zone, zlen);
	ad[zlen] = (uint8_t)(k->tag >> 8);
	ad[zlen + 1] = (uint8_t)k->tag;
	ad[zlen + 2] = k->algorithm;
	return zlen + 3;
}

/* Seals plain for k into k->sealed (base64 of nonce || ciphertext and tag). */
static int
seal(const struct keyset *ks, struct keyset_key *k, const uint8_t *plain, size_t len,
    const uint8_t secret[KEYSET_SECRET_LEN])
{
	uint8_t box[SEALED_MAX], ad[AD_MAX];
	unsigned long long clen;
	size_t adlen = seal_ad(ks, k, ad), b64len;

	if (len > PLAIN_MAX)
		return -1;
	randombytes_buf(box, NONCE_LEN);
	crypto_aead_xchacha20poly1305_ietf_encrypt(box + NONCE_LEN, &clen, plain, len, ad,
	    adlen, NULL, box, secret);
	b64len = sodium_base64_ENCODED_LEN(NONCE_LEN + clen, sodium_base64_VARIANT_ORIGINAL);
	if ((k->sealed = malloc(b64len)) == NULL)
		return -1;
	sodium_bin2base64(k->sealed, b64len, box, NONCE_LEN + clen,
	    sodium_base64_VARIANT_ORIGINAL);
	return 0;
}

/* Opens k->sealed into plain (PLAIN_MAX); returns its length, or -1. */
static long
unseal(const struct keyset *ks, const struct keyset_key *k,
    const uint8_t secret[KEYSET_SECRET_LEN], uint8_t *plain)
{
	uint8_t box[SEALED_MAX], ad[AD_MAX];
	unsigned long long plen;
	size_t adlen = seal_ad(ks, k, ad), blen;

	if (sodium_base642bin(box, sizeof(box), k->sealed, strlen(k->sealed), NULL, &blen,
	    NULL, sodium_base64_VARIANT_ORIGINAL) != 0 || blen < NONCE_LEN + MAC_LEN)
		return -1;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &plen, NULL, box + NONCE_LEN,
	    blen - NONCE_LEN, ad, adlen, box, secret) != 0)
		return -1;
	return (long)plen;
}

/*
 * Opens every sealed key of ks with secret and hands each plaintext to take(), which keeps
 * what it makes from key i in its own array. Returns ks->nkeys when every key went
 * through, else the index of the key that did not; *opened says whether that key opened
 * (and take() refused it) or not. A wrong secret thus stops at the first key.
 */
static size_t
open_each(struct keyset *ks, const uint8_t secret[KEYSET_SECRET_LEN],
    int (*take)(struct keyset *, size_t, const uint8_t *, size_t, void *), void *arg,
    bool *opened)
{
	uint8_t *plain;
	size_t i;
	long n = 0;

	*opened = false;
	if (!crypto_ready() || (plain = sodium_malloc(PLAIN_MAX)) == NULL)
		return 0;
	for (i = 0; i < ks->nkeys; i++)
		if ((n = unseal(ks, &ks->keys[i], secret, plain)) < 0 ||
		    take(ks, i, plain, (size_t)n, arg) != 0)
			break;
	*opened = n >= 0;
	sodium_free(plain);
	return i;
}

static int
take_priv(struct keyset *ks, size_t i, const uint8_t *plain, size_t len, void *arg)
{
	void **priv = arg;

	return (priv[i] = priv_from_plain(&ks->keys[i], plain, len)) != NULL ? 0 : -1;
}

int
keyset_unseal(struct keyset *ks, const uint8_t secret[KEYSET_SECRET_LEN], char *err,
    size_t errlen)
{
	void *priv[KEYSET_KEYS_MAX] = { NULL };
	bool opened;
	size_t i = open_each(ks, secret, take_priv, priv, &opened);

	if (i < ks->nkeys) {
		for (size_t j = 0; j < i; j++) {
			struct keyset_key tmp = { .algorithm = ks->keys[j].algorithm,
			    .priv = priv[j] };

			priv_free(&tmp);
		}
		return fail(err, errlen, opened ? "key %u (%s): the private key does not "
		    "match the public key" : "key %u (%s): the private key does not open with "
		    "this secret (another fleet secret, or sealed for another zone or key)",
		    ks->keys[i].tag, keyset_role_name(ks->keys[i].role));
	}
	/* All or nothing: a half-unsealed set would sign with some keys only. */
	for (i = 0; i < ks->nkeys; i++) {
		priv_free(&ks->keys[i]);
		ks->keys[i].priv = priv[i];
	}
	ks->unsealed = true;
	return 0;
}

int
keyset_unseal_any(struct keyset *ks, const struct keyset_secrets *sec, char *err,
    size_t errlen)
{
	for (size_t i = 0; i < sec->n; i++)
		if (keyset_unseal(ks, sec->s[i], err, errlen) == 0)
			return (int)i;
	if (sec->n == 0)
		fail(err, errlen, "no fleet secret");
	return -1;
}

struct reseal {
	const uint8_t	*secret;
	char		*sealed[KEYSET_KEYS_MAX];
};

static int
take_reseal(struct keyset *ks, size_t i, const uint8_t *plain, size_t len, void *arg)
{
	struct reseal *r = arg;
	struct keyset_key tmp = ks->keys[i];

	if (seal(ks, &tmp, plain, len, r->secret) != 0)
		return -1;
	r->sealed[i] = tmp.sealed;
	return 0;
}

int
keyset_reseal(struct keyset *ks, const uint8_t old[KEYSET_SECRET_LEN],
    const uint8_t new[KEYSET_SECRET_LEN], char *err, size_t errlen)
{
	struct reseal r = { new, { NULL } };
	bool opened;
	size_t i = open_each(ks, old, take_reseal, &r, &opened);

	if (i < ks->nkeys) {
		for (size_t j = 0; j < i; j++)
			free(r.sealed[j]);
		return fail(err, errlen, "key %u (%s): %s", ks->keys[i].tag,
		    keyset_role_name(ks->keys[i].role), opened ? "cannot seal it" :
		    "the private key does not open with the old secret");
	}
	/* All or nothing, as keyset_unseal(): one set, one secret. */
	for (i = 0; i < ks->nkeys; i++) {
		free(ks->keys[i].sealed);
		ks->keys[i].sealed = r.sealed[i];
	}
	return 0;
}

/* ---- generation ---- */

/* A new private key: its plaintext form into plain, the key into k (pub, priv). */
static long
generate_one(struct keyset_key *k, uint8_t *plain)
{
	dnssec_binary_t pem = { 0 };
	long n = -1;

	if (k->algorithm == DNSSEC_ALG_ED25519) {
		randombytes_buf(plain, ED25519_SEED_LEN);
		if ((k->priv = ed25519_from_seed(plain, k->pub)) != NULL)
			n = ED25519_SEED_LEN;
	} else if (p256_generate(&pem) == 0 && pem.size <= PLAIN_MAX) {
		memcpy(plain, pem.data, pem.size);
		if ((k->priv = p256_from_pem(pem.data, pem.size, k->pub)) != NULL)
			n = (long)pem.size;
	}
	if (pem.data != NULL) {
		sodium_memzero(pem.data, pem.size);
		dnssec_binary_free(&pem);
	}
	return n;
}

static bool
tag_taken(const struct keyset *ks, const struct keyset_key *k)
{
	for (size_t i = 0; i < ks->nkeys; i++)
		if (&ks->keys[i] != k && ks->keys[i].tag == k->tag &&
		    ks->keys[i].algorithm == k->algorithm)
			return true;
	return false;
}

struct keyset_key *
keyset_generate(struct keyset *ks, uint8_t algorithm, enum keyset_role role,
    const uint8_t secret[KEYSET_SECRET_LEN])
{
	struct keyset_key *k = &ks->keys[ks->nkeys];
	uint8_t *plain;
	long n;

	if (ks->nkeys == KEYSET_KEYS_MAX || pub_len(algorithm) == 0 || !crypto_ready() ||
	    (plain = sodium_malloc(PLAIN_MAX)) == NULL)
		return NULL;
	memset(k, 0, sizeof(*k));
	k->algorithm = algorithm;
	k->role = role;
	k->flags = DNSKEY_FLAG_ZONE | (role == KEY_ZSK ? 0 : DNSKEY_FLAG_SEP);
	k->publen = pub_len(algorithm);
	/* Tags must tell the keys of a set apart: the tag is in the associated data. */
	do {
		priv_free(k);
		n = generate_one(k, plain);
		k->tag = key_tag(k);
	} while (n > 0 && tag_taken(ks, k));
	if (n < 0 || seal(ks, k, plain, (size_t)n, secret) != 0) {
		priv_free(k);
		k = NULL;
	} else {
		ks->nkeys++;
	}
	sodium_free(plain);
	return k;
}

/* ---- signing ---- */

size_t
keyset_sign(const struct keyset_key *k, const uint8_t *data, size_t len,
    uint8_t sig[KEYSET_SIG_MAX])
{
	dnssec_binary_t in = { .size = len, .data = (uint8_t *)data }, out = { 0 };
	dnssec_sign_ctx_t *ctx = NULL;
	size_t n = 0;

	if (k->priv == NULL)
		return 0;
	if (k->algorithm == DNSSEC_ALG_ED25519) {
		crypto_sign_detached(sig, NULL, data, len, k->priv);
		return crypto_sign_BYTES;
	}
	/* One context per call: libdnssec's key is shared, a context is not. */
	if (dnssec_sign_new(&ctx, k->priv) == DNSSEC_EOK &&
	    dnssec_sign_init(ctx) == DNSSEC_EOK && dnssec_sign_add(ctx, &in) == DNSSEC_EOK &&
	    dnssec_sign_write(ctx, DNSSEC_SIGN_NORMAL, &out) == DNSSEC_EOK &&
	    out.size <= KEYSET_SIG_MAX) {
		memcpy(sig, out.data, out.size);
		n = out.size;
	}
	dnssec_binary_free(&out);
	dnssec_sign_free(ctx);
	return n;
}

/* ---- the set ---- */

struct keyset *
keyset_new(const uint8_t *zone)
{
	struct keyset *ks = calloc(1, sizeof(*ks));

	if (ks == NULL)
		return NULL;
	memcpy(ks->zone, zone, dname_len(zone));
	dname_lower(ks->zone);
	ks->unsealed = true;	/* every key of none */
	return ks;
}

void
keyset_free(struct keyset *ks)
{
	if (ks == NULL)
		return;
	for (size_t i = 0; i < ks->nkeys; i++) {
		priv_free(&ks->keys[i]);
		free(ks->keys[i].sealed);
	}
	sodium_memzero(ks, sizeof(*ks));
	free(ks);
}

size_t
keyset_prune(struct keyset *ks, time_t now)
{
	size_t kept = 0, dropped;

	for (size_t i = 0; i < ks->nkeys; i++) {
		struct keyset_key *k = &ks->keys[i];

		if (k->remove != KEYSET_NEVER && k->remove <= now) {
			priv_free(k);
			free(k->sealed);
			continue;
		}
		if (kept != i)
			ks->keys[kept] = *k;
		kept++;
	}
	dropped = ks->nkeys - kept;
	ks->nkeys = kept;
	return dropped;
}

/* ---- JSON ---- */

int
keyset_time_str(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (t == KEYSET_NEVER || gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, TIME_FORMAT, &tm) == 0)
		return -1;
	return 0;
}

static json_t *
time_json(time_t t)
{
	char buf[32];

	return keyset_time_str(t, buf, sizeof(buf)) == 0 ? json_string(buf) : json_null();
}

static json_t *
key_json(const struct keyset_key *k)
{
	char pub[sodium_base64_ENCODED_LEN(KEYSET_PUB_MAX, sodium_base64_VARIANT_ORIGINAL)];

	sodium_bin2base64(pub, sizeof(pub), k->pub, k->publen, sodium_base64_VARIANT_ORIGINAL);
	return json_pack("{s:i, s:s, s:i, s:s, s:s, s:o, s:o, s:o, s:o}",
	    "algorithm", k->algorithm, "role", keyset_role_name(k->role), "tag", k->tag,
	    "public", pub, "private", k->sealed, "publish", time_json(k->publish),
	    "active", time_json(k->active), "retire", time_json(k->retire),
	    "remove", time_json(k->remove));
}

char *
keyset_encode(const struct keyset *ks)
{
	char zone[DNAME_STRLEN];
	json_t *keys = json_array(), *obj;
	char *value = NULL;

	for (size_t i = 0; keys != NULL && i < ks->nkeys; i++) {
		json_t *k = key_json(&ks->keys[i]);

		if (k == NULL || json_array_append_new(keys, k) != 0) {
			json_decref(keys);
			return NULL;
		}
	}
	obj = json_pack("{s:s, s:o}", "zone", dname_to_str(ks->zone, zone, sizeof(zone)),
	    "keys", keys);
	if (obj != NULL)
		value = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	return value;
}

/* An RFC 3339 UTC time as written by keyset_time_str, or null: KEYSET_NEVER. */
static int
parse_time(const json_t *v, time_t *t)
{
	struct tm tm;
	const char *s, *end;

	*t = KEYSET_NEVER;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return -1;
	s = json_string_value(v);
	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, TIME_FORMAT, &tm)) == NULL || *end != '\0' ||
	    strlen(s) != 20)
		return -1;
	*t = timegm(&tm);
	/* KEYSET_NEVER is the epoch: no key has a use for it. */
	return *t > 0 ? 0 : -1;
}

static int
parse_role(const char *s, enum keyset_role *role)
{
	for (size_t i = 0; i < sizeof(role_names) / sizeof(role_names[0]); i++) {
		if (strcmp(s, role_names[i]) == 0) {
			*role = (enum keyset_role)i;
			return 0;
		}
	}
	return -1;
}

/* The timeline in order: each time set is no earlier than those set before it. */
static const char *
timeline_error(const struct keyset_key *k)
{
	const time_t t[4] = { k->publish, k->active, k->retire, k->remove };
	time_t last = 0;

	if (k->active != KEYSET_NEVER && k->publish == KEYSET_NEVER)
		return "active but never published";
	for (size_t i = 0; i < 4; i++) {
		if (t[i] == KEYSET_NEVER)
			continue;
		if (t[i] < last)
			return "timeline out of order (want publish <= active <= retire <= "
			    "remove)";
		last = t[i];
	}
	return NULL;
}

static int
parse_key(const json_t *o, struct keyset_key *k, char *err, size_t errlen)
{
	const char *role = NULL, *pub = NULL, *priv = NULL, *why;
	json_t *pt, *at, *rt, *mt;
	json_error_t je;
	json_int_t alg, tag;
	size_t plen;

	if (json_unpack_ex((json_t *)o, &je, 0, "{s:I, s:s, s:I, s:s, s:s, s?o, s?o, s?o, s?o}",
	    "algorithm", &alg, "role", &role, "tag", &tag, "public", &pub, "private", &priv,
	    "publish", &pt, "active", &at, "retire", &rt, "remove", &mt) != 0)
		return fail(err, errlen, "%s", je.text);
	if (pub_len((alg >= 0 && alg <= 255) ? (uint8_t)alg : 0) == 0)
		return fail(err, errlen, "algorithm %lld is not supported (13 ECDSAP256SHA256, "
		    "15 ED25519)", (long long)alg);
	k->algorithm = (uint8_t)alg;
	if (parse_role(role, &k->role) != 0)
		return fail(err, errlen, "role \"%s\" is not csk, ksk or zsk", role);
	k->flags = DNSKEY_FLAG_ZONE | (k->role == KEY_ZSK ? 0 : DNSKEY_FLAG_SEP);
	if (sodium_base642bin(k->pub, sizeof(k->pub), pub, strlen(pub), NULL, &plen, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || plen != pub_len(k->algorithm))
		return fail(err, errlen, "public: not base64 of %zu octets",
		    pub_len(k->algorithm));
	k->publen = plen;
	k->tag = key_tag(k);
	if (tag != k->tag)
		return fail(err, errlen, "tag %lld is not the public key's (%u)", (long long)tag,
		    k->tag);
	if (parse_time(pt, &k->publish) != 0 || parse_time(at, &k->active) != 0 ||
	    parse_time(rt, &k->retire) != 0 || parse_time(mt, &k->remove) != 0)
		return fail(err, errlen, "a time is not null or \"YYYY-MM-DDTHH:MM:SSZ\"");
	if ((why = timeline_error(k)) != NULL)
		return fail(err, errlen, "%s", why);
	if (strlen(priv) > sodium_base64_ENCODED_LEN(SEALED_MAX, sodium_base64_VARIANT_ORIGINAL))
		return fail(err, errlen, "private: too long");
	if ((k->sealed = strdup(priv)) == NULL)
		return fail(err, errlen, "out of memory");
	return 0;
}

static int
parse_keys(struct keyset *ks, const json_t *keys, char *err, size_t errlen)
{
	char why[256];
	size_t i;
	json_t *o;

	if (!json_is_array(keys))
		return fail(err, errlen, "keys: not an array");
	if (json_array_size(keys) > KEYSET_KEYS_MAX)
		return fail(err, errlen, "keys: more than %d", KEYSET_KEYS_MAX);
	json_array_foreach(keys, i, o) {
		struct keyset_key *k = &ks->keys[i];

		if (!json_is_object(o))
			return fail(err, errlen, "key %zu: not an object", i + 1);
		if (parse_key(o, k, why, sizeof(why)) != 0)
			return fail(err, errlen, "key %zu: %s", i + 1, why);
		ks->nkeys++;
		if (tag_taken(ks, k))
			return fail(err, errlen, "key %zu: tag %u of algorithm %u twice", i + 1,
			    k->tag, k->algorithm);
	}
	return 0;
}

struct keyset *
keyset_parse(const uint8_t *zone, const char *value, size_t valuelen, char *err,
    size_t errlen)
{
	char want[DNAME_STRLEN];
	struct keyset *ks;
	json_error_t je;
	json_t *root, *z;

	if (value == NULL || valuelen == 0) {
		fail(err, errlen, "empty value");
		return NULL;
	}
	if ((root = json_loadb(value, valuelen, JSON_REJECT_DUPLICATES, &je)) == NULL) {
		fail(err, errlen, "invalid JSON at line %d column %d: %s", je.line, je.column,
		    je.text);
		return NULL;
	}
	dname_to_str(zone, want, sizeof(want));
	if ((ks = keyset_new(zone)) == NULL) {
		fail(err, errlen, "out of memory");
	} else if (!json_is_object(root)) {
		fail(err, errlen, "not a JSON object");
	} else if (!json_is_string(z = json_object_get(root, "zone")) ||
	    strcmp(json_string_value(z), want) != 0) {
		fail(err, errlen, "zone: not \"%s\", the zone of the event key", want);
	} else if (parse_keys(ks, json_object_get(root, "keys"), err, errlen) == 0) {
		json_decref(root);
		ks->unsealed = ks->nkeys == 0;
		return ks;
	}
	json_decref(root);
	keyset_free(ks);
	return NULL;
}

/* ---- the fleet secret ---- */

int
keyset_secret_load(const char *path, uint8_t secret[KEYSET_SECRET_LEN], char *err,
    size_t errlen)
{
	char buf[SECRET_FILE_MAX];
	struct stat sb;
	ssize_t n;
	size_t got;
	int fd, ret = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return fail(err, errlen, "%s: %s", path, strerror(errno));
	if (fstat(fd, &sb) != 0) {
		fail(err, errlen, "%s: %s", path, strerror(errno));
	} else if (!S_ISREG(sb.st_mode)) {
		fail(err, errlen, "%s: not a regular file", path);
	} else if ((sb.st_mode & 077) != 0) {
		/* As ssh does with private keys: a secret others can read is no secret. */
		fail(err, errlen, "%s: readable or writable by group or others (mode %04o): "
		    "chmod 600 it", path, (unsigned)(sb.st_mode & 07777));
	} else if ((n = read(fd, buf, sizeof(buf) - 1)) < 0) {
		fail(err, errlen, "%s: %s", path, strerror(errno));
	} else if (sodium_base642bin(secret, KEYSET_SECRET_LEN, buf, (size_t)n, " \t\r\n",
	    &got, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 || got != KEYSET_SECRET_LEN) {
		fail(err, errlen, "%s: not a fleet secret (base64 of %d octets; make one with "
		    "streamdns-ctl dnssec secret)", path, KEYSET_SECRET_LEN);
	} else {
		ret = 0;
	}
	sodium_memzero(buf, sizeof(buf));
	close(fd);
	if (ret != 0)
		sodium_memzero(secret, KEYSET_SECRET_LEN);
	return ret;
}

int
keyset_secrets_load(const char *list, struct keyset_secrets *sec, char *err, size_t errlen)
{
	char copy[4096], *items[KEYSET_SECRETS_MAX + 1];
	size_t n;

	sec->n = 0;
	if (strlen(list) >= sizeof(copy))
		return fail(err, errlen, "secret-file: list too long");
	strcpy(copy, list);
	n = conf_split_list(copy, items, KEYSET_SECRETS_MAX + 1);
	if (n == 0 || n > KEYSET_SECRETS_MAX)
		return fail(err, errlen, "secret-file: give one to %d files", KEYSET_SECRETS_MAX);
	for (size_t i = 0; i < n; i++) {
		if (keyset_secret_load(items[i], sec->s[i], err, errlen) != 0) {
			sodium_memzero(sec, sizeof(*sec));
			return -1;
		}
		sec->n++;
	}
	return 0;
}

int
keyset_secret_new(const char *path, char *err, size_t errlen)
{
	uint8_t secret[KEYSET_SECRET_LEN];
	char b64[sodium_base64_ENCODED_LEN(KEYSET_SECRET_LEN, sodium_base64_VARIANT_ORIGINAL)];
	size_t len;
	int fd, ret = 0;

	if (!crypto_ready())
		return fail(err, errlen, "cannot initialise libsodium");
	/* O_EXCL: overwriting a fleet secret would lose every key sealed with it. */
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
		return fail(err, errlen, "%s: %s%s", path, strerror(errno), errno == EEXIST ?
		    " (not overwritten: keys sealed with it would be lost)" : "");
	randombytes_buf(secret, sizeof(secret));
	sodium_bin2base64(b64, sizeof(b64), secret, sizeof(secret),
	    sodium_base64_VARIANT_ORIGINAL);
	len = strlen(b64);
	b64[len] = '\n';
	if (fchmod(fd, 0600) != 0 || write(fd, b64, len + 1) != (ssize_t)(len + 1) ||
	    fsync(fd) != 0) {
		ret = fail(err, errlen, "%s: %s", path, strerror(errno));
		unlink(path);
	}
	close(fd);
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(b64, sizeof(b64));
	return ret;
}
