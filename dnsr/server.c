/*
 * server.c: dnsr's listeners and workers: UDP, TCP and authd's Unix socket; ACL, cache
 * answers, resolutions shared by clients.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "dnsr/iterate.h"
#include "dnsr/reply.h"
#include "dnsr/server.h"
#include "common/cookie.h"
#include "common/log.h"
#include "common/net.h"
#include "common/wire.h"
#include "proto/proto.h"

#define WORKERS_MAX	64
#define UDP_BATCH	32
#define UDP_BUFSIZE	4096		/* queries larger than this are not queries we answer */
#define PENDING_BUCKETS	4096		/* a power of two */
#define WAITERS_MAX	4096		/* clients waiting for one resolution */
#define SOCK_FRAME_MAX	(4 + (size_t)PROTO_MAX_FRAME)	/* length field + its maximum */
#define SOCK_OUT_HIGH	(1024 * 1024)	/* answers unread: stop reading queries */
#define SOCK_OUT_MAX	(16 * 1024 * 1024)	/* answers unread: disconnect */
#define SOCK_BACKLOG	64

struct worker;
struct conn;

enum client_kind { CLIENT_UDP, CLIENT_TCP, CLIENT_SOCK };

/* Where a query came from and how to answer it. */
struct client {
	enum client_kind	 kind;
	bool			 tcp;		/* answered as over TCP (no UDP size limit) */
	int			 fd;		/* UDP socket */
	struct sockaddr_storage	 from;		/* socket: the client authd names */
	socklen_t		 fromlen;
	struct conn		*conn;		/* TCP, socket; NULL once the connection is gone */
	uint32_t		 id;		/* socket: the QUERY's id */
	uint16_t		 limit;		/* socket: the largest answer (512 at least) */
};

/* A client waiting for a resolution. */
struct waiter {
	struct waiter		*next;		/* in the pending resolution */
	struct waiter		*cprev, *cnext;	/* in the connection (TCP, socket) */
	struct client		 cl;
	struct dns_query	 q;
};

/* A resolution in flight and the clients waiting for it (same name and type). */
struct pending {
	struct pending	*hnext;
	struct worker	*wk;
	uint64_t	 hash;
	uint8_t		 name[DNAME_MAXLEN];
	uint16_t	 qtype;
	size_t		 nwaiters;
	struct waiter	*waiters;
	struct iter	*it;
	uint64_t	 started_us;	/* infra_now_us() */
};

/* A TCP client's connection, or authd's over the Unix socket (sock). */
struct conn {
	struct worker		*wk;
	struct conn		*prev, *next;	/* the worker's connections */
	struct bufferevent	*bev;
	struct sockaddr_storage	 from;		/* TCP */
	socklen_t		 fromlen;
	struct waiter		*waiters;
	bool			 sock;
	/* The socket's protocol state (proto/PROTOCOL.md). */
	bool			 hello;		/* HELLO received */
	bool			 closing;	/* ERROR sent: close once it is out */
	bool			 paused;	/* answers pile up: no more queries read */
	bool			 in_read;	/* in sock_read(), which closes it when... */
	bool			 dead;		/* ...this is set */
	char			 peer[64];	/* "pid P uid U gid G", for logs */
	char			 name[260];	/* ' "HELLO's name"', printable */
};

/* Indexed by enum client_kind. */
const char *const dnsr_transport_names[DNSR_TRANSPORTS] = { "udp", "tcp", "socket" };

struct worker_stats {
	counter_t	answers[DNSR_TRANSPORTS][16];	/* by transport and RCODE */
	struct histogram resolve_latency;
	atomic_ulong	queries;
	atomic_ulong	cache_answers;
	atomic_ulong	refused;
	atomic_ulong	sock_conns;
	atomic_ulong	sock_queries;
	atomic_ulong	sock_malformed;
	atomic_ulong	sock_slow;
};

struct worker {
	struct dnsr_server	*srv;
	pthread_t		 thread;
	bool			 running;
	struct event_base	*base;
	struct iter_env		 env;
	struct net_listeners	 listen;
	struct event		*unix_ev;	/* authd's socket, watched by every worker */
	atomic_int		 sock_clients;	/* authd connections served here */
	struct log_rl		 accept_rl;
	int			 tcp_clients;
	struct conn		*conns;
	size_t			 npending;
	struct pending		*pending[PENDING_BUCKETS];
	struct worker_stats	 stats;
	uint8_t			 in[UDP_BATCH][UDP_BUFSIZE];
	uint8_t			 out[UDP_BATCH][DNS_MAX_MSG];
	uint8_t			 one[DNS_MAX_MSG + 2];	/* TCP answers, late UDP answers */
	uint8_t			 frame[PROTO_HDR + 4 + DNS_MAX_MSG];	/* socket answers */
};

struct dnsr_server {
	const struct dnsr_conf	*conf;
	struct cache		*cache;
	struct infra		*infra;
	const struct hints	*start;
	size_t			 nworkers;
	struct worker		*workers[WORKERS_MAX];
	struct cookie_ctx	 cookies;	/* our server cookies (conf->cookies) */
	struct event		*rotate_ev;	/* their secret's rotation, on worker 0 */
	int			 unix_fd;	/* authd's socket, -1 when none */
	bool			 unix_bound;	/* the file is ours (unix_dev, unix_ino)... */
	dev_t			 unix_dev;	/* ...to remove at exit */
	ino_t			 unix_ino;
};

/* ---- answering ---- */

/* The query is well formed: may it be answered, and how? (mirrors authd's checks) */
static uint16_t
precheck(const struct dns_query *q)
{
	if (q->edns && q->edns_version > 0)
		return DNS_RCODE_BADVERS;
	if (q->opcode != DNS_OPCODE_QUERY)
		return DNS_RCODE_NOTIMP;
	switch (q->qtype) {
	case DNS_TYPE_OPT: case DNS_TYPE_TSIG: case DNS_TYPE_TKEY:
		return DNS_RCODE_FORMERR;
	case DNS_TYPE_AXFR: case DNS_TYPE_IXFR:
		return DNS_RCODE_REFUSED;	/* a resolver transfers no zones */
	case DNS_TYPE_MAILA: case DNS_TYPE_MAILB:
		return DNS_RCODE_NOTIMP;
	}
	if (q->qclass != DNS_CLASS_IN)
		return DNS_RCODE_REFUSED;
	return DNS_RCODE_NOERROR;
}

static uint16_t
udp_payload(const struct worker *wk)
{
	return (uint16_t)wk->srv->conf->udp_payload_size;
}

static void
tcp_send(struct conn *c, uint8_t *buf, size_t len)
{
	wire_write16(buf, (uint16_t)len);
	bufferevent_write(c->bev, buf, len + 2);
}

static void sock_answer(struct conn *c, uint32_t id, const uint8_t *dns, size_t len);

/* Counts an answer about to be sent, by transport and RCODE, for /metrics. */
static void
count_answer(struct worker *wk, enum client_kind kind, const uint8_t *msg)
{
	counter_add(&wk->stats.answers[kind][msg[3] & 0x0f], 1);
}

/* Sends a late answer (after a resolution) to one client. */
static void
answer_waiter(struct worker *wk, struct waiter *w, const struct result *res)
{
	uint32_t now = cache_clock();
	size_t len;

	switch (w->cl.kind) {
	case CLIENT_TCP:
		if (w->cl.conn == NULL)
			return;		/* the client has gone */
		len = reply_write(wk->one + 2, DNS_MAX_MSG, &w->q, res, true, udp_payload(wk),
		    now);
		count_answer(wk, CLIENT_TCP, wk->one + 2);
		tcp_send(w->cl.conn, wk->one, len);
		return;
	case CLIENT_SOCK:
		if (w->cl.conn == NULL)
			return;		/* authd's connection has gone */
		len = reply_write(wk->one, w->cl.limit, &w->q, res, w->cl.tcp, udp_payload(wk),
		    now);
		count_answer(wk, CLIENT_SOCK, wk->one);
		sock_answer(w->cl.conn, w->cl.id, wk->one, len);
		return;
	case CLIENT_UDP:
		break;
	}
	len = reply_write(wk->one, DNS_MAX_MSG, &w->q, res, false, udp_payload(wk), now);
	count_answer(wk, CLIENT_UDP, wk->one);
	/* A full socket buffer drops the answer, as UDP may; the client will ask again. */
	(void)sendto(w->cl.fd, wk->one, len, MSG_DONTWAIT, (struct sockaddr *)&w->cl.from,
	    w->cl.fromlen);
}

static void
waiter_unlink_conn(struct waiter *w)
{
	struct conn *c = w->cl.conn;

	if (c == NULL)
		return;
	if (w->cprev != NULL)
		w->cprev->cnext = w->cnext;
	else
		c->waiters = w->cnext;
	if (w->cnext != NULL)
		w->cnext->cprev = w->cprev;
	w->cprev = w->cnext = NULL;
	w->cl.conn = NULL;
}

static uint64_t
pending_hash(const uint8_t *name, uint16_t qtype)
{
	return dname_hash(name, dname_len(name)) ^ ((uint64_t)qtype * 0x9e3779b97f4a7c15ULL);
}

static struct pending **
pending_slot(struct worker *wk, uint64_t hash, const uint8_t *name, uint16_t qtype)
{
	struct pending **pp = &wk->pending[hash & (PENDING_BUCKETS - 1)];

	for (; *pp != NULL; pp = &(*pp)->hnext)
		if ((*pp)->hash == hash && (*pp)->qtype == qtype &&
		    dname_equal((*pp)->name, name))
			break;
	return pp;
}

/* The resolution is over: every waiting client gets the answer. */
static void
on_resolved(void *arg, const struct result *res)
{
	struct pending *p = arg, **pp;
	struct worker *wk = p->wk;

	pp = pending_slot(wk, p->hash, p->name, p->qtype);
	if (*pp == p)
		*pp = p->hnext;
	wk->npending--;
	histogram_observe(&wk->stats.resolve_latency, infra_now_us() - p->started_us);
	while (p->waiters != NULL) {
		struct waiter *w = p->waiters;

		p->waiters = w->next;
		answer_waiter(wk, w, res);
		waiter_unlink_conn(w);
		free(w);
	}
	free(p);
}

/* Joins the resolution of (name, qtype), or starts one; 0, or an RCODE to answer now. */
static uint16_t
wait_for(struct worker *wk, const uint8_t *name, const struct dns_query *q,
    const struct client *cl)
{
	uint64_t hash = pending_hash(name, q->qtype);
	struct pending **pp = pending_slot(wk, hash, name, q->qtype), *p = *pp;
	struct waiter *w;

	if (p == NULL) {
		if (wk->npending >= (size_t)wk->srv->conf->max_resolutions)
			return DNS_RCODE_SERVFAIL;
		p = xcalloc(1, sizeof(*p));
		p->wk = wk;
		p->hash = hash;
		memcpy(p->name, name, dname_len(name));
		p->qtype = q->qtype;
		p->started_us = infra_now_us();
		p->it = iter_start(&wk->env, name, q->qtype, on_resolved, p);
		p->hnext = *pp;
		*pp = p;
		wk->npending++;
	} else if (p->nwaiters >= WAITERS_MAX) {
		return DNS_RCODE_SERVFAIL;
	}
	w = xcalloc(1, sizeof(*w));
	w->cl = *cl;
	w->q = *q;
	w->next = p->waiters;
	p->waiters = w;
	p->nwaiters++;
	if (cl->conn != NULL) {
		w->cnext = cl->conn->waiters;
		if (w->cnext != NULL)
			w->cnext->cprev = w;
		cl->conn->waiters = w;
	}
	return 0;
}

/* The cache, else a resolution (RD=1) that answers later: 0 then, else the length. */
static size_t
answer_or_wait(struct worker *wk, const struct dns_query *q, const struct client *cl,
    uint8_t *out, size_t outcap)
{
	uint8_t name[DNAME_MAXLEN], next[DNAME_MAXLEN];
	enum reply_lookup lr;
	struct result r;
	int links = 0;
	size_t n = 0;
	uint16_t rc;

	memcpy(name, q->qname, q->qname_len);
	dname_lower(name);
	result_init(&r);
	lr = reply_lookup(wk->env.cache, name, q->qtype, cache_clock(), &r, next, &links,
	    wk->srv->conf->max_chain);
	if (lr == LOOKUP_DONE) {
		atomic_fetch_add_explicit(&wk->stats.cache_answers, 1, memory_order_relaxed);
		n = reply_write(out, outcap, q, &r, cl->tcp, udp_payload(wk), cache_clock());
	}
	result_clear(&r);
	if (lr == LOOKUP_DONE)
		return n;
	if (lr == LOOKUP_CHAIN_LIMIT)
		return reply_error(out, outcap, q, DNS_RCODE_SERVFAIL, EDE_OTHER,
		    "CNAME chain too long", cl->tcp, udp_payload(wk));
	/* RD=0 asks what we know: the cache only, never a resolution on its behalf. */
	if (!(q->flags & DNS_FLAG_RD))
		return reply_error(out, outcap, q, DNS_RCODE_REFUSED, -1, NULL, cl->tcp,
		    udp_payload(wk));
	if ((rc = wait_for(wk, name, q, cl)) != 0)
		return reply_error(out, outcap, q, rc, EDE_OTHER, "resolver busy", cl->tcp,
		    udp_payload(wk));
	return 0;
}

/*
 * RFC 7873 5.2: a client that sent a cookie gets a fresh server cookie for its address
 * (RFC 9018's, as authd makes them), whatever it sent as one: a resolver has no reason to
 * refuse a client without a valid one. reply.c writes q->cookie back as it is left here.
 */
static void
set_cookie(struct dnsr_server *srv, struct dns_query *q, const struct client *cl)
{
	if (!srv->conf->cookies || q->cookie_len < COOKIE_CLIENT_LEN) {
		q->cookie_len = 0;
		return;
	}
	cookie_make(&srv->cookies, q->cookie, (const struct sockaddr *)&cl->from,
	    (uint32_t)time(NULL), q->cookie + COOKIE_CLIENT_LEN);
	q->cookie_len = COOKIE_CLIENT_LEN + COOKIE_SERVER_LEN;
}

/*
 * Answers what can be answered at once (errors, refusals, cache hits) into out and
 * returns its length; returns 0 when the query is dropped or waits for a resolution.
 */
static size_t
handle_query(struct worker *wk, const uint8_t *msg, size_t len, const struct client *cl,
    uint8_t *out, size_t outcap)
{
	struct dns_query q;
	enum wire_parse_result pr = wire_parse_query(msg, len, &q);
	uint16_t rc;

	if (pr == WIRE_OK)
		set_cookie(wk->srv, &q, cl);
	else
		q.cookie_len = 0;

	/* A socket query is answered exactly once (PROTOCOL.md): even a response, FORMERR. */
	if (pr == WIRE_DROP && cl->kind != CLIENT_SOCK)
		return 0;
	atomic_fetch_add_explicit(&wk->stats.queries, 1, memory_order_relaxed);
	/* authd's queries are not ours to refuse: the socket's file mode is their ACL. */
	if (cl->kind != CLIENT_SOCK &&
	    !acl_match(&wk->srv->conf->acl, (const struct sockaddr *)&cl->from)) {
		atomic_fetch_add_explicit(&wk->stats.refused, 1, memory_order_relaxed);
		q.edns = q.edns && pr == WIRE_OK;
		return reply_error(out, outcap, &q, DNS_RCODE_REFUSED, EDE_PROHIBITED, NULL,
		    cl->tcp, udp_payload(wk));
	}
	if (pr != WIRE_OK) {
		q.edns = false;		/* the OPT may be what was wrong */
		return reply_error(out, outcap, &q, DNS_RCODE_FORMERR, -1, NULL, cl->tcp,
		    udp_payload(wk));
	}
	if ((rc = precheck(&q)) != DNS_RCODE_NOERROR)
		return reply_error(out, outcap, &q, rc, -1, NULL, cl->tcp, udp_payload(wk));
	return answer_or_wait(wk, &q, cl, out, outcap);
}

/* ---- UDP ---- */

/* Reads up to UDP_BATCH datagrams; answers what it can at once in one sendmmsg. */
static void
udp_read(evutil_socket_t fd, short what, void *arg)
{
	struct worker *wk = arg;
	struct mmsghdr in[UDP_BATCH], out[UDP_BATCH];
	struct iovec iin[UDP_BATCH], iout[UDP_BATCH];
	struct client cl[UDP_BATCH];
	int n, nout = 0;

	memset(in, 0, sizeof(in));
	for (int i = 0; i < UDP_BATCH; i++) {
		iin[i].iov_base = wk->in[i];
		iin[i].iov_len = UDP_BUFSIZE;
		in[i].msg_hdr.msg_name = &cl[i].from;
		in[i].msg_hdr.msg_namelen = sizeof(cl[i].from);
		in[i].msg_hdr.msg_iov = &iin[i];
		in[i].msg_hdr.msg_iovlen = 1;
	}
	if ((n = recvmmsg(fd, in, UDP_BATCH, MSG_DONTWAIT, NULL)) <= 0)
		return;
	for (int i = 0; i < n; i++) {
		size_t len;

		if (in[i].msg_hdr.msg_flags & MSG_TRUNC)
			continue;
		cl[i].kind = CLIENT_UDP;
		cl[i].tcp = false;
		cl[i].fd = fd;
		cl[i].fromlen = in[i].msg_hdr.msg_namelen;
		cl[i].conn = NULL;
		len = handle_query(wk, wk->in[i], in[i].msg_len, &cl[i], wk->out[nout],
		    DNS_MAX_MSG);
		if (len == 0)
			continue;
		count_answer(wk, CLIENT_UDP, wk->out[nout]);
		iout[nout].iov_base = wk->out[nout];
		iout[nout].iov_len = len;
		memset(&out[nout].msg_hdr, 0, sizeof(out[nout].msg_hdr));
		out[nout].msg_hdr.msg_name = &cl[i].from;
		out[nout].msg_hdr.msg_namelen = cl[i].fromlen;
		out[nout].msg_hdr.msg_iov = &iout[nout];
		out[nout].msg_hdr.msg_iovlen = 1;
		nout++;
	}
	for (int sent = 0; sent < nout; ) {
		int r = sendmmsg(fd, out + sent, (unsigned)(nout - sent), MSG_DONTWAIT);

		if (r <= 0)
			break;
		sent += r;
	}
}

/* ---- TCP ---- */

static void
conn_link(struct worker *wk, struct conn *c)
{
	c->next = wk->conns;
	if (wk->conns != NULL)
		wk->conns->prev = c;
	wk->conns = c;
}

/* Resolutions go on (their answers fill the cache); these clients are just gone. */
static void
conn_drop_waiters(struct conn *c)
{
	while (c->waiters != NULL)
		waiter_unlink_conn(c->waiters);
}

/* Closes a TCP or socket connection now. */
static void
conn_close(struct conn *c)
{
	conn_drop_waiters(c);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		c->wk->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	if (c->sock)
		atomic_fetch_sub_explicit(&c->wk->sock_clients, 1, memory_order_relaxed);
	else
		c->wk->tcp_clients--;
	bufferevent_free(c->bev);
	free(c);
}

/* Every complete length-prefixed query (RFC 7766 pipelining; answers may come in any order). */
static void
tcp_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct worker *wk = c->wk;
	struct evbuffer *inb = bufferevent_get_input(bev);
	struct client cl;
	uint8_t hdr[2];

	memset(&cl, 0, sizeof(cl));
	cl.kind = CLIENT_TCP;
	cl.tcp = true;
	cl.conn = c;
	cl.from = c->from;
	cl.fromlen = c->fromlen;
	while (evbuffer_get_length(inb) >= 2) {
		size_t qlen, len;
		uint8_t *q;

		evbuffer_copyout(inb, hdr, 2);
		qlen = wire_read16(hdr);
		if (evbuffer_get_length(inb) < 2 + qlen)
			return;
		q = evbuffer_pullup(inb, (ssize_t)(2 + qlen));
		if (qlen < DNS_HEADER_LEN || (wire_read16(q + 4) & DNS_FLAG_QR)) {
			conn_close(c);	/* not a query: end the conversation */
			return;
		}
		len = handle_query(wk, q + 2, qlen, &cl, wk->one + 2, DNS_MAX_MSG);
		evbuffer_drain(inb, 2 + qlen);
		if (len > 0) {
			count_answer(wk, CLIENT_TCP, wk->one + 2);
			tcp_send(c, wk->one, len);
		}
	}
}

static void
tcp_event(struct bufferevent *bev, short what, void *arg)
{
	conn_close(arg);	/* EOF, error or idle timeout */
}

static void
tcp_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
    void *arg)
{
	struct worker *wk = arg;
	struct conn *c;

	if (wk->tcp_clients >= wk->srv->conf->tcp_max_clients) {
		close(fd);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->wk = wk;
	memcpy(&c->from, sa, (size_t)salen < sizeof(c->from) ? (size_t)salen : sizeof(c->from));
	c->fromlen = (socklen_t)salen;
	c->bev = net_tcp_client(wk->base, fd, wk->srv->conf->tcp_idle_timeout, tcp_read,
	    tcp_event, c);
	if (c->bev == NULL) {
		free(c);
		return;
	}
	wk->tcp_clients++;
	conn_link(wk, c);
}

/* ---- authd's Unix socket (proto/PROTOCOL.md) ---- */

/* A name from the peer, fit for a log line: control characters become '?'. */
static void
printable(char *dst, size_t dstlen, const char *src)
{
	size_t i;

	for (i = 0; src[i] != '\0' && i + 1 < dstlen; i++)
		dst[i] = (unsigned char)src[i] < 0x20 || src[i] == 0x7f ? '?' : src[i];
	dst[i] = '\0';
}

/* The peer's credentials (SO_PEERCRED), once at accept: who is behind every later line. */
static void
sock_peer(int fd, char *buf, size_t len)
{
	struct ucred uc;
	socklen_t ulen = sizeof(uc);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &ulen) == 0)
		snprintf(buf, len, "pid %ld uid %lu gid %lu", (long)uc.pid,
		    (unsigned long)uc.uid, (unsigned long)uc.gid);
	else
		snprintf(buf, len, "unknown peer (%s)", strerror(errno));
}

/* Closes c now, or when sock_read() (which may still use it) returns. */
static void
sock_close(struct conn *c)
{
	if (c->in_read)
		c->dead = true;
	else
		conn_close(c);
}

/*
 * Queues one frame. Answers that pile up unread first stop the reading of queries (authd's
 * own writes then wait: back-pressure), and beyond SOCK_OUT_MAX end the connection.
 */
static void
sock_send(struct conn *c, const uint8_t *frame, long len)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);

	if (c->closing || c->dead || len <= 0)
		return;
	bufferevent_write(c->bev, frame, (size_t)len);
	if (evbuffer_get_length(out) > SOCK_OUT_MAX) {
		atomic_fetch_add_explicit(&c->wk->stats.sock_slow, 1, memory_order_relaxed);
		log_warnx("socket %s%s: more than %d octets of answers unread; disconnecting",
		    c->peer, c->name, SOCK_OUT_MAX);
		sock_close(c);
	} else if (evbuffer_get_length(out) > SOCK_OUT_HIGH && !c->paused) {
		c->paused = true;
		bufferevent_disable(c->bev, EV_READ);
	}
}

static void
sock_answer(struct conn *c, uint32_t id, const uint8_t *dns, size_t len)
{
	struct worker *wk = c->wk;

	sock_send(c, wk->frame, proto_encode_answer(wk->frame, sizeof(wk->frame), id, dns,
	    len));
}

/* Sends ERROR, logs why (one line naming the peer) and closes once the frame is out. */
static void __attribute__((format(printf, 3, 4)))
sock_error(struct conn *c, uint16_t code, const char *fmt, ...)
{
	char reason[256];
	uint8_t frame[PROTO_HDR + 2 + 255];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (code == PROTO_ERR_MALFORMED)
		atomic_fetch_add_explicit(&c->wk->stats.sock_malformed, 1,
		    memory_order_relaxed);
	log_warnx("socket %s%s: %s; sending ERROR %u and closing", c->peer, c->name, reason,
	    code);
	sock_send(c, frame, proto_encode_error(frame, sizeof(frame), code, reason));
	c->closing = true;
	bufferevent_disable(c->bev, EV_READ);
	conn_drop_waiters(c);
}

static void
sock_hello(struct conn *c, const struct proto_msg *m)
{
	uint8_t frame[PROTO_HDR + 2];
	uint16_t version = m->version < PROTO_VERSION ? m->version : PROTO_VERSION;
	size_t n;

	/* PROTOCOL.md rule 1: anything else first is ERROR 1. */
	if (m->type != PROTO_HELLO) {
		sock_error(c, PROTO_ERR_MALFORMED, "frame type %d before HELLO", (int)m->type);
		return;
	}
	if (m->version == 0) {
		sock_error(c, PROTO_ERR_VERSION, "HELLO offers version 0 only");
		return;
	}
	c->hello = true;
	memcpy(c->name, " \"", 2);
	printable(c->name + 2, sizeof(c->name) - 3, m->name);
	n = strlen(c->name);
	memcpy(c->name + n, "\"", 2);
	log_info("socket %s%s: HELLO version %u; speaking version %u", c->peer, c->name,
	    m->version, version);
	sock_send(c, frame, proto_encode_hello_ok(frame, sizeof(frame), version));
}

/* Resolves the query as if its client had asked us over its transport. */
static void
sock_query(struct conn *c, const struct proto_msg *m)
{
	struct worker *wk = c->wk;
	struct client cl;
	char addr[NET_ADDRSTRLEN];
	size_t len;

	atomic_fetch_add_explicit(&wk->stats.sock_queries, 1, memory_order_relaxed);
	memset(&cl, 0, sizeof(cl));
	cl.kind = CLIENT_SOCK;
	cl.tcp = m->transport == PROTO_TCP;
	cl.conn = c;
	cl.id = m->id;
	/* Every client takes 512 octets (RFC 1035; RFC 6891 6.2.5). */
	cl.limit = m->max_answer < DNS_MIN_UDP ? DNS_MIN_UDP : m->max_answer;
	memcpy(&cl.from, &m->client, sizeof(cl.from));
	cl.fromlen = (socklen_t)net_addr_len((const struct sockaddr *)&cl.from);
	log_debug("socket %s%s: query %u from %s over %s", c->peer, c->name, m->id,
	    net_addr_str((const struct sockaddr *)&cl.from, addr, sizeof(addr)),
	    cl.tcp ? "tcp" : "udp");
	len = handle_query(wk, m->dns, m->dnslen, &cl, wk->one, cl.limit);
	if (len > 0) {
		count_answer(wk, CLIENT_SOCK, wk->one);
		sock_answer(c, cl.id, wk->one, len);
	}
}

static void
sock_frame(struct conn *c, const struct proto_msg *m)
{
	char reason[256];

	if (!c->hello) {
		sock_hello(c, m);
		return;
	}
	switch (m->type) {
	case PROTO_QUERY:
		sock_query(c, m);
		return;
	case PROTO_ERROR:
		printable(reason, sizeof(reason), m->reason);
		log_warnx("socket %s%s: ERROR %u from the peer: %s; closing", c->peer, c->name,
		    m->code, reason);
		sock_close(c);
		return;
	default:
		sock_error(c, PROTO_ERR_UNEXPECTED, "unexpected frame type %d", (int)m->type);
		return;
	}
}

/* Every complete frame in the input, unless the connection is closing or paused. */
static void
sock_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct proto_msg m;
	char err[128];
	size_t avail;

	c->in_read = true;
	while (!c->closing && !c->paused && !c->dead && (avail = evbuffer_get_length(in)) > 0) {
		size_t want = avail < SOCK_FRAME_MAX ? avail : SOCK_FRAME_MAX;
		const uint8_t *buf = evbuffer_pullup(in, (ssize_t)want);
		long n;

		if (buf == NULL)
			fatalx("out of memory");
		if ((n = proto_decode(buf, want, &m, err, sizeof(err))) == 0)
			break;		/* the rest of the frame is still on its way */
		if (n < 0) {
			sock_error(c, PROTO_ERR_MALFORMED, "malformed frame: %s", err);
			break;
		}
		sock_frame(c, &m);	/* m points into the input: drain after */
		evbuffer_drain(in, (size_t)n);
	}
	c->in_read = false;
	if (c->dead)
		conn_close(c);
}

/* The output drained (to SOCK_OUT_HIGH / 2): finish closing, or read queries again. */
static void
sock_write(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (c->closing) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			conn_close(c);
		return;
	}
	if (c->paused) {
		c->paused = false;
		bufferevent_enable(bev, EV_READ);
		sock_read(bev, c);	/* what came before the pause */
	}
}

static void
sock_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	size_t inflight = 0;

	for (struct waiter *w = c->waiters; w != NULL; w = w->cnext)
		inflight++;
	if (what & BEV_EVENT_TIMEOUT) {
		atomic_fetch_add_explicit(&c->wk->stats.sock_slow, 1, memory_order_relaxed);
		log_warnx("socket %s%s: answers unread for %d ms; disconnecting", c->peer,
		    c->name, c->wk->srv->conf->socket_timeout);
	} else if (what & BEV_EVENT_ERROR) {
		log_warn("socket %s%s: closed with %zu queries in flight", c->peer, c->name,
		    inflight);
	} else {
		log_info("socket %s%s: closed by the peer with %zu queries in flight", c->peer,
		    c->name, inflight);
	}
	conn_close(c);
}

static void
sock_serve(struct worker *wk, int fd)
{
	struct conn *c = xcalloc(1, sizeof(*c));
	int ms = wk->srv->conf->socket_timeout;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	c->wk = wk;
	c->sock = true;
	sock_peer(fd, c->peer, sizeof(c->peer));
	if ((c->bev = bufferevent_socket_new(wk->base, fd, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		log_warnx("socket %s: cannot set up the connection", c->peer);
		close(fd);
		free(c);
		return;
	}
	conn_link(wk, c);
	atomic_fetch_add_explicit(&wk->sock_clients, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&wk->stats.sock_conns, 1, memory_order_relaxed);
	log_info("socket: connection from %s", c->peer);
	/* A write timeout only runs while answers wait: it catches a peer that stops reading. */
	bufferevent_set_timeouts(c->bev, NULL, &tv);
	bufferevent_setwatermark(c->bev, EV_WRITE, SOCK_OUT_HIGH / 2, 0);
	bufferevent_setcb(c->bev, sock_read, sock_write, sock_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/* True when another worker serves fewer authd connections (and will take this one). */
static bool
sock_busier(const struct worker *wk)
{
	const struct dnsr_server *srv = wk->srv;
	int mine = atomic_load_explicit(&wk->sock_clients, memory_order_relaxed);

	for (size_t i = 0; i < srv->nworkers; i++)
		if (atomic_load_explicit(&srv->workers[i]->sock_clients,
		    memory_order_relaxed) < mine)
			return true;
	return false;
}

/*
 * Every worker watches the one listening socket (there is no SO_REUSEPORT for Unix
 * sockets) and takes one connection per wake-up, unless another worker has fewer: that
 * one is woken too (level-triggered) and takes it, so authd's connections, which arrive
 * together at its start, spread over the workers.
 */
static void
sock_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct worker *wk = arg;
	unsigned long supp;
	int fd;

	if (sock_busier(wk))
		return;
	if ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
		    errno != ECONNABORTED && log_rl_allow(&wk->accept_rl, 10, &supp))
			log_warn("socket %s: accept (%lu more not logged)",
			    wk->srv->conf->socket_path, supp);
		return;
	}
	sock_serve(wk, fd);
}

/* Makes the missing directories of path's directory, mode 0755 (whatever the umask). */
static int
sock_mkdirs(const char *path)
{
	char *dir = xstrdup(path);
	struct stat st;
	int rc = 0;

	for (char *p = dir + 1; rc == 0 && (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(dir, 0755) == 0) {
			if (chmod(dir, 0755) != 0)
				rc = -1;
		} else if (errno != EEXIST || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
			if (errno == EEXIST)
				errno = ENOTDIR;
			rc = -1;
		}
		if (rc != 0)
			log_warn("socket %s: directory %s", path, dir);
		*p = '/';
	}
	free(dir);
	return rc;
}

/*
 * Clears the way for bind: a socket left by a dnsr that died is removed; a socket somebody
 * still answers on (another dnsr) and anything that is not a socket are left alone.
 */
static int
sock_clear_stale(const struct sockaddr_un *sun)
{
	struct stat st;
	int fd, live;

	if (lstat(sun->sun_path, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		log_warn("socket %s", sun->sun_path);
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		log_warnx("socket %s: exists and is not a socket; not replacing it",
		    sun->sun_path);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		log_warn("socket");
		return -1;
	}
	live = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
	close(fd);
	if (live) {
		log_warnx("socket %s: another process is answering on it", sun->sun_path);
		return -1;
	}
	if (unlink(sun->sun_path) != 0) {
		log_warn("socket %s: removing the stale socket", sun->sun_path);
		return -1;
	}
	log_info("socket %s: replaced a stale socket", sun->sun_path);
	return 0;
}

/*
 * bind, then the group, then listen: nobody connects before the ACL is in place. The file
 * is born with its mode (through the umask; no worker thread runs yet), so it never has a
 * wider one, and no chmod follows a path that could have been swapped meanwhile.
 */
static int
sock_bind(struct dnsr_server *srv, const struct sockaddr_un *sun)
{
	const struct dnsr_conf *conf = srv->conf;
	mode_t umask_was = umask(~conf->socket_mode & 0777);
	struct stat st;
	int rc;

	rc = bind(srv->unix_fd, (const struct sockaddr *)sun, sizeof(*sun));
	umask(umask_was);
	if (rc != 0) {
		log_warn("socket %s: bind", sun->sun_path);
		return -1;
	}
	if (lstat(sun->sun_path, &st) == 0) {
		srv->unix_bound = true;
		srv->unix_dev = st.st_dev;
		srv->unix_ino = st.st_ino;
	}
	if (conf->socket_gid != (gid_t)-1 && lchown(sun->sun_path, (uid_t)-1,
	    conf->socket_gid) != 0) {
		log_warn("socket %s: chown to group %s", sun->sun_path, conf->socket_group);
		return -1;
	}
	if (listen(srv->unix_fd, SOCK_BACKLOG) != 0) {
		log_warn("socket %s: listen", sun->sun_path);
		return -1;
	}
	return 0;
}

/* Opens conf->socket_path for the workers to accept on; -1 with a log line. */
static int
sock_open(struct dnsr_server *srv)
{
	const char *path = srv->conf->socket_path;
	struct sockaddr_un sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);	/* length checked */
	if (sock_mkdirs(path) != 0 || sock_clear_stale(&sun) != 0)
		return -1;
	if ((srv->unix_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) < 0) {
		log_warn("socket %s", path);
		return -1;
	}
	return sock_bind(srv, &sun);
}

/* Removes the socket file at exit, if it is still the one we made. */
static void
sock_remove(struct dnsr_server *srv)
{
	struct stat st;

	if (srv->unix_fd < 0)
		return;
	close(srv->unix_fd);
	srv->unix_fd = -1;
	if (srv->unix_bound && lstat(srv->conf->socket_path, &st) == 0 &&
	    st.st_dev == srv->unix_dev && st.st_ino == srv->unix_ino)
		unlink(srv->conf->socket_path);
}

/* ---- workers ---- */

static void
pending_free_all(struct worker *wk)
{
	for (size_t i = 0; i < PENDING_BUCKETS; i++) {
		while (wk->pending[i] != NULL) {
			struct pending *p = wk->pending[i];

			wk->pending[i] = p->hnext;
			iter_cancel(p->it);
			while (p->waiters != NULL) {
				struct waiter *w = p->waiters;

				p->waiters = w->next;
				free(w);
			}
			free(p);
		}
	}
}

static void
worker_free(struct worker *wk)
{
	while (wk->conns != NULL)
		conn_close(wk->conns);	/* first: it unlinks the waiters freed next */
	pending_free_all(wk);
	net_listeners_close(&wk->listen);
	if (wk->unix_ev != NULL)
		event_free(wk->unix_ev);
	upstream_free(wk->env.up);
	iter_env_clear(&wk->env);
	if (wk->base != NULL)
		event_base_free(wk->base);
	free(wk);
}

static struct worker *
worker_new(struct dnsr_server *srv)
{
	struct worker *wk = xcalloc(1, sizeof(*wk));

	wk->srv = srv;
	if ((wk->base = event_base_new()) == NULL)
		fatalx("event_base_new");
	wk->env.base = wk->base;
	wk->env.cache = srv->cache;
	wk->env.infra = srv->infra;
	wk->env.start = srv->start;
	wk->env.conf = srv->conf;
	wk->env.up = upstream_new(wk->base, srv->conf->query_timeout,
	    (size_t)srv->conf->max_resolutions + 64, srv->infra);
	iter_env_init(&wk->env);
	if (net_listeners_open(&wk->listen, wk->base, srv->conf->listen, udp_read, tcp_accept,
	    wk) != 0) {
		worker_free(wk);
		return NULL;
	}
	if (srv->unix_fd >= 0) {
		wk->unix_ev = event_new(wk->base, srv->unix_fd, EV_READ | EV_PERSIST, sock_accept,
		    wk);
		if (wk->unix_ev == NULL || event_add(wk->unix_ev, NULL) != 0)
			fatalx("event_new");
	}
	return wk;
}

/* Daily: cookies made with the old secret still validate for a day (cookie.h). */
static void
rotate_secret(evutil_socket_t fd, short what, void *arg)
{
	struct dnsr_server *srv = arg;

	cookie_rotate(&srv->cookies, NULL);
	log_info("DNS cookie secret rotated");
}

static void *
worker_main(void *arg)
{
	struct worker *wk = arg;

	event_base_dispatch(wk->base);
	return NULL;
}

struct dnsr_server *
dnsr_server_start(const struct dnsr_conf *conf, struct cache *cache, struct infra *infra,
    const struct hints *start)
{
	struct dnsr_server *srv = xcalloc(1, sizeof(*srv));

	srv->conf = conf;
	srv->cache = cache;
	srv->infra = infra;
	srv->start = start;
	srv->unix_fd = -1;
	if (conf->socket_path != NULL) {
		if (sock_open(srv) != 0) {
			dnsr_server_stop(srv);
			return NULL;
		}
		log_info("socket %s: authd may connect (mode %04o, group %s)", conf->socket_path,
		    (unsigned)conf->socket_mode, conf->socket_group[0] != '\0' ?
		    conf->socket_group : "unchanged");
	}
	for (int i = 0; i < conf->workers && i < WORKERS_MAX; i++) {
		struct worker *wk = worker_new(srv);

		if (wk == NULL) {
			dnsr_server_stop(srv);
			return NULL;
		}
		srv->workers[srv->nworkers++] = wk;
	}
	cookie_init(&srv->cookies, NULL);
	if (conf->cookies && srv->nworkers > 0) {
		struct timeval day = { 86400, 0 };

		srv->rotate_ev = event_new(srv->workers[0]->base, -1, EV_PERSIST, rotate_secret,
		    srv);
		if (srv->rotate_ev == NULL || event_add(srv->rotate_ev, &day) != 0)
			fatalx("event_new");
	}
	for (size_t i = 0; i < srv->nworkers; i++) {
		if (pthread_create(&srv->workers[i]->thread, NULL, worker_main,
		    srv->workers[i]) != 0)
			fatal("pthread_create");
		srv->workers[i]->running = true;
	}
	return srv;
}

void
dnsr_server_stop(struct dnsr_server *srv)
{
	if (srv == NULL)
		return;
	for (size_t i = 0; i < srv->nworkers; i++)
		if (srv->workers[i]->running)
			event_base_loopexit(srv->workers[i]->base, NULL);
	for (size_t i = 0; i < srv->nworkers; i++) {
		if (srv->workers[i]->running)
			pthread_join(srv->workers[i]->thread, NULL);
		if (i == 0 && srv->rotate_ev != NULL)
			event_free(srv->rotate_ev);	/* before its base */
		worker_free(srv->workers[i]);
	}
	sock_remove(srv);
	free(srv);
}

/* The per-worker counters and histograms behind /metrics, summed. */
static void
sum_metrics(struct dnsr_server *srv, struct dnsr_stats *st)
{
	const struct histogram *rtt[WORKERS_MAX], *lat[WORKERS_MAX];

	for (size_t i = 0; i < srv->nworkers; i++) {
		struct worker *wk = srv->workers[i];

		for (int t = 0; t < DNSR_TRANSPORTS; t++)
			for (int r = 0; r < 16; r++)
				st->answers[t][r] += counter_get(&wk->stats.answers[t][r]);
		st->upstream_timeouts += counter_get(&wk->env.stats.up_timeouts);
		st->upstream_errors += counter_get(&wk->env.stats.up_errors);
		rtt[i] = &wk->env.stats.up_rtt;
		lat[i] = &wk->stats.resolve_latency;
	}
	histogram_sum(rtt, srv->nworkers, &st->upstream_rtt);
	histogram_sum(lat, srv->nworkers, &st->resolve_latency);
}

static void
sum_drops(const struct upstream_drops *d, struct dnsr_stats *st)
{
	st->drop_mismatched += atomic_load_explicit(&d->mismatched, memory_order_relaxed);
	st->drop_cookie += atomic_load_explicit(&d->cookie, memory_order_relaxed);
	st->drop_case_0x20 += atomic_load_explicit(&d->case_0x20, memory_order_relaxed);
}

void
dnsr_server_stats(struct dnsr_server *srv, struct dnsr_stats *st)
{
	memset(st, 0, sizeof(*st));
	sum_metrics(srv, st);
	for (size_t i = 0; i < srv->nworkers; i++) {
		struct worker *wk = srv->workers[i];

		st->queries += atomic_load_explicit(&wk->stats.queries, memory_order_relaxed);
		st->cache_answers += atomic_load_explicit(&wk->stats.cache_answers,
		    memory_order_relaxed);
		st->refused += atomic_load_explicit(&wk->stats.refused, memory_order_relaxed);
		st->sock_conns += atomic_load_explicit(&wk->stats.sock_conns,
		    memory_order_relaxed);
		st->sock_queries += atomic_load_explicit(&wk->stats.sock_queries,
		    memory_order_relaxed);
		st->sock_malformed += atomic_load_explicit(&wk->stats.sock_malformed,
		    memory_order_relaxed);
		st->sock_slow += atomic_load_explicit(&wk->stats.sock_slow, memory_order_relaxed);
		sum_drops(upstream_drops(wk->env.up), st);
		st->resolutions += atomic_load_explicit(&wk->env.stats.resolutions,
		    memory_order_relaxed);
		st->upstream += atomic_load_explicit(&wk->env.stats.upstream,
		    memory_order_relaxed);
		st->bad_answers += atomic_load_explicit(&wk->env.stats.bad_answers,
		    memory_order_relaxed);
		st->failures += atomic_load_explicit(&wk->env.stats.failures,
		    memory_order_relaxed);
	}
}
