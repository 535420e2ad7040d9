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
#include "common/clock.h"
#include "common/cookie.h"
#include "common/frontend.h"
#include "authd/rrl.h"
#include "authd/server.h"
#include "authd/updater.h"
#include "authd/xfr.h"
#include "common/log.h"
#include "common/wire.h"


/* A worker: the front end's thread and sockets, and authd's own state for them. */
struct worker {
	struct server		*srv;
	struct fe_worker	*fe;
	uint64_t		 nqueries;	/* for query-log sampling */
	struct worker_stats	 stats;
	struct forwarder	*fwd;		/* to dnsr, when [resolver] socket is set */
	struct fwd_stats	 fstats;
};

struct server {
	const struct authd_conf	*conf;
	struct authd_state	*st;
	struct answer_opts	 opts;
	struct cookie_ctx	 cookies;
	struct rrl		 rrl;
	struct acl		 recursion_allow;
	struct xfr_acl		 xfr_acl;
	struct xfr_conf		 xfr;
	struct fe_conf		 fe;		/* every worker's front end */
	struct fe_group		 group;
	struct updater		*updater;	/* NULL: [update] grants nothing */
	size_t			 nworkers;
	struct worker		*workers[FE_WORKERS_MAX];
};



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
	log_info("%s %s %s %s type=%u rcode=%u%s %lluus", info->update ? "update" : "query",
	    addr, tcp ? "tcp" : "udp", name, info->qtype, info->rcode,
	    info->truncated ? " tc" : "", (unsigned long long)us);
}

/* Counts one query (and logs it when the query log samples it). */
static void
account(struct worker *wk, const struct sockaddr_storage *peer, bool tcp,
    const uint8_t *msg, size_t len, const struct answer_info *info, uint64_t t0)
{
	uint64_t us = clock_mono_us() - t0;
	int rc = info->forward ? STATS_RCODE_FORWARDED : info->dropped ? STATS_RCODE_DROPPED :
	    info->rcode <= DNS_RCODE_BADVERS ? info->rcode : DNS_RCODE_BADVERS;

	counter_add(&wk->stats.queries[tcp][rc], 1);
	counter_add(&wk->stats.qtypes[stats_qtype_slot(info->qtype)], 1);
	if (info->tsig.result != TSIG_NONE)
		counter_add(&wk->stats.tsig[info->tsig.result], 1);
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

/* Forwarder callbacks: answers from dnsr go out to the client the query came from. */
static void
fwd_deliver(void *ctx, const struct fwd_client *to, const uint8_t *resp, size_t len)
{
	fe_peer_send(&to->peer, resp, len);
}

static void
fwd_release(void *ctx, const struct fwd_client *to)
{
	fe_peer_release((struct fe_peer *)&to->peer);
}

/* Hands a query to dnsr (info says whether whole, or to complete a CNAME chain). */
static void
forward(struct worker *wk, const struct answer_info *info, const struct fe_request *req,
    const uint8_t *partial, size_t plen)
{
	struct fwd_client to;

	fe_peer_hold(&to.peer, req);
	to.limit = info->limit;
	forwarder_query(wk->fwd, req->msg, req->len, &to, info->complete ? partial : NULL,
	    plen, info->complete ? info->target : NULL);
}

/*
 * Signs the finished response to a signed request (RFC 8945 5.3: every response to it,
 * errors included; unsigned with the error for BADKEY and BADSIG). This is the one place
 * authd's responses are complete, after env_finish() and after RRL's slip, so the TSIG
 * RR is the last RR and covers what is sent. The envelope held its room back; should it
 * still not fit (a name of 255 octets in 512), header and question with TC=1 are signed.
 */
static size_t
sign(struct answer_info *info, uint8_t *out, size_t len)
{
	if (len == 0 || info->tsig.result == TSIG_NONE)
		return len;
	if (tsig_sign_first(&info->tsig, out, &len, info->limit) == 0)
		return len;
	info->truncated = true;
	len = wire_truncate(out, len);
	return tsig_sign_first(&info->tsig, out, &len, info->limit) == 0 ? len : 0;
}

/* The front end's query function: answer, rate-limit, sign, forward, count. */
static size_t
serve_query(void *arg, const struct fe_request *req, uint8_t *out, size_t cap)
{
	struct worker *wk = arg;
	struct answer_opts o = current_opts(wk->srv);
	struct answer_info info;
	uint64_t t0 = clock_mono_us();
	size_t len;

	o.client = req->client;
	o.recursion = wk->fwd != NULL && acl_match(&wk->srv->recursion_allow, o.client);
	len = answer_message(wk->srv->st->store, &o, req->msg, req->len, req->tcp, out, cap,
	    &info);
	if (info.xfr) {
		len = xfr_answer(&wk->srv->xfr, &o, req, &info.tsig, out, cap, &info.rcode);
	} else if (info.update) {
		len = updater_submit(wk->srv->updater, wk->srv->st, &o, fe_worker_base(wk->fe),
		    req, &info.tsig, info.limit, out, cap, &info.rcode);
	} else if (info.forward || info.complete) {
		forward(wk, &info, req, out, len);
		len = 0;
	} else if (!req->tcp && len > 0 && info.cookie != COOKIE_VALID &&
	    info.tsig.result != TSIG_OK && !info.rrl_checked) {
		len = rate_limit(wk->srv, o.client, o.now, out, len, &info);
	}
	len = sign(&info, out, len);
	/* A queued update is counted and logged by the updater once answered. */
	if (!info.update || len > 0)
		account(wk, (const struct sockaddr_storage *)req->client, req->tcp, req->msg,
		    req->len, &info, t0);
	return len;
}

static void
worker_enter(void)
{
	rcu_register_thread();
}

static void
worker_leave(void)
{
	rcu_unregister_thread();
}

/* Called by fe_group_stop() with every thread stopped, before wk->fe is freed. */
static void
worker_free(void *arg)
{
	struct worker *wk = arg;

	forwarder_free(wk->fwd);	/* releases the peers it holds */
	free(wk);
}

/* Opens one worker's sockets: one UDP and one TCP per listen address. */
static struct worker *
worker_new(struct server *srv)
{
	struct worker *wk = xcalloc(1, sizeof(*wk));

	wk->srv = srv;
	if ((wk->fe = fe_group_add(&srv->group, &srv->fe, serve_query, worker_free,
	    wk)) == NULL) {
		free(wk);
		return NULL;
	}
	if (srv->conf->resolver_socket != NULL) {
		struct fwd_callbacks cb = { fwd_deliver, fwd_release, wk };

		wk->fwd = forwarder_new(fe_worker_base(wk->fe), srv->conf->resolver_socket,
		    srv->conf->resolver_timeout, srv->conf->identity, &srv->opts, &cb,
		    &wk->fstats);
	}
	return wk;
}

struct server *
server_start(const struct authd_conf *conf, struct authd_state *st)
{
	struct server *srv = xcalloc(1, sizeof(*srv));

	evthread_use_pthreads();
	srv->conf = conf;
	srv->st = st;
	srv->fe = (struct fe_conf){ conf->listen, conf->tcp_max_clients, conf->tcp_idle_timeout };
	srv->opts.udp_payload = (uint16_t)conf->udp_payload_size;
	srv->opts.serve = &st->serve;
	srv->opts.identity = conf->identity;
	srv->opts.nsid = conf->nsid;
	srv->opts.identity_queries = conf->identity_queries;
	srv->opts.version = conf->version;
	srv->opts.tsig_keys = conf->tsig;
	{
		char err[256];

		if (acl_parse(conf->recursion_allow, &srv->recursion_allow, err,
		    sizeof(err)) != 0)
			fatalx("recursion-allow: %s", err);
		if (xfr_acl_parse(conf->allow_transfer, &srv->xfr_acl, err, sizeof(err)) != 0)
			fatalx("allow-transfer: %s", err);
		srv->xfr = (struct xfr_conf){ st->store, &srv->xfr_acl, &st->xfr };
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
	srv->opts.rrl = conf->rrl_rate > 0 ? &srv->rrl : NULL;
	srv->updater = updater_start(conf, st, &srv->opts);
	for (int i = 0; i < conf->workers && i < FE_WORKERS_MAX; i++) {
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
	/* A random cookie secret is replaced daily; a configured one is the operator's. */
	fe_group_start(&srv->group, worker_enter, worker_leave,
	    conf->cookies && conf->cookie_secret == NULL ? &srv->cookies : NULL);
	log_info("answering on %s with %d workers", conf->listen, conf->workers);
	return srv;
}

void
server_stop(struct server *srv)
{
	if (srv == NULL)
		return;
	updater_stop(srv->updater);	/* its last answers go out through the workers */
	fe_group_stop(&srv->group);
	free(srv);
}
