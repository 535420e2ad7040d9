/* main.c: streamdns-dnsr: arguments, configuration, the shared cache, workers, signals. */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ares.h>
#include <event2/thread.h>
#include <sodium.h>

#include "dnsr/admin.h"
#include "dnsr/cache.h"
#include "dnsr/dnsr.h"
#include "dnsr/hints.h"
#include "dnsr/infra.h"
#include "dnsr/server.h"
#include "common/dname.h"
#include "common/log.h"
#include "common/privdrop.h"

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: streamdns-dnsr -c FILE [--check-config]\n"
	    "       streamdns-dnsr --version | --help\n"
	    "\n"
	    "A recursive DNS resolver with its own cache (iterating from the root hints, or\n"
	    "forwarding). Options:\n"
	    "  -c, --config FILE   the INI configuration file\n"
	    "  -n, --check-config  check the configuration (and the root hints) and exit\n"
	    "  -v, --version       print the version\n"
	    "  -h, --help          this text and the configuration keys\n"
	    "\nSignals: TERM/INT stop, USR1 logs the counters.\n"
	    "\nConfiguration keys:\n");
	conf_print_help(&dnsr_conf_schema, out);
}

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
	    "sock_slow=%lu", st.queries, st.cache_answers, st.refused, st.resolutions,
	    st.upstream, st.bad_answers, st.failures, cs.entries, cs.bytes, cs.evictions,
	    st.sock_conns, st.sock_queries, st.sock_malformed, st.sock_slow);
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
}

/* Signals go to this thread only: sigwait() until told to stop. */
static void
wait_for_stop(const sigset_t *sigs, struct dnsr_server *srv, struct cache *cache)
{
	int sig;

	for (;;) {
		if (sigwait(sigs, &sig) != 0)
			continue;
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
	char aerr[256];
	struct infra *infra;
	sigset_t sigs;

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	load_start(conf, &start);
	evthread_use_pthreads();	/* loopexit is called on the workers' bases from here */
	if ((cache = cache_new(conf->cache_size, &lim)) == NULL || (infra = infra_new()) == NULL)
		fatalx("out of memory");
	if ((srv = dnsr_server_start(conf, cache, infra, &start)) == NULL)
		fatalx("cannot open the listening sockets");
	log_info("streamdns-dnsr %s answering on %s with %d workers; clients allowed: %s",
	    STREAMDNS_VERSION, conf->listen, conf->workers, conf->allow);
	if ((adm = dnsr_admin_start(conf, srv, cache, aerr, sizeof(aerr))) == NULL)
		fatalx("admin: %s", aerr);
	/* Every socket is open (the Unix socket's file keeps its owner, group and mode). */
	if (conf->user[0] != '\0') {
		char err[256];

		if (drop_privileges(conf->user, err, sizeof(err)) != 0)
			fatalx("%s", err);
		log_info("running as user %s", conf->user);
	}
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
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'n' },
		{ "version", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL;
	bool check = false;
	struct dnsr_conf conf;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "c:nvh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case 'n': check = true; break;
		case 'v': printf("streamdns-dnsr %s\n", STREAMDNS_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 1;
		}
	}
	if (path == NULL || optind != argc) {
		usage(stderr);
		return 1;
	}
	if (dnsr_conf_load(&conf, path, stderr) != 0) {
		dnsr_conf_free(&conf);
		return 1;
	}
	if (check) {
		printf("%s: configuration is valid\n", path);
		dnsr_conf_free(&conf);
		return 0;
	}
	log_init("streamdns-dnsr", (enum log_level)log_level_parse(conf.log_level));
	if (sodium_init() < 0)
		fatalx("libsodium initialisation failed");
	dname_hash_seed(((uint64_t)randombytes_random() << 32) | randombytes_random());
	if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS)
		fatalx("c-ares initialisation failed");
	rc = run(&conf);
	ares_library_cleanup();
	dnsr_conf_free(&conf);
	log_info("stopped");
	return rc;
}
