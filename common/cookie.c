/* cookie.c: RFC 9018 server cookies (version 1, timestamp, SipHash-2-4) and client cookies. */
#include <string.h>

#include <netinet/in.h>
#include <sodium.h>

#include "common/cookie.h"

void
cookie_init(struct cookie_ctx *c, const uint8_t *secret)
{
	memset(c, 0, sizeof(*c));
	if (secret != NULL)
		memcpy(c->secret[0], secret, COOKIE_SECRET_LEN);
	else
		randombytes_buf(c->secret[0], COOKIE_SECRET_LEN);
	memcpy(c->secret[2], c->secret[0], COOKIE_SECRET_LEN);
	atomic_store(&c->cur, 0);
}

void
cookie_rotate(struct cookie_ctx *c, const uint8_t *secret)
{
	unsigned next = (atomic_load(&c->cur) + 1) % 3;

	if (secret != NULL)
		memcpy(c->secret[next], secret, COOKIE_SECRET_LEN);
	else
		randombytes_buf(c->secret[next], COOKIE_SECRET_LEN);
	atomic_store_explicit(&c->cur, next, memory_order_release);
}

/* SipHash-2-4 over client cookie | version | reserved | timestamp | client address. */
static void
cookie_hash(const uint8_t *secret, const uint8_t *client_cookie, const uint8_t *head,
    const struct sockaddr *addr, uint8_t out[8])
{
	uint8_t in[COOKIE_CLIENT_LEN + 8 + 16];
	size_t n = 0;

	memcpy(in, client_cookie, COOKIE_CLIENT_LEN);
	n += COOKIE_CLIENT_LEN;
	memcpy(in + n, head, 8);
	n += 8;
	if (addr->sa_family == AF_INET) {
		memcpy(in + n, &((const struct sockaddr_in *)addr)->sin_addr, 4);
		n += 4;
	} else if (addr->sa_family == AF_INET6) {
		memcpy(in + n, &((const struct sockaddr_in6 *)addr)->sin6_addr, 16);
		n += 16;
	}
	crypto_shorthash_siphash24(out, in, n, secret);
}

void
cookie_make(struct cookie_ctx *c, const uint8_t *client_cookie, const struct sockaddr *addr,
    uint32_t now, uint8_t out[COOKIE_SERVER_LEN])
{
	unsigned cur = atomic_load_explicit(&c->cur, memory_order_acquire);

	out[0] = 1;		/* version */
	out[1] = out[2] = out[3] = 0;
	out[4] = (uint8_t)(now >> 24);
	out[5] = (uint8_t)(now >> 16);
	out[6] = (uint8_t)(now >> 8);
	out[7] = (uint8_t)now;
	cookie_hash(c->secret[cur], client_cookie, out, addr, out + 8);
}

bool
cookie_valid(struct cookie_ctx *c, const uint8_t *client_cookie, const uint8_t *server_cookie,
    size_t server_len, const struct sockaddr *addr, uint32_t now)
{
	unsigned cur = atomic_load_explicit(&c->cur, memory_order_acquire);
	uint32_t ts;
	int32_t age;
	uint8_t h[8];

	if (server_len != COOKIE_SERVER_LEN || server_cookie[0] != 1)
		return false;
	ts = ((uint32_t)server_cookie[4] << 24) | ((uint32_t)server_cookie[5] << 16) |
	    ((uint32_t)server_cookie[6] << 8) | server_cookie[7];
	age = (int32_t)(now - ts);	/* serial number arithmetic, RFC 9018 4.3 */
	if (age > 3600 || age < -300)
		return false;
	for (unsigned k = 0; k < 2; k++) {
		cookie_hash(c->secret[(cur + 3 - k) % 3], client_cookie, server_cookie, addr, h);
		if (sodium_memcmp(h, server_cookie + 8, 8) == 0)
			return true;
	}
	return false;
}

void
cookie_client(const uint8_t secret[COOKIE_SECRET_LEN], const struct sockaddr *addr,
    uint8_t out[COOKIE_CLIENT_LEN])
{
	uint8_t in[16 + 2];
	size_t n = 0;

	if (addr->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)addr;

		memcpy(in, &sin->sin_addr, 4);
		memcpy(in + 4, &sin->sin_port, 2);
		n = 6;
	} else if (addr->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)addr;

		memcpy(in, &sin6->sin6_addr, 16);
		memcpy(in + 16, &sin6->sin6_port, 2);
		n = 18;
	}
	crypto_shorthash_siphash24(out, in, n, secret);
}
