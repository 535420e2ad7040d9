/* store.c: the RRset store: an RCU-published open-addressing hash table of names. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <urcu.h>

#include "authd/journal.h"
#include "authd/tombs.h"
#include "authd/signer.h"
#include "authd/store.h"
#include "common/dname.h"
#include "common/log.h"
#include "common/wire.h"

struct znode {
	uint64_t		 hash;		/* dname_hash of the name */
	struct rrset_vec	*sets;		/* RCU-published: the topic's RRsets */
	struct rrset_vec	*local;		/* RCU-published: [local] zone-file RRsets */
	struct zone_keys	*keys;		/* RCU-published: a zone apex's DNSSEC keys */
	uint64_t		 pos;		/* writer only: positions (see "Serials") */
	uint32_t		 children;	/* writer only: child nodes that exist */
	uint32_t		 base;		/* writer only: the SOA event's own serial */
	struct journal		*journal;	/* an apex's recent changes (IXFR), under mu */
	bool			 dirty;		/* writer only: on the serials' to-do list */
	uint8_t			 namelen;
	uint8_t			 name[];	/* lower case wire format */
};

/* What the writer replaced, freed after the next grace period, each by its function. */
struct garbage_item {
	void		 *p;
	void		(*free)(void *);
};

struct garbage {
	struct garbage_item *items;
	size_t		  count, cap;
};

/*
 * The table: linear probing over a power-of-two array of node pointers, never more than
 * half full (tombstones included), so a probe always ends at an empty slot. One writer
 * inserts (publishing a node with a release store) and deletes (a tombstone, so probe
 * chains stay intact); readers need no lock at all. Growing builds a new array and
 * publishes it whole; the old one is freed after a grace period, like any garbage.
 * Why not liburcu's cds_lfht: its split-ordered lists cost several cache misses per
 * lookup, and answering a query takes two or three lookups (1M names: -40 % qps).
 */
struct table {
	size_t			 mask;
	size_t			 used;		/* live nodes and tombstones */
	size_t			 live;
	_Atomic(struct znode *)	 slot[];
};

#define TABLE_MIN	4096

struct change {
	struct znode		*node;
	uint16_t		 type;
	uint32_t		 seq;
	const struct rrset	*prev, *rs;	/* alive until the commit's grace period */
};

struct store {
	struct table		*table;		/* RCU-published */
	struct garbage		 garbage;
	struct store_stats	 stats;
	bool			 derive;	/* [zones] serial = topic */
	/*
	 * Zone views (transfers): the writer holds mu from its first change of a batch to
	 * the end of store_commit's updates, so a view taken under mu sees one committed
	 * version. While views are open, what the writer replaces is kept (deferred)
	 * instead of freed, since a view still points at it.
	 */
	pthread_mutex_t		 mu;
	bool			 in_batch;	/* writer only: holds mu */
	atomic_uint		 views;
	struct garbage		 deferred;
	struct znode		**dirty;	/* apexes whose serial may have changed */
	size_t			 ndirty, capdirty;
	uint8_t			*changed;	/* apexes whose served serial changed */
	size_t			 changedlen, changedcap;
	/* IXFR journals (once on): the topic's RRset changes of the batch, in order. */
	bool			 journaling;
	struct change		*changes;
	size_t			 nchanges, capchanges;
	struct znode		**jzones;	/* zones whose journal the batch touched */
	struct tombs		*tombs;		/* writer only: deleted RRsets' versions */
	struct tombs		*guards;	/* update guards' versions, under guards_mu */
	pthread_mutex_t		 guards_mu;
	size_t			 njzones, capjzones;
};

static char tomb_marker;
#define TOMB ((struct znode *)(void *)&tomb_marker)

static struct rrset_vec empty_vec = { 0 };

static void
vec_free(void *p)
{
	struct rrset_vec *v = p;

	sign_cache_free(atomic_load_explicit(&v->sigs, memory_order_relaxed));
	free(v);
}

static void
keys_free(void *p)
{
	zone_keys_free(p);
}

static void
garbage_add_fn(struct garbage *g, void *p, void (*fn)(void *))
{
	if (p == NULL || p == &empty_vec)
		return;
	if (g->count == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 1024;
		g->items = realloc(g->items, g->cap * sizeof(*g->items));
		if (g->items == NULL)
			fatal("store garbage");
	}
	g->items[g->count++] = (struct garbage_item){ p, fn };
}

static void
garbage_free(struct garbage *g)
{
	for (size_t i = 0; i < g->count; i++)
		g->items[i].free(g->items[i].p);
	g->count = 0;
}

static void
garbage_add(struct garbage *g, void *p)
{
	garbage_add_fn(g, p, free);
}

/*
 * Positions, for serials. A node's positions are, for each partition that has had an
 * event at or below its name, 1 + the highest offset of such an event: entries
 * (partition << 48 | next offset). One entry is kept in the word itself, tagged by its
 * low bit (the common case: a name whose few RRsets hash to one partition); more go to
 * an array, which a malloc'd pointer (low bit clear) points to.
 */
#define POS_SHIFT	48
#define POS_OFFMASK	((UINT64_C(1) << POS_SHIFT) - 1)

struct posarr {
	uint32_t	n, cap;
	uint64_t	e[];
};

static void
pos_free(uint64_t pos)
{
	if (pos != 0 && (pos & 1) == 0)
		free((void *)(uintptr_t)pos);
}

static void
pruned_free(void *p)
{
	struct znode *n = p;

	pos_free(n->pos);
	journal_free(n->journal);
	free(n);
}

/* The node's entries: *one holds the inline one; returns how many. */
static uint32_t
pos_entries(uint64_t pos, const uint64_t **e, uint64_t *one)
{
	if (pos == 0)
		return 0;
	if (pos & 1) {
		*one = pos >> 1;
		*e = one;
		return 1;
	}
	*e = ((const struct posarr *)(uintptr_t)pos)->e;
	return ((const struct posarr *)(uintptr_t)pos)->n;
}

/* Raises the node's entry of partition part to next (positions only grow). */
static void
pos_raise(struct znode *n, uint32_t part, uint64_t next)
{
	uint64_t e = (uint64_t)part << POS_SHIFT | (next & POS_OFFMASK);
	struct posarr *a;

	if (n->pos == 0) {
		n->pos = e << 1 | 1;
		return;
	}
	if (n->pos & 1) {
		uint64_t one = n->pos >> 1;

		if (one >> POS_SHIFT == part) {
			if ((one & POS_OFFMASK) < next)
				n->pos = e << 1 | 1;
			return;
		}
		a = xmalloc(sizeof(*a) + 4 * sizeof(a->e[0]));
		a->n = 1;
		a->cap = 4;
		a->e[0] = one;
		n->pos = (uint64_t)(uintptr_t)a;
	}
	a = (struct posarr *)(uintptr_t)n->pos;
	for (uint32_t i = 0; i < a->n; i++) {
		if (a->e[i] >> POS_SHIFT == part) {
			if ((a->e[i] & POS_OFFMASK) < next)
				a->e[i] = e;
			return;
		}
	}
	if (a->n == a->cap) {
		a->cap *= 2;
		if ((a = realloc(a, sizeof(*a) + a->cap * sizeof(a->e[0]))) == NULL)
			fatal("store positions");
		n->pos = (uint64_t)(uintptr_t)a;
	}
	a->e[a->n++] = e;
}

static struct table *
table_new(size_t size)
{
	struct table *t = xcalloc(1, sizeof(*t) + size * sizeof(t->slot[0]));

	t->mask = size - 1;
	return t;
}

/* Writer: puts n in t (n is not in it): the first tombstone or empty slot of its chain. */
static void
table_put(struct table *t, struct znode *n)
{
	for (size_t i = n->hash & t->mask;; i = (i + 1) & t->mask) {
		struct znode *cur = atomic_load_explicit(&t->slot[i], memory_order_relaxed);

		if (cur == NULL || cur == TOMB) {
			if (cur == NULL)
				t->used++;
			t->live++;
			atomic_store_explicit(&t->slot[i], n, memory_order_release);
			return;
		}
	}
}

/* Writer: a new array sized for the live nodes, published whole; the old one is garbage. */
static void
table_grow(struct store *s)
{
	struct table *old = s->table, *t;
	size_t size = TABLE_MIN;

	while (size < 4 * (old->live + 1))
		size *= 2;
	t = table_new(size);
	for (size_t i = 0; i <= old->mask; i++) {
		struct znode *n = atomic_load_explicit(&old->slot[i], memory_order_relaxed);

		if (n != NULL && n != TOMB)
			table_put(t, n);
	}
	rcu_assign_pointer(s->table, t);
	garbage_add(&s->garbage, old);
}

static void
table_insert(struct store *s, struct znode *n)
{
	if (2 * (s->table->used + 1) > s->table->mask + 1)
		table_grow(s);
	table_put(s->table, n);
}

static void
table_delete(struct store *s, struct znode *n)
{
	struct table *t = s->table;

	for (size_t i = n->hash & t->mask;; i = (i + 1) & t->mask) {
		struct znode *cur = atomic_load_explicit(&t->slot[i], memory_order_relaxed);

		if (cur == NULL)
			return;
		if (cur == n) {
			atomic_store_explicit(&t->slot[i], TOMB, memory_order_release);
			t->live--;
			return;
		}
	}
}

/* Writer: every change goes through here first: the batch holds mu until its commit. */
static void
writer_enter(struct store *s)
{
	if (!s->in_batch) {
		pthread_mutex_lock(&s->mu);
		s->in_batch = true;
	}
}

struct store *
store_new(void)
{
	struct store *s = xcalloc(1, sizeof(*s));

	pthread_mutex_init(&s->mu, NULL);
	s->table = table_new(TABLE_MIN);
	s->tombs = tombs_new();
	s->guards = tombs_new();
	pthread_mutex_init(&s->guards_mu, NULL);
	return s;
}

struct tombs *
store_tombs(struct store *s)
{
	return s->tombs;
}

int64_t
store_guard_get(struct store *s, const uint8_t *name)
{
	int64_t v;

	pthread_mutex_lock(&s->guards_mu);
	v = tombs_peek(s->guards, name, 0);
	pthread_mutex_unlock(&s->guards_mu);
	return v;
}

struct tombs *
store_guards_lock(struct store *s)
{
	pthread_mutex_lock(&s->guards_mu);
	return s->guards;
}

void
store_guards_unlock(struct store *s)
{
	pthread_mutex_unlock(&s->guards_mu);
}

static void
node_free(struct znode *n)
{
	struct rrset_vec *vs[2] = { n->sets, n->local };

	for (int k = 0; k < 2; k++) {
		for (uint32_t i = 0; vs[k] != &empty_vec && i < vs[k]->count; i++)
			free(vs[k]->sets[i]);
		if (vs[k] != &empty_vec)
			vec_free(vs[k]);
	}
	zone_keys_free(n->keys);
	pos_free(n->pos);
	journal_free(n->journal);
	free(n);
}

void
store_free(struct store *s)
{
	if (s == NULL)
		return;
	store_commit(s);
	for (size_t i = 0; i <= s->table->mask; i++) {
		struct znode *n = atomic_load_explicit(&s->table->slot[i], memory_order_relaxed);

		if (n != NULL && n != TOMB)
			node_free(n);
	}
	free(s->table);
	garbage_free(&s->deferred);
	free(s->garbage.items);
	free(s->deferred.items);
	free(s->dirty);
	free(s->changed);
	free(s->changes);
	free(s->jzones);
	pthread_mutex_destroy(&s->mu);
	tombs_free(s->tombs);
	tombs_free(s->guards);
	pthread_mutex_destroy(&s->guards_mu);
	free(s);
}

const struct znode *
store_lookup(const struct store *s, const uint8_t *name, size_t len)
{
	const struct table *t = rcu_dereference(((struct store *)s)->table);
	uint64_t h = dname_hash(name, len);

	for (size_t i = h & t->mask;; i = (i + 1) & t->mask) {
		const struct znode *n = atomic_load_explicit(&((struct table *)t)->slot[i],
		    memory_order_acquire);

		if (n == NULL)
			return NULL;
		if (n != TOMB && n->hash == h && n->namelen == len &&
		    memcmp(n->name, name, len) == 0)
			return n;
	}
}

const struct rrset_vec *
znode_rrsets(const struct znode *n)
{
	return rcu_dereference(n->sets);
}

/* The types of v's sets, stored after them: types[i] is sets[i]->type. */
static uint16_t *
vec_types(const struct rrset_vec *v)
{
	return (uint16_t *)(void *)&((struct rrset_vec *)v)->sets[v->count];
}

const struct rrset *
rrset_vec_find(const struct rrset_vec *v, uint16_t type)
{
	const uint16_t *types = vec_types(v);

	for (uint32_t i = 0; i < v->count; i++)
		if (types[i] == type)
			return v->sets[i];
	return NULL;
}

const struct rrset *
znode_topic_find(const struct znode *n, uint16_t type)
{
	return n != NULL ? rrset_vec_find(rcu_dereference(n->sets), type) : NULL;
}

const struct rrset *
znode_find(const struct znode *n, uint16_t type)
{
	const struct rrset *rs = rrset_vec_find(rcu_dereference(n->local), type);

	return rs != NULL ? rs : rrset_vec_find(rcu_dereference(n->sets), type);
}

const struct rrset_vec *
znode_local(const struct znode *n)
{
	return rcu_dereference(n->local);
}

bool
znode_empty(const struct znode *n)
{
	return rcu_dereference(n->sets)->count == 0 && rcu_dereference(n->local)->count == 0;
}

const uint8_t *
znode_name(const struct znode *n)
{
	return n->name;
}

/* Writer: finds or creates the node of name and, recursively, of its ancestors. */
static struct znode *
node_get(struct store *s, const uint8_t *name)
{
	size_t len = dname_len(name);
	struct znode *n = (struct znode *)store_lookup(s, name, len);

	if (n != NULL)
		return n;
	n = xmalloc(sizeof(*n) + len);
	n->hash = dname_hash(name, len);
	n->sets = &empty_vec;
	n->local = &empty_vec;
	n->keys = NULL;
	n->pos = 0;
	n->children = 0;
	n->base = 0;
	n->journal = NULL;
	n->dirty = false;
	n->namelen = (uint8_t)len;
	memcpy(n->name, name, len);
	if (*name != 0)
		node_get(s, dname_parent(name))->children++;
	table_insert(s, n);
	s->stats.nodes++;
	return n;
}

/* Writer: removes n and then its ancestors while they own nothing and have no child. */
static void
node_prune(struct store *s, struct znode *n)
{
	while (n != NULL && n->sets->count == 0 && n->local->count == 0 && n->keys == NULL &&
	    n->children == 0) {
		const uint8_t *parent = dname_parent(n->name);

		table_delete(s, n);
		garbage_add_fn(&s->garbage, n, pruned_free);
		s->stats.nodes--;
		if (parent == NULL)
			return;
		n = (struct znode *)store_lookup(s, parent, dname_len(parent));
		if (n != NULL)
			n->children--;
	}
}

/* Writer: the node's vector with type replaced by rs (or removed when rs is NULL). */
static struct rrset_vec *
vec_with(const struct rrset_vec *old, uint16_t type, struct rrset *rs, struct rrset **prev)
{
	const uint16_t *otypes = vec_types(old);
	struct rrset_vec *v;
	uint16_t *types;
	uint32_t count = rs != NULL, j = 0;

	*prev = NULL;
	for (uint32_t i = 0; i < old->count; i++) {
		if (otypes[i] == type)
			*prev = old->sets[i];
		else
			count++;
	}
	if (count == 0)
		return &empty_vec;
	v = xmalloc(sizeof(*v) + count * (sizeof(v->sets[0]) + sizeof(uint16_t)));
	v->count = count;
	atomic_init(&v->sigs, NULL);
	types = vec_types(v);
	for (uint32_t i = 0; i < old->count; i++) {
		if (otypes[i] != type) {
			types[j] = otypes[i];
			v->sets[j++] = old->sets[i];
		}
	}
	if (rs != NULL) {
		types[j] = type;
		v->sets[j] = rs;
	}
	return v;
}

/* Writer: the counters of the topic layer, when an RRset of type goes from prev to rs. */
static void
count_change(struct store *s, uint32_t before, uint32_t after, const struct rrset *prev,
    const struct rrset *rs, uint16_t type)
{
	if (before == 0 && after > 0)
		s->stats.names++;
	if (before > 0 && after == 0)
		s->stats.names--;
	if (prev != NULL) {
		s->stats.rrsets--;
		s->stats.records -= prev->count;
		s->stats.zones -= type == DNS_TYPE_SOA;
	}
	if (rs != NULL) {
		s->stats.rrsets++;
		s->stats.records += rs->count;
		s->stats.zones += type == DNS_TYPE_SOA;
	}
}

/*
 * Serials ([zones] serial = topic). A zone's serial is its SOA event's own serial plus
 * the sum, over partitions, of 1 + the highest offset of an event at or below the apex
 * (mod 2^32). It depends only on which events were applied, not on the order partitions
 * interleaved in, so every instance at the same offsets serves the same serial; every
 * event in the zone raises it; compaction keeps it (a record it removes was superseded by
 * a later one of the same key, in the same partition, at a higher offset), and snapshots
 * keep the positions. docs/ARCHITECTURE.md "Serials" says what it does not cover.
 */
static void
mark_dirty(struct store *s, struct znode *n)
{
	if (n->dirty)
		return;
	if (s->ndirty == s->capdirty) {
		s->capdirty = s->capdirty ? 2 * s->capdirty : 64;
		if ((s->dirty = realloc(s->dirty, s->capdirty * sizeof(*s->dirty))) == NULL)
			fatal("store serials");
	}
	n->dirty = true;
	s->dirty[s->ndirty++] = n;
}

static uint32_t
zone_serial(const struct znode *n)
{
	const uint64_t *e;
	uint64_t one;
	uint32_t serial = n->base, k = pos_entries(n->pos, &e, &one);

	for (uint32_t i = 0; i < k; i++)
		serial += (uint32_t)(e[i] & POS_OFFMASK);
	return serial;
}

/*
 * Writer: an SOA event arrives at n: its serial becomes the base, and the RRset stored is
 * a copy with the zone's serial (completed by store_commit once the event's own position
 * counts), so that readers never see the base alone.
 */
static struct rrset *
soa_rebase(struct store *s, struct znode *n, struct rrset *rs)
{
	struct rrset *patched;

	n->base = rrset_soa_serial(rs);
	mark_dirty(s, n);
	if ((patched = rrset_soa_with_serial(rs, zone_serial(n))) == NULL)
		return rs;	/* not a well-formed SOA: stored as it came */
	free(rs);
	return patched;
}

void
store_derive_serials(struct store *s, bool on)
{
	s->derive = on;
}

void
store_note_event(struct store *s, const uint8_t *owner, uint32_t partition, int64_t offset)
{
	if (!s->derive || offset < 0)
		return;
	writer_enter(s);
	rcu_read_lock();
	for (const uint8_t *p = owner; p != NULL; p = dname_parent(p)) {
		struct znode *n = (struct znode *)store_lookup(s, p, dname_len(p));

		if (n == NULL)
			continue;
		pos_raise(n, partition, (uint64_t)offset + 1);
		if (rrset_vec_find(n->sets, DNS_TYPE_SOA) != NULL)
			mark_dirty(s, n);
	}
	rcu_read_unlock();
}

/* Writer: the served SOA of apex now has another serial (store_take_changed). */
static void
note_changed(struct store *s, const uint8_t *apex)
{
	size_t len = dname_len(apex);

	if (s->changedlen + len > s->changedcap) {
		s->changedcap = s->changedcap ? 2 * s->changedcap : 4096;
		if ((s->changed = realloc(s->changed, s->changedcap)) == NULL)
			fatal("store serials");
	}
	memcpy(s->changed + s->changedlen, apex, len);
	s->changedlen += len;
}

void
store_take_changed(struct store *s, void (*fn)(void *arg, const uint8_t *apex), void *arg)
{
	for (size_t off = 0; off < s->changedlen; off += dname_len(s->changed + off))
		if (fn != NULL)
			fn(arg, s->changed + off);
	s->changedlen = 0;
}

/* ---- IXFR journals ---- */

void
store_journal(struct store *s, bool on)
{
	s->journaling = on;
}

static void
note_change(struct store *s, struct znode *n, uint16_t type, const struct rrset *prev,
    const struct rrset *rs)
{
	if (s->nchanges == s->capchanges) {
		s->capchanges = s->capchanges ? 2 * s->capchanges : 1024;
		if ((s->changes = realloc(s->changes, s->capchanges * sizeof(*s->changes))) ==
		    NULL)
			fatal("store journal");
	}
	s->changes[s->nchanges] = (struct change){ n, type, (uint32_t)s->nchanges, prev, rs };
	s->nchanges++;
}

static int
change_cmp(const void *a, const void *b)
{
	const struct change *x = a, *y = b;

	if (x->node != y->node)
		return x->node < y->node ? -1 : 1;
	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void
jzone_add(struct store *s, struct znode *z)
{
	if (s->njzones == s->capjzones) {
		s->capjzones = s->capjzones ? 2 * s->capjzones : 64;
		if ((s->jzones = realloc(s->jzones, s->capjzones * sizeof(*s->jzones))) == NULL)
			fatal("store journal");
	}
	s->jzones[s->njzones++] = z;
}

static void
journal_garbage(void *arg, void *entry)
{
	garbage_add_fn(&((struct store *)arg)->garbage, entry, journal_entry_free);
}

static void
journal_garbage_whole(void *p)
{
	journal_free(p);
}

/*
 * Writer, before the serials: each RRset the batch changed (its first old value against
 * its last new one) goes to the journal of its zone, the deepest apex at or above it (the
 * parent's for a DS). A zone above that one cannot describe the change exactly (it may be
 * a delegation's NS or glue), so its journal starts over.
 */
static void
journal_collect(struct store *s)
{
	if (s->nchanges == 0)
		return;
	qsort(s->changes, s->nchanges, sizeof(*s->changes), change_cmp);
	for (size_t i = 0, k; i < s->nchanges; i = k + 1) {
		struct znode *n = s->changes[i].node, *zone = NULL;
		uint16_t type = s->changes[i].type;
		const uint8_t *p;

		for (k = i; k + 1 < s->nchanges && s->changes[k + 1].node == n &&
		    s->changes[k + 1].type == type; k++)
			;
		if (type == DNS_TYPE_SOA) {
			if (s->changes[k].rs == NULL && n->journal != NULL) {	/* zone gone */
				garbage_add_fn(&s->garbage, n->journal, journal_garbage_whole);
				n->journal = NULL;
			}
			continue;
		}
		p = type == DNS_TYPE_DS ? dname_parent(n->name) : n->name;
		for (; p != NULL; p = dname_parent(p)) {
			struct znode *a = (struct znode *)store_lookup(s, p, dname_len(p));
			const struct rrset *soa = a != NULL ? rrset_vec_find(a->sets, DNS_TYPE_SOA) : NULL;

			if (soa == NULL)
				continue;
			if (zone == NULL) {
				zone = a;
				if (a->journal == NULL)
					a->journal = journal_new(soa);
				journal_change(a->journal, n->name, s->changes[i].prev,
				    s->changes[k].rs);
			} else if (a->journal != NULL) {
				a->journal->broken = true;
			} else {
				continue;
			}
			jzone_add(s, a);
		}
	}
	s->nchanges = 0;
}

/* Writer, after the serials: each touched journal takes the step to the served SOA. */
static void
journal_finish(struct store *s)
{
	for (size_t i = 0; i < s->njzones; i++) {
		struct znode *z = s->jzones[i];
		const struct rrset *soa = rrset_vec_find(z->sets, DNS_TYPE_SOA);

		if (z->journal != NULL && soa != NULL)
			journal_commit(z->journal, soa, journal_garbage, s);
	}
	s->njzones = 0;
}

int
store_ixfr_open(struct store *s, const uint8_t *apex, uint32_t serial, struct store_ixfr *x)
{
	const struct znode *n;
	const struct journal_entry *e;
	int rc = 1;

	memset(x, 0, sizeof(*x));
	pthread_mutex_lock(&s->mu);
	rcu_read_lock();
	n = store_lookup(s, apex, dname_len(apex));
	if (n != NULL && n->journal != NULL && (e = journal_from(n->journal, serial)) != NULL &&
	    n->journal->last != NULL && rrset_soa_serial(n->journal->last->soa_to) ==
	    rrset_soa_serial(rrset_vec_find(rcu_dereference(n->sets), DNS_TYPE_SOA))) {
		x->store = s;
		x->first = e;
		x->last = n->journal->last;
		atomic_fetch_add(&s->views, 1);
		rc = 0;
	}
	rcu_read_unlock();
	pthread_mutex_unlock(&s->mu);
	return rc;
}

void
store_ixfr_close(struct store_ixfr *x)
{
	if (x->store == NULL)
		return;
	atomic_fetch_sub(&x->store->views, 1);
	x->store = NULL;
}

/* Writer: gives every apex noted since the last commit the serial its positions say. */
static void
update_serials(struct store *s)
{
	for (size_t i = 0; i < s->ndirty; i++) {
		struct znode *n = s->dirty[i];
		const struct rrset *soa = rrset_vec_find(n->sets, DNS_TYPE_SOA);
		struct rrset *patched, *prev;
		struct rrset_vec *v;

		n->dirty = false;
		if (soa == NULL || rrset_soa_serial(soa) == zone_serial(n) ||
		    (patched = rrset_soa_with_serial(soa, zone_serial(n))) == NULL)
			continue;
		v = vec_with(n->sets, DNS_TYPE_SOA, patched, &prev);
		garbage_add_fn(&s->garbage, n->sets, vec_free);
		garbage_add(&s->garbage, prev);
		rcu_assign_pointer(n->sets, v);
		note_changed(s, n->name);
	}
	s->ndirty = 0;
}

uint32_t
znode_positions(const struct znode *n, const uint64_t **e, uint64_t *one, uint32_t *base)
{
	*base = n->base;
	return pos_entries(n->pos, e, one);
}

void
store_set_positions(struct store *s, const uint8_t *name, uint32_t base, const uint64_t *e,
    uint32_t count)
{
	struct znode *n;

	writer_enter(s);
	rcu_read_lock();
	n = node_get(s, name);
	n->base = base;
	for (uint32_t i = 0; i < count; i++)
		pos_raise(n, (uint32_t)(e[i] >> POS_SHIFT), e[i] & POS_OFFMASK);
	if (rrset_vec_find(n->sets, DNS_TYPE_SOA) != NULL)
		mark_dirty(s, n);
	else
		node_prune(s, n);
	rcu_read_unlock();
}

/* Writer: sets (rs) or deletes (NULL) type in one layer of owner's node, topic or local. */
static void
apply_layer(struct store *s, const uint8_t *owner, uint16_t type, struct rrset *rs,
    bool local)
{
	struct znode *n;
	struct rrset_vec **layer, *v;
	struct rrset *prev;

	writer_enter(s);
	rcu_read_lock();
	n = rs != NULL ? node_get(s, owner) :
	    (struct znode *)store_lookup(s, owner, dname_len(owner));
	layer = n == NULL ? NULL : local ? &n->local : &n->sets;
	if (layer == NULL || (rs == NULL && rrset_vec_find(*layer, type) == NULL)) {
		rcu_read_unlock();
		return;		/* deleting what is not there */
	}
	if (!local && type == DNS_TYPE_SOA && rs != NULL && s->derive)
		rs = soa_rebase(s, n, rs);
	else if (!local && type == DNS_TYPE_SOA && rs != NULL &&
	    rrset_soa_serial(rs) != rrset_soa_serial(rrset_vec_find(*layer, DNS_TYPE_SOA)))
		note_changed(s, owner);
	v = vec_with(*layer, type, rs, &prev);
	if (!local)
		count_change(s, (*layer)->count, v->count, prev, rs, type);
	if (!local && s->journaling)
		note_change(s, n, type, prev, rs);
	garbage_add_fn(&s->garbage, *layer, vec_free);
	garbage_add(&s->garbage, prev);
	rcu_assign_pointer(*layer, v);
	if (v->count == 0)
		node_prune(s, n);
	rcu_read_unlock();
}

void
store_apply_local(struct store *s, const uint8_t *owner, uint16_t type, struct rrset *rs)
{
	apply_layer(s, owner, type, rs, true);
}

void
store_apply(struct store *s, const uint8_t *owner, uint16_t type, struct rrset *rs)
{
	apply_layer(s, owner, type, rs, false);
}

void
store_apply_keys(struct store *s, const uint8_t *apex, struct zone_keys *zk)
{
	struct znode *n;

	writer_enter(s);
	rcu_read_lock();
	n = zk != NULL ? node_get(s, apex) :
	    (struct znode *)store_lookup(s, apex, dname_len(apex));
	if (n != NULL) {
		garbage_add_fn(&s->garbage, n->keys, keys_free);
		rcu_assign_pointer(n->keys, zk);
		if (zk == NULL)
			node_prune(s, n);
	}
	rcu_read_unlock();
}

const struct zone_keys *
znode_keys(const struct znode *n)
{
	return rcu_dereference(n->keys);
}

const struct rrset_vec *
znode_vec_of(const struct znode *n, const struct rrset *rs)
{
	const struct rrset_vec *v = rcu_dereference(n->local);

	for (uint32_t i = 0; i < v->count; i++)
		if (v->sets[i] == rs)
			return v;
	return rcu_dereference(n->sets);
}

void
store_clear(struct store *s)
{
	struct table *old = s->table;

	writer_enter(s);
	for (size_t j = 0; j <= old->mask; j++) {
		struct znode *n = atomic_load_explicit(&old->slot[j], memory_order_relaxed);
		struct rrset_vec *vs[2];

		if (n == NULL || n == TOMB)
			continue;
		vs[0] = n->sets;
		vs[1] = n->local;
		for (int k = 0; k < 2; k++) {
			for (uint32_t i = 0; i < vs[k]->count; i++)
				garbage_add(&s->garbage, vs[k]->sets[i]);
			garbage_add_fn(&s->garbage, vs[k], vec_free);
		}
		garbage_add_fn(&s->garbage, n->keys, keys_free);
		garbage_add_fn(&s->garbage, n, pruned_free);
	}
	rcu_assign_pointer(s->table, table_new(TABLE_MIN));
	garbage_add(&s->garbage, old);
	tombs_free(s->tombs);
	s->tombs = tombs_new();
	pthread_mutex_lock(&s->guards_mu);
	tombs_free(s->guards);
	s->guards = tombs_new();
	pthread_mutex_unlock(&s->guards_mu);
	memset(&s->stats, 0, sizeof(s->stats));
	s->ndirty = 0;		/* every node on the list is garbage now */
	s->nchanges = 0;
	store_commit(s);
}

void
store_commit(struct store *s)
{
	journal_collect(s);
	update_serials(s);
	journal_finish(s);
	if (s->in_batch) {
		s->in_batch = false;
		pthread_mutex_unlock(&s->mu);
	}
	if (s->garbage.count == 0 && (s->deferred.count == 0 || atomic_load(&s->views) > 0))
		return;
	synchronize_rcu();
	/*
	 * A view opened after this batch's changes (under mu, so after them) does not point
	 * at what they replaced; one opened before does, and holds views above 0 here.
	 */
	if (atomic_load(&s->views) > 0) {
		for (size_t i = 0; i < s->garbage.count; i++)
			garbage_add_fn(&s->deferred, s->garbage.items[i].p,
			    s->garbage.items[i].free);
		s->garbage.count = 0;
		return;
	}
	garbage_free(&s->garbage);
	garbage_free(&s->deferred);
}

/*
 * Zone views. The nodes of the zone at apex: every node at or below it that no deeper
 * SOA claims, and of a child zone's apex its NS and DS (the delegation) with the A/AAAA
 * of its name servers below it (glue). Built under mu, so from one committed version.
 */
static bool
below(const uint8_t *name, size_t len, const uint8_t *apex, size_t alen)
{
	const uint8_t *p = name;

	if (len < alen || memcmp(name + len - alen, apex, alen) != 0)
		return false;
	while ((size_t)(p - name) < len - alen)	/* the suffix must start at a label */
		p += 1 + *p;
	return (size_t)(p - name) == len - alen;
}

static int
view_add(struct store_view *v, const struct znode *n, const struct rrset_vec *vec,
    uint8_t only)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? 2 * v->cap : 256;
		struct store_view_node *p = realloc(v->nodes, cap * sizeof(*p));

		if (p == NULL)
			return -1;
		v->nodes = p;
		v->cap = cap;
	}
	v->nodes[v->n++] = (struct store_view_node){ n, vec, only };
	return 0;
}

/* The highest child apex (of cuts[]) that name is at or below, or NULL. */
static const struct znode *
under_cut(const struct znode **cuts, size_t ncuts, const uint8_t *name, size_t len)
{
	const struct znode *top = NULL;

	for (size_t i = 0; i < ncuts; i++)
		if (below(name, len, cuts[i]->name, cuts[i]->namelen) &&
		    (top == NULL || cuts[i]->namelen < top->namelen))
			top = cuts[i];
	return top;
}

/* An NS RRset's RDATA names a server called name (wire, lower case). */
static bool
ns_names(const struct rrset *ns, const uint8_t *name, size_t len)
{
	struct rdata_ref rd;

	for (const uint8_t *it = rrset_first(ns, &rd); it; it = rrset_next(ns, it, &rd))
		if (rd.len == len && dname_equal(rd.data, name))
			return true;
	return false;
}

int
store_view_open(struct store *s, const uint8_t *apex, struct store_view *v)
{
	const struct table *t;
	const struct znode **cuts = NULL, *top;
	const struct rrset_vec **cutvec = NULL;
	size_t ncuts = 0, capcuts = 0, alen = dname_len(apex), kept = 0;
	int rc = -1;

	memset(v, 0, sizeof(*v));
	v->store = s;
	/*
	 * One pass under mu, copying pointers only: the writer waits for it between two
	 * batches (no RCU read lock is needed, since nothing reachable from the table is
	 * freed while mu is held, so the writer's grace periods do not wait for it either).
	 * Sorting out child zones and glue happens after.
	 */
	pthread_mutex_lock(&s->mu);
	t = s->table;
	top = store_lookup(s, apex, alen);
	if (top == NULL || (v->soa = rrset_vec_find(top->sets, DNS_TYPE_SOA)) == NULL) {
		rc = 1;
		goto out;
	}
	for (size_t i = 0; i <= t->mask; i++) {
		const struct znode *n = atomic_load_explicit(&((struct table *)t)->slot[i],
		    memory_order_relaxed);

		if (n == NULL || n == TOMB || n->sets->count == 0 ||
		    !below(n->name, n->namelen, apex, alen))
			continue;
		if (view_add(v, n, n->sets, 0) != 0)
			goto out;
		if (n == top || rrset_vec_find(n->sets, DNS_TYPE_SOA) == NULL)
			continue;
		if (ncuts == capcuts) {
			capcuts = capcuts ? 2 * capcuts : 16;
			if ((cuts = realloc(cuts, capcuts * sizeof(*cuts))) == NULL ||
			    (cutvec = realloc(cutvec, capcuts * sizeof(*cutvec))) == NULL)
				goto out;
		}
		cutvec[ncuts] = n->sets;
		cuts[ncuts++] = n;
	}
	atomic_fetch_add(&s->views, 1);
	rc = 0;
out:
	pthread_mutex_unlock(&s->mu);
	/* Below a child zone's apex: its NS and DS there, and its glue; nothing else. */
	for (size_t i = 0; rc == 0 && i < v->n; i++) {
		struct store_view_node vn = v->nodes[i];
		const struct znode *cut = ncuts > 0 ? under_cut(cuts, ncuts, vn.node->name,
		    vn.node->namelen) : NULL;
		const struct rrset *ns;
		size_t c;

		if (cut == vn.node) {
			vn.only = STORE_VIEW_DELEGATION;
		} else if (cut != NULL) {
			for (c = 0; cuts[c] != cut; c++)
				;
			if ((ns = rrset_vec_find(cutvec[c], DNS_TYPE_NS)) == NULL ||
			    !ns_names(ns, vn.node->name, vn.node->namelen))
				continue;
			vn.only = STORE_VIEW_GLUE;
		} else {
			v->rrs += vn.vec->count;
		}
		v->nodes[kept++] = vn;
	}
	if (rc == 0)
		v->n = kept;
	free(cuts);
	free(cutvec);
	if (rc != 0) {
		free(v->nodes);
		v->nodes = NULL;
		v->n = 0;
	}
	return rc;
}

int
store_view_all(struct store *s, struct store_view *v)
{
	const struct table *t;
	int rc = 0;

	memset(v, 0, sizeof(*v));
	v->store = s;
	pthread_mutex_lock(&s->mu);	/* as store_view_open: one pass, pointers only */
	t = s->table;
	for (size_t i = 0; i <= t->mask && rc == 0; i++) {
		const struct znode *n = atomic_load_explicit(&((struct table *)t)->slot[i],
		    memory_order_relaxed);

		if (n == NULL || n == TOMB || n->sets->count == 0)
			continue;
		rc = view_add(v, n, n->sets, 0);
		v->rrs += n->sets->count;
	}
	if (rc == 0)
		atomic_fetch_add(&s->views, 1);
	pthread_mutex_unlock(&s->mu);
	if (rc != 0) {
		free(v->nodes);
		memset(v, 0, sizeof(*v));
	}
	return rc;
}

void
store_view_close(struct store_view *v)
{
	if (v->store == NULL)
		return;
	free(v->nodes);
	atomic_fetch_sub(&v->store->views, 1);
	v->store = NULL;
}

void
store_get_stats(const struct store *s, struct store_stats *st)
{
	*st = s->stats;
}

int
store_walk(const struct store *s, int (*fn)(const struct znode *n, void *arg), void *arg)
{
	const struct table *t = rcu_dereference(((struct store *)s)->table);
	int rc;

	for (size_t i = 0; i <= t->mask; i++) {
		const struct znode *n = atomic_load_explicit(&((struct table *)t)->slot[i],
		    memory_order_acquire);

		if (n != NULL && n != TOMB && (rc = fn(n, arg)) != 0)
			return rc;
	}
	return 0;
}
