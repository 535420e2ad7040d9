/* main.c: streamdns-dnsr: arguments, configuration, the shared cache, workers, signals. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ares.h>
#include <event2/thread.h>

#include "dnsr/admin.h"
#include "dnsr/anchor.h"
#include "dnsr/cache.h"
#include "dnsr/dnsr.h"
#include "dnsr/hints.h"
#include "dnsr/infra.h"
#include "dnsr/server.h"
#include "common/daemon.h"
#include "common/log.h"

static const struct daemon_info dnsr_info = {
	"streamdns-dnsr",
	"A recursive DNS resolver with its own cache (iterating from the root hints, or\n"
	"forwarding).",
	"check the configuration (the root hints and trust anchors too) and exit",
	"\nSignals: TERM/INT stop, USR1 logs the counters.\n"
	"\nConfiguration keys:\n",
	&dnsr_conf_schema,
};

static void
log_stats(struct dnsr_server *srv, struct cache *cache)
{
	struct dnsr_stats st;
	struct cache_stats cs;

	dnsr_server_stats(srv, &st);
	cache_get_stats(cache, &cs);
	log_info("stats: queries=%lu cache_answers=%lu refused=%lu resolutions=%lu "
	    "upstream=%lu bad_answers=%lu servfail=%lu cache_entries=%zu cache_bytes=%zu "
	    "cache_evictions=%lu sock_conns=%lu sock_queries=%lu sock_malformed=%lu "
	    "sock_slow=%lu addrs_skipped=%lu", st.queries, st.cache_answers, st.refused,
	    st.resolutions, st.upstream, st.bad_answers, st.failures, cs.entries, cs.bytes,
	    cs.evictions, st.sock_conns, st.sock_queries, st.sock_malformed, st.sock_slow,
	    st.addrs_skipped);
}

/* Root hints (recursive) or forwarders (forward): where every resolution starts. */
static void
load_start(const struct dnsr_conf *conf, struct hints *start)
{
	char err[256];

	if (conf->mode == DNSR_FORWARD) {
		if (hints_forwarders(start, conf->forwarders, err, sizeof(err)) != 0)
			fatalx("forwarders: %s", err);
		log_info("forward mode: %zu forwarders", start->nns);
	} else {
		if (hints_load(start, conf->root_hints_path, conf->query_port, err,
		    sizeof(err)) != 0)
			fatalx("root hints: %s", err);
		log_info("recursive mode: %zu root servers from %s, upstream port %d",
		    start->nns, conf->root_hints_path, conf->query_port);
	}
	if (conf->do_not_query_localhost && hints_on_loopback(start))
		log_info("do-not-query-localhost: %s on loopback, so loopback servers are "
		    "queried", conf->mode == DNSR_FORWARD ? "forwarders" : "root hints");
	for (size_t i = 0; i < conf->nzones; i++) {
		const struct dnsr_zone *z = conf->zones[i];
		char name[DNAME_STRLEN];

		log_info("%s %s: %zu servers (RD=%d)%s",
		    z->kind == DNSR_ZONE_FORWARD ? "forward-zone" : "stub-zone",
		    dname_to_str(z->name, name, sizeof(name)), z->servers->nns,
		    z->kind == DNSR_ZONE_FORWARD, z->insecure ? ", domain-insecure" : "");
	}
}

/*
 * The trust anchors were loaded with the configuration (dnsr_conf_load() fails when
 * they do not); workers reach them through iter_env's conf. Say what is in force.
 */
static void
log_dnssec(const struct dnsr_conf *conf)
{
	if (conf->validation == DNSR_VALIDATION_NO) {
		log_info("DNSSEC validation off (validation = no): answers are not checked");
		return;
	}
	log_info("DNSSEC validation %s: %zu trust anchors from %s%s%s",
	    conf->validation_str, anchors_count(conf->anchors), conf->trust_anchor_file,
	    conf->domain_insecure[0] != '\0' ? "; domain-insecure: " : "", conf->domain_insecure);
}

/* Signals go to this thread only: sigwait() until told to stop. */
static void
wait_for_stop(const sigset_t *sigs, struct dnsr_server *srv, struct cache *cache)
{
	int sig;

	for (;;) {
		sig = daemon_next_signal(sigs);
		if (sig == SIGUSR1) {
			log_stats(srv, cache);
			continue;
		}
		if (sig == SIGHUP) {
			log_info("SIGHUP: nothing to reload yet");
			continue;
		}
		log_info("signal %d: stopping", sig);
		return;
	}
}

static int
run(const struct dnsr_conf *conf)
{
	struct cache_limits lim = { (uint32_t)conf->min_ttl, (uint32_t)conf->max_ttl,
	    (uint32_t)conf->max_negative_ttl };
	static struct hints start;
	struct dnsr_server *srv;
	struct dnsr_admin *adm;
	struct cache *cache;
	char err[256];
	struct infra *infra;
	sigset_t sigs;

	daemon_block_signals(&sigs, SIGUSR1);
	load_start(conf, &start);
	log_dnssec(conf);
	evthread_use_pthreads();	/* loopexit is called on the workers' bases from here */
	if ((cache = cache_new(conf->cache_size, &lim)) == NULL || (infra = infra_new()) == NULL)
		fatalx("out of memory");
	if ((srv = dnsr_server_start(conf, cache, infra, &start)) == NULL)
		fatalx("cannot open the listening sockets");
	log_info("streamdns-dnsr %s answering on %s with %d workers; clients allowed: %s",
	    STREAMDNS_VERSION, conf->listen, conf->workers, conf->allow);
	if ((adm = dnsr_admin_start(conf, srv, cache, err, sizeof(err))) == NULL)
		fatalx("admin: %s", err);
	/* Every socket is open (the Unix socket's file keeps its owner, group and mode). */
	if (daemon_drop_privileges(conf->user[0] != '\0' ? conf->user : NULL, err,
	    sizeof(err)) != 0)
		fatalx("%s", err);
	wait_for_stop(&sigs, srv, cache);
	/* The admin thread reads the workers' counters and the cache: it stops first. */
	dnsr_admin_stop(adm);
	log_stats(srv, cache);
	dnsr_server_stop(srv);
	infra_free(infra);
	cache_free(cache);
	return 0;
}

int
main(int argc, char **argv)
{
	struct daemon_args args;
	struct dnsr_conf conf;
	char err[256];
	int rc;

	if ((rc = daemon_parse_args(argc, argv, &dnsr_info, &args)) >= 0)
		return rc;
	rc = daemon_conf_loaded(dnsr_conf_load(&conf, args.path, stderr), &args);
	if (rc >= 0) {
		dnsr_conf_free(&conf);
		return rc;
	}
	if (daemon_start(dnsr_info.name, conf.log_level, err, sizeof(err)) != 0)
		fatalx("%s", err);
	if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS)
		fatalx("c-ares initialisation failed");
	rc = run(&conf);
	ares_library_cleanup();
	dnsr_conf_free(&conf);
	log_info("stopped");
	return rc;
}
