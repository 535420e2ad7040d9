/* test_rrset.c: unit tests of the RRset builder (order, uniqueness, TTL, size bounds). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/rrset.h"

/* Adds a NUL-terminated string as RDATA. */
static int
add_str(struct rrset_builder *b, uint32_t ttl, const char *s)
{
	return rrset_builder_add(b, ttl, (const uint8_t *)s, (uint16_t)strlen(s));
}

/* Asserts that rs holds exactly the given strings, in this order. */
static void
assert_records(const struct rrset *rs, const char *const *want, size_t n)
{
	struct rdata_ref rd;
	const uint8_t *it;
	size_t i = 0, datalen = 0;

	assert_int_equal(rs->count, n);
	for (it = rrset_first(rs, &rd); it; it = rrset_next(rs, it, &rd), i++) {
		assert_true(i < n);
		assert_int_equal(rd.len, strlen(want[i]));
		assert_memory_equal(rd.data, want[i], rd.len);
		datalen += 2 + rd.len;
	}
	assert_int_equal(i, n);
	assert_int_equal(rs->datalen, datalen);
}

static void
test_canonical_order(void **state)
{
	static const char *const want[] = { "", "a", "ab", "b", "\xff" };
	struct rrset_builder b;
	struct rrset *rs;

	rrset_builder_init(&b, 16);
	assert_int_equal(add_str(&b, 300, "b"), 0);
	assert_int_equal(add_str(&b, 300, "\xff"), 0);
	assert_int_equal(add_str(&b, 300, "ab"), 0);
	assert_int_equal(add_str(&b, 300, ""), 0);
	assert_int_equal(add_str(&b, 300, "a"), 0);
	rs = rrset_builder_finish(&b);
	assert_non_null(rs);
	assert_int_equal(rs->type, 16);
	assert_records(rs, want, 5);
	free(rs);
	rrset_builder_clear(&b);
}

/* Octets compare unsigned: 0x80 sorts after 0x7f. */
static void
test_order_unsigned(void **state)
{
	static const char *const want[] = { "\x01\x7f", "\x01\x80" };
	struct rrset_builder b;
	struct rrset *rs;

	rrset_builder_init(&b, 1);
	add_str(&b, 60, "\x01\x80");
	add_str(&b, 60, "\x01\x7f");
	rs = rrset_builder_finish(&b);
	assert_records(rs, want, 2);
	free(rs);
}

static void
test_duplicates_and_min_ttl(void **state)
{
	static const char *const want[] = { "x", "y" };
	struct rrset_builder b;
	struct rrset *rs;

	rrset_builder_init(&b, 1);
	add_str(&b, 300, "y");
	add_str(&b, 600, "x");
	add_str(&b, 60, "y");	/* duplicate: dropped, its TTL still counts */
	add_str(&b, 900, "x");
	rs = rrset_builder_finish(&b);
	assert_records(rs, want, 2);
	assert_int_equal(rs->ttl, 60);
	free(rs);
}

static void
test_empty(void **state)
{
	struct rrset_builder b;
	struct rrset *rs;
	struct rdata_ref rd;

	rrset_builder_init(&b, 2);
	rs = rrset_builder_finish(&b);
	assert_non_null(rs);
	assert_int_equal(rs->count, 0);
	assert_int_equal(rs->datalen, 0);
	assert_null(rrset_first(rs, &rd));
	free(rs);
}

/* 15 records of 4104 octets are exactly 65535 on the wire (265 + 4104 each). */
static void
test_size_limit_exact(void **state)
{
	static uint8_t data[4104];
	struct rrset_builder b;
	struct rrset *rs;

	rrset_builder_init(&b, 16);
	for (int i = 0; i < 15; i++) {
		data[0] = (uint8_t)i;
		assert_int_equal(rrset_builder_add(&b, 1, data, sizeof(data)), 0);
	}
	data[0] = 200;
	assert_int_equal(rrset_builder_add(&b, 1, data, sizeof(data)), -1);
	data[0] = 3;	/* a duplicate adds nothing, so it still fits */
	assert_int_equal(rrset_builder_add(&b, 1, data, sizeof(data)), 0);
	assert_int_equal(rrset_builder_add(&b, 1, data, 0), -1);
	rs = rrset_builder_finish(&b);
	assert_int_equal(rs->count, 15);
	free(rs);
}

static void
test_size_limit_single(void **state)
{
	static uint8_t data[65535];
	struct rrset_builder b;

	rrset_builder_init(&b, 16);
	assert_int_equal(rrset_builder_add(&b, 1, data, 65535 - 265 + 1), -1);
	assert_int_equal(rrset_builder_add(&b, 1, data, 65535 - 265), 0);
	assert_int_equal(b.count, 1);
	rrset_builder_clear(&b);
	assert_int_equal(b.count, 0);
	assert_int_equal(b.type, 16);
}

/* finish() leaves the builder empty; it can build again and clear() is then harmless. */
static void
test_reuse(void **state)
{
	static const char *const one[] = { "1" }, *const two[] = { "2", "3" };
	struct rrset_builder b;
	struct rrset *rs;

	rrset_builder_init(&b, 1);
	add_str(&b, 5, "1");
	rs = rrset_builder_finish(&b);
	assert_records(rs, one, 1);
	assert_int_equal(rs->ttl, 5);
	free(rs);
	add_str(&b, 7, "3");
	add_str(&b, 9, "2");
	rs = rrset_builder_finish(&b);
	assert_records(rs, two, 2);
	assert_int_equal(rs->ttl, 7);
	free(rs);
	rrset_builder_clear(&b);
	rrset_builder_clear(&b);
}

/* Many small records: growth of the array, sort of a reversed input. */
static void
test_many(void **state)
{
	struct rrset_builder b;
	struct rrset *rs;
	struct rdata_ref rd;
	const uint8_t *it;
	int prev = -1, n = 0;

	rrset_builder_init(&b, 1);
	for (int i = 199; i >= 0; i--) {
		uint8_t v = (uint8_t)i;

		assert_int_equal(rrset_builder_add(&b, 10, &v, 1), 0);
	}
	rs = rrset_builder_finish(&b);
	for (it = rrset_first(rs, &rd); it; it = rrset_next(rs, it, &rd), n++) {
		assert_int_equal(rd.len, 1);
		assert_true(rd.data[0] > prev);
		prev = rd.data[0];
	}
	assert_int_equal(n, 200);
	free(rs);
}

/* ---- rrset_soa_negative_ttl (RFC 2308) ---- */

/* An SOA RRset of TTL ttl: ns. host. 1 7200 3600 1209600 minimum, plus extra octets. */
static struct rrset *
soa(uint32_t ttl, uint32_t minimum, size_t cut, const char *extra)
{
	uint8_t rd[64];
	size_t n = 0;
	struct rrset_builder b;
	struct rrset *rs;
	const uint32_t fields[5] = { 1, 7200, 3600, 1209600, minimum };

	memcpy(rd, "\x02ns\x00\x04host\x00", 10);
	n = 10;
	for (int i = 0; i < 5; i++, n += 4) {
		rd[n] = (uint8_t)(fields[i] >> 24);
		rd[n + 1] = (uint8_t)(fields[i] >> 16);
		rd[n + 2] = (uint8_t)(fields[i] >> 8);
		rd[n + 3] = (uint8_t)fields[i];
	}
	memcpy(rd + n, extra, strlen(extra));
	n += strlen(extra) - cut;
	rrset_builder_init(&b, 6 /* SOA */);
	assert_int_equal(rrset_builder_add(&b, ttl, rd, (uint16_t)n), 0);
	assert_non_null(rs = rrset_builder_finish(&b));
	return rs;
}

static void
test_soa_negative_ttl(void **state)
{
	struct rrset *rs;

	rs = soa(3600, 300, 0, "");		/* MINIMUM is the smaller */
	assert_int_equal(rrset_soa_negative_ttl(rs), 300);
	free(rs);
	rs = soa(60, 900, 0, "");		/* the SOA's TTL is */
	assert_int_equal(rrset_soa_negative_ttl(rs), 60);
	free(rs);
	rs = soa(300, 0x80000001u, 0, "");	/* MINIMUM read as unsigned */
	assert_int_equal(rrset_soa_negative_ttl(rs), 300);
	free(rs);
	assert_int_equal(rrset_soa_negative_ttl(NULL), 0);
}

static void
test_soa_negative_ttl_malformed(void **state)
{
	struct rrset *rs;
	struct rrset_builder b;

	rs = soa(3600, 300, 1, "");		/* MINIMUM cut short */
	assert_int_equal(rrset_soa_negative_ttl(rs), 0);
	free(rs);
	rs = soa(3600, 300, 0, "x");		/* an octet too many */
	assert_int_equal(rrset_soa_negative_ttl(rs), 0);
	free(rs);
	/* A compression pointer where MNAME should be, and a name running off the end. */
	rrset_builder_init(&b, 6);
	assert_int_equal(rrset_builder_add(&b, 3600, (const uint8_t *)
	    "\xc0\x0c\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
	    "\x00\x00", 22), 0);
	assert_non_null(rs = rrset_builder_finish(&b));
	assert_int_equal(rrset_soa_negative_ttl(rs), 0);
	free(rs);
	rrset_builder_init(&b, 6);
	assert_int_equal(rrset_builder_add(&b, 3600, (const uint8_t *)"\x3f" "abc", 4), 0);
	assert_non_null(rs = rrset_builder_finish(&b));
	assert_int_equal(rrset_soa_negative_ttl(rs), 0);
	free(rs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_canonical_order),
		cmocka_unit_test(test_order_unsigned),
		cmocka_unit_test(test_duplicates_and_min_ttl),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_size_limit_exact),
		cmocka_unit_test(test_size_limit_single),
		cmocka_unit_test(test_reuse),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_soa_negative_ttl),
		cmocka_unit_test(test_soa_negative_ttl_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
