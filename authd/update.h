/*
 * update.h: the RFC 2136 UPDATE engine: a message and the store in, an rcode or the whole
 * RRsets the update changes out. Pure logic: no network, no Kafka.
 *
 * An update becomes events (DESIGN.md "The log is the sequencer"): the caller writes one
 * event per change, each conditioned on base, the version of the RRset the engine read,
 * so that two updates racing through different instances cannot overwrite each other.
 * The engine therefore decides on whole RRsets, as they will be written, never on single
 * records.
 */
#ifndef STREAMDNS_UPDATE_H
#define STREAMDNS_UPDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authd/store.h"
#include "common/dname.h"
#include "common/event.h"
#include "common/rrset.h"

#define UPDATE_CHANGES_MAX	10000	/* RRsets one update may change (REFUSED beyond) */

struct update_change {
	uint8_t		 owner[DNAME_MAXLEN];	/* lower-case wire format */
	uint16_t	 type;
	struct rrset	*rs;		/* the new whole RRset; NULL: deleted. A caller that
					   keeps it sets rs to NULL and frees it with free() */
	int64_t		 base;		/* rrset_version() of the topic RRset read, -1 when
					   it was absent */
};

struct update_plan {
	uint8_t			 zone[DNAME_MAXLEN];	/* lower-case wire */
	struct update_change	*changes;
	size_t			 n, cap;
	unsigned		 prereqs, adds, deletes;	/* RRs of each kind in the
							   message, for the log */
};

struct update_opts {
	bool	serial_as_is;	/* [zones] serial = as-is: the update also writes the SOA
				   with serial + 1 */
	/*
	 * Refuse additions of the types an online-signed zone makes itself (sign_own_type())
	 * even while the zone has no keys in the store (the caller knows it is to be
	 * signed). The engine refuses them anyway whenever the apex has keys (znode_keys()).
	 */
	bool	signed_zone;
	/* Checks the RDATA of adds (event_rdata_check); NULL: one is made per call. */
	struct event_decoder *dec;
};

/*
 * The zone section alone (exactly one RR, type SOA, class IN), for the caller to pick the
 * zone's TSIG policy before the engine runs: 0 with zone (DNAME_MAXLEN octets) set, lower
 * case, or -1 (FORMERR: the message or its zone section is malformed).
 */
int update_zone(const uint8_t *msg, size_t len, uint8_t *zone);

/*
 * RFC 2136 sections 3.1-3.4 against the store's topic layer, evaluated under one
 * rcu_read_lock (the caller's thread must be an RCU reader thread). The additional section
 * is not read (the caller has judged its TSIG). Returns a DNS rcode:
 * DNS_RCODE_NOERROR with plan filled (plan->n == 0 when nothing would change), else
 * FORMERR, NOTAUTH, NOTZONE, YXDOMAIN, YXRRSET, NXDOMAIN, NXRRSET, REFUSED (a policy or a
 * limit) or SERVFAIL (the zone's stored SOA cannot be read), with why (a short reason for
 * the log) set and plan->n == 0. The zone and the counts are set whenever the message got
 * that far, for the log. plan is initialised here (what it held is not freed) and needs
 * update_plan_free() either way; o may be NULL (all options off).
 *
 * The plan has one change per (owner, type) whose final value, after every update of the
 * message in order, differs from the stored one, in the order the message first touched
 * them; with opts->serial_as_is, the SOA with its serial + 1 when nothing else changed it.
 */
int update_prepare(struct store *s, const uint8_t *msg, size_t len,
    const struct update_opts *o, struct update_plan *plan, char *why, size_t whylen);

/* Frees the RRsets the plan still holds and its array; the plan can be used again. */
void update_plan_free(struct update_plan *plan);

#endif
