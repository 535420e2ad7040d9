/* event.h: the one decoder of zone events (Kafka key + JSON value -> RRset), for authd and ctl. */
#ifndef STREAMDNS_EVENT_H
#define STREAMDNS_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/dname.h"
#include "common/rrset.h"

#define EVENT_TTL_MAX	2147483647u	/* RFC 2181 8 */

/* Why an event was rejected; also the label of the rejection metric. */
enum event_error {
	EVENT_OK = 0,
	EVENT_ERR_KEY,		/* key missing, malformed or not canonical */
	EVENT_ERR_JSON,		/* value is not JSON, or not an array of record objects */
	EVENT_ERR_MISMATCH,	/* a record's name or type differs from the key's */
	EVENT_ERR_CONTENT,	/* content does not parse as the type's RDATA */
	EVENT_ERR_TTL,		/* ttl missing, not an integer or out of 0..2147483647 */
	EVENT_ERR_RRSET,	/* RRset invalid as a whole (CNAME with 2 records, too large) */
	EVENT_ERR_SIGNATURE,	/* signatures required, and missing or not by a trusted key */
	EVENT_ERR_KEYSET,	/* a zone's DNSSEC key set that does not parse (keyset.h) */
	EVENT_ERR__COUNT
};

/* Short stable names ("key", "json", ...) for metrics and logs. */
const char *event_error_name(enum event_error e);

struct event {
	uint8_t		 owner[DNAME_MAXLEN];	/* lower case, wire format */
	uint16_t	 type;
	struct rrset	*rrset;		/* NULL: delete the RRset (tombstone or []); owned */
	/*
	 * The key is "<zone>|DNSSEC": the zone's key set (common/keyset.h), whose value the
	 * decoder leaves to keyset_parse(); type is 0 and rrset NULL.
	 */
	bool		 keyset;
	/*
	 * The key is "<name>|UPDATE": an RFC 2136 update's guard on a name it read or wrote
	 * (authd/updater.c); the value is not read; type is 0 and rrset NULL.
	 */
	bool		 guard;
};

#define EVENT_GUARD_TYPE	"UPDATE"	/* the reserved type of a guard's key */

/*
 * Conditional events (RFC 2136 updates, authd/updater.h), one rule for authd and ctl. An
 * event written on version base of its RRset (the offset, in the key's partition, of the
 * event that set what its writer read; -1: it read none) applies where the RRset's
 * version is still at most base: equal, nothing came between; less, the events between
 * were compacted away here; greater, a concurrent write came first. A deleted RRset's
 * version is its deletion's offset while that is at most EVENT_TOMB_WINDOW offsets
 * behind, else unknown (-1); an event that read the RRset absent applies while it is.
 */
#define EVENT_HDR_BASE		"streamdns-base"
#define EVENT_TOMB_WINDOW	((int64_t)1 << 22)	/* 4M offsets */

bool event_condition(bool present, int64_t version, int64_t base);
/* The base of a conditional event from its header value (len octets): 0, or -1 if bad. */
int event_base_parse(const void *value, size_t len, int64_t *base);

struct event_decoder;

struct event_decoder *event_decoder_new(void);
void event_decoder_free(struct event_decoder *d);
/*
 * On by default: plain events are read by common/event_fast.c, the rest by jansson and
 * libzscanner. Tests turn it off to compare both on the same input.
 */
void event_decoder_set_fast(struct event_decoder *d, bool on);

/*
 * Decodes one event. value == NULL is a tombstone. On success returns EVENT_OK and fills
 * ev (the caller frees ev->rrset). On failure returns the reason class and writes a
 * human-readable reason to err (for example "record 2: content: bad IPv4 address").
 * A decoder is not thread-safe: use one per thread.
 */
enum event_error event_decode(struct event_decoder *d, const char *key, size_t keylen,
    const char *value, size_t valuelen, struct event *ev, char *err, size_t errlen);

/*
 * RDATA that comes from elsewhere than an event (an RFC 2136 update, in wire format):
 * EVENT_OK when an event can carry it, that is event_encode() writes it as text and
 * event_decode() reads that back as the very same octets. owner: lower-case wire.
 */
enum event_error event_rdata_check(struct event_decoder *d, const uint8_t *owner,
    uint16_t type, const uint8_t *rdata, uint16_t len, char *err, size_t errlen);

/* The canonical key "<owner>|<TYPE>" of an RRset into buf: its length, or -1. */
#define EVENT_KEY_MAX	(DNAME_STRLEN + 16)
int event_key(const uint8_t *owner, uint16_t type, char *buf, size_t len);

/*
 * Encodes an RRset as an event: key "<owner>|<TYPE>" and a JSON array value in which
 * content is the presentation format of each record. Returns 0 or -1. Caller frees both.
 */
int event_encode(const uint8_t *owner, const struct rrset *rs, char **key, char **value);

#endif
