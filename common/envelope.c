/* envelope.c: header flags, size limits, TC and our OPT for every response we send. */
#include <assert.h>
#include <string.h>

#include "common/envelope.h"

size_t
env_limit(const struct dns_query *q, bool tcp, uint16_t udp_payload, size_t outcap)
{
	size_t lim = DNS_MIN_UDP;

	if (tcp)
		lim = DNS_MAX_MSG;
	else if (q->edns)
		lim = q->edns_udp < udp_payload ? q->edns_udp : udp_payload;
	if (lim < DNS_MIN_UDP)
		lim = DNS_MIN_UDP;
	return lim < outcap ? lim : outcap;
}

uint16_t
env_flags(const struct dns_query *q)
{
	uint16_t f = (uint16_t)(DNS_FLAG_QR | (q->flags & (DNS_OPCODE_MASK | DNS_FLAG_RD)));

	if (q->opcode == DNS_OPCODE_QUERY)
		f |= q->flags & DNS_FLAG_CD;
	return f;
}

void
env_begin(struct wire_writer *w, uint8_t *out, size_t lim, const struct dns_query *q)
{
	size_t opt = q->edns ? ENV_OPT_RESERVE : 0;

	wire_init(w, out, lim);
	env_restart(w, q);
	/*
	 * The TSIG RR comes last, after our OPT, added to the finished response by the
	 * daemon (tsig_sign_first()): its room stays held back through env_finish().
	 */
	if (w->cap > opt + q->tsig_reserve + w->len) {
		w->cap -= opt + q->tsig_reserve;
		w->reserve = opt;
	}
}

void
env_restart(struct wire_writer *w, const struct dns_query *q)
{
	wire_header(w, q->id, 0);
	if (q->has_question)
		wire_question(w, q->qname, q->qtype, q->qclass);
}

/* Appends one option (code, the data) to opts at *n. */
static void
put_option(uint8_t *opts, uint16_t *n, uint16_t code, const void *a, size_t alen,
    const void *b, size_t blen)
{
	wire_write16(opts + *n, code);
	wire_write16(opts + *n + 2, (uint16_t)(alen + blen));
	memcpy(opts + *n + 4, a, alen);
	if (blen > 0)
		memcpy(opts + *n + 4 + alen, b, blen);
	*n = (uint16_t)(*n + 4 + alen + blen);
}

static uint16_t
build_options(const struct dns_query *q, const struct env_opts *o, int ede, const char *text,
    uint8_t *opts)
{
	uint16_t n = 0;

	if (q->cookie_len == COOKIE_CLIENT_LEN + COOKIE_SERVER_LEN)
		put_option(opts, &n, EDNS_OPT_COOKIE, q->cookie, q->cookie_len, NULL, 0);
	if (q->edns_nsid && o->nsid != NULL)
		put_option(opts, &n, EDNS_OPT_NSID, o->nsid, strnlen(o->nsid, ENV_NSID_MAX),
		    NULL, 0);
	if (ede >= 0) {
		uint8_t code[2];

		wire_write16(code, (uint16_t)ede);
		put_option(opts, &n, EDNS_OPT_EDE, code, 2, text != NULL ? text : "",
		    text != NULL ? strnlen(text, ENV_EDE_TEXT_MAX) : 0);
	}
	assert(n <= ENV_OPTIONS_MAX);
	return n;
}

size_t
env_finish(struct wire_writer *w, const struct dns_query *q, const struct env_opts *o,
    uint16_t rcode, uint16_t extra, int ede, const char *text)
{
	uint8_t opts[ENV_OPTIONS_MAX];

	wire_set_flags(w, (uint16_t)(((env_flags(q) | extra) & ~DNS_RCODE_MASK) |
	    (rcode & DNS_RCODE_MASK)));
	w->cap += w->reserve;
	w->reserve = 0;
	if (q->edns)
		wire_opt(w, o->udp_payload, (uint8_t)(rcode >> 4), 0,
		    q->edns_flags & (EDNS_FLAG_DO | o->echo), opts,
		    build_options(q, o, ede, text, opts));
	return wire_finish(w);
}

size_t
env_error(uint8_t *out, size_t lim, const struct dns_query *q, const struct env_opts *o,
    uint16_t rcode, uint16_t extra, int ede, const char *text)
{
	struct wire_writer w;

	env_begin(&w, out, lim, q);
	return env_finish(&w, q, o, rcode, extra, ede, text);
}
