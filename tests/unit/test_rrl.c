/* test_rrl.c: unit tests of response rate limiting per client prefix (authd/rrl.c). */
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

#include "authd/rrl.h"

static struct rrl *r;

/* The table is 512 KiB: on the heap. The seed is fixed so that bucket collisions, which
 * only ever limit more, are the same on every run: the prefixes below do not collide. */
static void
init(unsigned rate, unsigned slip, unsigned v4, unsigned v6)
{
	rrl_init(r, rate, slip, v4, v6);
	r->seed = UINT64_C(0x5eed5eed5eed5eed);
}

static int
setup(void **state)
{
	return (r = malloc(sizeof(*r))) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	free(r);
	r = NULL;
	return 0;
}

static struct sockaddr_storage ss;

static const struct sockaddr *
sa(const char *addr, uint16_t port)
{
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, addr, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		ss.ss_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons(port);
	} else {
		assert_int_equal(inet_pton(AF_INET6, addr,
		    &((struct sockaddr_in6 *)&ss)->sin6_addr), 1);
		ss.ss_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
	}
	return (const struct sockaddr *)&ss;
}

static enum rrl_action
check(const char *addr, uint32_t now)
{
	return rrl_check(r, sa(addr, 5353), now);
}

static void
test_off(void **state)
{
	init(0, 2, 24, 56);
	for (int i = 0; i < 10000; i++)
		assert_int_equal(check("192.0.2.1", 100), RRL_SEND);
	assert_int_equal(r->limited, 0);
}

/* rate responses a second go out; past it, every slip-th is TC=1, the others dropped. */
static void
test_rate_and_slip(void **state)
{
	init(5, 2, 24, 56);
	for (int i = 0; i < 5; i++)
		assert_int_equal(check("192.0.2.1", 100), RRL_SEND);
	assert_int_equal(r->limited, 0);
	assert_int_equal(check("192.0.2.1", 100), RRL_DROP);	/* 1 over */
	assert_int_equal(check("192.0.2.1", 100), RRL_SLIP);	/* 2 over */
	assert_int_equal(check("192.0.2.1", 100), RRL_DROP);
	assert_int_equal(check("192.0.2.1", 100), RRL_SLIP);
	assert_int_equal(r->limited, 4);

	init(3, 3, 24, 56);
	for (int i = 0; i < 3; i++)
		assert_int_equal(check("198.51.100.9", 7), RRL_SEND);
	for (int i = 1; i <= 9; i++)
		assert_int_equal(check("198.51.100.9", 7), i % 3 == 0 ? RRL_SLIP : RRL_DROP);
	assert_int_equal(r->limited, 9);
}

static void
test_slip_zero_and_one(void **state)
{
	init(1, 0, 24, 56);		/* slip 0: never TC=1, always dropped */
	assert_int_equal(check("192.0.2.1", 100), RRL_SEND);
	for (int i = 0; i < 10; i++)
		assert_int_equal(check("192.0.2.1", 100), RRL_DROP);
	init(1, 1, 24, 56);		/* slip 1: every limited response is TC=1 */
	assert_int_equal(check("192.0.2.1", 100), RRL_SEND);
	for (int i = 0; i < 10; i++)
		assert_int_equal(check("192.0.2.1", 100), RRL_SLIP);
	assert_int_equal(r->limited, 10);
}

/* The budget is per second: the next second starts afresh, no sleeping needed. */
static void
test_window_resets(void **state)
{
	init(4, 2, 24, 56);
	for (int i = 0; i < 4; i++)
		assert_int_equal(check("203.0.113.7", 1000), RRL_SEND);
	assert_int_equal(check("203.0.113.7", 1000), RRL_DROP);
	for (int i = 0; i < 4; i++)
		assert_int_equal(check("203.0.113.7", 1001), RRL_SEND);
	assert_int_equal(check("203.0.113.7", 1001), RRL_DROP);
	assert_int_equal(check("203.0.113.7", 1001), RRL_SLIP);
	/* A long pause, and a time that runs backwards (a new second all the same). */
	assert_int_equal(check("203.0.113.7", 5000), RRL_SEND);
	assert_int_equal(check("203.0.113.7", 999), RRL_SEND);
	assert_int_equal(r->limited, 3);
}

/* IPv4 /24: the whole /24 shares one budget, whatever the host or port. */
static void
test_v4_prefix(void **state)
{
	init(2, 2, 24, 56);
	assert_int_equal(rrl_check(r, sa("192.0.2.1", 1), 50), RRL_SEND);
	assert_int_equal(rrl_check(r, sa("192.0.2.254", 2), 50), RRL_SEND);
	assert_int_equal(rrl_check(r, sa("192.0.2.77", 3), 50), RRL_DROP);
	/* Another /24 is not limited by the first one's traffic. */
	assert_int_equal(check("192.0.3.1", 50), RRL_SEND);
	assert_int_equal(check("192.0.3.1", 50), RRL_SEND);
	assert_int_equal(check("192.0.3.1", 50), RRL_DROP);
	assert_int_equal(check("10.0.2.1", 50), RRL_SEND);

	/* A prefix that is not a whole number of octets: /20. */
	init(1, 0, 20, 56);
	assert_int_equal(check("10.0.16.1", 50), RRL_SEND);
	assert_int_equal(check("10.0.31.255", 50), RRL_DROP);	/* same /20 */
	assert_int_equal(check("10.0.32.1", 50), RRL_SEND);	/* next /20 */
	assert_int_equal(check("10.0.15.255", 50), RRL_SEND);	/* previous /20 */

	/* /32: every host on its own. */
	init(1, 0, 32, 128);
	assert_int_equal(check("192.0.2.1", 50), RRL_SEND);
	assert_int_equal(check("192.0.2.2", 50), RRL_SEND);
	assert_int_equal(check("192.0.2.1", 50), RRL_DROP);
}

/* IPv6 /56: a site shares a budget, the next /56 does not. */
static void
test_v6_prefix(void **state)
{
	init(2, 2, 24, 56);
	assert_int_equal(check("2001:db8:0:100::1", 9), RRL_SEND);
	assert_int_equal(check("2001:db8:0:1ff:ffff::2", 9), RRL_SEND);
	assert_int_equal(check("2001:db8:0:1aa::53", 9), RRL_DROP);
	assert_int_equal(check("2001:db8:0:200::1", 9), RRL_SEND);
	assert_int_equal(check("2001:db8:0:0ff::1", 9), RRL_SEND);
	assert_int_equal(check("2001:db8:1:100::1", 9), RRL_SEND);
	/* An IPv4 client is not in any IPv6 prefix, even with the same leading octets. */
	assert_int_equal(check("32.1.13.184", 9), RRL_SEND);	/* 2001:0db8 */

	init(1, 0, 24, 128);
	assert_int_equal(check("2001:db8::1", 9), RRL_SEND);
	assert_int_equal(check("2001:db8::2", 9), RRL_SEND);
	assert_int_equal(check("2001:db8::1", 9), RRL_DROP);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_and_slip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slip_zero_and_one, setup, teardown),
		cmocka_unit_test_setup_teardown(test_window_resets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v4_prefix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v6_prefix, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
