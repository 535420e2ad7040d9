/* upstream.c: a pool of single-query c-ares channels driven by a libevent loop. */
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ares.h>

#include "dnsr/upstream.h"
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
	upstream_cb		 cb;
	void			*arg;
	uint64_t		 sent_us;
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
	struct upstream_stats	 stats;
};

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

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

static void
on_done(evutil_socket_t fd, short what, void *arg)
{
	struct chan *ch = arg;
	struct upstream *u = ch->u;
	enum upstream_status st;

	if (ch->status == ARES_SUCCESS && ch->anslen > 0) {
		st = UPSTREAM_OK;
		u->stats.answers++;
		ch->discard = !answer_has_opt(ch->ans, ch->anslen);
	} else if (ch->status == ARES_ETIMEOUT) {
		st = UPSTREAM_TIMEOUT;
		u->stats.timeouts++;
	} else {
		st = UPSTREAM_ERROR;
		if (ch->status != ARES_ECANCELLED)
			u->stats.errors++;
	}
	if (!ch->cancelled)
		ch->cb(ch->arg, st, ch->ans, ch->anslen, now_us() - ch->sent_us);
	chan_release(ch);
}

struct upstream *
upstream_new(struct event_base *base, int timeout_ms, size_t max_channels)
{
	struct upstream *u = xcalloc(1, sizeof(*u));

	u->base = base;
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

struct upstream_query *
upstream_send(struct upstream *u, const struct sockaddr *sa, const uint8_t *q, size_t qlen,
    upstream_cb cb, void *arg)
{
	struct chan *ch = chan_get(u, sa);

	if (ch == NULL)
		return NULL;
	ch->busy = true;
	ch->done = false;
	ch->cancelled = false;
	ch->discard = false;
	ch->cb = cb;
	ch->arg = arg;
	ch->status = ARES_ENOTFOUND;
	ch->anslen = 0;
	ch->sent_us = now_us();
	u->stats.sent++;
	ares_send(ch->ares, q, (int)qlen, on_ares, ch);
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
