/* frontend.c: worker threads, UDP batches, TCP connections and held peers for both daemons. */
#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "common/cookie.h"
#include "common/frontend.h"
#include "common/log.h"
#include "common/net.h"
#include "common/wire.h"

#define UDP_BATCH	32
#define UDP_BUFSIZE	4096	/* queries larger than this are not queries we answer */
#define UDP_DRAIN	8	/* full batches read per wake-up before other sockets' turn */

/*
 * A TCP connection. A held peer references it: when the client goes away first, the
 * socket is closed at once (bev NULL) and the struct lives until the last release.
 */
struct fe_conn {
	struct fe_worker	*fw;		/* NULL once closed */
	struct fe_conn		*prev, *next;	/* the worker's open connections */
	struct bufferevent	*bev;		/* NULL once closed */
	struct sockaddr_storage	 peer;
	socklen_t		 peerlen;
	int			 refs;
	struct fe_stream	*streams;	/* FIFO: the one being sent first */
	bool			 pump;		/* a stream was added: fill after the reads */
};

/* A stream of messages (fe_stream()), and how much output it keeps queued. */
struct fe_stream {
	struct fe_stream	*next;
	fe_fill_fn		*fill;
	void			(*done)(void *);
	void			*arg;
};

#define STREAM_LOW	(64 * 1024)	/* refill below this much queued output */
#define STREAM_HIGH	(256 * 1024)	/* stop filling above it */

struct fe_worker {
	struct fe_conf		 conf;
	fe_query_fn		*query;
	void			*arg;
	struct event_base	*base;
	struct net_listeners	 listen;
	pthread_t		 thread;
	bool			 running;
	void			(*enter)(void);
	void			(*leave)(void);
	int			 tcp_clients;
	struct fe_conn		*conns;
	/* UDP batch buffers: queries in, responses out; one TCP response. */
	uint8_t			 in[UDP_BATCH][UDP_BUFSIZE];
	uint8_t			 out[UDP_BATCH][DNS_MAX_MSG];
	uint8_t			 tcpout[2 + DNS_MAX_MSG];
};

/* ---- UDP ---- */

/* Reads up to UDP_BATCH datagrams, answers them, sends the answers in one call. */
static int
udp_batch(struct fe_worker *fw, int fd)
{
	struct mmsghdr in[UDP_BATCH], out[UDP_BATCH];
	struct iovec iin[UDP_BATCH], iout[UDP_BATCH];
	struct sockaddr_storage from[UDP_BATCH];
	struct fe_request req;
	int n, nout = 0;

	for (int i = 0; i < UDP_BATCH; i++) {
		iin[i].iov_base = fw->in[i];
		iin[i].iov_len = UDP_BUFSIZE;
		memset(&in[i].msg_hdr, 0, sizeof(in[i].msg_hdr));
		in[i].msg_hdr.msg_name = &from[i];
		in[i].msg_hdr.msg_namelen = sizeof(from[i]);
		in[i].msg_hdr.msg_iov = &iin[i];
		in[i].msg_hdr.msg_iovlen = 1;
	}
	if ((n = recvmmsg(fd, in, UDP_BATCH, MSG_DONTWAIT, NULL)) <= 0)
		return 0;
	memset(&req, 0, sizeof(req));
	req.udp_fd = fd;
	for (int i = 0; i < n; i++) {
		size_t len;

		if (in[i].msg_hdr.msg_flags & MSG_TRUNC)
			continue;	/* larger than any query we answer */
		req.msg = fw->in[i];
		req.len = in[i].msg_len;
		req.client = (const struct sockaddr *)&from[i];
		req.clientlen = in[i].msg_hdr.msg_namelen;
		if ((len = fw->query(fw->arg, &req, fw->out[nout], DNS_MAX_MSG)) == 0)
			continue;
		iout[nout].iov_base = fw->out[nout];
		iout[nout].iov_len = len;
		memset(&out[nout].msg_hdr, 0, sizeof(out[nout].msg_hdr));
		out[nout].msg_hdr.msg_name = &from[i];
		out[nout].msg_hdr.msg_namelen = in[i].msg_hdr.msg_namelen;
		out[nout].msg_hdr.msg_iov = &iout[nout];
		out[nout].msg_hdr.msg_iovlen = 1;
		nout++;
	}
	for (int sent = 0; sent < nout; ) {
		int r = sendmmsg(fd, out + sent, (unsigned)(nout - sent), MSG_DONTWAIT);

		if (r <= 0)
			break;	/* a full socket buffer drops answers, as UDP may */
		sent += r;
	}
	return n;
}

/*
 * Drains the socket a few batches at a time before going back to the event loop: under
 * load that saves an epoll_wait per batch, while a bound keeps TCP and other sockets of
 * this worker served.
 */
static void
udp_read(evutil_socket_t fd, short what, void *arg)
{
	for (int i = 0; i < UDP_DRAIN && udp_batch(arg, fd) == UDP_BATCH; i++)
		;
}

/* ---- TCP ---- */

static void
conn_close(struct fe_conn *c)
{
	struct fe_worker *fw = c->fw;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		fw->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	fw->tcp_clients--;
	while (c->streams != NULL) {	/* the client left during a transfer */
		struct fe_stream *st = c->streams;

		c->streams = st->next;
		st->done(st->arg);
		free(st);
	}
	bufferevent_free(c->bev);
	c->bev = NULL;
	c->fw = NULL;
	if (c->refs == 0)
		free(c);
}

/*
 * Fills the connection's output from its streams while less than STREAM_HIGH is queued:
 * called when a stream starts and whenever the output drains below STREAM_LOW. While a
 * stream runs the client may send nothing for long, so only the write timeout applies.
 */
static void
stream_pump(struct fe_conn *c)
{
	struct fe_worker *fw = c->fw;
	struct evbuffer *outb = bufferevent_get_output(c->bev);
	struct timeval idle = { fw->conf.tcp_idle_ms / 1000, (fw->conf.tcp_idle_ms % 1000) * 1000 };

	while (c->streams != NULL && evbuffer_get_length(outb) < STREAM_HIGH) {
		struct fe_stream *st = c->streams;
		size_t len = st->fill(st->arg, fw->tcpout + 2, DNS_MAX_MSG);

		if (len == 0) {
			c->streams = st->next;
			st->done(st->arg);
			free(st);
			continue;
		}
		wire_write16(fw->tcpout, (uint16_t)len);
		bufferevent_write(c->bev, fw->tcpout, len + 2);
	}
	if (c->streams != NULL) {
		bufferevent_setwatermark(c->bev, EV_WRITE, STREAM_LOW, 0);
		bufferevent_set_timeouts(c->bev, NULL, &idle);
	} else {
		bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
		bufferevent_set_timeouts(c->bev, &idle, &idle);
	}
}

static void
tcp_write(struct bufferevent *bev, void *arg)
{
	struct fe_conn *c = arg;

	if (c->streams != NULL)
		stream_pump(c);
}

void
fe_stream(const struct fe_request *req, fe_fill_fn *fill, void (*done)(void *), void *arg)
{
	struct fe_conn *c = req->conn;
	struct fe_stream *st = xcalloc(1, sizeof(*st)), **tail;

	st->fill = fill;
	st->done = done;
	st->arg = arg;
	for (tail = &c->streams; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = st;
	c->pump = true;
}

/* Answers every complete length-prefixed query in the buffer (RFC 7766 pipelining). */
static void
tcp_read(struct bufferevent *bev, void *arg)
{
	struct fe_conn *c = arg;
	struct fe_worker *fw = c->fw;
	struct evbuffer *inb = bufferevent_get_input(bev);
	struct fe_request req;
	uint8_t hdr[2];

	memset(&req, 0, sizeof(req));
	req.tcp = true;
	req.client = (const struct sockaddr *)&c->peer;
	req.clientlen = c->peerlen;
	req.udp_fd = -1;
	req.conn = c;
	while (evbuffer_get_length(inb) >= 2) {
		size_t qlen, len;
		uint8_t *q;

		evbuffer_copyout(inb, hdr, 2);
		qlen = wire_read16(hdr);
		if (evbuffer_get_length(inb) < 2 + qlen)
			return;
		q = evbuffer_pullup(inb, (ssize_t)(2 + qlen));
		if (qlen < DNS_HEADER_LEN || (wire_read16(q + 2 + 2) & DNS_FLAG_QR)) {
			conn_close(c);	/* not a query: end the conversation */
			return;
		}
		req.msg = q + 2;
		req.len = qlen;
		len = fw->query(fw->arg, &req, fw->tcpout + 2, DNS_MAX_MSG);
		evbuffer_drain(inb, 2 + qlen);
		if (len > 0) {
			wire_write16(fw->tcpout, (uint16_t)len);
			bufferevent_write(bev, fw->tcpout, len + 2);
		}
		if (c->pump) {
			c->pump = false;
			stream_pump(c);
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
	struct fe_worker *fw = arg;
	struct fe_conn *c;

	if (fw->tcp_clients >= fw->conf.tcp_max_clients) {
		close(fd);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->fw = fw;
	if (salen > 0 && (size_t)salen <= sizeof(c->peer)) {
		memcpy(&c->peer, sa, (size_t)salen);
		c->peerlen = (socklen_t)salen;
	}
	c->bev = net_tcp_client(fw->base, fd, fw->conf.tcp_idle_ms, tcp_read, tcp_event, c);
	if (c->bev == NULL) {
		free(c);
		return;
	}
	bufferevent_setcb(c->bev, tcp_read, tcp_write, tcp_event, c);
	c->next = fw->conns;
	if (fw->conns != NULL)
		fw->conns->prev = c;
	fw->conns = c;
	fw->tcp_clients++;
}

/* ---- peers ---- */

void
fe_peer_hold(struct fe_peer *p, const struct fe_request *req)
{
	memset(p, 0, sizeof(*p));
	p->tcp = req->tcp;
	p->udp_fd = req->udp_fd;
	p->addrlen = req->clientlen <= sizeof(p->addr) ? req->clientlen : sizeof(p->addr);
	memcpy(&p->addr, req->client, p->addrlen);
	p->conn = req->conn;
	if (p->conn != NULL)
		p->conn->refs++;
}

void
fe_peer_send(const struct fe_peer *p, const uint8_t *msg, size_t len)
{
	uint8_t hdr[2];

	if (!p->tcp) {
		(void)sendto(p->udp_fd, msg, len, MSG_DONTWAIT,
		    (const struct sockaddr *)&p->addr, p->addrlen);
		return;
	}
	if (p->conn == NULL || p->conn->bev == NULL)
		return;		/* the client left */
	wire_write16(hdr, (uint16_t)len);
	bufferevent_write(p->conn->bev, hdr, 2);
	bufferevent_write(p->conn->bev, msg, len);
}

void
fe_peer_release(struct fe_peer *p)
{
	struct fe_conn *c = p->conn;

	p->conn = NULL;
	if (c == NULL)
		return;
	assert(c->refs > 0);
	if (--c->refs == 0 && c->bev == NULL)
		free(c);
}

/* ---- workers ---- */

struct fe_worker *
fe_worker_new(const struct fe_conf *conf, fe_query_fn *query, void *arg)
{
	struct fe_worker *fw = xcalloc(1, sizeof(*fw));

	fw->conf = *conf;
	fw->query = query;
	fw->arg = arg;
	if ((fw->base = event_base_new()) == NULL)
		fatalx("event_base_new");
	if (net_listeners_open(&fw->listen, fw->base, conf->listen, udp_read, tcp_accept,
	    fw) != 0) {
		fe_worker_free(fw);
		return NULL;
	}
	return fw;
}

struct event_base *
fe_worker_base(const struct fe_worker *fw)
{
	return fw->base;
}

static void *
worker_main(void *arg)
{
	struct fe_worker *fw = arg;

	if (fw->enter != NULL)
		fw->enter();
	event_base_dispatch(fw->base);
	if (fw->leave != NULL)
		fw->leave();
	return NULL;
}

void
fe_worker_start(struct fe_worker *fw, void (*enter)(void), void (*leave)(void))
{
	fw->enter = enter;
	fw->leave = leave;
	if (pthread_create(&fw->thread, NULL, worker_main, fw) != 0)
		fatal("pthread_create");
	fw->running = true;
}

void
fe_worker_stop(struct fe_worker *fw)
{
	if (fw == NULL || !fw->running)
		return;
	event_base_loopexit(fw->base, NULL);
	pthread_join(fw->thread, NULL);
	fw->running = false;
}

void
fe_worker_free(struct fe_worker *fw)
{
	if (fw == NULL)
		return;
	fe_worker_stop(fw);
	while (fw->conns != NULL)
		conn_close(fw->conns);
	net_listeners_close(&fw->listen);
	if (fw->base != NULL)
		event_base_free(fw->base);
	free(fw);
}

/* ---- cookie secrets ---- */

static void
rotate_secret(evutil_socket_t fd, short what, void *arg)
{
	cookie_rotate(arg, NULL);
	log_info("DNS cookie secret rotated");
}

static struct event *
cookie_rotation(struct event_base *base, struct cookie_ctx *c)
{
	struct timeval day = { 86400, 0 };
	struct event *ev = event_new(base, -1, EV_PERSIST, rotate_secret, c);

	if (ev == NULL || event_add(ev, &day) != 0)
		fatalx("event_new");
	return ev;
}

/* ---- groups ---- */

struct fe_worker *
fe_group_add(struct fe_group *g, const struct fe_conf *conf, fe_query_fn *query,
    void (*release)(void *), void *arg)
{
	struct fe_worker *fw;

	if (g->n == FE_WORKERS_MAX || (fw = fe_worker_new(conf, query, arg)) == NULL)
		return NULL;
	assert(g->release == NULL || g->release == release);
	g->release = release;
	g->fw[g->n] = fw;
	g->arg[g->n++] = arg;
	return fw;
}

void
fe_group_start(struct fe_group *g, void (*enter)(void), void (*leave)(void),
    struct cookie_ctx *cookies)
{
	if (cookies != NULL && g->n > 0)
		g->rotate_ev = cookie_rotation(g->fw[0]->base, cookies);
	for (size_t i = 0; i < g->n; i++)
		fe_worker_start(g->fw[i], enter, leave);
}

void
fe_group_stop(struct fe_group *g)
{
	for (size_t i = 0; i < g->n; i++)
		fe_worker_stop(g->fw[i]);
	if (g->rotate_ev != NULL)
		event_free(g->rotate_ev);	/* before its base */
	g->rotate_ev = NULL;
	for (size_t i = 0; i < g->n; i++) {
		g->release(g->arg[i]);
		fe_worker_free(g->fw[i]);
	}
	g->n = 0;
}
