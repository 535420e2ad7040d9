/* dname.h: domain names in uncompressed wire format (the one name codec of the project). */
#ifndef STREAMDNS_DNAME_H
#define STREAMDNS_DNAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNAME_MAXLEN	255	/* RFC 1035 2.3.4, wire octets including the root label */
#define DNAME_MAXLABELS	128
#define DNAME_STRLEN	(4 * DNAME_MAXLEN + 2)	/* worst case presentation, with \DDD */

/*
 * Reads the (possibly compressed) name at *pos of a message of len octets into out
 * (DNAME_MAXLEN octets), keeping its case. Pointers must point strictly backwards, which
 * rules out loops and forward references. Advances *pos past the name as it stands in the
 * message. Returns the name's wire length, or -1 if the name is malformed.
 */
int dname_unpack(const uint8_t *msg, size_t len, size_t *pos, uint8_t *out);

/* Length in octets of a well-formed uncompressed name. */
size_t dname_len(const uint8_t *name);

/* Number of labels, not counting the root. */
int dname_labels(const uint8_t *name);

/* ASCII lower-casing in place (DNS names compare case-insensitively, RFC 4343). */
void dname_lower(uint8_t *name);

/* Case-insensitive equality. */
bool dname_equal(const uint8_t *a, const uint8_t *b);

/* True when name is sub or below it (sub == name counts). Both lower case or not: any. */
bool dname_is_below(const uint8_t *name, const uint8_t *ancestor);

/* The name with its first label removed (the root's parent is NULL). */
const uint8_t *dname_parent(const uint8_t *name);

/*
 * DNAME substitution (RFC 6672 2.2), for authd's answers and dnsr's iteration alike: name,
 * which must be owner or below it, with its suffix owner replaced by target, into out
 * (DNAME_MAXLEN octets, not overlapping the inputs). The labels kept from name and those
 * of target keep their case. Returns the result's wire length, or -1 when it would exceed
 * DNAME_MAXLEN (the answer is then YXDOMAIN) and out is unchanged.
 */
int dname_substitute(const uint8_t *name, const uint8_t *owner, const uint8_t *target,
    uint8_t *out);

/*
 * RFC 4034 6.1 canonical order of two wire names: <0, 0, >0. Labels are compared as
 * they are: pass lower-case names (dname_lower()) for the canonical order itself.
 */
int dname_canon_cmp(const uint8_t *a, const uint8_t *b);

/*
 * Parses presentation format (absolute or relative to origin, which may be NULL for the
 * root; \DDD and \X escapes). Returns the wire length or -1.
 */
int dname_from_str(const char *s, const uint8_t *origin, uint8_t *out);

/* Presentation format into buf (DNAME_STRLEN): absolute, escaped. Returns buf. */
char *dname_to_str(const uint8_t *name, char *buf, size_t buflen);

/*
 * Hash of a name (case-insensitive), seeded per process so that names chosen by an
 * attacker cannot be aimed at one bucket.
 */
uint64_t dname_hash(const uint8_t *name, size_t len);
void dname_hash_seed(uint64_t seed);

#endif
