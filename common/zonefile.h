/* zonefile.h: a master file (RFC 1035 5) read with libzscanner into RRsets grouped by owner and type. */
#ifndef STREAMDNS_ZONEFILE_H
#define STREAMDNS_ZONEFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/rrset.h"

/* Errors reported before the loader gives up on a file (a broken file can have thousands). */
#define ZONEFILE_MAX_ERRORS	100
/* $INCLUDE directives in one file (libzscanner 3.2 cannot take more than 16). */
#define ZONEFILE_MAX_INCLUDES	12
/* $INCLUDE nesting: the file given is depth 0. */
#define ZONEFILE_MAX_DEPTH	16

/* One RRset of the file: every record of that owner and type, wherever it stood. */
struct zonefile_rrset {
	const uint8_t	*owner;		/* wire format, lower case; owned by the zonefile */
	struct rrset	*rrset;		/* sorted, duplicates removed; owned by the zonefile */
	const char	*file;		/* where its first record is ($INCLUDE: the included file) */
	uint64_t	 line;		/* the line its first record ends on */
	bool		 ttl_differs;	/* its records had different TTLs: rrset->ttl is the least */
};

struct zonefile {
	struct zonefile_rrset	*rrsets;	/* in the order of their first record */
	size_t			 count;
	size_t			 records;	/* records read, duplicates included */
	struct zonefile_priv	*priv;
};

/* Receives each problem: file and line (0 when it concerns the whole file), and a reason. */
typedef void (*zonefile_error_fn)(void *arg, const char *file, uint64_t line,
    const char *reason);

/*
 * Reads the master file at path ("-": standard input). $ORIGIN, $TTL, $INCLUDE (relative to the including
 * file's directory; at most ZONEFILE_MAX_DEPTH deep, never in a loop), relative names,
 * parentheses and every type libzscanner knows are handled by libzscanner; RFC 3597 \#
 * data is taken for any type.
 *
 * origin is the initial origin (absolute presentation format), or NULL: then a relative
 * name ("@", "www", a name in RDATA) used before a $ORIGIN is an error, rather than being
 * silently completed with the root.
 *
 * Stricter than some servers, because they disagree: a record needs a TTL, either its own
 * or a $TTL above it (RFC 1035 said "the last one stated", BIND takes the SOA minimum,
 * Knot 3600); the class must be IN.
 *
 * Every problem goes to err(arg, ...), up to ZONEFILE_MAX_ERRORS. Returns the zonefile
 * (caller frees with zonefile_free), or NULL when anything was reported; *nerrors (may be
 * NULL) counts the problems. Never logs, never exits; out of memory is reported as an error.
 */
struct zonefile *zonefile_load(const char *path, const char *origin, zonefile_error_fn err,
    void *arg, size_t *nerrors);

/*
 * Looks at one record before it is kept: returns NULL to keep it, or the reason it is
 * refused, reported at the record's own line (the RRset's line is that of its first
 * record only). owner is lower-case wire format.
 */
typedef const char *(*zonefile_check_fn)(void *arg, const uint8_t *owner, uint16_t type,
    const uint8_t *rdata, size_t len);

/* What a caller of zonefile_load_opts() may ask beyond zonefile_load(). */
struct zonefile_opts {
	const char		*origin;	/* as zonefile_load()'s */
	/*
	 * The TTL of a record that has neither its own nor a $TTL above it, for files whose
	 * TTLs mean nothing (trust anchors: Debian's root.key has none);
	 * ZONEFILE_TTL_REQUIRED makes such a record an error, as zonefile_load() does.
	 */
	uint32_t		 default_ttl;
	zonefile_check_fn	 check;		/* NULL: every record is kept */
	void			*check_arg;
};
#define ZONEFILE_TTL_REQUIRED	UINT32_MAX

/* zonefile_load() with the options o. */
struct zonefile *zonefile_load_opts(const char *path, const struct zonefile_opts *o,
    zonefile_error_fn err, void *arg, size_t *nerrors);

/* Frees the zonefile and everything it owns; NULL is accepted. */
void zonefile_free(struct zonefile *zf);

#endif
