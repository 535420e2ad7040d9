/* upstream.c: a pool of single-query c-ares channels driven by a libevent loop; anti-spoofing. */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <ares.h>
#include <sodium.h>

#include "dnsr/upstream.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/net.h"
#include "common/wire.h"

#define CHAN_MAX_SOCKS	4	/* a channel talks to one server: UDP, and TCP after TC=1 */
#define IDLE_MAX	256	/* idle channels kept for reuse; more are destroyed */

struct chan;

static void on_done(evutil_socket_t fd, short what, void *arg);

struct sockev {
	int		 fd;		/* -1 when the slot is free */
	short		 what;
	struct event	*ev;
	struct chan	*ch;
};

struct chan {
	struct upstream		*u;
	ares_channel		 ares;
	struct sockaddr_storage	 target;
	bool			 targeted;
	struct sockev		 socks[CHAN_MAX_SOCKS];
	struct event		*timer;		/* ares_timeout() */
	struct event		*done_ev;	/* delivers the result from the event loop */
	struct chan		*next, *prev;	/* all channels of the pool */
	struct chan		*next_idle;
	/* the query in flight */
	bool			 busy;
	bool			 done;
	bool			 cancelled;
	bool			 discard;	/* c-ares may have turned EDNS off: do not reuse */
	bool			 exact;		/* 0x20: the answer's case must match */
	upstream_cb		 cb;
	void			*arg;
	uint64_t		 sent_us;
	uint8_t			 q[UPSTREAM_QUERY_MAX];	/* as sent: what answers must match */
	size_t			 qlen;
	uint8_t			 qname[DNAME_MAXLEN];	/* as the caller wrote it */
	int			 status;	/* ARES_* */
	uint8_t			*ans;
	size_t			 anslen, anscap;
};

struct upstream {
	struct event_base	*base;
	int			 timeout_ms;
	size_t			 max_channels;
	size_t			 nchannels;
	size_t			 nidle;
	struct chan		*all;
	struct chan		*idle;
	struct infra		*infra;
	struct upstream_stats	 stats;
	struct upstream_drops	 drops;
};

/* After anything c-ares did: wake up again when its next timeout is due. */
static void
chan_timer(struct chan *ch)
{
	struct timeval tv, *tvp = ares_timeout(ch->ares, NULL, &tv);

	if (tvp != NULL)
		evtimer_add(ch->timer, tvp);
	else
		evtimer_del(ch->timer);
}

static void
on_sock(evutil_socket_t fd, short what, void *arg)
{
	struct chan *ch = ((struct sockev *)arg)->ch;

	/* The sockev may be freed inside: c-ares closes sockets when the query ends. */
	ares_process_fd(ch->ares, (what & EV_READ) ? fd : ARES_SOCKET_BAD,
	    (what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
	chan_timer(ch);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct chan *ch = arg;

	ares_process_fd(ch->ares, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	chan_timer(ch);
}

static struct sockev *
sock_find(struct chan *ch, int fd)
{
	for (int i = 0; i < CHAN_MAX_SOCKS; i++)
		if (ch->socks[i].fd == fd)
			return &ch->socks[i];
	return NULL;
}

static void
sock_clear(struct sockev *se)
{
	if (se->ev != NULL)
		event_free(se->ev);
	se->ev = NULL;
	se->fd = -1;
	se->what = 0;
}

/* c-ares's socket-state callback: (re)arm or drop the event watching fd. */
static void
sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct chan *ch = data;
	struct sockev *se = sock_find(ch, fd);
	short what = (short)((readable ? EV_READ : 0) | (writable ? EV_WRITE : 0));

	if (what == 0) {
		if (se != NULL)
			sock_clear(se);
		return;
	}
	if (se == NULL && (se = sock_find(ch, -1)) == NULL) {
		log_warnx("upstream: more than %d sockets on one channel", CHAN_MAX_SOCKS);
		return;
	}
	if (se->fd == fd && se->what == what)
		return;
	sock_clear(se);
	se->fd = fd;
	se->what = what;
	se->ch = ch;
	se->ev = event_new(ch->u->base, fd, (short)(what | EV_PERSIST), on_sock, se);
	if (se->ev == NULL || event_add(se->ev, NULL) != 0)
		fatalx("upstream: cannot watch a socket");
}

/* ---- is it the answer to our query? ---- */

void
upstream_0x20(uint8_t *name)
{
	uint8_t bits[32];	/* one bit per octet of a name of at most 255 */
	size_t n = dname_len(name);

	randombytes_buf(bits, sizeof(bits));
	for (size_t i = 0; i < n; i++) {
		uint8_t c = name[i] | 0x20;

		/* Length octets are at most 63: never a letter, whatever their bit 5. */
		if (c >= 'a' && c <= 'z')
			name[i] = (bits[i / 8] >> (i % 8)) & 1 ? (uint8_t)(c & ~0x20) : c;
	}
}

/* The option code of a well-formed message: 1 (*c, *clen set), 0 none, -1 malformed. */
static int
find_option(const uint8_t *msg, size_t len, uint16_t want, const uint8_t **c, size_t *clen)
{
	struct wire_msg m;
	struct wire_iter wi;
	struct wire_rr rr;

	if (wire_msg_parse(msg, len, &m) != 0)
		return -1;
	wire_iter_init(&m, &wi);
	while (wire_iter_next(&m, &wi, &rr) == 1) {
		size_t p = rr.rdata, end = rr.rdata + rr.rdlen;

		if (rr.type != DNS_TYPE_OPT)
			continue;
		while (p + 4 <= end) {
			uint16_t code = wire_read16(msg + p), olen = wire_read16(msg + p + 2);

			p += 4;
			if (p + olen > end)
				return -1;
			if (code == want) {
				*c = msg + p;
				*clen = olen;
				return 1;
			}
			p += olen;
		}
	}
	return 0;
}

static int
find_cookie(const uint8_t *msg, size_t len, const uint8_t **c, size_t *clen)
{
	return find_option(msg, len, EDNS_OPT_COOKIE, c, clen);
}

/* ---- the loop mark: this process's own queries to forwarders, recognised ---- */

static uint8_t loop_mark[UPSTREAM_MARK_LEN];
static pthread_once_t loop_mark_once = PTHREAD_ONCE_INIT;

static void
loop_mark_init(void)
{
	randombytes_buf(loop_mark, sizeof(loop_mark));
}

bool
upstream_loop_marked(const uint8_t *msg, size_t len)
{
	const uint8_t *c;
	size_t clen;

	pthread_once(&loop_mark_once, loop_mark_init);
	return find_option(msg, len, EDNS_OPT_LOOP_MARK, &c, &clen) == 1 &&
	    clen == sizeof(loop_mark) && sodium_memcmp(c, loop_mark, clen) == 0;
}

/* Octets from the start of the message to the end of the question (name, type, class). */
static size_t
question_end(const uint8_t *msg, size_t len)
{
	size_t p = DNS_HEADER_LEN;

	while (p < len && msg[p] != 0) {
		if (msg[p] > 63)
			return 0;	/* a pointer or a reserved label type: not as we send it */
		p += (size_t)msg[p] + 1;
	}
	return p + 5 <= len ? p + 5 : 0;
}

enum upstream_match
upstream_match(const uint8_t *q, size_t qlen, const uint8_t *a, size_t alen, bool exact)
{
	size_t qe = question_end(q, qlen), nlen = qe - DNS_HEADER_LEN - 4;
	const uint8_t *qc, *ac;
	size_t qclen, aclen;

	if (qe == 0 || alen < qe || memcmp(a, q, 2) != 0 || !(a[2] & 0x80) ||
	    wire_read16(a + 4) != 1 || memcmp(a + qe - 4, q + qe - 4, 4) != 0)
		return UPSTREAM_MISMATCH;
	if (memcmp(a + DNS_HEADER_LEN, q + DNS_HEADER_LEN, nlen) != 0) {
		/* Label lengths are below 'A', so ignoring case octet by octet is safe. */
		for (size_t i = DNS_HEADER_LEN; i < DNS_HEADER_LEN + nlen; i++)
			if ((a[i] | 0x20) != (q[i] | 0x20) || (a[i] != q[i] &&
			    ((a[i] | 0x20) < 'a' || (a[i] | 0x20) > 'z')))
				return UPSTREAM_MISMATCH;
		if (exact)
			return UPSTREAM_MISMATCH_CASE;
	}
	/* A truncated or malformed answer keeps its cookie unread: the resolver judges it. */
	if (find_cookie(q, qlen, &qc, &qclen) == 1 && find_cookie(a, alen, &ac, &aclen) == 1 &&
	    (aclen < 8 || qclen < 8 || memcmp(ac, qc, 8) != 0))
		return UPSTREAM_MISMATCH_COOKIE;
	return UPSTREAM_MATCH;
}

/*
 * The header and question of our query with TC=1, in place of an answer whose case did
 * not match: c-ares then asks again over TCP, on the same channel, for the same query.
 */
static ares_ssize_t
tcp_please(const struct chan *ch, uint8_t *buf, size_t cap)
{
	size_t qe = question_end(ch->q, ch->qlen);

	if (qe > cap)
		return -1;
	memcpy(buf, ch->q, qe);
	wire_write16(buf + 2, (uint16_t)(DNS_FLAG_QR | DNS_FLAG_TC |
	    (wire_read16(ch->q + 2) & DNS_FLAG_RD)));
	memset(buf + 6, 0, 6);	/* no answer, authority or additional records */
	return (ares_ssize_t)qe;
}

/* ---- c-ares's sockets, so that every datagram is seen before c-ares takes it ---- */

static ares_socket_t
sock_open(int domain, int type, int protocol, void *arg)
{
	return socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
}

static int
sock_close(ares_socket_t fd, void *arg)
{
	return close(fd);
}

static int
sock_connect(ares_socket_t fd, const struct sockaddr *sa, ares_socklen_t salen, void *arg)
{
	return connect(fd, sa, salen);
}

static ares_ssize_t
sock_sendv(ares_socket_t fd, const struct iovec *iov, int iovcnt, void *arg)
{
	struct msghdr mh;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = (struct iovec *)iov;
	mh.msg_iovlen = (size_t)iovcnt;
	return sendmsg(fd, &mh, MSG_NOSIGNAL);
}

static void
debug_drop(const struct chan *ch, const char *why, unsigned long n)
{
	char addr[NET_ADDRSTRLEN];

	log_debug("upstream: answer from %s dropped: %s (%lu so far)",
	    net_addr_str((const struct sockaddr *)&ch->target, addr, sizeof(addr)), why, n);
}

/*
 * Every UDP datagram of the query passes here (from != NULL: c-ares reads TCP without
 * one). One that is not the answer to our query is dropped as if nothing had come (c-ares
 * goes on waiting); on a mismatch of case alone, c-ares gets a TC=1 instead.
 */
static ares_ssize_t
sock_recvfrom(ares_socket_t fd, void *buf, size_t len, int flags, struct sockaddr *from,
    ares_socklen_t *fromlen, void *arg)
{
	struct chan *ch = arg;
	struct upstream_drops *d = &ch->u->drops;
	ares_ssize_t n = from != NULL ? recvfrom(fd, buf, len, flags, from, fromlen) :
	    recv(fd, buf, len, flags);
	unsigned long k;

	if (n <= 0 || from == NULL || !ch->busy || ch->done)
		return n;
	switch (upstream_match(ch->q, ch->qlen, buf, (size_t)n, ch->exact)) {
	case UPSTREAM_MATCH:
		return n;
	case UPSTREAM_MISMATCH_CASE:
		k = atomic_fetch_add_explicit(&d->case_0x20, 1, memory_order_relaxed) + 1;
		debug_drop(ch, "0x20 case differs, asking again over TCP", k);
		return tcp_please(ch, buf, len);
	case UPSTREAM_MISMATCH_COOKIE:
		k = atomic_fetch_add_explicit(&d->cookie, 1, memory_order_relaxed) + 1;
		debug_drop(ch, "client cookie not ours", k);
		break;
	case UPSTREAM_MISMATCH:
		k = atomic_fetch_add_explicit(&d->mismatched, 1, memory_order_relaxed) + 1;
		debug_drop(ch, "id or question not ours", k);
		break;
	}
	errno = EAGAIN;		/* c-ares: nothing (more) to read now */
	return -1;
}

static const struct ares_socket_functions sock_funcs = {
	sock_open, sock_close, sock_connect, sock_recvfrom, sock_sendv,
};

/* c-ares's query callback: record the result; it is delivered from the loop (on_done). */
static void
on_ares(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct chan *ch = arg;

	if (status == ARES_EDESTRUCTION)
		return;		/* upstream_free() */
	ch->status = status;
	ch->anslen = 0;
	if (status == ARES_SUCCESS && abuf != NULL && alen > 0) {
		if ((size_t)alen > ch->anscap) {
			free(ch->ans);
			ch->ans = xmalloc((size_t)alen);
			ch->anscap = (size_t)alen;
		}
		memcpy(ch->ans, abuf, (size_t)alen);
		ch->anslen = (size_t)alen;
	}
	ch->done = true;
	event_active(ch->done_ev, EV_TIMEOUT, 0);
}

static void
chan_destroy(struct chan *ch)
{
	struct upstream *u = ch->u;

	if (ch->prev != NULL)
		ch->prev->next = ch->next;
	else
		u->all = ch->next;
	if (ch->next != NULL)
		ch->next->prev = ch->prev;
	u->nchannels--;
	ares_destroy(ch->ares);		/* calls sock_state(fd, 0, 0) for open sockets */
	for (int i = 0; i < CHAN_MAX_SOCKS; i++)
		sock_clear(&ch->socks[i]);
	event_free(ch->timer);
	event_free(ch->done_ev);
	free(ch->ans);
	free(ch);
}

/*
 * Every option is given, so that c-ares reads neither /etc/resolv.conf nor the hosts'
 * search list for each new channel (it skips them when all are set); the server comes
 * later, from ares_set_servers_ports(), because ARES_OPT_SERVERS is IPv4-only.
 */
static struct chan *
chan_new(struct upstream *u)
{
	struct chan *ch = xcalloc(1, sizeof(*ch));
	struct ares_options o;
	int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_NDOTS |
	    ARES_OPT_EDNSPSZ | ARES_OPT_SOCK_STATE_CB | ARES_OPT_SERVERS | ARES_OPT_DOMAINS |
	    ARES_OPT_LOOKUPS | ARES_OPT_SORTLIST | ARES_OPT_NOROTATE;

	memset(&o, 0, sizeof(o));
	/* NOCHECKRESP: SERVFAIL/REFUSED must reach us (lame servers); EDNS: else any
	 * answer over 512 octets counts as truncated. */
	o.flags = ARES_FLAG_NOCHECKRESP | ARES_FLAG_EDNS | ARES_FLAG_NOSEARCH |
	    ARES_FLAG_NOALIASES;
	o.timeout = u->timeout_ms;
	o.tries = 1;
	o.ndots = 1;
	o.ednspsz = UPSTREAM_EDNS_PAYLOAD;
	o.sock_state_cb = sock_state;
	o.sock_state_cb_data = ch;
	o.lookups = (char *)"b";
	ch->u = u;
	for (int i = 0; i < CHAN_MAX_SOCKS; i++)
		ch->socks[i].fd = -1;
	if (ares_init_options(&ch->ares, &o, mask) != ARES_SUCCESS) {
		free(ch);
		return NULL;
	}
	ares_set_socket_functions(ch->ares, &sock_funcs, ch);
	ch->timer = evtimer_new(u->base, on_timer, ch);
	ch->done_ev = event_new(u->base, -1, 0, on_done, ch);
	if (ch->timer == NULL || ch->done_ev == NULL)
		fatalx("upstream: event_new");
	ch->next = u->all;
	if (u->all != NULL)
		u->all->prev = ch;
	u->all = ch;
	u->nchannels++;
	return ch;
}

/* Points an idle channel at sa (port included). */
static int
chan_target(struct chan *ch, const struct sockaddr *sa)
{
	struct ares_addr_port_node n;
	int port;

	if (ch->targeted && net_addr_equal((struct sockaddr *)&ch->target, sa))
		return 0;
	memset(&n, 0, sizeof(n));
	n.family = sa->sa_family;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		memcpy(&n.addr.addr4, &sin->sin_addr, sizeof(sin->sin_addr));
		port = ntohs(sin->sin_port);
	} else {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

		memcpy(&n.addr.addr6, &sin6->sin6_addr, sizeof(sin6->sin6_addr));
		port = ntohs(sin6->sin6_port);
	}
	n.udp_port = n.tcp_port = port;
	ch->targeted = false;
	if (ares_set_servers_ports(ch->ares, &n) != ARES_SUCCESS)
		return -1;
	memcpy(&ch->target, sa, net_addr_len(sa));
	ch->targeted = true;
	return 0;
}

/* An idle channel already pointed at sa, else any idle one, else a new one. */
static struct chan *
chan_get(struct upstream *u, const struct sockaddr *sa)
{
	struct chan **pp, *ch = NULL;

	for (pp = &u->idle; *pp != NULL; pp = &(*pp)->next_idle)
		if ((*pp)->targeted && net_addr_equal((struct sockaddr *)&(*pp)->target, sa))
			break;
	if (*pp == NULL)
		pp = &u->idle;
	if (*pp != NULL) {
		ch = *pp;
		*pp = ch->next_idle;
		u->nidle--;
	} else if (u->nchannels < u->max_channels) {
		ch = chan_new(u);
	}
	if (ch != NULL && chan_target(ch, sa) != 0) {
		chan_destroy(ch);
		ch = NULL;
	}
	return ch;
}

static void
chan_release(struct chan *ch)
{
	struct upstream *u = ch->u;

	ch->busy = false;
	ch->cb = NULL;
	ch->arg = NULL;
	evtimer_del(ch->timer);
	if (ch->discard || u->nidle >= IDLE_MAX) {
		chan_destroy(ch);
		return;
	}
	ch->next_idle = u->idle;
	u->idle = ch;
	u->nidle++;
}

/* Does the answer carry an OPT? Without one, c-ares may have dropped EDNS for good. */
static bool
answer_has_opt(const uint8_t *msg, size_t len)
{
	struct wire_msg m;

	return wire_msg_parse(msg, len, &m) == 0 && m.edns && (m.flags & 0x000f) !=
	    DNS_RCODE_FORMERR;
}

/*
 * An answer c-ares took: over UDP it passed sock_recvfrom(); over TCP (spoofed only from
 * the path) c-ares checked id and question, the cookie is checked here. The server cookie
 * is remembered for the next query to that server.
 */
static enum upstream_status
accept_answer(struct chan *ch)
{
	struct upstream *u = ch->u;
	const uint8_t *c;
	size_t clen;

	switch (upstream_match(ch->q, ch->qlen, ch->ans, ch->anslen, false)) {
	case UPSTREAM_MATCH:
	case UPSTREAM_MISMATCH_CASE:
		break;
	case UPSTREAM_MISMATCH_COOKIE:
		atomic_fetch_add_explicit(&u->drops.cookie, 1, memory_order_relaxed);
		return UPSTREAM_ERROR;
	case UPSTREAM_MISMATCH:
		atomic_fetch_add_explicit(&u->drops.mismatched, 1, memory_order_relaxed);
		return UPSTREAM_ERROR;
	}
	/*
	 * The caller's case back in the question: names compressed against it (owners,
	 * RDATA) would otherwise carry 0x20's random case into the cache and to clients.
	 */
	memcpy(ch->ans + DNS_HEADER_LEN, ch->qname, dname_len(ch->qname));
	if (u->infra != NULL && find_cookie(ch->ans, ch->anslen, &c, &clen) == 1 &&
	    clen >= 8 + 8 && clen <= 8 + INFRA_COOKIE_MAX)
		infra_cookie_learn(u->infra, (struct sockaddr *)&ch->target, c + 8, clen - 8);
	u->stats.answers++;
	ch->discard = !answer_has_opt(ch->ans, ch->anslen);
	return UPSTREAM_OK;
}

static void
on_done(evutil_socket_t fd, short what, void *arg)
{
	struct chan *ch = arg;
	struct upstream *u = ch->u;
	enum upstream_status st;

	if (ch->status == ARES_SUCCESS && ch->anslen > 0) {
		st = accept_answer(ch);
	} else if (ch->status == ARES_ETIMEOUT) {
		st = UPSTREAM_TIMEOUT;
		u->stats.timeouts++;
	} else {
		st = UPSTREAM_ERROR;
		if (ch->status != ARES_ECANCELLED)
			u->stats.errors++;
	}
	if (!ch->cancelled)
		ch->cb(ch->arg, st, ch->ans, ch->anslen, clock_mono_us() - ch->sent_us);
	chan_release(ch);
}

struct upstream *
upstream_new(struct event_base *base, int timeout_ms, size_t max_channels,
    struct infra *infra)
{
	struct upstream *u = xcalloc(1, sizeof(*u));

	u->base = base;
	u->infra = infra;
	u->timeout_ms = timeout_ms;
	u->max_channels = max_channels;
	return u;
}

void
upstream_free(struct upstream *u)
{
	if (u == NULL)
		return;
	while (u->all != NULL)
		chan_destroy(u->all);
	free(u);
}

/*
 * Our query into ch->q: the name in random case (0x20), and the COOKIE and loop mark
 * options appended to the OPT that ends it (whose RDLENGTH is its last two octets). -1
 * when it does not fit.
 */
static int
prepare(struct upstream *u, struct chan *ch, const struct sockaddr *sa, const uint8_t *q,
    size_t qlen, unsigned flags)
{
	uint8_t server[INFRA_COOKIE_MAX];
	size_t slen;

	if (qlen < DNS_HEADER_LEN + 1 + 4 + 11 || qlen + 4 + 8 + INFRA_COOKIE_MAX + 4 +
	    UPSTREAM_MARK_LEN > sizeof(ch->q) || question_end(q, qlen) == 0 ||
	    wire_read16(q + qlen - 2) != 0)
		return -1;
	memcpy(ch->q, q, qlen);
	ch->qlen = qlen;
	memcpy(ch->qname, q + DNS_HEADER_LEN, dname_len(q + DNS_HEADER_LEN));
	ch->exact = (flags & UPSTREAM_0X20) != 0;
	if (ch->exact)
		upstream_0x20(ch->q + DNS_HEADER_LEN);
	if ((flags & UPSTREAM_COOKIE) && u->infra != NULL) {
		slen = infra_cookie(u->infra, sa, ch->q + qlen + 4, server);
		wire_write16(ch->q + qlen, EDNS_OPT_COOKIE);
		wire_write16(ch->q + qlen + 2, (uint16_t)(8 + slen));
		memcpy(ch->q + qlen + 4 + 8, server, slen);
		ch->qlen += 4 + 8 + slen;
	}
	if (flags & UPSTREAM_LOOP_MARK) {
		pthread_once(&loop_mark_once, loop_mark_init);
		wire_write16(ch->q + ch->qlen, EDNS_OPT_LOOP_MARK);
		wire_write16(ch->q + ch->qlen + 2, UPSTREAM_MARK_LEN);
		memcpy(ch->q + ch->qlen + 4, loop_mark, UPSTREAM_MARK_LEN);
		ch->qlen += 4 + UPSTREAM_MARK_LEN;
	}
	wire_write16(ch->q + qlen - 2, (uint16_t)(ch->qlen - qlen));	/* the OPT's RDLENGTH */
	return 0;
}

struct upstream_query *
upstream_send(struct upstream *u, const struct sockaddr *sa, const uint8_t *q, size_t qlen,
    unsigned flags, upstream_cb cb, void *arg)
{
	struct chan *ch = chan_get(u, sa);

	if (ch == NULL)
		return NULL;
	if (prepare(u, ch, sa, q, qlen, flags) != 0) {
		chan_release(ch);
		return NULL;
	}
	ch->busy = true;
	ch->done = false;
	ch->cancelled = false;
	ch->discard = false;
	ch->cb = cb;
	ch->arg = arg;
	ch->status = ARES_ENOTFOUND;
	ch->anslen = 0;
	ch->sent_us = clock_mono_us();
	u->stats.sent++;
	ares_send(ch->ares, ch->q, (int)ch->qlen, on_ares, ch);
	if (!ch->done)
		chan_timer(ch);
	return (struct upstream_query *)ch;
}

void
upstream_cancel(struct upstream_query *uq)
{
	struct chan *ch = (struct chan *)uq;

	ch->cancelled = true;
	if (!ch->done)
		ares_cancel(ch->ares);	/* on_ares(ECANCELLED) now; on_done releases */
}

void
upstream_get_stats(const struct upstream *u, struct upstream_stats *st)
{
	*st = u->stats;
	st->channels = u->nchannels;
}

const struct upstream_drops *
upstream_drops(const struct upstream *u)
{
	return &u->drops;
}
