/* vjob.c: validating one result: the chain of trust from an anchor, then each RRset and denial. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dnsr/anchor.h"
#include "dnsr/vjob.h"
#include "common/clock.h"
#include "common/log.h"

/* Seconds a verdict of bogus is kept (a broken zone is not re-validated per query). */
#define BOGUS_TTL	60
/* Seconds a failure to fetch a DS or DNSKEY RRset is kept: the network may come back. */
#define FETCH_FAIL_TTL	5
/* Zone cuts walked from the anchor to one name: more is a hostile or broken tree. */
#define MAX_STEPS	24

enum phase { W_NONE, W_ANCHOR, W_DS, W_DNSKEY };

/* What the chain of trust says about the zone of a name. */
struct kstate {
	uint8_t			 sec;
	int			 ede;
	const char		*why;
	struct cache_entry	*keys;		/* secure: the zone's DNSKEY RRset */
	uint8_t			 zone[DNAME_MAXLEN];
};

struct vjob {
	struct iter_env		*env;
	struct result		*res;
	uint8_t			 name[DNAME_MAXLEN];
	uint16_t		 qtype;
	int			*budget;
	struct val_budget	*vb;
	vjob_done_cb		 cb;
	void			*arg;
	uint64_t		 started_us;
	size_t			 item;		/* res->an[0..nan-1], then res->neg */
	bool			 judged[RESULT_MAX_AN + 1];
	/* the walk from an anchor down to target */
	bool			 walking;
	int			 steps;
	enum phase		 phase;
	uint8_t			 target[DNAME_MAXLEN];
	uint8_t			 pos[DNAME_MAXLEN];	/* known to be in ks.zone */
	uint8_t			 fetching[DNAME_MAXLEN];
	struct cache_entry	*ds;		/* fetching's DS RRset, validated */
	struct iter		*fetch;
	struct kstate		 ks;
};

static bool walk_start(struct vjob *v);
static bool walk_next(struct vjob *v);
static bool run(struct vjob *v);

static uint32_t
wall_now(void)
{
	return (uint32_t)time(NULL);
}

static void
ks_set(struct kstate *ks, uint8_t sec, int ede, const char *why)
{
	ks->sec = sec;
	ks->ede = ede;
	ks->why = why;
	cache_entry_unref(ks->keys);
	ks->keys = NULL;
}

/* ---- the key cache: a zone's validated DNSKEY RRset, or why there is none ---- */

static struct cache_entry *
kc_get(struct vjob *v, const uint8_t *zone)
{
	return cache_lookup(v->env->keys, zone, DNS_TYPE_DNSKEY, CACHE_RANK_ANSWER,
	    cache_clock());
}

static void
keys_free(void *vk)
{
	val_keys_free(vk);
}

/*
 * Stores a verdict on zone's keys (rs: its DNSKEY RRset when secure); a new reference.
 * A secure RRset is kept with its keys built for the crypto library (val_keys), once:
 * they live as long as the entry, so a vjob holding the entry (ks.keys) may use them
 * after the entry is evicted or replaced.
 */
static struct cache_entry *
kc_put(struct vjob *v, const uint8_t *zone, uint8_t sec, const struct rrset *rs,
    uint32_t ttl, int ede, const char *why)
{
	uint32_t now = cache_clock();
	struct cache_entry *e;
	struct val_keys *vk;
	struct rrset *copy;

	if (rs != NULL) {
		if ((copy = rrset_dup(rs)) == NULL)
			return NULL;
		e = cache_entry_positive(zone, copy, CACHE_RANK_ANSWER, 0,
		    cache_expiry(v->env->keys, ttl, false, now));
		if (e != NULL && (vk = val_keys_new(e->rrset)) != NULL)
			cache_entry_set_aux(e, vk, keys_free, val_keys_mem(vk));
	} else {
		e = cache_entry_negative(zone, DNS_TYPE_DNSKEY, NULL, NULL,
		    now + (ttl > 0 ? ttl : 1), now);
	}
	if (e == NULL)
		return NULL;
	e->sec = sec;
	e->ede = (int8_t)ede;
	e->why = why;
	cache_insert(v->env->keys, e, now);
	return e;
}

/* ---- fetching DS and DNSKEY RRsets ---- */

static void on_fetched(void *arg, const struct result *res);

static void
fetch(struct vjob *v, enum phase phase, const uint8_t *name, uint16_t type)
{
	v->phase = phase;
	memcpy(v->fetching, name, dname_len(name));
	v->fetch = iter_fetch(v->env, name, type, v->budget, on_fetched, v);
}

/* The positive entry of type at name in res, or NULL. */
static struct cache_entry *
found(const struct result *res, const uint8_t *name, uint16_t type)
{
	if (res->rcode != DNS_RCODE_NOERROR)
		return NULL;
	for (size_t i = 0; i < res->nan; i++)
		if (res->an[i]->kind == CACHE_POSITIVE && res->an[i]->type == type &&
		    dname_equal(res->an[i]->owner, name))
			return res->an[i];
	return NULL;
}

/* Checks s with the validated keys of ks.zone, and the libcrypto keys kept with them. */
static void
zone_verify(struct vjob *v, const struct val_set *s, struct val_out *out)
{
	val_verify(s, v->ks.zone, v->ks.keys->rrset, v->ks.keys->aux, UINT64_MAX, wall_now(),
	    v->vb, out);
}

/* Checks e's NSEC/NSEC3 RRsets with the zone's keys; fills sets, returns how many. */
static size_t
check_proofs(struct vjob *v, const struct cache_entry *e, struct val_set *sets)
{
	struct val_out out;
	size_t n = 0;

	for (size_t i = 0; i < e->nproof; i++) {
		sets[n].owner = e->proof[i]->owner;
		sets[n].rs = e->proof[i]->rs;
		sets[n].sigs = e->proof[i]->sigs;
		zone_verify(v, &sets[n], &out);
		sets[n].sec = out.sec;
		n++;
	}
	return n;
}

/* The anchor's DNSKEY RRset has come: the first link of the chain. */
static bool
got_anchor_keys(struct vjob *v, const struct result *res)
{
	const struct anchor *a = anchors_find(v->env->anchors, v->fetching);
	struct cache_entry *e = found(res, v->fetching, DNS_TYPE_DNSKEY), *k;
	struct val_out out;

	if (a == NULL)
		return walk_start(v);
	if (e == NULL) {
		k = kc_put(v, a->owner, SEC_BOGUS, NULL, FETCH_FAIL_TTL, EDE_DNSKEY_MISSING,
		    "trust anchor's DNSKEY could not be fetched");
	} else {
		struct val_set s = { e->owner, e->rrset, e->sigs, SEC_UNCHECKED };

		val_dnskey(a->owner, a->ds, a->dnskey, &s, wall_now(), v->vb, &out);
		k = kc_put(v, a->owner, out.sec, out.sec == SEC_SECURE ? e->rrset : NULL,
		    out.sec == SEC_SECURE ? out.ttl : BOGUS_TTL, out.ede, out.why);
	}
	cache_entry_unref(k);
	return walk_start(v);
}

/* The DS RRset of fetching, or the proof that it has none. */
static bool
got_ds(struct vjob *v, const struct result *res)
{
	struct cache_entry *e = found(res, v->fetching, DNS_TYPE_DS);
	struct val_set sets[CACHE_MAX_PROOFS];
	struct val_out out;
	size_t n;

	if (e != NULL) {
		struct val_set s = { e->owner, e->rrset, e->sigs, SEC_UNCHECKED };

		zone_verify(v, &s, &out);
		if (out.sec != SEC_SECURE) {
			cache_entry_unref(kc_put(v, v->fetching, SEC_BOGUS, NULL, BOGUS_TTL,
			    out.ede, out.why));
			ks_set(&v->ks, SEC_BOGUS, out.ede, out.why);
			return true;
		}
		cache_entry_ref(e);
		v->ds = e;
		fetch(v, W_DNSKEY, v->fetching, DNS_TYPE_DNSKEY);
		return false;
	}
	if (res->rcode != DNS_RCODE_NOERROR && res->rcode != DNS_RCODE_NXDOMAIN) {
		ks_set(&v->ks, SEC_BOGUS, EDE_DNSSEC_BOGUS, "DS could not be fetched");
		return true;
	}
	if (res->neg == NULL) {
		ks_set(&v->ks, SEC_BOGUS, EDE_NSEC_MISSING, "no proof that a DS is absent");
		return true;
	}
	n = check_proofs(v, res->neg, sets);
	switch (val_denial(v->ks.zone, v->fetching, DNS_TYPE_DS, sets, n, v->vb)) {
	case PROOF_REFERRAL:
	case PROOF_INSECURE:
		/* An unsigned delegation: everything below is insecure (RFC 4035 5.2). */
		cache_entry_unref(kc_put(v, v->fetching, SEC_INSECURE, NULL,
		    cache_ttl_left(res->neg, cache_clock()), -1, NULL));
		ks_set(&v->ks, SEC_INSECURE, -1, NULL);
		return true;
	case PROOF_NOT_CUT:
	case PROOF_NODATA:
	case PROOF_NXDOMAIN:
		/* Not a zone cut: the walk goes on in the same zone. */
		memcpy(v->pos, v->fetching, dname_len(v->fetching));
		return walk_next(v);
	case PROOF_NONE:
		break;
	}
	ks_set(&v->ks, SEC_BOGUS, n == 0 ? EDE_NSEC_MISSING : EDE_DNSSEC_BOGUS,
	    n == 0 ? "no proof that a DS is absent" : v->vb->hashes < 0 ?
	    "too many NSEC3 hashes" : "DS denial does not prove it");
	return true;
}

/* The DNSKEY RRset of fetching, against its validated DS. */
static bool
got_keys(struct vjob *v, const struct result *res)
{
	struct cache_entry *e = found(res, v->fetching, DNS_TYPE_DNSKEY), *k;
	struct val_out out;

	if (e == NULL) {
		out.sec = SEC_BOGUS;
		out.ede = EDE_DNSKEY_MISSING;
		out.why = "DNSKEY could not be fetched";
	} else {
		struct val_set s = { e->owner, e->rrset, e->sigs, SEC_UNCHECKED };

		val_dnskey(v->fetching, v->ds->rrset, NULL, &s, wall_now(), v->vb, &out);
	}
	cache_entry_unref(v->ds);
	v->ds = NULL;
	k = kc_put(v, v->fetching, out.sec, out.sec == SEC_SECURE ? e->rrset : NULL,
	    out.sec == SEC_SECURE ? out.ttl : e == NULL ? FETCH_FAIL_TTL : BOGUS_TTL, out.ede,
	    out.why);
	if (out.sec != SEC_SECURE || k == NULL) {
		cache_entry_unref(k);
		ks_set(&v->ks, out.sec == SEC_SECURE ? SEC_BOGUS : out.sec, out.ede, out.why);
		return true;
	}
	ks_set(&v->ks, SEC_SECURE, -1, NULL);
	v->ks.keys = k;
	memcpy(v->ks.zone, v->fetching, dname_len(v->fetching));
	memcpy(v->pos, v->fetching, dname_len(v->fetching));
	return walk_next(v);
}

static void
on_fetched(void *arg, const struct result *res)
{
	struct vjob *v = arg;
	bool done = false;

	v->fetch = NULL;	/* freed by iterate.c when this returns */
	switch (v->phase) {
	case W_ANCHOR:
		done = got_anchor_keys(v, res);
		break;
	case W_DS:
		done = got_ds(v, res);
		break;
	case W_DNSKEY:
		done = got_keys(v, res);
		break;
	case W_NONE:
		break;
	}
	if (!done)
		return;
	v->phase = W_NONE;
	if (run(v))
		v->cb(v->arg);	/* may free v: nothing after this */
}

/* ---- the walk ---- */

/*
 * From the deepest zone at or above target whose keys are known (or the closest trust
 * anchor) down to target: one DS query per label, then the DNSKEY RRset of each zone cut
 * found. True when v->ks is the verdict for target; false while a query is out.
 */
static bool
walk_start(struct vjob *v)
{
	const struct anchor *a;
	struct cache_entry *e = NULL;
	const uint8_t *n;

	v->phase = W_NONE;
	if (++v->steps > MAX_STEPS) {
		ks_set(&v->ks, SEC_BOGUS, EDE_DNSSEC_BOGUS, "chain of trust too long");
		return true;
	}
	if (anchors_insecure(v->env->anchors, v->target)) {
		ks_set(&v->ks, SEC_INSECURE, -1, NULL);
		return true;
	}
	if ((a = anchors_find(v->env->anchors, v->target)) == NULL) {
		ks_set(&v->ks, SEC_INDETERMINATE, -1, NULL);
		return true;
	}
	for (n = v->target; n != NULL && dname_is_below(n, a->owner); n = dname_parent(n))
		if ((e = kc_get(v, n)) != NULL)
			break;
	if (e == NULL) {
		fetch(v, W_ANCHOR, a->owner, DNS_TYPE_DNSKEY);
		return false;
	}
	if (e->sec != SEC_SECURE) {
		ks_set(&v->ks, e->sec, e->ede, e->why);
		cache_entry_unref(e);
		return true;
	}
	ks_set(&v->ks, SEC_SECURE, -1, NULL);
	v->ks.keys = e;
	memcpy(v->ks.zone, n, dname_len(n));
	memcpy(v->pos, n, dname_len(n));
	return walk_next(v);
}

static bool
walk_next(struct vjob *v)
{
	const uint8_t *next = v->target;
	int want = dname_labels(v->pos) + 1;

	v->phase = W_NONE;
	if (dname_equal(v->pos, v->target))
		return true;		/* secure, with ks.zone's keys */
	if (++v->steps > MAX_STEPS) {
		ks_set(&v->ks, SEC_BOGUS, EDE_DNSSEC_BOGUS, "chain of trust too long");
		return true;
	}
	while (dname_labels(next) > want)
		next = dname_parent(next);
	fetch(v, W_DS, next, DNS_TYPE_DS);
	return false;
}

/* ---- judging the result's entries ---- */

static void
verdict(struct cache_entry *e, uint8_t sec, int ede, const char *why)
{
	e->sec = sec;
	e->ede = (int8_t)ede;
	e->why = why;
}

static void
judge_positive(struct vjob *v, struct cache_entry *e)
{
	struct val_set s = { e->owner, e->rrset, e->sigs, SEC_UNCHECKED };
	struct val_set sets[CACHE_MAX_PROOFS];
	struct val_out out;
	int labels = dname_labels(e->owner);

	zone_verify(v, &s, &out);
	if (out.sec != SEC_SECURE) {
		verdict(e, out.sec, out.ede, out.why);
		return;
	}
	if (e->owner[0] == 1 && e->owner[1] == '*')
		labels--;
	/* RFC 4035 5.3.4: an answer from a wildcard needs the proof that no closer name is. */
	if (out.labels < labels && !val_wildcard_ok(v->ks.zone, e->owner, out.labels, sets,
	    check_proofs(v, e, sets), v->vb)) {
		verdict(e, SEC_BOGUS, EDE_NSEC_MISSING, v->vb->hashes < 0 ?
		    "too many NSEC3 hashes" : "wildcard answer without its proof");
		return;
	}
	verdict(e, SEC_SECURE, -1, NULL);
	if (cache_clock() + out.ttl < e->expire)
		e->expire = cache_clock() + out.ttl;	/* RFC 4035 5.3.3 */
}

static void
judge_negative(struct vjob *v, struct cache_entry *e)
{
	struct val_set sets[CACHE_MAX_PROOFS];
	struct val_out out;
	enum proof p;
	size_t n;
	bool ok;

	if (e->rrset != NULL) {
		struct val_set s = { e->soa_owner, e->rrset, e->sigs, SEC_UNCHECKED };

		zone_verify(v, &s, &out);
		if (out.sec != SEC_SECURE) {
			verdict(e, out.sec, out.ede, out.why);
			return;
		}
	}
	n = check_proofs(v, e, sets);
	p = val_denial(v->ks.zone, e->owner, e->kind == CACHE_NXDOMAIN ? v->qtype : e->type,
	    sets, n, v->vb);
	if (e->kind == CACHE_NXDOMAIN)
		ok = p == PROOF_NXDOMAIN;
	else
		ok = p == PROOF_NODATA || p == PROOF_REFERRAL || p == PROOF_NOT_CUT;
	if (p == PROOF_INSECURE)
		verdict(e, SEC_INSECURE, -1, NULL);
	else if (ok)
		verdict(e, SEC_SECURE, -1, NULL);
	else if (n == 0)
		verdict(e, SEC_BOGUS, EDE_NSEC_MISSING, "denial without NSEC or NSEC3");
	else
		verdict(e, SEC_BOGUS, EDE_DNSSEC_BOGUS, v->vb->hashes < 0 ?
		    "too many NSEC3 hashes" : "denial does not cover the name");
}

/* The zone whose keys judge e: its signer, else the name itself (to prove it unsigned). */
static void
target_of(struct vjob *v, const struct cache_entry *e)
{
	const uint8_t *t = NULL;

	if (e == NULL)
		t = v->name;
	else if (e->kind == CACHE_POSITIVE)
		t = val_signer(e->owner, e->sigs);
	else if (e->soa_owner != NULL)
		t = val_signer(e->soa_owner, e->sigs);
	for (size_t i = 0; e != NULL && t == NULL && i < e->nproof; i++)
		t = val_signer(e->proof[i]->owner, e->proof[i]->sigs);
	if (t == NULL)
		t = e != NULL ? e->owner : v->name;
	memcpy(v->target, t, dname_len(t));
	dname_lower(v->target);
}

static void
judge(struct vjob *v, struct cache_entry *e, const struct cache_entry *before)
{
	if (e->flags & CACHE_FLAG_SYNTH) {
		/* A CNAME made here from a DNAME is as good as that DNAME. */
		verdict(e, before != NULL ? before->sec : SEC_BOGUS,
		    before != NULL ? before->ede : EDE_DNSSEC_BOGUS,
		    before != NULL ? before->why : NULL);
	} else if (v->ks.sec != SEC_SECURE) {
		verdict(e, v->ks.sec, v->ks.ede, v->ks.why);
	} else if (e->kind == CACHE_POSITIVE && e->type == DNS_TYPE_RRSIG) {
		verdict(e, SEC_INSECURE, -1, NULL);	/* RFC 4035 2.2: RRSIGs are not signed */
	} else if (e->kind == CACHE_POSITIVE) {
		judge_positive(v, e);
	} else {
		judge_negative(v, e);
	}
}

/* Caches what was judged, with its verdict; counts; the permissive mode's leniency. */
static void
conclude(struct vjob *v)
{
	struct result *r = v->res;
	uint32_t now = cache_clock();
	const struct cache_entry *bad;
	uint8_t sec = result_security(r, &bad);

	if (sec == SEC_BOGUS) {
		char name[DNAME_STRLEN];

		log_info("validation: %s type %u is bogus: %s", dname_to_str(v->name, name,
		    sizeof(name)), v->qtype, bad != NULL && bad->why != NULL ? bad->why :
		    r->ede_text != NULL ? r->ede_text : "bogus");
	}
	for (size_t i = 0; i <= r->nan; i++) {
		struct cache_entry *e = i < r->nan ? r->an[i] : r->neg;

		if (e == NULL || !v->judged[i])
			continue;
		if (v->env->validation == DNSR_VALIDATION_PERMISSIVE && e->sec == SEC_BOGUS)
			verdict(e, SEC_INSECURE, -1, NULL);	/* logged above, served */
		if (e->sec == SEC_BOGUS && now + BOGUS_TTL < e->expire)
			e->expire = now + BOGUS_TTL;
		/* As iterate.c: an ANY question's negative answer is not cached. */
		if (i < r->nan || v->qtype != DNS_TYPE_ANY)
			cache_insert(v->env->cache, e, now);
	}
	if (v->env->validation == DNSR_VALIDATION_PERMISSIVE && r->sec == SEC_BOGUS)
		r->sec = SEC_INSECURE;
	sec = result_security(r, &bad);
	if (sec != SEC_UNCHECKED)
		atomic_fetch_add_explicit(&v->env->stats.validated[sec], 1,
		    memory_order_relaxed);
	histogram_observe(&v->env->stats.val_time, clock_mono_us() - v->started_us);
}

/* Judges the entries in turn, walking the chain of trust for each; true when all done. */
static bool
run(struct vjob *v)
{
	struct result *r = v->res;

	for (; v->item <= r->nan; v->item++) {
		struct cache_entry *e = v->item < r->nan ? r->an[v->item] : r->neg;
		bool negative = v->item == r->nan && v->qtype != DNS_TYPE_ANY &&
		    (r->rcode == DNS_RCODE_NXDOMAIN || (r->rcode == DNS_RCODE_NOERROR &&
		    (r->nan == 0 || r->an[r->nan - 1]->type != v->qtype)));

		if (e == NULL && !negative)
			continue;
		if (e != NULL && (e->sec != SEC_UNCHECKED || (e->flags & CACHE_FLAG_SYNTH))) {
			if (e->flags & CACHE_FLAG_SYNTH && e->sec == SEC_UNCHECKED) {
				judge(v, e, v->item > 0 ? r->an[v->item - 1] : NULL);
				v->judged[v->item] = true;
			}
			continue;
		}
		if (!v->walking) {
			v->walking = true;
			v->steps = 0;
			target_of(v, e);
			if (!walk_start(v))
				return false;
		} else if (v->phase != W_NONE) {
			return false;	/* still fetching */
		}
		v->walking = false;
		if (e == NULL) {
			/* A negative answer with nothing to cache: no SOA, no proof. */
			if (v->ks.sec == SEC_SECURE) {
				r->sec = SEC_BOGUS;
				r->ede = EDE_NSEC_MISSING;
				r->ede_text = "denial without SOA or NSEC";
			} else if (v->ks.sec == SEC_BOGUS) {
				r->sec = SEC_BOGUS;
				r->ede = v->ks.ede;
				r->ede_text = v->ks.why;
			} else {
				r->sec = v->ks.sec;
			}
			continue;
		}
		judge(v, e, v->item > 0 ? r->an[v->item - 1] : NULL);
		v->judged[v->item] = true;
	}
	conclude(v);
	return true;
}

struct vjob *
vjob_start(struct iter_env *env, struct result *res, const uint8_t *name, uint16_t qtype,
    int *budget, struct val_budget *vb, vjob_done_cb cb, void *arg)
{
	struct vjob *v = xcalloc(1, sizeof(*v));

	v->env = env;
	v->res = res;
	memcpy(v->name, name, dname_len(name));
	dname_lower(v->name);
	v->qtype = qtype;
	v->budget = budget;
	v->vb = vb;
	v->cb = cb;
	v->arg = arg;
	v->started_us = clock_mono_us();
	if (run(v)) {
		vjob_free(v);
		return NULL;
	}
	return v;
}

void
vjob_free(struct vjob *v)
{
	if (v == NULL)
		return;
	if (v->fetch != NULL)
		iter_cancel(v->fetch);
	cache_entry_unref(v->ds);
	cache_entry_unref(v->ks.keys);
	free(v);
}
