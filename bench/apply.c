/*
 * apply.c: the consumer's per-event work without Kafka, to see what bounds a replay.
 *
 * Usage: apply FILE [ROUNDS]
 * FILE holds one event per line, "key<TAB>value" (bench/startup.py writes such a file).
 * Each round decodes every event (event_decode) and applies it to a fresh store, committing
 * every 4096 events as the consumer does per batch; prints the rate of decoding alone and
 * of decoding plus applying, best round of each.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <urcu.h>

#include "authd/store.h"
#include "common/clock.h"
#include "common/event.h"

struct line {
	const char	*key, *value;
	size_t		 keylen, valuelen;
};

static struct line *
load(const char *path, size_t *n)
{
	FILE *f = fopen(path, "r");
	struct line *v = NULL;
	size_t cap = 0;
	char *buf = NULL;
	size_t bufcap = 0;
	ssize_t len;

	if (f == NULL) {
		perror(path);
		exit(1);
	}
	*n = 0;
	while ((len = getline(&buf, &bufcap, f)) > 0) {
		char *tab = memchr(buf, '\t', (size_t)len), *copy;

		if (tab == NULL)
			continue;
		if (buf[len - 1] == '\n')
			len--;
		if (*n == cap && (v = realloc(v, (cap = cap ? cap * 2 : 4096) * sizeof(*v))) == NULL)
			exit(1);
		if ((copy = malloc((size_t)len + 1)) == NULL)
			exit(1);
		memcpy(copy, buf, (size_t)len);
		copy[len] = '\0';
		v[*n].key = copy;
		v[*n].keylen = (size_t)(tab - buf);
		v[*n].value = copy + (tab - buf) + 1;
		v[*n].valuelen = (size_t)len - (size_t)(tab - buf) - 1;
		(*n)++;
	}
	free(buf);
	fclose(f);
	return v;
}

static double
round_run(struct event_decoder *d, const struct line *v, size_t n, int apply)
{
	struct store *st = apply ? store_new() : NULL;
	char err[256];
	double t0 = clock_mono_sec(), t;

	for (size_t i = 0; i < n; i++) {
		struct event ev;

		if (event_decode(d, v[i].key, v[i].keylen, v[i].value, v[i].valuelen, &ev, err,
		    sizeof(err)) != EVENT_OK) {
			fprintf(stderr, "line %zu: %s\n", i + 1, err);
			exit(1);
		}
		if (apply) {
			store_apply(st, ev.owner, ev.type, ev.rrset);
			if (i % 4096 == 4095)
				store_commit(st);
		} else {
			free(ev.rrset);
		}
	}
	if (apply)
		store_commit(st);
	t = clock_mono_sec() - t0;
	store_free(st);
	return t;
}

int
main(int argc, char **argv)
{
	struct event_decoder *d;
	struct line *v;
	size_t n;
	int rounds = argc > 2 ? atoi(argv[2]) : 3;
	double best_dec = 1e9, best_app = 1e9;

	if (argc < 2) {
		fprintf(stderr, "usage: apply FILE [ROUNDS]\n");
		return 2;
	}
	v = load(argv[1], &n);
	rcu_register_thread();
	if ((d = event_decoder_new()) == NULL)
		return 1;
	for (int r = 0; r < rounds; r++) {
		double a = round_run(d, v, n, 0), b = round_run(d, v, n, 1);

		best_dec = a < best_dec ? a : best_dec;
		best_app = b < best_app ? b : best_app;
	}
	printf("events=%zu decode=%.0f/s decode+apply=%.0f/s (%.2f us, %.2f us per event)\n",
	    n, n / best_dec, n / best_app, best_dec * 1e6 / n, best_app * 1e6 / n);
	event_decoder_free(d);
	rcu_unregister_thread();
	for (size_t i = 0; i < n; i++)
		free((void *)v[i].key);		/* the line's copy: value points into it */
	free(v);
	return 0;
}
