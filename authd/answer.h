/* answer.h: the authoritative answer logic (RFC 1034 4.3.2 and friends) over the store. */
#ifndef STREAMDNS_ANSWER_H
#define STREAMDNS_ANSWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authd/store.h"
#include "common/dname.h"
#include "common/envelope.h"
#include "common/gate.h"

struct cookie_ctx;
struct rrl;
struct sockaddr;

/* [zones] serve: the zones this instance answers for (lower-case wire names). */
struct zone_filter {
	size_t		 n;
	uint8_t		 names[][DNAME_MAXLEN];
};

/* The zone at apex is served (f NULL: every zone is). */
bool zone_filter_has(const struct zone_filter *f, const uint8_t *apex);

struct answer_opts {
	uint16_t		 udp_payload;	/* our EDNS payload size */
	bool			 ready;		/* caught up; else SERVFAIL + EDE 14 */
	struct cookie_ctx	*cookies;	/* DNS cookies (RFC 7873), or NULL: off */
	const struct sockaddr	*client;	/* the client's address (cookies) */
	uint32_t		 now;		/* seconds, for cookie timestamps */
	/* RCU-published allow-list of zones; *serve == NULL: every zone of the topic. */
	struct zone_filter *const *serve;
	const char		*identity;	/* NSID and id.server./hostname.bind. */
	bool			 nsid;		/* answer NSID (RFC 5001) when asked */
	bool			 identity_queries;	/* CH TXT id.server., hostname.bind. */
	const char		*version;	/* CH TXT version.bind./.server., or NULL */
	bool			 recursion;	/* this client may recurse through dnsr */
	/*
	 * Response rate limiting, or NULL: off. The server applies it to UDP responses; the
	 * answer path consults it first when a response would cost a fresh signature (a
	 * denial or wildcard answer for a new name), so a limited client costs none.
	 */
	struct rrl		*rrl;
	const struct tsig_keys	*tsig_keys;	/* [tsig]; NULL: none */
};

/*
 * The outcome of resolving one name of an answer: the query name, then each CNAME or DNAME
 * target after it. These are the states of the answer path (answer.c, resolve()): CNAME
 * and DNAME lead to the next name, every other outcome ends the answer.
 */
enum answer_outcome {
	ANSWER_NONE,		/* not resolved: an error, CHAOS or a dropped query */
	ANSWER_HIT,		/* the name has the type (ANY: some type) */
	ANSWER_WILDCARD,	/* the same, synthesized from a wildcard (RFC 4592) */
	ANSWER_CNAME,		/* the name or its wildcard is a CNAME: its target is next */
	ANSWER_DNAME,		/* a DNAME above the name: a synthesized CNAME, then its target */
	ANSWER_YXDOMAIN,	/* that DNAME substitution would exceed 255 octets */
	ANSWER_NODATA,		/* the name or its wildcard exists, without the type */
	ANSWER_NXDOMAIN,	/* neither the name nor a wildcard for it exists */
	ANSWER_REFERRAL,	/* the name is at or below a zone cut: its NS, AA=0 */
	ANSWER_REFUSED,		/* the query name is in no zone served here */
	ANSWER_FORWARD,		/* the same with RD=1 and recursion allowed: dnsr answers */
	ANSWER_COMPLETE,	/* a chain left our zones with recursion: dnsr completes it */
	ANSWER_OUTSIDE,		/* a chain left our zones without recursion: it ends there */
};

/* What an answer was, for metrics and the query log. */
struct answer_info {
	uint16_t	qtype;
	uint8_t		rcode;		/* full rcode incl. extended bits (BADVERS = 16) */
	bool		truncated;
	bool		dropped;
	enum gate_cookie cookie;	/* what the query's COOKIE option was */
	uint16_t	limit;		/* the largest response this client takes */
	/*
	 * forward: the name is outside every zone, RD=1 and recursion allowed: the query goes
	 * to dnsr as it is (nothing was written). complete: a CNAME chain left our zones for
	 * target; the response written so far holds the chain, to be completed by dnsr.
	 */
	bool		forward;
	bool		complete;
	uint8_t		target[DNAME_MAXLEN];
	enum answer_outcome outcome;	/* what the query name came to (a chain: its first link) */
	bool		rrl_checked;	/* RRL already decided (before signing); do not again */
	bool		xfr;		/* AXFR or IXFR: for xfr_answer() (nothing written) */
	bool		update;		/* an RFC 2136 UPDATE: for updater_submit() (nothing written) */
	/* The request's TSIG: the server signs the response with it (tsig_sign_first). */
	struct tsig_ctx	tsig;
};

/*
 * A SERVFAIL (RA=1) for the query msg with an Extended DNS Error when the query had EDNS.
 * Returns its length, or 0 when msg is not a query that can be answered.
 */
/* What authd puts in every envelope (payload size, NSID, the CO flag echoed). */
struct env_opts answer_env_opts(const struct answer_opts *o);

size_t answer_servfail(const struct answer_opts *o, const uint8_t *msg, size_t len,
    uint16_t ede, uint8_t *out, size_t outcap);

/*
 * Builds the response to the query msg (len octets) that came over TCP (tcp) or UDP into
 * out (outcap octets, at least 65535 for TCP). Returns the response length, or 0 when the
 * message must not be answered (shorter than a header, or a response). Must be called
 * by an RCU-registered thread; takes the read lock itself.
 */
size_t answer_message(const struct store *s, const struct answer_opts *o,
    const uint8_t *msg, size_t len, bool tcp, uint8_t *out, size_t outcap,
    struct answer_info *info);

#endif
