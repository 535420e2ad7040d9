/*
 * tombs.h: the versions of deleted RRsets. An RRset's version is the offset of the event
 * that set it (rrset_version()); once deleted, the store holds nothing to carry it, so
 * the offset of the deletion is kept here, for the consumer to judge conditional events
 * (updater.h): an update computed from an RRset that was deleted since must be refused
 * like one computed from an RRset that was changed since.
 *
 * Writer only (the consumer thread). Deterministic: a deletion's offset counts for an
 * event of the same partition at most TOMBS_WINDOW offsets later, on every instance
 * alike, and is forgotten after that (writers read and write within milliseconds; the
 * window is millions of events). Snapshots keep the table.
 */
#ifndef STREAMDNS_TOMBS_H
#define STREAMDNS_TOMBS_H

#include <stddef.h>
#include <stdint.h>

#include "common/event.h"

#define TOMBS_WINDOW	EVENT_TOMB_WINDOW

struct tombs;

struct tombs *tombs_new(void);
void tombs_free(struct tombs *t);
/* (owner, type) was deleted by the event at (partition, offset). owner: lower-case wire. */
void tombs_set(struct tombs *t, const uint8_t *owner, uint16_t type, uint32_t partition,
    int64_t offset);
/*
 * The same, with what must be applied before the entry can be relied on: after[0..n),
 * each partition << 48 | offset (an update's guard: the update's own events).
 */
void tombs_set_after(struct tombs *t, const uint8_t *owner, uint16_t type,
    uint32_t partition, int64_t offset, const uint64_t *after, size_t n);
/* Copies the entry's after list (up to cap); returns its length, 0 without an entry. */
size_t tombs_after(const struct tombs *t, const uint8_t *owner, uint16_t type,
    uint64_t *out, size_t cap);
/* (owner, type) has a value again. */
void tombs_clear(struct tombs *t, const uint8_t *owner, uint16_t type);
/*
 * The offset of (owner, type)'s deletion as it counts for an event at offset (same
 * partition), or -1: none known, or older than the window.
 */
int64_t tombs_get(const struct tombs *t, const uint8_t *owner, uint16_t type,
    int64_t offset);
/* The same without the window: the latest deletion's offset, or -1. */
int64_t tombs_peek(const struct tombs *t, const uint8_t *owner, uint16_t type);
/* Every entry (snapshots); stops when fn returns non-zero. */
int tombs_walk(const struct tombs *t, int (*fn)(void *arg, const uint8_t *owner,
    uint16_t type, uint32_t partition, int64_t offset), void *arg);
size_t tombs_count(const struct tombs *t);

#endif
