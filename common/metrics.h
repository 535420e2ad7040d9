/* metrics.h: metric samples rendered as Prometheus text or statsd lines, from one collector. */
#ifndef STREAMDNS_METRICS_H
#define STREAMDNS_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* A growable text buffer (the rendered exposition, a statsd datagram, JSON bodies). */
struct strbuf {
	char	*s;
	size_t	 len, cap;
	int	 oom;		/* set when an append failed: the buffer is incomplete */
};

void strbuf_init(struct strbuf *b);
void strbuf_free(struct strbuf *b);
void strbuf_printf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

enum metric_kind { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

/*
 * A sink receives every sample of one collection. The collector calls metric_family()
 * once before the samples of a family, then metric_sample() per sample (labels are
 * Prometheus-style `a="x",b="y"`, or "" for none).
 */
struct metric_sink {
	void	(*family)(void *ctx, const char *name, enum metric_kind kind,
		    const char *help);
	void	(*sample)(void *ctx, const char *name, const char *labels, double value);
	void	*ctx;
};

static inline void
metric_family(const struct metric_sink *s, const char *name, enum metric_kind kind,
    const char *help)
{
	s->family(s->ctx, name, kind, help);
}

static inline void
metric_sample(const struct metric_sink *s, const char *name, const char *labels,
    double value)
{
	s->sample(s->ctx, name, labels, value);
}

/* A family of one sample without labels (a plain counter or gauge). */
static inline void
metric_one(const struct metric_sink *s, const char *name, enum metric_kind kind,
    const char *help, double value)
{
	s->family(s->ctx, name, kind, help);
	s->sample(s->ctx, name, "", value);
}

static inline void
metric_counter(const struct metric_sink *s, const char *name, const char *help, double v)
{
	metric_one(s, name, METRIC_COUNTER, help, v);
}

static inline void
metric_gauge(const struct metric_sink *s, const char *name, const char *help, double v)
{
	metric_one(s, name, METRIC_GAUGE, help, v);
}

/* A sink writing the Prometheus text exposition format (version 0.0.4) into b. */
void metrics_prometheus_sink(struct metric_sink *s, struct strbuf *b);
/*
 * A sink writing statsd gauges ("prefix.name.labelvalue...:value|g\n") into b. Gauges of
 * the cumulative values: a statsd server then keeps the last value per flush.
 */
struct statsd_ctx {
	struct strbuf	*b;
	const char	*prefix;
};
void metrics_statsd_sink(struct metric_sink *s, struct statsd_ctx *ctx);

/*
 * Single-writer counters: each thread owns its copy, so increments are plain loads and
 * stores (no lock prefix); other threads read them with relaxed loads and sum.
 */
typedef _Atomic uint64_t counter_t;

static inline void
counter_add(counter_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
	    memory_order_relaxed);
}

static inline uint64_t
counter_get(const counter_t *c)
{
	return atomic_load_explicit((counter_t *)c, memory_order_relaxed);
}

/* A latency histogram in microseconds, single writer. */
#define HIST_BUCKETS 12
extern const double hist_bounds_us[HIST_BUCKETS];	/* upper bounds; +Inf implied */

struct histogram {
	counter_t	bucket[HIST_BUCKETS + 1];
	counter_t	sum_us;
	counter_t	count;
};

void histogram_observe(struct histogram *h, uint64_t us);
/* Sums n histograms (one per thread) into out. */
void histogram_sum(const struct histogram *const *hs, size_t n, struct histogram *out);
/* Emits name_bucket{le=...}, name_sum (seconds) and name_count with extra labels. */
void histogram_emit(const struct metric_sink *s, const char *name, const char *labels,
    const struct histogram *h);

#endif
