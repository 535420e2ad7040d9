/* store.h: every RRset of the topic, by owner name, read lock-free by workers (RCU). */
#ifndef STREAMDNS_STORE_H
#define STREAMDNS_STORE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/rrset.h"

/*
 * The store is exactly "the latest valid value of every key": one node per owner name
 * that has RRsets, plus a node for every ancestor of such a name (so empty non-terminals
 * exist, RFC 4592 2.2.2). Zones, CNAME precedence and delegations are decided when
 * answering, never when applying, so the order events arrive in across keys cannot
 * change an answer.
 *
 * Threads: exactly one writer (the consumer thread) calls store_apply() and
 * store_commit(); any number of readers, each registered with RCU, call the lookups
 * between rcu_read_lock() and rcu_read_unlock() and never wait for the writer.
 */

struct store;

/*
 * A node's RRsets: an immutable vector, replaced whole on every change. The types of the
 * sets follow sets[] in the same allocation (store.c), so finding one type reads this
 * vector only, not the header of every RRset before it.
 */
struct sig_cache;
struct rrset_vec {
	uint32_t	 count;
	/*
	 * The RRSIGs made for these RRsets (authd/signer.c): the one part of a vector that
	 * changes after it is published, by compare-and-swap; freed with the vector.
	 */
	_Atomic(struct sig_cache *) sigs;
	struct rrset	*sets[];
};

struct znode;

struct store_stats {
	uint64_t	names;		/* nodes that own at least one RRset */
	uint64_t	rrsets;
	uint64_t	records;
	uint64_t	nodes;		/* including empty non-terminals */
	uint64_t	zones;		/* SOA RRsets: names that are a zone apex */
};

struct store *store_new(void);
/* Only when no reader can run any more. */
void store_free(struct store *s);

/*
 * Writer: sets (rs != NULL) or deletes (rs == NULL) the RRset (owner, type). owner is
 * lower case wire format. Takes ownership of rs. What it replaces is freed by the next
 * store_commit(), after every reader has left.
 */
void store_apply(struct store *s, const uint8_t *owner, uint16_t type, struct rrset *rs);
/*
 * Writer: the same for the instance-local layer. A local RRset hides the topic's RRset of
 * the same owner and type while it exists; the topic's is kept underneath.
 */
void store_apply_local(struct store *s, const uint8_t *owner, uint16_t type,
    struct rrset *rs);
/*
 * Zone serials ([zones] serial = topic, off by default): every SOA RRset of the topic
 * layer is stored with its zone's derived serial (store.c "Serials"). Writer: call
 * store_note_event() for every applied event (after store_apply, deletions included);
 * store_commit() then updates the serials of the zones it touched.
 */
void store_derive_serials(struct store *s, bool on);
void store_note_event(struct store *s, const uint8_t *owner, uint32_t partition,
    int64_t offset);
/*
 * Writer, after store_commit(): calls fn(arg, apex) for every zone whose served serial
 * changed since the last call (a zone may come more than once), and forgets them.
 */
void store_take_changed(struct store *s, void (*fn)(void *arg, const uint8_t *apex),
    void *arg);
/*
 * Writer, for snapshots: a node's base serial and position entries (partition << 48 |
 * next offset); *one holds the entry when there is only one. Returns how many.
 */
uint32_t znode_positions(const struct znode *n, const uint64_t **e, uint64_t *one,
    uint32_t *base);
/* Writer, loading a snapshot: sets them back (after the node's RRsets are in). */
void store_set_positions(struct store *s, const uint8_t *name, uint32_t base,
    const uint64_t *e, uint32_t count);
/*
 * A zone as one committed version, for a transfer (any thread, inside nothing): the
 * zone's nodes and the RRset vector of each as it was, valid until store_view_close()
 * however the writer goes on (what it replaces meanwhile is kept). Taking it waits for
 * the writer's current batch and walks the whole table once.
 */
#define STORE_VIEW_DELEGATION	1	/* a child zone's apex: only its NS and DS */
#define STORE_VIEW_GLUE		2	/* below a child's apex: only A and AAAA */

struct store_view_node {
	const struct znode	*node;
	const struct rrset_vec	*vec;
	uint8_t			 only;	/* 0, or STORE_VIEW_* */
};

struct store_view {
	struct store		*store;
	const struct rrset	*soa;		/* the apex's SOA, as served */
	struct store_view_node	*nodes;
	size_t			 n, cap;
	uint64_t		 rrs;		/* RRsets, for logs */
};

/* Returns 0, 1 when no zone has its apex there, -1 when out of memory. */
int store_view_open(struct store *s, const uint8_t *apex, struct store_view *v);
/*
 * The whole store as one committed version (every node that has RRsets, only 0, soa
 * NULL), for work too long to do inside an RCU read lock (/zones' digests): the writer
 * waits only for the one pass that takes it. Returns 0, or -1 when out of memory.
 */
int store_view_all(struct store *s, struct store_view *v);
void store_view_close(struct store_view *v);

/*
 * IXFR (off until store_journal(s, true); the consumer turns it on once ready, a replay
 * has nothing to send incrementally): each zone keeps a journal of its recent serial
 * steps (journal.h), built at each commit. store_ixfr_open() takes the steps from serial
 * to the zone's current one, kept as a view keeps its RRsets until store_ixfr_close();
 * it returns 1 when the journal does not reach back to serial (or a step on the way was
 * not recorded): the caller falls back to a whole zone.
 */
struct journal_entry;
struct store_ixfr {
	struct store			*store;
	const struct journal_entry	*first, *last;	/* inclusive */
};

void store_journal(struct store *s, bool on);
int store_ixfr_open(struct store *s, const uint8_t *apex, uint32_t serial,
    struct store_ixfr *x);
void store_ixfr_close(struct store_ixfr *x);

/* Writer: the versions of deleted RRsets (tombs.h), for conditional events. */
struct tombs;
struct tombs *store_tombs(struct store *s);
/*
 * The versions of update guards ("<name>|UPDATE" events, updater.c), kept as tombs.h
 * keeps deletions (type 0): the writer sets them, the updater reads them (any thread).
 * store_guards_lock() around any use of the table itself (tombs_*).
 */
int64_t store_guard_get(struct store *s, const uint8_t *name);
struct tombs *store_guards_lock(struct store *s);
void store_guards_unlock(struct store *s);

/* Writer: removes everything (a snapshot that turned out unusable). */
void store_clear(struct store *s);
/* Writer: waits for an RCU grace period and frees what the applied events replaced. */
void store_commit(struct store *s);
void store_get_stats(const struct store *s, struct store_stats *st);

/* Readers (inside rcu_read_lock): the node of a lower-case name, or NULL. */
const struct znode *store_lookup(const struct store *s, const uint8_t *name, size_t len);
/* The node's RRsets from the topic (never NULL; count 0 for an empty non-terminal). */
const struct rrset_vec *znode_rrsets(const struct znode *n);
/* The node's instance-local RRsets ([local] zone-file), which override the topic's. */
const struct rrset_vec *znode_local(const struct znode *n);
/* The RRset of that type in a vector (any thread that keeps the vector alive). */
const struct rrset *rrset_vec_find(const struct rrset_vec *v, uint16_t type);
/* The topic's RRset of that type at n (NULL when n is NULL or has none). */
const struct rrset *znode_topic_find(const struct znode *n, uint16_t type);
/* The RRset of that type, local first, then the topic's. */
const struct rrset *znode_find(const struct znode *n, uint16_t type);
/* No RRset at all, local or from the topic (an empty non-terminal). */
bool znode_empty(const struct znode *n);
const uint8_t *znode_name(const struct znode *n);

/*
 * Writer: sets (zk) or removes (NULL) the DNSSEC keys of the zone at apex (authd/signer.h).
 * Takes ownership; the replaced keys are freed by the next store_commit().
 */
struct zone_keys;
void store_apply_keys(struct store *s, const uint8_t *apex, struct zone_keys *zk);
/* Readers: the keys of a zone's apex node, or NULL. */
const struct zone_keys *znode_keys(const struct znode *n);
/* Readers: the vector (topic or local layer) of n that holds rs, for its signatures. */
const struct rrset_vec *znode_vec_of(const struct znode *n, const struct rrset *rs);

/*
 * Readers: calls fn for every node, in no particular order (admin, digests, tests).
 * Stops when fn returns non-zero.
 */
int store_walk(const struct store *s,
    int (*fn)(const struct znode *n, void *arg), void *arg);

#endif
