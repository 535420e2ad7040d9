/* reply.h: what a client gets: the answer from the cache or from a resolution, on the wire. */
#ifndef STREAMDNS_REPLY_H
#define STREAMDNS_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dnsr/cache.h"
#include "common/wire.h"

#define RESULT_MAX_AN	160	/* CNAME/DNAME links (2 entries each) plus an ANY answer */


/*
 * An answer as entries: the answer section in order (CNAME/DNAME links, then the data),
 * and for NXDOMAIN/NODATA the negative entry whose SOA goes to the authority section.
 * The result holds a reference on each entry, so TTL-0 data that was never cached and
 * entries evicted meanwhile stay valid until result_clear().
 */
struct result {
	uint16_t		 rcode;
	int			 ede;		/* Extended DNS Error code (RFC 8914), -1: none */
	const char		*ede_text;	/* static text, or NULL */
	size_t			 nan;
	struct cache_entry	*an[RESULT_MAX_AN];
	struct cache_entry	*neg;
	uint8_t			 sec;		/* the validator's verdict; UNCHECKED: the entries' */
};

void result_init(struct result *r);
/* Drops the references; r is then as after result_init(). */
void result_clear(struct result *r);
/* Appends e (a new reference is taken); -1 when the answer section is full. */
int result_add(struct result *r, struct cache_entry *e);
/* Sets the negative entry (a new reference is taken; NULL for an uncached negative). */
void result_set_neg(struct result *r, struct cache_entry *e, uint16_t rcode);
/*
 * The security of the whole answer (enum sec): the validator's verdict when it gave one,
 * else the weakest of the entries' (bogus first); *bogus the entry that made it bogus.
 */
uint8_t result_security(const struct result *r, const struct cache_entry **bogus);

enum reply_lookup {
	LOOKUP_DONE,		/* r is a complete answer */
	LOOKUP_MISS,		/* the cache cannot go on at next: resolve that */
	LOOKUP_CHAIN_LIMIT,	/* more than max_chain CNAME/DNAME links */
};

/*
 * Answers (name, qtype) from the cache, following cached CNAMEs (and the DNAMEs behind
 * synthesized ones) and appending each link to r; *links counts the links followed so
 * far (in and out). Only data of rank CACHE_RANK_ANSWER is used, and when validating
 * (any_sec false) only data the validator has judged. next receives the name
 * where the cache ran out (name itself when nothing was cached). ANY is never answered
 * from the cache. name must be lower case.
 */
enum reply_lookup reply_lookup(struct cache *c, const uint8_t *name, uint16_t qtype,
    uint32_t now, struct result *r, uint8_t *next, int *links, int max_chain, bool any_sec);

/*
 * Writes the response to q from r into out (outcap octets): id and question as the client
 * sent them, RA=1, AA=0, RD and CD copied, TTLs counting down (as of now), our OPT when
 * the query had one; DNSSEC as RFC 4035 3.2 and RFC 6840 5.7-5.8 say: bogus data is
 * SERVFAIL with its EDE unless CD=1, AD=1 on secure data for a query with AD or DO, and
 * RRSIGs, NSEC and NSEC3 only for DO=1; also
 * the query had one (with the EDE of a failure, and q->cookie as a COOKIE option when it
 * is 24 octets: the caller puts the client cookie and our server cookie there, or sets
 * cookie_len to 0), TC=1 with an empty answer over UDP when it does not fit in max(512,
 * min(client's payload, udp_payload)). Returns the length.
 */
size_t reply_write(uint8_t *out, size_t outcap, const struct dns_query *q,
    const struct result *r, bool tcp, uint16_t udp_payload, uint32_t now);

/* A response with only the header and question: errors, refusals. */
size_t reply_error(uint8_t *out, size_t outcap, const struct dns_query *q, uint16_t rcode,
    int ede, const char *ede_text, bool tcp, uint16_t udp_payload);

#endif
