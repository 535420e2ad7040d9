/* test_acl.c: unit tests of the CIDR lists dnsr's `allow` uses (common/acl.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/acl.h"

static bool
allowed(const struct acl *acl, const char *addr)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, addr, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		ss.ss_family = AF_INET;
	} else {
		assert_int_equal(inet_pton(AF_INET6, addr,
		    &((struct sockaddr_in6 *)&ss)->sin6_addr), 1);
		ss.ss_family = AF_INET6;
	}
	return acl_match(acl, (struct sockaddr *)&ss);
}

static void
test_default_is_loopback_only(void **state)
{
	struct acl acl;
	char err[128];

	assert_int_equal(acl_parse("127.0.0.0/8, ::1", &acl, err, sizeof(err)), 0);
	assert_int_equal(acl.n, 2);
	assert_true(allowed(&acl, "127.0.0.1"));
	assert_true(allowed(&acl, "127.255.0.9"));
	assert_true(allowed(&acl, "::1"));
	assert_true(allowed(&acl, "::ffff:127.0.0.1"));	/* v4-mapped: matched as v4 */
	assert_false(allowed(&acl, "128.0.0.1"));
	assert_false(allowed(&acl, "10.0.0.1"));
	assert_false(allowed(&acl, "::2"));
	assert_false(allowed(&acl, "::ffff:10.0.0.1"));
	assert_false(allowed(&acl, "2001:db8::1"));
}

static void
test_prefixes(void **state)
{
	struct acl acl;
	char err[128];

	assert_int_equal(acl_parse("192.0.2.128/25, 2001:db8:40::/42, 198.51.100.7",
	    &acl, err, sizeof(err)), 0);
	assert_true(allowed(&acl, "192.0.2.128"));
	assert_true(allowed(&acl, "192.0.2.255"));
	assert_false(allowed(&acl, "192.0.2.127"));
	assert_true(allowed(&acl, "2001:db8:40::1"));
	assert_true(allowed(&acl, "2001:db8:7f:ffff::1"));
	assert_false(allowed(&acl, "2001:db8:80::1"));
	assert_true(allowed(&acl, "198.51.100.7"));
	assert_false(allowed(&acl, "198.51.100.8"));
	assert_int_equal(acl_parse("0.0.0.0/0", &acl, err, sizeof(err)), 0);
	assert_true(allowed(&acl, "203.0.113.1"));
	assert_false(allowed(&acl, "::1"));		/* families do not mix */
}

static void
test_errors(void **state)
{
	static const char *const bad[] = {
		"10.0.0.1/8",		/* host bits: a typo for a host or a network */
		"10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/x", "10.0.0", "localhost",
		"/8", "fe80::1%eth0",
	};
	struct acl acl;
	char err[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(acl_parse(bad[i], &acl, err, sizeof(err)), -1);
		assert_true(err[0] != '\0');
		assert_int_equal(acl_check_list(bad[i], err, sizeof(err)), -1);
	}
	assert_int_equal(acl_parse("", &acl, err, sizeof(err)), 0);	/* nobody */
	assert_false(allowed(&acl, "127.0.0.1"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_is_loopback_only),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
