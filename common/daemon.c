/* daemon.c: the start-up both daemons share: command line, --check-config, signals, user. */
#include <assert.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include <sodium.h>

#include "common/conf.h"
#include "common/daemon.h"
#include "common/dname.h"
#include "common/log.h"
#include "common/privdrop.h"

void
daemon_usage(const struct daemon_info *d, FILE *out)
{
	fprintf(out,
	    "usage: %s -c FILE [--check-config]\n"
	    "       %s --version | --help\n"
	    "\n"
	    "%s Options:\n"
	    "  -c, --config FILE   the INI configuration file\n"
	    "  -n, --check-config  %s\n"
	    "  -v, --version       print the version\n"
	    "  -h, --help          this text and the configuration keys\n"
	    "%s", d->name, d->name, d->about, d->check_help, d->notes);
	conf_print_help(d->schema, out);
}

int
daemon_parse_args(int argc, char **argv, const struct daemon_info *d,
    struct daemon_args *a)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'n' },
		{ "version", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	a->path = NULL;
	a->check = false;
	while ((ch = getopt_long(argc, argv, "c:nvh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': a->path = optarg; break;
		case 'n': a->check = true; break;
		case 'v': printf("%s %s\n", d->name, STREAMDNS_VERSION); return 0;
		case 'h': daemon_usage(d, stdout); return 0;
		default: daemon_usage(d, stderr); return 1;
		}
	}
	if (a->path == NULL || optind != argc) {
		daemon_usage(d, stderr);
		return 1;
	}
	return -1;
}

int
daemon_conf_loaded(int errors, const struct daemon_args *a)
{
	assert(errors >= 0);
	if (errors != 0)
		return 1;	/* the loader printed every error, file:line first */
	if (!a->check)
		return -1;
	printf("%s: configuration is valid\n", a->path);
	return 0;
}

int
daemon_start(const char *name, const char *log_level, char *err, size_t errlen)
{
	int level = log_level_parse(log_level);

	assert(level >= 0);	/* the configuration's check accepted it */
	log_init(name, (enum log_level)level);
	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium initialisation failed");
		return -1;
	}
	/* Seeded per process, so that nobody can aim names at one hash bucket. */
	dname_hash_seed(((uint64_t)randombytes_random() << 32) | randombytes_random());
	return 0;
}

void
daemon_block_signals(sigset_t *sigs, int extra)
{
	sigemptyset(sigs);
	sigaddset(sigs, SIGTERM);
	sigaddset(sigs, SIGINT);
	sigaddset(sigs, SIGHUP);
	if (extra != 0)
		sigaddset(sigs, extra);
	pthread_sigmask(SIG_BLOCK, sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int
daemon_next_signal(const sigset_t *sigs)
{
	int sig;

	while (sigwait(sigs, &sig) != 0)
		;
	return sig;
}

int
daemon_drop_privileges(const char *user, char *err, size_t errlen)
{
	if (user == NULL)
		return 0;
	if (drop_privileges(user, err, errlen) != 0)
		return -1;
	log_info("running as user %s", user);
	return 0;
}
