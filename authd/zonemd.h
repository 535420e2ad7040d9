/* zonemd.h: per-zone summaries for /zones: serial, counts and the RFC 8976 ZONEMD digest. */
#ifndef STREAMDNS_ZONEMD_H
#define STREAMDNS_ZONEMD_H

#include <stddef.h>
#include <stdint.h>

#include "authd/store.h"
#include "common/dname.h"

#define ZONEMD_DIGEST_LEN	64	/* SHA-512 */

struct zone_summary {
	uint8_t		apex[DNAME_MAXLEN];
	uint32_t	serial;
	uint64_t	rrsets;
	uint64_t	records;
	uint8_t		digest[ZONEMD_DIGEST_LEN];	/* scheme SIMPLE (1), SHA-512 (2) */
};

/*
 * Computes a summary of every zone of a view of the whole store (store_view_all()),
 * sorted by apex in canonical order. A zone holds the names at or below its apex that
 * are not in a deeper zone; the digest covers all its RRs (glue and occluded data
 * included, the apex ZONEMD RRset excluded), in canonical order and form (RFC 8976 3.3,
 * RFC 4034 6). Needs no lock: the view keeps what it points at. Returns 0 and an array
 * the caller frees, or -1 on allocation failure.
 */
int zonemd_summaries(const struct store_view *v, struct zone_summary **out, size_t *n);

#endif
