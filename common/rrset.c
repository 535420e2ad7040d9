/* rrset.c: building immutable RRsets (sorted, unique RDATA, minimum TTL) and iterating them. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <libknot/libknot.h>

#include "common/dname.h"
#include "common/rdata.h"
#include "common/rrset.h"
#include "common/wire.h"

#define RRSET_MAXCOUNT	65535
#define RRSET_MAXWIRE	65535
/* Worst case per record on the wire: uncompressed owner, TYPE CLASS TTL RDLENGTH. */
#define RR_OVERHEAD	(255 + 10)

static ssize_t soa_serial_at(const struct rrset *rs);

uint32_t
rrset_soa_serial(const struct rrset *rs)
{
	ssize_t at = soa_serial_at(rs);
	const uint8_t *p;

	if (at < 0)
		return 0;
	p = rs->data + at;
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Where the SERIAL of rs's first record starts in rs->data, or -1 (see rrset_soa_serial). */
static ssize_t
soa_serial_at(const struct rrset *rs)
{
	struct rdata_ref rd;
	size_t pos = 0;

	if (rrset_first(rs, &rd) == NULL)
		return -1;
	for (int i = 0; i < 2; i++) {	/* MNAME, RNAME */
		while (pos < rd.len && rd.data[pos] != 0)
			pos += 1 + (size_t)rd.data[pos];
		pos++;
	}
	if (pos + 4 > rd.len)
		return -1;
	return (ssize_t)(rd.data - rs->data) + (ssize_t)pos;
}

struct rrset *
rrset_soa_with_serial(const struct rrset *rs, uint32_t serial)
{
	ssize_t at = soa_serial_at(rs);
	struct rrset *copy;

	if (at < 0 || (copy = rrset_dup(rs)) == NULL)
		return NULL;
	copy->data[at] = (uint8_t)(serial >> 24);
	copy->data[at + 1] = (uint8_t)(serial >> 16);
	copy->data[at + 2] = (uint8_t)(serial >> 8);
	copy->data[at + 3] = (uint8_t)serial;
	return copy;
}

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

/* Octets of the uncompressed name at p, which must end within len octets; 0 if it does not. */
static size_t
name_span(const uint8_t *p, size_t len)
{
	size_t i = 0;

	while (i < len && i < 255) {
		if (p[i] == 0)
			return i + 1;
		if (p[i] > 63)
			return 0;	/* a compression pointer or an unknown label type */
		i += 1 + (size_t)p[i];
	}
	return 0;
}

struct rrset *
rrset_dup(const struct rrset *rs)
{
	struct rrset *d = malloc(sizeof(*rs) + rs->datalen);

	if (d != NULL)
		memcpy(d, rs, sizeof(*rs) + rs->datalen);
	return d;
}

uint32_t
rrset_soa_negative_ttl(const struct rrset *soa)
{
	struct rdata_ref rd;
	size_t p, n;
	uint32_t minimum;

	if (rrset_first(soa, &rd) == NULL || (p = name_span(rd.data, rd.len)) == 0 ||
	    (n = name_span(rd.data + p, rd.len - p)) == 0 || p + n + 20 != rd.len)
		return 0;
	/* SERIAL REFRESH RETRY EXPIRE MINIMUM: MINIMUM is the last of the five. */
	minimum = (uint32_t)rd.data[rd.len - 4] << 24 | (uint32_t)rd.data[rd.len - 3] << 16 |
	    (uint32_t)rd.data[rd.len - 2] << 8 | rd.data[rd.len - 1];
	return soa->ttl < minimum ? soa->ttl : minimum;
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

static uint8_t *
builder_data(struct rrset_builder *b)
{
	return b->heapdata != NULL ? b->heapdata : b->inline_data;
}

static struct rrset_builder_rec *
builder_recs(struct rrset_builder *b)
{
	return b->heaprecs != NULL ? b->heaprecs : b->inline_recs;
}

static int
builder_rec_cmp(const void *x, const void *y, void *arena)
{
	const struct rrset_builder_rec *a = x, *c = y;
	struct rdata_ref ra = { (const uint8_t *)arena + a->off, a->len };
	struct rdata_ref rc = { (const uint8_t *)arena + c->off, c->len };

	return rdata_cmp(&ra, &rc);
}

void
rrset_builder_init(struct rrset_builder *b, uint16_t type)
{
	b->type = type;
	b->ttl = UINT32_MAX;
	b->count = 0;
	b->wire = 0;
	b->reccap = RRSET_BUILDER_INLINE_RECS;
	b->datalen = 0;
	b->datacap = RRSET_BUILDER_INLINE_DATA;
	b->heaprecs = NULL;
	b->heapdata = NULL;
}

/* True when the builder already holds this RDATA (RRsets are small: see rrset_builder_add). */
static int
builder_has(struct rrset_builder *b, const uint8_t *rdata, uint16_t len)
{
	const struct rrset_builder_rec *r = builder_recs(b);
	const uint8_t *data = builder_data(b);

	for (size_t i = 0; i < b->count; i++)
		if (r[i].len == len && (len == 0 || memcmp(data + r[i].off, rdata, len) == 0))
			return 1;
	return 0;
}

/* Room for one more record of len octets: the arrays move to the heap when they outgrow. */
static int
builder_reserve(struct rrset_builder *b, uint16_t len)
{
	if (b->count == b->reccap) {
		size_t cap = b->reccap * 2;
		struct rrset_builder_rec *r = b->heaprecs == NULL ? malloc(cap * sizeof(*r)) :
		    realloc(b->heaprecs, cap * sizeof(*r));

		if (r == NULL)
			return -1;
		if (b->heaprecs == NULL)
			memcpy(r, b->inline_recs, sizeof(b->inline_recs));
		b->heaprecs = r;
		b->reccap = cap;
	}
	if (b->datalen + len > b->datacap) {
		size_t cap = b->datacap * 2;
		uint8_t *d;

		while (cap < b->datalen + len)
			cap *= 2;
		d = b->heapdata == NULL ? malloc(cap) : realloc(b->heapdata, cap);
		if (d == NULL)
			return -1;
		if (b->heapdata == NULL)
			memcpy(d, b->inline_data, b->datalen);
		b->heapdata = d;
		b->datacap = cap;
	}
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
	struct rrset_builder_rec *r;

	if (builder_has(b, rdata, len)) {
		b->ttl = ttl < b->ttl ? ttl : b->ttl;
		return 0;
	}
	if (b->count >= RRSET_MAXCOUNT || b->wire + RR_OVERHEAD + len > RRSET_MAXWIRE)
		return -1;
	if (builder_reserve(b, len) != 0)
		return -1;
	r = &builder_recs(b)[b->count++];
	r->off = (uint32_t)b->datalen;
	r->len = len;
	if (len > 0)
		memcpy(builder_data(b) + b->datalen, rdata, len);
	b->datalen += len;
	b->wire += RR_OVERHEAD + len;
	b->ttl = ttl < b->ttl ? ttl : b->ttl;
	return 0;
}

/* Returns the new RRset (NULL on OOM); either way the builder is left empty and reusable. */
struct rrset *
rrset_builder_finish(struct rrset_builder *b)
{
	struct rrset_builder_rec *r = builder_recs(b);
	const uint8_t *data = builder_data(b);
	size_t datalen = b->datalen + b->count * sizeof(uint16_t);
	struct rrset *rs;
	uint8_t *p;

	if (b->count > 1)
		qsort_r(r, b->count, sizeof(*r), builder_rec_cmp, (void *)data);
	rs = malloc(sizeof(*rs) + datalen);
	if (rs != NULL) {
		rs->type = b->type;
		rs->count = (uint16_t)b->count;
		rs->ttl = b->count > 0 ? b->ttl : 0;
		rs->datalen = (uint32_t)datalen;
		rs->ver_lo = rs->ver_hi = 0;
		p = rs->data;
		for (size_t i = 0; i < b->count; i++) {
			memcpy(p, &r[i].len, sizeof(uint16_t));
			memcpy(p + sizeof(uint16_t), data + r[i].off, r[i].len);
			p += sizeof(uint16_t) + r[i].len;
		}
	}
	rrset_builder_clear(b);
	return rs;
}

/* Frees the collected records; the builder keeps its type and can be used again. */
void
rrset_builder_clear(struct rrset_builder *b)
{
	free(b->heaprecs);
	free(b->heapdata);
	rrset_builder_init(b, b->type);
}

/* ---- canonical form ---- */

struct canon_rec {
	const uint8_t	*data;
	uint16_t	 len;
};

/* RFC 4034 6.3: RDATA as left-justified octet strings, a prefix sorting first. */
static int
canon_cmp(const void *x, const void *y)
{
	const struct canon_rec *a = x, *b = y;
	int c = memcmp(a->data, b->data, a->len < b->len ? a->len : b->len);

	return c != 0 ? c : (int)a->len - (int)b->len;
}

static int
lower_name(void *rd, size_t off, size_t n)
{
	dname_lower((uint8_t *)rd + off);
	return 0;
}

int
rrset_canonical(const uint8_t *owner, const struct rrset *rs, uint32_t ttl,
    rrset_emit_fn *emit, void *arg)
{
	/* A typical RRset from the stack; a large one from one heap block. */
	struct canon_rec srecs[32], *recs = srecs;
	uint8_t slower[1024], *lowered = slower, *heap = NULL, hdr[10];
	bool lower = knot_rrtype_should_be_lowercased(rs->type);
	size_t olen = dname_len(owner), n = 0, lpos = 0;
	struct rdata_ref rd;
	int rc = 0;

	if (rs->count > sizeof(srecs) / sizeof(srecs[0]) || rs->datalen > sizeof(slower)) {
		heap = malloc((size_t)rs->count * sizeof(*recs) + rs->datalen);
		if (heap == NULL)
			return -1;
		recs = (struct canon_rec *)(void *)heap;
		lowered = heap + (size_t)rs->count * sizeof(*recs);
	}
	for (const uint8_t *it = rrset_first(rs, &rd); it != NULL; it = rrset_next(rs, it, &rd)) {
		recs[n].data = rd.data;
		recs[n].len = rd.len;
		if (lower) {
			memcpy(lowered + lpos, rd.data, rd.len);
			(void)rdata_names(rs->type, lowered + lpos, rd.len, lower_name,
			    lowered + lpos);
			recs[n].data = lowered + lpos;
			lpos += rd.len;
		}
		n++;
	}
	/* Stored RDATA is sorted and unique already: only lower-casing can change that. */
	if (lower)
		qsort(recs, n, sizeof(recs[0]), canon_cmp);
	wire_write16(hdr, rs->type);
	wire_write16(hdr + 2, DNS_CLASS_IN);
	wire_write16(hdr + 4, (uint16_t)(ttl >> 16));
	wire_write16(hdr + 6, (uint16_t)ttl);
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (i > 0 && canon_cmp(&recs[i - 1], &recs[i]) == 0)
			continue;
		wire_write16(hdr + 8, recs[i].len);
		if ((rc = emit(arg, owner, olen)) == 0 && (rc = emit(arg, hdr, sizeof(hdr))) == 0)
			rc = emit(arg, recs[i].data, recs[i].len);
	}
	free(heap);
	return rc;
}
