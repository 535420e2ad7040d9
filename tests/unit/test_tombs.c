/* test_tombs.c: unit tests of the deleted RRsets' versions (authd/tombs.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "authd/tombs.h"
#include "common/dname.h"

static void
name(const char *s, uint8_t *w)
{
	assert_true(dname_from_str(s, NULL, w) > 0);
}

static void
test_set_get_clear(void **state)
{
	struct tombs *t = tombs_new();
	uint8_t a[DNAME_MAXLEN], b[DNAME_MAXLEN];

	name("a.example.", a);
	name("b.example.", b);
	assert_int_equal(tombs_get(t, a, 1, 10), -1);
	tombs_set(t, a, 1, 0, 5);
	assert_int_equal(tombs_get(t, a, 1, 10), 5);
	assert_int_equal(tombs_get(t, a, 16, 10), -1);	/* another type */
	assert_int_equal(tombs_get(t, b, 1, 10), -1);	/* another name */
	tombs_set(t, a, 1, 0, 9);			/* deleted again later */
	assert_int_equal(tombs_get(t, a, 1, 10), 9);
	assert_int_equal(tombs_count(t), 1);
	tombs_clear(t, a, 1);				/* written again */
	assert_int_equal(tombs_get(t, a, 1, 10), -1);
	assert_int_equal(tombs_count(t), 0);
	tombs_clear(t, b, 1);				/* nothing to clear */
	tombs_free(t);
}

/* A deletion counts only for events at most TOMBS_WINDOW offsets after it. */
static void
test_window(void **state)
{
	struct tombs *t = tombs_new();
	uint8_t a[DNAME_MAXLEN];

	name("a.example.", a);
	tombs_set(t, a, 1, 3, 100);
	assert_int_equal(tombs_get(t, a, 1, 100 + TOMBS_WINDOW), 100);
	assert_int_equal(tombs_get(t, a, 1, 101 + TOMBS_WINDOW), -1);
	tombs_free(t);
}

static int
count(void *arg, const uint8_t *owner, uint16_t type, uint32_t partition, int64_t offset)
{
	(*(int *)arg)++;
	return 0;
}

/* Many entries: the table grows, drops only what no event can use, keeps the rest. */
static void
test_growth_and_pruning(void **state)
{
	struct tombs *t = tombs_new();
	uint8_t w[DNAME_MAXLEN];
	char s[64];
	int n = 0;

	name("old.example.", w);
	tombs_set(t, w, 1, 0, 0);			/* will fall out of the window */
	for (int i = 0; i < 5000; i++) {
		snprintf(s, sizeof(s), "n%d.example.", i);
		name(s, w);
		tombs_set(t, w, 16, 0, TOMBS_WINDOW + 10 + i);
	}
	for (int i = 0; i < 5000; i++) {
		snprintf(s, sizeof(s), "n%d.example.", i);
		name(s, w);
		assert_int_equal(tombs_get(t, w, 16, TOMBS_WINDOW + 10000), TOMBS_WINDOW + 10 + i);
	}
	name("old.example.", w);
	assert_int_equal(tombs_get(t, w, 1, TOMBS_WINDOW + 10000), -1);
	assert_int_equal(tombs_count(t), 5000);		/* old.example. pruned */
	tombs_walk(t, count, &n);
	assert_int_equal(n, 5000);
	tombs_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_get_clear),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_growth_and_pruning),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
