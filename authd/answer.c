/* answer.c: authoritative answers: zones, delegations, CNAME/DNAME, wildcards, negatives. */
#include <assert.h>
#include <stddef.h>
#include <string.h>

#include <urcu.h>

#include "authd/answer.h"
#include "authd/chaos.h"
#include "authd/rrl.h"
#include "authd/signer.h"
#include "common/envelope.h"
#include "common/gate.h"
#include "common/dname.h"
#include "common/wire.h"

#include <libdnssec/nsec.h>

#define CHAIN_MAX	12	/* CNAME/DNAME links followed in one answer */

/*
 * One step of an answer: one name resolved to an outcome, with what a later stage must
 * prove about it (online DNSSEC signing: the RRSIGs of the RRsets used and the NSEC or
 * compact-denial records of what does not exist). Node and RRset pointers are valid under
 * the RCU read lock the answer is built in; unused fields are NULL.
 */
struct answer_step {
	enum answer_outcome	 outcome;
	const uint8_t		*name;		/* as written: the owner of the step's answer */
	const struct znode	*apex;		/* the zone's apex (SOA, DNSKEY); NULL outside */
	/*
	 * The closest encloser: the deepest node that exists on the way from the apex down
	 * to name, which is name's own node when it exists (the DNAME's or the cut's node
	 * when one of those stopped the walk).
	 */
	const struct znode	*encloser;
	const uint8_t		*next_closer;	/* name does not exist: its suffix one label
						   below the encloser (points into name) */
	const struct znode	*wildcard;	/* the source of synthesis, when one was used */
	const struct znode	*cut;		/* REFERRAL: the delegation's node */
	const struct rrset	*rrset;		/* the RRset answered: the data, CNAME, DNAME or
						   the cut's NS; NULL for ANY and negatives */
	bool			 keys_made;	/* rrset is the signer's (DNSKEY, CDS, CDNSKEY) */
};

struct ans {
	bool			 recursion;	/* the client may recurse through dnsr */
	const struct store	*s;
	const struct zone_filter *serve;	/* NULL: every zone */
	struct wire_writer	*w;
	const struct dns_query	*q;
	bool			 tcp;
	bool			 truncated;	/* an answer or authority RR did not fit */
	bool			 aa;
	bool			 forward;	/* see answer_info */
	bool			 complete;
	uint8_t			 rcode;
	int			 nsteps;
	int			 nsynth;
	int			 ndnames;
	bool			 dnssec;	/* DO: RRSIGs and denial records wanted */
	bool			 compact_ok;	/* CO (RFC 9824 3.4): NXDOMAIN may be said */
	bool			 servfail;	/* a signed zone could not be signed */
	struct rrl		*rrl;		/* consult before a fresh signature, or NULL */
	const struct sockaddr	*client;
	uint8_t			 limited;	/* RRL said RRL_SLIP or RRL_DROP: stop */
	bool			 rrl_checked;
	const struct znode	*sc_apex;	/* the zone sc was begun for, NULL: none */
	/* Where the parent's RRSIGs over a DS made from a child's keys are cached. */
	_Atomic(struct sig_cache *) *ds_slot;
	bool			 sc_signed;	/* ...and whether that zone is signed */
	time_t			 now;
	/* Above: zeroed for every answer. Below: written before it is read. */
	struct sign_ctx		 sc;
	uint8_t			 target[DNAME_MAXLEN];
	struct answer_step	 step[CHAIN_MAX + 1];	/* the query name, then one per link */
	uint8_t			 synth[CHAIN_MAX][DNAME_MAXLEN];	/* names made by DNAMEs */
	const struct rrset	*dnames[CHAIN_MAX];	/* DNAMEs already in the answer */
};

/*
 * A name split into its suffixes: sfx[0] is the name (len octets), sfx[n] the root.
 * node[i] caches the lookup of sfx[i] made while finding the zone, so the walk down does
 * not repeat it.
 */
struct suffixes {
	int			 n;
	size_t			 len;
	const uint8_t		*sfx[DNAME_MAXLABELS + 1];
	const struct znode	*node[DNAME_MAXLABELS + 1];
};

static void
split_suffixes(const uint8_t *name, struct suffixes *sx)
{
	const uint8_t *p = name;

	sx->n = 0;
	for (;; p += 1 + *p) {
		sx->sfx[sx->n] = p;
		if (*p == 0)
			break;
		sx->n++;
	}
	sx->len = (size_t)(p - name) + 1;
}

/* Where suffix i starts in the name: the same offset in its other-case copies. */
static size_t
suffix_offset(const struct suffixes *sx, int i)
{
	return (size_t)(sx->sfx[i] - sx->sfx[0]);
}

static const struct znode *
lookup(const struct ans *a, const uint8_t *name)
{
	return store_lookup(a->s, name, dname_len(name));
}


/* Whether a served zone holds a strict ancestor of sx's name. */
static bool
parent_zone(const struct ans *a, const struct suffixes *sx)
{
	for (int i = 1; i <= sx->n; i++) {
		const struct znode *n = store_lookup(a->s, sx->sfx[i],
		    sx->len - suffix_offset(sx, i));

		if (n != NULL && znode_find(n, DNS_TYPE_SOA) != NULL)
			return zone_filter_has(a->serve, sx->sfx[i]);
	}
	return false;
}

bool
zone_filter_has(const struct zone_filter *f, const uint8_t *apex)
{
	if (f == NULL)
		return true;
	for (size_t i = 0; i < f->n; i++)
		if (dname_equal(f->names[i], apex))
			return true;
	return false;
}

/*
 * The deepest suffix of name owning an SOA: the zone the name belongs to. DS is the
 * parent's data (RFC 4035 3.1.4.1): for DS at a zone's apex, the zone above it when this
 * instance has that one too.
 */
static int
find_zone(const struct ans *a, struct suffixes *sx, const struct znode **apex)
{
	for (int i = 0; i <= sx->n; i++) {
		const struct znode *n = sx->node[i] =
		    store_lookup(a->s, sx->sfx[i], sx->len - suffix_offset(sx, i));

		if (i == 0 && n != NULL && a->q->qtype == DNS_TYPE_DS && sx->n > 0 &&
		    znode_find(n, DNS_TYPE_NS) != NULL && parent_zone(a, sx))
			continue;
		if (n != NULL && znode_find(n, DNS_TYPE_SOA) != NULL) {
			/* A zone this instance does not serve: as if no zone held the name. */
			if (!zone_filter_has(a->serve, sx->sfx[i]))
				return -1;
			*apex = n;
			return i;
		}
	}
	return -1;
}

/* Adds every record of rs; on overflow marks the answer truncated. */
static int
add_rrset(struct ans *a, int sec, const uint8_t *owner, const struct rrset *rs,
    uint32_t ttl)
{
	struct rdata_ref rd;

	for (const uint8_t *it = rrset_first(rs, &rd); it != NULL;
	    it = rrset_next(rs, it, &rd)) {
		if (wire_rr(a->w, sec, owner, rs->type, DNS_CLASS_IN, ttl, rd.data,
		    rd.len) != 0) {
			a->truncated = true;
			return -1;
		}
	}
	return 0;
}

/* ---- DNSSEC: what a signed zone adds to an answer (issue 15, RFC 4035 3.1, RFC 9824) ---- */

/*
 * Whether the zone at apex is signed now; begins a->sc for it. A signed zone whose keys
 * this instance cannot use makes the whole answer SERVFAIL: never unsigned data from a
 * signed zone.
 */
static bool
zone_signed(struct ans *a, const struct znode *apex)
{
	const struct zone_keys *zk;

	if (apex == NULL)
		return false;
	if (a->sc_apex == apex)
		return a->sc_signed;
	a->sc_apex = apex;
	a->sc_signed = false;
	zk = znode_keys(apex);
	if (!zone_keys_signed(zk, a->now))
		return false;
	a->sc_signed = true;
	if (sign_begin(&a->sc, zk, znode_name(apex), a->now) != 0)
		a->servfail = true;
	return true;
}

/* The signing context when the answer carries DNSSEC records of apex's zone, or NULL. */
static struct sign_ctx *
signing(struct ans *a, const struct znode *apex)
{
	return a->dnssec && zone_signed(a, apex) && !a->servfail ? &a->sc : NULL;
}

/*
 * RRL before a signature made for one name: a flood of random names from a limited
 * prefix is dropped or slipped before the signer works (the server would only have
 * limited the response after). Checked once per answer, counted as the server's check.
 */
static bool
rrl_allows(struct ans *a)
{
	enum rrl_action act;

	if (a->rrl == NULL || a->rrl_checked)
		return a->limited == 0;
	a->rrl_checked = true;
	if ((act = rrl_check(a->rrl, a->client, (uint32_t)a->now)) == RRL_SEND)
		return true;
	a->limited = (uint8_t)act;
	return false;
}

/*
 * The RRSIGs of rs, just written at owner (as written) in section sec, when the answer
 * carries DNSSEC records of apex's zone. node is where rs is stored (its vector caches the
 * signatures), or NULL for an RRset made for this answer. An RRSIG that does not fit
 * truncates the answer: no RRset goes out without its signatures.
 */
static int
add_sigs(struct ans *a, int sec, const uint8_t *owner, const struct rrset *rs,
    uint32_t ttl, const struct znode *apex, const struct znode *node)
{
	struct sign_ctx *sc = signing(a, apex);
	uint8_t lowner[DNAME_MAXLEN];
	struct rrsigs sigs;
	int rc;

	if (sc == NULL)
		return 0;
	memcpy(lowner, owner, dname_len(owner));
	dname_lower(lowner);
	if (node != NULL)
		rc = sign_rrset(sc, lowner, rs, znode_vec_of(node, rs), &sigs);
	else if (rs->type == DNS_TYPE_DS)
		rc = sign_rrset_in(sc, lowner, rs, a->ds_slot, &sigs);
	else if (rs->type == DNS_TYPE_DNSKEY || rs->type == DNS_TYPE_CDS ||
	    rs->type == DNS_TYPE_CDNSKEY)
		rc = sign_apex_sigs(sc, rs, &sigs);
	else if (!rrl_allows(a))
		return -1;
	else
		rc = sign_once(sc, lowner, rs, &sigs);
	if (rc != 0) {
		a->servfail = true;
		return -1;
	}
	for (size_t i = 0; i < sigs.n; i++) {
		if (wire_rr(a->w, sec, owner, DNS_TYPE_RRSIG, DNS_CLASS_IN, ttl, sigs.rdata[i],
		    sigs.len[i]) != 0) {
			a->truncated = true;
			return -1;
		}
	}
	return 0;
}

/* add_rrset(), then its RRSIGs (add_sigs()). */
static int
add_signed(struct ans *a, int sec, const uint8_t *owner, const struct rrset *rs,
    uint32_t ttl, const struct znode *apex, const struct znode *node)
{
	if (add_rrset(a, sec, owner, rs, ttl) != 0)
		return -1;
	return add_sigs(a, sec, owner, rs, ttl, apex, node);
}

/*
 * The DS RRset the parent serves at the cut n: made from the child's key set when that is
 * on the topic (it then follows the child's rollovers by itself), else the stored one.
 * ttl is the parent's SOA TTL. Prepares a->ds_slot for add_sigs().
 */
static const struct rrset *
ds_at_cut(struct ans *a, const struct znode *n, const struct znode *parent)
{
	const struct zone_keys *child = znode_keys(n);
	const struct rrset *ds;

	if (child == NULL) {
		ds = znode_find(n, DNS_TYPE_DS);
		a->ds_slot = ds != NULL ? &((struct rrset_vec *)znode_vec_of(n, ds))->sigs : NULL;
		return ds;
	}
	return sign_child_ds(child, a->now, znode_find(parent, DNS_TYPE_SOA)->ttl, &a->ds_slot);
}

/*
 * Stored types a signed zone does not serve where it is not a delegation: those it makes
 * itself, and DS, which is data only at a cut (where the callers look first).
 */
static bool
not_served_signed(uint16_t type)
{
	return sign_own_type(type) || type == DNS_TYPE_DS;
}

/* A delegation seen from the parent: a node below the apex with an NS RRset. */
static bool
is_cut(const struct znode *n, const struct znode *apex)
{
	return n != apex && znode_find(n, DNS_TYPE_NS) != NULL;
}

/*
 * A type for a compact-denial bitmap: never the type asked for. The NSEC denies it, so a
 * query for NSEC or RRSIG (both present at every signed name) must not find it listed,
 * or the proof is bogus; Knot's onlinesign follows the same rule.
 */
static void
bitmap_put(const struct ans *a, dnssec_nsec_bitmap_t *map, uint16_t type)
{
	if (type != a->q->qtype)
		dnssec_nsec_bitmap_add(map, type);
}

/*
 * The types node n has, as a compact-denial NSEC lists them (RFC 9824 3.2). At a cut
 * only the parent's: NS and DS (a validator takes an NSEC with SOA there for the child's,
 * RFC 4035 5.2).
 */
static void
bitmap_node(struct ans *a, dnssec_nsec_bitmap_t *map, const struct znode *n,
    const struct znode *apex)
{
	const struct rrset_vec *layers[2] = { znode_local(n), znode_rrsets(n) };

	if (is_cut(n, apex)) {
		bitmap_put(a, map, DNS_TYPE_NS);
		if (ds_at_cut(a, n, apex) != NULL)
			bitmap_put(a, map, DNS_TYPE_DS);
		return;
	}
	for (int k = 0; k < 2; k++)
		for (uint32_t i = 0; i < layers[k]->count; i++)
			if (!not_served_signed(layers[k]->sets[i]->type))
				bitmap_put(a, map, layers[k]->sets[i]->type);
	if (n == apex)
		bitmap_put(a, map, DNS_TYPE_DNSKEY);
}

/*
 * The one NSEC of compact denial (RFC 9824 3): owner the name denied, next its immediate
 * successor (\000.owner), the bitmap of what the name has (n, or nothing: NXNAME), RRSIG
 * and NSEC; with its RRSIG, TTL that of the negative answer (RFC 9077).
 */
static void
add_denial(struct ans *a, const uint8_t *owner, const struct znode *apex,
    const struct znode *n, uint32_t ttl)
{
	dnssec_nsec_bitmap_t *map = dnssec_nsec_bitmap_new();
	size_t olen = dname_len(owner), nlen, blen;
	union {
		struct rrset	rs;
		uint8_t		raw[sizeof(struct rrset) + 2 + DNAME_MAXLEN + 8192];
	} u;
	struct rrset *nsec = &u.rs;
	uint8_t *rd = nsec->data + 2;

	if (map == NULL) {
		a->servfail = true;
		return;
	}
	if (n != NULL)
		bitmap_node(a, map, n, apex);
	else
		bitmap_put(a, map, DNS_TYPE_NXNAME);
	bitmap_put(a, map, DNS_TYPE_RRSIG);
	bitmap_put(a, map, DNS_TYPE_NSEC);
	if (olen + 2 <= DNAME_MAXLEN) {
		rd[0] = 1;
		rd[1] = 0;
		memcpy(rd + 2, owner, olen);
		nlen = olen + 2;
	} else {
		/* No room for a label: the successor at the same length (RFC 4471 3.1.2). */
		memcpy(rd, owner, olen);
		if (rd[rd[0]] < 0xff)
			rd[rd[0]]++;
		nlen = olen;
	}
	dname_lower(rd);
	blen = dnssec_nsec_bitmap_size(map);
	dnssec_nsec_bitmap_write(map, rd + nlen);
	dnssec_nsec_bitmap_free(map);
	nsec->type = DNS_TYPE_NSEC;
	nsec->count = 1;
	nsec->ttl = ttl;
	nsec->datalen = (uint32_t)(2 + nlen + blen);
	memcpy(nsec->data, &(uint16_t){ (uint16_t)(nlen + blen) }, 2);
	add_signed(a, WIRE_NS, owner, nsec, ttl, apex, NULL);
}

/* Additional data is optional: an RRset that does not fit is left out whole. */
static void
add_additional_rrset(struct ans *a, const uint8_t *owner, const struct rrset *rs)
{
	struct wire_mark m;
	struct rdata_ref rd;

	wire_mark(a->w, &m);
	for (const uint8_t *it = rrset_first(rs, &rd); it != NULL;
	    it = rrset_next(rs, it, &rd)) {
		if (wire_rr(a->w, WIRE_AR, owner, rs->type, DNS_CLASS_IN, rs->ttl, rd.data,
		    rd.len) != 0) {
			wire_rollback(a->w, &m);
			return;
		}
	}
}

/* Where the target name sits in the RDATA of types that cause additional processing. */
static int
target_offset(uint16_t type)
{
	switch (type) {
	case DNS_TYPE_NS:	return 0;
	case DNS_TYPE_MX:	return 2;
	case DNS_TYPE_SRV:	return 6;
	default:		return -1;
	}
}

/* A/AAAA of the targets of rs that lie inside the zone (RFC 1034 4.3.2 step 6). */
static void
add_additional(struct ans *a, const struct rrset *rs, const uint8_t *apex)
{
	int off = target_offset(rs->type);
	struct rdata_ref rd;

	if (off < 0)
		return;
	for (const uint8_t *it = rrset_first(rs, &rd); it != NULL;
	    it = rrset_next(rs, it, &rd)) {
		uint8_t target[DNAME_MAXLEN];
		const struct znode *n;
		const struct rrset *addr;

		if (rd.len <= off)
			continue;
		memcpy(target, rd.data + off, dname_len(rd.data + off));
		dname_lower(target);
		if (!dname_is_below(target, apex) || (n = lookup(a, target)) == NULL)
			continue;
		if ((addr = znode_find(n, DNS_TYPE_A)) != NULL)
			add_additional_rrset(a, rd.data + off, addr);
		if ((addr = znode_find(n, DNS_TYPE_AAAA)) != NULL)
			add_additional_rrset(a, rd.data + off, addr);
	}
}

/* ---- what a name comes to: the outcome of a step, and what proves it ---- */

/* The name is in no zone of ours: the first one refused or forwarded, a chain left. */
static enum answer_outcome
outside_outcome(const struct ans *a)
{
	bool recurse = (a->q->flags & DNS_FLAG_RD) && a->recursion;

	if (a->nsteps == 1)
		return recurse ? ANSWER_FORWARD : ANSWER_REFUSED;
	return recurse ? ANSWER_COMPLETE : ANSWER_OUTSIDE;
}

/* Node n holds the data of the step's name (its own node, or st->wildcard for it). */
static enum answer_outcome
node_outcome(struct ans *a, struct answer_step *st, const struct znode *n)
{
	uint16_t qtype = a->q->qtype;
	enum answer_outcome hit = st->wildcard != NULL ? ANSWER_WILDCARD : ANSWER_HIT;

	/* ANY matches the CNAME itself, so it is not restarted (RFC 1034 3.6.2). */
	if (qtype != DNS_TYPE_CNAME && qtype != DNS_TYPE_ANY &&
	    (st->rrset = znode_find(n, DNS_TYPE_CNAME)) != NULL)
		return ANSWER_CNAME;
	if (qtype == DNS_TYPE_ANY && !znode_empty(n)) {
		st->rrset = NULL;	/* every RRset of n */
		return hit;
	}
	if (qtype == DNS_TYPE_DS && is_cut(n, st->apex)) {
		/* The parent's side of a delegation (step_outcome() stopped there for DS). */
		st->rrset = ds_at_cut(a, n, st->apex);
		st->keys_made = znode_keys(n) != NULL;
		return st->rrset != NULL ? hit : ANSWER_NODATA;
	}
	if (not_served_signed(qtype) && zone_signed(a, st->apex)) {
		/* A signed zone's own: DNSKEY, CDS, CDNSKEY at the apex, made from its keys. */
		st->rrset = NULL;
		if (n == st->apex && !a->servfail && qtype != DNS_TYPE_RRSIG &&
		    qtype != DNS_TYPE_DS &&
		    qtype != DNS_TYPE_NSEC && qtype != DNS_TYPE_NSEC3 &&
		    qtype != DNS_TYPE_NSEC3PARAM) {
			const struct rrset *soa = znode_find(n, DNS_TYPE_SOA);

			st->rrset = sign_apex_rrset(&a->sc, qtype, soa->ttl);
			st->keys_made = true;
		}
		return st->rrset != NULL ? hit : ANSWER_NODATA;
	}
	if ((st->rrset = znode_find(n, qtype)) == NULL)
		return ANSWER_NODATA;
	return hit;
}

/* No node for the name: the wildcard at the closest encloser (RFC 4592 3.3.1)? */
static enum answer_outcome
wildcard_outcome(struct ans *a, struct answer_step *st)
{
	const uint8_t *cename = znode_name(st->encloser);
	size_t celen = dname_len(cename);
	uint8_t wild[DNAME_MAXLEN];

	if (celen + 2 > DNAME_MAXLEN)
		return ANSWER_NXDOMAIN;
	wild[0] = 1;
	wild[1] = '*';
	memcpy(wild + 2, cename, celen);
	if ((st->wildcard = store_lookup(a->s, wild, celen + 2)) == NULL)
		return ANSWER_NXDOMAIN;
	return node_outcome(a, st, st->wildcard);
}

/*
 * A DNAME at the strict ancestor sfx[at] of the name (RFC 6672 2.2): next receives the
 * name with that suffix, as the client wrote it, replaced by the DNAME's target.
 */
static enum answer_outcome
dname_outcome(struct answer_step *st, const struct suffixes *sx, int at, uint8_t *next)
{
	struct rdata_ref rd;

	rrset_first(st->rrset, &rd);
	if (dname_substitute(st->name, st->name + suffix_offset(sx, at), rd.data, next) < 0)
		return ANSWER_YXDOMAIN;
	return ANSWER_DNAME;
}

/*
 * The outcome of st->name: its zone (the deepest suffix owning an SOA, so a child zone
 * served by the same instance wins over the parent's delegation to it), then the walk
 * down from the apex, where a cut or a DNAME stops it, then the name's node, its
 * wildcard, or nothing. A DNAME's substituted name goes to next.
 */
static enum answer_outcome
step_outcome(struct ans *a, struct answer_step *st, uint8_t *next)
{
	uint8_t lname[DNAME_MAXLEN];
	struct suffixes sx;
	const struct znode *n = NULL;
	int z, i;

	memcpy(lname, st->name, dname_len(st->name));
	dname_lower(lname);
	split_suffixes(lname, &sx);
	if ((z = find_zone(a, &sx, &st->apex)) < 0)
		return outside_outcome(a);
	st->encloser = st->apex;
	for (i = z; i >= 0; i--) {
		if ((n = sx.node[i]) == NULL)
			break;
		st->encloser = n;
		if (i < z && (st->rrset = znode_find(n, DNS_TYPE_NS)) != NULL) {
			if (i == 0 && a->q->qtype == DNS_TYPE_DS)
				break;	/* DS is the parent side's data: answer it here */
			st->cut = n;
			return ANSWER_REFERRAL;
		}
		if (i > 0 && (st->rrset = znode_find(n, DNS_TYPE_DNAME)) != NULL)
			return dname_outcome(st, &sx, i, next);
	}
	if (n != NULL)
		return node_outcome(a, st, n);
	st->next_closer = st->name + suffix_offset(&sx, i);
	return wildcard_outcome(a, st);
}

/* ---- what each outcome writes ---- */

/*
 * NODATA and NXDOMAIN: the SOA, and in a signed zone with DO its RRSIG and the one NSEC
 * of compact denial. A name that does not exist is then NOERROR, unless the client said
 * with CO that it understands NXDOMAIN here (RFC 9824 3.4).
 */
static void
negative(struct ans *a, const struct answer_step *st, uint8_t rcode)
{
	const struct znode *apex = st->apex;
	const struct rrset *soa = znode_find(apex, DNS_TYPE_SOA);
	uint32_t ttl = rrset_soa_negative_ttl(soa);
	bool proof = signing(a, apex) != NULL;

	a->rcode = proof && !a->compact_ok ? DNS_RCODE_NOERROR : rcode;
	if (soa == NULL || add_signed(a, WIRE_NS, znode_name(apex), soa, ttl, apex, apex) != 0)
		return;
	if (proof)
		add_denial(a, st->name, apex, st->wildcard != NULL ? st->wildcard :
		    rcode == DNS_RCODE_NOERROR ? st->encloser : NULL, ttl);
}

/*
 * REFERRAL: the cut's NS in authority, with glue; in a signed parent with DO, the DS
 * RRset and its RRSIG, or the NSEC at the cut that proves there is none (RFC 4035 3.1.4).
 */
static void
referral(struct ans *a, const struct answer_step *st)
{
	const struct rrset *ds;
	const struct rrset *soa;

	if (add_rrset(a, WIRE_NS, znode_name(st->cut), st->rrset, st->rrset->ttl) != 0)
		return;
	if (signing(a, st->apex) != NULL) {
		if ((ds = ds_at_cut(a, st->cut, st->apex)) != NULL) {
			if (add_signed(a, WIRE_NS, znode_name(st->cut), ds, ds->ttl, st->apex,
			    NULL) != 0)
				return;
		} else {
			soa = znode_find(st->apex, DNS_TYPE_SOA);
			add_denial(a, znode_name(st->cut), st->apex, st->cut,
			    rrset_soa_negative_ttl(soa));
		}
	}
	add_additional(a, st->rrset, znode_name(st->apex));
}

/*
 * RFC 8482: over UDP one RRset (the lowest type) is enough; over TCP all of them. Local
 * RRsets first, then the topic's whose type no local RRset hides.
 */
static void
answer_any(struct ans *a, const struct answer_step *st, const uint8_t *owner,
    const struct znode *n)
{
	const struct rrset_vec *layers[2] = { znode_local(n), znode_rrsets(n) };
	const struct rrset *pick = NULL;
	const struct znode *cache = st->wildcard != NULL ? NULL : n;
	bool sig = zone_signed(a, st->apex);

	for (int k = 0; k < 2; k++) {
		for (uint32_t i = 0; i < layers[k]->count; i++) {
			const struct rrset *rs = layers[k]->sets[i];

			if (k == 1 && znode_find(n, rs->type) != rs)
				continue;	/* hidden by a local RRset */
			if (sig && not_served_signed(rs->type))
				continue;	/* not served from the store in a signed zone */
			if (a->tcp)
				add_signed(a, WIRE_AN, owner, rs, rs->ttl, st->apex, cache);
			else if (pick == NULL || rs->type < pick->type)
				pick = rs;
		}
	}
	if (pick != NULL)
		add_signed(a, WIRE_AN, owner, pick, pick->ttl, st->apex, cache);
}

/* HIT, WILDCARD: the data at the name (the wildcard's, with the name as owner). */
static void
answer_node(struct ans *a, const struct answer_step *st)
{
	/*
	 * An answer from a wildcard is signed at the name it answers, as Knot's onlinesign
	 * does: nothing tells a validator it was synthesised, so no proof that the name
	 * does not exist is needed (the signature is made per name, uncached).
	 */
	const struct znode *cache = st->wildcard != NULL || st->keys_made ? NULL :
	    st->encloser;

	if (a->q->qtype == DNS_TYPE_ANY) {
		answer_any(a, st, st->name, st->wildcard != NULL ? st->wildcard : st->encloser);
		return;
	}
	if (add_signed(a, WIRE_AN, st->name, st->rrset, st->rrset->ttl, st->apex, cache) == 0)
		add_additional(a, st->rrset, znode_name(st->apex));
}

/*
 * Whether the chain may go on to name: not when the name was reached already (a loop)
 * or the chain has CHAIN_MAX links.
 */
static bool
chain_next(const struct ans *a, const uint8_t *name)
{
	for (int i = 0; i < a->nsteps; i++)
		if (dname_equal(a->step[i].name, name))
			return false;
	return a->nsteps < CHAIN_MAX + 1;
}

/* CNAME (RFC 1034 4.3.2 step 3a): the CNAME in the answer; returns its target, or NULL. */
static const uint8_t *
follow_cname(struct ans *a, const struct answer_step *st)
{
	struct rdata_ref rd;

	if (add_signed(a, WIRE_AN, st->name, st->rrset, st->rrset->ttl, st->apex,
	    st->wildcard != NULL ? NULL : st->encloser) != 0)
		return NULL;
	rrset_first(st->rrset, &rd);
	return chain_next(a, rd.data) ? rd.data : NULL;
}

/* A chain may pass below one DNAME twice: the DNAME RR goes into the answer once. */
static int
add_dname(struct ans *a, const struct answer_step *st)
{
	for (int i = 0; i < a->ndnames; i++)
		if (a->dnames[i] == st->rrset)
			return 0;
	if (a->ndnames < CHAIN_MAX)
		a->dnames[a->ndnames++] = st->rrset;
	return add_signed(a, WIRE_AN, znode_name(st->encloser), st->rrset, st->rrset->ttl,
	    st->apex, st->encloser);
}

/*
 * DNAME (RFC 6672 2.2): the DNAME and a CNAME synthesized from the name to next (TTL of
 * the DNAME). Returns the name to resolve next, kept in a->synth, or NULL.
 */
static const uint8_t *
follow_dname(struct ans *a, const struct answer_step *st, const uint8_t *next)
{
	size_t len = dname_len(next);
	union {
		struct rrset	rs;
		uint8_t		raw[sizeof(struct rrset) + 2 + DNAME_MAXLEN];
	} u;
	struct rrset *syn = &u.rs;

	if (add_dname(a, st) != 0)
		return NULL;
	syn->type = DNS_TYPE_CNAME;
	syn->count = 1;
	syn->ttl = st->rrset->ttl;
	syn->datalen = (uint32_t)(2 + len);
	memcpy(syn->data, &(uint16_t){ (uint16_t)len }, 2);
	memcpy(syn->data + 2, next, len);
	if (add_rrset(a, WIRE_AN, st->name, syn, syn->ttl) != 0 || !chain_next(a, next))
		return NULL;
	/* Step 0 is the query name, never synthesized: a free slot is left. */
	assert(a->nsynth < CHAIN_MAX);
	memcpy(a->synth[a->nsynth], next, len);
	return a->synth[a->nsynth++];
}

/*
 * The answer as a state machine (as Knot's BEGIN, HIT, MISS, NODATA, DELEG, FOLLOW):
 * each pass takes one name of the chain (the query name, then each target) to an outcome
 * and writes what that outcome answers, in one place per outcome. CNAME and DNAME give
 * the next name; every other outcome, a loop or CHAIN_MAX links end the answer. The
 * steps stay in a->step[] for what must prove them.
 */
static void
resolve(struct ans *a)
{
	const uint8_t *name = a->q->qname;
	uint8_t next[DNAME_MAXLEN];

	while (name != NULL) {
		struct answer_step *st;

		assert(a->nsteps < CHAIN_MAX + 1);	/* chain_next() bounds the chain */
		st = &a->step[a->nsteps++];
		*st = (struct answer_step){ .name = name };
		name = NULL;
		st->outcome = step_outcome(a, st, next);
		/* A signed zone that cannot be signed here answers nothing, DO or not. */
		if (st->apex != NULL && zone_signed(a, st->apex) && a->servfail)
			break;
		switch (st->outcome) {
		case ANSWER_HIT:
		case ANSWER_WILDCARD:
			answer_node(a, st);
			break;
		case ANSWER_CNAME:
			name = follow_cname(a, st);
			break;
		case ANSWER_DNAME:
			name = follow_dname(a, st, next);
			break;
		case ANSWER_YXDOMAIN:
			if (add_dname(a, st) == 0)
				a->rcode = DNS_RCODE_YXDOMAIN;
			break;
		case ANSWER_NODATA:
			negative(a, st, DNS_RCODE_NOERROR);
			break;
		case ANSWER_NXDOMAIN:
			negative(a, st, DNS_RCODE_NXDOMAIN);
			break;
		case ANSWER_REFERRAL:
			referral(a, st);
			break;
		case ANSWER_REFUSED:
			a->rcode = DNS_RCODE_REFUSED;
			break;
		case ANSWER_FORWARD:
			a->forward = true;	/* the query goes to dnsr as it is */
			break;
		case ANSWER_COMPLETE:
			a->complete = true;	/* dnsr resolves the target, we merge */
			memcpy(a->target, st->name, dname_len(st->name));
			break;
		case ANSWER_OUTSIDE:
			break;		/* the chain so far is the answer */
		case ANSWER_NONE:
			assert(!"step_outcome() decides every step");
			break;
		}
	}
	/* AA speaks of the query name: our data, not a referral (a CNAME before one keeps it). */
	a->aa = a->step[0].apex != NULL && a->step[0].outcome != ANSWER_REFERRAL;
}

/* What every envelope of ours carries: our payload size, NSID when configured. */
struct env_opts
answer_env_opts(const struct answer_opts *o)
{
	struct env_opts eo = { o->udp_payload, NULL, EDNS_FLAG_CO };

	if (o->nsid)
		eo.nsid = o->identity;
	return eo;
}

size_t
answer_servfail(const struct answer_opts *o, const uint8_t *msg, size_t len, uint16_t ede,
    uint8_t *out, size_t outcap)
{
	struct env_opts eo = answer_env_opts(o);
	struct dns_query q;

	if (wire_parse_query(msg, len, &q) != WIRE_OK)
		return 0;
	q.cookie_len = 0;	/* no cookie of ours: the gate's went with the query */
	return env_error(out, env_limit(&q, true, o->udp_payload, outcap), &q, &eo,
	    DNS_RCODE_SERVFAIL, DNS_FLAG_RA, ede, NULL);
}

size_t
answer_message(const struct store *s, const struct answer_opts *o, const uint8_t *msg,
    size_t len, bool tcp, uint8_t *out, size_t outcap, struct answer_info *info)
{
	const struct gate_policy gp = {
		.chaos = true, .xfr_rcode = DNS_RCODE_NOERROR, .cookies = o->cookies,
		.tsig_keys = o->tsig_keys, .update = true,
	};
	struct env_opts eo = answer_env_opts(o);
	struct gate_result g;
	struct dns_query q;
	struct wire_writer w;
	struct ans a;
	size_t lim, n;

	memset(info, 0, sizeof(*info));
	gate_check(&gp, msg, len, o->client, o->now, &q, &g);
	info->qtype = q.qtype;
	info->cookie = g.cookie;
	if (g.tsig.result != TSIG_NONE)
		info->tsig = g.tsig;
	if (g.verdict == GATE_DROP) {
		info->dropped = true;
		return 0;
	}
	lim = env_limit(&q, tcp, o->udp_payload, outcap);
	info->limit = (uint16_t)(lim < DNS_MAX_MSG ? lim : DNS_MAX_MSG);
	if (g.verdict == GATE_REPLY) {
		info->rcode = (uint8_t)g.rcode;
		return env_error(out, lim, &q, &eo, g.rcode, 0, g.ede, NULL);
	}
	if (q.opcode == DNS_OPCODE_UPDATE) {
		if (!o->ready) {
			info->rcode = DNS_RCODE_SERVFAIL;
			return env_error(out, lim, &q, &eo, DNS_RCODE_SERVFAIL, 0, EDE_NOT_READY,
			    NULL);
		}
		info->update = true;	/* updater.c's to answer */
		return 0;
	}
	if (q.qclass == DNS_CLASS_CH) {
		if ((n = chaos_answer(out, lim, &q, o, &eo)) > 0)
			return n;
		info->rcode = DNS_RCODE_REFUSED;	/* a CH name we do not answer */
		return env_error(out, lim, &q, &eo, DNS_RCODE_REFUSED, 0, -1, NULL);
	}
	if (q.qtype == DNS_TYPE_AXFR || q.qtype == DNS_TYPE_IXFR) {
		info->xfr = true;	/* xfr.c's to answer */
		return 0;
	}
	if (!o->ready) {
		info->rcode = DNS_RCODE_SERVFAIL;
		return env_error(out, lim, &q, &eo, DNS_RCODE_SERVFAIL, 0, EDE_NOT_READY, NULL);
	}
	env_begin(&w, out, lim, &q);
	memset(&a, 0, offsetof(struct ans, sc));
	a.s = s;
	a.w = &w;
	a.q = &q;
	a.tcp = tcp;
	/* dnsr's answer could not carry our signature: a signed query is answered here. */
	a.recursion = o->recursion && g.tsig.result == TSIG_NONE;
	a.now = (time_t)o->now;
	a.dnssec = q.edns && (q.edns_flags & EDNS_FLAG_DO);
	/* A valid server cookie or TSIG proves the client: exempt from RRL, as in server.c. */
	a.rrl = !tcp && g.cookie != COOKIE_VALID && g.tsig.result != TSIG_OK ? o->rrl : NULL;
	a.client = o->client;
	a.compact_ok = a.dnssec && (q.edns_flags & EDNS_FLAG_CO);
	rcu_read_lock();
	a.serve = o->serve != NULL ? rcu_dereference(*(struct zone_filter **)o->serve) : NULL;
	resolve(&a);
	rcu_read_unlock();
	info->outcome = a.nsteps > 0 ? a.step[0].outcome : ANSWER_NONE;
	info->rrl_checked = a.rrl_checked;
	if (a.limited == RRL_DROP) {
		info->dropped = true;
		return 0;
	}
	if (a.limited == RRL_SLIP) {
		info->truncated = true;
		env_restart(&w, &q);
		return env_finish(&w, &q, &eo, DNS_RCODE_NOERROR, DNS_FLAG_TC, -1, NULL);
	}
	if (a.servfail) {
		/* A signed zone this instance cannot sign: never its data unsigned. */
		info->rcode = DNS_RCODE_SERVFAIL;
		return env_error(out, lim, &q, &eo, DNS_RCODE_SERVFAIL, 0, EDE_OTHER,
		    "signing keys unavailable");
	}
	info->rcode = a.rcode;
	if (a.forward) {
		info->forward = true;
		return 0;
	}
	if (a.complete) {
		info->complete = true;
		memcpy(info->target, a.target, dname_len(a.target));
	}
	if (a.truncated) {
		info->truncated = true;
		env_restart(&w, &q);
		return env_finish(&w, &q, &eo, a.rcode,
		    DNS_FLAG_TC | (a.aa ? DNS_FLAG_AA : 0), -1, NULL);
	}
	return env_finish(&w, &q, &eo, a.rcode, a.aa ? DNS_FLAG_AA : 0, -1, NULL);
}
