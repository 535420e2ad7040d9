/* upstream.h: queries to upstream servers, sent by c-ares inside one libevent loop. */
#ifndef STREAMDNS_UPSTREAM_H
#define STREAMDNS_UPSTREAM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <event2/event.h>

#define UPSTREAM_EDNS_PAYLOAD	1232	/* what our queries advertise (and c-ares expects) */

enum upstream_status {
	UPSTREAM_OK,		/* an answer (any RCODE: the caller judges it) */
	UPSTREAM_TIMEOUT,	/* no answer in time */
	UPSTREAM_ERROR,		/* connection refused, network error, OOM */
};

/*
 * Called from the event loop (never from inside upstream_send or c-ares) with the answer
 * (msg is only valid during the call) and the time it took.
 */
typedef void (*upstream_cb)(void *arg, enum upstream_status st, const uint8_t *msg,
    size_t len, uint64_t rtt_us);

struct upstream;
struct upstream_query;

struct upstream_stats {
	unsigned long	sent;
	unsigned long	answers;
	unsigned long	timeouts;
	unsigned long	errors;
	size_t		channels;	/* alive, busy or idle */
};

/*
 * The c-ares channels of one event loop (channels are not thread-safe). Each channel
 * carries one query to one server at a time: c-ares cannot re-target a channel that has
 * queries pending, so idle channels are kept in a pool and pointed at the next server only
 * when idle. timeout_ms is the wait for one answer (one try: retrying elsewhere is the
 * resolver's choice); at most max_channels queries are in flight.
 */
struct upstream *upstream_new(struct event_base *base, int timeout_ms, size_t max_channels);
/* Drops every query in flight without calling back, and frees the channels. */
void upstream_free(struct upstream *u);

/*
 * Sends the query q (qlen octets, built by the caller: id, flags, question and an 11-octet
 * OPT RR at the very end, as c-ares's EDNS fallback strips exactly that) to sa. Returns a
 * handle valid until cb has been called or upstream_cancel(), or NULL when no channel is
 * free (max_channels in flight) or on OOM; cb is then not called.
 */
struct upstream_query *upstream_send(struct upstream *u, const struct sockaddr *sa,
    const uint8_t *q, size_t qlen, upstream_cb cb, void *arg);

/* The query's callback will not be called; its channel goes back to the pool. */
void upstream_cancel(struct upstream_query *uq);

void upstream_get_stats(const struct upstream *u, struct upstream_stats *st);

#endif
