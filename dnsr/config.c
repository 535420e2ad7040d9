/* config.c: streamdns-dnsr's configuration keys (the table) and the checks across keys. */
#include <grp.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "dnsr/anchor.h"
#include "dnsr/dnsr.h"
#include "dnsr/hints.h"
#include "common/log.h"
#include "common/wire.h"

#define OFF(f) offsetof(struct dnsr_conf, f)

static int
check_mode(const char *value, char *err, size_t errlen)
{
	if (strcmp(value, "recursive") == 0 || strcmp(value, "forward") == 0)
		return 0;
	snprintf(err, errlen, "'%s' is not recursive or forward", value);
	return -1;
}

static int
check_validation(const char *value, char *err, size_t errlen)
{
	if (strcmp(value, "yes") == 0 || strcmp(value, "no") == 0 ||
	    strcmp(value, "permissive") == 0)
		return 0;
	snprintf(err, errlen, "'%s' is not yes, no or permissive", value);
	return -1;
}

static int
check_qmin(const char *value, char *err, size_t errlen)
{
	if (strcmp(value, "yes") == 0 || strcmp(value, "no") == 0 ||
	    strcmp(value, "strict") == 0)
		return 0;
	snprintf(err, errlen, "'%s' is not yes, no or strict", value);
	return -1;
}

static int
any_item(void *arg, const char *item, char *err, size_t errlen)
{
	return 0;
}

/* Only counted here: the files are read once every key is known (load_anchors()). */
static int
check_anchor_files(const char *value, char *err, size_t errlen)
{
	long n = conf_list_each(value, ANCHORS_MAX_FILES, any_item, NULL, err, errlen);

	if (n > ANCHORS_MAX_FILES) {
		snprintf(err, errlen, "more than %d files", ANCHORS_MAX_FILES);
		return -1;
	}
	return n < 0 ? -1 : 0;
}

static int
check_domain_insecure(const char *value, char *err, size_t errlen)
{
	return anchors_set_insecure(NULL, value, err, errlen);
}

/* ADDR or ADDR:PORT ([V6]:PORT), port 53 when left out; an empty list is allowed. */
static int
check_forwarders(const char *value, char *err, size_t errlen)
{
	int port = 53;
	long n = conf_list_each(value, HINTS_MAX_SERVERS, conf_item_addr, &port, err, errlen);

	if (n > HINTS_MAX_SERVERS) {
		snprintf(err, errlen, "more than %d forwarders", HINTS_MAX_SERVERS);
		return -1;
	}
	return n < 0 ? -1 : 0;
}

/* An octal file mode for the socket: 0660, 660, 0600 ... (permission bits only). */
static int
parse_mode(const char *value, mode_t *mode)
{
	size_t n = strlen(value);
	unsigned long v;

	if (n == 0 || n > 4 || strspn(value, "01234567") != n)
		return -1;
	v = strtoul(value, NULL, 8);
	if (v > 0777)
		return -1;
	*mode = (mode_t)v;
	return 0;
}

static int
check_socket_mode(const char *value, char *err, size_t errlen)
{
	mode_t mode;

	if (parse_mode(value, &mode) == 0)
		return 0;
	snprintf(err, errlen, "'%s' is not an octal mode from 0000 to 0777", value);
	return -1;
}

/* A group name, or a numeric gid; -1 when there is no such group. */
static int
parse_group(const char *value, gid_t *gid)
{
	struct group *gr;
	char *end;
	unsigned long v;

	if (value[0] >= '0' && value[0] <= '9') {
		v = strtoul(value, &end, 10);
		if (*end != '\0' || v >= (unsigned long)(gid_t)-1)
			return -1;
		*gid = (gid_t)v;
		return 0;
	}
	if ((gr = getgrnam(value)) == NULL)
		return -1;
	*gid = gr->gr_gid;
	return 0;
}

static int
check_socket_group(const char *value, char *err, size_t errlen)
{
	gid_t gid;

	if (value[0] == '\0' || parse_group(value, &gid) == 0)
		return 0;
	snprintf(err, errlen, "no group '%s' (a group name or a numeric gid)", value);
	return -1;
}

static const struct conf_key dnsr_keys[] = {
	{ "server", "listen", CONF_SHARED, .offset = OFF(listen) },
	{ "server", "allow", CONF_STR, 0, 0, "127.0.0.0/8, ::1", OFF(allow), acl_check_list,
	    "clients that may query (CIDR list); everyone else gets REFUSED" },
	{ "server", "workers", CONF_SHARED, .offset = OFF(workers),
	    .help = "threads, each with its own sockets (SO_REUSEPORT) and upstream channels" },
	{ "server", "udp-payload-size", CONF_SHARED, .offset = OFF(udp_payload_size) },
	{ "server", "tcp-idle-timeout", CONF_SHARED, .offset = OFF(tcp_idle_timeout) },
	{ "server", "tcp-max-clients", CONF_SHARED, .offset = OFF(tcp_max_clients) },
	{ "server", "max-resolutions", CONF_INT, 1, 1000000, "10000", OFF(max_resolutions),
	    NULL, "client queries being resolved at once per worker; more get SERVFAIL" },
	{ "server", "socket", CONF_STR, 0, 0, "", OFF(socket), NULL,
	    "Unix socket authd queries over (proto/PROTOCOL.md); relative to this file's "
	    "directory; none when empty" },
	{ "server", "socket-mode", CONF_STR, 0, 0, "0660", OFF(socket_mode_str),
	    check_socket_mode, "octal file mode of the socket: its access control" },
	{ "server", "socket-group", CONF_STR, 0, 0, "", OFF(socket_group), check_socket_group,
	    "group of the socket (name or gid), so that authd's group may connect" },
	{ "server", "socket-timeout", CONF_MSEC, 100, 600000, "10s", OFF(socket_timeout),
	    NULL, "disconnect an authd connection whose answers wait unread this long" },
	/* Hardening (docs/SECURITY.md). */
	{ "server", "user", CONF_STR, 0, 0, "", OFF(user), NULL,
	    "drop root to this user once the sockets are open; \"\": stay as started" },
	{ "resolver", "use-0x20", CONF_BOOL, 0, 0, "yes", OFF(use_0x20), NULL,
	    "random qname case upstream, checked in answers; TCP on mismatch (recursive mode)" },
	{ "resolver", "cookies", CONF_BOOL, 0, 0, "yes", OFF(cookies), NULL,
	    "DNS cookies (RFC 7873): client cookies upstream, server cookies to clients" },
	{ "resolver", "mode", CONF_STR, 0, 0, "recursive", OFF(mode_str), check_mode,
	    "recursive (iterate from the root hints) or forward (to the forwarders)" },
	{ "resolver", "root-hints", CONF_STR, 0, 0, "root.hints", OFF(root_hints), NULL,
	    "root hints in named.root format; relative to this file's directory" },
	{ "resolver", "forwarders", CONF_STR, 0, 0, "", OFF(forwarders), check_forwarders,
	    "ADDR[:PORT], ... (port 53 if left out); required in forward mode" },
	{ "resolver", "query-port", CONF_INT, 1, 65535, "53", OFF(query_port), NULL,
	    "port of the authoritative servers found by iteration" },
	{ "resolver", "query-timeout", CONF_MSEC, 10, 60000, "800ms", OFF(query_timeout), NULL,
	    "wait for one upstream answer this long before trying another server" },
	{ "resolver", "resolve-timeout", CONF_MSEC, 100, 120000, "5s", OFF(resolve_timeout),
	    NULL, "give up on a client query after this long (SERVFAIL, EDE 22)" },
	{ "resolver", "max-referrals", CONF_INT, 1, 64, "16", OFF(max_referrals), NULL,
	    "referrals followed for one name (delegation depth)" },
	{ "resolver", "max-chain", CONF_INT, 1, 64, "12", OFF(max_chain), NULL,
	    "CNAME and DNAME links followed for one client query" },
	{ "resolver", "max-queries", CONF_INT, 1, 1000, "48", OFF(max_queries), NULL,
	    "upstream queries for one client query, NS lookups included (NXNS limit)" },
	{ "resolver", "query-ipv6", CONF_BOOL, 0, 0, "no", OFF(query_ipv6), NULL,
	    "also use the IPv6 addresses of authoritative servers" },
	{ "resolver", "do-not-query-localhost", CONF_BOOL, 0, 0, "yes",
	    OFF(do_not_query_localhost), NULL,
	    "never query loopback addresses learnt from referrals or the cache (yes: unless a "
	    "root hint, or a forwarder, is itself on loopback; forward and stub zones' servers "
	    "are always asked); addresses that cannot be a server (0.0.0.0/8, multicast, "
	    "broadcast, ::) are never queried" },
	{ "resolver", "qname-minimisation", CONF_STR, 0, 0, "yes", OFF(qmin_str), check_qmin,
	    "RFC 9156 (recursive mode): each server is asked only the labels it needs, type A; "
	    "yes falls back to the full name after NXDOMAIN (unless DNSSEC-proven), REFUSED, "
	    "SERVFAIL or a timeout; strict never does (NXDOMAIN ends); no: full name" },
	{ "cache", "max-size", CONF_SIZE, 16 * 1024, (long long)1 << 40, "64M", OFF(cache_size),
	    NULL, "memory for cached RRsets and negative answers (LRU beyond it)" },
	{ "cache", "min-ttl", CONF_INT, 0, 86400, "0", OFF(min_ttl), NULL,
	    "seconds; shorter positive TTLs are raised to this" },
	{ "cache", "max-ttl", CONF_INT, 1, INT_MAX, "86400", OFF(max_ttl), NULL,
	    "seconds; longer TTLs are lowered to this" },
	{ "cache", "max-negative-ttl", CONF_INT, 0, 86400, "3600", OFF(max_negative_ttl), NULL,
	    "seconds; NXDOMAIN and NODATA are cached at most this long (RFC 2308 5); "
	    "the SOA sent with them keeps its own TTL" },
	{ "dnssec", "validation", CONF_STR, 0, 0, "yes", OFF(validation_str), check_validation,
	    "yes, no, or permissive (validate and log, but never SERVFAIL for DNSSEC)" },
	{ "dnssec", "trust-anchor-file", CONF_STR, 0, 0, "/usr/share/dns/root.key",
	    OFF(trust_anchor_file), check_anchor_files,
	    "FILE, ...: DS or DNSKEY records in master-file format, any owners; relative to "
	    "this file's directory; not read with validation = no" },
	{ "dnssec", "domain-insecure", CONF_STR, 0, 0, "", OFF(domain_insecure),
	    check_domain_insecure, "NAME, ...: no validation at or below these domains" },
	{ "log", "level", CONF_SHARED, .offset = OFF(log_level) },
	{ "admin", "listen", CONF_SHARED, .offset = OFF(admin_listen), .def = "127.0.0.1:8054" },
	{ "admin", "token-file", CONF_SHARED, .offset = OFF(admin_token_file) },
	{ "metrics", "statsd", CONF_SHARED, .offset = OFF(statsd) },
	{ "metrics", "statsd-prefix", CONF_SHARED, .offset = OFF(statsd_prefix),
	    .def = "streamdns.dnsr" },
	{ "metrics", "statsd-interval", CONF_SHARED, .offset = OFF(statsd_interval) },
};

/* ---- [forward-zone NAME] and [stub-zone NAME] ---- */

#define ZOFF(f) offsetof(struct dnsr_zone, f)

/* A zone's servers: at least one, ADDR[:PORT] with port 53 when left out. */
static int
check_zone_servers(const char *value, char *err, size_t errlen)
{
	int port = 53;
	long n = conf_list_each(value, HINTS_MAX_SERVERS, conf_item_addr, &port, err, errlen);

	if (n == 0 || n > HINTS_MAX_SERVERS) {
		snprintf(err, errlen, "between 1 and %d addresses needed", HINTS_MAX_SERVERS);
		return -1;
	}
	return n < 0 ? -1 : 0;
}

static const struct conf_key forward_zone_keys[] = {
	{ "forward-zone", "servers", CONF_STR, 0, 0, NULL, ZOFF(servers_str),
	    check_zone_servers, "ADDR[:PORT], ... (port 53 if left out): recursive servers "
	    "asked with RD=1 for names at or below NAME (required)" },
	{ "forward-zone", "insecure", CONF_BOOL, 0, 0, "no", ZOFF(insecure), NULL,
	    "yes: NAME is domain-insecure (an internal zone under a signed parent)" },
};

static const struct conf_key stub_zone_keys[] = {
	{ "stub-zone", "servers", CONF_STR, 0, 0, NULL, ZOFF(servers_str),
	    check_zone_servers, "ADDR[:PORT], ... (port 53 if left out): NAME's authoritative "
	    "servers, asked with RD=0 as if NAME were delegated to them (required)" },
	{ "stub-zone", "insecure", CONF_BOOL, 0, 0, "no", ZOFF(insecure), NULL,
	    "yes: NAME is domain-insecure (an internal zone under a signed parent)" },
};

static const char *
zone_kind_str(enum dnsr_zone_kind k)
{
	return k == DNSR_ZONE_FORWARD ? "forward-zone" : "stub-zone";
}

/*
 * A conf_family_open_fn: a new zone named name (a domain name, once in the file, and
 * never both a forward and a stub zone), appended to the configuration's list.
 */
static void *
zone_open(void *dst, const char *prefix, const char *name, int line, char *err,
    size_t errlen)
{
	struct dnsr_conf *c = dst;
	struct dnsr_zone *z;
	uint8_t wire[DNAME_MAXLEN];

	/* Relative names are taken from the root: the trailing dot is optional. */
	if (dname_from_str(name, NULL, wire) < 0) {
		snprintf(err, errlen, "'%s' is not a domain name", name);
		return NULL;
	}
	dname_lower(wire);
	for (size_t i = 0; i < c->nzones; i++) {
		const struct dnsr_zone *o = c->zones[i];

		if (!dname_equal(o->name, wire))
			continue;
		if (strcmp(zone_kind_str(o->kind), prefix) == 0)
			snprintf(err, errlen, "a second section for %s (the first is at line %d)",
			    name, o->line);
		else
			snprintf(err, errlen, "%s is already a %s (line %d): a zone is either "
			    "forwarded or a stub", name, zone_kind_str(o->kind), o->line);
		return NULL;
	}
	if (c->nzones == DNSR_MAX_ZONES) {
		snprintf(err, errlen, "more than %d forward-zone and stub-zone sections",
		    DNSR_MAX_ZONES);
		return NULL;
	}
	z = xcalloc(1, sizeof(*z));
	z->kind = strcmp(prefix, "forward-zone") == 0 ? DNSR_ZONE_FORWARD : DNSR_ZONE_STUB;
	memcpy(z->name, wire, dname_len(wire));
	z->line = line;
	if ((c->zones = reallocarray(c->zones, c->nzones + 1, sizeof(*c->zones))) == NULL)
		fatal("reallocarray");
	c->zones[c->nzones++] = z;
	return z;
}

static const struct conf_family dnsr_families[] = {
	{ "forward-zone", forward_zone_keys,
	    sizeof(forward_zone_keys) / sizeof(forward_zone_keys[0]), zone_open,
	    "names at or below NAME go to recursive servers (RD=1), whatever the mode" },
	{ "stub-zone", stub_zone_keys, sizeof(stub_zone_keys) / sizeof(stub_zone_keys[0]),
	    zone_open, "names at or below NAME are resolved from NAME's own servers (RD=0)" },
};

const struct conf_schema dnsr_conf_schema = {
	dnsr_keys, sizeof(dnsr_keys) / sizeof(dnsr_keys[0]), NULL, NULL,
	dnsr_families, sizeof(dnsr_families) / sizeof(dnsr_families[0]),
};

const struct dnsr_zone *
dnsr_zone_find(const struct dnsr_conf *c, const uint8_t *name, uint16_t qtype)
{
	const struct dnsr_zone *best = NULL;

	if (c->nzones == 0)
		return NULL;
	if (qtype == DNS_TYPE_DS && name[0] != 0)
		name = dname_parent(name);
	/* A few zones in practice: a scan is cheaper than any index would be to keep. */
	for (size_t i = 0; i < c->nzones; i++) {
		const struct dnsr_zone *z = c->zones[i];

		if (dname_is_below(name, z->name) &&
		    (best == NULL || dname_labels(z->name) > dname_labels(best->name)))
			best = z;
	}
	return best;
}

/*
 * Each zone's servers, parsed (the key's check passed, so they parse), and a zone
 * marked insecure added to the validator's domain-insecure names. Errors carry the
 * line of the section's header.
 */
static int
check_zones(struct dnsr_conf *c, const char *path, FILE *errout)
{
	char err[256], name[DNAME_STRLEN];
	int errors = 0;

	for (size_t i = 0; i < c->nzones; i++) {
		struct dnsr_zone *z = c->zones[i];

		dname_to_str(z->name, name, sizeof(name));
		if (z->servers_str == NULL) {
			fprintf(errout, "%s:%d: servers: required in [%s %s]\n", path, z->line,
			    zone_kind_str(z->kind), name);
			errors++;
			continue;
		}
		z->servers = xcalloc(1, sizeof(*z->servers));
		if (hints_forwarders(z->servers, z->servers_str, err, sizeof(err)) != 0) {
			fprintf(errout, "%s:%d: servers: %s\n", path, z->line, err);
			errors++;
			continue;
		}
		z->on_loopback = hints_on_loopback(z->servers);
		if (z->insecure && c->anchors != NULL &&
		    anchors_set_insecure(c->anchors, name, err, sizeof(err)) != 0) {
			fprintf(errout, "%s:%d: insecure: %s\n", path, z->line, err);
			errors++;
		}
	}
	return errors;
}

/* A relative path (root hints, socket) names a file next to the configuration file. */
static char *
resolve_path(const char *confpath, const char *file)
{
	const char *slash = strrchr(confpath, '/');
	size_t dirlen;
	char *out;

	if (file[0] == '/' || slash == NULL)
		return xstrdup(file);
	dirlen = (size_t)(slash - confpath) + 1;
	out = xmalloc(dirlen + strlen(file) + 1);
	memcpy(out, confpath, dirlen);
	strcpy(out + dirlen, file);
	return out;
}

/* The socket's path (resolved), mode and group, ready for the server. */
static int
check_socket(struct dnsr_conf *c, const char *path, FILE *errout)
{
	struct sockaddr_un sun;
	int errors = 0;

	/* The keys' own checks have passed, so these parse (but for a group gone since). */
	(void)parse_mode(c->socket_mode_str, &c->socket_mode);
	c->socket_gid = (gid_t)-1;
	if (c->socket_group[0] != '\0' && parse_group(c->socket_group, &c->socket_gid) != 0) {
		fprintf(errout, "%s: socket-group: no group '%s'\n", path, c->socket_group);
		errors++;
	}
	if (c->socket[0] == '\0')
		return errors;
	c->socket_path = resolve_path(path, c->socket);
	if (strlen(c->socket_path) >= sizeof(sun.sun_path)) {
		fprintf(errout, "%s: socket: '%s' is longer than %zu octets\n", path,
		    c->socket_path, sizeof(sun.sun_path) - 1);
		errors++;
	}
	return errors;
}

/* Where load_anchors() collects the anchor files' paths, resolved. */
struct anchor_paths {
	const char	*confpath;
	char		*v[ANCHORS_MAX_FILES];
	size_t		 n;
};

/* A conf_item_fn: one trust-anchor-file entry (the key's check bounded their number). */
static int
add_anchor_path(void *arg, const char *item, char *err, size_t errlen)
{
	struct anchor_paths *p = arg;

	p->v[p->n++] = resolve_path(p->confpath, item);
	return 0;
}

/*
 * With validation on or permissive, the trust anchors must load: a resolver that quietly
 * stopped validating because a file went missing would hand out forgeable answers as if
 * nothing had changed. With validation = no the files are not read at all.
 */
static int
load_anchors(struct dnsr_conf *c, const char *path, FILE *errout)
{
	struct anchor_paths p = { path, { NULL }, 0 };
	char err[256];
	int errors = 0;

	if (strcmp(c->validation_str, "no") == 0)
		c->validation = DNSR_VALIDATION_NO;
	else if (strcmp(c->validation_str, "permissive") == 0)
		c->validation = DNSR_VALIDATION_PERMISSIVE;
	else
		c->validation = DNSR_VALIDATION_YES;
	if (c->validation == DNSR_VALIDATION_NO)
		return 0;
	(void)conf_list_each(c->trust_anchor_file, ANCHORS_MAX_FILES, add_anchor_path, &p, err,
	    sizeof(err));
	if (p.n == 0) {
		fprintf(errout, "%s: trust-anchor-file: required with validation = %s\n", path,
		    c->validation_str);
		return 1;
	}
	if ((c->anchors = anchors_load((const char *const *)p.v, p.n, errout)) == NULL) {
		fprintf(errout, "%s: trust-anchor-file: the trust anchors do not load (above); "
		    "validation = %s needs them\n", path, c->validation_str);
		errors++;
	} else if (anchors_set_insecure(c->anchors, c->domain_insecure, err,
	    sizeof(err)) != 0) {
		fprintf(errout, "%s: domain-insecure: %s\n", path, err);
		errors++;
	}
	for (size_t i = 0; i < p.n; i++)
		free(p.v[i]);
	return errors;
}

/* What no single key can say: combinations, and that the root hints and anchors load. */
static int
check_together(struct dnsr_conf *c, const char *path, FILE *errout)
{
	struct hints h;
	char err[256];
	int errors = 0;

	c->mode = strcmp(c->mode_str, "forward") == 0 ? DNSR_FORWARD : DNSR_RECURSIVE;
	/*
	 * Forwarders resolve the name themselves: they are always asked the full name, which
	 * iterate.c decides per name (forwarding()), so that stub zones minimise in either mode.
	 */
	c->qmin = strcmp(c->qmin_str, "no") == 0 ? DNSR_QMIN_NO :
	    strcmp(c->qmin_str, "strict") == 0 ? DNSR_QMIN_STRICT : DNSR_QMIN_RELAXED;
	if (acl_parse(c->allow, &c->acl, err, sizeof(err)) != 0) {
		fprintf(errout, "%s: allow: %s\n", path, err);
		errors++;
	}
	if (c->min_ttl > c->max_ttl) {
		fprintf(errout, "%s: min-ttl: %d is above max-ttl %d\n", path, c->min_ttl,
		    c->max_ttl);
		errors++;
	}
	if (c->mode == DNSR_FORWARD && c->forwarders[0] == '\0') {
		fprintf(errout, "%s: forwarders: required with mode = forward\n", path);
		errors++;
	}
	c->root_hints_path = resolve_path(path, c->root_hints);
	errors += check_socket(c, path, errout);
	if (c->mode == DNSR_RECURSIVE) {
		if (hints_load(&h, c->root_hints_path, c->query_port, err, sizeof(err)) != 0) {
			fprintf(errout, "%s: root-hints: %s\n", path, err);
			errors++;
		}
	}
	errors += load_anchors(c, path, errout);
	errors += check_zones(c, path, errout);
	return errors;
}

int
dnsr_conf_load(struct dnsr_conf *c, const char *path, FILE *errout)
{
	int errors;

	memset(c, 0, sizeof(*c));
	errors = conf_load(&dnsr_conf_schema, c, path, errout);
	if (errors == 0)
		errors = check_together(c, path, errout);
	return errors;
}

void
dnsr_conf_free(struct dnsr_conf *c)
{
	conf_free(&dnsr_conf_schema, c);
	free(c->root_hints_path);
	c->root_hints_path = NULL;
	free(c->socket_path);
	c->socket_path = NULL;
	anchors_free(c->anchors);
	c->anchors = NULL;
	for (size_t i = 0; i < c->nzones; i++) {
		const struct conf_key *keys = c->zones[i]->kind == DNSR_ZONE_FORWARD ?
		    forward_zone_keys : stub_zone_keys;

		conf_free_keys(keys, sizeof(stub_zone_keys) / sizeof(stub_zone_keys[0]),
		    c->zones[i]);
		free(c->zones[i]->servers);
		free(c->zones[i]);
	}
	free(c->zones);
	c->zones = NULL;
	c->nzones = 0;
}
