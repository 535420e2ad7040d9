/* test_upstream.c: unit tests of dnsr/upstream.c answer checks: 0x20, id, question, cookies. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "dnsr/upstream.h"
#include "common/cookie.h"
#include "common/wire.h"

/* A query as dnsr sends it: header, question, OPT (with a COOKIE option when cookie). */
static size_t
make_msg(uint8_t *m, uint16_t id, bool response, const char *name, uint16_t qtype,
    const uint8_t *cookie, size_t cookie_len)
{
	size_t p = DNS_HEADER_LEN;
	int n;

	memset(m, 0, DNS_HEADER_LEN);
	wire_write16(m, id);
	wire_write16(m + 2, response ? DNS_FLAG_QR : 0);
	wire_write16(m + 4, 1);
	wire_write16(m + 10, 1);
	n = dname_from_str(name, NULL, m + p);
	assert_true(n > 0);
	p += (size_t)n;
	wire_write16(m + p, qtype);
	wire_write16(m + p + 2, DNS_CLASS_IN);
	p += 4;
	m[p] = 0;
	wire_write16(m + p + 1, DNS_TYPE_OPT);
	wire_write16(m + p + 3, 1232);
	memset(m + p + 5, 0, 4);
	wire_write16(m + p + 9, (uint16_t)(cookie_len ? 4 + cookie_len : 0));
	p += 11;
	if (cookie_len) {
		wire_write16(m + p, EDNS_OPT_COOKIE);
		wire_write16(m + p + 2, (uint16_t)cookie_len);
		memcpy(m + p + 4, cookie, cookie_len);
		p += 4 + cookie_len;
	}
	return p;
}

static void
test_randomise_keeps_the_name(void **state)
{
	uint8_t name[DNAME_MAXLEN], orig[DNAME_MAXLEN];
	bool upper = false, lower = false;

	assert_int_equal(dname_from_str("www.example-1.test.", NULL, orig), 20);
	for (int round = 0; round < 64; round++) {
		memcpy(name, orig, sizeof(orig));
		upstream_0x20(name);
		assert_true(dname_equal(name, orig));
		for (size_t i = 0; i < 20; i++) {
			uint8_t c = orig[i];

			if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') {
				upper |= name[i] >= 'A' && name[i] <= 'Z';
				lower |= name[i] >= 'a' && name[i] <= 'z';
			} else {
				/* Lengths, digits and '-' are never touched. */
				assert_int_equal(name[i], c);
			}
		}
	}
	assert_true(upper && lower);
}

static void
test_randomise_is_random(void **state)
{
	uint8_t a[DNAME_MAXLEN], b[DNAME_MAXLEN];
	int same = 0;

	for (int round = 0; round < 16; round++) {
		dname_from_str("abcdefghijklmnopqrstuvwxyz.test.", NULL, a);
		memcpy(b, a, sizeof(a));
		upstream_0x20(a);
		upstream_0x20(b);
		same += memcmp(a, b, dname_len(a)) == 0;
	}
	assert_true(same < 2);	/* 30 letters: 2^-30 each */
}

static void
test_match_exact_case(void **state)
{
	uint8_t q[512], a[512];
	size_t ql = make_msg(q, 0x1234, false, "WwW.ExAmPlE.", DNS_TYPE_A, NULL, 0);
	size_t al = make_msg(a, 0x1234, true, "WwW.ExAmPlE.", DNS_TYPE_A, NULL, 0);

	assert_int_equal(upstream_match(q, ql, a, al, true), UPSTREAM_MATCH);
	al = make_msg(a, 0x1234, true, "www.example.", DNS_TYPE_A, NULL, 0);
	assert_int_equal(upstream_match(q, ql, a, al, true), UPSTREAM_MISMATCH_CASE);
	/* Case ignored without 0x20 (and over TCP). */
	assert_int_equal(upstream_match(q, ql, a, al, false), UPSTREAM_MATCH);
}

static void
test_match_id_and_question(void **state)
{
	uint8_t q[512], a[512];
	size_t ql = make_msg(q, 0x1234, false, "www.example.", DNS_TYPE_A, NULL, 0);
	size_t al;

	al = make_msg(a, 0x1235, true, "www.example.", DNS_TYPE_A, NULL, 0);
	assert_int_equal(upstream_match(q, ql, a, al, false), UPSTREAM_MISMATCH);
	al = make_msg(a, 0x1234, true, "www.example.", DNS_TYPE_AAAA, NULL, 0);
	assert_int_equal(upstream_match(q, ql, a, al, false), UPSTREAM_MISMATCH);
	al = make_msg(a, 0x1234, true, "wwx.example.", DNS_TYPE_A, NULL, 0);
	assert_int_equal(upstream_match(q, ql, a, al, true), UPSTREAM_MISMATCH);
	al = make_msg(a, 0x1234, true, "www.example.com.", DNS_TYPE_A, NULL, 0);
	assert_int_equal(upstream_match(q, ql, a, al, false), UPSTREAM_MISMATCH);
	/* A query, not an answer. */
	al = make_msg(a, 0x1234, false, "www.example.", DNS_TYPE_A, NULL, 0);
	assert_int_equal(upstream_match(q, ql, a, al, false), UPSTREAM_MISMATCH);
	/* Cut short, or without a question. */
	al = make_msg(a, 0x1234, true, "www.example.", DNS_TYPE_A, NULL, 0);
	assert_int_equal(upstream_match(q, ql, a, 20, false), UPSTREAM_MISMATCH);
	wire_write16(a + 4, 0);
	assert_int_equal(upstream_match(q, ql, a, al, false), UPSTREAM_MISMATCH);
	/* Bit 5 of a non-letter is not case: '0' (0x30) against 0x10. */
	ql = make_msg(q, 1, false, "a0.example.", DNS_TYPE_A, NULL, 0);
	al = make_msg(a, 1, true, "a0.example.", DNS_TYPE_A, NULL, 0);
	a[DNS_HEADER_LEN + 2] = 0x10;
	assert_int_equal(upstream_match(q, ql, a, al, false), UPSTREAM_MISMATCH);
}

static void
test_match_cookie(void **state)
{
	uint8_t q[512], a[512], ours[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, theirs[24];
	size_t ql = make_msg(q, 7, false, "www.example.", DNS_TYPE_A, ours, 8), al;

	memcpy(theirs, ours, 8);
	memset(theirs + 8, 0xaa, 16);
	al = make_msg(a, 7, true, "www.example.", DNS_TYPE_A, theirs, 24);
	assert_int_equal(upstream_match(q, ql, a, al, true), UPSTREAM_MATCH);
	al = make_msg(a, 7, true, "www.example.", DNS_TYPE_A, NULL, 0);
	assert_int_equal(upstream_match(q, ql, a, al, true), UPSTREAM_MATCH);	/* none */
	theirs[0] ^= 1;
	al = make_msg(a, 7, true, "www.example.", DNS_TYPE_A, theirs, 24);
	assert_int_equal(upstream_match(q, ql, a, al, true), UPSTREAM_MISMATCH_COOKIE);
	al = make_msg(a, 7, true, "www.example.", DNS_TYPE_A, theirs, 4);
	assert_int_equal(upstream_match(q, ql, a, al, true), UPSTREAM_MISMATCH_COOKIE);
}

static void
test_client_cookie_per_server(void **state)
{
	uint8_t secret[COOKIE_SECRET_LEN] = { 9 }, c1[8], c2[8], c3[8];
	struct sockaddr_in a, b;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(53);
	inet_pton(AF_INET, "192.0.2.1", &a.sin_addr);
	b = a;
	inet_pton(AF_INET, "192.0.2.2", &b.sin_addr);
	cookie_client(secret, (struct sockaddr *)&a, c1);
	cookie_client(secret, (struct sockaddr *)&b, c2);
	cookie_client(secret, (struct sockaddr *)&a, c3);
	assert_memory_equal(c1, c3, 8);
	assert_memory_not_equal(c1, c2, 8);
	secret[0] = 10;
	cookie_client(secret, (struct sockaddr *)&a, c3);
	assert_memory_not_equal(c1, c3, 8);
}

static int
setup(void **state)
{
	return sodium_init() < 0 ? -1 : 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_randomise_keeps_the_name),
		cmocka_unit_test(test_randomise_is_random),
		cmocka_unit_test(test_match_exact_case),
		cmocka_unit_test(test_match_id_and_question),
		cmocka_unit_test(test_match_cookie),
		cmocka_unit_test(test_client_cookie_per_server),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
