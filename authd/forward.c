/* forward.c: the client side of proto/: a pending table by request id, timeouts, reconnects. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "authd/forward.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/wire.h"
#include "common/envelope.h"
#include "proto/proto.h"

#define SLOTS		65536		/* queries in flight per worker, at most */
#define OUTBUF_MAX	(8u << 20)	/* a dnsr that stops reading: new queries fail */
#define BACKOFF_MIN_MS	100
#define BACKOFF_MAX_MS	5000
#define SWEEP_MS	20

enum fwd_state { FWD_DOWN, FWD_CONNECTING, FWD_HELLO, FWD_UP };

struct pending {
	uint32_t		 id;
	uint64_t		 deadline_ms;
	uint64_t		 sent_us;
	struct fwd_client	 to;
	uint8_t			*query;		/* the client's query */
	size_t			 qlen;
	uint8_t			*partial;	/* CNAME completion: our chain so far */
	size_t			 plen;
	uint8_t			*frame;		/* not yet written (connection not up yet) */
	size_t			 flen;
	struct pending		*next, *prev;	/* in order of deadlines */
};

struct forwarder {
	struct event_base	*base;
	char			 path[108];
	int			 timeout_ms;
	const char		*identity;
	const struct answer_opts *opts;
	struct fwd_callbacks	 cb;
	struct fwd_stats	*stats;
	enum fwd_state		 state;
	struct bufferevent	*bev;
	struct event		*retry_ev, *sweep_ev;
	int			 backoff_ms;
	uint32_t		 next_id;
	struct pending		*slot[SLOTS];
	struct pending		*head, *tail;
	struct log_rl		 rl;
	uint8_t			 out[DNS_MAX_MSG];	/* answers being finished */
	uint8_t			 rd[DNS_MAX_MSG];	/* RDATA while merging */
	uint8_t			 frame[PROTO_HDR + PROTO_QUERY_HDR + DNS_MAX_MSG];
};

static void
list_remove(struct forwarder *f, struct pending *p)
{
	if (p->prev != NULL)
		p->prev->next = p->next;
	else
		f->head = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
	else
		f->tail = p->prev;
	if (f->slot[p->id % SLOTS] == p)
		f->slot[p->id % SLOTS] = NULL;
}

static void
pending_free(struct pending *p)
{
	free(p->query);
	free(p->partial);
	free(p->frame);
	free(p);
}

/* Applies the client's UDP limit, hands the answer over and forgets the query. */
static void
finish(struct forwarder *f, struct pending *p, uint8_t *resp, size_t len)
{
	if (!p->to.peer.tcp && len > p->to.limit)
		len = wire_truncate(resp, len);
	f->cb.deliver(f->cb.ctx, &p->to, resp, len);
	f->cb.release(f->cb.ctx, &p->to);
	list_remove(f, p);
	pending_free(p);
}

static void
fail(struct forwarder *f, struct pending *p, uint16_t ede)
{
	size_t n = answer_servfail(f->opts, p->query, p->qlen, ede, f->out, sizeof(f->out));

	counter_add(&f->stats->failed, 1);
	if (n > 0) {
		finish(f, p, f->out, n);
		return;
	}
	f->cb.release(f->cb.ctx, &p->to);
	list_remove(f, p);
	pending_free(p);
}

static void
fail_all(struct forwarder *f, uint16_t ede)
{
	while (f->head != NULL)
		fail(f, f->head, ede);
}

/* The connection is gone: every query waiting on it fails now, not at its timeout. */
static void
disconnect(struct forwarder *f, const char *why)
{
	struct timeval tv;
	unsigned long supp;

	if (f->bev != NULL) {
		bufferevent_free(f->bev);
		f->bev = NULL;
	}
	if (log_rl_allow(&f->rl, 10, &supp))
		log_warnx("dnsr %s: %s; forwarded queries get SERVFAIL until it is back "
		    "(retry in %d ms; %lu similar lines not logged)", f->path, why,
		    f->backoff_ms, supp);
	f->state = FWD_DOWN;
	fail_all(f, EDE_NETWORK_ERROR);
	tv.tv_sec = f->backoff_ms / 1000;
	tv.tv_usec = (f->backoff_ms % 1000) * 1000;
	event_add(f->retry_ev, &tv);
	f->backoff_ms = f->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : f->backoff_ms * 2;
}

/*
 * The first Extended DNS Error (RFC 8914) in m's OPT: its info-code, the text in text
 * (cap octets, NUL-terminated, cut); -1 when there is none.
 */
static int
ede_of(const struct wire_msg *m, char *text, size_t cap)
{
	struct wire_iter it;
	struct wire_rr rr;

	text[0] = '\0';
	wire_iter_init(m, &it);
	while (wire_iter_next(m, &it, &rr) == 1) {
		const uint8_t *o = m->msg + rr.rdata, *end = o + rr.rdlen;

		if (rr.section != WIRE_AR || rr.type != DNS_TYPE_OPT)
			continue;
		while (end - o >= 4) {
			uint16_t code = (uint16_t)(o[0] << 8 | o[1]);
			uint16_t len = (uint16_t)(o[2] << 8 | o[3]);

			if (len > end - o - 4)
				break;
			if (code == EDNS_OPT_EDE && len >= 2) {
				size_t n = (size_t)len - 2 < cap - 1 ? (size_t)len - 2 : cap - 1;

				memcpy(text, o + 6, n);
				text[n] = '\0';
				return o[4] << 8 | o[5];
			}
			o += 4 + len;
		}
	}
	return -1;
}

/*
 * Our CNAME chain completed with dnsr's answer to its target (RFC 1034 4.3.2): our answer
 * records, then dnsr's answer and authority records (the target's SOA, and for DO its
 * NSEC/NSEC3 proofs with their RRSIGs), dnsr's rcode, TC and EDE. A failure (SERVFAIL:
 * a bogus target, no reachable authority) keeps none of the chain, as a resolver answers
 * a chain it could not finish. AD is never set: our part is authoritative data authd does
 * not validate (RFC 4035 3.1.6; docs/ARCHITECTURE.md).
 */
static size_t
merge(struct forwarder *f, const struct pending *p, const uint8_t *ans, size_t alen)
{
	const struct env_opts eo = { f->opts->udp_payload, NULL, 0 };
	struct wire_msg ours, theirs;
	struct wire_writer w;
	struct wire_iter it;
	struct wire_rr rr;
	struct dns_query q;
	char text[ENV_EDE_TEXT_MAX + 1];
	uint16_t rcode;
	int n, ede;

	if (wire_msg_parse(p->partial, p->plen, &ours) != 0 ||
	    wire_msg_parse(ans, alen, &theirs) != 0 ||
	    wire_parse_query(p->query, p->qlen, &q) != WIRE_OK)
		return 0;
	q.cookie_len = 0;	/* the client's cookie went out with our partial answer */
	rcode = wire_msg_rcode(&theirs);
	ede = ede_of(&theirs, text, sizeof(text));
	env_begin(&w, f->out, sizeof(f->out), &q);
	for (int k = 0; k < 2 && rcode != DNS_RCODE_SERVFAIL; k++) {
		const struct wire_msg *m = k == 0 ? &ours : &theirs;

		wire_iter_init(m, &it);
		while (wire_iter_next(m, &it, &rr) == 1) {
			if ((rr.section != WIRE_AN && (k == 0 || rr.section != WIRE_NS)) ||
			    (n = wire_rdata_unpack(m, &rr, f->rd, sizeof(f->rd))) < 0)
				continue;
			wire_rr(&w, rr.section, rr.owner, rr.type, rr.rclass, rr.ttl, f->rd,
			    (uint16_t)n);
		}
	}
	return env_finish(&w, &q, &eo, rcode, (ours.flags & DNS_FLAG_AA) | DNS_FLAG_RA |
	    (theirs.flags & DNS_FLAG_TC), ede, ede >= 0 ? text : NULL);
}

static void
on_answer(struct forwarder *f, const struct proto_msg *m)
{
	struct pending *p = f->slot[m->id % SLOTS];
	size_t n;

	if (p == NULL || p->id != m->id)
		return;		/* timed out already: a late answer is dropped */
	counter_add(&f->stats->answered, 1);
	histogram_observe(&f->stats->latency, clock_mono_us() - p->sent_us);
	if (p->partial == NULL) {
		memcpy(f->out, m->dns, m->dnslen);
		finish(f, p, f->out, m->dnslen);
		return;
	}
	if ((n = merge(f, p, m->dns, m->dnslen)) == 0) {
		fail(f, p, EDE_NETWORK_ERROR);
		return;
	}
	finish(f, p, f->out, n);
}

/* Writes the frames of the queries that waited for the connection. */
static void
flush_waiting(struct forwarder *f)
{
	for (struct pending *p = f->head; p != NULL; p = p->next) {
		if (p->frame == NULL)
			continue;
		bufferevent_write(f->bev, p->frame, p->flen);
		free(p->frame);
		p->frame = NULL;
		p->sent_us = clock_mono_us();
	}
}

static void
on_frame(struct forwarder *f, const struct proto_msg *m)
{
	switch (m->type) {
	case PROTO_HELLO_OK:
		if (f->state != FWD_HELLO || m->version == 0 || m->version > PROTO_VERSION) {
			disconnect(f, "unexpected HELLO_OK");
			return;
		}
		f->state = FWD_UP;
		f->backoff_ms = BACKOFF_MIN_MS;
		log_info("dnsr %s: connected (protocol version %u)", f->path, m->version);
		flush_waiting(f);
		return;
	case PROTO_ANSWER:
		if (f->state == FWD_UP) {
			on_answer(f, m);
			return;
		}
		break;
	case PROTO_ERROR:
		log_warnx("dnsr %s sent ERROR %u: %s", f->path, m->code, m->reason);
		disconnect(f, "closed after an error");
		return;
	default:
		break;
	}
	disconnect(f, "unexpected frame");
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct forwarder *f = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct proto_msg m;
	char err[128];

	while (f->bev != NULL && evbuffer_get_length(in) >= 4) {
		size_t avail = evbuffer_get_length(in);
		uint8_t *buf = evbuffer_pullup(in, -1);
		long n = proto_decode(buf, avail, &m, err, sizeof(err));

		if (n == 0)
			return;
		if (n < 0) {
			disconnect(f, err);
			return;
		}
		on_frame(f, &m);
		if (f->bev != NULL)
			evbuffer_drain(in, (size_t)n);
	}
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct forwarder *f = arg;
	uint8_t hello[300];
	long n;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		f->state = FWD_HELLO;
		n = proto_encode_hello(hello, sizeof(hello), PROTO_VERSION, f->identity);
		bufferevent_write(f->bev, hello, (size_t)n);
		counter_add(&f->stats->connects, 1);
		return;
	}
	disconnect(f, (what & BEV_EVENT_EOF) ? "connection closed" :
	    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

static void
connect_dnsr(struct forwarder *f)
{
	struct sockaddr_un sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, f->path, strlen(f->path));
	f->bev = bufferevent_socket_new(f->base, -1, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(f->bev, on_read, NULL, on_event, f);
	bufferevent_enable(f->bev, EV_READ | EV_WRITE);
	f->state = FWD_CONNECTING;
	if (bufferevent_socket_connect(f->bev, (struct sockaddr *)&sun, sizeof(sun)) != 0)
		disconnect(f, strerror(errno));
}

static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	connect_dnsr(arg);
}

/* Queries past their deadline get SERVFAIL (EDE 22); the list is in deadline order. */
static void
on_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct forwarder *f = arg;
	uint64_t now = clock_mono_us() / 1000;

	(void)fd, (void)what;
	while (f->head != NULL && f->head->deadline_ms <= now)
		fail(f, f->head, EDE_NO_REACHABLE_AUTHORITY);
}

struct forwarder *
forwarder_new(struct event_base *base, const char *path, int timeout_ms,
    const char *identity, const struct answer_opts *opts, const struct fwd_callbacks *cb,
    struct fwd_stats *stats)
{
	struct forwarder *f = xcalloc(1, sizeof(*f));
	struct timeval tv = { 0, SWEEP_MS * 1000 };

	f->base = base;
	snprintf(f->path, sizeof(f->path), "%s", path);
	f->timeout_ms = timeout_ms;
	f->identity = identity != NULL ? identity : "streamdns-authd";
	f->opts = opts;
	f->cb = *cb;
	f->stats = stats;
	f->backoff_ms = BACKOFF_MIN_MS;
	f->retry_ev = evtimer_new(base, on_retry, f);
	f->sweep_ev = event_new(base, -1, EV_PERSIST, on_sweep, f);
	event_add(f->sweep_ev, &tv);
	connect_dnsr(f);
	return f;
}

void
forwarder_free(struct forwarder *f)
{
	if (f == NULL)
		return;
	while (f->head != NULL) {
		struct pending *p = f->head;

		f->cb.release(f->cb.ctx, &p->to);
		list_remove(f, p);
		pending_free(p);
	}
	if (f->bev != NULL)
		bufferevent_free(f->bev);
	event_free(f->retry_ev);
	event_free(f->sweep_ev);
	free(f);
}

static uint8_t *
dup_bytes(const uint8_t *p, size_t n)
{
	uint8_t *d = xmalloc(n);

	memcpy(d, p, n);
	return d;
}

/* For a CNAME completion: the client's query with its question changed to target. */
static size_t
target_query(const uint8_t *query, size_t qlen, const uint8_t *target, uint8_t *out,
    size_t cap)
{
	struct dns_query q;
	struct wire_writer w;

	if (wire_parse_query(query, qlen, &q) != WIRE_OK)
		return 0;
	wire_init(&w, out, cap);
	wire_header(&w, q.id, q.flags);
	wire_question(&w, target, q.qtype, q.qclass);
	if (q.edns)
		wire_opt(&w, 4096, 0, 0, q.edns_flags & EDNS_FLAG_DO, NULL, 0);
	return wire_finish(&w);
}

/* Puts p at the tail of the deadline list and in its slot. */
static void
track(struct forwarder *f, struct pending *p)
{
	struct pending *old = f->slot[p->id % SLOTS];

	if (old != NULL)
		fail(f, old, EDE_NO_REACHABLE_AUTHORITY);	/* 65,536 in flight already */
	p->prev = f->tail;
	if (f->tail != NULL)
		f->tail->next = p;
	f->tail = p;
	if (f->head == NULL)
		f->head = p;
	f->slot[p->id % SLOTS] = p;
}

void
forwarder_query(struct forwarder *f, const uint8_t *query, size_t qlen,
    const struct fwd_client *to, const uint8_t *partial, size_t plen, const uint8_t *target)
{
	struct pending *p = xcalloc(1, sizeof(*p));
	uint8_t tq[DNAME_MAXLEN + 64];
	const uint8_t *send = query;
	size_t slen = qlen;
	long n;

	counter_add(&f->stats->forwarded, 1);
	p->to = *to;
	p->query = dup_bytes(query, qlen);
	p->qlen = qlen;
	p->id = f->next_id++;
	p->sent_us = clock_mono_us();
	p->deadline_ms = p->sent_us / 1000 + (uint64_t)f->timeout_ms;
	track(f, p);
	if (partial != NULL) {
		p->partial = dup_bytes(partial, plen);
		p->plen = plen;
		slen = target_query(query, qlen, target, tq, sizeof(tq));
		send = tq;
	}
	n = slen > 0 ? proto_encode_query(f->frame, sizeof(f->frame), p->id, to->peer.tcp ?
	    PROTO_TCP : PROTO_UDP, (const struct sockaddr *)&to->peer.addr, to->peer.tcp ? 65535 :
	    to->limit, send, slen) : -1;
	if (n < 0 || f->state == FWD_DOWN ||
	    (f->bev != NULL && evbuffer_get_length(bufferevent_get_output(f->bev)) > OUTBUF_MAX)) {
		fail(f, p, EDE_NETWORK_ERROR);	/* dnsr down: SERVFAIL now, not at the timeout */
		return;
	}
	if (f->state == FWD_UP) {
		bufferevent_write(f->bev, f->frame, (size_t)n);
	} else {
		p->frame = dup_bytes(f->frame, (size_t)n);	/* sent once hello is answered */
		p->flen = (size_t)n;
	}
}
