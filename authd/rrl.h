/* rrl.h: response rate limiting per client prefix (/24, /56), with slip to TC=1. */
#ifndef STREAMDNS_RRL_H
#define STREAMDNS_RRL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define RRL_BUCKETS	65536

enum rrl_action { RRL_SEND, RRL_SLIP, RRL_DROP };

/*
 * One table shared by all workers: a bucket per hash of the client's prefix, holding the
 * current second and the responses sent in it, packed in one atomic word (no locks on the
 * answering path). Prefixes whose hashes collide share a budget: that only ever limits more.
 */
struct rrl {
	unsigned		 rate;		/* responses per second per prefix, 0 = off */
	unsigned		 slip;		/* every slip-th limited response is sent TC=1 */
	unsigned		 v4_prefix, v6_prefix;
	uint64_t		 seed;
	_Atomic uint64_t	 bucket[RRL_BUCKETS];	/* second << 32 | count */
	atomic_ullong		 limited;	/* responses dropped or slipped */
};

void rrl_init(struct rrl *r, unsigned rate, unsigned slip, unsigned v4, unsigned v6);
/* What to do with a UDP response to addr at time now (seconds). */
enum rrl_action rrl_check(struct rrl *r, const struct sockaddr *addr, uint32_t now);

#endif
