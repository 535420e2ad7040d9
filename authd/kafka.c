/* kafka.c: the consumer thread: explicit assignment of all partitions, decode, apply, ready. */
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libknot/libknot.h>
#include <librdkafka/rdkafka.h>
#include <urcu.h>

#include "authd/kafka.h"
#include "authd/tombs.h"
#include "authd/local.h"
#include "authd/signer.h"
#include "authd/snapshot.h"
#include "common/clock.h"
#include "common/event.h"
#include "common/kafkapos.h"
#include "common/keyset.h"
#include "common/log.h"
#include "common/sign.h"
#include "common/wire.h"

#define BATCH_MAX	10000
#define POLL_MS		100
#define META_TIMEOUT_MS	5000

struct consumer {
	const struct authd_conf	*conf;
	struct authd_state	*st;
	pthread_t		 thread;
	rd_kafka_t		*rk;
	rd_kafka_queue_t	*queue;
	struct event_decoder	*dec;
	int32_t			 npart;
	int64_t			*next;		/* next offset to read, per partition */
	int64_t			*target;	/* high watermark at start-up, per partition */
	double			 started;
	double			 first_batch;	/* when the first events arrived (0: not yet) */
	struct snapshot_offsets	 snap;		/* offsets of the loaded snapshot */
	bool			 have_snap;
	struct log_rl		 wait_rl;	/* "waiting for the topic" lines */
	struct log_rl		 err_rl;	/* "brokers down" lines */
	struct trusted_keys	*trusted;	/* when [kafka] require-signed */
	struct local_data	*local;		/* the local records in the store now */
	double			 last_snap;
	uint64_t		 applied_at_snap;
};

static void
rdkafka_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk;
	if (level <= 4)
		log_warnx("kafka: %s: %s", fac, buf);
	else
		log_debug("kafka: %s: %s", fac, buf);
}

/* librdkafka's errors (served by rd_kafka_poll in the consumer thread). */
static void
rdkafka_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	struct consumer *c = opaque;
	unsigned long supp;

	(void)rk;
	if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN || err == RD_KAFKA_RESP_ERR__TRANSPORT) {
		if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
			atomic_store(&c->st->kafka_up, false);
		if (!log_rl_allow(&c->err_rl, 30, &supp))
			return;
		log_warnx("kafka: %s (serving the data already applied; %lu similar errors "
		    "not logged)", reason, supp);
		return;
	}
	log_warnx("kafka: %s: %s", rd_kafka_err2name(err), reason);
}

/* While the brokers are down: a cheap metadata request tells when they are back. */
static void
probe_brokers(struct consumer *c, double *last)
{
	const struct rd_kafka_metadata *md;
	double t = clock_mono_sec();

	if (atomic_load(&c->st->kafka_up) || t - *last < 2.0)
		return;
	*last = t;
	if (rd_kafka_metadata(c->rk, 0, NULL, &md, 1000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
		rd_kafka_metadata_destroy(md);
		atomic_store(&c->st->kafka_up, true);
		log_info("kafka: brokers reachable again");
	}
}

static rd_kafka_t *
consumer_handle(const struct authd_conf *conf, struct consumer *c)
{
	rd_kafka_conf_t *kc = rd_kafka_conf_new();
	char err[512];
	rd_kafka_t *rk;

	/* No group: every instance reads every partition (explicit assignment). */
	if (rd_kafka_conf_set(kc, "bootstrap.servers", conf->brokers, err, sizeof(err)) ||
	    rd_kafka_conf_set(kc, "group.id", "streamdns-authd", err, sizeof(err)) ||
	    rd_kafka_conf_set(kc, "enable.auto.commit", "false", err, sizeof(err)) ||
	    rd_kafka_conf_set(kc, "enable.auto.offset.store", "false", err, sizeof(err)) ||
	    rd_kafka_conf_set(kc, "enable.partition.eof", "false", err, sizeof(err)) ||
	    /* An offset gone (compacted away meanwhile) restarts at the start, never the end. */
	    rd_kafka_conf_set(kc, "auto.offset.reset", "earliest", err, sizeof(err)))
		fatalx("librdkafka config: %s", err);
	/*
	 * A broker answers a fetch at once when data is there and otherwise holds it up to
	 * fetch.wait.max.ms; a short wait keeps propagation low on brokers that do not wake
	 * held fetches when data arrives (the mock cluster). [kafka] may set it otherwise.
	 */
	if (rd_kafka_conf_set(kc, "fetch.wait.max.ms", "10", err, sizeof(err)))
		fatalx("librdkafka config: %s", err);
	/*
	 * All partitions feed one queue, and librdkafka stops fetching while that queue holds
	 * queued.min.messages (default 100,000), then waits out a back-off: a replay that
	 * applies faster than one fetch round trip stalls on it (1M events: 5.1-6.6 s with
	 * the default, 1.9-3.2 s with this). What is queued stays bounded by
	 * queued.max.messages.kbytes (64 MB by default); [kafka] may set either.
	 */
	if (rd_kafka_conf_set(kc, "queued.min.messages", "1000000", err, sizeof(err)))
		fatalx("librdkafka config: %s", err);
	for (size_t i = 0; i < conf->nprops; i++)
		if (rd_kafka_conf_set(kc, conf->props[i].name, conf->props[i].value, err,
		    sizeof(err)) != RD_KAFKA_CONF_OK)
			fatalx("kafka property %s: %s", conf->props[i].name, err);
	rd_kafka_conf_set_log_cb(kc, rdkafka_log);
	rd_kafka_conf_set_error_cb(kc, rdkafka_error);
	rd_kafka_conf_set_opaque(kc, c);
	if ((rk = rd_kafka_new(RD_KAFKA_CONSUMER, kc, err, sizeof(err))) == NULL)
		fatalx("kafka consumer: %s", err);
	return rk;
}

/* How many partitions the topic has; 0 (with a reason logged) when it cannot be told. */
static int32_t
topic_partitions(struct consumer *c)
{
	const struct rd_kafka_metadata *md = NULL;
	const struct rd_kafka_metadata_topic *t = NULL;
	rd_kafka_resp_err_t err;
	int32_t n = 0;

	/*
	 * Metadata of all topics: asking for ours by name would make a broker with
	 * auto.create.topics.enable create it, with whatever partition count it likes.
	 */
	unsigned long supp;

	err = rd_kafka_metadata(c->rk, 1, NULL, &md, META_TIMEOUT_MS);
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		if (log_rl_allow(&c->wait_rl, 30, &supp))
			log_warnx("kafka: cannot read metadata from %s: %s; retrying every "
			    "%d ms (%lu attempts not logged)", c->conf->brokers,
			    rd_kafka_err2str(err), c->conf->retry_interval, supp);
		return 0;
	}
	for (int i = 0; i < md->topic_cnt; i++)
		if (strcmp(md->topics[i].topic, c->conf->topic) == 0)
			t = &md->topics[i];
	if (t == NULL || t->err != RD_KAFKA_RESP_ERR_NO_ERROR || t->partition_cnt == 0) {
		if (log_rl_allow(&c->wait_rl, 30, &supp))
			log_warnx("kafka: topic %s not available at %s: %s; retrying every "
			    "%d ms (%lu attempts not logged)", c->conf->topic, c->conf->brokers,
			    t != NULL && t->err != RD_KAFKA_RESP_ERR_NO_ERROR ?
			    rd_kafka_err2str(t->err) : "no such topic", c->conf->retry_interval,
			    supp);
	} else {
		n = t->partition_cnt;
	}
	rd_kafka_metadata_destroy(md);
	return n;
}

/* Reads the high watermarks that define "caught up"; -1 when the broker did not answer. */
static int
read_watermarks(struct consumer *c)
{
	for (int32_t p = 0; p < c->npart; p++) {
		int64_t lo, hi;
		rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(c->rk,
		    c->conf->topic, p, &lo, &hi, META_TIMEOUT_MS);

		if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
			log_warnx("kafka: watermarks of %s/%d: %s; retrying", c->conf->topic, p,
			    rd_kafka_err2str(err));
			return -1;
		}
		c->target[p] = hi;
		c->next[p] = lo;
		if (c->have_snap && (c->snap.npart != c->npart || c->snap.next[p] < lo ||
		    c->snap.next[p] > hi)) {
			log_warnx("snapshot offsets do not fit the topic (partition %d: "
			    "snapshot %" PRId64 ", broker has %" PRId64 "..%" PRId64 ", %d "
			    "partitions vs %d); full replay", p, p < c->snap.npart ?
			    c->snap.next[p] : -1, lo, hi, c->snap.npart, c->npart);
			c->have_snap = false;
			store_clear(c->st->store);
		}
		if (lo > 0 && !c->have_snap)
			log_info("kafka: %s/%d starts at offset %" PRId64 " (older events "
			    "were compacted or deleted; the topic must be compacted, not "
			    "time-retained)", c->conf->topic, p, lo);
	}
	return 0;
}

static int
assign_all(struct consumer *c)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(c->npart);
	rd_kafka_resp_err_t err;

	/*
	 * Concrete offsets, the snapshot's or the low watermarks just read: a logical
	 * "beginning" would make librdkafka look each partition's start up again before its
	 * first fetch (~0.5 s for 64 partitions on the mock cluster).
	 */
	for (int32_t p = 0; p < c->npart; p++) {
		if (c->have_snap)
			c->next[p] = c->snap.next[p];
		rd_kafka_topic_partition_list_add(l, c->conf->topic, p)->offset = c->next[p];
	}
	err = rd_kafka_assign(c->rk, l);
	rd_kafka_topic_partition_list_destroy(l);
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		log_warnx("kafka: assign: %s", rd_kafka_err2str(err));
		return -1;
	}
	return 0;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Waits for the broker and the topic; returns -1 when asked to stop meanwhile. */
static int
consumer_setup(struct consumer *c)
{
	while (!atomic_load(&c->st->stopping)) {
		if ((c->npart = topic_partitions(c)) > 0) {
			c->next = xcalloc((size_t)c->npart, sizeof(*c->next));
			c->target = xcalloc((size_t)c->npart, sizeof(*c->target));
			if (read_watermarks(c) == 0 && assign_all(c) == 0)
				return 0;
			free(c->next);
			free(c->target);
			c->next = c->target = NULL;
		}
		sleep_ms(c->conf->retry_interval);
	}
	return -1;
}

/* With require-signed: the event's signature headers, checked against the trusted keys. */
static enum event_error
check_signature(struct consumer *c, rd_kafka_message_t *m, char *err, size_t errlen)
{
	rd_kafka_headers_t *h = NULL;
	const void *sig64 = NULL, *pk64 = NULL;
	size_t siglen = 0, pklen = 0;
	uint8_t sig[SIGN_SIG_LEN];
	int k;

	if (rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR ||
	    rd_kafka_header_get_last(h, SIGN_HDR_SIG, &sig64, &siglen) !=
	    RD_KAFKA_RESP_ERR_NO_ERROR ||
	    rd_kafka_header_get_last(h, SIGN_HDR_KEY, &pk64, &pklen) !=
	    RD_KAFKA_RESP_ERR_NO_ERROR) {
		snprintf(err, errlen, "unsigned event (require-signed is on)");
		return EVENT_ERR_SIGNATURE;
	}
	if (pk64 == NULL || (k = sign_find_trusted(c->trusted, pk64, pklen)) < 0) {
		snprintf(err, errlen, "signed by a key that is not in %s", c->conf->trusted_keys);
		return EVENT_ERR_SIGNATURE;
	}
	if (sig64 == NULL || sign_decode_sig(sig64, siglen, sig) != 0 ||
	    !sign_verify(c->trusted->pk[k], c->conf->topic, m->key,
	    m->key_len, m->payload, m->len, sig)) {
		snprintf(err, errlen, "bad signature (claimed key %s)", c->trusted->name[k]);
		return EVENT_ERR_SIGNATURE;
	}
	return EVENT_OK;
}

static void
reject(struct consumer *c, const rd_kafka_message_t *m, enum event_error e, const char *err)
{
	log_warnx("event rejected: topic %s partition %" PRId32 " offset %" PRId64
	    " key '%.*s': %s: %s", c->conf->topic, m->partition, m->offset,
	    m->key_len > 300 ? 300 : (int)m->key_len, m->key ? (const char *)m->key : "",
	    event_error_name(e), err);
	atomic_fetch_add(&c->st->events_rejected, 1);
	atomic_fetch_add(&c->st->rejected_by[e], 1);
}

/*
 * A zone's key set ("<zone>|DNSSEC"): replaces the zone's keys, or removes them
 * (tombstone). A value that does not parse is rejected and the previous keys stay, and so
 * is one whose keys this instance cannot unseal while it holds keys it can. Without such
 * keys, it is applied as unusable: the zone is answered SERVFAIL rather than unsigned, and
 * counted (/ready, /metrics) until keys it can use arrive.
 */
static enum event_error
apply_keys(struct consumer *c, const uint8_t *apex, const char *value, size_t len,
    char *err, size_t errlen)
{
	struct zone_keys *zk = NULL;
	const struct znode *n;
	const struct zone_keys *prev;
	char name[DNAME_STRLEN];

	if (value != NULL && (zk = zone_keys_new(apex, value, len,
	    &c->st->secrets, err, errlen)) == NULL)
		return EVENT_ERR_KEYSET;
	rcu_read_lock();
	n = store_lookup(c->st->store, apex, dname_len(apex));
	prev = n != NULL ? znode_keys(n) : NULL;
	if (zk != NULL && !zk->usable && prev != NULL && prev->usable) {
		/*
		 * Keys this instance cannot open replacing keys it can: sealed with another
		 * secret or for another zone. The zone stays signed with the keys it has.
		 */
		rcu_read_unlock();
		snprintf(err, errlen, "%s; the zone's previous keys stay", zk->why);
		zone_keys_free(zk);
		return EVENT_ERR_KEYSET;
	}
	if (prev != NULL && !prev->usable)
		atomic_fetch_sub(&c->st->keys_unusable, 1);
	rcu_read_unlock();
	dname_to_str(apex, name, sizeof(name));
	if (zk != NULL && !zk->usable) {
		atomic_fetch_add(&c->st->keys_unusable, 1);
		log_warnx("zone %s: %s; the zone is answered SERVFAIL while it is signed", name,
		    zk->why);
		pthread_mutex_lock(&c->st->status_mtx);
		snprintf(c->st->status.keys_why, sizeof(c->st->status.keys_why), "zone %s: %s",
		    name, zk->why);
		pthread_mutex_unlock(&c->st->status_mtx);
	} else if (zk != NULL) {
		log_info("zone %s: %zu DNSSEC keys", name, zk->ks->nkeys);
	} else {
		log_info("zone %s: DNSSEC keys removed", name);
	}
	store_apply_keys(c->st->store, apex, zk);
	return EVENT_OK;
}

/*
 * An RRset of a type a signed zone makes itself (DNSKEY, NSEC, ...) is stored as any
 * other, but not served while its zone is signed: said once here, when it arrives.
 */
static void
warn_if_signed(struct consumer *c, const uint8_t *owner, uint16_t type)
{
	char name[DNAME_STRLEN], tname[16];

	rcu_read_lock();
	for (const uint8_t *p = owner; p != NULL; p = dname_parent(p)) {
		const struct znode *n = store_lookup(c->st->store, p, dname_len(p));

		if (n == NULL || znode_find(n, DNS_TYPE_SOA) == NULL)
			continue;
		if (znode_keys(n) != NULL) {
			dname_to_str(owner, name, sizeof(name));
			knot_rrtype_to_string(type, tname, sizeof(tname));
			log_warnx("%s %s: the zone is signed online: this stored RRset is not "
			    "served (authd makes its own DNSSEC records)", name, tname);
		}
		break;
	}
	rcu_read_unlock();
}

/*
 * A conditional event (an RFC 2136 update's, updater.h) applies where what it was
 * written on is still there: event_condition(), the one rule for every reader of the
 * topic. An RRset's version is its event's offset, a deleted one's its deletion's
 * (tombs.h), a name's guard the offset of its latest guard event.
 * docs/ARCHITECTURE.md "Dynamic updates".
 */
static bool
condition_holds(struct consumer *c, const struct event *ev, int64_t base, int64_t offset)
{
	const struct rrset *rs;
	bool present;
	int64_t cur = -1;

	if (ev->guard) {
		cur = tombs_get(store_guards_lock(c->st->store), ev->owner, 0, offset);
		store_guards_unlock(c->st->store);
		return event_condition(cur >= 0, cur, base);
	}
	rcu_read_lock();
	rs = znode_topic_find(store_lookup(c->st->store, ev->owner, dname_len(ev->owner)),
	    ev->type);
	if ((present = rs != NULL))
		cur = rrset_version(rs);
	rcu_read_unlock();
	if (!present)
		cur = tombs_get(store_tombs(c->st->store), ev->owner, ev->type, offset);
	return event_condition(present, cur, base);
}

/* The event's header name as a string (NUL-terminated into buf), or NULL. */
static const char *
header(rd_kafka_message_t *m, const char *name, char *buf, size_t len)
{
	rd_kafka_headers_t *h = NULL;
	const void *v = NULL;
	size_t vlen = 0;

	if (rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR ||
	    rd_kafka_header_get_last(h, name, &v, &vlen) != RD_KAFKA_RESP_ERR_NO_ERROR ||
	    v == NULL || vlen >= len)
		return NULL;
	memcpy(buf, v, vlen);
	buf[vlen] = '\0';
	return buf;
}

static void
apply_message(struct consumer *c, rd_kafka_message_t *m)
{
	struct event ev;
	char err[512], hbase[32], hid[160];
	enum event_error e;

	if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
			log_warnx("kafka: %s", rd_kafka_message_errstr(m));
		return;
	}
	if (m->partition >= 0 && m->partition < c->npart)
		c->next[m->partition] = m->offset + 1;
	e = c->trusted != NULL ? check_signature(c, m, err, sizeof(err)) : EVENT_OK;
	if (e == EVENT_OK)
		e = event_decode(c->dec, m->key, m->key_len, m->payload, m->len, &ev, err,
		    sizeof(err));
	if (e != EVENT_OK) {
		reject(c, m, e, err);
		return;
	}
	if (ev.keyset)
		e = apply_keys(c, ev.owner, m->payload, m->len, err, sizeof(err));
	if (e != EVENT_OK) {
		reject(c, m, e, err);
		return;
	}
	if (!ev.keyset && header(m, UPDATE_HDR_BASE, hbase, sizeof(hbase)) != NULL) {
		int64_t base;
		bool ok = event_base_parse(hbase, strlen(hbase), &base) == 0 &&
		    condition_holds(c, &ev, base, m->offset);

		if (header(m, UPDATE_HDR_ID, hid, sizeof(hid)) != NULL)
			verdicts_add(&c->st->verdicts, hid, strlen(hid), ok);
		if (!ok) {
			free(ev.rrset);
			atomic_fetch_add(&c->st->events_conflicts, 1);
			log_debug("event not applied: partition %" PRId32 " offset %" PRId64
			    " key '%.*s': written on version %s, now a later one",
			    m->partition, m->offset, (int)m->key_len, (const char *)m->key,
			    hbase);
			return;
		}
	}
	if (ev.guard) {
		/* An update's guard: a version to judge the next ones by, nothing served. */
		uint64_t after[UPDATE_AFTER_MAX];
		char hafter[UPDATE_AFTER_MAX * 24];
		int na = header(m, UPDATE_HDR_AFTER, hafter, sizeof(hafter)) != NULL ?
		    update_after_parse(hafter, after, UPDATE_AFTER_MAX) : 0;

		tombs_set_after(store_guards_lock(c->st->store), ev.owner, 0,
		    (uint32_t)m->partition, m->offset, after, na > 0 ? (size_t)na : 0);
		store_guards_unlock(c->st->store);
		atomic_fetch_add(&c->st->events_applied, 1);
		return;
	}
	if (!ev.keyset) {
		if (ev.rrset != NULL && sign_own_type(ev.type))
			warn_if_signed(c, ev.owner, ev.type);
		if (ev.rrset != NULL) {
			rrset_set_version(ev.rrset, m->offset);
			tombs_clear(store_tombs(c->st->store), ev.owner, ev.type);
		} else {
			tombs_set(store_tombs(c->st->store), ev.owner, ev.type,
			    (uint32_t)m->partition, m->offset);
		}
		store_apply(c->st->store, ev.owner, ev.type, ev.rrset);
	}
	store_note_event(c->st->store, ev.owner, (uint32_t)m->partition, m->offset);
	atomic_fetch_add(&c->st->events_applied, 1);
}

static void
notify_one(void *arg, const uint8_t *apex)
{
	notifier_zone_changed(arg, apex);
}

/*
 * Zones whose serial changed, once their change is served (after store_commit), go to
 * the notifier. Not before ready: a replay would notify every zone of the topic for
 * serials the secondaries may have seen long ago.
 */
static void
notify_changes(struct consumer *c)
{
	struct notifier *n = atomic_load(&c->st->ready) ? c->st->notifier : NULL;

	store_take_changed(c->st->store, n != NULL ? notify_one : NULL, n);
}

static double
wall_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Publishes offsets, watermarks and store counters for the admin thread. */
static void
publish_status(struct consumer *c, bool got_events)
{
	struct consumer_status *cs = &c->st->status;
	int32_t n = c->npart < PARTITIONS_MAX ? c->npart : PARTITIONS_MAX;

	pthread_mutex_lock(&c->st->status_mtx);
	cs->npart = n;
	for (int32_t p = 0; p < n; p++) {
		int64_t lo, hi;

		cs->next[p] = c->next[p];
		if (rd_kafka_get_watermark_offsets(c->rk, c->conf->topic, p, &lo, &hi) ==
		    RD_KAFKA_RESP_ERR_NO_ERROR && hi >= 0)
			cs->high[p] = hi;
		else if (cs->high[p] < c->target[p])
			cs->high[p] = c->target[p];
	}
	store_get_stats(c->st->store, &cs->store);
	if (got_events)
		cs->last_event = wall_sec();
	pthread_mutex_unlock(&c->st->status_mtx);
}

static bool
caught_up(struct consumer *c)
{
	kafkapos_advance(c->rk, c->conf->topic, c->npart, c->next);
	for (int32_t p = 0; p < c->npart; p++)
		if (c->next[p] < c->target[p])
			return false;
	return true;
}

static void
check_ready(struct consumer *c, double *last_progress)
{
	struct store_stats ss;
	double t = clock_mono_sec();
	uint64_t events;
	char rate[64] = "";

	if (atomic_load(&c->st->ready))
		return;
	store_get_stats(c->st->store, &ss);
	if (caught_up(c)) {
		pthread_mutex_lock(&c->st->status_mtx);
		c->st->status.ready_at = t - c->started;
		pthread_mutex_unlock(&c->st->status_mtx);
		/* The replay's fetch buffers are freed: give their pages back to the system. */
		malloc_trim(0);
		store_journal(c->st->store, true);	/* IXFR from now on */
		atomic_store_explicit(&c->st->ready, true, memory_order_release);
		events = atomic_load(&c->st->events_applied) +
		    atomic_load(&c->st->events_rejected);
		if (events > 0 && c->first_batch > 0)
			snprintf(rate, sizeof(rate), "; %.0f events/s since the first one "
			    "arrived", (double)events / (t - c->first_batch + 1e-9));
		log_info("ready: caught up with %s in %.2f s: %llu events applied, %llu "
		    "rejected, %llu RRsets%s", c->conf->topic, t - c->started,
		    (unsigned long long)atomic_load(&c->st->events_applied),
		    (unsigned long long)atomic_load(&c->st->events_rejected),
		    (unsigned long long)ss.rrsets, rate);
	} else if (t - *last_progress >= 2.0) {
		*last_progress = t;
		log_info("catching up with %s: %llu events applied, %llu RRsets",
		    c->conf->topic, (unsigned long long)atomic_load(&c->st->events_applied),
		    (unsigned long long)ss.rrsets);
	}
}

/* A key set from the snapshot: applied as its event was (it was valid then). */
static void
snapshot_keys_apply(void *arg, const uint8_t *apex, const char *value, size_t len)
{
	char err[512];

	if (apply_keys(arg, apex, value, len, err, sizeof(err)) != EVENT_OK)
		log_warnx("snapshot: key set dropped: %s", err);
}

/* Loads the snapshot, if one is configured and valid, before the topic is read. */
static void
load_snapshot(struct consumer *c)
{
	uint64_t n = 0;
	double t = clock_mono_sec();
	struct snapshot_keys keys = { snapshot_keys_apply, c };

	if (c->conf->snapshot == NULL)
		return;
	if (snapshot_load(c->conf->snapshot, c->conf->topic, c->st->store, &c->snap, &n,
	    &keys) != 0)
		return;
	c->have_snap = true;
	pthread_mutex_lock(&c->st->status_mtx);
	c->st->status.snapshot_events = n;
	pthread_mutex_unlock(&c->st->status_mtx);
	log_info("snapshot %s loaded: %llu RRsets in %.2f s; resuming from its offsets",
	    c->conf->snapshot, (unsigned long long)n, clock_mono_sec() - t);
}

/* Writes the snapshot when due (or when forced at stop) and something changed. */
static void
maybe_snapshot(struct consumer *c, bool force)
{
	uint64_t applied = atomic_load(&c->st->events_applied), n;
	double t = clock_mono_sec();

	if (c->conf->snapshot == NULL || c->next == NULL || applied == c->applied_at_snap)
		return;
	if (!force && t - c->last_snap < c->conf->snapshot_interval / 1000.0)
		return;
	c->last_snap = t;
	if (snapshot_write(c->conf->snapshot, c->conf->topic, c->st->store, c->next,
	    c->npart, &n) == 0) {
		c->applied_at_snap = applied;
		log_info("snapshot %s written: %llu RRsets in %.2f s", c->conf->snapshot,
		    (unsigned long long)n, clock_mono_sec() - t);
	}
}

/* Applies local records handed over by the main thread (start-up, SIGHUP). */
static void
apply_local(struct consumer *c)
{
	struct local_data *next;

	pthread_mutex_lock(&c->st->local_mtx);
	next = c->st->local_pending;
	c->st->local_pending = NULL;
	pthread_mutex_unlock(&c->st->local_mtx);
	if (next == NULL)
		return;
	local_apply(c->st->store, c->local, next);
	local_free(c->local);
	c->local = next;
	log_info("local records applied: %zu RRsets", next->n);
}

/*
 * Waits for the first message only, then takes whatever else is already there without
 * waiting: rd_kafka_consume_batch_queue() with a timeout waits for a full batch, which
 * would hold a lone event back for the whole timeout (propagation is consumer latency).
 */
static ssize_t
next_batch(struct consumer *c, rd_kafka_message_t **batch)
{
	ssize_t n;

	if ((batch[0] = rd_kafka_consume_queue(c->queue, POLL_MS)) == NULL)
		return 0;
	n = rd_kafka_consume_batch_queue(c->queue, 0, batch + 1, BATCH_MAX - 1);
	return n < 0 ? 1 : n + 1;
}

static void *
consumer_main(void *arg)
{
	struct consumer *c = arg;
	rd_kafka_message_t **batch = xcalloc(BATCH_MAX, sizeof(*batch));
	double last_progress = clock_mono_sec(), last_probe = 0;

	rcu_register_thread();
	c->started = clock_mono_sec();
	/* Until an event arrives, "seconds since the last event" counts from the start. */
	pthread_mutex_lock(&c->st->status_mtx);
	c->st->status.last_event = wall_sec();
	pthread_mutex_unlock(&c->st->status_mtx);
	load_snapshot(c);
	apply_local(c);
	c->last_snap = clock_mono_sec();
	if (consumer_setup(c) != 0)
		goto out;
	log_info("kafka: consuming %d partitions of %s from %s", c->npart, c->conf->topic,
	    c->have_snap ? "the snapshot's offsets" : "the beginning");
	c->queue = rd_kafka_queue_get_consumer(c->rk);
	while (!atomic_load(&c->st->stopping)) {
		ssize_t n = next_batch(c, batch);

		if (n > 0 && c->first_batch == 0)
			c->first_batch = clock_mono_sec();
		for (ssize_t i = 0; i < n; i++) {
			apply_message(c, batch[i]);
			rd_kafka_message_destroy(batch[i]);
		}
		if (n > 0) {
			store_commit(c->st->store);
			verdicts_commit(&c->st->verdicts, c->next,
			    (size_t)c->npart);		/* served now */
			atomic_store(&c->st->kafka_up, true);
		}
		notify_changes(c);
		rd_kafka_poll(c->rk, 0);	/* serves the error callback */
		apply_local(c);
		probe_brokers(c, &last_probe);
		check_ready(c, &last_progress);
		publish_status(c, n > 0);
		maybe_snapshot(c, false);
	}
	maybe_snapshot(c, true);	/* the final snapshot, at stop */
	rd_kafka_queue_destroy(c->queue);
out:
	free(batch);
	rcu_unregister_thread();
	return NULL;
}

struct consumer *
consumer_start(const struct authd_conf *conf, struct authd_state *st)
{
	struct consumer *c = xcalloc(1, sizeof(*c));

	c->conf = conf;
	c->st = st;
	c->rk = consumer_handle(conf, c);
	if ((c->dec = event_decoder_new()) == NULL)
		fatalx("event decoder");
	if (conf->require_signed) {
		char err[512];

		c->trusted = xmalloc(sizeof(*c->trusted));
		if (sign_load_trusted(conf->trusted_keys, c->trusted, err, sizeof(err)) != 0)
			fatalx("%s", err);
		log_info("accepting only events signed by one of %zu trusted keys",
		    c->trusted->n);
	}

	if (pthread_create(&c->thread, NULL, consumer_main, c) != 0)
		fatal("pthread_create");
	return c;
}

void
consumer_stop(struct consumer *c)
{
	if (c == NULL)
		return;
	pthread_join(c->thread, NULL);
	rd_kafka_consumer_close(c->rk);
	rd_kafka_destroy(c->rk);
	event_decoder_free(c->dec);
	free(c->next);
	free(c->target);
	free(c->snap.next);
	free(c->trusted);
	local_free(c->local);
	free(c);
}
