/* test_httpadmin.c: unit tests of the admin endpoint's pieces (common/httpadmin.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/httpadmin.h"

static void
test_token_ok(void **state)
{
	assert_true(httpadmin_token_ok("s3cret", "Bearer s3cret"));
	assert_false(httpadmin_token_ok("s3cret", NULL));
	assert_false(httpadmin_token_ok("s3cret", "Bearer s3cre"));
	assert_false(httpadmin_token_ok("s3cret", "Bearer s3cret2"));
	assert_false(httpadmin_token_ok("s3cret", "Bearer S3cret"));
	assert_false(httpadmin_token_ok("s3cret", "Basic s3cret"));
	assert_false(httpadmin_token_ok("s3cret", "s3cret"));
}

static void
test_read_token(void **state)
{
	char path[] = "/tmp/test_httpadmin_XXXXXX", err[256];
	int fd = mkstemp(path);
	char *t;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "tok en \n\n", 9), 9);
	close(fd);
	t = httpadmin_read_token(path, err, sizeof(err));
	assert_non_null(t);
	assert_string_equal(t, "tok en");	/* trailing white space only */
	free(t);
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_int_equal(write(fd, " \n", 2), 2);
	close(fd);
	assert_null(httpadmin_read_token(path, err, sizeof(err)));
	assert_non_null(strstr(err, "is empty"));
	unlink(path);
	assert_null(httpadmin_read_token(path, err, sizeof(err)));
	assert_non_null(strstr(err, path));
}

struct dgrams {
	size_t	n;
	size_t	total;
	char	last;
	int	whole;		/* every datagram ended with a whole line */
};

static void
count(void *arg, const char *p, size_t n)
{
	struct dgrams *d = arg;

	assert_true(n > 0 && n <= HTTPADMIN_STATSD_MAX);
	d->n++;
	d->total += n;
	d->whole &= p[n - 1] == '\n';
}

static void
test_statsd_split(void **state)
{
	char *s = malloc(100000);
	size_t len = 0;
	struct dgrams d = { 0, 0, 0, 1 };

	for (int i = 0; i < 2000; i++)
		len += (size_t)sprintf(s + len, "streamdns.dnsr.metric_%d:%d|g\n", i, i * 7);
	httpadmin_statsd_split(s, len, count, &d);
	assert_int_equal(d.total, len);
	assert_true(d.whole);
	assert_true(d.n >= len / HTTPADMIN_STATSD_MAX + 1);
	/* A line longer than a datagram is cut rather than lost or looping. */
	memset(s, 'x', 3000);
	s[2999] = '\n';
	d = (struct dgrams){ 0, 0, 0, 1 };
	httpadmin_statsd_split(s, 3000, count, &d);
	assert_int_equal(d.total, 3000);
	assert_int_equal(d.n, 3);
	free(s);
}

static void
sample(void *ctx, const char *name, const char *labels, double v)
{
	snprintf(ctx, 256, "%s{%s} %g", name, labels, v);
}

static void
family(void *ctx, const char *name, enum metric_kind kind, const char *help)
{
}

static void
test_info(void **state)
{
	char out[256];
	struct metric_sink s = { family, sample, out };

	httpadmin_info(&s, "x_info", NULL);
	assert_string_equal(out, "x_info{version=\"" STREAMDNS_VERSION "\"} 1");
	httpadmin_info(&s, "x_info", "a\"b\\c");
	assert_string_equal(out, "x_info{version=\"" STREAMDNS_VERSION
	    "\",identity=\"a_b_c\"} 1");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_ok),
		cmocka_unit_test(test_read_token),
		cmocka_unit_test(test_statsd_split),
		cmocka_unit_test(test_info),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
