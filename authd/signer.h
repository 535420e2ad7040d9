/*
 * signer.h: online DNSSEC signing of authd's answers (issue 15).
 *
 * A zone is signed while its key set (common/keyset.h, the event "<zone>|DNSSEC") has a
 * key published now. Every instance derives the same keys, the same key states and, for
 * Ed25519, the same signatures from the event and the clock alone: inception and
 * expiration are quantised (SIGN_QUANTUM), so two instances sign an RRset identically
 * and a signature can be cached until the next quantum.
 *
 * Signatures of stored RRsets are cached in the node's RRset vector (store.h), the
 * immutable version they sign, and freed with it; those of synthesised records (DNSKEY,
 * CDS, CDNSKEY, compact-denial NSEC) are made per answer or kept in the zone's keys.
 */
#ifndef STREAMDNS_SIGNER_H
#define STREAMDNS_SIGNER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "authd/store.h"
#include "common/keyset.h"
#include "common/rrset.h"

#define SIGN_QUANTUM		3600		/* inception and expiration step, s */
#define SIGN_BACKDATE		3600		/* inception this much before the quantum */
#define SIGN_VALIDITY		(14 * 86400)	/* expiration after inception */
#define SIGN_RRSIGS_MAX		4		/* RRSIGs of one RRset (keys signing at once) */
#define SIGN_RDATA_MAX		(18 + DNAME_MAXLEN + KEYSET_SIG_MAX)

struct apex_sets;
struct ds_set;
struct sig_cache;

/* A zone's keys as authd holds them: the store keeps one per apex (znode_keys()). */
struct zone_keys {
	uint64_t	 serial;	/* unique per key set applied: versions the caches */
	struct keyset	*ks;		/* the keys and their timelines */
	bool		 usable;	/* unsealed: the zone can be signed */
	char		*value;		/* the event's value (keys sealed), for snapshots */
	size_t		 valuelen;
	char		 why[200];	/* !usable: why ("no [dnssec] secret-file", ...) */
	/* The synthesised apex RRsets of the moment (DNSKEY, CDS, CDNSKEY), see signer.c. */
	_Atomic(struct apex_sets *) apex;
	/* The DS RRset the parent serves for this zone, made from these keys. */
	_Atomic(struct ds_set *) ds;
};

/*
 * A zone_keys from a key-set event value for apex (wire, lower case), unsealed with one of
 * secrets (NULL or empty: none configured). Returns NULL with the reason in err when the value is malformed
 * (the event is rejected, the previous keys stay); a value that parses but cannot be
 * unsealed gives keys that are not usable, why set: while they say the zone is signed,
 * it is served SERVFAIL, never unsigned.
 */
struct zone_keys *zone_keys_new(const uint8_t *apex, const char *value, size_t len,
    const struct keyset_secrets *secrets, char *err, size_t errlen);
void zone_keys_free(struct zone_keys *zk);

/* Whether the zone is signed at now: a key of it signs (the keys may be unusable here). */
bool zone_keys_signed(const struct zone_keys *zk, time_t now);

/*
 * Types a signed zone makes itself (DNSKEY, CDS, CDNSKEY, RRSIG, NSEC, NSEC3,
 * NSEC3PARAM): stored RRsets of these types are not served in a signed zone.
 */
bool sign_own_type(uint16_t type);

/* The RRSIG RDATAs of one RRset, valid inside the read-side critical section. */
struct rrsigs {
	size_t		 n;
	const uint8_t	*rdata[SIGN_RRSIGS_MAX];
	uint16_t	 len[SIGN_RRSIGS_MAX];
};

/*
 * One answer's signing: the keys that sign at its moment, the quantised validity, and
 * room for the signatures made for it alone.
 */
struct sign_ctx {
	const struct zone_keys	*zk;
	const uint8_t		*apex;		/* the signer's name */
	time_t			 now;
	uint32_t		 inception, expiration;
	uint32_t		 zmask, kmask;	/* keys signing data / the DNSKEY RRset */
	struct apex_sets	*as;		/* what sign_apex_rrset() took its RRset from */
	size_t			 used;
	uint8_t			 buf[4 * SIGN_RRSIGS_MAX * SIGN_RDATA_MAX];
};

/* Starts signing for zk's zone (apex) at now. Returns -1 when no key signs now. */
int sign_begin(struct sign_ctx *sc, const struct zone_keys *zk, const uint8_t *apex,
    time_t now);

/*
 * The RRSIGs of rs at owner (lower-case wire; a wildcard's own name for an answer
 * synthesised from it, which sets the labels field as RFC 4035 5.3.2 reads it). vec,
 * when not NULL, is the store's vector holding rs: the signatures are cached there.
 * Returns 0, or -1 when signing failed or the per-answer room is full.
 */
int sign_rrset(struct sign_ctx *sc, const uint8_t *owner, const struct rrset *rs,
    const struct rrset_vec *vec, struct rrsigs *out);

/*
 * An apex RRset made from the keys at sc->now: DNSKEY (the published keys), CDS and
 * CDNSKEY (the CSKs and KSKs the parent should have a DS for, RFC 7344), or NULL when
 * there is no such key. ttl is the TTL to give them (the SOA's). They and their RRSIGs
 * (sign_apex_sigs()) are kept with the zone's keys until a key changes state, so a
 * DNSKEY query costs no signature.
 */
const struct rrset *sign_apex_rrset(struct sign_ctx *sc, uint16_t type, uint32_t ttl);
/* The RRSIGs of an RRset sign_apex_rrset() gave to this sc. */
int sign_apex_sigs(struct sign_ctx *sc, const struct rrset *rs, struct rrsigs *out);

/*
 * The DS RRset of a child zone whose key set is on the topic, as its parent serves it at
 * the delegation: the DS of every CSK/KSK published and not retired at now, TTL ttl (the
 * parent's SOA TTL). It follows the child's rollovers with no event written: old and new
 * DS together while both are needed. NULL when no key wants a DS. *slot receives where
 * the parent's RRSIGs over it are cached (sign_rrset_in()).
 */
const struct rrset *sign_child_ds(const struct zone_keys *child, time_t now, uint32_t ttl,
    _Atomic(struct sig_cache *) **slot);
/* sign_rrset() with the signatures cached in slot (NULL: not cached). */
int sign_rrset_in(struct sign_ctx *sc, const uint8_t *owner, const struct rrset *rs,
    _Atomic(struct sig_cache *) *slot, struct rrsigs *out);

/* The RRSIGs of a record made for one answer alone (a compact-denial NSEC): not cached. */
int sign_once(struct sign_ctx *sc, const uint8_t *owner, const struct rrset *rs,
    struct rrsigs *out);

/*
 * Sizes the cache of per-name signatures (negative answers, wildcard answers) at start,
 * before any worker signs; sign_shutdown() empties it at exit.
 */
void sign_init(size_t cache_bytes);
void sign_shutdown(void);

/* Frees a vector's signature cache (the store calls it when it frees the vector). */
void sign_cache_free(void *cache);

/* The signer's counters (atomic; summed into /metrics). */
struct sign_stats {
	atomic_uint_fast64_t	 signatures;	/* signatures made */
	atomic_uint_fast64_t	 cache_hits;	/* RRsets whose signatures were cached */
	atomic_uint_fast64_t	 cache_bytes;	/* memory held by the caches of vectors */
};
extern struct sign_stats sign_stats;

#endif
