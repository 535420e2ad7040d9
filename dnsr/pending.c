/* pending.c: dnsr's resolutions in flight per worker, shared by the clients that ask the same. */
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "dnsr/pending.h"
#include "dnsr/worker.h"

#define WAITERS_MAX	4096		/* clients waiting for one resolution */

/* A client waiting for a resolution. */
struct waiter {
	struct waiter		*next;		/* in the pending resolution */
	struct waiter		*cprev, *cnext;	/* in authd's socket connection */
	struct client		 cl;
	struct dns_query	 q;
};

/* A resolution in flight and the clients waiting for it (same name and type). */
struct pending {
	struct pending	*hnext;
	struct worker	*wk;
	uint64_t	 hash;
	uint8_t		 name[DNAME_MAXLEN];
	uint16_t	 qtype;
	size_t		 nwaiters;
	struct waiter	*waiters;
	struct iter	*it;
	uint64_t	 started_us;	/* clock_mono_us() */
};

static void
waiter_unlink_conn(struct waiter *w)
{
	struct conn *c = w->cl.conn;

	if (c == NULL)
		return;
	if (w->cprev != NULL)
		w->cprev->cnext = w->cnext;
	else
		c->waiters = w->cnext;
	if (w->cnext != NULL)
		w->cnext->cprev = w->cprev;
	w->cprev = w->cnext = NULL;
	w->cl.conn = NULL;
}

/* Forgets a waiter: out of its connection's list, its client released. */
static void
waiter_free(struct waiter *w)
{
	waiter_unlink_conn(w);
	fe_peer_release(&w->cl.peer);
	free(w);
}

static uint64_t
pending_hash(const uint8_t *name, uint16_t qtype)
{
	return dname_hash(name, dname_len(name)) ^ ((uint64_t)qtype * 0x9e3779b97f4a7c15ULL);
}

static struct pending **
pending_slot(struct worker *wk, uint64_t hash, const uint8_t *name, uint16_t qtype)
{
	struct pending **pp = &wk->pending[hash & (PENDING_BUCKETS - 1)];

	for (; *pp != NULL; pp = &(*pp)->hnext)
		if ((*pp)->hash == hash && (*pp)->qtype == qtype &&
		    dname_equal((*pp)->name, name))
			break;
	return pp;
}

/* The resolution is over: every waiting client gets the answer. */
static void
on_resolved(void *arg, const struct result *res)
{
	struct pending *p = arg, **pp;
	struct worker *wk = p->wk;

	pp = pending_slot(wk, p->hash, p->name, p->qtype);
	if (*pp == p)
		*pp = p->hnext;
	wk->npending--;
	histogram_observe(&wk->stats.resolve_latency, clock_mono_us() - p->started_us);
	while (p->waiters != NULL) {
		struct waiter *w = p->waiters;

		p->waiters = w->next;
		server_answer_late(wk, &w->cl, &w->q, res);
		waiter_free(w);
	}
	free(p);
}

/* Joins the resolution of (name, qtype), or starts one; 0, or an RCODE to answer now. */
uint16_t
pending_wait(struct worker *wk, const uint8_t *name, const struct dns_query *q,
    const struct client *cl)
{
	uint64_t hash = pending_hash(name, q->qtype);
	struct pending **pp = pending_slot(wk, hash, name, q->qtype), *p = *pp;
	struct waiter *w;

	if (p == NULL) {
		if (wk->npending >= (size_t)wk->srv->conf->max_resolutions)
			return DNS_RCODE_SERVFAIL;
		p = xcalloc(1, sizeof(*p));
		p->wk = wk;
		p->hash = hash;
		memcpy(p->name, name, dname_len(name));
		p->qtype = q->qtype;
		p->started_us = clock_mono_us();
		p->it = iter_start(&wk->env, name, q->qtype, on_resolved, p);
		p->hnext = *pp;
		*pp = p;
		wk->npending++;
	} else if (p->nwaiters >= WAITERS_MAX) {
		return DNS_RCODE_SERVFAIL;
	}
	w = xcalloc(1, sizeof(*w));
	w->cl = *cl;
	if (cl->req != NULL)
		fe_peer_hold(&w->cl.peer, cl->req);	/* UDP, TCP: answered later */
	w->cl.req = NULL;
	w->q = *q;
	w->next = p->waiters;
	p->waiters = w;
	p->nwaiters++;
	if (cl->conn != NULL) {
		w->cnext = cl->conn->waiters;
		if (w->cnext != NULL)
			w->cnext->cprev = w;
		cl->conn->waiters = w;
	}
	return 0;
}

/* Resolutions go on (their answers fill the cache); these clients are just gone. */
void
pending_conn_drop(struct conn *c)
{
	while (c->waiters != NULL)
		waiter_unlink_conn(c->waiters);
}

/* How many of c's queries wait for a resolution. */
size_t
pending_conn_inflight(const struct conn *c)
{
	size_t inflight = 0;

	for (const struct waiter *w = c->waiters; w != NULL; w = w->cnext)
		inflight++;
	return inflight;
}

/* The worker stops: its resolutions are cancelled and their clients forgotten. */
void
pending_free_all(struct worker *wk)
{
	for (size_t i = 0; i < PENDING_BUCKETS; i++) {
		while (wk->pending[i] != NULL) {
			struct pending *p = wk->pending[i];

			wk->pending[i] = p->hnext;
			iter_cancel(p->it);
			while (p->waiters != NULL) {
				struct waiter *w = p->waiters;

				p->waiters = w->next;
				waiter_free(w);
			}
			free(p);
		}
	}
}
