/* test_net.c: unit tests of common/net.c's address helpers (net_addr_kind). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <cmocka.h>

#include "common/net.h"

/* The kind of a textual IPv4 or IPv6 address. */
static enum net_addr_kind
kind(const char *text)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
	} else {
		assert_int_equal(inet_pton(AF_INET6, text, &sin6->sin6_addr), 1);
		sin6->sin6_family = AF_INET6;
	}
	return net_addr_kind((struct sockaddr *)&ss);
}

static void
test_ipv4(void **state)
{
	static const char *unusable[] = { "0.0.0.0", "0.0.0.1", "0.255.255.255",
	    "127.255.255.255", "224.0.0.1", "239.255.255.250", "240.0.0.1",
	    "255.255.255.255" };
	static const char *loopback[] = { "127.0.0.1", "127.0.0.53", "127.1.2.3",
	    "127.255.255.254" };
	static const char *unicast[] = { "1.0.0.1", "10.0.0.1", "192.0.2.1", "198.41.0.4",
	    "223.255.255.255", "126.255.255.255", "128.0.0.1" };

	for (size_t i = 0; i < sizeof(unusable) / sizeof(unusable[0]); i++)
		assert_int_equal(kind(unusable[i]), NET_ADDR_UNUSABLE);
	for (size_t i = 0; i < sizeof(loopback) / sizeof(loopback[0]); i++)
		assert_int_equal(kind(loopback[i]), NET_ADDR_LOOPBACK);
	for (size_t i = 0; i < sizeof(unicast) / sizeof(unicast[0]); i++)
		assert_int_equal(kind(unicast[i]), NET_ADDR_UNICAST);
}

static void
test_ipv6(void **state)
{
	/* IPv4-mapped addresses are what their IPv4 address is. */
	static const char *unusable[] = { "::", "ff02::1", "ff0e::fb", "fe80::1",
	    "::ffff:0.0.0.1", "::ffff:224.0.0.1", "::ffff:127.255.255.255",
	    "::ffff:255.255.255.255" };
	static const char *loopback[] = { "::1", "::ffff:127.0.0.1" };
	static const char *unicast[] = { "2001:db8::1", "2001:500:2f::f", "fd00::1",
	    "::ffff:192.0.2.1" };

	for (size_t i = 0; i < sizeof(unusable) / sizeof(unusable[0]); i++)
		assert_int_equal(kind(unusable[i]), NET_ADDR_UNUSABLE);
	for (size_t i = 0; i < sizeof(loopback) / sizeof(loopback[0]); i++)
		assert_int_equal(kind(loopback[i]), NET_ADDR_LOOPBACK);
	for (size_t i = 0; i < sizeof(unicast) / sizeof(unicast[0]); i++)
		assert_int_equal(kind(unicast[i]), NET_ADDR_UNICAST);
}

static void
test_other_family(void **state)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNIX;
	assert_int_equal(net_addr_kind((struct sockaddr *)&ss), NET_ADDR_UNUSABLE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_other_family),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
