/* server.c: UDP and TCP listeners and the worker threads that answer on them. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <sodium.h>
#include <urcu.h>

#include "authd/answer.h"
#include "authd/forward.h"
#include "common/acl.h"
#include "common/net.h"
#include "common/cookie.h"
#include "authd/rrl.h"
#include "authd/server.h"
#include "common/log.h"
#include "common/wire.h"

#define UDP_BATCH	32
#define UDP_BUFSIZE	4096	/* queries larger than this are not queries we answer */

struct worker;

/*
 * A TCP connection. Forwarded queries hold a reference: when the client goes away first,
 * the socket is closed at once and the struct lives until the last answer is released.
 */
struct tcp_conn {
	struct worker		*wk;
	struct bufferevent	*bev;		/* NULL once closed */
	struct sockaddr_storage	 peer;
	int			 refs;
};

struct worker {
	struct server		*srv;
	pthread_t		 thread;
	struct event_base	*base;
	struct net_listeners	 listen;
	int			 tcp_clients;
	uint64_t		 nqueries;	/* for query-log sampling */
	struct worker_stats	 stats;
	struct forwarder	*fwd;		/* to dnsr, when [resolver] socket is set */
	struct fwd_stats	 fstats;
	/* UDP batch buffers: queries in, responses out. */
	uint8_t			 in[UDP_BATCH][UDP_BUFSIZE];
	uint8_t			 out[UDP_BATCH][DNS_MAX_MSG];
	uint8_t			 tcpout[DNS_MAX_MSG + 2];
};

struct server {
	const struct authd_conf	*conf;
	struct authd_state	*st;
	struct answer_opts	 opts;
	struct cookie_ctx	 cookies;
	struct rrl		 rrl;
	struct event		*rotate_ev;	/* cookie secret rotation (random secrets) */
	struct acl		 recursion_allow;
	size_t			 nworkers;
	struct worker		*workers[64];
};

static void forward(struct worker *wk, const struct answer_info *info, const uint8_t *q,
    size_t qlen, const uint8_t *partial, size_t plen, int udp_fd,
    const struct sockaddr_storage *from, socklen_t fromlen, struct tcp_conn *c);


int
stats_qtype_slot(uint16_t qtype)
{
	static const uint16_t types[STATS_QTYPES - 1] = {
		DNS_TYPE_A, DNS_TYPE_NS, DNS_TYPE_CNAME, DNS_TYPE_SOA, DNS_TYPE_PTR,
		DNS_TYPE_MX, DNS_TYPE_TXT, DNS_TYPE_AAAA, DNS_TYPE_SRV, 35 /* NAPTR */,
		DNS_TYPE_DS, DNS_TYPE_DNSKEY, 64 /* SVCB */, 65 /* HTTPS */, 257 /* CAA */,
		DNS_TYPE_ANY, DNS_TYPE_AXFR,
	};

	for (int i = 0; i < STATS_QTYPES - 1; i++)
		if (types[i] == qtype)
			return i;
	return STATS_QTYPES - 1;
}

const char *
stats_qtype_name(int slot)
{
	static const char *const names[STATS_QTYPES] = {
		"A", "NS", "CNAME", "SOA", "PTR", "MX", "TXT", "AAAA", "SRV", "NAPTR", "DS",
		"DNSKEY", "SVCB", "HTTPS", "CAA", "ANY", "AXFR", "other",
	};

	return slot >= 0 && slot < STATS_QTYPES ? names[slot] : "other";
}

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void
query_log(const struct sockaddr_storage *peer, bool tcp, const uint8_t *msg, size_t len,
    const struct answer_info *info, uint64_t us)
{
	char addr[INET6_ADDRSTRLEN] = "?", name[DNAME_STRLEN] = "?";
	uint8_t qname[DNAME_MAXLEN];
	size_t pos = DNS_HEADER_LEN;

	if (peer->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)peer)->sin_addr, addr,
		    sizeof(addr));
	else if (peer->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)peer)->sin6_addr, addr,
		    sizeof(addr));
	if (len > DNS_HEADER_LEN && dname_unpack(msg, len, &pos, qname) > 0)
		dname_to_str(qname, name, sizeof(name));
	log_info("query %s %s %s type=%u rcode=%u%s %lluus", addr, tcp ? "tcp" : "udp", name,
	    info->qtype, info->rcode, info->truncated ? " tc" : "", (unsigned long long)us);
}

/* Counts one query (and logs it when the query log samples it). */
static void
account(struct worker *wk, const struct sockaddr_storage *peer, bool tcp,
    const uint8_t *msg, size_t len, const struct answer_info *info, uint64_t t0)
{
	uint64_t us = now_us() - t0;
	int rc = info->forward ? 18 : info->dropped ? 17 : info->rcode < 17 ? info->rcode : 16;

	counter_add(&wk->stats.queries[tcp][rc], 1);
	counter_add(&wk->stats.qtypes[stats_qtype_slot(info->qtype)], 1);
	if (info->truncated)
		counter_add(&wk->stats.truncated, 1);
	histogram_observe(&wk->stats.latency, us);
	if (wk->srv->conf->query_log &&
	    wk->nqueries++ % (uint64_t)wk->srv->conf->query_log_sample == 0)
		query_log(peer, tcp, msg, len, info, us);
}

static struct answer_opts
current_opts(const struct server *srv)
{
	struct answer_opts o = srv->opts;

	o.ready = atomic_load_explicit(&srv->st->ready, memory_order_acquire);
	o.now = (uint32_t)time(NULL);
	return o;
}

/*
 * Response rate limiting (UDP only; a client with a valid server cookie is exempt: its
 * address is proven). A slipped response keeps only header and question, with TC=1, so a
 * real client retries over TCP while a spoofed victim gets nothing amplified.
 */
static size_t
rate_limit(struct server *srv, const struct sockaddr *client, uint32_t now, uint8_t *resp,
    size_t len, struct answer_info *info)
{
	switch (rrl_check(&srv->rrl, client, now)) {
	case RRL_SEND:
		return len;
	case RRL_DROP:
		info->dropped = true;
		return 0;
	case RRL_SLIP:
		break;
	}
	info->truncated = true;
	return wire_truncate(resp, len);
}

/* Reads up to UDP_BATCH datagrams, answers them, sends the answers in one call. */
static int
udp_batch(int fd, struct worker *wk)
{
	struct mmsghdr in[UDP_BATCH], out[UDP_BATCH];
	struct iovec iin[UDP_BATCH], iout[UDP_BATCH];
	struct sockaddr_storage from[UDP_BATCH];
	struct answer_opts o = current_opts(wk->srv);
	struct answer_info info;
	int n, nout = 0;

	for (int i = 0; i < UDP_BATCH; i++) {
		iin[i].iov_base = wk->in[i];
		iin[i].iov_len = UDP_BUFSIZE;
		memset(&in[i].msg_hdr, 0, sizeof(in[i].msg_hdr));
		in[i].msg_hdr.msg_name = &from[i];
		in[i].msg_hdr.msg_namelen = sizeof(from[i]);
		in[i].msg_hdr.msg_iov = &iin[i];
		in[i].msg_hdr.msg_iovlen = 1;
	}
	n = recvmmsg(fd, in, UDP_BATCH, MSG_DONTWAIT, NULL);
	if (n <= 0)
		return 0;
	for (int i = 0; i < n; i++) {
		size_t len;

		uint64_t t0 = now_us();

		if (in[i].msg_hdr.msg_flags & MSG_TRUNC)
			continue;	/* larger than any query we answer */
		o.client = (const struct sockaddr *)&from[i];
		o.recursion = wk->fwd != NULL && acl_match(&wk->srv->recursion_allow, o.client);
		len = answer_message(wk->srv->st->store, &o, wk->in[i], in[i].msg_len, false,
		    wk->out[nout], DNS_MAX_MSG, &info);
		if (info.forward || info.complete) {
			forward(wk, &info, wk->in[i], in[i].msg_len, wk->out[nout], len, fd,
			    &from[i], in[i].msg_hdr.msg_namelen, NULL);
			account(wk, &from[i], false, wk->in[i], in[i].msg_len, &info, t0);
			continue;
		}
		if (len > 0 && info.cookie != COOKIE_VALID)
			len = rate_limit(wk->srv, o.client, o.now, wk->out[nout], len, &info);
		account(wk, &from[i], false, wk->in[i], in[i].msg_len, &info, t0);
		if (len == 0)
			continue;
		iout[nout].iov_base = wk->out[nout];
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
	for (int i = 0; i < 8 && udp_batch(fd, arg) == UDP_BATCH; i++)
		;
}

static void
tcp_close(struct tcp_conn *c)
{
	c->wk->tcp_clients--;
	bufferevent_free(c->bev);
	c->bev = NULL;
	if (c->refs == 0)
		free(c);
}

/* Forwarder callbacks: answers from dnsr go out on the socket the query came in on. */
static void
fwd_deliver(void *ctx, const struct fwd_client *to, const uint8_t *resp, size_t len)
{
	struct worker *wk = ctx;

	if (!to->tcp) {
		sendto(to->udp_fd, resp, len, MSG_DONTWAIT, (const struct sockaddr *)&to->addr,
		    to->addrlen);
		return;
	}
	{
		struct tcp_conn *c = to->tcp_conn;
		uint8_t hdr[2];

		if (c->bev == NULL)
			return;		/* the client left */
		wire_write16(hdr, (uint16_t)len);
		bufferevent_write(c->bev, hdr, 2);
		bufferevent_write(c->bev, resp, len);
	}
	(void)wk;
}

static void
fwd_release(void *ctx, const struct fwd_client *to)
{
	struct tcp_conn *c = to->tcp_conn;

	(void)ctx;
	if (to->tcp && --c->refs == 0 && c->bev == NULL)
		free(c);
}

/* Hands a query to dnsr (info says whether whole, or to complete a CNAME chain). */
static void
forward(struct worker *wk, const struct answer_info *info, const uint8_t *q, size_t qlen,
    const uint8_t *partial, size_t plen, int udp_fd, const struct sockaddr_storage *from,
    socklen_t fromlen, struct tcp_conn *c)
{
	struct fwd_client to;

	memset(&to, 0, sizeof(to));
	to.tcp = c != NULL;
	to.udp_fd = udp_fd;
	memcpy(&to.addr, from, fromlen < sizeof(to.addr) ? fromlen : sizeof(to.addr));
	to.addrlen = fromlen;
	to.tcp_conn = c;
	to.limit = info->limit;
	if (c != NULL)
		c->refs++;
	forwarder_query(wk->fwd, q, qlen, &to, info->complete ? partial : NULL, plen,
	    info->complete ? info->target : NULL);
}

/* Answers every complete length-prefixed query in the buffer (RFC 7766 pipelining). */
static void
tcp_read(struct bufferevent *bev, void *arg)
{
	struct tcp_conn *c = arg;
	struct worker *wk = c->wk;
	struct evbuffer *inb = bufferevent_get_input(bev);
	struct answer_opts o = current_opts(wk->srv);
	struct answer_info info;
	uint8_t hdr[2];

	while (evbuffer_get_length(inb) >= 2) {
		size_t qlen, len;
		uint8_t *q;

		evbuffer_copyout(inb, hdr, 2);
		qlen = wire_read16(hdr);
		if (evbuffer_get_length(inb) < 2 + qlen)
			return;
		uint64_t t0 = now_us();

		o.client = (const struct sockaddr *)&c->peer;
		o.recursion = wk->fwd != NULL && acl_match(&wk->srv->recursion_allow, o.client);
		q = evbuffer_pullup(inb, (ssize_t)(2 + qlen));
		len = answer_message(wk->srv->st->store, &o, q + 2, qlen, true, wk->tcpout + 2,
		    DNS_MAX_MSG, &info);
		account(wk, &c->peer, true, q + 2, qlen, &info, t0);
		if (info.forward || info.complete) {
			forward(wk, &info, q + 2, qlen, wk->tcpout + 2, len, -1, &c->peer,
			    sizeof(c->peer), c);
			evbuffer_drain(inb, 2 + qlen);
			continue;
		}
		evbuffer_drain(inb, 2 + qlen);
		if (len == 0) {
			/* Not a query (a response, or no header): end the conversation. */
			tcp_close(c);
			return;
		}
		wire_write16(wk->tcpout, (uint16_t)len);
		bufferevent_write(bev, wk->tcpout, len + 2);
	}
}

static void
tcp_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	tcp_close(arg);		/* EOF, error or idle timeout */
}

static void
tcp_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
    void *arg)
{
	struct worker *wk = arg;
	struct tcp_conn *c;

	if (wk->tcp_clients >= wk->srv->conf->tcp_max_clients) {
		close(fd);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->wk = wk;
	if (salen > 0 && (size_t)salen <= sizeof(c->peer))
		memcpy(&c->peer, sa, (size_t)salen);
	c->bev = net_tcp_client(wk->base, fd, wk->srv->conf->tcp_idle_timeout, tcp_read,
	    tcp_event, c);
	if (c->bev == NULL) {
		free(c);
		return;
	}
	wk->tcp_clients++;
}

static void *
worker_main(void *arg)
{
	struct worker *wk = arg;

	rcu_register_thread();
	event_base_dispatch(wk->base);
	rcu_unregister_thread();
	return NULL;
}

static void
worker_free(struct worker *wk)
{
	forwarder_free(wk->fwd);
	net_listeners_close(&wk->listen);
	if (wk->base != NULL)
		event_base_free(wk->base);
	free(wk);
}

/* Opens one worker's sockets: one UDP and one TCP per listen address. */
static struct worker *
worker_new(struct server *srv)
{
	struct worker *wk = xcalloc(1, sizeof(*wk));

	wk->srv = srv;
	if ((wk->base = event_base_new()) == NULL)
		fatalx("event_base_new");
	if (net_listeners_open(&wk->listen, wk->base, srv->conf->listen, udp_read, tcp_accept,
	    wk) != 0) {
		worker_free(wk);
		return NULL;
	}
	if (srv->conf->resolver_socket != NULL) {
		struct fwd_callbacks cb = { fwd_deliver, fwd_release, wk };

		wk->fwd = forwarder_new(wk->base, srv->conf->resolver_socket,
		    srv->conf->resolver_timeout, srv->conf->identity, &srv->opts, &cb,
		    &wk->fstats);
	}
	return wk;
}

static void
rotate_secret(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;

	cookie_rotate(&srv->cookies, NULL);
	log_info("DNS cookie secret rotated");
}

struct server *
server_start(const struct authd_conf *conf, struct authd_state *st)
{
	struct server *srv = xcalloc(1, sizeof(*srv));

	evthread_use_pthreads();
	srv->conf = conf;
	srv->st = st;
	srv->opts.udp_payload = (uint16_t)conf->udp_payload_size;
	srv->opts.serve = &st->serve;
	srv->opts.identity = conf->identity;
	srv->opts.nsid = conf->nsid;
	srv->opts.identity_queries = conf->identity_queries;
	srv->opts.version = conf->version;
	{
		char err[256];

		if (acl_parse(conf->recursion_allow, &srv->recursion_allow, err,
		    sizeof(err)) != 0)
			fatalx("recursion-allow: %s", err);
	}
	if (conf->cookies) {
		uint8_t secret[COOKIE_SECRET_LEN];

		if (conf->cookie_secret != NULL)
			sodium_hex2bin(secret, sizeof(secret), conf->cookie_secret,
			    strlen(conf->cookie_secret), NULL, NULL, NULL);
		cookie_init(&srv->cookies, conf->cookie_secret ? secret : NULL);
		srv->opts.cookies = &srv->cookies;
	}
	rrl_init(&srv->rrl, (unsigned)conf->rrl_rate, (unsigned)conf->rrl_slip,
	    (unsigned)conf->rrl_v4_prefix, (unsigned)conf->rrl_v6_prefix);
	st->rrl_limited = &srv->rrl.limited;
	for (int i = 0; i < conf->workers && i < 64; i++) {
		struct worker *wk = worker_new(srv);

		if (wk == NULL) {
			server_stop(srv);
			return NULL;
		}
		st->wstats[srv->nworkers] = &wk->stats;
		st->fstats[srv->nworkers] = wk->fwd != NULL ? &wk->fstats : NULL;
		srv->workers[srv->nworkers++] = wk;
		st->nworkers = srv->nworkers;
	}
	if (conf->cookies && conf->cookie_secret == NULL) {
		/* A random secret is replaced daily; the previous one validates for a day more. */
		struct timeval day = { 86400, 0 };

		srv->rotate_ev = event_new(srv->workers[0]->base, -1, EV_PERSIST, rotate_secret,
		    srv);
		event_add(srv->rotate_ev, &day);
	}
	for (size_t i = 0; i < srv->nworkers; i++)
		if (pthread_create(&srv->workers[i]->thread, NULL, worker_main,
		    srv->workers[i]) != 0)
			fatal("pthread_create");
	log_info("answering on %s with %d workers", conf->listen, conf->workers);
	return srv;
}

void
server_stop(struct server *srv)
{
	if (srv == NULL)
		return;
	for (size_t i = 0; i < srv->nworkers; i++)
		if (srv->workers[i]->thread != 0)
			event_base_loopexit(srv->workers[i]->base, NULL);
	for (size_t i = 0; i < srv->nworkers; i++)
		if (srv->workers[i]->thread != 0)
			pthread_join(srv->workers[i]->thread, NULL);
	if (srv->rotate_ev != NULL)
		event_free(srv->rotate_ev);
	for (size_t i = 0; i < srv->nworkers; i++)
		worker_free(srv->workers[i]);
	free(srv);
}
