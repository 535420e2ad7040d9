/* test_answer.c: unit tests of the answer logic on a small zone loaded through the event codec. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <urcu.h>

#include "authd/answer.h"
#include "authd/store.h"
#include "common/dname.h"
#include "common/event.h"
#include "common/wire.h"

#define OUR_PAYLOAD	1232
#define SEC_AN		1
#define SEC_NS		2
#define SEC_AR		3
#define MAX_RRS		80
#define BIG_N		30
#define MEDIUM_N	10

static struct store *st;
static struct answer_opts opts = { .udp_payload = OUR_PAYLOAD, .ready = true };

/* ---- the zone, loaded as Kafka events ---- */

static void
load(struct event_decoder *d, const char *owner, const char *type, uint32_t ttl,
    const char *const *contents, size_t n)
{
	json_t *arr = json_array();
	char key[300], err[256], *value;
	struct event ev;
	enum event_error e;

	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:I}", "name", owner,
		    "type", type, "content", contents[i], "ttl", (json_int_t)ttl));
	value = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	assert_non_null(value);
	snprintf(key, sizeof(key), "%s|%s", owner, type);
	e = event_decode(d, key, strlen(key), value, strlen(value), &ev, err, sizeof(err));
	free(value);
	if (e != EVENT_OK)
		fail_msg("%s: %s", key, err);
	assert_non_null(ev.rrset);
	store_apply(st, ev.owner, ev.type, ev.rrset);
}

#define LOAD(d, owner, type, ttl, ...) do {					\
	static const char *const c_[] = { __VA_ARGS__ };			\
	load(d, owner, type, ttl, c_, sizeof(c_) / sizeof(c_[0]));		\
} while (0)

/* n TXT records of 60 characters each. */
static void
load_txt(struct event_decoder *d, const char *owner, size_t n)
{
	static char text[BIG_N][70];
	const char *contents[BIG_N];

	for (size_t i = 0; i < n; i++) {
		snprintf(text[i], sizeof(text[i]), "\"record-%02zu-%051d\"", i, 0);
		contents[i] = text[i];
	}
	load(d, owner, "TXT", 300, contents, n);
}

static void
load_zone(struct event_decoder *d)
{
	LOAD(d, "example.com.", "SOA", 3600,
	    "ns1.example.com. hostmaster.example.com. 2024010101 7200 3600 1209600 300");
	LOAD(d, "example.com.", "NS", 3600, "ns1.example.com.", "ns2.example.com.");
	LOAD(d, "example.com.", "MX", 300, "10 mail.example.com.");
	LOAD(d, "ns1.example.com.", "A", 3600, "192.0.2.1");
	LOAD(d, "ns2.example.com.", "A", 3600, "192.0.2.2");
	LOAD(d, "mail.example.com.", "A", 300, "192.0.2.25");
	LOAD(d, "www.example.com.", "A", 300, "192.0.2.10", "192.0.2.11");
	LOAD(d, "alias.example.com.", "CNAME", 300, "www.example.com.");
	LOAD(d, "chain1.example.com.", "CNAME", 300, "chain2.example.com.");
	LOAD(d, "chain2.example.com.", "CNAME", 300, "www.example.com.");
	LOAD(d, "loop1.example.com.", "CNAME", 300, "loop2.example.com.");
	LOAD(d, "loop2.example.com.", "CNAME", 300, "loop1.example.com.");
	LOAD(d, "self.example.com.", "CNAME", 300, "self.example.com.");
	LOAD(d, "dangling.example.com.", "CNAME", 300, "nothere.example.com.");
	LOAD(d, "ext.example.com.", "CNAME", 300, "www.example.org.");
	LOAD(d, "*.wild.example.com.", "A", 300, "192.0.2.99");
	LOAD(d, "sub.example.com.", "NS", 86400, "ns.sub.example.com.");
	LOAD(d, "sub.example.com.", "DS", 86400, "12345 13 2 "
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	LOAD(d, "ns.sub.example.com.", "A", 86400, "192.0.2.53");
	LOAD(d, "nods.example.com.", "NS", 86400, "ns1.example.com.");
	LOAD(d, "tosub.example.com.", "CNAME", 300, "www.sub.example.com.");
	LOAD(d, "dn.example.com.", "DNAME", 600, "example.net.");
	LOAD(d, "host.ent.example.com.", "A", 300, "192.0.2.77");
	load_txt(d, "big.example.com.", BIG_N);
	load_txt(d, "medium.example.com.", MEDIUM_N);
	LOAD(d, "example.net.", "SOA", 60,
	    "ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 900");
	LOAD(d, "example.net.", "NS", 3600, "ns1.example.com.");
	LOAD(d, "www.example.net.", "A", 300, "198.51.100.1");
	LOAD(d, "back.example.net.", "CNAME", 300, "y.dn.example.com.");
	LOAD(d, "y.example.net.", "A", 300, "198.51.100.2");
}

static int
group_setup(void **state)
{
	struct event_decoder *d = event_decoder_new();

	rcu_register_thread();
	st = store_new();
	if (d == NULL || st == NULL)
		return -1;
	load_zone(d);
	store_commit(st);
	event_decoder_free(d);
	return 0;
}

static int
group_teardown(void **state)
{
	store_free(st);
	rcu_unregister_thread();
	return 0;
}

static int
reset_opts(void **state)
{
	opts.udp_payload = OUR_PAYLOAD;
	opts.ready = true;
	return 0;
}

/* ---- queries ---- */

struct qspec {
	const char	*name;
	uint16_t	 type;
	uint16_t	 qclass;	/* 0: IN */
	uint8_t		 opcode;
	uint16_t	 edns;		/* 0: no OPT; else its payload size */
	uint8_t		 version;
	bool		 do_bit;
	bool		 tcp;
};

static size_t
build_query(const struct qspec *qs, uint8_t *buf, size_t cap)
{
	uint8_t qname[DNAME_MAXLEN];
	struct wire_writer w;

	assert_true(dname_from_str(qs->name, NULL, qname) > 0);
	wire_init(&w, buf, cap);
	wire_header(&w, 0x5a17, (uint16_t)((qs->opcode << 11) | DNS_FLAG_RD));
	assert_int_equal(wire_question(&w, qname, qs->type,
	    qs->qclass ? qs->qclass : DNS_CLASS_IN), 0);
	if (qs->edns)
		assert_int_equal(wire_opt(&w, qs->edns, 0, qs->version,
		    qs->do_bit ? EDNS_FLAG_DO : 0, NULL, 0), 0);
	return wire_finish(&w);
}

/* ---- responses, parsed by hand ---- */

struct rr {
	uint8_t		 owner[DNAME_MAXLEN];
	uint16_t	 type, rclass, rdlen;
	uint32_t	 ttl;
	const uint8_t	*rdata;
	uint8_t		 canon[600];	/* RDATA with its names decompressed */
	size_t		 canonlen;
	uint8_t		 target[DNAME_MAXLEN];	/* the (first) name in RDATA, if any */
};

struct resp {
	uint8_t		 msg[DNS_MAX_MSG];
	size_t		 len;
	uint16_t	 id, flags;
	uint16_t	 count[4];
	struct rr	 rr[4][MAX_RRS];
	bool		 opt;
	uint16_t	 opt_udp, opt_flags;
	uint8_t		 opt_ext, opt_version;
	int		 ede;		/* EDE info-code, or -1 */
	struct answer_info info;
};

static struct resp R;

/* Where the first name of the RDATA of type is, or -1 when it holds none. */
static int
name_offset(uint16_t type)
{
	switch (type) {
	case DNS_TYPE_NS: case DNS_TYPE_CNAME: case DNS_TYPE_DNAME: case DNS_TYPE_PTR:
	case DNS_TYPE_SOA:
		return 0;
	case DNS_TYPE_MX:
		return 2;
	case DNS_TYPE_SRV:
		return 6;
	default:
		return -1;
	}
}

static void
canon_name(const uint8_t *m, size_t len, size_t *p, size_t end, struct rr *rr, uint8_t *out)
{
	int n = dname_unpack(m, len, p, out);

	assert_true(n > 0);
	assert_true(*p <= end);
	memcpy(rr->canon + rr->canonlen, out, (size_t)n);
	rr->canonlen += (size_t)n;
}

/* Fills rr->canon: fixed octets, decompressed names (two for SOA), the rest. */
static void
canon_rdata(const uint8_t *m, size_t len, size_t rd, struct rr *rr)
{
	int off = name_offset(rr->type);
	size_t p = rd + (off > 0 ? (size_t)off : 0), end = rd + rr->rdlen;
	uint8_t tmp[DNAME_MAXLEN];

	rr->canonlen = 0;
	if (off < 0) {
		memcpy(rr->canon, m + rd, rr->rdlen);
		rr->canonlen = rr->rdlen;
		return;
	}
	memcpy(rr->canon, m + rd, (size_t)off);
	rr->canonlen = (size_t)off;
	canon_name(m, len, &p, end, rr, rr->target);
	if (rr->type == DNS_TYPE_SOA)
		canon_name(m, len, &p, end, rr, tmp);
	memcpy(rr->canon + rr->canonlen, m + p, end - p);
	rr->canonlen += end - p;
}

static void
parse_opt(const struct rr *rr)
{
	size_t p = 0;

	assert_false(R.opt);			/* at most one OPT */
	assert_int_equal(rr->owner[0], 0);
	R.opt = true;
	R.opt_udp = rr->rclass;
	R.opt_ext = (uint8_t)(rr->ttl >> 24);
	R.opt_version = (uint8_t)(rr->ttl >> 16);
	R.opt_flags = (uint16_t)rr->ttl;
	while (p < rr->rdlen) {
		uint16_t code, olen;

		assert_true(p + 4 <= rr->rdlen);
		code = wire_read16(rr->rdata + p);
		olen = wire_read16(rr->rdata + p + 2);
		p += 4;
		assert_true(p + olen <= rr->rdlen);
		if (code == EDNS_OPT_EDE) {
			assert_true(olen >= 2);
			R.ede = wire_read16(rr->rdata + p);
		}
		p += olen;
	}
}

static void
parse_response(const uint8_t *qname)
{
	const uint8_t *m = R.msg;
	size_t pos = DNS_HEADER_LEN, len = R.len;

	assert_true(len >= DNS_HEADER_LEN);
	R.id = wire_read16(m);
	R.flags = wire_read16(m + 2);
	for (int s = 0; s < 4; s++)
		R.count[s] = wire_read16(m + 4 + 2 * s);
	R.opt = false;
	R.ede = -1;
	assert_true(R.count[0] <= 1);
	if (R.count[0] == 1) {
		/* The question comes back as it was asked, in the client's case. */
		assert_memory_equal(m + pos, qname, dname_len(qname));
		pos += dname_len(qname) + 4;
	}
	for (int s = 1; s < 4; s++) {
		assert_true(R.count[s] <= MAX_RRS);
		for (uint16_t i = 0; i < R.count[s]; i++) {
			struct rr *rr = &R.rr[s][i];

			assert_true(dname_unpack(m, len, &pos, rr->owner) > 0);
			assert_true(pos + 10 <= len);
			rr->type = wire_read16(m + pos);
			rr->rclass = wire_read16(m + pos + 2);
			rr->ttl = ((uint32_t)wire_read16(m + pos + 4) << 16) |
			    wire_read16(m + pos + 6);
			rr->rdlen = wire_read16(m + pos + 8);
			pos += 10;
			assert_true(pos + rr->rdlen <= len);
			rr->rdata = m + pos;
			if (rr->type == DNS_TYPE_OPT) {
				assert_int_equal(s, SEC_AR);
				parse_opt(rr);
			} else {
				assert_int_equal(rr->rclass, DNS_CLASS_IN);
				canon_rdata(m, len, pos, rr);
			}
			pos += rr->rdlen;
		}
	}
	assert_int_equal(pos, len);
}

/* Asks qs over UDP (or TCP); returns the response length (R holds the parsed response). */
static size_t
ask_spec(const struct qspec *qs)
{
	uint8_t q[512], qname[DNAME_MAXLEN];
	size_t qlen = build_query(qs, q, sizeof(q));

	R.len = answer_message(st, &opts, q, qlen, qs->tcp, R.msg, sizeof(R.msg), &R.info);
	if (R.len == 0)
		return 0;
	assert_true(dname_from_str(qs->name, NULL, qname) > 0);
	parse_response(qname);
	assert_int_equal(R.id, 0x5a17);
	assert_true(R.flags & DNS_FLAG_QR);
	assert_true(R.flags & DNS_FLAG_RD);	/* RD is copied, whatever the opcode */
	assert_int_equal((R.flags >> 11) & 0x0f, qs->opcode);
	return R.len;
}

#define ASK(...)	ask_spec(&(struct qspec){ __VA_ARGS__ })

static int
rcode(void)
{
	return (R.opt ? R.opt_ext << 4 : 0) | (R.flags & 0x0f);
}

static bool
flag(uint16_t f)
{
	return (R.flags & f) != 0;
}

static bool
same_name(const uint8_t *wire, const char *s)
{
	uint8_t w[DNAME_MAXLEN];

	assert_true(dname_from_str(s, NULL, w) > 0);
	return dname_equal(wire, w);
}

/* The nth RR (0-based) of section sec with this owner and type, or NULL. */
static const struct rr *
find(int sec, const char *owner, uint16_t type, int nth)
{
	for (uint16_t i = 0; i < R.count[sec]; i++) {
		const struct rr *rr = &R.rr[sec][i];

		if (rr->type == type && same_name(rr->owner, owner) && nth-- == 0)
			return rr;
	}
	return NULL;
}

static int
count(int sec, const char *owner, uint16_t type)
{
	int n = 0;

	while (find(sec, owner, type, n) != NULL)
		n++;
	return n;
}

static void
assert_target(const struct rr *rr, const char *name)
{
	assert_non_null(rr);
	assert_true(same_name(rr->target, name));
}

static void
assert_a(const struct rr *rr, const char *addr)
{
	uint8_t a[4];

	assert_non_null(rr);
	assert_int_equal(inet_pton(AF_INET, addr, a), 1);
	assert_int_equal(rr->rdlen, 4);
	assert_memory_equal(rr->rdata, a, 4);
}

/* True when the section holds rr with this address among the owner's A RRs. */
static bool
has_a(int sec, const char *owner, const char *addr)
{
	uint8_t a[4];
	const struct rr *rr;

	assert_int_equal(inet_pton(AF_INET, addr, a), 1);
	for (int i = 0; (rr = find(sec, owner, DNS_TYPE_A, i)) != NULL; i++)
		if (rr->rdlen == 4 && memcmp(rr->rdata, a, 4) == 0)
			return true;
	return false;
}

/* RFC 2181 5: no RR twice in a section. */
static void
assert_no_duplicates(int sec)
{
	for (uint16_t i = 0; i < R.count[sec]; i++) {
		for (uint16_t j = i + 1; j < R.count[sec]; j++) {
			const struct rr *a = &R.rr[sec][i], *b = &R.rr[sec][j];

			if (a->type == b->type && dname_equal(a->owner, b->owner) &&
			    a->canonlen == b->canonlen &&
			    memcmp(a->canon, b->canon, a->canonlen) == 0)
				fail_msg("section %d: RR %u and %u are the same", sec, i, j);
		}
	}
}

/* NXDOMAIN/NODATA: the zone's SOA alone in authority, with the negative TTL. */
static void
assert_negative(int rc, const char *apex, uint32_t ttl)
{
	assert_int_equal(rcode(), rc);
	assert_true(flag(DNS_FLAG_AA));
	assert_false(flag(DNS_FLAG_TC));
	assert_int_equal(R.count[SEC_AN], 0);
	assert_int_equal(R.count[SEC_NS], 1);
	assert_non_null(find(SEC_NS, apex, DNS_TYPE_SOA, 0));
	assert_int_equal(R.rr[SEC_NS][0].ttl, ttl);
}

/* ---- positive answers ---- */

static void
test_exact_match(void **state)
{
	ASK(.name = "www.example.com.", .type = DNS_TYPE_A);
	assert_int_equal(rcode(), DNS_RCODE_NOERROR);
	assert_true(flag(DNS_FLAG_AA));
	assert_false(flag(DNS_FLAG_TC));
	assert_int_equal(R.count[SEC_AN], 2);
	assert_int_equal(R.count[SEC_NS], 0);
	assert_int_equal(R.count[SEC_AR], 0);		/* no OPT without EDNS */
	assert_true(has_a(SEC_AN, "www.example.com.", "192.0.2.10"));
	assert_true(has_a(SEC_AN, "www.example.com.", "192.0.2.11"));
	assert_int_equal(R.rr[SEC_AN][0].ttl, 300);
	assert_int_equal(R.info.rcode, DNS_RCODE_NOERROR);
	assert_int_equal(R.info.qtype, DNS_TYPE_A);
}

/* The answer's owner is the name as asked (the question echoes the client's case). */
static void
test_exact_match_mixed_case(void **state)
{
	uint8_t asked[DNAME_MAXLEN];

	assert_true(dname_from_str("wWw.ExAmple.COM.", NULL, asked) > 0);
	ASK(.name = "wWw.ExAmple.COM.", .type = DNS_TYPE_A);
	assert_int_equal(rcode(), DNS_RCODE_NOERROR);
	assert_int_equal(R.count[SEC_AN], 2);
	assert_memory_equal(R.rr[SEC_AN][0].owner, asked, dname_len(asked));
}

static void
test_edns_response_opt(void **state)
{
	ASK(.name = "www.example.com.", .type = DNS_TYPE_A, .edns = 4096, .do_bit = true);
	assert_int_equal(rcode(), DNS_RCODE_NOERROR);
	assert_int_equal(R.count[SEC_AN], 2);
	assert_true(R.opt);
	assert_int_equal(R.opt_udp, OUR_PAYLOAD);
	assert_int_equal(R.opt_version, 0);
	assert_int_equal(R.opt_ext, 0);
	assert_true(R.opt_flags & EDNS_FLAG_DO);		/* RFC 3225 3 */
	assert_int_equal(R.ede, -1);
}

/* RFC 1034 4.3.2 step 6: A of in-zone MX and NS targets as additional data. */
static void
test_additional_for_mx_and_ns(void **state)
{
	ASK(.name = "example.com.", .type = DNS_TYPE_MX);
	assert_int_equal(R.count[SEC_AN], 1);
	assert_target(find(SEC_AN, "example.com.", DNS_TYPE_MX, 0), "mail.example.com.");
	assert_true(has_a(SEC_AR, "mail.example.com.", "192.0.2.25"));
	ASK(.name = "example.com.", .type = DNS_TYPE_NS);
	assert_true(flag(DNS_FLAG_AA));
	assert_int_equal(R.count[SEC_AN], 2);
	assert_true(has_a(SEC_AR, "ns1.example.com.", "192.0.2.1"));
	assert_true(has_a(SEC_AR, "ns2.example.com.", "192.0.2.2"));
}

/* RFC 8482: over UDP one RRset; over TCP all of them. */
static void
test_any(void **state)
{
	ASK(.name = "example.com.", .type = DNS_TYPE_ANY);
	assert_int_equal(rcode(), DNS_RCODE_NOERROR);
	assert_true(R.count[SEC_AN] >= 1);
	for (uint16_t i = 1; i < R.count[SEC_AN]; i++)
		assert_int_equal(R.rr[SEC_AN][i].type, R.rr[SEC_AN][0].type);
	ASK(.name = "example.com.", .type = DNS_TYPE_ANY, .tcp = true);
	assert_int_equal(R.count[SEC_AN], 4);		/* SOA, 2 NS, MX */
	assert_int_equal(count(SEC_AN, "example.com.", DNS_TYPE_SOA), 1);
	assert_int_equal(count(SEC_AN, "example.com.", DNS_TYPE_NS), 2);
	assert_int_equal(count(SEC_AN, "example.com.", DNS_TYPE_MX), 1);
}

/* RFC 1034 3.6.2: a query that matches the CNAME itself (ANY too) is not restarted. */
static void
test_any_at_cname(void **state)
{
	ASK(.name = "alias.example.com.", .type = DNS_TYPE_ANY);
	assert_int_equal(rcode(), DNS_RCODE_NOERROR);
	assert_int_equal(R.count[SEC_AN], 1);
	assert_target(find(SEC_AN, "alias.example.com.", DNS_TYPE_CNAME, 0),
	    "www.example.com.");
}

/* ---- negative answers (RFC 2308) ---- */

static void
test_nxdomain(void **state)
{
	ASK(.name = "nope.example.com.", .type = DNS_TYPE_A);
	/* SOA TTL 3600, MINIMUM 300: RFC 2308 3 takes the smaller. */
	assert_negative(DNS_RCODE_NXDOMAIN, "example.com.", 300);
	assert_int_equal(R.info.rcode, DNS_RCODE_NXDOMAIN);
	ASK(.name = "a.b.nope.example.com.", .type = DNS_TYPE_MX);
	assert_negative(DNS_RCODE_NXDOMAIN, "example.com.", 300);
}

static void
test_nxdomain_ttl_from_soa_ttl(void **state)
{
	/* SOA TTL 60, MINIMUM 900. */
	ASK(.name = "nope.example.net.", .type = DNS_TYPE_A);
	assert_negative(DNS_RCODE_NXDOMAIN, "example.net.", 60);
}

static void
test_nodata(void **state)
{
	ASK(.name = "www.example.com.", .type = DNS_TYPE_AAAA);
	assert_negative(DNS_RCODE_NOERROR, "example.com.", 300);
}

/* RFC 4592 2.2.2: an empty non-terminal exists: NODATA, not NXDOMAIN. */
static void
test_empty_non_terminal(void **state)
{
	ASK(.name = "ent.example.com.", .type = DNS_TYPE_A);
	assert_negative(DNS_RCODE_NOERROR, "example.com.", 300);
	ASK(.name = "host.ent.example.com.", .type = DNS_TYPE_A);
	assert_true(has_a(SEC_AN, "host.ent.example.com.", "192.0.2.77"));
}

/* ---- CNAME ---- */

static void
test_cname(void **state)
{
	ASK(.name = "alias.example.com.", .type = DNS_TYPE_A);
	assert_int_equal(rcode(), DNS_RCODE_NOERROR);
	assert_true(flag(DNS_FLAG_AA));
	assert_int_equal(R.count[SEC_AN], 3);
	assert_int_equal(R.rr[SEC_AN][0].type, DNS_TYPE_CNAME);	/* the CNAME first */
	assert_target(find(SEC_AN, "alias.example.com.", DNS_TYPE_CNAME, 0),
	    "www.example.com.");
	assert_true(has_a(SEC_AN, "www.example.com.", "192.0.2.10"));
	assert_true(has_a(SEC_AN, "www.example.com.", "192.0.2.11"));
}

static void
test_cname_qtype_cname(void **state)
{
	ASK(.name = "alias.example.com.", .type = DNS_TYPE_CNAME);
	assert_int_equal(R.count[SEC_AN], 1);
	assert_target(find(SEC_AN, "alias.example.com.", DNS_TYPE_CNAME, 0),
	    "www.example.com.");
}

static void
test_cname_chain(void **state)
{
	ASK(.name = "chain1.example.com.", .type = DNS_TYPE_A);
	assert_int_equal(rcode(), DNS_RCODE_NOERROR);
	assert_int_equal(R.count[SEC_AN], 4);
	assert_target(find(SEC_AN, "chain1.example.com.", DNS_TYPE_CNAME, 0),
	    "chain2.example.com.");
	assert_target(find(SEC_AN, "chain2.example.com.", DNS_TYPE_CNAME, 0),
	    "www.example.com.");
	assert_int_equal(count(SEC_AN, "www.example.com.", DNS_TYPE_A), 2);
	assert_no_duplicates(SEC_AN);
}

/* RFC 6604 2.1: the RCODE is that of the last name of the chain. */
static void
test_cname_to_nxdomain(void **state)
{
	ASK(.name = "dangling.example.com.", .type = DNS_TYPE_A);
	assert_int_equal(rcode(), DNS_RCODE_NXDOMAIN);
	assert_int_equal(R.count[SEC_AN], 1);
	assert_target(find(SEC_AN, "dangling.example.com.", DNS_TYPE_CNAME, 0),
	    "nothere.example.com.");
	assert_non_null(find(SEC_NS, "example.com.", DNS_TYPE_SOA, 0));
}

/* A target outside our zones ends the chain: NOERROR with the CNAME only. */
static void
test_cname_out_of_zone(void **state)
{
	ASK(.name = "ext.example.com.", .type = DNS_TYPE_A);
	assert_int_equal(rcode(), DNS_RCODE_NOERROR);
	assert_true(flag(DNS_FLAG_AA));
	assert_int_equal(R.count[SEC_AN], 1);
	assert_target(find(SEC_AN, "ext.example.com.", DNS_TYPE_CNAME, 0), "www.example.org.");
	assert_int_equal(R.count[SEC_NS], 0);
}

/*
 * BUG (found by this test, fixed since in answer.c): chain_step() remembered only the
 * targets, never the query name, so a loop back to the query name was followed once more
 * and its CNAME written twice (loop1 CNAME loop2, loop2 CNAME loop1, loop1 CNAME loop2).
 */
static void
test_cname_loop(void **state)
{
	ASK(.name = "loop1.example.com.", .type = DNS_TYPE_A);
	assert_no_duplicates(SEC_AN);
	assert_int_equal(count(SEC_AN, "loop1.example.com.", DNS_TYPE_CNAME), 1);
	assert_int_equal(count(SEC_AN, "loop2.example.com.", DNS_TYPE_CNAME), 1);
	assert_int_equal(R.count[SEC_AN], 2);
}

/* BUG (fixed since): same cause as test_cname_loop: "self CNAME self" came out twice. */
static void
test_cname_self_loop(void **state)
{
	ASK(.name = "self.example.com.", .type = DNS_TYPE_A);
	assert_no_duplicates(SEC_AN);
	assert_int_equal(R.count[SEC_AN], 1);
	assert_target(find(SEC_AN, "self.example.com.", DNS_TYPE_CNAME, 0),
	    "self.example.com.");
}

/* ---- wildcards (RFC 4592) ---- */

static void
test_wildcard(void **state)
{
	ASK(.name = "foo.wild.example.com.", .type = DNS_TYPE_A);
	assert_int_equal(rcode(), DNS_RCODE_NOERROR);
	assert_true(flag(DNS_FLAG_AA));
	assert_int_equal(R.count[SEC_AN], 1);
	/* Synthesized with the query name as owner, never "*". */
	assert_a(find(SEC_AN, "foo.wild.example.com.", DNS_TYPE_A, 0), "192.0.2.99");
	ASK(.name = "a.b.wild.example.com.", .type = DNS_TYPE_A);
	assert_a(find(SEC_AN, "a.b.wild.example.com.", DNS_TYPE_A, 0), "192.0.2.99");
}

static void
test_wildcard_nodata(void **state)
{
	ASK(.name = "foo.wild.example.com.", .type = DNS_TYPE_AAAA);
	assert_negative(DNS_RCODE_NOERROR, "example.com.", 300);
}

/* The wildcard's parent exists: a name beside it is no match for the wildcard. */
static void
test_wildcard_not_for_parent(void **state)
{
	ASK(.name = "wild.example.com.", .type = DNS_TYPE_A);
	assert_negative(DNS_RCODE_NOERROR, "example.com.", 300);	/* an ENT */
	ASK(.name = "other.example.com.", .type = DNS_TYPE_A);
	assert_negative(DNS_RCODE_NXDOMAIN, "example.com.", 300);
}

/* ---- delegations ---- */

static void
test_referral(void **state)
{
	ASK(.name = "www.sub.example.com.", .type = DNS_TYPE_A);
	assert_int_equal(rcode(), DNS_RCODE_NOERROR);
	assert_false(flag(DNS_FLAG_AA));
	assert_int_equal(R.count[SEC_AN], 0);
	assert_int_equal(count(SEC_NS, "sub.example.com.", DNS_TYPE_NS), 1);
	assert_target(find(SEC_NS, "sub.example.com.", DNS_TYPE_NS, 0), "ns.sub.example.com.");
	assert_int_equal(find(SEC_NS, "sub.example.com.", DNS_TYPE_NS, 0)->ttl, 86400);
	assert_null(find(SEC_NS, "example.com.", DNS_TYPE_SOA, 0));
	assert_true(has_a(SEC_AR, "ns.sub.example.com.", "192.0.2.53"));
}

/* The NS RRset at the cut belongs to the child: a referral, even for the cut's name. */
static void
test_referral_at_cut(void **state)
{
	ASK(.name = "sub.example.com.", .type = DNS_TYPE_NS);
	assert_false(flag(DNS_FLAG_AA));
	assert_int_equal(R.count[SEC_AN], 0);
	assert_int_equal(count(SEC_NS, "sub.example.com.", DNS_TYPE_NS), 1);
	ASK(.name = "sub.example.com.", .type = DNS_TYPE_A);
	assert_false(flag(DNS_FLAG_AA));
	assert_int_equal(count(SEC_NS, "sub.example.com.", DNS_TYPE_NS), 1);
}

/* RFC 4035 3.1.4.1: the DS at a cut is the parent's data: answered authoritatively. */
static void
test_ds_at_cut(void **state)
{
	ASK(.name = "sub.example.com.", .type = DNS_TYPE_DS);
	assert_int_equal(rcode(), DNS_RCODE_NOERROR);
	assert_true(flag(DNS_FLAG_AA));
	assert_int_equal(R.count[SEC_AN], 1);
	assert_non_null(find(SEC_AN, "sub.example.com.", DNS_TYPE_DS, 0));
	assert_int_equal(R.rr[SEC_AN][0].rdlen, 4 + 32);
	assert_int_equal(wire_read16(R.rr[SEC_AN][0].rdata), 12345);
	/* Below the cut, a DS query is referred like any other. */
	ASK(.name = "x.sub.example.com.", .type = DNS_TYPE_DS);
	assert_false(flag(DNS_FLAG_AA));
	assert_int_equal(count(SEC_NS, "sub.example.com.", DNS_TYPE_NS), 1);
}

/* A cut without DS: NODATA from the parent zone, authoritatively. */
static void
test_ds_at_cut_absent(void **state)
{
	ASK(.name = "nods.example.com.", .type = DNS_TYPE_DS);
	assert_negative(DNS_RCODE_NOERROR, "example.com.", 300);
}

/*
 * BUG (found by this test, fixed since in answer.c): referral() cleared AA also when the
 * referral was reached through a CNAME. RFC 1035 4.1.1: AA "corresponds to the name which
 * matches the query name"; tosub.example.com. is ours, so AA=1 (as in Knot, which sets AA
 * before it follows the chain).
 */
static void
test_cname_into_delegation(void **state)
{
	ASK(.name = "tosub.example.com.", .type = DNS_TYPE_A);
	assert_int_equal(rcode(), DNS_RCODE_NOERROR);
	assert_target(find(SEC_AN, "tosub.example.com.", DNS_TYPE_CNAME, 0),
	    "www.sub.example.com.");
	assert_true(flag(DNS_FLAG_AA));
}

/* ---- DNAME (RFC 6672) ---- */

static void
test_dname(void **state)
{
	const struct rr *cn;

	ASK(.name = "www.dn.example.com.", .type = DNS_TYPE_A);
	assert_int_equal(rcode(), DNS_RCODE_NOERROR);
	assert_true(flag(DNS_FLAG_AA));
	assert_int_equal(R.count[SEC_AN], 3);
	assert_int_equal(R.rr[SEC_AN][0].type, DNS_TYPE_DNAME);
	assert_true(same_name(R.rr[SEC_AN][0].owner, "dn.example.com."));
	assert_target(&R.rr[SEC_AN][0], "example.net.");
	/* 2.2: the synthesized CNAME: owner the query name, TTL that of the DNAME. */
	cn = &R.rr[SEC_AN][1];
	assert_int_equal(cn->type, DNS_TYPE_CNAME);
	assert_true(same_name(cn->owner, "www.dn.example.com."));
	assert_target(cn, "www.example.net.");
	assert_int_equal(cn->ttl, 600);
	assert_a(find(SEC_AN, "www.example.net.", DNS_TYPE_A, 0), "198.51.100.1");
	assert_no_duplicates(SEC_AN);
}

/* The DNAME owner itself is not redirected (only names below it). */
static void
test_dname_owner_not_redirected(void **state)
{
	ASK(.name = "dn.example.com.", .type = DNS_TYPE_A);
	assert_negative(DNS_RCODE_NOERROR, "example.com.", 300);
	ASK(.name = "dn.example.com.", .type = DNS_TYPE_DNAME);
	assert_int_equal(R.count[SEC_AN], 1);
	assert_target(find(SEC_AN, "dn.example.com.", DNS_TYPE_DNAME, 0), "example.net.");
}

static void
test_dname_to_nxdomain(void **state)
{
	ASK(.name = "nope.dn.example.com.", .type = DNS_TYPE_A);
	assert_int_equal(rcode(), DNS_RCODE_NXDOMAIN);
	assert_target(find(SEC_AN, "nope.dn.example.com.", DNS_TYPE_CNAME, 0),
	    "nope.example.net.");
	assert_non_null(find(SEC_NS, "example.net.", DNS_TYPE_SOA, 0));
}

/*
 * BUG (found by this test, fixed since in answer.c): follow_dname() wrote the DNAME RR
 * every time the chain passed below it: back.dn -> back.example.net -> y.dn ->
 * y.example.net wrote "dn DNAME example.net." twice.
 */
static void
test_dname_twice_in_chain(void **state)
{
	ASK(.name = "back.dn.example.com.", .type = DNS_TYPE_A);
	assert_int_equal(rcode(), DNS_RCODE_NOERROR);
	assert_target(find(SEC_AN, "back.dn.example.com.", DNS_TYPE_CNAME, 0),
	    "back.example.net.");
	assert_target(find(SEC_AN, "y.dn.example.com.", DNS_TYPE_CNAME, 0), "y.example.net.");
	assert_a(find(SEC_AN, "y.example.net.", DNS_TYPE_A, 0), "198.51.100.2");
	assert_no_duplicates(SEC_AN);
	assert_int_equal(count(SEC_AN, "dn.example.com.", DNS_TYPE_DNAME), 1);
	assert_int_equal(R.count[SEC_AN], 5);
}

/* ---- errors and special cases ---- */

static void
test_not_ready_with_edns(void **state)
{
	opts.ready = false;
	ASK(.name = "www.example.com.", .type = DNS_TYPE_A, .edns = 1232);
	assert_int_equal(rcode(), DNS_RCODE_SERVFAIL);
	assert_false(flag(DNS_FLAG_AA));
	assert_int_equal(R.count[SEC_AN], 0);
	assert_true(R.opt);
	assert_int_equal(R.ede, EDE_NOT_READY);		/* RFC 8914 4.15 */
	assert_int_equal(R.info.rcode, DNS_RCODE_SERVFAIL);
}

static void
test_not_ready_without_edns(void **state)
{
	opts.ready = false;
	ASK(.name = "www.example.com.", .type = DNS_TYPE_A);
	assert_int_equal(rcode(), DNS_RCODE_SERVFAIL);
	assert_false(R.opt);
	assert_int_equal(R.count[SEC_AR], 0);
}

/* RFC 6891 6.1.3: BADVERS (16) is ext-rcode 1 in the OPT and 0 in the header. */
static void
test_badvers(void **state)
{
	ASK(.name = "www.example.com.", .type = DNS_TYPE_A, .edns = 1232, .version = 1);
	assert_int_equal(R.flags & 0x0f, 0);
	assert_true(R.opt);
	assert_int_equal(R.opt_ext, 1);
	assert_int_equal(R.opt_version, 0);
	assert_int_equal(rcode(), DNS_RCODE_BADVERS);
	assert_int_equal(R.count[SEC_AN], 0);
	assert_int_equal(R.info.rcode, DNS_RCODE_BADVERS);
}

static void
test_notimp_opcodes(void **state)
{
	ASK(.name = "example.com.", .type = DNS_TYPE_SOA, .opcode = 4);	/* NOTIFY */
	assert_int_equal(rcode(), DNS_RCODE_NOTIMP);
	assert_int_equal(R.count[SEC_AN], 0);
	ASK(.name = "example.com.", .type = DNS_TYPE_SOA, .opcode = 5);	/* UPDATE */
	assert_int_equal(rcode(), DNS_RCODE_NOTIMP);
}

static void
test_refused_class_ch(void **state)
{
	ASK(.name = "version.bind.", .type = DNS_TYPE_TXT, .qclass = DNS_CLASS_CH);
	assert_int_equal(rcode(), DNS_RCODE_REFUSED);
	ASK(.name = "www.example.com.", .type = DNS_TYPE_A, .qclass = DNS_CLASS_CH);
	assert_int_equal(rcode(), DNS_RCODE_REFUSED);
	assert_int_equal(R.count[SEC_AN], 0);
}

static void
test_refused_outside_zones(void **state)
{
	ASK(.name = "www.example.org.", .type = DNS_TYPE_A);
	assert_int_equal(rcode(), DNS_RCODE_REFUSED);
	assert_false(flag(DNS_FLAG_AA));
	assert_int_equal(R.count[SEC_AN] + R.count[SEC_NS], 0);
	ASK(.name = "com.", .type = DNS_TYPE_NS);	/* an ENT above our zones */
	assert_int_equal(rcode(), DNS_RCODE_REFUSED);
}

static void
test_refused_axfr(void **state)
{
	ASK(.name = "example.com.", .type = DNS_TYPE_AXFR, .tcp = true);
	assert_int_equal(rcode(), DNS_RCODE_REFUSED);
	assert_int_equal(R.count[SEC_AN], 0);
	ASK(.name = "example.com.", .type = DNS_TYPE_IXFR, .tcp = true);
	assert_int_equal(rcode(), DNS_RCODE_REFUSED);
}

static void
test_formerr_echoes_id(void **state)
{
	uint8_t q[DNS_HEADER_LEN] = { 0xab, 0xcd, 0x01, 0x00 };	/* RD, QDCOUNT 0 */
	uint8_t qname[1] = { 0 };

	R.len = answer_message(st, &opts, q, sizeof(q), false, R.msg, sizeof(R.msg), &R.info);
	assert_true(R.len >= DNS_HEADER_LEN);
	parse_response(qname);
	assert_int_equal(R.id, 0xabcd);
	assert_true(flag(DNS_FLAG_QR));
	assert_true(flag(DNS_FLAG_RD));
	assert_int_equal(rcode(), DNS_RCODE_FORMERR);
	assert_int_equal(R.count[0], 0);
	assert_int_equal(R.info.rcode, DNS_RCODE_FORMERR);
}

/* Two OPTs: FORMERR, and no OPT in the response (the OPT is what was wrong). */
static void
test_formerr_two_opts(void **state)
{
	uint8_t q[512], qname[DNAME_MAXLEN];
	size_t n = build_query(&(struct qspec){ .name = "www.example.com.",
	    .type = DNS_TYPE_A, .edns = 1232 }, q, sizeof(q) - 11);

	memcpy(q + n, q + n - 11, 11);		/* the OPT again */
	wire_write16(q + 10, 2);
	R.len = answer_message(st, &opts, q, n + 11, false, R.msg, sizeof(R.msg), &R.info);
	assert_true(dname_from_str("www.example.com.", NULL, qname) > 0);
	parse_response(qname);
	assert_int_equal(R.id, 0x5a17);
	assert_int_equal(rcode(), DNS_RCODE_FORMERR);
	assert_false(R.opt);
}

static void
test_dropped(void **state)
{
	uint8_t q[512];
	size_t n = build_query(&(struct qspec){ .name = "www.example.com.",
	    .type = DNS_TYPE_A }, q, sizeof(q));
	struct answer_info info;

	wire_write16(q + 2, DNS_FLAG_QR | DNS_FLAG_RD);
	assert_int_equal(answer_message(st, &opts, q, n, false, R.msg, sizeof(R.msg), &info),
	    0);
	assert_true(info.dropped);
	assert_int_equal(answer_message(st, &opts, q, 11, false, R.msg, sizeof(R.msg), &info),
	    0);
	assert_true(info.dropped);
}

/* ---- sizes and truncation (RFC 1035 4.2.1, RFC 6891 6.2.5, RFC 7766) ---- */

static void
test_tc_without_edns(void **state)
{
	ASK(.name = "medium.example.com.", .type = DNS_TYPE_TXT);
	assert_true(R.len <= DNS_MIN_UDP);
	assert_true(flag(DNS_FLAG_TC));
	assert_true(flag(DNS_FLAG_AA));
	assert_int_equal(rcode(), DNS_RCODE_NOERROR);
	assert_true(R.info.truncated);
	ASK(.name = "medium.example.com.", .type = DNS_TYPE_TXT, .tcp = true);
	assert_false(flag(DNS_FLAG_TC));
	assert_int_equal(R.count[SEC_AN], MEDIUM_N);
	assert_true(R.len > DNS_MIN_UDP);
}

static void
test_tc_with_edns(void **state)
{
	ASK(.name = "medium.example.com.", .type = DNS_TYPE_TXT, .edns = 4096);
	assert_false(flag(DNS_FLAG_TC));
	assert_int_equal(R.count[SEC_AN], MEDIUM_N);
	assert_true(R.len <= OUR_PAYLOAD);
	assert_true(R.opt);
	ASK(.name = "medium.example.com.", .type = DNS_TYPE_TXT, .edns = 600);
	assert_true(flag(DNS_FLAG_TC));
	assert_true(R.len <= 600);
	assert_true(R.opt);
	ASK(.name = "big.example.com.", .type = DNS_TYPE_TXT, .edns = 4096);
	assert_true(flag(DNS_FLAG_TC));
	assert_true(R.len <= OUR_PAYLOAD);
	ASK(.name = "big.example.com.", .type = DNS_TYPE_TXT, .edns = 4096, .tcp = true);
	assert_false(flag(DNS_FLAG_TC));
	assert_int_equal(R.count[SEC_AN], BIG_N);
	assert_no_duplicates(SEC_AN);
}

/* Every query of a list, at several payload sizes: never more than the client allows. */
static void
test_size_limits(void **state)
{
	static const char *const names[] = { "example.com.", "www.example.com.",
	    "big.example.com.", "medium.example.com.", "www.sub.example.com.",
	    "nope.example.com.", "alias.example.com.", "www.dn.example.com.",
	    "foo.wild.example.com.", "www.example.org." };
	static const uint16_t types[] = { DNS_TYPE_A, DNS_TYPE_TXT, DNS_TYPE_ANY,
	    DNS_TYPE_NS, DNS_TYPE_MX, DNS_TYPE_SOA };
	static const uint16_t payloads[] = { 0, 512, 700, 1232, 1500, 4096, 65535 };

	for (size_t p = 0; p < sizeof(payloads) / sizeof(payloads[0]); p++) {
		size_t lim = payloads[p] == 0 ? DNS_MIN_UDP :
		    payloads[p] < OUR_PAYLOAD ? payloads[p] : OUR_PAYLOAD;

		for (size_t n = 0; n < sizeof(names) / sizeof(names[0]); n++) {
			for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
				size_t len = ASK(.name = names[n], .type = types[t],
				    .edns = payloads[p]);

				if (len > lim)
					fail_msg("%s type %u payload %u: %zu octets > %zu",
					    names[n], types[t], payloads[p], len, lim);
				assert_int_equal(R.opt, payloads[p] != 0);
			}
		}
	}
}

/* Our own payload setting also bounds the response. */
static void
test_size_limit_our_payload(void **state)
{
	opts.udp_payload = 600;
	ASK(.name = "medium.example.com.", .type = DNS_TYPE_TXT, .edns = 4096);
	assert_true(R.len <= 600);
	assert_true(flag(DNS_FLAG_TC));
	assert_int_equal(R.opt_udp, 600);
}

/* ---- outcomes (answer_info.outcome: what the query name came to) ---- */

/* The outcome of asking name/type over UDP without EDNS, recursion as given. */
static enum answer_outcome
outcome(const char *name, uint16_t type, bool recursion)
{
	opts.recursion = recursion;
	ASK(.name = name, .type = type);
	opts.recursion = false;
	return R.info.outcome;
}

static void
test_outcomes(void **state)
{
	assert_int_equal(outcome("www.example.com.", DNS_TYPE_A, false), ANSWER_HIT);
	assert_int_equal(outcome("example.com.", DNS_TYPE_ANY, false), ANSWER_HIT);
	assert_int_equal(outcome("sub.example.com.", DNS_TYPE_DS, false), ANSWER_HIT);
	assert_int_equal(outcome("a.wild.example.com.", DNS_TYPE_A, false), ANSWER_WILDCARD);
	assert_int_equal(outcome("alias.example.com.", DNS_TYPE_A, false), ANSWER_CNAME);
	assert_int_equal(outcome("loop1.example.com.", DNS_TYPE_A, false), ANSWER_CNAME);
	assert_int_equal(outcome("x.dn.example.com.", DNS_TYPE_A, false), ANSWER_DNAME);
	assert_int_equal(outcome("www.example.com.", DNS_TYPE_TXT, false), ANSWER_NODATA);
	assert_int_equal(outcome("ent.example.com.", DNS_TYPE_A, false), ANSWER_NODATA);
	assert_int_equal(outcome("nods.example.com.", DNS_TYPE_DS, false), ANSWER_NODATA);
	assert_int_equal(outcome("b.wild.example.com.", DNS_TYPE_TXT, false), ANSWER_NODATA);
	assert_int_equal(outcome("nothere.example.com.", DNS_TYPE_A, false), ANSWER_NXDOMAIN);
	assert_int_equal(outcome("www.sub.example.com.", DNS_TYPE_A, false), ANSWER_REFERRAL);
	assert_int_equal(outcome("sub.example.com.", DNS_TYPE_NS, false), ANSWER_REFERRAL);
	assert_int_equal(outcome("www.example.org.", DNS_TYPE_A, false), ANSWER_REFUSED);
	assert_int_equal(outcome("www.example.org.", DNS_TYPE_A, true), ANSWER_FORWARD);
	assert_true(R.info.forward);
	/* A chain's later outcomes show in what it did: ended outside, or left to dnsr. */
	assert_int_equal(outcome("ext.example.com.", DNS_TYPE_A, false), ANSWER_CNAME);
	assert_false(R.info.complete);
	assert_int_equal(outcome("ext.example.com.", DNS_TYPE_A, true), ANSWER_CNAME);
	assert_true(R.info.complete);
	/* No resolution at all: an error answered before it, or CHAOS. */
	assert_int_equal(outcome("www.example.com.", DNS_TYPE_AXFR, false), ANSWER_NONE);
	ASK(.name = "id.server.", .type = DNS_TYPE_TXT, .qclass = DNS_CLASS_CH);
	assert_int_equal(R.info.outcome, ANSWER_NONE);
}

/* A DNAME whose substitution is longer than a name may be (RFC 6672 2.2). */
static void
test_outcome_yxdomain(void **state)
{
	struct event_decoder *d = event_decoder_new();
	char name[300], target[300];
	size_t n = 0;

	/* target: 3 labels of 60 octets under yx.test. (about 190 octets) */
	for (int i = 0; i < 3; i++)
		n += (size_t)snprintf(target + n, sizeof(target) - n, "%060d.", i);
	snprintf(target + n, sizeof(target) - n, "yx.test.");
	assert_non_null(d);
	LOAD(d, "yx.test.", "SOA", 300, "ns.yx.test. h.yx.test. 1 7200 3600 1209600 300");
	LOAD(d, "yx.test.", "NS", 300, "ns.yx.test.");
	load(d, "d.yx.test.", "DNAME", 300, (const char *const[]){ target }, 1);
	store_commit(st);
	event_decoder_free(d);
	/* 2 labels of 40 octets (82 octets) below d.yx.test.: 82 + ~192 > 255. */
	snprintf(name, sizeof(name), "%040d.%040d.d.yx.test.", 1, 2);
	assert_int_equal(outcome(name, DNS_TYPE_A, false), ANSWER_YXDOMAIN);
	assert_int_equal(rcode(), DNS_RCODE_YXDOMAIN);
	assert_non_null(find(SEC_AN, "d.yx.test.", DNS_TYPE_DNAME, 0));
	assert_int_equal(R.count[SEC_AN], 1);
	/* One short label fits: the DNAME step, then the target (NXDOMAIN). */
	assert_int_equal(outcome("x.d.yx.test.", DNS_TYPE_A, false), ANSWER_DNAME);
	assert_int_equal(rcode(), DNS_RCODE_NXDOMAIN);
}

#define T(f)	cmocka_unit_test_setup(f, reset_opts)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_exact_match),
		T(test_exact_match_mixed_case),
		T(test_edns_response_opt),
		T(test_additional_for_mx_and_ns),
		T(test_any),
		T(test_any_at_cname),
		T(test_nxdomain),
		T(test_nxdomain_ttl_from_soa_ttl),
		T(test_nodata),
		T(test_empty_non_terminal),
		T(test_cname),
		T(test_cname_qtype_cname),
		T(test_cname_chain),
		T(test_cname_to_nxdomain),
		T(test_cname_out_of_zone),
		T(test_cname_loop),
		T(test_cname_self_loop),
		T(test_wildcard),
		T(test_wildcard_nodata),
		T(test_wildcard_not_for_parent),
		T(test_referral),
		T(test_referral_at_cut),
		T(test_ds_at_cut),
		T(test_ds_at_cut_absent),
		T(test_cname_into_delegation),
		T(test_dname),
		T(test_dname_owner_not_redirected),
		T(test_dname_to_nxdomain),
		T(test_dname_twice_in_chain),
		T(test_not_ready_with_edns),
		T(test_not_ready_without_edns),
		T(test_badvers),
		T(test_notimp_opcodes),
		T(test_refused_class_ch),
		T(test_refused_outside_zones),
		T(test_refused_axfr),
		T(test_formerr_echoes_id),
		T(test_formerr_two_opts),
		T(test_dropped),
		T(test_tc_without_edns),
		T(test_tc_with_edns),
		T(test_size_limits),
		T(test_size_limit_our_payload),
		T(test_outcomes),
		T(test_outcome_yxdomain),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
