/* iterate.h: resolving one question from the cache, the root hints or the forwarders. */
#ifndef STREAMDNS_ITERATE_H
#define STREAMDNS_ITERATE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "dnsr/cache.h"
#include "dnsr/dnsr.h"
#include "dnsr/hints.h"
#include "dnsr/infra.h"
#include "dnsr/reply.h"
#include "dnsr/upstream.h"
#include "dnsr/validate.h"
#include "common/metrics.h"

struct iter;
struct iter_scratch;
struct anchors;

/* Counters of one worker; written by it alone, read by the main thread for the stats. */
struct iter_stats {
	atomic_ulong	resolutions;	/* started for clients */
	atomic_ulong	upstream;	/* queries sent */
	atomic_ulong	referrals;
	atomic_ulong	bad_answers;	/* lame, REFUSED, SERVFAIL, malformed, off-question */
	atomic_ulong	failures;	/* resolutions that ended in SERVFAIL */
	atomic_ulong	addrs_skipped;	/* server addresses passed over, each time (may_query) */
	atomic_ulong	qmin_queries;	/* minimised queries sent (RFC 9156), within upstream */
	atomic_ulong	qmin_fallbacks;	/* relaxed mode gave up minimising for a zone */
	counter_t	up_timeouts;	/* upstream queries unanswered in time */
	counter_t	up_errors;	/* refused, unreachable, OOM */
	struct histogram up_rtt;	/* upstream queries answered (any RCODE) */
	atomic_ulong	validated[SEC_SECURE + 1];	/* results judged, by enum sec */
	struct histogram val_time;	/* from the start of a validation to its verdict */
};

/* What iteration needs of its worker; one per event loop. */
struct iter_env {
	struct event_base	*base;
	struct upstream		*up;
	struct cache		*cache;		/* shared */
	struct infra		*infra;		/* shared */
	const struct hints	*start;		/* root hints, or the forwarders */
	const struct dnsr_conf	*conf;
	struct iter_scratch	*scratch;	/* for reading answers, one at a time */
	bool			 query_loopback;	/* set by iter_env_init() */
	int			 validation;	/* DNSR_VALIDATION_* */
	struct cache		*keys;		/* shared: zones' validated keys (vjob.c) */
	const struct anchors	*anchors;	/* trust anchors, domain-insecure */
	struct iter_stats	 stats;
};

/* Called from the event loop when the resolution is over; res is the answer. */
typedef void (*iter_done_cb)(void *arg, const struct result *res);

/* Call with conf and start set: whether loopback servers may be asked follows from both. */
void iter_env_init(struct iter_env *env);
void iter_env_clear(struct iter_env *env);

/*
 * Starts resolving (qname, qtype); qname is copied and lower-cased. cb is called exactly
 * once, later (never from inside iter_start), with a NOERROR/NXDOMAIN answer or a
 * SERVFAIL carrying an Extended DNS Error; the iter is freed after cb returns.
 */
struct iter *iter_start(struct iter_env *env, const uint8_t *qname, uint16_t qtype,
    iter_done_cb cb, void *arg);

/* Stops a resolution that has not called back yet; cb will not be called. */
void iter_cancel(struct iter *it);

/*
 * A resolution for the validator (a DS or DNSKEY RRset): like iter_start, but its result
 * is not validated (the validator judges it), it spends the upstream queries of
 * *budget, and it has no deadline of its own (its client's resolution has one).
 */
struct iter *iter_fetch(struct iter_env *env, const uint8_t *name, uint16_t qtype,
    int *budget, iter_done_cb cb, void *arg);

/* ---- exported for tests (tests/unit/test_iterate.c) ---- */

/* What an upstream answer means for the resolution. */
enum verdict {
	V_DONE,		/* it->res is the answer */
	V_RESTART,	/* a CNAME/DNAME led elsewhere: resolve it->cur from the start */
	V_REFERRAL,	/* it->cut is a zone closer to the name */
	V_BAD,		/* lame, refused, broken: try another server */
	V_FAIL,		/* a limit was hit; it->res says so */
	V_DEEPER,	/* minimised: no zone cut at it->out; add labels, same servers */
	V_UNMINIMISE,	/* minimised: relaxed mode asks the full name from now on */
};

/* What judging one answer left in the resolution. */
struct iter_judgement {
	uint16_t	rcode;			/* of the result */
	size_t		nan;			/* RRsets in the result's answer */
	bool		neg;			/* a negative cache entry (with the SOA) */
	uint8_t		cur[DNAME_MAXLEN];	/* the name resolved, moved by CNAME/DNAME */
	uint8_t		zone[DNAME_MAXLEN];	/* the zone cut, moved by a referral */
	size_t		nnames, naddrs;		/* the cut's NS names and known addresses */
};

/*
 * Exported for tests: judges the answer msg (len octets) to (qname, qtype), received
 * from a server of zone, as a resolution does (caching in env->cache what it would);
 * fills j. Needs env->cache, env->conf and env->scratch (iter_env_init), no event base.
 */
enum verdict iter_judge(struct iter_env *env, const uint8_t *zone, const uint8_t *qname,
    uint16_t qtype, const uint8_t *msg, size_t len, struct iter_judgement *j);

#endif
