/* admin.c: authd's /ready /zones /search and metrics collector, served by common/httpadmin. */
#include <fnmatch.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <libknot/descriptor.h>
#include <sodium.h>
#include <urcu.h>

#include "authd/admin.h"
#include "authd/signer.h"
#include "authd/answer.h"
#include "authd/forward.h"
#include "authd/zonemd.h"
#include "common/httpadmin.h"
#include "common/log.h"
#include "common/wire.h"

struct admin {
	struct authd_state	*st;
	struct httpadmin	*http;
};

static const char *const rcode_names[STATS_RCODES] = {
	"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN",
	"YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE", "RCODE11", "RCODE12", "RCODE13",
	"RCODE14", "RCODE15", "BADVERS", "dropped", "forwarded",
};

static void
collect_queries(struct authd_state *st, const struct metric_sink *s)
{
	const struct histogram *hs[64];
	struct histogram lat;
	char labels[96];

	metric_family(s, "streamdns_authd_queries_total", METRIC_COUNTER,
	    "DNS queries answered (rcode=dropped: not answered), by transport and rcode");
	for (int t = 0; t < 2; t++) {
		for (int r = 0; r < STATS_RCODES; r++) {
			uint64_t sum = 0;

			for (size_t w = 0; w < st->nworkers; w++)
				sum += counter_get(&st->wstats[w]->queries[t][r]);
			if (sum == 0 && r != 0)
				continue;
			snprintf(labels, sizeof(labels), "transport=\"%s\",rcode=\"%s\"",
			    t ? "tcp" : "udp", rcode_names[r]);
			metric_sample(s, "streamdns_authd_queries_total", labels, (double)sum);
		}
	}
	metric_family(s, "streamdns_authd_queries_by_type_total", METRIC_COUNTER,
	    "DNS queries by query type");
	for (int q = 0; q < STATS_QTYPES; q++) {
		uint64_t sum = 0;

		for (size_t w = 0; w < st->nworkers; w++)
			sum += counter_get(&st->wstats[w]->qtypes[q]);
		snprintf(labels, sizeof(labels), "qtype=\"%s\"", stats_qtype_name(q));
		metric_sample(s, "streamdns_authd_queries_by_type_total", labels, (double)sum);
	}
	{
		uint64_t tc = 0;

		for (size_t w = 0; w < st->nworkers; w++)
			tc += counter_get(&st->wstats[w]->truncated);
		metric_family(s, "streamdns_authd_truncated_total", METRIC_COUNTER,
		    "UDP answers sent with TC=1");
		metric_sample(s, "streamdns_authd_truncated_total", "", (double)tc);
	}
	metric_family(s, "streamdns_authd_tsig_total", METRIC_COUNTER,
	    "TSIG-signed requests by result (RFC 8945 5.2)");
	for (int r = TSIG_OK; r < TSIG_RESULTS; r++) {
		uint64_t sum = 0;

		for (size_t w = 0; w < st->nworkers; w++)
			sum += counter_get(&st->wstats[w]->tsig[r]);
		snprintf(labels, sizeof(labels), "result=\"%s\"", tsig_result_name(r));
		metric_sample(s, "streamdns_authd_tsig_total", labels, (double)sum);
	}
	for (size_t w = 0; w < st->nworkers; w++)
		hs[w] = &st->wstats[w]->latency;
	histogram_sum(hs, st->nworkers, &lat);
	metric_family(s, "streamdns_authd_answer_duration_seconds", METRIC_HISTOGRAM,
	    "time from receiving a query to its answer being ready");
	histogram_emit(s, "streamdns_authd_answer_duration_seconds", "", &lat);
}

static void
collect_consumer(struct authd_state *st, const struct metric_sink *s)
{
	struct consumer_status cs;
	char labels[64];
	struct timespec now;

	pthread_mutex_lock(&st->status_mtx);
	cs = st->status;
	pthread_mutex_unlock(&st->status_mtx);
	metric_family(s, "streamdns_authd_events_applied_total", METRIC_COUNTER,
	    "events applied to the store");
	metric_sample(s, "streamdns_authd_events_applied_total", "",
	    (double)atomic_load(&st->events_applied));
	metric_family(s, "streamdns_authd_events_rejected_total", METRIC_COUNTER,
	    "invalid events rejected, by reason");
	for (int e = 1; e < EVENT_ERR__COUNT; e++) {
		snprintf(labels, sizeof(labels), "reason=\"%s\"", event_error_name(e));
		metric_sample(s, "streamdns_authd_events_rejected_total", labels,
		    (double)atomic_load(&st->rejected_by[e]));
	}
	metric_family(s, "streamdns_authd_consumer_lag", METRIC_GAUGE,
	    "events on the partition not applied yet (high watermark - next offset)");
	for (int32_t p = 0; p < cs.npart; p++) {
		snprintf(labels, sizeof(labels), "partition=\"%d\"", p);
		metric_sample(s, "streamdns_authd_consumer_lag", labels,
		    (double)(cs.high[p] > cs.next[p] ? cs.high[p] - cs.next[p] : 0));
	}
	metric_family(s, "streamdns_authd_consumer_offset", METRIC_GAUGE,
	    "next offset to read, by partition");
	for (int32_t p = 0; p < cs.npart; p++) {
		snprintf(labels, sizeof(labels), "partition=\"%d\"", p);
		metric_sample(s, "streamdns_authd_consumer_offset", labels, (double)cs.next[p]);
	}
	clock_gettime(CLOCK_REALTIME, &now);
	if (cs.last_event > 0)
		metric_gauge(s, "streamdns_authd_seconds_since_last_event",
		    "seconds since the last batch of events was applied (or since start)",
		    (double)now.tv_sec + now.tv_nsec / 1e9 - cs.last_event);
	metric_gauge(s, "streamdns_authd_ready", "1 once caught up with the topic at start-up",
	    atomic_load(&st->ready) ? 1 : 0);
	metric_gauge(s, "streamdns_authd_kafka_up", "0 while every broker is unreachable",
	    atomic_load(&st->kafka_up) ? 1 : 0);
	metric_gauge(s, "streamdns_authd_startup_seconds", "seconds from start to ready (0: not yet)",
	    cs.ready_at);
	metric_gauge(s, "streamdns_authd_zones", "zones (names owning an SOA)",
	    (double)cs.store.zones);
	metric_gauge(s, "streamdns_authd_rrsets", "RRsets in the store", (double)cs.store.rrsets);
	metric_gauge(s, "streamdns_authd_records", "records in the store", (double)cs.store.records);
	metric_gauge(s, "streamdns_authd_names", "owner names in the store", (double)cs.store.names);
	metric_gauge(s, "streamdns_authd_dnssec_zones_unusable",
	    "signed zones whose keys this instance cannot unseal (answered SERVFAIL)",
	    atomic_load(&st->keys_unusable));
	metric_family(s, "streamdns_authd_dnssec_signatures_total", METRIC_COUNTER,
	    "RRSIGs made");
	metric_sample(s, "streamdns_authd_dnssec_signatures_total", "",
	    (double)atomic_load(&sign_stats.signatures));
	metric_family(s, "streamdns_authd_dnssec_signature_cache_hits_total", METRIC_COUNTER,
	    "signed RRsets whose RRSIGs came from the cache");
	metric_sample(s, "streamdns_authd_dnssec_signature_cache_hits_total", "",
	    (double)atomic_load(&sign_stats.cache_hits));
	metric_gauge(s, "streamdns_authd_dnssec_signature_cache_bytes",
	    "memory held by cached RRSIGs of stored RRsets",
	    (double)atomic_load(&sign_stats.cache_bytes));
}

/* Queries handed to dnsr, their fate and dnsr's latency (summed over the workers). */
static void
collect_forwarding(struct authd_state *st, const struct metric_sink *s)
{
	const struct histogram *hs[64];
	struct histogram lat;
	uint64_t fwd = 0, ans = 0, failed = 0, conns = 0;
	size_t n = 0;

	for (size_t w = 0; w < st->nworkers; w++) {
		const struct fwd_stats *f = st->fstats[w];

		if (f == NULL)
			continue;
		fwd += counter_get(&f->forwarded);
		ans += counter_get(&f->answered);
		failed += counter_get(&f->failed);
		conns += counter_get(&f->connects);
		hs[n++] = &f->latency;
	}
	metric_counter(s, "streamdns_authd_forwarded_total",
	    "queries handed to dnsr (names outside every zone, CNAME completions)", (double)fwd);
	metric_counter(s, "streamdns_authd_forward_answers_total", "answers received from dnsr",
	    (double)ans);
	metric_counter(s, "streamdns_authd_forward_failures_total",
	    "forwarded queries answered SERVFAIL: dnsr down, timeout or connection lost",
	    (double)failed);
	metric_counter(s, "streamdns_authd_dnsr_connects_total",
	    "connections made to dnsr's socket", (double)conns);
	histogram_sum(hs, n, &lat);
	metric_family(s, "streamdns_authd_dnsr_duration_seconds", METRIC_HISTOGRAM,
	    "time from handing a query to dnsr to its answer");
	histogram_emit(s, "streamdns_authd_dnsr_duration_seconds", "", &lat);
}

static void
xfr_tally_sample(void *arg, const char *zone, const char *client,
    const uint64_t count[XFR_KINDS])
{
	const struct metric_sink *s = arg;
	char labels[DNAME_STRLEN + INET6_ADDRSTRLEN + 64];

	for (int k = 0; k < XFR_KINDS; k++) {
		if (count[k] == 0)
			continue;
		snprintf(labels, sizeof(labels), "zone=\"%s\",client=\"%s\",kind=\"%s\"",
		    zone, client, xfr_kind_name(k));
		metric_sample(s, "streamdns_authd_xfr_requests_total", labels,
		    (double)count[k]);
	}
}

static void
collect_xfr(struct authd_state *st, const struct metric_sink *s)
{
	metric_family(s, "streamdns_authd_xfr_requests_total", METRIC_COUNTER,
	    "zone transfer requests by zone, client address and what they came to (at most "
	    "256 zone and client pairs; the rest as zone and client \"other\")");
	xfr_stats_each(&st->xfr, xfr_tally_sample, (void *)s);
	metric_family(s, "streamdns_authd_xfr_total", METRIC_COUNTER,
	    "zone transfer requests by kind and result");
	metric_sample(s, "streamdns_authd_xfr_total", "kind=\"axfr\",result=\"served\"",
	    (double)atomic_load(&st->xfr.axfr));
	metric_sample(s, "streamdns_authd_xfr_total", "kind=\"ixfr\",result=\"served\"",
	    (double)atomic_load(&st->xfr.ixfr));
	metric_sample(s, "streamdns_authd_xfr_total", "kind=\"ixfr\",result=\"incremental\"",
	    (double)atomic_load(&st->xfr.incremental));
	metric_sample(s, "streamdns_authd_xfr_total", "kind=\"any\",result=\"refused\"",
	    (double)atomic_load(&st->xfr.refused));
	metric_counter(s, "streamdns_authd_xfr_messages_total", "zone transfer messages sent",
	    (double)atomic_load(&st->xfr.messages));
	metric_counter(s, "streamdns_authd_xfr_records_total", "records sent in zone transfers",
	    (double)atomic_load(&st->xfr.rrs));
	metric_family(s, "streamdns_authd_notify_total", METRIC_COUNTER,
	    "NOTIFY messages sent (retries included), acknowledged, failed (error or no answer)");
	metric_sample(s, "streamdns_authd_notify_total", "result=\"sent\"",
	    (double)atomic_load(&st->notify.sent));
	metric_sample(s, "streamdns_authd_notify_total", "result=\"acked\"",
	    (double)atomic_load(&st->notify.acked));
	metric_sample(s, "streamdns_authd_notify_total", "result=\"failed\"",
	    (double)atomic_load(&st->notify.failed));
}

/* RFC 2136 updates (updater.c), and the conditional events the consumer refused. */
static void
collect_updates(struct authd_state *st, const struct metric_sink *s)
{
	const struct histogram *h = &st->update_stats.latency;
	char labels[64];

	metric_family(s, "streamdns_authd_updates_total", METRIC_COUNTER,
	    "RFC 2136 updates answered, by rcode");
	for (int i = 0; i <= DNS_RCODE_NOTZONE; i++) {	/* what RFC 2136 answers */
		snprintf(labels, sizeof(labels), "rcode=\"%s\"", rcode_names[i]);
		metric_sample(s, "streamdns_authd_updates_total", labels,
		    (double)counter_get(&st->update_stats.results[i]));
	}
	metric_counter(s, "streamdns_authd_update_events_total",
	    "events written by updates (reverts and restatements included)",
	    (double)counter_get(&st->update_stats.events));
	metric_counter(s, "streamdns_authd_update_conflicts_total",
	    "events of this instance's updates refused for a concurrent write",
	    (double)counter_get(&st->update_stats.conflicts));
	metric_counter(s, "streamdns_authd_update_retries_total",
	    "updates evaluated again after a conflict",
	    (double)counter_get(&st->update_stats.retries));
	metric_counter(s, "streamdns_authd_events_conditional_refused_total",
	    "conditional events (any instance's updates) not applied: a later version was there",
	    (double)atomic_load(&st->events_conflicts));
	metric_family(s, "streamdns_authd_update_duration_seconds", METRIC_HISTOGRAM,
	    "updates, from receiving to answering");
	histogram_emit(s, "streamdns_authd_update_duration_seconds", "", h);
}

void
admin_collect(struct authd_state *st, const struct metric_sink *s)
{
	collect_updates(st, s);
	collect_xfr(st, s);
	collect_queries(st, s);
	collect_forwarding(st, s);
	collect_consumer(st, s);
	metric_gauge(s, "streamdns_authd_resident_memory_bytes", "resident set size",
	    (double)httpadmin_rss_bytes());
	httpadmin_info(s, "streamdns_authd_info", st->identity != NULL ? st->identity : "");
	metric_counter(s, "streamdns_authd_rrl_limited_total",
	    "UDP responses dropped or slipped (TC=1) by response rate limiting",
	    st->rrl_limited ? (double)atomic_load(st->rrl_limited) : 0);
}

static json_t *
offsets_json(struct authd_state *st, int64_t *sum)
{
	json_t *o = json_object();
	char p[16];

	*sum = 0;
	pthread_mutex_lock(&st->status_mtx);
	for (int32_t i = 0; i < st->status.npart; i++) {
		snprintf(p, sizeof(p), "%d", i);
		json_object_set_new(o, p, json_integer(st->status.next[i]));
		*sum += st->status.next[i] * (i + 1);
	}
	pthread_mutex_unlock(&st->status_mtx);
	return o;
}

/* Is the zone in [zones] serve (or is there no such list)? */
static bool
served(struct admin *a, const uint8_t *apex)
{
	struct zone_filter *f;
	bool yes = true;

	rcu_read_lock();
	if ((f = rcu_dereference(a->st->serve)) != NULL) {
		yes = false;
		for (size_t i = 0; i < f->n && !yes; i++)
			yes = dname_equal(f->names[i], apex);
	}
	rcu_read_unlock();
	return yes;
}

static json_t *
zones_json(struct admin *a, const struct zone_summary *zs, size_t n)
{
	json_t *arr = json_array();
	char name[DNAME_STRLEN], hex[2 * ZONEMD_DIGEST_LEN + 1];

	for (size_t i = 0; i < n; i++) {
		sodium_bin2hex(hex, sizeof(hex), zs[i].digest, ZONEMD_DIGEST_LEN);
		json_array_append_new(arr, json_pack("{s:s, s:I, s:I, s:I, s:s, s:b}",
		    "name", dname_to_str(zs[i].apex, name, sizeof(name)),
		    "serial", (json_int_t)zs[i].serial, "rrsets", (json_int_t)zs[i].rrsets,
		    "records", (json_int_t)zs[i].records, "zonemd", hex,
		    "served", served(a, zs[i].apex)));
	}
	return arr;
}

/*
 * The digests and the offsets must describe the same state: the offsets are read before
 * and after the walk, and the walk is repeated (a few times) while events came in between.
 */
static void
handle_zones(struct evhttp_request *req, const char *uri, void *arg)
{
	struct admin *a = arg;
	struct zone_summary *zs = NULL;
	struct store_view view;
	size_t n = 0;
	json_t *offsets = NULL, *root;
	int64_t before, after;
	char *body;

	memset(&view, 0, sizeof(view));

	/*
	 * A view of one committed version, taken in one pass between two of the consumer's
	 * batches; the digests (seconds for a million RRsets) are made from it outside any
	 * lock, so neither the consumer nor the workers wait for them.
	 */
	for (int attempt = 0; attempt < 5; attempt++) {
		json_decref(offsets);
		store_view_close(&view);
		json_decref(offsets_json(a->st, &before));
		if (store_view_all(a->st->store, &view) != 0)
			memset(&view, 0, sizeof(view));
		offsets = offsets_json(a->st, &after);
		if (before == after)
			break;
	}
	if (view.store == NULL || zonemd_summaries(&view, &zs, &n) != 0)
		n = 0;
	store_view_close(&view);
	root = json_pack("{s:o, s:o, s:b, s:s}", "zones", zones_json(a, zs, n),
	    "offsets", offsets, "ready", atomic_load(&a->st->ready), "identity",
	    a->st->identity != NULL ? a->st->identity : "");
	body = json_dumps(root, JSON_COMPACT);
	if (body != NULL)
		httpadmin_reply(req, 200, "OK", "application/json", body, strlen(body));
	else
		httpadmin_reply_text(req, 500, "Internal Server Error", "out of memory\n");
	free(body);
	json_decref(root);
	free(zs);
}

struct search {
	char		 pattern[DNAME_STRLEN];
	int		 type;		/* -1: any */
	size_t		 limit, found;
	json_t		*rrsets;
	bool		 truncated;
};

/* One matching RRset as the event format shows it: name, type, ttl, contents. */
static void
search_add(struct search *s, const struct znode *n, const struct rrset *rs, bool local)
{
	char *key = NULL, *value = NULL, type[32];
	json_t *records;

	if (event_encode(znode_name(n), rs, &key, &value) != 0)
		return;
	records = json_loads(value, 0, NULL);
	snprintf(type, sizeof(type), "%s", strchr(key, '|') + 1);
	json_array_append_new(s->rrsets, json_pack("{s:s#, s:s, s:I, s:o, s:b}", "name", key,
	    (int)(strchr(key, '|') - key), "type", type, "ttl", (json_int_t)rs->ttl,
	    "records", records != NULL ? records : json_array(), "local", local));
	free(key);
	free(value);
}

static int
search_node(const struct znode *n, void *arg)
{
	struct search *s = arg;
	const struct rrset_vec *layers[2] = { znode_local(n), znode_rrsets(n) };
	char name[DNAME_STRLEN];

	dname_to_str(znode_name(n), name, sizeof(name));
	if (fnmatch(s->pattern, name, FNM_CASEFOLD) != 0)
		return 0;
	for (int k = 0; k < 2; k++) {
		for (uint32_t i = 0; i < layers[k]->count; i++) {
			const struct rrset *rs = layers[k]->sets[i];

			if (s->type >= 0 && rs->type != s->type)
				continue;
			if (s->found++ >= s->limit) {
				s->truncated = true;
				return 1;
			}
			search_add(s, n, rs, k == 0);
		}
	}
	return 0;
}

/* GET /search?name=GLOB[&type=TYPE][&limit=N]: RRsets of the store (the original's search). */
static void
handle_search(struct evhttp_request *req, const char *uri, void *arg)
{
	struct admin *a = arg;
	struct evkeyvalq q;
	struct search s = { .type = -1, .limit = 100 };
	const char *name, *type, *limit;
	uint16_t t;
	char *body;
	json_t *root;

	evhttp_parse_query(uri, &q);
	name = evhttp_find_header(&q, "name");
	type = evhttp_find_header(&q, "type");
	limit = evhttp_find_header(&q, "limit");
	if (name == NULL || *name == '\0' || strlen(name) >= sizeof(s.pattern) - 1 ||
	    (type != NULL && knot_rrtype_from_string(type, &t) != 0) ||
	    (limit != NULL && (atoi(limit) < 1 || atoi(limit) > 10000))) {
		evhttp_clear_headers(&q);
		httpadmin_reply_text(req, 400, "Bad Request", "usage: /search?name=GLOB[&type=TYPE]"
		    "[&limit=1..10000]\n");
		return;
	}
	/* Names are shown absolute; a pattern without the final dot gets one. */
	snprintf(s.pattern, sizeof(s.pattern), "%s%s", name,
	    name[strlen(name) - 1] == '.' || name[strlen(name) - 1] == '*' ? "" : ".");
	if (type != NULL)
		s.type = t;
	if (limit != NULL)
		s.limit = (size_t)atoi(limit);
	evhttp_clear_headers(&q);
	s.rrsets = json_array();
	rcu_read_lock();
	store_walk(a->st->store, search_node, &s);
	rcu_read_unlock();
	root = json_pack("{s:o, s:b}", "rrsets", s.rrsets, "truncated", s.truncated);
	body = json_dumps(root, JSON_COMPACT);
	httpadmin_reply(req, 200, "OK", "application/json", body, strlen(body));
	free(body);
	json_decref(root);
}

static void
handle_ready(struct evhttp_request *req, const char *uri, void *arg)
{
	struct admin *a = arg;

	(void)uri;
	char text[1500];
	int unusable = atomic_load(&a->st->keys_unusable);

	if (!atomic_load(&a->st->ready)) {
		httpadmin_reply_text(req, 503, "Service Unavailable", "not ready: catching up\n");
	} else if (unusable > 0) {
		/* Such a zone is answered SERVFAIL: this instance should take no traffic. */
		pthread_mutex_lock(&a->st->status_mtx);
		snprintf(text, sizeof(text), "not ready: %d signed zone%s cannot be signed here "
		    "(%s)\n", unusable, unusable > 1 ? "s" : "", a->st->status.keys_why);
		pthread_mutex_unlock(&a->st->status_mtx);
		httpadmin_reply_text(req, 503, "Service Unavailable", text);
	} else {
		httpadmin_reply_text(req, 200, "OK", "ready\n");
	}
}

static void
collect(void *arg, const struct metric_sink *s)
{
	struct admin *a = arg;

	admin_collect(a->st, s);
}

static const struct httpadmin_route routes[] = {
	{ "/ready", handle_ready },
	{ "/zones", handle_zones },
	{ "/search", handle_search },
};

/* The handlers read the store under RCU: the admin thread is a reader. */
static void
thread_start(void)
{
	rcu_register_thread();
}

static void
thread_stop(void)
{
	rcu_unregister_thread();
}

struct admin *
admin_start(const struct authd_conf *conf, struct authd_state *st)
{
	struct admin *a = xcalloc(1, sizeof(*a));
	struct httpadmin_conf hc = {
		HTTPADMIN_CONF_KEYS(conf, 8053), .collect = collect, .routes = routes,
		.nroutes = sizeof(routes) / sizeof(routes[0]), .arg = a,
		.thread_start = thread_start, .thread_stop = thread_stop,
	};
	char err[256];

	a->st = st;
	if ((a->http = httpadmin_start(&hc, err, sizeof(err))) == NULL) {
		log_warnx("admin: %s", err);
		free(a);
		return NULL;
	}
	return a;
}

void
admin_stop(struct admin *a)
{
	if (a == NULL)
		return;
	httpadmin_stop(a->http);
	free(a);
}
