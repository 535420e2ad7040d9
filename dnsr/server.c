/*
 * server.c: dnsr's workers and their UDP and TCP listeners; ACL, cache answers, and
 * resolutions (pending.c) for the clients of every transport, authd's socket (sock.c) too.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "dnsr/pending.h"
#include "dnsr/sock.h"
#include "dnsr/worker.h"

/* Indexed by enum client_kind. */
const char *const dnsr_transport_names[DNSR_TRANSPORTS] = { "udp", "tcp", "socket" };

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

/* Counts an answer about to be sent, by transport and RCODE, for /metrics. */
void
server_count_answer(struct worker *wk, enum client_kind kind, const uint8_t *msg)
{
	counter_add(&wk->stats.answers[kind][msg[3] & 0x0f], 1);
}

/* Sends a late answer (after a resolution) to one client. */
void
server_answer_late(struct worker *wk, const struct client *cl, const struct dns_query *q,
    const struct result *res)
{
	uint32_t now = cache_clock();
	size_t len;

	switch (cl->kind) {
	case CLIENT_TCP:
		if (cl->conn == NULL)
			return;		/* the client has gone */
		len = reply_write(wk->one + 2, DNS_MAX_MSG, q, res, true, udp_payload(wk),
		    now);
		server_count_answer(wk, CLIENT_TCP, wk->one + 2);
		tcp_send(cl->conn, wk->one, len);
		return;
	case CLIENT_SOCK:
		if (cl->conn == NULL)
			return;		/* authd's connection has gone */
		len = reply_write(wk->one, cl->limit, q, res, cl->tcp, udp_payload(wk),
		    now);
		server_count_answer(wk, CLIENT_SOCK, wk->one);
		sock_answer(cl->conn, cl->id, wk->one, len);
		return;
	case CLIENT_UDP:
		break;
	}
	len = reply_write(wk->one, DNS_MAX_MSG, q, res, false, udp_payload(wk), now);
	server_count_answer(wk, CLIENT_UDP, wk->one);
	/* A full socket buffer drops the answer, as UDP may; the client will ask again. */
	(void)sendto(cl->fd, wk->one, len, MSG_DONTWAIT, (const struct sockaddr *)&cl->from,
	    cl->fromlen);
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
	if ((rc = pending_wait(wk, name, q, cl)) != 0)
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
size_t
server_handle_query(struct worker *wk, const uint8_t *msg, size_t len,
    const struct client *cl, uint8_t *out, size_t outcap)
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
		len = server_handle_query(wk, wk->in[i], in[i].msg_len, &cl[i], wk->out[nout],
		    DNS_MAX_MSG);
		if (len == 0)
			continue;
		server_count_answer(wk, CLIENT_UDP, wk->out[nout]);
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

void
server_conn_link(struct worker *wk, struct conn *c)
{
	c->next = wk->conns;
	if (wk->conns != NULL)
		wk->conns->prev = c;
	wk->conns = c;
}

/* Closes a TCP or socket connection now. */
void
server_conn_close(struct conn *c)
{
	pending_conn_drop(c);
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
			server_conn_close(c);	/* not a query: end the conversation */
			return;
		}
		len = server_handle_query(wk, q + 2, qlen, &cl, wk->one + 2, DNS_MAX_MSG);
		evbuffer_drain(inb, 2 + qlen);
		if (len > 0) {
			server_count_answer(wk, CLIENT_TCP, wk->one + 2);
			tcp_send(c, wk->one, len);
		}
	}
}

static void
tcp_event(struct bufferevent *bev, short what, void *arg)
{
	server_conn_close(arg);	/* EOF, error or idle timeout */
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
	server_conn_link(wk, c);
}

/* ---- workers ---- */

static void
worker_free(struct worker *wk)
{
	while (wk->conns != NULL)
		server_conn_close(wk->conns);	/* first: it unlinks the waiters freed next */
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
