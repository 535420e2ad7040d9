/* test_store.c: unit tests of the RRset store: apply, empty non-terminals, stats, order. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <urcu.h>

#include "authd/journal.h"
#include "authd/store.h"
#include "common/dname.h"
#include "common/rrset.h"
#include "common/wire.h"

static struct store *st;

static int
setup(void **state)
{
	st = store_new();
	return st == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	store_free(st);
	st = NULL;
	return 0;
}

static int
group_setup(void **state)
{
	rcu_register_thread();
	return 0;
}

static int
group_teardown(void **state)
{
	rcu_unregister_thread();
	return 0;
}

/* ---- helpers ---- */

static const uint8_t *
wn(const char *s)
{
	static uint8_t names[8][DNAME_MAXLEN];
	static int next;
	uint8_t *out = names[next++ % 8];

	assert_true(dname_from_str(s, NULL, out) > 0);
	return out;
}

/* An RRset of type with n records: the strings given (RDATA as the raw octets). */
static struct rrset *
mk(uint16_t type, uint32_t ttl, int n, ...)
{
	struct rrset_builder b;
	struct rrset *rs;
	va_list ap;

	rrset_builder_init(&b, type);
	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		const char *s = va_arg(ap, const char *);

		assert_int_equal(rrset_builder_add(&b, ttl, (const uint8_t *)s,
		    (uint16_t)strlen(s)), 0);
	}
	va_end(ap);
	rs = rrset_builder_finish(&b);
	assert_non_null(rs);
	return rs;
}

static void
put(struct store *s, const char *owner, struct rrset *rs)
{
	store_apply(s, wn(owner), rs->type, rs);
}

static void
del(struct store *s, const char *owner, uint16_t type)
{
	store_apply(s, wn(owner), type, NULL);
}

static const struct znode *
look(struct store *s, const char *name)
{
	const uint8_t *w = wn(name);

	return store_lookup(s, w, dname_len(w));
}

static bool
exists(struct store *s, const char *name)
{
	bool r;

	rcu_read_lock();
	r = look(s, name) != NULL;
	rcu_read_unlock();
	return r;
}

/* Records of (name, type) as one string "a,b,c" (the RDATA in canonical order), or NULL. */
static const char *
records(struct store *s, const char *name, uint16_t type)
{
	static char buf[512];
	const struct znode *n;
	const struct rrset *rs;
	struct rdata_ref rd;
	size_t o = 0;

	rcu_read_lock();
	n = look(s, name);
	rs = n != NULL ? znode_find(n, type) : NULL;
	if (rs == NULL) {
		rcu_read_unlock();
		return NULL;
	}
	buf[0] = '\0';
	for (const uint8_t *it = rrset_first(rs, &rd); it; it = rrset_next(rs, it, &rd)) {
		int r = snprintf(buf + o, sizeof(buf) - o, "%s%.*s", o ? "," : "",
		    (int)rd.len, (const char *)rd.data);

		assert_true(r >= 0 && (size_t)r < sizeof(buf) - o);
		o += (size_t)r;
	}
	rcu_read_unlock();
	return buf;
}

static void
assert_stats(struct store *s, uint64_t names, uint64_t rrsets, uint64_t recs, uint64_t nodes)
{
	struct store_stats ss;

	store_get_stats(s, &ss);
	assert_int_equal(ss.names, names);
	assert_int_equal(ss.rrsets, rrsets);
	assert_int_equal(ss.records, recs);
	assert_int_equal(ss.nodes, nodes);
}

/* ---- apply ---- */

static void
test_add_and_lookup(void **state)
{
	const struct znode *n;

	put(st, "www.example.", mk(DNS_TYPE_A, 300, 2, "b", "a"));
	store_commit(st);
	assert_string_equal(records(st, "www.example.", DNS_TYPE_A), "a,b");
	assert_null(records(st, "www.example.", DNS_TYPE_AAAA));
	rcu_read_lock();
	n = look(st, "www.example.");
	assert_non_null(n);
	assert_memory_equal(znode_name(n), wn("www.example."), dname_len(wn("www.example.")));
	assert_int_equal(znode_rrsets(n)->count, 1);
	assert_int_equal(znode_find(n, DNS_TYPE_A)->ttl, 300);
	rcu_read_unlock();
}

/* Exact names only: no parent fallback, no child, no wildcard expansion. */
static void
test_lookup_exact_only(void **state)
{
	put(st, "www.example.", mk(DNS_TYPE_A, 300, 1, "a"));
	put(st, "*.wild.example.", mk(DNS_TYPE_A, 300, 1, "w"));
	store_commit(st);
	assert_false(exists(st, "x.www.example."));
	assert_false(exists(st, "ww.example."));
	assert_false(exists(st, "www.example.org."));
	assert_false(exists(st, "x.wild.example."));
	assert_true(exists(st, "*.wild.example."));
	assert_true(exists(st, "www.example."));
}

static void
test_replace(void **state)
{
	put(st, "www.example.", mk(DNS_TYPE_A, 300, 2, "a", "b"));
	put(st, "www.example.", mk(DNS_TYPE_TXT, 60, 1, "t"));
	put(st, "www.example.", mk(DNS_TYPE_A, 30, 1, "c"));
	store_commit(st);
	assert_string_equal(records(st, "www.example.", DNS_TYPE_A), "c");
	assert_string_equal(records(st, "www.example.", DNS_TYPE_TXT), "t");
	/* names: www; nodes: www.example., example., . */
	assert_stats(st, 1, 2, 2, 3);
}

static void
test_delete_rrset(void **state)
{
	put(st, "www.example.", mk(DNS_TYPE_A, 300, 1, "a"));
	put(st, "www.example.", mk(DNS_TYPE_TXT, 60, 2, "t", "u"));
	del(st, "www.example.", DNS_TYPE_A);
	store_commit(st);
	assert_null(records(st, "www.example.", DNS_TYPE_A));
	assert_string_equal(records(st, "www.example.", DNS_TYPE_TXT), "t,u");
	assert_stats(st, 1, 1, 2, 3);
	del(st, "www.example.", DNS_TYPE_TXT);
	store_commit(st);
	assert_false(exists(st, "www.example."));
	assert_stats(st, 0, 0, 0, 0);
}

static void
test_delete_missing_is_noop(void **state)
{
	put(st, "www.example.", mk(DNS_TYPE_A, 300, 1, "a"));
	store_commit(st);
	del(st, "www.example.", DNS_TYPE_AAAA);		/* the name exists, the type not */
	del(st, "nope.example.", DNS_TYPE_A);		/* no such name */
	del(st, "example.", DNS_TYPE_A);		/* an empty non-terminal */
	del(st, "x.www.example.", DNS_TYPE_A);		/* below an existing name */
	store_commit(st);
	assert_string_equal(records(st, "www.example.", DNS_TYPE_A), "a");
	assert_true(exists(st, "example."));
	assert_false(exists(st, "nope.example."));
	assert_false(exists(st, "x.www.example."));
	assert_stats(st, 1, 1, 1, 3);
}

/* ---- empty non-terminals (RFC 4592 2.2.2) ---- */

static void
test_ents_created_for_ancestors(void **state)
{
	const struct znode *n;

	put(st, "a.b.c.example.", mk(DNS_TYPE_A, 300, 1, "a"));
	store_commit(st);
	rcu_read_lock();
	n = look(st, "b.c.example.");
	assert_non_null(n);
	assert_int_equal(znode_rrsets(n)->count, 0);
	assert_null(znode_find(n, DNS_TYPE_A));
	rcu_read_unlock();
	assert_true(exists(st, "c.example."));
	assert_true(exists(st, "example."));
	assert_true(exists(st, "."));
	assert_stats(st, 1, 1, 1, 5);
}

static void
test_ents_pruned_on_last_delete(void **state)
{
	put(st, "a.b.c.example.", mk(DNS_TYPE_A, 300, 1, "a"));
	del(st, "a.b.c.example.", DNS_TYPE_A);
	store_commit(st);
	assert_false(exists(st, "a.b.c.example."));
	assert_false(exists(st, "b.c.example."));
	assert_false(exists(st, "c.example."));
	assert_false(exists(st, "example."));
	assert_stats(st, 0, 0, 0, 0);
}

static void
test_ents_pruned_up_to_owner(void **state)
{
	put(st, "example.", mk(DNS_TYPE_TXT, 300, 1, "apex"));
	put(st, "a.b.c.example.", mk(DNS_TYPE_A, 300, 1, "a"));
	assert_stats(st, 2, 2, 2, 5);
	del(st, "a.b.c.example.", DNS_TYPE_A);
	store_commit(st);
	assert_false(exists(st, "b.c.example."));
	assert_false(exists(st, "c.example."));
	assert_true(exists(st, "example."));
	assert_true(exists(st, "."));
	assert_stats(st, 1, 1, 1, 2);
}

/* An ENT with two descendants stays until the second one goes. */
static void
test_ents_shared_by_siblings(void **state)
{
	put(st, "x.b.example.", mk(DNS_TYPE_A, 300, 1, "x"));
	put(st, "y.b.example.", mk(DNS_TYPE_A, 300, 1, "y"));
	del(st, "x.b.example.", DNS_TYPE_A);
	store_commit(st);
	assert_true(exists(st, "b.example."));
	assert_stats(st, 1, 1, 1, 4);
	del(st, "y.b.example.", DNS_TYPE_A);
	store_commit(st);
	assert_false(exists(st, "b.example."));
	assert_stats(st, 0, 0, 0, 0);
}

/* A name that loses its RRsets but still has a descendant becomes an ENT. */
static void
test_owner_becomes_ent(void **state)
{
	put(st, "b.example.", mk(DNS_TYPE_TXT, 300, 1, "b"));
	put(st, "a.b.example.", mk(DNS_TYPE_A, 300, 1, "a"));
	del(st, "b.example.", DNS_TYPE_TXT);
	store_commit(st);
	assert_true(exists(st, "b.example."));
	assert_null(records(st, "b.example.", DNS_TYPE_TXT));
	assert_stats(st, 1, 1, 1, 4);
	/* ... and an ENT that gets an RRset is a name again. */
	put(st, "b.example.", mk(DNS_TYPE_TXT, 300, 1, "again"));
	assert_stats(st, 2, 2, 2, 4);
}

/* The root can own RRsets; a name of 255 octets (127 labels + root) gets 127 ancestors. */
static void
test_root_and_longest_name(void **state)
{
	char name[300];
	size_t o = 0;

	put(st, ".", mk(DNS_TYPE_TXT, 300, 1, "root"));
	assert_stats(st, 1, 1, 1, 1);
	for (int i = 0; i < 127; i++) {
		name[o++] = (char)('a' + i % 26);
		name[o++] = '.';
	}
	name[o] = '\0';
	assert_int_equal(dname_len(wn(name)), 255);
	put(st, name, mk(DNS_TYPE_A, 300, 1, "x"));
	assert_stats(st, 2, 2, 2, 128);
	assert_true(exists(st, name));
	assert_true(exists(st, name + 250));		/* its last 2 labels: an ENT */
	del(st, name, DNS_TYPE_A);
	del(st, ".", DNS_TYPE_TXT);
	store_commit(st);
	assert_stats(st, 0, 0, 0, 0);
	assert_false(exists(st, "."));
}

static void
test_stats_sequence(void **state)
{
	put(st, "example.", mk(DNS_TYPE_SOA, 3600, 1, "soa"));
	put(st, "example.", mk(DNS_TYPE_NS, 3600, 2, "ns1", "ns2"));
	put(st, "www.example.", mk(DNS_TYPE_A, 300, 3, "a", "b", "c"));
	put(st, "www.example.", mk(DNS_TYPE_A, 300, 2, "a", "b"));	/* replace 3 by 2 */
	put(st, "deep.er.example.", mk(DNS_TYPE_TXT, 300, 1, "t"));
	put(st, "other.", mk(DNS_TYPE_A, 300, 1, "o"));
	del(st, "nope.example.", DNS_TYPE_A);
	/* names: example., www, deep.er, other.; nodes: those, er.example., the root */
	assert_stats(st, 4, 5, 7, 6);
	del(st, "deep.er.example.", DNS_TYPE_TXT);
	del(st, "example.", DNS_TYPE_NS);
	store_commit(st);
	assert_stats(st, 3, 3, 4, 4);
}

/* Every node, its RRsets and its records, as sorted "name|type|rdata" lines. */
struct dump {
	char	lines[64][600];
	size_t	n;
};

static int
dump_node(const struct znode *n, void *arg)
{
	struct dump *d = arg;
	const struct rrset_vec *v = znode_rrsets(n);
	char name[DNAME_STRLEN];
	struct rdata_ref rd;
	int r;

	dname_to_str(znode_name(n), name, sizeof(name));
	if (v->count == 0) {
		assert_true(d->n < 64);
		r = snprintf(d->lines[d->n++], sizeof(d->lines[0]), "%s|ENT", name);
		assert_true(r > 0 && (size_t)r < sizeof(d->lines[0]));
	}
	for (uint32_t i = 0; i < v->count; i++) {
		const struct rrset *rs = v->sets[i];

		for (const uint8_t *it = rrset_first(rs, &rd); it; it = rrset_next(rs, it, &rd)) {
			assert_true(d->n < 64);
			r = snprintf(d->lines[d->n++], sizeof(d->lines[0]), "%s|%u|%u|%.*s",
			    name, rs->type, rs->ttl, (int)rd.len, (const char *)rd.data);
			assert_true(r > 0 && (size_t)r < sizeof(d->lines[0]));
		}
	}
	return 0;
}

static int
cmp_line(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void
dump(struct store *s, struct dump *d)
{
	d->n = 0;
	rcu_read_lock();
	assert_int_equal(store_walk(s, dump_node, d), 0);
	rcu_read_unlock();
	qsort(d->lines, d->n, sizeof(d->lines[0]), cmp_line);
}

struct ev {
	const char	*owner;
	uint16_t	 type;
	const char	*rd1, *rd2;	/* NULL rd1: delete */
};

static const struct ev events[] = {
	{ "example.", DNS_TYPE_SOA, "soa", NULL },
	{ "example.", DNS_TYPE_NS, "ns1", "ns2" },
	{ "www.example.", DNS_TYPE_A, "1", "2" },
	{ "www.example.", DNS_TYPE_TXT, "hello", NULL },
	{ "a.b.c.example.", DNS_TYPE_A, "3", NULL },
	{ "x.b.c.example.", DNS_TYPE_AAAA, "6", NULL },
	{ "sub.example.", DNS_TYPE_NS, "ns.sub", NULL },
	{ "gone.example.", DNS_TYPE_A, NULL, NULL },
	{ "other.org.", DNS_TYPE_MX, "mx", NULL },
};

static void
apply_ev(struct store *s, const struct ev *e)
{
	if (e->rd1 == NULL)
		del(s, e->owner, e->type);
	else if (e->rd2 == NULL)
		put(s, e->owner, mk(e->type, 300, 1, e->rd1));
	else
		put(s, e->owner, mk(e->type, 300, 2, e->rd1, e->rd2));
}

static void
test_order_independence(void **state)
{
	static const size_t rev[] = { 8, 7, 6, 5, 4, 3, 2, 1, 0 };
	static const size_t mixed[] = { 4, 0, 7, 2, 8, 5, 1, 6, 3 };
	struct store *s2 = store_new(), *s3 = store_new();
	static struct dump d1, d2, d3;
	struct store_stats a, b;

	for (size_t i = 0; i < 9; i++) {
		apply_ev(st, &events[i]);
		apply_ev(s2, &events[rev[i]]);
		apply_ev(s3, &events[mixed[i]]);
	}
	store_commit(st);
	store_commit(s2);
	store_commit(s3);
	dump(st, &d1);
	dump(s2, &d2);
	dump(s3, &d3);
	/* 10 records; ENTs c.example., b.c.example., org., the root. */
	assert_int_equal(d1.n, 10 + 4);
	assert_int_equal(d1.n, d2.n);
	assert_int_equal(d1.n, d3.n);
	assert_memory_equal(d1.lines, d2.lines, d1.n * sizeof(d1.lines[0]));
	assert_memory_equal(d1.lines, d3.lines, d1.n * sizeof(d1.lines[0]));
	store_get_stats(st, &a);
	store_get_stats(s2, &b);
	assert_memory_equal(&a, &b, sizeof(a));
	store_free(s2);
	store_free(s3);
}

/* Deleting in a different order than adding leaves the same (empty) store. */
static void
test_delete_order_independence(void **state)
{
	for (size_t i = 0; i < 9; i++)
		apply_ev(st, &events[i]);
	for (size_t i = 9; i-- > 0;)
		del(st, events[i].owner, events[i].type);
	store_commit(st);
	assert_stats(st, 0, 0, 0, 0);
	for (size_t i = 9; i-- > 0;)
		apply_ev(st, &events[i]);
	for (size_t i = 0; i < 9; i++)
		del(st, events[i].owner, events[i].type);
	store_commit(st);
	assert_stats(st, 0, 0, 0, 0);
	assert_false(exists(st, "."));
}

/* What a replace or delete retires stays readable until store_commit() (valgrind checks). */
static void
test_commit_frees_replaced(void **state)
{
	const struct znode *n;
	const struct rrset *old;

	put(st, "www.example.", mk(DNS_TYPE_A, 300, 1, "old"));
	store_commit(st);
	rcu_read_lock();
	n = look(st, "www.example.");
	old = znode_find(n, DNS_TYPE_A);
	rcu_read_unlock();
	for (int i = 0; i < 100; i++)
		put(st, "www.example.", mk(DNS_TYPE_A, 300, 1, "new"));
	/* Not committed: the old RRset must still be intact memory. */
	assert_int_equal(old->count, 1);
	assert_int_equal(old->type, DNS_TYPE_A);
	del(st, "www.example.", DNS_TYPE_A);
	store_commit(st);
	store_commit(st);			/* nothing left: a no-op */
	assert_stats(st, 0, 0, 0, 0);
}

static int
count_node(const struct znode *n, void *arg)
{
	(void)n;
	(*(size_t *)arg)++;
	return 0;
}

/*
 * Enough names to grow the table many times, then delete them all (tombstones), then add
 * them again: every name is found while it exists and never after, the walk sees exactly
 * the nodes that exist, and the table keeps working through growth and tombstone reuse.
 */
static void
test_many_names_grow_delete_reinsert(void **state)
{
	enum { N = 50000 };
	char name[64];
	size_t walked = 0;
	struct store_stats ss;

	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < N; i++) {
			snprintf(name, sizeof(name), "n%d.big.example.", i);
			put(st, name, mk(DNS_TYPE_A, 60, 1, "abcd"));
		}
		store_commit(st);
		store_get_stats(st, &ss);
		assert_int_equal(ss.names, N);
		assert_int_equal(ss.nodes, N + 3);	/* big.example., example., the root */
		rcu_read_lock();
		for (int i = 0; i < N; i += 97) {
			const uint8_t *w;

			snprintf(name, sizeof(name), "n%d.big.example.", i);
			w = wn(name);
			assert_non_null(store_lookup(st, w, dname_len(w)));
		}
		walked = 0;
		store_walk(st, count_node, &walked);
		rcu_read_unlock();
		assert_int_equal(walked, N + 3);
		for (int i = 0; i < N; i++) {
			snprintf(name, sizeof(name), "n%d.big.example.", i);
			store_apply(st, wn(name), DNS_TYPE_A, NULL);
		}
		store_commit(st);
		store_get_stats(st, &ss);
		assert_int_equal(ss.nodes, 0);
		rcu_read_lock();
		walked = 0;
		store_walk(st, count_node, &walked);
		assert_int_equal(walked, 0);
		assert_null(store_lookup(st, wn("n7.big.example."), dname_len(wn("n7.big.example."))));
		rcu_read_unlock();
	}
}


/* ---- serials ([zones] serial = topic) ---- */

static struct rrset *
mksoa(uint32_t serial)
{
	static const uint8_t names[] = "\x02ns\x00\x04host\x00";
	uint8_t rd[sizeof(names) - 1 + 20] = { 0 };
	struct rrset_builder b;
	struct rrset *rs;

	memcpy(rd, names, sizeof(names) - 1);
	rd[sizeof(names) - 1] = (uint8_t)(serial >> 24);
	rd[sizeof(names)] = (uint8_t)(serial >> 16);
	rd[sizeof(names) + 1] = (uint8_t)(serial >> 8);
	rd[sizeof(names) + 2] = (uint8_t)serial;
	rrset_builder_init(&b, DNS_TYPE_SOA);
	assert_int_equal(rrset_builder_add(&b, 3600, rd, sizeof(rd)), 0);
	rs = rrset_builder_finish(&b);
	assert_non_null(rs);
	return rs;
}

/* One event of a test log: set (soa: an SOA with that serial) or delete, where it sits. */
struct sev {
	const char	*owner;
	uint16_t	 type;
	int		 soa;		/* -1: a TXT set, -2: delete, else an SOA's serial */
	uint32_t	 part;
	int64_t		 off;
};

static void
play(struct store *s, const struct sev *e)
{
	struct rrset *rs = e->soa == -2 ? NULL :
	    e->soa >= 0 ? mksoa((uint32_t)e->soa) : mk(e->type, 60, 1, e->owner);

	store_apply(s, wn(e->owner), e->type, rs);
	store_note_event(s, wn(e->owner), e->part, e->off);
}

static uint32_t
served_serial(struct store *s, const char *apex)
{
	const struct znode *n;
	uint32_t serial;

	rcu_read_lock();
	n = look(s, apex);
	assert_non_null(n);
	serial = rrset_soa_serial(znode_find(n, DNS_TYPE_SOA));
	rcu_read_unlock();
	return serial;
}

/*
 * The log: partition 0 and 1 interleaved three ways (one commit per event, all at once,
 * partition 1 first) gives the same serial: base 1000 + (1 + 4) + (1 + 3), counting the
 * delete of b and the zone's creation after names below it arrived.
 */
static const struct sev serial_log[] = {
	{ "a.example.", DNS_TYPE_TXT, -1, 0, 0 },
	{ "b.x.example.", DNS_TYPE_TXT, -1, 0, 1 },
	{ "other.", DNS_TYPE_TXT, -1, 0, 2 },		/* not in the zone */
	{ "c.example.", DNS_TYPE_TXT, -1, 0, 3 },
	{ "b.x.example.", DNS_TYPE_TXT, -2, 0, 4 },	/* delete */
	{ "example.", DNS_TYPE_SOA, 1000, 1, 0 },
	{ "d.example.", DNS_TYPE_TXT, -1, 1, 1 },
	{ "other.", DNS_TYPE_TXT, -1, 1, 2 },
	{ "d.example.", DNS_TYPE_TXT, -1, 1, 3 },
};
#define SERIAL_LOG_N	(sizeof(serial_log) / sizeof(serial_log[0]))

static void
test_serial_order_independent(void **state)
{
	struct store *b = store_new(), *c = store_new();

	store_derive_serials(st, true);
	store_derive_serials(b, true);
	store_derive_serials(c, true);
	for (size_t i = 0; i < SERIAL_LOG_N; i++) {
		play(st, &serial_log[i]);
		store_commit(st);
	}
	for (size_t i = 0; i < SERIAL_LOG_N; i++)
		play(b, &serial_log[i]);
	store_commit(b);
	for (size_t i = 5; i < SERIAL_LOG_N; i++)
		play(c, &serial_log[i]);
	store_commit(c);
	for (size_t i = 0; i < 5; i++)
		play(c, &serial_log[i]);
	store_commit(c);
	assert_int_equal(served_serial(st, "example."), 1000 + 5 + 4);
	assert_int_equal(served_serial(b, "example."), 1000 + 5 + 4);
	assert_int_equal(served_serial(c, "example."), 1000 + 5 + 4);
	store_free(b);
	store_free(c);
}

/* Every event raises it, a delete included; as-is serves the event's own serial. */
static void
test_serial_rises_on_every_change(void **state)
{
	struct store *asis = store_new();
	struct sev e = { "example.", DNS_TYPE_SOA, 7, 0, 10 };
	uint32_t last;

	store_derive_serials(st, true);
	play(st, &e);
	play(asis, &e);
	store_commit(st);
	store_commit(asis);
	last = served_serial(st, "example.");
	assert_int_equal(last, 7 + 11);
	for (int64_t off = 11; off < 20; off++) {
		struct sev x = { "www.example.", DNS_TYPE_TXT, off % 3 == 0 ? -2 : -1,
		    (uint32_t)(off % 2), off };

		play(st, &x);
		play(asis, &x);
		store_commit(st);
		store_commit(asis);
		assert_true(served_serial(st, "example.") > last);
		last = served_serial(st, "example.");
		assert_int_equal(served_serial(asis, "example."), 7);
	}
	store_free(asis);
}

/*
 * Compaction keeps only the latest event of each key; replaying what it left gives the
 * serial the full log gave, since a record it removed was superseded at a higher offset
 * of the same partition.
 */
static void
test_serial_survives_compaction(void **state)
{
	static const struct sev log[] = {
		{ "example.", DNS_TYPE_SOA, 1, 0, 0 },
		{ "www.example.", DNS_TYPE_TXT, -1, 1, 0 },
		{ "www.example.", DNS_TYPE_TXT, -1, 1, 1 },
		{ "mail.example.", DNS_TYPE_TXT, -1, 0, 1 },
		{ "www.example.", DNS_TYPE_TXT, -1, 1, 2 },
		{ "example.", DNS_TYPE_SOA, 1, 0, 2 },
	};
	static const int kept[] = { 3, 4, 5 };
	struct store *compacted = store_new();

	store_derive_serials(st, true);
	store_derive_serials(compacted, true);
	for (size_t i = 0; i < sizeof(log) / sizeof(log[0]); i++)
		play(st, &log[i]);
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		play(compacted, &log[kept[i]]);
	store_commit(st);
	store_commit(compacted);
	assert_int_equal(served_serial(st, "example."), 1 + 3 + 3);
	assert_int_equal(served_serial(compacted, "example."), 1 + 3 + 3);
	store_free(compacted);
}

/* ---- IXFR journals ---- */

static size_t
recs(const struct jbuf *b)
{
	return b->count;
}

static void
test_journal_steps(void **state)
{
	struct store_ixfr x;
	const struct journal_entry *e;
	uint32_t s0, s1;
	struct sev soa = { "example.", DNS_TYPE_SOA, 100, 0, 0 };

	store_derive_serials(st, true);
	play(st, &soa);
	put(st, "www.example.", mk(DNS_TYPE_TXT, 60, 2, "a", "b"));
	store_note_event(st, wn("www.example."), 0, 1);
	store_commit(st);
	store_journal(st, true);
	s0 = served_serial(st, "example.");
	/* Nothing recorded yet: no step from s0. */
	assert_int_equal(store_ixfr_open(st, wn("example."), s0, &x), 1);
	/* Step 1: one record replaced, a name added, within one batch twice (collapsed). */
	put(st, "www.example.", mk(DNS_TYPE_TXT, 60, 2, "a", "x"));
	store_note_event(st, wn("www.example."), 0, 2);
	put(st, "www.example.", mk(DNS_TYPE_TXT, 60, 2, "a", "c"));
	store_note_event(st, wn("www.example."), 0, 3);
	put(st, "new.example.", mk(DNS_TYPE_TXT, 60, 1, "n"));
	store_note_event(st, wn("new.example."), 1, 0);
	store_commit(st);
	s1 = served_serial(st, "example.");
	/* Step 2: a delete, and a DS at a child's apex (the parent's data). */
	del(st, "new.example.", DNS_TYPE_TXT);
	store_note_event(st, wn("new.example."), 1, 1);
	store_commit(st);
	assert_int_equal(store_ixfr_open(st, wn("example."), s0, &x), 0);
	e = x.first;
	assert_int_equal(rrset_soa_serial(e->soa_from), s0);
	assert_int_equal(rrset_soa_serial(e->soa_to), s1);
	assert_int_equal(recs(&e->del), 1);		/* "b" */
	assert_int_equal(recs(&e->add), 2);		/* "c", "n" */
	assert_ptr_equal(e->next, x.last);
	assert_int_equal(recs(&x.last->del), 1);
	assert_int_equal(recs(&x.last->add), 0);
	assert_int_equal(rrset_soa_serial(x.last->soa_to), served_serial(st, "example."));
	store_ixfr_close(&x);
	/* From the current serial, or one never served: nothing to step through. */
	assert_int_equal(store_ixfr_open(st, wn("example."), served_serial(st, "example."), &x),
	    1);
	assert_int_equal(store_ixfr_open(st, wn("example."), s0 - 1, &x), 1);
}

/* as-is: a change without a new serial cannot be told apart: the journal starts over. */
static void
test_journal_as_is_starts_over(void **state)
{
	struct store_ixfr x;
	struct sev soa = { "example.", DNS_TYPE_SOA, 5, 0, 0 };
	struct sev soa6 = { "example.", DNS_TYPE_SOA, 6, 0, 1 };

	play(st, &soa);
	store_commit(st);
	store_journal(st, true);
	put(st, "a.example.", mk(DNS_TYPE_TXT, 60, 1, "a"));
	store_commit(st);
	play(st, &soa6);
	put(st, "b.example.", mk(DNS_TYPE_TXT, 60, 1, "b"));
	store_commit(st);
	/* From 5 the record a. would be missing: refused, a whole zone instead. */
	assert_int_equal(store_ixfr_open(st, wn("example."), 5, &x), 1);
	put(st, "c.example.", mk(DNS_TYPE_TXT, 60, 1, "c"));
	store_commit(st);
	assert_int_equal(store_ixfr_open(st, wn("example."), 6, &x), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_add_and_lookup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_names_grow_delete_reinsert, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_lookup_exact_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_rrset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_missing_is_noop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ents_created_for_ancestors, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ents_pruned_on_last_delete, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ents_pruned_up_to_owner, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ents_shared_by_siblings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_owner_becomes_ent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_root_and_longest_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats_sequence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_order_independence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_order_independence, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_commit_frees_replaced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_serial_order_independent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_serial_rises_on_every_change, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_serial_survives_compaction, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_journal_steps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_as_is_starts_over, setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
