/* answer.h: the authoritative answer logic (RFC 1034 4.3.2 and friends) over the store. */
#ifndef STREAMDNS_ANSWER_H
#define STREAMDNS_ANSWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authd/store.h"

struct answer_opts {
	uint16_t	udp_payload;	/* our EDNS payload size, [server] udp-payload-size */
	bool		ready;		/* caught up with the topic; else SERVFAIL + EDE 14 */
};

/* What an answer was, for metrics and the query log. */
struct answer_info {
	uint16_t	qtype;
	uint8_t		rcode;		/* full rcode incl. extended bits (BADVERS = 16) */
	bool		truncated;
	bool		dropped;
};

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
