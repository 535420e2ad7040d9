/* admin.h: dnsr's admin HTTP endpoint (/metrics /health /ready) and statsd push. */
#ifndef STREAMDNS_DNSR_ADMIN_H
#define STREAMDNS_DNSR_ADMIN_H

#include "dnsr/cache.h"
#include "dnsr/dnsr.h"
#include "dnsr/server.h"
#include "common/metrics.h"

struct dnsr_admin;

/*
 * Starts the admin thread (common/httpadmin) on [admin] listen (unless "none"), with the
 * statsd push when [metrics] statsd is set; called by main once the server listens (so
 * /ready is 200 from the start: dnsr has nothing to catch up). conf, srv and cache must
 * outlive it. Returns NULL with the reason in err when it cannot listen or read the token
 * file.
 */
struct dnsr_admin *dnsr_admin_start(const struct dnsr_conf *conf, struct dnsr_server *srv,
    struct cache *cache, char *err, size_t errlen);
/* Stops the thread; main calls it before stopping the server and freeing the cache. */
void dnsr_admin_stop(struct dnsr_admin *a);

/* Renders every dnsr metric into sink (used by /metrics and statsd). */
void dnsr_admin_collect(struct dnsr_server *srv, struct cache *cache,
    const struct metric_sink *sink);

#endif
