/* pending.h: dnsr's resolutions in flight per worker, and the clients waiting for each. */
#ifndef STREAMDNS_DNSR_PENDING_H
#define STREAMDNS_DNSR_PENDING_H

#include <stddef.h>
#include <stdint.h>

struct client;
struct conn;
struct dns_query;
struct worker;

/*
 * Called by server.c for a query the cache cannot answer (RD=1): joins the resolution of
 * (name, q->qtype) on wk, or starts one; cl then gets its answer from server_answer_late()
 * when it is over. name is q's name in lower case. 0, or an RCODE to answer at once
 * (SERVFAIL: too many resolutions, or too many clients waiting for this one).
 */
uint16_t pending_wait(struct worker *wk, const uint8_t *name, const struct dns_query *q,
    const struct client *cl);
/*
 * Called by server.c and sock.c when c goes or stops being answered: unlinks its waiters,
 * which stay with their resolutions (the answers still fill the cache) but get nothing.
 */
void pending_conn_drop(struct conn *c);
/* Called by sock.c for its log line: how many of c's queries wait for a resolution. */
size_t pending_conn_inflight(const struct conn *c);
/* Called by server.c as a worker stops, after its connections: cancels and frees them all. */
void pending_free_all(struct worker *wk);

#endif
