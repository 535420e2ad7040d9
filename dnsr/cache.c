/* cache.c: the resolver cache: hash tables of refcounted entries in shards, LRU eviction. */
#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dnsr/cache.h"
#include "common/clock.h"
#include "common/dname.h"

#define CACHE_MAX_SHARDS	32
#define SHARD_MIN_BYTES		(512 * 1024)	/* below this a cache has fewer shards */
#define SHARD_INIT_BUCKETS	64
#define MALLOC_OVERHEAD		16		/* per allocation, for the memory bound */

struct shard {
	pthread_mutex_t		 lock;
	struct cache_entry	**buckets;
	size_t			 nbuckets;	/* a power of two */
	size_t			 count;
	size_t			 bytes;
	size_t			 budget;
	struct cache_entry	*head, *tail;	/* LRU: head is the most recently used */
	unsigned long		 hits, misses, inserts, evictions;
} __attribute__((aligned(64)));	/* one cache line each: shards are locked in parallel */

struct cache {
	struct cache_limits	 lim;
	size_t			 nshards;	/* a power of two */
	unsigned		 shard_shift;
	struct shard		 shards[];
};

uint32_t
cache_clock(void)
{
	return clock_mono_coarse_sec();
}

static uint64_t
key_hash(const uint8_t *name, size_t len, uint16_t type)
{
	uint64_t h = dname_hash(name, len) ^ ((uint64_t)type * 0x9e3779b97f4a7c15ULL);

	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	return h ^ (h >> 32);
}

static size_t
shard_count(size_t max_bytes)
{
	size_t n = 1;

	while (n < CACHE_MAX_SHARDS && max_bytes / (n * 2) >= SHARD_MIN_BYTES)
		n *= 2;
	return n;
}

struct cache *
cache_new(size_t max_bytes, const struct cache_limits *lim)
{
	size_t n = shard_count(max_bytes);
	struct cache *c = calloc(1, sizeof(*c) + n * sizeof(struct shard));

	if (c == NULL)
		return NULL;
	c->lim = *lim;
	c->nshards = n;
	c->shard_shift = 64;
	for (size_t k = n; k > 1; k /= 2)
		c->shard_shift--;
	for (size_t i = 0; i < n; i++) {
		struct shard *s = &c->shards[i];

		pthread_mutex_init(&s->lock, NULL);
		s->budget = max_bytes / n;
		s->nbuckets = SHARD_INIT_BUCKETS;
		s->buckets = calloc(s->nbuckets, sizeof(*s->buckets));
		if (s->buckets == NULL) {
			c->nshards = i + 1;
			cache_free(c);
			return NULL;
		}
	}
	return c;
}

static void
entry_free(struct cache_entry *e)
{
	for (size_t i = 0; i < e->nproof; i++) {
		free(e->proof[i]->rs);
		free(e->proof[i]->sigs);
		free(e->proof[i]);
	}
	if (e->aux_free != NULL)
		e->aux_free(e->aux);
	free(e->sigs);
	free(e->rrset);
	free(e);
}

static size_t
rrset_mem(const struct rrset *rs)
{
	return rs != NULL ? sizeof(*rs) + rs->datalen + MALLOC_OVERHEAD : 0;
}

void
cache_entry_set_sigs(struct cache_entry *e, struct rrset *sigs)
{
	e->mem -= rrset_mem(e->sigs);
	free(e->sigs);
	e->sigs = sigs;
	e->mem += rrset_mem(sigs);
}

void
cache_entry_set_aux(struct cache_entry *e, void *aux, void (*free_fn)(void *), size_t mem)
{
	assert(!e->linked && e->aux == NULL);
	e->aux = aux;
	e->aux_free = free_fn;
	e->mem += mem;
}

int
cache_entry_add_proof(struct cache_entry *e, const uint8_t *owner, struct rrset *rs,
    struct rrset *sigs)
{
	size_t olen = dname_len(owner);
	struct cache_proof *p;

	if (e->nproof == CACHE_MAX_PROOFS || (p = malloc(sizeof(*p) + olen)) == NULL) {
		free(rs);
		free(sigs);
		return -1;
	}
	memcpy(p->owner, owner, olen);
	dname_lower(p->owner);
	p->rs = rs;
	p->sigs = sigs;
	e->proof[e->nproof++] = p;
	e->mem += sizeof(*p) + olen + MALLOC_OVERHEAD + rrset_mem(rs) + rrset_mem(sigs);
	return 0;
}

void
cache_entry_ref(struct cache_entry *e)
{
	atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
}

void
cache_entry_unref(struct cache_entry *e)
{
	if (e != NULL && atomic_fetch_sub_explicit(&e->refs, 1, memory_order_acq_rel) == 1)
		entry_free(e);
}

void
cache_free(struct cache *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->nshards; i++) {
		struct shard *s = &c->shards[i];

		for (struct cache_entry *e = s->head, *next; e != NULL; e = next) {
			next = e->next;
			cache_entry_unref(e);
		}
		free(s->buckets);
		pthread_mutex_destroy(&s->lock);
	}
	free(c);
}

uint32_t
cache_expiry(const struct cache *c, uint32_t ttl, bool negative, uint32_t now)
{
	if (negative) {
		if (ttl > c->lim.max_negative_ttl)
			ttl = c->lim.max_negative_ttl;
	} else {
		if (ttl < c->lim.min_ttl)
			ttl = c->lim.min_ttl;
		if (ttl > c->lim.max_ttl)
			ttl = c->lim.max_ttl;
	}
	return UINT32_MAX - now < ttl ? UINT32_MAX : now + ttl;
}

/* One allocation for the entry and its names; the RRset (if any) is its own allocation. */
static struct cache_entry *
entry_new(const uint8_t *owner, const uint8_t *soa_owner, struct rrset *rs)
{
	size_t olen = dname_len(owner), slen = soa_owner != NULL ? dname_len(soa_owner) : 0;
	struct cache_entry *e = calloc(1, sizeof(*e) + olen + slen);
	uint8_t *names;

	if (e == NULL) {
		free(rs);
		return NULL;
	}
	names = (uint8_t *)(e + 1);
	memcpy(names, owner, olen);
	dname_lower(names);
	e->owner = names;
	e->owner_len = (uint8_t)olen;
	if (soa_owner != NULL) {
		memcpy(names + olen, soa_owner, slen);
		e->soa_owner = names + olen;
	}
	e->rrset = rs;
	e->ede = -1;
	e->mem = sizeof(*e) + olen + slen + MALLOC_OVERHEAD + rrset_mem(rs);
	atomic_init(&e->refs, 1);
	return e;
}

struct cache_entry *
cache_entry_positive(const uint8_t *owner, struct rrset *rs, uint8_t rank, uint8_t flags,
    uint32_t expire)
{
	struct cache_entry *e = entry_new(owner, NULL, rs);

	if (e == NULL)
		return NULL;
	e->kind = CACHE_POSITIVE;
	e->rank = rank;
	e->flags = flags;
	e->type = rs->type;
	e->expire = expire;
	return e;
}

struct cache_entry *
cache_entry_negative(const uint8_t *name, uint16_t type, const uint8_t *soa_owner,
    struct rrset *soa, uint32_t expire, uint32_t now)
{
	struct cache_entry *e;

	assert((soa == NULL) == (soa_owner == NULL));
	assert(soa != NULL || type != CACHE_TYPE_NXDOMAIN);
	if ((e = entry_new(name, soa_owner, soa)) == NULL)
		return NULL;
	e->kind = type == CACHE_TYPE_NXDOMAIN ? CACHE_NXDOMAIN : CACHE_NODATA;
	e->rank = CACHE_RANK_ANSWER;
	e->type = type;
	e->expire = expire;
	if (soa != NULL)
		e->soa_expire = UINT32_MAX - now < soa->ttl ? UINT32_MAX : now + soa->ttl;
	return e;
}

static struct shard *
shard_of(struct cache *c, uint64_t hash)
{
	return &c->shards[c->nshards == 1 ? 0 : hash >> c->shard_shift];
}

/* The slot pointing at the entry for the key (or at the NULL ending its chain). */
static struct cache_entry **
find_slot(struct shard *s, uint64_t hash, const uint8_t *name, size_t len, uint16_t type)
{
	struct cache_entry **pp = &s->buckets[hash & (s->nbuckets - 1)];

	for (; *pp != NULL; pp = &(*pp)->hnext) {
		struct cache_entry *e = *pp;

		if (e->hash == hash && e->type == type && e->owner_len == len &&
		    memcmp(e->owner, name, len) == 0)
			break;
	}
	return pp;
}

static void
lru_unlink(struct shard *s, struct cache_entry *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		s->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		s->tail = e->prev;
	e->prev = e->next = NULL;
}

static void
lru_push_front(struct shard *s, struct cache_entry *e)
{
	e->prev = NULL;
	e->next = s->head;
	if (s->head != NULL)
		s->head->prev = e;
	s->head = e;
	if (s->tail == NULL)
		s->tail = e;
}

/* Removes the entry at *pp from the shard and drops the shard's reference. */
static void
remove_at(struct shard *s, struct cache_entry **pp)
{
	struct cache_entry *e = *pp;

	*pp = e->hnext;
	e->hnext = NULL;
	lru_unlink(s, e);
	e->linked = false;
	s->count--;
	s->bytes -= e->mem;
	cache_entry_unref(e);
}

static void
remove_entry(struct shard *s, struct cache_entry *e)
{
	remove_at(s, find_slot(s, e->hash, e->owner, e->owner_len, e->type));
}

/* Doubles the bucket array when chains get long; on OOM the table just stays as it is. */
static void
maybe_grow(struct shard *s)
{
	size_t n = s->nbuckets * 2;
	struct cache_entry **b;

	if (s->count <= s->nbuckets)
		return;
	if ((b = calloc(n, sizeof(*b))) == NULL)
		return;
	for (size_t i = 0; i < s->nbuckets; i++) {
		for (struct cache_entry *e = s->buckets[i], *next; e != NULL; e = next) {
			next = e->hnext;
			e->hnext = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	}
	free(s->buckets);
	s->buckets = b;
	s->nbuckets = n;
}

/* Least recently used first, never the entry just stored. */
static void
evict(struct shard *s, const struct cache_entry *keep)
{
	while (s->bytes > s->budget && s->tail != NULL && s->tail != keep) {
		remove_entry(s, s->tail);
		s->evictions++;
	}
}

bool
cache_insert(struct cache *c, struct cache_entry *e, uint32_t now)
{
	struct shard *s;
	struct cache_entry **pp;

	if (e->expire <= now || e->linked)
		return false;
	e->hash = key_hash(e->owner, e->owner_len, e->type);
	s = shard_of(c, e->hash);
	if (e->mem > s->budget)
		return false;
	pthread_mutex_lock(&s->lock);
	pp = find_slot(s, e->hash, e->owner, e->owner_len, e->type);
	if (*pp != NULL) {
		if ((*pp)->expire > now && (*pp)->rank > e->rank) {
			pthread_mutex_unlock(&s->lock);
			return false;
		}
		remove_at(s, pp);
	}
	cache_entry_ref(e);
	e->linked = true;
	e->hnext = s->buckets[e->hash & (s->nbuckets - 1)];
	s->buckets[e->hash & (s->nbuckets - 1)] = e;
	lru_push_front(s, e);
	s->count++;
	s->bytes += e->mem;
	s->inserts++;
	maybe_grow(s);
	evict(s, e);
	pthread_mutex_unlock(&s->lock);
	return true;
}

struct cache_entry *
cache_lookup(struct cache *c, const uint8_t *name, uint16_t type, uint8_t minrank,
    uint32_t now)
{
	size_t len = dname_len(name);
	uint64_t hash = key_hash(name, len, type);
	struct shard *s = shard_of(c, hash);
	struct cache_entry **pp, *e;

	pthread_mutex_lock(&s->lock);
	pp = find_slot(s, hash, name, len, type);
	e = *pp;
	if (e != NULL && e->expire <= now) {
		remove_at(s, pp);	/* expired: make room now rather than at eviction */
		e = NULL;
	}
	if (e == NULL || e->rank < minrank) {
		s->misses++;
		pthread_mutex_unlock(&s->lock);
		return NULL;
	}
	if (s->head != e) {
		lru_unlink(s, e);
		lru_push_front(s, e);
	}
	cache_entry_ref(e);
	s->hits++;
	pthread_mutex_unlock(&s->lock);
	return e;
}

void
cache_get_stats(struct cache *c, struct cache_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (size_t i = 0; i < c->nshards; i++) {
		struct shard *s = &c->shards[i];

		pthread_mutex_lock(&s->lock);
		st->entries += s->count;
		st->bytes += s->bytes;
		st->hits += s->hits;
		st->misses += s->misses;
		st->inserts += s->inserts;
		st->evictions += s->evictions;
		pthread_mutex_unlock(&s->lock);
	}
}
