/*
 * envelope.h: the envelope of every response both daemons send: header flags, the size
 * limit and TC, and our OPT (COOKIE, NSID, EDE). The sections in between are the daemon's.
 */
#ifndef STREAMDNS_ENVELOPE_H
#define STREAMDNS_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cookie.h"
#include "common/wire.h"

#define ENV_NSID_MAX		64	/* octets of NSID we send */
#define ENV_EDE_TEXT_MAX	64	/* octets of EXTRA-TEXT in an EDE */
/* Our options at their largest: COOKIE (client + RFC 9018 server cookie), NSID, EDE. */
#define ENV_OPTIONS_MAX	(4 + COOKIE_CLIENT_LEN + COOKIE_SERVER_LEN + 4 + ENV_NSID_MAX + \
			    6 + ENV_EDE_TEXT_MAX)
#define ENV_OPT_RESERVE	(11 + ENV_OPTIONS_MAX)	/* octets held back for our OPT RR */

/* What a daemon puts in every envelope. */
struct env_opts {
	uint16_t	 udp_payload;	/* our EDNS payload size (RFC 6891 6.2.5) */
	const char	*nsid;		/* NSID (RFC 5001) for who asks, or NULL: none */
	uint16_t	 echo;		/* EDNS flags echoed besides DO (authd: CO, RFC 9824) */
};

/* The largest response to q over tcp or UDP (RFC 6891 6.2.5, RFC 1035 4.2.1), <= outcap. */
size_t env_limit(const struct dns_query *q, bool tcp, uint16_t udp_payload, size_t outcap);

/*
 * The flags every response to q starts with: QR, the opcode and RD as received (RFC 1035
 * 4.1.1), and for QUERY only, CD (RFC 4035 3.1.6: a DNSSEC query bit). A reply to another
 * opcode does not echo CD: it answered no query. (Knot DNS does the same.)
 */
uint16_t env_flags(const struct dns_query *q);

/*
 * Starts a response to q in out, of at most lim octets: the header (flags set at the end)
 * and the question when q has one. Room for our OPT is held back while the daemon writes
 * its sections, so an answer that fits leaves room for the OPT; room for the TSIG RR
 * (q->tsig_reserve) is held back until the end: env_finish() leaves it for the signer.
 */
void env_begin(struct wire_writer *w, uint8_t *out, size_t lim, const struct dns_query *q);

/* Drops every section written since env_begin (header and question stay): for TC=1. */
void env_restart(struct wire_writer *w, const struct dns_query *q);

/*
 * Ends the response: flags (env_flags(q) | extra) with rcode's low bits, and when q had
 * EDNS our OPT with its high bits, DO (and o->echo) as received, q's cookie when the gate left a fresh
 * one (COOKIE_CLIENT_LEN + COOKIE_SERVER_LEN octets), NSID when asked and configured, and
 * the EDE info-code ede (>= 0; -1: none) with text (or NULL). Returns the length.
 */
size_t env_finish(struct wire_writer *w, const struct dns_query *q, const struct env_opts *o,
    uint16_t rcode, uint16_t extra, int ede, const char *text);

/* A response of only header and question: env_begin and env_finish in one. */
size_t env_error(uint8_t *out, size_t lim, const struct dns_query *q,
    const struct env_opts *o, uint16_t rcode, uint16_t extra, int ede, const char *text);

#endif
