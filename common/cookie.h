/* cookie.h: DNS cookies (RFC 7873): server cookies as RFC 9018, client cookies as 7873 5.1. */
#ifndef STREAMDNS_COOKIE_H
#define STREAMDNS_COOKIE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define COOKIE_CLIENT_LEN	8
#define COOKIE_SERVER_LEN	16	/* version 1, reserved, timestamp, SipHash-2-4 */
#define COOKIE_SECRET_LEN	16

/*
 * The secrets: the current one makes cookies, the previous one still validates them, so a
 * rotation does not invalidate the cookies clients hold. Three slots: a rotation writes the
 * slot no reader uses, then publishes it.
 */
struct cookie_ctx {
	uint8_t		secret[3][COOKIE_SECRET_LEN];
	atomic_uint	cur;
};

/* secret == NULL: a random one (a fleet behind one address should share a configured one). */
void cookie_init(struct cookie_ctx *c, const uint8_t *secret);
/* A new secret (random, or the given one); the current one becomes the previous. */
void cookie_rotate(struct cookie_ctx *c, const uint8_t *secret);

/* Writes our server cookie for this client cookie and address at time now (seconds). */
void cookie_make(struct cookie_ctx *c, const uint8_t *client_cookie,
    const struct sockaddr *addr, uint32_t now, uint8_t out[COOKIE_SERVER_LEN]);
/* Is server_cookie one of ours, for this client, made in the last hour (RFC 9018 4.3)? */
bool cookie_valid(struct cookie_ctx *c, const uint8_t *client_cookie,
    const uint8_t *server_cookie, size_t server_len, const struct sockaddr *addr,
    uint32_t now);

/*
 * Our client cookie for the server at addr (address and port), as a resolver sends it
 * upstream (RFC 7873 5.1): SipHash-2-4 of the server's address under a per-process secret,
 * so that each server sees its own cookie and none can predict another's.
 */
void cookie_client(const uint8_t secret[COOKIE_SECRET_LEN], const struct sockaddr *addr,
    uint8_t out[COOKIE_CLIENT_LEN]);

#endif
