/* test_wire.c: unit tests of common/wire.c: query parsing, response writing, response reading. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/dname.h"
#include "common/wire.h"

/* ---- packet builder ---- */

struct pkt {
	uint8_t	b[2048];
	size_t	n;
};

static void
p8(struct pkt *p, uint8_t v)
{
	assert_true(p->n < sizeof(p->b));
	p->b[p->n++] = v;
}

static void
p16(struct pkt *p, uint16_t v)
{
	p8(p, (uint8_t)(v >> 8));
	p8(p, (uint8_t)v);
}

static void
p32(struct pkt *p, uint32_t v)
{
	p16(p, (uint16_t)(v >> 16));
	p16(p, (uint16_t)v);
}

static void
praw(struct pkt *p, const void *d, size_t n)
{
	assert_true(p->n + n <= sizeof(p->b));
	memcpy(p->b + p->n, d, n);
	p->n += n;
}

/* Presentation name -> wire, uncompressed. */
static size_t
wname(const char *s, uint8_t *out)
{
	int n = dname_from_str(s, NULL, out);

	assert_true(n > 0);
	return (size_t)n;
}

static void
pname(struct pkt *p, const char *s)
{
	uint8_t w[DNAME_MAXLEN];

	praw(p, w, wname(s, w));
}

static void
phdr(struct pkt *p, uint16_t id, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns,
    uint16_t ar)
{
	p->n = 0;
	p16(p, id);
	p16(p, flags);
	p16(p, qd);
	p16(p, an);
	p16(p, ns);
	p16(p, ar);
}

/* Header with one question (qname, qtype IN) and the given AN/NS/AR counts. */
static void
pquery(struct pkt *p, const char *qname, uint16_t qtype, uint16_t an, uint16_t ns,
    uint16_t ar)
{
	phdr(p, 0x1234, DNS_FLAG_RD, 1, an, ns, ar);
	pname(p, qname);
	p16(p, qtype);
	p16(p, DNS_CLASS_IN);
}

/* An OPT RR: root owner, udp size, TTL word, then rdlen octets of options follow. */
static void
popt(struct pkt *p, uint16_t udp, uint32_t ttl, uint16_t rdlen)
{
	p8(p, 0);
	p16(p, DNS_TYPE_OPT);
	p16(p, udp);
	p32(p, ttl);
	p16(p, rdlen);
}

static enum wire_parse_result
parse(const struct pkt *p, struct dns_query *q)
{
	return wire_parse_query(p->b, p->n, q);
}

/* ---- parsing: header and question ---- */

static void
test_parse_valid_query(void **state)
{
	static const uint8_t want[] = "\3WwW\7ExAmple\3COM";
	struct pkt p;
	struct dns_query q;

	phdr(&p, 0xbeef, DNS_FLAG_RD | DNS_FLAG_CD, 1, 0, 0, 0);
	praw(&p, want, sizeof(want));		/* includes the root label */
	p16(&p, DNS_TYPE_AAAA);
	p16(&p, DNS_CLASS_IN);
	assert_int_equal(parse(&p, &q), WIRE_OK);
	assert_int_equal(q.id, 0xbeef);
	assert_int_equal(q.flags, DNS_FLAG_RD | DNS_FLAG_CD);
	assert_int_equal(q.opcode, 0);
	assert_true(q.has_question);
	assert_int_equal(q.qname_len, sizeof(want));
	assert_memory_equal(q.qname, want, sizeof(want));
	assert_int_equal(q.qtype, DNS_TYPE_AAAA);
	assert_int_equal(q.qclass, DNS_CLASS_IN);
	assert_false(q.edns);
}

static void
test_parse_opcode(void **state)
{
	struct pkt p;
	struct dns_query q;

	pquery(&p, "example.", DNS_TYPE_SOA, 0, 0, 0);
	wire_write16(p.b + 2, 4 << 11);		/* NOTIFY */
	assert_int_equal(parse(&p, &q), WIRE_OK);
	assert_int_equal(q.opcode, 4);
	wire_write16(p.b + 2, (15 << 11) | DNS_FLAG_RD);
	assert_int_equal(parse(&p, &q), WIRE_OK);
	assert_int_equal(q.opcode, 15);
}

static void
test_parse_short_is_dropped(void **state)
{
	struct pkt p;
	struct dns_query q;

	pquery(&p, "example.", DNS_TYPE_A, 0, 0, 0);
	assert_int_equal(wire_parse_query(p.b, 0, &q), WIRE_DROP);
	assert_int_equal(wire_parse_query(p.b, 11, &q), WIRE_DROP);
	/* A bare header is long enough to be answered (FORMERR: no question). */
	assert_int_equal(wire_parse_query(p.b, 12, &q), WIRE_FORMERR);
	assert_int_equal(q.id, 0x1234);
}

static void
test_parse_response_is_dropped(void **state)
{
	struct pkt p;
	struct dns_query q;

	pquery(&p, "example.", DNS_TYPE_A, 0, 0, 0);
	wire_write16(p.b + 2, DNS_FLAG_QR);
	assert_int_equal(parse(&p, &q), WIRE_DROP);
}

static void
test_parse_qdcount_zero(void **state)
{
	struct pkt p;
	struct dns_query q;

	phdr(&p, 0x4242, 0, 0, 0, 0, 0);
	assert_int_equal(parse(&p, &q), WIRE_FORMERR);
	assert_int_equal(q.id, 0x4242);
	assert_false(q.has_question);
}

static void
test_parse_qdcount_two(void **state)
{
	struct pkt p;
	struct dns_query q;

	phdr(&p, 0x4242, 0, 2, 0, 0, 0);
	pname(&p, "a.example.");
	p16(&p, DNS_TYPE_A);
	p16(&p, DNS_CLASS_IN);
	pname(&p, "b.example.");
	p16(&p, DNS_TYPE_A);
	p16(&p, DNS_CLASS_IN);
	assert_int_equal(parse(&p, &q), WIRE_FORMERR);
	assert_int_equal(q.id, 0x4242);
}

static void
test_parse_truncated_question(void **state)
{
	struct pkt p;
	struct dns_query q;

	pquery(&p, "www.example.", DNS_TYPE_A, 0, 0, 0);
	for (size_t n = 12; n < p.n; n++) {
		assert_int_equal(wire_parse_query(p.b, n, &q), WIRE_FORMERR);
		assert_false(q.has_question);
	}
	assert_int_equal(parse(&p, &q), WIRE_OK);
}

/* ---- parsing: names ---- */

/* A question name that is one pointer (or label octet) followed by type and class. */
static void
pquery_raw_name(struct pkt *p, const uint8_t *name, size_t n)
{
	phdr(p, 1, 0, 1, 0, 0, 0);
	praw(p, name, n);
	p16(p, DNS_TYPE_A);
	p16(p, DNS_CLASS_IN);
}

static void
test_parse_pointer_to_itself(void **state)
{
	static const uint8_t self[] = { 0xc0, 0x0c };
	static const uint8_t inner[] = { 1, 'a', 0xc0, 0x0c };
	struct pkt p;
	struct dns_query q;

	pquery_raw_name(&p, self, sizeof(self));
	assert_int_equal(parse(&p, &q), WIRE_FORMERR);
	pquery_raw_name(&p, inner, sizeof(inner));
	assert_int_equal(parse(&p, &q), WIRE_FORMERR);
}

/*
 * A loop made of backward pointers only: qtype and qclass 0x0101 read as two one-octet
 * labels, and the answer's owner points back at them, so following it comes back to the
 * same pointer. It must end (FORMERR), not spin.
 */
static void
test_parse_pointer_loop_terminates(void **state)
{
	struct pkt p;
	struct dns_query q;

	phdr(&p, 1, 0, 1, 1, 0, 0);
	pname(&p, "a.");			/* 12..14 */
	p16(&p, 0x0101);			/* 15: label 1 */
	p16(&p, 0x0101);			/* 17: label 1 */
	p16(&p, 0xc000 | 15);			/* 19: owner -> 15 -> ... -> 19 */
	p16(&p, DNS_TYPE_A);
	p16(&p, DNS_CLASS_IN);
	p32(&p, 0);
	p16(&p, 0);
	assert_int_equal(parse(&p, &q), WIRE_FORMERR);
}

/* The same message is fine with the name in place: only the forward pointer is wrong. */
static void
build_forward(struct pkt *p, bool forward)
{
	phdr(p, 1, 0, 1, 1, 0, 0);
	if (forward)
		p16(p, 0xc000 | 29);
	else
		pname(p, "a.");
	p16(p, DNS_TYPE_A);
	p16(p, DNS_CLASS_IN);
	/* Answer RR: root owner, TXT, rdata "\1a\0" at offset 11 from the RR start. */
	p8(p, 0);
	p16(p, DNS_TYPE_TXT);
	p16(p, DNS_CLASS_IN);
	p32(p, 0);
	p16(p, 3);
	if (forward)
		assert_int_equal(p->n, 29);
	praw(p, "\1a", 3);
}

static void
test_parse_forward_pointer(void **state)
{
	struct pkt p;
	struct dns_query q;

	build_forward(&p, false);
	assert_int_equal(parse(&p, &q), WIRE_OK);
	build_forward(&p, true);
	assert_int_equal(parse(&p, &q), WIRE_FORMERR);
}

static void
test_parse_backward_pointer(void **state)
{
	struct pkt p;
	struct dns_query q;

	pquery(&p, "www.example.", DNS_TYPE_A, 1, 0, 0);
	p16(&p, 0xc000 | 16);			/* "example." inside the question */
	p16(&p, DNS_TYPE_A);
	p16(&p, DNS_CLASS_IN);
	p32(&p, 60);
	p16(&p, 4);
	p32(&p, 0x7f000001);
	assert_int_equal(parse(&p, &q), WIRE_OK);
}

static void
test_parse_pointer_out_of_range(void **state)
{
	static const uint8_t far[] = { 0xff, 0xff };
	static const uint8_t cut[] = { 0xc0 };
	struct pkt p;
	struct dns_query q;

	pquery_raw_name(&p, far, sizeof(far));
	assert_int_equal(parse(&p, &q), WIRE_FORMERR);
	/* A pointer's first octet as the last octet of the message. */
	phdr(&p, 1, 0, 1, 0, 0, 0);
	praw(&p, cut, sizeof(cut));
	assert_int_equal(parse(&p, &q), WIRE_FORMERR);
}

static void
test_parse_extended_label_types(void **state)
{
	static const uint8_t l40[] = { 0x41, 'a', 0 };
	static const uint8_t l80[] = { 0x81, 'a', 0 };
	struct pkt p;
	struct dns_query q;

	pquery_raw_name(&p, l40, sizeof(l40));
	assert_int_equal(parse(&p, &q), WIRE_FORMERR);
	pquery_raw_name(&p, l80, sizeof(l80));
	assert_int_equal(parse(&p, &q), WIRE_FORMERR);
}

/* Labels of the given lengths, then the root. */
static size_t
long_name(uint8_t *out, const int *lens, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		out[o++] = (uint8_t)lens[i];
		memset(out + o, 'x', (size_t)lens[i]);
		o += (size_t)lens[i];
	}
	out[o++] = 0;
	return o;
}

static void
test_parse_name_length_limit(void **state)
{
	static const int ok[] = { 63, 63, 63, 61 };		/* 255 octets */
	static const int over[] = { 63, 63, 63, 62 };		/* 256 octets */
	uint8_t name[300];
	struct pkt p;
	struct dns_query q;
	size_t n;

	n = long_name(name, ok, 4);
	assert_int_equal(n, 255);
	pquery_raw_name(&p, name, n);
	assert_int_equal(parse(&p, &q), WIRE_OK);
	assert_int_equal(q.qname_len, 255);
	n = long_name(name, over, 4);
	assert_int_equal(n, 256);
	pquery_raw_name(&p, name, n);
	assert_int_equal(parse(&p, &q), WIRE_FORMERR);
}

/* An answer RR whose owner is `prefix` octets of 63-octet labels, then the question's name. */
static void
build_prefixed(struct pkt *p, const uint8_t *name, size_t n, size_t prefix)
{
	phdr(p, 1, 0, 1, 1, 0, 0);
	praw(p, name, n);
	p16(p, DNS_TYPE_A);
	p16(p, DNS_CLASS_IN);
	praw(p, name, prefix);
	p16(p, 0xc000 | 12);
	p16(p, DNS_TYPE_A);
	p16(p, DNS_CLASS_IN);
	p32(p, 0);
	p16(p, 0);
}

/* The limit applies to the name after decompression: 64 + 129 is fine, 128 + 129 is not. */
static void
test_parse_name_length_limit_compressed(void **state)
{
	static const int two[] = { 63, 63 };
	uint8_t name[300];
	struct pkt p;
	struct dns_query q;
	size_t n = long_name(name, two, 2);

	assert_int_equal(n, 129);
	build_prefixed(&p, name, n, 64);
	assert_int_equal(parse(&p, &q), WIRE_OK);
	build_prefixed(&p, name, n, 128);
	assert_int_equal(parse(&p, &q), WIRE_FORMERR);
}

/* ---- parsing: other sections and EDNS ---- */

static void
test_parse_opt(void **state)
{
	struct pkt p;
	struct dns_query q;

	pquery(&p, "example.", DNS_TYPE_A, 0, 0, 1);
	popt(&p, 4096, EDNS_FLAG_DO, 4 + 4 + 8);
	p16(&p, EDNS_OPT_NSID);
	p16(&p, 0);
	p16(&p, EDNS_OPT_COOKIE);
	p16(&p, 8);
	p32(&p, 0x01020304);
	p32(&p, 0x05060708);
	assert_int_equal(parse(&p, &q), WIRE_OK);
	assert_true(q.edns);
	assert_int_equal(q.edns_udp, 4096);
	assert_int_equal(q.edns_version, 0);
	assert_true(q.edns_flags & EDNS_FLAG_DO);
	assert_true(q.edns_nsid);
}

/* RFC 7873 5.2.2: a COOKIE option of 8 or 16..40 octets; any other length is FORMERR. */
static void
test_parse_cookie_lengths(void **state)
{
	static const int lens[] = { 0, 2, 7, 8, 9, 15, 16, 40, 41 };
	static const int ok[] = { 0, 0, 0, 1, 0, 0, 1, 1, 0 };

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		struct pkt p;
		struct dns_query q;

		pquery(&p, "example.", DNS_TYPE_A, 0, 0, 1);
		popt(&p, 1232, 0, 4 + lens[i]);
		p16(&p, EDNS_OPT_COOKIE);
		p16(&p, (uint16_t)lens[i]);
		for (int k = 0; k < lens[i]; k++)
			p.b[p.n++] = (uint8_t)k;
		assert_int_equal(parse(&p, &q), ok[i] ? WIRE_OK : WIRE_FORMERR);
		if (ok[i])
			assert_int_equal(q.cookie_len, lens[i]);
	}
}

static void
test_parse_opt_version_no_nsid(void **state)
{
	struct pkt p;
	struct dns_query q;

	pquery(&p, "example.", DNS_TYPE_A, 0, 0, 1);
	popt(&p, 1232, 0x00010000, 6);		/* ext rcode 0, version 1, no DO */
	p16(&p, 65001);				/* an option we do not know: skipped */
	p16(&p, 2);
	p16(&p, 0xabcd);
	assert_int_equal(parse(&p, &q), WIRE_OK);
	assert_true(q.edns);
	assert_int_equal(q.edns_udp, 1232);
	assert_int_equal(q.edns_version, 1);
	assert_false(q.edns_flags & EDNS_FLAG_DO);
	assert_false(q.edns_nsid);
}

static void
test_parse_two_opts(void **state)
{
	struct pkt p;
	struct dns_query q;

	pquery(&p, "example.", DNS_TYPE_A, 0, 0, 2);
	popt(&p, 1232, 0, 0);
	popt(&p, 1232, 0, 0);
	assert_int_equal(parse(&p, &q), WIRE_FORMERR);
}

static void
test_parse_opt_outside_additional(void **state)
{
	struct pkt p;
	struct dns_query q;

	pquery(&p, "example.", DNS_TYPE_A, 1, 0, 0);
	popt(&p, 1232, 0, 0);
	assert_int_equal(parse(&p, &q), WIRE_FORMERR);
	pquery(&p, "example.", DNS_TYPE_A, 0, 1, 0);
	popt(&p, 1232, 0, 0);
	assert_int_equal(parse(&p, &q), WIRE_FORMERR);
}

static void
test_parse_opt_owner_not_root(void **state)
{
	struct pkt p;
	struct dns_query q;

	pquery(&p, "example.", DNS_TYPE_A, 0, 0, 1);
	pname(&p, "example.");
	p16(&p, DNS_TYPE_OPT);
	p16(&p, 1232);
	p32(&p, 0);
	p16(&p, 0);
	assert_int_equal(parse(&p, &q), WIRE_FORMERR);
}

static void
test_parse_opt_truncated_option(void **state)
{
	struct pkt p;
	struct dns_query q;

	/* The option says 8 octets of data; the OPT's RDATA holds only 4 of them. */
	pquery(&p, "example.", DNS_TYPE_A, 0, 0, 1);
	popt(&p, 1232, 0, 8);
	p16(&p, EDNS_OPT_COOKIE);
	p16(&p, 8);
	p32(&p, 0);
	assert_int_equal(parse(&p, &q), WIRE_FORMERR);
	/* Half an option header. */
	pquery(&p, "example.", DNS_TYPE_A, 0, 0, 1);
	popt(&p, 1232, 0, 2);
	p16(&p, EDNS_OPT_NSID);
	assert_int_equal(parse(&p, &q), WIRE_FORMERR);
}

static void
test_parse_trailing_garbage(void **state)
{
	struct pkt p;
	struct dns_query q;

	pquery(&p, "example.", DNS_TYPE_A, 0, 0, 0);
	p8(&p, 0);
	assert_int_equal(parse(&p, &q), WIRE_FORMERR);
	assert_int_equal(q.id, 0x1234);
}

static void
test_parse_rdlength_beyond_end(void **state)
{
	struct pkt p;
	struct dns_query q;

	pquery(&p, "example.", DNS_TYPE_A, 1, 0, 0);
	p8(&p, 0);
	p16(&p, DNS_TYPE_A);
	p16(&p, DNS_CLASS_IN);
	p32(&p, 0);
	p16(&p, 5);
	p32(&p, 0x7f000001);			/* 4 of the 5 octets */
	assert_int_equal(parse(&p, &q), WIRE_FORMERR);
	p8(&p, 1);				/* the 5th: now well formed */
	assert_int_equal(parse(&p, &q), WIRE_OK);
}

/* Counts say more RRs than the message holds. */
static void
test_parse_missing_rr(void **state)
{
	struct pkt p;
	struct dns_query q;

	pquery(&p, "example.", DNS_TYPE_A, 0, 0, 1);
	assert_int_equal(parse(&p, &q), WIRE_FORMERR);
}

/* ---- writer ---- */

static uint8_t obuf[4096];
static uint8_t ex[DNAME_MAXLEN], www[DNAME_MAXLEN], mail[DNAME_MAXLEN];

static int
setup_names(void **state)
{
	wname("example.com.", ex);
	wname("www.example.com.", www);
	wname("mail.example.com.", mail);
	return 0;
}

/* A writer with "example.com. A IN" as its question (name at 12, "com" at 20). */
static void
writer_ex(struct wire_writer *w, size_t cap)
{
	wire_init(w, obuf, cap);
	wire_header(w, 0x1234, DNS_FLAG_QR);
	assert_int_equal(wire_question(w, ex, DNS_TYPE_A, DNS_CLASS_IN), 0);
	assert_int_equal(w->len, 12 + 13 + 4);
}

/* Reads one RR at *pos: owner (decompressed), fields, and the RDATA's position. */
struct rr {
	uint8_t		owner[DNAME_MAXLEN];
	uint16_t	type, rclass, rdlen;
	uint32_t	ttl;
	size_t		rdata;
};

static void
read_rr(const uint8_t *m, size_t len, size_t *pos, struct rr *rr)
{
	assert_true(dname_unpack(m, len, pos, rr->owner) > 0);
	assert_true(*pos + 10 <= len);
	rr->type = wire_read16(m + *pos);
	rr->rclass = wire_read16(m + *pos + 2);
	rr->ttl = ((uint32_t)wire_read16(m + *pos + 4) << 16) | wire_read16(m + *pos + 6);
	rr->rdlen = wire_read16(m + *pos + 8);
	*pos += 10;
	rr->rdata = *pos;
	*pos += rr->rdlen;
	assert_true(*pos <= len);
}

/*
 * The name at *pos of m, decompressed, equals want (case-insensitively: a suffix may come
 * from an earlier name spelled differently).
 */
static void
assert_name_at(const uint8_t *m, size_t len, size_t *pos, const uint8_t *want)
{
	uint8_t got[DNAME_MAXLEN];
	int n = dname_unpack(m, len, pos, got);

	assert_int_equal(n, (int)dname_len(want));
	assert_true(dname_equal(got, want));
}

static void
assert_same_name(const uint8_t *got, const uint8_t *want)
{
	assert_int_equal(dname_len(got), dname_len(want));
	assert_true(dname_equal(got, want));
}

static void
test_write_round_trip(void **state)
{
	static const uint8_t a1[] = { 192, 0, 2, 1 };
	uint8_t ns1[DNAME_MAXLEN], mxrd[2 + DNAME_MAXLEN], q[DNAME_MAXLEN];
	struct wire_writer w;
	struct rr rr;
	size_t len, pos = 12;

	wname("ns1.example.com.", ns1);
	wname("WWW.Example.com.", q);
	wire_write16(mxrd, 10);
	memcpy(mxrd + 2, mail, dname_len(mail));
	wire_init(&w, obuf, sizeof(obuf));
	wire_header(&w, 0xabcd, DNS_FLAG_QR | DNS_FLAG_AA);
	assert_int_equal(wire_question(&w, q, DNS_TYPE_MX, DNS_CLASS_IN), 0);
	assert_int_equal(wire_rr(&w, WIRE_AN, q, DNS_TYPE_MX, DNS_CLASS_IN, 300, mxrd,
	    (uint16_t)(2 + dname_len(mail))), 0);
	assert_int_equal(wire_rr(&w, WIRE_NS, ex, DNS_TYPE_NS, DNS_CLASS_IN, 3600, ns1,
	    (uint16_t)dname_len(ns1)), 0);
	assert_int_equal(wire_rr(&w, WIRE_AR, mail, DNS_TYPE_A, DNS_CLASS_IN, 60, a1, 4), 0);
	assert_int_equal(wire_rr(&w, WIRE_AR, ns1, DNS_TYPE_A, DNS_CLASS_IN, 60, a1, 4), 0);
	len = wire_finish(&w);
	assert_int_equal(len, w.len);

	assert_int_equal(wire_read16(obuf), 0xabcd);
	assert_int_equal(wire_read16(obuf + 2), DNS_FLAG_QR | DNS_FLAG_AA);
	assert_int_equal(wire_read16(obuf + 4), 1);
	assert_int_equal(wire_read16(obuf + 6), 1);
	assert_int_equal(wire_read16(obuf + 8), 1);
	assert_int_equal(wire_read16(obuf + 10), 2);
	assert_memory_equal(obuf + pos, q, dname_len(q));	/* the client's spelling */
	pos += dname_len(q);
	assert_int_equal(wire_read16(obuf + pos), DNS_TYPE_MX);
	assert_int_equal(wire_read16(obuf + pos + 2), DNS_CLASS_IN);
	pos += 4;

	read_rr(obuf, len, &pos, &rr);
	assert_memory_equal(rr.owner, q, dname_len(q));
	assert_int_equal(rr.type, DNS_TYPE_MX);
	assert_int_equal(rr.rclass, DNS_CLASS_IN);
	assert_int_equal(rr.ttl, 300);
	assert_int_equal(wire_read16(obuf + rr.rdata), 10);
	rr.rdata += 2;
	assert_name_at(obuf, len, &rr.rdata, mail);
	assert_int_equal(rr.rdata, pos);	/* RDLENGTH covers the compressed RDATA */

	read_rr(obuf, len, &pos, &rr);
	assert_same_name(rr.owner, ex);
	assert_int_equal(rr.type, DNS_TYPE_NS);
	assert_int_equal(rr.ttl, 3600);
	assert_name_at(obuf, len, &rr.rdata, ns1);
	assert_int_equal(rr.rdata, pos);

	read_rr(obuf, len, &pos, &rr);
	assert_same_name(rr.owner, mail);
	assert_int_equal(rr.type, DNS_TYPE_A);
	assert_int_equal(rr.rdlen, 4);
	assert_memory_equal(obuf + rr.rdata, a1, 4);
	read_rr(obuf, len, &pos, &rr);
	assert_same_name(rr.owner, ns1);
	assert_int_equal(pos, len);
}

/* RFC 1035 4.1.4: a repeated name is a pointer; a repeated suffix, labels then a pointer. */
static void
test_write_compression_bytes(void **state)
{
	static const uint8_t a1[] = { 192, 0, 2, 1 };
	static const uint8_t rr1[] = { 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1 };
	static const uint8_t rr2[] = { 3, 'w', 'w', 'w', 0xc0, 0x0c, 0, 1 };
	static const uint8_t rr3[] = { 0xc0, 0x2d, 0, 1 };
	struct wire_writer w;
	size_t at;

	writer_ex(&w, sizeof(obuf));
	at = w.len;
	assert_int_equal(wire_rr(&w, WIRE_AN, ex, DNS_TYPE_A, DNS_CLASS_IN, 60, a1, 4), 0);
	assert_memory_equal(obuf + at, rr1, sizeof(rr1));
	at = w.len;
	assert_int_equal(at, 0x2d);
	assert_int_equal(wire_rr(&w, WIRE_AN, www, DNS_TYPE_A, DNS_CLASS_IN, 60, a1, 4), 0);
	assert_memory_equal(obuf + at, rr2, sizeof(rr2));
	/* The third time, www.example.com. is a pointer to where it was written in full. */
	at = w.len;
	assert_int_equal(wire_rr(&w, WIRE_AN, www, DNS_TYPE_A, DNS_CLASS_IN, 60, a1, 4), 0);
	assert_memory_equal(obuf + at, rr3, sizeof(rr3));
}

/* "com." alone: the suffix inside the question, at 12 + 8. */
static void
test_write_compression_inner_suffix(void **state)
{
	static const uint8_t a1[] = { 192, 0, 2, 1 };
	static const uint8_t want[] = { 4, 'n', 'i', 'c', 'x', 0xc0, 20 };
	uint8_t nicx[DNAME_MAXLEN], com[DNAME_MAXLEN];
	struct wire_writer w;
	size_t at;

	wname("nicx.com.", nicx);
	wname("com.", com);
	writer_ex(&w, sizeof(obuf));
	at = w.len;
	assert_int_equal(wire_rr(&w, WIRE_AN, nicx, DNS_TYPE_A, DNS_CLASS_IN, 60, a1, 4), 0);
	assert_memory_equal(obuf + at, want, sizeof(want));
	at = w.len;
	assert_int_equal(wire_rr(&w, WIRE_AN, com, DNS_TYPE_A, DNS_CLASS_IN, 60, a1, 4), 0);
	assert_int_equal(wire_read16(obuf + at), 0xc000 | 20);
}

/* Names compare case-insensitively (RFC 4343); the first spelling stays on the wire. */
static void
test_write_compression_case(void **state)
{
	static const uint8_t a1[] = { 192, 0, 2, 1 };
	uint8_t upper[DNAME_MAXLEN];
	struct wire_writer w;
	size_t at;

	wname("WWW.Example.COM.", upper);
	wire_init(&w, obuf, sizeof(obuf));
	wire_header(&w, 1, 0);
	assert_int_equal(wire_question(&w, upper, DNS_TYPE_A, DNS_CLASS_IN), 0);
	at = w.len;
	assert_int_equal(wire_rr(&w, WIRE_AN, www, DNS_TYPE_A, DNS_CLASS_IN, 60, a1, 4), 0);
	assert_int_equal(wire_read16(obuf + at), 0xc000 | 12);
	assert_memory_equal(obuf + 12, upper, dname_len(upper));
}

/* Writes one RR of type at example.com. and returns where its RDATA starts. */
static size_t
write_one(struct wire_writer *w, uint16_t type, const uint8_t *rd, size_t rdlen)
{
	size_t at;

	writer_ex(w, sizeof(obuf));
	at = w->len;
	assert_int_equal(wire_rr(w, WIRE_AN, ex, type, DNS_CLASS_IN, 60, rd, (uint16_t)rdlen), 0);
	assert_int_equal(wire_read16(obuf + at), 0xc00c);
	return at + 2 + 10;
}

static void
test_write_rdata_mx_compressed(void **state)
{
	static const uint8_t want[] = { 0, 10, 4, 'm', 'a', 'i', 'l', 0xc0, 0x0c };
	uint8_t rd[2 + DNAME_MAXLEN];
	struct wire_writer w;
	size_t at;

	wire_write16(rd, 10);
	memcpy(rd + 2, mail, dname_len(mail));
	at = write_one(&w, DNS_TYPE_MX, rd, 2 + dname_len(mail));
	assert_int_equal(wire_read16(obuf + at - 2), sizeof(want));
	assert_memory_equal(obuf + at, want, sizeof(want));
	assert_int_equal(w.len, at + sizeof(want));
}

static void
test_write_rdata_ns_cname_compressed(void **state)
{
	static const uint8_t ns_want[] = { 3, 'w', 'w', 'w', 0xc0, 0x0c };
	static const uint8_t cname_want[] = { 0xc0, 0x0c };
	struct wire_writer w;
	size_t at;

	at = write_one(&w, DNS_TYPE_NS, www, dname_len(www));
	assert_int_equal(wire_read16(obuf + at - 2), sizeof(ns_want));
	assert_memory_equal(obuf + at, ns_want, sizeof(ns_want));
	at = write_one(&w, DNS_TYPE_CNAME, ex, dname_len(ex));
	assert_int_equal(wire_read16(obuf + at - 2), sizeof(cname_want));
	assert_memory_equal(obuf + at, cname_want, sizeof(cname_want));
}

/* Both SOA names compress; the 20 octets of numbers are copied unchanged. */
static void
test_write_rdata_soa_compressed(void **state)
{
	static const uint8_t nums[20] = { 0, 0, 0, 1, 0, 0, 0x1c, 0x20, 0, 0, 0x0e, 0x10,
	    0, 0x12, 0x75, 0, 0, 0, 1, 0x2c };
	static const uint8_t want[] = { 3, 'w', 'w', 'w', 0xc0, 0x0c, 0xc0, 0x29 };
	uint8_t rd[2 * DNAME_MAXLEN + 20];
	struct wire_writer w;
	size_t at, n = 0;

	memcpy(rd, www, dname_len(www));
	n += dname_len(www);
	memcpy(rd + n, www, dname_len(www));	/* rname = mname: a pointer to the mname */
	n += dname_len(www);
	memcpy(rd + n, nums, 20);
	n += 20;
	at = write_one(&w, DNS_TYPE_SOA, rd, n);
	assert_int_equal(at, 0x29);
	assert_int_equal(wire_read16(obuf + at - 2), sizeof(want) + 20);
	assert_memory_equal(obuf + at, want, sizeof(want));
	assert_memory_equal(obuf + at + sizeof(want), nums, 20);
}

/* RFC 2782: the SRV target "MUST NOT be compressed"; RFC 3597 4 keeps it that way. */
static void
test_write_rdata_srv_not_compressed(void **state)
{
	uint8_t rd[6 + DNAME_MAXLEN];
	struct wire_writer w;
	size_t at, n = 6 + dname_len(www);

	memcpy(rd, "\0\1\0\2\023\304", 6);	/* priority 1, weight 2, port 5060 */
	memcpy(rd + 6, www, dname_len(www));
	at = write_one(&w, DNS_TYPE_SRV, rd, n);
	assert_int_equal(wire_read16(obuf + at - 2), n);
	assert_memory_equal(obuf + at, rd, n);
	assert_int_equal(w.len, at + n);
}

static void
test_write_rr_past_cap(void **state)
{
	static const uint8_t a1[] = { 192, 0, 2, 1 };
	static const uint8_t want[] = { 3, 'w', 'w', 'w', 0xc0, 0x0c };
	uint8_t big[200];
	struct wire_writer w;
	size_t len;
	uint16_t counts[4];

	memset(big, 'x', sizeof(big));
	writer_ex(&w, 60);
	len = w.len;
	memcpy(counts, w.counts, sizeof(counts));
	/* The owner fits, the RDATA does not: nothing of it may remain. */
	assert_int_equal(wire_rr(&w, WIRE_AN, www, DNS_TYPE_TXT, DNS_CLASS_IN, 60, big,
	    sizeof(big)), -1);
	assert_int_equal(w.len, len);
	assert_memory_equal(w.counts, counts, sizeof(counts));
	/* Its owner was not remembered: www is written in full, not as a stale pointer. */
	assert_int_equal(wire_rr(&w, WIRE_AN, www, DNS_TYPE_A, DNS_CLASS_IN, 60, a1, 4), 0);
	assert_memory_equal(obuf + len, want, sizeof(want));
	assert_int_equal(w.counts[WIRE_AN], 1);
	assert_int_equal(w.len, len + sizeof(want) + 10 + 4);
	/* An RR that would end exactly at cap fits; one octet more does not. */
	writer_ex(&w, 29 + 2 + 10 + 4);
	assert_int_equal(wire_rr(&w, WIRE_AN, ex, DNS_TYPE_A, DNS_CLASS_IN, 60, a1, 4), 0);
	writer_ex(&w, 29 + 2 + 10 + 4);
	assert_int_equal(wire_rr(&w, WIRE_AN, ex, DNS_TYPE_TXT, DNS_CLASS_IN, 60, big, 5), -1);
	assert_int_equal(w.len, 29);
	assert_int_equal(w.counts[WIRE_AN], 0);
}

static void
test_write_mark_rollback(void **state)
{
	static const uint8_t a1[] = { 192, 0, 2, 1 };
	struct wire_writer w;
	struct wire_mark m;
	size_t len;

	writer_ex(&w, sizeof(obuf));
	assert_int_equal(wire_rr(&w, WIRE_AN, ex, DNS_TYPE_A, DNS_CLASS_IN, 60, a1, 4), 0);
	wire_mark(&w, &m);
	len = w.len;
	assert_int_equal(wire_rr(&w, WIRE_NS, www, DNS_TYPE_A, DNS_CLASS_IN, 60, a1, 4), 0);
	assert_int_equal(wire_rr(&w, WIRE_AR, mail, DNS_TYPE_A, DNS_CLASS_IN, 60, a1, 4), 0);
	wire_rollback(&w, &m);
	assert_int_equal(w.len, len);
	assert_int_equal(wire_finish(&w), len);
	assert_int_equal(wire_read16(obuf + 4), 1);
	assert_int_equal(wire_read16(obuf + 6), 1);
	assert_int_equal(wire_read16(obuf + 8), 0);
	assert_int_equal(wire_read16(obuf + 10), 0);
	/* www.example.com. is no longer on the wire: written in full again. */
	assert_int_equal(wire_rr(&w, WIRE_AN, www, DNS_TYPE_A, DNS_CLASS_IN, 60, a1, 4), 0);
	assert_int_equal(obuf[len], 3);
}

/* RFC 6891 6.1.2-6.1.3: root owner, TYPE 41, CLASS = payload, TTL = ext-rcode|version|flags. */
static void
test_write_opt_layout(void **state)
{
	static const uint8_t ede[] = { 0, 15, 0, 2, 0, 14 };
	static const uint8_t want[] = { 0, 0, 41, 0x04, 0xd0, 1, 0, 0x80, 0, 0, 6,
	    0, 15, 0, 2, 0, 14 };
	struct wire_writer w;
	size_t at;

	writer_ex(&w, sizeof(obuf));
	at = w.len;
	assert_int_equal(wire_opt(&w, 1232, 1, 0, EDNS_FLAG_DO, ede, sizeof(ede)), 0);
	assert_int_equal(w.len, at + sizeof(want));
	assert_memory_equal(obuf + at, want, sizeof(want));
	assert_int_equal(w.counts[WIRE_AR], 1);
	/* No room: nothing written. */
	writer_ex(&w, 29 + 10);
	assert_int_equal(wire_opt(&w, 512, 0, 0, 0, NULL, 0), -1);
	assert_int_equal(w.len, 29);
	assert_int_equal(w.counts[WIRE_AR], 0);
}

/* A pointer holds 14 bits: a name written past 0x3fff is no target, earlier ones still are. */
static void
test_write_compression_beyond_16k(void **state)
{
	static uint8_t big[20000], txt[16500];
	static const uint8_t want[] = { 3, 'n', 'e', 'w', 0xc0, 0x0c };
	uint8_t nw[DNAME_MAXLEN];
	struct wire_writer w;
	size_t at;

	wname("new.example.com.", nw);
	memset(txt, 'x', sizeof(txt));
	wire_init(&w, big, sizeof(big));
	wire_header(&w, 1, 0);
	assert_int_equal(wire_question(&w, ex, DNS_TYPE_TXT, DNS_CLASS_IN), 0);
	assert_int_equal(wire_rr(&w, WIRE_AN, ex, DNS_TYPE_TXT, DNS_CLASS_IN, 60, txt,
	    sizeof(txt)), 0);
	assert_true(w.len > 0x4000);
	for (int i = 0; i < 2; i++) {
		at = w.len;
		assert_int_equal(wire_rr(&w, WIRE_AN, nw, DNS_TYPE_TXT, DNS_CLASS_IN, 60, txt,
		    1), 0);
		assert_memory_equal(big + at, want, sizeof(want));
	}
}

static void
test_write_cap_clamped(void **state)
{
	static uint8_t huge[70000];
	struct wire_writer w;

	wire_init(&w, huge, sizeof(huge));
	assert_int_equal(w.cap, DNS_MAX_MSG);
}

/* ---- reading responses (what dnsr's iterator uses) ---- */

static void
pptr(struct pkt *p, uint16_t off)
{
	p16(p, (uint16_t)(0xc000 | off));
}

/* RR header: owner already written; type, class IN, ttl; returns the RDLENGTH offset. */
static size_t
prr(struct pkt *p, uint16_t type, uint32_t ttl)
{
	size_t at;

	p16(p, type);
	p16(p, DNS_CLASS_IN);
	p32(p, ttl);
	at = p->n;
	p16(p, 0);
	return at;
}

static void
pend(struct pkt *p, size_t at)
{
	uint16_t len = (uint16_t)(p->n - at - 2);

	p->b[at] = (uint8_t)(len >> 8);
	p->b[at + 1] = (uint8_t)len;
}

/* A referral-like response: question www.example.com/MX (name at offset 12), an MX
 * answer with a compressed exchange, NS in authority, glue and an OPT in additional. */
static void
build_response(struct pkt *p, uint8_t ext_rcode)
{
	size_t at;

	phdr(p, 0x1234, DNS_FLAG_QR | DNS_FLAG_AA | 3, 1, 1, 1, 2);
	pname(p, "www.example.com.");			/* 12: www, 16: example, 24: com */
	p16(p, DNS_TYPE_MX);
	p16(p, DNS_CLASS_IN);
	pptr(p, 12);
	at = prr(p, DNS_TYPE_MX, 300);
	p16(p, 10);
	praw(p, "\x04mail", 5);
	pptr(p, 16);					/* mail.example.com. */
	pend(p, at);
	pptr(p, 16);
	at = prr(p, DNS_TYPE_NS, 3600);
	praw(p, "\x02ns", 3);
	pptr(p, 16);
	pend(p, at);
	praw(p, "\x02ns", 3);
	pptr(p, 16);
	at = prr(p, DNS_TYPE_A, 3600);
	praw(p, "\xc0\x00\x02\x01", 4);
	pend(p, at);
	p8(p, 0);					/* OPT */
	p16(p, DNS_TYPE_OPT);
	p16(p, 1232);
	p32(p, (uint32_t)ext_rcode << 24);
	p16(p, 0);
}

static void
test_parse_and_iterate(void **state)
{
	struct pkt p;
	struct wire_msg m;
	struct wire_iter it;
	struct wire_rr rr;
	uint8_t want[DNAME_MAXLEN], out[512];
	int sections[4], n = 0, len;

	build_response(&p, 0);
	assert_int_equal(wire_msg_parse(p.b, p.n, &m), 0);
	assert_int_equal(m.id, 0x1234);
	assert_true(m.has_question);
	dname_from_str("www.example.com.", NULL, want);
	assert_true(dname_equal(m.qname, want));
	assert_int_equal(m.qtype, DNS_TYPE_MX);
	assert_true(m.edns);
	assert_int_equal(m.edns_udp, 1232);
	assert_int_equal(wire_msg_rcode(&m), DNS_RCODE_NXDOMAIN);
	wire_iter_init(&m, &it);
	while (wire_iter_next(&m, &it, &rr) == 1) {
		sections[n++] = rr.section;
		if (rr.type == DNS_TYPE_MX) {
			uint8_t mx[64];
			size_t mlen = 2;

			assert_true(dname_equal(rr.owner, want));
			assert_int_equal(rr.ttl, 300);
			len = wire_rdata_unpack(&m, &rr, out, sizeof(out));
			mx[0] = 0;
			mx[1] = 10;
			mlen += (size_t)dname_from_str("mail.example.com.", NULL, mx + 2);
			assert_int_equal(len, (int)mlen);
			assert_memory_equal(out, mx, mlen);
		}
	}
	assert_int_equal(n, 4);
	assert_int_equal(sections[0], WIRE_AN);
	assert_int_equal(sections[1], WIRE_NS);
	assert_int_equal(sections[2], WIRE_AR);
	assert_int_equal(sections[3], WIRE_AR);
}

static void
test_extended_rcode(void **state)
{
	struct pkt p;
	struct wire_msg m;

	build_response(&p, 1);			/* BADVERS = 16: ext 1, header 0 */
	p.b[3] &= 0xf0;
	assert_int_equal(wire_msg_parse(p.b, p.n, &m), 0);
	assert_int_equal(wire_msg_rcode(&m), DNS_RCODE_BADVERS);
}

static void
test_every_truncation_is_malformed(void **state)
{
	struct pkt p;
	struct wire_msg m;

	build_response(&p, 0);
	for (size_t n = 0; n < p.n; n++)
		assert_int_equal(wire_msg_parse(p.b, n, &m), -1);
	p.b[p.n++] = 0;				/* trailing octet */
	assert_int_equal(wire_msg_parse(p.b, p.n, &m), -1);
}

static void
test_malformed_messages(void **state)
{
	struct pkt p;
	struct wire_msg m;
	size_t at;

	/* A pointer forward (to itself) in an owner name. */
	phdr(&p, 0x1234, DNS_FLAG_QR, 0, 1, 0, 0);
	pptr(&p, 12);
	at = prr(&p, DNS_TYPE_A, 1);
	praw(&p, "\x01\x02\x03\x04", 4);
	pend(&p, at);
	assert_int_equal(wire_msg_parse(p.b, p.n, &m), -1);
	/* Two questions. */
	phdr(&p, 0x1234, DNS_FLAG_QR, 2, 0, 0, 0);
	pname(&p, "a.");
	p32(&p, 0x00010001);
	pname(&p, "b.");
	p32(&p, 0x00010001);
	assert_int_equal(wire_msg_parse(p.b, p.n, &m), -1);
	/* OPT in the answer section, and two OPTs. */
	for (int twice = 0; twice < 2; twice++) {
		phdr(&p, 0x1234, DNS_FLAG_QR, 0, twice ? 0 : 1, 0, twice ? 2 : 0);
		for (int i = 0; i <= twice; i++) {
			p8(&p, 0);
			p16(&p, DNS_TYPE_OPT);
			p16(&p, 512);
			p32(&p, 0);
			p16(&p, 0);
		}
		assert_int_equal(wire_msg_parse(p.b, p.n, &m), -1);
	}
	/* RDLENGTH past the end. */
	phdr(&p, 0x1234, DNS_FLAG_QR, 0, 1, 0, 0);
	pname(&p, "a.");
	p16(&p, DNS_TYPE_A);
	p16(&p, DNS_CLASS_IN);
	p32(&p, 0);
	p16(&p, 5);
	praw(&p, "\x01\x02\x03\x04", 4);
	assert_int_equal(wire_msg_parse(p.b, p.n, &m), -1);
}

/* Parses a one-RR answer (owner a.) of type with the given RDATA; unpacks it into out. */
static int
unpack_one(uint16_t type, const uint8_t *rdata, size_t rdlen, uint8_t *out, size_t cap)
{
	static struct pkt p;
	struct wire_msg m;
	struct wire_iter it;
	struct wire_rr rr;
	size_t at;

	phdr(&p, 0x1234, DNS_FLAG_QR, 0, 1, 0, 0);
	pname(&p, "zz.a.");			/* 12: zz, 15: a */
	at = prr(&p, type, 60);
	praw(&p, rdata, rdlen);
	pend(&p, at);
	assert_int_equal(wire_msg_parse(p.b, p.n, &m), 0);
	wire_iter_init(&m, &it);
	assert_int_equal(wire_iter_next(&m, &it, &rr), 1);
	return wire_rdata_unpack(&m, &rr, out, cap);
}

static void
test_rdata_names(void **state)
{
	uint8_t out[512];
	/* SOA: both names compressed (pointer to "a." at 15), then 20 octets. */
	uint8_t soa[4 + 20] = { 0xc0, 15, 0xc0, 12 };
	/* NAPTR: order, pref, "u", "E2U+sip", "", then a replacement name (root). */
	const uint8_t naptr[] = { 0, 1, 0, 2, 1, 'u', 7, 'E', '2', 'U', '+', 's', 'i', 'p', 0,
	    0 };
	const uint8_t a_bad[] = { 1, 2, 3 };
	const uint8_t name_past_end[] = { 3, 'a', 'b' };	/* label longer than the RDATA */
	const uint8_t unknown[] = { 0xde, 0xad, 0xbe, 0xef, 0xc0, 12 };

	assert_int_equal(unpack_one(DNS_TYPE_SOA, soa, sizeof(soa), out, sizeof(out)),
	    3 + 6 + 20);
	assert_memory_equal(out, "\x01" "a\x00\x02zz\x01" "a\x00", 9);
	assert_int_equal(unpack_one(35, naptr, sizeof(naptr), out, sizeof(out)),
	    (int)sizeof(naptr));
	assert_int_equal(unpack_one(DNS_TYPE_A, a_bad, sizeof(a_bad), out, sizeof(out)), -1);
	assert_int_equal(unpack_one(DNS_TYPE_CNAME, name_past_end, sizeof(name_past_end), out,
	    sizeof(out)), -1);
	/* A type libknot does not know: copied as it is, pointer-looking octets included. */
	assert_int_equal(unpack_one(65280, unknown, sizeof(unknown), out, sizeof(out)), 6);
	assert_memory_equal(out, unknown, 6);
	/* Too small an output buffer. */
	assert_int_equal(unpack_one(DNS_TYPE_SOA, soa, sizeof(soa), out, 10), -1);
	/* A name followed by junk the type does not have. */
	{
		const uint8_t cname_junk[] = { 0xc0, 12, 0xff };

		assert_int_equal(unpack_one(DNS_TYPE_CNAME, cname_junk, sizeof(cname_junk), out,
		    sizeof(out)), -1);
	}
}

/*
 * Lean compression (zone transfers): every name read back whole and equal, owners
 * repeated as one pointer, names in the zone as their own labels and a pointer to the
 * apex, names outside it uncompressed; a rollback forgets offsets it took back.
 */
static void
test_lean_compression(void **state)
{
	uint8_t msg[512], apex[DNAME_MAXLEN], host[DNAME_MAXLEN], mx[DNAME_MAXLEN];
	uint8_t other[DNAME_MAXLEN], rd[DNAME_MAXLEN], back[DNAME_MAXLEN];
	const uint8_t a[4] = { 192, 0, 2, 1 };
	struct wire_writer w;
	struct wire_mark m;
	struct wire_msg pm;
	struct wire_iter it;
	struct wire_rr rr;
	size_t len, before;
	const uint8_t *owners[5];
	int i = 0;

	wname("example.com.", apex);
	wname("www.example.com.", host);
	wname("mail.example.com.", mx);
	wname("ns.other.net.", other);
	wire_init(&w, msg, sizeof(msg));
	wire_compress_lean(&w, apex);
	wire_header(&w, 1, 0x8400);
	/* Taken back: the apex written in it is not pointed at afterwards. */
	wire_mark(&w, &m);
	assert_int_equal(wire_rr(&w, WIRE_AN, mx, DNS_TYPE_A, 1, 60, a, 4), 0);
	wire_rollback(&w, &m);
	/* No question (a transfer's later message): the apex is written out the first time. */
	before = w.len;
	assert_int_equal(wire_rr(&w, WIRE_AN, host, DNS_TYPE_A, 1, 60, a, 4), 0);
	assert_int_equal(w.len - before, dname_len(host) + 10 + 4);
	before = w.len;
	assert_int_equal(wire_rr(&w, WIRE_AN, host, DNS_TYPE_AAAA, 1, 60, NULL, 0), 0);
	assert_int_equal(w.len - before, 2 + 10);	/* the same owner: one pointer */
	before = w.len;
	assert_int_equal(wire_rr(&w, WIRE_AN, mx, DNS_TYPE_A, 1, 60, a, 4), 0);
	assert_int_equal(w.len - before, 5 + 2 + 10 + 4);	/* "mail" and the apex */
	/* An NS whose target is outside the zone: its RDATA uncompressed. */
	before = w.len;
	assert_int_equal(wire_rr(&w, WIRE_AN, apex, DNS_TYPE_NS, 1, 60, other,
	    (uint16_t)dname_len(other)), 0);
	assert_int_equal(w.len - before, 2 + 10 + dname_len(other));
	before = w.len;
	assert_int_equal(wire_rr(&w, WIRE_AN, apex, DNS_TYPE_CNAME, 1, 60, host,
	    (uint16_t)dname_len(host)), 0);
	len = wire_finish(&w);

	owners[0] = host, owners[1] = host, owners[2] = mx, owners[3] = apex, owners[4] = apex;
	assert_int_equal(wire_msg_parse(msg, len, &pm), 0);
	wire_iter_init(&pm, &it);
	while (wire_iter_next(&pm, &it, &rr) == 1) {
		assert_true(i < 5);
		assert_true(dname_equal(rr.owner, owners[i]));
		if (rr.type == DNS_TYPE_NS || rr.type == DNS_TYPE_CNAME) {
			assert_true(wire_rdata_unpack(&pm, &rr, rd, sizeof(rd)) > 0);
			assert_true(dname_equal(rd, rr.type == DNS_TYPE_NS ? other : host));
		}
		i++;
	}
	assert_int_equal(i, 5);

	/* With the apex as the question, it is pointed at from the first record on. */
	wire_init(&w, msg, sizeof(msg));
	wire_compress_lean(&w, apex);
	wire_header(&w, 1, 0x8400);
	wname("EXAMPLE.com.", back);
	assert_int_equal(wire_question(&w, back, DNS_TYPE_AXFR, 1), 0);
	before = w.len;
	assert_int_equal(wire_rr(&w, WIRE_AN, apex, DNS_TYPE_A, 1, 60, a, 4), 0);
	assert_int_equal(w.len - before, 2 + 10 + 4);
	before = w.len;
	assert_int_equal(wire_rr(&w, WIRE_AN, host, DNS_TYPE_A, 1, 60, a, 4), 0);
	assert_int_equal(w.len - before, 4 + 2 + 10 + 4);
	len = wire_finish(&w);
	assert_int_equal(wire_msg_parse(msg, len, &pm), 0);
	wire_iter_init(&pm, &it);
	assert_int_equal(wire_iter_next(&pm, &it, &rr), 1);
	assert_true(dname_equal(rr.owner, apex));
	assert_int_equal(wire_iter_next(&pm, &it, &rr), 1);
	assert_true(dname_equal(rr.owner, host));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_valid_query),
		cmocka_unit_test(test_parse_opcode),
		cmocka_unit_test(test_parse_short_is_dropped),
		cmocka_unit_test(test_parse_response_is_dropped),
		cmocka_unit_test(test_parse_qdcount_zero),
		cmocka_unit_test(test_parse_qdcount_two),
		cmocka_unit_test(test_parse_truncated_question),
		cmocka_unit_test(test_parse_pointer_to_itself),
		cmocka_unit_test(test_parse_pointer_loop_terminates),
		cmocka_unit_test(test_parse_forward_pointer),
		cmocka_unit_test(test_parse_backward_pointer),
		cmocka_unit_test(test_parse_pointer_out_of_range),
		cmocka_unit_test(test_parse_extended_label_types),
		cmocka_unit_test(test_parse_name_length_limit),
		cmocka_unit_test(test_parse_name_length_limit_compressed),
		cmocka_unit_test(test_parse_opt),
		cmocka_unit_test(test_parse_opt_version_no_nsid),
		cmocka_unit_test(test_parse_cookie_lengths),
		cmocka_unit_test(test_parse_two_opts),
		cmocka_unit_test(test_parse_opt_outside_additional),
		cmocka_unit_test(test_parse_opt_owner_not_root),
		cmocka_unit_test(test_parse_opt_truncated_option),
		cmocka_unit_test(test_parse_trailing_garbage),
		cmocka_unit_test(test_parse_rdlength_beyond_end),
		cmocka_unit_test(test_parse_missing_rr),
		cmocka_unit_test(test_write_round_trip),
		cmocka_unit_test(test_write_compression_bytes),
		cmocka_unit_test(test_write_compression_inner_suffix),
		cmocka_unit_test(test_write_compression_case),
		cmocka_unit_test(test_write_rdata_mx_compressed),
		cmocka_unit_test(test_write_rdata_ns_cname_compressed),
		cmocka_unit_test(test_write_rdata_soa_compressed),
		cmocka_unit_test(test_write_rdata_srv_not_compressed),
		cmocka_unit_test(test_write_rr_past_cap),
		cmocka_unit_test(test_write_mark_rollback),
		cmocka_unit_test(test_write_opt_layout),
		cmocka_unit_test(test_write_compression_beyond_16k),
		cmocka_unit_test(test_write_cap_clamped),
		cmocka_unit_test(test_parse_and_iterate),
		cmocka_unit_test(test_extended_rcode),
		cmocka_unit_test(test_every_truncation_is_malformed),
		cmocka_unit_test(test_malformed_messages),
		cmocka_unit_test(test_rdata_names),
		cmocka_unit_test(test_lean_compression),
	};

	return cmocka_run_group_tests(tests, setup_names, NULL);
}
