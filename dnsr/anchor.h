/* anchor.h: DNSSEC trust anchors ([dnssec] trust-anchor-file) and domain-insecure names. */
#ifndef STREAMDNS_ANCHOR_H
#define STREAMDNS_ANCHOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/dname.h"
#include "common/rrset.h"

/* trust-anchor-file names at most this many files. */
#define ANCHORS_MAX_FILES	16
/* domain-insecure names at most this many domains. */
#define ANCHORS_MAX_INSECURE	256

/*
 * The anchors of one owner, every file's records merged: its DS RRset, its DNSKEY RRset
 * (each key with the zone-key flag), or both; at least one is set. The RRsets' TTLs mean
 * nothing (anchor files need none).
 */
struct anchor {
	uint8_t		 owner[DNAME_MAXLEN];	/* wire format, lower case */
	size_t		 owner_len;
	struct rrset	*ds;			/* NULL: none; owned by the anchors */
	struct rrset	*dnskey;		/* NULL: none; owned by the anchors */
};

struct anchors;

/*
 * Called by dnsr_conf_load() (dnsr/config.c) when validation is on or permissive: reads
 * the npaths files (master-file syntax through common/zonefile.c: $ORIGIN, comments,
 * records without a TTL as in Debian's root.key; relative names before any $ORIGIN are
 * taken from the root). Each record must be a DS, or a DNSKEY with the zone-key flag and
 * protocol 3; a file without any is an error too. Every problem is printed to errout as
 * "file:line: reason" ("file: reason" when it concerns the whole file). Returns the
 * anchors (anchors_free() them), or NULL after printing at least one error.
 */
struct anchors *anchors_load(const char *const *paths, size_t npaths, FILE *errout);

/*
 * Adds the domains of list ([dnssec] domain-insecure: comma-separated, presentation
 * format, trailing dot optional, any case) to a's insecure domains; with a NULL, only
 * checks list (the key's own check). Returns 0, or -1 with "'name': reason" in err,
 * and a unchanged.
 */
int anchors_set_insecure(struct anchors *a, const char *list, char *err, size_t errlen);

/*
 * For the validator, per answer: the anchor closest to name (wire format, any case) at or
 * above it, or NULL when no anchor covers it (name is then insecure). Costs one binary
 * search per label of name; allocates nothing; safe from any thread.
 */
const struct anchor *anchors_find(const struct anchors *a, const uint8_t *name);

/*
 * For the validator: true when name (wire format, any case) is a domain-insecure name or
 * below one: it is not validated, even when an anchor covers it. Same cost as
 * anchors_find().
 */
bool anchors_insecure(const struct anchors *a, const uint8_t *name);

/* The number of anchors (owners), for the start-up log line. */
size_t anchors_count(const struct anchors *a);

/* Frees a and its RRsets; NULL is accepted. */
void anchors_free(struct anchors *a);

#endif
