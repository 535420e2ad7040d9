/* test_conf.c: unit tests of the table-driven config loader with authd's table. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "authd/authd.h"
#include "common/conf.h"

static char path[64];
static char *errs;		/* what conf_load printed */
static size_t errslen;
static struct authd_conf conf;

static int
setup(void **state)
{
	memset(&conf, 0, sizeof(conf));
	errs = NULL;
	return 0;
}

static int
teardown(void **state)
{
	authd_conf_free(&conf);
	free(errs);
	errs = NULL;
	return 0;
}

/* Writes text to a fresh temporary file (its name in path). */
static void
write_file(const char *text)
{
	int fd;

	snprintf(path, sizeof(path), "/tmp/test_conf.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/*
 * Loads text with authd's table into conf (freeing what an earlier load left); returns the
 * error count, errs holds the messages.
 */
static int
load(const char *text)
{
	FILE *out;
	int n;

	authd_conf_free(&conf);
	free(errs);
	out = open_memstream(&errs, &errslen);
	assert_non_null(out);
	write_file(text);
	n = authd_conf_load(&conf, path, out);
	fclose(out);
	unlink(path);
	return n;
}

static int
lines(const char *s)
{
	int n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

/* errs has a line "path:lineno: key: ..." (or "path:lineno: ..." when key is NULL); returns it. */
static const char *
err_line(int lineno, const char *key)
{
	char prefix[160];
	const char *p;

	snprintf(prefix, sizeof(prefix), "%s:%d: %s%s", path, lineno, key ? key : "",
	    key ? ": " : "");
	for (p = errs; p != NULL && *p != '\0'; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, prefix, strlen(prefix)) == 0)
			return p;
	fail_msg("no error line \"%s\" in:\n%s", prefix, errs);
	return NULL;
}

/* One error, on lineno, for key: "file:line: key: reason" with a non-empty reason. */
static void
assert_one_error(int n, int lineno, const char *key)
{
	const char *l;

	assert_int_equal(n, 1);
	assert_int_equal(lines(errs), 1);
	l = err_line(lineno, key);
	assert_true(strlen(l) > strlen(path) + 8);
}

static void
assert_defaults(const struct authd_conf *c)
{
	assert_string_equal(c->listen, "127.0.0.1:53");
	assert_int_equal(c->workers, 2);
	assert_int_equal(c->udp_payload_size, 1232);
	assert_int_equal(c->tcp_idle_timeout, 10000);
	assert_int_equal(c->tcp_max_clients, 1000);
	assert_string_equal(c->brokers, "127.0.0.1:9092");
	assert_string_equal(c->topic, "streamdns.zones");
	assert_int_equal(c->retry_interval, 2000);
	assert_string_equal(c->log_level, "info");
	assert_int_equal(c->nprops, 0);
}

/* ---- valid input ---- */

static void
test_defaults(void **state)
{
	assert_int_equal(conf_defaults(&authd_conf_schema, &conf), 0);
	assert_defaults(&conf);
}

static void
test_empty_file_gives_defaults(void **state)
{
	assert_int_equal(load("; nothing here\n\n# nor here\n"), 0);
	assert_string_equal(errs, "");
	assert_defaults(&conf);
}

static void
test_valid_file(void **state)
{
	int n = load(
	    "[server]\n"
	    "listen = 127.0.0.1:5353, [::1]:5353\n"
	    "workers = 4\n"
	    "udp-payload-size = 1400\n"
	    "tcp-idle-timeout = 250ms\n"
	    "tcp-max-clients = 10\n"
	    "\n"
	    "[kafka]\n"
	    "brokers = k1:9092,k2:9092\n"
	    "topic = zones\n"
	    "retry-interval = 2s\n"
	    "[log]\n"
	    "level = debug\n");

	assert_int_equal(n, 0);
	assert_string_equal(errs, "");
	assert_string_equal(conf.listen, "127.0.0.1:5353, [::1]:5353");
	assert_int_equal(conf.workers, 4);
	assert_int_equal(conf.udp_payload_size, 1400);
	assert_int_equal(conf.tcp_idle_timeout, 250);
	assert_int_equal(conf.tcp_max_clients, 10);
	assert_string_equal(conf.brokers, "k1:9092,k2:9092");
	assert_string_equal(conf.topic, "zones");
	assert_int_equal(conf.retry_interval, 2000);
	assert_string_equal(conf.log_level, "debug");
}

/* "ms", "s", "m" and a bare number of seconds. */
static void
test_durations(void **state)
{
	assert_int_equal(load("[server]\ntcp-idle-timeout = 1m\n"), 0);
	assert_int_equal(conf.tcp_idle_timeout, 60000);
	assert_int_equal(load("[server]\ntcp-idle-timeout = 3\n"), 0);
	assert_int_equal(conf.tcp_idle_timeout, 3000);
	assert_int_equal(load("[server]\ntcp-idle-timeout = 100ms\n"), 0);	/* the minimum */
	assert_int_equal(conf.tcp_idle_timeout, 100);
}

static void
test_int_bounds_inclusive(void **state)
{
	assert_int_equal(load("[server]\nworkers = 1\nudp-payload-size = 512\n"), 0);
	assert_int_equal(conf.workers, 1);
	assert_int_equal(conf.udp_payload_size, 512);
	assert_int_equal(load("[server]\nworkers = 64\nudp-payload-size = 4096\n"), 0);
	assert_int_equal(conf.workers, 64);
	assert_int_equal(conf.udp_payload_size, 4096);
}

/* CONF_SIZE (no authd key has it): a table of our own. */
struct sizes {
	size_t	buf;
};

static const struct conf_key size_keys[] = {
	{ "mem", "buf", CONF_SIZE, 1, 1LL << 30, "4k", offsetof(struct sizes, buf), NULL,
	    "a buffer" },
};

static const struct conf_schema size_schema = { size_keys, 1, NULL, NULL, NULL, 0 };

static int
load_size(const char *value, size_t *out)
{
	char text[128];
	struct sizes sz = { 0 };
	FILE *devnull = fopen("/dev/null", "w");
	int n;

	snprintf(text, sizeof(text), "[mem]\nbuf = %s\n", value);
	write_file(text);
	n = conf_load(&size_schema, &sz, path, devnull);
	fclose(devnull);
	unlink(path);
	*out = sz.buf;
	return n;
}

static void
test_sizes(void **state)
{
	struct sizes sz = { 0 };
	size_t v;

	assert_int_equal(conf_defaults(&size_schema, &sz), 0);
	assert_int_equal(sz.buf, 4096);
	assert_int_equal(load_size("512", &v), 0);
	assert_int_equal(v, 512);
	assert_int_equal(load_size("2M", &v), 0);
	assert_int_equal(v, 2u * 1024 * 1024);
	assert_int_equal(load_size("1G", &v), 0);
	assert_int_equal(v, 1u << 30);
	assert_int_equal(load_size("2G", &v), 1);		/* over the maximum */
	assert_int_equal(load_size("12q", &v), 1);
	assert_int_equal(load_size("0", &v), 1);		/* under the minimum */
}

/* ---- errors: "file:line: key: reason", each one counted ---- */

static void
test_unknown_key(void **state)
{
	assert_one_error(load("[server]\nworkers = 2\nbogus = 1\n"), 3, "bogus");
}

static void
test_unknown_section(void **state)
{
	/* Reported once at its header, not again for each of its keys. */
	assert_one_error(load("[server]\nworkers = 2\n[nope]\na = 1\nb = 2\n"), 3, NULL);
	assert_non_null(strstr(errs, "nope"));
	assert_int_equal(conf.workers, 2);
}

static void
test_duplicate_key(void **state)
{
	assert_one_error(load("[server]\nworkers = 2\nlisten = 127.0.0.1:53\nworkers = 3\n"),
	    4, "workers");
}

static void
test_out_of_range(void **state)
{
	assert_one_error(load("[server]\nworkers = 0\n"), 2, "workers");
	assert_non_null(strstr(errs, "range"));
	assert_one_error(load("[server]\n\nworkers = 65\n"), 3, "workers");
	assert_one_error(load("[server]\nudp-payload-size = 511\n"), 2, "udp-payload-size");
	assert_one_error(load("[server]\ntcp-idle-timeout = 99ms\n"), 2, "tcp-idle-timeout");
}

static void
test_bad_integer(void **state)
{
	static const char *const bad[] = { "4x", "four", "0x10", "", "4 4", "1.5",
	    "99999999999999999999" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[128];

		snprintf(text, sizeof(text), "[server]\nworkers = %s\n", bad[i]);
		assert_one_error(load(text), 2, "workers");
	}
}

static void
test_bad_duration(void **state)
{
	static const char *const bad[] = { "5h", "10 ms", "ms", "2sec", "-1s", "1.5s" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[128];

		snprintf(text, sizeof(text), "[kafka]\nretry-interval = %s\n", bad[i]);
		assert_one_error(load(text), 2, "retry-interval");
	}
}

static void
test_bad_address(void **state)
{
	static const char *const bad[] = { "999.1.1.1:53", "127.0.0.1:99999", "localhost:53",
	    "127.0.0.1", "[::1:53", "[::1]x", "127.0.0.1:53, nope:53", ",", "127.0.0.1:" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[128];

		snprintf(text, sizeof(text), "[server]\nlisten = %s\n", bad[i]);
		assert_one_error(load(text), 2, "listen");
	}
}

static void
test_bad_log_level(void **state)
{
	assert_one_error(load("[log]\nlevel = loud\n"), 2, "level");
}

/* An over-long line is one error; the lines after it keep their numbers. */
static void
test_line_too_long(void **state)
{
	size_t n = 9000;
	char *text = malloc(n + 64), *p = text;
	int errors;

	p += sprintf(p, "[server]\nlisten = ");
	memset(p, '1', n);
	p += n;
	sprintf(p, "\nworkers = 5\nbogus = 1\n");
	errors = load(text);
	free(text);
	assert_int_equal(errors, 2);
	assert_int_equal(lines(errs), 2);
	assert_non_null(strstr(err_line(2, NULL), "long"));
	err_line(4, "bogus");
	assert_int_equal(conf.workers, 5);
}

static void
test_syntax_error(void **state)
{
	assert_one_error(load("[server]\nworkers 4\n"), 2, NULL);
	assert_non_null(strstr(errs, "syntax"));
}

/*
 * BUG (found by this test, fixed since in conf.c): conf_load() reported only the first
 * syntax error (inih's ini_parse_stream() returns just the first bad line's number), yet
 * conf.h promises every error, "all of them, not only the first".
 */
static void
test_every_syntax_error_counted(void **state)
{
	int n = load("[server]\nworkers 4\nlisten = 127.0.0.1:53\ntopic\n");

	assert_int_equal(n, 2);
	err_line(2, NULL);
	err_line(4, NULL);
}

/*
 * BUG (found by this test, fixed since in conf.c): conf_handler() dropped keys of unknown
 * sections silently, counting on conf_reader() to report the section header; a key before
 * any header is in section "", which has no header line, so it was ignored without error.
 */
static void
test_key_outside_section(void **state)
{
	int n = load("workers = 4\n[server]\nlisten = 127.0.0.1:53\n");

	assert_int_equal(n, 1);
	err_line(1, "workers");
}

/*
 * A syntax error only inih sees: "; = 4" is an inline comment, so the line has no '='.
 * Alone it is reported (line 2) ...
 */
static void
test_inline_comment_syntax_error(void **state)
{
	assert_one_error(load("[server]\nworkers ; = 4\n"), 2, NULL);
}

/*
 * BUG: common/conf.c conf_load() reports a syntax error found by inih (rc > 0) only when
 * no other error was counted ("if (rc > 0 && st.errors == 0)"), so after an unknown key
 * the bad line 3 goes unreported and uncounted: 1 error instead of 2.
 */
static void
test_inline_comment_syntax_error_after_other_error(void **state)
{
	int n = load("[server]\nbogus = 1\nworkers ; = 4\n");

	assert_int_equal(n, 2);
	err_line(2, "bogus");
	err_line(3, NULL);
}

static void
test_every_error_reported(void **state)
{
	int n = load(
	    "[server]\n"
	    "workers = 0\n"			/* 2: out of range */
	    "listen = nowhere\n"		/* 3: bad address */
	    "[kafka]\n"
	    "retry-interval = soon\n"		/* 5: bad duration */
	    "[server]\n"
	    "workers = 3\n"			/* 7: set twice */
	    "frobs = 1\n");			/* 8: unknown */

	assert_int_equal(n, 5);
	assert_int_equal(lines(errs), 5);
	err_line(2, "workers");
	err_line(3, "listen");
	err_line(5, "retry-interval");
	err_line(7, "workers");
	err_line(8, "frobs");
}

/* ---- librdkafka pass-through ---- */

static void
test_kafka_property_accepted(void **state)
{
	assert_int_equal(load("[kafka]\nsocket.timeout.ms = 1000\nbrokers = b:9092\n"), 0);
	assert_int_equal(conf.nprops, 1);
	assert_string_equal(conf.props[0].name, "socket.timeout.ms");
	assert_string_equal(conf.props[0].value, "1000");
	assert_string_equal(conf.brokers, "b:9092");
}

static void
test_kafka_unknown_property(void **state)
{
	const char *l;

	assert_one_error(load("[kafka]\nno.such.property = 1\n"), 2, "no.such.property");
	l = err_line(2, "no.such.property") + strlen(path) + strlen(":2: no.such.property: ");
	/* librdkafka's own text, which names the property. */
	assert_non_null(strstr(l, "No such configuration property"));
	assert_non_null(strstr(l, "no.such.property"));
	assert_int_equal(conf.nprops, 0);
}

static void
test_kafka_bad_value(void **state)
{
	assert_one_error(load("[kafka]\nsocket.timeout.ms = soon\n"), 2, "socket.timeout.ms");
	assert_int_equal(conf.nprops, 0);
}

/* Pass-through is for [kafka] only. */
static void
test_property_outside_kafka(void **state)
{
	assert_one_error(load("[server]\nsocket.timeout.ms = 1000\n"), 2, "socket.timeout.ms");
	assert_int_equal(conf.nprops, 0);
}

static void
test_missing_file(void **state)
{
	FILE *out = open_memstream(&errs, &errslen);
	int n;

	snprintf(path, sizeof(path), "/nonexistent/streamdns-test.conf");
	n = authd_conf_load(&conf, path, out);
	fclose(out);
	assert_true(n >= 1);
	assert_non_null(strstr(errs, path));
}

/* Section families: "[item NAME]" sections, each an object of its own. */
struct item {
	char	 name[256];
	int	 line;
	int	 size;
	char	*label;
};

struct items {
	int		 top;
	struct item	 v[4];
	size_t		 n;
};

static const struct conf_key item_keys[] = {
	{ "item", "size", CONF_INT, 1, 10, "3", offsetof(struct item, size), NULL, "a size" },
	{ "item", "label", CONF_STR, 0, 0, NULL, offsetof(struct item, label), NULL, "a label" },
};

static void *
item_open(void *dst, const char *prefix, const char *name, int line, char *err,
    size_t errlen)
{
	struct items *it = dst;

	assert_string_equal(prefix, "item");
	if (strncmp(name, "bad", 3) == 0) {
		snprintf(err, errlen, "'%s' is a bad name", name);
		return NULL;
	}
	for (size_t i = 0; i < it->n; i++) {
		if (strcmp(it->v[i].name, name) == 0) {
			snprintf(err, errlen, "again (line %d)", it->v[i].line);
			return NULL;
		}
	}
	if (it->n == 4) {
		snprintf(err, errlen, "too many");
		return NULL;
	}
	snprintf(it->v[it->n].name, sizeof(it->v[it->n].name), "%s", name);
	it->v[it->n].line = line;
	return &it->v[it->n++];
}

static const struct conf_key top_keys[] = {
	{ "main", "top", CONF_INT, 0, 100, "1", offsetof(struct items, top), NULL, "a number" },
};

static const struct conf_family item_family[] = {
	{ "item", item_keys, 2, item_open, "NAME is anything not starting with bad" },
};

static const struct conf_schema item_schema = { top_keys, 1, NULL, NULL, item_family, 1 };

static int
load_items(const char *text, struct items *it)
{
	FILE *out;
	int n;

	free(errs);
	out = open_memstream(&errs, &errslen);
	assert_non_null(out);
	memset(it, 0, sizeof(*it));
	write_file(text);
	n = conf_load(&item_schema, it, path, out);
	fclose(out);
	unlink(path);
	return n;
}

static void
free_items(struct items *it)
{
	for (size_t i = 0; i < it->n; i++)
		conf_free_keys(item_keys, 2, &it->v[i]);
}

static void
test_family_sections(void **state)
{
	struct items it;
	char text[1024], longname[201];

	memset(longname, 'x', 200);
	longname[200] = '\0';
	/* A name longer than inih's own section buffer (50) is read whole. */
	snprintf(text, sizeof(text), "[main]\ntop = 7\n[item a]\nsize = 5\nlabel = hello\n"
	    "[item %s]\n[main]\n", longname);
	assert_int_equal(load_items(text, &it), 0);
	assert_int_equal(it.top, 7);
	assert_int_equal(it.n, 2);
	assert_string_equal(it.v[0].name, "a");
	assert_int_equal(it.v[0].line, 3);
	assert_int_equal(it.v[0].size, 5);
	assert_string_equal(it.v[0].label, "hello");
	assert_string_equal(it.v[1].name, longname);
	assert_int_equal(it.v[1].size, 3);		/* the default */
	assert_null(it.v[1].label);
	free_items(&it);
}

static void
test_family_errors(void **state)
{
	struct items it;

	assert_int_equal(load_items("[item a]\n"		/* 1 */
	    "size = 11\n"				/* 2: out of range */
	    "colour = red\n"				/* 3: unknown */
	    "label = x\n"				/* 4 */
	    "label = y\n"				/* 5: twice */
	    "[item bad1]\n"				/* 6: rejected */
	    "colour = skipped with its section\n"	/* 7 */
	    "[item a]\n"				/* 8: again */
	    "[item]\n"					/* 9: no name */
	    "[item two names]\n"			/* 10 */
	    "[itemx b]\n"				/* 11: not of the family */
	    "top = 2\n", &it), 8);			/* 12: skipped, as in any unknown section */
	assert_non_null(strstr(errs, ":2: size: 11 is out of range 1..10\n"));
	assert_non_null(strstr(errs, ":3: colour: unknown key in section [item a]\n"));
	assert_non_null(strstr(errs, ":5: label: set twice in section [item a]\n"));
	assert_non_null(strstr(errs, ":6: [item bad1]: 'bad1' is a bad name\n"));
	assert_null(strstr(errs, ":7:"));
	assert_non_null(strstr(errs, ":8: [item a]: again (line 1)\n"));
	assert_non_null(strstr(errs, ":9: [item]: expected [item NAME] (one name)\n"));
	assert_non_null(strstr(errs, ":10: [item two names]: expected [item NAME] (one name)\n"));
	assert_non_null(strstr(errs, ":11: unknown section [itemx b]\n"));
	assert_int_equal(it.n, 1);
	free_items(&it);
}

static void
test_family_help(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	assert_non_null(out);
	conf_print_help(&item_schema, out);
	fclose(out);
	assert_non_null(strstr(buf, "[item NAME]"));
	assert_non_null(strstr(buf, "a label"));
	free(buf);
}

#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_defaults),
		T(test_empty_file_gives_defaults),
		T(test_valid_file),
		T(test_durations),
		T(test_int_bounds_inclusive),
		T(test_sizes),
		T(test_unknown_key),
		T(test_unknown_section),
		T(test_duplicate_key),
		T(test_out_of_range),
		T(test_bad_integer),
		T(test_bad_duration),
		T(test_bad_address),
		T(test_bad_log_level),
		T(test_line_too_long),
		T(test_syntax_error),
		T(test_every_syntax_error_counted),
		T(test_key_outside_section),
		T(test_inline_comment_syntax_error),
		T(test_inline_comment_syntax_error_after_other_error),
		T(test_every_error_reported),
		T(test_kafka_property_accepted),
		T(test_kafka_unknown_property),
		T(test_kafka_bad_value),
		T(test_property_outside_kafka),
		T(test_missing_file),
		T(test_family_sections),
		T(test_family_errors),
		T(test_family_help),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
