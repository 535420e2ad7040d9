/* ctl_state.c: the topic read to its end into "the latest valid value of every key", as authd holds it. */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <libknot/libknot.h>

#include "common/clock.h"
#include "common/event.h"
#include "common/kafkapos.h"
#include "common/keyset.h"
#include "common/log.h"
#include "common/rdata.h"
#include "tools/ctl.h"

#define BATCH_MAX	10000
#define POLL_MS		100
#define DECODE_CHUNK	256

/* ---- index of (owner, type) ---- */

struct slot {
	const uint8_t	*owner;		/* NULL: empty; the caller's */
	uint64_t	 hash;
	uint16_t	 type;
	void		*value;
};

struct ctl_index {
	struct slot	*slots;
	size_t		 cap;		/* a power of two */
	size_t		 used;
};

static uint64_t
index_hash(const uint8_t *owner, uint16_t type)
{
	return dname_hash(owner, dname_len(owner)) ^ ((uint64_t)type * 0x9e3779b97f4a7c15ULL);
}

struct ctl_index *
ctl_index_new(size_t expected)
{
	struct ctl_index *ix = xcalloc(1, sizeof(*ix));

	for (ix->cap = 1024; ix->cap < 2 * expected + 2; ix->cap *= 2)
		;
	ix->slots = xcalloc(ix->cap, sizeof(*ix->slots));
	return ix;
}

void
ctl_index_free(struct ctl_index *ix)
{
	if (ix == NULL)
		return;
	free(ix->slots);
	free(ix);
}

static struct slot *
index_find(const struct ctl_index *ix, const uint8_t *owner, uint16_t type, uint64_t h)
{
	size_t mask = ix->cap - 1, len = dname_len(owner);

	for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
		struct slot *s = &ix->slots[i];

		if (s->owner == NULL ||
		    (s->hash == h && s->type == type && memcmp(s->owner, owner, len) == 0))
			return s;
	}
}

static void
index_grow(struct ctl_index *ix)
{
	struct slot *old = ix->slots;
	size_t oldcap = ix->cap;

	ix->cap *= 2;
	ix->slots = xcalloc(ix->cap, sizeof(*ix->slots));
	for (size_t i = 0; i < oldcap; i++) {
		if (old[i].owner == NULL)
			continue;
		for (size_t j = (size_t)old[i].hash & (ix->cap - 1);; j = (j + 1) & (ix->cap - 1)) {
			if (ix->slots[j].owner == NULL) {
				ix->slots[j] = old[i];
				break;
			}
		}
	}
	free(old);
}

void *
ctl_index_get(const struct ctl_index *ix, const uint8_t *owner, uint16_t type)
{
	return index_find(ix, owner, type, index_hash(owner, type))->value;
}

void
ctl_index_put(struct ctl_index *ix, const uint8_t *owner, uint16_t type, void *value)
{
	uint64_t h = index_hash(owner, type);
	struct slot *s;

	if ((ix->used + 1) * 2 > ix->cap)
		index_grow(ix);
	s = index_find(ix, owner, type, h);
	if (s->owner == NULL) {
		s->owner = owner;
		s->hash = h;
		s->type = type;
		ix->used++;
	}
	s->value = value;
}

/* ---- names and RRsets ---- */

bool
ctl_rrset_equal(const struct rrset *a, const struct rrset *b)
{
	return a->type == b->type && a->ttl == b->ttl && a->count == b->count &&
	    a->datalen == b->datalen && memcmp(a->data, b->data, a->datalen) == 0;
}

const uint8_t *
ctl_zone_of(const uint8_t *owner, bool (*is_apex)(void *, const uint8_t *), void *arg)
{
	for (const uint8_t *n = owner; n != NULL; n = dname_parent(n))
		if (is_apex(arg, n))
			return n;
	return NULL;
}

const uint8_t *
ctl_rrset_zone(const uint8_t *owner, uint16_t type,
    bool (*is_apex)(void *, const uint8_t *), void *arg)
{
	/* RFC 4035 2.4: the DS RRset at a cut is the parent's data, not the child's. */
	if (type == KNOT_RRTYPE_DS && is_apex(arg, owner))
		owner = dname_parent(owner);
	return owner != NULL ? ctl_zone_of(owner, is_apex, arg) : NULL;
}

/*
 * Every RRset printed here came out of event_decode, which admits only RDATA that
 * libknot's text writer takes (it says so in common/event.c): no RFC 3597 fallback needed.
 */
int
ctl_print_rrset(FILE *out, const uint8_t *owner, const struct rrset *rs, const char *indent)
{
	static char *buf;
	static size_t cap;
	char name[DNAME_STRLEN], type[32];
	struct rdata_ref rd;
	knot_rrset_t rr;
	int ret = 0;

	dname_to_str(owner, name, sizeof(name));
	if (knot_rrtype_to_string(rs->type, type, sizeof(type)) < 0)
		return -1;
	knot_rrset_init(&rr, (knot_dname_t *)owner, rs->type, KNOT_CLASS_IN, rs->ttl);
	for (const uint8_t *it = rrset_first(rs, &rd); it; it = rrset_next(rs, it, &rd))
		if (knot_rrset_add_rdata(&rr, rd.data, rd.len, NULL) != KNOT_EOK)
			fatalx("out of memory");
	for (uint16_t i = 0; i < rr.rrs.count && ret == 0; i++) {
		if ((ret = rdata_text(&rr, i, false, &buf, &cap)) == -2)
			fatalx("out of memory");
		if (ret == 0)
			fprintf(out, "%s%s\t%" PRIu32 "\tIN\t%s\t%s\n", indent, name, rs->ttl, type,
			    buf);
	}
	knot_rdataset_clear(&rr.rrs, NULL);
	return ret;
}

/* ---- the state ---- */

/* What a consumed message turned out to be, decoded on a worker thread. */
enum decoded {
	DECODED_BAD,		/* authd rejects it */
	DECODED_RRSET,		/* an RRset or its tombstone: ev filled */
	DECODED_KEYSET,		/* a zone's key set or its tombstone: ev->owner is the zone */
	DECODED_GUARD,		/* an RFC 2136 update's guard on a name: no data */
};

bool
ctl_state_apex(void *arg, const uint8_t *name)
{
	const struct ctl_entry *e = ctl_index_get(((struct ctl_state *)arg)->index, name,
	    KNOT_RRTYPE_SOA);

	return e != NULL && e->rrset != NULL;
}

struct ctl_keyset *
ctl_state_keyset(const struct ctl_state *st, const uint8_t *zone)
{
	for (size_t i = 0; i < st->nkeysets; i++)
		if (dname_equal(st->keysets[i]->zone, zone))
			return st->keysets[i];
	return NULL;
}

/* Keeps a key set's latest value, unparsed: reading the topic needs no secret. */
static void
keyset_put(struct ctl_state *st, const uint8_t *zone, const rd_kafka_message_t *m)
{
	struct ctl_keyset *k = ctl_state_keyset(st, zone);

	if (k == NULL) {
		k = xcalloc(1, sizeof(*k));
		memcpy(k->zone, zone, dname_len(zone));
		st->keysets = realloc(st->keysets, (st->nkeysets + 1) * sizeof(*st->keysets));
		if (st->keysets == NULL)
			fatalx("out of memory");
		st->keysets[st->nkeysets++] = k;
	}
	free(k->value);
	k->value = NULL;
	k->len = m->payload != NULL ? m->len : 0;
	if (m->payload != NULL) {
		k->value = xcalloc(1, m->len + 1);
		memcpy(k->value, m->payload, m->len);
	}
}

void
ctl_state_free(struct ctl_state *st)
{
	if (st == NULL)
		return;
	for (size_t i = 0; i < st->nkeysets; i++) {
		free(st->keysets[i]->value);
		free(st->keysets[i]);
	}
	free(st->keysets);
	for (size_t i = 0; i < st->nentries; i++) {
		free(st->entries[i]->rrset);
		free(st->entries[i]);
	}
	free(st->entries);
	ctl_index_free(st->index);
	free(st->low);
	free(st->high);
	free(st);
}

/* Stores one decoded event as authd would: the latest value of its key; takes ev->rrset. */
static void
state_put(struct ctl_state *st, struct event *ev, const rd_kafka_message_t *m)
{
	struct ctl_entry *e = ctl_index_get(st->index, ev->owner, ev->type);
	size_t len;

	if (e == NULL) {
		if (ev->rrset == NULL)
			return;		/* deleting what never was */
		/* The entry carries its owner: the index points at it. */
		len = dname_len(ev->owner);
		e = xcalloc(1, sizeof(*e) + len);
		memcpy(e + 1, ev->owner, len);
		e->owner = (const uint8_t *)(e + 1);
		ctl_index_put(st->index, e->owner, ev->type, e);
		if (st->nentries == st->cap) {
			st->cap = st->cap == 0 ? 1024 : st->cap * 2;
			st->entries = realloc(st->entries, st->cap * sizeof(*st->entries));
			if (st->entries == NULL)
				fatalx("out of memory");
		}
		st->entries[st->nentries++] = e;
	}
	st->live += (e->rrset == NULL) - (ev->rrset == NULL);
	free(e->rrset);
	e->rrset = ev->rrset;
	e->partition = m->partition;
	e->offset = m->offset;
}

/*
 * A conditional event (an RFC 2136 update's, authd/updater.h) is judged as authd judges
 * it (event_condition): against the offset that set the key's value, or deleted it.
 */
static bool
condition_holds(const struct ctl_state *st, const struct event *ev,
    const rd_kafka_message_t *m)
{
	rd_kafka_headers_t *h = NULL;
	const void *v = NULL;
	size_t vlen = 0;
	const struct ctl_entry *e;
	int64_t base, ver = -1;
	bool present;

	if (rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR ||
	    rd_kafka_header_get_last(h, EVENT_HDR_BASE, &v, &vlen) !=
	    RD_KAFKA_RESP_ERR_NO_ERROR)
		return true;		/* a plain event */
	if (event_base_parse(v, vlen, &base) != 0)
		return false;
	e = ctl_index_get(st->index, ev->owner, ev->type);
	present = e != NULL && e->rrset != NULL;
	if (e != NULL && (present || m->offset - e->offset <= EVENT_TOMB_WINDOW))
		ver = e->offset;
	return event_condition(present, ver, base);
}

/* True once every partition's position has reached the high watermark read at start. */
static bool
caught_up(const struct ctl *c, rd_kafka_t *rk, struct ctl_state *st, int64_t *next)
{
	for (int32_t p = 0; p < st->npart; p++)
		if (next[p] < st->high[p])
			goto positions;
	return true;
positions:
	/* Compaction gaps and control records move the position without a message. */
	kafkapos_advance(rk, c->topic, st->npart, next);
	for (int32_t p = 0; p < st->npart; p++)
		if (next[p] < st->high[p])
			return false;
	return true;
}

/*
 * Decoding is the costly part of reading a big topic, and each event decodes on its own:
 * a batch is decoded on every CPU, then applied in order, one thread, as authd applies.
 */
struct decode_batch {
	rd_kafka_message_t	**msgs;
	struct event		*ev;
	enum decoded		*kind;
	size_t			 n;
	atomic_size_t		 next;
	struct event_decoder	*dec[CTL_THREADS_MAX];
	atomic_size_t		 worker;	/* hands each thread its decoder */
};

static enum decoded
decode_one(struct event_decoder *dec, const rd_kafka_message_t *m, struct event *ev)
{
	if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR)
		return DECODED_BAD;
	if (event_decode(dec, m->key, m->key_len, m->payload, m->len, ev, NULL, 0) != EVENT_OK)
		return DECODED_BAD;
	return ev->keyset ? DECODED_KEYSET : ev->guard ? DECODED_GUARD : DECODED_RRSET;
}

static void *
decode_worker(void *arg)
{
	struct decode_batch *b = arg;
	struct event_decoder *dec = b->dec[atomic_fetch_add(&b->worker, 1)];
	size_t start;

	while ((start = atomic_fetch_add(&b->next, DECODE_CHUNK)) < b->n) {
		for (size_t i = start; i < b->n && i < start + DECODE_CHUNK; i++) {
			const rd_kafka_message_t *m = b->msgs[i];

			b->kind[i] = decode_one(dec, m, &b->ev[i]);
		}
	}
	return NULL;
}

static void
decode_all(struct decode_batch *b, size_t nthreads)
{
	pthread_t th[CTL_THREADS_MAX];
	size_t t, n = b->n < 4 * DECODE_CHUNK ? 1 : nthreads;

	atomic_store(&b->next, 0);
	atomic_store(&b->worker, 0);
	for (t = 1; t < n; t++)
		if (pthread_create(&th[t], NULL, decode_worker, b) != 0)
			fatal("pthread_create");
	decode_worker(b);
	for (t = 1; t < n; t++)
		pthread_join(th[t], NULL);
}

/* Handles one consumed message, decoded already; -1 on an error that ends reading. */
static int
consume_one(const struct ctl *c, struct ctl_state *st, const rd_kafka_message_t *m,
    struct event *ev, enum decoded kind, int64_t *next)
{
	int32_t p = m->partition;

	if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
		if (p >= 0 && p < st->npart && m->offset > next[p])
			next[p] = m->offset;
		return 0;
	}
	if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		fprintf(stderr, CTL_NAME ": reading %s: %s\n", c->topic,
		    rd_kafka_message_errstr(m));
		return m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
		    m->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
		    m->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ? -1 : 0;
	}
	if (p >= 0 && p < st->npart && m->offset + 1 > next[p])
		next[p] = m->offset + 1;
	st->events++;
	if (kind == DECODED_BAD) {
		st->rejected++;		/* authd keeps the key's previous value: so do we */
	} else if (kind == DECODED_KEYSET) {
		keyset_put(st, ev->owner, m);
	} else if (kind == DECODED_GUARD) {
		;			/* it orders updates; authd serves nothing from it */
	} else if (!condition_holds(st, ev, m)) {
		free(ev->rrset);	/* an update that lost a race: authd refuses it too */
		ev->rrset = NULL;
	} else {
		state_put(st, ev, m);
	}
	return 0;
}

static void
show_progress(const struct ctl_state *st, int64_t total, double t0, bool final)
{
	double dt = clock_mono_sec() - t0;

	fprintf(stderr, "\r" CTL_NAME ": reading the topic: %zu/%" PRId64 " events (%.0f%%), "
	    "%.0f events/s%s", st->events, total, total > 0 ? 100.0 * (double)st->events /
	    (double)total : 100.0, dt > 0 ? (double)st->events / dt : 0.0, final ? "\n" : "");
}

/* Consumes until caught up; -1 after printing why. */
static int
read_to_end(const struct ctl *c, rd_kafka_t *rk, struct ctl_state *st, int64_t total)
{
	rd_kafka_queue_t *q = rd_kafka_queue_get_consumer(rk);
	struct decode_batch b;
	int64_t *next = xcalloc((size_t)st->npart, sizeof(*next));
	double t0 = clock_mono_sec(), last = t0, shown = t0;
	size_t nthreads = ctl_cpus();
	int ret = 0;

	memset(&b, 0, sizeof(b));
	b.msgs = xcalloc(BATCH_MAX, sizeof(*b.msgs));
	b.ev = xcalloc(BATCH_MAX, sizeof(*b.ev));
	b.kind = xcalloc(BATCH_MAX, sizeof(*b.kind));
	for (size_t t = 0; t < nthreads; t++)
		if ((b.dec[t] = event_decoder_new()) == NULL)
			fatalx("out of memory");
	memcpy(next, st->low, (size_t)st->npart * sizeof(*next));
	while (ret == 0 && !caught_up(c, rk, st, next)) {
		ssize_t n = rd_kafka_consume_batch_queue(q, POLL_MS, b.msgs, BATCH_MAX);

		b.n = n > 0 ? (size_t)n : 0;
		decode_all(&b, nthreads);
		for (size_t i = 0; i < b.n; i++) {
			if (ret == 0 && consume_one(c, st, b.msgs[i], &b.ev[i], b.kind[i],
			    next) != 0)
				ret = -1;
			else if (ret != 0 && b.kind[i] == DECODED_RRSET)
				free(b.ev[i].rrset);
			rd_kafka_message_destroy(b.msgs[i]);
		}
		if (n > 0)
			last = clock_mono_sec();
		else if (clock_mono_sec() - last > c->timeout_ms / 1000.0) {
			fprintf(stderr, CTL_NAME ": reading %s from %s: nothing received for "
			    "%.1f s (%zu of %" PRId64 " events read)\n", c->topic, c->brokers,
			    c->timeout_ms / 1000.0, st->events, total);
			ret = -1;
		}
		if (c->progress && clock_mono_sec() - shown >= 1.0) {
			shown = clock_mono_sec();
			show_progress(st, total, t0, false);
		}
	}
	if (c->progress && shown != t0)
		show_progress(st, total, t0, true);
	for (size_t t = 0; t < nthreads; t++)
		event_decoder_free(b.dec[t]);
	free(b.msgs);
	free(b.ev);
	free(b.kind);
	free(next);
	rd_kafka_queue_destroy(q);
	return ret;
}

struct ctl_state *
ctl_state_read(const struct ctl *c)
{
	struct ctl_state *st = xcalloc(1, sizeof(*st));
	rd_kafka_t *rk = ctl_kafka_new(c, RD_KAFKA_CONSUMER);
	int64_t total = 0;
	int ret = -1;

	st->index = ctl_index_new(0);
	if (rk == NULL || (st->npart = ctl_topic_partitions(c, rk)) < 0)
		goto out;
	st->low = xcalloc((size_t)st->npart, sizeof(*st->low));
	st->high = xcalloc((size_t)st->npart, sizeof(*st->high));
	if (ctl_watermarks(c, rk, st->npart, st->low, st->high) != 0)
		goto out;
	for (int32_t p = 0; p < st->npart; p++)
		total += st->high[p] - st->low[p];
	ret = 0;
	if (total > 0 && (ret = ctl_assign_all(c, rk, st->npart, st->low)) == 0)
		ret = read_to_end(c, rk, st, total);
out:
	if (rk != NULL) {
		rd_kafka_consumer_close(rk);
		ctl_kafka_free(rk);
	}
	if (ret != 0) {
		ctl_state_free(st);
		return NULL;
	}
	return st;
}
