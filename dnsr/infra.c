/* infra.c: the upstream server table: smoothed RTT, exponential back-off, cookies; shared. */
#include <assert.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "dnsr/infra.h"
#include "common/clock.h"
#include "common/cookie.h"
#include "common/dname.h"

#define INFRA_SLOTS		16384	/* a power of two */
#define INFRA_COOKIE_SLOTS	4096	/* likewise: servers whose cookie we remember */
#define ADDR_KEY_LEN		18	/* an IPv6 address (or IPv4, zero-padded), a port */

struct slot {
	uint64_t	key;		/* hash of (address, port, zone); 0 = empty */
	uint64_t	srtt_us;
	uint64_t	backoff_until;	/* ms */
	uint32_t	backoff_ms;	/* the last back-off, doubled on the next failure */
};

/* A server cookie is per server, not per zone: keyed by the full address. */
struct cookie_slot {
	uint8_t		addr[ADDR_KEY_LEN];	/* address then port; all zero = empty */
	uint8_t		len;
	uint8_t		cookie[INFRA_COOKIE_MAX];
};

struct infra {
	pthread_mutex_t		lock;
	uint8_t			secret[COOKIE_SECRET_LEN];	/* for our client cookies */
	struct slot		slots[INFRA_SLOTS];
	struct cookie_slot	cookies[INFRA_COOKIE_SLOTS];
};

struct infra *
infra_new(void)
{
	struct infra *inf = calloc(1, sizeof(*inf));

	if (inf != NULL) {
		pthread_mutex_init(&inf->lock, NULL);
		randombytes_buf(inf->secret, sizeof(inf->secret));
	}
	return inf;
}

void
infra_free(struct infra *inf)
{
	if (inf == NULL)
		return;
	pthread_mutex_destroy(&inf->lock);
	free(inf);
}

/* The address and port of sa as 18 octets (IPv4 padded with zeros). */
static void
addr_key(const struct sockaddr *sa, uint8_t key[ADDR_KEY_LEN])
{
	assert(sa->sa_family == AF_INET || sa->sa_family == AF_INET6);
	memset(key, 0, ADDR_KEY_LEN);
	if (sa->sa_family == AF_INET) {
		memcpy(key, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		memcpy(key + 16, &((const struct sockaddr_in *)sa)->sin_port, 2);
	} else {
		memcpy(key, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		memcpy(key + 16, &((const struct sockaddr_in6 *)sa)->sin6_port, 2);
	}
}

/* FNV-1a over the address key, from h. */
static uint64_t
addr_hash(uint64_t h, const uint8_t key[ADDR_KEY_LEN])
{
	for (size_t i = 0; i < ADDR_KEY_LEN; i++)
		h = (h ^ key[i]) * 0x100000001b3ULL;
	return h;
}

/* The zone name's hash (seeded) mixed with the address and port; never 0 (empty slot). */
static uint64_t
key_of(const struct sockaddr *sa, const uint8_t *zone)
{
	uint8_t key[ADDR_KEY_LEN];
	uint64_t h;

	addr_key(sa, key);
	h = addr_hash(dname_hash(zone, dname_len(zone)), key);
	h ^= h >> 31;
	return h == 0 ? 1 : h;
}

static struct slot *
slot_of(struct infra *inf, uint64_t key)
{
	return &inf->slots[key & (INFRA_SLOTS - 1)];
}

/* The slot for key, (re)initialised as unknown when it holds another key. */
static struct slot *
claim(struct infra *inf, uint64_t key)
{
	struct slot *s = slot_of(inf, key);

	if (s->key != key) {
		memset(s, 0, sizeof(*s));
		s->key = key;
		s->srtt_us = INFRA_UNKNOWN_RTT;
	}
	return s;
}

/* Locks inf and returns the slot of (sa, zone), claimed; the caller unlocks. */
static struct slot *
lock_claim(struct infra *inf, const struct sockaddr *sa, const uint8_t *zone)
{
	uint64_t key = key_of(sa, zone);

	pthread_mutex_lock(&inf->lock);
	return claim(inf, key);
}

uint64_t
infra_score(struct infra *inf, const struct sockaddr *sa, const uint8_t *zone,
    uint64_t now_ms)
{
	uint64_t key = key_of(sa, zone), score;
	struct slot *s;

	pthread_mutex_lock(&inf->lock);
	s = slot_of(inf, key);
	if (s->key != key)
		score = INFRA_UNKNOWN_RTT + randombytes_uniform(1000);
	else
		score = s->srtt_us + (s->backoff_until > now_ms ? INFRA_PENALTY : 0);
	pthread_mutex_unlock(&inf->lock);
	return score;
}

void
infra_success(struct infra *inf, const struct sockaddr *sa, const uint8_t *zone,
    uint64_t rtt_us, uint64_t now_ms)
{
	struct slot *s = lock_claim(inf, sa, zone);

	/* The first measurement replaces the guess; later ones are smoothed (7/8 old). */
	if (s->srtt_us == INFRA_UNKNOWN_RTT)
		s->srtt_us = rtt_us;
	else
		s->srtt_us = (s->srtt_us * 7 + rtt_us) / 8;
	s->backoff_until = 0;
	s->backoff_ms = 0;
	pthread_mutex_unlock(&inf->lock);
}

void
infra_failure(struct infra *inf, const struct sockaddr *sa, const uint8_t *zone,
    uint64_t timeout_us, uint64_t now_ms)
{
	struct slot *s = lock_claim(inf, sa, zone);

	s->backoff_ms = s->backoff_ms == 0 ? INFRA_BACKOFF_MIN :
	    (s->backoff_ms * 2 > INFRA_BACKOFF_MAX ? INFRA_BACKOFF_MAX : s->backoff_ms * 2);
	s->backoff_until = now_ms + s->backoff_ms;
	if (timeout_us > s->srtt_us)
		s->srtt_us = timeout_us;
	pthread_mutex_unlock(&inf->lock);
}

/* The address key of sa, and the cookie slot it goes in. */
static size_t
cookie_key(const struct sockaddr *sa, uint8_t key[ADDR_KEY_LEN])
{
	uint64_t h;

	addr_key(sa, key);
	h = addr_hash(0xcbf29ce484222325ULL, key);
	return (size_t)((h ^ (h >> 29)) & (INFRA_COOKIE_SLOTS - 1));
}

size_t
infra_cookie(struct infra *inf, const struct sockaddr *sa, uint8_t client[8],
    uint8_t server[INFRA_COOKIE_MAX])
{
	uint8_t key[ADDR_KEY_LEN];
	size_t i = cookie_key(sa, key), len = 0;

	cookie_client(inf->secret, sa, client);
	pthread_mutex_lock(&inf->lock);
	if (memcmp(inf->cookies[i].addr, key, sizeof(key)) == 0) {
		len = inf->cookies[i].len;
		memcpy(server, inf->cookies[i].cookie, len);
	}
	pthread_mutex_unlock(&inf->lock);
	return len;
}

void
infra_cookie_learn(struct infra *inf, const struct sockaddr *sa, const uint8_t *server,
    size_t len)
{
	uint8_t key[ADDR_KEY_LEN];
	size_t i = cookie_key(sa, key);

	if (len < 8 || len > INFRA_COOKIE_MAX)
		return;
	pthread_mutex_lock(&inf->lock);
	memcpy(inf->cookies[i].addr, key, sizeof(key));
	inf->cookies[i].len = (uint8_t)len;
	memcpy(inf->cookies[i].cookie, server, len);
	pthread_mutex_unlock(&inf->lock);
}
