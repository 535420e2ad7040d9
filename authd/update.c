/* update.c: the RFC 2136 UPDATE engine: prerequisites, prescan and updates, on whole RRsets. */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libknot/libknot.h>
#include <urcu.h>

#include "authd/signer.h"
#include "authd/store.h"
#include "authd/update.h"
#include "common/array.h"
#include "common/dname.h"
#include "common/event.h"
#include "common/log.h"
#include "common/rdata.h"
#include "common/rrset.h"
#include "common/wire.h"

#define DNS_CLASS_NONE	254		/* RFC 2136 1.3: "none", for deletions */
#define NONE		SIZE_MAX	/* no set: the end of a name's list */
#define RDATA_MAX	UINT16_MAX	/* an RDLENGTH; names decompressed must fit too */

/*
 * The working copy of the zone: every name and RRset the updates touch, each RRset
 * starting from the topic's value and changed by the updates in message order. Records
 * point into the stored RRsets (valid under the one RCU read lock the engine runs in) or
 * into copies of the message's RDATA (blocks).
 */
struct wrec {
	const uint8_t	*rd;
	uint16_t	 len;
};

struct wset {
	size_t			 name;		/* index into names */
	size_t			 next;		/* the name's next set, or NONE */
	uint16_t		 type;
	const struct rrset	*stored;	/* the topic's, NULL when absent */
	uint32_t		 ttl;
	struct wrec		*recs;
	size_t			 n, cap;
};

struct wname {
	uint8_t			 owner[DNAME_MAXLEN];	/* lower case */
	const struct znode	*node;		/* NULL when the name does not exist */
	size_t			 first;		/* its first set, or NONE */
	bool			 apex;
};

/* A value-dependent prerequisite RR (class IN), kept until all of them are read. */
struct preq {
	const uint8_t	*owner;		/* lower case */
	uint16_t	 type;
	const uint8_t	*rd;
	uint16_t	 len;
};

struct uctx {
	struct store		*s;
	struct wire_msg		 m;
	const uint8_t		*zone;		/* lower case */
	const struct znode	*apex;
	bool			 refuse_own;	/* refuse adds of sign_own_type() types */
	struct wname		*names;
	size_t			 nnames, capnames;
	struct wset		*sets;
	size_t			 nsets, capsets;
	uint32_t		*table;		/* names by hash: index + 1, 0 free */
	size_t			 tmask;
	uint8_t			**blocks;	/* copies of the message's names and RDATA */
	size_t			 nblocks, capblocks;
	uint8_t			*scratch;	/* RDATA_MAX octets: RDATA unpacked */
	struct event_decoder	*dec;		/* checks RDATA (event_rdata_check) */
	struct event_decoder	*own_dec;	/* made here when the caller gave none */
	char			*why;
	size_t			 whylen;
};

/* ---- small helpers ---- */

static int fail(struct uctx *u, int rcode, const uint8_t *owner, uint16_t type,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Sets why to "<owner> <TYPE>: <reason>" (owner NULL: the reason alone); returns rcode. */
static int
fail(struct uctx *u, int rcode, const uint8_t *owner, uint16_t type, const char *fmt, ...)
{
	char name[DNAME_STRLEN], tname[32], what[200];
	va_list ap;

	if (u->why == NULL || u->whylen == 0)
		return rcode;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (owner == NULL) {
		snprintf(u->why, u->whylen, "%s", what);
		return rcode;
	}
	if (knot_rrtype_to_string(type, tname, sizeof(tname)) < 0)
		snprintf(tname, sizeof(tname), "TYPE%u", type);
	snprintf(u->why, u->whylen, "%s %s: %s", dname_to_str(owner, name, sizeof(name)),
	    tname, what);
	return rcode;
}

/* OOM is fatal in the daemon (STYLE 2); the engine holds nothing a caller could save. */
static void
grow(void **p, size_t *cap, size_t need, size_t size)
{
	if (array_grow(p, cap, need, size, 8) != 0)
		fatalx("update: out of memory");
}

/* A copy of len octets that lives as long as the context. */
static const uint8_t *
keep(struct uctx *u, const uint8_t *p, size_t len)
{
	uint8_t *b = xmalloc(len > 0 ? len : 1);

	grow((void **)&u->blocks, &u->capblocks, u->nblocks + 1, sizeof(*u->blocks));
	u->blocks[u->nblocks++] = b;
	memcpy(b, p, len);
	return b;
}

/* RFC 1982 3.2: a is greater than b. */
static bool
serial_gt(uint32_t a, uint32_t b)
{
	return a != b && (int32_t)(a - b) > 0;
}

/* The SERIAL of SOA RDATA (names uncompressed); false when it is too short. */
static bool
soa_serial(const uint8_t *rd, uint16_t len, uint32_t *serial)
{
	size_t pos = 0;

	for (int i = 0; i < 2; i++) {	/* MNAME, RNAME */
		while (pos < len && rd[pos] != 0)
			pos += 1 + (size_t)rd[pos];
		pos++;
	}
	if (pos + 4 > len)
		return false;
	*serial = (uint32_t)rd[pos] << 24 | (uint32_t)rd[pos + 1] << 16 |
	    (uint32_t)rd[pos + 2] << 8 | rd[pos + 3];
	return true;
}

/*
 * Types no RRset can have: RFC 6895 3.1's Q-types and meta-types (128-255, OPT, TSIG,
 * TKEY, ...) and 0, the set the event decoder refuses (common/event.c), so that an update
 * cannot produce an event every consumer would reject.
 */
static bool
type_is_meta(uint16_t type)
{
	return type == 0 || knot_rrtype_is_metatype(type) || (type >= 128 && type <= 255);
}

/* RFC 4035 2.5 (and RFC 5155 for NSEC3): the types a CNAME may share its owner with. */
static bool
cname_may_coexist(uint16_t type)
{
	return type == DNS_TYPE_RRSIG || type == DNS_TYPE_NSEC || type == DNS_TYPE_NSEC3;
}

/* ---- RDATA equality, as RFC 4034 6.2 canonical form ---- */

struct req {
	const uint8_t	*a, *b;
	size_t		 pos;		/* compared exactly up to here */
};

static int
req_name(void *arg, size_t off, size_t n)
{
	struct req *r = arg;

	if (memcmp(r->a + r->pos, r->b + r->pos, off - r->pos) != 0 ||
	    !dname_equal(r->a + off, r->b + off))
		return 1;
	r->pos = off + n;
	return 0;
}

/*
 * Whether two RDATA of type are equal once their names are lower-cased where RFC 4034
 * 6.2 (as RFC 6840 5.1 amends it) says: the fields outside a's names exactly, the names
 * case-insensitively. Reading b with a's layout is sound: lower-casing changes no length
 * octet (none is a letter), so two RDATA equal that way have the same layout.
 */
static bool
rdata_equal(uint16_t type, const uint8_t *a, uint16_t alen, const uint8_t *b,
    uint16_t blen)
{
	struct req r = { a, b, 0 };

	if (alen != blen)
		return false;
	if (!knot_rrtype_should_be_lowercased(type))
		return alen == 0 || memcmp(a, b, alen) == 0;
	if (rdata_names(type, a, alen, req_name, &r) != 0)
		return false;
	return memcmp(a + r.pos, b + r.pos, alen - r.pos) == 0;
}

/* ---- the store, topic layer ---- */

static const struct znode *
lookup(const struct uctx *u, const uint8_t *name)
{
	return store_lookup(u->s, name, dname_len(name));
}

/* RFC 2136 2.4.4: a name is in use when it owns an RRset (an empty non-terminal does not). */
static bool
name_in_use(const struct znode *n)
{
	return n != NULL && znode_rrsets(n)->count > 0;
}

/*
 * RFC 2136 3.2.5 and 3.4.1.3: zone_of(name) must be the zone. Below the apex is not
 * enough when the store also serves a zone under it: the child's names are the child's,
 * and an update allowed for the parent must not reach them.
 */
static bool
in_zone(const struct uctx *u, const uint8_t *name)
{
	int depth = dname_labels(name) - dname_labels(u->zone);

	if (depth < 0 || !dname_is_below(name, u->zone))
		return false;
	for (; depth > 0; depth--, name = dname_parent(name))
		if (znode_topic_find(lookup(u, name), DNS_TYPE_SOA) != NULL)
			return false;
	return true;
}

/* The RDATA of rr with its names uncompressed, in the scratch buffer; NULL if malformed. */
static const uint8_t *
unpack(struct uctx *u, const struct wire_rr *rr, uint16_t *len)
{
	int n = wire_rdata_unpack(&u->m, rr, u->scratch, RDATA_MAX);

	if (n < 0)
		return NULL;
	*len = (uint16_t)n;
	return u->scratch;
}

/* ---- 3.2: prerequisites ---- */

static int
prereq_cmp(const void *x, const void *y)
{
	const struct preq *a = x, *b = y;
	size_t al = dname_len(a->owner), bl = dname_len(b->owner);

	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	if (al != bl)
		return al < bl ? -1 : 1;
	return memcmp(a->owner, b->owner, al);
}

/* Whether the RDATA is among the n prerequisites pq (one (owner, type) group). */
static bool
prereq_has(const struct preq *pq, size_t n, const uint8_t *rd, uint16_t len)
{
	for (size_t i = 0; i < n; i++)
		if (rdata_equal(pq[i].type, pq[i].rd, pq[i].len, rd, len))
			return true;
	return false;
}

/* RFC 2136 2.4.2 and 3.2.3: the group pq[0..n) (one owner and type) is the stored RRset. */
static int
prereq_group(struct uctx *u, const struct preq *pq, size_t n)
{
	const struct rrset *rs = znode_topic_find(lookup(u, pq->owner), pq->type);
	struct rdata_ref rd;

	if (rs == NULL)
		return fail(u, DNS_RCODE_NXRRSET, pq->owner, pq->type, "RRset does not exist");
	for (const uint8_t *it = rrset_first(rs, &rd); it; it = rrset_next(rs, it, &rd))
		if (!prereq_has(pq, n, rd.data, rd.len))
			return fail(u, DNS_RCODE_NXRRSET, pq->owner, pq->type,
			    "RRset has more records");
	for (size_t i = 0; i < n; i++) {
		bool found = false;

		for (const uint8_t *it = rrset_first(rs, &rd); it && !found;
		    it = rrset_next(rs, it, &rd))
			found = rdata_equal(rs->type, rd.data, rd.len, pq[i].rd, pq[i].len);
		if (!found)
			return fail(u, DNS_RCODE_NXRRSET, pq->owner, pq->type,
			    "RRset lacks a record");
	}
	return DNS_RCODE_NOERROR;
}

/* The value-dependent prerequisites, compared as RRsets once every one is read (3.2.5). */
static int
prereq_values(struct uctx *u, struct preq *pq, size_t n)
{
	int rc = DNS_RCODE_NOERROR;
	size_t i, j;

	if (n == 0)
		return rc;	/* qsort() wants an array, even of none */
	qsort(pq, n, sizeof(*pq), prereq_cmp);
	for (i = 0; i < n && rc == DNS_RCODE_NOERROR; i = j) {
		for (j = i + 1; j < n && prereq_cmp(&pq[i], &pq[j]) == 0; j++)
			;
		rc = prereq_group(u, pq + i, j - i);
	}
	return rc;
}

/* One prerequisite RR, RFC 2136 3.2.1-3.2.4; a value-dependent one is kept in *pq. */
static int
prereq_one(struct uctx *u, const struct wire_rr *rr, struct preq **pq, size_t *n,
    size_t *cap)
{
	const struct znode *node;
	const uint8_t *rd;
	uint16_t len;
	bool exists;

	if (rr->ttl != 0)
		return fail(u, DNS_RCODE_FORMERR, rr->owner, rr->type,
		    "prerequisite with a TTL");
	if (!in_zone(u, rr->owner))
		return fail(u, DNS_RCODE_NOTZONE, rr->owner, rr->type,
		    "prerequisite outside the zone");
	switch (rr->rclass) {
	case DNS_CLASS_ANY:
	case DNS_CLASS_NONE:
		if (rr->rdlen != 0)
			return fail(u, DNS_RCODE_FORMERR, rr->owner, rr->type,
			    "prerequisite of class ANY or NONE with RDATA");
		node = lookup(u, rr->owner);
		exists = rr->type == DNS_TYPE_ANY ? name_in_use(node) :
		    znode_topic_find(node, rr->type) != NULL;
		if (rr->rclass == DNS_CLASS_ANY && !exists)
			return rr->type == DNS_TYPE_ANY ?
			    fail(u, DNS_RCODE_NXDOMAIN, rr->owner, rr->type, "name not in use") :
			    fail(u, DNS_RCODE_NXRRSET, rr->owner, rr->type,
			    "RRset does not exist");
		if (rr->rclass == DNS_CLASS_NONE && exists)
			return rr->type == DNS_TYPE_ANY ?
			    fail(u, DNS_RCODE_YXDOMAIN, rr->owner, rr->type, "name in use") :
			    fail(u, DNS_RCODE_YXRRSET, rr->owner, rr->type, "RRset exists");
		return DNS_RCODE_NOERROR;
	case DNS_CLASS_IN:
		if ((rd = unpack(u, rr, &len)) == NULL)
			return fail(u, DNS_RCODE_FORMERR, rr->owner, rr->type,
			    "malformed RDATA");
		grow((void **)pq, cap, *n + 1, sizeof(**pq));
		(*pq)[*n].owner = keep(u, rr->owner, dname_len(rr->owner));
		(*pq)[*n].type = rr->type;
		(*pq)[*n].rd = keep(u, rd, len);
		(*pq)[(*n)++].len = len;
		return DNS_RCODE_NOERROR;
	default:
		return fail(u, DNS_RCODE_FORMERR, rr->owner, rr->type,
		    "prerequisite of class %u", rr->rclass);
	}
}

static int
prerequisites(struct uctx *u)
{
	struct preq *pq = NULL;
	size_t n = 0, cap = 0;
	struct wire_iter it;
	struct wire_rr rr;
	int rc = DNS_RCODE_NOERROR;

	wire_iter_init(&u->m, &it);
	while (rc == DNS_RCODE_NOERROR && wire_iter_next(&u->m, &it, &rr) &&
	    rr.section == WIRE_AN) {
		dname_lower(rr.owner);
		rc = prereq_one(u, &rr, &pq, &n, &cap);
	}
	if (rc == DNS_RCODE_NOERROR)
		rc = prereq_values(u, pq, n);
	free(pq);
	return rc;
}

/* ---- 3.4.1: prescan ---- */

/*
 * Whether an event can carry the RDATA: written as text and read back as the same octets
 * (event_rdata_check; malformed RDATA must never reach knot's text dumper unchecked).
 */
static bool
rdata_writable(struct uctx *u, uint8_t *owner, uint16_t type, const uint8_t *rd,
    uint16_t len)
{
	char err[256];
	enum event_error e;

	if (u->dec == NULL && (u->dec = u->own_dec = event_decoder_new()) == NULL)
		fatalx("update: out of memory");
	e = event_rdata_check(u->dec, owner, type, rd, len, err, sizeof(err));
	if (e == EVENT_ERR_RRSET)
		fatalx("update: out of memory");
	return e == EVENT_OK;
}

static int
prescan_one(struct uctx *u, struct wire_rr *rr)
{
	const uint8_t *rd;
	uint16_t len;

	if (!in_zone(u, rr->owner))
		return fail(u, DNS_RCODE_NOTZONE, rr->owner, rr->type, "outside the zone");
	switch (rr->rclass) {
	case DNS_CLASS_IN:
		if (type_is_meta(rr->type))
			return fail(u, DNS_RCODE_FORMERR, rr->owner, rr->type,
			    "not a type records can have");
		/* RFC 2181 8; the event codec takes no more. */
		if (rr->ttl > EVENT_TTL_MAX)
			return fail(u, DNS_RCODE_FORMERR, rr->owner, rr->type,
			    "TTL above 2^31 - 1");
		if ((rd = unpack(u, rr, &len)) == NULL ||
		    !rdata_writable(u, rr->owner, rr->type, rd, len))
			return fail(u, DNS_RCODE_FORMERR, rr->owner, rr->type,
			    "malformed RDATA");
		return DNS_RCODE_NOERROR;
	case DNS_CLASS_ANY:
		if (rr->ttl != 0 || rr->rdlen != 0 ||
		    (type_is_meta(rr->type) && rr->type != DNS_TYPE_ANY))
			return fail(u, DNS_RCODE_FORMERR, rr->owner, rr->type,
			    "deletion of class ANY with a TTL, RDATA or a meta-type");
		return DNS_RCODE_NOERROR;
	case DNS_CLASS_NONE:
		if (rr->ttl != 0 || type_is_meta(rr->type))
			return fail(u, DNS_RCODE_FORMERR, rr->owner, rr->type,
			    "deletion of class NONE with a TTL or a meta-type");
		if (unpack(u, rr, &len) == NULL)
			return fail(u, DNS_RCODE_FORMERR, rr->owner, rr->type,
			    "malformed RDATA");
		return DNS_RCODE_NOERROR;
	default:
		return fail(u, DNS_RCODE_FORMERR, rr->owner, rr->type, "update of class %u",
		    rr->rclass);
	}
}

/* Calls fn for every RR of the update section, owner lower-cased, until it fails. */
static int
each_update(struct uctx *u, int (*fn)(struct uctx *, struct wire_rr *))
{
	struct wire_iter it;
	struct wire_rr rr;
	int rc = DNS_RCODE_NOERROR;

	wire_iter_init(&u->m, &it);
	while (rc == DNS_RCODE_NOERROR && wire_iter_next(&u->m, &it, &rr) &&
	    rr.section != WIRE_AR) {
		if (rr.section != WIRE_NS)
			continue;
		dname_lower(rr.owner);
		rc = fn(u, &rr);
	}
	return rc;
}

/* ---- the working copy ---- */

/* The index of the working name owner (lower case), made on first use. */
static size_t
name_get(struct uctx *u, const uint8_t *owner)
{
	size_t len = dname_len(owner), i;
	struct wname *w;

	for (i = dname_hash(owner, len) & u->tmask; u->table[i] != 0; i = (i + 1) & u->tmask)
		if (dname_equal(u->names[u->table[i] - 1].owner, owner))
			return u->table[i] - 1;
	/* The table has room for twice the update RRs: there is one name at most per RR. */
	assert(u->nnames < u->tmask / 2 + 1);
	grow((void **)&u->names, &u->capnames, u->nnames + 1, sizeof(*u->names));
	w = &u->names[u->nnames];
	memcpy(w->owner, owner, len);
	w->node = lookup(u, owner);
	w->first = NONE;
	w->apex = dname_equal(owner, u->zone);
	u->table[i] = (uint32_t)++u->nnames;
	return u->nnames - 1;
}

/* The set of the name's type already touched, or NONE. */
static size_t
set_touched(const struct uctx *u, size_t wi, uint16_t type)
{
	for (size_t si = u->names[wi].first; si != NONE; si = u->sets[si].next)
		if (u->sets[si].type == type)
			return si;
	return NONE;
}

static void
set_push(struct wset *ws, const uint8_t *rd, uint16_t len)
{
	grow((void **)&ws->recs, &ws->cap, ws->n + 1, sizeof(*ws->recs));
	ws->recs[ws->n].rd = rd;
	ws->recs[ws->n++].len = len;
}

/*
 * The index of the working set (name, type), made from the topic's RRset on first use,
 * when base is read. Pointers into u->sets do not survive this call.
 */
static size_t
set_get(struct uctx *u, size_t wi, uint16_t type)
{
	size_t si = set_touched(u, wi, type);
	struct rdata_ref rd;
	struct wset *ws;

	if (si != NONE)
		return si;
	grow((void **)&u->sets, &u->capsets, u->nsets + 1, sizeof(*u->sets));
	si = u->nsets++;
	ws = &u->sets[si];
	memset(ws, 0, sizeof(*ws));
	ws->name = wi;
	ws->type = type;
	ws->stored = znode_topic_find(u->names[wi].node, type);
	ws->ttl = ws->stored != NULL ? ws->stored->ttl : 0;
	for (const uint8_t *it = rrset_first(ws->stored, &rd); it;
	    it = rrset_next(ws->stored, it, &rd))
		set_push(ws, rd.data, rd.len);
	ws->next = u->names[wi].first;
	u->names[wi].first = si;
	return si;
}

/* Whether the name has an RRset of type now (after the updates so far). */
static bool
has_type(const struct uctx *u, size_t wi, uint16_t type)
{
	size_t si = set_touched(u, wi, type);
	const struct rrset *rs;

	if (si != NONE)
		return u->sets[si].n > 0;
	rs = znode_topic_find(u->names[wi].node, type);
	return rs != NULL && rs->count > 0;
}

/* Whether the name has data a CNAME cannot share it with (RFC 2181 10.1, RFC 4035 2.5). */
static bool
has_cname_conflict(const struct uctx *u, size_t wi)
{
	const struct wname *w = &u->names[wi];
	const struct rrset_vec *v;

	for (size_t si = w->first; si != NONE; si = u->sets[si].next)
		if (u->sets[si].type != DNS_TYPE_CNAME &&
		    !cname_may_coexist(u->sets[si].type) && u->sets[si].n > 0)
			return true;
	if (w->node == NULL)
		return false;
	v = znode_rrsets(w->node);
	for (uint32_t i = 0; i < v->count; i++) {
		uint16_t t = v->sets[i]->type;

		if (t != DNS_TYPE_CNAME && !cname_may_coexist(t) && v->sets[i]->count > 0 &&
		    set_touched(u, wi, t) == NONE)
			return true;
	}
	return false;
}

/* The first record of the set equal to rd (canonical form), or NONE. */
static size_t
set_find(const struct wset *ws, const uint8_t *rd, uint16_t len)
{
	for (size_t i = 0; i < ws->n; i++)
		if (rdata_equal(ws->type, ws->recs[i].rd, ws->recs[i].len, rd, len))
			return i;
	return NONE;
}

/* ---- 3.4.2: the updates ---- */

/*
 * A type of which an RRset holds one record (CNAME, DNAME, SOA: the event codec refuses
 * more): the new record replaces the old, an equal one (canonical form) only sets the TTL.
 */
static void
add_singleton(struct uctx *u, size_t wi, const struct wire_rr *rr, const uint8_t *rd,
    uint16_t len)
{
	size_t si = set_get(u, wi, rr->type);
	struct wset *ws = &u->sets[si];

	if (ws->n != 1 || set_find(ws, rd, len) == NONE) {
		ws->n = 0;
		set_push(ws, keep(u, rd, len), len);
	}
	ws->ttl = rr->ttl;
}

/*
 * RFC 2136 3.4.2.2: an SOA replaces the apex's only when its serial is greater (RFC 1982)
 * than the one served, which is the stored one (derived from the topic unless serial =
 * as-is); anywhere else it is ignored.
 */
static int
add_soa(struct uctx *u, size_t wi, const struct wire_rr *rr, const uint8_t *rd,
    uint16_t len)
{
	const struct wset *ws;
	uint32_t cur, serial;
	size_t si;

	if (!u->names[wi].apex)
		return DNS_RCODE_NOERROR;
	si = set_get(u, wi, DNS_TYPE_SOA);
	ws = &u->sets[si];
	if (ws->n == 0 || !soa_serial(ws->recs[0].rd, ws->recs[0].len, &cur))
		return fail(u, DNS_RCODE_SERVFAIL, u->zone, DNS_TYPE_SOA,
		    "the zone's SOA is malformed");
	if (!soa_serial(rd, len, &serial) || !serial_gt(serial, cur))
		return DNS_RCODE_NOERROR;
	add_singleton(u, wi, rr, rd, len);
	return DNS_RCODE_NOERROR;
}

/* Class IN: add a record (RFC 2136 3.4.2.2, CNAME rules as RFC 4035 2.5 amends them). */
static int
update_add(struct uctx *u, struct wire_rr *rr)
{
	size_t wi = name_get(u, rr->owner), si;
	const uint8_t *rd;
	struct wset *ws;
	uint16_t len;

	if (u->refuse_own && sign_own_type(rr->type))
		return fail(u, DNS_RCODE_REFUSED, rr->owner, rr->type,
		    "the online signer makes this type in a signed zone");
	rd = unpack(u, rr, &len);
	assert(rd != NULL);	/* the prescan has unpacked it */
	if (rr->type == DNS_TYPE_CNAME) {
		if (!has_cname_conflict(u, wi))
			add_singleton(u, wi, rr, rd, len);
		return DNS_RCODE_NOERROR;
	}
	if (!cname_may_coexist(rr->type) && has_type(u, wi, DNS_TYPE_CNAME))
		return DNS_RCODE_NOERROR;
	if (rr->type == DNS_TYPE_SOA)
		return add_soa(u, wi, rr, rd, len);
	if (rr->type == DNS_TYPE_DNAME) {
		add_singleton(u, wi, rr, rd, len);
		return DNS_RCODE_NOERROR;
	}
	si = set_get(u, wi, rr->type);
	ws = &u->sets[si];
	if (set_find(ws, rd, len) == NONE)
		set_push(ws, keep(u, rd, len), len);
	/* The RRset takes the TTL of the last record added, as BIND and Knot do. */
	ws->ttl = rr->ttl;
	return DNS_RCODE_NOERROR;
}

/* RFC 2136 3.4.2.3: the apex's SOA and NS survive every deletion of whole RRsets. */
static bool
apex_kept(const struct uctx *u, size_t wi, uint16_t type)
{
	return u->names[wi].apex && (type == DNS_TYPE_SOA || type == DNS_TYPE_NS);
}

/* Class ANY, type ANY: every RRset of the name. */
static void
delete_name(struct uctx *u, size_t wi)
{
	const struct znode *node = u->names[wi].node;
	const struct rrset_vec *v = node != NULL ? znode_rrsets(node) : NULL;

	/* Every stored type gets a working set, so the list below covers them all. */
	for (uint32_t i = 0; v != NULL && i < v->count; i++)
		(void)set_get(u, wi, v->sets[i]->type);
	for (size_t si = u->names[wi].first; si != NONE; si = u->sets[si].next)
		if (!apex_kept(u, wi, u->sets[si].type))
			u->sets[si].n = 0;
}

/* Class NONE: one record (RFC 2136 3.4.2.4). */
static void
delete_rr(struct uctx *u, size_t wi, struct wire_rr *rr)
{
	struct wset *ws;
	const uint8_t *rd;
	uint16_t len;
	size_t si, kept = 0;

	/* The SOA is replaced, never deleted. */
	if (rr->type == DNS_TYPE_SOA)
		return;
	rd = unpack(u, rr, &len);
	assert(rd != NULL);
	si = set_get(u, wi, rr->type);
	ws = &u->sets[si];
	for (size_t i = 0; i < ws->n; i++)
		if (!rdata_equal(ws->type, ws->recs[i].rd, ws->recs[i].len, rd, len))
			kept++;
	/* Nor may the apex lose its last NS: the zone would be lame. */
	if (kept == 0 && rr->type == DNS_TYPE_NS && u->names[wi].apex)
		return;
	kept = 0;
	for (size_t i = 0; i < ws->n; i++)
		if (!rdata_equal(ws->type, ws->recs[i].rd, ws->recs[i].len, rd, len))
			ws->recs[kept++] = ws->recs[i];
	ws->n = kept;
}

static int
update_one(struct uctx *u, struct wire_rr *rr)
{
	size_t wi, si;

	switch (rr->rclass) {
	case DNS_CLASS_IN:
		return update_add(u, rr);
	case DNS_CLASS_ANY:
		wi = name_get(u, rr->owner);
		if (rr->type == DNS_TYPE_ANY) {
			delete_name(u, wi);
		} else if (!apex_kept(u, wi, rr->type)) {
			si = set_get(u, wi, rr->type);
			u->sets[si].n = 0;
		}
		return DNS_RCODE_NOERROR;
	case DNS_CLASS_NONE:
		delete_rr(u, name_get(u, rr->owner), rr);
		return DNS_RCODE_NOERROR;
	default:
		abort();	/* the prescan has refused it */
	}
}

/* ---- the plan ---- */

static bool
rrset_same(const struct rrset *a, const struct rrset *b)
{
	return a->type == b->type && a->count == b->count && a->ttl == b->ttl &&
	    a->datalen == b->datalen && memcmp(a->data, b->data, a->datalen) == 0;
}

/* The working set as an RRset; NULL when it exceeds an RRset's limits. */
static struct rrset *
set_build(const struct wset *ws)
{
	struct rrset_builder b;
	struct rrset *rs;

	rrset_builder_init(&b, ws->type);
	for (size_t i = 0; i < ws->n; i++) {
		if (rrset_builder_add(&b, ws->ttl, ws->recs[i].rd, ws->recs[i].len) != 0) {
			rrset_builder_clear(&b);
			return NULL;
		}
	}
	if ((rs = rrset_builder_finish(&b)) == NULL)
		fatalx("update: out of memory");
	return rs;
}

static void
plan_push(struct update_plan *plan, const uint8_t *owner, uint16_t type, struct rrset *rs,
    const struct rrset *stored)
{
	struct update_change *c;

	grow((void **)&plan->changes, &plan->cap, plan->n + 1, sizeof(*plan->changes));
	c = &plan->changes[plan->n++];
	memcpy(c->owner, owner, dname_len(owner));
	c->type = type;
	c->rs = rs;
	c->base = stored != NULL ? rrset_version(stored) : -1;
}

/* [zones] serial = as-is: a change the update made to the zone is a new serial too. */
static int
bump_serial(struct uctx *u, struct update_plan *plan)
{
	const struct rrset *soa = znode_topic_find(u->apex, DNS_TYPE_SOA);
	struct rrset *rs = rrset_soa_with_serial(soa, rrset_soa_serial(soa) + 1);

	if (rs == NULL)
		return fail(u, DNS_RCODE_SERVFAIL, u->zone, DNS_TYPE_SOA,
		    "the zone's SOA is malformed");
	rrset_set_version(rs, -1);	/* the copy's is the stored one's: not read here */
	plan_push(plan, u->zone, DNS_TYPE_SOA, rs, soa);
	return DNS_RCODE_NOERROR;
}

static int
plan_make(struct uctx *u, const struct update_opts *o, struct update_plan *plan)
{
	bool soa_changed = false;

	for (size_t si = 0; si < u->nsets; si++) {
		const struct wset *ws = &u->sets[si];
		struct rrset *rs = NULL;

		if (ws->n == 0 && ws->stored == NULL)
			continue;
		if (ws->n > 0 && (rs = set_build(ws)) == NULL)
			return fail(u, DNS_RCODE_REFUSED, u->names[ws->name].owner, ws->type,
			    "the RRset would be too large");
		if (rs != NULL && ws->stored != NULL && rrset_same(rs, ws->stored)) {
			free(rs);
			continue;
		}
		plan_push(plan, u->names[ws->name].owner, ws->type, rs, ws->stored);
		soa_changed |= ws->type == DNS_TYPE_SOA && u->names[ws->name].apex;
	}
	if (o->serial_as_is && plan->n > 0 && !soa_changed &&
	    bump_serial(u, plan) != DNS_RCODE_NOERROR)
		return DNS_RCODE_SERVFAIL;
	if (plan->n > UPDATE_CHANGES_MAX)
		return fail(u, DNS_RCODE_REFUSED, NULL, 0, "%zu RRsets would change, more than "
		    "%d", plan->n, UPDATE_CHANGES_MAX);
	return DNS_RCODE_NOERROR;
}

/* ---- the engine ---- */

/* Everything after the zone section, under the caller's RCU read lock. */
static int
run(struct uctx *u, const struct update_opts *o, struct update_plan *plan)
{
	size_t tsize = 16;
	int rc;

	u->apex = lookup(u, u->zone);
	if (znode_topic_find(u->apex, DNS_TYPE_SOA) == NULL)
		return fail(u, DNS_RCODE_NOTAUTH, u->zone, DNS_TYPE_SOA,
		    "not a zone served here");
	u->refuse_own = o->signed_zone || znode_keys(u->apex) != NULL;
	if ((rc = prerequisites(u)) != DNS_RCODE_NOERROR)
		return rc;
	if ((rc = each_update(u, prescan_one)) != DNS_RCODE_NOERROR)
		return rc;
	while (tsize < 2 * (size_t)u->m.counts[WIRE_NS])
		tsize *= 2;
	u->table = xcalloc(tsize, sizeof(*u->table));
	u->tmask = tsize - 1;
	if ((rc = each_update(u, update_one)) != DNS_RCODE_NOERROR)
		return rc;
	return plan_make(u, o, plan);
}

/* The zone section (RFC 2136 2.3): one RR, type SOA, class IN. */
static int
zone_section(const struct wire_msg *m, uint8_t *zone)
{
	if (!m->has_question || m->qtype != DNS_TYPE_SOA || m->qclass != DNS_CLASS_IN)
		return -1;
	memcpy(zone, m->qname, dname_len(m->qname));
	dname_lower(zone);
	return 0;
}

int
update_zone(const uint8_t *msg, size_t len, uint8_t *zone)
{
	struct wire_msg m;

	if (len > DNS_MAX_MSG || wire_msg_parse(msg, len, &m) != 0)
		return -1;
	return zone_section(&m, zone);
}

static void
ctx_free(struct uctx *u)
{
	for (size_t i = 0; i < u->nsets; i++)
		free(u->sets[i].recs);
	for (size_t i = 0; i < u->nblocks; i++)
		free(u->blocks[i]);
	free(u->sets);
	free(u->names);
	free(u->table);
	free(u->blocks);
	free(u->scratch);
	event_decoder_free(u->own_dec);
}

/* For the log: the update RRs that add and those that delete. */
static void
count_updates(const struct wire_msg *m, struct update_plan *plan)
{
	struct wire_iter it;
	struct wire_rr rr;

	wire_iter_init(m, &it);
	while (wire_iter_next(m, &it, &rr) && rr.section != WIRE_AR)
		if (rr.section == WIRE_NS && rr.rclass == DNS_CLASS_IN)
			plan->adds++;
		else if (rr.section == WIRE_NS)
			plan->deletes++;
}

int
update_prepare(struct store *s, const uint8_t *msg, size_t len,
    const struct update_opts *o, struct update_plan *plan, char *why, size_t whylen)
{
	static const struct update_opts defaults;
	struct uctx u = { .s = s, .zone = plan->zone, .why = why, .whylen = whylen };
	int rc;

	if (o == NULL)
		o = &defaults;
	u.dec = o->dec;
	memset(plan, 0, sizeof(*plan));
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (len > DNS_MAX_MSG || wire_msg_parse(msg, len, &u.m) != 0)
		return fail(&u, DNS_RCODE_FORMERR, NULL, 0, "malformed message");
	if ((u.m.flags & DNS_OPCODE_MASK) >> DNS_OPCODE_SHIFT != DNS_OPCODE_UPDATE)
		return fail(&u, DNS_RCODE_FORMERR, NULL, 0, "not an UPDATE");
	if (zone_section(&u.m, plan->zone) != 0)
		return fail(&u, DNS_RCODE_FORMERR, NULL, 0,
		    "the zone section is not one SOA RR of class IN");
	plan->prereqs = u.m.counts[WIRE_AN];
	count_updates(&u.m, plan);
	u.scratch = xmalloc(RDATA_MAX);
	rcu_read_lock();
	rc = run(&u, o, plan);
	rcu_read_unlock();
	if (rc != DNS_RCODE_NOERROR) {
		for (size_t i = 0; i < plan->n; i++)
			free(plan->changes[i].rs);
		plan->n = 0;
	}
	ctx_free(&u);
	return rc;
}

void
update_plan_free(struct update_plan *plan)
{
	for (size_t i = 0; i < plan->n; i++)
		free(plan->changes[i].rs);
	free(plan->changes);
	plan->changes = NULL;
	plan->n = plan->cap = 0;
}
