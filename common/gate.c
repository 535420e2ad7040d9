/*
 * gate.c: the request gate. Every message is read once (wire_read_message), then the
 * steps of one table decide, in a fixed order, whether and how it is answered: the first
 * step whose test fails gives the response. The order is the protocol's: a TSIG is
 * verified on receipt, before anything the message says is acted on (RFC 8945 5.2), so
 * that every later answer to a signed request can be signed; the opcode is judged before
 * the question (an unknown opcode is "not implemented", whatever the rest says, RFC 1035
 * 4.1.1), the question before EDNS, the client's cookie and address last.
 */
#include <assert.h>
#include <stddef.h>
#include <string.h>

#include "common/gate.h"

#define RCODE_POLICY_XFR 0xffff	/* the row answers with the policy's xfr_rcode */
#define RCODE_TSIG	 0xfffe	/* the row answers NOTAUTH, or FORMERR (RFC 8945 5.2) */

struct gate_in {
	const struct gate_policy	*p;
	enum wire_parse_result		 pr;
	const struct dns_query		*q;
	const struct sockaddr		*client;
	enum tsig_result		 tsig;
};

/* Each test returns true when the message passes the step. */
typedef bool gate_test_fn(const struct gate_in *in);

static bool
header_ok(const struct gate_in *in)
{
	return in->pr != WIRE_DROP;
}

static bool
tsig_ok(const struct gate_in *in)
{
	return in->tsig == TSIG_NONE || in->tsig == TSIG_OK;
}

static bool
opcode_ok(const struct gate_in *in)
{
	return in->q->opcode == DNS_OPCODE_QUERY ||
	    (in->q->opcode == DNS_OPCODE_UPDATE && in->p->update);
}

static bool
question_ok(const struct gate_in *in)
{
	return in->pr == WIRE_OK && in->q->qdcount == 1;
}

static bool
edns_ok(const struct gate_in *in)
{
	return !in->q->edns || in->q->edns_version == 0;
}

static bool
not_meta(const struct gate_in *in)
{
	uint16_t t = in->q->qtype;

	/* NXNAME only ever appears in a compact-denial NSEC (RFC 9824 3.5). */
	return t != DNS_TYPE_OPT && t != DNS_TYPE_TSIG && t != DNS_TYPE_TKEY &&
	    t != DNS_TYPE_NXNAME;
}

static bool
not_transfer(const struct gate_in *in)
{
	return (in->q->qtype != DNS_TYPE_AXFR && in->q->qtype != DNS_TYPE_IXFR) ||
	    in->p->xfr_rcode == DNS_RCODE_NOERROR;
}

static bool
not_mailx(const struct gate_in *in)
{
	return in->q->qtype != DNS_TYPE_MAILA && in->q->qtype != DNS_TYPE_MAILB;
}

static bool
class_ok(const struct gate_in *in)
{
	return in->q->qclass == DNS_CLASS_IN ||
	    (in->q->qclass == DNS_CLASS_CH && in->p->chaos);
}

static bool
acl_ok(const struct gate_in *in)
{
	return in->p->acl == NULL ||
	    (in->client != NULL && acl_match(in->p->acl, in->client));
}

/*
 * The gate: the first row whose test fails decides. A row either drops or gives its RCODE
 * (the transfer row the policy's). The cookie step is not a row: it never stops a query.
 */
static const struct gate_row {
	enum gate_step		 step;
	gate_test_fn		*passes;
	enum gate_verdict	 verdict;
	uint16_t		 rcode;
	int			 ede;
} gate_table[] = {
	{ GATE_HEADER,		header_ok,	GATE_DROP,	0,			-1 },
	{ GATE_TSIG,		tsig_ok,	GATE_REPLY,	RCODE_TSIG,		-1 },
	{ GATE_OPCODE,		opcode_ok,	GATE_REPLY,	DNS_RCODE_NOTIMP,	-1 },
	{ GATE_QUESTION,	question_ok,	GATE_REPLY,	DNS_RCODE_FORMERR,	-1 },
	{ GATE_EDNS,		edns_ok,	GATE_REPLY,	DNS_RCODE_BADVERS,	-1 },
	{ GATE_QTYPE,		not_meta,	GATE_REPLY,	DNS_RCODE_FORMERR,	-1 },
	{ GATE_QTYPE,		not_transfer,	GATE_REPLY,	RCODE_POLICY_XFR,	-1 },
	{ GATE_QTYPE,		not_mailx,	GATE_REPLY,	DNS_RCODE_NOTIMP,	-1 },
	{ GATE_CLASS,		class_ok,	GATE_REPLY,	DNS_RCODE_REFUSED,	-1 },
	{ GATE_ACL,		acl_ok,		GATE_REPLY,	DNS_RCODE_REFUSED,	EDE_PROHIBITED },
};

/* RFC 8945 5.2: a TSIG that cannot be used is FORMERR, one that fails to verify NOTAUTH. */
static uint16_t
tsig_rcode(enum tsig_result t)
{
	return t == TSIG_FORMERR ? DNS_RCODE_FORMERR : DNS_RCODE_NOTAUTH;
}

/*
 * RFC 7873 5.2: what the client's cookie says; then a fresh server cookie for it in q,
 * whatever it sent as one (an invalid or stale one is answered like a client cookie only).
 */
static enum gate_cookie
cookie_step(const struct gate_policy *p, const struct sockaddr *client, uint32_t now,
    struct dns_query *q)
{
	enum gate_cookie c;

	if (q->cookie_len < COOKIE_CLIENT_LEN || p->cookies == NULL || client == NULL) {
		q->cookie_len = 0;
		return COOKIE_NONE;
	}
	if (q->cookie_len == COOKIE_CLIENT_LEN)
		c = COOKIE_CLIENT_ONLY;
	else
		c = cookie_valid(p->cookies, q->cookie, q->cookie + COOKIE_CLIENT_LEN,
		    q->cookie_len - COOKIE_CLIENT_LEN, client, now) ? COOKIE_VALID :
		    COOKIE_INVALID;
	cookie_make(p->cookies, q->cookie, client, now, q->cookie + COOKIE_CLIENT_LEN);
	q->cookie_len = COOKIE_CLIENT_LEN + COOKIE_SERVER_LEN;
	return c;
}

enum gate_verdict
gate_check(const struct gate_policy *p, const uint8_t *msg, size_t len,
    const struct sockaddr *client, uint32_t now, struct dns_query *q, struct gate_result *r)
{
	struct gate_in in = { p, wire_read_message(msg, len, q), q, client, TSIG_NONE };

	memset(&r->tsig, 0, offsetof(struct tsig_ctx, key_name));
	if (in.pr == WIRE_OK)
		in.tsig = tsig_verify(p->tsig_keys, msg, len, q, &r->tsig);
	else if (in.pr == WIRE_FORMERR && q->tsig_malformed)
		in.tsig = r->tsig.result = TSIG_FORMERR;	/* 5.2: cannot be interpreted */
	q->tsig_reserve = tsig_reserve(&r->tsig);
	r->cookie = COOKIE_NONE;
	r->ede = -1;
	r->rcode = DNS_RCODE_NOERROR;
	if (in.pr == WIRE_OK)
		r->cookie = cookie_step(p, client, now, q);
	else
		q->cookie_len = 0;
	for (size_t i = 0; i < sizeof(gate_table) / sizeof(gate_table[0]); i++) {
		const struct gate_row *row = &gate_table[i];

		if (row->passes(&in))
			continue;
		r->step = row->step;
		r->verdict = row->verdict;
		r->rcode = row->rcode == RCODE_POLICY_XFR ? p->xfr_rcode :
		    row->rcode == RCODE_TSIG ? tsig_rcode(in.tsig) : row->rcode;
		r->ede = row->ede;
		if (r->verdict == GATE_DROP && p->never_drop) {
			r->verdict = GATE_REPLY;
			r->rcode = DNS_RCODE_FORMERR;
		}
		assert(r->verdict == GATE_DROP || r->rcode != DNS_RCODE_NOERROR);
		return r->verdict;
	}
	r->step = GATE_PASSED;
	r->verdict = GATE_ANSWER;
	return GATE_ANSWER;
}

const char *
gate_step_name(enum gate_step step)
{
	static const char *const names[] = {
		"header", "tsig", "opcode", "question", "edns", "qtype", "class", "cookie", "acl",
		"passed",
	};

	return step <= GATE_PASSED ? names[step] : "?";
}
