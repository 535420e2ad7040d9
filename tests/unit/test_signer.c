/* test_signer.c: unit tests of authd's online signer (authd/signer.c): RRSIG fields, canonical form, caches. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>
#include <urcu.h>

#include "authd/signer.h"
#include "common/dname.h"
#include "common/keyset.h"
#include "common/rrset.h"
#include "common/wire.h"

#define NOW	1796475600	/* 2026-12-05T13:00:00Z, a quantum's start */

static const uint8_t apex[] = "\x07" "example" "\x03" "com";	/* and its root label */
static struct keyset_secrets secrets = { 1, { { 0 } } };

/* A zone_keys with one Ed25519 CSK (and its public key), active since before NOW. */
static struct zone_keys *
make_keys(uint8_t pub[32])
{
	struct keyset *ks = keyset_new(apex);
	struct keyset_key *k = keyset_generate(ks, DNSSEC_ALG_ED25519, KEY_CSK, secrets.s[0]);
	struct zone_keys *zk;
	char *json, err[256];

	assert_non_null(k);
	k->publish = k->active = NOW - 86400;
	memcpy(pub, k->pub, 32);
	assert_non_null(json = keyset_encode(ks));
	zk = zone_keys_new(apex, json, strlen(json), &secrets, err, sizeof(err));
	assert_non_null(zk);
	assert_true(zk->usable);
	free(json);
	keyset_free(ks);
	return zk;
}

static struct rrset *
ns_rrset(void)
{
	/* Stored order (raw octets): "B.example.com." before "a.example.com.". */
	static const char *const targets[] = { "B.example.com.", "a.example.com." };
	struct rrset_builder b;
	struct rrset *rs;

	rrset_builder_init(&b, DNS_TYPE_NS);
	for (int i = 0; i < 2; i++) {
		uint8_t name[DNAME_MAXLEN];
		int len = dname_from_str(targets[i], NULL, name);

		assert_true(len > 0);
		assert_int_equal(rrset_builder_add(&b, 3600, name, (uint16_t)len), 0);
	}
	rs = rrset_builder_finish(&b);
	rrset_builder_clear(&b);
	return rs;
}

static void
put_rr(uint8_t **p, const uint8_t *owner, uint16_t type, uint32_t ttl, const char *target)
{
	uint8_t name[DNAME_MAXLEN];
	int len = dname_from_str(target, NULL, name);
	size_t olen = dname_len(owner);

	memcpy(*p, owner, olen);
	(*p)[olen] = (uint8_t)(type >> 8);
	(*p)[olen + 1] = (uint8_t)type;
	(*p)[olen + 2] = 0;
	(*p)[olen + 3] = DNS_CLASS_IN;
	(*p)[olen + 4] = (uint8_t)(ttl >> 24);
	(*p)[olen + 5] = (uint8_t)(ttl >> 16);
	(*p)[olen + 6] = (uint8_t)(ttl >> 8);
	(*p)[olen + 7] = (uint8_t)ttl;
	(*p)[olen + 8] = 0;
	(*p)[olen + 9] = (uint8_t)len;
	memcpy(*p + olen + 10, name, (size_t)len);
	*p += olen + 10 + (size_t)len;
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * The RRSIG's fields (RFC 4034 3.1) and its signature over the canonical form, rebuilt
 * here independently: names in the NS RDATA lower-cased, records sorted after that.
 */
static void
test_rrsig_canonical_form(void **state)
{
	uint8_t pub[32], data[1024], *p = data;
	struct zone_keys *zk = make_keys(pub);
	struct rrset *rs = ns_rrset();
	struct sign_ctx sc;
	struct rrsigs sigs;
	const uint8_t *rd;
	size_t pre;

	rcu_read_lock();
	assert_int_equal(sign_begin(&sc, zk, apex, NOW + 1800), 0);
	assert_int_equal(sign_once(&sc, apex, rs, &sigs), 0);
	rcu_read_unlock();
	assert_int_equal(sigs.n, 1);
	rd = sigs.rdata[0];
	assert_int_equal(rd[0] << 8 | rd[1], DNS_TYPE_NS);
	assert_int_equal(rd[2], DNSSEC_ALG_ED25519);
	assert_int_equal(rd[3], 2);				/* labels of example.com. */
	assert_int_equal(get32(rd + 4), 3600);			/* original TTL */
	assert_int_equal(get32(rd + 12), NOW - SIGN_BACKDATE);	/* inception, quantised */
	assert_int_equal(get32(rd + 8), NOW - SIGN_BACKDATE + SIGN_VALIDITY);
	assert_int_equal(rd[16] << 8 | rd[17], zk->ks->keys[0].tag);
	assert_memory_equal(rd + 18, apex, sizeof(apex));
	pre = 18 + sizeof(apex);
	assert_int_equal(sigs.len[0], pre + 64);
	memcpy(p, rd, pre);
	p += pre;
	put_rr(&p, apex, DNS_TYPE_NS, 3600, "a.example.com.");
	put_rr(&p, apex, DNS_TYPE_NS, 3600, "b.example.com.");
	assert_int_equal(crypto_sign_verify_detached(rd + pre, data, (size_t)(p - data), pub), 0);
	free(rs);
	zone_keys_free(zk);
}

/* A wildcard's own RRSIG does not count the '*' label (RFC 4034 3.1.3). */
static void
test_wildcard_labels(void **state)
{
	uint8_t pub[32], wild[DNAME_MAXLEN];
	struct zone_keys *zk = make_keys(pub);
	struct rrset *rs = ns_rrset();
	struct sign_ctx sc;
	struct rrsigs sigs;

	assert_true(dname_from_str("*.w.example.com.", NULL, wild) > 0);
	rcu_read_lock();
	assert_int_equal(sign_begin(&sc, zk, apex, NOW), 0);
	assert_int_equal(sign_once(&sc, wild, rs, &sigs), 0);
	rcu_read_unlock();
	assert_int_equal(sigs.rdata[0][3], 3);
	free(rs);
	zone_keys_free(zk);
}

/* Cached per key set, signing keys and quantum: anything else signs anew. */
static void
test_cache_versions(void **state)
{
	uint8_t pub[32];
	struct zone_keys *zk = make_keys(pub), *zk2 = make_keys(pub);
	struct rrset *rs = ns_rrset();
	_Atomic(struct sig_cache *) slot = NULL;
	struct sign_ctx sc;
	struct rrsigs sigs;
	uint64_t made = atomic_load(&sign_stats.signatures);
	uint64_t hits = atomic_load(&sign_stats.cache_hits);
	uint8_t first[SIGN_RDATA_MAX];
	size_t flen;

	rcu_read_lock();
	assert_int_equal(sign_begin(&sc, zk, apex, NOW), 0);
	assert_int_equal(sign_rrset_in(&sc, apex, rs, &slot, &sigs), 0);
	memcpy(first, sigs.rdata[0], flen = sigs.len[0]);
	assert_int_equal(atomic_load(&sign_stats.signatures), made + 1);
	/* Same quantum, same keys: from the cache, the same bytes. */
	assert_int_equal(sign_begin(&sc, zk, apex, NOW + 3599), 0);
	assert_int_equal(sign_rrset_in(&sc, apex, rs, &slot, &sigs), 0);
	assert_int_equal(atomic_load(&sign_stats.signatures), made + 1);
	assert_int_equal(atomic_load(&sign_stats.cache_hits), hits + 1);
	assert_memory_equal(sigs.rdata[0], first, flen);
	/* The next quantum: signed again. */
	assert_int_equal(sign_begin(&sc, zk, apex, NOW + 3600), 0);
	assert_int_equal(sign_rrset_in(&sc, apex, rs, &slot, &sigs), 0);
	assert_int_equal(atomic_load(&sign_stats.signatures), made + 2);
	/* Another key set (another serial): signed again, never the old signature. */
	assert_int_equal(sign_begin(&sc, zk2, apex, NOW + 3600), 0);
	assert_int_equal(sign_rrset_in(&sc, apex, rs, &slot, &sigs), 0);
	assert_int_equal(atomic_load(&sign_stats.signatures), made + 3);
	rcu_read_unlock();
	rcu_barrier();		/* the replaced caches */
	sign_cache_free(atomic_load(&slot));
	free(rs);
	zone_keys_free(zk);
	zone_keys_free(zk2);
}

/* Keys that do not open: the zone is signed (SERVFAIL upstream), but nothing signs. */
static void
test_unusable_keys(void **state)
{
	uint8_t pub[32];
	struct zone_keys *zk = make_keys(pub), *bad;
	struct keyset_secrets other = { 1, { { 1 } } };
	struct sign_ctx sc;

	bad = zone_keys_new(apex, zk->value, zk->valuelen, &other, NULL, 0);
	assert_non_null(bad);
	assert_false(bad->usable);
	assert_non_null(strstr(bad->why, "cannot be unsealed"));
	assert_true(zone_keys_signed(bad, NOW));
	assert_int_equal(sign_begin(&sc, bad, apex, NOW), -1);
	bad = (zone_keys_free(bad), zone_keys_new(apex, zk->value, zk->valuelen, NULL, NULL, 0));
	assert_false(bad->usable);
	assert_non_null(strstr(bad->why, "secret-file"));
	zone_keys_free(bad);
	zone_keys_free(zk);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rrsig_canonical_form),
		cmocka_unit_test(test_wildcard_labels),
		cmocka_unit_test(test_cache_versions),
		cmocka_unit_test(test_unusable_keys),
	};
	int rc;

	if (sodium_init() < 0)
		return 1;
	randombytes_buf(secrets.s[0], KEYSET_SECRET_LEN);
	rcu_register_thread();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	rcu_unregister_thread();
	return rc;
}
