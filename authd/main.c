/* main.c: streamdns-authd: arguments, configuration, threads, signals. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <urcu.h>

#include "authd/admin.h"
#include "authd/authd.h"
#include "authd/kafka.h"
#include "authd/local.h"
#include "authd/answer.h"
#include "authd/server.h"
#include "authd/signer.h"
#include "common/daemon.h"
#include "common/keyset.h"
#include "common/log.h"

static const struct daemon_info authd_info = {
	"streamdns-authd",
	"An authoritative DNS server whose zones are built from the events of a Kafka\n"
	"topic.",
	"check the configuration and exit (0 when valid)",
	"\nConfiguration keys ([kafka] also takes any librdkafka property):\n",
	&authd_conf_schema,
};

/*
 * SIGHUP: parse the file again into a new config and apply what can change live; an
 * invalid file changes nothing. (Logs go to stderr, which supervisord owns and rotates.)
 */
/* Hands local records to the consumer thread, the store's only writer. */
static void
post_local(struct authd_state *st, struct local_data *d)
{
	pthread_mutex_lock(&st->local_mtx);
	local_free(st->local_pending);
	st->local_pending = d;
	pthread_mutex_unlock(&st->local_mtx);
}

/* Publishes a new [zones] serve list; the old one is freed once no reader can hold it. */
static void
swap_zone_filter(struct authd_state *st, struct zone_filter *f)
{
	struct zone_filter *old = rcu_xchg_pointer(&st->serve, f);

	synchronize_rcu();
	free(old);
}

static void
reload(const char *path, struct authd_state *st)
{
	struct authd_conf nc;
	struct local_data *d = NULL;

	if (authd_conf_load(&nc, path, stderr) != 0) {
		log_warnx("SIGHUP: %s is invalid (errors above); keeping the running "
		    "configuration", path);
		authd_conf_free(&nc);
		return;
	}
	if (nc.local_zone_file != NULL && (d = local_load(nc.local_zone_file)) == NULL) {
		log_warnx("SIGHUP: %s has errors; keeping the running configuration and the "
		    "previous local records", nc.local_zone_file);
		authd_conf_free(&nc);
		return;
	}
	post_local(st, d != NULL ? d : xcalloc(1, sizeof(*d)));
	swap_zone_filter(st, authd_zone_filter(&nc));
	log_set_level((enum log_level)log_level_parse(nc.log_level));
	log_set_json(strcmp(nc.log_format, "json") == 0);
	log_info("SIGHUP: reloaded %s (log level %s, format %s)", path, nc.log_level,
	    nc.log_format);
	authd_conf_free(&nc);
}

int
main(int argc, char **argv)
{
	struct daemon_args args;
	struct authd_conf conf;
	struct authd_state st;
	struct consumer *cons;
	struct server *srv;
	struct admin *adm;
	char err[256];
	sigset_t sigs;
	int rc, sig;

	if ((rc = daemon_parse_args(argc, argv, &authd_info, &args)) >= 0)
		return rc;
	rc = daemon_conf_loaded(authd_conf_load(&conf, args.path, stderr), &args);
	if (rc >= 0) {
		authd_conf_free(&conf);
		return rc;
	}
	if (conf.identity == NULL) {
		char host[256] = "";

		gethostname(host, sizeof(host) - 1);
		conf.identity = xstrdup(host);
	}
	if (daemon_start(authd_info.name, conf.log_level, err, sizeof(err)) != 0)
		fatalx("%s", err);
	log_set_json(strcmp(conf.log_format, "json") == 0);
	/* Signals go to the main thread only: block them before any thread starts. */
	daemon_block_signals(&sigs, 0);

	memset(&st, 0, sizeof(st));
	pthread_mutex_init(&st.status_mtx, NULL);
	pthread_mutex_init(&st.local_mtx, NULL);
	xfr_stats_init(&st.xfr);
	st.identity = conf.identity;
	verdicts_init(&st.verdicts, conf.identity);
	st.serve = authd_zone_filter(&conf);
	if (conf.local_zone_file != NULL) {
		struct local_data *d = local_load(conf.local_zone_file);

		if (d == NULL)
			fatalx("%s has errors (above)", conf.local_zone_file);
		post_local(&st, d);
	}
	atomic_store(&st.kafka_up, true);
	st.store = store_new();
	store_derive_serials(st.store, conf.serial_topic);
	sign_init(conf.dnssec_cache_size);
	rcu_register_thread();
	if ((srv = server_start(&conf, &st)) == NULL)
		fatalx("cannot open the listening sockets");
	log_info("streamdns-authd %s (identity %s) starting; not ready until caught up with topic %s "
	    "at %s (queries get SERVFAIL, EDE 14 Not Ready, until then)", STREAMDNS_VERSION,
	    conf.identity, conf.topic, conf.brokers);
	if ((adm = admin_start(&conf, &st)) == NULL)
		fatalx("cannot start the admin endpoint");
	/* The fleet secret stays readable by root only: it is read before root is left. */
	if (conf.dnssec_secret_file != NULL) {
		if (keyset_secrets_load(conf.dnssec_secret_file, &st.secrets, err,
		    sizeof(err)) != 0)
			fatalx("%s", err);
	}
	if (daemon_drop_privileges(conf.user, err, sizeof(err)) != 0)
		fatalx("%s", err);
	if (conf.notify != NULL &&
	    (st.notifier = notifier_start(st.store, conf.notify, conf.notify_key, conf.tsig,
	    &st.notify)) == NULL)
		fatalx("[xfr] notify: cannot start (above)");
	cons = consumer_start(&conf, &st);
	while ((sig = daemon_next_signal(&sigs)) == SIGHUP)
		reload(args.path, &st);
	log_info("signal %d: stopping", sig);
	atomic_store(&st.stopping, true);
	/* The admin thread reads the workers' counters: it stops before they are freed. */
	admin_stop(adm);
	server_stop(srv);
	consumer_stop(cons);
	notifier_stop(st.notifier);
	verdicts_free(&st.verdicts);
	xfr_stats_free(&st.xfr);
	store_free(st.store);
	rcu_barrier();		/* the signature caches replaced by call_rcu() */
	sign_shutdown();
	sodium_memzero(&st.secrets, sizeof(st.secrets));
	local_free(st.local_pending);
	free(st.serve);
	rcu_unregister_thread();
	authd_conf_free(&conf);
	log_info("stopped");
	return 0;
}
