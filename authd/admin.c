/* admin.c: evhttp admin endpoint, authd's metrics collector, statsd push, /zones JSON. */
#include <arpa/inet.h>
#include <ctype.h>
#include <fnmatch.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <libknot/descriptor.h>
#include <sodium.h>
#include <urcu.h>

#include "authd/admin.h"
#include "authd/answer.h"
#include "authd/forward.h"
#include "authd/zonemd.h"
#include "common/log.h"
#include "common/wire.h"

struct admin {
	const struct authd_conf	*conf;
	struct authd_state	*st;
	pthread_t		 thread;
	struct event_base	*base;
	struct evhttp		*http;
	struct event		*statsd_ev;
	int			 statsd_fd;
	struct sockaddr_storage	 statsd_addr;
	size_t			 statsd_len;
	char			*token;
};

static const char *const rcode_names[STATS_RCODES] = {
	"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN",
	"YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE", "RCODE11", "RCODE12", "RCODE13",
	"RCODE14", "RCODE15", "BADVERS", "dropped", "forwarded",
};

static long
rss_bytes(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f == NULL)
		return 0;
	if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
		rss = 0;
	fclose(f);
	return rss * sysconf(_SC_PAGESIZE);
}

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
	for (size_t w = 0; w < st->nworkers; w++)
		hs[w] = &st->wstats[w]->latency;
	histogram_sum(hs, st->nworkers, &lat);
	metric_family(s, "streamdns_authd_answer_duration_seconds", METRIC_HISTOGRAM,
	    "time from receiving a query to its answer being ready");
	histogram_emit(s, "streamdns_authd_answer_duration_seconds", "", &lat);
}

static void
gauge(const struct metric_sink *s, const char *name, const char *help, double v)
{
	metric_family(s, name, METRIC_GAUGE, help);
	metric_sample(s, name, "", v);
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
		gauge(s, "streamdns_authd_seconds_since_last_event",
		    "seconds since the last batch of events was applied (or since start)",
		    (double)now.tv_sec + now.tv_nsec / 1e9 - cs.last_event);
	gauge(s, "streamdns_authd_ready", "1 once caught up with the topic at start-up",
	    atomic_load(&st->ready) ? 1 : 0);
	gauge(s, "streamdns_authd_kafka_up", "0 while every broker is unreachable",
	    atomic_load(&st->kafka_up) ? 1 : 0);
	gauge(s, "streamdns_authd_startup_seconds", "seconds from start to ready (0: not yet)",
	    cs.ready_at);
	gauge(s, "streamdns_authd_zones", "zones (names owning an SOA)", (double)cs.store.zones);
	gauge(s, "streamdns_authd_rrsets", "RRsets in the store", (double)cs.store.rrsets);
	gauge(s, "streamdns_authd_records", "records in the store", (double)cs.store.records);
	gauge(s, "streamdns_authd_names", "owner names in the store", (double)cs.store.names);
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
	metric_family(s, "streamdns_authd_forwarded_total", METRIC_COUNTER,
	    "queries handed to dnsr (names outside every zone, CNAME completions)");
	metric_sample(s, "streamdns_authd_forwarded_total", "", (double)fwd);
	metric_family(s, "streamdns_authd_forward_answers_total", METRIC_COUNTER,
	    "answers received from dnsr");
	metric_sample(s, "streamdns_authd_forward_answers_total", "", (double)ans);
	metric_family(s, "streamdns_authd_forward_failures_total", METRIC_COUNTER,
	    "forwarded queries answered SERVFAIL: dnsr down, timeout or connection lost");
	metric_sample(s, "streamdns_authd_forward_failures_total", "", (double)failed);
	metric_family(s, "streamdns_authd_dnsr_connects_total", METRIC_COUNTER,
	    "connections made to dnsr's socket");
	metric_sample(s, "streamdns_authd_dnsr_connects_total", "", (double)conns);
	histogram_sum(hs, n, &lat);
	metric_family(s, "streamdns_authd_dnsr_duration_seconds", METRIC_HISTOGRAM,
	    "time from handing a query to dnsr to its answer");
	histogram_emit(s, "streamdns_authd_dnsr_duration_seconds", "", &lat);
}

void
admin_collect(struct authd_state *st, const struct metric_sink *s)
{
	collect_queries(st, s);
	collect_forwarding(st, s);
	collect_consumer(st, s);
	gauge(s, "streamdns_authd_resident_memory_bytes", "resident set size",
	    (double)rss_bytes());
	{
		char labels[320], id[200];

		/* A label value may not hold quotes, backslashes or newlines unescaped. */
		snprintf(id, sizeof(id), "%s", st->identity != NULL ? st->identity : "");
		for (char *p = id; *p != '\0'; p++)
			if (*p == '"' || *p == '\\' || *p == '\n')
				*p = '_';
		snprintf(labels, sizeof(labels), "version=\"%s\",identity=\"%s\"",
		    STREAMDNS_VERSION, id);
		metric_family(s, "streamdns_authd_info", METRIC_GAUGE,
		    "constant 1, labelled with the version and this instance's identity");
		metric_sample(s, "streamdns_authd_info", labels, 1);
	}
	metric_family(s, "streamdns_authd_rrl_limited_total", METRIC_COUNTER,
	    "UDP responses dropped or slipped (TC=1) by response rate limiting");
	metric_sample(s, "streamdns_authd_rrl_limited_total", "",
	    st->rrl_limited ? (double)atomic_load(st->rrl_limited) : 0);
}

static void
reply(struct evhttp_request *req, int code, const char *reason, const char *ctype,
    const char *body, size_t len)
{
	struct evbuffer *b = evbuffer_new();

	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", ctype);
	if (b != NULL)
		evbuffer_add(b, body, len);
	evhttp_send_reply(req, code, reason, b);
	if (b != NULL)
		evbuffer_free(b);
}

static void
reply_text(struct evhttp_request *req, int code, const char *reason, const char *text)
{
	reply(req, code, reason, "text/plain; charset=utf-8", text, strlen(text));
}

static void
handle_metrics(struct admin *a, struct evhttp_request *req)
{
	struct strbuf b;
	struct metric_sink sink;

	strbuf_init(&b);
	metrics_prometheus_sink(&sink, &b);
	admin_collect(a->st, &sink);
	if (b.oom)
		reply_text(req, 500, "Internal Server Error", "out of memory\n");
	else
		reply(req, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", b.s, b.len);
	strbuf_free(&b);
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
handle_zones(struct admin *a, struct evhttp_request *req)
{
	struct zone_summary *zs = NULL;
	size_t n = 0;
	json_t *offsets = NULL, *root;
	int64_t before, after;
	char *body;

	for (int attempt = 0; attempt < 5; attempt++) {
		json_decref(offsets);
		free(zs);
		zs = NULL;
		json_decref(offsets_json(a->st, &before));
		rcu_read_lock();
		if (zonemd_summaries(a->st->store, &zs, &n) != 0)
			n = 0;
		rcu_read_unlock();
		offsets = offsets_json(a->st, &after);
		if (before == after)
			break;
	}
	root = json_pack("{s:o, s:o, s:b, s:s}", "zones", zones_json(a, zs, n),
	    "offsets", offsets, "ready", atomic_load(&a->st->ready), "identity",
	    a->st->identity != NULL ? a->st->identity : "");
	body = json_dumps(root, JSON_COMPACT);
	if (body != NULL)
		reply(req, 200, "OK", "application/json", body, strlen(body));
	else
		reply_text(req, 500, "Internal Server Error", "out of memory\n");
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
handle_search(struct admin *a, struct evhttp_request *req, const char *uri)
{
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
		reply_text(req, 400, "Bad Request", "usage: /search?name=GLOB[&type=TYPE]"
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
	reply(req, 200, "OK", "application/json", body, strlen(body));
	free(body);
	json_decref(root);
}

/* Constant-time check of "Authorization: Bearer <token>" (length is not secret). */
static bool
authorized(const struct admin *a, struct evhttp_request *req)
{
	const char *h;
	size_t tl;

	if (a->token == NULL)
		return true;
	h = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
	if (h == NULL || strncmp(h, "Bearer ", 7) != 0)
		return false;
	h += 7;
	tl = strlen(a->token);
	return strlen(h) == tl && sodium_memcmp(h, a->token, tl) == 0;
}

static void
handle_request(struct evhttp_request *req, void *arg)
{
	struct admin *a = arg;
	const char *uri = evhttp_request_get_uri(req);
	char path[64];
	size_t n = strcspn(uri, "?");

	if (n >= sizeof(path))
		n = sizeof(path) - 1;
	memcpy(path, uri, n);
	path[n] = '\0';
	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
		reply_text(req, 405, "Method Not Allowed", "GET only\n");
		return;
	}
	if (!authorized(a, req)) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
		    "Bearer");
		reply_text(req, 401, "Unauthorized", "bearer token required\n");
		return;
	}
	if (strcmp(path, "/health") == 0)
		reply_text(req, 200, "OK", "ok\n");
	else if (strcmp(path, "/ready") == 0)
		atomic_load(&a->st->ready) ? reply_text(req, 200, "OK", "ready\n") :
		    reply_text(req, 503, "Service Unavailable", "not ready: catching up\n");
	else if (strcmp(path, "/metrics") == 0)
		handle_metrics(a, req);
	else if (strcmp(path, "/zones") == 0)
		handle_zones(a, req);
	else if (strcmp(path, "/search") == 0)
		handle_search(a, req, uri);
	else
		reply_text(req, 404, "Not Found", "not found\n");
}

static void
statsd_flush(evutil_socket_t fd, short what, void *arg)
{
	struct admin *a = arg;
	struct strbuf b;
	struct statsd_ctx ctx = { &b, a->conf->statsd_prefix };
	struct metric_sink sink;
	size_t off = 0;

	strbuf_init(&b);
	metrics_statsd_sink(&sink, &ctx);
	admin_collect(a->st, &sink);
	/* Datagrams of whole lines, each under 1400 octets. */
	while (!b.oom && off < b.len) {
		size_t end = off, cut = off;

		while (end < b.len && end - off < 1400) {
			if (b.s[end] == '\n')
				cut = end + 1;
			end++;
		}
		if (cut == off)
			cut = end;
		sendto(a->statsd_fd, b.s + off, cut - off, MSG_DONTWAIT,
		    (struct sockaddr *)&a->statsd_addr, (socklen_t)a->statsd_len);
		off = cut;
	}
	strbuf_free(&b);
}

static char *
read_token(const char *path)
{
	char buf[512];
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL) {
		log_warn("admin token-file %s", path);
		return NULL;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		buf[--n] = '\0';
	if (n == 0) {
		log_warnx("admin token-file %s is empty", path);
		return NULL;
	}
	return xstrdup(buf);
}

static int
admin_bind(struct admin *a)
{
	char *copy = xstrdup(a->conf->admin_listen), *items[16], err[256];
	size_t n = conf_split_list(copy, items, 16);
	int rc = 0;

	for (size_t i = 0; i < n && i < 16 && rc == 0; i++) {
		struct sockaddr_storage ss;
		size_t sslen;
		char host[INET6_ADDRSTRLEN];
		uint16_t port;

		if (conf_parse_sockaddr(items[i], 8053, &ss, &sslen, err, sizeof(err)) != 0) {
			log_warnx("admin listen: %s", err);
			rc = -1;
			break;
		}
		if (ss.ss_family == AF_INET) {
			inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host, sizeof(host));
			port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		} else {
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, host,
			    sizeof(host));
			port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
		}
		if (evhttp_bind_socket_with_handle(a->http, host, port) == NULL) {
			log_warn("admin: cannot listen on %s", items[i]);
			rc = -1;
		}
	}
	free(copy);
	return rc;
}

static int
statsd_setup(struct admin *a)
{
	char err[256];
	struct timeval tv = { a->conf->statsd_interval / 1000,
	    (a->conf->statsd_interval % 1000) * 1000 };

	if (conf_parse_sockaddr(a->conf->statsd, 8125, &a->statsd_addr, &a->statsd_len, err,
	    sizeof(err)) != 0) {
		log_warnx("statsd: %s", err);
		return -1;
	}
	a->statsd_fd = socket(a->statsd_addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (a->statsd_fd < 0) {
		log_warn("statsd socket");
		return -1;
	}
	a->statsd_ev = event_new(a->base, -1, EV_PERSIST, statsd_flush, a);
	event_add(a->statsd_ev, &tv);
	log_info("pushing metrics to statsd at %s every %d ms", a->conf->statsd,
	    a->conf->statsd_interval);
	return 0;
}

static void *
admin_main(void *arg)
{
	struct admin *a = arg;

	rcu_register_thread();
	event_base_dispatch(a->base);
	rcu_unregister_thread();
	return NULL;
}

struct admin *
admin_start(const struct authd_conf *conf, struct authd_state *st)
{
	struct admin *a = xcalloc(1, sizeof(*a));

	a->conf = conf;
	a->st = st;
	a->statsd_fd = -1;
	if ((a->base = event_base_new()) == NULL)
		fatalx("event_base_new");
	if (conf->admin_token_file != NULL &&
	    (a->token = read_token(conf->admin_token_file)) == NULL)
		goto fail;
	if (strcmp(conf->admin_listen, "none") != 0) {
		a->http = evhttp_new(a->base);
		evhttp_set_gencb(a->http, handle_request, a);
		evhttp_set_allowed_methods(a->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD |
		    EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
		if (admin_bind(a) != 0)
			goto fail;
		log_info("admin HTTP on %s", conf->admin_listen);
	}
	if (conf->statsd != NULL && statsd_setup(a) != 0)
		goto fail;
	if (pthread_create(&a->thread, NULL, admin_main, a) != 0)
		fatal("pthread_create");
	return a;
fail:
	a->thread = 0;
	admin_stop(a);
	return NULL;
}

void
admin_stop(struct admin *a)
{
	if (a == NULL)
		return;
	if (a->thread != 0) {
		event_base_loopexit(a->base, NULL);
		pthread_join(a->thread, NULL);
	}
	if (a->statsd_ev != NULL)
		event_free(a->statsd_ev);
	if (a->statsd_fd >= 0)
		close(a->statsd_fd);
	if (a->http != NULL)
		evhttp_free(a->http);
	event_base_free(a->base);
	free(a->token);
	free(a);
}
