/* zonemd.c: zone summaries and RFC 8976 ZONEMD (SIMPLE, SHA-512) digests over the store. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "authd/zonemd.h"
#include "common/array.h"
#include "common/wire.h"

/* The topic's RRset of that type (the digest covers the topic, not instance-local data). */
static const struct rrset *
topic_find(const struct znode *n, uint16_t type)
{
	const struct rrset_vec *v = znode_rrsets(n);

	for (uint32_t i = 0; i < v->count; i++)
		if (v->sets[i]->type == type)
			return v->sets[i];
	return NULL;
}

struct item {
	const struct znode	*node;
	size_t			 zone;
};

struct collect {
	const struct store	*s;
	const struct znode	**apexes;
	size_t			 napex, capapex;
	struct item		*items;
	size_t			 nitems, capitems;
	int			 oom;
};

static int
collect_apex(const struct znode *n, void *arg)
{
	struct collect *c = arg;

	if (topic_find(n, DNS_TYPE_SOA) == NULL)
		return 0;
	if (array_grow((void **)&c->apexes, &c->capapex, c->napex + 1,
	    sizeof(*c->apexes), 1024) != 0) {
		c->oom = 1;
		return 1;
	}
	c->apexes[c->napex++] = n;
	return 0;
}

static int
cmp_apex(const void *x, const void *y)
{
	const struct znode *a = *(const struct znode *const *)x;
	const struct znode *b = *(const struct znode *const *)y;

	return dname_canon_cmp(znode_name(a), znode_name(b));
}

/* Index of the zone a name belongs to (the deepest apex above it), or -1. */
static long
zone_of(const struct collect *c, const uint8_t *name)
{
	for (const uint8_t *p = name; p != NULL; p = dname_parent(p)) {
		const struct znode *n = store_lookup(c->s, p, dname_len(p));
		size_t lo = 0, hi = c->napex;

		if (n == NULL || topic_find(n, DNS_TYPE_SOA) == NULL)
			continue;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			int r = dname_canon_cmp(znode_name(c->apexes[mid]), p);

			if (r == 0)
				return (long)mid;
			if (r < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
	}
	return -1;
}

static int
collect_item(const struct znode *n, void *arg)
{
	struct collect *c = arg;
	long z;

	if (znode_rrsets(n)->count == 0 || (z = zone_of(c, znode_name(n))) < 0)
		return 0;
	if (array_grow((void **)&c->items, &c->capitems, c->nitems + 1,
	    sizeof(*c->items), 1024) != 0) {
		c->oom = 1;
		return 1;
	}
	c->items[c->nitems].node = n;
	c->items[c->nitems++].zone = (size_t)z;
	return 0;
}

static int
cmp_item(const void *x, const void *y)
{
	const struct item *a = x, *b = y;

	if (a->zone != b->zone)
		return a->zone < b->zone ? -1 : 1;
	return dname_canon_cmp(znode_name(a->node), znode_name(b->node));
}

static int
hash_update(void *h, const uint8_t *p, size_t len)
{
	crypto_hash_sha512_update(h, p, len);
	return 0;
}

/* Hashes one RRset in canonical form (RFC 8976 3.3.1: as RRSIGs sign it). */
static int
hash_rrset(crypto_hash_sha512_state *h, const uint8_t *owner, const struct rrset *rs)
{
	return rrset_canonical(owner, rs, rs->ttl, hash_update, h);
}

static int
cmp_rrset_type(const void *x, const void *y)
{
	const struct rrset *const *a = x, *const *b = y;

	return (int)(*a)->type - (int)(*b)->type;
}

/* Adds one node's RRsets (by type) to its zone's digest and counts. */
static int
summarize_node(crypto_hash_sha512_state *h, struct zone_summary *z, const struct znode *n)
{
	const struct rrset_vec *v = znode_rrsets(n);
	const struct rrset *sorted[v->count ? v->count : 1];
	bool apex = dname_equal(znode_name(n), z->apex);

	memcpy(sorted, v->sets, v->count * sizeof(sorted[0]));
	qsort(sorted, v->count, sizeof(sorted[0]), cmp_rrset_type);
	for (uint32_t i = 0; i < v->count; i++) {
		z->rrsets++;
		z->records += sorted[i]->count;
		if (apex && sorted[i]->type == DNS_TYPE_ZONEMD)
			continue;	/* RFC 8976 3.3.1: the apex ZONEMD RRset is left out */
		if (hash_rrset(h, znode_name(n), sorted[i]) != 0)
			return -1;
	}
	return 0;
}

int
zonemd_summaries(const struct store *s, struct zone_summary **out, size_t *nout)
{
	struct collect c = { .s = s };
	struct zone_summary *zs = NULL;
	crypto_hash_sha512_state h;
	size_t i = 0;
	int rc = -1;

	store_walk(s, collect_apex, &c);
	if (c.oom)
		goto out;
	if (c.napex > 0)	/* qsort(NULL, 0, ...) is undefined: a store without zones */
		qsort(c.apexes, c.napex, sizeof(*c.apexes), cmp_apex);
	store_walk(s, collect_item, &c);
	if (c.oom || (zs = calloc(c.napex ? c.napex : 1, sizeof(*zs))) == NULL)
		goto out;
	if (c.nitems > 0)
		qsort(c.items, c.nitems, sizeof(*c.items), cmp_item);
	for (size_t z = 0; z < c.napex; z++) {
		memcpy(zs[z].apex, znode_name(c.apexes[z]), dname_len(znode_name(c.apexes[z])));
		zs[z].serial = rrset_soa_serial(topic_find(c.apexes[z], DNS_TYPE_SOA));
		crypto_hash_sha512_init(&h);
		for (; i < c.nitems && c.items[i].zone == z; i++)
			if (summarize_node(&h, &zs[z], c.items[i].node) != 0)
				goto out;
		crypto_hash_sha512_final(&h, zs[z].digest);
	}
	*out = zs;
	*nout = c.napex;
	zs = NULL;
	rc = 0;
out:
	free(zs);
	free(c.apexes);
	free(c.items);
	return rc;
}
