/* conf.h: the one INI config loader: a table of keys drives parsing, checks, defaults and help. */
#ifndef STREAMDNS_CONF_H
#define STREAMDNS_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum conf_type {
	CONF_STR,	/* char *, owned by the struct, freed by conf_free() */
	CONF_INT,	/* int, within [min, max] */
	CONF_BOOL,	/* bool: yes/no, true/false, on/off, 1/0 */
	CONF_SIZE,	/* size_t: bytes with optional K, M, G suffix, within [min, max] */
	CONF_MSEC,	/* int milliseconds: "250ms", "2s", "1m", "1h" or a bare number of seconds */
	/*
	 * A key both daemons have (common/conf_keys.c): the row gives section, name and
	 * offset; type, bounds, default, check and help come from the shared key, but for a
	 * default, check or help the row sets itself (where the daemons differ).
	 */
	CONF_SHARED,
};

/*
 * Optional extra validation of a key's raw value (for example a list of addresses).
 * Returns 0, or -1 with a reason written to err.
 */
typedef int (*conf_check_fn)(const char *value, char *err, size_t errlen);

struct conf_key {
	const char	*section;
	const char	*name;
	enum conf_type	 type;
	long long	 min, max;
	const char	*def;		/* default, in the same syntax as the file */
	size_t		 offset;	/* where the value goes in the config struct */
	conf_check_fn	 check;
	const char	*help;
};

/*
 * Keys of a section that are not in the table can be handed to a pass-through (the
 * librdkafka properties of [kafka]): it returns 0 when it accepted the key, or -1 with a
 * reason. Sections listed in passthrough_sections accept any key this way.
 */
typedef int (*conf_passthrough_fn)(void *dst, const char *section, const char *name,
    const char *value, char *err, size_t errlen);

/*
 * A family of named sections, "[PREFIX NAME]" (dnsr's "[forward-zone example.com]"):
 * each section is one object the daemon keeps (a list of zones, say). When the loader
 * reads such a header it calls open(), which checks NAME (and that it is not a second
 * section of that name) and returns where the section's keys go, with the defaults of
 * keys[] applied by the loader; or NULL with a reason, printed as "file:line: [PREFIX
 * NAME]: reason", and the section's keys are then skipped. The keys of keys[] (their
 * section field is PREFIX; no CONF_SHARED) are parsed, checked and reported as the
 * schema's own, with offsets into that object; the strings they hold are the daemon's
 * to free (conf_free_keys()).
 */
typedef void *(*conf_family_open_fn)(void *dst, const char *prefix, const char *name,
    int line, char *err, size_t errlen);

struct conf_family {
	const char		*prefix;
	const struct conf_key	*keys;
	size_t			 nkeys;
	conf_family_open_fn	 open;
	const char		*help;		/* what NAME is, for --help */
};

struct conf_schema {
	const struct conf_key	*keys;
	size_t			 nkeys;
	const char *const	*passthrough_sections;	/* NULL-terminated, may be NULL */
	conf_passthrough_fn	 passthrough;
	const struct conf_family *families;		/* may be NULL */
	size_t			 nfamilies;
};

/*
 * Applies the defaults, then reads path into dst. Every error is printed to errout as
 * "file:line: key: reason" (all of them, not only the first). Returns the number of
 * errors (0 when the file is valid). On error dst may be partly filled: conf_free() it.
 */
int conf_load(const struct conf_schema *schema, void *dst, const char *path, FILE *errout);

/* Applies only the defaults (for tests and programs run without a file). */
int conf_defaults(const struct conf_schema *schema, void *dst);

/* Frees the strings conf_load() stored in dst. */
void conf_free(const struct conf_schema *schema, void *dst);

/* Frees the strings of the nkeys keys stored in obj (a family's section object). */
void conf_free_keys(const struct conf_key *keys, size_t nkeys, void *obj);

/* Prints every key with its type, default and help (for --help and the docs). */
void conf_print_help(const struct conf_schema *schema, FILE *out);

/* Splits a comma-separated list in place; returns the number of items (at most max). */
size_t conf_split_list(char *s, char **items, size_t max);

/*
 * Calls each(arg, item, ...) on the items of a comma-separated list, in order, until one
 * fails (returns non-zero, its reason in err). Returns the number of items; max + 1,
 * without visiting any, when there are more than max; -1 when an item failed or memory
 * ran out. The caller words its own errors for an empty or too long list.
 */
typedef int (*conf_item_fn)(void *arg, const char *item, char *err, size_t errlen);
long conf_list_each(const char *list, size_t max, conf_item_fn each, void *arg, char *err,
    size_t errlen);

/* A conf_item_fn: item is ADDR[:PORT]; defport points to the port if left out (-1: none). */
int conf_item_addr(void *defport, const char *item, char *err, size_t errlen);

/*
 * Reads a small file a configuration names (a token, a key): at most cap - 1 octets
 * into buf, NUL-terminated, trailing white space removed. Returns the length, or -1
 * with "<prefix><path>: <reason>" in err.
 */
long conf_read_small_file(const char *path, const char *prefix, char *buf, size_t cap,
    char *err, size_t errlen);

/* Parses "ADDR:PORT", "[V6ADDR]:PORT", or "ADDR" with defport; fills a sockaddr_storage. */
struct sockaddr_storage;
int conf_parse_sockaddr(const char *s, int defport, struct sockaddr_storage *ss,
    size_t *sslen, char *err, size_t errlen);

/* The shared key of that section and name (common/conf_keys.c), or NULL. */
const struct conf_key *conf_shared_key(const char *section, const char *name);

/* Check functions for tables. */
int conf_check_addr_list(const char *value, char *err, size_t errlen);
int conf_check_addr_list_or_none(const char *value, char *err, size_t errlen);
int conf_check_log_level(const char *value, char *err, size_t errlen);
int conf_check_token_file(const char *value, char *err, size_t errlen);
int conf_check_log_format(const char *value, char *err, size_t errlen);
int conf_check_hex16(const char *value, char *err, size_t errlen);

#endif
