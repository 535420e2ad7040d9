/* snapshot.h: the store and its offsets in a file, so that restarts do not replay the topic. */
#ifndef STREAMDNS_SNAPSHOT_H
#define STREAMDNS_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "authd/store.h"

struct snapshot_offsets {
	int32_t		 npart;
	int64_t		*next;		/* next offset to read, per partition; owned */
};

/*
 * Writes every RRset of the store, every zone's key set and the offsets to path, atomically: a temporary file,
 * fsync, rename, fsync of the directory. The file ends with a BLAKE2b checksum of all
 * that precedes it. Writer thread only (the store must not change meanwhile).
 * Returns 0, or -1 with a log line.
 */
int snapshot_write(const char *path, const char *topic, const struct store *s,
    const int64_t *next, int32_t npart, uint64_t *rrsets_written);

/*
 * What the loader does with each zone's DNSSEC key set (the event's value, keys sealed):
 * apply(arg, apex, value, len), which unseals and stores it as the consumer would.
 */
struct snapshot_keys {
	void	(*apply)(void *arg, const uint8_t *apex, const char *value, size_t len);
	void	*arg;
};

/*
 * Loads path into the (empty) store when it verifies and belongs to topic. The file is
 * checked whole (checksum, then structure) before anything is applied, so a bad file
 * leaves the store empty. Key sets go to keys->apply (skipped when keys is NULL: only
 * tests that have none pass it). Returns 0 and fills off (caller frees off->next), 1
 * when there is no snapshot, or -1 with a log line naming why it was ignored.
 */
int snapshot_load(const char *path, const char *topic, struct store *s,
    struct snapshot_offsets *off, uint64_t *rrsets_loaded, const struct snapshot_keys *keys);

#endif
