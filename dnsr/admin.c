/* admin.c: dnsr's metrics collector and admin paths, served by common/httpadmin. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libknot/codes.h>
#include <libknot/lookup.h>

#include "dnsr/admin.h"
#include "dnsr/validate.h"
#include "common/httpadmin.h"
#include "common/log.h"

struct dnsr_admin {
	struct dnsr_server	*srv;
	struct cache		*cache;
	struct httpadmin	*http;
};


static void
collect_cache(struct cache *cache, const struct metric_sink *s)
{
	struct cache_stats cs;

	cache_get_stats(cache, &cs);
	metric_counter(s, "streamdns_dnsr_cache_hits_total", "cache lookups that found an entry",
	    (double)cs.hits);
	metric_counter(s, "streamdns_dnsr_cache_misses_total", "cache lookups that found none",
	    (double)cs.misses);
	metric_counter(s, "streamdns_dnsr_cache_inserts_total", "entries stored in the cache",
	    (double)cs.inserts);
	metric_counter(s, "streamdns_dnsr_cache_evictions_total",
	    "entries evicted to stay within [cache] max-size", (double)cs.evictions);
	metric_gauge(s, "streamdns_dnsr_cache_entries", "entries in the cache",
	    (double)cs.entries);
	metric_gauge(s, "streamdns_dnsr_cache_bytes",
	    "memory charged to the cache entries", (double)cs.bytes);
}

/* libknot's RCODE names (as authd's metrics show them); RCODE<n> for unassigned ones. */
static const char *
rcode_name(int rcode, char *buf, size_t len)
{
	const knot_lookup_t *l = knot_lookup_by_id(knot_rcode_names, rcode);

	if (l != NULL)
		return l->name;
	snprintf(buf, len, "RCODE%d", rcode);
	return buf;
}

/* The plain counters of struct dnsr_stats: one sample each, no labels. */
static const struct stat_counter {
	const char	*name;
	const char	*help;
	size_t		 offset;	/* of an unsigned long in struct dnsr_stats */
} stat_counters[] = {
#define STAT(f)	offsetof(struct dnsr_stats, f)
	{ "streamdns_dnsr_queries_received_total",
	    "client queries received (well-formed enough to answer)", STAT(queries) },
	{ "streamdns_dnsr_cache_answers_total", "queries answered from the cache at once",
	    STAT(cache_answers) },
	{ "streamdns_dnsr_refused_total", "queries refused by [server] allow", STAT(refused) },
	{ "streamdns_dnsr_forwarding_loops_total",
	    "queries that were our own, back through a forwarder (SERVFAIL)", STAT(loops) },
	{ "streamdns_dnsr_resolutions_total", "resolutions started for clients",
	    STAT(resolutions) },
	{ "streamdns_dnsr_resolution_failures_total", "resolutions that ended in SERVFAIL",
	    STAT(failures) },
	{ "streamdns_dnsr_upstream_queries_total", "queries sent to upstream servers",
	    STAT(upstream) },
	{ "streamdns_dnsr_upstream_timeouts_total",
	    "upstream queries unanswered within [resolver] query-timeout",
	    STAT(upstream_timeouts) },
	{ "streamdns_dnsr_upstream_errors_total",
	    "upstream queries that failed (refused, unreachable)", STAT(upstream_errors) },
	{ "streamdns_dnsr_upstream_bad_answers_total",
	    "upstream answers rejected (lame, REFUSED, SERVFAIL, malformed, off-question)",
	    STAT(bad_answers) },
	{ "streamdns_dnsr_upstream_addresses_skipped_total",
	    "server addresses passed over (each time met): special-use, or loopback with "
	    "do-not-query-localhost", STAT(addrs_skipped) },
	{ "streamdns_dnsr_upstream_minimised_queries_total",
	    "upstream queries sent with a minimised name (RFC 9156), counted in "
	    "upstream_queries_total too", STAT(qmin_queries) },
	{ "streamdns_dnsr_qname_minimisation_fallbacks_total",
	    "times relaxed QNAME minimisation gave up on a zone and asked the full name "
	    "(NXDOMAIN from an unsigned zone, REFUSED, SERVFAIL, lame or no answer)",
	    STAT(qmin_fallbacks) },
	{ "streamdns_dnsr_socket_connections_total",
	    "authd connections accepted on the Unix socket", STAT(sock_conns) },
	{ "streamdns_dnsr_socket_queries_total", "QUERY frames received from authd",
	    STAT(sock_queries) },
	{ "streamdns_dnsr_socket_malformed_total", "malformed frames (answered with ERROR 1)",
	    STAT(sock_malformed) },
	{ "streamdns_dnsr_socket_slow_total",
	    "authd connections ended for not reading their answers", STAT(sock_slow) },
#undef STAT
};

static void
collect_stats(const struct dnsr_stats *st, const struct metric_sink *s)
{
	char labels[64], rc[16];

	metric_family(s, "streamdns_dnsr_queries_total", METRIC_COUNTER,
	    "client queries answered, by transport (socket: authd's) and rcode");
	for (int t = 0; t < DNSR_TRANSPORTS; t++) {
		for (int r = 0; r < 16; r++) {
			/* NOERROR always, so that every transport has a series. */
			if (st->answers[t][r] == 0 && r != 0)
				continue;
			snprintf(labels, sizeof(labels), "transport=\"%s\",rcode=\"%s\"",
			    dnsr_transport_names[t], rcode_name(r, rc, sizeof(rc)));
			metric_sample(s, "streamdns_dnsr_queries_total", labels,
			    (double)st->answers[t][r]);
		}
	}
	for (size_t i = 0; i < sizeof(stat_counters) / sizeof(stat_counters[0]); i++) {
		const struct stat_counter *c = &stat_counters[i];

		metric_counter(s, c->name, c->help,
		    (double)*(const unsigned long *)((const char *)st + c->offset));
	}
	metric_family(s, "streamdns_dnsr_resolution_duration_seconds", METRIC_HISTOGRAM,
	    "time from starting a resolution to its answer");
	histogram_emit(s, "streamdns_dnsr_resolution_duration_seconds", "",
	    &st->resolve_latency);
	metric_family(s, "streamdns_dnsr_upstream_dropped_total", METRIC_COUNTER,
	    "upstream answers dropped before use: id or question mismatch, foreign client "
	    "cookie, letter case changed (0x20; asked again over TCP)");
	metric_sample(s, "streamdns_dnsr_upstream_dropped_total", "reason=\"mismatch\"",
	    (double)st->drop_mismatched);
	metric_sample(s, "streamdns_dnsr_upstream_dropped_total", "reason=\"cookie\"",
	    (double)st->drop_cookie);
	metric_sample(s, "streamdns_dnsr_upstream_dropped_total", "reason=\"case\"",
	    (double)st->drop_case_0x20);
	metric_family(s, "streamdns_dnsr_validation_total", METRIC_COUNTER,
	    "results DNSSEC-validated, by verdict (RFC 4035 4.3)");
	for (int k = SEC_INSECURE; k <= SEC_SECURE; k++) {
		static const char *const names[] = { "", "insecure", "indeterminate", "bogus",
		    "secure" };

		snprintf(labels, sizeof(labels), "result=\"%s\"", names[k]);
		metric_sample(s, "streamdns_dnsr_validation_total", labels,
		    (double)st->validated[k]);
	}
	metric_family(s, "streamdns_dnsr_validation_duration_seconds", METRIC_HISTOGRAM,
	    "time to validate a result, its chain of trust's queries included");
	histogram_emit(s, "streamdns_dnsr_validation_duration_seconds", "",
	    &st->validation_time);
	metric_family(s, "streamdns_dnsr_upstream_rtt_seconds", METRIC_HISTOGRAM,
	    "round-trip time of answered upstream queries");
	histogram_emit(s, "streamdns_dnsr_upstream_rtt_seconds", "", &st->upstream_rtt);
}

void
dnsr_admin_collect(struct dnsr_server *srv, struct cache *cache, const struct metric_sink *s)
{
	struct dnsr_stats st;

	dnsr_server_stats(srv, &st);
	collect_stats(&st, s);
	collect_cache(cache, s);
	metric_gauge(s, "streamdns_dnsr_resident_memory_bytes", "resident set size",
	    (double)httpadmin_rss_bytes());
	httpadmin_info(s, "streamdns_dnsr_info", NULL);
}

static void
collect(void *arg, const struct metric_sink *s)
{
	struct dnsr_admin *a = arg;

	dnsr_admin_collect(a->srv, a->cache, s);
}

/* Started once the server listens, and dnsr has nothing to catch up: always ready. */
static void
handle_ready(struct evhttp_request *req, const char *uri, void *arg)
{
	httpadmin_reply_text(req, 200, "OK", "ready\n");
}

static const struct httpadmin_route routes[] = {
	{ "/ready", handle_ready },
};

struct dnsr_admin *
dnsr_admin_start(const struct dnsr_conf *conf, struct dnsr_server *srv, struct cache *cache,
    char *err, size_t errlen)
{
	struct dnsr_admin *a = xcalloc(1, sizeof(*a));
	struct httpadmin_conf hc = { HTTPADMIN_CONF_KEYS(conf, 8054), .collect = collect,
	    .routes = routes, .nroutes = sizeof(routes) / sizeof(*routes), .arg = a };

	a->srv = srv;
	a->cache = cache;
	a->http = httpadmin_start(&hc, err, errlen);
	if (a->http == NULL) {
		free(a);
		a = NULL;
	}
	return a;
}

void
dnsr_admin_stop(struct dnsr_admin *a)
{
	if (a == NULL)
		return;
	httpadmin_stop(a->http);
	free(a);
}
