/* test_dnsr_wire.c: unit tests of the response reader (common/wire.c) that dnsr uses. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/dname.h"
#include "common/wire.h"

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

static void
pname(struct pkt *p, const char *s)
{
	uint8_t w[DNAME_MAXLEN];
	int n = dname_from_str(s, NULL, w);

	assert_true(n > 0);
	praw(p, w, (size_t)n);
}

static void
pptr(struct pkt *p, uint16_t off)
{
	p16(p, (uint16_t)(0xc000 | off));
}

static void
phdr(struct pkt *p, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns, uint16_t ar)
{
	p->n = 0;
	p16(p, 0x1234);
	p16(p, flags);
	p16(p, qd);
	p16(p, an);
	p16(p, ns);
	p16(p, ar);
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

	phdr(p, DNS_FLAG_QR | DNS_FLAG_AA | 3, 1, 1, 1, 2);
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
	phdr(&p, DNS_FLAG_QR, 0, 1, 0, 0);
	pptr(&p, 12);
	at = prr(&p, DNS_TYPE_A, 1);
	praw(&p, "\x01\x02\x03\x04", 4);
	pend(&p, at);
	assert_int_equal(wire_msg_parse(p.b, p.n, &m), -1);
	/* Two questions. */
	phdr(&p, DNS_FLAG_QR, 2, 0, 0, 0);
	pname(&p, "a.");
	p32(&p, 0x00010001);
	pname(&p, "b.");
	p32(&p, 0x00010001);
	assert_int_equal(wire_msg_parse(p.b, p.n, &m), -1);
	/* OPT in the answer section, and two OPTs. */
	for (int twice = 0; twice < 2; twice++) {
		phdr(&p, DNS_FLAG_QR, 0, twice ? 0 : 1, 0, twice ? 2 : 0);
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
	phdr(&p, DNS_FLAG_QR, 0, 1, 0, 0);
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

	phdr(&p, DNS_FLAG_QR, 0, 1, 0, 0);
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_and_iterate),
		cmocka_unit_test(test_extended_rcode),
		cmocka_unit_test(test_every_truncation_is_malformed),
		cmocka_unit_test(test_malformed_messages),
		cmocka_unit_test(test_rdata_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
