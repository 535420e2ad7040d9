/* test_event.c: unit tests of the zone event codec: every accepted form, every rejection class. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "common/event.h"
#include "common/event_fast.h"

#define OWNER	"www.example.com."
#define KEY_A	OWNER "|A"

static struct event_decoder *dec;
static bool suite_fast;		/* the fast path setting of the running group */
static char reason[512];

static int
setup(void **state)
{
	dec = event_decoder_new();
	suite_fast = true;
	return dec == NULL ? -1 : 0;
}

/* The whole suite again with the fast path off: the full decoder alone must pass it too. */
static int
setup_full(void **state)
{
	if (setup(state) != 0)
		return -1;
	event_decoder_set_fast(dec, false);
	suite_fast = false;
	return 0;
}

static int
teardown(void **state)
{
	event_decoder_free(dec);
	return 0;
}

/* ---- helpers ---- */

static json_t *
recn(const char *name, const char *type, const char *content, json_int_t ttl)
{
	return json_pack("{s:s, s:s, s:s, s:I}", "name", name, "type", type, "content", content,
	    "ttl", ttl);
}

/* A record at OWNER with TTL 300. */
static json_t *
rec(const char *type, const char *content)
{
	return recn(OWNER, type, content, 300);
}

/* Wraps records (references stolen) in an array; the list ends with NULL. */
static json_t *
arr(json_t *first, ...)
{
	json_t *a = json_array();
	va_list ap;

	va_start(ap, first);
	for (json_t *r = first; r != NULL; r = va_arg(ap, json_t *))
		json_array_append_new(a, r);
	va_end(ap);
	return a;
}

/* Same record with one member replaced (value stolen) or, with NULL, removed. */
static json_t *
with(json_t *r, const char *member, json_t *value)
{
	if (value == NULL)
		json_object_del(r, member);
	else
		json_object_set_new(r, member, value);
	return r;
}

static enum event_error
run_raw(const char *key, size_t keylen, const char *value, size_t valuelen, struct event *ev)
{
	enum event_error e;

	memset(reason, 0, sizeof(reason));
	e = event_decode(dec, key, keylen, value, valuelen, ev, reason, sizeof(reason));
	if (e != EVENT_OK)
		assert_true(reason[0] != '\0');
	return e;
}

/* Decodes key + value (JSON, stolen; NULL for a tombstone). */
static enum event_error
run(const char *key, json_t *value, struct event *ev)
{
	char *s = value == NULL ? NULL : json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
	enum event_error e;

	json_decref(value);
	e = run_raw(key, strlen(key), s, s == NULL ? 0 : strlen(s), ev);
	free(s);
	return e;
}

static void
check_error(enum event_error e, struct event *ev, enum event_error want, const char *part,
    const char *what)
{
	if (e != want || (part != NULL && strstr(reason, part) == NULL))
		print_error("%s: got %s (%s), want %s with \"%s\"\n", what, event_error_name(e),
		    reason, event_error_name(want), part == NULL ? "" : part);
	assert_int_equal(e, want);
	if (part != NULL)
		assert_non_null(strstr(reason, part));
	assert_null(ev->rrset);
}

static void
expect(const char *key, json_t *value, enum event_error want, const char *part)
{
	struct event ev;

	check_error(run(key, value, &ev), &ev, want, part, key);
}

static void
expect_raw(const char *key, const char *value, enum event_error want, const char *part)
{
	struct event ev;

	check_error(run_raw(key, strlen(key), value, strlen(value), &ev), &ev, want, part, value);
}

static void
assert_same_rrset(const struct rrset *a, const struct rrset *b)
{
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->count, b->count);
	assert_int_equal(a->ttl, b->ttl);
	assert_int_equal(a->datalen, b->datalen);
	assert_memory_equal(a->data, b->data, a->datalen);
}

/* event_decode(event_encode(ev)) == ev, and the key comes back as given. */
static void
roundtrip(const char *key, const struct event *ev)
{
	struct event back;
	char *k, *v;

	assert_int_equal(event_encode(ev->owner, ev->rrset, &k, &v), 0);
	assert_string_equal(k, key);
	if (run_raw(k, strlen(k), v, strlen(v), &back) != EVENT_OK)
		fail_msg("round trip of %s: %s (value %s)", key, reason, v);
	assert_memory_equal(back.owner, ev->owner, dname_len(ev->owner));
	assert_int_equal(back.type, ev->type);
	assert_same_rrset(back.rrset, ev->rrset);
	free(back.rrset);
	free(k);
	free(v);
}

/* Decodes an event that must be accepted with count records; checks the round trip. */
static struct rrset *
accept(const char *key, json_t *value, uint16_t type, unsigned count)
{
	struct event ev;
	enum event_error e = run(key, value, &ev);

	if (e != EVENT_OK)
		fail_msg("%s rejected: %s: %s", key, event_error_name(e), reason);
	assert_int_equal(ev.type, type);
	assert_non_null(ev.rrset);
	assert_int_equal(ev.rrset->type, type);
	assert_int_equal(ev.rrset->count, count);
	roundtrip(key, &ev);
	return ev.rrset;
}

/* Asserts record i (in canonical order) of rs. */
static void
assert_rdata(const struct rrset *rs, unsigned i, const char *want, size_t len)
{
	struct rdata_ref rd;
	const uint8_t *it = rrset_first(rs, &rd);

	while (it != NULL && i-- > 0)
		it = rrset_next(rs, it, &rd);
	assert_non_null(it);
	assert_int_equal(rd.len, len);
	assert_memory_equal(rd.data, want, len);
}

/* Accepts a one-record event and checks its RDATA octets. */
static void
accept_rdata(const char *key, json_t *value, uint16_t type, const char *want, size_t len)
{
	struct rrset *rs = accept(key, value, type, 1);

	assert_rdata(rs, 0, want, len);
	free(rs);
}

#define MAIL_EXAMPLE	"\x04mail\x07" "example\x03" "com\x00"

/* ---- accepted forms ---- */

static void
test_a(void **state)
{
	struct event ev;

	accept_rdata(KEY_A, arr(rec("A", "192.0.2.1"), NULL), 1, "\xc0\x00\x02\x01", 4);
	assert_int_equal(run(KEY_A, arr(rec("A", "192.0.2.1"), NULL), &ev), EVENT_OK);
	assert_memory_equal(ev.owner, "\x03www\x07" "example\x03" "com\x00", 17);
	assert_int_equal(ev.rrset->ttl, 300);
	free(ev.rrset);
}

static void
test_aaaa(void **state)
{
	accept_rdata(OWNER "|AAAA", arr(rec("AAAA", "2001:db8::1"), NULL), 28,
	    "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
}

static void
test_mx(void **state)
{
	static const char want[] = "\x00\x0a" MAIL_EXAMPLE;

	accept_rdata(OWNER "|MX", arr(rec("MX", "10 mail.example.com."), NULL), 15, want,
	    sizeof(want) - 1);
	/* The preference in "priority", as the original wrote it. */
	accept_rdata(OWNER "|MX", arr(with(rec("MX", "mail.example.com."), "priority",
	    json_integer(10)), NULL), 15, want, sizeof(want) - 1);
	/* A complete content wins over priority. */
	accept_rdata(OWNER "|MX", arr(with(rec("MX", "10 mail.example.com."), "priority",
	    json_integer(20)), NULL), 15, want, sizeof(want) - 1);
	/* Relative names in content are relative to the root. */
	accept_rdata(OWNER "|MX", arr(rec("MX", "10 mail"), NULL), 15, "\x00\x0a\x04mail\x00",
	    8);
}

static void
test_srv(void **state)
{
	static const char want[] = "\x00\x0a\x00\x05\x01\xbb\x03sip\x07" "example\x03" "com";

	accept_rdata("_sip._tcp.example.com.|SRV", arr(with(recn("_sip._tcp.example.com.",
	    "SRV", "5 443 sip.example.com.", 60), "priority", json_integer(10)), NULL), 33,
	    want, sizeof(want));
	accept_rdata("_sip._tcp.example.com.|SRV", arr(with(recn("_sip._tcp.example.com.",
	    "SRV", "10 5 443 sip.example.com.", 60), "priority", json_integer(99)), NULL), 33,
	    want, sizeof(want));
}

static void
test_txt(void **state)
{
	static const char want[] = "\x0bhello world\x06second\x09q\"uote\\ A";
	static const char bare[] = "\x03" "abc\x03" "def";

	accept_rdata(OWNER "|TXT", arr(rec("TXT",
	    "\"hello world\" \"second\" \"q\\\"uote\\\\ \\065\""), NULL), 16, want,
	    sizeof(want) - 1);
	accept_rdata(OWNER "|TXT", arr(rec("TXT", "abc def"), NULL), 16, bare, sizeof(bare) - 1);
	accept_rdata(OWNER "|TXT", arr(rec("TXT", "\"v=spf1 -all\""), NULL), 16,
	    "\x0bv=spf1 -all", 12);
	/* Octets above 0x7f are data, rendered as \DDD by the encoder. */
	accept_rdata(OWNER "|TXT", arr(rec("TXT", "\"caf\xc3\xa9\""), NULL), 16,
	    "\x05" "caf\xc3\xa9", 6);
}

static void
test_caa(void **state)
{
	static const char want[] = "\x00\x05issueletsencrypt.org";

	accept_rdata("example.com.|CAA", arr(recn("example.com.", "CAA",
	    "0 issue \"letsencrypt.org\"", 300), NULL), 257, want, sizeof(want) - 1);
}

/* Types whose RDATA is checked through the round trip only. */
static void
test_other_types(void **state)
{
	static const struct { const char *type, *content; uint16_t num; } cases[] = {
		{ "NAPTR", "100 10 \"U\" \"E2U+sip\" \"!^.*$!sip:info@example.com!\" .", 35 },
		{ "SSHFP", "2 1 123456789abcdef67890123456789abcdef67890", 44 },
		{ "TLSA", "3 1 1 d2abde240d7cd3ee6b4b28c54df034b97983a1d16e8a410e4561cb106618e971",
		  52 },
		{ "SVCB", "1 svc.example.com. alpn=h2,h3 port=8443", 64 },
		{ "HTTPS", "1 . alpn=h2 ipv4hint=192.0.2.1,192.0.2.2", 65 },
		{ "DS", "60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118", 43 },
		{ "DNSKEY", "257 3 13 GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7w"
		  "NcP+e+MAnLr+Wi9xMWyQLc8NAA==", 48 },
		{ "NS", "ns1.example.com.", 2 },
		{ "PTR", "host.example.com.", 12 },
		{ "CNAME", "target.example.net.", 5 },
		{ "DNAME", "example.net.", 39 },
		{ "HINFO", "\"PC\" \"Linux\"", 13 },
		{ "LOC", "52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m", 29 },
		{ "URI", "10 1 \"https://example.com/\"", 256 },
		{ "SPF", "\"v=spf1 -all\"", 99 },
		{ "OPENPGPKEY", "AQID", 61 },
		{ "RRSIG", "A 13 3 300 20240101000000 20231201000000 12345 example.com. "
		  "GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7w", 46 },
		{ "NSEC", "z.example.com. A NS SOA MX TXT AAAA RRSIG NSEC TYPE65280", 47 },
		{ "ZONEMD", "2024010101 1 1 " "0123456789abcdef0123456789abcdef0123456789abcdef"
		  "0123456789abcdef0123456789abcdef0123456789abcdef", 63 },
	};
	char key[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(key, sizeof(key), OWNER "|%s", cases[i].type);
		free(accept(key, arr(rec(cases[i].type, cases[i].content), NULL), cases[i].num, 1));
	}
}

static void
test_soa(void **state)
{
	static const char tail[] = "\x78\xa3\xf1\x75\x00\x00\x0e\x10\x00\x00\x03\x84"
	    "\x00\x09\x3a\x80\x00\x00\x01\x2c";
	struct rrset *rs = accept("example.com.|SOA", arr(recn("example.com.", "SOA",
	    "ns1.example.com. hostmaster.example.com. 2024010101 3600 900 604800 300", 3600),
	    NULL), 6, 1);
	struct rdata_ref rd;

	assert_non_null(rrset_first(rs, &rd));
	assert_int_equal(rd.len, 17 + 24 + 20);
	assert_memory_equal(rd.data + rd.len - 20, tail, 20);
	free(rs);
}

static void
test_unknown_type(void **state)
{
	accept_rdata(OWNER "|TYPE65280", arr(rec("TYPE65280", "\\# 4 deadbeef"), NULL), 65280,
	    "\xde\xad\xbe\xef", 4);
	accept_rdata(OWNER "|TYPE65280", arr(rec("type65280", "\\# 0"), NULL), 65280, "", 0);
	/* NULL (type 10): libzscanner has no mnemonic for it, the decoder must cope. */
	accept_rdata(OWNER "|NULL", arr(rec("NULL", "\\# 3 010203"), NULL), 10,
	    "\x01\x02\x03", 3);
	/* RFC 3597 form for a known type: accepted when it is valid RDATA of that type. */
	accept_rdata(KEY_A, arr(rec("A", "\\# 4 c0000201"), NULL), 1, "\xc0\x00\x02\x01", 4);
	expect(KEY_A, arr(rec("A", "\\# 3 c00002"), NULL), EVENT_ERR_CONTENT, "\\#");
	accept_rdata(OWNER "|MX", arr(rec("MX", "\\# 8 000a046d61696c00"), NULL), 15,
	    "\x00\x0a\x04mail\x00", 8);
	/* A truncated name, a compression pointer, a TXT string longer than the data. */
	expect(OWNER "|MX", arr(rec("MX", "\\# 3 000a04"), NULL), EVENT_ERR_CONTENT,
	    "not a valid MX");
	expect(OWNER "|MX", arr(rec("MX", "\\# 4 000ac000"), NULL), EVENT_ERR_CONTENT,
	    "not a valid MX");
	expect(OWNER "|TXT", arr(rec("TXT", "\\# 3 056162"), NULL), EVENT_ERR_CONTENT,
	    "TXT RDATA");
	/* Parsed by the scanner but not renderable by libknot: no round trip, so refused. */
	expect(OWNER "|IPSECKEY", arr(rec("IPSECKEY", "10 1 2 192.0.2.3"), NULL),
	    EVENT_ERR_CONTENT, "cannot be written back");
	/* Types whose inner structure libknot's dumper trusts take presentation format only. */
	expect(OWNER "|SVCB", arr(rec("SVCB", "\\# 3 000100"), NULL), EVENT_ERR_CONTENT,
	    "not accepted");
	expect(OWNER "|NSEC3PARAM", arr(rec("NSEC3PARAM", "\\# 5 0100000a00"), NULL),
	    EVENT_ERR_CONTENT, "not accepted");
	expect(OWNER "|TYPE65280", arr(rec("TYPE65280", "\\# 4 dead"), NULL),
	    EVENT_ERR_CONTENT, NULL);
}

static void
test_min_ttl(void **state)
{
	struct rrset *rs = accept(KEY_A, arr(recn(OWNER, "A", "192.0.2.3", 3600),
	    recn(OWNER, "A", "192.0.2.1", 60), recn(OWNER, "A", "192.0.2.2", 300), NULL), 1, 3);

	assert_int_equal(rs->ttl, 60);
	assert_rdata(rs, 0, "\xc0\x00\x02\x01", 4);
	assert_rdata(rs, 2, "\xc0\x00\x02\x03", 4);
	free(rs);
}

static void
test_duplicates(void **state)
{
	struct rrset *rs;

	rs = accept(KEY_A, arr(rec("A", "192.0.2.1"), rec("A", "192.0.2.2"),
	    recn(OWNER, "A", "192.0.2.1", 30), NULL), 1, 2);
	assert_int_equal(rs->ttl, 30);
	free(rs);
	/* Two spellings of one record. */
	free(accept(OWNER "|MX", arr(rec("MX", "10 mail.example.com."), with(rec("MX",
	    "mail.example.com."), "priority", json_integer(10)), NULL), 15, 1));
	/* A CNAME given twice is one record. */
	free(accept(OWNER "|CNAME", arr(rec("CNAME", "a.example."), rec("CNAME", "a.example."),
	    NULL), 5, 1));
}

static void
test_deletes(void **state)
{
	static const char *const empty[] = { "[]", " [ ] ", "null" };
	struct event ev;

	assert_int_equal(run(OWNER "|AAAA", NULL, &ev), EVENT_OK);
	assert_null(ev.rrset);
	assert_int_equal(ev.type, 28);
	assert_memory_equal(ev.owner, "\x03www\x07" "example\x03" "com\x00", 17);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(run_raw(KEY_A, strlen(KEY_A), empty[i], strlen(empty[i]), &ev),
		    EVENT_OK);
		assert_null(ev.rrset);
		assert_int_equal(ev.type, 1);
	}
	/* A tombstone still needs a canonical key. */
	expect("WWW.example.com.|A", NULL, EVENT_ERR_KEY, NULL);
}

static void
test_lenient_members(void **state)
{
	json_t *r = rec("A", "192.0.2.1");

	json_object_set_new(r, "metadatas", json_pack("{s:i, s:s}", "createdAt", 1579024540,
	    "producer", "x"));
	json_object_set_new(r, "somethingNew", json_pack("[i]", 1));
	json_object_set_new(r, "priority", json_integer(0));	/* ignored for A */
	free(accept(KEY_A, arr(r, NULL), 1, 1));
	free(accept(KEY_A, arr(with(rec("A", "192.0.2.1"), "metadatas", json_null()), NULL), 1,
	    1));
	/* name and type compare case-insensitively; the key is the canonical one. */
	free(accept(KEY_A, arr(recn("WWW.Example.COM.", "a", "192.0.2.1", 300), NULL), 1, 1));
	free(accept(KEY_A, arr(recn("www.example.com", "A", "192.0.2.1", 300), NULL), 1, 1));
	free(accept(KEY_A, arr(rec("A", "192.0.2.1 ; a comment"), NULL), 1, 1));
	free(accept(KEY_A, arr(rec("A", "  192.0.2.1  "), NULL), 1, 1));
}

static void
test_ttl_bounds(void **state)
{
	struct rrset *rs;

	rs = accept(KEY_A, arr(recn(OWNER, "A", "192.0.2.1", 0), NULL), 1, 1);
	assert_int_equal(rs->ttl, 0);
	free(rs);
	rs = accept(KEY_A, arr(recn(OWNER, "A", "192.0.2.1", 2147483647), NULL), 1, 1);
	assert_int_equal(rs->ttl, 2147483647u);
	free(rs);
}

static void
test_special_owners(void **state)
{
	free(accept(".|NS", arr(recn(".", "NS", "a.root-servers.net.", 518400), NULL), 2, 1));
	free(accept("*.example.com.|A", arr(recn("*.example.com.", "A", "192.0.2.9", 60), NULL),
	    1, 1));
	free(accept("a\\032b.example.com.|TXT", arr(recn("a\\032B.example.com.", "TXT", "x", 60),
	    NULL), 16, 1));
	free(accept("\\@.example.com.|A", arr(recn("\\@.example.com.", "A", "192.0.2.1", 60),
	    NULL), 1, 1));
	/*
	 * Octets the zone-file syntax wants escaped but the canonical key leaves as they are
	 * (found by fuzzing: the full decoder once handed the owner to the scanner).
	 */
	free(accept("www.example,com.|A", arr(recn("www.example,com.", "A", "192.0.2.1", 60),
	    NULL), 1, 1));
	free(accept("a/b+c=d.example.com.|MX", arr(recn("a/b+c=d.example.com.", "MX",
	    "10 mail.example.com.", 60), NULL), 15, 1));
}

/* ---- encoding ---- */

static void
test_encode_format(void **state)
{
	static const uint8_t upper[] = "\x03WWW\x07" "example\x03" "com";
	struct event ev;
	char *k, *v;

	assert_int_equal(run(KEY_A, arr(rec("A", "192.0.2.1"), NULL), &ev), EVENT_OK);
	assert_int_equal(event_encode(upper, ev.rrset, &k, &v), 0);
	assert_string_equal(k, KEY_A);
	assert_string_equal(v, "[{\"name\":\"www.example.com.\",\"type\":\"A\","
	    "\"content\":\"192.0.2.1\",\"ttl\":300}]");
	free(k);
	free(v);
	free(ev.rrset);
	assert_int_equal(run(OWNER "|TYPE65280", arr(rec("TYPE65280", "\\# 2 abcd"), NULL),
	    &ev), EVENT_OK);
	assert_int_equal(event_encode(ev.owner, ev.rrset, &k, &v), 0);
	assert_string_equal(k, OWNER "|TYPE65280");
	assert_non_null(strstr(v, "\"content\":\"\\\\# 2 ABCD\""));
	free(k);
	free(v);
	free(ev.rrset);
}

/* RDATA malformed for its type (not from the decoder) is kept as RFC 3597 data. */
static void
test_encode_malformed(void **state)
{
	struct rrset_builder b;
	struct rrset *rs;
	char *k, *v;

	rrset_builder_init(&b, 1);
	assert_int_equal(rrset_builder_add(&b, 60, (const uint8_t *)"\xc0\x00\x02", 3), 0);
	rs = rrset_builder_finish(&b);
	assert_int_equal(event_encode((const uint8_t *)"\x01" "a", rs, &k, &v), 0);
	assert_string_equal(k, "a.|A");
	assert_non_null(strstr(v, "\\\\# 3 C00002"));
	expect_raw(k, v, EVENT_ERR_CONTENT, NULL);
	free(k);
	free(v);
	free(rs);
	/* A name running past the RDATA must not be read past: kept as \# as well. */
	rrset_builder_init(&b, 15);
	assert_int_equal(rrset_builder_add(&b, 60, (const uint8_t *)"\x00\x0a\x04", 3), 0);
	rs = rrset_builder_finish(&b);
	assert_int_equal(event_encode((const uint8_t *)"\x01" "a", rs, &k, &v), 0);
	assert_string_equal(k, "a.|MX");
	assert_non_null(strstr(v, "\\\\# 3 000A04"));
	free(k);
	free(v);
	free(rs);
}

/* A large RRset of long TXT records encodes and decodes back unchanged. */
static void
test_roundtrip_large(void **state)
{
	json_t *a = json_array();
	char content[1100];

	/* 4 strings of 250 octets each, with escaped quotes and backslashes among letters. */
	for (int i = 0; i < 40; i++) {
		size_t o = 0;

		for (int s = 0; s < 4; s++) {
			content[o++] = '"';
			for (int j = 0; j < 250; j++) {
				if (j % 50 == 10)
					content[o++] = '\\';
				content[o++] = j % 50 == 10 ? "\"\\"[s % 2] : (char)('a' + j % 26);
			}
			content[o++] = '"';
			content[o++] = ' ';
		}
		content[o - 1] = '\0';
		content[1] = (char)('0' + i / 10);
		content[2] = (char)('0' + i % 10);
		json_array_append_new(a, rec("TXT", content));
	}
	free(accept(OWNER "|TXT", a, 16, 40));
}

/* ---- rejections ---- */

static void
test_bad_keys(void **state)
{
	static const char *const keys[] = {
		"WWW.example.com.|A", "www.example.com|A", "www.example.com. |A",
		"www.example.com.|A ", " www.example.com.|A", "www.example.com.A",
		"www.example.com.|A|A", "www.example.com.||A", "|www.example.com.|A",
		"www.example.com.|a", "www.example.com.|Aaaa", "www.example.com.|TYPE1",
		"www.example.com.|TYPE01", "www.example.com.|type65280",
		"www.example.com.|ANY", "www.example.com.|AXFR", "www.example.com.|IXFR",
		"www.example.com.|OPT", "www.example.com.|TSIG", "www.example.com.|TKEY",
		"www.example.com.|MAILA", "www.example.com.|TYPE0", "www.example.com.|TYPE128",
		"www.example.com.|TYPE255", "www.example.com.|TYPE65536",
		"www.example.com.|FOO", "www..example.com.|A", "..|A", ".www.example.com.|A",
		"|A", "www.example.com.|", "|", "",
		"\\065.example.com.|A", "\\097.example.com.|A", "w\\ww.example.com.|A",
		"www.example.com..|A", "www\\.example.com|A",
	};
	char longkey[1200];

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		expect(keys[i], arr(rec("A", "192.0.2.1"), NULL), EVENT_ERR_KEY, "key");
	memset(longkey, 'a', sizeof(longkey));
	strcpy(longkey + sizeof(longkey) - 3, "|A");
	expect(longkey, NULL, EVENT_ERR_KEY, NULL);
	for (int i = 0; i < 5; i++)	/* 5 labels of 63: too long a name */
		memcpy(longkey + 64 * i, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.",
		    64);
	strcpy(longkey + 320, "|A");
	expect(longkey, NULL, EVENT_ERR_KEY, "not a domain name");
}

/* The reasons name the canonical form. */
static void
test_bad_key_reasons(void **state)
{
	struct event ev;

	expect("WWW.example.com.|A", NULL, EVENT_ERR_KEY, "expected \"www.example.com.\"");
	expect("www.example.com|A", NULL, EVENT_ERR_KEY, "expected \"www.example.com.\"");
	expect("www.example.com.|a", NULL, EVENT_ERR_KEY, "expected \"A\"");
	expect("www.example.com.|TYPE1", NULL, EVENT_ERR_KEY, "expected \"A\"");
	expect("www.example.com.|ANY", NULL, EVENT_ERR_KEY, "meta");
	expect("www.example.com.", NULL, EVENT_ERR_KEY, "no '|'");
	expect("a.|A|B", NULL, EVENT_ERR_KEY, "more than one");
	/* A NUL inside the key, and no key at all. */
	check_error(run_raw("a.\0|A", 5, NULL, 0, &ev), &ev, EVENT_ERR_KEY, "NUL", "nul");
	check_error(run_raw(NULL, 0, NULL, 0, &ev), &ev, EVENT_ERR_KEY, "missing", "null");
}

static void
test_bad_json(void **state)
{
	static const char *const values[] = {
		"[{", "[1,]", "[] x", "[]]", "nul", ("[{\"name\":\"www.example.com.\","
		"\"name\":\"www.example.com.\",\"type\":\"A\",\"content\":\"192.0.2.1\","
		"\"ttl\":300}]"), "[\"\xff\"]", "[{\"content\":\"\\u0000\"}]",
		"[{\"ttl\":99999999999999999999}]",
	};
	struct event ev;

	check_error(run_raw(KEY_A, strlen(KEY_A), "", 0, &ev), &ev, EVENT_ERR_JSON,
	    "empty value: use a tombstone (null) to delete", "empty");
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
		expect_raw(KEY_A, values[i], EVENT_ERR_JSON, "invalid JSON");
}

static void
test_not_array(void **state)
{
	static const char *const values[] = { "{}", "\"x\"", "42", "true", "false", "1.5",
	    ("{\"name\":\"www.example.com.\",\"type\":\"A\",\"content\":\"192.0.2.1\","
	    "\"ttl\":300}") };

	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
		expect_raw(KEY_A, values[i], EVENT_ERR_JSON, "not a JSON array");
}

static void
test_not_objects(void **state)
{
	static const char *const values[] = { "[1]", "[\"a\"]", "[[]]", "[null]", "[true]" };

	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
		expect_raw(KEY_A, values[i], EVENT_ERR_JSON, "record 1: not a JSON object");
	expect(KEY_A, arr(rec("A", "192.0.2.1"), json_integer(1), NULL), EVENT_ERR_JSON,
	    "record 2: not a JSON object");
}

static void
test_bad_members(void **state)
{
	expect(KEY_A, arr(with(rec("A", "192.0.2.1"), "name", NULL), NULL), EVENT_ERR_JSON,
	    "record 1: name: missing");
	expect(KEY_A, arr(with(rec("A", "192.0.2.1"), "type", NULL), NULL), EVENT_ERR_JSON,
	    "record 1: type: missing");
	expect(KEY_A, arr(with(rec("A", "192.0.2.1"), "content", NULL), NULL), EVENT_ERR_JSON,
	    "record 1: content: missing");
	expect(KEY_A, arr(with(rec("A", "192.0.2.1"), "name", json_integer(42)), NULL),
	    EVENT_ERR_JSON, "record 1: name: not a string");
	expect(KEY_A, arr(with(rec("A", "192.0.2.1"), "type", json_null()), NULL),
	    EVENT_ERR_JSON, "type: not a string");
	expect(KEY_A, arr(rec("A", "192.0.2.1"), with(rec("A", "192.0.2.2"), "content",
	    json_integer(1)), NULL), EVENT_ERR_JSON, "record 2: content: not a string");
	expect(KEY_A, arr(with(rec("A", "192.0.2.1"), "content", json_pack("[s]", "x")), NULL),
	    EVENT_ERR_JSON, "content");
}

static void
test_bad_priority_metadatas(void **state)
{
	static const char *const prios[] = { "\"10\"", "-1", "65536", "10.5", "null", "true" };

	for (size_t i = 0; i < sizeof(prios) / sizeof(prios[0]); i++) {
		json_t *p = json_loads(prios[i], JSON_DECODE_ANY, NULL);

		assert_non_null(p);
		expect(OWNER "|MX", arr(with(rec("MX", "mail.example.com."), "priority", p),
		    NULL), EVENT_ERR_JSON, "record 1: priority");
	}
	expect(KEY_A, arr(with(rec("A", "192.0.2.1"), "metadatas", json_string("x")), NULL),
	    EVENT_ERR_JSON, "metadatas");
	expect(KEY_A, arr(with(rec("A", "192.0.2.1"), "metadatas", json_array()), NULL),
	    EVENT_ERR_JSON, "metadatas");
}

static void
test_mismatch(void **state)
{
	static const char *const names[] = { "other.example.com.", "example.com.",
	    "www.example.com.evil.", "www.example.com..", "", "ww w.example.com.", "\\087ww.x." };
	static const char *const types[] = { "AAAA", "FOO", "", "TYPE28", "A ", "ANY" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		expect(KEY_A, arr(recn(names[i], "A", "192.0.2.1", 300), NULL),
		    EVENT_ERR_MISMATCH, "record 1: name");
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		expect(KEY_A, arr(rec(types[i], "192.0.2.1"), NULL), EVENT_ERR_MISMATCH,
		    "record 1: type");
	expect(KEY_A, arr(rec("A", "192.0.2.1"), recn("x.example.com.", "A", "192.0.2.2", 300),
	    NULL), EVENT_ERR_MISMATCH, "record 2: name");
}

/* Each bad content is followed by a good event: the scanner must have recovered. */
static void
bad_content(const char *key, const char *type, const char *content, const char *part)
{
	struct rrset *rs;

	expect(key, arr(rec(type, content), NULL), EVENT_ERR_CONTENT, part);
	rs = accept(KEY_A, arr(rec("A", "192.0.2.1"), NULL), 1, 1);
	assert_rdata(rs, 0, "\xc0\x00\x02\x01", 4);
	free(rs);
}

static void
test_bad_content(void **state)
{
	bad_content(KEY_A, "A", "192.0.2.256", "record 1: content: invalid IPv4 address");
	bad_content(KEY_A, "A", "", "record 1: content");
	bad_content(KEY_A, "A", "192.0.2.1 x", NULL);
	bad_content(KEY_A, "A", "192.0.2.1 192.0.2.2", NULL);
	bad_content(KEY_A, "A", "(192.0.2.1", NULL);
	bad_content(KEY_A, "A", "192.0.2.1 )", NULL);
	bad_content(KEY_A, "A", "( 192.0.2.1", NULL);
	bad_content(KEY_A, "A", "www.example.com.", NULL);
	bad_content(OWNER "|AAAA", "AAAA", "2001:db8::g", NULL);
	bad_content(OWNER "|AAAA", "AAAA", "192.0.2.1", NULL);
	bad_content(OWNER "|MX", "MX", "mail.example.com.", NULL);
	bad_content(OWNER "|MX", "MX", "10 mail.example.com. extra", NULL);
	bad_content(OWNER "|MX", "MX", "70000 mail.example.com.", NULL);
	bad_content(OWNER "|SRV", "SRV", "5 443 sip.example.com.", NULL);
	bad_content(OWNER "|TXT", "TXT", "\"unterminated", NULL);
	bad_content(OWNER "|CNAME", "CNAME", "a..b.", NULL);
	bad_content(OWNER "|DS", "DS", "1 2 3 xyz", NULL);
	bad_content(OWNER "|TYPE65280", "TYPE65280", "deadbeef", NULL);
	bad_content(OWNER "|SOA", "SOA", "ns1. host. 1 2 3", NULL);
}

/* A line break would let content add a record or a directive; every control character is refused. */
static void
test_control_chars(void **state)
{
	static const char *const contents[] = {
		"192.0.2.1\nwww.example.com. 300 IN A 192.0.2.2",
		"192.0.2.1\n$INCLUDE /etc/passwd", "192.0.2.1\r", "192.0.2.1\t", "\t192.0.2.1",
		"192.0.2.1\x7f", "192.0.2.1\x1b[0m",
	};

	for (size_t i = 0; i < sizeof(contents) / sizeof(contents[0]); i++)
		bad_content(KEY_A, "A", contents[i], "control character");
	bad_content(OWNER "|TXT", "TXT", "\"a\nb\"", "control character");
}

static void
test_bad_ttl(void **state)
{
	static const char *const ttls[] = { "-1", "2147483648", "4294967296", "300.0", "\"300\"",
	    "null", "true", "1e3", "[300]" };

	for (size_t i = 0; i < sizeof(ttls) / sizeof(ttls[0]); i++) {
		json_t *t = json_loads(ttls[i], JSON_DECODE_ANY, NULL);

		assert_non_null(t);
		expect(KEY_A, arr(with(rec("A", "192.0.2.1"), "ttl", t), NULL), EVENT_ERR_TTL,
		    "record 1: ttl");
	}
	expect(KEY_A, arr(with(rec("A", "192.0.2.1"), "ttl", NULL), NULL), EVENT_ERR_TTL,
	    "ttl: missing");
	expect(KEY_A, arr(rec("A", "192.0.2.1"), recn(OWNER, "A", "192.0.2.2", -5), NULL),
	    EVENT_ERR_TTL, "record 2: ttl");
}

static void
test_bad_rrsets(void **state)
{
	expect(OWNER "|CNAME", arr(rec("CNAME", "a.example."), rec("CNAME", "b.example."),
	    NULL), EVENT_ERR_RRSET, "exactly one");
	expect(OWNER "|DNAME", arr(rec("DNAME", "a.example."), rec("DNAME", "b.example."),
	    NULL), EVENT_ERR_RRSET, "exactly one");
	expect("example.com.|SOA", arr(recn("example.com.", "SOA", "a. b. 1 2 3 4 5", 60),
	    recn("example.com.", "SOA", "a. b. 2 2 3 4 5", 60), NULL), EVENT_ERR_RRSET,
	    "exactly one");
}

/* Over 64 KiB on the wire: 60 records of ~1 KB (each with 265 octets of header). */
static void
test_too_large(void **state)
{
	json_t *a = json_array();
	char content[1100];

	for (int i = 0; i < 60; i++) {
		int o = snprintf(content, sizeof(content), "%02d", i);

		memset(content + o, 'x', 1000);
		content[o + 1000] = '\0';
		json_array_append_new(a, rec("TXT", content));
	}
	expect(OWNER "|TXT", a, EVENT_ERR_RRSET, "65535");
}

/*
 * The fast path (common/event_fast.c): which values it takes itself (1) and which it
 * leaves to the full decoder (0), and for every one of them, the same outcome both ways.
 */
static const struct fast_case {
	const char	*key, *value;
	int		 fast;
} fast_cases[] = {
	{ KEY_A, "[{\"name\":\"" OWNER "\",\"type\":\"A\",\"content\":\"192.0.2.1\",\"ttl\":300}]", 1 },
	{ KEY_A, " [ { \"ttl\" : 0 , \"content\":\"0.0.0.0\",\"type\":\"A\",\"name\":\"" OWNER "\","
	    "\"priority\":7,\"metadatas\":{\"createdAt\":1579024540,\"producer\":\"x\",\"n\":-3,"
	    "\"b\":true,\"z\":null}}\n,{\"name\":\"" OWNER "\",\"type\":\"A\",\"content\":"
	    "\"255.255.255.255\",\"ttl\":2147483647,\"metadatas\":null}]\r\n", 1 },
	{ KEY_A, "[{\"name\":\"" OWNER "\",\"type\":\"A\",\"content\":\"10.0.0.1\",\"ttl\":60},"
	    "{\"name\":\"" OWNER "\",\"type\":\"A\",\"content\":\"10.0.0.1\",\"ttl\":30}]", 1 },
	{ OWNER "|AAAA", "[{\"name\":\"" OWNER "\",\"type\":\"AAAA\",\"content\":\"2001:DB8::1\",\"ttl\":1}]", 1 },
	{ OWNER "|AAAA", "[{\"name\":\"" OWNER "\",\"type\":\"AAAA\",\"content\":\"::ffff:192.0.2.1\",\"ttl\":1}]", 1 },
	{ OWNER "|AAAA", "[{\"name\":\"" OWNER "\",\"type\":\"AAAA\",\"content\":\"::\",\"ttl\":1}]", 1 },
	{ OWNER "|CNAME", "[{\"name\":\"" OWNER "\",\"type\":\"CNAME\",\"content\":\"Web-1.Example.NET\",\"ttl\":1}]", 1 },
	{ OWNER "|NS", "[{\"name\":\"" OWNER "\",\"type\":\"NS\",\"content\":\"ns1.example.com.\",\"ttl\":1},"
	    "{\"name\":\"" OWNER "\",\"type\":\"NS\",\"content\":\"_x.example.com\",\"ttl\":1}]", 1 },
	{ OWNER "|PTR", "[{\"name\":\"" OWNER "\",\"type\":\"PTR\",\"content\":\"h\",\"ttl\":1}]", 1 },
	{ OWNER "|DNAME", "[{\"name\":\"" OWNER "\",\"type\":\"DNAME\",\"content\":\"example.net.\",\"ttl\":1}]", 1 },
	{ OWNER "|MX", "[{\"name\":\"" OWNER "\",\"type\":\"MX\",\"content\":\"10 mail.example.com.\",\"ttl\":1}]", 1 },
	{ OWNER "|MX", "[{\"name\":\"" OWNER "\",\"type\":\"MX\",\"content\":\"mail.example.com.\",\"ttl\":1,\"priority\":65535}]", 1 },
	{ OWNER "|MX", "[{\"name\":\"" OWNER "\",\"type\":\"MX\",\"content\":\"5 mail\",\"ttl\":1,\"priority\":9}]", 1 },
	{ OWNER "|TXT", "[{\"name\":\"" OWNER "\",\"type\":\"TXT\",\"content\":\"\\\"v=spf1 -all\\\" \\\"\\\" \\\"a\\/b;(c)\\\"\",\"ttl\":1}]", 1 },
	/* Left to the full decoder, which accepts them. */
	{ KEY_A, "[{\"name\":\"WWW.example.com.\",\"type\":\"A\",\"content\":\"192.0.2.1\",\"ttl\":300}]", 0 },
	{ KEY_A, "[{\"name\":\"www.example.com\",\"type\":\"A\",\"content\":\"192.0.2.1\",\"ttl\":300}]", 0 },
	{ KEY_A, "[{\"name\":\"" OWNER "\",\"type\":\"a\",\"content\":\"192.0.2.1\",\"ttl\":300}]", 0 },
	{ KEY_A, "[{\"name\":\"" OWNER "\",\"type\":\"A\",\"content\":\" 192.0.2.1\",\"ttl\":300}]", 0 },
	{ KEY_A, "[{\"name\":\"" OWNER "\",\"type\":\"A\",\"content\":\"192.0.2.1\",\"ttl\":300,\"extra\":[1,{}]}]", 0 },
	{ KEY_A, "[{\"name\":\"" OWNER "\",\"type\":\"A\",\"content\":\"192.0.2.1\",\"ttl\":300,\"metadatas\":{\"a\":{\"b\":1}}}]", 0 },
	{ KEY_A, "[{\"name\":\"" OWNER "\",\"type\":\"A\",\"content\":\"\\u0031\\u0039\\u0032.0.2.1\",\"ttl\":300}]", 0 },
	{ OWNER "|MX", "[{\"name\":\"" OWNER "\",\"type\":\"MX\",\"content\":\"010 mail.\",\"ttl\":1}]", 0 },
	{ OWNER "|TXT", "[{\"name\":\"" OWNER "\",\"type\":\"TXT\",\"content\":\"unquoted\",\"ttl\":1}]", 0 },
	{ OWNER "|TXT", "[{\"name\":\"" OWNER "\",\"type\":\"TXT\",\"content\":\"\\\"caf\u00e9\\\"\",\"ttl\":1}]", 0 },
	{ OWNER "|CNAME", "[{\"name\":\"" OWNER "\",\"type\":\"CNAME\",\"content\":\"@\",\"ttl\":1}]", 0 },
	{ OWNER "|SRV", "[{\"name\":\"" OWNER "\",\"type\":\"SRV\",\"content\":\"0 5 443 a.\",\"ttl\":1}]", 0 },
	{ "www.example,com.|A", "[{\"name\":\"www.example,com.\",\"type\":\"A\",\"content\":\"19.20.2.1\",\"ttl\":3}]", 1 },
	/* Left to the full decoder, which rejects them with a reason. */
	{ KEY_A, "[{\"name\":\"" OWNER "\",\"type\":\"A\",\"content\":\"192.0.2.256\",\"ttl\":300}]", 0 },
	{ KEY_A, "[{\"name\":\"" OWNER "\",\"type\":\"A\",\"content\":\"192.0.2.1\",\"ttl\":2147483648}]", 0 },
	{ KEY_A, "[{\"name\":\"" OWNER "\",\"type\":\"A\",\"content\":\"192.0.2.1\",\"ttl\":300.0}]", 0 },
	{ KEY_A, "[{\"name\":\"" OWNER "\",\"type\":\"A\",\"content\":\"192.0.2.1\",\"ttl\":0300}]", 0 },
	{ KEY_A, "[{\"name\":\"" OWNER "\",\"type\":\"A\",\"content\":\"192.0.2.1\",\"ttl\":300,\"ttl\":300}]", 0 },
	{ KEY_A, "[{\"name\":\"" OWNER "\",\"type\":\"A\",\"content\":\"192.0.2.1\",\"ttl\":300,"
	    "\"metadatas\":{\"a\":1,\"a\":2}}]", 0 },
	{ KEY_A, "[{\"name\":\"" OWNER "\",\"type\":\"A\",\"content\":\"192.0.2.1\",\"ttl\":300}] x", 0 },
	{ KEY_A, "[{\"name\":\"" OWNER "\",\"type\":\"A\",\"content\":\"192.0.2.1\",\"ttl\":300},]", 0 },
	{ KEY_A, "[{\"name\":\"" OWNER "\",\"type\":\"A\",\"content\":\"192.0.2.1\"}]", 0 },
	{ KEY_A, "[{\"name\":\"other.example.com.\",\"type\":\"A\",\"content\":\"192.0.2.1\",\"ttl\":1}]", 0 },
	{ OWNER "|CNAME", "[{\"name\":\"" OWNER "\",\"type\":\"CNAME\",\"content\":\"a.\",\"ttl\":1},"
	    "{\"name\":\"" OWNER "\",\"type\":\"CNAME\",\"content\":\"b.\",\"ttl\":1}]", 0 },
	{ OWNER "|MX", "[{\"name\":\"" OWNER "\",\"type\":\"MX\",\"content\":\"mail.example.com.\",\"ttl\":1}]", 0 },
	{ OWNER "|MX", "[{\"name\":\"" OWNER "\",\"type\":\"MX\",\"content\":\"65536 mail.\",\"ttl\":1}]", 0 },
	{ OWNER "|NS", "[{\"name\":\"" OWNER "\",\"type\":\"NS\",\"content\":\"a..b\",\"ttl\":1}]", 0 },
	{ OWNER "|AAAA", "[{\"name\":\"" OWNER "\",\"type\":\"AAAA\",\"content\":\"1:2:3\",\"ttl\":1}]", 0 },
	{ OWNER "|TXT", "[{\"name\":\"" OWNER "\",\"type\":\"TXT\",\"content\":\"\\\"open\",\"ttl\":1}]", 0 },
};

/* Decodes the case with the fast path on or off; the RRset is returned (caller frees). */
static enum event_error
decode_case(const struct fast_case *fc, bool fast, struct rrset **rs)
{
	struct event ev;
	enum event_error e;

	event_decoder_set_fast(dec, fast);
	e = run_raw(fc->key, strlen(fc->key), fc->value, strlen(fc->value), &ev);
	event_decoder_set_fast(dec, suite_fast);
	*rs = ev.rrset;
	return e;
}

static void
test_fast_path(void **state)
{
	for (size_t i = 0; i < sizeof(fast_cases) / sizeof(fast_cases[0]); i++) {
		const struct fast_case *fc = &fast_cases[i];
		const char *bar = strchr(fc->key, '|');
		char owner[256];
		struct rrset *direct, *a, *b;
		enum event_error ea, eb;
		struct event kev;
		int r;

		/* The key's halves as event_decode hands them over. */
		memcpy(owner, fc->key, (size_t)(bar - fc->key));
		owner[bar - fc->key] = '\0';
		assert_int_equal(run_raw(fc->key, strlen(fc->key), NULL, 0, &kev), EVENT_OK);
		r = event_fast_value(fc->value, strlen(fc->value), owner, bar + 1, kev.type,
		    &direct);
		if (r != fc->fast)
			print_error("case %zu: fast path gave %d: %s\n", i, r, fc->value);
		assert_int_equal(r, fc->fast);
		ea = decode_case(fc, true, &a);
		eb = decode_case(fc, false, &b);
		if (ea != eb)
			print_error("case %zu: %s with, %s without the fast path (%s)\n", i,
			    event_error_name(ea), event_error_name(eb), reason);
		assert_int_equal(ea, eb);
		if (ea == EVENT_OK) {
			assert_non_null(a);
			assert_non_null(b);
			assert_int_equal(a->ttl, b->ttl);
			assert_int_equal(a->count, b->count);
			assert_int_equal(a->datalen, b->datalen);
			assert_memory_equal(a->data, b->data, a->datalen);
		}
		if (r == 1) {
			assert_int_equal(direct->datalen, a->datalen);
			assert_memory_equal(direct->data, a->data, a->datalen);
		}
		free(direct);
		free(a);
		free(b);
	}
}

static void
test_error_names(void **state)
{
	static const char *const names[] = { "ok", "key", "json", "mismatch", "content", "ttl",
	    "rrset", "signature", "keyset" };

	for (int e = 0; e < EVENT_ERR__COUNT; e++)
		assert_string_equal(event_error_name((enum event_error)e), names[e]);
	assert_string_equal(event_error_name(EVENT_ERR__COUNT), "unknown");
}

/* Wire RDATA (an update's) is taken only when an event can carry it back unchanged. */
#define R(lit)	lit, sizeof(lit) - 1
static void
test_rdata_check(void **state)
{
	static const struct {
		uint16_t	 type;
		const char	*rd;
		size_t		 len;
		bool		 ok;
	} cases[] = {
		{ 1, R("\xc0\x00\x02\x01"), true },
		{ 1, R("\xc0\x00\x02"), false },			/* A of 3 octets */
		{ 16, R("\x05hello\x02hi"), true },
		{ 16, R("\x05hel"), false },				/* string runs off */
		{ 15, R("\x00\x0a\x04mail\x00"), true },
		{ 15, R("\x00\x0a\x04mail"), false },			/* name unterminated */
		/* NSEC3: alg 1, flags 0, 10 iterations, salt ab, 20-octet hash, A RRSIG bitmap */
		{ 50, R("\x01\x00\x00\x0a\x01\xab\x14" "aaaaaaaaaaaaaaaaaaaa"
		    "\x00\x06\x40\x00\x00\x00\x00\x02"), true },
		{ 50, R("\x01\x00\x00\x0a\xc0\xab\x14" "aaaaaaaaaaaaaaaaaaaa"), false }, /* salt */
		{ 50, R("\x01\x00\x00\x0a\x01\xab\x14" "aaaaaaaaaaaaaaaaaaaa" "\x00\x28\x40"),
		    false },						/* bitmap */
		{ 51, R("\x01\x00\x00\x0a\x01\xab"), true },		/* NSEC3PARAM */
		{ 51, R("\x01\x00\x00\x0a\x02\xab"), false },
		/* HTTPS 1 . alpn=h2 port=443; then the same with keys out of order */
		{ 65, R("\x00\x01\x00\x00\x01\x00\x03\x02h2\x00\x03\x00\x02\x01\xbb"), true },
		{ 65, R("\x00\x01\x00\x00\x03\x00\x02\x01\xbb\x00\x01\x00\x03\x02h2"), false },
		{ 65, R("\x00\x01\x00\x00\x01\x00\x09\x02h2"), false },	/* value runs off */
	};
	struct event_decoder *d = event_decoder_new();
	uint8_t owner[DNAME_MAXLEN];
	char err[256];

	assert_non_null(d);
	assert_true(dname_from_str("x.example.", NULL, owner) > 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum event_error e = event_rdata_check(d, owner, cases[i].type,
		    (const uint8_t *)cases[i].rd, (uint16_t)cases[i].len, err, sizeof(err));

		if ((e == EVENT_OK) != cases[i].ok)
			fail_msg("case %zu (type %u): %s", i, cases[i].type,
			    e == EVENT_OK ? "accepted" : err);
	}
	event_decoder_free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a),
		cmocka_unit_test(test_aaaa),
		cmocka_unit_test(test_mx),
		cmocka_unit_test(test_srv),
		cmocka_unit_test(test_txt),
		cmocka_unit_test(test_caa),
		cmocka_unit_test(test_other_types),
		cmocka_unit_test(test_soa),
		cmocka_unit_test(test_unknown_type),
		cmocka_unit_test(test_min_ttl),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_deletes),
		cmocka_unit_test(test_lenient_members),
		cmocka_unit_test(test_ttl_bounds),
		cmocka_unit_test(test_special_owners),
		cmocka_unit_test(test_encode_format),
		cmocka_unit_test(test_encode_malformed),
		cmocka_unit_test(test_roundtrip_large),
		cmocka_unit_test(test_bad_keys),
		cmocka_unit_test(test_bad_key_reasons),
		cmocka_unit_test(test_bad_json),
		cmocka_unit_test(test_not_array),
		cmocka_unit_test(test_not_objects),
		cmocka_unit_test(test_bad_members),
		cmocka_unit_test(test_bad_priority_metadatas),
		cmocka_unit_test(test_mismatch),
		cmocka_unit_test(test_bad_content),
		cmocka_unit_test(test_control_chars),
		cmocka_unit_test(test_bad_ttl),
		cmocka_unit_test(test_bad_rrsets),
		cmocka_unit_test(test_too_large),
		cmocka_unit_test(test_error_names),
		cmocka_unit_test(test_fast_path),
		cmocka_unit_test(test_rdata_check),
	};

	return cmocka_run_group_tests_name("fast path on", tests, setup, teardown) |
	    cmocka_run_group_tests_name("full decoder only", tests, setup_full, teardown);
}
