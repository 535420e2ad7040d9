/* zonemd.c: zone summaries and RFC 8976 ZONEMD (SIMPLE, SHA-512) digests over the store. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "authd/zonemd.h"
#include "common/array.h"
#include "common/wire.h"

/* A view node with the index of its zone. */
struct item {
	const struct store_view_node	*vn;
	size_t				 zone;
};

struct collect {
	const struct store_view_node	**apexes;
	size_t				  napex, capapex;
	struct item			 *items;
	size_t				  nitems, capitems;
};

static int
cmp_apex(const void *x, const void *y)
{
	const struct store_view_node *a = *(const struct store_view_node *const *)x;
	const struct store_view_node *b = *(const struct store_view_node *const *)y;

	return dname_canon_cmp(znode_name(a->node), znode_name(b->node));
}

/* Index of the zone a name belongs to (the deepest apex at or above it), or -1. */
static long
zone_of(const struct collect *c, const uint8_t *name)
{
	for (const uint8_t *p = name; p != NULL; p = dname_parent(p)) {
		size_t lo = 0, hi = c->napex;

		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			int r = dname_canon_cmp(znode_name(c->apexes[mid]->node), p);

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
cmp_item(const void *x, const void *y)
{
	const struct item *a = x, *b = y;

	if (a->zone != b->zone)
		return a->zone < b->zone ? -1 : 1;
	return dname_canon_cmp(znode_name(a->vn->node), znode_name(b->vn->node));
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
summarize_node(crypto_hash_sha512_state *h, struct zone_summary *z,
    const struct store_view_node *vn)
{
	const struct rrset_vec *v = vn->vec;
	const struct rrset *sorted[v->count ? v->count : 1];
	const uint8_t *name = znode_name(vn->node);
	bool apex = dname_equal(name, z->apex);

	memcpy(sorted, v->sets, v->count * sizeof(sorted[0]));
	qsort(sorted, v->count, sizeof(sorted[0]), cmp_rrset_type);
	for (uint32_t i = 0; i < v->count; i++) {
		z->rrsets++;
		z->records += sorted[i]->count;
		if (apex && sorted[i]->type == DNS_TYPE_ZONEMD)
			continue;	/* RFC 8976 3.3.1: the apex ZONEMD RRset is left out */
		if (hash_rrset(h, name, sorted[i]) != 0)
			return -1;
	}
	return 0;
}

int
zonemd_summaries(const struct store_view *v, struct zone_summary **out, size_t *nout)
{
	struct collect c = { NULL, 0, 0, NULL, 0, 0 };
	struct zone_summary *zs = NULL;
	crypto_hash_sha512_state h;
	size_t i = 0;
	int rc = -1;

	for (size_t k = 0; k < v->n; k++) {
		if (rrset_vec_find(v->nodes[k].vec, DNS_TYPE_SOA) == NULL)
			continue;
		if (array_grow((void **)&c.apexes, &c.capapex, c.napex + 1, sizeof(*c.apexes),
		    1024) != 0)
			goto out;
		c.apexes[c.napex++] = &v->nodes[k];
	}
	if (c.napex > 0)	/* qsort(NULL, 0, ...) is undefined: a store without zones */
		qsort(c.apexes, c.napex, sizeof(*c.apexes), cmp_apex);
	for (size_t k = 0; k < v->n; k++) {
		long z;

		if (v->nodes[k].vec->count == 0 ||
		    (z = zone_of(&c, znode_name(v->nodes[k].node))) < 0)
			continue;
		if (array_grow((void **)&c.items, &c.capitems, c.nitems + 1, sizeof(*c.items),
		    1024) != 0)
			goto out;
		c.items[c.nitems].vn = &v->nodes[k];
		c.items[c.nitems++].zone = (size_t)z;
	}
	if ((zs = calloc(c.napex ? c.napex : 1, sizeof(*zs))) == NULL)
		goto out;
	if (c.nitems > 0)
		qsort(c.items, c.nitems, sizeof(*c.items), cmp_item);
	for (size_t z = 0; z < c.napex; z++) {
		const uint8_t *apex = znode_name(c.apexes[z]->node);

		memcpy(zs[z].apex, apex, dname_len(apex));
		zs[z].serial = rrset_soa_serial(rrset_vec_find(c.apexes[z]->vec, DNS_TYPE_SOA));
		crypto_hash_sha512_init(&h);
		for (; i < c.nitems && c.items[i].zone == z; i++)
			if (summarize_node(&h, &zs[z], c.items[i].vn) != 0)
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
