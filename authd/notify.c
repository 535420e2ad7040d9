/* notify.c: NOTIFY out (RFC 1996): debounced, TSIG-signed, retried until answered. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>
#include <urcu.h>

#include "authd/notify.h"
#include "authd/store.h"
#include "common/conf.h"
#include "common/dname.h"
#include "common/log.h"
#include "common/net.h"
#include "common/tsig.h"
#include "common/wire.h"

#define NOTIFY_TARGETS_MAX	64
#define NOTIFY_DEBOUNCE_MS	200	/* a burst of changes gives one NOTIFY */
#define NOTIFY_TIMEOUT_MS	1000	/* then doubling, */
#define NOTIFY_TRIES		6	/* and given up after this many (~1 minute) */
#define DNS_OPCODE_NOTIFY	4

/* One zone's NOTIFY to one target. */
struct attempt {
	uint16_t	id;
	int		tries;		/* 0: not sent yet */
	bool		done;
	uint64_t	due_ms;		/* next send */
};

struct pending {
	struct pending	*next;
	uint8_t		 apex[DNAME_MAXLEN];
	uint32_t	 serial;	/* in the NOTIFY sent (or about to be) */
	uint64_t	 debounce_ms;	/* not before this: changes keep arriving */
	struct attempt	 to[NOTIFY_TARGETS_MAX];
};

struct notifier {
	struct store		*store;
	const knot_tsig_key_t	*key;
	struct notify_stats	*stats;
	size_t			 ntargets;
	struct sockaddr_storage	 target[NOTIFY_TARGETS_MAX];
	socklen_t		 targetlen[NOTIFY_TARGETS_MAX];
	int			 fd4, fd6;
	struct event_base	*base;
	struct event		*wake, *timer, *rd4, *rd6;
	pthread_t		 thread;
	/* The consumer's queue of changed zones (names, one after another), under mu. */
	pthread_mutex_t		 mu;
	uint8_t			*queue;
	size_t			 qlen, qcap;
	struct pending		*zones;		/* notifier thread only */
};

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int
parse_target(void *arg, const char *item, char *err, size_t errlen)
{
	struct notifier *n = arg;
	size_t len;

	if (n->ntargets == NOTIFY_TARGETS_MAX) {
		snprintf(err, errlen, "more than %d targets", NOTIFY_TARGETS_MAX);
		return -1;
	}
	if (conf_parse_sockaddr(item, 53, &n->target[n->ntargets], &len, err, errlen) != 0)
		return -1;
	n->targetlen[n->ntargets++] = (socklen_t)len;
	return 0;
}

/* The NOTIFY for p into out: QUERY section the zone's SOA, ANSWER its current SOA. */
static size_t
build(struct notifier *n, struct pending *p, uint16_t id, uint8_t *out, size_t cap)
{
	struct wire_writer w;
	const struct znode *z;
	const struct rrset *soa;
	struct rdata_ref rd;
	struct tsig_ctx ctx;
	size_t len;

	wire_init(&w, out, cap - 512);
	wire_header(&w, id, DNS_OPCODE_NOTIFY << DNS_OPCODE_SHIFT | DNS_FLAG_AA);
	wire_question(&w, p->apex, DNS_TYPE_SOA, DNS_CLASS_IN);
	rcu_read_lock();
	z = store_lookup(n->store, p->apex, dname_len(p->apex));
	soa = z != NULL ? znode_find(z, DNS_TYPE_SOA) : NULL;
	if (soa == NULL || rrset_first(soa, &rd) == NULL) {
		rcu_read_unlock();
		return 0;	/* the zone went away */
	}
	p->serial = rrset_soa_serial(soa);
	wire_rr(&w, WIRE_AN, p->apex, DNS_TYPE_SOA, DNS_CLASS_IN, soa->ttl, rd.data, rd.len);
	rcu_read_unlock();
	len = wire_finish(&w);
	if (n->key != NULL) {
		tsig_ctx_request(&ctx, n->key);
		if (tsig_sign_first(&ctx, out, &len, cap) != 0)
			return 0;
	}
	return len;
}

static void
send_one(struct notifier *n, struct pending *p, size_t i)
{
	struct attempt *a = &p->to[i];
	uint8_t msg[1024];
	size_t len;
	int fd = n->target[i].ss_family == AF_INET6 ? n->fd6 : n->fd4;

	randombytes_buf(&a->id, sizeof(a->id));
	if ((len = build(n, p, a->id, msg, sizeof(msg))) == 0) {
		a->done = true;
		return;
	}
	if (fd >= 0 && sendto(fd, msg, len, 0, (struct sockaddr *)&n->target[i],
	    n->targetlen[i]) >= 0)
		atomic_fetch_add(&n->stats->sent, 1);
	a->due_ms = now_ms() + ((uint64_t)NOTIFY_TIMEOUT_MS << a->tries);
	a->tries++;
}

/* Sends what is due, forgets what is done, and sets the timer for the next due time. */
static void
run(struct notifier *n)
{
	uint64_t now = now_ms(), next = UINT64_MAX;
	char name[DNAME_STRLEN], addr[NET_ADDRSTRLEN];

	for (struct pending **pp = &n->zones; *pp != NULL;) {
		struct pending *p = *pp;
		bool all_done = true;

		if (p->debounce_ms > now) {
			next = p->debounce_ms < next ? p->debounce_ms : next;
			pp = &p->next;
			continue;
		}
		for (size_t i = 0; i < n->ntargets; i++) {
			struct attempt *a = &p->to[i];

			if (a->done)
				continue;
			if (a->tries == NOTIFY_TRIES && a->due_ms <= now) {
				a->done = true;
				atomic_fetch_add(&n->stats->failed, 1);
				dname_to_str(p->apex, name, sizeof(name));
				log_warnx("notify %s serial %u to %s: no answer after %d tries",
				    name, p->serial, net_addr_str((struct sockaddr *)&n->target[i],
				    addr, sizeof(addr)), NOTIFY_TRIES);
				continue;
			}
			if (a->tries == 0 || a->due_ms <= now)
				send_one(n, p, i);
			if (!a->done) {
				all_done = false;
				next = a->due_ms < next ? a->due_ms : next;
			}
		}
		if (all_done) {
			*pp = p->next;
			free(p);
		} else {
			pp = &p->next;
		}
	}
	if (next != UINT64_MAX) {
		uint64_t ms = next > now ? next - now : 0;
		struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

		evtimer_add(n->timer, &tv);
	}
}

/* The consumer's queue into pending zones: a zone already pending starts over. */
static void
on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct notifier *n = arg;
	uint8_t *q;
	size_t qlen;

	pthread_mutex_lock(&n->mu);
	q = n->queue;
	qlen = n->qlen;
	n->queue = NULL;
	n->qlen = n->qcap = 0;
	pthread_mutex_unlock(&n->mu);
	for (size_t off = 0; off < qlen; off += dname_len(q + off)) {
		struct pending *p;

		for (p = n->zones; p != NULL; p = p->next)
			if (dname_equal(p->apex, q + off))
				break;
		if (p == NULL) {
			p = xcalloc(1, sizeof(*p));
			memcpy(p->apex, q + off, dname_len(q + off));
			p->debounce_ms = now_ms() + NOTIFY_DEBOUNCE_MS;
			p->next = n->zones;
			n->zones = p;
		} else if (p->debounce_ms <= now_ms()) {
			/* Already sent for an older serial: the new one starts again. */
			memset(p->to, 0, sizeof(p->to));
			p->debounce_ms = now_ms() + NOTIFY_DEBOUNCE_MS;
		}
	}
	free(q);
	run(n);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	run(arg);
}

/* An answer: NOERROR ends that target's attempts, an error ends them with a log line. */
static void
on_read(evutil_socket_t fd, short what, void *arg)
{
	struct notifier *n = arg;
	uint8_t buf[4096];
	struct sockaddr_storage from;
	socklen_t fromlen = sizeof(from);
	ssize_t len = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fromlen);
	uint16_t id, flags;
	char name[DNAME_STRLEN], addr[NET_ADDRSTRLEN];

	if (len < DNS_HEADER_LEN)
		return;
	id = wire_read16(buf);
	flags = wire_read16(buf + 2);
	if (!(flags & DNS_FLAG_QR) ||
	    (flags & DNS_OPCODE_MASK) >> DNS_OPCODE_SHIFT != DNS_OPCODE_NOTIFY)
		return;
	for (struct pending *p = n->zones; p != NULL; p = p->next) {
		for (size_t i = 0; i < n->ntargets; i++) {
			struct attempt *a = &p->to[i];

			if (a->done || a->tries == 0 || a->id != id ||
			    !net_addr_equal((struct sockaddr *)&from,
			    (struct sockaddr *)&n->target[i]))
				continue;
			a->done = true;
			dname_to_str(p->apex, name, sizeof(name));
			net_addr_str((struct sockaddr *)&from, addr, sizeof(addr));
			if ((flags & DNS_RCODE_MASK) == DNS_RCODE_NOERROR) {
				atomic_fetch_add(&n->stats->acked, 1);
				log_info("notify %s serial %u to %s: acknowledged", name,
				    p->serial, addr);
			} else {
				atomic_fetch_add(&n->stats->failed, 1);
				log_warnx("notify %s serial %u to %s: answered rcode %u", name,
				    p->serial, addr, flags & DNS_RCODE_MASK);
			}
			return;
		}
	}
}

static void *
notifier_main(void *arg)
{
	struct notifier *n = arg;

	rcu_register_thread();
	event_base_dispatch(n->base);
	rcu_unregister_thread();
	return NULL;
}

static int
open_socket(int family)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	return fd;
}

struct notifier *
notifier_start(struct store *s, const char *targets, const char *key_name,
    const struct tsig_keys *keys, struct notify_stats *stats)
{
	struct notifier *n = xcalloc(1, sizeof(*n));
	char err[256];

	n->store = s;
	n->stats = stats;
	if (conf_list_each(targets, NOTIFY_TARGETS_MAX + 1, parse_target, n, err,
	    sizeof(err)) < 0) {
		log_warnx("notify: %s", err);
		free(n);
		return NULL;
	}
	if (key_name != NULL) {
		uint8_t wire[DNAME_MAXLEN];

		if (dname_from_str(key_name, NULL, wire) <= 0 || keys == NULL ||
		    (n->key = tsig_keys_find(keys, wire)) == NULL) {
			log_warnx("notify-key %s: not a key of [tsig]", key_name);
			free(n);
			return NULL;
		}
	}
	pthread_mutex_init(&n->mu, NULL);
	n->fd4 = open_socket(AF_INET);
	n->fd6 = open_socket(AF_INET6);
	if ((n->base = event_base_new()) == NULL)
		fatalx("event_base_new");
	n->wake = event_new(n->base, -1, 0, on_wake, n);
	n->timer = evtimer_new(n->base, on_timer, n);
	if (n->fd4 >= 0) {
		n->rd4 = event_new(n->base, n->fd4, EV_READ | EV_PERSIST, on_read, n);
		event_add(n->rd4, NULL);
	}
	if (n->fd6 >= 0) {
		n->rd6 = event_new(n->base, n->fd6, EV_READ | EV_PERSIST, on_read, n);
		event_add(n->rd6, NULL);
	}
	if (pthread_create(&n->thread, NULL, notifier_main, n) != 0)
		fatal("pthread_create");
	log_info("notify: %zu targets%s", n->ntargets, n->key != NULL ? ", signed" : "");
	return n;
}

void
notifier_zone_changed(struct notifier *n, const uint8_t *apex)
{
	size_t len = dname_len(apex);

	pthread_mutex_lock(&n->mu);
	if (n->qlen + len > n->qcap) {
		n->qcap = n->qcap ? 2 * n->qcap : 1024;
		if ((n->queue = realloc(n->queue, n->qcap)) == NULL)
			fatal("notify");
	}
	memcpy(n->queue + n->qlen, apex, len);
	n->qlen += len;
	pthread_mutex_unlock(&n->mu);
	event_active(n->wake, EV_READ, 0);
}

void
notifier_stop(struct notifier *n)
{
	if (n == NULL)
		return;
	event_base_loopexit(n->base, NULL);
	pthread_join(n->thread, NULL);
	while (n->zones != NULL) {
		struct pending *p = n->zones;

		n->zones = p->next;
		free(p);
	}
	if (n->rd4 != NULL)
		event_free(n->rd4);
	if (n->rd6 != NULL)
		event_free(n->rd6);
	event_free(n->wake);
	event_free(n->timer);
	event_base_free(n->base);
	if (n->fd4 >= 0)
		close(n->fd4);
	if (n->fd6 >= 0)
		close(n->fd6);
	free(n->queue);
	pthread_mutex_destroy(&n->mu);
	free(n);
}
