/* test_gate.c: the request gate (common/gate.c) and the response envelope (common/envelope.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/envelope.h"
#include "common/gate.h"

#define ID	0x4d2a

static struct sockaddr_in client;
static struct cookie_ctx cookies;

static int
setup(void **state)
{
	static const uint8_t secret[COOKIE_SECRET_LEN] = { 1, 2, 3 };

	memset(&client, 0, sizeof(client));
	client.sin_family = AF_INET;
	client.sin_port = htons(5300);
	inet_pton(AF_INET, "127.0.0.1", &client.sin_addr);
	cookie_init(&cookies, secret);
	return 0;
}

/* A request: flags word, qdcount copies of www.example.com./qtype/qclass, an OPT maybe. */
struct req {
	uint16_t	 flags;
	unsigned	 qdcount;
	uint16_t	 qtype, qclass;
	bool		 edns;
	uint8_t		 version;
	const uint8_t	*opts;
	uint16_t	 optlen;
};

static size_t
build(const struct req *r, uint8_t *buf, size_t cap)
{
	uint8_t qname[DNAME_MAXLEN];
	struct wire_writer w;

	assert_true(dname_from_str("www.example.com.", NULL, qname) > 0);
	wire_init(&w, buf, cap);
	wire_header(&w, ID, r->flags);
	for (unsigned i = 0; i < r->qdcount; i++)
		assert_int_equal(wire_question(&w, qname, r->qtype ? r->qtype : DNS_TYPE_A,
		    r->qclass ? r->qclass : DNS_CLASS_IN), 0);
	if (r->edns)
		assert_int_equal(wire_opt(&w, 1232, 0, r->version, EDNS_FLAG_DO, r->opts,
		    r->optlen), 0);
	return wire_finish(&w);
}

static enum gate_verdict
check(const struct gate_policy *p, const struct req *r, struct dns_query *q,
    struct gate_result *g)
{
	uint8_t msg[512];
	size_t len = build(r, msg, sizeof(msg));

	return gate_check(p, msg, len, (const struct sockaddr *)&client, 1000000, q, g);
}

static const struct gate_policy authd_like = { .chaos = true, .xfr_rcode = DNS_RCODE_REFUSED };

/*
 * Every opcode with QDCOUNT 0, 1 and 2: the opcode is judged first (RFC 1035 4.1.1), so
 * any opcode but QUERY is NOTIMP whatever the question section holds; a QUERY needs one
 * question. The reply echoes the opcode and RD always, CD for QUERY only, and the question
 * when there was exactly one.
 */
static void
test_opcodes_and_qdcount(void **state)
{
	const struct env_opts eo = { 1232, NULL, 0 };

	for (unsigned op = 0; op < 16; op++) {
		for (unsigned qd = 0; qd <= 2; qd++) {
			struct req r = { (uint16_t)(op << DNS_OPCODE_SHIFT | DNS_FLAG_RD |
			    DNS_FLAG_CD), qd, 0, 0, op % 2 == 1, 0, NULL, 0 };
			struct gate_result g;
			struct dns_query q;
			enum gate_verdict v = check(&authd_like, &r, &q, &g);
			uint8_t out[512];
			uint16_t flags;
			size_t n;

			if (op == DNS_OPCODE_QUERY && qd == 1) {
				assert_int_equal(v, GATE_ANSWER);
				assert_int_equal(g.step, GATE_PASSED);
				continue;
			}
			assert_int_equal(v, GATE_REPLY);
			assert_int_equal(g.step, op == 0 ? GATE_QUESTION : GATE_OPCODE);
			assert_int_equal(g.rcode, op == 0 ? DNS_RCODE_FORMERR :
			    DNS_RCODE_NOTIMP);
			n = env_error(out, sizeof(out), &q, &eo, g.rcode, 0, g.ede, NULL);
			assert_true(n >= DNS_HEADER_LEN);
			flags = wire_read16(out + 2);
			assert_int_equal(wire_read16(out), ID);
			assert_true(flags & DNS_FLAG_QR);
			assert_int_equal((flags & DNS_OPCODE_MASK) >> DNS_OPCODE_SHIFT, op);
			assert_int_equal(flags & DNS_RCODE_MASK, g.rcode);
			assert_true(flags & DNS_FLAG_RD);
			assert_int_equal(!!(flags & DNS_FLAG_CD), op == DNS_OPCODE_QUERY);
			assert_false(flags & (DNS_FLAG_AA | DNS_FLAG_TC | DNS_FLAG_RA));
			assert_int_equal(wire_read16(out + 4), qd == 1 ? 1 : 0);
			/* A valid OPT is answered with ours, whatever the rcode. */
			assert_int_equal(wire_read16(out + 10), r.edns ? 1 : 0);
		}
	}
}

static void
test_not_queries_are_dropped(void **state)
{
	struct gate_policy sock_like = authd_like;
	struct req r = { DNS_FLAG_QR | DNS_FLAG_RD, 1, 0, 0, false, 0, NULL, 0 };
	struct gate_result g;
	struct dns_query q;
	uint8_t msg[4] = { 0x12, 0x34, 0, 0 };

	assert_int_equal(check(&authd_like, &r, &q, &g), GATE_DROP);
	assert_int_equal(g.step, GATE_HEADER);
	assert_int_equal(gate_check(&authd_like, msg, sizeof(msg), NULL, 0, &q, &g),
	    GATE_DROP);
	/* authd's socket queries are answered exactly once: FORMERR, never silence. */
	sock_like.never_drop = true;
	assert_int_equal(check(&sock_like, &r, &q, &g), GATE_REPLY);
	assert_int_equal(g.rcode, DNS_RCODE_FORMERR);
	assert_int_equal(g.step, GATE_HEADER);
}

static void
test_edns_version(void **state)
{
	struct req r = { 0, 1, 0, 0, true, 1, NULL, 0 };
	struct gate_result g;
	struct dns_query q;

	assert_int_equal(check(&authd_like, &r, &q, &g), GATE_REPLY);
	assert_int_equal(g.step, GATE_EDNS);
	assert_int_equal(g.rcode, DNS_RCODE_BADVERS);
	assert_true(q.edns);	/* the response carries the OPT with BADVERS's high bits */
	/* ...but an unknown opcode is judged first. */
	r.flags = DNS_OPCODE_STATUS << DNS_OPCODE_SHIFT;
	check(&authd_like, &r, &q, &g);
	assert_int_equal(g.rcode, DNS_RCODE_NOTIMP);
}

static void
test_malformed_opt(void **state)
{
	static const uint8_t bad_cookie[] = { 0, EDNS_OPT_COOKIE, 0, 3, 1, 2, 3 };
	struct req r = { 0, 1, 0, 0, true, 0, bad_cookie, sizeof(bad_cookie) };
	struct gate_result g;
	struct dns_query q;

	assert_int_equal(check(&authd_like, &r, &q, &g), GATE_REPLY);
	assert_int_equal(g.rcode, DNS_RCODE_FORMERR);
	assert_int_equal(g.step, GATE_QUESTION);
	assert_false(q.edns);	/* the OPT may be what was wrong: none in the reply */
}

static void
test_qtypes(void **state)
{
	static const struct { uint16_t qtype, rcode; } cases[] = {
		{ DNS_TYPE_OPT, DNS_RCODE_FORMERR }, { DNS_TYPE_TSIG, DNS_RCODE_FORMERR },
		{ DNS_TYPE_TKEY, DNS_RCODE_FORMERR }, { DNS_TYPE_AXFR, DNS_RCODE_NOTAUTH },
		{ DNS_TYPE_IXFR, DNS_RCODE_NOTAUTH }, { DNS_TYPE_MAILA, DNS_RCODE_NOTIMP },
		{ DNS_TYPE_MAILB, DNS_RCODE_NOTIMP },
	};
	/* The transfer row answers with the policy's RCODE (NOTAUTH: any value will do). */
	struct gate_policy p = { .xfr_rcode = DNS_RCODE_NOTAUTH };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct req r = { 0, 1, cases[i].qtype, 0, false, 0, NULL, 0 };
		struct gate_result g;
		struct dns_query q;

		assert_int_equal(check(&p, &r, &q, &g), GATE_REPLY);
		assert_int_equal(g.step, GATE_QTYPE);
		assert_int_equal(g.rcode, cases[i].rcode);
	}
}

static void
test_classes(void **state)
{
	struct gate_policy resolver = { .xfr_rcode = DNS_RCODE_REFUSED };
	struct req r = { 0, 1, DNS_TYPE_TXT, DNS_CLASS_CH, false, 0, NULL, 0 };
	struct gate_result g;
	struct dns_query q;

	assert_int_equal(check(&authd_like, &r, &q, &g), GATE_ANSWER);
	assert_int_equal(check(&resolver, &r, &q, &g), GATE_REPLY);
	assert_int_equal(g.step, GATE_CLASS);
	assert_int_equal(g.rcode, DNS_RCODE_REFUSED);
	r.qclass = 4;	/* HS */
	assert_int_equal(check(&authd_like, &r, &q, &g), GATE_REPLY);
	assert_int_equal(g.rcode, DNS_RCODE_REFUSED);
}

static void
test_acl(void **state)
{
	struct acl none, lo;
	char err[64];
	struct gate_policy p = { .xfr_rcode = DNS_RCODE_REFUSED, .acl = &none };
	struct req r = { 0, 1, 0, 0, false, 0, NULL, 0 };
	struct gate_result g;
	struct dns_query q;

	assert_int_equal(acl_parse("", &none, err, sizeof(err)), 0);
	assert_int_equal(acl_parse("127.0.0.0/8", &lo, err, sizeof(err)), 0);
	assert_int_equal(check(&p, &r, &q, &g), GATE_REPLY);
	assert_int_equal(g.step, GATE_ACL);
	assert_int_equal(g.rcode, DNS_RCODE_REFUSED);
	assert_int_equal(g.ede, 18);	/* Prohibited */
	p.acl = &lo;
	assert_int_equal(check(&p, &r, &q, &g), GATE_ANSWER);
	/* The protocol's answer comes before the client's: a bad opcode is NOTIMP to all. */
	p.acl = &none;
	r.flags = DNS_OPCODE_UPDATE << DNS_OPCODE_SHIFT;
	check(&p, &r, &q, &g);
	assert_int_equal(g.rcode, DNS_RCODE_NOTIMP);
}

static void
test_cookies(void **state)
{
	struct gate_policy p = { .xfr_rcode = DNS_RCODE_REFUSED, .cookies = &cookies };
	uint8_t opt[4 + COOKIE_CLIENT_LEN + COOKIE_SERVER_LEN] = { 0, EDNS_OPT_COOKIE, 0, 8,
	    'c', 'l', 'i', 'e', 'n', 't', '!', '!' };
	struct req r = { 0, 1, 0, 0, true, 0, opt, 4 + COOKIE_CLIENT_LEN };
	struct gate_result g;
	struct dns_query q;
	uint8_t server[COOKIE_SERVER_LEN];

	r.edns = false;
	check(&p, &r, &q, &g);
	assert_int_equal(g.cookie, COOKIE_NONE);
	assert_int_equal(q.cookie_len, 0);
	r.edns = true;
	check(&p, &r, &q, &g);
	assert_int_equal(g.cookie, COOKIE_CLIENT_ONLY);
	/* A fresh server cookie for this client, left in q for the envelope. */
	assert_int_equal(q.cookie_len, COOKIE_CLIENT_LEN + COOKIE_SERVER_LEN);
	assert_memory_equal(q.cookie, "client!!", COOKIE_CLIENT_LEN);
	memcpy(server, q.cookie + COOKIE_CLIENT_LEN, COOKIE_SERVER_LEN);
	/* Sent back, it is valid. */
	opt[3] = COOKIE_CLIENT_LEN + COOKIE_SERVER_LEN;
	memcpy(opt + 4 + COOKIE_CLIENT_LEN, server, COOKIE_SERVER_LEN);
	r.optlen = sizeof(opt);
	assert_int_equal(check(&p, &r, &q, &g), GATE_ANSWER);
	assert_int_equal(g.cookie, COOKIE_VALID);
	/* A forged one is not, and is still answered (with a good cookie). */
	opt[sizeof(opt) - 1] ^= 1;
	assert_int_equal(check(&p, &r, &q, &g), GATE_ANSWER);
	assert_int_equal(g.cookie, COOKIE_INVALID);
	assert_int_equal(q.cookie_len, COOKIE_CLIENT_LEN + COOKIE_SERVER_LEN);
	assert_memory_equal(q.cookie + COOKIE_CLIENT_LEN, server, COOKIE_SERVER_LEN);
	/* Cookies off: nothing of the client's is echoed. */
	p.cookies = NULL;
	check(&p, &r, &q, &g);
	assert_int_equal(g.cookie, COOKIE_NONE);
	assert_int_equal(q.cookie_len, 0);
}

/* The envelope: size limits, TC, and our OPT's options. */
static void
test_envelope(void **state)
{
	const struct env_opts eo = { 1232, "ns7", 0 };
	static const uint8_t nsid[] = { 0, EDNS_OPT_NSID, 0, 0 };
	struct req r = { DNS_FLAG_RD, 1, 0, 0, true, 0, nsid, sizeof(nsid) };
	struct gate_result g;
	struct dns_query q;
	struct wire_writer w;
	struct wire_msg m;
	uint8_t out[DNS_MAX_MSG];
	size_t n;

	check(&authd_like, &r, &q, &g);
	assert_int_equal(env_limit(&q, false, 4096, sizeof(out)), 1232);
	assert_int_equal(env_limit(&q, false, 1000, sizeof(out)), 1000);
	assert_int_equal(env_limit(&q, true, 1000, sizeof(out)), DNS_MAX_MSG);
	q.edns_udp = 100;
	assert_int_equal(env_limit(&q, false, 1232, sizeof(out)), DNS_MIN_UDP);
	q.edns = false;
	assert_int_equal(env_limit(&q, false, 1232, sizeof(out)), DNS_MIN_UDP);
	q.edns = true;
	q.edns_udp = 1232;
	/* Room is kept for the OPT: a section fills up to cap, the OPT still fits. */
	env_begin(&w, out, 600, &q);
	assert_true(w.cap + ENV_OPT_RESERVE == 600);
	n = env_finish(&w, &q, &eo, DNS_RCODE_BADVERS, DNS_FLAG_AA, 14, "not ready");
	assert_int_equal(wire_msg_parse(out, n, &m), 0);
	assert_int_equal(wire_msg_rcode(&m), DNS_RCODE_BADVERS);
	assert_true(m.flags & DNS_FLAG_AA);
	assert_true(m.edns);
	/* NSID, then EDE 14 with its text, as options of our OPT. */
	assert_non_null(memmem(out, n, "\x00\x03\x00\x03ns7", 7));
	assert_non_null(memmem(out, n, "\x00\x0f\x00\x0b\x00\x0enot ready", 15));
	/* Restarting drops the sections and keeps the question (TC=1 answers). */
	env_begin(&w, out, 600, &q);
	wire_rr(&w, WIRE_AN, q.qname, DNS_TYPE_A, DNS_CLASS_IN, 1, (const uint8_t *)"\1\2\3\4",
	    4);
	env_restart(&w, &q);
	n = env_finish(&w, &q, &eo, 0, DNS_FLAG_TC, -1, NULL);
	assert_int_equal(wire_msg_parse(out, n, &m), 0);
	assert_int_equal(m.counts[WIRE_AN], 0);
	assert_int_equal(m.counts[WIRE_QD], 1);
	assert_true(m.flags & DNS_FLAG_TC);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_opcodes_and_qdcount),
		cmocka_unit_test(test_not_queries_are_dropped),
		cmocka_unit_test(test_edns_version),
		cmocka_unit_test(test_malformed_opt),
		cmocka_unit_test(test_qtypes),
		cmocka_unit_test(test_classes),
		cmocka_unit_test(test_acl),
		cmocka_unit_test(test_cookies),
		cmocka_unit_test(test_envelope),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
