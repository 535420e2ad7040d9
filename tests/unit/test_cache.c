/* test_cache.c: unit tests of dnsr's cache: keys, TTLs, ranks, negatives, LRU, references. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dnsr/cache.h"
#include "common/dname.h"
#include "common/wire.h"

static const struct cache_limits no_clamp = { 0, UINT32_MAX, UINT32_MAX };

/* Presentation name -> wire (static buffer, one at a time). */
static const uint8_t *
N(const char *s)
{
	static uint8_t buf[4][DNAME_MAXLEN];
	static int i;
	uint8_t *b = buf[i++ % 4];

	assert_true(dname_from_str(s, NULL, b) > 0);
	return b;
}

static struct rrset *
rrset_a(uint32_t ttl, uint8_t last)
{
	struct rrset_builder b;
	uint8_t a[4] = { 192, 0, 2, last };

	rrset_builder_init(&b, DNS_TYPE_A);
	assert_int_equal(rrset_builder_add(&b, ttl, a, 4), 0);
	return rrset_builder_finish(&b);
}

static struct rrset *
rrset_aaaa(uint32_t ttl)
{
	struct rrset_builder b;
	uint8_t a[16] = { 0x20, 0x01, 0x0d, 0xb8 };

	rrset_builder_init(&b, DNS_TYPE_AAAA);
	assert_int_equal(rrset_builder_add(&b, ttl, a, 16), 0);
	return rrset_builder_finish(&b);
}

static struct rrset *
rrset_soa(uint32_t ttl)
{
	struct rrset_builder b;
	uint8_t rd[64];
	size_t n = 0;

	n += (size_t)dname_from_str("ns.example.", NULL, rd);
	n += (size_t)dname_from_str("h.example.", NULL, rd + n);
	memset(rd + n, 0, 20);
	rd[n + 19] = 60;	/* MINIMUM */
	rrset_builder_init(&b, DNS_TYPE_SOA);
	assert_int_equal(rrset_builder_add(&b, ttl, rd, (uint16_t)(n + 20)), 0);
	return rrset_builder_finish(&b);
}

/* Inserts an A entry for name (the cache takes its own reference; ours is dropped). */
static bool
put_a(struct cache *c, const char *name, uint8_t rank, uint32_t expire, uint8_t last,
    uint32_t now)
{
	struct cache_entry *e = cache_entry_positive(N(name), rrset_a(300, last), rank, 0, expire);
	bool ok;

	assert_non_null(e);
	ok = cache_insert(c, e, now);
	cache_entry_unref(e);
	return ok;
}

static int
last_octet(const struct cache_entry *e)
{
	struct rdata_ref rd;

	assert_non_null(rrset_first(e->rrset, &rd));
	return rd.data[3];
}

static void
test_insert_lookup_case_insensitive(void **state)
{
	struct cache *c = cache_new(1 << 20, &no_clamp);
	struct cache_entry *e;

	assert_true(put_a(c, "WwW.Example.COM.", CACHE_RANK_ANSWER, 1300, 1, 1000));
	e = cache_lookup(c, N("www.example.com."), DNS_TYPE_A, CACHE_RANK_ANSWER, 1000);
	assert_non_null(e);
	assert_int_equal(e->kind, CACHE_POSITIVE);
	assert_memory_equal(e->owner, N("www.example.com."), 17);	/* stored lower case */
	assert_int_equal(cache_ttl_left(e, 1000), 300);
	assert_int_equal(cache_ttl_left(e, 1299), 1);
	cache_entry_unref(e);
	assert_null(cache_lookup(c, N("www.example.com."), DNS_TYPE_AAAA, 0, 1000));
	assert_null(cache_lookup(c, N("example.com."), DNS_TYPE_A, 0, 1000));
	assert_null(cache_lookup(c, N("www.example.co."), DNS_TYPE_A, 0, 1000));
	cache_free(c);
}

static void
test_expiry(void **state)
{
	struct cache *c = cache_new(1 << 20, &no_clamp);
	struct cache_stats st;

	assert_true(put_a(c, "a.example.", CACHE_RANK_ANSWER, 1010, 1, 1000));
	assert_false(put_a(c, "b.example.", CACHE_RANK_ANSWER, 1000, 1, 1000));	/* TTL 0 */
	assert_null(cache_lookup(c, N("b.example."), DNS_TYPE_A, 0, 1000));
	cache_entry_unref(cache_lookup(c, N("a.example."), DNS_TYPE_A, 0, 1009));
	assert_null(cache_lookup(c, N("a.example."), DNS_TYPE_A, 0, 1010));
	cache_get_stats(c, &st);
	assert_int_equal(st.entries, 0);	/* the expired entry was dropped by the lookup */
	assert_int_equal(st.bytes, 0);
	cache_free(c);
}

static void
test_clamps(void **state)
{
	struct cache_limits lim = { 30, 3600, 300 };
	struct cache *c = cache_new(1 << 20, &lim);

	assert_int_equal(cache_expiry(c, 5, false, 100), 130);		/* raised to min-ttl */
	assert_int_equal(cache_expiry(c, 600, false, 100), 700);
	assert_int_equal(cache_expiry(c, 86400, false, 100), 3700);	/* lowered to max-ttl */
	assert_int_equal(cache_expiry(c, 5, true, 100), 105);		/* min-ttl: positive only */
	assert_int_equal(cache_expiry(c, 900, true, 100), 400);	/* max-negative-ttl */
	assert_int_equal(cache_expiry(c, 0, true, 100), 100);
	cache_free(c);
	lim.max_ttl = UINT32_MAX;
	c = cache_new(1 << 20, &lim);
	assert_int_equal(cache_expiry(c, UINT32_MAX - 5, false, 100), UINT32_MAX);	/* no wrap */
	cache_free(c);
}

static void
test_ranks(void **state)
{
	struct cache *c = cache_new(1 << 20, &no_clamp);
	struct cache_entry *e;

	/* Glue first: found for iteration (rank >= glue), not for clients (answer). */
	assert_true(put_a(c, "ns.example.", CACHE_RANK_GLUE, 2000, 1, 1000));
	assert_null(cache_lookup(c, N("ns.example."), DNS_TYPE_A, CACHE_RANK_ANSWER, 1000));
	e = cache_lookup(c, N("ns.example."), DNS_TYPE_A, CACHE_RANK_GLUE, 1000);
	assert_int_equal(last_octet(e), 1);
	cache_entry_unref(e);
	/* The authoritative answer replaces it; later glue does not replace the answer. */
	assert_true(put_a(c, "ns.example.", CACHE_RANK_ANSWER, 2000, 2, 1000));
	assert_false(put_a(c, "ns.example.", CACHE_RANK_GLUE, 2000, 3, 1000));
	assert_false(put_a(c, "ns.example.", CACHE_RANK_REFERRAL, 2000, 3, 1000));
	e = cache_lookup(c, N("ns.example."), DNS_TYPE_A, CACHE_RANK_ANSWER, 1000);
	assert_int_equal(last_octet(e), 2);
	cache_entry_unref(e);
	/* Equal rank replaces; once expired, any rank may. */
	assert_true(put_a(c, "ns.example.", CACHE_RANK_ANSWER, 1500, 4, 1000));
	assert_true(put_a(c, "ns.example.", CACHE_RANK_GLUE, 3000, 5, 1600));
	e = cache_lookup(c, N("ns.example."), DNS_TYPE_A, CACHE_RANK_GLUE, 1600);
	assert_int_equal(last_octet(e), 5);
	cache_entry_unref(e);
	cache_free(c);
}

static void
test_negative_entries(void **state)
{
	struct cache *c = cache_new(1 << 20, &no_clamp);
	struct cache_entry *nx, *nd, *e;

	nx = cache_entry_negative(N("Nope.Example."), CACHE_TYPE_NXDOMAIN, N("Example."),
	    rrset_soa(3600), 1060, 1000);
	nd = cache_entry_negative(N("www.example."), DNS_TYPE_AAAA, N("example."),
	    rrset_soa(3600), 1060, 1000);
	assert_true(cache_insert(c, nx, 1000));
	assert_true(cache_insert(c, nd, 1000));
	cache_entry_unref(nx);
	cache_entry_unref(nd);
	e = cache_lookup(c, N("nope.example."), CACHE_TYPE_NXDOMAIN, CACHE_RANK_ANSWER, 1000);
	assert_non_null(e);
	assert_int_equal(e->kind, CACHE_NXDOMAIN);
	assert_memory_equal(e->soa_owner, N("Example."), 9);	/* SOA owner as received */
	assert_int_equal(e->rrset->type, DNS_TYPE_SOA);
	/* Cached until the clamp, while the SOA keeps counting down from its own TTL. */
	assert_int_equal(cache_ttl_left(e, 1010), 50);
	assert_int_equal(cache_soa_ttl_left(e, 1010), 3590);
	cache_entry_unref(e);
	e = cache_lookup(c, N("www.example."), DNS_TYPE_AAAA, CACHE_RANK_ANSWER, 1000);
	assert_int_equal(e->kind, CACHE_NODATA);
	cache_entry_unref(e);
	/* A NODATA that came without an SOA: cached all the same, with nothing to hand out. */
	nd = cache_entry_negative(N("bare.example."), DNS_TYPE_TXT, NULL, NULL, 1005, 1000);
	assert_true(cache_insert(c, nd, 1000));
	cache_entry_unref(nd);
	e = cache_lookup(c, N("bare.example."), DNS_TYPE_TXT, CACHE_RANK_ANSWER, 1004);
	assert_non_null(e);
	assert_int_equal(e->kind, CACHE_NODATA);
	assert_null(e->rrset);
	assert_null(e->soa_owner);
	cache_entry_unref(e);
	assert_null(cache_lookup(c, N("bare.example."), DNS_TYPE_TXT, CACHE_RANK_ANSWER, 1005));
	/* Positive data for the same key replaces the NODATA (the type appeared). */
	e = cache_entry_positive(N("www.example."), rrset_aaaa(60), CACHE_RANK_ANSWER, 0, 1060);
	assert_true(cache_insert(c, e, 1000));
	cache_entry_unref(e);
	e = cache_lookup(c, N("www.example."), DNS_TYPE_AAAA, CACHE_RANK_ANSWER, 1000);
	assert_int_equal(e->kind, CACHE_POSITIVE);
	cache_entry_unref(e);
	cache_free(c);
}

/* Small caches have one shard, so LRU order is exact and checkable. */
static void
test_lru_eviction_within_max_size(void **state)
{
	const size_t max = 16 * 1024;
	struct cache *c = cache_new(max, &no_clamp);
	struct cache_entry *keep;
	struct cache_stats st;
	char name[64];
	int first_alive = -1;

	for (int i = 0; i < 400; i++) {
		snprintf(name, sizeof(name), "n%d.example.", i);
		assert_true(put_a(c, name, CACHE_RANK_ANSWER, 5000, (uint8_t)i, 1000));
		if (i == 0)
			continue;
		/* n0 is used all the time: it must stay while older ones go. */
		keep = cache_lookup(c, N("n0.example."), DNS_TYPE_A, 0, 1000);
		assert_non_null(keep);
		cache_entry_unref(keep);
		cache_get_stats(c, &st);
		assert_true(st.bytes <= max);
	}
	cache_get_stats(c, &st);
	assert_true(st.evictions > 0);
	assert_true(st.entries > 20 && st.entries < 400);
	/* What is left is the most recent run of names, plus n0. */
	for (int i = 1; i < 400; i++) {
		snprintf(name, sizeof(name), "n%d.example.", i);
		keep = cache_lookup(c, N(name), DNS_TYPE_A, 0, 1000);
		if (keep != NULL && first_alive < 0)
			first_alive = i;
		if (first_alive >= 0)
			assert_non_null(keep);
		cache_entry_unref(keep);
	}
	assert_true(first_alive > 1);
	cache_free(c);
}

static void
test_reference_outlives_eviction(void **state)
{
	struct cache *c = cache_new(16 * 1024, &no_clamp);
	struct cache_entry *held;
	char name[64];

	assert_true(put_a(c, "held.example.", CACHE_RANK_ANSWER, 5000, 77, 1000));
	held = cache_lookup(c, N("held.example."), DNS_TYPE_A, 0, 1000);
	assert_true(put_a(c, "held.example.", CACHE_RANK_ANSWER, 5000, 78, 1000));	/* replaced */
	for (int i = 0; i < 1000; i++) {	/* and everything evicted many times over */
		snprintf(name, sizeof(name), "x%d.example.", i);
		put_a(c, name, CACHE_RANK_ANSWER, 5000, 1, 1000);
	}
	assert_int_equal(last_octet(held), 77);	/* still readable (valgrind checks this) */
	cache_entry_unref(held);
	cache_free(c);
}

static void
test_oversized_entry_refused(void **state)
{
	struct cache *c = cache_new(16 * 1024, &no_clamp);
	struct rrset_builder b;
	uint8_t txt[255];
	struct cache_entry *e;

	memset(txt, 'x', sizeof(txt));
	rrset_builder_init(&b, DNS_TYPE_TXT);
	for (int i = 0; i < 100; i++) {
		txt[0] = (uint8_t)i;
		assert_int_equal(rrset_builder_add(&b, 60, txt, sizeof(txt)), 0);
	}
	e = cache_entry_positive(N("big.example."), rrset_builder_finish(&b), CACHE_RANK_ANSWER,
	    0, 5000);
	assert_false(cache_insert(c, e, 1000));	/* 25 KB: more than the whole cache */
	assert_int_equal(e->rrset->count, 100);	/* the caller still has it */
	cache_entry_unref(e);
	cache_free(c);
}

static void
test_many_entries_big_cache(void **state)
{
	struct cache *c = cache_new(256 << 20, &no_clamp);	/* many shards */
	struct cache_stats st;
	char name[64];

	for (int i = 0; i < 20000; i++) {
		snprintf(name, sizeof(name), "host%d.zone%d.example.", i, i % 7);
		assert_true(put_a(c, name, CACHE_RANK_ANSWER, 5000, (uint8_t)i, 1000));
	}
	for (int i = 0; i < 20000; i++) {
		struct cache_entry *e;

		snprintf(name, sizeof(name), "host%d.zone%d.example.", i, i % 7);
		e = cache_lookup(c, N(name), DNS_TYPE_A, 0, 1000);
		assert_non_null(e);
		assert_int_equal(last_octet(e), (uint8_t)i);
		cache_entry_unref(e);
	}
	cache_get_stats(c, &st);
	assert_int_equal(st.entries, 20000);
	assert_int_equal(st.evictions, 0);
	assert_int_equal(st.hits, 20000);
	cache_free(c);
}

struct hammer {
	struct cache	*c;
	int		 id;
};

static void *
hammer_main(void *arg)
{
	struct hammer *h = arg;
	char name[64];
	uint8_t w[DNAME_MAXLEN];

	for (int i = 0; i < 5000; i++) {
		struct cache_entry *e;

		snprintf(name, sizeof(name), "k%d.example.", (i * 7 + h->id) % 300);
		dname_from_str(name, NULL, w);
		if (i % 3 == 0) {
			e = cache_entry_positive(w, rrset_a(60, (uint8_t)h->id), CACHE_RANK_ANSWER,
			    0, 5000);
			cache_insert(h->c, e, 1000);
			cache_entry_unref(e);
		} else if ((e = cache_lookup(h->c, w, DNS_TYPE_A, 0, 1000)) != NULL) {
			if (e->rrset->count != 1)
				abort();
			cache_entry_unref(e);
		}
	}
	return NULL;
}

/* Worker threads share the cache: inserts, replacements, evictions and lookups at once. */
static void
test_concurrent_use(void **state)
{
	struct cache *c = cache_new(32 * 1024, &no_clamp);
	pthread_t t[4];
	struct hammer h[4];
	struct cache_stats st;

	for (int i = 0; i < 4; i++) {
		h[i].c = c;
		h[i].id = i;
		assert_int_equal(pthread_create(&t[i], NULL, hammer_main, &h[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	cache_get_stats(c, &st);
	assert_true(st.bytes <= 32 * 1024);
	cache_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_insert_lookup_case_insensitive),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_clamps),
		cmocka_unit_test(test_ranks),
		cmocka_unit_test(test_negative_entries),
		cmocka_unit_test(test_lru_eviction_within_max_size),
		cmocka_unit_test(test_reference_outlives_eviction),
		cmocka_unit_test(test_oversized_entry_refused),
		cmocka_unit_test(test_many_entries_big_cache),
		cmocka_unit_test(test_concurrent_use),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
