/* conf.c: table-driven INI loading on top of inih, with file:line errors. */
#include <arpa/inet.h>
#include <assert.h>
#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "common/conf.h"
#include "common/log.h"

#define CONF_MAX_LINE	8192
#define CONF_MAX_KEYS	256
#define CONF_MAX_SECTION	512	/* a section's name, "forward-zone" and a domain name */

struct conf_state {
	const struct conf_schema	*schema;
	void				*dst;
	const char			*path;
	FILE				*fp;
	FILE				*errout;
	int				 line;
	int				 errors;
	bool				 seen[CONF_MAX_KEYS];
	/* The "[PREFIX NAME]" section being read (conf_family), if any. */
	const struct conf_family	*fam;
	void				*obj;		/* NULL: rejected, keys skipped */
	char				 famsec[CONF_MAX_SECTION + 3];	/* "[...]" */
	bool				 fam_seen[CONF_MAX_KEYS];
};

static void
conf_error(struct conf_state *st, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
conf_error(struct conf_state *st, const char *key, const char *fmt, ...)
{
	va_list ap;

	st->errors++;
	if (st->errout == NULL)
		return;
	if (key != NULL)
		fprintf(st->errout, "%s:%d: %s: ", st->path, st->line, key);
	else
		fprintf(st->errout, "%s:%d: ", st->path, st->line);
	va_start(ap, fmt);
	vfprintf(st->errout, fmt, ap);
	va_end(ap);
	fputc('\n', st->errout);
}

static int
parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

/* Integer with an optional unit: mult_for_suffix gives the multiplier of a suffix. */
static int
parse_scaled(const char *v, long long (*mult_for_suffix)(const char *), long long *out)
{
	char *end;
	long long n, mult;

	if (*v == '\0' || isspace((unsigned char)*v))
		return -1;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno != 0 || end == v)
		return -1;
	mult = mult_for_suffix(end);
	if (mult <= 0)
		return -1;
	if (n != 0 && (n > LLONG_MAX / mult || n < LLONG_MIN / mult))
		return -1;
	*out = n * mult;
	return 0;
}

static long long
int_suffix(const char *s)
{
	return *s == '\0' ? 1 : -1;
}

static long long
size_suffix(const char *s)
{
	if (*s == '\0' || strcasecmp(s, "b") == 0)
		return 1;
	if (strcasecmp(s, "k") == 0 || strcasecmp(s, "kb") == 0)
		return 1024LL;
	if (strcasecmp(s, "m") == 0 || strcasecmp(s, "mb") == 0)
		return 1024LL * 1024;
	if (strcasecmp(s, "g") == 0 || strcasecmp(s, "gb") == 0)
		return 1024LL * 1024 * 1024;
	return -1;
}

static long long
msec_suffix(const char *s)
{
	if (strcmp(s, "ms") == 0)
		return 1;
	if (*s == '\0' || strcmp(s, "s") == 0)
		return 1000;
	if (strcmp(s, "m") == 0)
		return 60000;
	if (strcmp(s, "h") == 0)
		return 3600000;
	return -1;
}

static const char *
type_name(enum conf_type t)
{
	switch (t) {
	case CONF_STR:	return "string";
	case CONF_INT:	return "integer";
	case CONF_BOOL:	return "yes|no";
	case CONF_SIZE:	return "size";
	case CONF_MSEC:	return "duration";
	case CONF_SHARED: break;
	}
	return "?";
}

/*
 * The key a table row stands for: the row itself, or for a CONF_SHARED row the shared
 * key placed at the row's offset, with the row's own default, check and help if it has
 * them. Returns k or tmp.
 */
static const struct conf_key *
key_resolve(const struct conf_key *k, struct conf_key *tmp)
{
	const struct conf_key *shared;

	if (k->type != CONF_SHARED)
		return k;
	shared = conf_shared_key(k->section, k->name);
	assert(shared != NULL && shared->type != CONF_SHARED);	/* a table names a real one */
	*tmp = *shared;
	tmp->offset = k->offset;
	if (k->def != NULL)
		tmp->def = k->def;
	if (k->check != NULL)
		tmp->check = k->check;
	if (k->help != NULL)
		tmp->help = k->help;
	return tmp;
}

/* Stores value into dst per key k; returns 0 or -1 with err filled. */
static int
conf_set(const struct conf_key *k, void *dst, const char *value, char *err, size_t errlen)
{
	char *field;
	struct conf_key tmp;
	long long n;
	bool b;

	k = key_resolve(k, &tmp);
	field = (char *)dst + k->offset;
	if (k->check != NULL && k->check(value, err, errlen) != 0)
		return -1;
	switch (k->type) {
	case CONF_STR:
		free(*(char **)field);
		*(char **)field = xstrdup(value);
		return 0;
	case CONF_BOOL:
		if (parse_bool(value, &b) != 0) {
			snprintf(err, errlen, "'%s' is not yes or no", value);
			return -1;
		}
		*(bool *)field = b;
		return 0;
	case CONF_INT:
	case CONF_SIZE:
	case CONF_MSEC:
		if (parse_scaled(value, k->type == CONF_INT ? int_suffix :
		    k->type == CONF_SIZE ? size_suffix : msec_suffix, &n) != 0) {
			snprintf(err, errlen, "'%s' is not a valid %s", value,
			    type_name(k->type));
			return -1;
		}
		if (n < k->min || n > k->max) {
			snprintf(err, errlen, "%lld is out of range %lld..%lld", n, k->min,
			    k->max);
			return -1;
		}
		if (k->type == CONF_SIZE)
			*(size_t *)field = (size_t)n;
		else
			*(int *)field = (int)n;
		return 0;
	case CONF_SHARED:
		break;
	}
	snprintf(err, errlen, "internal: bad key type");
	return -1;
}

static const struct conf_key *
find_key(const struct conf_schema *s, const char *section, const char *name, size_t *idx)
{
	for (size_t i = 0; i < s->nkeys; i++) {
		if (strcmp(s->keys[i].section, section) == 0 &&
		    strcmp(s->keys[i].name, name) == 0) {
			*idx = i;
			return &s->keys[i];
		}
	}
	return NULL;
}

static bool
is_passthrough_section(const struct conf_schema *s, const char *section)
{
	if (s->passthrough_sections == NULL)
		return false;
	for (size_t i = 0; s->passthrough_sections[i] != NULL; i++)
		if (strcmp(s->passthrough_sections[i], section) == 0)
			return true;
	return false;
}

static bool
is_known_section(const struct conf_schema *s, const char *section)
{
	for (size_t i = 0; i < s->nkeys; i++)
		if (strcmp(s->keys[i].section, section) == 0)
			return true;
	return is_passthrough_section(s, section);
}

/* A key of the "[PREFIX NAME]" section being read, into its object. */
static void
family_key(struct conf_state *st, const char *name, const char *value)
{
	const struct conf_family *f = st->fam;
	char err[256] = "";
	size_t i;

	if (st->obj == NULL)
		return;		/* the header was rejected, and said so */
	for (i = 0; i < f->nkeys; i++)
		if (strcmp(f->keys[i].name, name) == 0)
			break;
	if (i == f->nkeys) {
		conf_error(st, name, "unknown key in section %s", st->famsec);
		return;
	}
	assert(i < CONF_MAX_KEYS && f->keys[i].type != CONF_SHARED);
	if (st->fam_seen[i]) {
		conf_error(st, name, "set twice in section %s", st->famsec);
		return;
	}
	st->fam_seen[i] = true;
	if (conf_set(&f->keys[i], st->obj, value, err, sizeof(err)) != 0)
		conf_error(st, name, "%s", err);
}

static int
conf_handler(void *user, const char *section, const char *name, const char *value)
{
	struct conf_state *st = user;
	const struct conf_key *k;
	char err[256] = "";
	size_t idx;

	if (*section == '\0') {
		conf_error(st, name, "key outside any [section]");
		return 1;
	}
	/* inih's copy of a long section name may be cut short: the reader's state decides. */
	if (st->fam != NULL) {
		family_key(st, name, value);
		return 1;
	}
	if (!is_known_section(st->schema, section)) {
		/* Reported once, where the section header is read. */
		return 1;
	}
	k = find_key(st->schema, section, name, &idx);
	if (k == NULL) {
		if (is_passthrough_section(st->schema, section) &&
		    st->schema->passthrough != NULL) {
			if (st->schema->passthrough(st->dst, section, name, value, err,
			    sizeof(err)) != 0)
				conf_error(st, name, "%s", err);
			return 1;
		}
		conf_error(st, name, "unknown key in section [%s]", section);
		return 1;
	}
	if (st->seen[idx]) {
		conf_error(st, name, "set twice in section [%s]", section);
		return 1;
	}
	st->seen[idx] = true;
	if (conf_set(k, st->dst, value, err, sizeof(err)) != 0)
		conf_error(st, name, "%s", err);
	return 1;
}

/* The family whose sections "[PREFIX NAME]" section is one of, or NULL. */
static const struct conf_family *
find_family(const struct conf_schema *s, const char *section)
{
	for (size_t i = 0; i < s->nfamilies; i++) {
		size_t n = strlen(s->families[i].prefix);

		if (strncmp(section, s->families[i].prefix, n) == 0 &&
		    (section[n] == '\0' || isspace((unsigned char)section[n])))
			return &s->families[i];
	}
	return NULL;
}

/*
 * A "[PREFIX NAME]" header: the daemon's open() makes the object its keys go into, the
 * keys' defaults applied; a header it rejects is reported here, once.
 */
static void
family_open(struct conf_state *st, const struct conf_family *f, const char *section)
{
	const char *name = section + strlen(f->prefix);
	char err[256] = "";
	size_t n;

	st->fam = f;
	st->obj = NULL;
	memset(st->fam_seen, 0, sizeof(st->fam_seen));
	snprintf(st->famsec, sizeof(st->famsec), "[%s]", section);
	while (isspace((unsigned char)*name))
		name++;
	n = strlen(name);
	if (n == 0 || strcspn(name, " \t") != n) {
		conf_error(st, st->famsec, "expected [%s NAME] (one name)", f->prefix);
		return;
	}
	if ((st->obj = f->open(st->dst, f->prefix, name, st->line, err, sizeof(err))) == NULL) {
		conf_error(st, st->famsec, "%s", err);
		return;
	}
	for (size_t i = 0; i < f->nkeys; i++) {
		if (f->keys[i].def == NULL)
			continue;
		if (conf_set(&f->keys[i], st->obj, f->keys[i].def, err, sizeof(err)) != 0)
			conf_error(st, f->keys[i].name, "internal: default: %s", err);
	}
}

/* A section header: known, one of a family's, or an error. */
static void
section_header(struct conf_state *st, const char *p, const char *end)
{
	const struct conf_family *f;
	char section[CONF_MAX_SECTION];
	size_t n = (size_t)(end - p - 1);

	if (n >= sizeof(section))
		n = sizeof(section) - 1;
	memcpy(section, p + 1, n);
	section[n] = '\0';
	st->fam = NULL;
	st->obj = NULL;
	if ((f = find_family(st->schema, section)) != NULL)
		family_open(st, f, section);
	else if (!is_known_section(st->schema, section))
		conf_error(st, NULL, "unknown section [%s]", section);
}

/* inih's line reader: counts lines and reports over-long lines and unknown sections. */
static char *
conf_reader(char *str, int num, void *stream)
{
	struct conf_state *st = stream;
	char *p, *end;
	size_t len;

	if (fgets(str, num, st->fp) == NULL)
		return NULL;
	st->line++;
	len = strlen(str);
	if (len > 0 && str[len - 1] != '\n' && !feof(st->fp)) {
		int c;

		conf_error(st, NULL, "line longer than %d characters", num - 2);
		while ((c = fgetc(st->fp)) != EOF && c != '\n')
			;
		str[0] = '\0';
		return str;
	}
	for (p = str; isspace((unsigned char)*p); p++)
		;
	/*
	 * Syntax is checked here, line by line, because inih only returns the number of
	 * the first bad line; every bad line is reported, and the line is then blanked.
	 */
	if (*p == '[' && strchr(p, ']') == NULL) {
		conf_error(st, NULL, "syntax error (section header without ']')");
		str[0] = '\0';
		return str;
	}
	if (*p != '\0' && *p != '[' && *p != ';' && *p != '#' &&
	    strchr(p, '=') == NULL && strchr(p, ':') == NULL) {
		conf_error(st, NULL, "syntax error (expected 'key = value' or '[section]')");
		str[0] = '\0';
		return str;
	}
	if (*p == '[' && (end = strchr(p, ']')) != NULL)
		section_header(st, p, end);
	return str;
}

int
conf_defaults(const struct conf_schema *schema, void *dst)
{
	char err[256];
	int errors = 0;

	for (size_t i = 0; i < schema->nkeys; i++) {
		struct conf_key tmp;
		const struct conf_key *k = key_resolve(&schema->keys[i], &tmp);

		if (k->def == NULL)
			continue;
		if (conf_set(k, dst, k->def, err, sizeof(err)) != 0) {
			log_warnx("internal: default of %s.%s: %s", k->section, k->name, err);
			errors++;
		}
	}
	return errors;
}

int
conf_load(const struct conf_schema *schema, void *dst, const char *path, FILE *errout)
{
	struct conf_state st;
	int rc;

	memset(&st, 0, sizeof(st));
	st.schema = schema;
	st.dst = dst;
	st.path = path;
	st.errout = errout;
	if (schema->nkeys > CONF_MAX_KEYS)
		fatalx("internal: config table too large");
	st.errors = conf_defaults(schema, dst);
	if ((st.fp = fopen(path, "r")) == NULL) {
		if (errout != NULL)
			fprintf(errout, "%s: %s\n", path, strerror(errno));
		return st.errors + 1;
	}
	/*
	 * Long lines and our own line numbers: no multi-line values, a heap buffer. inih
	 * hands the reader a buffer of ini_initial_alloc octets (and grows it only when
	 * built to): that size is the longest line, so it is the one set here (a header
	 * with a 253-character domain name, a list of 32 IPv6 forwarders).
	 */
	ini_allow_multiline = false;
	ini_use_stack = false;
	ini_max_line = CONF_MAX_LINE;
	ini_initial_alloc = CONF_MAX_LINE;
	rc = ini_parse_stream(conf_reader, &st, conf_handler, &st);
	fclose(st.fp);
	if (rc > 0) {
		/* The reader blanks the lines it reports, so this is one it did not foresee. */
		st.line = rc;
		conf_error(&st, NULL, "syntax error");
	} else if (rc < 0) {
		conf_error(&st, NULL, "cannot parse (out of memory)");
	}
	return st.errors;
}

void
conf_free(const struct conf_schema *schema, void *dst)
{
	for (size_t i = 0; i < schema->nkeys; i++) {
		struct conf_key tmp;
		const struct conf_key *k = key_resolve(&schema->keys[i], &tmp);

		if (k->type == CONF_STR) {
			char **field = (char **)((char *)dst + k->offset);

			free(*field);
			*field = NULL;
		}
	}
}

void
conf_free_keys(const struct conf_key *keys, size_t nkeys, void *obj)
{
	for (size_t i = 0; i < nkeys; i++) {
		if (keys[i].type == CONF_STR) {
			char **field = (char **)((char *)obj + keys[i].offset);

			free(*field);
			*field = NULL;
		}
	}
}

static void
print_key(const struct conf_key *k, FILE *out)
{
	fprintf(out, "  %-18s %-9s default: %-22s %s\n", k->name, type_name(k->type),
	    k->def != NULL ? k->def : "(none)", k->help);
}

void
conf_print_help(const struct conf_schema *schema, FILE *out)
{
	const char *section = "";

	for (size_t i = 0; i < schema->nkeys; i++) {
		struct conf_key tmp;
		const struct conf_key *k = key_resolve(&schema->keys[i], &tmp);

		if (strcmp(section, k->section) != 0) {
			section = k->section;
			fprintf(out, "\n[%s]\n", section);
		}
		print_key(k, out);
	}
	for (size_t i = 0; i < schema->nfamilies; i++) {
		const struct conf_family *f = &schema->families[i];

		fprintf(out, "\n[%s NAME]    %s\n", f->prefix, f->help);
		for (size_t j = 0; j < f->nkeys; j++)
			print_key(&f->keys[j], out);
	}
}

size_t
conf_split_list(char *s, char **items, size_t max)
{
	size_t n = 0;
	char *tok, *save = NULL;

	for (tok = strtok_r(s, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		char *end;

		while (isspace((unsigned char)*tok))
			tok++;
		end = tok + strlen(tok);
		while (end > tok && isspace((unsigned char)end[-1]))
			*--end = '\0';
		if (*tok == '\0')
			continue;
		if (n == max)
			return max + 1;
		items[n++] = tok;
	}
	return n;
}

long
conf_read_small_file(const char *path, const char *prefix, char *buf, size_t cap,
    char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	size_t n;

	assert(cap > 0);
	if (f == NULL) {
		snprintf(err, errlen, "%s%s: %s", prefix, path, strerror(errno));
		return -1;
	}
	n = fread(buf, 1, cap - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		buf[--n] = '\0';
	return (long)n;
}

long
conf_list_each(const char *list, size_t max, conf_item_fn each, void *arg, char *err,
    size_t errlen)
{
	char *copy = strdup(list), **items = calloc(max + 1, sizeof(*items));
	long rc;

	if (copy == NULL || items == NULL) {
		snprintf(err, errlen, "out of memory");
		rc = -1;
		goto out;
	}
	rc = (long)conf_split_list(copy, items, max);
	for (long i = 0; rc <= (long)max && i < rc; i++)
		if (each(arg, items[i], err, errlen) != 0)
			rc = -1;
out:
	free(items);
	free(copy);
	return rc;
}

int
conf_parse_sockaddr(const char *s, int defport, struct sockaddr_storage *ss, size_t *sslen,
    char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *port = NULL, *h = s;
	size_t hlen;
	long p = defport;
	char *end;

	memset(ss, 0, sizeof(*ss));
	if (*s == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL) {
			snprintf(err, errlen, "'%s': missing ']'", s);
			return -1;
		}
		h = s + 1;
		hlen = (size_t)(close - h);
		if (close[1] == ':')
			port = close + 2;
		else if (close[1] != '\0') {
			snprintf(err, errlen, "'%s': junk after ']'", s);
			return -1;
		}
	} else {
		const char *colon = strchr(s, ':');

		if (colon != NULL && strchr(colon + 1, ':') != NULL) {
			hlen = strlen(s);	/* a bare IPv6 address, no port */
		} else if (colon != NULL) {
			hlen = (size_t)(colon - s);
			port = colon + 1;
		} else {
			hlen = strlen(s);
		}
	}
	if (hlen == 0 || hlen >= sizeof(host)) {
		snprintf(err, errlen, "'%s': bad address", s);
		return -1;
	}
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if (port != NULL) {
		errno = 0;
		p = strtol(port, &end, 10);
		if (*port == '\0' || *end != '\0' || errno != 0 || p < 0 || p > 65535) {
			snprintf(err, errlen, "'%s': bad port", s);
			return -1;
		}
	} else if (defport < 0) {
		snprintf(err, errlen, "'%s': a port is required", s);
		return -1;
	}
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)p);
		*sslen = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)p);
		*sslen = sizeof(*sin6);
		return 0;
	}
	snprintf(err, errlen, "'%s': not an IPv4 or IPv6 address", host);
	return -1;
}

int
conf_item_addr(void *defport, const char *item, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	size_t sslen;

	return conf_parse_sockaddr(item, *(const int *)defport, &ss, &sslen, err, errlen);
}

int
conf_check_addr_list(const char *value, char *err, size_t errlen)
{
	int defport = -1;
	long n = conf_list_each(value, 64, conf_item_addr, &defport, err, errlen);

	if (n == 0 || n > 64) {
		snprintf(err, errlen, n == 0 ? "empty address list" : "more than 64 addresses");
		return -1;
	}
	return n < 0 ? -1 : 0;
}


int
conf_check_addr_list_or_none(const char *value, char *err, size_t errlen)
{
	if (strcmp(value, "none") == 0)
		return 0;
	return conf_check_addr_list(value, err, errlen);
}

/*
 * The admin token file must be readable and non-empty when the configuration is read:
 * a daemon must not open its listeners and only then find out (and --check-config
 * should say so).
 */
int
conf_check_token_file(const char *value, char *err, size_t errlen)
{
	char buf[512];
	long n = conf_read_small_file(value, "token-file ", buf, sizeof(buf), err, errlen);

	explicit_bzero(buf, sizeof(buf));
	if (n == 0)
		snprintf(err, errlen, "token-file %s is empty", value);
	return n > 0 ? 0 : -1;
}

int
conf_check_log_format(const char *value, char *err, size_t errlen)
{
	if (strcmp(value, "text") != 0 && strcmp(value, "json") != 0) {
		snprintf(err, errlen, "'%s' is not text or json", value);
		return -1;
	}
	return 0;
}

int
conf_check_hex16(const char *value, char *err, size_t errlen)
{
	size_t n = strlen(value);

	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)value[i]))
			n = 0;
	if (n != 32) {
		snprintf(err, errlen, "expected 32 hexadecimal digits (16 octets)");
		return -1;
	}
	return 0;
}

int
conf_check_log_level(const char *value, char *err, size_t errlen)
{
	if (log_level_parse(value) < 0) {
		snprintf(err, errlen, "'%s' is not one of error, warn, info, debug", value);
		return -1;
	}
	return 0;
}
