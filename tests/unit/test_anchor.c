/* test_anchor.c: unit tests of the trust anchor files and the domain-insecure names. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <libdnssec/binary.h>
#include <libdnssec/keytag.h>

#include "dnsr/anchor.h"
#include "common/wire.h"

#define ROOT_KEY	"/usr/share/dns/root.key"	/* Debian's dns-root-data */
#define ROOT_DS		"/usr/share/dns/root.ds"
#define KSK_2017	20326				/* the root KSK since 2018 */

#define P256_KEY	"AqNuO1bgQPVMcznvg98vuP1U6KmP7uBd9jg5165H5I69IG/P2FTUm5+wXF8VXkCv" \
			"PAC4Dd0gnINx//5nEfVuWQ=="
#define ED25519_KEY	"zHhZjwbhijssLG/hFuXjBKae5eGfoV4YfjohudO0qXw="
#define SHA256_HEX	"644561FB4CCE5394603D9D3FD4E7126B1D30DD063CA378B9CBB2D5F135908D5A"
#define SHA384_HEX	"BFFBD9604B425182C69B047C284C6EE4D4D07B5DC45DE122C65545A6A0FA77E8" \
			"4FCCC2687F07E48F3536F296DE073225"

static char path[64];
static char *errtext;		/* what the last load() printed */

static const char *
write_file(const char *text)
{
	FILE *f;
	int fd;

	strcpy(path, "/tmp/test_anchor_XXXXXX");
	assert_true((fd = mkstemp(path)) >= 0);
	assert_non_null(f = fdopen(fd, "w"));
	fputs(text, f);
	fclose(f);
	return path;
}

/* anchors_load() of the files, its errors kept in errtext. */
static struct anchors *
load(const char *const *paths, size_t n)
{
	struct anchors *a;
	size_t len;
	FILE *err;

	free(errtext);
	assert_non_null(err = open_memstream(&errtext, &len));
	a = anchors_load(paths, n, err);
	fclose(err);
	return a;
}

/* One file of text, loaded and removed. */
static struct anchors *
load_text(const char *text)
{
	const char *p = write_file(text);
	struct anchors *a = load(&p, 1);

	unlink(path);
	return a;
}

/* A presentation name in wire format (a static buffer: one at a time). */
static const uint8_t *
wire(const char *s)
{
	static uint8_t buf[DNAME_MAXLEN];

	assert_true(dname_from_str(s, NULL, buf) > 0);
	return buf;
}

/* The owner of the anchor closest to name, as text; "-" when there is none. */
static const char *
find(const struct anchors *a, const char *name)
{
	static char buf[DNAME_STRLEN];
	const struct anchor *an = anchors_find(a, wire(name));

	return an == NULL ? "-" : dname_to_str(an->owner, buf, sizeof(buf));
}

static bool
has_key_tag(const struct rrset *rs, uint16_t tag)
{
	struct rdata_ref rd;
	uint16_t t;

	if (rs == NULL)
		return false;
	for (const uint8_t *it = rrset_first(rs, &rd); it; it = rrset_next(rs, it, &rd)) {
		dnssec_binary_t b = { rd.len, (uint8_t *)rd.data };

		if (rs->type == DNS_TYPE_DNSKEY)
			assert_int_equal(dnssec_keytag(&b, &t), 0);
		else
			t = (uint16_t)(rd.data[0] << 8 | rd.data[1]);
		if (t == tag)
			return true;
	}
	return false;
}

/* The file the Debian package installs: DNSKEY lines without a TTL, comments after them. */
static void
test_root_key(void **state)
{
	const char *files[] = { ROOT_KEY, ROOT_DS };
	const struct anchor *an;
	struct anchors *a;

	if (access(ROOT_KEY, R_OK) != 0 || access(ROOT_DS, R_OK) != 0)
		skip();		/* dns-root-data is in scripts/deps.sh */
	assert_non_null(a = load(files, 1));
	assert_int_equal(anchors_count(a), 1);
	assert_non_null(an = anchors_find(a, wire("www.example.com.")));
	assert_int_equal(an->owner_len, 1);
	assert_null(an->ds);
	assert_true(has_key_tag(an->dnskey, KSK_2017));
	anchors_free(a);

	/* Both files: one anchor, with the DS and the DNSKEY RRsets. */
	assert_non_null(a = load(files, 2));
	assert_int_equal(anchors_count(a), 1);
	an = anchors_find(a, wire("."));
	assert_true(has_key_tag(an->ds, KSK_2017));
	assert_true(has_key_tag(an->dnskey, KSK_2017));
	anchors_free(a);
}

static const char mixed[] =
    "; anchors of two zones, DS and DNSKEY\n"
    "$ORIGIN example.\n"
    "@ IN DS 12345 13 2 " SHA256_HEX "\n"
    "@ 3600 IN DNSKEY 257 3 13 " P256_KEY "\n"
    "sub IN DNSKEY 256 3 15 " ED25519_KEY " ; a zone key without SEP will do\n"
    "other.test. IN DS 4242 14 4 ( " SHA384_HEX " )\n"
    "OTHER.test. IN DS 4242 14 4 " SHA384_HEX " ; the same, once\n";

static void
test_mixed_file(void **state)
{
	const struct anchor *an;
	struct anchors *a;

	assert_non_null(a = load_text(mixed));
	assert_int_equal(anchors_count(a), 3);
	an = anchors_find(a, wire("example."));
	assert_non_null(an->ds);
	assert_non_null(an->dnskey);
	assert_int_equal(an->ds->count, 1);
	assert_true(has_key_tag(an->ds, 12345));
	an = anchors_find(a, wire("sub.example."));
	assert_null(an->ds);
	assert_int_equal(an->dnskey->count, 1);
	an = anchors_find(a, wire("other.test."));
	assert_int_equal(an->ds->count, 1);
	assert_null(an->dnskey);
	anchors_free(a);
}

static void
test_closest(void **state)
{
	struct anchors *a;

	assert_non_null(a = load_text(mixed));
	assert_string_equal(find(a, "example."), "example.");
	assert_string_equal(find(a, "a.b.example."), "example.");
	assert_string_equal(find(a, "sub.example."), "sub.example.");
	assert_string_equal(find(a, "www.sub.example."), "sub.example.");
	assert_string_equal(find(a, "WwW.SuB.eXaMpLe."), "sub.example.");	/* 0x20 */
	assert_string_equal(find(a, "asub.example."), "example.");	/* label boundaries */
	assert_string_equal(find(a, "x.other.test."), "other.test.");
	assert_string_equal(find(a, "test."), "-");
	assert_string_equal(find(a, "nexample."), "-");
	assert_string_equal(find(a, "."), "-");
	assert_false(anchors_insecure(a, wire("example.")));	/* none set */
	anchors_free(a);
}

static void
test_insecure(void **state)
{
	struct anchors *a;
	char err[256];

	assert_non_null(a = load_text(mixed));
	assert_int_equal(anchors_set_insecure(a, "", err, sizeof(err)), 0);
	assert_int_equal(anchors_set_insecure(a, "Corp.Example, lab.test.", err, sizeof(err)),
	    0);
	assert_true(anchors_insecure(a, wire("corp.example.")));
	assert_true(anchors_insecure(a, wire("x.CORP.example.")));
	assert_true(anchors_insecure(a, wire("LAB.test.")));
	assert_true(anchors_insecure(a, wire("a.b.lab.test.")));
	assert_false(anchors_insecure(a, wire("example.")));
	assert_false(anchors_insecure(a, wire("acorp.example.")));
	assert_false(anchors_insecure(a, wire("test.")));
	assert_false(anchors_insecure(a, wire(".")));
	/* Insecure does not hide the anchor: the validator asks both. */
	assert_string_equal(find(a, "x.corp.example."), "example.");

	/* A bad name is refused, and nothing of the list is added. */
	assert_int_equal(anchors_set_insecure(a, "fine.test, a..b", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "'a..b'"));
	assert_false(anchors_insecure(a, wire("fine.test.")));
	assert_int_equal(anchors_set_insecure(NULL, "ok.test, also.ok.", err, sizeof(err)), 0);
	assert_int_equal(anchors_set_insecure(NULL, ".bad", err, sizeof(err)), -1);
	anchors_free(a);
}

/* The load fails, and errtext holds "<file>:<line>: <reason>". */
static void
assert_error(const char *text, int line, const char *reason)
{
	char want[128];

	assert_null(load_text(text));
	if (line > 0)
		snprintf(want, sizeof(want), "%s:%d: %s", path, line, reason);
	else
		snprintf(want, sizeof(want), "%s: %s", path, reason);
	if (strstr(errtext, want) == NULL)
		fail_msg("want \"%s\" in \"%s\"", want, errtext);
}

static void
test_errors(void **state)
{
	const char *files[2];

	assert_error(". IN DS 1 8 2 " SHA256_HEX "\n;\n. IN DS 2 8 2 not-hex\n", 3, "");
	assert_error(". IN DS 1 8 2 " SHA256_HEX "\nexample. IN A 192.0.2.1\n", 2,
	    "A record: only DS and DNSKEY records are trust anchors");
	assert_error("; ok, then a key without the zone flag\n"
	    "example. IN DNSKEY 257 3 13 " P256_KEY "\n"
	    "example. IN DNSKEY 1 3 13 " P256_KEY "\n", 3,
	    "DNSKEY without the zone-key flag");
	assert_error("example. IN DNSKEY 385 3 13 " P256_KEY "\n", 1,
	    "DNSKEY with the REVOKE flag");
	assert_error("example. IN DNSKEY 257 2 13 " P256_KEY "\n", 1, "DNSKEY protocol");
	assert_error("example. IN DS 1 13 2 AABBCC\n", 1,
	    "DS digest type 2 needs 32 octets of digest, not 3");
	assert_error("", 0, "no trust anchor");
	assert_error("; only comments\n$ORIGIN example.\n", 0, "no trust anchor");

	/* Every file is read: the missing one and the bad one are both reported. */
	files[0] = "/nonexistent/root.key";
	files[1] = write_file("x. IN TXT hello\n");
	assert_null(load(files, 2));
	unlink(path);
	assert_non_null(strstr(errtext, "/nonexistent/root.key: No such file or directory"));
	assert_non_null(strstr(errtext, ":1: TXT record: "));
	assert_null(load(files, 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_root_key),
		cmocka_unit_test(test_mixed_file),
		cmocka_unit_test(test_closest),
		cmocka_unit_test(test_insecure),
		cmocka_unit_test(test_errors),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	free(errtext);
	return rc;
}
