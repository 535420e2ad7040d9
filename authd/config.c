/* config.c: streamdns-authd's configuration keys (the table) and librdkafka pass-through. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <librdkafka/rdkafka.h>
#include <sodium.h>

#include "authd/authd.h"
#include "authd/answer.h"
#include "authd/local.h"
#include "authd/updater.h"
#include "authd/xfr.h"
#include "common/acl.h"
#include "common/dname.h"
#include "common/keyset.h"
#include "common/log.h"
#include "common/sign.h"
#include "common/tsig.h"

#define OFF(f) offsetof(struct authd_conf, f)

#define NAME_LIST_MAX	1024

static int
check_serial(const char *value, char *err, size_t errlen)
{
	if (strcmp(value, "topic") != 0 && strcmp(value, "as-is") != 0) {
		snprintf(err, errlen, "'%s' is not topic or as-is", value);
		return -1;
	}
	return 0;
}

static int
check_absolute_name(void *arg, const char *item, char *err, size_t errlen)
{
	uint8_t wire[DNAME_MAXLEN];
	size_t l = strlen(item);

	if (l == 0 || item[l - 1] != '.' || dname_from_str(item, NULL, wire) < 0) {
		snprintf(err, errlen, "'%s' is not an absolute domain name", item);
		return -1;
	}
	return 0;
}

/* A comma-separated list of absolute domain names. */
static int
conf_check_name_list(const char *value, char *err, size_t errlen)
{
	long n = conf_list_each(value, NAME_LIST_MAX, check_absolute_name, NULL, err, errlen);

	if (n == 0 || n > NAME_LIST_MAX) {
		snprintf(err, errlen, n == 0 ? "empty list" : "more than 1024 names");
		return -1;
	}
	return n < 0 ? -1 : 0;
}

static const struct conf_key authd_keys[] = {
	{ "server", "listen", CONF_SHARED, .offset = OFF(listen) },
	{ "server", "workers", CONF_SHARED, .offset = OFF(workers) },
	{ "server", "udp-payload-size", CONF_SHARED, .offset = OFF(udp_payload_size) },
	{ "server", "tcp-idle-timeout", CONF_SHARED, .offset = OFF(tcp_idle_timeout) },
	{ "server", "tcp-max-clients", CONF_SHARED, .offset = OFF(tcp_max_clients) },
	{ "server", "user", CONF_STR, 0, 0, NULL, OFF(user), NULL,
	    "after binding the sockets, run as this user (when started as root)" },
	{ "server", "identity", CONF_STR, 0, 0, NULL, OFF(identity), NULL,
	    "this instance's name (NSID, id.server., logs, /zones); default: the host name" },
	{ "server", "nsid", CONF_BOOL, 0, 0, "no", OFF(nsid), NULL,
	    "answer the EDNS NSID option (RFC 5001) with the identity" },
	{ "server", "identity-queries", CONF_BOOL, 0, 0, "yes", OFF(identity_queries), NULL,
	    "answer CH TXT id.server. and hostname.bind. with the identity" },
	{ "server", "version", CONF_STR, 0, 0, NULL, OFF(version), NULL,
	    "answer CH TXT version.bind./version.server. with this (unset: REFUSED)" },
	{ "zones", "serve", CONF_STR, 0, 0, NULL, OFF(serve), conf_check_name_list,
	    "serve only these zones of the topic (comma-separated); default: all (SIGHUP)" },
	{ "zones", "serial", CONF_STR, 0, 0, "topic", OFF(serial_str), check_serial,
	    "topic (derived from the topic, the same on every instance) or as-is (the SOA "
	    "event's own)" },
	{ "xfr", "allow-transfer", CONF_STR, 0, 0, NULL, OFF(allow_transfer), xfr_acl_check,
	    "who may transfer zones (AXFR/IXFR): CIDR, key:NAME or CIDR key:NAME, ...; "
	    "default: nobody" },
	{ "xfr", "notify", CONF_STR, 0, 0, NULL, OFF(notify), conf_check_addr_list,
	    "send NOTIFY to these ADDR:PORT when a zone's serial changes" },
	{ "xfr", "notify-key", CONF_STR, 0, 0, NULL, OFF(notify_key), NULL,
	    "the [tsig] key that signs NOTIFY messages (secondaries require it)" },
	{ "local", "zone-file", CONF_STR, 0, 0, NULL, OFF(local_zone_file), NULL,
	    "master file of instance-local records, overriding the topic's (SIGHUP)" },
	{ "server", "cookies", CONF_BOOL, 0, 0, "yes", OFF(cookies), NULL,
	    "DNS cookies (RFC 7873, server cookies per RFC 9018)" },
	{ "server", "cookie-secret", CONF_STR, 0, 0, NULL, OFF(cookie_secret),
	    conf_check_hex16, "32 hex digits shared by a fleet behind one address (random if unset)" },
	{ "resolver", "socket", CONF_STR, 0, 0, NULL, OFF(resolver_socket), NULL,
	    "dnsr's Unix socket: names outside every zone are resolved there (unset: REFUSED)" },
	{ "resolver", "recursion-allow", CONF_STR, 0, 0, "127.0.0.0/8, ::1",
	    OFF(recursion_allow), acl_check_list,
	    "clients whose RD=1 queries for other names go to dnsr (CIDR list)" },
	{ "resolver", "timeout", CONF_MSEC, 50, 60000, "1s", OFF(resolver_timeout), NULL,
	    "a forwarded query without an answer by then gets SERVFAIL (EDE 22)" },
	{ "rrl", "responses-per-second", CONF_INT, 0, 1000000, "0", OFF(rrl_rate), NULL,
	    "UDP responses per second per client prefix (0: rate limiting off)" },
	{ "rrl", "slip", CONF_INT, 0, 100, "2", OFF(rrl_slip), NULL,
	    "every N-th limited response is sent truncated (TC=1) instead of dropped; 0: none" },
	{ "rrl", "ipv4-prefix-length", CONF_INT, 8, 32, "24", OFF(rrl_v4_prefix), NULL,
	    "IPv4 clients are counted per prefix of this length" },
	{ "rrl", "ipv6-prefix-length", CONF_INT, 16, 128, "56", OFF(rrl_v6_prefix), NULL,
	    "IPv6 clients are counted per prefix of this length" },
	{ "kafka", "brokers", CONF_STR, 0, 0, "127.0.0.1:9092", OFF(brokers), NULL,
	    "bootstrap brokers (librdkafka bootstrap.servers)" },
	{ "kafka", "topic", CONF_STR, 0, 0, "streamdns.zones", OFF(topic), NULL,
	    "the compacted zone topic; every partition is read" },
	{ "kafka", "require-signed", CONF_BOOL, 0, 0, "no", OFF(require_signed), NULL,
	    "accept only events signed by a key of trusted-keys (Ed25519)" },
	{ "kafka", "trusted-keys", CONF_STR, 0, 0, NULL, OFF(trusted_keys), NULL,
	    "file of trusted public keys, one '<base64> [name]' per line" },
	{ "kafka", "sign-key", CONF_STR, 0, 0, NULL, OFF(sign_key), NULL,
	    "Ed25519 secret key (streamdns-ctl keygen) signing the events UPDATEs write; "
	    "required with require-signed when [update] grants a key" },
	{ "kafka", "retry-interval", CONF_MSEC, 100, 600000, "2s", OFF(retry_interval), NULL,
	    "wait between attempts while the broker or the topic is unavailable" },
	{ "log", "level", CONF_SHARED, .offset = OFF(log_level),
	    .help = "error, warn, info or debug (SIGHUP reloads it)" },
	{ "log", "format", CONF_STR, 0, 0, "text", OFF(log_format), conf_check_log_format,
	    "text or json (one JSON object per line)" },
	{ "log", "query-log", CONF_BOOL, 0, 0, "no", OFF(query_log), NULL,
	    "log queries (client, name, type, rcode, latency)" },
	{ "log", "query-log-sample", CONF_INT, 1, 1000000, "1", OFF(query_log_sample), NULL,
	    "log one query in N" },
	{ "admin", "listen", CONF_SHARED, .offset = OFF(admin_listen), .def = "127.0.0.1:8053",
	    .help = "HTTP admin (/metrics /health /ready /zones), or none" },
	{ "admin", "token-file", CONF_SHARED, .offset = OFF(admin_token_file) },
	{ "metrics", "statsd", CONF_SHARED, .offset = OFF(statsd) },
	{ "metrics", "statsd-prefix", CONF_SHARED, .offset = OFF(statsd_prefix),
	    .def = "streamdns.authd" },
	{ "metrics", "statsd-interval", CONF_SHARED, .offset = OFF(statsd_interval) },
	{ "store", "snapshot", CONF_STR, 0, 0, NULL, OFF(snapshot), NULL,
	    "snapshot file: restarts load it and resume from its offsets" },
	{ "store", "snapshot-interval", CONF_MSEC, 1000, 86400000, "5m",
	    OFF(snapshot_interval), NULL, "write the snapshot this often (and at stop)" },
	{ "dnssec", "secret-file", CONF_STR, 0, 0, NULL, OFF(dnssec_secret_file), NULL,
	    "the fleet secret sealing the zones' private keys (streamdns-ctl dnssec secret); "
	    "while rotating it: NEW, OLD" },
	{ "dnssec", "propagation-delay", CONF_MSEC, 0, 604800000, "1h", OFF(dnssec_delay),
	    NULL, "added to TTLs in rollover timings: how long a change takes to be seen" },
	{ "dnssec", "signature-cache", CONF_SIZE, 64 * 1024, (long long)1 << 40, "64M",
	    OFF(dnssec_cache_size), NULL, "memory for signatures of negative answers" },
};

static const char *const passthrough_sections[] = { "kafka", "tsig", "update", NULL };

/* Every key of [update] is a [tsig] key's name: NAME = ZONE, ... (checked at the end). */
static int
update_passthrough(struct authd_conf *c, const char *name, const char *value, char *err,
    size_t errlen)
{
	for (size_t i = 0; i < c->ngrants; i++) {
		if (strcasecmp(c->grants[i].key, name) == 0) {
			snprintf(err, errlen, "set twice in section [update]");
			return -1;
		}
	}
	if (c->ngrants == UPDATE_GRANTS_MAX) {
		snprintf(err, errlen, "more than %d keys", UPDATE_GRANTS_MAX);
		return -1;
	}
	{
		struct update_rule *rules;
		size_t n;

		if (update_grant_parse(value, &rules, &n, err, errlen) != 0)
			return -1;
		free(rules);
	}
	c->grants[c->ngrants].key = xstrdup(name);
	c->grants[c->ngrants].zones = xstrdup(value);
	c->ngrants++;
	return 0;
}

/* Every key of [tsig] is a TSIG key: NAME = ALGORITHM:BASE64-SECRET (common/tsig.c). */
static int
tsig_passthrough(struct authd_conf *c, const char *name, const char *value, char *err,
    size_t errlen)
{
	if (c->tsig == NULL)
		c->tsig = tsig_keys_new();
	if (c->tsig == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return tsig_keys_add(c->tsig, name, value, err, errlen);
}

/*
 * Any other key of [kafka] is a librdkafka property (SASL, TLS, timeouts): it is checked
 * by librdkafka itself, so --check-config reports librdkafka's own error text.
 */
static int
kafka_passthrough(void *dst, const char *section, const char *name, const char *value,
    char *err, size_t errlen)
{
	struct authd_conf *c = dst;
	rd_kafka_conf_t *kc;
	rd_kafka_conf_res_t res;

	if (strcmp(section, "tsig") == 0)
		return tsig_passthrough(c, name, value, err, errlen);
	if (strcmp(section, "update") == 0)
		return update_passthrough(c, name, value, err, errlen);

	for (size_t i = 0; i < c->nprops; i++) {
		if (strcmp(c->props[i].name, name) == 0) {
			snprintf(err, errlen, "set twice in section [%s]", section);
			return -1;
		}
	}
	if (c->nprops == KAFKA_PROPS_MAX) {
		snprintf(err, errlen, "more than %d librdkafka properties", KAFKA_PROPS_MAX);
		return -1;
	}
	kc = rd_kafka_conf_new();
	res = rd_kafka_conf_set(kc, name, value, err, errlen);
	rd_kafka_conf_destroy(kc);
	if (res != RD_KAFKA_CONF_OK)
		return -1;
	c->props[c->nprops].name = xstrdup(name);
	c->props[c->nprops].value = xstrdup(value);
	c->nprops++;
	return 0;
}

const struct conf_schema authd_conf_schema = {
	authd_keys, sizeof(authd_keys) / sizeof(authd_keys[0]), passthrough_sections,
	kafka_passthrough, NULL, 0,
};

/* Rules that tie several keys together, checked once the whole file is read. */
static int
authd_conf_check(const struct authd_conf *c, const char *path, FILE *errout)
{
	struct trusted_keys *tk;
	char err[512];
	int errors = 0;

	if (c->require_signed && c->trusted_keys == NULL) {
		fprintf(errout, "%s: require-signed: needs trusted-keys in [kafka]\n", path);
		errors++;
	}
	if (c->notify_key != NULL) {
		uint8_t wire[DNAME_MAXLEN];

		if (dname_from_str(c->notify_key, NULL, wire) <= 0 || c->tsig == NULL ||
		    tsig_keys_find(c->tsig, wire) == NULL) {
			fprintf(errout, "%s: notify-key: '%s' is not a key of [tsig]\n", path,
			    c->notify_key);
			errors++;
		}
	}
	for (size_t i = 0; i < c->ngrants; i++) {
		uint8_t wire[DNAME_MAXLEN];

		if (dname_from_str(c->grants[i].key, NULL, wire) <= 0 || c->tsig == NULL ||
		    tsig_keys_find(c->tsig, wire) == NULL) {
			fprintf(errout, "%s: [update] %s: not a key of [tsig]\n", path,
			    c->grants[i].key);
			errors++;
		}
	}
	if (c->ngrants > 0 && c->require_signed && c->sign_key == NULL) {
		fprintf(errout, "%s: [update]: require-signed is on: the events updates write "
		    "need sign-key in [kafka]\n", path);
		errors++;
	}
	if (c->sign_key != NULL) {
		uint8_t sk[SIGN_SK_LEN];
		char pk64[SIGN_PK64_LEN];

		if (sign_load_secret(c->sign_key, sk, err, sizeof(err)) != 0) {
			fprintf(errout, "%s: sign-key: %s\n", path, err);
			errors++;
		} else if (c->require_signed && c->trusted_keys != NULL) {
			/* Its own events would be rejected: every update would time out. */
			tk = xmalloc(sizeof(*tk));
			sodium_bin2base64(pk64, sizeof(pk64), sk + 32, SIGN_PK_LEN,
			    sodium_base64_VARIANT_ORIGINAL);
			if (sign_load_trusted(c->trusted_keys, tk, err, sizeof(err)) == 0 &&
			    sign_find_trusted(tk, pk64, strlen(pk64)) < 0) {
				fprintf(errout, "%s: sign-key: its public key is not in %s: this "
				    "instance would reject the events its own updates write\n",
				    path, c->trusted_keys);
				errors++;
			}
			free(tk);
		}
		sodium_memzero(sk, sizeof(sk));
	}
	if (c->local_zone_file != NULL) {
		struct local_data *d = local_load(c->local_zone_file);

		if (d == NULL) {
			fprintf(errout, "%s: zone-file: %s has errors (logged above)\n", path,
			    c->local_zone_file);
			errors++;
		}
		local_free(d);
	}
	if (c->dnssec_secret_file != NULL) {
		struct keyset_secrets *sec = xmalloc(sizeof(*sec));

		if (keyset_secrets_load(c->dnssec_secret_file, sec, err, sizeof(err)) != 0) {
			fprintf(errout, "%s: secret-file: %s\n", path, err);
			errors++;
		}
		sodium_memzero(sec, sizeof(*sec));
		free(sec);
	}
	if (c->trusted_keys != NULL) {
		tk = xmalloc(sizeof(*tk));
		if (sign_load_trusted(c->trusted_keys, tk, err, sizeof(err)) != 0) {
			fprintf(errout, "%s: trusted-keys: %s\n", path, err);
			errors++;
		}
		free(tk);
	}
	return errors;
}

struct zone_filter *
authd_zone_filter(const struct authd_conf *c)
{
	char *copy, *items[1024];
	size_t n;
	struct zone_filter *f;

	if (c->serve == NULL)
		return NULL;
	copy = xstrdup(c->serve);
	n = conf_split_list(copy, items, 1024);
	f = xcalloc(1, sizeof(*f) + n * sizeof(f->names[0]));
	for (size_t i = 0; i < n && i < 1024; i++)
		if (dname_from_str(items[i], NULL, f->names[f->n]) > 0)
			dname_lower(f->names[f->n++]);
	free(copy);
	return f;
}

int
authd_conf_load(struct authd_conf *c, const char *path, FILE *errout)
{
	int errors;

	memset(c, 0, sizeof(*c));
	errors = conf_load(&authd_conf_schema, c, path, errout);
	if (errors == 0)
		errors = authd_conf_check(c, path, errout);
	c->serial_topic = c->serial_str == NULL || strcmp(c->serial_str, "as-is") != 0;
	return errors;
}

void
authd_conf_free(struct authd_conf *c)
{
	conf_free(&authd_conf_schema, c);
	for (size_t i = 0; i < c->nprops; i++) {
		free(c->props[i].name);
		free(c->props[i].value);
	}
	c->nprops = 0;
	tsig_keys_free(c->tsig);
	c->tsig = NULL;
	for (size_t i = 0; i < c->ngrants; i++) {
		free(c->grants[i].key);
		free(c->grants[i].zones);
	}
	c->ngrants = 0;
}
