/*
 * xfr.h: zone transfers out, AXFR (RFC 5936) and IXFR (RFC 1995) over TCP, from one
 * committed version of the store, streamed message by message as the client reads.
 */
#ifndef STREAMDNS_XFR_H
#define STREAMDNS_XFR_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/acl.h"
#include "common/dname.h"

struct answer_opts;
struct fe_request;
struct store;
struct tsig_ctx;

#define XFR_ACL_MAX	64

/*
 * [xfr] allow-transfer: items "CIDR", "key:NAME" or "CIDR key:NAME" (both required then).
 * Empty: nobody.
 */
struct xfr_acl_item {
	bool		any_addr;
	struct acl	net;		/* one network, unless any_addr */
	bool		has_key;
	uint8_t		key[DNAME_MAXLEN];	/* lower case */
};

struct xfr_acl {
	size_t			n;
	struct xfr_acl_item	item[XFR_ACL_MAX];
};

int xfr_acl_parse(const char *list, struct xfr_acl *a, char *err, size_t errlen);
/* conf_check_fn for the config table. */
int xfr_acl_check(const char *value, char *err, size_t errlen);
/* The client, with the TSIG key that signed its request (NULL: unsigned), may transfer. */
bool xfr_acl_allows(const struct xfr_acl *a, const struct sockaddr *client,
    const uint8_t *key);

/* What a transfer request came to, for the tallies by zone and client. */
enum xfr_kind {
	XFR_KIND_AXFR,		/* an AXFR stream */
	XFR_KIND_IXFR,		/* an IXFR stream of the journal's steps */
	XFR_KIND_IXFR_AXFR,	/* an IXFR answered AXFR-style (RFC 1995 4) */
	XFR_KIND_IXFR_SOA,	/* an IXFR answered with the SOA only: up to date, or UDP */
	XFR_KIND_REFUSED,	/* not allowed (ACL, online-signed zone, AXFR over UDP) */
	XFR_KINDS
};

/*
 * Requests by (zone, client, kind): the zones a fleet transfers out and its secondaries
 * are few, but anyone may ask, so the table stops at XFR_TALLY_MAX pairs and the rest is
 * counted as zone and client "other" (a metric label per stranger would be a memory leak).
 */
#define XFR_TALLY_MAX	256

struct xfr_tally {
	char		zone[DNAME_STRLEN];
	char		client[INET6_ADDRSTRLEN];
	uint64_t	count[XFR_KINDS];
};

/* Counters: written by workers, read by the admin thread. */
struct xfr_stats {
	atomic_ullong	axfr;		/* transfers served as AXFR */
	atomic_ullong	ixfr;		/* IXFR requests answered (SOA only, steps, AXFR-style) */
	atomic_ullong	incremental;	/* IXFR answered with the journal's steps */
	atomic_ullong	refused;	/* not allowed */
	atomic_ullong	messages;
	atomic_ullong	rrs;
	pthread_mutex_t	tally_mtx;
	size_t		ntally;
	struct xfr_tally *tally;	/* XFR_TALLY_MAX, allocated by xfr_stats_init() */
	uint64_t	other[XFR_KINDS];
};

void xfr_stats_init(struct xfr_stats *st);
void xfr_stats_free(struct xfr_stats *st);
/* Calls fn for each (zone, client) with its counts, "other" last; under the table's lock. */
void xfr_stats_each(struct xfr_stats *st, void (*fn)(void *arg, const char *zone,
    const char *client, const uint64_t count[XFR_KINDS]), void *arg);
/* The label value of a kind ("axfr", "ixfr", ...). */
const char *xfr_kind_name(enum xfr_kind k);

struct xfr_conf {
	struct store		*store;
	const struct xfr_acl	*acl;
	struct xfr_stats	*stats;
};

/*
 * Answers the AXFR or IXFR query req (the gate passed it; tsig is what its TSIG came to):
 * returns the length of a response written into out (the caller signs it), or 0 when a
 * stream of messages was started on req's TCP connection, each message signed here.
 * rcode is set to what the response (or the stream's first message) says.
 */
size_t xfr_answer(const struct xfr_conf *xc, const struct answer_opts *o,
    const struct fe_request *req, const struct tsig_ctx *tsig, uint8_t *out, size_t cap,
    uint8_t *rcode);

#endif
