/* test_forward.c: unit tests of a worker's link to dnsr, against a fake dnsr (authd/forward.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "authd/answer.h"
#include "authd/forward.h"
#include "common/dname.h"
#include "common/log.h"
#include "common/wire.h"
#include "proto/proto.h"

/*
 * Everything runs on one event base: the forwarder under test and a fake dnsr that
 * speaks proto/ frames on a Unix socket in a temporary directory. The tests wait for
 * what they expect by running the loop until it happened (the forwarder's 20 ms sweep
 * timer wakes the loop up), never by sleeping; a bound on the turns turns a hang into a
 * failure.
 */
#define MAX_TURNS	1000
#define MAX_SEEN	16

static char dir[] = "/tmp/test_forward.XXXXXX";
static char sock_path[100];	/* fits sun_path */
static struct event_base *base;

/* ---- the fake dnsr ---- */

struct seen_query {
	uint32_t		id;
	uint8_t			transport;
	struct sockaddr_storage	client;
	uint16_t		max_answer;
	uint8_t			dns[1024];
	size_t			dnslen;
};

static struct fake {
	int			 lfd;
	struct event		*accept_ev;
	struct bufferevent	*bev;
	int			 accepts;
	int			 hellos;
	uint16_t		 hello_version;
	char			 hello_name[256];
	int			 nq;
	struct seen_query	 q[MAX_SEEN];
} fake;

static void
fake_read(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	struct proto_msg m;
	uint8_t out[64];
	char err[128];
	long n;

	while (evbuffer_get_length(in) > 0) {
		size_t avail = evbuffer_get_length(in);

		n = proto_decode(evbuffer_pullup(in, -1), avail, &m, err, sizeof(err));
		if (n == 0)
			return;
		if (n < 0)
			fail_msg("the forwarder sent a malformed frame: %s", err);
		if (m.type == PROTO_HELLO) {
			fake.hellos++;
			fake.hello_version = m.version;
			snprintf(fake.hello_name, sizeof(fake.hello_name), "%s", m.name);
			bufferevent_write(bev, out, (size_t)proto_encode_hello_ok(out,
			    sizeof(out), PROTO_VERSION));
		} else if (m.type == PROTO_QUERY) {
			struct seen_query *q = &fake.q[fake.nq++];

			assert_true(fake.nq <= MAX_SEEN);
			q->id = m.id;
			q->transport = m.transport;
			q->client = m.client;
			q->max_answer = m.max_answer;
			assert_true(m.dnslen <= sizeof(q->dns));
			memcpy(q->dns, m.dns, m.dnslen);
			q->dnslen = m.dnslen;
		} else {
			fail_msg("the forwarder sent frame type %d", m.type);
		}
		evbuffer_drain(in, (size_t)n);
	}
}

static void
fake_event(struct bufferevent *bev, short what, void *arg)
{
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		bufferevent_free(fake.bev);
		fake.bev = NULL;
	}
}

static void
fake_accept(evutil_socket_t lfd, short what, void *arg)
{
	int fd = accept(lfd, NULL, NULL);

	assert_true(fd >= 0);
	assert_int_equal(evutil_make_socket_nonblocking(fd), 0);
	if (fake.bev != NULL)
		bufferevent_free(fake.bev);
	fake.bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	assert_non_null(fake.bev);
	bufferevent_setcb(fake.bev, fake_read, NULL, fake_event, NULL);
	bufferevent_enable(fake.bev, EV_READ | EV_WRITE);
	fake.accepts++;
}

static void
fake_start(void)
{
	struct sockaddr_un sun;

	memset(&fake, 0, sizeof(fake));
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, sock_path, strlen(sock_path) + 1);
	unlink(sock_path);
	fake.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(fake.lfd >= 0);
	assert_int_equal(bind(fake.lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(fake.lfd, 8), 0);
	fake.accept_ev = event_new(base, fake.lfd, EV_READ | EV_PERSIST, fake_accept, NULL);
	assert_non_null(fake.accept_ev);
	event_add(fake.accept_ev, NULL);
}

static void
fake_stop(void)
{
	if (fake.bev != NULL)
		bufferevent_free(fake.bev);
	fake.bev = NULL;
	if (fake.accept_ev != NULL)
		event_free(fake.accept_ev);
	fake.accept_ev = NULL;
	if (fake.lfd > 0)
		close(fake.lfd);
	fake.lfd = -1;
	unlink(sock_path);
}

/* The connection from the forwarder ends, as when dnsr exits. */
static void
fake_drop(void)
{
	assert_non_null(fake.bev);
	bufferevent_free(fake.bev);
	fake.bev = NULL;
}

static void
fake_send_answer(uint32_t id, const uint8_t *dns, size_t len)
{
	uint8_t frame[PROTO_HDR + 8 + 4096];
	long n = proto_encode_answer(frame, sizeof(frame), id, dns, len);

	assert_true(n > 0);
	assert_non_null(fake.bev);
	bufferevent_write(fake.bev, frame, (size_t)n);
}

/* ---- the clients and the forwarder ---- */

struct delivery {
	struct fwd_client	to;
	uint8_t			resp[4096];
	size_t			len;
};

static struct delivery deliveries[MAX_SEEN];
static int ndeliveries, nreleases;
static struct fwd_stats stats;
static struct answer_opts opts;

static void
on_deliver(void *ctx, const struct fwd_client *to, const uint8_t *resp, size_t len)
{
	struct delivery *d = &deliveries[ndeliveries++];

	assert_true(ndeliveries <= MAX_SEEN);
	assert_true(len <= sizeof(d->resp));
	d->to = *to;
	memcpy(d->resp, resp, len);
	d->len = len;
}

static void
on_release(void *ctx, const struct fwd_client *to)
{
	nreleases++;
}

static const struct fwd_callbacks callbacks = { on_deliver, on_release, NULL };

static struct forwarder *
new_forwarder(int timeout_ms)
{
	memset(&stats, 0, sizeof(stats));
	return forwarder_new(base, sock_path, timeout_ms, "authd-test-worker", &opts,
	    &callbacks, &stats);
}

/* Runs the loop until *counter reaches want; fails when it does not come. */
static void
run_until(const int *counter, int want)
{
	for (int turns = 0; *counter < want; turns++) {
		if (turns == MAX_TURNS)
			fail_msg("waited in vain: %d of %d", *counter, want);
		event_base_loop(base, EVLOOP_ONCE);
	}
}

/* A UDP client at 192.0.2.<n>:port, taking answers up to limit octets. */
static struct fwd_client
udp_client(int n, uint16_t port, uint16_t limit)
{
	struct fwd_client c;
	struct sockaddr_in *sin = (struct sockaddr_in *)&c.peer.addr;

	memset(&c, 0, sizeof(c));
	c.peer.tcp = false;
	c.peer.udp_fd = 100 + n;
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	sin->sin_addr.s_addr = htonl(0xc0000200u | (uint32_t)n);
	c.peer.addrlen = sizeof(*sin);
	c.limit = limit;
	return c;
}

static const uint8_t *
wn(const char *s)
{
	static uint8_t names[4][DNAME_MAXLEN];
	static int next;
	uint8_t *out = names[next++ % 4];

	assert_true(dname_from_str(s, NULL, out) > 0);
	return out;
}

/* A client's query (RD set), with an OPT when edns. */
static size_t
make_query(uint8_t *out, uint16_t id, const char *qname, uint16_t qtype, bool edns)
{
	struct wire_writer w;

	wire_init(&w, out, 512);
	wire_header(&w, id, DNS_FLAG_RD);
	assert_int_equal(wire_question(&w, wn(qname), qtype, DNS_CLASS_IN), 0);
	if (edns)
		assert_int_equal(wire_opt(&w, 1232, 0, 0, 0, NULL, 0), 0);
	return wire_finish(&w);
}

/* dnsr's answer to query: n A records 10.0.<tag>.<i> at its question. */
static size_t
make_answer(uint8_t *out, size_t cap, const uint8_t *query, size_t qlen, int tag, int n)
{
	struct dns_query q;
	struct wire_writer w;

	assert_int_equal(wire_parse_query(query, qlen, &q), WIRE_OK);
	wire_init(&w, out, cap);
	wire_header(&w, q.id, DNS_FLAG_QR | DNS_FLAG_RD | DNS_FLAG_RA);
	assert_int_equal(wire_question(&w, q.qname, q.qtype, q.qclass), 0);
	for (int i = 0; i < n; i++) {
		uint8_t a[4] = { 10, 0, (uint8_t)tag, (uint8_t)i };

		assert_int_equal(wire_rr(&w, WIRE_AN, q.qname, DNS_TYPE_A, DNS_CLASS_IN, 300, a,
		    4), 0);
	}
	return wire_finish(&w);
}

/* The Extended DNS Error info-code of a response, or -1 when it has none. */
static int
ede_of(const uint8_t *resp, size_t len)
{
	struct wire_msg m;
	struct wire_iter it;
	struct wire_rr rr;

	assert_int_equal(wire_msg_parse(resp, len, &m), 0);
	wire_iter_init(&m, &it);
	while (wire_iter_next(&m, &it, &rr) == 1) {
		const uint8_t *p = resp + rr.rdata, *end = p + rr.rdlen;

		if (rr.type != DNS_TYPE_OPT)
			continue;
		while (end - p >= 4) {
			uint16_t code = wire_read16(p), olen = wire_read16(p + 2);

			if (code == EDNS_OPT_EDE && olen >= 2)
				return wire_read16(p + 4);
			p += 4 + olen;
		}
	}
	return -1;
}

static uint16_t
rcode_of(const uint8_t *resp)
{
	return wire_read16(resp + 2) & 0x000f;
}

static uint16_t
id_of(const uint8_t *resp)
{
	return wire_read16(resp);
}

/* ---- fixtures ---- */

static int
setup(void **state)
{
	memset(deliveries, 0, sizeof(deliveries));
	ndeliveries = nreleases = 0;
	memset(&opts, 0, sizeof(opts));
	opts.udp_payload = 1232;
	opts.ready = true;
	if ((base = event_base_new()) == NULL)
		return -1;
	fake_start();
	return 0;
}

static int
teardown(void **state)
{
	fake_stop();
	event_base_free(base);
	base = NULL;
	return 0;
}

static int
group_setup(void **state)
{
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(sock_path, sizeof(sock_path), "%s/dnsr.sock", dir);
	log_set_level(LOG_LVL_ERROR);	/* disconnects below are meant to warn */
	return 0;
}

static int
group_teardown(void **state)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- tests ---- */

/* The forwarder connects and says HELLO with its identity and our protocol version. */
static void
test_hello(void **state)
{
	struct forwarder *f = new_forwarder(5000);

	run_until(&fake.hellos, 1);
	assert_int_equal(fake.hello_version, PROTO_VERSION);
	assert_string_equal(fake.hello_name, "authd-test-worker");
	assert_int_equal(counter_get(&stats.connects), 1);
	assert_int_equal(fake.accepts, 1);
	forwarder_free(f);
	assert_int_equal(ndeliveries, 0);
}

/*
 * Queries carry distinct request ids, the client's address, transport and size limit;
 * answers coming back in another order each reach the client whose query it was.
 */
static void
test_answers_to_the_right_client(void **state)
{
	struct forwarder *f = new_forwarder(60000);
	struct fwd_client c[3] = {
		udp_client(1, 5001, 1232), udp_client(2, 5002, 512), udp_client(3, 5003, 4096),
	};
	uint8_t query[3][512], ans[1024];
	size_t qlen[3];

	c[2].peer.tcp = true;
	/* The first one goes out before the connection is up: it waits for HELLO_OK. */
	qlen[0] = make_query(query[0], 0xaaa1, "one.example.", DNS_TYPE_A, false);
	forwarder_query(f, query[0], qlen[0], &c[0], NULL, 0, NULL);
	run_until(&fake.nq, 1);
	for (int i = 1; i < 3; i++) {
		char name[32];

		snprintf(name, sizeof(name), "q%d.example.", i);
		qlen[i] = make_query(query[i], (uint16_t)(0xaaa1 + i), name, DNS_TYPE_A, true);
		forwarder_query(f, query[i], qlen[i], &c[i], NULL, 0, NULL);
	}
	run_until(&fake.nq, 3);
	assert_int_equal(ndeliveries, 0);
	/* What dnsr is told. */
	assert_true(fake.q[0].id != fake.q[1].id && fake.q[1].id != fake.q[2].id &&
	    fake.q[0].id != fake.q[2].id);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(fake.q[i].dnslen, qlen[i]);
		assert_memory_equal(fake.q[i].dns, query[i], qlen[i]);
		assert_int_equal(fake.q[i].transport, c[i].peer.tcp ? PROTO_TCP : PROTO_UDP);
		assert_int_equal(fake.q[i].max_answer, c[i].peer.tcp ? 65535 : c[i].limit);
		assert_int_equal(fake.q[i].client.ss_family, AF_INET);
		assert_memory_equal(&((struct sockaddr_in *)&fake.q[i].client)->sin_addr,
		    &((struct sockaddr_in *)&c[i].peer.addr)->sin_addr, 4);
		assert_int_equal(((struct sockaddr_in *)&fake.q[i].client)->sin_port,
		    ((struct sockaddr_in *)&c[i].peer.addr)->sin_port);
	}
	/* Answered last first. */
	for (int i = 2; i >= 0; i--) {
		size_t n = make_answer(ans, sizeof(ans), query[i], qlen[i], i, 1);

		fake_send_answer(fake.q[i].id, ans, n);
	}
	run_until(&ndeliveries, 3);
	for (int k = 0; k < 3; k++) {
		struct delivery *d = &deliveries[k];
		int i = 2 - k;		/* in the order of the answers */
		struct wire_msg m;

		assert_memory_equal(&d->to.peer.addr, &c[i].peer.addr, sizeof(c[i].peer.addr));
		assert_int_equal(d->to.peer.tcp, c[i].peer.tcp);
		assert_int_equal(id_of(d->resp), 0xaaa1 + i);
		assert_int_equal(wire_msg_parse(d->resp, d->len, &m), 0);
		assert_int_equal(m.counts[WIRE_AN], 1);
		assert_int_equal(d->resp[d->len - 2], i);	/* 10.0.<i>.0 */
	}
	assert_int_equal(nreleases, 3);
	assert_int_equal(counter_get(&stats.forwarded), 3);
	assert_int_equal(counter_get(&stats.answered), 3);
	assert_int_equal(counter_get(&stats.failed), 0);
	assert_int_equal(counter_get(&stats.latency.count), 3);
	forwarder_free(f);
	assert_int_equal(nreleases, 3);		/* nothing was left to release */
}

/* An answer with an id nobody waits for (never sent, or answered already) is dropped. */
static void
test_unknown_id_dropped(void **state)
{
	struct forwarder *f = new_forwarder(60000);
	struct fwd_client c = udp_client(1, 5001, 1232);
	uint8_t query[512], ans[1024];
	size_t qlen = make_query(query, 7, "www.example.", DNS_TYPE_A, false), n;

	forwarder_query(f, query, qlen, &c, NULL, 0, NULL);
	run_until(&fake.nq, 1);
	n = make_answer(ans, sizeof(ans), query, qlen, 9, 1);
	fake_send_answer(fake.q[0].id + 1000, ans, n);	/* nobody's */
	fake_send_answer(fake.q[0].id, ans, n);
	fake_send_answer(fake.q[0].id, ans, n);		/* a duplicate */
	run_until(&ndeliveries, 1);
	/* One more query and answer: the frames before it were all read by then. */
	qlen = make_query(query, 8, "www2.example.", DNS_TYPE_A, false);
	forwarder_query(f, query, qlen, &c, NULL, 0, NULL);
	run_until(&fake.nq, 2);
	n = make_answer(ans, sizeof(ans), query, qlen, 10, 1);
	fake_send_answer(fake.q[1].id, ans, n);
	run_until(&ndeliveries, 2);
	assert_int_equal(id_of(deliveries[0].resp), 7);
	assert_int_equal(id_of(deliveries[1].resp), 8);
	assert_int_equal(counter_get(&stats.answered), 2);
	assert_int_equal(nreleases, 2);
	forwarder_free(f);
}

/*
 * dnsr never answers: the query gets SERVFAIL with EDE 22 (no reachable authority) at
 * its deadline, once; an answer that comes after it is dropped.
 */
static void
test_timeout_servfail(void **state)
{
	struct forwarder *f = new_forwarder(0);	/* due at the first sweep */
	struct fwd_client c = udp_client(4, 5353, 1232);
	uint8_t query[512], ans[1024];
	size_t qlen = make_query(query, 0x4242, "slow.example.", DNS_TYPE_AAAA, true), n;
	struct wire_msg m;
	int hellos;

	/* Whether it times out before or after it was sent, the outcome is the same. */
	forwarder_query(f, query, qlen, &c, NULL, 0, NULL);
	run_until(&ndeliveries, 1);
	assert_int_equal(id_of(deliveries[0].resp), 0x4242);
	assert_int_equal(rcode_of(deliveries[0].resp), DNS_RCODE_SERVFAIL);
	assert_true(wire_read16(deliveries[0].resp + 2) & DNS_FLAG_QR);
	assert_int_equal(wire_msg_parse(deliveries[0].resp, deliveries[0].len, &m), 0);
	assert_true(m.has_question);
	assert_true(dname_equal(m.qname, wn("slow.example.")));
	assert_int_equal(m.qtype, DNS_TYPE_AAAA);
	assert_int_equal(ede_of(deliveries[0].resp, deliveries[0].len),
	    EDE_NO_REACHABLE_AUTHORITY);
	assert_int_equal(nreleases, 1);
	assert_int_equal(counter_get(&stats.failed), 1);

	/*
	 * The late answer, then the connection closes. The frames arrive in order, so once
	 * the forwarder has reconnected it has read the answer, and dropped it.
	 */
	run_until(&fake.hellos, 1);
	n = make_answer(ans, sizeof(ans), query, qlen, 1, 1);
	fake_send_answer(fake.nq > 0 ? fake.q[0].id : 0, ans, n);
	for (int turns = 0; evbuffer_get_length(bufferevent_get_output(fake.bev)) > 0;
	    turns++) {
		assert_true(turns < MAX_TURNS);
		event_base_loop(base, EVLOOP_ONCE);
	}
	hellos = fake.hellos;
	fake_drop();
	run_until(&fake.hellos, hellos + 1);
	assert_int_equal(ndeliveries, 1);
	assert_int_equal(nreleases, 1);
	assert_int_equal(counter_get(&stats.answered), 0);
	forwarder_free(f);
}

/*
 * dnsr goes away with queries in flight: each fails now with SERVFAIL and EDE 23
 * (network error), not at its timeout; the forwarder reconnects and serves again.
 */
static void
test_lost_connection(void **state)
{
	struct forwarder *f = new_forwarder(60000);
	struct fwd_client c[2] = { udp_client(1, 1111, 1232), udp_client(2, 2222, 1232) };
	uint8_t query[2][512], ans[1024];
	size_t qlen[2], n;

	for (int i = 0; i < 2; i++) {
		qlen[i] = make_query(query[i], (uint16_t)(100 + i), "www.example.", DNS_TYPE_A,
		    true);
		forwarder_query(f, query[i], qlen[i], &c[i], NULL, 0, NULL);
	}
	run_until(&fake.nq, 2);
	fake_drop();
	run_until(&ndeliveries, 2);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(id_of(deliveries[i].resp), 100 + i);
		assert_memory_equal(&deliveries[i].to.peer.addr, &c[i].peer.addr, sizeof(c[i].peer.addr));
		assert_int_equal(rcode_of(deliveries[i].resp), DNS_RCODE_SERVFAIL);
		assert_int_equal(ede_of(deliveries[i].resp, deliveries[i].len),
		    EDE_NETWORK_ERROR);
	}
	assert_int_equal(nreleases, 2);
	assert_int_equal(counter_get(&stats.failed), 2);

	/* Back after the back-off: a new query is answered. */
	run_until(&fake.hellos, 2);
	qlen[0] = make_query(query[0], 300, "again.example.", DNS_TYPE_A, false);
	forwarder_query(f, query[0], qlen[0], &c[0], NULL, 0, NULL);
	run_until(&fake.nq, 3);
	n = make_answer(ans, sizeof(ans), query[0], qlen[0], 3, 1);
	fake_send_answer(fake.q[2].id, ans, n);
	run_until(&ndeliveries, 3);
	assert_int_equal(id_of(deliveries[2].resp), 300);
	assert_int_equal(rcode_of(deliveries[2].resp), DNS_RCODE_NOERROR);
	assert_int_equal(counter_get(&stats.connects), 2);
	forwarder_free(f);
}

/* An ERROR frame from dnsr closes the connection: the queries waiting on it fail. */
static void
test_error_frame(void **state)
{
	struct forwarder *f = new_forwarder(60000);
	struct fwd_client c = udp_client(1, 1111, 1232);
	uint8_t query[512], frame[300];
	size_t qlen = make_query(query, 55, "www.example.", DNS_TYPE_A, false);
	long n;

	forwarder_query(f, query, qlen, &c, NULL, 0, NULL);
	run_until(&fake.nq, 1);
	n = proto_encode_error(frame, sizeof(frame), PROTO_ERR_OVERLOADED, "busy");
	bufferevent_write(fake.bev, frame, (size_t)n);
	run_until(&ndeliveries, 1);
	assert_int_equal(rcode_of(deliveries[0].resp), DNS_RCODE_SERVFAIL);
	assert_int_equal(id_of(deliveries[0].resp), 55);
	assert_int_equal(nreleases, 1);
	forwarder_free(f);
}

/* No dnsr at all: the query is answered SERVFAIL (EDE 23), without waiting for a timeout. */
static void
test_dnsr_down(void **state)
{
	struct forwarder *f;
	struct fwd_client c = udp_client(1, 1111, 1232);
	uint8_t query[512];
	size_t qlen = make_query(query, 77, "www.example.", DNS_TYPE_A, true);

	fake_stop();			/* nobody listens at the path */
	f = new_forwarder(60000);
	forwarder_query(f, query, qlen, &c, NULL, 0, NULL);
	run_until(&ndeliveries, 1);
	assert_int_equal(id_of(deliveries[0].resp), 77);
	assert_int_equal(rcode_of(deliveries[0].resp), DNS_RCODE_SERVFAIL);
	assert_int_equal(ede_of(deliveries[0].resp, deliveries[0].len), EDE_NETWORK_ERROR);
	assert_int_equal(nreleases, 1);
	assert_int_equal(counter_get(&stats.connects), 0);
	forwarder_free(f);
}

/* A UDP client gets TC=1 when the answer exceeds its limit; over TCP it gets it whole. */
static void
test_udp_limit(void **state)
{
	struct forwarder *f = new_forwarder(60000);
	struct fwd_client udp = udp_client(1, 1111, 512), tcp = udp_client(2, 2222, 512);
	uint8_t query[512], ans[4096];
	size_t qlen = make_query(query, 9, "big.example.", DNS_TYPE_A, false), n;
	struct wire_msg m;

	tcp.peer.tcp = true;
	forwarder_query(f, query, qlen, &udp, NULL, 0, NULL);
	forwarder_query(f, query, qlen, &tcp, NULL, 0, NULL);
	run_until(&fake.nq, 2);
	n = make_answer(ans, sizeof(ans), query, qlen, 1, 60);	/* 60 A records: > 512 */
	assert_true(n > 512);
	fake_send_answer(fake.q[0].id, ans, n);
	fake_send_answer(fake.q[1].id, ans, n);
	run_until(&ndeliveries, 2);
	assert_false(deliveries[0].to.peer.tcp);
	assert_true(deliveries[0].len <= 512);
	assert_true(wire_read16(deliveries[0].resp + 2) & DNS_FLAG_TC);
	assert_int_equal(wire_msg_parse(deliveries[0].resp, deliveries[0].len, &m), 0);
	assert_int_equal(m.counts[WIRE_AN], 0);
	assert_true(deliveries[1].to.peer.tcp);
	assert_int_equal(deliveries[1].len, n);
	assert_memory_equal(deliveries[1].resp, ans, n);
	forwarder_free(f);
}

/*
 * CNAME completion: dnsr is asked for the target with the client's id, and its answer
 * is appended to our chain, under the client's question.
 */
static void
test_cname_completion(void **state)
{
	struct forwarder *f = new_forwarder(60000);
	struct fwd_client c = udp_client(1, 1111, 1232);
	uint8_t query[512], partial[512], ans[1024];
	size_t qlen = make_query(query, 0x5151, "www.example.", DNS_TYPE_A, false), plen, n;
	uint8_t target[DNAME_MAXLEN];
	struct dns_query q;
	struct wire_writer w;
	struct wire_msg m;
	struct wire_iter it;
	struct wire_rr rr;

	assert_true(dname_from_str("www.elsewhere.test.", NULL, target) > 0);
	wire_init(&w, partial, sizeof(partial));
	wire_header(&w, 0x5151, DNS_FLAG_QR | DNS_FLAG_AA | DNS_FLAG_RD);
	assert_int_equal(wire_question(&w, wn("www.example."), DNS_TYPE_A, DNS_CLASS_IN), 0);
	assert_int_equal(wire_rr(&w, WIRE_AN, wn("www.example."), DNS_TYPE_CNAME, DNS_CLASS_IN,
	    300, target, (uint16_t)dname_len(target)), 0);
	plen = wire_finish(&w);

	forwarder_query(f, query, qlen, &c, partial, plen, target);
	run_until(&fake.nq, 1);
	assert_int_equal(wire_parse_query(fake.q[0].dns, fake.q[0].dnslen, &q), WIRE_OK);
	assert_int_equal(q.id, 0x5151);
	assert_true(dname_equal(q.qname, target));
	assert_int_equal(q.qtype, DNS_TYPE_A);
	n = make_answer(ans, sizeof(ans), fake.q[0].dns, fake.q[0].dnslen, 7, 2);
	fake_send_answer(fake.q[0].id, ans, n);
	run_until(&ndeliveries, 1);

	assert_int_equal(wire_msg_parse(deliveries[0].resp, deliveries[0].len, &m), 0);
	assert_int_equal(m.id, 0x5151);
	assert_true(dname_equal(m.qname, wn("www.example.")));
	assert_int_equal(m.counts[WIRE_AN], 3);
	assert_true(m.flags & DNS_FLAG_RA);
	wire_iter_init(&m, &it);
	assert_int_equal(wire_iter_next(&m, &it, &rr), 1);
	assert_int_equal(rr.type, DNS_TYPE_CNAME);
	assert_true(dname_equal(rr.owner, wn("www.example.")));
	for (int i = 0; i < 2; i++) {
		assert_int_equal(wire_iter_next(&m, &it, &rr), 1);
		assert_int_equal(rr.type, DNS_TYPE_A);
		assert_true(dname_equal(rr.owner, target));
		assert_int_equal(deliveries[0].resp[rr.rdata + 2], 7);
	}
	assert_int_equal(nreleases, 1);
	forwarder_free(f);
}

/*
 * CNAME completion whose target dnsr could not resolve (a bogus zone): SERVFAIL with
 * dnsr's Extended DNS Error and none of our chain; dnsr's authority section and TC are
 * kept otherwise (checked in tests/integration/test_dnsr_authd_dnssec.py).
 */
#define EDE_DNSKEY_MISSING	9	/* RFC 8914: what dnsr gives a DS matching no key */

static void
test_cname_completion_failure(void **state)
{
	struct forwarder *f = new_forwarder(60000);
	struct fwd_client c = udp_client(1, 1111, 1232);
	uint8_t query[512], partial[512], ans[512], opt[8] = { 0, EDNS_OPT_EDE, 0, 4, 0,
	    EDE_DNSKEY_MISSING, 'n', 'o' };
	size_t qlen = make_query(query, 0x5252, "www.example.", DNS_TYPE_A, true), plen, n;
	uint8_t target[DNAME_MAXLEN];
	struct dns_query q;
	struct wire_writer w;
	struct wire_msg m;

	assert_true(dname_from_str("www.bogus.test.", NULL, target) > 0);
	wire_init(&w, partial, sizeof(partial));
	wire_header(&w, 0x5252, DNS_FLAG_QR | DNS_FLAG_AA | DNS_FLAG_RD);
	assert_int_equal(wire_question(&w, wn("www.example."), DNS_TYPE_A, DNS_CLASS_IN), 0);
	assert_int_equal(wire_rr(&w, WIRE_AN, wn("www.example."), DNS_TYPE_CNAME, DNS_CLASS_IN,
	    300, target, (uint16_t)dname_len(target)), 0);
	plen = wire_finish(&w);

	forwarder_query(f, query, qlen, &c, partial, plen, target);
	run_until(&fake.nq, 1);
	assert_int_equal(wire_parse_query(fake.q[0].dns, fake.q[0].dnslen, &q), WIRE_OK);
	wire_init(&w, ans, sizeof(ans));
	wire_header(&w, q.id, DNS_FLAG_QR | DNS_FLAG_RD | DNS_FLAG_RA | DNS_RCODE_SERVFAIL);
	assert_int_equal(wire_question(&w, q.qname, q.qtype, q.qclass), 0);
	assert_int_equal(wire_opt(&w, 1232, 0, 0, 0, opt, sizeof(opt)), 0);
	n = wire_finish(&w);
	fake_send_answer(fake.q[0].id, ans, n);
	run_until(&ndeliveries, 1);

	assert_int_equal(wire_msg_parse(deliveries[0].resp, deliveries[0].len, &m), 0);
	assert_int_equal(wire_msg_rcode(&m), DNS_RCODE_SERVFAIL);
	assert_int_equal(m.counts[WIRE_AN], 0);
	assert_int_equal(ede_of(deliveries[0].resp, deliveries[0].len), EDE_DNSKEY_MISSING);
	forwarder_free(f);
}

/*
 * CNAME completion whose target answer dnsr had to truncate, with AD (a secure target):
 * the merged answer has TC (the client retries over TCP) and never AD (our CNAME is
 * authoritative data authd does not validate: docs/ARCHITECTURE.md).
 */
static void
test_cname_completion_tc_no_ad(void **state)
{
	struct forwarder *f = new_forwarder(60000);
	struct fwd_client c = udp_client(1, 1111, 1232);
	uint8_t query[512], partial[512], ans[512];
	size_t qlen = make_query(query, 0x5353, "www.example.", DNS_TYPE_A, true), plen, n;
	uint8_t target[DNAME_MAXLEN];
	struct dns_query q;
	struct wire_writer w;
	struct wire_msg m;

	assert_true(dname_from_str("www.big.test.", NULL, target) > 0);
	wire_init(&w, partial, sizeof(partial));
	wire_header(&w, 0x5353, DNS_FLAG_QR | DNS_FLAG_AA | DNS_FLAG_RD);
	assert_int_equal(wire_question(&w, wn("www.example."), DNS_TYPE_A, DNS_CLASS_IN), 0);
	assert_int_equal(wire_rr(&w, WIRE_AN, wn("www.example."), DNS_TYPE_CNAME, DNS_CLASS_IN,
	    300, target, (uint16_t)dname_len(target)), 0);
	plen = wire_finish(&w);

	forwarder_query(f, query, qlen, &c, partial, plen, target);
	run_until(&fake.nq, 1);
	assert_int_equal(wire_parse_query(fake.q[0].dns, fake.q[0].dnslen, &q), WIRE_OK);
	wire_init(&w, ans, sizeof(ans));
	wire_header(&w, q.id, DNS_FLAG_QR | DNS_FLAG_RD | DNS_FLAG_RA | DNS_FLAG_TC |
	    DNS_FLAG_AD);
	assert_int_equal(wire_question(&w, q.qname, q.qtype, q.qclass), 0);
	n = wire_finish(&w);
	fake_send_answer(fake.q[0].id, ans, n);
	run_until(&ndeliveries, 1);

	assert_int_equal(wire_msg_parse(deliveries[0].resp, deliveries[0].len, &m), 0);
	assert_true(m.flags & DNS_FLAG_TC);
	assert_false(m.flags & DNS_FLAG_AD);
	assert_true(m.flags & DNS_FLAG_AA);
	forwarder_free(f);
}

/* Queries still pending when the worker stops are released (not delivered). */
static void
test_free_releases_pending(void **state)
{
	struct forwarder *f = new_forwarder(60000);
	struct fwd_client c = udp_client(1, 1111, 1232);
	uint8_t query[512];
	size_t qlen = make_query(query, 1, "www.example.", DNS_TYPE_A, false);

	forwarder_query(f, query, qlen, &c, NULL, 0, NULL);
	forwarder_query(f, query, qlen, &c, NULL, 0, NULL);
	run_until(&fake.nq, 2);
	forwarder_free(f);
	assert_int_equal(ndeliveries, 0);
	assert_int_equal(nreleases, 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hello, setup, teardown),
		cmocka_unit_test_setup_teardown(test_answers_to_the_right_client, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unknown_id_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout_servfail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lost_connection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_frame, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dnsr_down, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cname_completion, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cname_completion_failure, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cname_completion_tc_no_ad, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_free_releases_pending, setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
