/* cache.h: dnsr's cache of RRsets and negative answers: sharded, LRU, bounded by memory. */
#ifndef STREAMDNS_CACHE_H
#define STREAMDNS_CACHE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/rrset.h"

enum cache_kind {
	CACHE_POSITIVE,		/* an RRset */
	CACHE_NODATA,		/* the name exists, the type does not (RFC 2308 2.2) */
	CACHE_NXDOMAIN,		/* the name does not exist (RFC 2308 2.1) */
};

/*
 * How much an entry is trusted (RFC 2181 5.4.1, simplified). Data of a lower rank never
 * replaces unexpired data of a higher one, and only CACHE_RANK_ANSWER is given to clients:
 * glue and referral NS sets only tell the resolver where to ask.
 */
enum cache_rank {
	CACHE_RANK_GLUE = 1,		/* A/AAAA from a referral's additional section */
	CACHE_RANK_REFERRAL = 2,	/* NS from a referral's authority section */
	CACHE_RANK_ANSWER = 3,		/* authoritative answers (or a forwarder's) */
};

#define CACHE_TYPE_NXDOMAIN	0	/* the type a name's NXDOMAIN entry is kept under */
#define CACHE_FLAG_SYNTH	0x01	/* a CNAME synthesized from a DNAME (RFC 6672 3.3) */

#define CACHE_MAX_PROOFS	8	/* NSEC/NSEC3 RRsets kept with one answer */

/* An NSEC or NSEC3 RRset (with its RRSIGs) kept with the answer it proves. */
struct cache_proof {
	struct rrset	*rs;
	struct rrset	*sigs;		/* NULL when unsigned */
	uint8_t		 owner[];	/* lower case */
};

/*
 * One cached answer. Immutable once inserted (the DNSSEC fields are filled in before), shared by reference count: a lookup hands
 * out a reference that stays valid after the entry is evicted or replaced. The fields
 * after `mem` belong to the cache.
 */
struct cache_entry {
	uint8_t			 kind;		/* enum cache_kind */
	uint8_t			 rank;		/* enum cache_rank */
	uint8_t			 flags;
	uint16_t		 type;		/* the key's type (CACHE_TYPE_NXDOMAIN) */
	uint32_t		 expire;	/* cache_clock() second it stops being valid */
	struct rrset		*rrset;		/* positive: the data; negative: the SOA or NULL */
	uint32_t		 soa_expire;	/* negative: when the SOA's own TTL runs out */
	const uint8_t		*owner;		/* lower case, the key's name */
	const uint8_t		*soa_owner;	/* negative: the SOA's owner; else NULL */
	size_t			 mem;		/* octets charged against max-size */
	/* DNSSEC: what the validator made of it, and what a DO client is sent with it. */
	uint8_t			 sec;		/* enum sec (dnsr/validate.h) */
	int8_t			 ede;		/* bogus: the Extended DNS Error, else -1 */
	const char		*why;		/* bogus: static text, or NULL */
	struct rrset		*sigs;		/* RRSIGs of the RRset (negative: of the SOA) */
	uint8_t			 nproof;
	struct cache_proof	*proof[CACHE_MAX_PROOFS];	/* denials, wildcard proofs */
	void			*aux;		/* see cache_entry_set_aux */
	void			(*aux_free)(void *);
	/* private */
	atomic_uint		 refs;
	uint64_t		 hash;
	uint8_t			 owner_len;
	struct cache_entry	*hnext;
	struct cache_entry	*prev, *next;	/* LRU, most recent first */
	bool			 linked;
};

struct cache_limits {
	uint32_t	min_ttl;
	uint32_t	max_ttl;
	uint32_t	max_negative_ttl;
};

struct cache_stats {
	size_t		entries;
	size_t		bytes;
	unsigned long	hits;
	unsigned long	misses;
	unsigned long	inserts;
	unsigned long	evictions;
};

struct cache;

/* The cache clock: whole seconds of CLOCK_MONOTONIC (TTLs count down with it). */
uint32_t cache_clock(void);

/*
 * A cache of at most max_bytes. Small caches use one shard (exact LRU); large ones spread
 * the keys over shards with a lock each so that worker threads rarely wait for one another
 * (LRU is then per shard). Returns NULL on OOM.
 */
struct cache *cache_new(size_t max_bytes, const struct cache_limits *lim);
void cache_free(struct cache *c);

/* The absolute expiry of data with this TTL received at now, after the clamps. */
uint32_t cache_expiry(const struct cache *c, uint32_t ttl, bool negative, uint32_t now);

/*
 * New entries, with one reference owned by the caller. They take ownership of rs (and
 * soa); owner names are copied and lower-cased. NULL on OOM (rs/soa are freed then).
 * A negative entry lives until expire (the clamped negative TTL), while its SOA keeps the
 * TTL it was received with at now: clients see that TTL count down, not the clamp.
 * soa and soa_owner are NULL together, for a NODATA that came without an SOA.
 */
struct cache_entry *cache_entry_positive(const uint8_t *owner, struct rrset *rs,
    uint8_t rank, uint8_t flags, uint32_t expire);
struct cache_entry *cache_entry_negative(const uint8_t *name, uint16_t type,
    const uint8_t *soa_owner, struct rrset *soa, uint32_t expire, uint32_t now);
/*
 * Attaching DNSSEC material to an entry not yet inserted (it takes ownership of sigs,
 * rs). cache_entry_add_proof returns -1 (and frees rs/sigs) when full or out of memory.
 */
void cache_entry_set_sigs(struct cache_entry *e, struct rrset *sigs);
int cache_entry_add_proof(struct cache_entry *e, const uint8_t *owner, struct rrset *rs,
    struct rrset *sigs);
/*
 * Attaches data derived from e's RRset (the key cache: its DNSKEYs built for the crypto
 * library) to an entry not yet inserted, charging mem octets. It takes ownership of aux:
 * free_fn frees it with the entry, once the last reference is gone, so whoever holds a
 * reference may read aux (read-only: the entry is shared between threads).
 */
void cache_entry_set_aux(struct cache_entry *e, void *aux, void (*free_fn)(void *),
    size_t mem);
void cache_entry_ref(struct cache_entry *e);
void cache_entry_unref(struct cache_entry *e);	/* NULL is fine */

/*
 * Stores e under (e->owner, e->type), taking a reference of its own, unless an unexpired
 * entry of a higher rank holds the key. Entries that expire at or before now are not
 * stored. Evicts least recently used entries to stay within max-size. True when stored.
 */
bool cache_insert(struct cache *c, struct cache_entry *e, uint32_t now);

/*
 * The entry for (name, type) of rank >= minrank that has not expired at now, as a new
 * reference (release with cache_entry_unref), or NULL. name must be lower case.
 */
struct cache_entry *cache_lookup(struct cache *c, const uint8_t *name, uint16_t type,
    uint8_t minrank, uint32_t now);

/* Seconds of validity left at now (0 once expired). */
static inline uint32_t
cache_ttl_left(const struct cache_entry *e, uint32_t now)
{
	return e->expire > now ? e->expire - now : 0;
}

/* Seconds left of a negative entry's SOA TTL at now (0 once run out). */
static inline uint32_t
cache_soa_ttl_left(const struct cache_entry *e, uint32_t now)
{
	return e->soa_expire > now ? e->soa_expire - now : 0;
}

void cache_get_stats(struct cache *c, struct cache_stats *st);

#endif
