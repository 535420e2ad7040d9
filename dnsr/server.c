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

#include "common/envelope.h"
#include "common/gate.h"
#include "dnsr/pending.h"
#include "dnsr/sock.h"
#include "dnsr/vjob.h"
#include "dnsr/worker.h"

/* Indexed by enum client_kind. */
const char *const dnsr_transport_names[DNSR_TRANSPORTS] = { "udp", "tcp", "socket" };

/* ---- answering ---- */

static uint16_t
udp_payload(const struct worker *wk)
{
	return (uint16_t)wk->srv->conf->udp_payload_size;
}

/* Counts an answer about to be sent, by transport and RCODE, for /metrics. */
void
server_count_answer(struct worker *wk, enum client_kind kind, const uint8_t *msg)
{
	counter_add(&wk->stats.answers[kind][wire_read16(msg + 2) & DNS_RCODE_MASK], 1);
}

/* Sends a late answer (after a resolution) to one client. */
void
server_answer_late(struct worker *wk, const struct client *cl, const struct dns_query *q,
    const struct result *res)
{
	size_t len;

	if (cl->kind == CLIENT_SOCK && cl->conn == NULL)
		return;		/* authd's connection has gone */
	len = reply_write(wk->one, cl->kind == CLIENT_SOCK ? cl->limit : DNS_MAX_MSG, q, res,
	    cl->tcp, udp_payload(wk), cache_clock());
	server_count_answer(wk, cl->kind, wk->one);
	if (cl->kind == CLIENT_SOCK)
		sock_answer(cl->conn, cl->id, wk->one, len);
	else
		fe_peer_send(&cl->peer, wk->one, len);
}

/*
 * The cache, else a resolution (RD=1) that answers later: 0 then, else the length. msg is
 * q as received (len octets).
 */
static size_t
answer_or_wait(struct worker *wk, const struct dns_query *q, const uint8_t *msg, size_t len,
    const struct client *cl, uint8_t *out, size_t outcap)
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
	    wk->srv->conf->max_chain, wk->env.validation == DNSR_VALIDATION_NO);
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
	/*
	 * One of our own queries to a forwarder, back through it (a forward zone pointing at
	 * the authd that forwards to us, for a name it does not serve): resolving it would
	 * send it out again, and again. Failing it ends the loop after one round. Checked on
	 * a miss only: cache hits never pay for reading the options.
	 */
	if (q->edns && upstream_loop_marked(msg, len)) {
		atomic_fetch_add_explicit(&wk->stats.loops, 1, memory_order_relaxed);
		return reply_error(out, outcap, q, DNS_RCODE_SERVFAIL, EDE_OTHER,
		    "forwarding loop: our own query came back", cl->tcp, udp_payload(wk));
	}
	if ((rc = pending_wait(wk, name, q, cl)) != 0)
		return reply_error(out, outcap, q, rc, EDE_OTHER, "resolver busy", cl->tcp,
		    udp_payload(wk));
	return 0;
}

/*
 * Answers what can be answered at once (errors, refusals, cache hits) into out and
 * returns its length; returns 0 when the query is dropped or waits for a resolution.
 * RFC 7873 5.2: a client that sent a cookie gets a fresh server cookie (the gate's),
 * whatever it sent as one: a resolver has no reason to refuse a client without a valid
 * one. authd's queries are not ours to refuse (the socket's file mode is their ACL), and
 * each is answered exactly once (PROTOCOL.md): even a response gets FORMERR.
 */
size_t
server_handle_query(struct worker *wk, const uint8_t *msg, size_t len,
    const struct client *cl, uint8_t *out, size_t outcap)
{
	const struct dnsr_conf *conf = wk->srv->conf;
	const struct gate_policy gp = {
		.never_drop = cl->kind == CLIENT_SOCK,
		.xfr_rcode = DNS_RCODE_REFUSED,		/* a resolver transfers no zones */
		.acl = cl->kind == CLIENT_SOCK ? NULL : &conf->acl,
		.cookies = conf->cookies ? &wk->srv->cookies : NULL,
	};
	struct gate_result g;
	struct dns_query q;
	size_t n;

	if (gate_check(&gp, msg, len, (const struct sockaddr *)&cl->from,
	    (uint32_t)time(NULL), &q, &g) == GATE_DROP)
		return 0;
	atomic_fetch_add_explicit(&wk->stats.queries, 1, memory_order_relaxed);
	if (g.verdict == GATE_REPLY) {
		if (g.step == GATE_ACL)
			atomic_fetch_add_explicit(&wk->stats.refused, 1, memory_order_relaxed);
		n = reply_error(out, outcap, &q, g.rcode, g.ede, NULL, cl->tcp,
		    udp_payload(wk));
		/*
		 * dnsr has no TSIG keys: a signed query is NOTAUTH/BADKEY (RFC 8945 5.2.1),
		 * the error in an unsigned TSIG RR (5.3.2), rather than an answer its client
		 * could not verify.
		 */
		if (n > 0 && g.step == GATE_TSIG)
			(void)tsig_sign_first(&g.tsig, out, &n,
			    env_limit(&q, cl->tcp, udp_payload(wk), outcap));
		return n;
	}
	return answer_or_wait(wk, &q, msg, len, cl, out, outcap);
}

/* The front end's query function (UDP and TCP). */
static size_t
serve_query(void *arg, const struct fe_request *req, uint8_t *out, size_t cap)
{
	struct worker *wk = arg;
	struct client cl;
	size_t len;

	cl.kind = req->tcp ? CLIENT_TCP : CLIENT_UDP;
	cl.tcp = req->tcp;
	cl.fromlen = req->clientlen <= sizeof(cl.from) ? req->clientlen : sizeof(cl.from);
	memcpy(&cl.from, req->client, cl.fromlen);
	cl.req = req;
	memset(&cl.peer, 0, sizeof(cl.peer));
	cl.conn = NULL;
	cl.id = 0;
	cl.limit = 0;
	if ((len = server_handle_query(wk, req->msg, req->len, &cl, out, cap)) > 0)
		server_count_answer(wk, cl.kind, out);
	return len;
}

/* Adds c (authd's connection) to wk's connections. */
void
server_conn_link(struct worker *wk, struct conn *c)
{
	c->next = wk->conns;
	if (wk->conns != NULL)
		wk->conns->prev = c;
	wk->conns = c;
}

/* Closes authd's connection c now. */
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
	atomic_fetch_sub_explicit(&c->wk->sock_clients, 1, memory_order_relaxed);
	bufferevent_free(c->bev);
	free(c);
}

/* ---- workers ---- */

/* Called by fe_group_stop() with every thread stopped, before wk->fe is freed. */
static void
worker_free(void *arg)
{
	struct worker *wk = arg;

	while (wk->conns != NULL)
		server_conn_close(wk->conns);	/* first: it unlinks the waiters freed next */
	pending_free_all(wk);		/* releases the clients they hold */
	if (wk->unix_ev != NULL)
		event_free(wk->unix_ev);
	upstream_free(wk->env.up);
	iter_env_clear(&wk->env);
	free(wk);
}

static struct worker *
worker_new(struct dnsr_server *srv)
{
	struct worker *wk = xcalloc(1, sizeof(*wk));

	wk->srv = srv;
	wk->fe = fe_group_add(&srv->group, &srv->fe, serve_query, worker_free, wk);
	if (wk->fe == NULL) {
		free(wk);
		return NULL;
	}
	wk->base = fe_worker_base(wk->fe);
	wk->env.base = wk->base;
	wk->env.cache = srv->cache;
	wk->env.infra = srv->infra;
	wk->env.start = srv->start;
	wk->env.conf = srv->conf;
	wk->env.validation = srv->conf->validation;
	wk->env.keys = srv->keys;
	wk->env.anchors = srv->conf->anchors;
	wk->env.up = upstream_new(wk->base, srv->conf->query_timeout,
	    (size_t)srv->conf->max_resolutions + 64, srv->infra);
	iter_env_init(&wk->env);
	if (srv->unix_fd >= 0) {
		wk->unix_ev = event_new(wk->base, srv->unix_fd, EV_READ | EV_PERSIST, sock_accept,
		    wk);
		if (wk->unix_ev == NULL || event_add(wk->unix_ev, NULL) != 0)
			fatalx("event_new");
	}
	return wk;
}

struct dnsr_server *
dnsr_server_start(const struct dnsr_conf *conf, struct cache *cache, struct infra *infra,
    const struct hints *start)
{
	struct dnsr_server *srv = xcalloc(1, sizeof(*srv));

	srv->conf = conf;
	srv->fe = (struct fe_conf){ conf->listen, conf->tcp_max_clients, conf->tcp_idle_timeout };
	srv->cache = cache;
	srv->infra = infra;
	if (conf->validation != DNSR_VALIDATION_NO) {
		struct cache_limits lim = { 0, (uint32_t)conf->max_ttl, (uint32_t)conf->max_ttl };

		if ((srv->keys = cache_new(VJOB_KEY_CACHE_BYTES, &lim)) == NULL)
			fatalx("out of memory");
	}
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
	for (int i = 0; i < conf->workers && i < FE_WORKERS_MAX; i++) {
		struct worker *wk = worker_new(srv);

		if (wk == NULL) {
			dnsr_server_stop(srv);
			return NULL;
		}
		srv->workers[srv->nworkers++] = wk;
	}
	cookie_init(&srv->cookies, NULL);
	fe_group_start(&srv->group, NULL, NULL, conf->cookies ? &srv->cookies : NULL);
	return srv;
}

void
dnsr_server_stop(struct dnsr_server *srv)
{
	if (srv == NULL)
		return;
	fe_group_stop(&srv->group);
	sock_remove(srv);
	cache_free(srv->keys);
	free(srv);
}

/* The per-worker counters and histograms behind /metrics, summed. */
static void
sum_metrics(struct dnsr_server *srv, struct dnsr_stats *st)
{
	const struct histogram *rtt[FE_WORKERS_MAX], *lat[FE_WORKERS_MAX], *vt[FE_WORKERS_MAX];

	for (size_t i = 0; i < srv->nworkers; i++) {
		struct worker *wk = srv->workers[i];

		for (int t = 0; t < DNSR_TRANSPORTS; t++)
			for (int r = 0; r <= DNS_RCODE_MASK; r++)
				st->answers[t][r] += counter_get(&wk->stats.answers[t][r]);
		st->upstream_timeouts += counter_get(&wk->env.stats.up_timeouts);
		st->upstream_errors += counter_get(&wk->env.stats.up_errors);
		rtt[i] = &wk->env.stats.up_rtt;
		lat[i] = &wk->stats.resolve_latency;
		vt[i] = &wk->env.stats.val_time;
		for (int k = 0; k <= SEC_SECURE; k++)
			st->validated[k] += atomic_load_explicit(&wk->env.stats.validated[k],
			    memory_order_relaxed);
	}
	histogram_sum(vt, srv->nworkers, &st->validation_time);
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
		st->loops += atomic_load_explicit(&wk->stats.loops, memory_order_relaxed);
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
		st->addrs_skipped += atomic_load_explicit(&wk->env.stats.addrs_skipped,
		    memory_order_relaxed);
		st->qmin_queries += atomic_load_explicit(&wk->env.stats.qmin_queries,
		    memory_order_relaxed);
		st->qmin_fallbacks += atomic_load_explicit(&wk->env.stats.qmin_fallbacks,
		    memory_order_relaxed);
	}
}
