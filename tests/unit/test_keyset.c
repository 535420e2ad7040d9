/* test_keyset.c: unit tests of DNSSEC key sets (common/keyset.c): codec, sealing, tags, DS, signing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <libdnssec/binary.h>
#include <libdnssec/error.h>
#include <libdnssec/key.h>
#include <libdnssec/sign.h>
#include <sodium.h>

#include "common/event.h"
#include "common/keyset.h"

/*
 * Known answer: the Ed25519 key whose seed is the octets 0..31. Its DNSKEY and DS were
 * computed outside this code: the public key with Python's cryptography package
 * (Ed25519PrivateKey.from_private_bytes(bytes(range(32)))), then
 *   echo 'example.com. 3600 IN DNSKEY 257 3 15 A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=' \
 *       > k && ldns-key2ds -n -2 k
 * which printed: example.com. 3600 IN DS 34259 15 2 7841623a...adbbeb8 (below in full).
 */
#define KAT_PUB		"A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg="
#define KAT_TAG		34259
#define KAT_DS		"7841623a2cf575a789b1c1f0e0d6564146757e8b66555a9b5e38e9087adbbeb8"

static const uint8_t zone[] = "\x07" "example" "\x03" "com";	/* and its root label */
static const uint8_t other[] = "\x07" "example" "\x03" "net";
static uint8_t secret[KEYSET_SECRET_LEN], secret2[KEYSET_SECRET_LEN];
static char dir[] = "/tmp/test_keyset.XXXXXX";
static char path[4096];

static int
group_setup(void **state)
{
	if (sodium_init() < 0 || mkdtemp(dir) == NULL)
		return -1;
	randombytes_buf(secret, sizeof(secret));
	randombytes_buf(secret2, sizeof(secret2));
	return 0;
}

static int
group_teardown(void **state)
{
	char cmd[4200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *
in_dir(const char *name)
{
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

static struct keyset *
parse(const uint8_t *z, const char *json, char *err, size_t errlen)
{
	return keyset_parse(z, json, strlen(json), err, errlen);
}

/* The KAT key's event, its private key sealed here by hand, as README.md says. */
static char *
kat_event(const uint8_t *z, const char *zname, uint16_t tag, const uint8_t *key)
{
	uint8_t seed[32], box[24 + 32 + 16], ad[64];
	char b64[sodium_base64_ENCODED_LEN(sizeof(box), sodium_base64_VARIANT_ORIGINAL)];
	unsigned long long clen;
	size_t zlen = strlen((const char *)z) + 1;
	char *json = malloc(1024);

	for (int i = 0; i < 32; i++)
		seed[i] = (uint8_t)i;
	memcpy(ad, z, zlen);
	ad[zlen] = (uint8_t)(tag >> 8);
	ad[zlen + 1] = (uint8_t)tag;
	ad[zlen + 2] = DNSSEC_ALG_ED25519;
	randombytes_buf(box, 24);
	crypto_aead_xchacha20poly1305_ietf_encrypt(box + 24, &clen, seed, 32, ad, zlen + 3,
	    NULL, box, key);
	sodium_bin2base64(b64, sizeof(b64), box, sizeof(box), sodium_base64_VARIANT_ORIGINAL);
	snprintf(json, 1024, "{\"zone\":\"%s\",\"keys\":[{\"algorithm\":15,\"role\":\"csk\","
	    "\"tag\":%u,\"public\":\"%s\",\"private\":\"%s\",\"publish\":"
	    "\"2026-12-05T12:00:00Z\",\"active\":\"2026-12-05T12:00:00Z\",\"retire\":null,"
	    "\"remove\":null,\"comment\":\"unknown members are ignored\"}],\"x\":1}", zname,
	    KAT_TAG, KAT_PUB, b64);
	return json;
}

static void
test_kat_tag_and_ds(void **state)
{
	char *json = kat_event(zone, "example.com.", KAT_TAG, secret), err[256], hex[80];
	uint8_t ds[64];
	struct keyset *ks = parse(zone, json, err, sizeof(err));
	size_t n;

	assert_non_null(ks);
	assert_int_equal(ks->nkeys, 1);
	assert_int_equal(ks->keys[0].tag, KAT_TAG);
	assert_int_equal(ks->keys[0].flags, 257);
	n = keyset_ds_rdata(ks, &ks->keys[0], ds, sizeof(ds));
	assert_int_equal(n, 36);
	assert_int_equal(ds[0] << 8 | ds[1], KAT_TAG);
	assert_int_equal(ds[2], 15);
	assert_int_equal(ds[3], 2);
	sodium_bin2hex(hex, sizeof(hex), ds + 4, 32);
	assert_string_equal(hex, KAT_DS);
	keyset_free(ks);
	free(json);
}

/* A key sealed by hand opens; its signature is deterministic and verifies. */
static void
test_kat_unseal_and_sign(void **state)
{
	char *json = kat_event(zone, "example.com.", KAT_TAG, secret), err[256];
	uint8_t sig[KEYSET_SIG_MAX], sig2[KEYSET_SIG_MAX], pub[32];
	static const uint8_t data[] = "the RRSIG RDATA and the RRset";
	struct keyset *ks = parse(zone, json, err, sizeof(err));
	size_t b;

	assert_non_null(ks);
	assert_false(ks->unsealed);
	assert_int_equal(keyset_sign(&ks->keys[0], data, sizeof(data), sig), 0);
	assert_int_equal(keyset_unseal(ks, secret, err, sizeof(err)), 0);
	assert_true(ks->unsealed);
	assert_int_equal(keyset_sign(&ks->keys[0], data, sizeof(data), sig), 64);
	assert_int_equal(keyset_sign(&ks->keys[0], data, sizeof(data), sig2), 64);
	assert_memory_equal(sig, sig2, 64);
	assert_int_equal(sodium_base642bin(pub, sizeof(pub), KAT_PUB, strlen(KAT_PUB), NULL,
	    &b, NULL, sodium_base64_VARIANT_ORIGINAL), 0);
	assert_int_equal(crypto_sign_verify_detached(sig, data, sizeof(data), pub), 0);
	keyset_free(ks);
	free(json);
}

/* The associated data binds a sealed key to its zone and tag. */
static void
test_sealed_key_cannot_move(void **state)
{
	char *json, err[256];
	struct keyset *ks;

	/* Sealed for example.net., presented as example.com.'s. */
	json = kat_event(other, "example.com.", KAT_TAG, secret);
	assert_non_null(ks = parse(zone, json, err, sizeof(err)));
	assert_int_equal(keyset_unseal(ks, secret, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "does not open"));
	assert_false(ks->unsealed);
	assert_null(ks->keys[0].priv);
	keyset_free(ks);
	free(json);
	/* Sealed for another tag of the same zone. */
	json = kat_event(zone, "example.com.", KAT_TAG + 1, secret);
	assert_non_null(ks = parse(zone, json, err, sizeof(err)));
	assert_int_equal(keyset_unseal(ks, secret, err, sizeof(err)), -1);
	keyset_free(ks);
	free(json);
	/* The wrong fleet secret. */
	json = kat_event(zone, "example.com.", KAT_TAG, secret);
	assert_non_null(ks = parse(zone, json, err, sizeof(err)));
	assert_int_equal(keyset_unseal(ks, secret2, err, sizeof(err)), -1);
	assert_int_equal(keyset_unseal(ks, secret, err, sizeof(err)), 0);
	keyset_free(ks);
	free(json);
}

/* The rotation of the fleet secret: the same keys, sealed with the new one; any opens. */
static void
test_reseal(void **state)
{
	struct keyset *ks = keyset_new(zone), *back;
	struct keyset_secrets both = { 2, { { 0 } } };
	uint8_t pub[KEYSET_PUB_MAX];
	char *json, err[256];

	assert_non_null(keyset_generate(ks, DNSSEC_ALG_ED25519, KEY_KSK, secret));
	assert_non_null(keyset_generate(ks, DNSSEC_ALG_ECDSAP256SHA256, KEY_ZSK, secret));
	memcpy(pub, ks->keys[0].pub, ks->keys[0].publen);
	assert_int_equal(keyset_reseal(ks, secret2, secret, err, sizeof(err)), -1);
	assert_int_equal(keyset_reseal(ks, secret, secret2, err, sizeof(err)), 0);
	assert_non_null(json = keyset_encode(ks));
	assert_non_null(back = keyset_parse(zone, json, strlen(json), err, sizeof(err)));
	assert_int_equal(keyset_unseal(back, secret, err, sizeof(err)), -1);
	memcpy(both.s[0], secret, KEYSET_SECRET_LEN);
	memcpy(both.s[1], secret2, KEYSET_SECRET_LEN);
	assert_int_equal(keyset_unseal_any(back, &both, err, sizeof(err)), 1);
	assert_true(back->unsealed);
	assert_memory_equal(back->keys[0].pub, pub, back->keys[0].publen);
	both.n = 1;
	keyset_free(back);
	assert_non_null(back = keyset_parse(zone, json, strlen(json), err, sizeof(err)));
	assert_int_equal(keyset_unseal_any(back, &both, err, sizeof(err)), -1);
	keyset_free(back);
	keyset_free(ks);
	free(json);
}

static void
verify_p256(const struct keyset_key *k, const uint8_t *data, size_t len, const uint8_t *sig,
    size_t siglen)
{
	dnssec_binary_t pub = { .size = k->publen, .data = (uint8_t *)k->pub };
	dnssec_binary_t d = { .size = len, .data = (uint8_t *)data };
	dnssec_binary_t s = { .size = siglen, .data = (uint8_t *)sig };
	dnssec_sign_ctx_t *ctx;
	dnssec_key_t *key;

	assert_int_equal(dnssec_key_new(&key), DNSSEC_EOK);
	assert_int_equal(dnssec_key_set_algorithm(key, DNSSEC_ALG_ECDSAP256SHA256), DNSSEC_EOK);
	assert_int_equal(dnssec_key_set_pubkey(key, &pub), DNSSEC_EOK);
	assert_int_equal(dnssec_sign_new(&ctx, key), DNSSEC_EOK);
	assert_int_equal(dnssec_sign_init(ctx), DNSSEC_EOK);
	assert_int_equal(dnssec_sign_add(ctx, &d), DNSSEC_EOK);
	assert_int_equal(dnssec_sign_verify(ctx, false, &s), DNSSEC_EOK);
	d.size = len - 1;
	assert_int_equal(dnssec_sign_init(ctx), DNSSEC_EOK);
	assert_int_equal(dnssec_sign_add(ctx, &d), DNSSEC_EOK);
	assert_int_not_equal(dnssec_sign_verify(ctx, false, &s), DNSSEC_EOK);
	dnssec_sign_free(ctx);
	dnssec_key_free(key);
}

/* Generate, encode, parse back, unseal, sign: both algorithms, every field kept. */
static void
test_round_trip(void **state)
{
	struct keyset *ks = keyset_new(zone), *back;
	struct keyset_key *csk, *zsk;
	static const uint8_t data[] = "signed data";
	uint8_t sig[KEYSET_SIG_MAX];
	char *json, *json2, err[256];
	size_t n;

	assert_non_null(csk = keyset_generate(ks, DNSSEC_ALG_ECDSAP256SHA256, KEY_KSK, secret));
	assert_non_null(zsk = keyset_generate(ks, DNSSEC_ALG_ED25519, KEY_ZSK, secret));
	assert_int_equal(csk->flags, 257);
	assert_int_equal(zsk->flags, 256);
	assert_int_equal(csk->publen, 64);
	assert_true(ks->unsealed);
	csk->publish = 1800000000;
	csk->active = 1800000100;
	zsk->publish = 1800000000;
	zsk->active = 1800000000;
	zsk->retire = 1800000200;
	zsk->remove = 1800000300;
	assert_non_null(json = keyset_encode(ks));
	assert_non_null(strstr(json, "\"retire\":\"2027-01-15T08:03:20Z\""));
	assert_non_null(back = parse(zone, json, err, sizeof(err)));
	assert_int_equal(back->nkeys, 2);
	for (size_t i = 0; i < 2; i++) {
		const struct keyset_key *a = &ks->keys[i], *b = &back->keys[i];

		assert_int_equal(a->algorithm, b->algorithm);
		assert_int_equal(a->role, b->role);
		assert_int_equal(a->tag, b->tag);
		assert_int_equal(a->flags, b->flags);
		assert_memory_equal(a->pub, b->pub, a->publen);
		assert_string_equal(a->sealed, b->sealed);
		assert_true(a->publish == b->publish && a->active == b->active &&
		    a->retire == b->retire && a->remove == b->remove);
	}
	assert_non_null(json2 = keyset_encode(back));
	assert_string_equal(json, json2);
	assert_int_equal(keyset_unseal(back, secret, err, sizeof(err)), 0);
	n = keyset_sign(&back->keys[0], data, sizeof(data), sig);
	assert_int_equal(n, 64);
	verify_p256(&back->keys[0], data, sizeof(data), sig, n);
	assert_int_equal(keyset_sign(&back->keys[1], data, sizeof(data), sig), 64);
	assert_int_equal(crypto_sign_verify_detached(sig, data, sizeof(data),
	    back->keys[1].pub), 0);
	/* A private key swapped between two keys of the set opens for neither. */
	free(back->keys[1].sealed);
	back->keys[1].sealed = strdup(ks->keys[0].sealed);
	assert_int_equal(keyset_unseal(back, secret, err, sizeof(err)), -1);
	keyset_free(ks);
	keyset_free(back);
	free(json);
	free(json2);
}

static void
test_empty_set(void **state)
{
	char err[256];
	struct keyset *ks = parse(zone, "{\"zone\":\"example.com.\",\"keys\":[]}", err,
	    sizeof(err));

	assert_non_null(ks);
	assert_int_equal(ks->nkeys, 0);
	assert_true(ks->unsealed);
	keyset_free(ks);
}

/* Replaces the first "from" in s with "to" (a copy). */
static char *
subst(const char *s, const char *from, const char *to)
{
	const char *at = strstr(s, from);
	char *out = malloc(strlen(s) + strlen(to) + 1);

	assert_non_null(at);
	sprintf(out, "%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
	return out;
}

static void
expect_reject(const char *json, const char *why)
{
	char err[256] = "";
	struct keyset *ks = parse(zone, json, err, sizeof(err));

	if (ks != NULL || strstr(err, why) == NULL)
		fail_msg("want a rejection with \"%s\", got \"%s\" for %s", why, err, json);
}

static void
test_rejects(void **state)
{
	char *good = kat_event(zone, "example.com.", KAT_TAG, secret), *bad;
	struct {
		const char *from, *to, *why;
	} cases[] = {
		{ "\"algorithm\":15", "\"algorithm\":8", "not supported" },
		{ "\"algorithm\":15", "\"algorithm\":13", "public: not base64 of 64" },
		{ "\"tag\":34259", "\"tag\":34258", "not the public key's (34259)" },
		{ "\"role\":\"csk\"", "\"role\":\"key\"", "role" },
		{ "\"zone\":\"example.com.\"", "\"zone\":\"example.net.\"", "zone" },
		{ "\"active\":\"2026-12-05T12:00:00Z\"", "\"active\":\"2026-12-05T11:59:59Z\"",
		    "out of order" },
		{ "\"retire\":null", "\"retire\":\"2026-12-05T11:00:00Z\"", "out of order" },
		{ "\"publish\":\"2026-12-05T12:00:00Z\"", "\"publish\":null",
		    "never published" },
		{ "\"publish\":\"2026-12-05T12:00:00Z\"", "\"publish\":\"2026-12-05 12:00:00\"",
		    "YYYY" },
		{ "\"publish\":\"2026-12-05T12:00:00Z\"", "\"publish\":1800000000", "YYYY" },
		{ "\"public\"", "\"pubkey\"", "public" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bad = subst(good, cases[i].from, cases[i].to);
		expect_reject(bad, cases[i].why);
		free(bad);
	}
	for (size_t len = 0; len < strlen(good); len += 7) {
		char err[256];

		assert_null(keyset_parse(zone, good, len, err, sizeof(err)));
	}
	expect_reject("[]", "not a JSON object");
	expect_reject("{\"zone\":\"example.com.\"}", "keys");
	free(good);
}

static void
test_states(void **state)
{
	struct keyset_key k = { .publish = 100, .active = 200, .retire = 300, .remove = 400 };

	assert_false(keyset_published(&k, 99));
	assert_true(keyset_published(&k, 100));
	assert_true(keyset_published(&k, 399));
	assert_false(keyset_published(&k, 400));
	assert_false(keyset_signing(&k, 199));
	assert_true(keyset_signing(&k, 200));
	assert_false(keyset_signing(&k, 300));
	k.retire = k.remove = KEYSET_NEVER;
	assert_true(keyset_signing(&k, 1L << 40));
	assert_true(keyset_published(&k, 1L << 40));
	k.publish = k.active = KEYSET_NEVER;
	assert_false(keyset_published(&k, 500));
	assert_false(keyset_signing(&k, 500));
}

static void
test_prune(void **state)
{
	struct keyset *ks = keyset_new(zone);

	assert_non_null(keyset_generate(ks, DNSSEC_ALG_ED25519, KEY_CSK, secret));
	assert_non_null(keyset_generate(ks, DNSSEC_ALG_ED25519, KEY_CSK, secret));
	ks->keys[0].publish = 10;
	ks->keys[0].remove = 20;
	ks->keys[1].publish = 15;
	assert_int_equal(keyset_prune(ks, 19), 0);
	assert_int_equal(keyset_prune(ks, 20), 1);
	assert_int_equal(ks->nkeys, 1);
	assert_int_equal(ks->keys[0].publish, 15);
	keyset_free(ks);
}

/* The event decoder tells a key set from an RRset by its key, canonical like any other. */
static enum event_error
decode_key(const char *key, struct event *ev)
{
	struct event_decoder *d = event_decoder_new();
	enum event_error e = event_decode(d, key, strlen(key), NULL, 0, ev, NULL, 0);

	event_decoder_free(d);
	return e;
}

static void
test_event_zone(void **state)
{
	struct event ev;

	assert_int_equal(decode_key("example.com.|DNSSEC", &ev), EVENT_OK);
	assert_true(ev.keyset);
	assert_null(ev.rrset);
	assert_memory_equal(ev.owner, zone, sizeof(zone));
	assert_int_equal(decode_key("Example.com.|DNSSEC", &ev), EVENT_ERR_KEY);
	assert_int_equal(decode_key("example.com|DNSSEC", &ev), EVENT_ERR_KEY);
	assert_int_equal(decode_key("a|b.|DNSSEC", &ev), EVENT_ERR_KEY);
	assert_int_equal(decode_key("|DNSSEC", &ev), EVENT_ERR_KEY);
	assert_int_equal(decode_key("example.com.|A", &ev), EVENT_OK);
	assert_false(ev.keyset);
}

static void
test_secret_file(void **state)
{
	uint8_t s[KEYSET_SECRET_LEN];
	char err[512];
	struct stat sb;
	FILE *f;

	assert_int_equal(keyset_secret_new(in_dir("secret"), err, sizeof(err)), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(keyset_secret_load(path, s, err, sizeof(err)), 0);
	assert_int_equal(keyset_secret_new(path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not overwritten"));
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(keyset_secret_load(path, s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "chmod 600"));
	assert_int_equal(keyset_secret_load(in_dir("missing"), s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "No such file"));
	assert_non_null(f = fopen(in_dir("short"), "w"));
	fputs("  AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n\n", f);
	fclose(f);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(keyset_secret_load(path, s, err, sizeof(err)), 0);
	assert_int_equal(s[31], 31);
	assert_non_null(f = fopen(in_dir("short"), "w"));
	fputs("AAECAwQF\n", f);
	fclose(f);
	assert_int_equal(keyset_secret_load(path, s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "base64 of 32 octets"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kat_tag_and_ds),
		cmocka_unit_test(test_kat_unseal_and_sign),
		cmocka_unit_test(test_sealed_key_cannot_move),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_reseal),
		cmocka_unit_test(test_empty_set),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_states),
		cmocka_unit_test(test_prune),
		cmocka_unit_test(test_event_zone),
		cmocka_unit_test(test_secret_file),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
