/* store.c: the RRset store: an RCU hash table of names (liburcu's cds_lfht). */
#include <stdlib.h>
#include <string.h>

#include <urcu.h>
#include <urcu/rculfhash.h>

#include "authd/store.h"
#include "common/dname.h"
#include "common/log.h"
#include "common/wire.h"

struct znode {
	struct cds_lfht_node	 ht;
	struct rrset_vec	*sets;		/* RCU-published: the topic's RRsets */
	struct rrset_vec	*local;		/* RCU-published: [local] zone-file RRsets */
	uint32_t		 children;	/* writer only: child nodes that exist */
	uint8_t			 namelen;
	uint8_t			 name[];	/* lower case wire format */
};

/* What the writer replaced, freed after the next grace period. */
struct garbage {
	void		**items;
	size_t		  count, cap;
};

struct store {
	struct cds_lfht		*ht;
	struct garbage		 garbage;
	struct store_stats	 stats;
};

static struct rrset_vec empty_vec = { 0 };

static void
garbage_add(struct garbage *g, void *p)
{
	if (p == NULL || p == &empty_vec)
		return;
	if (g->count == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 1024;
		g->items = realloc(g->items, g->cap * sizeof(*g->items));
		if (g->items == NULL)
			fatal("store garbage");
	}
	g->items[g->count++] = p;
}

struct store *
store_new(void)
{
	struct store *s = xcalloc(1, sizeof(*s));

	s->ht = cds_lfht_new(1 << 12, 1 << 12, 0,
	    CDS_LFHT_AUTO_RESIZE | CDS_LFHT_ACCOUNTING, NULL);
	if (s->ht == NULL)
		fatalx("cds_lfht_new failed");
	return s;
}

static void
node_free(struct znode *n)
{
	struct rrset_vec *vs[2] = { n->sets, n->local };

	for (int k = 0; k < 2; k++) {
		for (uint32_t i = 0; vs[k] != &empty_vec && i < vs[k]->count; i++)
			free(vs[k]->sets[i]);
		if (vs[k] != &empty_vec)
			free(vs[k]);
	}
	free(n);
}

void
store_free(struct store *s)
{
	struct cds_lfht_iter it;
	struct cds_lfht_node *hn;

	if (s == NULL)
		return;
	store_commit(s);
	rcu_read_lock();
	cds_lfht_for_each(s->ht, &it, hn) {
		cds_lfht_del(s->ht, hn);
		node_free(caa_container_of(hn, struct znode, ht));
	}
	rcu_read_unlock();
	cds_lfht_destroy(s->ht, NULL);
	free(s->garbage.items);
	free(s);
}

struct node_key {
	const uint8_t	*name;
	size_t		 len;
};

static int
node_match(struct cds_lfht_node *hn, const void *key)
{
	const struct znode *n = caa_container_of(hn, struct znode, ht);
	const struct node_key *k = key;

	return n->namelen == k->len && memcmp(n->name, k->name, k->len) == 0;
}

const struct znode *
store_lookup(const struct store *s, const uint8_t *name, size_t len)
{
	struct cds_lfht_iter it;
	struct cds_lfht_node *hn;
	struct node_key k = { name, len };

	cds_lfht_lookup(s->ht, (unsigned long)dname_hash(name, len), node_match, &k, &it);
	hn = cds_lfht_iter_get_node(&it);
	return hn == NULL ? NULL : caa_container_of(hn, struct znode, ht);
}

const struct rrset_vec *
znode_rrsets(const struct znode *n)
{
	return rcu_dereference(n->sets);
}

static const struct rrset *
vec_find(const struct rrset_vec *v, uint16_t type)
{
	for (uint32_t i = 0; i < v->count; i++)
		if (v->sets[i]->type == type)
			return v->sets[i];
	return NULL;
}

const struct rrset *
znode_find(const struct znode *n, uint16_t type)
{
	const struct rrset *rs = vec_find(rcu_dereference(n->local), type);

	return rs != NULL ? rs : vec_find(rcu_dereference(n->sets), type);
}

const struct rrset_vec *
znode_local(const struct znode *n)
{
	return rcu_dereference(n->local);
}

bool
znode_empty(const struct znode *n)
{
	return rcu_dereference(n->sets)->count == 0 && rcu_dereference(n->local)->count == 0;
}

const uint8_t *
znode_name(const struct znode *n)
{
	return n->name;
}

/* Writer: finds or creates the node of name and, recursively, of its ancestors. */
static struct znode *
node_get(struct store *s, const uint8_t *name)
{
	size_t len = dname_len(name);
	struct znode *n = (struct znode *)store_lookup(s, name, len);

	if (n != NULL)
		return n;
	n = xmalloc(sizeof(*n) + len);
	cds_lfht_node_init(&n->ht);
	n->sets = &empty_vec;
	n->local = &empty_vec;
	n->children = 0;
	n->namelen = (uint8_t)len;
	memcpy(n->name, name, len);
	if (*name != 0)
		node_get(s, dname_parent(name))->children++;
	cds_lfht_add(s->ht, (unsigned long)dname_hash(name, len), &n->ht);
	s->stats.nodes++;
	return n;
}

/* Writer: removes n and then its ancestors while they own nothing and have no child. */
static void
node_prune(struct store *s, struct znode *n)
{
	while (n != NULL && n->sets->count == 0 && n->local->count == 0 && n->children == 0) {
		const uint8_t *parent = dname_parent(n->name);

		cds_lfht_del(s->ht, &n->ht);
		garbage_add(&s->garbage, n);
		s->stats.nodes--;
		if (parent == NULL)
			return;
		n = (struct znode *)store_lookup(s, parent, dname_len(parent));
		if (n != NULL)
			n->children--;
	}
}

/* Writer: the node's vector with type replaced by rs (or removed when rs is NULL). */
static struct rrset_vec *
vec_with(const struct rrset_vec *old, uint16_t type, struct rrset *rs, struct rrset **prev)
{
	struct rrset_vec *v = xmalloc(sizeof(*v) + (old->count + 1) * sizeof(v->sets[0]));
	uint32_t j = 0;

	*prev = NULL;
	for (uint32_t i = 0; i < old->count; i++) {
		if (old->sets[i]->type == type)
			*prev = old->sets[i];
		else
			v->sets[j++] = old->sets[i];
	}
	if (rs != NULL)
		v->sets[j++] = rs;
	v->count = j;
	if (j == 0) {
		free(v);
		return &empty_vec;
	}
	return v;
}

void
store_apply_local(struct store *s, const uint8_t *owner, uint16_t type, struct rrset *rs)
{
	struct znode *n;
	struct rrset_vec *v;
	struct rrset *prev;

	rcu_read_lock();
	if (rs == NULL) {
		n = (struct znode *)store_lookup(s, owner, dname_len(owner));
		if (n == NULL || vec_find(n->local, type) == NULL) {
			rcu_read_unlock();
			return;
		}
	} else {
		n = node_get(s, owner);
	}
	v = vec_with(n->local, type, rs, &prev);
	garbage_add(&s->garbage, n->local);
	garbage_add(&s->garbage, prev);
	rcu_assign_pointer(n->local, v);
	if (v->count == 0)
		node_prune(s, n);
	rcu_read_unlock();
}

void
store_apply(struct store *s, const uint8_t *owner, uint16_t type, struct rrset *rs)
{
	struct znode *n;
	struct rrset_vec *v;
	struct rrset *prev;

	rcu_read_lock();	/* lfht lookups need it, even in the writer */
	if (rs == NULL) {
		n = (struct znode *)store_lookup(s, owner, dname_len(owner));
		if (n == NULL || vec_find(n->sets, type) == NULL) {
			rcu_read_unlock();
			return;
		}
	} else {
		n = node_get(s, owner);
	}
	v = vec_with(n->sets, type, rs, &prev);
	if (n->sets->count == 0 && v->count > 0)
		s->stats.names++;
	if (n->sets->count > 0 && v->count == 0)
		s->stats.names--;
	if (prev != NULL) {
		s->stats.rrsets--;
		s->stats.records -= prev->count;
		s->stats.zones -= type == DNS_TYPE_SOA;
	}
	if (rs != NULL) {
		s->stats.rrsets++;
		s->stats.records += rs->count;
		s->stats.zones += type == DNS_TYPE_SOA;
	}
	garbage_add(&s->garbage, n->sets);
	garbage_add(&s->garbage, prev);
	rcu_assign_pointer(n->sets, v);
	if (v->count == 0)
		node_prune(s, n);
	rcu_read_unlock();
}

void
store_clear(struct store *s)
{
	struct cds_lfht_iter it;
	struct cds_lfht_node *hn;

	rcu_read_lock();
	cds_lfht_for_each(s->ht, &it, hn) {
		struct znode *n = caa_container_of(hn, struct znode, ht);
		struct rrset_vec *vs[2] = { n->sets, n->local };

		cds_lfht_del(s->ht, hn);
		for (int k = 0; k < 2; k++) {
			for (uint32_t i = 0; i < vs[k]->count; i++)
				garbage_add(&s->garbage, vs[k]->sets[i]);
			garbage_add(&s->garbage, vs[k]);
		}
		garbage_add(&s->garbage, n);
	}
	rcu_read_unlock();
	memset(&s->stats, 0, sizeof(s->stats));
	store_commit(s);
}

void
store_commit(struct store *s)
{
	if (s->garbage.count == 0)
		return;
	synchronize_rcu();
	for (size_t i = 0; i < s->garbage.count; i++)
		free(s->garbage.items[i]);
	s->garbage.count = 0;
}

void
store_get_stats(const struct store *s, struct store_stats *st)
{
	*st = s->stats;
}

int
store_walk(const struct store *s, int (*fn)(const struct znode *n, void *arg), void *arg)
{
	struct cds_lfht_iter it;
	struct cds_lfht_node *hn;
	int rc;

	cds_lfht_for_each(s->ht, &it, hn) {
		if ((rc = fn(caa_container_of(hn, struct znode, ht), arg)) != 0)
			return rc;
	}
	return 0;
}
