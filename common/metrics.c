/* metrics.c: Prometheus text and statsd rendering, single-writer counters, histograms. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/metrics.h"

const double hist_bounds_us[HIST_BUCKETS] = {
	5, 10, 25, 50, 100, 250, 500, 1000, 2500, 10000, 100000, 1000000,
};

void
strbuf_init(struct strbuf *b)
{
	memset(b, 0, sizeof(*b));
}

void
strbuf_free(struct strbuf *b)
{
	free(b->s);
	memset(b, 0, sizeof(*b));
}

void
strbuf_printf(struct strbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->s == NULL ? NULL : b->s + b->len, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = 1;
			return;
		}
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		{
			size_t cap = b->cap ? b->cap * 2 : 4096;
			char *p;

			while (cap < b->len + (size_t)n + 1)
				cap *= 2;
			if ((p = realloc(b->s, cap)) == NULL) {
				b->oom = 1;
				return;
			}
			b->s = p;
			b->cap = cap;
		}
	}
}

static const char *
kind_name(enum metric_kind k)
{
	switch (k) {
	case METRIC_COUNTER:	return "counter";
	case METRIC_GAUGE:	return "gauge";
	case METRIC_HISTOGRAM:	return "histogram";
	}
	return "untyped";
}

static void
prom_family(void *ctx, const char *name, enum metric_kind kind, const char *help)
{
	struct strbuf *b = ctx;

	strbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, kind_name(kind));
}

static void
prom_sample(void *ctx, const char *name, const char *labels, double value)
{
	struct strbuf *b = ctx;

	if (labels != NULL && *labels != '\0')
		strbuf_printf(b, "%s{%s} %.17g\n", name, labels, value);
	else
		strbuf_printf(b, "%s %.17g\n", name, value);
}

void
metrics_prometheus_sink(struct metric_sink *s, struct strbuf *b)
{
	s->family = prom_family;
	s->sample = prom_sample;
	s->ctx = b;
}

static void
statsd_family(void *ctx, const char *name, enum metric_kind kind, const char *help)
{
	(void)ctx, (void)name, (void)kind, (void)help;
}

/* a="x",le="0.5" -> .x.0_5 : label values become dotted path components. */
static void
statsd_labels(struct strbuf *b, const char *labels)
{
	const char *p = labels;

	while (p != NULL && (p = strchr(p, '"')) != NULL) {
		const char *end = strchr(p + 1, '"');

		if (end == NULL)
			return;
		strbuf_printf(b, ".");
		for (const char *c = p + 1; c < end; c++)
			strbuf_printf(b, "%c", isalnum((unsigned char)*c) || *c == '-' ? *c : '_');
		p = end + 1;
	}
}

static void
statsd_sample(void *ctx, const char *name, const char *labels, double value)
{
	struct statsd_ctx *sc = ctx;

	strbuf_printf(sc->b, "%s%s%s", sc->prefix, *sc->prefix ? "." : "", name);
	statsd_labels(sc->b, labels);
	strbuf_printf(sc->b, ":%.17g|g\n", value);
}

void
metrics_statsd_sink(struct metric_sink *s, struct statsd_ctx *ctx)
{
	s->family = statsd_family;
	s->sample = statsd_sample;
	s->ctx = ctx;
}

void
histogram_observe(struct histogram *h, uint64_t us)
{
	size_t i = 0;

	while (i < HIST_BUCKETS && (double)us > hist_bounds_us[i])
		i++;
	counter_add(&h->bucket[i], 1);
	counter_add(&h->sum_us, us);
	counter_add(&h->count, 1);
}

void
histogram_sum(const struct histogram *const *hs, size_t n, struct histogram *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t k = 0; k < n; k++) {
		for (size_t i = 0; i <= HIST_BUCKETS; i++)
			counter_add(&out->bucket[i], counter_get(&hs[k]->bucket[i]));
		counter_add(&out->sum_us, counter_get(&hs[k]->sum_us));
		counter_add(&out->count, counter_get(&hs[k]->count));
	}
}

void
histogram_emit(const struct metric_sink *s, const char *name, const char *labels,
    const struct histogram *h)
{
	char n[128], l[256];
	uint64_t cum = 0;
	const char *sep = (labels != NULL && *labels != '\0') ? "," : "";

	if (labels == NULL)
		labels = "";
	snprintf(n, sizeof(n), "%s_bucket", name);
	for (size_t i = 0; i <= HIST_BUCKETS; i++) {
		cum += counter_get(&h->bucket[i]);
		if (i < HIST_BUCKETS)
			snprintf(l, sizeof(l), "%s%sle=\"%g\"", labels, sep,
			    hist_bounds_us[i] / 1e6);
		else
			snprintf(l, sizeof(l), "%s%sle=\"+Inf\"", labels, sep);
		metric_sample(s, n, l, (double)cum);
	}
	snprintf(n, sizeof(n), "%s_sum", name);
	metric_sample(s, n, labels, (double)counter_get(&h->sum_us) / 1e6);
	snprintf(n, sizeof(n), "%s_count", name);
	metric_sample(s, n, labels, (double)counter_get(&h->count));
}
