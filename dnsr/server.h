/* server.h: dnsr's workers: libevent loops answering clients over UDP, TCP and authd's socket. */
#ifndef STREAMDNS_DNSR_SERVER_H
#define STREAMDNS_DNSR_SERVER_H

#include "dnsr/cache.h"
#include "dnsr/dnsr.h"
#include "dnsr/hints.h"
#include "dnsr/infra.h"
#include "dnsr/validate.h"
#include "common/metrics.h"
#include "common/wire.h"

struct dnsr_server;

/* Transports of client queries (index of dnsr_stats.answers): UDP, TCP, authd's socket. */
#define DNSR_TRANSPORTS	3
extern const char *const dnsr_transport_names[DNSR_TRANSPORTS];

/* Totals over the workers, for the log line of SIGUSR1 and of shutdown. */
struct dnsr_stats {
	unsigned long	queries;	/* client queries answered or being answered */
	unsigned long	cache_answers;	/* answered from the cache at once */
	unsigned long	refused;	/* by the ACL */
	unsigned long	loops;		/* forwarding loops broken (the loop mark) */
	unsigned long	resolutions;	/* iterations started for clients */
	unsigned long	upstream;	/* queries sent to servers */
	unsigned long	bad_answers;
	unsigned long	failures;	/* SERVFAIL after a resolution */
	unsigned long	addrs_skipped;	/* server addresses passed over (special-use, loopback) */
	unsigned long	qmin_queries;	/* minimised queries sent (RFC 9156), within upstream */
	unsigned long	qmin_fallbacks;	/* relaxed QNAME minimisation gave up for a zone */
	unsigned long	sock_conns;	/* authd connections accepted on the Unix socket */
	unsigned long	sock_queries;	/* QUERY frames received */
	unsigned long	sock_malformed;	/* frames answered with ERROR 1 */
	unsigned long	sock_slow;	/* connections ended for not reading their answers */
	/* Upstream answers dropped as not ours (dnsr/upstream.c, struct upstream_drops). */
	unsigned long	drop_mismatched;	/* id or question */
	unsigned long	drop_cookie;		/* client cookie not ours */
	unsigned long	drop_case_0x20;		/* case differs: asked again over TCP */
	/* For /metrics (dnsr/admin.c). */
	unsigned long	answers[DNSR_TRANSPORTS][DNS_RCODE_MASK + 1];	/* by transport and header RCODE */
	unsigned long	upstream_timeouts;
	unsigned long	upstream_errors;
	struct histogram upstream_rtt;		/* answered upstream queries */
	struct histogram resolve_latency;	/* resolution start to its answer */
	unsigned long	validated[SEC_SECURE + 1];	/* results validated, by enum sec */
	struct histogram validation_time;	/* validation start to its verdict */
};

/*
 * Opens conf->listen (UDP and TCP on each address) once per worker, and authd's Unix
 * socket (conf->socket_path, if any: directory made, stale socket replaced, mode and
 * group set) once for all, and starts the workers; cache and infra are shared by them,
 * start is where iteration starts (root hints or forwarders). All must outlive the
 * server. NULL with a log line when a socket cannot be opened.
 */
struct dnsr_server *dnsr_server_start(const struct dnsr_conf *conf, struct cache *cache,
    struct infra *infra, const struct hints *start);
/* Stops the workers, drops the resolutions in flight, removes the Unix socket, frees all. */
void dnsr_server_stop(struct dnsr_server *srv);
void dnsr_server_stats(struct dnsr_server *srv, struct dnsr_stats *st);

#endif
