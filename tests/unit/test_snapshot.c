/* test_snapshot.c: unit tests of snapshots: round trip, bad files refused (authd/snapshot.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <sodium.h>
#include <urcu.h>

#include "authd/snapshot.h"
#include "authd/store.h"
#include "authd/tombs.h"
#include "common/dname.h"
#include "common/log.h"
#include "common/rrset.h"
#include "common/wire.h"

#define TOPIC	"zones"
#define SUMLEN	crypto_generichash_BYTES	/* the file's BLAKE2b trailer */

static char dir[] = "/tmp/test_snapshot.XXXXXX";
static char snap[256];

/* ---- helpers ---- */

static void
put(struct store *s, const char *owner, uint16_t type, uint32_t ttl, int n, ...)
{
	struct rrset_builder b;
	uint8_t w[DNAME_MAXLEN];
	va_list ap;

	rrset_builder_init(&b, type);
	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		const char *rd = va_arg(ap, const char *);

		assert_int_equal(rrset_builder_add(&b, ttl, (const uint8_t *)rd,
		    (uint16_t)strlen(rd)), 0);
	}
	va_end(ap);
	assert_true(dname_from_str(owner, NULL, w) > 0);
	store_apply(s, w, type, rrset_builder_finish(&b));
}

/* A store with some variety: many names, multi-record RRsets, deep names, an ENT. */
static struct store *
sample_store(int names)
{
	struct store *s = store_new();
	char owner[64], rd[32];

	assert_non_null(s);
	put(s, "example.", DNS_TYPE_SOA, 3600, 1, "soa-rdata");
	put(s, "example.", DNS_TYPE_NS, 86400, 2, "ns1", "ns2");
	put(s, "a.b.c.deep.example.", DNS_TYPE_TXT, 60, 3, "x", "yy", "zzz");
	put(s, "other.test.", DNS_TYPE_A, 5, 1, "\x01\x02\x03\x04");
	for (int i = 0; i < names; i++) {
		snprintf(owner, sizeof(owner), "host%d.example.", i);
		snprintf(rd, sizeof(rd), "addr-%d", i);
		put(s, owner, DNS_TYPE_A, (uint32_t)(300 + i), 1, rd);
		if (i % 3 == 0)
			put(s, owner, DNS_TYPE_TXT, 300, 2, rd, "second");
	}
	store_commit(s);
	return s;
}

struct cmp {
	const struct store	*other;
	size_t			 rrsets;
};

static const struct rrset *
find(const struct rrset_vec *v, uint16_t type)
{
	for (uint32_t i = 0; i < v->count; i++)
		if (v->sets[i]->type == type)
			return v->sets[i];
	return NULL;
}

/* Every RRset of a node is in the other store, octet for octet. */
static int
same_node(const struct znode *n, void *arg)
{
	struct cmp *c = arg;
	const uint8_t *name = znode_name(n);
	const struct znode *o = store_lookup(c->other, name, dname_len(name));
	const struct rrset_vec *v = znode_rrsets(n), *ov;

	assert_non_null(o);
	ov = znode_rrsets(o);
	assert_int_equal(v->count, ov->count);
	for (uint32_t i = 0; i < v->count; i++) {
		const struct rrset *a = v->sets[i], *b = find(ov, a->type);

		assert_non_null(b);
		assert_int_equal(a->ttl, b->ttl);
		assert_int_equal(a->count, b->count);
		assert_int_equal(a->datalen, b->datalen);
		assert_memory_equal(a->data, b->data, a->datalen);
		c->rrsets++;
	}
	return 0;
}

static void
assert_same_store(const struct store *a, const struct store *b)
{
	struct store_stats sa, sb;
	struct cmp c = { b, 0 };

	store_get_stats(a, &sa);
	store_get_stats(b, &sb);
	assert_memory_equal(&sa, &sb, sizeof(sa));
	rcu_read_lock();
	store_walk(a, same_node, &c);
	rcu_read_unlock();
	assert_int_equal(c.rrsets, sa.rrsets);
}

static bool
store_empty(const struct store *s)
{
	struct store_stats st;

	store_get_stats(s, &st);
	return st.rrsets == 0 && st.names == 0;
}

static uint8_t *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	buf = malloc((size_t)n);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void
spit(const char *path, const uint8_t *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Rewrites the BLAKE2b trailer so that a tampered body passes the checksum. */
static void
reseal(uint8_t *buf, size_t len)
{
	crypto_generichash(buf + len - SUMLEN, SUMLEN, buf, len - SUMLEN, NULL, 0);
}

/* Loading path into a fresh store must fail and leave it empty, offsets unset. */
static void
assert_refused(const char *path)
{
	struct store *s = store_new();
	struct snapshot_offsets off;
	uint64_t loaded = 12345;

	assert_int_equal(snapshot_load(path, TOPIC, s, &off, &loaded, NULL), -1);
	assert_true(store_empty(s));
	assert_null(off.next);
	assert_int_equal(off.npart, 0);
	store_free(s);
}

/* Offset of the first record: magic, version, endian, topic, partitions, count. */
static size_t
records_at(int32_t npart)
{
	return 8 + 4 + 2 + 2 + strlen(TOPIC) + 4 + 8 * (size_t)npart + 8;
}

static int
group_setup(void **state)
{
	if (sodium_init() < 0 || mkdtemp(dir) == NULL)
		return -1;
	snprintf(snap, sizeof(snap), "%s/store.snap", dir);
	log_set_level(LOG_LVL_ERROR);	/* the refusals below are meant to warn */
	rcu_register_thread();
	return 0;
}

static int
group_teardown(void **state)
{
	char cmd[300];

	rcu_unregister_thread();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- tests ---- */

static void
test_round_trip(void **state)
{
	struct store *a = sample_store(500), *b = store_new();
	int64_t next[3] = { 0, 17, INT64_C(1) << 40 };
	struct snapshot_offsets off;
	uint64_t written = 0, loaded = 0;
	struct store_stats st;
	char tmp[300];

	assert_int_equal(snapshot_write(snap, TOPIC, a, next, 3, &written), 0);
	store_get_stats(a, &st);
	assert_int_equal(written, st.rrsets);
	assert_int_equal(written, 4 + 500 + 167);
	/* The temporary file is gone: renamed over path. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", snap);
	assert_int_equal(access(tmp, F_OK), -1);

	assert_int_equal(snapshot_load(snap, TOPIC, b, &off, &loaded, NULL), 0);
	assert_int_equal(loaded, written);
	assert_int_equal(off.npart, 3);
	assert_memory_equal(off.next, next, sizeof(next));
	assert_same_store(a, b);
	assert_same_store(b, a);
	free(off.next);
	store_free(a);
	store_free(b);
}


/*
 * serial = topic: the nodes' positions and base serials travel in the snapshot, so a
 * store loaded from it serves the same serial and goes on from it as the original does.
 */
static void
test_serial_round_trip(void **state)
{
	static const uint8_t soa_rd[] = "\x02ns\x00\x04host\x00\x00\x00\x00\x05"
	    "\x00\x00\x0e\x10\x00\x00\x0e\x10\x00\x00\x0e\x10\x00\x00\x0e\x10";
	struct store *a = store_new(), *b = store_new();
	struct store *both[2] = { a, b };
	int64_t next[2] = { 30, 20 };
	struct snapshot_offsets off;
	uint64_t written = 0, loaded = 0;
	uint8_t apex[DNAME_MAXLEN], www[DNAME_MAXLEN];
	struct rrset_builder rb;
	uint32_t serial[2];

	assert_true(dname_from_str("example.", NULL, apex) > 0);
	assert_true(dname_from_str("a.b.www.example.", NULL, www) > 0);
	store_derive_serials(a, true);
	store_derive_serials(b, true);
	rrset_builder_init(&rb, DNS_TYPE_SOA);
	assert_int_equal(rrset_builder_add(&rb, 3600, soa_rd, sizeof(soa_rd) - 1), 0);
	store_apply(a, apex, DNS_TYPE_SOA, rrset_builder_finish(&rb));
	store_note_event(a, apex, 0, 29);
	put(a, "a.b.www.example.", DNS_TYPE_TXT, 60, 1, "x");
	store_note_event(a, www, 1, 19);
	store_commit(a);
	assert_int_equal(snapshot_write(snap, TOPIC, a, next, 2, &written), 0);
	assert_int_equal(snapshot_load(snap, TOPIC, b, &off, &loaded, NULL), 0);
	free(off.next);
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 2; i++) {
			const struct znode *n;

			rcu_read_lock();
			n = store_lookup(both[i], apex, dname_len(apex));
			assert_non_null(n);
			serial[i] = rrset_soa_serial(znode_find(n, DNS_TYPE_SOA));
			rcu_read_unlock();
		}
		assert_int_equal(serial[0], 5 + 30 + 20 + round * 5);
		assert_int_equal(serial[1], serial[0]);
		/* The next event, deep below the apex (an ENT's positions count too). */
		for (int i = 0; i < 2; i++) {
			put(both[i], "a.b.www.example.", DNS_TYPE_TXT, 60, 1, "y");
			store_note_event(both[i], www, 1, 24);
			store_commit(both[i]);
		}
	}
	store_free(a);
	store_free(b);
}

/* RRset versions and deleted RRsets' versions (conditional events) survive a snapshot. */
static void
test_versions_round_trip(void **state)
{
	struct store *a = store_new(), *b = store_new();
	int64_t next[2] = { 100, 50 };
	struct snapshot_offsets off;
	uint64_t written = 0, loaded = 0;
	uint8_t www[DNAME_MAXLEN], gone[DNAME_MAXLEN];
	struct rrset_builder rb;
	struct rrset *rs;
	const struct znode *n;

	assert_true(dname_from_str("www.example.", NULL, www) > 0);
	assert_true(dname_from_str("gone.example.", NULL, gone) > 0);
	rrset_builder_init(&rb, DNS_TYPE_A);
	assert_int_equal(rrset_builder_add(&rb, 60, (const uint8_t *)"\x01\x02\x03\x04", 4), 0);
	rs = rrset_builder_finish(&rb);
	assert_int_equal(rrset_version(rs), -1);	/* a builder's: unknown */
	rrset_set_version(rs, 77);
	store_apply(a, www, DNS_TYPE_A, rs);
	tombs_set(store_tombs(a), gone, DNS_TYPE_TXT, 1, 42);
	store_commit(a);
	assert_int_equal(snapshot_write(snap, TOPIC, a, next, 2, &written), 0);
	assert_int_equal(snapshot_load(snap, TOPIC, b, &off, &loaded, NULL), 0);
	free(off.next);
	rcu_read_lock();
	n = store_lookup(b, www, dname_len(www));
	assert_non_null(n);
	assert_int_equal(rrset_version(znode_find(n, DNS_TYPE_A)), 77);
	rcu_read_unlock();
	assert_int_equal(tombs_count(store_tombs(b)), 1);
	assert_int_equal(tombs_get(store_tombs(b), gone, DNS_TYPE_TXT, 50), 42);
	assert_int_equal(tombs_get(store_tombs(b), gone, DNS_TYPE_A, 50), -1);
	store_free(a);
	store_free(b);
}

static void
test_empty_store_round_trip(void **state)
{
	struct store *a = store_new(), *b = store_new();
	int64_t next[1] = { 0 };
	struct snapshot_offsets off;
	uint64_t written = 1, loaded = 1;

	assert_int_equal(snapshot_write(snap, TOPIC, a, next, 1, &written), 0);
	assert_int_equal(written, 0);
	assert_int_equal(snapshot_load(snap, TOPIC, b, &off, &loaded, NULL), 0);
	assert_int_equal(loaded, 0);
	assert_int_equal(off.npart, 1);
	assert_int_equal(off.next[0], 0);
	assert_true(store_empty(b));
	free(off.next);
	store_free(a);
	store_free(b);
}

/* Only the topic's data is snapshotted: the local layer comes from local config. */
static void
test_local_layer_not_written(void **state)
{
	struct store *a = sample_store(0), *b = store_new();
	struct rrset_builder rb;
	uint8_t w[DNAME_MAXLEN];
	int64_t next[1] = { 5 };
	struct snapshot_offsets off;
	uint64_t written, loaded;

	rrset_builder_init(&rb, DNS_TYPE_A);
	assert_int_equal(rrset_builder_add(&rb, 60, (const uint8_t *)"\x0a\0\0\x01", 4), 0);
	assert_true(dname_from_str("local-only.example.", NULL, w) > 0);
	store_apply_local(a, w, DNS_TYPE_A, rrset_builder_finish(&rb));
	store_commit(a);
	assert_int_equal(snapshot_write(snap, TOPIC, a, next, 1, &written), 0);
	assert_int_equal(written, 4);
	assert_int_equal(snapshot_load(snap, TOPIC, b, &off, &loaded, NULL), 0);
	rcu_read_lock();
	assert_null(store_lookup(b, w, dname_len(w)));
	rcu_read_unlock();
	free(off.next);
	store_free(a);
	store_free(b);
}

static void
test_missing_file(void **state)
{
	struct store *s = store_new();
	struct snapshot_offsets off;
	uint64_t loaded;
	char path[300];

	snprintf(path, sizeof(path), "%s/never-written", dir);
	assert_int_equal(snapshot_load(path, TOPIC, s, &off, &loaded, NULL), 1);
	assert_true(store_empty(s));
	assert_null(off.next);
	store_free(s);
}

static void
test_wrong_topic(void **state)
{
	struct store *a = sample_store(3), *b = store_new();
	int64_t next[1] = { 9 };
	struct snapshot_offsets off;
	uint64_t written, loaded;

	assert_int_equal(snapshot_write(snap, "other-topic", a, next, 1, &written), 0);
	assert_int_equal(snapshot_load(snap, TOPIC, b, &off, &loaded, NULL), -1);
	assert_true(store_empty(b));
	assert_null(off.next);
	/* A topic that is a prefix of the file's is another topic too. */
	assert_int_equal(snapshot_load(snap, "other", b, &off, &loaded, NULL), -1);
	assert_true(store_empty(b));
	store_free(a);
	store_free(b);
}

/* Every truncation, and a flipped bit anywhere, fails the checksum: nothing is loaded. */
static void
test_corrupt_or_truncated(void **state)
{
	struct store *a = sample_store(20);
	int64_t next[2] = { 1, 2 };
	uint64_t written;
	uint8_t *buf;
	size_t len;
	char bad[300];

	assert_int_equal(snapshot_write(snap, TOPIC, a, next, 2, &written), 0);
	store_free(a);
	buf = slurp(snap, &len);
	snprintf(bad, sizeof(bad), "%s/bad.snap", dir);
	for (size_t cut = 0; cut < len; cut += (cut < 200 ? 1 : 97)) {
		spit(bad, buf, cut);
		assert_refused(bad);
	}
	spit(bad, buf, len - 1);
	assert_refused(bad);
	for (size_t i = 0; i < len; i += (i < 100 ? 1 : 61)) {
		buf[i] ^= 0x10;
		spit(bad, buf, len);
		assert_refused(bad);
		buf[i] ^= 0x10;
	}
	/* Appended data is refused as well. */
	{
		uint8_t *longer = malloc(len + 1);

		assert_non_null(longer);
		memcpy(longer, buf, len);
		longer[len] = 0;
		spit(bad, longer, len + 1);
		assert_refused(bad);
		free(longer);
	}
	/* And the untouched copy loads, so the refusals were about the damage. */
	spit(bad, buf, len);
	{
		struct store *s = store_new();
		struct snapshot_offsets off;
		uint64_t loaded;

		assert_int_equal(snapshot_load(bad, TOPIC, s, &off, &loaded, NULL), 0);
		assert_int_equal(loaded, written);
		free(off.next);
		store_free(s);
	}
	unlink(bad);
	free(buf);
}

/*
 * A file whose checksum is right but whose structure is not (a bug, or a file made by
 * hand) is refused whole: the records are checked before any is applied.
 */
static void
test_bad_structure_resealed(void **state)
{
	struct store *a = store_new();
	int64_t next[1] = { 3 };
	uint64_t written;
	uint8_t *buf, *copy;
	size_t len, rec = records_at(1), hdr_at, count_at = records_at(1) - 8;
	char bad[300];
	uint64_t count;
	struct rrset hdr;

	put(a, "a.example.", DNS_TYPE_A, 60, 1, "\x01\x02\x03\x04");
	put(a, "b.example.", DNS_TYPE_TXT, 60, 2, "one", "two");
	store_commit(a);
	assert_int_equal(snapshot_write(snap, TOPIC, a, next, 1, &written), 0);
	assert_int_equal(written, 2);
	store_free(a);
	buf = slurp(snap, &len);
	copy = malloc(len + 8);
	assert_non_null(copy);
	snprintf(bad, sizeof(bad), "%s/bad.snap", dir);
	/* The layout is what this test assumes: count, then a name of 11 octets. */
	memcpy(&count, buf + count_at, 8);
	assert_int_equal(count, 2);
	assert_int_equal(buf[rec], 11);		/* "a.example." or "b.example." */
	hdr_at = rec + 1 + 11;

	/* The record count says one more record than there is. */
	memcpy(copy, buf, len);
	count = 3;
	memcpy(copy + count_at, &count, 8);
	reseal(copy, len);
	spit(bad, copy, len);
	assert_refused(bad);

	/* Says one less: the last record is trailing data. */
	count = 1;
	memcpy(copy + count_at, &count, 8);
	reseal(copy, len);
	spit(bad, copy, len);
	assert_refused(bad);

	/* A record's RDATA lengths do not add up to its count. */
	memcpy(copy, buf, len);
	memcpy(&hdr, copy + hdr_at, sizeof(hdr));
	hdr.count++;
	memcpy(copy + hdr_at, &hdr, sizeof(hdr));
	reseal(copy, len);
	spit(bad, copy, len);
	assert_refused(bad);

	/* An RRset of no records. */
	hdr.count = 0;
	memcpy(copy + hdr_at, &hdr, sizeof(hdr));
	reseal(copy, len);
	spit(bad, copy, len);
	assert_refused(bad);

	/* A name whose label runs past its length octet. */
	memcpy(copy, buf, len);
	copy[rec + 1] = 30;
	reseal(copy, len);
	spit(bad, copy, len);
	assert_refused(bad);

	/* A negative offset. */
	memcpy(copy, buf, len);
	memset(copy + records_at(1) - 16, 0xff, 8);
	reseal(copy, len);
	spit(bad, copy, len);
	assert_refused(bad);

	/* Another format version. */
	memcpy(copy, buf, len);
	copy[8] ^= 0x02;
	reseal(copy, len);
	spit(bad, copy, len);
	assert_refused(bad);

	/* The second record damaged: the first must not have been applied either. */
	memcpy(copy, buf, len);
	{
		size_t second = hdr_at + sizeof(hdr);

		memcpy(&hdr, copy + hdr_at, sizeof(hdr));
		second += hdr.datalen;
		assert_int_equal(copy[second], 11);
		copy[second] = 0;		/* a zero name length */
	}
	reseal(copy, len);
	spit(bad, copy, len);
	assert_refused(bad);

	/* The resealed original still loads: the resealing is sound. */
	memcpy(copy, buf, len);
	reseal(copy, len);
	assert_memory_equal(copy, buf, len);
	unlink(bad);
	free(copy);
	free(buf);
}

/*
 * A new snapshot replaces the old one whole; a write that fails leaves the old one in
 * place and no temporary file behind.
 */
static void
test_atomic_replace(void **state)
{
	struct store *a = sample_store(10), *b = sample_store(40), *c;
	int64_t next_a[1] = { 100 }, next_b[2] = { 200, 300 };
	struct snapshot_offsets off;
	uint64_t written, loaded;
	char tmp[300], path[300];
	struct stat sb;

	assert_int_equal(snapshot_write(snap, TOPIC, a, next_a, 1, &written), 0);
	assert_int_equal(snapshot_write(snap, TOPIC, b, next_b, 2, &written), 0);
	c = store_new();
	assert_int_equal(snapshot_load(snap, TOPIC, c, &off, &loaded, NULL), 0);
	assert_int_equal(off.npart, 2);
	assert_memory_equal(off.next, next_b, sizeof(next_b));
	assert_same_store(b, c);
	free(off.next);
	store_free(c);

	/* The temporary file cannot be created (a directory is in the way): refused. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", snap);
	assert_int_equal(mkdir(tmp, 0700), 0);
	assert_int_equal(snapshot_write(snap, TOPIC, a, next_a, 1, &written), -1);
	assert_int_equal(rmdir(tmp), 0);
	c = store_new();
	assert_int_equal(snapshot_load(snap, TOPIC, c, &off, &loaded, NULL), 0);
	assert_same_store(b, c);		/* still the second snapshot */
	free(off.next);
	store_free(c);

	/* Nor is a snapshot written into a directory that does not exist. */
	snprintf(path, sizeof(path), "%s/no/such/dir/store.snap", dir);
	assert_int_equal(snapshot_write(path, TOPIC, a, next_a, 1, &written), -1);
	assert_int_equal(stat(path, &sb), -1);
	store_free(a);
	store_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_serial_round_trip),
		cmocka_unit_test(test_versions_round_trip),
		cmocka_unit_test(test_empty_store_round_trip),
		cmocka_unit_test(test_local_layer_not_written),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_wrong_topic),
		cmocka_unit_test(test_corrupt_or_truncated),
		cmocka_unit_test(test_bad_structure_resealed),
		cmocka_unit_test(test_atomic_replace),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
