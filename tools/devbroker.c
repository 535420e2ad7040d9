/* devbroker.c: streamdns-devbroker, a Kafka-protocol broker for tests built on librdkafka's mock cluster. */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define DEVBROKER_NAME    "streamdns-devbroker"
#ifdef STREAMDNS_VERSION		/* set by the Makefile */
#define DEVBROKER_VERSION STREAMDNS_VERSION
#else
#define DEVBROKER_VERSION "0.1.0"
#endif

#define DEFAULT_LISTEN     "127.0.0.1:9092"
#define DEFAULT_TOPIC      "streamdns.zones"
#define DEFAULT_PARTITIONS 3
#define DEFAULT_BROKERS    1
#define MAX_PARTITIONS     1024
#define MAX_BROKERS        16
#define MAX_TOPIC_LEN      249	/* Kafka's own limit */

/* Hard-coded in rd_kafka_mock_partition_init(); not configurable. */
#define MOCK_MAX_BYTES_MIB 5
#define MOCK_MAX_MSGSETS   100000

/* Bytes queued towards one side before we stop reading the other side. */
#define RELAY_MAX_PENDING  (1024 * 1024)

#define MONITOR_INTERVAL_MS 2000
/* Short, so that shutdown never waits long behind a watermark query. */
#define MONITOR_QUERY_MS    500
#define STARTUP_METADATA_MS 5000

enum relay_side { RELAY_CLIENT, RELAY_MOCK };

/* One client connection to --listen, paired with one connection to the mock's bootstrap broker. */
struct relay {
	struct bufferevent	*side[2];
	LIST_ENTRY(relay)	 entry;
};

struct options {
	const char	*listen;
	const char	*topic;
	int		 partitions;
	int		 brokers;
};

/* Watches low watermarks so that the mock's silent eviction becomes visible. */
struct monitor {
	rd_kafka_t		*rk;
	const char		*topic;
	int			 partitions;
	int64_t			*low;
	rd_kafka_resp_err_t	 last_err;
	pthread_t		 thread;
	bool			 running;
	pthread_mutex_t		 lock;
	pthread_cond_t		 wake;
	atomic_bool		 stop;
};

struct devbroker {
	struct options		 opt;
	rd_kafka_t		*owner;
	rd_kafka_mock_cluster_t	*mcluster;
	struct sockaddr_storage	 mock_addr;
	int			 mock_addrlen;
	struct event_base	*base;
	struct evconnlistener	*listener;
	struct event		*sigterm;
	struct event		*sigint;
	struct event		*sigdown;	/* SIGUSR1: every broker down (fault tests) */
	struct event		*sigup;		/* SIGUSR2: every broker up again */
	LIST_HEAD(, relay)	 relays;
	struct monitor		 mon;
};

static const char usage_text[] =
    "usage: " DEVBROKER_NAME " [--listen ADDR:PORT] [--topic NAME] [--partitions N]\n"
    "                           [--brokers N] [--help] [--version]\n"
    "\n"
    "SIGUSR1 takes every broker down and SIGUSR2 brings them back (fault tests).\n"
    "\n"
    "Kafka-protocol broker for development and tests, built on librdkafka's\n"
    "in-memory mock cluster. Clients bootstrap through ADDR:PORT and are then\n"
    "sent to the mock brokers on 127.0.0.1 (random ports), so only clients on\n"
    "this host can use it.\n"
    "\n"
    "  --listen ADDR:PORT  bootstrap address (default " DEFAULT_LISTEN ",\n"
    "                      IPv6 as [::1]:9092)\n"
    "  --topic NAME        topic to create (default " DEFAULT_TOPIC ")\n"
    "  --partitions N      partitions of the topic, 1-1024 (default 3)\n"
    "  --brokers N         mock brokers, 1-16 (default 1)\n"
    "  --help              show this help and exit\n"
    "  --version           show the version and exit\n"
    "\n"
    "Prints \"ready ADDR:PORT\" on stdout once clients can connect and runs until\n"
    "SIGTERM or SIGINT. Nothing is persisted; each partition keeps at most 5 MiB\n"
    "and 100000 message sets, and the oldest are silently dropped beyond that.\n";

static const struct option long_options[] = {
	{ "listen",	required_argument,	NULL, 'l' },
	{ "topic",	required_argument,	NULL, 't' },
	{ "partitions",	required_argument,	NULL, 'p' },
	{ "brokers",	required_argument,	NULL, 'b' },
	{ "help",	no_argument,		NULL, 'h' },
	{ "version",	no_argument,		NULL, 'V' },
	{ NULL,		0,			NULL, 0 }
};

/*
 * Logging, with the names and contracts of common/log.h so that this file can
 * switch to it. Lines are formatted first and written with one stdio call, so
 * that lines from librdkafka's threads and the monitor thread never interleave.
 */

static void log_vline(const char *fmt, va_list ap, const char *suffix)
    __attribute__((format(printf, 1, 0)));
static void log_vline(const char *fmt, va_list ap, const char *suffix)
{
	char line[1024];

	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, DEVBROKER_NAME ": %s%s%s\n", line,
	    suffix ? ": " : "", suffix ? suffix : "");
}

static void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(fmt, ap, NULL);
	va_end(ap);
}

/* Appends strerror(errno), like the daemons' log_warn. */
static void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void log_warn(const char *fmt, ...)
{
	va_list ap;
	const char *err = strerror(errno);

	va_start(ap, fmt);
	log_vline(fmt, ap, err);
	va_end(ap);
}

static void fatalx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
static void fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(fmt, ap, NULL);
	va_end(ap);
	exit(1);
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (p == NULL)
		fatalx("out of memory");
	return p;
}

static void libevent_log(int severity, const char *msg)
{
	(void)severity;
	log_info("libevent: %s", msg);
}

static void rdkafka_log(const rd_kafka_t *rk, int level, const char *fac,
    const char *buf)
{
	(void)level;
	log_info("%s: %s: %s", rd_kafka_name(rk), fac, buf);
}

/* The mock's owner handle has no brokers by design; its warning about that misleads. */
static void owner_log(const rd_kafka_t *rk, int level, const char *fac,
    const char *buf)
{
	if (strcmp(fac, "CONFWARN") == 0 && strstr(buf, "bootstrap.servers"))
		return;
	rdkafka_log(rk, level, fac, buf);
}

static void rdkafka_error(rd_kafka_t *rk, int err, const char *reason,
    void *opaque)
{
	(void)opaque;
	log_info("%s: error: %s: %s", rd_kafka_name(rk),
	    rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

/*
 * Command line.
 */

static void usage(FILE *out)
{
	fputs(usage_text, out);
}

static int parse_int(const char *s, int min, int max, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return -1;
	*out = (int)v;
	return 0;
}

/* Kafka accepts only [a-zA-Z0-9._-]; anything else would fail later, less clearly. */
static bool topic_name_valid(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > MAX_TOPIC_LEN ||
	    strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return false;
	return strspn(name, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == len;
}

static int set_option(struct options *opt, int c, const char *arg)
{
	switch (c) {
	case 'l':
		opt->listen = arg;
		return 0;
	case 't':
		if (opt->topic != NULL) {
			log_info("--topic may be given only once");
			return -1;
		}
		if (!topic_name_valid(arg)) {
			log_info("invalid topic name '%s'", arg);
			return -1;
		}
		opt->topic = arg;
		return 0;
	case 'p':
		if (parse_int(arg, 1, MAX_PARTITIONS, &opt->partitions) == 0)
			return 0;
		log_info("--partitions must be 1-%d, not '%s'", MAX_PARTITIONS, arg);
		return -1;
	case 'b':
		if (parse_int(arg, 1, MAX_BROKERS, &opt->brokers) == 0)
			return 0;
		log_info("--brokers must be 1-%d, not '%s'", MAX_BROKERS, arg);
		return -1;
	default:
		return -1;
	}
}

/* Returns 0 to run, or the exit status (plus 1) when done: --help, --version, errors. */
static int parse_args(int argc, char **argv, struct options *opt)
{
	int c;

	opterr = 0;	/* our own messages, with our prefix */
	while ((c = getopt_long(argc, argv, ":", long_options, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return 1;
		}
		if (c == 'V') {
			printf(DEVBROKER_NAME " " DEVBROKER_VERSION "\n");
			return 1;
		}
		if (c == '?' || c == ':') {
			log_info("unknown option or missing argument: '%s'",
			    argv[optind - 1]);
			usage(stderr);
			return 2;
		}
		if (set_option(opt, c, optarg) == -1) {
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		log_info("unexpected argument '%s'", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (opt->topic == NULL)
		opt->topic = DEFAULT_TOPIC;
	return 0;
}

/*
 * The fixed bootstrap listener.
 */

/* Splits "host:port" or "[v6]:port" in place; host may be empty (all addresses). */
static int split_hostport(char *spec, char **host, char **port)
{
	char *colon;

	if (spec[0] == '[') {
		char *close = strchr(spec, ']');

		if (close == NULL || close[1] != ':')
			return -1;
		*close = '\0';
		*host = spec + 1;
		*port = close + 2;
		return 0;
	}
	colon = strrchr(spec, ':');
	if (colon == NULL || memchr(spec, ':', (size_t)(colon - spec)) != NULL)
		return -1;	/* no port, or a bare IPv6 address */
	*colon = '\0';
	*host = spec;
	*port = colon + 1;
	return 0;
}

static int resolve_listen(const char *spec, struct addrinfo **res)
{
	struct addrinfo hints;
	char buf[256], *host, *port;
	int portnum, rc;

	if (strlen(spec) >= sizeof(buf)) {
		log_info("--listen address too long");
		return -1;
	}
	strcpy(buf, spec);
	/* getaddrinfo() would silently truncate ports above 65535. */
	if (split_hostport(buf, &host, &port) == -1 ||
	    parse_int(port, 1, 65535, &portnum) == -1) {
		log_info("invalid --listen '%s': expected ADDR:PORT or "
		    "[IPV6]:PORT", spec);
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(host[0] != '\0' ? host : NULL, port, &hints, res);
	if (rc != 0) {
		log_info("cannot resolve --listen '%s': %s", spec,
		    gai_strerror(rc));
		return -1;
	}
	return 0;
}

/* Binds ourselves rather than via evconnlistener_new_bind() to report the real errno. */
static int listen_socket(const char *spec)
{
	struct addrinfo *res;
	int fd, one = 1;

	if (resolve_listen(spec, &res) == -1)
		return -1;
	fd = socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, res->ai_protocol);
	if (fd == -1) {
		log_warn("cannot listen on %s: socket", spec);
	} else if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
	    sizeof(one)) == -1 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) == -1 ||
	    listen(fd, 128) == -1) {
		log_warn("cannot listen on %s", spec);
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/*
 * Relay: bytes from a client on --listen go to the mock's bootstrap broker and
 * back. Clients then read metadata naming the mock brokers' real addresses and
 * connect to those directly, so only bootstrap traffic passes through here.
 */

static void relay_read(struct bufferevent *bev, void *arg);
static void relay_event(struct bufferevent *bev, short what, void *arg);

static enum relay_side relay_side_of(const struct relay *r,
    const struct bufferevent *bev)
{
	return r->side[RELAY_MOCK] == bev ? RELAY_MOCK : RELAY_CLIENT;
}

/* Frees the relay and whichever sides are still open. Accepts NULL. */
static void relay_free(struct relay *r)
{
	if (r == NULL)
		return;
	if (r->side[RELAY_CLIENT] != NULL)
		bufferevent_free(r->side[RELAY_CLIENT]);
	if (r->side[RELAY_MOCK] != NULL)
		bufferevent_free(r->side[RELAY_MOCK]);
	LIST_REMOVE(r, entry);
	free(r);
}

/* The peer's output has drained after back-pressure: resume reading into it. */
static void relay_drained(struct bufferevent *bev, void *arg)
{
	struct relay *r = arg;
	struct bufferevent *other = r->side[!relay_side_of(r, bev)];

	bufferevent_setcb(bev, relay_read, NULL, relay_event, r);
	bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
	if (other != NULL)
		bufferevent_enable(other, EV_READ);
}

static void relay_read(struct bufferevent *bev, void *arg)
{
	struct relay *r = arg;
	struct bufferevent *peer = r->side[!relay_side_of(r, bev)];
	struct evbuffer *out = bufferevent_get_output(peer);

	evbuffer_add_buffer(out, bufferevent_get_input(bev));
	if (evbuffer_get_length(out) < RELAY_MAX_PENDING)
		return;
	/* A slow reader must not make us buffer without bound. */
	bufferevent_disable(bev, EV_READ);
	bufferevent_setwatermark(peer, EV_WRITE, RELAY_MAX_PENDING / 2, 0);
	bufferevent_setcb(peer, relay_read, relay_drained, relay_event, r);
}

/* The last open side has sent everything it owed; the relay is done. */
static void relay_drained_close(struct bufferevent *bev, void *arg)
{
	(void)bev;
	relay_free(arg);
}

/* One side closed: deliver what it sent, let the peer flush, then close the peer. */
static void relay_close_side(struct relay *r, enum relay_side i)
{
	struct bufferevent *peer = r->side[!i];

	if (peer != NULL)
		relay_read(r->side[i], r);
	bufferevent_free(r->side[i]);
	r->side[i] = NULL;
	if (peer == NULL ||
	    evbuffer_get_length(bufferevent_get_output(peer)) == 0) {
		relay_free(r);
		return;
	}
	bufferevent_disable(peer, EV_READ);
	bufferevent_setwatermark(peer, EV_WRITE, 0, 0);
	bufferevent_setcb(peer, NULL, relay_drained_close, relay_event, r);
}

static void relay_event(struct bufferevent *bev, short what, void *arg)
{
	struct relay *r = arg;
	enum relay_side i = relay_side_of(r, bev);

	if (what & BEV_EVENT_CONNECTED)
		return;
	/* Clients resetting is routine; the mock failing is not. */
	if ((what & BEV_EVENT_ERROR) && i == RELAY_MOCK)
		log_info("relay: mock broker connection: %s",
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	relay_close_side(r, i);
}

static void set_nodelay(evutil_socket_t fd)
{
	int one = 1;

	/* Kafka is request/response; Nagle would add delayed-ACK stalls. */
	if (fd != -1)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void log_accept(const struct sockaddr *sa, int salen)
{
	char host[NI_MAXHOST], serv[NI_MAXSERV];

	if (getnameinfo(sa, (socklen_t)salen, host, sizeof(host), serv,
	    sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		snprintf(host, sizeof(host), "?");
		snprintf(serv, sizeof(serv), "?");
	}
	log_info("client %s port %s connected, relaying to the mock cluster",
	    host, serv);
}

static void relay_accept(struct evconnlistener *listener, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct devbroker *db = arg;
	struct relay *r = xcalloc(1, sizeof(*r));
	int i;

	(void)listener;
	log_accept(sa, salen);
	LIST_INSERT_HEAD(&db->relays, r, entry);
	r->side[RELAY_CLIENT] = bufferevent_socket_new(db->base, fd,
	    BEV_OPT_CLOSE_ON_FREE);
	r->side[RELAY_MOCK] = bufferevent_socket_new(db->base, -1,
	    BEV_OPT_CLOSE_ON_FREE);
	if (r->side[RELAY_CLIENT] == NULL || r->side[RELAY_MOCK] == NULL)
		fatalx("out of memory");
	for (i = RELAY_CLIENT; i <= RELAY_MOCK; i++) {
		bufferevent_setcb(r->side[i], relay_read, NULL, relay_event, r);
		bufferevent_enable(r->side[i], EV_READ | EV_WRITE);
	}
	if (bufferevent_socket_connect(r->side[RELAY_MOCK],
	    (struct sockaddr *)&db->mock_addr, db->mock_addrlen) == -1) {
		log_warn("relay: cannot connect to the mock cluster");
		relay_free(r);
		return;
	}
	set_nodelay(fd);
	set_nodelay(bufferevent_getfd(r->side[RELAY_MOCK]));
}

static void relay_accept_error(struct evconnlistener *listener, void *arg)
{
	(void)listener;
	(void)arg;
	/* libevent keeps listening; say why clients are being dropped (e.g. EMFILE). */
	log_info("accept: %s",
	    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

/*
 * Mock cluster.
 */

typedef void (*rdkafka_log_cb)(const rd_kafka_t *, int, const char *,
    const char *);

static rd_kafka_conf_t *rdkafka_conf(const char *client_id,
    const char *bootstrap, rdkafka_log_cb log_cb)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char errstr[256];

	rd_kafka_conf_set_log_cb(conf, log_cb);
	rd_kafka_conf_set_error_cb(conf, rdkafka_error);
	if (rd_kafka_conf_set(conf, "client.id", client_id, errstr,
	    sizeof(errstr)) != RD_KAFKA_CONF_OK ||
	    (bootstrap != NULL && rd_kafka_conf_set(conf, "bootstrap.servers",
	    bootstrap, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK))
		fatalx("librdkafka configuration: %s", errstr);
	return conf;
}

static rd_kafka_t *rdkafka_new(const char *client_id, const char *bootstrap,
    rdkafka_log_cb log_cb)
{
	rd_kafka_conf_t *conf = rdkafka_conf(client_id, bootstrap, log_cb);
	char errstr[512];
	rd_kafka_t *rk;

	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (rk == NULL) {
		rd_kafka_conf_destroy(conf);	/* only owned on success */
		log_info("cannot create librdkafka handle: %s", errstr);
	}
	return rk;
}

/* The relay dials the first mock broker; any broker serves bootstrap metadata. */
static int mock_bootstrap_addr(struct devbroker *db)
{
	const char *list = rd_kafka_mock_cluster_bootstraps(db->mcluster);
	char first[256];
	size_t len = strcspn(list, ",");

	db->mock_addrlen = (int)sizeof(db->mock_addr);
	if (len >= sizeof(first))
		return -1;
	memcpy(first, list, len);
	first[len] = '\0';
	return evutil_parse_sockaddr_port(first,
	    (struct sockaddr *)&db->mock_addr, &db->mock_addrlen);
}

static int mock_start(struct devbroker *db)
{
	rd_kafka_resp_err_t err;

	/* The mock only needs a handle for bookkeeping; it never connects anywhere. */
	if ((db->owner = rdkafka_new(DEVBROKER_NAME, NULL, owner_log)) == NULL)
		return -1;
	db->mcluster = rd_kafka_mock_cluster_new(db->owner, db->opt.brokers);
	if (db->mcluster == NULL) {
		log_info("cannot create the mock cluster");
		return -1;
	}
	/* librdkafka 2.0.2 still lists every mock broker as a replica. */
	err = rd_kafka_mock_topic_create(db->mcluster, db->opt.topic,
	    db->opt.partitions, 1);
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		log_info("cannot create topic %s: %s", db->opt.topic,
		    rd_kafka_err2str(err));
		return -1;
	}
	if (mock_bootstrap_addr(db) == -1) {
		log_info("cannot parse mock bootstrap address '%s'",
		    rd_kafka_mock_cluster_bootstraps(db->mcluster));
		return -1;
	}
	log_info("mock cluster of %d broker(s) at %s", db->opt.brokers,
	    rd_kafka_mock_cluster_bootstraps(db->mcluster));
	return 0;
}

/* Asks the mock for the topic as a client would, so "ready" is never premature. */
static int mock_check_topic(rd_kafka_t *rk, const char *topic, int partitions)
{
	const struct rd_kafka_metadata *md;
	rd_kafka_resp_err_t err;
	int i, found = -1;

	err = rd_kafka_metadata(rk, 1, NULL, &md, STARTUP_METADATA_MS);
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		log_info("mock cluster metadata: %s", rd_kafka_err2str(err));
		return -1;
	}
	for (i = 0; i < md->topic_cnt; i++)
		if (strcmp(md->topics[i].topic, topic) == 0)
			found = md->topics[i].partition_cnt;
	rd_kafka_metadata_destroy(md);
	if (found != partitions) {
		log_info("mock cluster reports %d partition(s) for %s, "
		    "expected %d", found, topic, partitions);
		return -1;
	}
	log_info("topic %s has %d partition(s)", topic, partitions);
	return 0;
}

/*
 * Drop monitor: the mock evicts the oldest message sets of a full partition
 * without telling anyone, which raises that partition's low watermark.
 */

static void monitor_report_error(struct monitor *m, rd_kafka_resp_err_t err)
{
	if (err == m->last_err)
		return;		/* one line per change, not per poll */
	if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
		log_info("drop monitor: watermark queries work again");
	else
		log_info("drop monitor: cannot query watermarks: %s",
		    rd_kafka_err2str(err));
	m->last_err = err;
}

static void monitor_check(struct monitor *m)
{
	rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
	int64_t low, high;
	int p;

	rd_kafka_poll(m->rk, 0);	/* serves error_cb */
	for (p = 0; p < m->partitions && !atomic_load(&m->stop); p++) {
		err = rd_kafka_query_watermark_offsets(m->rk, m->topic, p,
		    &low, &high, MONITOR_QUERY_MS);
		if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
			break;
		if (low > m->low[p])
			log_info("partition %d: mock dropped offsets %" PRId64
			    "..%" PRId64 " (retention limit); it now holds "
			    "%" PRId64 "..%" PRId64, p, m->low[p], low - 1,
			    low, high - 1);
		m->low[p] = low;
	}
	if (!atomic_load(&m->stop))
		monitor_report_error(m, err);
}

static void monitor_sleep(struct monitor *m)
{
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += MONITOR_INTERVAL_MS / 1000;
	until.tv_nsec += (MONITOR_INTERVAL_MS % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&m->lock);
	while (!atomic_load(&m->stop) &&
	    pthread_cond_timedwait(&m->wake, &m->lock, &until) == 0)
		;
	pthread_mutex_unlock(&m->lock);
}

static void *monitor_run(void *arg)
{
	struct monitor *m = arg;

	while (!atomic_load(&m->stop)) {
		monitor_check(m);
		monitor_sleep(m);
	}
	return NULL;
}

static int monitor_init(struct monitor *m, const char *bootstrap,
    const char *topic, int partitions)
{
	pthread_condattr_t attr;

	m->topic = topic;
	m->partitions = partitions;
	m->low = xcalloc((size_t)partitions, sizeof(*m->low));
	atomic_init(&m->stop, false);
	pthread_mutex_init(&m->lock, NULL);
	pthread_condattr_init(&attr);
	/* Monotonic, so that a wall-clock jump cannot stall or spin the loop. */
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&m->wake, &attr);
	pthread_condattr_destroy(&attr);
	m->rk = rdkafka_new(DEVBROKER_NAME "-monitor", bootstrap,
	    rdkafka_log);
	return m->rk != NULL ? 0 : -1;
}

static int monitor_start(struct monitor *m)
{
	sigset_t all, old;
	int rc;

	/* Signals belong to the event loop's thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&m->thread, NULL, monitor_run, m);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		errno = rc;
		log_warn("cannot start the drop monitor");
		return -1;
	}
	m->running = true;
	return 0;
}

/* Stops the thread and frees everything monitor_init() made; safe if it failed. */
static void monitor_free(struct monitor *m)
{
	if (m->low == NULL)
		return;
	if (m->running) {
		pthread_mutex_lock(&m->lock);
		atomic_store(&m->stop, true);
		pthread_cond_signal(&m->wake);
		pthread_mutex_unlock(&m->lock);
		pthread_join(m->thread, NULL);
	}
	if (m->rk != NULL)
		rd_kafka_destroy(m->rk);
	pthread_cond_destroy(&m->wake);
	pthread_mutex_destroy(&m->lock);
	free(m->low);
	m->low = NULL;
}

/*
 * Process lifecycle.
 */

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct event_base *base = arg;

	(void)what;
	log_info("%s received, shutting down", sig == SIGTERM ? "SIGTERM" :
	    "SIGINT");
	event_base_loopbreak(base);
}

/* Fault injection for tests: SIGUSR1 takes every mock broker down, SIGUSR2 brings it up. */
static void on_fault_signal(evutil_socket_t sig, short what, void *arg)
{
	struct devbroker *db = arg;

	(void)what;
	for (int id = 1; id <= db->opt.brokers; id++) {
		if (sig == SIGUSR1)
			rd_kafka_mock_broker_set_down(db->mcluster, id);
		else
			rd_kafka_mock_broker_set_up(db->mcluster, id);
	}
	log_info("%s: every broker is %s", sig == SIGUSR1 ? "SIGUSR1" : "SIGUSR2",
	    sig == SIGUSR1 ? "down" : "up");
}

static int event_start(struct devbroker *db, int fd)
{
	db->base = event_base_new();
	if (db->base == NULL) {
		close(fd);
		log_info("cannot create the event base");
		return -1;
	}
	db->sigterm = evsignal_new(db->base, SIGTERM, on_signal, db->base);
	db->sigint = evsignal_new(db->base, SIGINT, on_signal, db->base);
	db->sigdown = evsignal_new(db->base, SIGUSR1, on_fault_signal, db);
	db->sigup = evsignal_new(db->base, SIGUSR2, on_fault_signal, db);
	if (db->sigterm == NULL || db->sigint == NULL || db->sigdown == NULL ||
	    db->sigup == NULL || evsignal_add(db->sigterm, NULL) == -1 ||
	    evsignal_add(db->sigint, NULL) == -1 || evsignal_add(db->sigdown, NULL) == -1 ||
	    evsignal_add(db->sigup, NULL) == -1)
		fatalx("cannot install signal handlers");
	db->listener = evconnlistener_new(db->base, relay_accept, db,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (db->listener == NULL) {
		close(fd);
		log_info("cannot watch the --listen socket");
		return -1;
	}
	evconnlistener_set_error_cb(db->listener, relay_accept_error);
	return 0;
}

static void print_capacity_note(void)
{
	log_info("note: the librdkafka %s mock cluster keeps at most %d MiB "
	    "and %d message sets per partition and silently drops the oldest "
	    "beyond that; nothing is compacted or persisted",
	    rd_kafka_version_str(), MOCK_MAX_BYTES_MIB, MOCK_MAX_MSGSETS);
}

/* Binds first, so that a taken port fails before the mock is spun up. */
static int devbroker_start(struct devbroker *db)
{
	int fd;

	LIST_INIT(&db->relays);
	print_capacity_note();
	if ((fd = listen_socket(db->opt.listen)) == -1)
		return -1;
	if (event_start(db, fd) == -1 || mock_start(db) == -1)
		return -1;
	if (monitor_init(&db->mon, rd_kafka_mock_cluster_bootstraps(
	    db->mcluster), db->opt.topic, db->opt.partitions) == -1 ||
	    mock_check_topic(db->mon.rk, db->opt.topic, db->opt.partitions) == -1)
		return -1;
	return monitor_start(&db->mon);
}

/* Tears down in reverse order: every client of the mock goes before the mock. */
static void devbroker_stop(struct devbroker *db)
{
	monitor_free(&db->mon);
	while (!LIST_EMPTY(&db->relays))
		relay_free(LIST_FIRST(&db->relays));
	if (db->listener != NULL)
		evconnlistener_free(db->listener);
	if (db->sigterm != NULL)
		event_free(db->sigterm);
	if (db->sigint != NULL)
		event_free(db->sigint);
	if (db->sigdown != NULL)
		event_free(db->sigdown);
	if (db->sigup != NULL)
		event_free(db->sigup);
	if (db->base != NULL)
		event_base_free(db->base);
	if (db->mcluster != NULL)
		rd_kafka_mock_cluster_destroy(db->mcluster);
	if (db->owner != NULL)
		rd_kafka_destroy(db->owner);
}

int main(int argc, char **argv)
{
	struct devbroker db;
	int rc;

	memset(&db, 0, sizeof(db));
	db.opt.listen = DEFAULT_LISTEN;
	db.opt.partitions = DEFAULT_PARTITIONS;
	db.opt.brokers = DEFAULT_BROKERS;
	if ((rc = parse_args(argc, argv, &db.opt)) != 0)
		return rc - 1;

	/* A client vanishing mid-write must not kill the broker. */
	signal(SIGPIPE, SIG_IGN);
	event_set_log_callback(libevent_log);

	if (devbroker_start(&db) == -1) {
		devbroker_stop(&db);
		return 1;
	}
	printf("ready %s\n", db.opt.listen);
	fflush(stdout);
	log_info("ready on %s", db.opt.listen);

	rc = event_base_dispatch(db.base);
	devbroker_stop(&db);
	if (rc == -1) {
		log_info("event loop failed");
		return 1;
	}
	log_info("stopped");
	return 0;
}
