/*
 * gate.h: the request gate both daemons put every DNS message through before answering
 * it: header, TSIG, opcode, question, EDNS, question type and class, cookies, ACL, in
 * this order, each step an entry of one table (gate.c) with the response it gives.
 */
#ifndef STREAMDNS_GATE_H
#define STREAMDNS_GATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/acl.h"
#include "common/cookie.h"
#include "common/tsig.h"
#include "common/wire.h"

/* The steps, in the order the gate takes them. */
enum gate_step {
	GATE_HEADER,		/* shorter than a header, or a response (QR=1) */
	GATE_TSIG,		/* a TSIG that does not verify (RFC 8945 5.2) */
	GATE_OPCODE,		/* an opcode the daemon does not implement */
	GATE_QUESTION,		/* QDCOUNT other than 1, or a message that does not parse */
	GATE_EDNS,		/* an EDNS version we do not speak */
	GATE_QTYPE,		/* meta-types, transfers, MAILA/MAILB */
	GATE_CLASS,		/* a class the daemon does not serve */
	GATE_COOKIE,		/* (never stops a query: notes what the cookie says) */
	GATE_ACL,		/* a client the daemon does not serve */
	GATE_PASSED,		/* every step passed: the daemon answers */
};

enum gate_verdict {
	GATE_DROP,		/* no response at all */
	GATE_REPLY,		/* a header-and-question response with rcode (and ede) */
	GATE_ANSWER,		/* the daemon's to answer */
};

/* What the query's COOKIE option says of the client (RFC 7873 5.2). */
enum gate_cookie { COOKIE_NONE, COOKIE_CLIENT_ONLY, COOKIE_VALID, COOKIE_INVALID };

/* What a daemon asks of its gate. */
struct gate_policy {
	bool			 chaos;		/* class CH passes (authd's CHAOS answers) */
	bool			 never_drop;	/* answer even what would be dropped (FORMERR) */
	bool			 update;	/* opcode UPDATE passes (its zone section as question) */
	uint16_t		 xfr_rcode;	/* answer to AXFR/IXFR; NOERROR: the daemon's */
	const struct acl	*acl;		/* clients served; NULL: every client */
	struct cookie_ctx	*cookies;	/* server cookies (RFC 7873/9018), NULL: off */
	const struct tsig_keys	*tsig_keys;	/* TSIG keys; NULL: none (signed: BADKEY) */
};

struct gate_result {
	enum gate_verdict	 verdict;
	enum gate_step		 step;		/* where it stopped (GATE_PASSED: nowhere) */
	uint16_t		 rcode;		/* GATE_REPLY: the full RCODE */
	int			 ede;		/* GATE_REPLY: an EDE info-code, -1: none */
	enum gate_cookie	 cookie;
	/*
	 * What the request's TSIG was, for signing every response to it (the daemon signs
	 * after env_finish(): tsig_sign_first()). GATE_TSIG: NOTAUTH with this TSIG error,
	 * or FORMERR (result TSIG_FORMERR, nothing to sign).
	 */
	struct tsig_ctx		 tsig;
};

/*
 * Reads msg (len octets) from client (NULL: unknown, no cookie then) into q and decides.
 * For GATE_REPLY and GATE_ANSWER, q holds what the response needs: id, flags, the
 * question when there is one, EDNS when the OPT was valid, in q->tsig_reserve the room
 * our TSIG RR will take (r->tsig says how it is signed), and in q->cookie the client
 * cookie with a fresh server cookie for client at now (seconds) when cookies are on and
 * the client sent one (cookie_len 0 otherwise), for the envelope to send back.
 */
enum gate_verdict gate_check(const struct gate_policy *p, const uint8_t *msg, size_t len,
    const struct sockaddr *client, uint32_t now, struct dns_query *q, struct gate_result *r);

/* The step's name, for logs and metrics ("header", "opcode", ...). */
const char *gate_step_name(enum gate_step step);

#endif
