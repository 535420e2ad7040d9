/* test_hints.c: unit tests of the root hints reader (named.root) and the forwarder list. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "dnsr/hints.h"

static char path[64];

static void
write_file(const char *text)
{
	FILE *f;
	int fd;

	strcpy(path, "/tmp/test_hints_XXXXXX");
	assert_true((fd = mkstemp(path)) >= 0);
	assert_non_null(f = fdopen(fd, "w"));
	fputs(text, f);
	fclose(f);
}

static const char *
addr_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	if (ss->ss_family == AF_INET)
		return inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, buf,
		    (socklen_t)len);
	return inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, buf,
	    (socklen_t)len);
}

static void
test_named_root(void **state)
{
	struct hints h;
	char err[256], a[64];

	/* The IANA layout: comments, upper case, A and AAAA, an address before its NS. */
	write_file(";       This file holds the information on root name servers\n"
	    "B.ROOT-SERVERS.NET.      3600000      A     170.247.170.2\n"
	    ".                        3600000      NS    A.ROOT-SERVERS.NET.\n"
	    "A.ROOT-SERVERS.NET.      3600000      A     198.41.0.4\n"
	    "A.ROOT-SERVERS.NET.      3600000      AAAA  2001:503:ba3e::2:30\n"
	    ";\n"
	    ".                        3600000      NS    B.ROOT-SERVERS.NET.\n"
	    ".                        3600000      NS    C.ROOT-SERVERS.NET.\n"
	    "; C has no address: it is dropped\n"
	    "other.example.           3600000      A     192.0.2.1\n");
	assert_int_equal(hints_load(&h, path, 5353, err, sizeof(err)), 0);
	unlink(path);
	assert_int_equal(h.nns, 2);
	assert_memory_equal(h.ns[0].name, "\x01" "a\x0c" "root-servers\x03" "net", 20);
	assert_int_equal(h.ns[0].naddr, 2);
	assert_string_equal(addr_str(&h.ns[0].addr[0], a, sizeof(a)), "198.41.0.4");
	assert_int_equal(ntohs(((struct sockaddr_in *)&h.ns[0].addr[0])->sin_port), 5353);
	assert_string_equal(addr_str(&h.ns[0].addr[1], a, sizeof(a)), "2001:503:ba3e::2:30");
	assert_int_equal(ntohs(((struct sockaddr_in6 *)&h.ns[0].addr[1])->sin6_port), 5353);
	assert_int_equal(h.ns[1].naddr, 1);
}

static void
test_errors(void **state)
{
	struct hints h;
	char err[256];

	write_file(". 3600000 NS A.ROOT.\nA.ROOT. 3600000 A 300.1.1.1\n");
	assert_int_equal(hints_load(&h, path, 53, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":2: "));		/* file:line of the bad record */
	unlink(path);
	write_file("; nothing but comments\n");
	assert_int_equal(hints_load(&h, path, 53, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no root NS"));
	unlink(path);
	assert_int_equal(hints_load(&h, "/nonexistent/root.hints", 53, err, sizeof(err)), -1);
}

static void
test_forwarders(void **state)
{
	struct hints h;
	char err[256], a[64];

	assert_int_equal(hints_forwarders(&h, "192.0.2.53, [2001:db8::53]:5300, 10.0.0.1:53",
	    err, sizeof(err)), 0);
	assert_int_equal(h.nns, 3);
	assert_int_equal(h.ns[0].name[0], 0);
	assert_string_equal(addr_str(&h.ns[0].addr[0], a, sizeof(a)), "192.0.2.53");
	assert_int_equal(ntohs(((struct sockaddr_in *)&h.ns[0].addr[0])->sin_port), 53);
	assert_int_equal(ntohs(((struct sockaddr_in6 *)&h.ns[1].addr[0])->sin6_port), 5300);
	assert_int_equal(hints_forwarders(&h, "", err, sizeof(err)), -1);
	assert_int_equal(hints_forwarders(&h, "192.0.2.1:99999", err, sizeof(err)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_named_root),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_forwarders),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
