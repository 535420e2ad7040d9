/*
 * tsig.h: TSIG (RFC 8945): the key table of [tsig], judging a signed request, and signing
 * the responses to it (one message, or each message of a transfer), on libknot's
 * tsig-op and libdnssec's HMACs.
 */
#ifndef STREAMDNS_TSIG_H
#define STREAMDNS_TSIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libknot/tsig.h>

#include "common/dname.h"
#include "common/wire.h"

#define TSIG_MAC_MAX	64	/* HMAC-SHA512 */
#define TSIG_FUDGE	300	/* the fudge we sign with (libknot's, RFC 8945 10) */

/* TSIG error codes (RFC 8945 3, the TSIG Error field). */
#define TSIG_ERR_BADSIG		16
#define TSIG_ERR_BADKEY		17
#define TSIG_ERR_BADTIME	18
#define TSIG_ERR_BADTRUNC	22

/* What a request's TSIG came to (RFC 8945 5.2), in the order the checks are made. */
enum tsig_result {
	TSIG_NONE,	/* the request is not signed */
	TSIG_OK,	/* signed with a key we have, MAC and time valid */
	TSIG_FORMERR,	/* a MAC longer than the HMAC, or shorter than allowed (5.2.2.1) */
	TSIG_BADKEY,	/* a key or algorithm we do not have (5.2.1) */
	TSIG_BADSIG,	/* the MAC does not verify (5.2.2) */
	TSIG_BADTIME,	/* the time signed is outside the fudge (5.2.3) */
	TSIG_BADTRUNC,	/* a valid MAC truncated: our policy takes only full MACs (5.2.4) */
	TSIG_RESULTS
};

/* The keys: name (lower case) -> algorithm and secret. */
struct tsig_keys;

struct tsig_keys *tsig_keys_new(void);
/* Frees the keys (secrets wiped); NULL is fine. */
void tsig_keys_free(struct tsig_keys *k);

/*
 * Adds the key name (a domain name, trailing dot optional) with value
 * "ALGORITHM:BASE64-SECRET" (hmac-md5, hmac-sha1, hmac-sha224, hmac-sha256, hmac-sha384,
 * hmac-sha512). Returns 0, or -1 with the reason in err (a bad name, algorithm or base64,
 * an empty secret, a name given twice).
 */
int tsig_keys_add(struct tsig_keys *k, const char *name, const char *value, char *err,
    size_t errlen);

size_t tsig_keys_count(const struct tsig_keys *k);

/* The key of that (wire, any case) name, or NULL. */
const knot_tsig_key_t *tsig_keys_find(const struct tsig_keys *k, const uint8_t *name);

/*
 * What one request's TSIG was, kept for signing the responses to it: the first with
 * tsig_sign_first(), each later message of a multi-message response (AXFR) with
 * tsig_sign_next().
 */
struct tsig_ctx {
	enum tsig_result	 result;
	const knot_tsig_key_t	*key;		/* OK, BADTIME, BADTRUNC: the request's key */
	uint64_t		 time_signed;	/* the request's */
	uint8_t			 mac[TSIG_MAC_MAX];	/* the request's MAC, then our last */
	size_t			 mac_len;
	size_t			 nsigned;	/* messages signed so far */
	uint8_t			 key_name[DNAME_MAXLEN];	/* the request's, lower case */
	uint8_t			 alg_name[DNAME_MAXLEN];	/* the request's */
};

/*
 * Judges the TSIG of the request msg (len octets) that wire_read_message() read into q
 * (TSIG_NONE when q has none) against keys (NULL: none known) at the current time, and
 * fills ctx for the responses. The checks are RFC 8945 5.2's, in its order: key, MAC
 * (with the truncation rules of 5.2.2.1), time, truncation policy.
 */
enum tsig_result tsig_verify(const struct tsig_keys *keys, const uint8_t *msg, size_t len,
    const struct dns_query *q, struct tsig_ctx *ctx);

/* A ctx for signing a request of ours (a NOTIFY) with key: tsig_sign_first() then. */
void tsig_ctx_request(struct tsig_ctx *ctx, const knot_tsig_key_t *key);
/* The most octets the TSIG RR of a response to ctx's request takes (0: none is added). */
uint16_t tsig_reserve(const struct tsig_ctx *ctx);

/*
 * Appends the TSIG RR to the finished response msg (*len octets, at most cap) and raises
 * ARCOUNT: signed with the request's key for OK, BADTIME (the server's time in other
 * data, 5.2.3) and BADTRUNC; unsigned, MAC empty, with the error for BADKEY and BADSIG
 * (5.3.2); nothing for NONE and FORMERR. Returns 0, or -1 when it does not fit (msg is
 * unchanged then).
 */
int tsig_sign_first(struct tsig_ctx *ctx, uint8_t *msg, size_t *len, size_t cap);

/*
 * Signs the next message of a multi-message response (RFC 8945 5.3.1: the previous MAC,
 * this message, the timers) after tsig_sign_first() signed the first with TSIG_OK.
 * Returns 0, or -1 when it does not fit or ctx was not a valid signed request.
 */
int tsig_sign_next(struct tsig_ctx *ctx, uint8_t *msg, size_t *len, size_t cap);

/* The result's name, for logs and metrics ("ok", "badkey", ...). */
const char *tsig_result_name(enum tsig_result r);

/* The algorithm of a name ("hmac-sha256"), or -1; and its HMAC size in octets. */
int tsig_algorithm(const char *name);
size_t tsig_algorithm_size(int alg);

#endif
