/* signer.c: RRSIGs for authd's answers, made online and cached per RRset version. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <urcu.h>

#include "authd/signer.h"
#include "common/dname.h"
#include "common/log.h"
#include "common/wire.h"

struct sign_stats sign_stats;

static atomic_uint_fast64_t keys_serial;

/*
 * A signature cache: the RRSIG RDATAs of some RRsets of one vector (or of the zone's
 * synthesised apex RRsets), all made with one key set, one set of signing keys and one
 * quantum. Replaced whole (copy, add, compare-and-swap); the replaced one is freed after
 * a grace period. Entries: type (2), count (1), then count times length (2) and RDATA.
 */
struct sig_cache {
	struct rcu_head	 rcu;
	uint64_t	 serial;
	uint32_t	 inception;
	uint32_t	 mask;
	size_t		 len;
	uint8_t		 data[];
};

/* The apex RRsets made from the keys, for one state of them (see sign_apex_rrset). */
struct apex_sets {
	struct rcu_head		 rcu;
	uint32_t		 published, ds;	/* masks of keys */
	uint32_t		 ttl;
	struct rrset		*sets[3];	/* DNSKEY, CDS, CDNSKEY; NULL when empty */
	_Atomic(struct sig_cache *) sigs;
};

/* The DS RRset a parent serves for a child on the topic, made from the child's keys. */
struct ds_set {
	struct rcu_head		 rcu;
	uint32_t		 mask, ttl;
	struct rrset		*rs;		/* NULL: no key wants a DS */
	_Atomic(struct sig_cache *) sigs;	/* the parent's RRSIGs over it */
};

/* ---- the zone's keys ---- */

struct zone_keys *
zone_keys_new(const uint8_t *apex, const char *value, size_t len,
    const struct keyset_secrets *secrets, char *err, size_t errlen)
{
	struct keyset *ks = keyset_parse(apex, value, len, err, errlen);
	struct zone_keys *zk;
	char why[160];

	if (ks == NULL)
		return NULL;
	zk = xcalloc(1, sizeof(*zk));
	zk->serial = atomic_fetch_add(&keys_serial, 1) + 1;
	zk->ks = ks;
	zk->value = xmalloc(len + 1);
	memcpy(zk->value, value, len);
	zk->value[len] = '\0';
	zk->valuelen = len;
	if (ks->nkeys == 0)
		zk->usable = true;
	else if (secrets == NULL || secrets->n == 0)
		snprintf(zk->why, sizeof(zk->why), "no [dnssec] secret-file to unseal its keys");
	else if (keyset_unseal_any(ks, secrets, why, sizeof(why)) < 0)
		snprintf(zk->why, sizeof(zk->why), "keys cannot be unsealed: %s", why);
	else
		zk->usable = true;
	return zk;
}

static void
ds_set_free(struct ds_set *d)
{
	if (d == NULL)
		return;
	free(d->rs);
	sign_cache_free(atomic_load(&d->sigs));
	free(d);
}

static void
ds_set_free_rcu(struct rcu_head *h)
{
	ds_set_free(caa_container_of(h, struct ds_set, rcu));
}

static void
apex_sets_free(struct apex_sets *as)
{
	if (as == NULL)
		return;
	for (int i = 0; i < 3; i++)
		free(as->sets[i]);
	sign_cache_free(atomic_load(&as->sigs));
	free(as);
}

static void
apex_sets_free_rcu(struct rcu_head *h)
{
	apex_sets_free(caa_container_of(h, struct apex_sets, rcu));
}

void
zone_keys_free(struct zone_keys *zk)
{
	if (zk == NULL)
		return;
	apex_sets_free(atomic_load(&zk->apex));
	ds_set_free(atomic_load(&zk->ds));
	keyset_free(zk->ks);
	free(zk->value);
	free(zk);
}

bool
zone_keys_signed(const struct zone_keys *zk, time_t now)
{
	if (zk == NULL)
		return false;
	for (size_t i = 0; i < zk->ks->nkeys; i++)
		if (keyset_signing(&zk->ks->keys[i], now))
			return true;
	return false;
}

/* ---- signing ---- */

int
sign_begin(struct sign_ctx *sc, const struct zone_keys *zk, const uint8_t *apex,
    time_t now)
{
	const struct keyset *ks = zk->ks;

	sc->zk = zk;
	sc->apex = apex;
	sc->now = now;
	sc->used = 0;
	sc->as = NULL;
	sc->zmask = sc->kmask = 0;
	if (!zk->usable)
		return -1;
	for (size_t i = 0; i < ks->nkeys; i++) {
		const struct keyset_key *k = &ks->keys[i];

		if (!keyset_signing(k, now))
			continue;
		if (k->role != KEY_KSK)
			sc->zmask |= 1u << i;
		if (k->role != KEY_ZSK)
			sc->kmask |= 1u << i;
	}
	/* A split set with one half not signing yet: the other half signs everything. */
	if (sc->zmask == 0)
		sc->zmask = sc->kmask;
	if (sc->kmask == 0)
		sc->kmask = sc->zmask;
	if (sc->zmask == 0)
		return -1;
	sc->inception = (uint32_t)(now / SIGN_QUANTUM * SIGN_QUANTUM - SIGN_BACKDATE);
	sc->expiration = sc->inception + SIGN_VALIDITY;
	return 0;
}

bool
sign_own_type(uint16_t type)
{
	switch (type) {
	case DNS_TYPE_DNSKEY: case DNS_TYPE_CDS: case DNS_TYPE_CDNSKEY: case DNS_TYPE_RRSIG:
	case DNS_TYPE_NSEC: case DNS_TYPE_NSEC3: case DNS_TYPE_NSEC3PARAM:
		return true;
	default:
		return false;
	}
}

static bool
signs_dnskey(uint16_t type)
{
	return type == DNS_TYPE_DNSKEY || type == DNS_TYPE_CDS || type == DNS_TYPE_CDNSKEY;
}

static void
put32(uint8_t *p, uint32_t v)
{
	wire_write16(p, (uint16_t)(v >> 16));
	wire_write16(p + 2, (uint16_t)v);
}

/* The data a signature covers, built in a buffer sized for it. */
struct sigdata {
	uint8_t		*p;
	size_t		 len, cap;
};

static int
sigdata_add(void *arg, const uint8_t *p, size_t len)
{
	struct sigdata *d = arg;

	if (d->len + len > d->cap)
		return -1;
	memcpy(d->p + d->len, p, len);
	d->len += len;
	return 0;
}

/*
 * The RRSIG RDATA of rs at owner by key k into out (SIGN_RDATA_MAX): the fields of RFC
 * 4034 3.1, then the signature over them and the RRset in canonical form (3.1.8.1).
 * Returns its length, or 0.
 */
static size_t
make_rrsig(const struct sign_ctx *sc, const struct keyset_key *k, const uint8_t *owner,
    const struct rrset *rs, uint8_t *out)
{
	/* A typical RRset is signed from the stack; a large one from one heap block. */
	uint8_t sbuf[4096], sig[KEYSET_SIG_MAX];
	size_t olen = dname_len(owner), alen = dname_len(sc->apex), pre = 18 + alen, siglen;
	struct sigdata d = { sbuf, 0, pre + (size_t)rs->count * (olen + 10) + rs->datalen };
	int labels = dname_labels(owner);

	if (d.cap > sizeof(sbuf) && (d.p = malloc(d.cap)) == NULL)
		return 0;
	if (owner[0] == 1 && owner[1] == '*')
		labels--;	/* RFC 4034 3.1.3: the wildcard label is not counted */
	wire_write16(out, rs->type);
	out[2] = k->algorithm;
	out[3] = (uint8_t)labels;
	put32(out + 4, rs->ttl);
	put32(out + 8, sc->expiration);
	put32(out + 12, sc->inception);
	wire_write16(out + 16, k->tag);
	memcpy(out + 18, sc->apex, alen);
	/* RFC 4034 3.1.8.1: the RRSIG RDATA without its signature, then the RRset. */
	sigdata_add(&d, out, pre);
	siglen = rrset_canonical(owner, rs, rs->ttl, sigdata_add, &d) == 0 ?
	    keyset_sign(k, d.p, d.len, sig) : 0;
	if (d.p != sbuf)
		free(d.p);
	if (siglen == 0)
		return 0;
	atomic_fetch_add_explicit(&sign_stats.signatures, 1, memory_order_relaxed);
	memcpy(out + pre, sig, siglen);
	return pre + siglen;
}

/* The cached RRSIGs of type in c, or -1. */
static int
cache_find(const struct sig_cache *c, uint16_t type, struct rrsigs *out)
{
	size_t p = 0;

	while (p + 3 <= c->len) {
		uint16_t t = (uint16_t)(c->data[p] << 8 | c->data[p + 1]);
		size_t count = c->data[p + 2];

		p += 3;
		if (t == type)
			out->n = 0;
		for (size_t i = 0; i < count; i++) {
			uint16_t l = (uint16_t)(c->data[p] << 8 | c->data[p + 1]);

			if (t == type) {
				out->rdata[out->n] = c->data + p + 2;
				out->len[out->n++] = l;
			}
			p += 2 + l;
		}
		if (t == type)
			return 0;
	}
	return -1;
}

static void
sig_cache_free_rcu(struct rcu_head *h)
{
	free(caa_container_of(h, struct sig_cache, rcu));
}

/* Adds out's RRSIGs of type to the cache in slot (which another thread may change). */
static void
cache_add(_Atomic(struct sig_cache *) *slot, struct sig_cache *old, const struct sign_ctx *sc,
    uint32_t mask, uint16_t type, const struct rrsigs *sigs)
{
	size_t keep = old != NULL ? old->len : 0, add = 3;
	struct sig_cache *c;
	uint8_t *p;

	for (size_t i = 0; i < sigs->n; i++)
		add += 2 + sigs->len[i];
	c = malloc(sizeof(*c) + keep + add);
	if (c == NULL)
		return;
	c->serial = sc->zk->serial;
	c->inception = sc->inception;
	c->mask = mask;
	c->len = keep + add;
	if (keep > 0)
		memcpy(c->data, old->data, keep);
	p = c->data + keep;
	wire_write16(p, type);
	p[2] = (uint8_t)sigs->n;
	p += 3;
	for (size_t i = 0; i < sigs->n; i++) {
		wire_write16(p, sigs->len[i]);
		memcpy(p + 2, sigs->rdata[i], sigs->len[i]);
		p += 2 + sigs->len[i];
	}
	if (!atomic_compare_exchange_strong(slot, &old, c)) {
		free(c);	/* another worker cached first; ours is in sc->buf */
		return;
	}
	atomic_fetch_add_explicit(&sign_stats.cache_bytes, sizeof(*c) + c->len,
	    memory_order_relaxed);
	if (old != NULL) {
		atomic_fetch_sub_explicit(&sign_stats.cache_bytes, sizeof(*old) + old->len,
		    memory_order_relaxed);
		call_rcu(&old->rcu, sig_cache_free_rcu);
	}
}

static bool
cache_current(const struct sig_cache *c, const struct sign_ctx *sc, uint32_t mask)
{
	return c != NULL && c->serial == sc->zk->serial && c->inception == sc->inception &&
	    c->mask == mask;
}

static int
sign_cached(struct sign_ctx *sc, const uint8_t *owner, const struct rrset *rs,
    _Atomic(struct sig_cache *) *slot, struct rrsigs *out)
{
	uint32_t mask = signs_dnskey(rs->type) ? sc->kmask : sc->zmask;
	struct sig_cache *c = slot != NULL ? atomic_load_explicit(slot, memory_order_acquire) : NULL;

	out->n = 0;
	if (cache_current(c, sc, mask) && cache_find(c, rs->type, out) == 0) {
		atomic_fetch_add_explicit(&sign_stats.cache_hits, 1, memory_order_relaxed);
		return 0;
	}
	for (size_t i = 0; i < sc->zk->ks->nkeys && out->n < SIGN_RRSIGS_MAX; i++) {
		size_t len;

		if (!(mask & (1u << i)))
			continue;
		if (sc->used + SIGN_RDATA_MAX > sizeof(sc->buf))
			return -1;
		len = make_rrsig(sc, &sc->zk->ks->keys[i], owner, rs, sc->buf + sc->used);
		if (len == 0)
			return -1;
		out->rdata[out->n] = sc->buf + sc->used;
		out->len[out->n++] = (uint16_t)len;
		sc->used += len;
	}
	if (slot != NULL)
		cache_add(slot, cache_current(c, sc, mask) ? c : NULL, sc, mask, rs->type, out);
	return 0;
}

int
sign_rrset(struct sign_ctx *sc, const uint8_t *owner, const struct rrset *rs,
    const struct rrset_vec *vec, struct rrsigs *out)
{
	_Atomic(struct sig_cache *) *slot = NULL;

	if (vec != NULL && vec->count > 0)
		slot = &((struct rrset_vec *)vec)->sigs;
	return sign_cached(sc, owner, rs, slot, out);
}

void
sign_cache_free(void *cache)
{
	struct sig_cache *c = cache;

	if (c == NULL)
		return;
	atomic_fetch_sub_explicit(&sign_stats.cache_bytes, sizeof(*c) + c->len,
	    memory_order_relaxed);
	free(c);
}

/* ---- the apex RRsets made from the keys ---- */

static struct rrset *
build_set(const struct keyset *ks, uint16_t type, uint32_t mask, uint32_t ttl)
{
	struct rrset_builder b;
	struct rrset *rs;
	uint8_t rd[256];

	if (mask == 0)
		return NULL;
	rrset_builder_init(&b, type);
	for (size_t i = 0; i < ks->nkeys; i++) {
		size_t len;

		if (!(mask & (1u << i)))
			continue;
		if (type == DNS_TYPE_CDS)
			len = keyset_ds_rdata(ks, &ks->keys[i], rd, sizeof(rd));
		else
			len = keyset_dnskey_rdata(&ks->keys[i], rd, sizeof(rd));
		if (len > 0)
			rrset_builder_add(&b, ttl, rd, (uint16_t)len);
	}
	rs = rrset_builder_finish(&b);
	rrset_builder_clear(&b);
	return rs;
}

const struct rrset *
sign_apex_rrset(struct sign_ctx *sc, uint16_t type, uint32_t ttl)
{
	const struct keyset *ks = sc->zk->ks;
	struct zone_keys *zk = (struct zone_keys *)sc->zk;
	uint32_t published = 0, ds = 0;
	struct apex_sets *as, *old;
	int idx = type == DNS_TYPE_DNSKEY ? 0 : type == DNS_TYPE_CDS ? 1 : 2;

	for (size_t i = 0; i < ks->nkeys; i++) {
		if (keyset_published(&ks->keys[i], sc->now))
			published |= 1u << i;
		if (keyset_wants_ds(&ks->keys[i], sc->now))
			ds |= 1u << i;
	}
	as = old = atomic_load_explicit(&zk->apex, memory_order_acquire);
	if (old == NULL || old->published != published || old->ds != ds || old->ttl != ttl) {
		as = xcalloc(1, sizeof(*as));
		as->published = published;
		as->ds = ds;
		as->ttl = ttl;
		as->sets[0] = build_set(ks, DNS_TYPE_DNSKEY, published, ttl);
		as->sets[1] = build_set(ks, DNS_TYPE_CDS, ds, ttl);
		as->sets[2] = build_set(ks, DNS_TYPE_CDNSKEY, ds, ttl);
		if (atomic_compare_exchange_strong(&zk->apex, &old, as)) {
			if (old != NULL)
				call_rcu(&old->rcu, apex_sets_free_rcu);
		} else {
			apex_sets_free(as);
			as = old;	/* another worker's, as current as ours */
		}
	}
	sc->as = as;
	return as->sets[idx];
}

int
sign_apex_sigs(struct sign_ctx *sc, const struct rrset *rs, struct rrsigs *out)
{
	return sign_cached(sc, sc->apex, rs, sc->as != NULL ? &sc->as->sigs : NULL, out);
}

const struct rrset *
sign_child_ds(const struct zone_keys *child, time_t now, uint32_t ttl,
    _Atomic(struct sig_cache *) **slot)
{
	struct zone_keys *zk = (struct zone_keys *)child;
	const struct keyset *ks = child->ks;
	struct ds_set *d, *old;
	uint32_t mask = 0;

	for (size_t i = 0; i < ks->nkeys; i++)
		if (keyset_wants_ds(&ks->keys[i], now))
			mask |= 1u << i;
	d = old = atomic_load_explicit(&zk->ds, memory_order_acquire);
	if (old == NULL || old->mask != mask || old->ttl != ttl) {
		d = xcalloc(1, sizeof(*d));
		d->mask = mask;
		d->ttl = ttl;
		d->rs = build_set(ks, DNS_TYPE_CDS, mask, ttl);
		if (d->rs != NULL)
			d->rs->type = DNS_TYPE_DS;	/* CDS RDATA is DS RDATA (RFC 7344) */
		if (atomic_compare_exchange_strong(&zk->ds, &old, d)) {
			if (old != NULL)
				call_rcu(&old->rcu, ds_set_free_rcu);
		} else {
			ds_set_free(d);
			d = old;
		}
	}
	*slot = &d->sigs;
	return d->rs;
}

int
sign_rrset_in(struct sign_ctx *sc, const uint8_t *owner, const struct rrset *rs,
    _Atomic(struct sig_cache *) *slot, struct rrsigs *out)
{
	return sign_cached(sc, owner, rs, slot, out);
}

/* ---- the cache of per-name signatures (denials, wildcard answers) ---- */

/*
 * A random-subdomain flood makes one signature per distinct name; repeated names, and
 * every name of a wildcard, hit this cache instead. Bounded ([dnssec] signature-cache),
 * split into shards with a lock each, least recently used evicted first. An entry is
 * keyed by a BLAKE2b digest of everything the signature covers and how it was made (key
 * set, signing keys, quantum), so a stale entry is simply never asked for again.
 */
#define DCACHE_SHARDS	64
#define DCACHE_BUCKETS	1024		/* per shard */
#define DCACHE_KEYLEN	16

struct dentry {
	struct dentry	*hnext;			/* bucket chain */
	struct dentry	*prev, *next;		/* LRU, most recent first */
	uint8_t		 key[DCACHE_KEYLEN];
	size_t		 len;
	uint8_t		 data[];		/* as a sig_cache entry: count, (len, RDATA)... */
};

struct dshard {
	pthread_mutex_t	 mtx;
	struct dentry	*bucket[DCACHE_BUCKETS];
	struct dentry	*head, *tail;
	size_t		 bytes;
};

static struct dshard dcache[DCACHE_SHARDS];
static size_t dcache_budget;	/* per shard; 0 until sign_init() */

void
sign_init(size_t cache_bytes)
{
	for (int i = 0; i < DCACHE_SHARDS; i++)
		pthread_mutex_init(&dcache[i].mtx, NULL);
	dcache_budget = cache_bytes / DCACHE_SHARDS;
}

void
sign_shutdown(void)
{
	for (int i = 0; i < DCACHE_SHARDS; i++) {
		struct dentry *e = dcache[i].head, *next;

		for (; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
		memset(dcache[i].bucket, 0, sizeof(dcache[i].bucket));
		dcache[i].head = dcache[i].tail = NULL;
		dcache[i].bytes = 0;
	}
	dcache_budget = 0;
}

static void
dcache_key(const struct sign_ctx *sc, uint32_t mask, const uint8_t *owner,
    const struct rrset *rs, uint8_t key[DCACHE_KEYLEN])
{
	crypto_generichash_state h;
	uint8_t hdr[8 + 4 + 4 + 2 + 4];

	memcpy(hdr, &sc->zk->serial, 8);
	memcpy(hdr + 8, &sc->inception, 4);
	memcpy(hdr + 12, &mask, 4);
	memcpy(hdr + 16, &rs->type, 2);
	memcpy(hdr + 18, &rs->ttl, 4);
	crypto_generichash_init(&h, NULL, 0, DCACHE_KEYLEN);
	crypto_generichash_update(&h, hdr, sizeof(hdr));
	crypto_generichash_update(&h, sc->apex, dname_len(sc->apex));
	crypto_generichash_update(&h, owner, dname_len(owner));
	crypto_generichash_update(&h, rs->data, rs->datalen);
	crypto_generichash_final(&h, key, DCACHE_KEYLEN);
}

static void
lru_unlink(struct dshard *sh, struct dentry *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		sh->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		sh->tail = e->prev;
}

static void
lru_push(struct dshard *sh, struct dentry *e)
{
	e->prev = NULL;
	e->next = sh->head;
	if (sh->head != NULL)
		sh->head->prev = e;
	sh->head = e;
	if (sh->tail == NULL)
		sh->tail = e;
}

static struct dentry **
dcache_slot(struct dshard *sh, const uint8_t key[DCACHE_KEYLEN])
{
	uint32_t b;
	struct dentry **pp;

	memcpy(&b, key + 4, sizeof(b));
	for (pp = &sh->bucket[b % DCACHE_BUCKETS]; *pp != NULL; pp = &(*pp)->hnext)
		if (memcmp((*pp)->key, key, DCACHE_KEYLEN) == 0)
			break;
	return pp;
}

/* Copies the cached RRSIGs for key into sc's room; 0 on a hit. */
static int
dcache_get(struct sign_ctx *sc, const uint8_t key[DCACHE_KEYLEN], struct rrsigs *out)
{
	struct dshard *sh = &dcache[key[0] % DCACHE_SHARDS];
	struct dentry *e;
	int rc = -1;

	if (dcache_budget == 0)
		return -1;
	pthread_mutex_lock(&sh->mtx);
	if ((e = *dcache_slot(sh, key)) != NULL && sc->used + e->len <= sizeof(sc->buf)) {
		size_t p = 1;

		memcpy(sc->buf + sc->used, e->data, e->len);
		out->n = 0;
		for (size_t i = 0; i < e->data[0] && out->n < SIGN_RRSIGS_MAX; i++) {
			uint16_t l = (uint16_t)(e->data[p] << 8 | e->data[p + 1]);

			out->rdata[out->n] = sc->buf + sc->used + p + 2;
			out->len[out->n++] = l;
			p += 2 + l;
		}
		sc->used += e->len;
		lru_unlink(sh, e);
		lru_push(sh, e);
		rc = 0;
	}
	pthread_mutex_unlock(&sh->mtx);
	return rc;
}

static void
dcache_put(const uint8_t key[DCACHE_KEYLEN], const struct rrsigs *sigs)
{
	struct dshard *sh = &dcache[key[0] % DCACHE_SHARDS];
	struct dentry *e, **pp;
	size_t len = 1, p = 1;

	if (dcache_budget == 0)
		return;
	for (size_t i = 0; i < sigs->n; i++)
		len += 2 + sigs->len[i];
	if ((e = malloc(sizeof(*e) + len)) == NULL)
		return;
	memcpy(e->key, key, DCACHE_KEYLEN);
	e->len = len;
	e->data[0] = (uint8_t)sigs->n;
	for (size_t i = 0; i < sigs->n; i++) {
		wire_write16(e->data + p, sigs->len[i]);
		memcpy(e->data + p + 2, sigs->rdata[i], sigs->len[i]);
		p += 2 + sigs->len[i];
	}
	pthread_mutex_lock(&sh->mtx);
	if (*(pp = dcache_slot(sh, key)) != NULL) {
		pthread_mutex_unlock(&sh->mtx);	/* another worker put it first */
		free(e);
		return;
	}
	e->hnext = NULL;
	*pp = e;
	lru_push(sh, e);
	sh->bytes += sizeof(*e) + len;
	while (sh->bytes > dcache_budget && sh->tail != NULL && sh->tail != e) {
		struct dentry *old = sh->tail;

		lru_unlink(sh, old);
		*dcache_slot(sh, old->key) = old->hnext;
		sh->bytes -= sizeof(*old) + old->len;
		free(old);
	}
	pthread_mutex_unlock(&sh->mtx);
}

/*
 * Signs a record made for one answer (a compact-denial NSEC, a wildcard's RRset at the
 * name it answers), through the per-name cache.
 */
int
sign_once(struct sign_ctx *sc, const uint8_t *owner, const struct rrset *rs,
    struct rrsigs *out)
{
	uint32_t mask = signs_dnskey(rs->type) ? sc->kmask : sc->zmask;
	uint8_t key[DCACHE_KEYLEN];

	if (dcache_budget == 0)		/* no cache: no digest to make either */
		return sign_cached(sc, owner, rs, NULL, out);
	dcache_key(sc, mask, owner, rs, key);
	if (dcache_get(sc, key, out) == 0) {
		atomic_fetch_add_explicit(&sign_stats.cache_hits, 1, memory_order_relaxed);
		return 0;
	}
	if (sign_cached(sc, owner, rs, NULL, out) != 0)
		return -1;
	dcache_put(key, out);
	return 0;
}
