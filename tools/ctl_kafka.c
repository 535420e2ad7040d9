/* ctl_kafka.c: streamdns-ctl's librdkafka handles: metadata, watermarks, assignment, a safe producer. */
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/sign.h"
#include "tools/ctl.h"

#define FAILED_NAMED	20	/* undelivered keys named one by one; the rest are counted */

/*
 * What a handle heard from librdkafka, so that a failure can say why (a refused
 * connection, a TLS error) rather than only "timed out".
 */
struct diag {
	bool		verbose;
	pthread_mutex_t	lock;		/* log lines come from librdkafka's threads */
	char		last_error[512];
};

/* Properties ctl relies on for safety: the user may restate them, not weaken them. */
static const struct {
	const char	*name;
	const char	*value;
} locked[] = {
	{ "enable.idempotence", "true" },	/* no duplicates or reordering on retry */
	{ "acks", "all" },			/* every in-sync replica has the event */
	{ "request.required.acks", "all" },	/* (acks' other name) */
	/* A mistyped topic must fail, not become a new, non-compacted topic. */
	{ "allow.auto.create.topics", "false" },
};

static void
remember(struct diag *d, const char *reason)
{
	pthread_mutex_lock(&d->lock);
	snprintf(d->last_error, sizeof(d->last_error), "%s", reason);
	pthread_mutex_unlock(&d->lock);
}

/*
 * Called from librdkafka's threads, also while we wait in a blocking call: an error
 * line (a refused connection, a TLS failure) is kept to explain a timeout.
 */
static void
on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	struct diag *d = rd_kafka_opaque(rk);

	if (d == NULL)
		return;
	if (level <= 3)
		remember(d, buf);
	if (d->verbose)
		fprintf(stderr, CTL_NAME ": kafka: %s: %s\n", fac, buf);
}

/* Served by rd_kafka_poll() (producers) and the consumer queue. */
static void
on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	struct diag *d = opaque;

	(void)rk;
	if (d == NULL)
		return;
	remember(d, reason);
	if (d->verbose)
		fprintf(stderr, CTL_NAME ": kafka: %s: %s\n",
		    rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

static bool
is_locked(const char *name, const char *value)
{
	for (size_t i = 0; i < sizeof(locked) / sizeof(locked[0]); i++) {
		if (strcmp(name, locked[i].name) != 0)
			continue;
		/* acks=-1 is acks=all. */
		return !(strcmp(value, locked[i].value) == 0 ||
		    (strcmp(locked[i].value, "all") == 0 && strcmp(value, "-1") == 0));
	}
	return false;
}

static int
conf_set(rd_kafka_conf_t *kc, const char *name, const char *value)
{
	char err[512];

	if (rd_kafka_conf_set(kc, name, value, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
		fprintf(stderr, CTL_NAME ": kafka property %s: %s\n", name, err);
		return -1;
	}
	return 0;
}

int
ctl_kafka_check_prop(const char *name, const char *value)
{
	rd_kafka_conf_t *kc;
	int ret;

	if (is_locked(name, value)) {
		fprintf(stderr, CTL_NAME ": kafka property %s=%s: streamdns-ctl always "
		    "produces with enable.idempotence=true, acks=all and no topic "
		    "auto-creation\n", name, value);
		return -1;
	}
	kc = rd_kafka_conf_new();
	ret = conf_set(kc, name, value);
	rd_kafka_conf_destroy(kc);
	return ret;
}

/* Our defaults, then the user's properties (checked already), then what safety requires. */
static rd_kafka_conf_t *
make_conf(const struct ctl *c, rd_kafka_type_t type)
{
	rd_kafka_conf_t *kc = rd_kafka_conf_new();
	char timeout[32];
	int bad = 0;

	snprintf(timeout, sizeof(timeout), "%d", c->timeout_ms);
	bad |= conf_set(kc, "bootstrap.servers", c->brokers);
	bad |= conf_set(kc, "client.id", CTL_NAME);
	if (type == RD_KAFKA_PRODUCER) {
		bad |= conf_set(kc, "message.timeout.ms", timeout);
		bad |= conf_set(kc, "linger.ms", "20");
		bad |= conf_set(kc, "queue.buffering.max.messages", "500000");
	} else {
		/* Explicit assignment: the group is never joined, nothing is committed. */
		bad |= conf_set(kc, "group.id", CTL_NAME);
		bad |= conf_set(kc, "enable.auto.commit", "false");
		bad |= conf_set(kc, "enable.auto.offset.store", "false");
		bad |= conf_set(kc, "enable.partition.eof", "true");
	}
	for (size_t i = 0; i < c->nprops && !bad; i++)
		bad |= conf_set(kc, c->props[i].name, c->props[i].value);
	if (type == RD_KAFKA_PRODUCER) {
		bad |= conf_set(kc, "enable.idempotence", "true");
		bad |= conf_set(kc, "acks", "all");
	}
	bad |= conf_set(kc, "allow.auto.create.topics", "false");
	if (bad) {
		rd_kafka_conf_destroy(kc);
		return NULL;
	}
	return kc;
}

/* A handle; dr is the delivery report callback of a producer (or NULL). */
static rd_kafka_t *
handle_new(const struct ctl *c, rd_kafka_type_t type, void (*dr)(rd_kafka_t *,
    const rd_kafka_message_t *, void *))
{
	rd_kafka_conf_t *kc = make_conf(c, type);
	struct diag *d;
	rd_kafka_t *rk;
	char err[512];

	if (kc == NULL)
		return NULL;
	d = xcalloc(1, sizeof(*d));
	d->verbose = c->verbose;
	pthread_mutex_init(&d->lock, NULL);
	rd_kafka_conf_set_opaque(kc, d);
	rd_kafka_conf_set_log_cb(kc, on_log);
	rd_kafka_conf_set_error_cb(kc, on_error);
	if (dr != NULL)
		rd_kafka_conf_set_dr_msg_cb(kc, dr);
	if ((rk = rd_kafka_new(type, kc, err, sizeof(err))) == NULL) {
		fprintf(stderr, CTL_NAME ": kafka: %s\n", err);
		rd_kafka_conf_destroy(kc);
		pthread_mutex_destroy(&d->lock);
		free(d);
		return NULL;
	}
	return rk;
}

rd_kafka_t *
ctl_kafka_new(const struct ctl *c, rd_kafka_type_t type)
{
	return handle_new(c, type, NULL);
}

void
ctl_kafka_free(rd_kafka_t *rk)
{
	struct diag *d;

	if (rk == NULL)
		return;
	d = rd_kafka_opaque(rk);
	rd_kafka_destroy(rk);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

/* ", last error: <what librdkafka said>" or "". */
static const char *
last_error(rd_kafka_t *rk, char *buf, size_t len)
{
	struct diag *d = rd_kafka_opaque(rk);

	buf[0] = '\0';
	pthread_mutex_lock(&d->lock);
	if (d->last_error[0] != '\0')
		snprintf(buf, len, " (%s)", d->last_error);
	pthread_mutex_unlock(&d->lock);
	return buf;
}

int32_t
ctl_topic_partitions(const struct ctl *c, rd_kafka_t *rk)
{
	const struct rd_kafka_metadata *md = NULL;
	const struct rd_kafka_metadata_topic *t = NULL;
	rd_kafka_resp_err_t err;
	char why[600];
	int32_t n = -1;

	err = rd_kafka_metadata(rk, 1, NULL, &md, c->timeout_ms);
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		fprintf(stderr, CTL_NAME ": cannot reach Kafka at %s within %.1f s: %s%s\n",
		    c->brokers, c->timeout_ms / 1000.0, rd_kafka_err2str(err),
		    last_error(rk, why, sizeof(why)));
		return -1;
	}
	for (int i = 0; i < md->topic_cnt; i++)
		if (strcmp(md->topics[i].topic, c->topic) == 0)
			t = &md->topics[i];
	if (t == NULL)
		fprintf(stderr, CTL_NAME ": topic %s does not exist at %s (create it with "
		    "cleanup.policy=compact)\n", c->topic, c->brokers);
	else if (t->err != RD_KAFKA_RESP_ERR_NO_ERROR || t->partition_cnt == 0)
		fprintf(stderr, CTL_NAME ": topic %s at %s is not available: %s\n", c->topic,
		    c->brokers, rd_kafka_err2str(t->err));
	else
		n = t->partition_cnt;
	rd_kafka_metadata_destroy(md);
	return n;
}

int
ctl_watermarks(const struct ctl *c, rd_kafka_t *rk, int32_t npart, int64_t *low,
    int64_t *high)
{
	/* One deadline for all partitions: 64 slow leaders must not make 64 timeouts. */
	double deadline = clock_mono_sec() + c->timeout_ms / 1000.0;

	for (int32_t p = 0; p < npart; p++) {
		int left = (int)((deadline - clock_mono_sec()) * 1000.0);
		rd_kafka_resp_err_t err = left <= 0 ? RD_KAFKA_RESP_ERR__TIMED_OUT :
		    rd_kafka_query_watermark_offsets(rk, c->topic, p, &low[p], &high[p], left);

		if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
			fprintf(stderr, CTL_NAME ": watermarks of %s partition %" PRId32 ": %s\n",
			    c->topic, p, rd_kafka_err2str(err));
			return -1;
		}
	}
	return 0;
}

int
ctl_assign_all(const struct ctl *c, rd_kafka_t *rk, int32_t npart, const int64_t *offsets)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(npart);
	rd_kafka_resp_err_t err;

	for (int32_t p = 0; p < npart; p++)
		rd_kafka_topic_partition_list_add(l, c->topic, p)->offset = offsets[p];
	err = rd_kafka_assign(rk, l);
	rd_kafka_topic_partition_list_destroy(l);
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		fprintf(stderr, CTL_NAME ": assigning the partitions of %s: %s\n", c->topic,
		    rd_kafka_err2str(err));
		return -1;
	}
	return 0;
}

/* ---- producer ---- */

struct ctl_producer {
	const struct ctl	*c;
	rd_kafka_t		*rk;
	size_t			 queued, delivered, failed;
	size_t			 deleted;	/* of delivered: tombstones */
	char			*named[FAILED_NAMED];	/* "key: reason" of the first failures */
};

static void
on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct ctl_producer *p = m->_private;	/* the message's opaque */

	(void)rk, (void)opaque;
	if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
		p->delivered++;
		p->deleted += m->payload == NULL;
		return;
	}
	if (p->failed < FAILED_NAMED) {
		size_t n = m->key_len + 256;

		p->named[p->failed] = xmalloc(n);
		snprintf(p->named[p->failed], n, "%.*s: %s", (int)m->key_len,
		    (const char *)m->key, rd_kafka_err2str(m->err));
	}
	p->failed++;
}

struct ctl_producer *
ctl_producer_new(const struct ctl *c)
{
	struct ctl_producer *p = xcalloc(1, sizeof(*p));

	p->c = c;
	if ((p->rk = handle_new(c, RD_KAFKA_PRODUCER, on_delivery)) == NULL ||
	    ctl_topic_partitions(c, p->rk) < 0) {
		/* A topic that does not exist fails here, before anything is produced. */
		ctl_producer_free(p);
		return NULL;
	}
	return p;
}

/* The signature headers of an event (common/sign.c), in base64 as authd expects them. */
static rd_kafka_headers_t *
signature_headers(const struct ctl *c, const char *key, size_t klen, const char *value,
    size_t vlen)
{
	char sig64[SIGN_SIG64_LEN], pk64[SIGN_PK64_LEN];
	rd_kafka_headers_t *h = rd_kafka_headers_new(2);

	sign_event_headers(c->sk, c->topic, key, klen, value, vlen, sig64, pk64);
	rd_kafka_header_add(h, SIGN_HDR_SIG, -1, sig64, -1);
	rd_kafka_header_add(h, SIGN_HDR_KEY, -1, pk64, -1);
	return h;
}

int
ctl_produce(struct ctl_producer *p, const char *key, char *value)
{
	size_t klen = strlen(key), vlen = value != NULL ? strlen(value) : 0;
	rd_kafka_resp_err_t err;

	rd_kafka_headers_t *hdrs = p->c->signing ? signature_headers(p->c, key, klen, value,
	    vlen) : NULL;

	for (;;) {
		/* producev owns the headers only when it succeeds: a copy per attempt. */
		rd_kafka_headers_t *copy = hdrs != NULL ? rd_kafka_headers_copy(hdrs) : NULL;

		err = rd_kafka_producev(p->rk, RD_KAFKA_V_TOPIC(p->c->topic),
		    RD_KAFKA_V_KEY(key, klen), RD_KAFKA_V_VALUE(value, vlen),
		    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_FREE), RD_KAFKA_V_OPAQUE(p),
		    RD_KAFKA_V_HEADERS(copy), RD_KAFKA_V_END);
		if (err != RD_KAFKA_RESP_ERR_NO_ERROR && copy != NULL)
			rd_kafka_headers_destroy(copy);
		if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
			break;
		/* Back-pressure: serve delivery reports until there is room. */
		rd_kafka_poll(p->rk, 10);
	}
	if (hdrs != NULL)
		rd_kafka_headers_destroy(hdrs);
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		/* Refused before queueing (too large, fatal idempotence error): count it. */
		if (p->failed < FAILED_NAMED) {
			size_t n = strlen(key) + 256;

			p->named[p->failed] = xmalloc(n);
			snprintf(p->named[p->failed], n, "%s: %s", key, rd_kafka_err2str(err));
		}
		p->failed++;
		p->queued++;	/* counted as done: its report is this failure */
		free(value);
		return -1;
	}
	p->queued++;
	rd_kafka_poll(p->rk, 0);
	return 0;
}

void
ctl_producer_poll(struct ctl_producer *p, struct ctl_delivery *d)
{
	rd_kafka_poll(p->rk, 0);
	d->set = p->delivered - p->deleted;
	d->deleted = p->deleted;
	d->failed = p->failed;
}

/* Names what failed on stderr. */
static void
report_failures(struct ctl_producer *p)
{
	char why[600];

	fprintf(stderr, CTL_NAME ": %zu event(s) not delivered to %s at %s%s; they may or may "
	    "not have been written: run the command again (every event is a whole RRset, so "
	    "repeating it is safe)\n", p->failed, p->c->topic, p->c->brokers,
	    last_error(p->rk, why, sizeof(why)));
	for (size_t i = 0; i < p->failed && i < FAILED_NAMED; i++)
		fprintf(stderr, "  not delivered: %s\n", p->named[i]);
	if (p->failed > FAILED_NAMED)
		fprintf(stderr, "  ... and %zu more\n", p->failed - FAILED_NAMED);
}

size_t
ctl_producer_finish(struct ctl_producer *p)
{
	double last = clock_mono_sec();
	size_t done = p->delivered + p->failed;

	/*
	 * Every queued event gets a delivery report within message.timeout.ms, so this
	 * loop ends. The guard is for the impossible: a report that never comes is a
	 * failure too, never a hang. Polling rather than rd_kafka_flush() keeps the
	 * linger.ms a user set (flush sends at once).
	 */
	while (p->delivered + p->failed < p->queued) {
		rd_kafka_poll(p->rk, 100);
		if (p->delivered + p->failed != done) {
			done = p->delivered + p->failed;
			last = clock_mono_sec();
		} else if (clock_mono_sec() - last > 2.0 * p->c->timeout_ms / 1000.0 + 5.0) {
			fprintf(stderr, CTL_NAME ": no delivery report for %zu event(s)\n",
			    p->queued - done);
			p->failed += p->queued - done;
			break;
		}
	}
	if (p->failed > 0)
		report_failures(p);
	return p->failed;
}

void
ctl_producer_free(struct ctl_producer *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->failed && i < FAILED_NAMED; i++)
		free(p->named[i]);
	ctl_kafka_free(p->rk);
	free(p);
}
