/* rrset.c: building immutable RRsets (sorted, unique RDATA, minimum TTL) and iterating them. */
#include <stdlib.h>
#include <string.h>

#include "common/rrset.h"

#define RRSET_MAXCOUNT	65535
#define RRSET_MAXWIRE	65535
/* Worst case per record on the wire: uncompressed owner, TYPE CLASS TTL RDLENGTH. */
#define RR_OVERHEAD	(255 + 10)

/* Reads the record header at it (length in host order, unaligned) and fills rd. */
static const uint8_t *
rrset_read(const uint8_t *it, struct rdata_ref *rd)
{
	uint16_t len;

	memcpy(&len, it, sizeof(len));
	rd->len = len;
	rd->data = it + sizeof(len);
	return it;
}

const uint8_t *
rrset_first(const struct rrset *rs, struct rdata_ref *rd)
{
	if (rs == NULL || rs->count == 0)
		return NULL;
	return rrset_read(rs->data, rd);
}

const uint8_t *
rrset_next(const struct rrset *rs, const uint8_t *it, struct rdata_ref *rd)
{
	uint16_t len;

	memcpy(&len, it, sizeof(len));
	it += sizeof(len) + len;
	if (it >= rs->data + rs->datalen)
		return NULL;
	return rrset_read(it, rd);
}

/* Canonical RDATA order (RFC 4034 6.3): octet strings, a shorter prefix sorts first. */
static int
rdata_cmp(const struct rdata_ref *a, const struct rdata_ref *b)
{
	size_t n = a->len < b->len ? a->len : b->len;
	int c = n > 0 ? memcmp(a->data, b->data, n) : 0;

	if (c != 0)
		return c;
	return (a->len > b->len) - (a->len < b->len);
}

static int
rdata_qsort_cmp(const void *a, const void *b)
{
	return rdata_cmp(a, b);
}

void
rrset_builder_init(struct rrset_builder *b, uint16_t type)
{
	b->type = type;
	b->ttl = UINT32_MAX;
	b->count = 0;
	b->cap = 0;
	b->recs = NULL;
}

/* True when the builder already holds this RDATA (RRsets are small: see rrset_builder_add). */
static int
builder_has(const struct rrset_builder *b, const struct rdata_ref *rd)
{
	for (size_t i = 0; i < b->count; i++)
		if (rdata_cmp(&b->recs[i], rd) == 0)
			return 1;
	return 0;
}

/* Worst-case wire size of the records held, as they would stand in one message. */
static size_t
builder_wire_size(const struct rrset_builder *b)
{
	size_t size = 0;

	for (size_t i = 0; i < b->count; i++)
		size += RR_OVERHEAD + b->recs[i].len;
	return size;
}

static int
builder_grow(struct rrset_builder *b)
{
	size_t cap = b->cap == 0 ? 4 : b->cap * 2;
	struct rdata_ref *recs;

	recs = realloc(b->recs, cap * sizeof(*recs));
	if (recs == NULL)
		return -1;
	b->recs = recs;
	b->cap = cap;
	return 0;
}

/*
 * Duplicates are dropped here, so the size check counts the RRset as it will be. The
 * 64 KiB bound keeps an RRset to a few hundred records, so linear scans are cheap.
 */
int
rrset_builder_add(struct rrset_builder *b, uint32_t ttl, const uint8_t *rdata,
    uint16_t len)
{
	struct rdata_ref rd = { rdata, len };
	uint8_t *copy;

	if (builder_has(b, &rd)) {
		b->ttl = ttl < b->ttl ? ttl : b->ttl;
		return 0;
	}
	if (b->count >= RRSET_MAXCOUNT ||
	    builder_wire_size(b) + RR_OVERHEAD + len > RRSET_MAXWIRE)
		return -1;
	if (b->count == b->cap && builder_grow(b) != 0)
		return -1;
	copy = malloc(len > 0 ? len : 1);
	if (copy == NULL)
		return -1;
	if (len > 0)
		memcpy(copy, rdata, len);
	b->recs[b->count].data = copy;
	b->recs[b->count].len = len;
	b->count++;
	b->ttl = ttl < b->ttl ? ttl : b->ttl;
	return 0;
}

/* Returns the new RRset (NULL on OOM); either way the builder is left empty and reusable. */
struct rrset *
rrset_builder_finish(struct rrset_builder *b)
{
	struct rrset *rs;
	size_t datalen = 0;
	uint8_t *p;

	if (b->count > 1)
		qsort(b->recs, b->count, sizeof(*b->recs), rdata_qsort_cmp);
	for (size_t i = 0; i < b->count; i++)
		datalen += sizeof(uint16_t) + b->recs[i].len;
	rs = malloc(sizeof(*rs) + datalen);
	if (rs != NULL) {
		rs->type = b->type;
		rs->count = (uint16_t)b->count;
		rs->ttl = b->count > 0 ? b->ttl : 0;
		rs->datalen = (uint32_t)datalen;
		p = rs->data;
		for (size_t i = 0; i < b->count; i++) {
			memcpy(p, &b->recs[i].len, sizeof(uint16_t));
			memcpy(p + sizeof(uint16_t), b->recs[i].data, b->recs[i].len);
			p += sizeof(uint16_t) + b->recs[i].len;
		}
	}
	rrset_builder_clear(b);
	return rs;
}

/* Frees the collected records; the builder keeps its type and can be used again. */
void
rrset_builder_clear(struct rrset_builder *b)
{
	for (size_t i = 0; i < b->count; i++)
		free((void *)b->recs[i].data);
	free(b->recs);
	rrset_builder_init(b, b->type);
}
