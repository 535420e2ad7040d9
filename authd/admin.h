/* admin.h: the HTTP admin endpoint (/metrics /health /ready /zones) and the statsd push. */
#ifndef STREAMDNS_ADMIN_H
#define STREAMDNS_ADMIN_H

#include "authd/authd.h"

struct admin;

/*
 * Starts the admin thread: evhttp on [admin] listen (unless "none") and the statsd timer
 * (when [metrics] statsd is set). Returns NULL with a log line when it cannot listen or
 * read the token file.
 */
struct admin *admin_start(const struct authd_conf *conf, struct authd_state *st);
void admin_stop(struct admin *a);

/* Renders every authd metric into sink (used by /metrics and statsd; tests). */
void admin_collect(struct authd_state *st, const struct metric_sink *sink);

#endif
