/* daemon.h: what both daemons do around their own work: command line, start-up, signals. */
#ifndef STREAMDNS_DAEMON_H
#define STREAMDNS_DAEMON_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct conf_schema;

/* What a daemon's --help says; the options themselves are the same for every daemon. */
struct daemon_info {
	const char			*name;		/* "streamdns-authd" */
	const char			*about;		/* what it is, before "Options:" */
	const char			*check_help;	/* what -n checks */
	const char			*notes;		/* after the options, before the keys */
	const struct conf_schema	*schema;	/* its configuration keys */
};

/* Prints the usage text, then every configuration key (conf_print_help()). */
void daemon_usage(const struct daemon_info *d, FILE *out);

/* The command line every daemon takes: -c FILE [--check-config] | --version | --help. */
struct daemon_args {
	const char	*path;		/* -c, --config */
	bool		 check;		/* -n, --check-config */
};

/*
 * Parses argv into a. Returns -1 when the daemon goes on, or the status main returns:
 * 0 after --version (name and STREAMDNS_VERSION) or --help (the usage on stdout), 1
 * after a bad command line (the usage on stderr).
 */
int daemon_parse_args(int argc, char **argv, const struct daemon_info *d,
    struct daemon_args *a);

/*
 * What the configuration's load says to do, given its error count: -1 to go on, or the
 * status main returns (1: the file has errors; 0: --check-config and the file is valid,
 * which it says). The caller frees its configuration when the answer is not -1.
 */
int daemon_conf_loaded(int errors, const struct daemon_args *a);

/*
 * After the configuration is read, before any thread: logging as name at log_level,
 * libsodium, a random seed for the name hashes. 0, or -1 with err.
 */
int daemon_start(const char *name, const char *log_level, char *err, size_t errlen);

/*
 * Blocks SIGTERM, SIGINT, SIGHUP and extra (0: none) in the calling thread, so in every
 * thread started after it, for daemon_next_signal(); SIGPIPE is ignored (a peer that
 * closes is an error return, not a death).
 */
void daemon_block_signals(sigset_t *sigs, int extra);

/* Waits for one of sigs (blocked by daemon_block_signals()) and returns it. */
int daemon_next_signal(const sigset_t *sigs);

/*
 * Once every privileged socket is open: becomes user for good, and logs it. NULL stays
 * as started. 0, or -1 with err.
 */
int daemon_drop_privileges(const char *user, char *err, size_t errlen);

#endif
