/* answer.c: authoritative answers: zones, delegations, CNAME/DNAME, wildcards, negatives. */
#include <string.h>

#include <urcu.h>

#include "authd/answer.h"
#include "common/cookie.h"
#include "common/dname.h"
#include "common/wire.h"

#define CHAIN_MAX	12	/* CNAME/DNAME links followed in one answer */
#define NSID_MAX	64
#define OPT_OPTIONS_MAX	(4 + 24 + 6 + 4 + NSID_MAX)	/* COOKIE, EDE, NSID */
#define OPT_RESERVE	(11 + OPT_OPTIONS_MAX)	/* room kept for our OPT RR */

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
	uint8_t			 target[DNAME_MAXLEN];
	uint8_t			 rcode;
	int			 chain;		/* names in seen[] */
	uint8_t			 seen[CHAIN_MAX + 1][DNAME_MAXLEN];	/* names of the chain */
	int			 ndnames;
	const struct rrset	*dnames[CHAIN_MAX];	/* DNAMEs already in the answer */
};

/*
 * A name split into its suffixes: sfx[0] is the name, sfx[n] the root. node[i] caches the
 * lookup of sfx[i] made while finding the zone, so the walk down does not repeat it.
 */
struct suffixes {
	int			 n;
	const uint8_t		*sfx[DNAME_MAXLABELS + 1];
	const struct znode	*node[DNAME_MAXLABELS + 1];
};

static void
split_suffixes(const uint8_t *name, struct suffixes *sx)
{
	sx->n = 0;
	for (const uint8_t *p = name; ; p += 1 + *p) {
		sx->sfx[sx->n] = p;
		if (*p == 0)
			break;
		sx->n++;
	}
}

static const struct znode *
lookup(const struct ans *a, const uint8_t *name)
{
	return store_lookup(a->s, name, dname_len(name));
}

static bool
zone_served(const struct zone_filter *f, const uint8_t *apex)
{
	if (f == NULL)
		return true;
	for (size_t i = 0; i < f->n; i++)
		if (dname_equal(f->names[i], apex))
			return true;
	return false;
}

/* The deepest suffix of name owning an SOA: the zone the name belongs to. */
static int
find_zone(const struct ans *a, struct suffixes *sx, const struct znode **apex)
{
	for (int i = 0; i <= sx->n; i++) {
		const struct znode *n = sx->node[i] = lookup(a, sx->sfx[i]);

		if (n != NULL && znode_find(n, DNS_TYPE_SOA) != NULL) {
			/* A zone this instance does not serve: as if no zone held the name. */
			if (!zone_served(a->serve, sx->sfx[i]))
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

/* NXDOMAIN or NODATA: the zone's SOA in authority. */
static void
negative(struct ans *a, const struct znode *apex, uint8_t rcode)
{
	const struct rrset *soa = znode_find(apex, DNS_TYPE_SOA);

	a->rcode = rcode;
	if (soa != NULL)
		add_rrset(a, WIRE_NS, znode_name(apex), soa, rrset_soa_negative_ttl(soa));
}

/* A referral to the zone cut at node cut (AA=0, NS in authority, glue). */
static void
referral(struct ans *a, const struct znode *cut, const struct znode *apex)
{
	const struct rrset *ns = znode_find(cut, DNS_TYPE_NS);

	if (a->chain <= 1)
		a->aa = false;	/* AA speaks of the query name: a CNAME before it keeps it */
	if (add_rrset(a, WIRE_NS, znode_name(cut), ns, ns->ttl) == 0)
		add_additional(a, ns, znode_name(apex));
}

static void resolve(struct ans *a, const uint8_t *qname);

/* Remembers a name of the chain; false when it was seen already (a loop). */
static bool
chain_step(struct ans *a, const uint8_t *name)
{
	for (int i = 0; i < a->chain; i++)
		if (dname_equal(a->seen[i], name))
			return false;
	if (a->chain == CHAIN_MAX + 1)
		return false;
	memcpy(a->seen[a->chain++], name, dname_len(name));
	return true;
}

/* Follows a CNAME (RFC 1034 4.3.2 step 3a) to its target inside our zones. */
static void
follow_cname(struct ans *a, const uint8_t *owner, const struct rrset *cname)
{
	struct rdata_ref rd;
	uint8_t target[DNAME_MAXLEN];

	if (add_rrset(a, WIRE_AN, owner, cname, cname->ttl) != 0)
		return;
	rrset_first(cname, &rd);
	memcpy(target, rd.data, dname_len(rd.data));
	if (!chain_step(a, target))
		return;
	resolve(a, target);
}

/*
 * RFC 8482: over UDP one RRset (the lowest type) is enough; over TCP all of them. Local
 * RRsets first, then the topic's whose type no local RRset hides.
 */
static void
answer_any(struct ans *a, const uint8_t *owner, const struct znode *n)
{
	const struct rrset_vec *layers[2] = { znode_local(n), znode_rrsets(n) };
	const struct rrset *pick = NULL;

	for (int k = 0; k < 2; k++) {
		for (uint32_t i = 0; i < layers[k]->count; i++) {
			const struct rrset *rs = layers[k]->sets[i];

			if (k == 1 && znode_find(n, rs->type) != rs)
				continue;	/* hidden by a local RRset */
			if (a->tcp)
				add_rrset(a, WIRE_AN, owner, rs, rs->ttl);
			else if (pick == NULL || rs->type < pick->type)
				pick = rs;
		}
	}
	if (pick != NULL)
		add_rrset(a, WIRE_AN, owner, pick, pick->ttl);
}

/* Answers from node n, which holds the data of owner (itself, or a wildcard for it). */
static void
answer_node(struct ans *a, const uint8_t *owner, const struct znode *n,
    const struct znode *apex)
{
	const struct rrset *rs;
	uint16_t qtype = a->q->qtype;

	/* ANY matches the CNAME itself, so it is not restarted (RFC 1034 3.6.2). */
	if (qtype != DNS_TYPE_CNAME && qtype != DNS_TYPE_ANY &&
	    (rs = znode_find(n, DNS_TYPE_CNAME)) != NULL) {
		follow_cname(a, owner, rs);
		return;
	}
	if (qtype == DNS_TYPE_ANY && !znode_empty(n)) {
		answer_any(a, owner, n);
		return;
	}
	if ((rs = znode_find(n, qtype)) == NULL) {
		negative(a, apex, DNS_RCODE_NOERROR);
		return;
	}
	if (add_rrset(a, WIRE_AN, owner, rs, rs->ttl) == 0)
		add_additional(a, rs, znode_name(apex));
}

/* A chain may pass below one DNAME twice: the DNAME RR goes into the answer once. */
static bool
dname_written(struct ans *a, const struct rrset *dname)
{
	for (int i = 0; i < a->ndnames; i++)
		if (a->dnames[i] == dname)
			return true;
	if (a->ndnames < CHAIN_MAX)
		a->dnames[a->ndnames++] = dname;
	return false;
}

/*
 * DNAME substitution (RFC 6672 2.2): the DNAME, a synthesized CNAME from qname to
 * qname with the owner's suffix replaced by the target, and the target resolved.
 */
static void
follow_dname(struct ans *a, const uint8_t *qname, const struct suffixes *sx, int at,
    const struct znode *dn)
{
	const struct rrset *dname = znode_find(dn, DNS_TYPE_DNAME);
	struct rdata_ref rd;
	uint8_t target[DNAME_MAXLEN];
	int tlen;
	union {
		struct rrset	rs;
		uint8_t		raw[sizeof(struct rrset) + 2 + DNAME_MAXLEN];
	} u;
	struct rrset *syn = &u.rs;

	if (!dname_written(a, dname) &&
	    add_rrset(a, WIRE_AN, znode_name(dn), dname, dname->ttl) != 0)
		return;
	rrset_first(dname, &rd);
	/* The suffix of qname at the DNAME's owner, as the client wrote it. */
	if ((tlen = dname_substitute(qname, qname + (sx->sfx[at] - sx->sfx[0]), rd.data,
	    target)) < 0) {
		a->rcode = DNS_RCODE_YXDOMAIN;	/* RFC 6672 2.2: the result is too long */
		return;
	}
	/* The synthesized CNAME, as a one-record rrset with TTL of the DNAME. */
	syn->type = DNS_TYPE_CNAME;
	syn->count = 1;
	syn->ttl = dname->ttl;
	syn->datalen = (uint32_t)(2 + tlen);
	memcpy(syn->data, &(uint16_t){ (uint16_t)tlen }, 2);
	memcpy(syn->data + 2, target, (size_t)tlen);
	if (add_rrset(a, WIRE_AN, qname, syn, syn->ttl) != 0 || !chain_step(a, target))
		return;
	resolve(a, target);
}

/*
 * Resolves qname inside our zones, appending to the response. For the first name the
 * caller set REFUSED when no zone holds it; along a chain, a name outside our zones
 * simply ends the chain.
 */
static void
resolve(struct ans *a, const uint8_t *name)
{
	uint8_t lname[DNAME_MAXLEN];
	struct suffixes sx;
	const struct znode *apex, *n = NULL, *ce;
	int z, i;

	memcpy(lname, name, dname_len(name));
	dname_lower(lname);
	split_suffixes(lname, &sx);
	if ((z = find_zone(a, &sx, &apex)) < 0) {
		bool rd = a->q->flags & DNS_FLAG_RD;

		if (a->chain == 0 && rd && a->recursion)
			a->forward = true;
		else if (a->chain == 0)
			a->rcode = DNS_RCODE_REFUSED;
		else if (rd && a->recursion) {
			/* A chain that leaves our zones is completed through dnsr. */
			a->complete = true;
			memcpy(a->target, name, dname_len(name));
		}
		return;
	}

	if (a->chain == 0) {
		a->aa = true;
		chain_step(a, lname);	/* the query name: a chain back to it is a loop */
	}
	ce = apex;
	for (i = z; i >= 0; i--) {
		n = sx.node[i];
		if (n == NULL)
			break;
		ce = n;
		if (i < z && znode_find(n, DNS_TYPE_NS) != NULL) {
			if (i == 0 && a->q->qtype == DNS_TYPE_DS)
				break;	/* DS is the parent side's data: answer it here */
			referral(a, n, apex);
			return;
		}
		if (i > 0 && znode_find(n, DNS_TYPE_DNAME) != NULL) {
			follow_dname(a, name, &sx, i, n);
			return;
		}
	}
	if (i < 0 || n != NULL) {
		answer_node(a, name, ce, apex);
		return;
	}
	/* No such name: a wildcard at the closest encloser (RFC 4592 3.3.1)? */
	{
		uint8_t wild[DNAME_MAXLEN];
		const uint8_t *cename = znode_name(ce);
		size_t celen = dname_len(cename);
		const struct znode *w;

		if (celen + 2 <= DNAME_MAXLEN) {
			wild[0] = 1;
			wild[1] = '*';
			memcpy(wild + 2, cename, celen);
			if ((w = lookup(a, wild)) != NULL) {
				answer_node(a, name, w, apex);
				return;
			}
		}
	}
	negative(a, apex, DNS_RCODE_NXDOMAIN);
}

static uint16_t
response_flags(const struct dns_query *q, uint8_t rcode)
{
	return (uint16_t)(DNS_FLAG_QR | (q->flags & (0x7800 | DNS_FLAG_RD | DNS_FLAG_CD)) |
	    (rcode & 0x0f));
}

/* The options of our OPT: a fresh server cookie for a client that sent one, EDE. */
static uint16_t
build_options(const struct dns_query *q, const struct answer_opts *o, int ede,
    uint8_t *opts)
{
	uint16_t n = 0;

	if (q->cookie_len >= COOKIE_CLIENT_LEN && o->cookies != NULL && o->client != NULL) {
		wire_write16(opts, EDNS_OPT_COOKIE);
		wire_write16(opts + 2, COOKIE_CLIENT_LEN + COOKIE_SERVER_LEN);
		memcpy(opts + 4, q->cookie, COOKIE_CLIENT_LEN);
		cookie_make(o->cookies, q->cookie, o->client, o->now,
		    opts + 4 + COOKIE_CLIENT_LEN);
		n += 4 + COOKIE_CLIENT_LEN + COOKIE_SERVER_LEN;
	}
	if (q->edns_nsid && o->nsid && o->identity != NULL) {
		size_t l = strlen(o->identity) < NSID_MAX ? strlen(o->identity) : NSID_MAX;

		wire_write16(opts + n, EDNS_OPT_NSID);
		wire_write16(opts + n + 2, (uint16_t)l);
		memcpy(opts + n + 4, o->identity, l);
		n += (uint16_t)(4 + l);
	}
	if (ede >= 0) {
		wire_write16(opts + n, EDNS_OPT_EDE);
		wire_write16(opts + n + 2, 2);
		wire_write16(opts + n + 4, (uint16_t)ede);
		n += 6;
	}
	return n;
}

/* Header, question and (when the query had one) our OPT with its options. */
static size_t
finish(struct wire_writer *w, const struct dns_query *q, const struct answer_opts *o,
    uint8_t rcode, uint16_t flags, int ede)
{
	uint8_t opts[OPT_OPTIONS_MAX];
	uint16_t optlen;

	wire_set_flags(w, (uint16_t)((flags & ~0x000f) | (rcode & 0x0f)));
	if (q->edns) {
		w->cap = w->cap + OPT_RESERVE > DNS_MAX_MSG ? DNS_MAX_MSG : w->cap + OPT_RESERVE;
		optlen = build_options(q, o, ede, opts);
		wire_opt(w, o->udp_payload, (uint8_t)(rcode >> 4), 0,
		    q->edns_flags & EDNS_FLAG_DO, opts, optlen);
	}
	return wire_finish(w);
}

/* A response with only the header and question (errors, truncation). */
static size_t
error_response(struct wire_writer *w, const struct dns_query *q,
    const struct answer_opts *o, uint8_t rcode, int ede)
{
	wire_header(w, q->id, 0);
	if (q->has_question)
		wire_question(w, q->qname, q->qtype, q->qclass);
	return finish(w, q, o, rcode, response_flags(q, 0), ede);
}

/* The largest response this query may get (RFC 6891 6.2.5, RFC 1035 4.2.1). */
static size_t
response_limit(const struct dns_query *q, const struct answer_opts *o, bool tcp,
    size_t outcap)
{
	size_t lim = DNS_MIN_UDP;

	if (tcp)
		lim = DNS_MAX_MSG;
	else if (q->edns)
		lim = q->edns_udp < o->udp_payload ? q->edns_udp : o->udp_payload;
	if (lim < DNS_MIN_UDP)
		lim = DNS_MIN_UDP;
	return lim < outcap ? lim : outcap;
}

/* What the query's cookie tells of the client (RFC 7873 5.2). */
static enum answer_cookie
cookie_state(const struct dns_query *q, const struct answer_opts *o)
{
	if (q->cookie_len == 0 || o->cookies == NULL || o->client == NULL)
		return COOKIE_NONE;
	if (q->cookie_len == COOKIE_CLIENT_LEN)
		return COOKIE_CLIENT_ONLY;
	return cookie_valid(o->cookies, q->cookie, q->cookie + COOKIE_CLIENT_LEN,
	    q->cookie_len - COOKIE_CLIENT_LEN, o->client, o->now) ? COOKIE_VALID : COOKIE_INVALID;
}

/* The query is well formed: decide what kind of answer it gets. */
static uint8_t
precheck(const struct dns_query *q, const struct answer_opts *o, int *ede)
{
	if (q->edns && q->edns_version > 0)
		return DNS_RCODE_BADVERS;
	if (q->opcode != DNS_OPCODE_QUERY)
		return DNS_RCODE_NOTIMP;
	switch (q->qtype) {
	case DNS_TYPE_OPT: case DNS_TYPE_TSIG: case DNS_TYPE_TKEY:
		return DNS_RCODE_FORMERR;
	case DNS_TYPE_AXFR: case DNS_TYPE_IXFR:
		return DNS_RCODE_REFUSED;	/* zones travel by Kafka, not by transfer */
	case DNS_TYPE_MAILA: case DNS_TYPE_MAILB:
		return DNS_RCODE_NOTIMP;
	}
	if (q->qclass != DNS_CLASS_IN)
		return DNS_RCODE_REFUSED;
	if (!o->ready) {
		*ede = EDE_NOT_READY;
		return DNS_RCODE_SERVFAIL;
	}
	return DNS_RCODE_NOERROR;
}

/*
 * CH TXT id.server. and hostname.bind. (the identity, RFC 4892) and version.bind. and
 * version.server. (only when a version is configured). Returns 0 for any other CH query.
 */
size_t
answer_servfail(const struct answer_opts *o, const uint8_t *msg, size_t len, uint16_t ede,
    uint8_t *out, size_t outcap)
{
	struct dns_query q;
	struct wire_writer w;

	if (wire_parse_query(msg, len, &q) != WIRE_OK)
		return 0;
	wire_init(&w, out, response_limit(&q, o, true, outcap));
	wire_header(&w, q.id, 0);
	wire_question(&w, q.qname, q.qtype, q.qclass);
	return finish(&w, &q, o, DNS_RCODE_SERVFAIL, response_flags(&q, 0) | DNS_FLAG_RA,
	    ede);
}

static size_t
chaos_answer(struct wire_writer *w, const struct dns_query *q, const struct answer_opts *o)
{
	static const char *const idnames[] = { "id.server.", "hostname.bind." };
	static const char *const vernames[] = { "version.bind.", "version.server." };
	uint8_t name[DNAME_MAXLEN], txt[256];
	const char *text = NULL;
	size_t l;

	if (q->qtype != 16 /* TXT */ && q->qtype != DNS_TYPE_ANY)
		return 0;
	for (int i = 0; i < 2; i++) {
		if (o->identity_queries && o->identity != NULL &&
		    dname_from_str(idnames[i], NULL, name) > 0 && dname_equal(name, q->qname))
			text = o->identity;
		if (o->version != NULL && dname_from_str(vernames[i], NULL, name) > 0 &&
		    dname_equal(name, q->qname))
			text = o->version;
	}
	if (text == NULL)
		return 0;
	l = strlen(text) < 255 ? strlen(text) : 255;
	txt[0] = (uint8_t)l;
	memcpy(txt + 1, text, l);
	wire_header(w, q->id, 0);
	wire_question(w, q->qname, q->qtype, q->qclass);
	if (q->edns)
		w->cap -= OPT_RESERVE;
	wire_rr(w, WIRE_AN, q->qname, 16, DNS_CLASS_CH, 0, txt, (uint16_t)(l + 1));
	return finish(w, q, o, DNS_RCODE_NOERROR, response_flags(q, 0) | DNS_FLAG_AA, -1);
}

size_t
answer_message(const struct store *s, const struct answer_opts *o, const uint8_t *msg,
    size_t len, bool tcp, uint8_t *out, size_t outcap, struct answer_info *info)
{
	struct dns_query q;
	struct wire_writer w;
	struct ans a;
	enum wire_parse_result pr = wire_parse_query(msg, len, &q);
	size_t lim, n;
	int ede = -1;
	uint8_t rc;

	memset(info, 0, sizeof(*info));
	info->qtype = q.qtype;
	if (pr == WIRE_DROP) {
		info->dropped = true;
		return 0;
	}
	info->cookie = cookie_state(&q, o);
	lim = response_limit(&q, o, tcp, outcap);
	info->limit = (uint16_t)(lim < DNS_MAX_MSG ? lim : DNS_MAX_MSG);
	wire_init(&w, out, lim);
	if (pr == WIRE_FORMERR) {
		q.edns = false;		/* the OPT may be what was wrong */
		info->rcode = DNS_RCODE_FORMERR;
		return error_response(&w, &q, o, DNS_RCODE_FORMERR, -1);
	}
	if (q.qclass == DNS_CLASS_CH && q.opcode == DNS_OPCODE_QUERY &&
	    !(q.edns && q.edns_version > 0) && (n = chaos_answer(&w, &q, o)) > 0) {
		info->rcode = DNS_RCODE_NOERROR;
		return n;
	}
	if ((rc = precheck(&q, o, &ede)) != DNS_RCODE_NOERROR) {
		info->rcode = rc;
		return error_response(&w, &q, o, rc, ede);
	}
	if (q.edns)
		w.cap = lim - OPT_RESERVE;
	wire_header(&w, q.id, 0);
	wire_question(&w, q.qname, q.qtype, q.qclass);
	memset(&a, 0, sizeof(a));
	a.s = s;
	a.w = &w;
	a.q = &q;
	a.tcp = tcp;
	a.recursion = o->recursion;
	rcu_read_lock();
	a.serve = o->serve != NULL ? rcu_dereference(*(struct zone_filter **)o->serve) : NULL;
	resolve(&a, q.qname);
	rcu_read_unlock();
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
		wire_header(&w, q.id, 0);
		wire_question(&w, q.qname, q.qtype, q.qclass);
		return finish(&w, &q, o, a.rcode,
		    response_flags(&q, 0) | DNS_FLAG_TC | (a.aa ? DNS_FLAG_AA : 0), -1);
	}
	return finish(&w, &q, o, a.rcode, response_flags(&q, 0) | (a.aa ? DNS_FLAG_AA : 0),
	    -1);
}
