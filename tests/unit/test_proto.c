/* test_proto.c: unit tests of the authd <-> dnsr frame codec (proto/proto.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "proto/proto.h"

#define BIG	(4 + PROTO_MAX_FRAME + 16)

static uint8_t buf[BIG];
static uint8_t dns[PROTO_MAX_DNS + 2];

/*
 * Decodes a copy of the first len octets of frame in a heap block of exactly len octets,
 * so that ASan or valgrind catches any read beyond len.
 */
static long
decode_exact(const uint8_t *frame, size_t len, struct proto_msg *m, char *err, size_t errlen)
{
	uint8_t *copy = malloc(len > 0 ? len : 1);
	long n;

	assert_non_null(copy);
	memcpy(copy, frame, len);
	n = proto_decode(copy, len, m, err, errlen);
	free(copy);
	return n;
}

/*
 * A proper prefix of a frame needs more octets; the whole frame decodes to n octets
 * (from an exact copy, then from frame itself: m's pointers point into frame).
 */
static void
check_frame(const uint8_t *frame, long n, struct proto_msg *m)
{
	char err[128];

	assert_true(n > 0);
	for (long i = 0; i < n; i++)	/* of a 64K frame, its ends and a sample between */
		if (i < 256 || i > n - 256 || i % 1021 == 0)
			assert_int_equal(decode_exact(frame, (size_t)i, m, err, sizeof(err)),
			    0);
	assert_int_equal(decode_exact(frame, (size_t)n, m, err, sizeof(err)), n);
	assert_int_equal(proto_decode(frame, (size_t)n, m, err, sizeof(err)), n);
}

/* The frame (length, type, body) with a body given in full. */
static size_t
raw(uint8_t *out, uint8_t type, const void *body, size_t bodylen)
{
	uint32_t len = htonl((uint32_t)(1 + bodylen));

	memcpy(out, &len, 4);
	out[4] = type;
	memcpy(out + 5, body, bodylen);
	return 5 + bodylen;
}

static void
expect_malformed(const uint8_t *frame, size_t len)
{
	struct proto_msg m;
	char err[128] = "";

	assert_int_equal(decode_exact(frame, len, &m, err, sizeof(err)), -1);
	assert_true(err[0] != '\0');
}

static void
fill_dns(size_t n)
{
	for (size_t i = 0; i < n; i++)
		dns[i] = (uint8_t)(i * 7 + 1);
}

/* A QUERY body: id 1, transport, family, address zero, port 53, max 512, then dnslen. */
static size_t
query_body(uint8_t *b, uint8_t transport, uint8_t family, size_t dnslen)
{
	memset(b, 0, PROTO_QUERY_HDR);
	b[3] = 1;
	b[4] = transport;
	b[5] = family;
	b[23] = 53;
	b[24] = 2;
	fill_dns(dnslen);
	memcpy(b + PROTO_QUERY_HDR, dns, dnslen);
	return PROTO_QUERY_HDR + dnslen;
}

/* ---- round trips ---- */

static void
test_hello(void **state)
{
	struct proto_msg m;
	char name[300];
	long n = proto_encode_hello(buf, sizeof(buf), 1, "authd-1");

	assert_int_equal(n, PROTO_HDR + 5 + 7);
	check_frame(buf, n, &m);
	assert_int_equal(m.type, PROTO_HELLO);
	assert_int_equal(m.version, 1);
	assert_string_equal(m.name, "authd-1");

	n = proto_encode_hello(buf, sizeof(buf), 0xffff, "");
	check_frame(buf, n, &m);
	assert_int_equal(m.version, 0xffff);
	assert_string_equal(m.name, "");

	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	n = proto_encode_hello(buf, sizeof(buf), 2, name);	/* cut to 255 */
	check_frame(buf, n, &m);
	assert_int_equal(strlen(m.name), 255);
	assert_memory_equal(m.name, name, 255);
}

static void
test_hello_ok(void **state)
{
	struct proto_msg m;
	long n = proto_encode_hello_ok(buf, sizeof(buf), 1);

	assert_int_equal(n, PROTO_HDR + 2);
	check_frame(buf, n, &m);
	assert_int_equal(m.type, PROTO_HELLO_OK);
	assert_int_equal(m.version, 1);
}

static void
test_query_v4(void **state)
{
	struct sockaddr_in sin;
	struct proto_msg m;
	const struct sockaddr_in *got = (const struct sockaddr_in *)&m.client;
	long n;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(5353);
	inet_pton(AF_INET, "192.0.2.7", &sin.sin_addr);
	fill_dns(40);
	n = proto_encode_query(buf, sizeof(buf), 0xdeadbeef, PROTO_UDP,
	    (struct sockaddr *)&sin, 1232, dns, 40);
	assert_int_equal(n, PROTO_HDR + PROTO_QUERY_HDR + 40);
	check_frame(buf, n, &m);
	assert_int_equal(m.type, PROTO_QUERY);
	assert_int_equal(m.id, 0xdeadbeef);
	assert_int_equal(m.transport, PROTO_UDP);
	assert_int_equal(m.max_answer, 1232);
	assert_int_equal(got->sin_family, AF_INET);
	assert_int_equal(ntohs(got->sin_port), 5353);
	assert_memory_equal(&got->sin_addr, &sin.sin_addr, 4);
	assert_int_equal(m.dnslen, 40);
	assert_ptr_equal(m.dns, buf + PROTO_HDR + PROTO_QUERY_HDR);	/* points into buf */
	assert_memory_equal(m.dns, dns, 40);
}

static void
test_query_v6_largest(void **state)
{
	struct sockaddr_in6 sin6;
	struct proto_msg m;
	const struct sockaddr_in6 *got = (const struct sockaddr_in6 *)&m.client;
	long n;

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(53);
	inet_pton(AF_INET6, "2001:db8::53", &sin6.sin6_addr);
	fill_dns(PROTO_MAX_DNS);
	n = proto_encode_query(buf, sizeof(buf), 7, PROTO_TCP, (struct sockaddr *)&sin6,
	    65535, dns, PROTO_MAX_DNS);
	assert_int_equal(n, PROTO_HDR + PROTO_QUERY_HDR + PROTO_MAX_DNS);
	check_frame(buf, n, &m);
	assert_int_equal(m.id, 7);
	assert_int_equal(m.transport, PROTO_TCP);
	assert_int_equal(m.max_answer, 65535);
	assert_int_equal(got->sin6_family, AF_INET6);
	assert_int_equal(ntohs(got->sin6_port), 53);
	assert_memory_equal(&got->sin6_addr, &sin6.sin6_addr, 16);
	assert_int_equal(m.dnslen, PROTO_MAX_DNS);
	assert_memory_equal(m.dns, dns, PROTO_MAX_DNS);

	/* No address at all (authd has none to give): IPv4, all zero. */
	n = proto_encode_query(buf, sizeof(buf), 8, PROTO_UDP, NULL, 512, dns, PROTO_MIN_DNS);
	check_frame(buf, n, &m);
	assert_int_equal(m.client.ss_family, AF_INET);
	assert_int_equal(m.dnslen, PROTO_MIN_DNS);
}

static void
test_answer(void **state)
{
	struct proto_msg m;
	long n;

	fill_dns(PROTO_MIN_DNS);
	n = proto_encode_answer(buf, sizeof(buf), 42, dns, PROTO_MIN_DNS);
	assert_int_equal(n, PROTO_HDR + 4 + PROTO_MIN_DNS);
	check_frame(buf, n, &m);
	assert_int_equal(m.type, PROTO_ANSWER);
	assert_int_equal(m.id, 42);
	assert_int_equal(m.dnslen, PROTO_MIN_DNS);
	assert_memory_equal(m.dns, dns, PROTO_MIN_DNS);

	fill_dns(PROTO_MAX_DNS);
	n = proto_encode_answer(buf, sizeof(buf), 0xffffffff, dns, PROTO_MAX_DNS);
	check_frame(buf, n, &m);
	assert_int_equal(m.id, 0xffffffff);
	assert_int_equal(m.dnslen, PROTO_MAX_DNS);
	assert_memory_equal(m.dns, dns, PROTO_MAX_DNS);
}

static void
test_error(void **state)
{
	struct proto_msg m;
	char reason[400];
	long n = proto_encode_error(buf, sizeof(buf), PROTO_ERR_VERSION, "no common version");

	check_frame(buf, n, &m);
	assert_int_equal(m.type, PROTO_ERROR);
	assert_int_equal(m.code, PROTO_ERR_VERSION);
	assert_string_equal(m.reason, "no common version");

	n = proto_encode_error(buf, sizeof(buf), 0xffff, "");
	check_frame(buf, n, &m);
	assert_int_equal(m.code, 0xffff);
	assert_string_equal(m.reason, "");

	memset(reason, 'r', sizeof(reason) - 1);
	reason[sizeof(reason) - 1] = '\0';
	n = proto_encode_error(buf, sizeof(buf), 1, reason);	/* cut to 255 */
	assert_int_equal(n, PROTO_HDR + 2 + 255);
	check_frame(buf, n, &m);
	assert_int_equal(strlen(m.reason), 255);
}

/* Frames follow each other: each decode takes one. */
static void
test_stream_of_frames(void **state)
{
	struct proto_msg m;
	char err[128];
	size_t len = 0, pos = 0;
	long n;

	fill_dns(20);
	len += (size_t)proto_encode_hello(buf + len, sizeof(buf) - len, 1, "a");
	len += (size_t)proto_encode_query(buf + len, sizeof(buf) - len, 1, 0, NULL, 512, dns,
	    20);
	len += (size_t)proto_encode_query(buf + len, sizeof(buf) - len, 2, 1, NULL, 512, dns,
	    20);
	len += (size_t)proto_encode_error(buf + len, sizeof(buf) - len, 4, "busy");
	for (int i = 0; i < 4; i++) {
		n = proto_decode(buf + pos, len - pos, &m, err, sizeof(err));
		assert_true(n > 0);
		pos += (size_t)n;
		if (i == 2)
			assert_int_equal(m.id, 2);
	}
	assert_int_equal(m.type, PROTO_ERROR);
	assert_int_equal(pos, len);
	assert_int_equal(proto_decode(buf + pos, 0, &m, err, sizeof(err)), 0);
}

/* ---- malformed frames ---- */

static void
test_bad_length(void **state)
{
	static const uint32_t lens[] = { 0, PROTO_MAX_FRAME + 1, 0x80000000u, 0xffffffffu };
	struct proto_msg m;
	char err[128];

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		uint32_t l = htonl(lens[i]);

		memcpy(buf, &l, 4);
		buf[4] = PROTO_HELLO;
		/* Known from the length field alone: no need to wait for the body. */
		expect_malformed(buf, 4);
		expect_malformed(buf, 5);
	}
	/* The largest length is not malformed in itself: it waits for its octets. */
	{
		uint32_t l = htonl(PROTO_MAX_FRAME);

		memcpy(buf, &l, 4);
		assert_int_equal(decode_exact(buf, 4, &m, err, sizeof(err)), 0);
		assert_int_equal(decode_exact(buf, 4 + PROTO_MAX_FRAME - 1, &m, err,
		    sizeof(err)), 0);
	}
}

static void
test_bad_hello(void **state)
{
	uint8_t b[300];
	size_t n;

	memset(b, 0, sizeof(b));
	for (size_t bl = 0; bl < 5; bl++) {			/* shorter than its fields */
		n = raw(buf, PROTO_HELLO, b, bl);
		expect_malformed(buf, n);
	}
	b[4] = 3;						/* name length 3 ... */
	memcpy(b + 5, "abcdef", 6);
	expect_malformed(buf, raw(buf, PROTO_HELLO, b, 5 + 2));	/* ... 2 octets */
	expect_malformed(buf, raw(buf, PROTO_HELLO, b, 5 + 4));	/* ... 4 octets */
	b[4] = 255;
	expect_malformed(buf, raw(buf, PROTO_HELLO, b, 5 + 254));
	expect_malformed(buf, raw(buf, PROTO_HELLO, b, 5));
}

static void
test_bad_hello_ok(void **state)
{
	uint8_t b[3] = { 0, 1, 0 };

	expect_malformed(buf, raw(buf, PROTO_HELLO_OK, b, 0));
	expect_malformed(buf, raw(buf, PROTO_HELLO_OK, b, 1));
	expect_malformed(buf, raw(buf, PROTO_HELLO_OK, b, 3));
}

static void
test_bad_query(void **state)
{
	static uint8_t b[PROTO_QUERY_HDR + PROTO_MAX_DNS + 2];
	size_t bl;

	for (bl = 0; bl < PROTO_QUERY_HDR + PROTO_MIN_DNS; bl++) {	/* DNS < 12, or none */
		query_body(b, PROTO_UDP, 4, PROTO_MIN_DNS);
		expect_malformed(buf, raw(buf, PROTO_QUERY, b, bl));
	}
	bl = query_body(b, PROTO_UDP, 4, PROTO_MAX_DNS + 1);		/* DNS > 65,535 */
	expect_malformed(buf, raw(buf, PROTO_QUERY, b, bl));
	for (int fam = 0; fam < 256; fam++) {
		if (fam == 4 || fam == 6)
			continue;
		bl = query_body(b, PROTO_UDP, (uint8_t)fam, PROTO_MIN_DNS);
		expect_malformed(buf, raw(buf, PROTO_QUERY, b, bl));
	}
	for (int tr = 2; tr < 256; tr++) {
		bl = query_body(b, (uint8_t)tr, 4, PROTO_MIN_DNS);
		expect_malformed(buf, raw(buf, PROTO_QUERY, b, bl));
	}
}

static void
test_bad_answer(void **state)
{
	static uint8_t b[4 + PROTO_MAX_DNS + 1];

	memset(b, 0, sizeof(b));
	for (size_t bl = 0; bl < 4 + PROTO_MIN_DNS; bl++)
		expect_malformed(buf, raw(buf, PROTO_ANSWER, b, bl));
	expect_malformed(buf, raw(buf, PROTO_ANSWER, b, 4 + PROTO_MAX_DNS + 1));
}

static void
test_bad_error(void **state)
{
	uint8_t b[2 + 256];

	memset(b, 'x', sizeof(b));
	expect_malformed(buf, raw(buf, PROTO_ERROR, b, 0));
	expect_malformed(buf, raw(buf, PROTO_ERROR, b, 1));
	expect_malformed(buf, raw(buf, PROTO_ERROR, b, 2 + 256));	/* reason > 255 */
}

static void
test_unknown_type(void **state)
{
	uint8_t b[64];

	memset(b, 0, sizeof(b));
	for (int t = 0; t < 256; t++) {
		if (t >= PROTO_HELLO && t <= PROTO_ERROR)
			continue;
		expect_malformed(buf, raw(buf, (uint8_t)t, b, 0));
		expect_malformed(buf, raw(buf, (uint8_t)t, b, sizeof(b)));
	}
}

/* ---- encoders' limits ---- */

static void
test_encoders_refuse(void **state)
{
	fill_dns(PROTO_MAX_DNS + 1);
	/* Too small a buffer, by one octet. */
	assert_int_equal(proto_encode_hello(buf, PROTO_HDR + 5 + 2, 1, "abc"), -1);
	assert_int_equal(proto_encode_hello_ok(buf, PROTO_HDR + 1, 1), -1);
	assert_int_equal(proto_encode_query(buf, PROTO_HDR + PROTO_QUERY_HDR + 19, 1, 0, NULL,
	    512, dns, 20), -1);
	assert_int_equal(proto_encode_answer(buf, PROTO_HDR + 4 + 19, 1, dns, 20), -1);
	assert_int_equal(proto_encode_error(buf, PROTO_HDR + 2 + 3, 1, "abcd"), -1);
	/* Exactly enough. */
	assert_int_equal(proto_encode_hello(buf, PROTO_HDR + 5 + 3, 1, "abc"),
	    PROTO_HDR + 5 + 3);
	assert_int_equal(proto_encode_answer(buf, PROTO_HDR + 4 + 20, 1, dns, 20),
	    PROTO_HDR + 4 + 20);
	/* DNS messages out of range. */
	assert_int_equal(proto_encode_query(buf, sizeof(buf), 1, 0, NULL, 512, dns, 11), -1);
	assert_int_equal(proto_encode_query(buf, sizeof(buf), 1, 0, NULL, 512, dns,
	    PROTO_MAX_DNS + 1), -1);
	assert_int_equal(proto_encode_answer(buf, sizeof(buf), 1, dns, 11), -1);
	assert_int_equal(proto_encode_answer(buf, sizeof(buf), 1, dns, PROTO_MAX_DNS + 1), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hello),
		cmocka_unit_test(test_hello_ok),
		cmocka_unit_test(test_query_v4),
		cmocka_unit_test(test_query_v6_largest),
		cmocka_unit_test(test_answer),
		cmocka_unit_test(test_error),
		cmocka_unit_test(test_stream_of_frames),
		cmocka_unit_test(test_bad_length),
		cmocka_unit_test(test_bad_hello),
		cmocka_unit_test(test_bad_hello_ok),
		cmocka_unit_test(test_bad_query),
		cmocka_unit_test(test_bad_answer),
		cmocka_unit_test(test_bad_error),
		cmocka_unit_test(test_unknown_type),
		cmocka_unit_test(test_encoders_refuse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
