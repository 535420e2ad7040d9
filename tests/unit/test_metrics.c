/* test_metrics.c: unit tests of counters, histograms, Prometheus and statsd (common/metrics.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/metrics.h"

static void
test_strbuf_grows(void **state)
{
	struct strbuf b;
	char big[10000];

	strbuf_init(&b);
	assert_null(b.s);
	assert_int_equal(b.len, 0);
	strbuf_printf(&b, "%s=%d;", "a", 1);
	assert_string_equal(b.s, "a=1;");
	assert_int_equal(b.len, 4);
	/* Past the first allocation (4096): the text is whole and terminated. */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	strbuf_printf(&b, "%s", big);
	strbuf_printf(&b, "|end");
	assert_int_equal(b.len, 4 + sizeof(big) - 1 + 4);
	assert_int_equal(strlen(b.s), b.len);
	assert_true(b.cap > b.len);
	assert_int_equal(strncmp(b.s, "a=1;xxx", 7), 0);
	assert_string_equal(b.s + b.len - 5, "x|end");
	assert_int_equal(b.oom, 0);
	strbuf_free(&b);
	assert_null(b.s);
	assert_int_equal(b.len, 0);
	/* An incomplete buffer stays incomplete: nothing is appended after a failure. */
	strbuf_init(&b);
	b.oom = 1;
	strbuf_printf(&b, "lost");
	assert_null(b.s);
	assert_int_equal(b.len, 0);
	strbuf_free(&b);
}

static void
test_counters(void **state)
{
	counter_t c = 0;

	assert_int_equal(counter_get(&c), 0);
	counter_add(&c, 1);
	counter_add(&c, 41);
	assert_int_equal(counter_get(&c), 42);
	counter_add(&c, UINT64_C(1) << 40);
	assert_int_equal(counter_get(&c), (UINT64_C(1) << 40) + 42);
}

static void
test_prometheus_format(void **state)
{
	struct metric_sink sink;
	struct strbuf b;

	strbuf_init(&b);
	metrics_prometheus_sink(&sink, &b);
	metric_one(&sink, "streamdns_up", METRIC_GAUGE, "Whether the daemon runs.", 1);
	metric_family(&sink, "streamdns_queries_total", METRIC_COUNTER, "Queries answered.");
	metric_sample(&sink, "streamdns_queries_total", "proto=\"udp\",rcode=\"NOERROR\"", 12345);
	metric_sample(&sink, "streamdns_queries_total", "proto=\"tcp\",rcode=\"NXDOMAIN\"", 0);
	metric_sample(&sink, "streamdns_queries_total", NULL, 7);
	metric_one(&sink, "streamdns_ratio", METRIC_GAUGE, "A fraction.", 0.25);
	/* A large counter keeps all its digits (%.17g, not the 6 of %g). */
	metric_one(&sink, "streamdns_big", METRIC_COUNTER, "Big.", 123456789012.0);
	assert_int_equal(b.oom, 0);
	assert_string_equal(b.s,
	    "# HELP streamdns_up Whether the daemon runs.\n"
	    "# TYPE streamdns_up gauge\n"
	    "streamdns_up 1\n"
	    "# HELP streamdns_queries_total Queries answered.\n"
	    "# TYPE streamdns_queries_total counter\n"
	    "streamdns_queries_total{proto=\"udp\",rcode=\"NOERROR\"} 12345\n"
	    "streamdns_queries_total{proto=\"tcp\",rcode=\"NXDOMAIN\"} 0\n"
	    "streamdns_queries_total 7\n"
	    "# HELP streamdns_ratio A fraction.\n"
	    "# TYPE streamdns_ratio gauge\n"
	    "streamdns_ratio 0.25\n"
	    "# HELP streamdns_big Big.\n"
	    "# TYPE streamdns_big counter\n"
	    "streamdns_big 123456789012\n");
	strbuf_free(&b);
}

static void
test_histogram_buckets(void **state)
{
	struct histogram h;

	memset(&h, 0, sizeof(h));
	/* Upper bounds are inclusive (Prometheus "le"): 5 us is in the 5 us bucket. */
	histogram_observe(&h, 0);
	histogram_observe(&h, 5);
	histogram_observe(&h, 6);
	histogram_observe(&h, 1000);
	histogram_observe(&h, 1001);
	histogram_observe(&h, 1000000);
	histogram_observe(&h, 1000001);
	histogram_observe(&h, UINT64_C(50000000));
	assert_int_equal(counter_get(&h.bucket[0]), 2);	/* <= 5 */
	assert_int_equal(counter_get(&h.bucket[1]), 1);	/* <= 10 */
	assert_int_equal(counter_get(&h.bucket[7]), 1);	/* <= 1000 */
	assert_int_equal(counter_get(&h.bucket[8]), 1);	/* <= 2500 */
	assert_int_equal(counter_get(&h.bucket[11]), 1);	/* <= 1 s */
	assert_int_equal(counter_get(&h.bucket[HIST_BUCKETS]), 2);	/* +Inf */
	assert_int_equal(counter_get(&h.count), 8);
	assert_int_equal(counter_get(&h.sum_us),
	    0 + 5 + 6 + 1000 + 1001 + 1000000 + 1000001 + 50000000);
	/* The bounds are strictly increasing. */
	for (size_t i = 1; i < HIST_BUCKETS; i++)
		assert_true(hist_bounds_us[i] > hist_bounds_us[i - 1]);
}

static void
test_histogram_sum(void **state)
{
	struct histogram a, b, c, out;
	const struct histogram *hs[] = { &a, &b, &c };

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&c, 0, sizeof(c));
	histogram_observe(&a, 3);
	histogram_observe(&a, 300);
	histogram_observe(&b, 3);
	histogram_observe(&c, 2000000);
	memset(&out, 0xff, sizeof(out));	/* histogram_sum starts from zero itself */
	histogram_sum(hs, 3, &out);
	assert_int_equal(counter_get(&out.bucket[0]), 2);
	assert_int_equal(counter_get(&out.bucket[6]), 1);	/* <= 500 */
	assert_int_equal(counter_get(&out.bucket[HIST_BUCKETS]), 1);
	assert_int_equal(counter_get(&out.count), 4);
	assert_int_equal(counter_get(&out.sum_us), 3 + 300 + 3 + 2000000);
	for (size_t i = 0; i <= HIST_BUCKETS; i++)
		if (i != 0 && i != 6 && i != HIST_BUCKETS)
			assert_int_equal(counter_get(&out.bucket[i]), 0);
	histogram_sum(hs, 0, &out);
	assert_int_equal(counter_get(&out.count), 0);
}

/* The exposition of a histogram: cumulative buckets with le in seconds, sum in seconds. */
static void
test_histogram_prometheus(void **state)
{
	static const char *const le[HIST_BUCKETS + 1] = {
		"5e-06", "1e-05", "2.5e-05", "5e-05", "0.0001", "0.00025", "0.0005",
		"0.001", "0.0025", "0.01", "0.1", "1", "+Inf",
	};
	static const int cum[HIST_BUCKETS + 1] = { 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3 };
	struct metric_sink sink;
	struct histogram h;
	struct strbuf b, want;

	memset(&h, 0, sizeof(h));
	histogram_observe(&h, 4);
	histogram_observe(&h, 750);
	histogram_observe(&h, 1249246);	/* the sum, 1.25 s, prints exactly */
	strbuf_init(&b);
	metrics_prometheus_sink(&sink, &b);
	metric_family(&sink, "lat_seconds", METRIC_HISTOGRAM, "Latency.");
	histogram_emit(&sink, "lat_seconds", "proto=\"udp\"", &h);
	strbuf_init(&want);
	strbuf_printf(&want, "# HELP lat_seconds Latency.\n# TYPE lat_seconds histogram\n");
	for (size_t i = 0; i <= HIST_BUCKETS; i++)
		strbuf_printf(&want, "lat_seconds_bucket{proto=\"udp\",le=\"%s\"} %d\n", le[i],
		    cum[i]);
	strbuf_printf(&want, "lat_seconds_sum{proto=\"udp\"} 1.25\n");
	strbuf_printf(&want, "lat_seconds_count{proto=\"udp\"} 3\n");
	assert_string_equal(b.s, want.s);
	strbuf_free(&b);
	strbuf_free(&want);

	/* Without labels: le is the only label, sum and count have none. */
	strbuf_init(&b);
	metrics_prometheus_sink(&sink, &b);
	histogram_emit(&sink, "h", "", &h);
	assert_non_null(strstr(b.s, "h_bucket{le=\"5e-06\"} 1\n"));
	assert_non_null(strstr(b.s, "h_bucket{le=\"+Inf\"} 3\n"));
	assert_non_null(strstr(b.s, "\nh_sum 1.25\n"));
	assert_non_null(strstr(b.s, "\nh_count 3\n"));
	strbuf_free(&b);
}

static void
test_statsd_format(void **state)
{
	struct metric_sink sink;
	struct statsd_ctx ctx;
	struct strbuf b;
	struct histogram h;

	strbuf_init(&b);
	ctx.b = &b;
	ctx.prefix = "streamdns.authd";
	metrics_statsd_sink(&sink, &ctx);
	/* Families print nothing; each label value becomes a dotted component. */
	metric_one(&sink, "up", METRIC_GAUGE, "help is not sent", 1);
	metric_family(&sink, "queries_total", METRIC_COUNTER, "Queries.");
	metric_sample(&sink, "queries_total", "proto=\"udp\",rcode=\"NOERROR\"", 12);
	/* Characters statsd reads as syntax (. : | @ space) become '_'; '-' stays. */
	metric_sample(&sink, "zone", "name=\"example.com\",x=\"a:b|c@d e-f\"", 2.5);
	assert_string_equal(b.s,
	    "streamdns.authd.up:1|g\n"
	    "streamdns.authd.queries_total.udp.NOERROR:12|g\n"
	    "streamdns.authd.zone.example_com.a_b_c_d_e-f:2.5|g\n");
	strbuf_free(&b);

	/* No prefix: no leading dot. A histogram's le bounds become path components. */
	strbuf_init(&b);
	ctx.prefix = "";
	memset(&h, 0, sizeof(h));
	histogram_observe(&h, 100);
	histogram_emit(&sink, "lat", "", &h);
	assert_int_equal(strncmp(b.s, "lat_bucket.5e-06:0|g\n", 21), 0);
	assert_non_null(strstr(b.s, "\nlat_bucket.0_0001:1|g\n"));
	assert_non_null(strstr(b.s, "\nlat_bucket._Inf:1|g\n"));
	assert_non_null(strstr(b.s, "\nlat_sum:0.0001|g\n"));
	assert_non_null(strstr(b.s, "\nlat_count:1|g\n"));
	strbuf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strbuf_grows),
		cmocka_unit_test(test_counters),
		cmocka_unit_test(test_prometheus_format),
		cmocka_unit_test(test_histogram_buckets),
		cmocka_unit_test(test_histogram_sum),
		cmocka_unit_test(test_histogram_prometheus),
		cmocka_unit_test(test_statsd_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
