/* local.h: instance-local records ([local] zone-file) layered over the topic's. */
#ifndef STREAMDNS_LOCAL_H
#define STREAMDNS_LOCAL_H

#include <stddef.h>
#include <stdint.h>

#include "authd/store.h"
#include "common/dname.h"

struct local_rrset {
	uint8_t		 owner[DNAME_MAXLEN];
	uint16_t	 type;
	struct rrset	*rrset;
};

struct local_data {
	size_t			 n;
	struct local_rrset	*sets;
};

/*
 * Reads the master file at path with the project's zone-file reader. Every problem is
 * logged as "file:line: reason"; then NULL is returned and the caller keeps what it had.
 */
struct local_data *local_load(const char *path);
void local_free(struct local_data *d);

/*
 * Writer thread: makes the store's local layer equal to next (removing what prev had and
 * next has not). The store gets copies; prev and next stay owned by the caller.
 */
void local_apply(struct store *s, const struct local_data *prev,
    const struct local_data *next);

#endif
