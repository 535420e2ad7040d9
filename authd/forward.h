/* forward.h: a worker's connection to dnsr (proto/): queries out, answers back, failures. */
#ifndef STREAMDNS_FORWARD_H
#define STREAMDNS_FORWARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "authd/answer.h"
#include "common/frontend.h"
#include "common/metrics.h"

/* Where an answer goes: the server's delivery callback gets this back. */
struct fwd_client {
	struct fe_peer		 peer;		/* held by the server until released */
	uint16_t		 limit;		/* the largest UDP answer the client takes */
};

struct fwd_callbacks {
	/* Sends resp (a complete DNS message) to the client; called on the worker's thread. */
	void	(*deliver)(void *ctx, const struct fwd_client *to, const uint8_t *resp,
		    size_t len);
	/* The client is answered or given up: the server may drop what it held for it. */
	void	(*release)(void *ctx, const struct fwd_client *to);
	void	*ctx;
};

struct fwd_stats {
	counter_t	forwarded;
	counter_t	answered;
	counter_t	failed;		/* SERVFAIL: dnsr down, timeout, lost connection */
	counter_t	connects;
	struct histogram latency;
};

struct forwarder;

/*
 * One per worker, on its event base: connects to path (reconnecting with backoff from
 * 100 ms to 5 s), speaks proto/PROTOCOL.md, times queries out after timeout_ms.
 */
struct forwarder *forwarder_new(struct event_base *base, const char *path, int timeout_ms,
    const char *identity, const struct answer_opts *opts, const struct fwd_callbacks *cb,
    struct fwd_stats *stats);
void forwarder_free(struct forwarder *f);

/*
 * Sends the client's query to dnsr. With partial != NULL the query is for target (the
 * end of a CNAME chain that left our zones): the answer's records are appended to the
 * partial response (our chain) instead. Always ends in exactly one deliver (the answer,
 * or a SERVFAIL with an EDE) and one release.
 */
void forwarder_query(struct forwarder *f, const uint8_t *query, size_t qlen,
    const struct fwd_client *to, const uint8_t *partial, size_t plen,
    const uint8_t *target);

#endif
