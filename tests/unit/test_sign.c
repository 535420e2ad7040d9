/* test_sign.c: unit tests of event signatures and key files (common/sign.c). */
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

#include "common/sign.h"

static char dir[] = "/tmp/test_sign.XXXXXX";
static char path[4096];

static const char *
in_dir(const char *name)
{
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

static void
put_file(const char *name, const char *text)
{
	FILE *f = fopen(in_dir(name), "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static int
group_setup(void **state)
{
	if (sodium_init() < 0 || mkdtemp(dir) == NULL)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	char cmd[4200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
test_round_trip(void **state)
{
	uint8_t pk[SIGN_PK_LEN], sk[SIGN_SK_LEN], sig[SIGN_SIG_LEN];
	static const char key[] = "example.com/A", value[] = "\x01\x02\x03value";

	crypto_sign_keypair(pk, sk);
	assert_int_equal(sign_event(sk, "zones", key, sizeof(key) - 1, value,
	    sizeof(value) - 1, sig), 0);
	assert_true(sign_verify(pk, "zones", key, sizeof(key) - 1, value, sizeof(value) - 1,
	    sig));
	/* Deterministic (Ed25519): the same event signs to the same octets. */
	{
		uint8_t again[SIGN_SIG_LEN];

		assert_int_equal(sign_event(sk, "zones", key, sizeof(key) - 1, value,
		    sizeof(value) - 1, again), 0);
		assert_memory_equal(sig, again, SIGN_SIG_LEN);
	}
	/* An empty key and a tombstone sign and verify too. */
	assert_int_equal(sign_event(sk, "zones", "", 0, NULL, 0, sig), 0);
	assert_true(sign_verify(pk, "zones", "", 0, NULL, 0, sig));
}

static void
test_flipped_bits_fail(void **state)
{
	uint8_t pk[SIGN_PK_LEN], sk[SIGN_SK_LEN], sig[SIGN_SIG_LEN];
	uint8_t key[] = "example.com/AAAA", value[] = "some rdata here";

	crypto_sign_keypair(pk, sk);
	assert_int_equal(sign_event(sk, "t", key, sizeof(key), value, sizeof(value), sig), 0);
	/* Every single bit of the signature matters. */
	for (size_t i = 0; i < SIGN_SIG_LEN * 8; i++) {
		sig[i / 8] ^= (uint8_t)(1u << (i % 8));
		assert_false(sign_verify(pk, "t", key, sizeof(key), value, sizeof(value), sig));
		sig[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	/* And of the key and the value. */
	for (size_t i = 0; i < sizeof(key) * 8; i++) {
		key[i / 8] ^= (uint8_t)(1u << (i % 8));
		assert_false(sign_verify(pk, "t", key, sizeof(key), value, sizeof(value), sig));
		key[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	for (size_t i = 0; i < sizeof(value) * 8; i++) {
		value[i / 8] ^= (uint8_t)(1u << (i % 8));
		assert_false(sign_verify(pk, "t", key, sizeof(key), value, sizeof(value), sig));
		value[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	assert_true(sign_verify(pk, "t", key, sizeof(key), value, sizeof(value), sig));
}

static void
test_domain_separation(void **state)
{
	uint8_t pk[SIGN_PK_LEN], sk[SIGN_SK_LEN], sig[SIGN_SIG_LEN];

	crypto_sign_keypair(pk, sk);
	/* A signature does not move to another topic. */
	assert_int_equal(sign_event(sk, "zones", "k", 1, "v", 1, sig), 0);
	assert_false(sign_verify(pk, "zones2", "k", 1, "v", 1, sig));
	/* Nor does the boundary between key and value move ("ab"+"c" vs "a"+"bc"). */
	assert_int_equal(sign_event(sk, "zones", "ab", 2, "c", 1, sig), 0);
	assert_false(sign_verify(pk, "zones", "a", 1, "bc", 2, sig));
	/* Nor between topic and key. */
	assert_int_equal(sign_event(sk, "zo", "nesk", 4, "v", 1, sig), 0);
	assert_false(sign_verify(pk, "zones", "k", 1, "v", 1, sig));
	/* A tombstone is not an empty value, either way. */
	assert_int_equal(sign_event(sk, "zones", "k", 1, NULL, 0, sig), 0);
	assert_false(sign_verify(pk, "zones", "k", 1, "", 0, sig));
	assert_true(sign_verify(pk, "zones", "k", 1, NULL, 0, sig));
	assert_int_equal(sign_event(sk, "zones", "k", 1, "", 0, sig), 0);
	assert_false(sign_verify(pk, "zones", "k", 1, NULL, 0, sig));
	assert_true(sign_verify(pk, "zones", "k", 1, "", 0, sig));
	/* A tombstone's valuelen is ignored: NULL with 5 is still a tombstone. */
	assert_int_equal(sign_event(sk, "zones", "k", 1, NULL, 5, sig), 0);
	assert_true(sign_verify(pk, "zones", "k", 1, NULL, 0, sig));
}

static void
test_wrong_key_fails(void **state)
{
	uint8_t pk1[SIGN_PK_LEN], sk1[SIGN_SK_LEN], pk2[SIGN_PK_LEN], sk2[SIGN_SK_LEN];
	uint8_t sig[SIGN_SIG_LEN];

	crypto_sign_keypair(pk1, sk1);
	crypto_sign_keypair(pk2, sk2);
	assert_int_equal(sign_event(sk1, "zones", "k", 1, "v", 1, sig), 0);
	assert_true(sign_verify(pk1, "zones", "k", 1, "v", 1, sig));
	assert_false(sign_verify(pk2, "zones", "k", 1, "v", 1, sig));
}

/* keygen's two files load back as a working pair; the secret file is private. */
static void
test_keygen_and_load(void **state)
{
	uint8_t sk[SIGN_SK_LEN], sig[SIGN_SIG_LEN];
	struct trusted_keys *tk = malloc(sizeof(*tk));
	char err[512], b64[sodium_base64_ENCODED_LEN(SIGN_PK_LEN,
	    sodium_base64_VARIANT_ORIGINAL)];
	char secret[4096], pub[4200], line[256];
	struct stat st;
	FILE *f;

	assert_non_null(tk);
	snprintf(secret, sizeof(secret), "%s", in_dir("signer.key"));
	snprintf(pub, sizeof(pub), "%s.pub", secret);
	assert_int_equal(sign_keygen(secret, "producer-1", err, sizeof(err)), 0);
	assert_int_equal(stat(secret, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(sign_load_secret(secret, sk, err, sizeof(err)), 0);
	assert_int_equal(sign_load_trusted(pub, tk, err, sizeof(err)), 0);
	assert_int_equal(tk->n, 1);
	assert_string_equal(tk->name[0], "producer-1");
	assert_int_equal(sign_event(sk, "zones", "k", 1, "v", 1, sig), 0);
	assert_true(sign_verify(tk->pk[0], "zones", "k", 1, "v", 1, sig));
	/* The public file is "<base64> <name>" and its base64 is found as trusted. */
	assert_non_null(f = fopen(pub, "r"));
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	sodium_bin2base64(b64, sizeof(b64), tk->pk[0], SIGN_PK_LEN,
	    sodium_base64_VARIANT_ORIGINAL);
	assert_int_equal(strncmp(line, b64, strlen(b64)), 0);
	assert_string_equal(line + strlen(b64), " producer-1\n");
	assert_int_equal(sign_find_trusted(tk, b64, strlen(b64)), 0);
	/* A key that is not in the file, and base64 that is not a key. */
	{
		uint8_t other_pk[SIGN_PK_LEN], other_sk[SIGN_SK_LEN];

		crypto_sign_keypair(other_pk, other_sk);
		sodium_bin2base64(b64, sizeof(b64), other_pk, SIGN_PK_LEN,
		    sodium_base64_VARIANT_ORIGINAL);
		assert_int_equal(sign_find_trusted(tk, b64, strlen(b64)), -1);
		assert_int_equal(sign_find_trusted(tk, "AAAA", 4), -1);
		assert_int_equal(sign_find_trusted(tk, "!!not base64!!", 14), -1);
	}
	free(tk);
}

static void
test_secret_key_errors(void **state)
{
	uint8_t sk[SIGN_SK_LEN];
	char err[512], b64[200];
	uint8_t short_key[SIGN_SK_LEN - 1] = { 0 };

	err[0] = '\0';
	assert_int_equal(sign_load_secret(in_dir("missing.key"), sk, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "missing.key"));
	assert_non_null(strstr(err, "No such file"));

	put_file("garbage.key", "this is not base64 at all\n");
	err[0] = '\0';
	assert_int_equal(sign_load_secret(in_dir("garbage.key"), sk, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not an Ed25519 secret key"));

	/* Valid base64 of one octet too few. */
	sodium_bin2base64(b64, sizeof(b64), short_key, sizeof(short_key),
	    sodium_base64_VARIANT_ORIGINAL);
	put_file("short.key", b64);
	err[0] = '\0';
	assert_int_equal(sign_load_secret(in_dir("short.key"), sk, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not an Ed25519 secret key"));

	put_file("empty.key", "");
	assert_int_equal(sign_load_secret(in_dir("empty.key"), sk, err, sizeof(err)), -1);
}

static void
test_trusted_file(void **state)
{
	struct trusted_keys *tk = malloc(sizeof(*tk));
	uint8_t pk[2][SIGN_PK_LEN], sk[SIGN_SK_LEN];
	char b64[2][sodium_base64_ENCODED_LEN(SIGN_PK_LEN, sodium_base64_VARIANT_ORIGINAL)];
	char text[1024], err[512];

	assert_non_null(tk);
	for (int i = 0; i < 2; i++) {
		crypto_sign_keypair(pk[i], sk);
		sodium_bin2base64(b64[i], sizeof(b64[i]), pk[i], SIGN_PK_LEN,
		    sodium_base64_VARIANT_ORIGINAL);
	}
	/* Comments, blank lines, names, a key without a name. */
	snprintf(text, sizeof(text), "# trusted producers\n\n  %s   alice # the first\n%s\n",
	    b64[0], b64[1]);
	put_file("trusted", text);
	assert_int_equal(sign_load_trusted(in_dir("trusted"), tk, err, sizeof(err)), 0);
	assert_int_equal(tk->n, 2);
	assert_memory_equal(tk->pk[0], pk[0], SIGN_PK_LEN);
	assert_memory_equal(tk->pk[1], pk[1], SIGN_PK_LEN);
	assert_int_equal(strncmp(tk->name[0], "alice", 5), 0);
	assert_string_equal(tk->name[1], "");
	assert_int_equal(sign_find_trusted(tk, b64[1], strlen(b64[1])), 1);

	/* A bad line is named by its number; nothing of the file is accepted. */
	snprintf(text, sizeof(text), "%s a\nnot-a-key b\n", b64[0]);
	put_file("bad", text);
	err[0] = '\0';
	assert_int_equal(sign_load_trusted(in_dir("bad"), tk, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "bad:2:"));

	/* A secret key (64 octets) is not a public key. */
	{
		char skb64[sodium_base64_ENCODED_LEN(SIGN_SK_LEN,
		    sodium_base64_VARIANT_ORIGINAL)];

		sodium_bin2base64(skb64, sizeof(skb64), sk, SIGN_SK_LEN,
		    sodium_base64_VARIANT_ORIGINAL);
		snprintf(text, sizeof(text), "%s\n", skb64);
		put_file("secret-as-public", text);
		assert_int_equal(sign_load_trusted(in_dir("secret-as-public"), tk, err,
		    sizeof(err)), -1);
	}

	/* Only comments: no keys is an error, not an empty trust list. */
	put_file("none", "# nobody\n\n");
	err[0] = '\0';
	assert_int_equal(sign_load_trusted(in_dir("none"), tk, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no keys"));

	err[0] = '\0';
	assert_int_equal(sign_load_trusted(in_dir("absent"), tk, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "absent"));
	free(tk);
}

static void
test_too_many_trusted(void **state)
{
	struct trusted_keys *tk = malloc(sizeof(*tk));
	char b64[sodium_base64_ENCODED_LEN(SIGN_PK_LEN, sodium_base64_VARIANT_ORIGINAL)];
	uint8_t pk[SIGN_PK_LEN], sk[SIGN_SK_LEN];
	char err[512];
	FILE *f;

	assert_non_null(tk);
	crypto_sign_keypair(pk, sk);
	sodium_bin2base64(b64, sizeof(b64), pk, SIGN_PK_LEN, sodium_base64_VARIANT_ORIGINAL);
	assert_non_null(f = fopen(in_dir("many"), "w"));
	for (int i = 0; i < SIGN_MAX_KEYS; i++)
		fprintf(f, "%s k%d\n", b64, i);
	fclose(f);
	assert_int_equal(sign_load_trusted(path, tk, err, sizeof(err)), 0);
	assert_int_equal(tk->n, SIGN_MAX_KEYS);
	assert_non_null(f = fopen(in_dir("many"), "a"));
	fprintf(f, "%s one-too-many\n", b64);
	fclose(f);
	err[0] = '\0';
	assert_int_equal(sign_load_trusted(path, tk, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "too many keys"));
	free(tk);
}

static void
test_decode_sig(void **state)
{
	uint8_t sig[SIGN_SIG_LEN], raw[SIGN_SIG_LEN], big[SIGN_SIG_LEN + 1] = { 0 };
	char b64[200];

	for (size_t i = 0; i < sizeof(raw); i++)
		raw[i] = (uint8_t)(i * 7 + 1);
	sodium_bin2base64(b64, sizeof(b64), raw, sizeof(raw), sodium_base64_VARIANT_ORIGINAL);
	assert_int_equal(sign_decode_sig(b64, strlen(b64), sig), 0);
	assert_memory_equal(sig, raw, SIGN_SIG_LEN);
	/* Cut short, one octet too long, not base64. */
	assert_int_equal(sign_decode_sig(b64, strlen(b64) - 4, sig), -1);
	sodium_bin2base64(b64, sizeof(b64), big, sizeof(big), sodium_base64_VARIANT_ORIGINAL);
	assert_int_equal(sign_decode_sig(b64, strlen(b64), sig), -1);
	assert_int_equal(sign_decode_sig("@@@@", 4, sig), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_flipped_bits_fail),
		cmocka_unit_test(test_domain_separation),
		cmocka_unit_test(test_wrong_key_fails),
		cmocka_unit_test(test_keygen_and_load),
		cmocka_unit_test(test_secret_key_errors),
		cmocka_unit_test(test_trusted_file),
		cmocka_unit_test(test_too_many_trusted),
		cmocka_unit_test(test_decode_sig),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
