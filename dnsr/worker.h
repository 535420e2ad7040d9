/* worker.h: dnsr's workers, connections, clients; private to dnsr/server.c, pending.c, sock.c. */
#ifndef STREAMDNS_DNSR_WORKER_H
#define STREAMDNS_DNSR_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "dnsr/iterate.h"
#include "dnsr/reply.h"
#include "dnsr/server.h"
#include "common/cookie.h"
#include "common/frontend.h"
#include "common/log.h"
#include "common/net.h"
#include "common/wire.h"
#include "proto/proto.h"

#define PENDING_BUCKETS	4096		/* a power of two */

struct conn;
struct pending;
struct waiter;

enum client_kind { CLIENT_UDP, CLIENT_TCP, CLIENT_SOCK };

/* Where a query came from and how to answer it. */
struct client {
	enum client_kind	 kind;
	bool			 tcp;		/* answered as over TCP (no UDP size limit) */
	struct sockaddr_storage	 from;		/* the client (socket: as authd names it) */
	socklen_t		 fromlen;
	const struct fe_request	*req;		/* UDP, TCP: while the query is handled */
	struct fe_peer		 peer;		/* UDP, TCP: held while it waits */
	struct conn		*conn;		/* socket; NULL once the connection is gone */
	uint32_t		 id;		/* socket: the QUERY's id */
	uint16_t		 limit;		/* socket: the largest answer (512 at least) */
};

/* authd's connection over the Unix socket. */
struct conn {
	struct worker		*wk;
	struct conn		*prev, *next;	/* the worker's connections */
	struct bufferevent	*bev;
	struct waiter		*waiters;
	/* The socket's protocol state (proto/PROTOCOL.md). */
	bool			 hello;		/* HELLO received */
	bool			 closing;	/* ERROR sent: close once it is out */
	bool			 paused;	/* answers pile up: no more queries read */
	bool			 in_read;	/* in sock_read(), which closes it when... */
	bool			 dead;		/* ...this is set */
	char			 peer[64];	/* "pid P uid U gid G", for logs */
	char			 name[260];	/* ' "HELLO's name"', printable */
};

struct worker_stats {
	counter_t	answers[DNSR_TRANSPORTS][DNS_RCODE_MASK + 1];	/* by transport and RCODE */
	struct histogram resolve_latency;
	atomic_ulong	queries;
	atomic_ulong	cache_answers;
	atomic_ulong	refused;
	atomic_ulong	loops;		/* our own forwarded queries that came back */
	atomic_ulong	sock_conns;
	atomic_ulong	sock_queries;
	atomic_ulong	sock_malformed;
	atomic_ulong	sock_slow;
};

struct worker {
	struct dnsr_server	*srv;
	struct fe_worker	*fe;		/* its thread, UDP and TCP (common/frontend.c) */
	struct event_base	*base;		/* the front end's */
	struct iter_env		 env;
	struct event		*unix_ev;	/* authd's socket, watched by every worker */
	atomic_int		 sock_clients;	/* authd connections served here */
	struct log_rl		 accept_rl;
	struct conn		*conns;
	size_t			 npending;
	struct pending		*pending[PENDING_BUCKETS];
	struct worker_stats	 stats;
	uint8_t			 one[DNS_MAX_MSG];	/* late answers */
	uint8_t			 frame[PROTO_HDR + 4 + DNS_MAX_MSG];	/* socket answers */
};

struct dnsr_server {
	const struct dnsr_conf	*conf;
	struct fe_conf		 fe;		/* every worker's front end */
	struct fe_group		 group;
	struct cache		*cache;
	struct cache		*keys;		/* the validator's key cache (vjob.c) */
	struct infra		*infra;
	const struct hints	*start;
	size_t			 nworkers;
	struct worker		*workers[FE_WORKERS_MAX];
	struct cookie_ctx	 cookies;	/* our server cookies (conf->cookies) */
	int			 unix_fd;	/* authd's socket, -1 when none */
	bool			 unix_bound;	/* the file is ours (unix_dev, unix_ino)... */
	dev_t			 unix_dev;	/* ...to remove at exit */
	ino_t			 unix_ino;
};

/*
 * Called by sock.c for authd's queries (and by the UDP and TCP readers): answers what can
 * be answered at once (errors, refusals, cache hits) into out and returns its length;
 * returns 0 when the query is dropped or waits for a resolution (pending.c).
 */
size_t server_handle_query(struct worker *wk, const uint8_t *msg, size_t len,
    const struct client *cl, uint8_t *out, size_t outcap);
/* Called by sock.c before it sends an answer: counts it by transport and RCODE (/metrics). */
void server_count_answer(struct worker *wk, enum client_kind kind, const uint8_t *msg);
/*
 * Called by pending.c when a resolution is over: sends its late answer to the client cl
 * that asked q, over cl's transport; nothing when cl's connection has gone.
 */
void server_answer_late(struct worker *wk, const struct client *cl, const struct dns_query *q,
    const struct result *res);
/* Called by sock.c on accept: adds c to wk's connections (server_conn_close() unlinks it). */
void server_conn_link(struct worker *wk, struct conn *c);
/*
 * Called by sock.c to close authd's connection now: its waiters are dropped (their
 * resolutions go on), its bufferevent and c are freed.
 */
void server_conn_close(struct conn *c);

#endif
