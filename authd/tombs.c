/*
 * tombs.c: the versions of deleted RRsets (tombs.h). A chained hash table: deletions are
 * few next to the store's names, and entries come and go (an RRset written again drops
 * its entry), which chaining makes simple. Entries older than the window are dropped
 * when the table would grow.
 */
#include <stdlib.h>
#include <string.h>

#include "authd/tombs.h"
#include "common/dname.h"
#include "common/log.h"

struct tomb {
	struct tomb	*next;
	uint64_t	 hash;
	int64_t		 offset;
	uint64_t	*after;		/* NULL, or nafter positions (tombs_set_after) */
	uint32_t	 nafter;
	uint32_t	 partition;
	uint16_t	 type;
	uint8_t		 name[];
};

struct tombs {
	struct tomb	**bucket;
	size_t		  mask;
	size_t		  count;
	int64_t		 *latest;	/* per partition: the highest deletion offset seen */
	uint32_t	  nlatest;
};

static void
tomb_free(struct tomb *e)
{
	free(e->after);
	free(e);
}

static uint64_t
tomb_hash(const uint8_t *owner, uint16_t type)
{
	return dname_hash(owner, dname_len(owner)) ^ ((uint64_t)type * 0x9e3779b97f4a7c15ULL);
}

struct tombs *
tombs_new(void)
{
	struct tombs *t = xcalloc(1, sizeof(*t));

	t->mask = 63;
	t->bucket = xcalloc(t->mask + 1, sizeof(*t->bucket));
	return t;
}

void
tombs_free(struct tombs *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i <= t->mask; i++) {
		struct tomb *e = t->bucket[i], *next;

		for (; e != NULL; e = next) {
			next = e->next;
			tomb_free(e);
		}
	}
	free(t->bucket);
	free(t->latest);
	free(t);
}

static struct tomb **
find(const struct tombs *t, const uint8_t *owner, uint16_t type, uint64_t h)
{
	struct tomb **pp = &t->bucket[h & t->mask];

	for (; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->hash == h && (*pp)->type == type && dname_equal((*pp)->name, owner))
			return pp;
	return pp;
}

/* Doubles the table, leaving out what no event can use any more. */
static void
grow(struct tombs *t)
{
	size_t mask = 2 * t->mask + 1;
	struct tomb **b = xcalloc(mask + 1, sizeof(*b));

	for (size_t i = 0; i <= t->mask; i++) {
		struct tomb *e = t->bucket[i], *next;

		for (; e != NULL; e = next) {
			next = e->next;
			if (e->partition < t->nlatest &&
			    t->latest[e->partition] - e->offset > TOMBS_WINDOW) {
				tomb_free(e);
				t->count--;
				continue;
			}
			e->next = b[e->hash & mask];
			b[e->hash & mask] = e;
		}
	}
	free(t->bucket);
	t->bucket = b;
	t->mask = mask;
}

void
tombs_set(struct tombs *t, const uint8_t *owner, uint16_t type, uint32_t partition,
    int64_t offset)
{
	tombs_set_after(t, owner, type, partition, offset, NULL, 0);
}

void
tombs_set_after(struct tombs *t, const uint8_t *owner, uint16_t type, uint32_t partition,
    int64_t offset, const uint64_t *after, size_t n)
{
	uint64_t h = tomb_hash(owner, type);
	struct tomb **pp = find(t, owner, type, h), *e;
	size_t len = dname_len(owner);

	if (partition >= t->nlatest) {
		if ((t->latest = realloc(t->latest, (partition + 1) * sizeof(*t->latest))) ==
		    NULL)
			fatal("tombs");
		while (t->nlatest <= partition)
			t->latest[t->nlatest++] = -1;
	}
	if (offset > t->latest[partition])
		t->latest[partition] = offset;
	if ((e = *pp) == NULL) {
		if (t->count > 2 * (t->mask + 1)) {
			grow(t);
			pp = find(t, owner, type, h);
		}
		e = xmalloc(sizeof(*e) + len);
		e->next = NULL;
		e->after = NULL;
		e->nafter = 0;
		e->hash = h;
		e->type = type;
		memcpy(e->name, owner, len);
		*pp = e;
		t->count++;
	}
	e->partition = partition;
	e->offset = offset;
	free(e->after);
	e->after = NULL;
	e->nafter = 0;
	if (n > 0) {
		e->after = xmalloc(n * sizeof(*after));
		memcpy(e->after, after, n * sizeof(*after));
		e->nafter = (uint32_t)n;
	}
}

size_t
tombs_after(const struct tombs *t, const uint8_t *owner, uint16_t type, uint64_t *out,
    size_t cap)
{
	const struct tomb *e;
	size_t n;

	if (t->count == 0 || (e = *find(t, owner, type, tomb_hash(owner, type))) == NULL)
		return 0;
	n = e->nafter < cap ? e->nafter : cap;
	if (n > 0)
		memcpy(out, e->after, n * sizeof(*out));
	return e->nafter;
}

void
tombs_clear(struct tombs *t, const uint8_t *owner, uint16_t type)
{
	struct tomb **pp, *e;

	if (t->count == 0)
		return;
	pp = find(t, owner, type, tomb_hash(owner, type));
	if ((e = *pp) == NULL)
		return;
	*pp = e->next;
	tomb_free(e);
	t->count--;
}

int64_t
tombs_get(const struct tombs *t, const uint8_t *owner, uint16_t type, int64_t offset)
{
	const struct tomb *e;

	if (t->count == 0)
		return -1;
	e = *find(t, owner, type, tomb_hash(owner, type));
	if (e == NULL || offset - e->offset > TOMBS_WINDOW)
		return -1;
	return e->offset;
}

int64_t
tombs_peek(const struct tombs *t, const uint8_t *owner, uint16_t type)
{
	const struct tomb *e;

	if (t->count == 0)
		return -1;
	e = *find(t, owner, type, tomb_hash(owner, type));
	return e != NULL ? e->offset : -1;
}

int
tombs_walk(const struct tombs *t, int (*fn)(void *arg, const uint8_t *owner,
    uint16_t type, uint32_t partition, int64_t offset), void *arg)
{
	for (size_t i = 0; i <= t->mask; i++) {
		for (const struct tomb *e = t->bucket[i]; e != NULL; e = e->next) {
			int rc = fn(arg, e->name, e->type, e->partition, e->offset);

			if (rc != 0)
				return rc;
		}
	}
	return 0;
}

size_t
tombs_count(const struct tombs *t)
{
	return t->count;
}
