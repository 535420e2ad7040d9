/* rrl.c: per-prefix response rate limiting for UDP (token counts per second, lock-free). */
#include <string.h>

#include <netinet/in.h>
#include <sodium.h>

#include "authd/rrl.h"

void
rrl_init(struct rrl *r, unsigned rate, unsigned slip, unsigned v4, unsigned v6)
{
	memset(r, 0, sizeof(*r));
	r->rate = rate;
	r->slip = slip;
	r->v4_prefix = v4;
	r->v6_prefix = v6;
	randombytes_buf(&r->seed, sizeof(r->seed));
}

/* The client's prefix (address masked to /v4 or /v6), hashed with a per-process key. */
static uint32_t
prefix_hash(const struct rrl *r, const struct sockaddr *addr)
{
	uint8_t buf[17] = { 0 }, key[16], out[8];
	const uint8_t *a;
	unsigned len, bits;

	if (addr->sa_family == AF_INET) {
		a = (const uint8_t *)&((const struct sockaddr_in *)addr)->sin_addr;
		len = 4, bits = r->v4_prefix;
	} else {
		a = (const uint8_t *)&((const struct sockaddr_in6 *)addr)->sin6_addr;
		len = 16, bits = r->v6_prefix;
	}
	buf[0] = (uint8_t)len;
	for (unsigned i = 0; i < len && bits > 0; i++, bits = bits > 8 ? bits - 8 : 0)
		buf[1 + i] = (uint8_t)(a[i] & (0xff << (8 - (bits < 8 ? bits : 8))));
	memcpy(key, &r->seed, 8);
	memcpy(key + 8, &r->seed, 8);
	crypto_shorthash_siphash24(out, buf, 1 + len, key);
	return (uint32_t)out[0] | (uint32_t)out[1] << 8 | (uint32_t)out[2] << 16 |
	    (uint32_t)out[3] << 24;
}

enum rrl_action
rrl_check(struct rrl *r, const struct sockaddr *addr, uint32_t now)
{
	_Atomic uint64_t *b;
	uint64_t old, new;
	uint32_t count;

	if (r->rate == 0)
		return RRL_SEND;
	b = &r->bucket[prefix_hash(r, addr) % RRL_BUCKETS];
	old = atomic_load_explicit(b, memory_order_relaxed);
	do {
		count = (uint32_t)(old >> 32) == now ? (uint32_t)old + 1 : 1;
		new = (uint64_t)now << 32 | count;
	} while (!atomic_compare_exchange_weak_explicit(b, &old, new, memory_order_relaxed,
	    memory_order_relaxed));
	if (count <= r->rate)
		return RRL_SEND;
	atomic_fetch_add_explicit(&r->limited, 1, memory_order_relaxed);
	if (r->slip > 0 && (count - r->rate) % r->slip == 0)
		return RRL_SLIP;
	return RRL_DROP;
}
