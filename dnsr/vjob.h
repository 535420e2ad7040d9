/* vjob.h: validating one resolution's result: the chain of trust, then each RRset and denial. */
#ifndef STREAMDNS_VJOB_H
#define STREAMDNS_VJOB_H

#include <stdint.h>

#include "dnsr/iterate.h"

struct vjob;

typedef void (*vjob_done_cb)(void *arg);

/*
 * Validates what res holds that nobody has judged yet (fresh from upstream), marks each
 * entry with its verdict, caches it for clients, and sets res->sec. name is the name the
 * result ends at (after CNAMEs), qtype the question's type. Queries for DS and DNSKEY
 * spend *budget, signature and hash work vb. Returns NULL when done at once (every key
 * was known); else cb(arg) is called from the event loop when done, and the vjob must
 * then be freed with vjob_free (which also stops one that has not finished).
 */
struct vjob *vjob_start(struct iter_env *env, struct result *res, const uint8_t *name,
    uint16_t qtype, int *budget, struct val_budget *vb, vjob_done_cb cb, void *arg);
void vjob_free(struct vjob *v);

/* The key cache's size: zones' DNSKEY RRsets and verdicts (iter_env.keys). */
#define VJOB_KEY_CACHE_BYTES	(8u << 20)

#endif
