/*
 * updater.h: RFC 2136 UPDATE as events. Workers check what they can at once (the zone
 * section, the zone, the key's grant) and hand the rest to the updater thread, which
 * evaluates the update against the store (authd/update.h), produces its RRsets as
 * conditional events, waits until the consumer has applied or refused each of them, and
 * answers only then: NOERROR means this instance serves the change. docs/ARCHITECTURE.md
 * "Dynamic updates" says why events are conditional and what that guarantees.
 */
#ifndef STREAMDNS_UPDATER_H
#define STREAMDNS_UPDATER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "common/dname.h"
#include "common/event.h"
#include "common/frontend.h"
#include "common/metrics.h"
#include "common/tsig.h"

struct authd_conf;
struct authd_state;
struct answer_opts;

/*
 * The headers of a conditional event. base: the version (rrset_version(), the offset in
 * its partition) of the RRset the writer read, "-1" when it read none; the event is
 * applied only where the RRset's version is still at most that. id: "<origin> <seq>
 * <index>", which update of which writer, so the writer learns its verdict.
 */
#define UPDATE_HDR_BASE	EVENT_HDR_BASE
#define UPDATE_HDR_ID	"streamdns-update"
/*
 * On a guard: the positions of the update's own events, "PARTITION:OFFSET,...", the
 * highest per partition: what a writer reading this guard waits to see applied.
 */
#define UPDATE_HDR_AFTER	"streamdns-after"
#define UPDATE_AFTER_MAX	1024		/* positions kept (one per partition) */

/* "P:O,P:O,..." into after[] (partition << 48 | offset); returns how many, -1 if bad. */
int update_after_parse(const char *s, uint64_t *after, size_t cap);

/* The verdicts of this instance's own conditional events, consumer to updater. */
struct update_verdict {
	uint64_t	seq;		/* the update's number */
	uint32_t	idx;		/* its event's */
	bool		applied;
};

struct update_verdicts {
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;		/* broadcast when verdicts are committed */
	char			 origin[64];	/* this process's writer id */
	struct update_verdict	*v;
	size_t			 n, cap;
	size_t			 committed;	/* v[0, committed) are served */
	bool			 closing;	/* the updater is stopping: stop waiting */
	int64_t			*next;		/* per partition: the next offset to apply */
	size_t			 npart;		/* (what is served is below it) */
};

void verdicts_init(struct update_verdicts *vs, const char *identity);
void verdicts_free(struct update_verdicts *vs);
/* Consumer: id is an event's UPDATE_HDR_ID; kept only when it is this origin's. */
void verdicts_add(struct update_verdicts *vs, const char *id, size_t idlen, bool applied);
/*
 * Consumer, after store_commit(): what was added is served, and so is everything below
 * next[0..npart) (the next offset of each partition); wakes the updater.
 */
void verdicts_commit(struct update_verdicts *vs, const int64_t *next, size_t npart);

struct update_stats {
	counter_t	results[24];	/* by rcode (0..23) */
	counter_t	conflicts;	/* own events refused for a concurrent write */
	counter_t	retries;	/* updates evaluated again after a conflict */
	counter_t	events;		/* events produced */
	struct histogram latency;	/* received to answered, us */
};

/*
 * One item of an [update] grant: a zone (every name and type in it), or a name, or a
 * pattern "*.NAME" (every name below NAME), followed by the types it may change
 * ("_acme-challenge.example.com. TXT", "*.dhcp.example.com. A AAAA").
 */
#define UPDATE_RULE_TYPES	16

struct update_rule {
	uint8_t		name[DNAME_MAXLEN];	/* lower case */
	bool		zone;			/* no types: the zone itself */
	bool		below;			/* "*.": names below name, not name */
	uint16_t	types[UPDATE_RULE_TYPES];
	size_t		ntypes;
};

/* Parses "ITEM, ITEM ..." into *rules (caller frees); 0, or -1 with err. */
int update_grant_parse(const char *value, struct update_rule **rules, size_t *n, char *err,
    size_t errlen);

struct updater;

/* NULL (and nothing started) when [update] grants nothing. opts: for the answers. */
struct updater *updater_start(const struct authd_conf *conf, struct authd_state *st,
    const struct answer_opts *opts);
/* Answers what is queued SERVFAIL, stops the thread, frees. Before the workers stop. */
void updater_stop(struct updater *u);

/*
 * Worker: req is an UPDATE the gate passed, tsig what its TSIG was. Returns the length of
 * an answer written to out at once (FORMERR, NOTAUTH, REFUSED, unsigned: the caller signs
 * it; u may be NULL), or 0 when the update was queued: its answer goes out later from
 * base (the worker's event loop), signed. *rcode: the rcode answered at once.
 */
size_t updater_submit(struct updater *u, struct authd_state *st,
    const struct answer_opts *o, struct event_base *base, const struct fe_request *req,
    const struct tsig_ctx *tsig, uint16_t limit, uint8_t *out, size_t cap,
    uint8_t *rcode);

#endif
