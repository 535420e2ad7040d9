/*
 * updater.c: RFC 2136 UPDATE as events (updater.h). One thread takes the updates this
 * instance receives, in order: it evaluates each against the store (update.c), produces
 * the RRsets it changes as conditional events, waits for the consumer's verdict on every
 * one of them, and answers. A conflict (another writer changed an RRset between our read
 * and our event) means evaluating the update again on the newer data, prerequisites
 * included: docs/ARCHITECTURE.md "Dynamic updates".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <libknot/libknot.h>
#include <librdkafka/rdkafka.h>
#include <sodium.h>
#include <urcu.h>

#include "authd/answer.h"
#include "authd/tombs.h"
#include "authd/authd.h"
#include "authd/update.h"
#include "authd/updater.h"
#include "common/clock.h"
#include "common/conf.h"
#include "common/envelope.h"
#include "common/event.h"
#include "common/log.h"
#include "common/net.h"
#include "common/sign.h"

#define ATTEMPTS_MAX	16	/* evaluations of one update that keeps losing races */
#define QUEUE_MAX	1024	/* updates waiting; more are answered SERVFAIL */
#define DELIVERY_MS	10000	/* message.timeout.ms: the broker must have them by then */
#define VERDICT_MS	30000	/* the consumer must have applied them by then */
#define CLIENT_STRLEN	(INET6_ADDRSTRLEN + 8)

/* [update] KEYNAME = ITEM, ...: parsed once (update_grant_parse). */
struct grant {
	uint8_t			 key[DNAME_MAXLEN];
	struct update_rule	*rules;
	size_t			 nrules;
};

struct job {
	struct job		*next;
	struct updater		*u;
	struct event_base	*base;		/* the worker that answers */
	struct fe_peer		 peer;
	struct tsig_ctx		 tsig;
	uint16_t		 limit;
	bool			 tcp;
	uint64_t		 t0;
	char			 client[CLIENT_STRLEN];	/* "addr:port", for logs */
	uint8_t			*resp;
	size_t			 resplen;
	size_t			 len;
	uint8_t			 msg[];
};

/* One produced event's fate, filled by the delivery report. */
struct delivery {
	bool			 done;
	rd_kafka_resp_err_t	 err;
	int32_t			 partition;
	int64_t			 offset;
};

struct updater {
	const struct authd_conf	*conf;
	struct authd_state	*st;
	struct answer_opts	 opts;
	struct grant		*grants;
	size_t			 ngrants;
	rd_kafka_t		*rk;
	struct event_decoder	*dec;		/* the engine's RDATA checks */
	bool			 signing;
	uint8_t			 sk[SIGN_SK_LEN];
	pthread_t		 thread;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	struct job		*head, **tail;
	size_t			 queued;
	bool			 stopping;
	uint64_t		 seq;
};

/* ---- verdicts: consumer to updater ---- */

void
verdicts_init(struct update_verdicts *vs, const char *identity)
{
	pthread_condattr_t ca;
	uint64_t nonce = ((uint64_t)randombytes_random() << 32) | randombytes_random();

	memset(vs, 0, sizeof(*vs));
	pthread_mutex_init(&vs->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&vs->cv, &ca);
	pthread_condattr_destroy(&ca);
	/* A restarted instance is another writer: its old events are not its own. */
	snprintf(vs->origin, sizeof(vs->origin), "%.40s/%016" PRIx64,
	    identity != NULL ? identity : "authd", nonce);
	for (char *p = vs->origin; *p; p++)
		if (*p == ' ')
			*p = '_';
}

void
verdicts_free(struct update_verdicts *vs)
{
	free(vs->v);
	free(vs->next);
	pthread_mutex_destroy(&vs->mu);
	pthread_cond_destroy(&vs->cv);
}

void
verdicts_add(struct update_verdicts *vs, const char *id, size_t idlen, bool applied)
{
	size_t olen = strlen(vs->origin);
	char buf[128];
	unsigned long long seq;
	unsigned idx;

	if (idlen <= olen || idlen >= sizeof(buf) || memcmp(id, vs->origin, olen) != 0 ||
	    id[olen] != ' ')
		return;
	memcpy(buf, id + olen, idlen - olen);
	buf[idlen - olen] = '\0';
	if (sscanf(buf, " %llu %u", &seq, &idx) != 2)
		return;
	pthread_mutex_lock(&vs->mu);
	if (vs->n == vs->cap) {
		vs->cap = vs->cap ? 2 * vs->cap : 64;
		if ((vs->v = realloc(vs->v, vs->cap * sizeof(*vs->v))) == NULL)
			fatal("update verdicts");
	}
	vs->v[vs->n++] = (struct update_verdict){ seq, idx, applied };
	pthread_mutex_unlock(&vs->mu);
}

void
verdicts_commit(struct update_verdicts *vs, const int64_t *next, size_t npart)
{
	bool moved = false;

	pthread_mutex_lock(&vs->mu);
	if (npart > vs->npart) {
		if ((vs->next = realloc(vs->next, npart * sizeof(*vs->next))) == NULL)
			fatal("update verdicts");
		while (vs->npart < npart)
			vs->next[vs->npart++] = 0;
	}
	for (size_t p = 0; p < npart; p++) {
		if (next[p] > vs->next[p]) {
			vs->next[p] = next[p];
			moved = true;
		}
	}
	if (vs->committed != vs->n || moved) {
		vs->committed = vs->n;
		pthread_cond_broadcast(&vs->cv);
	}
	pthread_mutex_unlock(&vs->mu);
}

/*
 * Waits until every position of after[0..n) (partition << 48 | offset) is served here,
 * or until deadline (monotonic ms). Returns 0, or -1 on time-out.
 */
static int
verdicts_wait_positions(struct update_verdicts *vs, const uint64_t *after, size_t n,
    uint64_t deadline)
{
	struct timespec ts = { (time_t)(deadline / 1000), (long)(deadline % 1000) * 1000000 };
	int rc = 0;

	pthread_mutex_lock(&vs->mu);
	for (;;) {
		size_t i;

		for (i = 0; i < n; i++) {
			size_t p = (size_t)(after[i] >> 48);
			int64_t o = (int64_t)(after[i] & (((uint64_t)1 << 48) - 1));

			if (p >= vs->npart || vs->next[p] <= o)
				break;
		}
		if (i == n)
			break;
		if (vs->closing ||
		    pthread_cond_timedwait(&vs->cv, &vs->mu, &ts) == ETIMEDOUT) {
			rc = -1;
			break;
		}
	}
	pthread_mutex_unlock(&vs->mu);
	return rc;
}

/*
 * Waits until the committed verdicts hold every event 0..n-1 of update seq (those with
 * expect[i], when expect is not NULL), or until deadline (monotonic ms). Takes them out
 * into applied[]. Returns 0, or -1 on time-out.
 */
static int
verdicts_take(struct update_verdicts *vs, uint64_t seq, size_t n, const bool *expect,
    bool *applied, uint64_t deadline)
{
	struct timespec ts = { (time_t)(deadline / 1000), (long)(deadline % 1000) * 1000000 };
	size_t j = 0, c = 0;
	int rc = 0;

	pthread_mutex_lock(&vs->mu);
	for (;;) {
		size_t found = 0, want = n;

		if (expect != NULL)
			for (size_t i = 0; i < n; i++)
				want -= !expect[i];
		for (size_t i = 0; i < vs->committed; i++)
			if (vs->v[i].seq == seq && vs->v[i].idx < n &&
			    (expect == NULL || expect[vs->v[i].idx]))
				found++;
		if (found >= want)
			break;
		if (vs->closing) {
			rc = -1;
			break;
		}
		if (pthread_cond_timedwait(&vs->cv, &vs->mu, &ts) == ETIMEDOUT) {
			rc = -1;
			break;
		}
	}
	/* This update's verdicts out, committed or not (even on time-out). */
	for (size_t i = 0; i < vs->n; i++) {
		/* Older updates' late verdicts go too: they were answered. */
		if (vs->v[i].seq <= seq) {
			if (vs->v[i].seq == seq && i < vs->committed && vs->v[i].idx < n)
				applied[vs->v[i].idx] = vs->v[i].applied;
			continue;
		}
		if (i < vs->committed)
			c++;
		vs->v[j++] = vs->v[i];
	}
	vs->n = j;
	vs->committed = c;
	pthread_mutex_unlock(&vs->mu);
	return rc;
}

int
update_after_parse(const char *s, uint64_t *after, size_t cap)
{
	size_t n = 0;

	while (*s != '\0') {
		char *end;
		unsigned long p;
		long long o;

		p = strtoul(s, &end, 10);
		if (end == s || *end != ':' || p > 0xffff)
			return -1;
		s = end + 1;
		o = strtoll(s, &end, 10);
		if (end == s || o < 0 || o >= (1LL << 48) || n == cap)
			return -1;
		after[n++] = (uint64_t)p << 48 | (uint64_t)o;
		s = end;
		if (*s == ',')
			s++;
		else if (*s != '\0')
			return -1;
	}
	return (int)n;
}

/* ---- the producer ---- */

static void
on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct delivery *d = m->_private;

	(void)rk;
	(void)opaque;
	if (d == NULL)
		return;
	d->err = m->err;
	d->partition = m->partition;
	d->offset = m->offset;
	d->done = true;
}

static void
on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk;
	if (level <= 4)
		log_warnx("kafka producer: %s: %s", fac, buf);
}

static rd_kafka_t *
producer_new(const struct authd_conf *conf)
{
	rd_kafka_conf_t *kc = rd_kafka_conf_new();
	char err[512], timeout[16];
	rd_kafka_t *rk;

	snprintf(timeout, sizeof(timeout), "%d", DELIVERY_MS);
	/* [kafka] first; then what an update's safety needs, which it may not weaken. */
	for (size_t i = 0; i < conf->nprops; i++)
		(void)rd_kafka_conf_set(kc, conf->props[i].name, conf->props[i].value, err,
		    sizeof(err));
	if (rd_kafka_conf_set(kc, "bootstrap.servers", conf->brokers, err, sizeof(err)) ||
	    rd_kafka_conf_set(kc, "enable.idempotence", "true", err, sizeof(err)) ||
	    rd_kafka_conf_set(kc, "acks", "all", err, sizeof(err)) ||
	    rd_kafka_conf_set(kc, "allow.auto.create.topics", "false", err, sizeof(err)) ||
	    rd_kafka_conf_set(kc, "linger.ms", "0", err, sizeof(err)) ||
	    rd_kafka_conf_set(kc, "message.timeout.ms", timeout, err, sizeof(err)))
		fatalx("librdkafka producer config: %s", err);
	rd_kafka_conf_set_dr_msg_cb(kc, on_delivery);
	rd_kafka_conf_set_log_cb(kc, on_log);
	if ((rk = rd_kafka_new(RD_KAFKA_PRODUCER, kc, err, sizeof(err))) == NULL)
		fatalx("kafka producer: %s", err);
	return rk;
}

/*
 * Produces one conditional event: rs at (owner, type), or its deletion (rs == NULL), to
 * be applied only where the RRset's version is still at most base. d learns its fate.
 */
static int
produce(struct updater *u, const uint8_t *owner, uint16_t type, const struct rrset *rs,
    int64_t base, uint64_t seq, uint32_t idx, const char *after, struct delivery *d)
{
	char keybuf[EVENT_KEY_MAX], *key = NULL, *value = NULL, hbase[24], hid[128];
	rd_kafka_headers_t *h = rd_kafka_headers_new(4);
	rd_kafka_resp_err_t err;
	size_t klen, vlen;

	if (type == 0) {
		char name[DNAME_STRLEN];

		/* A guard: a tombstone, so compaction drops it in time (it is no data). */
		dname_to_str(owner, name, sizeof(name));
		snprintf(keybuf, sizeof(keybuf), "%s|" EVENT_GUARD_TYPE, name);
	} else if (rs != NULL ? event_encode(owner, rs, &key, &value) != 0 :
	    event_key(owner, type, keybuf, sizeof(keybuf)) < 0) {
		rd_kafka_headers_destroy(h);
		d->done = true;
		d->err = RD_KAFKA_RESP_ERR__BAD_MSG;
		return -1;
	}
	if (key == NULL)
		key = keybuf;
	klen = strlen(key);
	vlen = value != NULL ? strlen(value) : 0;
	snprintf(hbase, sizeof(hbase), "%" PRId64, base);
	snprintf(hid, sizeof(hid), "%s %" PRIu64 " %u", u->st->verdicts.origin, seq, idx);
	rd_kafka_header_add(h, UPDATE_HDR_BASE, -1, hbase, -1);
	rd_kafka_header_add(h, UPDATE_HDR_ID, -1, hid, -1);
	if (after != NULL && after[0] != '\0')
		rd_kafka_header_add(h, UPDATE_HDR_AFTER, -1, after, -1);
	if (u->signing) {
		char sig64[SIGN_SIG64_LEN], pk64[SIGN_PK64_LEN];

		sign_event_headers(u->sk, u->conf->topic, key, klen, value, vlen, sig64, pk64);
		rd_kafka_header_add(h, SIGN_HDR_SIG, -1, sig64, -1);
		rd_kafka_header_add(h, SIGN_HDR_KEY, -1, pk64, -1);
	}
	memset(d, 0, sizeof(*d));
	err = rd_kafka_producev(u->rk, RD_KAFKA_V_TOPIC(u->conf->topic),
	    RD_KAFKA_V_KEY(key, klen), RD_KAFKA_V_VALUE(value, vlen),
	    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(d),
	    RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		rd_kafka_headers_destroy(h);
		log_warnx("update: producing %s: %s", key, rd_kafka_err2str(err));
		d->done = true;		/* never delivered */
		d->err = err;
	}
	if (key != keybuf)
		free(key);
	free(value);
	return err == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : -1;
}

/* Serves delivery reports until every one of d[0..n) has come (message.timeout.ms). */
static void
await_delivery(struct updater *u, struct delivery *d, size_t n)
{
	for (;;) {
		size_t left = 0;

		for (size_t i = 0; i < n; i++)
			left += !d[i].done;
		if (left == 0)
			return;
		rd_kafka_poll(u->rk, 50);
	}
}

/* ---- reading the store ---- */

/* A copy of the topic's RRset (owner, type) or NULL, and its version (-1: none). */
static struct rrset *
topic_copy(struct store *s, const uint8_t *owner, uint16_t type, int64_t *ver)
{
	const struct rrset *rs;
	struct rrset *copy = NULL;

	rcu_read_lock();
	rs = znode_topic_find(store_lookup(s, owner, dname_len(owner)), type);
	*ver = rs != NULL ? rrset_version(rs) : -1;
	if (rs != NULL && (copy = rrset_dup(rs)) == NULL)
		fatal("update");
	rcu_read_unlock();
	return copy;
}

/* The zone at apex is served from the topic here (an SOA there, within [zones] serve). */
static bool
zone_served(struct authd_state *st, const uint8_t *apex)
{
	bool ok;

	rcu_read_lock();
	ok = znode_topic_find(store_lookup(st->store, apex, dname_len(apex)), DNS_TYPE_SOA) !=
	    NULL && zone_filter_has(rcu_dereference(st->serve), apex);
	rcu_read_unlock();
	return ok;
}

/* ---- guards ---- */

/*
 * The names an update reads or writes: the owners of its prerequisites and updates,
 * lower case, each once. Every update writes a guard event for each, conditional on the
 * guard version it read before evaluating, so two updates that read or write a common
 * name are ordered by that name's guard, whatever RRsets they touch (docs/ARCHITECTURE.md
 * "Dynamic updates").
 */
struct names {
	uint8_t		(*name)[DNAME_MAXLEN];
	int64_t		 *base;		/* the guard version read */
	size_t		  n;
};

static int
name_cmp(const void *a, const void *b)
{
	const uint8_t *x = a, *y = b;
	size_t lx = dname_len(x), ly = dname_len(y);
	int c = memcmp(x, y, lx < ly ? lx : ly);

	return c != 0 ? c : (lx > ly) - (lx < ly);
}

static void
names_collect(const uint8_t *msg, size_t len, struct names *ns)
{
	struct wire_msg m;
	struct wire_iter it;
	struct wire_rr rr;
	size_t cap = 0, k = 0;

	memset(ns, 0, sizeof(*ns));
	if (wire_msg_parse(msg, len, &m) != 0)
		return;
	wire_iter_init(&m, &it);
	while (wire_iter_next(&m, &it, &rr) && rr.section != WIRE_AR) {
		if (ns->n == cap) {
			cap = cap ? 2 * cap : 16;
			if ((ns->name = realloc(ns->name, cap * sizeof(*ns->name))) == NULL)
				fatal("update");
		}
		memcpy(ns->name[ns->n], rr.owner, dname_len(rr.owner));
		dname_lower(ns->name[ns->n++]);
	}
	if (ns->n == 0)
		return;
	qsort(ns->name, ns->n, sizeof(*ns->name), name_cmp);
	for (size_t i = 1; i < ns->n; i++)
		if (name_cmp(ns->name[i], ns->name[k]) != 0)
			memmove(ns->name[++k], ns->name[i], dname_len(ns->name[i]));
	ns->n = k + 1;
	ns->base = xcalloc(ns->n, sizeof(*ns->base));
}

/*
 * Reads the guard versions before the update is evaluated, then waits until what those
 * guards' updates wrote is applied here: a guard can arrive before the changes it stands
 * for (another partition), and an evaluation must not see the one without the other.
 * Returns 0, or -1 when that did not happen within the verdict time.
 */
static int
names_read_guards(struct updater *u, struct names *ns)
{
	uint64_t *after = xmalloc(UPDATE_AFTER_MAX * sizeof(*after));
	uint64_t *all = NULL;
	size_t nall = 0, capall = 0;
	int rc;

	for (size_t i = 0; i < ns->n; i++) {
		struct tombs *g = store_guards_lock(u->st->store);
		size_t k;

		ns->base[i] = tombs_peek(g, ns->name[i], 0);
		k = tombs_after(g, ns->name[i], 0, after, UPDATE_AFTER_MAX);
		store_guards_unlock(u->st->store);
		if (k > UPDATE_AFTER_MAX)
			k = UPDATE_AFTER_MAX;
		if (k == 0)
			continue;
		if (nall + k > capall) {
			capall = 2 * (nall + k);
			if ((all = realloc(all, capall * sizeof(*all))) == NULL)
				fatal("update");
		}
		memcpy(all + nall, after, k * sizeof(*after));
		nall += k;
	}
	rc = verdicts_wait_positions(&u->st->verdicts, all, nall,
	    clock_mono_ms() + VERDICT_MS);
	free(all);
	free(after);
	return rc;
}

static void
names_free(struct names *ns)
{
	free(ns->name);
	free(ns->base);
}

/* ---- writing a plan ---- */

/* RRsets whose last event from this update was refused: restated at the end. */
struct pending_key {
	uint8_t		owner[DNAME_MAXLEN];
	uint16_t	type;		/* 0: the name's guard */
};

struct refused {
	struct pending_key	*k;
	size_t			 n, cap;
};

static void
refused_set(struct refused *r, const uint8_t *owner, uint16_t type, bool refused)
{
	for (size_t i = 0; i < r->n; i++) {
		if (r->k[i].type == type && dname_equal(r->k[i].owner, owner)) {
			if (!refused)
				r->k[i] = r->k[--r->n];
			return;
		}
	}
	if (!refused)
		return;
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 8;
		if ((r->k = realloc(r->k, r->cap * sizeof(*r->k))) == NULL)
			fatal("update");
	}
	memcpy(r->k[r->n].owner, owner, dname_len(owner));
	r->k[r->n++].type = type;
}

/*
 * "P:O,..." of the delivered events among d[0..n), the highest offset per partition, into
 * buf (cap octets): what a writer reading our guards must see applied first.
 */
static void
after_text(const struct delivery *d, size_t n, char *buf, size_t cap)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		bool later = false;
		int k;

		if (d[i].err != RD_KAFKA_RESP_ERR_NO_ERROR)
			continue;
		for (size_t j = 0; j < n && !later; j++)
			later = j != i && d[j].err == RD_KAFKA_RESP_ERR_NO_ERROR &&
			    d[j].partition == d[i].partition && (d[j].offset > d[i].offset ||
			    (d[j].offset == d[i].offset && j < i));
		if (later)
			continue;
		k = snprintf(buf + len, cap - len, "%s%" PRId32 ":%" PRId64, len ? "," : "",
		    d[i].partition, d[i].offset);
		if (k < 0 || (size_t)k >= cap - len) {
			buf[len] = '\0';
			return;
		}
		len += (size_t)k;
	}
}

/*
 * Produces n events (owners[i], types[i], values[i], bases[i]) of update seq: first the
 * changes [0, nchanges), then, once the broker has those, the guards [nchanges, n) (type
 * 0) saying where the changes are. Waits for the verdicts into applied[]. Returns 0, or
 * -1 when one was not delivered or a verdict did not come in time (why set).
 */
static int
write_batch(struct updater *u, size_t n, size_t nchanges, const uint8_t *const *owners,
    const uint16_t *types, struct rrset *const *values, const int64_t *bases,
    struct delivery *d, bool *applied, char *why, size_t whylen)
{
	uint64_t seq = ++u->seq;
	char *after = NULL;
	bool *expect;
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		applied[i] = false;
		if (i == nchanges && nchanges > 0) {
			await_delivery(u, d, nchanges);
			after = xmalloc(UPDATE_AFTER_MAX * 24);
			after_text(d, nchanges, after, UPDATE_AFTER_MAX * 24);
		}
		(void)produce(u, owners[i], types[i], values[i], bases[i], seq, (uint32_t)i,
		    i >= nchanges ? after : NULL, &d[i]);
	}
	await_delivery(u, d, n);
	free(after);
	counter_add(&u->st->update_stats.events, n);
	expect = xcalloc(n, sizeof(*expect));
	for (size_t i = 0; i < n; i++) {
		expect[i] = d[i].err == RD_KAFKA_RESP_ERR_NO_ERROR;
		if (!expect[i] && rc == 0) {
			snprintf(why, whylen, "event not written: %s", rd_kafka_err2str(d[i].err));
			rc = -1;
		}
	}
	if (verdicts_take(&u->st->verdicts, seq, n, expect, applied,
	    clock_mono_ms() + VERDICT_MS) != 0) {
		snprintf(why, whylen, "events written but not applied within %d s",
		    VERDICT_MS / 1000);
		rc = -1;
	}
	free(expect);
	return rc;
}

/*
 * Writes a plan: its changes and a guard for each name in ns, as one batch of conditional
 * events. Returns 0 when every event was applied, 1 when one was refused for a concurrent
 * write (what was applied of the changes is put back, conditionally too, and the caller
 * evaluates the update again), -1 on a failure (why set; what was applied is put back
 * the same way).
 */
static int
write_plan(struct updater *u, struct update_plan *plan, const struct names *ns,
    struct refused *ref, char *why, size_t whylen)
{
	size_t nc = plan->n, n = nc + ns->n, nrev = 0;
	const uint8_t **owners = xcalloc(n, sizeof(*owners));
	uint16_t *types = xcalloc(n, sizeof(*types));
	struct rrset **values = xcalloc(n, sizeof(*values)), **prev = xcalloc(n, sizeof(*prev));
	int64_t *bases = xcalloc(n, sizeof(*bases)), ver;
	struct delivery *d = xcalloc(n, sizeof(*d));
	bool *applied = xcalloc(n, sizeof(*applied)), all = true, unknown = false;
	int rc;

	for (size_t i = 0; i < nc; i++) {
		struct update_change *c = &plan->changes[i];

		owners[i] = c->owner;
		types[i] = c->type;
		values[i] = c->rs;
		bases[i] = c->base;
		/* What a revert puts back: the value the plan read, if it is still there. */
		prev[i] = topic_copy(u->st->store, c->owner, c->type, &ver);
		if (ver != c->base) {
			free(prev[i]);
			prev[i] = NULL;
			unknown = true;
		}
	}
	for (size_t i = 0; i < ns->n; i++) {
		owners[nc + i] = ns->name[i];
		types[nc + i] = 0;		/* the name's guard */
		bases[nc + i] = ns->base[i];
	}
	rc = write_batch(u, n, nc, owners, types, values, bases, d, applied, why, whylen);
	for (size_t i = 0; i < n; i++) {
		bool refused = d[i].err == RD_KAFKA_RESP_ERR_NO_ERROR && !applied[i];

		refused_set(ref, owners[i], types[i], refused);
		if (!applied[i])
			all = false;
		if (refused)
			counter_add(&u->st->update_stats.conflicts, 1);
	}
	if (rc == 0 && all)
		goto out;
	/* Not all of it: take back the changes applied, each conditional on our own event. */
	for (size_t i = 0; i < nc; i++) {
		if (!applied[i])
			continue;
		if (unknown && prev[i] == NULL && bases[i] >= 0) {
			log_warnx("update: cannot take back a partly applied update (the RRsets "
			    "changed while it was written)");
			continue;
		}
		owners[nrev] = owners[i];
		types[nrev] = types[i];
		values[nrev] = prev[i];
		bases[nrev] = d[i].offset;
		nrev++;
	}
	if (nrev > 0) {
		char why2[256];

		(void)write_batch(u, nrev, nrev, owners, types, values, bases, d, applied, why2,
		    sizeof(why2));
		for (size_t i = 0; i < nrev; i++)
			refused_set(ref, owners[i], types[i],
			    d[i].err == RD_KAFKA_RESP_ERR_NO_ERROR && !applied[i]);
	}
	if (rc == 0) {
		rc = 1;
		snprintf(why, whylen, "a concurrent update came first");
	}
out:
	for (size_t i = 0; i < nc; i++)
		free(prev[i]);
	free(owners);
	free(types);
	free(values);
	free(prev);
	free(bases);
	free(d);
	free(applied);
	return rc;
}

/*
 * An event of ours that was refused is the latest of its key until something follows it:
 * a compacted topic would keep it alone, and an instance replaying that would apply it.
 * So each is followed by the RRset (or guard) as it is, conditional on its current
 * version (refused in turn only when someone wrote after us, who then is the latest).
 */
static void
restate(struct updater *u, struct refused *ref)
{
	for (size_t i = 0; i < ref->n; i++) {
		const uint8_t *owner = ref->k[i].owner;
		uint16_t type = ref->k[i].type;
		int64_t ver;
		struct rrset *cur = NULL;
		struct delivery d;
		bool applied;
		char why[256];

		if (type == 0)
			ver = store_guard_get(u->st->store, owner);
		else
			cur = topic_copy(u->st->store, owner, type, &ver);
		(void)write_batch(u, 1, type == 0 ? 0 : 1, &owner, &type, &cur, &ver, &d,
		    &applied, why, sizeof(why));
		free(cur);
	}
	ref->n = 0;
}

/* The rcodes of prerequisites that failed: a verdict on data, validated like a change. */
static bool
rcode_from_data(int rc)
{
	return rc == DNS_RCODE_NXDOMAIN || rc == DNS_RCODE_YXDOMAIN ||
	    rc == DNS_RCODE_YXRRSET || rc == DNS_RCODE_NXRRSET;
}

/*
 * The update in j, evaluated and written until it is applied or cannot be. Every outcome
 * that depends on the data (NOERROR, and a failed prerequisite) is written: a change as
 * its events, and always the guards of the names read; only once all of them are applied
 * is the outcome the answer. Lost races are evaluated again, after a short random pause.
 */
static uint16_t
process(struct updater *u, struct job *j, char *why, size_t whylen, unsigned *attempts,
    size_t *changes)
{
	struct update_opts uo = { .serial_as_is = !u->conf->serial_topic, .dec = u->dec };
	struct refused ref = { NULL, 0, 0 };
	struct names ns;
	int rc = DNS_RCODE_SERVFAIL;

	*attempts = 0;
	*changes = 0;
	names_collect(j->msg, j->len, &ns);
	while (*attempts < ATTEMPTS_MAX) {
		struct update_plan plan;
		int w;

		if (*attempts > 0) {
			struct timespec ts = { 0, (long)randombytes_uniform(
			    2000000u << (*attempts < 5 ? *attempts : 5)) };

			counter_add(&u->st->update_stats.retries, 1);
			nanosleep(&ts, NULL);
		}
		++*attempts;
		why[0] = '\0';
		if (names_read_guards(u, &ns) != 0) {
			rc = DNS_RCODE_SERVFAIL;
			snprintf(why, whylen, "a concurrent update's changes did not arrive "
			    "within %d s", VERDICT_MS / 1000);
			break;
		}
		rc = update_prepare(u->st->store, j->msg, j->len, &uo, &plan, why, whylen);
		*changes = plan.n;
		if ((rc != DNS_RCODE_NOERROR && !rcode_from_data(rc)) ||
		    (plan.n == 0 && ns.n == 0)) {
			update_plan_free(&plan);
			break;
		}
		w = write_plan(u, &plan, &ns, &ref, why[0] ? why + strlen(why) : why,
		    why[0] ? whylen - strlen(why) : whylen);
		update_plan_free(&plan);
		if (w == 0)
			break;		/* rc stands: NOERROR, or the failed prerequisite */
		rc = DNS_RCODE_SERVFAIL;
		if (w < 0)
			break;
	}
	if (rc == DNS_RCODE_SERVFAIL && *attempts == ATTEMPTS_MAX)
		snprintf(why, whylen, "lost %d races with concurrent updates", ATTEMPTS_MAX);
	restate(u, &ref);
	free(ref.k);
	names_free(&ns);
	return (uint16_t)rc;
}

/* ---- answers ---- */

/* Header and zone section with rcode (our OPT when the request had one); unsigned. */
static size_t
build_reply(const struct answer_opts *o, const uint8_t *msg, size_t len, bool tcp,
    uint16_t rcode, const struct tsig_ctx *tsig, uint8_t *out, size_t cap)
{
	struct env_opts eo = answer_env_opts(o);
	struct dns_query q;

	if (wire_read_message(msg, len, &q) != WIRE_OK || q.qdcount != 1)
		return 0;
	q.cookie_len = 0;
	q.tsig_reserve = tsig_reserve(tsig);
	return env_error(out, env_limit(&q, tcp, o->udp_payload, cap), &q, &eo, rcode, 0, -1,
	    NULL);
}

/* On the worker's thread: the answer out, the client released. */
static void
deliver(evutil_socket_t fd, short what, void *arg)
{
	struct job *j = arg;

	(void)fd;
	(void)what;
	if (j->resplen > 0)
		fe_peer_send(&j->peer, j->resp, j->resplen);
	fe_peer_release(&j->peer);
	free(j->resp);
	free(j);
}

static void
answer_job(struct updater *u, struct job *j, uint16_t rcode)
{
	static const struct timeval now = { 0, 0 };

	j->resp = xmalloc(DNS_MAX_MSG);
	j->resplen = build_reply(&u->opts, j->msg, j->len, j->tcp, rcode, &j->tsig, j->resp,
	    DNS_MAX_MSG);
	if (j->resplen > 0 && j->tsig.result != TSIG_NONE &&
	    tsig_sign_first(&j->tsig, j->resp, &j->resplen, j->limit) != 0)
		j->resplen = 0;
	if (event_base_once(j->base, -1, EV_TIMEOUT, deliver, j, &now) != 0) {
		fe_peer_release(&j->peer);
		free(j->resp);
		free(j);
	}
}

static void
log_update(const char *client, const struct tsig_ctx *tsig, const uint8_t *zone,
    uint16_t rc, const char *why, unsigned attempts, size_t changes, uint64_t us)
{
	const knot_lookup_t *rn = knot_lookup_by_id(knot_rcode_names, rc);
	char zname[DNAME_STRLEN] = "?", kname[DNAME_STRLEN] = "-";

	if (zone != NULL)
		dname_to_str(zone, zname, sizeof(zname));
	if (tsig->result != TSIG_NONE)
		dname_to_str(tsig->key_name, kname, sizeof(kname));
	log_info("update %s key %s zone %s: %s%s%s (%zu RRsets, %u attempts) %" PRIu64 "us",
	    client, kname, zname, rn != NULL ? rn->name : "?", why != NULL && why[0] ? ": " : "",
	    why != NULL ? why : "", changes, attempts, us);
}

static void
account(struct authd_state *st, uint16_t rc, uint64_t us)
{
	counter_add(&st->update_stats.results[rc < 24 ? rc : 23], 1);
	histogram_observe(&st->update_stats.latency, us);
}

/* ---- the thread ---- */

static void
handle(struct updater *u, struct job *j)
{
	uint8_t zone[DNAME_MAXLEN];
	char why[512] = "";
	unsigned attempts;
	size_t changes;
	uint16_t rc = process(u, j, why, sizeof(why), &attempts, &changes);
	uint64_t us = clock_mono_us() - j->t0;

	log_update(j->client, &j->tsig, update_zone(j->msg, j->len, zone) == 0 ? zone : NULL,
	    rc, why, attempts, changes, us);
	account(u->st, rc, us);
	answer_job(u, j, rc);
}

/*
 * The producer's first event waits for the topic's metadata and a producer id (the
 * idempotent producer's): fetched here, at start, rather than by the first update.
 */
static void
warm_up(struct updater *u)
{
	rd_kafka_topic_t *t = rd_kafka_topic_new(u->rk, u->conf->topic, NULL);
	const struct rd_kafka_metadata *md = NULL;

	if (t != NULL && rd_kafka_metadata(u->rk, 0, t, &md, 5000) ==
	    RD_KAFKA_RESP_ERR_NO_ERROR)
		rd_kafka_metadata_destroy(md);
	if (t != NULL)
		rd_kafka_topic_destroy(t);
	rd_kafka_poll(u->rk, 0);
}

static void *
updater_main(void *arg)
{
	struct updater *u = arg;

	rcu_register_thread();
	warm_up(u);
	pthread_mutex_lock(&u->mu);
	for (;;) {
		struct job *j;

		while (u->head == NULL && !u->stopping)
			pthread_cond_wait(&u->cv, &u->mu);
		if (u->stopping)
			break;
		j = u->head;
		if ((u->head = j->next) == NULL)
			u->tail = &u->head;
		u->queued--;
		pthread_mutex_unlock(&u->mu);
		handle(u, j);
		pthread_mutex_lock(&u->mu);
	}
	while (u->head != NULL) {
		struct job *j = u->head;

		u->head = j->next;
		answer_job(u, j, DNS_RCODE_SERVFAIL);
	}
	u->tail = &u->head;
	pthread_mutex_unlock(&u->mu);
	rcu_unregister_thread();
	return NULL;
}

/* A rule's name covers owner: the name itself, or (a "*." rule) any name below it. */
static bool
rule_covers(const struct update_rule *r, const uint8_t *owner)
{
	return r->below ? dname_is_below(owner, r->name) && !dname_equal(owner, r->name) :
	    dname_equal(owner, r->name);
}

static bool
rule_has_type(const struct update_rule *r, uint16_t type)
{
	for (size_t i = 0; i < r->ntypes; i++)
		if (r->types[i] == type)
			return true;
	return false;
}

/*
 * Whether key may make the update msg to zone: a rule that is the zone grants all of it;
 * else every RR of the update section must be covered by a rule's name and types (a
 * deletion of every RRset at a name needs type ANY). Prerequisites only read.
 */
static bool
granted(const struct updater *u, const uint8_t *key, const uint8_t *zone,
    const uint8_t *msg, size_t len)
{
	const struct grant *g = NULL;
	struct wire_msg m;
	struct wire_iter it;
	struct wire_rr rr;
	bool some = false;

	for (size_t i = 0; u != NULL && i < u->ngrants && g == NULL; i++)
		if (dname_equal(u->grants[i].key, key))
			g = &u->grants[i];
	if (g == NULL)
		return false;
	for (size_t i = 0; i < g->nrules; i++) {
		if (g->rules[i].zone && dname_equal(g->rules[i].name, zone))
			return true;
		some |= !g->rules[i].zone && dname_is_below(g->rules[i].name, zone);
	}
	if (!some || wire_msg_parse(msg, len, &m) != 0)
		return false;
	wire_iter_init(&m, &it);
	while (wire_iter_next(&m, &it, &rr) && rr.section != WIRE_AR) {
		bool ok = false;

		if (rr.section != WIRE_NS)
			continue;
		dname_lower(rr.owner);
		for (size_t i = 0; i < g->nrules && !ok; i++)
			ok = !g->rules[i].zone && dname_is_below(g->rules[i].name, zone) &&
			    rule_covers(&g->rules[i], rr.owner) &&
			    rule_has_type(&g->rules[i], rr.type);
		if (!ok)
			return false;
	}
	return true;
}

static int
parse_rule(void *arg, const char *item, char *err, size_t errlen)
{
	struct grant *g = arg;
	struct update_rule *r;
	char copy[DNAME_STRLEN + 256], *tok, *save = NULL;

	if (strlen(item) >= sizeof(copy)) {
		snprintf(err, errlen, "'%.40s...': too long", item);
		return -1;
	}
	snprintf(copy, sizeof(copy), "%s", item);
	if ((g->rules = realloc(g->rules, (g->nrules + 1) * sizeof(*g->rules))) == NULL)
		fatal("update");
	r = &g->rules[g->nrules];
	memset(r, 0, sizeof(*r));
	tok = strtok_r(copy, " \t", &save);
	if (tok == NULL) {
		snprintf(err, errlen, "empty item");
		return -1;
	}
	if (strncmp(tok, "*.", 2) == 0) {
		r->below = true;
		tok += 2;
	}
	if (tok[0] == '\0' || tok[strlen(tok) - 1] != '.' ||
	    dname_from_str(tok, NULL, r->name) <= 0) {
		snprintf(err, errlen, "'%s' is not an absolute domain name", tok);
		return -1;
	}
	dname_lower(r->name);
	while ((tok = strtok_r(NULL, " \t", &save)) != NULL) {
		uint16_t t;

		if (r->ntypes == UPDATE_RULE_TYPES) {
			snprintf(err, errlen, "'%s': more than %d types", item, UPDATE_RULE_TYPES);
			return -1;
		}
		if (knot_rrtype_from_string(tok, &t) != 0) {
			snprintf(err, errlen, "'%s' is not a record type", tok);
			return -1;
		}
		r->types[r->ntypes++] = t;
	}
	r->zone = r->ntypes == 0;
	if (r->zone && r->below) {
		snprintf(err, errlen, "'%s': a pattern needs the types it grants", item);
		return -1;
	}
	g->nrules++;
	return 0;
}

int
update_grant_parse(const char *value, struct update_rule **rules, size_t *n, char *err,
    size_t errlen)
{
	struct grant g = { .rules = NULL, .nrules = 0 };
	long k = conf_list_each(value, 1024, parse_rule, &g, err, errlen);

	if (k == 0) {
		snprintf(err, errlen, "empty list");
		k = -1;
	}
	if (k < 0) {
		free(g.rules);
		return -1;
	}
	*rules = g.rules;
	*n = g.nrules;
	return 0;
}

size_t
updater_submit(struct updater *u, struct authd_state *st, const struct answer_opts *o,
    struct event_base *base, const struct fe_request *req, const struct tsig_ctx *tsig,
    uint16_t limit, uint8_t *out, size_t cap, uint8_t *rcode)
{
	uint8_t zone[DNAME_MAXLEN];
	char client[CLIENT_STRLEN];
	const char *why;
	uint16_t rc;
	struct job *j;

	net_addr_str(req->client, client, sizeof(client));
	/* RFC 2136 3.1 first, then who may: a zone we do not serve is NOTAUTH to all. */
	if (update_zone(req->msg, req->len, zone) != 0) {
		rc = DNS_RCODE_FORMERR;
		why = "zone section";
	} else if (!zone_served(st, zone)) {
		rc = DNS_RCODE_NOTAUTH;
		why = "not a zone served here";
	} else if (tsig->result != TSIG_OK) {
		rc = DNS_RCODE_REFUSED;
		why = "unsigned (updates need a TSIG key granted in [update])";
	} else if (!granted(u, tsig->key_name, zone, req->msg, req->len)) {
		rc = DNS_RCODE_REFUSED;
		why = "the key is not granted this zone, or these names and types, in [update]";
	} else {
		j = xcalloc(1, sizeof(*j) + req->len);
		j->u = u;
		j->base = base;
		j->tsig = *tsig;
		j->limit = limit;
		j->tcp = req->tcp;
		j->t0 = clock_mono_us();
		memcpy(j->client, client, sizeof(client));
		j->len = req->len;
		memcpy(j->msg, req->msg, req->len);
		pthread_mutex_lock(&u->mu);
		if (u->queued < QUEUE_MAX && !u->stopping) {
			fe_peer_hold(&j->peer, req);
			*u->tail = j;
			u->tail = &j->next;
			u->queued++;
			pthread_cond_signal(&u->cv);
			pthread_mutex_unlock(&u->mu);
			return 0;
		}
		pthread_mutex_unlock(&u->mu);
		free(j);
		rc = DNS_RCODE_SERVFAIL;
		why = "too many updates waiting";
	}
	log_update(client, tsig, rc == DNS_RCODE_FORMERR ? NULL : zone, rc, why, 0, 0, 0);
	account(st, rc, 0);
	*rcode = (uint8_t)rc;
	return build_reply(o, req->msg, req->len, req->tcp, rc, tsig, out, cap);
}

struct updater *
updater_start(const struct authd_conf *conf, struct authd_state *st,
    const struct answer_opts *opts)
{
	struct updater *u;
	char err[512];

	if (conf->ngrants == 0)
		return NULL;
	u = xcalloc(1, sizeof(*u));
	u->conf = conf;
	u->st = st;
	u->opts = *opts;
	u->grants = xcalloc(conf->ngrants, sizeof(*u->grants));
	for (size_t i = 0; i < conf->ngrants; i++) {
		struct grant *g = &u->grants[u->ngrants++];

		if (dname_from_str(conf->grants[i].key, NULL, g->key) <= 0 ||
		    update_grant_parse(conf->grants[i].zones, &g->rules, &g->nrules, err,
		    sizeof(err)) != 0)
			fatalx("[update] %s: %s", conf->grants[i].key, err);
		dname_lower(g->key);
	}
	if (conf->sign_key != NULL) {
		if (sign_load_secret(conf->sign_key, u->sk, err, sizeof(err)) != 0)
			fatalx("sign-key: %s", err);
		u->signing = true;
	}
	u->rk = producer_new(conf);
	if ((u->dec = event_decoder_new()) == NULL)
		fatalx("update: out of memory");
	pthread_mutex_init(&u->mu, NULL);
	pthread_cond_init(&u->cv, NULL);
	u->tail = &u->head;
	if (pthread_create(&u->thread, NULL, updater_main, u) != 0)
		fatal("pthread_create");
	log_info("accepting RFC 2136 updates for %zu TSIG keys%s", u->ngrants,
	    u->signing ? ", their events signed" : "");
	return u;
}

void
updater_stop(struct updater *u)
{
	if (u == NULL)
		return;
	pthread_mutex_lock(&u->mu);
	u->stopping = true;
	pthread_cond_broadcast(&u->cv);
	pthread_mutex_unlock(&u->mu);
	/* An update waiting for its verdicts gives up now. */
	pthread_mutex_lock(&u->st->verdicts.mu);
	u->st->verdicts.closing = true;
	pthread_cond_broadcast(&u->st->verdicts.cv);
	pthread_mutex_unlock(&u->st->verdicts.mu);
	pthread_join(u->thread, NULL);
	rd_kafka_flush(u->rk, 2000);
	rd_kafka_destroy(u->rk);
	event_decoder_free(u->dec);
	for (size_t i = 0; i < u->ngrants; i++)
		free(u->grants[i].rules);
	free(u->grants);
	sodium_memzero(u->sk, sizeof(u->sk));
	pthread_mutex_destroy(&u->mu);
	pthread_cond_destroy(&u->cv);
	free(u);
}
