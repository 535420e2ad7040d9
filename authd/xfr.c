/* xfr.c: zone transfers out: AXFR (RFC 5936) and IXFR (RFC 1995), streamed from a view. */
#include <ctype.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <urcu.h>

#include "authd/answer.h"
#include "authd/journal.h"
#include "authd/signer.h"
#include "authd/store.h"
#include "authd/xfr.h"
#include "common/clock.h"
#include "common/conf.h"
#include "common/envelope.h"
#include "common/frontend.h"
#include "common/log.h"
#include "common/tsig.h"
#include "common/wire.h"

/*
 * Messages of at most this many octets: big enough that headers and (later) TSIG cost
 * little, small enough that one message is a short piece of a worker's time.
 */
#define XFR_MSG_MAX	32768

/* ---- allow-transfer ---- */

static int
acl_item(void *arg, const char *item, char *err, size_t errlen)
{
	struct xfr_acl *a = arg;
	struct xfr_acl_item it = { .any_addr = true };
	char *copy = xstrdup(item), *tok, *save = NULL;
	int rc = 0;

	if (a->n == XFR_ACL_MAX) {
		snprintf(err, errlen, "more than %d items", XFR_ACL_MAX);
		rc = -1;
	}
	for (tok = strtok_r(copy, " \t", &save); rc == 0 && tok != NULL;
	    tok = strtok_r(NULL, " \t", &save)) {
		if (strncmp(tok, "key:", 4) == 0) {
			if (it.has_key || dname_from_str(tok + 4, NULL, it.key) <= 0) {
				snprintf(err, errlen, "'%s': %s", item, it.has_key ?
				    "two keys" : "not a key name");
				rc = -1;
				break;
			}
			dname_lower(it.key);
			it.has_key = true;
		} else if (!it.any_addr || acl_parse(tok, &it.net, err, errlen) != 0 ||
		    it.net.n != 1) {
			if (!it.any_addr)
				snprintf(err, errlen, "'%s': two networks", item);
			rc = -1;
		} else {
			it.any_addr = false;
		}
	}
	free(copy);
	if (rc == 0 && it.any_addr && !it.has_key) {
		snprintf(err, errlen, "'%s': neither a network nor a key", item);
		rc = -1;
	}
	if (rc == 0 && a != NULL)
		a->item[a->n++] = it;
	return rc;
}

int
xfr_acl_parse(const char *list, struct xfr_acl *a, char *err, size_t errlen)
{
	memset(a, 0, sizeof(*a));
	if (list == NULL)
		return 0;
	return conf_list_each(list, XFR_ACL_MAX + 1, acl_item, a, err, errlen) < 0 ? -1 : 0;
}

int
xfr_acl_check(const char *value, char *err, size_t errlen)
{
	struct xfr_acl *a = xmalloc(sizeof(*a));
	int rc = xfr_acl_parse(value, a, err, errlen);

	free(a);
	return rc;
}

bool
xfr_acl_allows(const struct xfr_acl *a, const struct sockaddr *client, const uint8_t *key)
{
	for (size_t i = 0; i < a->n; i++) {
		const struct xfr_acl_item *it = &a->item[i];

		if (!it->any_addr && (client == NULL || !acl_match(&it->net, client)))
			continue;
		if (it->has_key && (key == NULL || !dname_equal(key, it->key)))
			continue;
		return true;
	}
	return false;
}

/* ---- the stream ---- */

/*
 * AXFR (and IXFR answered AXFR-style): SOA, NODES, SOA. IXFR from the journal: SOA, then
 * per step FROM (its old SOA), DEL, TO (its new SOA), ADD, then SOA (RFC 1995 4).
 */
enum xfr_phase {
	XFR_SOA_FIRST, XFR_NODES, XFR_FROM, XFR_DEL, XFR_TO, XFR_ADD, XFR_SOA_LAST, XFR_DONE
};

/* One record to send. */
struct xrr {
	const uint8_t	*owner;
	uint16_t	 type;
	uint32_t	 ttl;
	const uint8_t	*rdata;
	uint16_t	 rdlen;
};

struct xfr {
	const struct xfr_conf	*xc;
	struct store_view	 view;		/* AXFR */
	struct store_ixfr	 ix;		/* IXFR from the journal */
	const struct journal_entry *step;	/* XFR_FROM .. XFR_ADD: which */
	const uint8_t		*jp;		/* XFR_DEL, XFR_ADD: the next record */
	const struct rrset	*soa;		/* the current SOA, first and last */
	enum xfr_phase		 phase;
	bool			 first;		/* the question goes in the first message */
	uint16_t		 id, flags, qtype;
	uint8_t			 qname[DNAME_MAXLEN];	/* as asked (case kept) */
	uint8_t			 apex[DNAME_MAXLEN];
	size_t			 node;		/* XFR_NODES: where we are */
	uint32_t		 set;
	const uint8_t		*it;		/* the record of that set, NULL: not started */
	struct rdata_ref	 rd;
	uint64_t		 messages, rrs;
	struct tsig_ctx		 tsig;		/* TSIG_OK: every message is signed */
	uint64_t		 t0;
	char			 client[INET6_ADDRSTRLEN];
};

/*
 * May the node's RRset of type go out? The apex SOA is sent first and last only; a DS at
 * the apex is the parent's data (RFC 4035 2.4), sent in the parent's transfer.
 */
static bool
wanted(const struct xfr *x, const struct store_view_node *vn, uint16_t type)
{
	switch (vn->only) {
	case STORE_VIEW_DELEGATION:
		return type == DNS_TYPE_NS || type == DNS_TYPE_DS;
	case STORE_VIEW_GLUE:
		return type == DNS_TYPE_A || type == DNS_TYPE_AAAA;
	default:
		return (type != DNS_TYPE_SOA && type != DNS_TYPE_DS) ||
		    !dname_equal(znode_name(vn->node), x->apex);
	}
}

/*
 * A large zone's nodes, vectors and RRsets are spread over memory, and walking them is
 * mostly waiting for it: on to a new node, current() asks for the vector of the node
 * XFR_AHEAD on, and for the node and first RRset of the one half as far, whose vector
 * was asked for earlier. (In current() itself: GCC takes a function that only
 * prefetches for one without effects, and drops the call.)
 */
#define XFR_AHEAD	16

/* The record to send next (owner, set), moving past what is not sent; false at the end. */
static bool
current(struct xfr *x, const uint8_t **owner, const struct rrset **rs)
{
	while (x->node < x->view.n) {
		const struct store_view_node *vn = &x->view.nodes[x->node];

		if (x->set >= vn->vec->count) {
			x->node++;
			x->set = 0;
			if (x->node + XFR_AHEAD < x->view.n)
				__builtin_prefetch(x->view.nodes[x->node + XFR_AHEAD].vec);
			if (x->node + XFR_AHEAD / 2 < x->view.n) {
				const struct store_view_node *ahead =
				    &x->view.nodes[x->node + XFR_AHEAD / 2];

				__builtin_prefetch(ahead->node);
				if (ahead->vec->count > 0)
					__builtin_prefetch(ahead->vec->sets[0]);
			}
			continue;
		}
		*rs = vn->vec->sets[x->set];
		if (x->it == NULL) {
			if (!wanted(x, vn, (*rs)->type) ||
			    (x->it = rrset_first(*rs, &x->rd)) == NULL) {
				x->set++;
				continue;
			}
		}
		*owner = znode_name(vn->node);
		return true;
	}
	return false;
}

static void
advance(struct xfr *x, const struct rrset *rs)
{
	if ((x->it = rrset_next(rs, x->it, &x->rd)) == NULL)
		x->set++;
}

static bool
soa_rr(const struct rrset *soa, const uint8_t *owner, struct xrr *r)
{
	struct rdata_ref rd;

	if (rrset_first(soa, &rd) == NULL)
		return false;
	*r = (struct xrr){ owner, DNS_TYPE_SOA, soa->ttl, rd.data, rd.len };
	return true;
}

/* The journal record at x->jp of b, or moves on to the next phase (false). */
static bool
journal_at(struct xfr *x, const struct jbuf *b, struct xrr *r)
{
	struct jrr j;

	if (x->jp == NULL)
		x->jp = b->data;
	if (journal_rr(b, x->jp, &j) == NULL) {
		x->jp = NULL;
		return false;
	}
	*r = (struct xrr){ j.owner, j.type, j.ttl, j.rdata, j.rdlen };
	return true;
}

/* The record to send now (without moving past it); false when the transfer is over. */
static bool
peek(struct xfr *x, struct xrr *r)
{
	const uint8_t *owner;
	const struct rrset *rs;

	for (;;) {
		switch (x->phase) {
		case XFR_SOA_FIRST:
		case XFR_SOA_LAST:
			return soa_rr(x->soa, x->apex, r);
		case XFR_NODES:
			if (current(x, &owner, &rs)) {
				*r = (struct xrr){ owner, rs->type, rs->ttl, x->rd.data, x->rd.len };
				return true;
			}
			x->phase = XFR_SOA_LAST;
			break;
		case XFR_FROM:
			return soa_rr(x->step->soa_from, x->apex, r);
		case XFR_TO:
			return soa_rr(x->step->soa_to, x->apex, r);
		case XFR_DEL:
			if (journal_at(x, &x->step->del, r))
				return true;
			x->phase = XFR_TO;
			break;
		case XFR_ADD:
			if (journal_at(x, &x->step->add, r))
				return true;
			if (x->step == x->ix.last) {
				x->phase = XFR_SOA_LAST;
			} else {
				x->step = x->step->next;
				x->phase = XFR_FROM;
			}
			break;
		case XFR_DONE:
			return false;
		}
	}
}

/* Moves past the record peek() gave. */
static void
step(struct xfr *x, const struct xrr *r)
{
	switch (x->phase) {
	case XFR_SOA_FIRST:
		x->phase = x->step != NULL ? XFR_FROM : XFR_NODES;
		break;
	case XFR_SOA_LAST:
		x->phase = XFR_DONE;
		break;
	case XFR_NODES: {
		const uint8_t *owner;
		const struct rrset *rs;

		if (current(x, &owner, &rs))
			advance(x, rs);
		break;
	}
	case XFR_FROM:
		x->phase = XFR_DEL;
		break;
	case XFR_TO:
		x->phase = XFR_ADD;
		break;
	case XFR_DEL:
	case XFR_ADD:
		x->jp = r->rdata + r->rdlen;
		break;
	case XFR_DONE:
		break;
	}
}

static size_t
xfr_fill(void *arg, uint8_t *out, size_t cap)
{
	struct xfr *x = arg;
	struct wire_writer w;
	struct xrr r;
	uint16_t n = 0;
	size_t len, room = (cap < XFR_MSG_MAX ? cap : XFR_MSG_MAX) - tsig_reserve(&x->tsig);

	if (x->phase == XFR_DONE)
		return 0;
	wire_init(&w, out, room);
	wire_compress_lean(&w, x->apex);
	wire_header(&w, x->id, x->flags);
	if (x->first) {
		wire_question(&w, x->qname, x->qtype, DNS_CLASS_IN);
		x->first = false;
	}
	while (peek(x, &r)) {
		if (wire_rr(&w, WIRE_AN, r.owner, r.type, DNS_CLASS_IN, r.ttl, r.rdata,
		    r.rdlen) != 0) {
			if (n > 0)
				break;
			/* Larger than any message: cannot be sent; the others can. */
			log_warnx("xfr: a record too large for a message left out");
		} else {
			n++;
		}
		step(x, &r);
	}
	len = wire_finish(&w);
	/* RFC 8945 5.3.1: every message signed, each MAC chained to the one before. */
	if (x->tsig.result == TSIG_OK && (x->messages == 0 ?
	    tsig_sign_first(&x->tsig, out, &len, cap) :
	    tsig_sign_next(&x->tsig, out, &len, cap)) != 0) {
		log_warnx("xfr: cannot sign a message; transfer ended");
		x->phase = XFR_DONE;
		return 0;
	}
	x->messages++;
	x->rrs += n;
	return len;
}

static void
xfr_done(void *arg)
{
	struct xfr *x = arg;
	char name[DNAME_STRLEN];

	dname_to_str(x->apex, name, sizeof(name));
	atomic_fetch_add(&x->xc->stats->messages, x->messages);
	atomic_fetch_add(&x->xc->stats->rrs, x->rrs);
	log_info("xfr: %s %s serial %u to %s: %s, %llu RRs in %llu messages, %.3f s",
	    x->qtype == DNS_TYPE_AXFR ? "AXFR" : x->step != NULL || x->ix.store != NULL ?
	    "IXFR" : "IXFR (as AXFR)", name, rrset_soa_serial(x->soa), x->client,
	    x->phase == XFR_DONE ? "complete" : "client left",
	    (unsigned long long)x->rrs, (unsigned long long)x->messages,
	    (double)(clock_mono_us() - x->t0) / 1e6);
	store_view_close(&x->view);
	store_ixfr_close(&x->ix);
	free(x);
}

/* ---- the tallies by zone and client ---- */

void
xfr_stats_init(struct xfr_stats *st)
{
	pthread_mutex_init(&st->tally_mtx, NULL);
	st->tally = xcalloc(XFR_TALLY_MAX, sizeof(*st->tally));
	st->ntally = 0;
}

void
xfr_stats_free(struct xfr_stats *st)
{
	free(st->tally);
	st->tally = NULL;
	pthread_mutex_destroy(&st->tally_mtx);
}

const char *
xfr_kind_name(enum xfr_kind k)
{
	static const char *const names[XFR_KINDS] = {
		[XFR_KIND_AXFR] = "axfr", [XFR_KIND_IXFR] = "ixfr",
		[XFR_KIND_IXFR_AXFR] = "ixfr-as-axfr", [XFR_KIND_IXFR_SOA] = "ixfr-soa-only",
		[XFR_KIND_REFUSED] = "refused",
	};

	return k < XFR_KINDS ? names[k] : "?";
}

/* Counts a request for the zone at apex from client (an address, as client_str writes it). */
static void
tally(struct xfr_stats *st, const uint8_t *apex, const char *client, enum xfr_kind kind)
{
	char zone[DNAME_STRLEN];
	size_t i;

	if (st->tally == NULL)
		return;
	dname_to_str(apex, zone, sizeof(zone));
	/* A metric label: the rare octet a zone name escapes ("\\", "\"") becomes '_'. */
	for (char *c = zone; *c != '\0'; c++)
		if (*c == '\\' || *c == '"' || !isprint((unsigned char)*c))
			*c = '_';
	pthread_mutex_lock(&st->tally_mtx);
	for (i = 0; i < st->ntally; i++)
		if (strcmp(st->tally[i].zone, zone) == 0 &&
		    strcmp(st->tally[i].client, client) == 0)
			break;
	if (i == st->ntally && i < XFR_TALLY_MAX) {
		snprintf(st->tally[i].zone, sizeof(st->tally[i].zone), "%s", zone);
		snprintf(st->tally[i].client, sizeof(st->tally[i].client), "%s", client);
		st->ntally++;
	}
	if (i < st->ntally)
		st->tally[i].count[kind]++;
	else
		st->other[kind]++;
	pthread_mutex_unlock(&st->tally_mtx);
}

void
xfr_stats_each(struct xfr_stats *st, void (*fn)(void *arg, const char *zone,
    const char *client, const uint64_t count[XFR_KINDS]), void *arg)
{
	uint64_t any = 0;

	pthread_mutex_lock(&st->tally_mtx);
	for (size_t i = 0; i < st->ntally; i++)
		fn(arg, st->tally[i].zone, st->tally[i].client, st->tally[i].count);
	for (int k = 0; k < XFR_KINDS; k++)
		any |= st->other[k];
	if (any != 0)
		fn(arg, "other", "other", st->other);
	pthread_mutex_unlock(&st->tally_mtx);
}

/* ---- answering ---- */

static void
client_str(const struct sockaddr *sa, char *out, size_t len)
{
	snprintf(out, len, "?");
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
		    out, (socklen_t)len);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
		    out, (socklen_t)len);
}

/* The serial in the SOA of an IXFR query's authority section (RFC 1995 3), or -1. */
static int64_t
ixfr_client_serial(const uint8_t *msg, size_t len)
{
	struct wire_msg m;
	struct wire_iter it;
	struct wire_rr rr;

	if (wire_msg_parse(msg, len, &m) != 0)
		return -1;
	wire_iter_init(&m, &it);
	while (wire_iter_next(&m, &it, &rr))
		if (rr.section == WIRE_NS && rr.type == DNS_TYPE_SOA && rr.rdlen >= 22) {
			const uint8_t *p = m.msg + rr.rdata + rr.rdlen - 20;

			return (int64_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
			    (uint32_t)p[2] << 8 | p[3]);
		}
	return -1;
}

/* RFC 1982: a is at or after b. */
static bool
serial_ge(uint32_t a, uint32_t b)
{
	return a == b || (int32_t)(a - b) > 0;
}

/* The current SOA alone: an IXFR from a serial that is current, or over UDP. */
static size_t
soa_only(uint8_t *out, size_t lim, const struct dns_query *q, const struct env_opts *eo,
    const struct rrset *soa, const uint8_t *apex)
{
	struct wire_writer w;
	struct rdata_ref rd;

	env_begin(&w, out, lim, q);
	if (rrset_first(soa, &rd) != NULL)
		wire_rr(&w, WIRE_AN, apex, DNS_TYPE_SOA, DNS_CLASS_IN, soa->ttl, rd.data,
		    rd.len);
	return env_finish(&w, q, eo, DNS_RCODE_NOERROR, DNS_FLAG_AA, -1, NULL);
}

size_t
xfr_answer(const struct xfr_conf *xc, const struct answer_opts *o,
    const struct fe_request *req, const struct tsig_ctx *tsig, uint8_t *out, size_t cap,
    uint8_t *rcode)
{
	struct env_opts eo = answer_env_opts(o);
	struct dns_query q;
	const struct znode *n;
	const struct rrset *soa;
	uint8_t apex[DNAME_MAXLEN];
	char client[INET6_ADDRSTRLEN];
	uint32_t serial;
	int64_t theirs = -1;
	size_t lim;
	bool is_zone, signed_zone;
	struct xfr *x;

	*rcode = DNS_RCODE_FORMERR;
	if (wire_parse_query(req->msg, req->len, &q) != WIRE_OK)
		return 0;
	q.cookie_len = 0;
	q.tsig_reserve = tsig_reserve(tsig);	/* the caller signs what is returned */
	lim = env_limit(&q, req->tcp, o->udp_payload, cap);
	if (!o->ready) {
		*rcode = DNS_RCODE_SERVFAIL;
		return env_error(out, lim, &q, &eo, DNS_RCODE_SERVFAIL, 0, EDE_NOT_READY, NULL);
	}
	memcpy(apex, q.qname, dname_len(q.qname));
	dname_lower(apex);
	rcu_read_lock();
	n = store_lookup(xc->store, apex, dname_len(apex));
	soa = n != NULL ? znode_find(n, DNS_TYPE_SOA) : NULL;
	is_zone = soa != NULL && zone_filter_has(o->serve != NULL ?
	    rcu_dereference(*(struct zone_filter **)o->serve) : NULL, apex);
	signed_zone = is_zone && znode_keys(n) != NULL;
	serial = is_zone ? rrset_soa_serial(soa) : 0;
	rcu_read_unlock();
	if (!is_zone) {
		*rcode = DNS_RCODE_NOTAUTH;
		return env_error(out, lim, &q, &eo, DNS_RCODE_NOTAUTH, 0, -1, NULL);
	}
	client_str(req->client, client, sizeof(client));
	if (!xfr_acl_allows(xc->acl, req->client,
	    tsig->result == TSIG_OK ? tsig->key_name : NULL)) {
		tally(xc->stats, apex, client, XFR_KIND_REFUSED);
		atomic_fetch_add(&xc->stats->refused, 1);
		*rcode = DNS_RCODE_REFUSED;
		return env_error(out, lim, &q, &eo, DNS_RCODE_REFUSED, 0, -1, NULL);
	}
	if (signed_zone) {
		/* Online signing makes no NSEC chain: a secondary would serve it unsigned. */
		tally(xc->stats, apex, client, XFR_KIND_REFUSED);
		atomic_fetch_add(&xc->stats->refused, 1);
		*rcode = DNS_RCODE_REFUSED;
		return env_error(out, lim, &q, &eo, DNS_RCODE_REFUSED, 0, EDE_OTHER,
		    "zone is signed online: not transferable");
	}
	if (q.qtype == DNS_TYPE_IXFR) {
		atomic_fetch_add(&xc->stats->ixfr, 1);
		if ((theirs = ixfr_client_serial(req->msg, req->len)) < 0) {
			*rcode = DNS_RCODE_FORMERR;
			return env_error(out, lim, &q, &eo, DNS_RCODE_FORMERR, 0, -1, NULL);
		}
		rcu_read_lock();
		n = store_lookup(xc->store, apex, dname_len(apex));
		soa = n != NULL ? znode_find(n, DNS_TYPE_SOA) : NULL;
		if (soa != NULL && (!req->tcp || serial_ge((uint32_t)theirs, serial))) {
			size_t len = soa_only(out, lim, &q, &eo, soa, apex);

			rcu_read_unlock();
			tally(xc->stats, apex, client, XFR_KIND_IXFR_SOA);
			*rcode = DNS_RCODE_NOERROR;
			return len;
		}
		rcu_read_unlock();
	} else if (!req->tcp) {
		/* RFC 5936 4.2: AXFR is a TCP conversation. */
		tally(xc->stats, apex, client, XFR_KIND_REFUSED);
		*rcode = DNS_RCODE_REFUSED;
		return env_error(out, lim, &q, &eo, DNS_RCODE_REFUSED, 0, -1, NULL);
	} else {
		atomic_fetch_add(&xc->stats->axfr, 1);
	}
	x = xcalloc(1, sizeof(*x));
	if (theirs >= 0 && store_ixfr_open(xc->store, apex, (uint32_t)theirs, &x->ix) == 0) {
		x->step = x->ix.first;
		x->soa = x->ix.last->soa_to;
		atomic_fetch_add(&xc->stats->incremental, 1);
		tally(xc->stats, apex, client, XFR_KIND_IXFR);
	} else if (store_view_open(xc->store, apex, &x->view) != 0) {
		free(x);
		*rcode = DNS_RCODE_SERVFAIL;
		return env_error(out, lim, &q, &eo, DNS_RCODE_SERVFAIL, 0, -1, NULL);
	} else {
		x->soa = x->view.soa;
		tally(xc->stats, apex, client, theirs >= 0 ? XFR_KIND_IXFR_AXFR : XFR_KIND_AXFR);
	}
	x->xc = xc;
	x->first = true;
	x->id = q.id;
	x->flags = env_flags(&q) | DNS_FLAG_AA;
	x->qtype = q.qtype;
	memcpy(x->qname, q.qname, dname_len(q.qname));
	memcpy(x->apex, apex, dname_len(apex));
	x->t0 = clock_mono_us();
	x->tsig = *tsig;
	memcpy(x->client, client, sizeof(x->client));
	*rcode = DNS_RCODE_NOERROR;
	fe_stream(req, xfr_fill, xfr_done, x);
	return 0;
}
