/* iterate.c: iterative resolution (RFC 1034 5.3.3), answers judged and cached within bailiwick. */
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "dnsr/anchor.h"
#include "dnsr/iterate.h"
#include "dnsr/vjob.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/net.h"
#include "common/wire.h"

#define CUT_MAX_NAMES	16	/* NS names of a zone cut we keep */
#define CUT_MAX_ADDRS	32	/* their addresses */
#define MAX_LEVEL	3	/* nesting of lookups for the addresses of NS names */
#define MSG_MAX_SETS	64	/* RRsets read from one answer; more are ignored */
/*
 * Seconds a NODATA without an SOA is cached (RFC 2308 5 gives no TTL for it): long enough
 * that a burst of the same query is not sent upstream each time, short enough that a
 * server's mistake is soon forgotten. max-negative-ttl still caps it (0: not cached).
 */
#define NODATA_NOSOA_TTL	5
/*
 * QNAME minimisation (RFC 9156 2.3): at most QMIN_MAX_COUNT iterations for one name, the
 * last of them with the full name; the first QMIN_ONE_LAB add one label each, the rest
 * share out what is left, so a name of many labels costs no more than QMIN_MAX_COUNT.
 */
#define QMIN_MAX_COUNT	10
#define QMIN_ONE_LAB	4

union sa46 {
	struct sockaddr		sa;
	struct sockaddr_in	sin;
	struct sockaddr_in6	sin6;
};

struct cut_addr {
	union sa46	a;
	bool		tried;
};

struct cut_name {
	uint8_t		name[DNAME_MAXLEN];
	bool		looked_up;	/* its address was asked for (or cannot be) */
};

/* The servers of the closest known enclosing zone: where the next query goes. */
struct cut {
	uint8_t		zone[DNAME_MAXLEN];	/* the bailiwick of their answers */
	size_t		nnames;
	struct cut_name	names[CUT_MAX_NAMES];
	size_t		naddrs;
	struct cut_addr	addrs[CUT_MAX_ADDRS];
};

struct iter {
	struct iter_env		*env;
	struct iter		*parent;	/* set for the lookup of an NS name's address */
	struct iter		*child;
	int			 level;
	int			*budget;	/* upstream queries left for the client query */
	int			 queries_left;	/* the top level's budget */
	uint8_t			 cur[DNAME_MAXLEN];	/* lower case; moves along CNAMEs */
	uint16_t		 qtype;
	int			 links;
	int			 referrals;
	struct cut		 cut;
	const struct dnsr_zone	*zone;		/* the forward/stub zone of cur, or NULL */
	struct upstream_query	*uq;
	size_t			 asked;		/* cut.addrs index of the query in flight */
	struct result		 res;
	struct event		*ev;		/* first step, then delivery of the result */
	struct event		*deadline;	/* top level only */
	bool			 started;
	bool			 finished;
	bool			 raw;		/* a fetch for the validator: not validated itself */
	struct vjob		*vj;		/* validating the result (top level only) */
	bool			 validated;	/* vj was started (and may have ended) */
	struct val_budget	 vb;		/* the top level's, for its whole chain */
	const char		*why;		/* the last server failure, for the EDE text */
	/* QNAME minimisation (RFC 9156): what the query in flight asks, and how far it got */
	bool			 minimised;	/* asking (out, A) rather than (cur, qtype) */
	bool			 qmin_off;	/* relaxed fallback: the full name, until a referral */
	bool			 cut_ds;	/* the referral to cut had a signed DS RRset */
	int			 qmin_count;	/* minimised iterations for cur (QMIN_MAX_COUNT) */
	int			 qmin_base;	/* labels of cur known to be in the cut's zone */
	uint8_t			 out[DNAME_MAXLEN];	/* the minimised name, lower case */
	iter_done_cb		 cb;
	void			*arg;
};

/* One RRset of an answer being read. */
struct msg_set {
	int			 section;
	uint16_t		 type;
	bool			 bad;		/* a record did not fit the RRset */
	uint8_t			 owner[DNAME_MAXLEN];
	struct rrset_builder	 b;
	struct rrset_builder	 sb;		/* the RRSIGs that cover it */
	bool			 used;		/* its records went into an entry */
	struct cache_entry	*entry;		/* built from b on first use */
};

struct iter_scratch {
	struct wire_msg		m;
	bool			keep_sigs;	/* DNSSEC records read, for validation */
	size_t			nsets;
	struct msg_set		sets[MSG_MAX_SETS];
	uint8_t			rdata[DNS_MAX_MSG];
};

enum chain { CHAIN_NONE, CHAIN_MOVED, CHAIN_DONE, CHAIN_FAIL, CHAIN_BAD };

static void step_begin(struct iter *it);
static struct msg_set *find_referral_ns(struct iter *it, struct iter_scratch *sc);
static void next_server(struct iter *it);
static struct iter *iter_new(struct iter_env *env, struct iter *parent, const uint8_t *name,
    uint16_t qtype, iter_done_cb cb, void *arg);
static void iter_free(struct iter *it);

/* ---- the environment ---- */

/*
 * Loopback servers learnt from referrals are not asked (do-not-query-localhost, as
 * Unbound): a delegation to 127.0.0.1 would turn dnsr against services of its own host.
 * Unless where iteration starts is itself on loopback (a test network, a local root
 * mirror), where loopback servers are what the operator set up.
 */
void
iter_env_init(struct iter_env *env)
{
	env->scratch = xcalloc(1, sizeof(*env->scratch));
	env->query_loopback = !env->conf->do_not_query_localhost ||
	    (env->start != NULL && hints_on_loopback(env->start));
}

void
iter_env_clear(struct iter_env *env)
{
	free(env->scratch);
	env->scratch = NULL;
}

static bool
debugging(const struct iter_env *env)
{
	return strcmp(env->conf->log_level, "debug") == 0;
}

/*
 * Whether the name being resolved goes to recursive servers (RD=1, their answers taken
 * as a forwarder's): decided per name, by its forward or stub zone (step_begin()), else
 * by the global mode.
 */
static bool
forwarding(const struct iter *it)
{
	if (it->zone != NULL)
		return it->zone->kind == DNSR_ZONE_FORWARD;
	return it->env->conf->mode == DNSR_FORWARD;
}

/* ---- ending ---- */

static bool
validating(const struct iter *it)
{
	return it->env->validation != DNSR_VALIDATION_NO && !it->raw;
}

static void on_validated(void *arg);
static void finish(struct iter *it);

/* Stops what the resolution has out: an NS name's lookup, an upstream query. */
static void
stop_queries(struct iter *it)
{
	if (it->child != NULL) {
		iter_free(it->child);
		it->child = NULL;
	}
	if (it->uq != NULL) {
		upstream_cancel(it->uq);
		it->uq = NULL;
	}
}

static void
stop_validation(struct iter *it)
{
	vjob_free(it->vj);
	it->vj = NULL;
}

/*
 * The result of a client's resolution is validated before it is delivered (and before
 * what it holds is cached for clients): the chain of trust may need more queries.
 */
static bool
validate_first(struct iter *it)
{
	if (it->parent != NULL || !validating(it) || it->validated ||
	    (it->res.rcode != DNS_RCODE_NOERROR && it->res.rcode != DNS_RCODE_NXDOMAIN &&
	    it->res.rcode != DNS_RCODE_YXDOMAIN))
		return false;
	stop_queries(it);
	it->validated = true;
	it->vj = vjob_start(it->env, &it->res, it->cur, it->qtype, it->budget, &it->vb,
	    on_validated, it);
	return it->vj != NULL;
}

static void
on_validated(void *arg)
{
	struct iter *it = arg;

	stop_validation(it);
	finish(it);
}

static void
finish(struct iter *it)
{
	if (it->finished)
		return;
	if (validate_first(it))
		return;		/* on_validated() finishes */
	it->finished = true;
	stop_queries(it);
	if (it->deadline != NULL)
		evtimer_del(it->deadline);
	if (it->res.rcode == DNS_RCODE_SERVFAIL && it->parent == NULL)
		atomic_fetch_add_explicit(&it->env->stats.failures, 1, memory_order_relaxed);
	event_active(it->ev, EV_TIMEOUT, 0);	/* deliver from the loop, never re-entrantly */
}

static void
fail(struct iter *it, int ede, const char *text)
{
	result_clear(&it->res);
	it->res.rcode = DNS_RCODE_SERVFAIL;
	it->res.ede = ede;
	it->res.ede_text = text;
	stop_validation(it);
	it->validated = true;	/* a failure is not validated */
	finish(it);
}

static void
on_event(evutil_socket_t fd, short what, void *arg)
{
	struct iter *it = arg;

	if (!it->started) {
		it->started = true;
		step_begin(it);
		return;
	}
	it->cb(it->arg, &it->res);
	iter_free(it);
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	fail(arg, EDE_NO_REACHABLE_AUTHORITY, "resolution timed out");
}

/* ---- zone cuts ---- */

static void
cut_reset(struct cut *c, const uint8_t *zone)
{
	memcpy(c->zone, zone, dname_len(zone));
	dname_lower(c->zone);
	c->nnames = 0;
	c->naddrs = 0;
}

static void
cut_add_addr(struct cut *c, const union sa46 *a)
{
	for (size_t i = 0; i < c->naddrs; i++)
		if (net_addr_equal(&c->addrs[i].a.sa, &a->sa))
			return;
	if (c->naddrs == CUT_MAX_ADDRS)
		return;
	c->addrs[c->naddrs].a = *a;
	c->addrs[c->naddrs].tried = false;
	c->naddrs++;
}

/*
 * Whether a server address learnt from an answer may be asked: never one that cannot be
 * a server (a query to 224.0.0.1 or 0.0.0.1 only waits for a timeout, or worse), loopback
 * only as iter_env_init() decided. Counted and logged (debug), for whoever wonders why a
 * zone's servers were not asked.
 */
static bool
may_query(struct iter *it, const union sa46 *a)
{
	enum net_addr_kind k = net_addr_kind(&a->sa);
	char addr[NET_ADDRSTRLEN];

	/* Below a stub zone whose own servers are on loopback, as below loopback hints. */
	if (k == NET_ADDR_UNICAST || (k == NET_ADDR_LOOPBACK && (it->env->query_loopback ||
	    (it->zone != NULL && it->zone->on_loopback))))
		return true;
	atomic_fetch_add_explicit(&it->env->stats.addrs_skipped, 1, memory_order_relaxed);
	if (debugging(it->env))
		log_debug("not querying %s: %s", net_addr_str(&a->sa, addr, sizeof(addr)),
		    k == NET_ADDR_LOOPBACK ? "loopback (do-not-query-localhost)" :
		    "special-use address");
	if (it->why == NULL)
		it->why = "server addresses not queried (special-use or loopback)";
	return false;
}

/* The A (and AAAA, when enabled) records of rs as server addresses; returns how many. */
static size_t
cut_add_rrset(struct iter *it, const struct rrset *rs)
{
	struct rdata_ref rd;
	size_t n = 0;

	for (const uint8_t *p = rrset_first(rs, &rd); p; p = rrset_next(rs, p, &rd)) {
		union sa46 a;

		memset(&a, 0, sizeof(a));
		if (rs->type == DNS_TYPE_A && rd.len == 4) {
			a.sin.sin_family = AF_INET;
			a.sin.sin_port = htons((uint16_t)it->env->conf->query_port);
			memcpy(&a.sin.sin_addr, rd.data, 4);
		} else if (rs->type == DNS_TYPE_AAAA && rd.len == 16 &&
		    it->env->conf->query_ipv6) {
			a.sin6.sin6_family = AF_INET6;
			a.sin6.sin6_port = htons((uint16_t)it->env->conf->query_port);
			memcpy(&a.sin6.sin6_addr, rd.data, 16);
		} else {
			continue;
		}
		if (!may_query(it, &a))
			continue;
		cut_add_addr(&it->cut, &a);
		n++;
	}
	return n;
}

/* Addresses of an NS name the cache knows (glue included). */
static size_t
cut_add_cached(struct iter *it, const uint8_t *name)
{
	uint32_t now = cache_clock();
	size_t n = 0;
	struct cache_entry *e;

	if ((e = cache_lookup(it->env->cache, name, DNS_TYPE_A, CACHE_RANK_GLUE, now))) {
		if (e->kind == CACHE_POSITIVE)
			n += cut_add_rrset(it, e->rrset);
		cache_entry_unref(e);
	}
	if (it->env->conf->query_ipv6 &&
	    (e = cache_lookup(it->env->cache, name, DNS_TYPE_AAAA, CACHE_RANK_GLUE, now))) {
		if (e->kind == CACHE_POSITIVE)
			n += cut_add_rrset(it, e->rrset);
		cache_entry_unref(e);
	}
	return n;
}

static struct cut_name *
cut_add_name(struct cut *c, const uint8_t *name, size_t len)
{
	struct cut_name *n;

	if (len == 0 || dname_len(name) != len || c->nnames == CUT_MAX_NAMES)
		return NULL;
	n = &c->names[c->nnames++];
	memcpy(n->name, name, len);
	dname_lower(n->name);
	n->looked_up = false;
	return n;
}

/* A cut is worth using if it has an address, or a name whose address can be looked up. */
static bool
cut_usable(const struct iter *it)
{
	if (it->cut.naddrs > 0)
		return true;
	if (it->level + 1 >= MAX_LEVEL)
		return false;
	for (size_t i = 0; i < it->cut.nnames; i++)
		if (!dname_is_below(it->cut.names[i].name, it->cut.zone))
			return true;
	return false;
}

/* The cut at zone from a cached NS RRset, if there is one that can be used. */
static bool
cut_from_cache(struct iter *it, const uint8_t *zone)
{
	struct cache_entry *ns = cache_lookup(it->env->cache, zone, DNS_TYPE_NS,
	    CACHE_RANK_REFERRAL, cache_clock());
	struct rdata_ref rd;

	if (ns == NULL)
		return false;
	if (ns->kind != CACHE_POSITIVE) {
		cache_entry_unref(ns);
		return false;
	}
	cut_reset(&it->cut, zone);
	for (const uint8_t *p = rrset_first(ns->rrset, &rd); p; p = rrset_next(ns->rrset, p, &rd)) {
		struct cut_name *n = cut_add_name(&it->cut, rd.data, rd.len);

		if (n != NULL)
			cut_add_cached(it, n->name);	/* lower case: the cache's keys are */
	}
	cache_entry_unref(ns);
	return cut_usable(it);
}

/*
 * The cut at zone from configured servers (h): the root hints, the forwarders, or a
 * forward or stub zone's servers. They are asked whatever do-not-query-localhost says:
 * the operator named them. Only the root hints' IPv6 addresses wait for query-ipv6.
 */
static void
cut_from_hints(struct iter *it, const struct hints *h, const uint8_t *zone)
{
	bool root_hints = h == it->env->start && it->env->conf->mode == DNSR_RECURSIVE;

	cut_reset(&it->cut, zone);
	for (size_t i = 0; i < h->nns; i++) {
		struct cut_name *n = cut_add_name(&it->cut, h->ns[i].name,
		    dname_len(h->ns[i].name));

		if (n != NULL)
			n->looked_up = true;
		for (size_t j = 0; j < h->ns[i].naddr; j++) {
			const struct sockaddr *sa = (const struct sockaddr *)&h->ns[i].addr[j];
			union sa46 a;

			if (sa->sa_family == AF_INET6 && !it->env->conf->query_ipv6 &&
			    root_hints)
				continue;
			memset(&a, 0, sizeof(a));
			memcpy(&a, sa, net_addr_len(sa));
			cut_add_addr(&it->cut, &a);
		}
	}
}

/*
 * The deepest zone cut above cur the cache knows (a DS query starts at the parent: DS
 * lives on the parent's side of the cut), else the root hints; the forwarders in forward
 * mode. A forward zone's names go to its servers; a stub zone's to a cut the cache knows
 * below the zone (a referral its servers gave), else to its servers, as if the zone had
 * been delegated to them: never to a cut above it, which the zone's configuration
 * overrides.
 */
static void
cut_find(struct iter *it)
{
	const uint8_t *a = it->cur;
	uint8_t root = 0;

	if (it->zone != NULL && it->zone->kind == DNSR_ZONE_FORWARD) {
		cut_from_hints(it, it->zone->servers, it->zone->name);
		return;
	}
	if (it->zone == NULL && it->env->conf->mode == DNSR_FORWARD) {
		cut_from_hints(it, it->env->start, &root);
		return;
	}
	if (it->qtype == DNS_TYPE_DS && a[0] != 0)
		a = dname_parent(a);
	for (; a != NULL; a = dname_parent(a)) {
		if (it->zone != NULL && dname_equal(a, it->zone->name)) {
			cut_from_hints(it, it->zone->servers, it->zone->name);
			return;
		}
		if (cut_from_cache(it, a))
			return;
	}
	cut_from_hints(it, it->env->start, &root);
}

/* ---- the query ---- */

/* The question the query in flight asks: minimised (RFC 9156) or the client's. */
static const uint8_t *
asked_name(const struct iter *it)
{
	return it->minimised ? it->out : it->cur;
}

static uint16_t
asked_type(const struct iter *it)
{
	return it->minimised ? DNS_TYPE_A : it->qtype;
}

/* Header, question, and an OPT with no options as the last 11 octets (see upstream.h). */
static size_t
build_query(const struct iter *it, uint8_t *q)
{
	size_t nlen = dname_len(asked_name(it)), p = DNS_HEADER_LEN;
	uint16_t id;

	randombytes_buf(&id, sizeof(id));	/* RFC 5452 9.2: unpredictable ids */
	memset(q, 0, DNS_HEADER_LEN);
	wire_write16(q, id);
	/* A forwarder is asked with CD=1 when we validate: we judge its data ourselves. */
	wire_write16(q + 2, (forwarding(it) ? DNS_FLAG_RD : 0) |
	    (forwarding(it) && it->env->validation != DNSR_VALIDATION_NO ? DNS_FLAG_CD : 0));
	wire_write16(q + 4, 1);
	wire_write16(q + 10, 1);
	memcpy(q + p, asked_name(it), nlen);
	p += nlen;
	wire_write16(q + p, asked_type(it));
	wire_write16(q + p + 2, DNS_CLASS_IN);
	p += 4;
	q[p] = 0;
	wire_write16(q + p + 1, DNS_TYPE_OPT);
	wire_write16(q + p + 3, UPSTREAM_EDNS_PAYLOAD);
	memset(q + p + 5, 0, 6);	/* extended RCODE, version 0, no options */
	if (it->env->validation != DNSR_VALIDATION_NO)
		q[p + 7] = EDNS_FLAG_DO >> 8;	/* RFC 3225: send us the RRSIGs */
	return p + 11;
}

static void on_answer(void *arg, enum upstream_status st, const uint8_t *msg, size_t len,
    uint64_t rtt_us);

static void
debug_query(const struct iter *it, const struct sockaddr *sa)
{
	char name[DNAME_STRLEN], zone[DNAME_STRLEN], addr[NET_ADDRSTRLEN];

	log_debug("query %s type %u to %s for zone %s (level %d)",
	    dname_to_str(asked_name(it), name, sizeof(name)), asked_type(it),
	    net_addr_str(sa, addr, sizeof(addr)), dname_to_str(it->cut.zone, zone,
	    sizeof(zone)), it->level);
}

/*
 * 0x20 only when iterating: a forwarder answers from its cache with the case of whoever
 * asked first, and its answers come from one configured address anyway. A forwarder is
 * sent the loop mark: should it hand the query back to us (authd forwarding to this
 * dnsr), server.c recognises it and fails it at once.
 */
static unsigned
query_flags(const struct iter *it)
{
	const struct dnsr_conf *conf = it->env->conf;

	return (conf->use_0x20 && !forwarding(it) ? UPSTREAM_0X20 : 0) |
	    (forwarding(it) ? UPSTREAM_LOOP_MARK : 0) | (conf->cookies ? UPSTREAM_COOKIE : 0);
}

static void
send_to(struct iter *it, size_t idx)
{
	uint8_t q[DNS_HEADER_LEN + DNAME_MAXLEN + 4 + 11];
	size_t qlen;

	if (*it->budget <= 0) {
		fail(it, EDE_OTHER, "too many upstream queries");
		return;
	}
	(*it->budget)--;
	qlen = build_query(it, q);
	it->asked = idx;
	it->cut.addrs[idx].tried = true;
	if (debugging(it->env))
		debug_query(it, &it->cut.addrs[idx].a.sa);
	it->uq = upstream_send(it->env->up, &it->cut.addrs[idx].a.sa, q, qlen,
	    query_flags(it), on_answer, it);
	if (it->uq == NULL) {
		fail(it, EDE_OTHER, "resolver busy");
		return;
	}
	atomic_fetch_add_explicit(&it->env->stats.upstream, 1, memory_order_relaxed);
	if (it->minimised)
		atomic_fetch_add_explicit(&it->env->stats.qmin_queries, 1, memory_order_relaxed);
}

/* The untried address with the best score, or -1. */
static int
pick(struct iter *it)
{
	uint64_t best = UINT64_MAX, now = clock_mono_ms();
	int idx = -1;

	for (size_t i = 0; i < it->cut.naddrs; i++) {
		uint64_t s;

		if (it->cut.addrs[i].tried)
			continue;
		s = infra_score(it->env->infra, &it->cut.addrs[i].a.sa, it->cut.zone, now);
		if (s < best) {
			best = s;
			idx = (int)i;
		}
	}
	return idx;
}

/* ---- QNAME minimisation (RFC 9156) ---- */

/*
 * Labels the k-th minimised iteration (from 1) adds to the have labels known to be in the
 * zone, for a name of full labels: one, for short names and the first QMIN_ONE_LAB
 * iterations; then what is left shared out over the iterations left, the full name coming
 * at the QMIN_MAX_COUNT-th at the latest.
 */
static int
qmin_step(int k, int full, int have)
{
	int step;

	if (full <= QMIN_MAX_COUNT || k <= QMIN_ONE_LAB)
		return 1;
	if (k >= QMIN_MAX_COUNT)
		return full - have;
	step = (full - have) / (QMIN_MAX_COUNT - k + 1);
	return step > 1 ? step : 1;
}

/*
 * Whether the next query may be minimised. Relaxed mode stops once half of max-queries
 * is spent: the rest is kept for the full name (and the validator), so minimisation does
 * not make a resolution fail that would have fitted without it. Strict mode never sends
 * the full name early.
 */
static bool
qmin_allowed(const struct iter *it)
{
	const struct dnsr_conf *conf = it->env->conf;

	if (conf->qmin == DNSR_QMIN_NO || forwarding(it) || it->qmin_off)
		return false;
	return conf->qmin == DNSR_QMIN_STRICT || *it->budget > conf->max_queries / 2;
}

/* Whether the cache shows that name exists as data of its zone (an A RRset or NODATA). */
static bool
qmin_known_nocut(struct iter *it, const uint8_t *name)
{
	struct cache_entry *e = cache_lookup(it->env->cache, name, DNS_TYPE_A,
	    CACHE_RANK_ANSWER, cache_clock());
	bool known = e != NULL && (e->kind == CACHE_POSITIVE || e->kind == CACHE_NODATA);

	cache_entry_unref(e);
	return known;
}

/*
 * Chooses the question of the next query to the cut's servers: cur cut down to the
 * labels they need (A, RFC 9156 2.1), or (cur, qtype) itself once that is no more than
 * one label below what is known, or when minimising is off. Names the cache already
 * knows to be data of the zone are passed over without a query.
 */
static void
qmin_choose(struct iter *it)
{
	int full = dname_labels(it->cur), zl = dname_labels(it->cut.zone);

	it->minimised = false;
	if (it->qmin_base < zl)
		it->qmin_base = zl;
	while (qmin_allowed(it) && full > it->qmin_base + 1 &&
	    it->qmin_count < QMIN_MAX_COUNT - 1) {
		int want = it->qmin_base + qmin_step(it->qmin_count + 1, full, it->qmin_base);
		const uint8_t *p = it->cur;

		if (want >= full)
			return;
		for (int i = full; i > want; i--)
			p = dname_parent(p);
		it->qmin_count++;
		if (qmin_known_nocut(it, p)) {
			it->qmin_base = want;
			continue;
		}
		memcpy(it->out, p, dname_len(p));
		it->minimised = true;
		return;
	}
}

/* A new question for the same servers: every address may be asked it. */
static void
cut_untried(struct iter *it)
{
	for (size_t i = 0; i < it->cut.naddrs; i++)
		it->cut.addrs[i].tried = false;
}

/*
 * Relaxed mode after a minimised query went wrong (NXDOMAIN for what may be an empty
 * non-terminal, REFUSED, SERVFAIL, a lame or no answer): the full name, to every server
 * of the zone again, and no more minimising until a referral leaves the zone.
 */
static void
qmin_fallback(struct iter *it)
{
	atomic_fetch_add_explicit(&it->env->stats.qmin_fallbacks, 1, memory_order_relaxed);
	if (debugging(it->env)) {
		char name[DNAME_STRLEN], zone[DNAME_STRLEN];

		log_debug("qname minimisation: %s: full name from now on in zone %s",
		    dname_to_str(it->out, name, sizeof(name)),
		    dname_to_str(it->cut.zone, zone, sizeof(zone)));
	}
	it->qmin_off = true;
	it->minimised = false;
	cut_untried(it);
	next_server(it);
}

/* ---- looking up the address of an NS name that came without glue ---- */

static void
child_done(void *arg, const struct result *res)
{
	struct iter *it = arg;

	it->child = NULL;	/* freed by the caller after this returns */
	for (size_t i = 0; i < res->nan; i++)
		if (res->an[i]->kind == CACHE_POSITIVE)
			cut_add_rrset(it, res->an[i]->rrset);
	next_server(it);
}

enum ns_lookup { NS_NONE, NS_ADDED, NS_STARTED };

/*
 * The next NS name without an address: its address from the cache, or a lookup of its
 * own (one at a time, which bounds what a referral to many glueless names can cost).
 * Names inside the zone itself cannot be looked up without glue: skipped.
 */
static enum ns_lookup
lookup_ns(struct iter *it)
{
	if (it->level + 1 >= MAX_LEVEL)
		return NS_NONE;
	for (size_t i = 0; i < it->cut.nnames; i++) {
		struct cut_name *n = &it->cut.names[i];

		if (n->looked_up)
			continue;
		n->looked_up = true;
		if (dname_is_below(n->name, it->cut.zone))
			continue;
		if (cut_add_cached(it, n->name) > 0)
			return NS_ADDED;
		it->child = iter_new(it->env, it, n->name, DNS_TYPE_A, child_done, it);
		return NS_STARTED;
	}
	return NS_NONE;
}

static void
next_server(struct iter *it)
{
	for (;;) {
		int idx = pick(it);

		if (idx >= 0) {
			send_to(it, (size_t)idx);
			return;
		}
		switch (lookup_ns(it)) {
		case NS_STARTED:
			return;
		case NS_ADDED:
			continue;
		case NS_NONE:
			fail(it, EDE_NO_REACHABLE_AUTHORITY, it->why != NULL ? it->why :
			    "no server of the zone could be asked");
			return;
		}
	}
}

/* ---- reading an answer ---- */

static bool
skip_type(uint16_t type)
{
	/* RRSIGs are read apart (gather()); meta types are never data. */
	return type == DNS_TYPE_OPT || type == DNS_TYPE_SIG || type == DNS_TYPE_TSIG ||
	    type == DNS_TYPE_TKEY || (type >= 128 && type <= 255);
}

static struct msg_set *
find_set(struct iter_scratch *sc, int section, const uint8_t *owner, uint16_t type)
{
	for (size_t i = 0; i < sc->nsets; i++)
		if (sc->sets[i].section == section && sc->sets[i].type == type &&
		    dname_equal(sc->sets[i].owner, owner))
			return &sc->sets[i];
	return NULL;
}

static struct msg_set *
set_for(struct iter_scratch *sc, int section, const uint8_t *owner, uint16_t type)
{
	struct msg_set *s = find_set(sc, section, owner, type);

	if (s != NULL || sc->nsets == MSG_MAX_SETS)
		return s;
	s = &sc->sets[sc->nsets++];
	s->section = section;
	s->type = type;
	s->bad = false;
	s->used = false;
	s->entry = NULL;
	memcpy(s->owner, owner, dname_len(owner));
	dname_lower(s->owner);
	rrset_builder_init(&s->b, type);
	rrset_builder_init(&s->sb, DNS_TYPE_RRSIG);
	return s;
}

/* Groups the records of the parsed message into RRsets, names in RDATA uncompressed. */
static int
gather(struct iter_scratch *sc)
{
	struct wire_iter wi;
	struct wire_rr rr;

	sc->nsets = 0;
	wire_iter_init(&sc->m, &wi);
	while (wire_iter_next(&sc->m, &wi, &rr) == 1) {
		struct msg_set *s;
		int n;

		uint16_t type = rr.type;
		/* RRSIGs go with what they cover, unless they are what was asked for. */
		bool sig = type == DNS_TYPE_RRSIG && !(rr.section == WIRE_AN &&
		    sc->m.qtype == DNS_TYPE_RRSIG);

		if (rr.rclass != DNS_CLASS_IN || skip_type(type) ||
		    (sig && !sc->keep_sigs) || ((type == DNS_TYPE_NSEC ||
		    type == DNS_TYPE_NSEC3) && !sc->keep_sigs && rr.section != WIRE_AN))
			continue;
		if ((n = wire_rdata_unpack(&sc->m, &rr, sc->rdata, sizeof(sc->rdata))) < 0)
			return -1;
		if (sig && n >= 2)
			type = wire_read16(sc->rdata);	/* grouped with what it covers */
		else if (sig)
			continue;
		if ((s = set_for(sc, rr.section, rr.owner, type)) == NULL)
			continue;
		/* RFC 2181 8: a TTL with the top bit set is read as zero. */
		if (rrset_builder_add(sig ? &s->sb : &s->b, rr.ttl > 0x7fffffff ? 0 : rr.ttl,
		    sc->rdata, (uint16_t)n) != 0)
			s->bad = true;
	}
	return 0;
}

static void
scratch_clear(struct iter_scratch *sc)
{
	for (size_t i = 0; i < sc->nsets; i++) {
		rrset_builder_clear(&sc->sets[i].b);
		rrset_builder_clear(&sc->sets[i].sb);
		cache_entry_unref(sc->sets[i].entry);
	}
	sc->nsets = 0;
}

/* The RRSIGs read with s (NULL when none), once. */
static struct rrset *
set_sigs(struct msg_set *s)
{
	return s->sb.count > 0 ? rrset_builder_finish(&s->sb) : NULL;
}

/*
 * Whether an entry goes into the cache as soon as it is read. What clients are given
 * waits for the validator when there is one (vjob.c caches it with its verdict); what
 * only guides iteration (referrals, glue) and what the validator fetches is cached at
 * once, unchecked, and never served as an answer.
 */
static bool
cache_now(const struct iter *it, uint8_t rank)
{
	return rank != CACHE_RANK_ANSWER || !validating(it);
}

/*
 * The NSEC and NSEC3 RRsets of the authority section, kept with e for the validator and
 * for DO clients (denials; the proof that a wildcard answer's name does not exist).
 */
static void
attach_proofs(struct iter_scratch *sc, struct cache_entry *e)
{
	for (size_t i = 0; i < sc->nsets; i++) {
		struct msg_set *s = &sc->sets[i];
		struct rrset *rs;

		if (s->section != WIRE_NS || s->used || s->bad || s->b.count == 0 ||
		    (s->type != DNS_TYPE_NSEC && s->type != DNS_TYPE_NSEC3))
			continue;
		s->used = true;
		if ((rs = rrset_builder_finish(&s->b)) != NULL)
			cache_entry_add_proof(e, s->owner, rs, set_sigs(s));
	}
}

/* The set as a cache entry (stored in the cache when its TTL allows), built once. */
static struct cache_entry *
set_entry(struct iter *it, struct msg_set *s, uint8_t rank)
{
	uint32_t now = cache_clock();
	struct rrset *rs;

	if (s->entry != NULL || s->bad || s->b.count == 0)
		return s->entry;
	if ((rs = rrset_builder_finish(&s->b)) == NULL)
		return NULL;
	s->used = true;
	s->entry = cache_entry_positive(s->owner, rs, rank, 0,
	    cache_expiry(it->env->cache, rs->ttl, false, now));
	if (s->entry == NULL)
		return NULL;
	cache_entry_set_sigs(s->entry, set_sigs(s));
	if (cache_now(it, rank))
		cache_insert(it->env->cache, s->entry, now);
	return s->entry;
}

/* The single name in the RDATA of a CNAME or DNAME entry, or NULL. */
static const uint8_t *
target_of(const struct cache_entry *e)
{
	struct rdata_ref rd;

	if (rrset_first(e->rrset, &rd) == NULL || rd.len == 0 || dname_len(rd.data) != rd.len)
		return NULL;
	return rd.data;
}

static void
move_to(struct iter *it, const uint8_t *name, size_t len)
{
	memcpy(it->cur, name, len);
	dname_lower(it->cur);
}

static bool
take_link(struct iter *it)
{
	if (it->links >= it->env->conf->max_chain) {
		fail(it, EDE_OTHER, "CNAME chain too long");
		return false;
	}
	it->links++;
	return true;
}

/* ANY: every RRset the answer has at the name. */
static bool
answer_any(struct iter *it, struct iter_scratch *sc)
{
	bool found = false;

	for (size_t i = 0; i < sc->nsets; i++) {
		struct msg_set *s = &sc->sets[i];
		struct cache_entry *e;

		if (s->section != WIRE_AN || !dname_equal(s->owner, it->cur))
			continue;
		if ((e = set_entry(it, s, CACHE_RANK_ANSWER)) != NULL &&
		    result_add(&it->res, e) == 0)
			found = true;
	}
	return found;
}

/* The DNAME of the answer at the deepest strict ancestor of cur within the zone. */
static struct msg_set *
find_dname(struct iter *it, struct iter_scratch *sc)
{
	struct msg_set *best = NULL;

	for (size_t i = 0; i < sc->nsets; i++) {
		struct msg_set *s = &sc->sets[i];

		if (s->section != WIRE_AN || s->type != DNS_TYPE_DNAME ||
		    dname_equal(s->owner, it->cur) || !dname_is_below(it->cur, s->owner) ||
		    !dname_is_below(s->owner, it->cut.zone))
			continue;
		if (best == NULL || dname_labels(s->owner) > dname_labels(best->owner))
			best = s;
	}
	return best;
}

/*
 * Follows a DNAME (RFC 6672 2.2): the CNAME is synthesized here rather than taken from
 * the answer, so that what is cached follows from the DNAME alone.
 */
static enum chain
follow_dname(struct iter *it, struct msg_set *d)
{
	struct cache_entry *dn = set_entry(it, d, CACHE_RANK_ANSWER), *cn;
	const uint8_t *target = dn != NULL ? target_of(dn) : NULL;
	uint8_t name[DNAME_MAXLEN];
	struct rrset_builder b;
	struct rrset *rs;
	int len;

	if (target == NULL)
		return CHAIN_BAD;
	if ((len = dname_substitute(it->cur, d->owner, target, name)) < 0) {
		result_add(&it->res, dn);	/* RFC 6672 2.2: the result would be too long */
		it->res.rcode = DNS_RCODE_YXDOMAIN;
		return CHAIN_DONE;
	}
	if (!take_link(it))
		return CHAIN_FAIL;
	rrset_builder_init(&b, DNS_TYPE_CNAME);
	if (rrset_builder_add(&b, dn->rrset->ttl, name, (uint16_t)len) != 0 ||
	    (rs = rrset_builder_finish(&b)) == NULL) {
		rrset_builder_clear(&b);
		return CHAIN_BAD;
	}
	cn = cache_entry_positive(it->cur, rs, CACHE_RANK_ANSWER, CACHE_FLAG_SYNTH, dn->expire);
	if (cn == NULL)
		return CHAIN_BAD;
	if (cache_now(it, CACHE_RANK_ANSWER))
		cache_insert(it->env->cache, cn, cache_clock());
	result_add(&it->res, dn);
	result_add(&it->res, cn);
	cache_entry_unref(cn);
	move_to(it, name, (size_t)len);
	return CHAIN_MOVED;
}

/* One step of the answer section: the data, or a CNAME/DNAME to follow, at it->cur. */
static enum chain
chain_step(struct iter *it, struct iter_scratch *sc)
{
	struct msg_set *s;
	struct cache_entry *e;
	const uint8_t *t;

	if (!dname_is_below(it->cur, it->cut.zone))
		return CHAIN_NONE;	/* out of bailiwick: resolve it from its own zone */
	if (it->qtype == DNS_TYPE_ANY)
		return answer_any(it, sc) ? CHAIN_DONE : CHAIN_NONE;
	if ((s = find_set(sc, WIRE_AN, it->cur, it->qtype)) != NULL) {
		if ((e = set_entry(it, s, CACHE_RANK_ANSWER)) == NULL ||
		    result_add(&it->res, e) != 0)
			return CHAIN_BAD;
		if (validating(it))
			attach_proofs(sc, e);	/* a wildcard's, if it is one */
		it->res.rcode = DNS_RCODE_NOERROR;
		return CHAIN_DONE;
	}
	/* Before the CNAME: the server's own synthesized CNAME is not taken on trust. */
	if ((s = find_dname(it, sc)) != NULL)
		return follow_dname(it, s);
	if (it->qtype != DNS_TYPE_CNAME &&
	    (s = find_set(sc, WIRE_AN, it->cur, DNS_TYPE_CNAME)) != NULL) {
		if ((e = set_entry(it, s, CACHE_RANK_ANSWER)) == NULL ||
		    (t = target_of(e)) == NULL)
			return CHAIN_BAD;
		if (!take_link(it))
			return CHAIN_FAIL;
		if (result_add(&it->res, e) != 0)
			return CHAIN_BAD;
		move_to(it, t, dname_len(t));
		return CHAIN_MOVED;
	}
	return CHAIN_NONE;
}

/* Follows the answer section from it->cur as far as it goes within bailiwick. */
static enum chain
follow_chain(struct iter *it, struct iter_scratch *sc)
{
	bool moved = false;

	for (;;) {
		enum chain c = chain_step(it, sc);

		if (c != CHAIN_MOVED)
			return c == CHAIN_NONE && moved ? CHAIN_MOVED : c;
		moved = true;
	}
}

/* The SOA in the authority section for the zone of it->cur, within bailiwick. */
static struct msg_set *
find_soa(struct iter *it, struct iter_scratch *sc)
{
	for (size_t i = 0; i < sc->nsets; i++) {
		struct msg_set *s = &sc->sets[i];

		if (s->section == WIRE_NS && s->type == DNS_TYPE_SOA && !s->bad &&
		    s->b.count > 0 && dname_is_below(it->cur, s->owner) &&
		    dname_is_below(s->owner, it->cut.zone))
			return s;
	}
	return NULL;
}

/*
 * NXDOMAIN or NODATA for it->cur (RFC 2308), cached with the SOA when there is one.
 * After a CNAME in the same answer, only with an SOA and for a name of the zone: else the
 * name is resolved from its own servers. Without AA (aa false), a NODATA needs the SOA of
 * the zone: an empty non-AA NOERROR is what a server that does not serve the zone sends.
 */
static bool
negative(struct iter *it, struct iter_scratch *sc, uint16_t rcode, bool moved, bool aa)
{
	struct msg_set *soa = find_soa(it, sc);
	uint16_t key = rcode == DNS_RCODE_NXDOMAIN ? CACHE_TYPE_NXDOMAIN : it->qtype;
	uint32_t now = cache_clock();
	struct cache_entry *e;
	struct rrset *rs;
	bool deleg;

	if (moved && (soa == NULL || !dname_is_below(it->cur, it->cut.zone)))
		return false;
	if (!aa && soa == NULL && rcode == DNS_RCODE_NOERROR)
		return false;
	/* Some servers set AA on referrals: NS below the zone and no SOA is one. */
	deleg = soa == NULL && rcode == DNS_RCODE_NOERROR && find_referral_ns(it, sc) != NULL;
	if (deleg && !forwarding(it))
		return false;
	if (soa == NULL && rcode == DNS_RCODE_NOERROR && !deleg) {
		e = cache_entry_negative(it->cur, key, NULL, NULL,
		    cache_expiry(it->env->cache, NODATA_NOSOA_TTL, true, now), now);
	} else if (soa != NULL && (rs = rrset_builder_finish(&soa->b)) != NULL) {
		/* The cache keeps the answer at most max-negative-ttl; the SOA its own TTL. */
		e = cache_entry_negative(it->cur, key, soa->owner, rs,
		    cache_expiry(it->env->cache, rrset_soa_negative_ttl(rs), true, now), now);
		if (e != NULL)
			cache_entry_set_sigs(e, set_sigs(soa));
	} else {
		/* NXDOMAIN without SOA, a forwarder's referral, or OOM: not cached. */
		result_set_neg(&it->res, NULL, rcode);
		return true;
	}
	if (e != NULL && (validating(it) || it->raw))
		attach_proofs(sc, e);
	if (e != NULL && it->qtype != DNS_TYPE_ANY && cache_now(it, CACHE_RANK_ANSWER))
		cache_insert(it->env->cache, e, now);
	result_set_neg(&it->res, e, rcode);
	cache_entry_unref(e);
	return true;
}

/* The NS RRset of a referral: below the zone asked, at or above the name. */
static struct msg_set *
find_referral_ns(struct iter *it, struct iter_scratch *sc)
{
	struct msg_set *best = NULL;

	for (size_t i = 0; i < sc->nsets; i++) {
		struct msg_set *s = &sc->sets[i];

		if (s->section != WIRE_NS)
			continue;
		if (s->type == DNS_TYPE_SOA)
			return NULL;	/* a negative answer, not a referral */
		if (s->type != DNS_TYPE_NS || !dname_is_below(it->cur, s->owner) ||
		    !dname_is_below(s->owner, it->cut.zone) ||
		    dname_equal(s->owner, it->cut.zone))
			continue;
		if (best == NULL || dname_labels(s->owner) > dname_labels(best->owner))
			best = s;
	}
	if (best != NULL && it->qtype == DNS_TYPE_DS && dname_equal(best->owner, it->cur))
		return NULL;	/* DS is answered by the parent, never referred */
	return best;
}

/* Whether the authority section has a DS RRset at owner, with its RRSIGs (read when validating). */
static bool
signed_ds(struct iter_scratch *sc, const uint8_t *owner)
{
	struct msg_set *ds = find_set(sc, WIRE_NS, owner, DNS_TYPE_DS);

	return ds != NULL && !ds->bad && ds->b.count > 0 && ds->sb.count > 0;
}

/*
 * A referral: the NS RRset becomes the new cut. Glue is used only for NS names within
 * the zone of the server that sent it (its bailiwick): anything else is someone else's
 * data and is looked up at its own servers.
 */
static bool
referral(struct iter *it, struct iter_scratch *sc)
{
	struct msg_set *ns = find_referral_ns(it, sc);
	struct cache_entry *e;
	uint8_t parent[DNAME_MAXLEN];
	struct rdata_ref rd;

	if (ns == NULL || (e = set_entry(it, ns, CACHE_RANK_REFERRAL)) == NULL)
		return false;
	memcpy(parent, it->cut.zone, dname_len(it->cut.zone));
	cut_reset(&it->cut, ns->owner);
	it->cut_ds = signed_ds(sc, ns->owner);
	for (const uint8_t *p = rrset_first(e->rrset, &rd); p; p = rrset_next(e->rrset, p, &rd)) {
		struct cut_name *n = cut_add_name(&it->cut, rd.data, rd.len);
		static const uint16_t types[] = { DNS_TYPE_A, DNS_TYPE_AAAA };

		if (n == NULL)
			continue;
		for (size_t t = 0; t < 2 && dname_is_below(n->name, parent); t++) {
			struct msg_set *g = find_set(sc, WIRE_AR, n->name, types[t]);
			struct cache_entry *ge;

			if (g != NULL && (ge = set_entry(it, g, CACHE_RANK_GLUE)) != NULL)
				cut_add_rrset(it, ge->rrset);
		}
		cut_add_cached(it, n->name);
	}
	return true;
}

/* Is this the answer to the question we asked? (upstream.c checked id, question, case.) */
static bool
answers_question(const struct iter *it, const struct wire_msg *m)
{
	return (m->flags & DNS_FLAG_QR) && ((m->flags >> 11) & 0x0f) == DNS_OPCODE_QUERY &&
	    m->has_question && dname_equal(m->qname, asked_name(it)) &&
	    m->qtype == asked_type(it) &&
	    m->qclass == DNS_CLASS_IN;
}

/*
 * What an answer is, AA or not (recursive mode), as Unbound's response_type_from_server()
 * reads it: many servers leave AA clear on data of zones they serve, so the AA bit alone
 * does not make a server lame. What is believed is bounded by the zone cut instead: the
 * chain is followed only within it (chain_step), the SOA of a negative answer must be of
 * it (find_soa), glue is taken only for names in it (referral). Without AA:
 * - NS below the cut and no SOA makes a referral, even beside an answer: the data is the
 *   child's to give (Unbound: "it very well could be a REFERRAL");
 * - RA set means a recursive server answering from its cache (Unbound's REC_LAME): lame;
 * - NODATA needs an SOA of the zone (negative()).
 */
static enum verdict
classify(struct iter *it, struct iter_scratch *sc)
{
	uint16_t rcode = wire_msg_rcode(&sc->m);
	bool fwd = forwarding(it);
	bool aa = fwd || (sc->m.flags & DNS_FLAG_AA);	/* a forwarder's answers never have AA */
	enum chain c;

	if (rcode != DNS_RCODE_NOERROR && rcode != DNS_RCODE_NXDOMAIN)
		return V_BAD;
	/* A server is asked only about names of its zone (cut_find): anything else is odd. */
	if (!dname_is_below(it->cur, it->cut.zone))
		return V_BAD;
	if (!aa && rcode == DNS_RCODE_NOERROR && find_referral_ns(it, sc) != NULL)
		return referral(it, sc) ? V_REFERRAL : V_BAD;
	if (!aa && (sc->m.flags & DNS_FLAG_RA))
		return V_BAD;
	c = follow_chain(it, sc);
	if (c == CHAIN_DONE)
		return V_DONE;
	if (c == CHAIN_FAIL)
		return V_FAIL;
	if (c == CHAIN_BAD)
		return V_BAD;
	if (negative(it, sc, rcode, c == CHAIN_MOVED, aa))
		return V_DONE;
	if (c == CHAIN_MOVED)
		return V_RESTART;
	if (!fwd && rcode == DNS_RCODE_NOERROR && referral(it, sc))
		return V_REFERRAL;
	return V_BAD;
}

/*
 * Whether the zone of the cut is signed, as far as the validator is concerned: the
 * referral to it carried a signed DS, or its keys are in the key cache as secure. Never
 * for what is not validated (NS address lookups, the validator's own fetches).
 */
static bool
dnssec_expected(struct iter *it)
{
	struct cache_entry *k;
	bool secure;

	if (!validating(it) || it->parent != NULL || it->env->anchors == NULL ||
	    anchors_insecure(it->env->anchors, it->cut.zone))
		return false;
	if (it->cut_ds)
		return true;
	if (it->env->keys == NULL)
		return false;
	k = cache_lookup(it->env->keys, it->cut.zone, DNS_TYPE_DNSKEY, CACHE_RANK_ANSWER,
	    cache_clock());
	secure = k != NULL && k->kind == CACHE_POSITIVE && k->sec == SEC_SECURE;
	cache_entry_unref(k);
	return secure;
}

/*
 * NOERROR to a minimised query (it->cur is the minimised name here): the name is data
 * of the zone, no cut. What it holds is cached as any answer would be (cache_now: when
 * validating, only the validator caches answers): its A RRset, or the NODATA with the
 * zone's SOA, which lets the next resolution below it skip this query (qmin_choose). A
 * CNAME is not followed: it says nothing of the names below it, which are resolved as
 * usual (as Unbound does). False for an empty non-authoritative answer: a lame server.
 */
static bool
minimised_nocut(struct iter *it, struct iter_scratch *sc, bool aa)
{
	struct msg_set *a = find_set(sc, WIRE_AN, it->cur, DNS_TYPE_A);
	struct msg_set *soa = find_soa(it, sc);
	uint32_t now = cache_clock();
	struct cache_entry *e;
	struct rrset *rs;

	if (!aa && a == NULL && soa == NULL &&
	    find_set(sc, WIRE_AN, it->cur, DNS_TYPE_CNAME) == NULL)
		return false;
	if (a != NULL) {
		(void)set_entry(it, a, CACHE_RANK_ANSWER);
	} else if (soa != NULL && cache_now(it, CACHE_RANK_ANSWER) &&
	    find_set(sc, WIRE_AN, it->cur, DNS_TYPE_CNAME) == NULL &&
	    (rs = rrset_builder_finish(&soa->b)) != NULL) {
		e = cache_entry_negative(it->cur, DNS_TYPE_A, soa->owner, rs,
		    cache_expiry(it->env->cache, rrset_soa_negative_ttl(rs), true, now), now);
		if (e != NULL)
			cache_insert(it->env->cache, e, now);
		cache_entry_unref(e);
	}
	return true;
}

/*
 * The answer to a minimised query (it->out, A), judged with it->cur set to that name:
 * a referral moves the cut (minimising goes on below it); NOERROR means no cut there;
 * NXDOMAIN is for classify_minimised() to weigh.
 */
static enum verdict
classify_out(struct iter *it, struct iter_scratch *sc, uint16_t rcode, bool aa)
{
	if (rcode == DNS_RCODE_NOERROR && find_referral_ns(it, sc) != NULL)
		return referral(it, sc) ? V_REFERRAL : V_BAD;
	if (!aa && (sc->m.flags & DNS_FLAG_RA))
		return V_BAD;
	if (rcode == DNS_RCODE_NXDOMAIN)
		return V_DONE;
	return minimised_nocut(it, sc, aa) ? V_DEEPER : V_BAD;
}

/*
 * NXDOMAIN for a minimised name means, if true, that the whole name does not exist
 * (RFC 8020). Strict mode takes it so; relaxed mode only from a signed zone (the validator
 * then judges the denial for the whole name, as for any answer): servers of unsigned
 * zones are known to answer NXDOMAIN for empty non-terminals, so it asks the full name.
 * Nothing of a distrusted NXDOMAIN is cached.
 */
static enum verdict
classify_minimised(struct iter *it, struct iter_scratch *sc)
{
	uint16_t rcode = wire_msg_rcode(&sc->m), qtype = it->qtype;
	bool aa = (sc->m.flags & DNS_FLAG_AA) != 0;
	uint8_t full[DNAME_MAXLEN];
	enum verdict v;

	if (rcode != DNS_RCODE_NOERROR && rcode != DNS_RCODE_NXDOMAIN)
		return V_BAD;
	memcpy(full, it->cur, dname_len(it->cur));
	memcpy(it->cur, it->out, dname_len(it->out));
	it->qtype = DNS_TYPE_A;
	v = classify_out(it, sc, rcode, aa);
	memcpy(it->cur, full, dname_len(full));
	it->qtype = qtype;
	if (v != V_DONE)
		return v;
	if (it->env->conf->qmin != DNSR_QMIN_STRICT && !dnssec_expected(it))
		return V_UNMINIMISE;
	(void)negative(it, sc, DNS_RCODE_NXDOMAIN, false, aa);
	return V_DONE;
}

static enum verdict
judge(struct iter *it, const uint8_t *msg, size_t len)
{
	struct iter_scratch *sc = it->env->scratch;
	enum verdict v = V_BAD;

	sc->keep_sigs = it->env->validation != DNSR_VALIDATION_NO;
	if (wire_msg_parse(msg, len, &sc->m) == 0 && answers_question(it, &sc->m) &&
	    gather(sc) == 0)
		v = it->minimised ? classify_minimised(it, sc) : classify(it, sc);
	scratch_clear(sc);
	return v;
}

/* Exported for tests: judge() on an iter that is set up for it alone. */
enum verdict
iter_judge(struct iter_env *env, const uint8_t *zone, const uint8_t *qname, uint16_t qtype,
    const uint8_t *msg, size_t len, struct iter_judgement *j)
{
	struct iter *it = xcalloc(1, sizeof(*it));
	enum verdict v;

	it->env = env;
	it->budget = &it->queries_left;
	move_to(it, qname, dname_len(qname));
	it->qtype = qtype;
	cut_reset(&it->cut, zone);
	result_init(&it->res);
	it->finished = true;	/* there is no event: fail() must not schedule a delivery */
	v = judge(it, msg, len);
	j->rcode = it->res.rcode;
	j->nan = it->res.nan;
	j->neg = it->res.neg != NULL;
	memcpy(j->cur, it->cur, dname_len(it->cur));
	memcpy(j->zone, it->cut.zone, dname_len(it->cut.zone));
	j->nnames = it->cut.nnames;
	j->naddrs = it->cut.naddrs;
	result_clear(&it->res);
	free(it);
	return v;
}

/* Acts on a good answer's verdict. */
static void
proceed(struct iter *it, enum verdict v)
{
	switch (v) {
	case V_DONE:
		finish(it);
		break;
	case V_RESTART:
		it->referrals = 0;
		step_begin(it);
		break;
	case V_REFERRAL:
		atomic_fetch_add_explicit(&it->env->stats.referrals, 1, memory_order_relaxed);
		if (++it->referrals > it->env->conf->max_referrals) {
			fail(it, EDE_OTHER, "too many referrals");
			break;
		}
		it->qmin_off = false;	/* a new zone: its servers get a minimised name again */
		qmin_choose(it);
		next_server(it);
		break;
	case V_DEEPER:
		it->qmin_base = dname_labels(it->out);
		qmin_choose(it);
		cut_untried(it);
		next_server(it);
		break;
	case V_UNMINIMISE:
		qmin_fallback(it);
		break;
	case V_FAIL:		/* fail() was called */
	case V_BAD:		/* handled by on_answer() */
		break;
	}
}

static void
on_answer(void *arg, enum upstream_status st, const uint8_t *msg, size_t len,
    uint64_t rtt_us)
{
	struct iter *it = arg;
	union sa46 addr = it->cut.addrs[it->asked].a;
	uint8_t zone[DNAME_MAXLEN];
	uint64_t now = clock_mono_ms();
	enum verdict v = V_BAD;
	bool minimised = it->minimised;

	it->uq = NULL;
	if (st == UPSTREAM_OK)
		histogram_observe(&it->env->stats.up_rtt, rtt_us);
	else
		counter_add(st == UPSTREAM_TIMEOUT ? &it->env->stats.up_timeouts :
		    &it->env->stats.up_errors, 1);
	memcpy(zone, it->cut.zone, dname_len(it->cut.zone));	/* a referral replaces it */
	if (st == UPSTREAM_OK && (v = judge(it, msg, len)) != V_BAD) {
		infra_success(it->env->infra, &addr.sa, zone, rtt_us, now);
		proceed(it, v);
		return;
	}
	if (st == UPSTREAM_OK) {
		atomic_fetch_add_explicit(&it->env->stats.bad_answers, 1, memory_order_relaxed);
		it->why = "lame, refusing or failing upstream servers";
	} else {
		it->why = st == UPSTREAM_TIMEOUT ? "upstream servers timed out" :
		    "upstream servers unreachable";
	}
	infra_failure(it->env->infra, &addr.sa, zone, st == UPSTREAM_TIMEOUT ?
	    (uint64_t)it->env->conf->query_timeout * 1000 : 0, now);
	if (minimised && it->env->conf->qmin == DNSR_QMIN_RELAXED)
		qmin_fallback(it);	/* maybe it is the minimised question that fails */
	else
		next_server(it);
}

/* ---- steps ---- */

/* From the cache as far as it goes, then from the closest zone cut. */
static void
step_begin(struct iter *it)
{
	uint8_t next[DNAME_MAXLEN];

	switch (reply_lookup(it->env->cache, it->cur, it->qtype, cache_clock(), &it->res, next,
	    &it->links, it->env->conf->max_chain, !validating(it))) {
	case LOOKUP_DONE:
		finish(it);
		return;
	case LOOKUP_CHAIN_LIMIT:
		fail(it, EDE_OTHER, "CNAME chain too long");
		return;
	case LOOKUP_MISS:
		break;
	}
	memcpy(it->cur, next, dname_len(next));
	it->why = NULL;
	/* Per name: a CNAME or DNAME may lead into or out of a forward or stub zone. */
	it->zone = dnsr_zone_find(it->env->conf, it->cur, it->qtype);
	cut_find(it);
	it->cut_ds = false;
	it->qmin_off = false;
	it->qmin_count = 0;
	it->qmin_base = 0;
	qmin_choose(it);
	next_server(it);
}

static struct iter *
iter_new(struct iter_env *env, struct iter *parent, const uint8_t *name, uint16_t qtype,
    iter_done_cb cb, void *arg)
{
	struct iter *it = xcalloc(1, sizeof(*it));

	it->env = env;
	it->parent = parent;
	it->level = parent != NULL ? parent->level + 1 : 0;
	it->raw = parent != NULL;	/* a server's address: guides iteration, never served */
	it->budget = parent != NULL ? parent->budget : &it->queries_left;
	it->queries_left = env->conf->max_queries;
	it->vb.verifies = VAL_BUDGET_VERIFIES;
	it->vb.hashes = VAL_BUDGET_HASHES;
	move_to(it, name, dname_len(name));
	it->qtype = qtype;
	it->cb = cb;
	it->arg = arg;
	result_init(&it->res);
	if ((it->ev = event_new(env->base, -1, 0, on_event, it)) == NULL)
		fatalx("iterate: event_new");
	event_active(it->ev, EV_TIMEOUT, 0);
	return it;
}

static void
iter_free(struct iter *it)
{
	vjob_free(it->vj);
	if (it->child != NULL)
		iter_free(it->child);
	if (it->uq != NULL)
		upstream_cancel(it->uq);
	if (it->deadline != NULL)
		event_free(it->deadline);
	event_free(it->ev);
	result_clear(&it->res);
	free(it);
}

struct iter *
iter_start(struct iter_env *env, const uint8_t *qname, uint16_t qtype, iter_done_cb cb,
    void *arg)
{
	struct iter *it = iter_new(env, NULL, qname, qtype, cb, arg);
	struct timeval tv;

	tv.tv_sec = env->conf->resolve_timeout / 1000;
	tv.tv_usec = (env->conf->resolve_timeout % 1000) * 1000;
	if ((it->deadline = evtimer_new(env->base, on_deadline, it)) == NULL)
		fatalx("iterate: evtimer_new");
	evtimer_add(it->deadline, &tv);
	atomic_fetch_add_explicit(&env->stats.resolutions, 1, memory_order_relaxed);
	return it;
}

void
iter_cancel(struct iter *it)
{
	iter_free(it);
}

struct iter *
iter_fetch(struct iter_env *env, const uint8_t *name, uint16_t qtype, int *budget,
    iter_done_cb cb, void *arg)
{
	struct iter *it = iter_new(env, NULL, name, qtype, cb, arg);

	it->raw = true;
	it->budget = budget;
	return it;
}
