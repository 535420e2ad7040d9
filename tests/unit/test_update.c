/* test_update.c: unit tests of the RFC 2136 UPDATE engine (authd/update.c) against a small store. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>
#include <libknot/libknot.h>
#include <sodium.h>
#include <urcu.h>

#include "authd/signer.h"
#include "authd/store.h"
#include "authd/update.h"
#include "common/dname.h"
#include "common/event.h"
#include "common/keyset.h"
#include "common/rrset.h"
#include "common/wire.h"

#define CLASS_NONE	254
#define SOA_RDATA(serial) \
	"ns1.example.com. hostmaster.example.com. " serial " 7200 3600 1209600 300"

static struct store *st;
static struct event_decoder *dec;
static int64_t next_offset;
static struct update_plan plan;
static char why[256];

/* ---- names, RDATA and RRsets from presentation text (through the event codec) ---- */

static const uint8_t *
wn(const char *s)
{
	static uint8_t names[8][DNAME_MAXLEN];
	static int next;
	uint8_t *out = names[next++ % 8];

	assert_true(dname_from_str(s, NULL, out) > 0);
	return out;
}

static struct rrset *
decode(const char *owner, uint16_t type, uint32_t ttl, const char *const *contents,
    size_t n)
{
	char tname[32], key[300], err[256], *value;
	json_t *arr = json_array();
	struct event ev;

	assert_true(knot_rrtype_to_string(type, tname, sizeof(tname)) > 0);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:I}", "name", owner,
		    "type", tname, "content", contents[i], "ttl", (json_int_t)ttl));
	value = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	assert_non_null(value);
	snprintf(key, sizeof(key), "%s|%s", owner, tname);
	if (event_decode(dec, key, strlen(key), value, strlen(value), &ev, err,
	    sizeof(err)) != EVENT_OK)
		fail_msg("%s %s: %s", key, value, err);
	free(value);
	assert_non_null(ev.rrset);
	return ev.rrset;
}

/* The wire RDATA of one record of type, from its presentation text. */
static uint16_t
rdata(uint16_t type, const char *text, uint8_t *out)
{
	struct rrset *rs = decode("rdata.test.", type, 0, &text, 1);
	struct rdata_ref rd;

	assert_non_null(rrset_first(rs, &rd));
	memcpy(out, rd.data, rd.len);
	free(rs);
	return rd.len;
}

/* Loads an RRset into the store as the consumer does: the next offset is its version. */
static void
load(const char *owner, uint16_t type, uint32_t ttl, const char *const *contents, size_t n)
{
	struct rrset *rs = decode(owner, type, ttl, contents, n);

	rrset_set_version(rs, next_offset++);
	store_apply(st, wn(owner), type, rs);
}

#define LOAD(owner, type, ttl, ...) do {					\
	static const char *const c_[] = { __VA_ARGS__ };			\
	load(owner, type, ttl, c_, sizeof(c_) / sizeof(c_[0]));			\
} while (0)

/* The version of the stored topic RRset, -1 when there is none. */
static int64_t
version(const char *owner, uint16_t type)
{
	const uint8_t *name = wn(owner);
	const struct znode *n;
	const struct rrset *rs;
	int64_t v;

	rcu_read_lock();
	n = store_lookup(st, name, dname_len(name));
	rs = n != NULL ? znode_find(n, type) : NULL;
	v = rs != NULL ? rrset_version(rs) : -1;
	rcu_read_unlock();
	return v;
}

static int
setup(void **state)
{
	st = store_new();
	if (st == NULL)
		return -1;
	next_offset = 100;
	LOAD("example.com.", DNS_TYPE_SOA, 3600, SOA_RDATA("100"));
	LOAD("example.com.", DNS_TYPE_NS, 3600, "ns1.example.com.", "ns2.example.com.");
	LOAD("example.com.", DNS_TYPE_TXT, 300, "\"v=spf1 -all\"");
	LOAD("ns1.example.com.", DNS_TYPE_A, 3600, "192.0.2.53");
	LOAD("www.example.com.", DNS_TYPE_A, 300, "192.0.2.1", "192.0.2.2");
	LOAD("alias.example.com.", DNS_TYPE_CNAME, 300, "www.example.com.");
	LOAD("mx.example.com.", DNS_TYPE_MX, 300, "10 Mail.Example.com.");
	LOAD("host.ent.example.com.", DNS_TYPE_A, 300, "192.0.2.7");
	LOAD("sub.example.com.", DNS_TYPE_NS, 3600, "ns.sub.example.com.");
	LOAD("child.example.com.", DNS_TYPE_SOA, 3600,
	    "ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 300");
	LOAD("child.example.com.", DNS_TYPE_NS, 3600, "ns1.example.com.");
	LOAD("x.child.example.com.", DNS_TYPE_A, 300, "192.0.2.9");
	LOAD("example.net.", DNS_TYPE_SOA, 3600,
	    "ns1.example.com. hostmaster.example.com. 4294967295 7200 3600 1209600 300");
	LOAD("example.net.", DNS_TYPE_NS, 3600, "ns1.example.com.");
	store_commit(st);
	return 0;
}

static int
teardown(void **state)
{
	update_plan_free(&plan);
	store_free(st);
	st = NULL;
	return 0;
}

/* ---- UPDATE messages ---- */

static uint8_t buf[DNS_MAX_MSG];
static struct wire_writer w;

/* A new UPDATE for zone (NULL: an empty zone section). */
static void
begin(const char *zone)
{
	wire_init(&w, buf, sizeof(buf));
	wire_header(&w, 0x1234, DNS_OPCODE_UPDATE << DNS_OPCODE_SHIFT);
	if (zone != NULL)
		assert_int_equal(wire_question(&w, wn(zone), DNS_TYPE_SOA, DNS_CLASS_IN), 0);
}

/* One RR in section sec; text NULL: no RDATA. */
static void
rr(int sec, const char *owner, uint16_t type, uint16_t rclass, uint32_t ttl,
    const char *text)
{
	uint8_t rd[DNS_MAX_MSG];
	uint16_t len = text != NULL ? rdata(type, text, rd) : 0;

	assert_int_equal(wire_rr(&w, sec, wn(owner), type, rclass, ttl, rd, len), 0);
}

#define PRE(...)	rr(WIRE_AN, __VA_ARGS__)
#define UPD(...)	rr(WIRE_NS, __VA_ARGS__)

static int
run_opts(const struct update_opts *o)
{
	size_t len = wire_finish(&w);

	update_plan_free(&plan);
	return update_prepare(st, buf, len, o, &plan, why, sizeof(why));
}

static int
run(void)
{
	struct update_opts o = { 0 };

	return run_opts(&o);
}

static const struct update_change *
change(const char *owner, uint16_t type)
{
	const uint8_t *name = wn(owner);

	for (size_t i = 0; i < plan.n; i++)
		if (plan.changes[i].type == type && dname_equal(plan.changes[i].owner, name))
			return &plan.changes[i];
	return NULL;
}

/* The change sets the RRset to exactly these records (RDATA as the text gives it), ttl. */
static void
expect(const struct update_change *c, uint32_t ttl, const char *const *contents, size_t n)
{
	struct rrset *want;

	assert_non_null(c);
	assert_non_null(c->rs);
	want = decode("rdata.test.", c->type, ttl, contents, n);
	assert_int_equal(c->rs->type, want->type);
	assert_int_equal(c->rs->ttl, ttl);
	assert_int_equal(c->rs->count, want->count);
	assert_int_equal(c->rs->datalen, want->datalen);
	assert_memory_equal(c->rs->data, want->data, want->datalen);
	free(want);
}

#define EXPECT(c, ttl, ...) do {						\
	static const char *const e_[] = { __VA_ARGS__ };			\
	expect(c, ttl, e_, sizeof(e_) / sizeof(e_[0]));				\
} while (0)

/* ---- zone section ---- */

static void
test_zone_section(void **state)
{
	uint8_t zone[DNAME_MAXLEN];
	size_t len;

	begin("Example.COM.");
	len = wire_finish(&w);
	assert_int_equal(update_zone(buf, len, zone), 0);
	assert_true(memcmp(zone, "\x07" "example" "\x03" "com", 13) == 0);
	assert_int_equal(run(), DNS_RCODE_NOERROR);
	assert_int_equal(plan.n, 0);
	assert_memory_equal(plan.zone, zone, 13);

	begin(NULL);				/* no zone */
	assert_int_equal(update_zone(buf, wire_finish(&w), zone), -1);
	assert_int_equal(run(), DNS_RCODE_FORMERR);

	begin("example.com.");			/* two zones */
	assert_int_equal(wire_question(&w, wn("example.com."), DNS_TYPE_SOA, DNS_CLASS_IN),
	    0);
	assert_int_equal(update_zone(buf, wire_finish(&w), zone), -1);
	assert_int_equal(run(), DNS_RCODE_FORMERR);

	begin(NULL);				/* type A */
	assert_int_equal(wire_question(&w, wn("example.com."), DNS_TYPE_A, DNS_CLASS_IN), 0);
	assert_int_equal(update_zone(buf, wire_finish(&w), zone), -1);
	assert_int_equal(run(), DNS_RCODE_FORMERR);

	begin(NULL);				/* class CH */
	assert_int_equal(wire_question(&w, wn("example.com."), DNS_TYPE_SOA, DNS_CLASS_CH),
	    0);
	assert_int_equal(run(), DNS_RCODE_FORMERR);
}

static void
test_malformed(void **state)
{
	struct update_opts o = { 0 };
	size_t len;

	begin("example.com.");
	UPD("www.example.com.", DNS_TYPE_A, DNS_CLASS_IN, 300, "192.0.2.3");
	len = wire_finish(&w);
	assert_int_equal(update_prepare(st, buf, len - 1, &o, &plan, why, sizeof(why)),
	    DNS_RCODE_FORMERR);
	assert_int_equal(update_prepare(st, buf, 5, &o, &plan, why, sizeof(why)),
	    DNS_RCODE_FORMERR);

	/* A QUERY is not an UPDATE. */
	wire_set_flags(&w, 0);
	assert_int_equal(update_prepare(st, buf, len, &o, &plan, why, sizeof(why)),
	    DNS_RCODE_FORMERR);

	/* An A record of 5 octets. */
	begin("example.com.");
	assert_int_equal(wire_rr(&w, WIRE_NS, wn("www.example.com."), DNS_TYPE_A,
	    DNS_CLASS_IN, 300, (const uint8_t *)"\xc0\0\2\3\4", 5), 0);
	assert_int_equal(run(), DNS_RCODE_FORMERR);
	assert_int_equal(plan.n, 0);
}

static void
test_notauth(void **state)
{
	begin("example.org.");
	UPD("www.example.org.", DNS_TYPE_A, DNS_CLASS_IN, 300, "192.0.2.3");
	assert_int_equal(run(), DNS_RCODE_NOTAUTH);
	assert_non_null(strstr(why, "not a zone"));

	begin("www.example.com.");		/* a name, not an apex */
	assert_int_equal(run(), DNS_RCODE_NOTAUTH);
	begin("ent.example.com.");		/* an empty non-terminal */
	assert_int_equal(run(), DNS_RCODE_NOTAUTH);
}

/* ---- prerequisites ---- */

static void
test_prereq_name_in_use(void **state)
{
	begin("example.com.");
	PRE("www.example.com.", DNS_TYPE_ANY, DNS_CLASS_ANY, 0, NULL);
	PRE("Alias.Example.com.", DNS_TYPE_ANY, DNS_CLASS_ANY, 0, NULL);
	assert_int_equal(run(), DNS_RCODE_NOERROR);
	assert_int_equal(plan.prereqs, 2);

	begin("example.com.");
	PRE("nothere.example.com.", DNS_TYPE_ANY, DNS_CLASS_ANY, 0, NULL);
	assert_int_equal(run(), DNS_RCODE_NXDOMAIN);

	/* An empty non-terminal is not in use. */
	begin("example.com.");
	PRE("ent.example.com.", DNS_TYPE_ANY, DNS_CLASS_ANY, 0, NULL);
	assert_int_equal(run(), DNS_RCODE_NXDOMAIN);
}

static void
test_prereq_name_not_in_use(void **state)
{
	begin("example.com.");
	PRE("nothere.example.com.", DNS_TYPE_ANY, CLASS_NONE, 0, NULL);
	PRE("ent.example.com.", DNS_TYPE_ANY, CLASS_NONE, 0, NULL);
	assert_int_equal(run(), DNS_RCODE_NOERROR);

	begin("example.com.");
	PRE("www.example.com.", DNS_TYPE_ANY, CLASS_NONE, 0, NULL);
	assert_int_equal(run(), DNS_RCODE_YXDOMAIN);
}

static void
test_prereq_rrset_exists(void **state)
{
	begin("example.com.");
	PRE("www.example.com.", DNS_TYPE_A, DNS_CLASS_ANY, 0, NULL);
	assert_int_equal(run(), DNS_RCODE_NOERROR);

	begin("example.com.");
	PRE("www.example.com.", DNS_TYPE_AAAA, DNS_CLASS_ANY, 0, NULL);
	assert_int_equal(run(), DNS_RCODE_NXRRSET);
	assert_non_null(strstr(why, "www.example.com. AAAA"));
}

static void
test_prereq_rrset_not_exists(void **state)
{
	begin("example.com.");
	PRE("www.example.com.", DNS_TYPE_AAAA, CLASS_NONE, 0, NULL);
	assert_int_equal(run(), DNS_RCODE_NOERROR);

	begin("example.com.");
	PRE("www.example.com.", DNS_TYPE_A, CLASS_NONE, 0, NULL);
	assert_int_equal(run(), DNS_RCODE_YXRRSET);
}

/* Value-dependent: the records in another order, names in another case, still equal. */
static void
test_prereq_value(void **state)
{
	begin("example.com.");
	PRE("WWW.example.com.", DNS_TYPE_A, DNS_CLASS_IN, 0, "192.0.2.2");
	PRE("mx.example.com.", DNS_TYPE_MX, DNS_CLASS_IN, 0, "10 MAIL.example.COM.");
	PRE("www.example.com.", DNS_TYPE_A, DNS_CLASS_IN, 0, "192.0.2.1");
	assert_int_equal(run(), DNS_RCODE_NOERROR);

	begin("example.com.");			/* one record short */
	PRE("www.example.com.", DNS_TYPE_A, DNS_CLASS_IN, 0, "192.0.2.1");
	assert_int_equal(run(), DNS_RCODE_NXRRSET);

	begin("example.com.");			/* one record too many */
	PRE("www.example.com.", DNS_TYPE_A, DNS_CLASS_IN, 0, "192.0.2.1");
	PRE("www.example.com.", DNS_TYPE_A, DNS_CLASS_IN, 0, "192.0.2.2");
	PRE("www.example.com.", DNS_TYPE_A, DNS_CLASS_IN, 0, "192.0.2.3");
	assert_int_equal(run(), DNS_RCODE_NXRRSET);

	begin("example.com.");			/* a different preference */
	PRE("mx.example.com.", DNS_TYPE_MX, DNS_CLASS_IN, 0, "20 mail.example.com.");
	assert_int_equal(run(), DNS_RCODE_NXRRSET);

	begin("example.com.");			/* no such RRset */
	PRE("www.example.com.", DNS_TYPE_AAAA, DNS_CLASS_IN, 0, "2001:db8::1");
	assert_int_equal(run(), DNS_RCODE_NXRRSET);

	/* Compared once all are read: a value-dependent failure comes after the others. */
	begin("example.com.");
	PRE("www.example.com.", DNS_TYPE_A, DNS_CLASS_IN, 0, "192.0.2.1");
	PRE("www.example.com.", DNS_TYPE_A, CLASS_NONE, 0, NULL);
	assert_int_equal(run(), DNS_RCODE_YXRRSET);
}

static void
test_prereq_formerr(void **state)
{
	begin("example.com.");
	PRE("www.example.com.", DNS_TYPE_A, DNS_CLASS_ANY, 300, NULL);
	assert_int_equal(run(), DNS_RCODE_FORMERR);

	begin("example.com.");
	PRE("www.example.com.", DNS_TYPE_A, DNS_CLASS_IN, 300, "192.0.2.1");
	assert_int_equal(run(), DNS_RCODE_FORMERR);

	begin("example.com.");
	PRE("www.example.com.", DNS_TYPE_A, DNS_CLASS_ANY, 0, "192.0.2.1");
	assert_int_equal(run(), DNS_RCODE_FORMERR);

	begin("example.com.");
	PRE("www.example.com.", DNS_TYPE_A, CLASS_NONE, 0, "192.0.2.1");
	assert_int_equal(run(), DNS_RCODE_FORMERR);

	begin("example.com.");
	PRE("www.example.com.", DNS_TYPE_A, DNS_CLASS_CH, 0, NULL);
	assert_int_equal(run(), DNS_RCODE_FORMERR);
}

static void
test_notzone(void **state)
{
	begin("example.com.");
	PRE("www.example.org.", DNS_TYPE_ANY, DNS_CLASS_ANY, 0, NULL);
	assert_int_equal(run(), DNS_RCODE_NOTZONE);

	begin("example.com.");
	UPD("www.example.org.", DNS_TYPE_A, DNS_CLASS_IN, 300, "192.0.2.3");
	assert_int_equal(run(), DNS_RCODE_NOTZONE);

	begin("example.com.");
	UPD("com.", DNS_TYPE_ANY, DNS_CLASS_ANY, 0, NULL);
	assert_int_equal(run(), DNS_RCODE_NOTZONE);

	/* A zone the store serves below this one is not this zone's. */
	begin("example.com.");
	UPD("x.child.example.com.", DNS_TYPE_A, CLASS_NONE, 0, "192.0.2.9");
	assert_int_equal(run(), DNS_RCODE_NOTZONE);
	begin("example.com.");
	PRE("child.example.com.", DNS_TYPE_SOA, DNS_CLASS_ANY, 0, NULL);
	assert_int_equal(run(), DNS_RCODE_NOTZONE);

	/* But a delegation without a zone here is: the NS and the glue. */
	begin("example.com.");
	UPD("ns.sub.example.com.", DNS_TYPE_A, DNS_CLASS_IN, 3600, "192.0.2.54");
	assert_int_equal(run(), DNS_RCODE_NOERROR);
	assert_int_equal(plan.n, 1);
}

/* ---- prescan ---- */

static void
test_prescan_formerr(void **state)
{
	static const struct {
		uint16_t	 type, rclass;
		uint32_t	 ttl;
		const char	*rdata;
	} bad[] = {
		{ DNS_TYPE_ANY, DNS_CLASS_IN, 300, NULL },	/* add of type ANY */
		{ DNS_TYPE_AXFR, DNS_CLASS_IN, 300, NULL },
		{ DNS_TYPE_TSIG, DNS_CLASS_IN, 300, NULL },
		{ DNS_TYPE_A, DNS_CLASS_IN, 0x80000000u, "192.0.2.3" },
		{ DNS_TYPE_A, DNS_CLASS_ANY, 300, NULL },	/* class ANY with a TTL */
		{ DNS_TYPE_A, DNS_CLASS_ANY, 0, "192.0.2.3" },	/* ... with RDATA */
		{ DNS_TYPE_IXFR, DNS_CLASS_ANY, 0, NULL },
		{ DNS_TYPE_MAILA, DNS_CLASS_ANY, 0, NULL },
		{ DNS_TYPE_A, CLASS_NONE, 300, "192.0.2.1" },	/* class NONE with a TTL */
		{ DNS_TYPE_ANY, CLASS_NONE, 0, NULL },
		{ DNS_TYPE_A, DNS_CLASS_CH, 0, "192.0.2.1" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		begin("example.com.");
		/* A good update first: the prescan sees every RR before any is applied. */
		UPD("new.example.com.", DNS_TYPE_A, DNS_CLASS_IN, 300, "192.0.2.3");
		if (bad[i].rdata == NULL)
			assert_int_equal(wire_rr(&w, WIRE_NS, wn("www.example.com."),
			    bad[i].type, bad[i].rclass, bad[i].ttl, NULL, 0), 0);
		else
			UPD("www.example.com.", bad[i].type, bad[i].rclass, bad[i].ttl,
			    bad[i].rdata);
		if (run() != DNS_RCODE_FORMERR)
			fail_msg("case %zu: not FORMERR", i);
		assert_int_equal(plan.n, 0);
	}
}

/* ---- updates ---- */

static void
test_add(void **state)
{
	const struct update_change *c;

	begin("example.com.");
	UPD("www.example.com.", DNS_TYPE_A, DNS_CLASS_IN, 300, "192.0.2.3");
	UPD("New.Example.com.", DNS_TYPE_AAAA, DNS_CLASS_IN, 60, "2001:db8::1");
	assert_int_equal(run(), DNS_RCODE_NOERROR);
	assert_int_equal(plan.adds, 2);
	assert_int_equal(plan.deletes, 0);
	assert_int_equal(plan.n, 2);
	c = change("www.example.com.", DNS_TYPE_A);
	EXPECT(c, 300, "192.0.2.1", "192.0.2.2", "192.0.2.3");
	assert_int_equal(c->base, version("www.example.com.", DNS_TYPE_A));
	assert_true(c->base >= 100);
	/* Owners are lower case; an RRset that was absent has base -1. */
	assert_memory_equal(plan.changes[1].owner, "\x03" "new" "\x07" "example" "\x03" "com",
	    17);
	c = change("new.example.com.", DNS_TYPE_AAAA);
	EXPECT(c, 60, "2001:db8::1");
	assert_int_equal(c->base, -1);
	/* The plan's RRsets carry no version: the caller's event will give them one. */
	assert_int_equal(rrset_version(c->rs), -1);
}

static void
test_add_existing(void **state)
{
	/* The same record, the same TTL: nothing changes. */
	begin("example.com.");
	UPD("www.example.com.", DNS_TYPE_A, DNS_CLASS_IN, 300, "192.0.2.1");
	assert_int_equal(run(), DNS_RCODE_NOERROR);
	assert_int_equal(plan.n, 0);

	/* Names compare case-insensitively: the stored spelling stays. */
	begin("example.com.");
	UPD("mx.example.com.", DNS_TYPE_MX, DNS_CLASS_IN, 300, "10 mail.example.com.");
	assert_int_equal(run(), DNS_RCODE_NOERROR);
	assert_int_equal(plan.n, 0);

	/* Another TTL: the RRset takes it, records unchanged. */
	begin("example.com.");
	UPD("mx.example.com.", DNS_TYPE_MX, DNS_CLASS_IN, 600, "10 MAIL.example.com.");
	assert_int_equal(run(), DNS_RCODE_NOERROR);
	assert_int_equal(plan.n, 1);
	EXPECT(change("mx.example.com.", DNS_TYPE_MX), 600, "10 Mail.Example.com.");
	assert_non_null(memmem(change("mx.example.com.", DNS_TYPE_MX)->rs->data,
	    change("mx.example.com.", DNS_TYPE_MX)->rs->datalen, "Mail", 4));
}

static void
test_ttl_of_last_add(void **state)
{
	begin("example.com.");
	UPD("www.example.com.", DNS_TYPE_A, DNS_CLASS_IN, 100, "192.0.2.3");
	UPD("www.example.com.", DNS_TYPE_A, DNS_CLASS_IN, 200, "192.0.2.1");
	assert_int_equal(run(), DNS_RCODE_NOERROR);
	EXPECT(change("www.example.com.", DNS_TYPE_A), 200, "192.0.2.1", "192.0.2.2",
	    "192.0.2.3");
}

static void
test_delete_rrset(void **state)
{
	const struct update_change *c;

	begin("example.com.");
	UPD("www.example.com.", DNS_TYPE_A, DNS_CLASS_ANY, 0, NULL);
	UPD("www.example.com.", DNS_TYPE_AAAA, DNS_CLASS_ANY, 0, NULL);	/* absent */
	assert_int_equal(run(), DNS_RCODE_NOERROR);
	assert_int_equal(plan.deletes, 2);
	assert_int_equal(plan.n, 1);
	c = change("www.example.com.", DNS_TYPE_A);
	assert_non_null(c);
	assert_null(c->rs);
	assert_int_equal(c->base, version("www.example.com.", DNS_TYPE_A));
}

static void
test_delete_name(void **state)
{
	begin("example.com.");
	UPD("alias.example.com.", DNS_TYPE_ANY, DNS_CLASS_ANY, 0, NULL);
	UPD("nothere.example.com.", DNS_TYPE_ANY, DNS_CLASS_ANY, 0, NULL);
	assert_int_equal(run(), DNS_RCODE_NOERROR);
	assert_int_equal(plan.n, 1);
	assert_null(change("alias.example.com.", DNS_TYPE_CNAME)->rs);

	/* At the apex, the SOA and the NS stay. */
	begin("example.com.");
	UPD("example.com.", DNS_TYPE_ANY, DNS_CLASS_ANY, 0, NULL);
	assert_int_equal(run(), DNS_RCODE_NOERROR);
	assert_int_equal(plan.n, 1);
	assert_null(change("example.com.", DNS_TYPE_TXT)->rs);
	assert_int_equal(change("example.com.", DNS_TYPE_TXT)->base,
	    version("example.com.", DNS_TYPE_TXT));
}

static void
test_delete_rr(void **state)
{
	begin("example.com.");
	UPD("www.example.com.", DNS_TYPE_A, CLASS_NONE, 0, "192.0.2.1");
	UPD("www.example.com.", DNS_TYPE_A, CLASS_NONE, 0, "192.0.2.99");	/* absent */
	assert_int_equal(run(), DNS_RCODE_NOERROR);
	assert_int_equal(plan.n, 1);
	EXPECT(change("www.example.com.", DNS_TYPE_A), 300, "192.0.2.2");

	/* The last record: the RRset is deleted. Names match case-insensitively. */
	begin("example.com.");
	UPD("MX.example.com.", DNS_TYPE_MX, CLASS_NONE, 0, "10 mail.EXAMPLE.com.");
	assert_int_equal(run(), DNS_RCODE_NOERROR);
	assert_int_equal(plan.n, 1);
	assert_null(change("mx.example.com.", DNS_TYPE_MX)->rs);

	/* A record that is not there, of a type that is not there: no change. */
	begin("example.com.");
	UPD("www.example.com.", DNS_TYPE_TXT, CLASS_NONE, 0, "\"x\"");
	assert_int_equal(run(), DNS_RCODE_NOERROR);
	assert_int_equal(plan.n, 0);
}

/* The updates apply in order, each to the result of those before it. */
static void
test_order(void **state)
{
	begin("example.com.");
	UPD("www.example.com.", DNS_TYPE_A, DNS_CLASS_ANY, 0, NULL);
	UPD("www.example.com.", DNS_TYPE_A, DNS_CLASS_IN, 60, "192.0.2.9");
	assert_int_equal(run(), DNS_RCODE_NOERROR);
	assert_int_equal(plan.n, 1);
	EXPECT(change("www.example.com.", DNS_TYPE_A), 60, "192.0.2.9");

	/* Added, then deleted: nothing changes. */
	begin("example.com.");
	UPD("new.example.com.", DNS_TYPE_A, DNS_CLASS_IN, 60, "192.0.2.9");
	UPD("new.example.com.", DNS_TYPE_ANY, DNS_CLASS_ANY, 0, NULL);
	assert_int_equal(run(), DNS_RCODE_NOERROR);
	assert_int_equal(plan.n, 0);

	/* Deleted, then put back as it was: nothing changes either. */
	begin("example.com.");
	UPD("www.example.com.", DNS_TYPE_A, CLASS_NONE, 0, "192.0.2.2");
	UPD("www.example.com.", DNS_TYPE_A, DNS_CLASS_IN, 300, "192.0.2.2");
	assert_int_equal(run(), DNS_RCODE_NOERROR);
	assert_int_equal(plan.n, 0);
}

static void
test_apex_protection(void **state)
{
	begin("example.com.");
	UPD("example.com.", DNS_TYPE_SOA, DNS_CLASS_ANY, 0, NULL);
	UPD("example.com.", DNS_TYPE_NS, DNS_CLASS_ANY, 0, NULL);
	UPD("example.com.", DNS_TYPE_SOA, CLASS_NONE, 0, SOA_RDATA("100"));
	assert_int_equal(run(), DNS_RCODE_NOERROR);
	assert_int_equal(plan.n, 0);

	/* One NS of two goes; the last one stays. */
	begin("example.com.");
	UPD("example.com.", DNS_TYPE_NS, CLASS_NONE, 0, "NS1.example.com.");
	UPD("example.com.", DNS_TYPE_NS, CLASS_NONE, 0, "ns2.example.com.");
	assert_int_equal(run(), DNS_RCODE_NOERROR);
	assert_int_equal(plan.n, 1);
	EXPECT(change("example.com.", DNS_TYPE_NS), 3600, "ns2.example.com.");

	/* A delegation's last NS may go: it removes the delegation. */
	begin("example.com.");
	UPD("sub.example.com.", DNS_TYPE_NS, CLASS_NONE, 0, "ns.sub.example.com.");
	assert_int_equal(run(), DNS_RCODE_NOERROR);
	assert_int_equal(plan.n, 1);
	assert_null(change("sub.example.com.", DNS_TYPE_NS)->rs);
}

static void
test_cname_rules(void **state)
{
	/* A CNAME where other data is: ignored. Data where a CNAME is: ignored. */
	begin("example.com.");
	UPD("www.example.com.", DNS_TYPE_CNAME, DNS_CLASS_IN, 300, "alias.example.com.");
	UPD("alias.example.com.", DNS_TYPE_A, DNS_CLASS_IN, 300, "192.0.2.3");
	UPD("alias.example.com.", DNS_TYPE_TXT, DNS_CLASS_IN, 300, "\"x\"");
	assert_int_equal(run(), DNS_RCODE_NOERROR);
	assert_int_equal(plan.n, 0);

	/* A CNAME replaces the CNAME. */
	begin("example.com.");
	UPD("alias.example.com.", DNS_TYPE_CNAME, DNS_CLASS_IN, 60, "mx.example.com.");
	assert_int_equal(run(), DNS_RCODE_NOERROR);
	assert_int_equal(plan.n, 1);
	EXPECT(change("alias.example.com.", DNS_TYPE_CNAME), 60, "mx.example.com.");
	assert_int_equal(change("alias.example.com.", DNS_TYPE_CNAME)->base,
	    version("alias.example.com.", DNS_TYPE_CNAME));

	/* RFC 4035 2.5: NSEC (and RRSIG) live beside a CNAME, both ways round. */
	begin("example.com.");
	UPD("alias.example.com.", DNS_TYPE_NSEC, DNS_CLASS_IN, 300,
	    "mx.example.com. CNAME RRSIG NSEC");
	UPD("new.example.com.", DNS_TYPE_NSEC, DNS_CLASS_IN, 300,
	    "www.example.com. CNAME RRSIG NSEC");
	UPD("new.example.com.", DNS_TYPE_CNAME, DNS_CLASS_IN, 300, "www.example.com.");
	assert_int_equal(run(), DNS_RCODE_NOERROR);
	assert_int_equal(plan.n, 3);
	assert_non_null(change("alias.example.com.", DNS_TYPE_NSEC));
	EXPECT(change("new.example.com.", DNS_TYPE_CNAME), 300, "www.example.com.");

	/* The data deleted first, the CNAME goes in; then an A after it is ignored. */
	begin("example.com.");
	UPD("www.example.com.", DNS_TYPE_A, DNS_CLASS_ANY, 0, NULL);
	UPD("www.example.com.", DNS_TYPE_CNAME, DNS_CLASS_IN, 300, "mx.example.com.");
	UPD("www.example.com.", DNS_TYPE_A, DNS_CLASS_IN, 300, "192.0.2.1");
	assert_int_equal(run(), DNS_RCODE_NOERROR);
	assert_int_equal(plan.n, 2);
	assert_null(change("www.example.com.", DNS_TYPE_A)->rs);
	EXPECT(change("www.example.com.", DNS_TYPE_CNAME), 300, "mx.example.com.");
}

/* A DNAME replaces the DNAME (the event codec takes one record), as a CNAME does. */
static void
test_dname_singleton(void **state)
{
	begin("example.com.");
	UPD("dn.example.com.", DNS_TYPE_DNAME, DNS_CLASS_IN, 300, "example.net.");
	UPD("dn.example.com.", DNS_TYPE_DNAME, DNS_CLASS_IN, 600, "example.org.");
	assert_int_equal(update_prepare(st, buf, wire_finish(&w), NULL, &plan, why,
	    sizeof(why)), DNS_RCODE_NOERROR);
	assert_int_equal(plan.n, 1);
	EXPECT(change("dn.example.com.", DNS_TYPE_DNAME), 600, "example.org.");
}

static void
test_soa_serial(void **state)
{
	const struct update_change *c;

	/* Not greater (RFC 1982): equal, smaller, half the space away; or not at the apex. */
	begin("example.com.");
	UPD("example.com.", DNS_TYPE_SOA, DNS_CLASS_IN, 3600, SOA_RDATA("100"));
	UPD("example.com.", DNS_TYPE_SOA, DNS_CLASS_IN, 3600, SOA_RDATA("99"));
	UPD("example.com.", DNS_TYPE_SOA, DNS_CLASS_IN, 3600, SOA_RDATA("2147483748"));
	UPD("example.com.", DNS_TYPE_SOA, DNS_CLASS_IN, 3600, SOA_RDATA("4294967200"));
	UPD("www.example.com.", DNS_TYPE_SOA, DNS_CLASS_IN, 3600, SOA_RDATA("200"));
	assert_int_equal(run(), DNS_RCODE_NOERROR);
	assert_int_equal(plan.n, 0);

	begin("example.com.");
	UPD("example.com.", DNS_TYPE_SOA, DNS_CLASS_IN, 1800, SOA_RDATA("101"));
	assert_int_equal(run(), DNS_RCODE_NOERROR);
	assert_int_equal(plan.n, 1);
	c = change("example.com.", DNS_TYPE_SOA);
	EXPECT(c, 1800, SOA_RDATA("101"));
	assert_int_equal(c->base, version("example.com.", DNS_TYPE_SOA));

	/* Serial arithmetic wraps: 4294967295 + 5 is greater. */
	begin("example.net.");
	UPD("example.net.", DNS_TYPE_SOA, DNS_CLASS_IN, 3600,
	    "ns1.example.com. hostmaster.example.com. 4 7200 3600 1209600 300");
	assert_int_equal(run(), DNS_RCODE_NOERROR);
	assert_int_equal(plan.n, 1);
}

static void
test_serial_as_is(void **state)
{
	struct update_opts o = { .serial_as_is = true };
	const struct update_change *c;

	begin("example.com.");
	UPD("www.example.com.", DNS_TYPE_A, DNS_CLASS_IN, 300, "192.0.2.3");
	assert_int_equal(run_opts(&o), DNS_RCODE_NOERROR);
	assert_int_equal(plan.n, 2);
	c = change("example.com.", DNS_TYPE_SOA);
	EXPECT(c, 3600, SOA_RDATA("101"));
	assert_int_equal(c->base, version("example.com.", DNS_TYPE_SOA));
	assert_int_equal(rrset_version(c->rs), -1);

	/* Nothing changes: no new serial. */
	begin("example.com.");
	UPD("www.example.com.", DNS_TYPE_A, DNS_CLASS_IN, 300, "192.0.2.1");
	assert_int_equal(run_opts(&o), DNS_RCODE_NOERROR);
	assert_int_equal(plan.n, 0);

	/* The update sets the SOA itself: that one stands. */
	begin("example.com.");
	UPD("www.example.com.", DNS_TYPE_A, DNS_CLASS_IN, 300, "192.0.2.3");
	UPD("example.com.", DNS_TYPE_SOA, DNS_CLASS_IN, 3600, SOA_RDATA("200"));
	assert_int_equal(run_opts(&o), DNS_RCODE_NOERROR);
	assert_int_equal(plan.n, 2);
	EXPECT(change("example.com.", DNS_TYPE_SOA), 3600, SOA_RDATA("200"));

	/* serial = topic: the SOA is the consumer's to derive. */
	begin("example.com.");
	UPD("www.example.com.", DNS_TYPE_A, DNS_CLASS_IN, 300, "192.0.2.3");
	assert_int_equal(run(), DNS_RCODE_NOERROR);
	assert_int_equal(plan.n, 1);
	assert_null(change("example.com.", DNS_TYPE_SOA));

	/* RFC 1982: 4294967295 + 1 is 0. */
	begin("example.net.");
	UPD("www.example.net.", DNS_TYPE_A, DNS_CLASS_IN, 300, "192.0.2.3");
	assert_int_equal(run_opts(&o), DNS_RCODE_NOERROR);
	EXPECT(change("example.net.", DNS_TYPE_SOA), 3600,
	    "ns1.example.com. hostmaster.example.com. 0 7200 3600 1209600 300");
}

/* A zone with keys: the types its signer makes cannot be added, the rest can. */
static void
test_signed_zone(void **state)
{
	struct keyset_secrets secrets = { 1, { { 0 } } };
	const uint8_t *apex = wn("example.com.");
	struct keyset *ks = keyset_new(apex);
	struct update_opts o = { .signed_zone = true };
	struct zone_keys *zk;
	char *json, err[256];

	randombytes_buf(secrets.s[0], KEYSET_SECRET_LEN);
	assert_non_null(keyset_generate(ks, DNSSEC_ALG_ED25519, KEY_CSK, secrets.s[0]));
	assert_non_null(json = keyset_encode(ks));
	zk = zone_keys_new(apex, json, strlen(json), &secrets, err, sizeof(err));
	assert_non_null(zk);
	free(json);
	keyset_free(ks);

	/* Without keys, the option alone refuses them. */
	begin("example.com.");
	UPD("example.com.", DNS_TYPE_DNSKEY, DNS_CLASS_IN, 3600,
	    "257 3 15 l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=");
	assert_int_equal(run_opts(&o), DNS_RCODE_REFUSED);
	assert_int_equal(run(), DNS_RCODE_NOERROR);
	assert_int_equal(plan.n, 1);

	store_apply_keys(st, apex, zk);
	store_commit(st);
	begin("example.com.");
	UPD("www.example.com.", DNS_TYPE_A, DNS_CLASS_IN, 300, "192.0.2.3");
	UPD("example.com.", DNS_TYPE_DNSKEY, DNS_CLASS_IN, 3600,
	    "257 3 15 l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=");
	assert_int_equal(run(), DNS_RCODE_REFUSED);
	assert_non_null(strstr(why, "DNSKEY"));
	assert_int_equal(plan.n, 0);

	begin("example.com.");
	UPD("www.example.com.", DNS_TYPE_NSEC3PARAM, DNS_CLASS_IN, 0, "1 0 0 -");
	assert_int_equal(run(), DNS_RCODE_REFUSED);

	/* Deleting them is allowed (the zone's signer serves its own anyway). */
	begin("example.com.");
	UPD("www.example.com.", DNS_TYPE_A, DNS_CLASS_IN, 300, "192.0.2.3");
	UPD("example.com.", DNS_TYPE_DNSKEY, DNS_CLASS_ANY, 0, NULL);
	assert_int_equal(run(), DNS_RCODE_NOERROR);
	assert_int_equal(plan.n, 1);

	/* Another zone of the store has no keys. */
	begin("example.net.");
	UPD("example.net.", DNS_TYPE_DNSKEY, DNS_CLASS_IN, 3600,
	    "257 3 15 l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=");
	assert_int_equal(run(), DNS_RCODE_NOERROR);
	assert_int_equal(plan.n, 1);
}

/* The additional section is not the engine's: OPT and TSIG there are left alone. */
static void
test_additional_ignored(void **state)
{
	begin("example.com.");
	UPD("www.example.com.", DNS_TYPE_A, DNS_CLASS_IN, 300, "192.0.2.3");
	assert_int_equal(wire_opt(&w, 1232, 0, 0, 0, NULL, 0), 0);
	assert_int_equal(wire_rr(&w, WIRE_AR, wn("www.example.org."), DNS_TYPE_A,
	    DNS_CLASS_CH, 300, (const uint8_t *)"\1\2\3\4", 4), 0);
	assert_int_equal(run(), DNS_RCODE_NOERROR);
	assert_int_equal(plan.n, 1);
	assert_int_equal(plan.adds, 1);
}

/* More changes than UPDATE_CHANGES_MAX, by deleting a name with that many RRsets. */
static void
test_too_many_changes(void **state)
{
	const uint8_t *name = wn("many.example.com.");

	for (unsigned i = 0; i <= UPDATE_CHANGES_MAX; i++) {
		struct rrset_builder b;
		struct rrset *rs;

		rrset_builder_init(&b, (uint16_t)(1000 + i));
		assert_int_equal(rrset_builder_add(&b, 60, (const uint8_t *)"x", 1), 0);
		assert_non_null(rs = rrset_builder_finish(&b));
		store_apply(st, name, (uint16_t)(1000 + i), rs);
	}
	store_commit(st);
	begin("example.com.");
	UPD("many.example.com.", DNS_TYPE_ANY, DNS_CLASS_ANY, 0, NULL);
	assert_int_equal(run(), DNS_RCODE_REFUSED);
	assert_int_equal(plan.n, 0);
	assert_non_null(strstr(why, "more than"));
}

int
main(void)
{
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_zone_section),
		T(test_malformed),
		T(test_notauth),
		T(test_prereq_name_in_use),
		T(test_prereq_name_not_in_use),
		T(test_prereq_rrset_exists),
		T(test_prereq_rrset_not_exists),
		T(test_prereq_value),
		T(test_prereq_formerr),
		T(test_notzone),
		T(test_prescan_formerr),
		T(test_add),
		T(test_add_existing),
		T(test_ttl_of_last_add),
		T(test_delete_rrset),
		T(test_delete_name),
		T(test_delete_rr),
		T(test_order),
		T(test_apex_protection),
		T(test_cname_rules),
		T(test_dname_singleton),
		T(test_soa_serial),
		T(test_serial_as_is),
		T(test_signed_zone),
		T(test_additional_ignored),
		T(test_too_many_changes),
	};
#undef T
	int rc;

	if (sodium_init() < 0)
		return 1;
	rcu_register_thread();
	dec = event_decoder_new();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	event_decoder_free(dec);
	rcu_unregister_thread();
	return rc;
}
