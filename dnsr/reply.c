/* reply.c: answers for clients: the cache followed through CNAMEs, and the response on the wire. */
#include <string.h>

#include "common/envelope.h"
#include "dnsr/reply.h"


void
result_init(struct result *r)
{
	r->rcode = DNS_RCODE_NOERROR;
	r->ede = -1;
	r->ede_text = NULL;
	r->nan = 0;
	r->neg = NULL;
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

enum reply_lookup
reply_lookup(struct cache *c, const uint8_t *name, uint16_t qtype, uint32_t now,
    struct result *r, uint8_t *next, int *links, int max_chain)
{
	uint8_t cur[DNAME_MAXLEN], target[DNAME_MAXLEN];
	struct cache_entry *e;

	memcpy(cur, name, dname_len(name));
	while (qtype != DNS_TYPE_ANY) {
		if ((e = cache_lookup(c, cur, qtype, CACHE_RANK_ANSWER, now)) != NULL) {
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
		    (e = cache_lookup(c, cur, DNS_TYPE_CNAME, CACHE_RANK_ANSWER, now)) != NULL) {
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
		if ((e = cache_lookup(c, cur, CACHE_TYPE_NXDOMAIN, CACHE_RANK_ANSWER, now)) !=
		    NULL) {
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

static int
write_sections(struct wire_writer *w, const struct result *r, uint32_t now)
{
	for (size_t i = 0; i < r->nan; i++)
		if (write_rrset(w, WIRE_AN, r->an[i]->owner, r->an[i]->rrset,
		    cache_ttl_left(r->an[i], now)) != 0)
			return -1;
	if (r->neg != NULL && r->neg->soa_owner != NULL)
		return write_rrset(w, WIRE_NS, r->neg->soa_owner, r->neg->rrset,
		    cache_soa_ttl_left(r->neg, now));
	return 0;
}

size_t
reply_write(uint8_t *out, size_t outcap, const struct dns_query *q, const struct result *r,
    bool tcp, uint16_t udp_payload, uint32_t now)
{
	const struct env_opts eo = { udp_payload, NULL, 0 };	/* no NSID */
	struct wire_writer w;

	env_begin(&w, out, env_limit(q, tcp, udp_payload, outcap), q);
	if (write_sections(&w, r, now) != 0) {
		/* RFC 2181 9: rather no data than part of an RRset; TC=1 sends it to TCP. */
		env_restart(&w, q);
		return env_finish(&w, q, &eo, r->rcode, DNS_FLAG_RA | DNS_FLAG_TC, -1, NULL);
	}
	return env_finish(&w, q, &eo, r->rcode, DNS_FLAG_RA, r->ede, r->ede_text);
}

size_t
reply_error(uint8_t *out, size_t outcap, const struct dns_query *q, uint16_t rcode,
    int ede, const char *ede_text, bool tcp, uint16_t udp_payload)
{
	const struct env_opts eo = { udp_payload, NULL, 0 };	/* no NSID */

	return env_error(out, env_limit(q, tcp, udp_payload, outcap), q, &eo, rcode,
	    DNS_FLAG_RA, ede, ede_text);
}
