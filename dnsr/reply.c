/* reply.c: answers for clients: the cache followed through CNAMEs, and the response on the wire. */
#include <string.h>

#include "common/envelope.h"
#include "dnsr/reply.h"
#include "dnsr/validate.h"


void
result_init(struct result *r)
{
	r->rcode = DNS_RCODE_NOERROR;
	r->ede = -1;
	r->ede_text = NULL;
	r->nan = 0;
	r->neg = NULL;
	r->sec = SEC_UNCHECKED;
}

void
result_clear(struct result *r)
{
	for (size_t i = 0; i < r->nan; i++)
		cache_entry_unref(r->an[i]);
	cache_entry_unref(r->neg);
	result_init(r);
}

int
result_add(struct result *r, struct cache_entry *e)
{
	if (r->nan == RESULT_MAX_AN)
		return -1;
	cache_entry_ref(e);
	r->an[r->nan++] = e;
	return 0;
}

void
result_set_neg(struct result *r, struct cache_entry *e, uint16_t rcode)
{
	if (e != NULL)
		cache_entry_ref(e);
	cache_entry_unref(r->neg);
	r->neg = e;
	r->rcode = rcode;
}

/* Weakest first: bogus, then unchecked data, insecure, indeterminate, secure. */
static int
sec_rank(uint8_t sec)
{
	switch (sec) {
	case SEC_BOGUS:		return 0;
	case SEC_UNCHECKED:	return 1;
	case SEC_INSECURE:	return 2;
	case SEC_INDETERMINATE:	return 3;
	default:		return 4;
	}
}

uint8_t
result_security(const struct result *r, const struct cache_entry **bogus)
{
	uint8_t sec = SEC_SECURE;
	bool any = false;

	*bogus = NULL;
	for (size_t i = 0; i <= r->nan; i++) {
		const struct cache_entry *e = i < r->nan ? r->an[i] : r->neg;

		if (e == NULL)
			continue;
		any = true;
		if (e->sec == SEC_BOGUS && *bogus == NULL)
			*bogus = e;
		if (sec_rank(e->sec) < sec_rank(sec))
			sec = e->sec;
	}
	if (r->sec != SEC_UNCHECKED)
		return r->sec;
	return any ? sec : SEC_UNCHECKED;
}

/* The DNAME that a synthesized CNAME at name came from: at the nearest ancestor. */
static struct cache_entry *
find_dname(struct cache *c, const uint8_t *name, uint32_t now)
{
	for (const uint8_t *a = dname_parent(name); a != NULL; a = dname_parent(a)) {
		struct cache_entry *e = cache_lookup(c, a, DNS_TYPE_DNAME, CACHE_RANK_ANSWER,
		    now);

		if (e != NULL)
			return e;
	}
	return NULL;
}

/* Appends a cached CNAME link (with its DNAME when synthesized); -1 if it cannot be used. */
static int
add_link(struct cache *c, struct cache_entry *cn, const uint8_t *name, uint32_t now,
    struct result *r, uint8_t *target)
{
	struct rdata_ref rd;
	struct cache_entry *dn = NULL;
	int rc = -1;

	if (rrset_first(cn->rrset, &rd) == NULL || rd.len == 0 || dname_len(rd.data) != rd.len)
		return -1;
	if ((cn->flags & CACHE_FLAG_SYNTH) && (dn = find_dname(c, name, now)) == NULL)
		return -1;	/* the DNAME went first: ask again rather than answer half */
	if ((dn == NULL || result_add(r, dn) == 0) && result_add(r, cn) == 0) {
		memcpy(target, rd.data, rd.len);
		dname_lower(target);
		rc = 0;
	}
	cache_entry_unref(dn);
	return rc;
}

/* The cache's entry for (name, type), if it may be used: judged, when validating. */
static struct cache_entry *
lookup(struct cache *c, const uint8_t *name, uint16_t type, uint32_t now, bool any_sec)
{
	struct cache_entry *e = cache_lookup(c, name, type, CACHE_RANK_ANSWER, now);

	if (e != NULL && !any_sec && e->sec == SEC_UNCHECKED) {
		cache_entry_unref(e);
		return NULL;
	}
	return e;
}

enum reply_lookup
reply_lookup(struct cache *c, const uint8_t *name, uint16_t qtype, uint32_t now,
    struct result *r, uint8_t *next, int *links, int max_chain, bool any_sec)
{
	uint8_t cur[DNAME_MAXLEN], target[DNAME_MAXLEN];
	struct cache_entry *e;

	memcpy(cur, name, dname_len(name));
	while (qtype != DNS_TYPE_ANY) {
		if ((e = lookup(c, cur, qtype, now, any_sec)) != NULL) {
			if (e->kind == CACHE_POSITIVE) {
				r->rcode = result_add(r, e) == 0 ? DNS_RCODE_NOERROR :
				    DNS_RCODE_SERVFAIL;
			} else {
				result_set_neg(r, e, DNS_RCODE_NOERROR);
			}
			cache_entry_unref(e);
			return LOOKUP_DONE;
		}
		if (qtype != DNS_TYPE_CNAME &&
		    (e = lookup(c, cur, DNS_TYPE_CNAME, now, any_sec)) != NULL) {
			int rc = *links < max_chain ? add_link(c, e, cur, now, r, target) : 1;

			cache_entry_unref(e);
			if (rc > 0)
				return LOOKUP_CHAIN_LIMIT;
			if (rc < 0)
				break;
			(*links)++;
			memcpy(cur, target, dname_len(target));
			continue;
		}
		if ((e = lookup(c, cur, CACHE_TYPE_NXDOMAIN, now, any_sec)) != NULL) {
			result_set_neg(r, e, DNS_RCODE_NXDOMAIN);
			cache_entry_unref(e);
			return LOOKUP_DONE;
		}
		break;
	}
	memcpy(next, cur, dname_len(cur));
	return LOOKUP_MISS;
}

/* ---- the wire ---- */

static int
write_rrset(struct wire_writer *w, int sec, const uint8_t *owner, const struct rrset *rs,
    uint32_t ttl)
{
	struct rdata_ref rd;

	for (const uint8_t *it = rrset_first(rs, &rd); it; it = rrset_next(rs, it, &rd))
		if (wire_rr(w, sec, owner, rs->type, DNS_CLASS_IN, ttl, rd.data, rd.len) != 0)
			return -1;
	return 0;
}

/* An RRset, and for a DO client its RRSIGs, with the same TTL. */
static int
write_signed(struct wire_writer *w, int sec, const uint8_t *owner, const struct rrset *rs,
    const struct rrset *sigs, uint32_t ttl, bool dnssec)
{
	if (write_rrset(w, sec, owner, rs, ttl) != 0)
		return -1;
	return dnssec && sigs != NULL ? write_rrset(w, sec, owner, sigs, ttl) : 0;
}

/* A DO client's NSEC/NSEC3 records (RFC 4035 3.1.3), to the authority section. */
static int
write_proofs(struct wire_writer *w, const struct cache_entry *e, uint32_t ttl)
{
	for (size_t i = 0; i < e->nproof; i++)
		if (write_signed(w, WIRE_NS, e->proof[i]->owner, e->proof[i]->rs,
		    e->proof[i]->sigs, ttl, true) != 0)
			return -1;
	return 0;
}

static int
write_sections(struct wire_writer *w, const struct result *r, uint32_t now, bool dnssec)
{
	for (size_t i = 0; i < r->nan; i++)
		if (write_signed(w, WIRE_AN, r->an[i]->owner, r->an[i]->rrset, r->an[i]->sigs,
		    cache_ttl_left(r->an[i], now), dnssec) != 0)
			return -1;
	for (size_t i = 0; dnssec && i < r->nan; i++)
		if (write_proofs(w, r->an[i], cache_ttl_left(r->an[i], now)) != 0)
			return -1;
	if (r->neg != NULL && r->neg->soa_owner != NULL &&
	    write_signed(w, WIRE_NS, r->neg->soa_owner, r->neg->rrset, r->neg->sigs,
	    cache_soa_ttl_left(r->neg, now), dnssec) != 0)
		return -1;
	if (dnssec && r->neg != NULL)
		return write_proofs(w, r->neg, cache_ttl_left(r->neg, now));
	return 0;
}

size_t
reply_write(uint8_t *out, size_t outcap, const struct dns_query *q, const struct result *r,
    bool tcp, uint16_t udp_payload, uint32_t now)
{
	const struct env_opts eo = { udp_payload, NULL, 0 };	/* no NSID */
	const struct cache_entry *bad;
	bool dnssec = q->edns && (q->edns_flags & EDNS_FLAG_DO);
	uint8_t sec = result_security(r, &bad);
	uint16_t flags = DNS_FLAG_RA;
	struct wire_writer w;

	if (sec == SEC_BOGUS && !(q->flags & DNS_FLAG_CD)) {
		int ede = bad != NULL && bad->ede >= 0 ? bad->ede : r->ede;
		const char *why = bad != NULL && bad->why != NULL ? bad->why : r->ede_text;

		return reply_error(out, outcap, q, DNS_RCODE_SERVFAIL,
		    ede >= 0 ? ede : EDE_DNSSEC_BOGUS, why, tcp, udp_payload);
	}
	/* RFC 6840 5.8: AD for secure data when the client shows it understands it. */
	if (sec == SEC_SECURE && (dnssec || (q->flags & DNS_FLAG_AD)))
		flags |= DNS_FLAG_AD;
	env_begin(&w, out, env_limit(q, tcp, udp_payload, outcap), q);
	if (write_sections(&w, r, now, dnssec) != 0) {
		/* RFC 2181 9: rather no data than part of an RRset; TC=1 sends it to TCP. */
		env_restart(&w, q);
		return env_finish(&w, q, &eo, r->rcode, flags | DNS_FLAG_TC, -1, NULL);
	}
	return env_finish(&w, q, &eo, r->rcode, flags, sec == SEC_BOGUS ? -1 : r->ede,
	    sec == SEC_BOGUS ? NULL : r->ede_text);
}

size_t
reply_error(uint8_t *out, size_t outcap, const struct dns_query *q, uint16_t rcode,
    int ede, const char *ede_text, bool tcp, uint16_t udp_payload)
{
	const struct env_opts eo = { udp_payload, NULL, 0 };	/* no NSID */

	return env_error(out, env_limit(q, tcp, udp_payload, outcap), q, &eo, rcode,
	    DNS_FLAG_RA, ede, ede_text);
}
