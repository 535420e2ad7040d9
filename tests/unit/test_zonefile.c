/* test_zonefile.c: unit tests of master-file loading: directives, grouping, every error path. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <libknot/libknot.h>

#include "common/dname.h"
#include "common/zonefile.h"

static char dir[] = "/tmp/test_zonefile.XXXXXX";

/* Errors seen by the callback, as "file:line: reason" with the directory stripped. */
static char errors[16][600];
static size_t nerr;

static void
collect(void *arg, const char *file, uint64_t line, const char *reason)
{
	const char *base = strrchr(file, '/');

	(void)arg;
	if (nerr < 16)
		snprintf(errors[nerr], sizeof(errors[0]), "%s:%llu: %s", base ? base + 1 : file,
		    (unsigned long long)line, reason);
	nerr++;
}

static const char *
write_file(const char *name, const char *text)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static struct zonefile *
load(const char *text, const char *origin)
{
	nerr = 0;
	return zonefile_load(write_file("zone", text), origin, collect, NULL, NULL);
}

/* The RRset of owner (text) and type, or fails the test. */
static const struct zonefile_rrset *
find(const struct zonefile *zf, const char *owner, uint16_t type)
{
	uint8_t wire[DNAME_MAXLEN];

	assert_true(dname_from_str(owner, NULL, wire) > 0);
	for (size_t i = 0; i < zf->count; i++)
		if (zf->rrsets[i].rrset->type == type && dname_equal(zf->rrsets[i].owner, wire))
			return &zf->rrsets[i];
	fail_msg("no %s/%u", owner, type);
	return NULL;
}

static int
setup(void **state)
{
	(void)state;
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
test_directives_and_grouping(void **state)
{
	struct zonefile *zf = load(
	    "$ORIGIN example.com.\n"
	    "$TTL 300\n"
	    "@ IN SOA ns1 hostmaster ( 1 3600 900\n"
	    "    604800 60 ) ; multi-line\n"
	    "www A 192.0.2.1\n"
	    "mail 60 MX 10 mail\n"
	    "WWW A 192.0.2.2\n"
	    "www A 192.0.2.1\n"
	    "www 100 A 192.0.2.3\n", NULL);
	const struct zonefile_rrset *soa, *a, *mx;
	struct rdata_ref rd;

	(void)state;
	assert_non_null(zf);
	assert_int_equal(nerr, 0);
	assert_int_equal(zf->count, 3);
	assert_int_equal(zf->records, 6);
	soa = find(zf, "example.com.", KNOT_RRTYPE_SOA);
	assert_int_equal(soa->rrset->ttl, 300);
	assert_int_equal(soa->line, 4);		/* where the record ends */
	assert_true(soa == &zf->rrsets[0]);	/* order of first appearance */
	a = find(zf, "www.example.com.", KNOT_RRTYPE_A);
	/* Three records: case-insensitive owner, duplicate dropped, least TTL kept. */
	assert_int_equal(a->rrset->count, 3);
	assert_int_equal(a->rrset->ttl, 100);
	assert_true(a->ttl_differs);
	assert_int_equal(a->line, 5);
	assert_memory_equal(a->owner, "\3www\7example\3com", 17);	/* lower case */
	mx = find(zf, "mail.example.com.", KNOT_RRTYPE_MX);
	assert_int_equal(mx->rrset->ttl, 60);
	assert_false(mx->ttl_differs);
	assert_non_null(rrset_first(mx->rrset, &rd));
	/* Relative name in RDATA completed with the origin. */
	assert_int_equal(rd.len, 2 + 18);
	assert_memory_equal(rd.data + 2, "\4mail\7example\3com", 18);
	assert_non_null(strstr(a->file, "/zone"));
	zonefile_free(zf);
}

static void
test_origin_argument(void **state)
{
	struct zonefile *zf = load("$TTL 60\n@ NS ns\nns A 192.0.2.53\n", "example.org");

	(void)state;
	assert_non_null(zf);
	find(zf, "example.org.", KNOT_RRTYPE_NS);
	find(zf, "ns.example.org.", KNOT_RRTYPE_A);
	zonefile_free(zf);
}

static void
test_include(void **state)
{
	struct zonefile *zf;
	const struct zonefile_rrset *c;

	(void)state;
	write_file("inc", "c A 10.0.0.1\nd TXT \"in include\"\n");
	zf = load("$ORIGIN example.com.\n$TTL 60\nwww A 192.0.2.1\n"
	    "$INCLUDE inc sub.example.com.\nafter A 192.0.2.9\n", NULL);
	assert_non_null(zf);
	c = find(zf, "c.sub.example.com.", KNOT_RRTYPE_A);
	assert_non_null(strstr(c->file, "/inc"));
	assert_int_equal(c->line, 1);
	find(zf, "d.sub.example.com.", KNOT_RRTYPE_TXT);
	/* The origin is restored after the included file. */
	find(zf, "after.example.com.", KNOT_RRTYPE_A);
	zonefile_free(zf);
}

static void
test_escapes_and_generic(void **state)
{
	struct zonefile *zf = load("$ORIGIN example.com.\n$TTL 60\n"
	    "a\\.b A 192.0.2.1\n"
	    "sp\\032ace TXT \"quote \\\" and \\\\ and \\255\"\n"
	    "x TYPE65280 \\# 3 0a0b0c\n"
	    "y A \\# 4 c0000201\n", NULL);
	const struct zonefile_rrset *r;
	struct rdata_ref rd;

	(void)state;
	assert_non_null(zf);
	r = find(zf, "a\\.b.example.com.", KNOT_RRTYPE_A);
	assert_int_equal(r->owner[0], 3);
	r = find(zf, "sp\\032ace.example.com.", KNOT_RRTYPE_TXT);
	rrset_first(r->rrset, &rd);
	assert_int_equal(rd.len, 1 + 19);
	assert_memory_equal(rd.data + 1, "quote \" and \\ and \xff", 19);
	r = find(zf, "x.example.com.", 65280);
	rrset_first(r->rrset, &rd);
	assert_int_equal(rd.len, 3);
	r = find(zf, "y.example.com.", KNOT_RRTYPE_A);
	rrset_first(r->rrset, &rd);
	assert_memory_equal(rd.data, "\xc0\x00\x02\x01", 4);
	zonefile_free(zf);
}

static void
test_syntax_errors_all_reported(void **state)
{
	struct zonefile *zf = load("$ORIGIN example.com.\n$TTL 60\n"
	    "ok A 192.0.2.1\n"
	    "bad A 999.1.1.1\n"
	    "ok2 A 192.0.2.2\n"
	    "mx MX 10\n", NULL);

	(void)state;
	assert_null(zf);
	assert_int_equal(nerr, 2);
	assert_string_equal(errors[0], "zone:4: invalid IPv4 address");
	assert_string_equal(errors[1], "zone:6: invalid number");
}

static void
test_no_origin(void **state)
{
	struct zonefile *zf;

	(void)state;
	zf = load("$TTL 60\nexample.com. NS ns1.example.com.\n@ A 192.0.2.1\n"
	    "example.com. MX 10 mail\n", NULL);
	assert_null(zf);
	assert_int_equal(nerr, 2);
	assert_non_null(strstr(errors[0], "zone:3: relative owner name"));
	assert_non_null(strstr(errors[1], "zone:4: relative name in the data"));
	/* Absolute names, or a $ORIGIN first, need no origin. */
	zf = load("$TTL 60\nexample.com. NS ns1.example.com.\n$ORIGIN example.com.\n"
	    "@ MX 10 mail\nsrv SRV 0 1 53 ns1\nn NAPTR 1 2 \"S\" \"x\" \"\" t\n", NULL);
	assert_non_null(zf);
	zonefile_free(zf);
	/* NAPTR's name sits behind its header. */
	zf = load("$TTL 60\nn.example.com. NAPTR 1 2 \"S\" \"x\" \"\" t\n", NULL);
	assert_null(zf);
	assert_non_null(strstr(errors[0], "relative name in the data"));
}

static void
test_ttl_required(void **state)
{
	struct zonefile *zf = load("$ORIGIN example.com.\na 100 A 192.0.2.1\nb A 192.0.2.2\n",
	    NULL);

	(void)state;
	assert_null(zf);
	assert_int_equal(nerr, 1);
	assert_non_null(strstr(errors[0], "zone:3: no TTL"));
}

static void
test_file_errors(void **state)
{
	char path[300];
	struct zonefile *zf;

	(void)state;
	nerr = 0;
	snprintf(path, sizeof(path), "%s/missing", dir);
	assert_null(zonefile_load(path, "example.com.", collect, NULL, NULL));
	assert_int_equal(nerr, 1);
	assert_non_null(strstr(errors[0], "missing:0: "));
	/* A missing include names the included file, at the $INCLUDE line. */
	zf = load("$ORIGIN example.com.\n$TTL 60\n$INCLUDE nothere\n", NULL);
	assert_null(zf);
	assert_int_equal(nerr, 1);
	assert_non_null(strstr(errors[0], "zone:3: $INCLUDE "));
	assert_non_null(strstr(errors[0], "/nothere: "));
	/* An error inside an include is reported there, once; the includer goes on. */
	write_file("inc2", "ok A 192.0.2.1\nbad AAAA 192.0.2.1\n");
	zf = load("$ORIGIN example.com.\n$TTL 60\n$INCLUDE inc2\nlater A 1.2.3\n", NULL);
	assert_null(zf);
	assert_int_equal(nerr, 2);
	assert_string_equal(errors[0], "inc2:2: invalid IPv6 address");
	assert_string_equal(errors[1], "zone:4: invalid IPv4 address");
}

static void
test_include_loop_and_depth(void **state)
{
	char name[32], text[64];
	struct zonefile *zf;
	size_t n = 0;

	(void)state;
	/* A file that includes itself: one error, not thousands of nested scanners. */
	write_file("loop", "$INCLUDE loop\n");
	nerr = 0;
	snprintf(text, sizeof(text), "%s/loop", dir);
	assert_null(zonefile_load(text, "example.com.", collect, NULL, &n));
	assert_int_equal(n, 1);
	assert_non_null(strstr(errors[0], "loop:1: $INCLUDE "));
	assert_non_null(strstr(errors[0], "includes itself"));
	/* Two files including each other. */
	write_file("ping", "$INCLUDE pong\n");
	write_file("pong", "a A 192.0.2.1\n$INCLUDE ping\n");
	zf = load("$TTL 1\n$INCLUDE ping\n", "example.com.");
	assert_null(zf);
	assert_int_equal(nerr, 1);
	assert_non_null(strstr(errors[0], "pong:2: $INCLUDE"));
	/* d0 includes d1 ... includes d19: too deep, said where. */
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "d%d", i);
		snprintf(text, sizeof(text), "$INCLUDE d%d\n", i + 1);
		write_file(name, text);
	}
	write_file("d20", "x A 192.0.2.1\n");
	zf = load("$TTL 1\n$INCLUDE d0\n", "example.com.");
	assert_null(zf);
	assert_int_equal(nerr, 1);
	assert_non_null(strstr(errors[0], "d15:1: $INCLUDE"));
	assert_non_null(strstr(errors[0], "more than 16 files deep"));
	/* 16 levels are fine, and the $TTL of the includer applies inside. */
	write_file("d15", "x A 192.0.2.1\n");
	zf = load("$TTL 77\n$INCLUDE d0\n", "example.com.");
	assert_non_null(zf);
	assert_int_equal(find(zf, "x.example.com.", KNOT_RRTYPE_A)->rrset->ttl, 77);
	zonefile_free(zf);
}

/* libzscanner 3.2 overflows its parser stack after 16 $INCLUDEs in one file: refused. */
static void
test_too_many_includes(void **state)
{
	char text[2048] = "$TTL 60\n";
	struct zonefile *zf;

	(void)state;
	write_file("empty", "");
	for (int i = 0; i < ZONEFILE_MAX_INCLUDES; i++)
		strcat(text, "$INCLUDE empty\n");
	strcat(text, "www A 192.0.2.1\n");
	zf = load(text, "example.com.");
	assert_non_null(zf);		/* the most allowed: fine */
	assert_non_null(find(zf, "www.example.com.", KNOT_RRTYPE_A));
	zonefile_free(zf);
	for (int i = 0; i < 20; i++)
		strcat(text, "$INCLUDE empty\n");
	assert_null(load(text, "example.com."));
	assert_int_equal(nerr, 1);
	assert_non_null(strstr(errors[0], "more than 12 $INCLUDE directives in one file"));
}

static void
test_error_limit(void **state)
{
	size_t len = 200 * 32, n = 0;
	char *text = malloc(len), path[300];
	size_t o = 0;
	FILE *f;

	(void)state;
	o += (size_t)snprintf(text, len, "$ORIGIN example.com.\n$TTL 1\n");
	for (int i = 0; i < 150; i++)
		o += (size_t)snprintf(text + o, len - o, "x%d A 1.2.3\n", i);
	snprintf(path, sizeof(path), "%s/many", dir);
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	free(text);
	nerr = 0;
	assert_null(zonefile_load(path, NULL, collect, NULL, &n));
	assert_int_equal(nerr, ZONEFILE_MAX_ERRORS);
	assert_non_null(strstr(errors[15], "invalid IPv4"));
}

static void
test_rrset_too_large(void **state)
{
	size_t len = 400 * 300;
	char *text = malloc(len), path[300];
	size_t o = 0;
	FILE *f;

	(void)state;
	o += (size_t)snprintf(text, len, "$ORIGIN example.com.\n$TTL 1\n");
	/* 300 TXT records of 250 octets: far beyond one message. */
	for (int i = 0; i < 300; i++)
		o += (size_t)snprintf(text + o, len - o, "big TXT \"%03d%0247d\"\n", i, 0);
	snprintf(path, sizeof(path), "%s/big", dir);
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	free(text);
	nerr = 0;
	assert_null(zonefile_load(path, NULL, collect, NULL, NULL));
	assert_int_equal(nerr, 1);
	assert_non_null(strstr(errors[0], "big:3: the RRset is too large"));
}

/* Standard input from a pipe, larger than a pipe's buffer (libzscanner alone truncates it). */
static void
test_stdin_pipe(void **state)
{
	struct zonefile *zf;
	int fds[2], saved = dup(STDIN_FILENO);
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		FILE *f = fdopen(fds[1], "w");

		close(fds[0]);
		fprintf(f, "$ORIGIN example.com.\n$TTL 60\n");
		for (int i = 0; i < 20000; i++)
			fprintf(f, "host%d A 10.0.%d.%d\n", i, (i >> 8) & 255, i & 255);
		fclose(f);
		_exit(0);
	}
	close(fds[1]);
	dup2(fds[0], STDIN_FILENO);
	close(fds[0]);
	nerr = 0;
	zf = zonefile_load("-", NULL, collect, NULL, NULL);
	dup2(saved, STDIN_FILENO);
	close(saved);
	waitpid(pid, NULL, 0);
	assert_int_equal(nerr, 0);
	assert_non_null(zf);
	assert_int_equal(zf->count, 20000);
	assert_string_equal(find(zf, "host19999.example.com.", KNOT_RRTYPE_A)->file, "-");
	zonefile_free(zf);
}

static void
test_empty_file(void **state)
{
	struct zonefile *zf = load("; nothing\n", "example.com.");

	(void)state;
	assert_non_null(zf);
	assert_int_equal(zf->count, 0);
	zonefile_free(zf);
	zonefile_free(NULL);
}

/* Refuses TXT records, as a caller's check would refuse what it cannot use. */
static const char *
no_txt(void *arg, const uint8_t *owner, uint16_t type, const uint8_t *rdata, size_t len)
{
	(*(int *)arg)++;
	return type == KNOT_RRTYPE_TXT ? "no TXT here" : NULL;
}

/* zonefile_load_opts(): a default TTL for TTL-less records; a check per record, per line. */
static void
test_opts(void **state)
{
	int seen = 0;
	struct zonefile_opts o = { ".", 0, no_txt, &seen };
	struct zonefile *zf;

	nerr = 0;
	zf = zonefile_load_opts(write_file("zone", "a. IN A 192.0.2.1\nb. 60 IN A 192.0.2.2\n"),
	    &o, collect, NULL, NULL);
	assert_non_null(zf);
	assert_int_equal(seen, 2);
	assert_int_equal(find(zf, "a.", KNOT_RRTYPE_A)->rrset->ttl, 0);
	assert_int_equal(find(zf, "b.", KNOT_RRTYPE_A)->rrset->ttl, 60);
	zonefile_free(zf);
	/* The refused record's own line, not its RRset's first. */
	zf = zonefile_load_opts(write_file("zone", "a. IN TXT ok\n\na. IN TXT \"x\"\n"), &o,
	    collect, NULL, NULL);
	assert_null(zf);
	assert_int_equal(nerr, 2);
	assert_string_equal(errors[0], "zone:1: no TXT here");
	assert_string_equal(errors[1], "zone:3: no TXT here");
	/* ZONEFILE_TTL_REQUIRED is zonefile_load()'s rule. */
	o.default_ttl = ZONEFILE_TTL_REQUIRED;
	o.check = NULL;
	nerr = 0;
	assert_null(zonefile_load_opts(write_file("zone", "a. IN A 192.0.2.1\n"), &o, collect,
	    NULL, NULL));
	assert_int_equal(nerr, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_directives_and_grouping),
		cmocka_unit_test(test_origin_argument),
		cmocka_unit_test(test_include),
		cmocka_unit_test(test_escapes_and_generic),
		cmocka_unit_test(test_syntax_errors_all_reported),
		cmocka_unit_test(test_no_origin),
		cmocka_unit_test(test_ttl_required),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_include_loop_and_depth),
		cmocka_unit_test(test_too_many_includes),
		cmocka_unit_test(test_error_limit),
		cmocka_unit_test(test_rrset_too_large),
		cmocka_unit_test(test_stdin_pipe),
		cmocka_unit_test(test_empty_file),
		cmocka_unit_test(test_opts),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
