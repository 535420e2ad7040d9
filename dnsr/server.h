/* server.h: dnsr's workers: libevent loops answering clients over UDP, TCP and authd's socket. */
#ifndef STREAMDNS_DNSR_SERVER_H
#define STREAMDNS_DNSR_SERVER_H

#include "dnsr/cache.h"
#include "dnsr/dnsr.h"
#include "dnsr/hints.h"
#include "dnsr/infra.h"

struct dnsr_server;

/* Totals over the workers, for the log line of SIGUSR1 and of shutdown. */
struct dnsr_stats {
	unsigned long	queries;	/* client queries answered or being answered */
	unsigned long	cache_answers;	/* answered from the cache at once */
	unsigned long	refused;	/* by the ACL */
	unsigned long	resolutions;	/* iterations started for clients */
	unsigned long	upstream;	/* queries sent to servers */
	unsigned long	bad_answers;
	unsigned long	failures;	/* SERVFAIL after a resolution */
	unsigned long	sock_conns;	/* authd connections accepted on the Unix socket */
	unsigned long	sock_queries;	/* QUERY frames received */
	unsigned long	sock_malformed;	/* frames answered with ERROR 1 */
	unsigned long	sock_slow;	/* connections ended for not reading their answers */
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
