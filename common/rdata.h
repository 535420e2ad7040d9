/* rdata.h: RDATA as presentation text, the one place libknot's text writer is driven. */
#ifndef STREAMDNS_RDATA_H
#define STREAMDNS_RDATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libknot/libknot.h>

/* Largest presentation form of one RDATA: an NSEC bitmap of all 65536 types is ~700 KB. */
#define RDATA_TEXT_MAX	(2u * 1024 * 1024)

/*
 * Writes the presentation text of record pos of rr into *buf, growing it (*buf and *cap
 * may start NULL and 0; the caller frees *buf). generic: the RFC 3597 form (\# len hex)
 * whatever the type. Returns 0, -1 when the RDATA cannot be written as text (malformed
 * for its type: knot says so the same way as for a short buffer, so a failure at
 * RDATA_TEXT_MAX means malformed), or -2 when out of memory.
 */
int rdata_text(const knot_rrset_t *rr, size_t pos, bool generic, char **buf, size_t *cap);

/*
 * Calls each(arg, off, n) for every domain name in the uncompressed RDATA rd of type (the
 * name is rd[off], n octets), in order, as libknot lays the type out. Stops at a name that
 * runs off the end of the RDATA (0), or when each returns non-zero (returned); 0 otherwise.
 */
typedef int (*rdata_name_fn)(void *arg, size_t off, size_t n);
int rdata_names(uint16_t type, const uint8_t *rd, size_t len, rdata_name_fn each, void *arg);

#endif
