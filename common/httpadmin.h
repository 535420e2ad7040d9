/* httpadmin.h: a daemon's admin HTTP endpoint (evhttp on its own thread) and statsd push. */
#ifndef STREAMDNS_HTTPADMIN_H
#define STREAMDNS_HTTPADMIN_H

#include <stddef.h>
#include <stdint.h>

#include <event2/http.h>

#include "common/metrics.h"

/* Answers one GET whose path matched; uri is the whole request URI (with the query). */
typedef void (*httpadmin_handler)(struct evhttp_request *req, const char *uri, void *arg);

struct httpadmin_route {
	const char		*path;		/* "/ready": exact match, query string ignored */
	httpadmin_handler	 fn;
};

/* What a daemon hands httpadmin_start(); the strings must outlive the endpoint. */
struct httpadmin_conf {
	const char			*listen;	/* ADDR:PORT, ...; "none": no HTTP */
	int				 default_port;	/* for an ADDR without a port */
	const char			*token_file;	/* NULL: no token required */
	const char			*statsd;	/* HOST:PORT; NULL: no push */
	const char			*statsd_prefix;
	int				 statsd_interval;	/* ms */
	/* Renders every metric: /metrics (Prometheus text) and the statsd push. */
	void				(*collect)(void *arg, const struct metric_sink *s);
	/* The daemon's own paths; /health and /metrics are answered here. */
	const struct httpadmin_route	*routes;
	size_t				 nroutes;
	void				*arg;		/* passed to collect and the routes */
	/* Called on the admin thread at its start and end (liburcu registration); may be NULL. */
	void				(*thread_start)(void);
	void				(*thread_stop)(void);
};

/*
 * The [admin] and [metrics] keys, the same in every daemon's configuration c (fields
 * admin_listen, admin_token_file, statsd, statsd_prefix, statsd_interval): initializers
 * for a struct httpadmin_conf.
 */
#define HTTPADMIN_CONF_KEYS(c, port)						\
	.listen = (c)->admin_listen, .default_port = (port),			\
	.token_file = (c)->admin_token_file, .statsd = (c)->statsd,		\
	.statsd_prefix = (c)->statsd_prefix, .statsd_interval = (c)->statsd_interval

struct httpadmin;

/*
 * Reads the token file, binds every listen address, opens the statsd socket and starts
 * the admin thread (its own event_base). Only GET is served: other methods get 405, a
 * request without the bearer token (when there is one) 401, an unknown path 404.
 * Logs where it listens and pushes. Returns NULL with the reason in err when a step
 * fails (nothing is left running).
 */
struct httpadmin *httpadmin_start(const struct httpadmin_conf *conf, char *err,
    size_t errlen);
/*
 * Stops the thread (no handler or statsd flush runs after it returns) and frees all.
 * Callers stop it before freeing anything collect or the routes read. NULL is fine.
 */
void httpadmin_stop(struct httpadmin *h);

/* Replies with body (copied) and Content-Type ctype. */
void httpadmin_reply(struct evhttp_request *req, int code, const char *reason,
    const char *ctype, const char *body, size_t len);
/* A text/plain reply. */
void httpadmin_reply_text(struct evhttp_request *req, int code, const char *reason,
    const char *text);

/* The resident set size of this process in octets (0 when unknown). */
long httpadmin_rss_bytes(void);

/*
 * Emits the gauge name (e.g. streamdns_authd_info), constant 1, labelled with
 * version="STREAMDNS_VERSION" and, when identity is not NULL, identity="..." (quotes,
 * backslashes and newlines replaced by '_').
 */
void httpadmin_info(const struct metric_sink *s, const char *name, const char *identity);

/*
 * The token in path: its first 511 octets, trailing white space removed. NULL with the
 * reason in err when it cannot be read or is empty. The caller frees it.
 */
char *httpadmin_read_token(const char *path, char *err, size_t errlen);

/* Is "Authorization: Bearer <token>" present? Compared in constant time. */
int httpadmin_token_ok(const char *token, const char *authorization);

/*
 * Splits statsd lines (each ending in '\n') into datagrams of whole lines of at most
 * HTTPADMIN_STATSD_MAX octets (a longer line is cut), calling send for each.
 */
#define HTTPADMIN_STATSD_MAX	1400
void httpadmin_statsd_split(const char *s, size_t len,
    void (*send)(void *arg, const char *p, size_t n), void *arg);

#endif
