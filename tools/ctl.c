/* ctl.c: streamdns-ctl: global options, the -c file, the command table and dispatch. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/sign.h"
#include "tools/ctl.h"

struct ctl_command {
	const char	*name;
	int		(*run)(struct ctl *c, int argc, char **argv);
	const char	*args;
	const char	*help;
};

static const struct ctl_command commands[] = {
	{ "set", ctl_cmd_set, "NAME TYPE TTL RDATA [RDATA ...]",
	    "produce the whole RRset NAME TYPE (each RDATA one record), validated first" },
	{ "delete", ctl_cmd_delete, "NAME TYPE", "produce a tombstone: delete the RRset" },
	{ "import", ctl_cmd_import, "[--origin ORIGIN] [--prune] [--progress] [--dry-run] FILE",
	    "produce one event per RRset of a master file (RFC 1035); with --prune, also "
	    "delete the RRsets of its zones that the file no longer has" },
	{ "dump", ctl_cmd_dump, "[ZONE]",
	    "print the topic's current state (or one zone's) as a master file" },
	{ "watch", ctl_cmd_watch, "[--from-beginning] [--count N]",
	    "print events as they arrive, decoded, or why authd rejects them" },
	{ "status", ctl_cmd_status, "",
	    "watermarks of every partition; zones and RRsets in the topic" },
	{ "keygen", ctl_cmd_keygen, "FILE [NAME]",
	    "write a new Ed25519 secret key to FILE (mode 0600) and its public key to FILE.pub "
	    "(a line for authd's trusted-keys file)" },
	{ "tsig-keygen", ctl_cmd_tsig_keygen, "[--algorithm ALGORITHM] NAME",
	    "print a new TSIG key as an authd.ini [tsig] line and a BIND key clause "
	    "(see tsig-keygen --help)" },
	{ "dnssec", ctl_cmd_dnssec, "secret|enable|ds|status|rollover|disable ...",
	    "DNSSEC: the fleet secret, zones' key sets, DS RRsets, key rollovers "
	    "(see dnssec --help)" },
};

#define NCOMMANDS	(sizeof(commands) / sizeof(commands[0]))

/* ---- global options ---- */

static int
opt_sign_key(void *dst, const char *arg)
{
	struct ctl *c = dst;
	char err[512];

	if (sign_load_secret(arg, c->sk, err, sizeof(err)) != 0) {
		fprintf(stderr, CTL_NAME ": --sign-key: %s\n", err);
		return -1;
	}
	c->sign_key = arg;
	c->signing = true;
	return 0;
}

int
ctl_cmd_keygen(struct ctl *c, int argc, char **argv)
{
	char err[512];

	(void)c;
	if (argc < 1 || argc > 2) {
		fprintf(stderr, "usage: " CTL_NAME " keygen FILE [NAME]\n");
		return CTL_USAGE;
	}
	if (sign_keygen(argv[0], argc == 2 ? argv[1] : NULL, err, sizeof(err)) != 0) {
		fprintf(stderr, CTL_NAME " keygen: %s\n", err);
		return CTL_FAIL;
	}
	printf("secret key in %s (mode 0600), public key in %s.pub: add that line to authd's "
	    "[kafka] trusted-keys file\n", argv[0], argv[0]);
	return CTL_OK;
}

/* --kafka PROP=VALUE: checked by librdkafka itself when a handle is made. */
static int
opt_kafka(void *dst, const char *arg)
{
	struct ctl *c = dst;
	const char *eq = strchr(arg, '=');

	if (eq == NULL || eq == arg) {
		fprintf(stderr, CTL_NAME ": --kafka wants PROPERTY=VALUE, not '%s'\n", arg);
		return -1;
	}
	if (c->nprops == CTL_PROPS_MAX) {
		fprintf(stderr, CTL_NAME ": more than %d --kafka properties\n", CTL_PROPS_MAX);
		return -1;
	}
	c->props[c->nprops].name = strndup(arg, (size_t)(eq - arg));
	c->props[c->nprops].value = strdup(eq + 1);
	if (c->props[c->nprops].name == NULL || c->props[c->nprops].value == NULL)
		fatalx("out of memory");
	c->nprops++;
	return 0;
}

static int
opt_timeout(void *dst, const char *arg)
{
	int ms = ctl_parse_duration(arg);

	if (ms <= 0) {
		fprintf(stderr, CTL_NAME ": --timeout: '%s' is not a duration (250ms, 5s, 1m)\n",
		    arg);
		return -1;
	}
	((struct ctl *)dst)->timeout_ms = ms;
	return 0;
}

static int opt_help(void *dst, const char *arg);

static int
opt_version(void *dst, const char *arg)
{
	(void)dst, (void)arg;
	printf(CTL_NAME " %s\n", STREAMDNS_VERSION);
	exit(CTL_OK);
}

static const struct ctl_option global_options[] = {
	{ "brokers", 'b', "BROKERS", NULL,
	    "bootstrap brokers (default: the -c file's, else 127.0.0.1:9092)",
	    offsetof(struct ctl, brokers) },
	{ "topic", 't', "TOPIC", NULL,
	    "the zone topic (default: the -c file's, else streamdns.zones)",
	    offsetof(struct ctl, topic) },
	{ "config", 'c', "FILE", NULL,
	    "take brokers, topic and [kafka] librdkafka properties from authd's INI file",
	    offsetof(struct ctl, config) },
	{ "kafka", 0, "PROP=VALUE", opt_kafka,
	    "a librdkafka property (SASL, TLS, ...); repeatable; wins over the -c file", 0 },
	{ "timeout", 0, "DURATION", opt_timeout,
	    "longest wait for the broker: connecting, each delivery, reading (default 10s)", 0 },
	{ "sign-key", 0, "FILE", opt_sign_key,
	    "sign every produced event with this Ed25519 secret key (see keygen)", 0 },
	{ "verbose", 'v', NULL, NULL, "show librdkafka's log lines",
	    offsetof(struct ctl, verbose) },
	{ "version", 'V', NULL, opt_version, "print the version and exit", 0 },
	{ "help", 'h', NULL, opt_help, "this text", 0 },
};

static const struct ctl_optset global_optset = {
	NULL, NULL, global_options, sizeof(global_options) / sizeof(global_options[0]),
};

static void
usage(FILE *out)
{
	fprintf(out, "usage: " CTL_NAME " [OPTIONS] COMMAND [ARGS]\n\n"
	    "Produces, imports and inspects the zone events of a Stream-DNS topic. Global\n"
	    "options come before the command.\n\nOptions:\n");
	ctl_options_help(&global_optset, out);
	fprintf(out, "\nCommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %s %s\n      %s\n", commands[i].name, commands[i].args,
		    commands[i].help);
	fprintf(out, "\nExit status: 0 done, 1 failed (bad data, broker, delivery), 2 usage.\n");
}

static int
opt_help(void *dst, const char *arg)
{
	(void)dst, (void)arg;
	usage(stdout);
	exit(CTL_OK);
}

/* ---- option parsing (shared by the commands) ---- */

static const struct ctl_option *
find_long(const struct ctl_option *t, size_t n, const char *name, size_t len)
{
	for (size_t k = 0; k < n; k++)
		if (strlen(t[k].name) == len && strncmp(t[k].name, name, len) == 0)
			return &t[k];
	return NULL;
}

static const struct ctl_option *
find_short(const struct ctl_option *t, size_t n, int ch)
{
	for (size_t k = 0; k < n; k++)
		if (t[k].short_name != 0 && t[k].short_name == ch)
			return &t[k];
	return NULL;
}

/* The help row the parser adds to a table that has a usage text. */
static const struct ctl_option help_option = { "help", 'h', NULL, NULL, "this text", 0 };

/* Handles argv[*i], an option; advances *i past it (and its argument). */
static int
parse_one(const struct ctl_optset *s, void *dst, int argc, char **argv, int *i)
{
	const char *a = argv[*i], *val = NULL;
	const struct ctl_option *o;
	struct ctl_optset help = { NULL, NULL, &help_option, 1 };

	if (a[1] == '-') {
		const char *eq = strchr(a + 2, '=');
		size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);

		o = find_long(s->opts, s->n, a + 2, len);
		if (o == NULL && s->synopsis != NULL)
			o = find_long(help.opts, help.n, a + 2, len);
		val = eq ? eq + 1 : NULL;
	} else {
		o = a[2] == '\0' ? find_short(s->opts, s->n, a[1]) : NULL;
		if (o == NULL && s->synopsis != NULL && a[2] == '\0')
			o = find_short(help.opts, help.n, a[1]);
	}
	if (o == NULL) {
		fprintf(stderr, CTL_NAME ": unknown option '%s' (see --help)\n", a);
		return -1;
	}
	(*i)++;
	if (o->arg != NULL && val == NULL) {
		if (*i >= argc) {
			fprintf(stderr, CTL_NAME ": option '%s' needs %s\n", a, o->arg);
			return -1;
		}
		val = argv[(*i)++];
	} else if (o->arg == NULL && val != NULL) {
		fprintf(stderr, CTL_NAME ": option --%s takes no argument\n", o->name);
		return -1;
	}
	if (o == &help_option) {
		printf("usage: " CTL_NAME " [GLOBAL OPTIONS] %s\n\n%s\n\nOptions:\n", s->synopsis,
		    s->about);
		ctl_options_help(s, stdout);
		exit(CTL_OK);
	}
	if (o->set != NULL)
		return o->set(dst, val);
	if (o->arg == NULL)
		*(bool *)((char *)dst + o->field) = true;
	else
		*(const char **)((char *)dst + o->field) = val;
	return 0;
}

int
ctl_options_parse(const struct ctl_optset *s, void *dst, int argc, char **argv, int *i,
    bool interleave, char **operands)
{
	int nops = 0;

	while (*i < argc) {
		const char *a = argv[*i];

		if (strcmp(a, "--") == 0) {
			(*i)++;
			break;
		}
		if (a[0] != '-' || a[1] == '\0') {
			if (!interleave)
				return 0;
			operands[nops++] = argv[(*i)++];
			continue;
		}
		if (parse_one(s, dst, argc, argv, i) != 0)
			return -1;
	}
	while (interleave && *i < argc)
		operands[nops++] = argv[(*i)++];
	return nops;
}

static void
option_help(const struct ctl_option *o, FILE *out)
{
	char head[64];

	snprintf(head, sizeof(head), "%s%c%s--%s%s%s", o->short_name ? "-" : "",
	    o->short_name ? o->short_name : ' ', o->short_name ? ", " : " ", o->name,
	    o->arg ? " " : "", o->arg ? o->arg : "");
	fprintf(out, "  %-24s %s\n", o->short_name ? head : head + 2, o->help);
}

void
ctl_options_help(const struct ctl_optset *s, FILE *out)
{
	for (size_t k = 0; k < s->n; k++)
		option_help(&s->opts[k], out);
	if (s->synopsis != NULL)
		option_help(&help_option, out);
}

int
ctl_parse_duration(const char *s)
{
	char *end;
	long long n, mult;

	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || end == s || n < 0)
		return -1;
	if (strcmp(end, "ms") == 0)
		mult = 1;
	else if (*end == '\0' || strcmp(end, "s") == 0)
		mult = 1000;
	else if (strcmp(end, "m") == 0)
		mult = 60000;
	else
		return -1;
	if (n > INT_MAX / mult)
		return -1;
	return (int)(n * mult);
}

size_t
ctl_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > CTL_THREADS_MAX ? CTL_THREADS_MAX : (size_t)n;
}

/* ---- configuration ---- */

/*
 * Brokers, topic and librdkafka properties: authd's defaults (its table is the one place
 * they are written), or authd's own file, then the command line on top.
 */
static int
ctl_configure(struct ctl *c, const struct ctl *cli)
{
	size_t n = 0;

	if (cli->config != NULL) {
		if (authd_conf_load(&c->conf, cli->config, stderr) != 0) {
			fprintf(stderr, CTL_NAME ": %s: invalid (errors above)\n", cli->config);
			return -1;
		}
	} else {
		memset(&c->conf, 0, sizeof(c->conf));
		conf_defaults(&authd_conf_schema, &c->conf);
	}
	c->brokers = cli->brokers != NULL ? cli->brokers : c->conf.brokers;
	c->topic = cli->topic != NULL ? cli->topic : c->conf.topic;
	if (c->conf.nprops + cli->nprops > CTL_PROPS_MAX) {
		fprintf(stderr, CTL_NAME ": too many librdkafka properties\n");
		return -1;
	}
	for (size_t k = 0; k < c->conf.nprops; k++)
		c->props[n++] = c->conf.props[k];
	for (size_t k = 0; k < cli->nprops; k++)
		c->props[n++] = cli->props[k];
	c->nprops = n;
	for (size_t k = 0; k < n; k++)
		if (ctl_kafka_check_prop(c->props[k].name, c->props[k].value) != 0)
			return -1;
	c->timeout_ms = cli->timeout_ms;
	c->verbose = cli->verbose;
	c->sign_key = cli->sign_key;
	c->signing = cli->signing;
	memcpy(c->sk, cli->sk, sizeof(c->sk));
	c->progress = isatty(STDERR_FILENO);
	return 0;
}

int
main(int argc, char **argv)
{
	static struct ctl cli, c;
	int i = 1, rc;

	log_init(CTL_NAME, LOG_LVL_WARN);
	cli.timeout_ms = CTL_TIMEOUT_DEFAULT;
	if (ctl_options_parse(&global_optset, &cli, argc, argv, &i, false, NULL) < 0)
		return CTL_USAGE;
	if (i >= argc) {
		usage(stderr);
		return CTL_USAGE;
	}
	for (size_t k = 0; k < NCOMMANDS; k++) {
		if (strcmp(argv[i], commands[k].name) != 0)
			continue;
		if (ctl_configure(&c, &cli) != 0)
			return CTL_USAGE;
		rc = commands[k].run(&c, argc - i - 1, argv + i + 1);
		sodium_memzero(c.sk, sizeof(c.sk));
		sodium_memzero(cli.sk, sizeof(cli.sk));
		authd_conf_free(&c.conf);
		for (size_t p = 0; p < cli.nprops; p++) {
			free(cli.props[p].name);
			free(cli.props[p].value);
		}
		return rc;
	}
	fprintf(stderr, CTL_NAME ": unknown command '%s' (see --help)\n", argv[i]);
	return CTL_USAGE;
}
