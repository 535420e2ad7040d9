/* chaos.h: the CHAOS class answers of authd (RFC 4892 identity, version.bind). */
#ifndef STREAMDNS_CHAOS_H
#define STREAMDNS_CHAOS_H

#include <stddef.h>
#include <stdint.h>

#include "authd/answer.h"
#include "common/envelope.h"

/*
 * CH TXT (or ANY) id.server. and hostname.bind. (the identity, when identity queries are
 * on) and version.bind. and version.server. (only when a version is configured): the
 * response to q in out (lim octets), or 0 for any other CH query (the caller refuses it).
 */
size_t chaos_answer(uint8_t *out, size_t lim, const struct dns_query *q,
    const struct answer_opts *o, const struct env_opts *eo);

#endif
