/*
 * frontend.h: the DNS front end both daemons answer from. A worker is one thread with
 * one event base and its own sockets: UDP read and answered in batches (recvmmsg and
 * sendmmsg), TCP with pipelining, an idle timeout and a client limit. Every query goes to
 * the daemon's query function; a query it cannot answer at once keeps its client as a
 * peer and is answered later through it.
 */
#ifndef STREAMDNS_FRONTEND_H
#define STREAMDNS_FRONTEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <event2/event.h>

struct cookie_ctx;
struct fe_conn;
struct fe_worker;

/* A query as it arrived. */
struct fe_request {
	const uint8_t		*msg;
	size_t			 len;
	bool			 tcp;
	const struct sockaddr	*client;
	socklen_t		 clientlen;
	int			 udp_fd;	/* UDP: the socket it came in on */
	struct fe_conn		*conn;		/* TCP: its connection */
};

/* A client kept for a later answer: fe_peer_hold(), fe_peer_send(), fe_peer_release(). */
struct fe_peer {
	bool			 tcp;
	int			 udp_fd;
	struct sockaddr_storage	 addr;
	socklen_t		 addrlen;
	struct fe_conn		*conn;		/* TCP: a reference on it */
};

/*
 * The daemon's answer to req, written into out (cap octets, 65535 at least): returns its
 * length, or 0 for no response now (dropped, or held for later with fe_peer_hold()).
 * Called on the worker's thread. A message that is not a query (shorter than a header,
 * QR=1) never reaches it over TCP: the front end closes that connection.
 */
typedef size_t fe_query_fn(void *arg, const struct fe_request *req, uint8_t *out,
    size_t cap);

struct fe_conf {
	const char	*listen;		/* "addr[:port], ..." (port 53 by default) */
	int		 tcp_max_clients;	/* per worker; more are closed at accept */
	int		 tcp_idle_ms;		/* each way */
};

/*
 * A worker: its event base and sockets on every address of conf->listen (SO_REUSEPORT:
 * every worker opens its own). query(arg, ...) answers. Returns NULL, with the reason
 * logged and nothing left open, when it cannot listen.
 */
struct fe_worker *fe_worker_new(const struct fe_conf *conf, fe_query_fn *query, void *arg);
/* The worker's event base, for the daemon's own events (timers, upstream sockets). */
struct event_base *fe_worker_base(const struct fe_worker *fw);
/* Starts the thread: enter() (may be NULL) first, the event loop, leave() at its end. */
void fe_worker_start(struct fe_worker *fw, void (*enter)(void), void (*leave)(void));
/* Ends the event loop and joins the thread (nothing when never started). */
void fe_worker_stop(struct fe_worker *fw);
/* Closes every socket and connection, then frees fw (held peers stay valid). NULL is fine. */
void fe_worker_free(struct fe_worker *fw);

/* Keeps req's client in p for a later answer (a TCP connection is referenced). */
void fe_peer_hold(struct fe_peer *p, const struct fe_request *req);
/*
 * Sends msg to p's client: a datagram (a full socket buffer drops it, as UDP may), or a
 * length-prefixed message on its TCP connection unless the client has gone.
 */
void fe_peer_send(const struct fe_peer *p, const uint8_t *msg, size_t len);
/* The answer is sent or given up: drops the reference fe_peer_hold() took. */
void fe_peer_release(struct fe_peer *p);

/*
 * Answers req (TCP only) with a stream of messages, a zone transfer: fill(arg, out, cap)
 * writes the next message into out and returns its length, or 0 when there is no more;
 * done(arg) follows the last, or comes when the client has gone. Both run on the worker's
 * thread, fill whenever less than a few hundred KiB wait to be sent, so a transfer is
 * never built whole and a slow client slows only itself. Queries on the same connection
 * are answered meanwhile; streams asked for on one connection are sent one after another.
 */
typedef size_t fe_fill_fn(void *arg, uint8_t *out, size_t cap);
void fe_stream(const struct fe_request *req, fe_fill_fn *fill, void (*done)(void *),
    void *arg);

#define FE_WORKERS_MAX	64

/*
 * A daemon's workers, started and stopped as one: the daemon's own state of each worker
 * (arg) is handed back to release(arg) once every thread has stopped, before the worker's
 * sockets close, so held peers can still be released.
 */
struct fe_group {
	size_t			 n;
	struct fe_worker	*fw[FE_WORKERS_MAX];
	void			*arg[FE_WORKERS_MAX];
	void			(*release)(void *);
	struct event		*rotate_ev;	/* cookie secret rotation, on worker 0 */
};

/*
 * Adds a worker answering with query(arg, ...) (fe_worker_new()); release(arg) is called
 * by fe_group_stop(). NULL, and nothing added, when it cannot listen or the group is full.
 */
struct fe_worker *fe_group_add(struct fe_group *g, const struct fe_conf *conf,
    fe_query_fn *query, void (*release)(void *), void *arg);
/*
 * Starts every worker's thread (enter and leave as fe_worker_start()). A non-NULL cookies
 * has its secret replaced daily; cookies made with the old one still validate for a day.
 */
void fe_group_start(struct fe_group *g, void (*enter)(void), void (*leave)(void),
    struct cookie_ctx *cookies);
/* Stops every thread, then releases and frees each worker. The group is empty after. */
void fe_group_stop(struct fe_group *g);

#endif
