/*
 * journal.h: a zone's recent changes, as IXFR (RFC 1995) sends them: one entry per serial
 * step, the records deleted and the records added. Built by the store's writer at each
 * commit from the RRsets the batch replaced; bounded, the oldest entries dropped first.
 * The store owns the journals; see store.h for who may read them when.
 */
#ifndef STREAMDNS_JOURNAL_H
#define STREAMDNS_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/rrset.h"

#define JOURNAL_ENTRIES_MAX	1024		/* serial steps kept per zone */
#define JOURNAL_BYTES_MAX	(16u << 20)	/* octets of records kept per zone */

/* Records, one after another: owner (wire), type, TTL, RDLENGTH (host order), RDATA. */
struct jbuf {
	uint8_t		*data;
	size_t		 len, cap;
	size_t		 count;
};

struct journal_entry {
	struct journal_entry	*next;		/* the following (newer) step */
	struct rrset		*soa_from, *soa_to;
	struct jbuf		 del, add;
};

struct journal {
	struct rrset		*soa;		/* as served after the last step (a copy) */
	struct journal_entry	*first, *last;
	size_t			 entries, bytes;
	struct jbuf		 del, add;	/* the batch being committed */
	bool			 touched;	/* changed in this batch */
	bool			 broken;	/* a change it cannot describe: start over */
};

/* One record of a jbuf. */
struct jrr {
	const uint8_t	*owner;
	uint16_t	 type;
	uint32_t	 ttl;
	uint16_t	 rdlen;
	const uint8_t	*rdata;
};

struct journal *journal_new(const struct rrset *soa);
void journal_free(struct journal *j);
void journal_entry_free(void *e);
/* The batch replaced RRset prev (NULL: none) of owner by rs (NULL: deleted). */
void journal_change(struct journal *j, const uint8_t *owner, const struct rrset *prev,
    const struct rrset *rs);
/*
 * Ends the batch: soa is the zone's SOA as served now. A changed serial appends an entry;
 * changed records under an unchanged serial (serial = as-is) cannot be told apart by a
 * secondary, so the journal starts over from now. Entries dropped (the oldest, past the
 * bounds, or all when starting over) go to discard(arg, entry).
 */
void journal_commit(struct journal *j, const struct rrset *soa,
    void (*discard)(void *arg, void *entry), void *arg);
/* The entry stepping from serial, or NULL when the journal does not reach back to it. */
const struct journal_entry *journal_from(const struct journal *j, uint32_t serial);
/* Reads the record at p of b into r; returns the next position, NULL past the end. */
const uint8_t *journal_rr(const struct jbuf *b, const uint8_t *p, struct jrr *r);

#endif
