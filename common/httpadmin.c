/* httpadmin.c: evhttp admin endpoint on its own thread, bearer token, statsd push timer. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <sodium.h>

#include "common/conf.h"
#include "common/httpadmin.h"
#include "common/log.h"

#define LISTEN_MAX	16

struct httpadmin {
	struct httpadmin_conf	 conf;
	pthread_t		 thread;
	int			 running;
	struct event_base	*base;
	struct evhttp		*http;
	struct event		*statsd_ev;
	int			 statsd_fd;
	struct sockaddr_storage	 statsd_addr;
	size_t			 statsd_len;
	char			*token;
};

void
httpadmin_reply(struct evhttp_request *req, int code, const char *reason, const char *ctype,
    const char *body, size_t len)
{
	struct evbuffer *b = evbuffer_new();

	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", ctype);
	if (b != NULL)
		evbuffer_add(b, body, len);
	evhttp_send_reply(req, code, reason, b);
	if (b != NULL)
		evbuffer_free(b);
}

void
httpadmin_reply_text(struct evhttp_request *req, int code, const char *reason,
    const char *text)
{
	httpadmin_reply(req, code, reason, "text/plain; charset=utf-8", text, strlen(text));
}

long
httpadmin_rss_bytes(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f == NULL)
		return 0;
	if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
		rss = 0;
	fclose(f);
	return rss * sysconf(_SC_PAGESIZE);
}

void
httpadmin_info(const struct metric_sink *s, const char *name, const char *identity)
{
	char labels[320], id[200];

	if (identity != NULL) {
		/* A label value may not hold quotes, backslashes or newlines unescaped. */
		snprintf(id, sizeof(id), "%s", identity);
		for (char *p = id; *p != '\0'; p++)
			if (*p == '"' || *p == '\\' || *p == '\n')
				*p = '_';
		snprintf(labels, sizeof(labels), "version=\"%s\",identity=\"%s\"",
		    STREAMDNS_VERSION, id);
	} else {
		snprintf(labels, sizeof(labels), "version=\"%s\"", STREAMDNS_VERSION);
	}
	metric_family(s, name, METRIC_GAUGE,
	    "constant 1, labelled with the version and this instance's identity");
	metric_sample(s, name, labels, 1);
}

static void
reply_metrics(struct httpadmin *h, struct evhttp_request *req)
{
	struct strbuf b;
	struct metric_sink sink;

	strbuf_init(&b);
	metrics_prometheus_sink(&sink, &b);
	h->conf.collect(h->conf.arg, &sink);
	if (b.oom)
		httpadmin_reply_text(req, 500, "Internal Server Error", "out of memory\n");
	else
		httpadmin_reply(req, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", b.s,
		    b.len);
	strbuf_free(&b);
}

/* The length of the token is not secret; its octets are compared in constant time. */
int
httpadmin_token_ok(const char *token, const char *authorization)
{
	size_t tl;

	if (authorization == NULL || strncmp(authorization, "Bearer ", 7) != 0)
		return 0;
	authorization += 7;
	tl = strlen(token);
	return strlen(authorization) == tl && sodium_memcmp(authorization, token, tl) == 0;
}

static const struct httpadmin_route *
find_route(const struct httpadmin *h, const char *path)
{
	for (size_t i = 0; i < h->conf.nroutes; i++)
		if (strcmp(h->conf.routes[i].path, path) == 0)
			return &h->conf.routes[i];
	return NULL;
}

static void
handle_request(struct evhttp_request *req, void *arg)
{
	struct httpadmin *h = arg;
	const char *uri = evhttp_request_get_uri(req);
	const struct httpadmin_route *r;
	char path[64];
	size_t n = strcspn(uri, "?");

	if (n >= sizeof(path))
		n = sizeof(path) - 1;
	memcpy(path, uri, n);
	path[n] = '\0';
	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
		httpadmin_reply_text(req, 405, "Method Not Allowed", "GET only\n");
		return;
	}
	if (h->token != NULL && !httpadmin_token_ok(h->token,
	    evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization"))) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
		    "Bearer");
		httpadmin_reply_text(req, 401, "Unauthorized", "bearer token required\n");
		return;
	}
	if ((r = find_route(h, path)) != NULL)
		r->fn(req, uri, h->conf.arg);
	else if (strcmp(path, "/health") == 0)
		httpadmin_reply_text(req, 200, "OK", "ok\n");
	else if (strcmp(path, "/metrics") == 0 && h->conf.collect != NULL)
		reply_metrics(h, req);
	else
		httpadmin_reply_text(req, 404, "Not Found", "not found\n");
}

void
httpadmin_statsd_split(const char *s, size_t len,
    void (*send)(void *arg, const char *p, size_t n), void *arg)
{
	size_t off = 0;

	while (off < len) {
		size_t end = off, cut = off;

		while (end < len && end - off < HTTPADMIN_STATSD_MAX) {
			if (s[end] == '\n')
				cut = end + 1;
			end++;
		}
		if (cut == off)
			cut = end;
		send(arg, s + off, cut - off);
		off = cut;
	}
}

static void
statsd_send(void *arg, const char *p, size_t n)
{
	struct httpadmin *h = arg;

	/* A full socket buffer loses this push; the next one carries the same totals. */
	(void)sendto(h->statsd_fd, p, n, MSG_DONTWAIT, (struct sockaddr *)&h->statsd_addr,
	    (socklen_t)h->statsd_len);
}

static void
statsd_flush(evutil_socket_t fd, short what, void *arg)
{
	struct httpadmin *h = arg;
	struct strbuf b;
	struct statsd_ctx ctx = { &b, h->conf.statsd_prefix };
	struct metric_sink sink;

	(void)fd;
	(void)what;
	strbuf_init(&b);
	metrics_statsd_sink(&sink, &ctx);
	h->conf.collect(h->conf.arg, &sink);
	if (!b.oom)
		httpadmin_statsd_split(b.s, b.len, statsd_send, h);
	strbuf_free(&b);
}

char *
httpadmin_read_token(const char *path, char *err, size_t errlen)
{
	char buf[512];
	long n = conf_read_small_file(path, "token-file ", buf, sizeof(buf), err, errlen);

	if (n < 0)
		return NULL;
	if (n == 0) {
		snprintf(err, errlen, "token-file %s is empty", path);
		return NULL;
	}
	return xstrdup(buf);
}

static int
bind_one(struct httpadmin *h, const char *item, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	size_t sslen;
	char host[INET6_ADDRSTRLEN];
	uint16_t port;

	if (conf_parse_sockaddr(item, h->conf.default_port, &ss, &sslen, err, errlen) != 0)
		return -1;
	if (ss.ss_family == AF_INET) {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host, sizeof(host));
		port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	} else {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, host, sizeof(host));
		port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	if (evhttp_bind_socket_with_handle(h->http, host, port) == NULL) {
		snprintf(err, errlen, "cannot listen on %s: %s", item, strerror(errno));
		return -1;
	}
	return 0;
}

static int
bind_all(struct httpadmin *h, char *err, size_t errlen)
{
	char *copy = xstrdup(h->conf.listen), *items[LISTEN_MAX];
	size_t n = conf_split_list(copy, items, LISTEN_MAX);
	int rc = 0;

	for (size_t i = 0; i < n && i < LISTEN_MAX && rc == 0; i++)
		rc = bind_one(h, items[i], err, errlen);
	free(copy);
	return rc;
}

static int
statsd_setup(struct httpadmin *h, char *err, size_t errlen)
{
	struct timeval tv = { h->conf.statsd_interval / 1000,
	    (h->conf.statsd_interval % 1000) * 1000 };

	if (conf_parse_sockaddr(h->conf.statsd, 8125, &h->statsd_addr, &h->statsd_len, err,
	    errlen) != 0)
		return -1;
	h->statsd_fd = socket(h->statsd_addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (h->statsd_fd < 0) {
		snprintf(err, errlen, "statsd socket: %s", strerror(errno));
		return -1;
	}
	if ((h->statsd_ev = event_new(h->base, -1, EV_PERSIST, statsd_flush, h)) == NULL ||
	    event_add(h->statsd_ev, &tv) != 0) {
		snprintf(err, errlen, "statsd timer: out of memory");
		return -1;
	}
	return 0;
}

static void *
admin_thread(void *arg)
{
	struct httpadmin *h = arg;

	if (h->conf.thread_start != NULL)
		h->conf.thread_start();
	event_base_dispatch(h->base);
	if (h->conf.thread_stop != NULL)
		h->conf.thread_stop();
	return NULL;
}

/* Everything but the thread, so that a failed start is undone by httpadmin_stop(). */
static int
setup(struct httpadmin *h, char *err, size_t errlen)
{
	if ((h->base = event_base_new()) == NULL) {
		snprintf(err, errlen, "event_base_new failed");
		return -1;
	}
	if (h->conf.token_file != NULL &&
	    (h->token = httpadmin_read_token(h->conf.token_file, err, errlen)) == NULL)
		return -1;
	if (strcmp(h->conf.listen, "none") != 0) {
		if ((h->http = evhttp_new(h->base)) == NULL) {
			snprintf(err, errlen, "evhttp_new failed");
			return -1;
		}
		evhttp_set_gencb(h->http, handle_request, h);
		/* Other methods reach handle_request, which answers 405 rather than 501. */
		evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD |
		    EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
		if (bind_all(h, err, errlen) != 0)
			return -1;
	}
	if (h->conf.statsd != NULL && h->conf.collect != NULL &&
	    statsd_setup(h, err, errlen) != 0)
		return -1;
	return 0;
}

struct httpadmin *
httpadmin_start(const struct httpadmin_conf *conf, char *err, size_t errlen)
{
	struct httpadmin *h = xcalloc(1, sizeof(*h));

	h->conf = *conf;
	h->statsd_fd = -1;
	if (setup(h, err, errlen) != 0) {
		httpadmin_stop(h);
		return NULL;
	}
	if (pthread_create(&h->thread, NULL, admin_thread, h) != 0) {
		snprintf(err, errlen, "pthread_create: %s", strerror(errno));
		httpadmin_stop(h);
		return NULL;
	}
	h->running = 1;
	if (h->http != NULL)
		log_info("admin HTTP on %s", conf->listen);
	if (h->statsd_ev != NULL)
		log_info("pushing metrics to statsd at %s every %d ms", conf->statsd,
		    conf->statsd_interval);
	return h;
}

void
httpadmin_stop(struct httpadmin *h)
{
	if (h == NULL)
		return;
	if (h->running) {
		/*
		 * Break, not exit: loopexit lets the loop run every callback already due, and
		 * twenty queued /zones requests of a large store kept authd from stopping for
		 * seconds after SIGTERM. Requests not yet answered are dropped with the
		 * connections by evhttp_free(). The loopexit as well, for a loop not yet
		 * dispatching: event_base_loop() clears the break flag when it starts.
		 */
		event_base_loopbreak(h->base);
		event_base_loopexit(h->base, NULL);
		pthread_join(h->thread, NULL);
	}
	if (h->statsd_ev != NULL)
		event_free(h->statsd_ev);
	if (h->statsd_fd >= 0)
		close(h->statsd_fd);
	if (h->http != NULL)
		evhttp_free(h->http);
	if (h->base != NULL)
		event_base_free(h->base);
	free(h->token);
	free(h);
}
