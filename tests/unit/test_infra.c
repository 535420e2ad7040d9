/* test_infra.c: unit tests of dnsr's upstream table: RTT, back-off, cookies (dnsr/infra.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "common/dname.h"
#include "dnsr/infra.h"

/*
 * Time is passed in (now_ms), so nothing here sleeps. dname_hash's seed is the built-in
 * one (nothing calls dname_hash_seed), so the table slots of the servers below are the
 * same on every run.
 */
static struct infra *inf;

static int
setup(void **state)
{
	return (inf = infra_new()) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	infra_free(inf);
	inf = NULL;
	return 0;
}

static struct sockaddr_storage addrs[8];
static int naddr;

static const struct sockaddr *
sa(const char *addr, uint16_t port)
{
	struct sockaddr_storage *ss = &addrs[naddr++ % 8];

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
		ss->ss_family = AF_INET;
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	} else {
		assert_int_equal(inet_pton(AF_INET6, addr,
		    &((struct sockaddr_in6 *)ss)->sin6_addr), 1);
		ss->ss_family = AF_INET6;
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
	}
	return (const struct sockaddr *)ss;
}

static uint8_t zones[4][DNAME_MAXLEN];
static int nzone;

static const uint8_t *
zn(const char *s)
{
	uint8_t *out = zones[nzone++ % 4];

	assert_true(dname_from_str(s, NULL, out) > 0);
	return out;
}

static bool
penalised(uint64_t score)
{
	return score >= INFRA_PENALTY;
}

/* A server never asked scores the assumed RTT plus under a millisecond of jitter. */
static void
test_unknown(void **state)
{
	const uint8_t *z = zn("example.");

	for (int i = 0; i < 100; i++) {
		uint64_t s = infra_score(inf, sa("192.0.2.1", 53), z, 1000);

		assert_true(s >= INFRA_UNKNOWN_RTT && s < INFRA_UNKNOWN_RTT + 1000);
	}
	/* Asking its score does not make it known. */
	infra_success(inf, sa("192.0.2.1", 53), z, 30000, 1000);
	assert_int_equal(infra_score(inf, sa("192.0.2.1", 53), z, 1000), 30000);
}

/* The first RTT replaces the guess; later ones move the average by 1/8 each. */
static void
test_rtt_smoothing(void **state)
{
	const struct sockaddr *a = sa("192.0.2.1", 53);
	const uint8_t *z = zn("example.");

	infra_success(inf, a, z, 100000, 0);
	assert_int_equal(infra_score(inf, a, z, 0), 100000);
	infra_success(inf, a, z, 200000, 1);
	assert_int_equal(infra_score(inf, a, z, 1), 112500);	/* (7 * 100000 + 200000) / 8 */
	infra_success(inf, a, z, 12500, 2);
	assert_int_equal(infra_score(inf, a, z, 2), 100000);	/* (7 * 112500 + 12500) / 8 */
	/* Many fast answers converge on the new RTT. */
	for (int i = 0; i < 200; i++)
		infra_success(inf, a, z, 8000, 3);
	assert_in_range(infra_score(inf, a, z, 3), 8000, 8010);
}

/* The faster server is preferred; one that times out drops behind a slower one. */
static void
test_timeout_penalised(void **state)
{
	const struct sockaddr *fast = sa("192.0.2.1", 53), *slow = sa("198.51.100.1", 53);
	const uint8_t *z = zn("example.");
	uint64_t now = 50000;

	infra_success(inf, fast, z, 20000, now);
	infra_success(inf, slow, z, 80000, now);
	assert_true(infra_score(inf, fast, z, now) < infra_score(inf, slow, z, now));
	assert_true(infra_score(inf, slow, z, now) < INFRA_UNKNOWN_RTT);

	infra_failure(inf, fast, z, 1500000, now);
	/* Backed off: the RTT became the timeout, and the penalty is added. */
	assert_int_equal(infra_score(inf, fast, z, now), 1500000 + INFRA_PENALTY);
	assert_true(infra_score(inf, slow, z, now) < infra_score(inf, fast, z, now));
	/* After the back-off the penalty goes, the timeout stays in the average. */
	assert_int_equal(infra_score(inf, fast, z, now + INFRA_BACKOFF_MIN), 1500000);
	assert_true(infra_score(inf, slow, z, now + INFRA_BACKOFF_MIN) <
	    infra_score(inf, fast, z, now + INFRA_BACKOFF_MIN));
	/* And a server never asked is tried before it. */
	assert_true(infra_score(inf, sa("203.0.113.1", 53), z, now + INFRA_BACKOFF_MIN) <
	    infra_score(inf, fast, z, now + INFRA_BACKOFF_MIN));
	/* An answer ends the back-off and is smoothed in (not a fresh start). */
	infra_failure(inf, fast, z, 1500000, now + 2000);
	assert_true(penalised(infra_score(inf, fast, z, now + 2000)));
	infra_success(inf, fast, z, 20000, now + 2001);
	assert_int_equal(infra_score(inf, fast, z, now + 2001), (1500000 * 7 + 20000) / 8);
}

/* A failure that is no timeout (REFUSED, lame) backs off without lowering the RTT. */
static void
test_bad_answer_keeps_rtt(void **state)
{
	const struct sockaddr *a = sa("2001:db8::53", 53);
	const uint8_t *z = zn("example.org.");

	infra_success(inf, a, z, 300000, 0);
	infra_failure(inf, a, z, 1000, 10);
	assert_int_equal(infra_score(inf, a, z, 10), 300000 + INFRA_PENALTY);
	assert_int_equal(infra_score(inf, a, z, 10 + INFRA_BACKOFF_MIN), 300000);
	/* A failure of a server never asked: back-off from the assumed RTT. */
	infra_failure(inf, sa("2001:db8::54", 53), z, 0, 10);
	assert_int_equal(infra_score(inf, sa("2001:db8::54", 53), z, 10),
	    INFRA_UNKNOWN_RTT + INFRA_PENALTY);
}

/* Failures in a row double the back-off, up to INFRA_BACKOFF_MAX. */
static void
test_backoff_doubles(void **state)
{
	const struct sockaddr *a = sa("192.0.2.9", 53);
	const uint8_t *z = zn("example.");
	uint64_t now = 1000000, want = INFRA_BACKOFF_MIN;

	for (int i = 0; i < 12; i++) {
		infra_failure(inf, a, z, 800000, now);
		assert_true(penalised(infra_score(inf, a, z, now + want - 1)));
		assert_false(penalised(infra_score(inf, a, z, now + want)));
		now += want;		/* the next failure comes when the back-off ended */
		want = want * 2 > INFRA_BACKOFF_MAX ? INFRA_BACKOFF_MAX : want * 2;
	}
	assert_int_equal(want, INFRA_BACKOFF_MAX);
	/* One success resets the series: the next failure backs off the minimum again. */
	infra_success(inf, a, z, 800000, now);
	assert_false(penalised(infra_score(inf, a, z, now)));
	infra_failure(inf, a, z, 800000, now);
	assert_true(penalised(infra_score(inf, a, z, now + INFRA_BACKOFF_MIN - 1)));
	assert_false(penalised(infra_score(inf, a, z, now + INFRA_BACKOFF_MIN)));
}

/* What is learned is per (address, port, zone): one broken zone does not taint another. */
static void
test_keyed_per_server_and_zone(void **state)
{
	const uint8_t *com = zn("com."), *net = zn("net.");

	infra_success(inf, sa("192.0.2.1", 53), com, 10000, 0);
	infra_failure(inf, sa("192.0.2.1", 53), net, 2000000, 0);
	assert_int_equal(infra_score(inf, sa("192.0.2.1", 53), com, 0), 10000);
	assert_true(penalised(infra_score(inf, sa("192.0.2.1", 53), net, 0)));
	/* Zone names are compared case-insensitively. */
	assert_int_equal(infra_score(inf, sa("192.0.2.1", 53), zn("COM."), 0), 10000);
	/* Another port or another address is another server. */
	assert_in_range(infra_score(inf, sa("192.0.2.1", 5353), com, 0),
	    INFRA_UNKNOWN_RTT, INFRA_UNKNOWN_RTT + 999);
	assert_in_range(infra_score(inf, sa("192.0.2.3", 53), com, 0),
	    INFRA_UNKNOWN_RTT, INFRA_UNKNOWN_RTT + 999);
	assert_in_range(infra_score(inf, sa("::ffff:192.0.2.1", 53), com, 0),
	    INFRA_UNKNOWN_RTT, INFRA_UNKNOWN_RTT + 999);
}

static void
test_cookies(void **state)
{
	uint8_t c1[8], c2[8], c3[8], server[INFRA_COOKIE_MAX];
	uint8_t learned[16] = "0123456789abcdef";

	/* Nothing learned yet; our client cookie is stable per address and differs across. */
	assert_int_equal(infra_cookie(inf, sa("192.0.2.1", 53), c1, server), 0);
	assert_int_equal(infra_cookie(inf, sa("192.0.2.1", 53), c2, server), 0);
	assert_memory_equal(c1, c2, 8);
	infra_cookie(inf, sa("192.0.2.2", 53), c3, server);
	assert_memory_not_equal(c1, c3, 8);

	infra_cookie_learn(inf, sa("192.0.2.1", 53), learned, sizeof(learned));
	memset(server, 0, sizeof(server));
	assert_int_equal(infra_cookie(inf, sa("192.0.2.1", 53), c2, server), 16);
	assert_memory_equal(server, learned, 16);
	assert_memory_equal(c1, c2, 8);
	/* Per address and port: not given to another port or address. */
	assert_int_equal(infra_cookie(inf, sa("192.0.2.1", 853), c2, server), 0);
	assert_int_equal(infra_cookie(inf, sa("192.0.2.2", 53), c2, server), 0);
	/* Cookies of the wrong size (RFC 7873: 8 to 32 octets) are not learned. */
	infra_cookie_learn(inf, sa("2001:db8::1", 53), learned, 7);
	assert_int_equal(infra_cookie(inf, sa("2001:db8::1", 53), c2, server), 0);
	{
		uint8_t big[INFRA_COOKIE_MAX + 1];

		memset(big, 0xab, sizeof(big));
		infra_cookie_learn(inf, sa("2001:db8::1", 53), big, sizeof(big));
		assert_int_equal(infra_cookie(inf, sa("2001:db8::1", 53), c2, server), 0);
		infra_cookie_learn(inf, sa("2001:db8::1", 53), big, INFRA_COOKIE_MAX);
		assert_int_equal(infra_cookie(inf, sa("2001:db8::1", 53), c2, server),
		    INFRA_COOKIE_MAX);
		assert_memory_equal(server, big, INFRA_COOKIE_MAX);
	}
	/* A new cookie replaces the old one. */
	infra_cookie_learn(inf, sa("192.0.2.1", 53), (const uint8_t *)"ABCDEFGH", 8);
	assert_int_equal(infra_cookie(inf, sa("192.0.2.1", 53), c2, server), 8);
	assert_memory_equal(server, "ABCDEFGH", 8);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rtt_smoothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout_penalised, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_answer_keeps_rtt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backoff_doubles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keyed_per_server_and_zone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cookies, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
