/* upstream.h: queries to upstream servers, sent by c-ares inside one libevent loop. */
#ifndef STREAMDNS_UPSTREAM_H
#define STREAMDNS_UPSTREAM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "dnsr/infra.h"

#define UPSTREAM_EDNS_PAYLOAD	1232	/* what our queries advertise (and c-ares expects) */
#define UPSTREAM_QUERY_MAX	512	/* the longest query upstream_send() takes */

/* upstream_send()'s flags. */
#define UPSTREAM_0X20	0x1	/* randomise the qname's case; the answer must keep it */
#define UPSTREAM_COOKIE	0x2	/* send our client cookie (and the server's, once known) */
#define UPSTREAM_LOOP_MARK 0x4	/* carry this process's loop mark (forwarders: RD=1) */

/*
 * The loop mark: an EDNS option of the local/experimental range (RFC 6891 9) holding
 * octets random per process, sent to the servers we forward to. A query that reaches
 * us carrying it is one of our own that came back (dnsr -> authd -> dnsr, or through any
 * chain of forwarders): docs/ARCHITECTURE.md, "Per-zone forwarding and stubs".
 */
#define EDNS_OPT_LOOP_MARK	65001
#define UPSTREAM_MARK_LEN	8

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
 * Answers dropped as not ours (spoofed, or from a broken server). Written by the loop's
 * thread, read by any: upstream_drops().
 */
struct upstream_drops {
	atomic_ulong	mismatched;	/* id or question not those of the query */
	atomic_ulong	cookie;		/* a COOKIE option whose client cookie is not ours */
	atomic_ulong	case_0x20;	/* only the question's case differs: asked again on TCP */
};

/* How an answer compares with the query it claims to answer (upstream_match()). */
enum upstream_match {
	UPSTREAM_MATCH,		/* same id and question (octet for octet if exact), our cookie */
	UPSTREAM_MISMATCH_CASE,	/* exact, and only the case of the name differs */
	UPSTREAM_MISMATCH,	/* another id or question, or too short to tell */
	UPSTREAM_MISMATCH_COOKIE, /* its COOKIE option carries a client cookie not ours */
};

/*
 * The c-ares channels of one event loop (channels are not thread-safe). Each channel
 * carries one query to one server at a time: c-ares cannot re-target a channel that has
 * queries pending, so idle channels are kept in a pool and pointed at the next server only
 * when idle. timeout_ms is the wait for one answer (one try: retrying elsewhere is the
 * resolver's choice); at most max_channels queries are in flight.
 */
struct upstream *upstream_new(struct event_base *base, int timeout_ms, size_t max_channels,
    struct infra *infra);
/* Drops every query in flight without calling back, and frees the channels. */
void upstream_free(struct upstream *u);

/*
 * Sends the query q (qlen octets, at most UPSTREAM_QUERY_MAX - 56, built by the caller: id,
 * flags, question and an OPT RR with no options at the very end) to sa. With UPSTREAM_0X20
 * the name goes out in random case (draft-vixie-dnsext-dns0x20) and a UDP answer must
 * repeat it octet for octet: one that differs only in case is dropped and the query asked
 * again over TCP (a server that does not keep the case, or a spoofer who guessed the id
 * and port but not the case). With UPSTREAM_COOKIE the OPT carries our client cookie for
 * sa, and the server cookie sa gave last (RFC 7873 5.1); a server cookie in the answer is
 * remembered in infra. Whatever the flags, answers with another id or question, or with a
 * client cookie not ours, are dropped (and counted) and the wait goes on.
 *
 * Returns a handle valid until cb has been called or upstream_cancel(), or NULL when no
 * channel is free (max_channels in flight), on OOM or when q is too long; cb is then not
 * called. c-ares's EDNS fallback (FORMERR without an OPT) strips the last 11 octets: a
 * query with a cookie is then malformed, and the server counts as failing.
 */
struct upstream_query *upstream_send(struct upstream *u, const struct sockaddr *sa,
    const uint8_t *q, size_t qlen, unsigned flags, upstream_cb cb, void *arg);

/* True when msg (a client's query) carries this process's loop mark. Thread-safe. */
bool upstream_loop_marked(const uint8_t *msg, size_t len);

/* The query's callback will not be called; its channel goes back to the pool. */
void upstream_cancel(struct upstream_query *uq);

void upstream_get_stats(const struct upstream *u, struct upstream_stats *st);
const struct upstream_drops *upstream_drops(const struct upstream *u);

/* 0x20: sets the case of each letter of name (wire format) at random (libsodium). */
void upstream_0x20(uint8_t *name);

/*
 * Does the answer a (alen octets) answer the query q (qlen octets, as sent)? The question
 * is compared octet for octet when exact, else with the name's case ignored; the answer's
 * COOKIE option, if any, must start with the client cookie q carries. Pure.
 */
enum upstream_match upstream_match(const uint8_t *q, size_t qlen, const uint8_t *a,
    size_t alen, bool exact);

#endif
