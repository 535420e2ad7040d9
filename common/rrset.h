/* rrset.h: an immutable RRset (type, TTL, records' RDATA in wire format) as the store keeps it. */
#ifndef STREAMDNS_RRSET_H
#define STREAMDNS_RRSET_H

#include <stddef.h>
#include <stdint.h>

/*
 * One allocation: the header, then count records, each a 16-bit length in host order
 * followed by the RDATA octets (names in RDATA uncompressed, as on the wire). Records are
 * sorted by RDATA and unique (RFC 2181 5: an RRset has no duplicates). Never changed once
 * built: the store publishes new RRsets and frees old ones after an RCU grace period.
 */
struct rrset {
	uint16_t	type;
	uint16_t	count;
	uint32_t	ttl;
	uint32_t	datalen;	/* octets in data[] */
	uint32_t	ver_lo, ver_hi;	/* rrset_version(): two halves, so 4-byte aligned */
	uint8_t		data[];
};

/*
 * authd: the Kafka offset (in its key's partition) of the event that set this RRset, the
 * version an RFC 2136 update reads and conditions its own event on (authd/update.h); -1
 * when unknown (a builder's RRset before authd sets it, dnsr's cache, local zone files).
 */
static inline int64_t
rrset_version(const struct rrset *rs)
{
	return (int64_t)((uint64_t)rs->ver_hi << 32 | rs->ver_lo) - 1;
}

static inline void
rrset_set_version(struct rrset *rs, int64_t offset)
{
	uint64_t v = (uint64_t)(offset + 1);

	rs->ver_lo = (uint32_t)v;
	rs->ver_hi = (uint32_t)(v >> 32);
}

struct rdata_ref {
	const uint8_t	*data;
	uint16_t	 len;
};

/* Iteration: `for (it = rrset_first(rs, &rd); it; it = rrset_next(rs, it, &rd))`. */
const uint8_t *rrset_first(const struct rrset *rs, struct rdata_ref *rd);
const uint8_t *rrset_next(const struct rrset *rs, const uint8_t *it, struct rdata_ref *rd);

/* A copy of rs (one allocation, as rs is), or NULL when out of memory. */
struct rrset *rrset_dup(const struct rrset *rs);

/*
 * RFC 2308 3 and 5: the TTL of a negative answer backed by the SOA RRset soa, the smaller
 * of the SOA's own TTL and its MINIMUM field; authd puts it on the SOA it sends, dnsr
 * caches a negative answer that long. Reads the first record; returns 0 when soa is NULL or
 * empty or that record is not a well-formed SOA RDATA (two uncompressed names, then the
 * five 32-bit fields), so that a bad SOA never makes a negative answer live longer.
 */
uint32_t rrset_soa_negative_ttl(const struct rrset *soa);

/*
 * The SERIAL of an SOA RRset's (first) record, RFC 1035 3.3.13: the 32 bits after MNAME
 * and RNAME, which are uncompressed in stored RDATA. 0 when the RDATA is too short.
 */
uint32_t rrset_soa_serial(const struct rrset *rs);
/* A copy of the SOA RRset rs with that SERIAL set to serial; NULL when out of memory or rs
 * is not a well-formed SOA. */
struct rrset *rrset_soa_with_serial(const struct rrset *rs, uint32_t serial);

/*
 * The RRs of rs at owner (lower-case wire) in the canonical form and order of RFC 4034
 * 6.2-6.3, as a signature (RFC 4034 3.1.8.1) and a ZONEMD digest (RFC 8976 3.3.1) cover
 * them: owner, type, class IN, ttl (rs->ttl to sign, the RRSIG's original TTL to verify),
 * RDATA length, RDATA with its names lower-cased
 * for the types libknot lists (RFC 4034 6.2 as RFC 6840 5.1 amends it), sorted by that
 * RDATA, an RR that equals the one before once lower-cased left out. emit(arg, p, len) is
 * called three times per RR (owner, the 10 fixed octets, RDATA). Returns 0, -1 when out
 * of memory, or emit's first non-zero return.
 */
typedef int rrset_emit_fn(void *arg, const uint8_t *p, size_t len);
int rrset_canonical(const uint8_t *owner, const struct rrset *rs, uint32_t ttl,
    rrset_emit_fn *emit, void *arg);

/*
 * Builder: collects records, then rrset_builder_finish() sorts, removes duplicates and
 * returns a new rrset (caller owns; free with free()). TTL is the minimum of the records'
 * TTLs (RFC 2181 5.2 wants them equal; the minimum is the safe reading).
 * The RDATA is copied into one arena; a typical RRset (a few records, a few hundred octets)
 * fits the builder's own storage, so building it allocates nothing but the result.
 */
#define RRSET_BUILDER_INLINE_RECS	8
#define RRSET_BUILDER_INLINE_DATA	512

struct rrset_builder_rec {
	uint32_t	off;		/* into the arena */
	uint16_t	len;
};

struct rrset_builder {
	uint16_t	 type;
	uint32_t	 ttl;
	size_t		 count;
	size_t		 wire;		/* worst-case wire size of the records held */
	size_t		 reccap, datalen, datacap;
	struct rrset_builder_rec *heaprecs;	/* NULL while inline_recs suffices */
	uint8_t		*heapdata;		/* NULL while inline_data suffices */
	struct rrset_builder_rec inline_recs[RRSET_BUILDER_INLINE_RECS];
	uint8_t		 inline_data[RRSET_BUILDER_INLINE_DATA];
};

void rrset_builder_init(struct rrset_builder *b, uint16_t type);
/* Returns 0, or -1 when the RRset would exceed 65535 records or a DNS message's size. */
int rrset_builder_add(struct rrset_builder *b, uint32_t ttl, const uint8_t *rdata,
    uint16_t len);
struct rrset *rrset_builder_finish(struct rrset_builder *b);
void rrset_builder_clear(struct rrset_builder *b);

#endif
