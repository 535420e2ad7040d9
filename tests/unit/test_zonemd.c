/* test_zonemd.c: unit tests of RFC 8976 ZONEMD digests and canonical order (authd/zonemd.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <sodium.h>
#include <urcu.h>

#include "authd/store.h"
#include "authd/zonemd.h"
#include "common/dname.h"
#include "common/rrset.h"
#include "common/wire.h"
#include "common/zonefile.h"

static char dir[] = "/tmp/test_zonemd.XXXXXX";
static struct store *st;

/*
 * RFC 8976 Appendix A.3, "EXAMPLE Zone with Multiple Digests", as published. Its apex
 * has four ZONEMD records (all left out of the digest) and an upper-case owner. The
 * module computes scheme SIMPLE with SHA-512, the RFC's second ZONEMD record.
 */
static const char rfc8976_a3[] =
    "example.      86400  IN  SOA     ns1 admin 2018031900 (\n"
    "                                 1800 900 604800 86400 )\n"
    "example.      86400  IN  NS      ns1.example.\n"
    "example.      86400  IN  NS      ns2.example.\n"
    "example.      86400  IN  ZONEMD  2018031900 1 1 (\n"
    "                                 62e6cf51b02e54b9\n"
    "                                 b5f967d547ce4313\n"
    "                                 6792901f9f88e637\n"
    "                                 493daaf401c92c27\n"
    "                                 9dd10f0edb1c56f8\n"
    "                                 080211f8480ee306 )\n"
    "example.      86400  IN  ZONEMD  2018031900 1 2 (\n"
    "                                 08cfa1115c7b948c\n"
    "                                 4163a901270395ea\n"
    "                                 226a930cd2cbcf2f\n"
    "                                 a9a5e6eb85f37c8a\n"
    "                                 4e114d884e66f176\n"
    "                                 eab121cb02db7d65\n"
    "                                 2e0cc4827e7a3204\n"
    "                                 f166b47e5613fd27 )\n"
    "example.      86400  IN  ZONEMD  2018031900 1 240 (\n"
    "                                 e2d523f654b9422a\n"
    "                                 96c5a8f44607bbee )\n"
    "example.      86400  IN  ZONEMD  2018031900 241 1 (\n"
    "                                 e1846540e33a9e41\n"
    "                                 89792d18d5d131f6\n"
    "                                 05fc283e )\n"
    "ns1.example.  3600   IN  A       203.0.113.63\n"
    "ns2.example.  86400  IN  TXT     \"This example has multiple digests\"\n"
    "NS2.EXAMPLE.  3600   IN  AAAA    2001:db8::63\n";

static const char rfc8976_a3_sha512[] =
    "08cfa1115c7b948c4163a901270395ea226a930cd2cbcf2fa9a5e6eb85f37c8a"
    "4e114d884e66f176eab121cb02db7d652e0cc4827e7a3204f166b47e5613fd27";

/*
 * RFC 8976 Appendix A.2, "The Complex EXAMPLE Zone": its SHA-512 digest from another
 * implementation (below), and the properties a digest must have.
 */
static const char rfc8976_a2[] =
    "example.      86400  IN  SOA     ns1 admin 2018031900 (\n"
    "                                 1800 900 604800 86400 )\n"
    "              86400  IN  NS      ns1\n"
    "              86400  IN  NS      ns2\n"
    "              86400  IN  ZONEMD  2018031900 1 1 (\n"
    "                                 a3b69bad980a3504\n"
    "                                 e1cffcb0fd6397f9\n"
    "                                 3848071c93151f55\n"
    "                                 2ae2f6b1711d4bd2\n"
    "                                 d8b39808226d7b9d\n"
    "                                 b71e34b72077f8fe )\n"
    "ns1           3600   IN  A       203.0.113.63\n"
    "NS2           3600   IN  AAAA    2001:db8::63\n"
    "occluded.sub  7200   IN  TXT     \"I'm occluded but must be digested\"\n"
    "sub           7200   IN  NS      ns1\n"
    "duplicate     300    IN  TXT     \"I must be digested just once\"\n"
    "duplicate     300    IN  TXT     \"I must be digested just once\"\n"
    "foo.test.     555    IN  TXT     \"out-of-zone data must be excluded\"\n"
    "UPPERCASE     3600   IN  TXT     \"canonicalize uppercase owner names\"\n"
    "*             777    IN  PTR     dont-forget-about-wildcards\n"
    "mail          3600   IN  MX      20 MAIL1\n"
    "mail          3600   IN  MX      10 Mail2.Example.\n"
    "sortme        3600   IN  AAAA    2001:db8::5:61\n"
    "sortme        3600   IN  AAAA    2001:db8::3:62\n"
    "sortme        3600   IN  AAAA    2001:db8::4:63\n"
    "sortme        3600   IN  AAAA    2001:db8::1:65\n"
    "sortme        3600   IN  AAAA    2001:db8::2:64\n"
    "non-apex      900    IN  ZONEMD  2018031900 1 1 (\n"
    "                                 616c6c6f77656420\n"
    "                                 6275742069676e6f\n"
    "                                 7265642e20616c6c\n"
    "                                 6f77656420627574\n"
    "                                 2069676e6f726564\n"
    "                                 2e20616c6c6f7765 )\n";

/* RFC 8976 Appendix A.1, "Simple EXAMPLE Zone". */
static const char rfc8976_a1[] =
    "example.      86400  IN  SOA     ns1 admin 2018031900 (\n"
    "                                 1800 900 604800 86400 )\n"
    "              86400  IN  NS      ns1\n"
    "              86400  IN  NS      ns2\n"
    "              86400  IN  ZONEMD  2018031900 1 1 (\n"
    "                                 c68090d90a7aed71\n"
    "                                 6bc459f9340e3d7c\n"
    "                                 1370d4d24b7e2fc3\n"
    "                                 a1ddc0b9a87153b9\n"
    "                                 a9713b3c9ae5cc27\n"
    "                                 777f98b8e730044c )\n"
    "ns1           3600   IN  A       203.0.113.63\n"
    "ns2           3600   IN  AAAA    2001:db8::63\n";

/*
 * The RFC publishes only SHA-384 digests of A.1 and A.2. Their SHA-512 digests here were
 * computed with another implementation, dnspython 2.3.0 (Debian's python3-dnspython,
 * Zone._compute_digest), after checking that it reproduces every digest the RFC
 * publishes: SHA-384 of A.1, A.2 and A.3, and SHA-512 of A.3.
 */
static const char rfc8976_a1_sha512[] =
    "500d47a50c572d7f9501a01a5fa1fc2b64b1e9a58198784a6d9b0ab95fbba8a1"
    "dc9c7836c9ac4960a5625a7a67e3abe963a4d870cb97e3e67fb0a130463b33f1";
static const char rfc8976_a2_sha512[] =
    "07d9401066e89c2bd53420116888f25a0b397d281950fd13930f7dd64a3bf749"
    "510d004dbe97c6a59f1ca0d9bf0104b8ed5c714802d9adf8bee5b2bda9c16a30";

static void
report(void *arg, const char *file, uint64_t line, const char *reason)
{
	print_error("%s:%llu: %s\n", file, (unsigned long long)line, reason);
}

/* Loads zone text (origin "example.") into the store: each RRset replaces (owner, type). */
static void
load(const char *text)
{
	char path[256];
	struct zonefile *zf;
	FILE *f;

	snprintf(path, sizeof(path), "%s/zone", dir);
	assert_non_null(f = fopen(path, "w"));
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
	zf = zonefile_load(path, "example.", report, NULL, NULL);
	assert_non_null(zf);
	for (size_t i = 0; i < zf->count; i++) {
		const struct rrset *rs = zf->rrsets[i].rrset;
		size_t size = sizeof(*rs) + rs->datalen;
		struct rrset *copy = malloc(size);

		assert_non_null(copy);
		memcpy(copy, rs, size);
		store_apply(st, zf->rrsets[i].owner, rs->type, copy);
	}
	zonefile_free(zf);
	store_commit(st);
	unlink(path);
}

static void
del(const char *owner, uint16_t type)
{
	uint8_t w[DNAME_MAXLEN];

	assert_true(dname_from_str(owner, NULL, w) > 0);
	store_apply(st, w, type, NULL);
	store_commit(st);
}

/* zonemd_summaries() over a view of the whole store, as /zones takes it. */
static int
summarize(struct zone_summary **zs, size_t *n)
{
	struct store_view v;
	int rc;

	assert_int_equal(store_view_all(st, &v), 0);
	rc = zonemd_summaries(&v, zs, n);
	store_view_close(&v);
	return rc;
}

/* The summaries of the store, checked to be in canonical order of apex. */
static struct zone_summary *
summaries(size_t *n)
{
	struct zone_summary *zs = NULL;

	assert_int_equal(summarize(&zs, n), 0);
	assert_non_null(zs);
	for (size_t i = 1; i < *n; i++)
		assert_true(dname_canon_cmp(zs[i - 1].apex, zs[i].apex) < 0);
	return zs;
}

/* The summary of the one zone at apex, copied out. */
static struct zone_summary
summary_of(const char *apex)
{
	uint8_t w[DNAME_MAXLEN];
	struct zone_summary *zs, out;
	size_t n;

	memset(&out, 0, sizeof(out));
	assert_true(dname_from_str(apex, NULL, w) > 0);
	zs = summaries(&n);
	for (size_t i = 0; i < n; i++) {
		if (dname_equal(zs[i].apex, w)) {
			out = zs[i];
			free(zs);
			return out;
		}
	}
	free(zs);
	fail_msg("no zone %s", apex);
	return out;
}

static void
hex(const uint8_t *d, char out[2 * ZONEMD_DIGEST_LEN + 1])
{
	sodium_bin2hex(out, 2 * ZONEMD_DIGEST_LEN + 1, d, ZONEMD_DIGEST_LEN);
}

static int
setup(void **state)
{
	return (st = store_new()) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	store_free(st);
	st = NULL;
	return 0;
}

static int
group_setup(void **state)
{
	if (sodium_init() < 0 || mkdtemp(dir) == NULL)
		return -1;
	rcu_register_thread();
	return 0;
}

static int
group_teardown(void **state)
{
	char cmd[300];

	rcu_unregister_thread();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* The published RFC 8976 A.3 SHA-512 digest, and the summary's counts. */
static void
test_rfc8976_a3_vector(void **state)
{
	struct zone_summary z;
	char got[2 * ZONEMD_DIGEST_LEN + 1];

	load(rfc8976_a3);
	z = summary_of("example.");
	hex(z.digest, got);
	assert_string_equal(got, rfc8976_a3_sha512);
	assert_int_equal(z.serial, 2018031900);
	/* SOA, NS, ZONEMD at the apex; A; TXT and AAAA: the ZONEMD RRset is counted. */
	assert_int_equal(z.rrsets, 6);
	assert_int_equal(z.records, 1 + 2 + 4 + 1 + 1 + 1);
}

/*
 * A.1 and A.2 against the SHA-512 digests of another implementation. A.2 has what a
 * digest must get right: glue and occluded data below a delegation, a duplicate, upper
 * case owners and RDATA names, a wildcard, a non-apex ZONEMD, out-of-zone data.
 */
static void
test_rfc8976_a1_a2_vectors(void **state)
{
	struct zone_summary z;
	char got[2 * ZONEMD_DIGEST_LEN + 1];

	load(rfc8976_a1);
	z = summary_of("example.");
	hex(z.digest, got);
	assert_string_equal(got, rfc8976_a1_sha512);
	teardown(state);
	setup(state);
	load(rfc8976_a2);
	z = summary_of("example.");
	hex(z.digest, got);
	assert_string_equal(got, rfc8976_a2_sha512);
}

/* The apex ZONEMD RRset is left out: changing or removing it keeps the digest. */
static void
test_apex_zonemd_excluded(void **state)
{
	struct zone_summary z;
	char got[2 * ZONEMD_DIGEST_LEN + 1];

	load(rfc8976_a3);
	load("example. 60 IN ZONEMD 1 1 1 00112233445566778899aabbccddeeff0011223344556677\n");
	z = summary_of("example.");
	hex(z.digest, got);
	assert_string_equal(got, rfc8976_a3_sha512);
	assert_int_equal(z.records, 1 + 2 + 1 + 1 + 1 + 1);
	del("example.", 63);
	z = summary_of("example.");
	hex(z.digest, got);
	assert_string_equal(got, rfc8976_a3_sha512);
	assert_int_equal(z.rrsets, 5);
}

/*
 * Another zone in the same store (a child with its own SOA, and data outside any zone)
 * does not change the parent's digest: each zone is digested on its own.
 */
static void
test_zones_apart(void **state)
{
	struct zone_summary *zs;
	char got[2 * ZONEMD_DIGEST_LEN + 1], child[2 * ZONEMD_DIGEST_LEN + 1];
	uint8_t w[DNAME_MAXLEN];
	size_t n;

	load(rfc8976_a3);
	load("child.example. 300 IN SOA ns1.child.example. h.child.example. 7 1 2 3 4\n"
	    "www.child.example. 300 IN A 192.0.2.80\n"
	    "elsewhere.test. 300 IN A 192.0.2.81\n"
	    "zz.test. 300 IN SOA ns.zz.test. h.zz.test. 99 1 2 3 4\n");
	zs = summaries(&n);
	assert_int_equal(n, 3);		/* example., child.example., zz.test.; not test. */
	assert_true(dname_from_str("example.", NULL, w) > 0);
	assert_true(dname_equal(zs[0].apex, w));
	hex(zs[0].digest, got);
	assert_string_equal(got, rfc8976_a3_sha512);
	assert_true(dname_from_str("child.example.", NULL, w) > 0);
	assert_true(dname_equal(zs[1].apex, w));
	assert_int_equal(zs[1].serial, 7);
	assert_int_equal(zs[1].rrsets, 2);
	assert_true(dname_from_str("zz.test.", NULL, w) > 0);
	assert_true(dname_equal(zs[2].apex, w));
	assert_int_equal(zs[2].serial, 99);
	assert_int_equal(zs[2].rrsets, 1);
	hex(zs[1].digest, child);
	free(zs);
	/* The child's data changes the child's digest only. */
	load("www.child.example. 300 IN A 192.0.2.88\n");
	zs = summaries(&n);
	hex(zs[0].digest, got);
	assert_string_equal(got, rfc8976_a3_sha512);
	hex(zs[1].digest, got);
	assert_string_not_equal(got, child);
	free(zs);
}

/*
 * The digest covers RRs, not how the events spelled them: the order of arrival, the case
 * of names (owner and RDATA) and duplicates do not change it (RFC 8976 3.3, RFC 4034 6).
 */
static void
test_canonical_form(void **state)
{
	struct zone_summary a, b;

	load(rfc8976_a2);
	a = summary_of("example.");
	assert_int_equal(a.serial, 2018031900);
	teardown(state);
	setup(state);
	/* The same records, other order, other case, no duplicate. */
	load("sortme 3600 IN AAAA 2001:db8::2:64\n"
	    "mail 3600 IN MX 10 mail2.example.\n"
	    "MAIL 3600 IN MX 20 mail1\n"
	    "sortme 3600 IN AAAA 2001:db8::1:65\n"
	    "sortme 3600 IN AAAA 2001:db8::4:63\n"
	    "SortMe 3600 IN AAAA 2001:db8::3:62\n"
	    "sortme 3600 IN AAAA 2001:db8::5:61\n"
	    "uppercase 3600 IN TXT \"canonicalize uppercase owner names\"\n"
	    "Duplicate 300 IN TXT \"I must be digested just once\"\n"
	    "* 777 IN PTR DONT-forget-about-wildcards\n"
	    "ns2 3600 IN AAAA 2001:db8::63\n"
	    "sub 7200 IN NS NS1.EXAMPLE.\n"
	    "non-apex 900 IN ZONEMD 2018031900 1 1 "
	    "616c6c6f776564206275742069676e6f7265642e20616c6c"
	    "6f776564206275742069676e6f7265642e20616c6c6f7765\n"
	    "OCCLUDED.SUB 7200 IN TXT \"I'm occluded but must be digested\"\n"
	    "ns1 3600 IN A 203.0.113.63\n"
	    "@ 86400 IN NS NS2\n"
	    "@ 86400 IN NS ns1\n"
	    "@ 86400 IN SOA NS1 Admin 2018031900 1800 900 604800 86400\n");
	b = summary_of("example.");
	assert_memory_equal(a.digest, b.digest, ZONEMD_DIGEST_LEN);
	/* Only the apex ZONEMD differs in the counts; the duplicate is one record. */
	assert_int_equal(a.rrsets, 13);
	assert_int_equal(a.records, 19);
	assert_int_equal(b.rrsets, a.rrsets - 1);
	assert_int_equal(b.records, a.records - 1);
}

/* What the digest must cover: occluded data, glue, wildcards, a non-apex ZONEMD, TTLs. */
static void
test_digest_covers(void **state)
{
	static const struct {
		const char	*zone;
		const char	*owner;
		uint16_t	 type;
	} changes[] = {
		{ "occluded.sub 7200 IN TXT \"changed\"\n", "occluded.sub.example.", 16 },
		{ "sub 7200 IN NS ns2\n", "sub.example.", 2 },
		{ "* 777 IN PTR forgot-about-wildcards\n", "*.example.", 12 },
		{ "non-apex 900 IN ZONEMD 2018031901 1 1 "
		  "616c6c6f776564206275742069676e6f7265642e20616c6c"
		  "6f776564206275742069676e6f7265642e20616c6c6f7765\n", "non-apex.example.", 63 },
		{ "ns1 3601 IN A 203.0.113.63\n", "ns1.example.", 1 },	/* TTL only */
		{ "mail 3600 IN MX 10 mail3.example.\n", "mail.example.", 15 },
		{ "new 3600 IN A 192.0.2.1\n", "new.example.", 1 },
	};
	struct zone_summary base, z;

	load(rfc8976_a2);
	base = summary_of("example.");
	for (size_t i = 0; i < sizeof(changes) / sizeof(changes[0]); i++) {
		load(changes[i].zone);
		z = summary_of("example.");
		if (memcmp(z.digest, base.digest, ZONEMD_DIGEST_LEN) == 0)
			fail_msg("digest unchanged by %s", changes[i].zone);
		/* Putting the original back gives the original digest. */
		del(changes[i].owner, changes[i].type);
		load(rfc8976_a2);
		z = summary_of("example.");
		assert_memory_equal(z.digest, base.digest, ZONEMD_DIGEST_LEN);
	}
	/* Out-of-zone data (foo.test. has no SOA of its own) is in no zone. */
	del("foo.test.", 16);
	z = summary_of("example.");
	assert_memory_equal(z.digest, base.digest, ZONEMD_DIGEST_LEN);
}

static void
test_empty_store(void **state)
{
	struct zone_summary *zs = NULL;
	size_t n = 99;

	assert_int_equal(summarize(&zs, &n), 0);
	assert_int_equal(n, 0);
	free(zs);
	/* Names without any SOA make no zone. */
	load("www.example. 300 IN A 192.0.2.1\n");
	assert_int_equal(summarize(&zs, &n), 0);
	assert_int_equal(n, 0);
	free(zs);
}

/* RFC 4034 6.1: the example names, in the RFC's order (lower case, as the store keeps them). */
static void
test_canonical_order(void **state)
{
	static const char *const order[] = {
		".", "example.", "a.example.", "yljkjljk.a.example.", "z.a.example.",
		"zabc.a.example.", "z.example.", "\\001.z.example.", "*.z.example.",
		"\\200.z.example.",
	};
	/* Not from the RFC: labels count from the root, and a label sorts before a longer
	 * one it is a prefix of. */
	static const char *const tail[] = { "b.a.", "a.b.", "aa.b.", "b.b." };
	const size_t n = sizeof(order) / sizeof(order[0]), m = sizeof(tail) / sizeof(tail[0]);
	uint8_t w[16][DNAME_MAXLEN];

	for (size_t i = 0; i < n; i++)
		assert_true(dname_from_str(order[i], NULL, w[i]) > 0);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(dname_canon_cmp(w[i], w[i]), 0);
		for (size_t j = i + 1; j < n; j++) {
			if (dname_canon_cmp(w[i], w[j]) >= 0 || dname_canon_cmp(w[j], w[i]) <= 0)
				fail_msg("%s should sort before %s", order[i], order[j]);
		}
	}
	for (size_t i = 0; i < m; i++)
		assert_true(dname_from_str(tail[i], NULL, w[i]) > 0);
	for (size_t i = 0; i + 1 < m; i++)
		if (dname_canon_cmp(w[i], w[i + 1]) >= 0)
			fail_msg("%s should sort before %s", tail[i], tail[i + 1]);
	/* Octet values: \200 (decimal: octet 200) sorts after 'z' (122). */
	assert_true(dname_from_str("\\200.", NULL, w[0]) > 0);
	assert_true(dname_from_str("z.", NULL, w[1]) > 0);
	assert_true(dname_canon_cmp(w[1], w[0]) < 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rfc8976_a3_vector, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rfc8976_a1_a2_vectors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apex_zonemd_excluded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zones_apart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_canonical_form, setup, teardown),
		cmocka_unit_test_setup_teardown(test_digest_covers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_store, setup, teardown),
		cmocka_unit_test(test_canonical_order),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
