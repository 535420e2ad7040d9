/* test_dnsr_config.c: unit tests of dnsr's [forward-zone] and [stub-zone] sections. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "dnsr/dnsr.h"
#include "dnsr/hints.h"
#include "common/dname.h"
#include "common/wire.h"

static char path[64];

/* Loads text as dnsr's configuration into c; returns the error count. */
static int
load(struct dnsr_conf *c, const char *text)
{
	FILE *f, *devnull = fopen("/dev/null", "w");
	int fd, n;

	strcpy(path, "/tmp/test_dnsr_config_XXXXXX");
	assert_true((fd = mkstemp(path)) >= 0);
	assert_non_null(f = fdopen(fd, "w"));
	fputs(text, f);
	fclose(f);
	n = dnsr_conf_load(c, path, devnull);
	fclose(devnull);
	unlink(path);
	return n;
}

/* The name of the zone dnsr_zone_find() gives for (name, qtype), or "-" for none. */
static const char *
zone_of(const struct dnsr_conf *c, const char *name, uint16_t qtype, char *buf)
{
	uint8_t wire[DNAME_MAXLEN];
	const struct dnsr_zone *z;

	assert_true(dname_from_str(name, NULL, wire) > 0);
	dname_lower(wire);
	if ((z = dnsr_zone_find(c, wire, qtype)) == NULL)
		return "-";
	return dname_to_str(z->name, buf, DNAME_STRLEN);
}

#define BASE	"[resolver]\nmode = forward\nforwarders = 192.0.2.1\n" \
		"[dnssec]\nvalidation = no\n"

static void
test_longest_zone_and_ds_at_the_parent(void **state)
{
	struct dnsr_conf c;
	char buf[DNAME_STRLEN];

	assert_int_equal(load(&c, BASE
	    "[forward-zone Corp]\nservers = 10.0.0.1, 10.0.0.2:5353\n"
	    "[stub-zone a.corp.]\nservers = 127.0.0.1:5300\ninsecure = yes\n"
	    "[stub-zone b]\nservers = ::1\n"), 0);
	assert_int_equal(c.nzones, 3);
	assert_int_equal(c.zones[0]->kind, DNSR_ZONE_FORWARD);
	assert_int_equal(c.zones[0]->servers->nns, 2);
	assert_false(c.zones[0]->on_loopback);
	assert_int_equal(c.zones[1]->kind, DNSR_ZONE_STUB);
	assert_true(c.zones[1]->insecure);
	assert_true(c.zones[1]->on_loopback);
	assert_true(c.zones[2]->on_loopback);

	assert_string_equal(zone_of(&c, "www.corp.", DNS_TYPE_A, buf), "corp.");
	assert_string_equal(zone_of(&c, "CORP.", DNS_TYPE_A, buf), "corp.");
	assert_string_equal(zone_of(&c, "x.a.corp.", DNS_TYPE_A, buf), "a.corp.");
	assert_string_equal(zone_of(&c, "a.corp.", DNS_TYPE_A, buf), "a.corp.");
	/* DS is the parent's: a stub zone's apex DS goes by the zone above it. */
	assert_string_equal(zone_of(&c, "a.corp.", DNS_TYPE_DS, buf), "corp.");
	assert_string_equal(zone_of(&c, "x.a.corp.", DNS_TYPE_DS, buf), "a.corp.");
	assert_string_equal(zone_of(&c, "corp.", DNS_TYPE_DS, buf), "-");
	assert_string_equal(zone_of(&c, "b.", DNS_TYPE_DS, buf), "-");
	assert_string_equal(zone_of(&c, "notcorp.", DNS_TYPE_A, buf), "-");
	assert_string_equal(zone_of(&c, ".", DNS_TYPE_DS, buf), "-");
	dnsr_conf_free(&c);
}

static void
test_errors(void **state)
{
	struct dnsr_conf c;

	/* Each is one error. */
	assert_int_equal(load(&c, BASE "[stub-zone a.]\n"), 1);		/* no servers */
	dnsr_conf_free(&c);
	assert_int_equal(load(&c, BASE "[stub-zone a.]\nservers = 1.2.3.4\n"
	    "[forward-zone A]\nservers = 1.2.3.4\n"), 1);
	dnsr_conf_free(&c);
	assert_int_equal(load(&c, BASE "[stub-zone a..]\nservers = 1.2.3.4\n"), 1);
	dnsr_conf_free(&c);
	assert_int_equal(load(&c, BASE "[stub-zone a.]\nservers =\n"), 1);
	dnsr_conf_free(&c);
	assert_int_equal(load(&c, BASE "[stub-zone a.]\nservers = x\n"), 1);
	dnsr_conf_free(&c);
}

/* No zones: nothing found, nothing allocated. */
static void
test_no_zones(void **state)
{
	struct dnsr_conf c;
	uint8_t root = 0;

	assert_int_equal(load(&c, BASE), 0);
	assert_int_equal(c.nzones, 0);
	assert_null(dnsr_zone_find(&c, &root, DNS_TYPE_A));
	dnsr_conf_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_longest_zone_and_ds_at_the_parent),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_no_zones),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
