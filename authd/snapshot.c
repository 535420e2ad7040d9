/* snapshot.c: atomic snapshot files of the store (records, offsets, BLAKE2b checksum). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <urcu.h>

#include "authd/signer.h"
#include "authd/snapshot.h"
#include "authd/tombs.h"
#include "common/array.h"
#include "common/dname.h"
#include "common/log.h"

#define SNAP_MAGIC	"SDNSSNAP"
#define SNAP_VERSION	4	/* 2: the zones' DNSSEC key sets follow the RRsets;
				 * 3: then the nodes' positions and base serials (serials);
				 * 4: each RRset's version (the offset that set it),
				 * then deleted RRsets' and update guards' versions */
#define SNAP_SUMLEN	crypto_generichash_BYTES	/* 32 */
#define SNAP_ENDIAN	0x0102	/* RRset data keeps host-order lengths: same-endian only */

struct writer {
	FILE				*f;
	crypto_generichash_state	 h;
	int				 err;
	uint64_t			 count;
	uint64_t			 pause_at;	/* fault injection, see below */
	long				 pause_ms;
	const struct znode		**keyed;	/* nodes with DNSSEC keys, written last */
	size_t				 nkeyed, capkeyed;
	uint64_t			 npos;		/* nodes whose positions were written */
};

static void
w_bytes(struct writer *w, const void *p, size_t n)
{
	if (w->err)
		return;
	crypto_generichash_update(&w->h, p, n);
	if (fwrite(p, 1, n, w->f) != n)
		w->err = errno ? errno : EIO;
}

static void
w_u16(struct writer *w, uint16_t v)
{
	w_bytes(w, &v, sizeof(v));
}

static void
w_u32(struct writer *w, uint32_t v)
{
	w_bytes(w, &v, sizeof(v));
}

static void
w_u64(struct writer *w, uint64_t v)
{
	w_bytes(w, &v, sizeof(v));
}

static int
write_node(const struct znode *n, void *arg)
{
	struct writer *w = arg;
	const struct rrset_vec *v = znode_rrsets(n);
	const uint8_t *name = znode_name(n);
	size_t len = dname_len(name);

	if (znode_keys(n) != NULL) {
		if (array_grow((void **)&w->keyed, &w->capkeyed, w->nkeyed + 1,
		    sizeof(*w->keyed), 16) != 0)
			fatal("snapshot");
		w->keyed[w->nkeyed++] = n;
	}
	for (uint32_t i = 0; i < v->count; i++) {
		const struct rrset *rs = v->sets[i];

		w_bytes(w, &(uint8_t){ (uint8_t)len }, 1);
		w_bytes(w, name, len);
		w_bytes(w, rs, sizeof(*rs));
		w_bytes(w, rs->data, rs->datalen);
		if (++w->count == w->pause_at) {
			struct timespec ts = { w->pause_ms / 1000, (w->pause_ms % 1000) * 1000000 };

			fflush(w->f);
			nanosleep(&ts, NULL);
		}
	}
	return w->err;
}

/* A node's positions and base serial, when it has either (store.h, serials). */
static int
write_positions(const struct znode *n, void *arg)
{
	struct writer *w = arg;
	const uint8_t *name = znode_name(n);
	const uint64_t *e;
	uint64_t one;
	uint32_t base, k = znode_positions(n, &e, &one, &base);

	if (k == 0 && base == 0)
		return 0;
	w_bytes(w, &(uint8_t){ (uint8_t)dname_len(name) }, 1);
	w_bytes(w, name, dname_len(name));
	w_u32(w, base);
	w_u32(w, k);
	w_bytes(w, e, k * sizeof(*e));
	w->npos++;
	return w->err;
}

static int
write_tomb(void *arg, const uint8_t *owner, uint16_t type, uint32_t partition,
    int64_t offset)
{
	struct writer *w = arg;

	w_bytes(w, &(uint8_t){ (uint8_t)dname_len(owner) }, 1);
	w_bytes(w, owner, dname_len(owner));
	w_u16(w, type);
	w_u32(w, partition);
	w_u64(w, (uint64_t)offset);
	return w->err;
}

static int
count_positions(const struct znode *n, void *arg)
{
	const uint64_t *e;
	uint64_t one;
	uint32_t base;

	if (znode_positions(n, &e, &one, &base) > 0 || base != 0)
		(*(uint64_t *)arg)++;
	return 0;
}

static int
fsync_dir(const char *path)
{
	char *copy = xstrdup(path);
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY), rc = 0;

	free(copy);
	if (fd < 0)
		return -1;
	if (fsync(fd) != 0)
		rc = -1;
	close(fd);
	return rc;
}

int
snapshot_write(const char *path, const char *topic, const struct store *s,
    const int64_t *next, int32_t npart, uint64_t *written)
{
	struct writer w = { 0 };
	struct store_stats st;
	char tmp[4096];
	uint8_t sum[SNAP_SUMLEN];
	size_t tlen = strlen(topic);
	uint64_t npos = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((w.f = fopen(tmp, "w")) == NULL) {
		log_warn("snapshot %s", tmp);
		return -1;
	}
	crypto_generichash_init(&w.h, NULL, 0, SNAP_SUMLEN);
	store_get_stats(s, &st);
	/*
	 * Fault injection for the crash tests: STREAMDNS_FAULT_SNAPSHOT_PAUSE_MS stops the
	 * writer half-way through the records for that long, so a test can kill the process
	 * while the temporary file is half written. Unset in production.
	 */
	if (getenv("STREAMDNS_FAULT_SNAPSHOT_PAUSE_MS") != NULL) {
		w.pause_ms = atol(getenv("STREAMDNS_FAULT_SNAPSHOT_PAUSE_MS"));
		w.pause_at = st.rrsets / 2 + 1;
	}
	w_bytes(&w, SNAP_MAGIC, 8);
	w_u32(&w, SNAP_VERSION);
	w_u16(&w, SNAP_ENDIAN);
	w_u16(&w, (uint16_t)tlen);
	w_bytes(&w, topic, tlen);
	w_u32(&w, (uint32_t)npart);
	for (int32_t p = 0; p < npart; p++)
		w_u64(&w, (uint64_t)next[p]);
	w_u64(&w, st.rrsets);
	rcu_read_lock();
	store_walk(s, write_node, &w);
	/* The key sets as their events carried them: private keys stay sealed on disk. */
	w_u64(&w, w.nkeyed);
	for (size_t i = 0; i < w.nkeyed; i++) {
		const uint8_t *name = znode_name(w.keyed[i]);
		const struct zone_keys *zk = znode_keys(w.keyed[i]);

		w_bytes(&w, &(uint8_t){ (uint8_t)dname_len(name) }, 1);
		w_bytes(&w, name, dname_len(name));
		w_u32(&w, (uint32_t)zk->valuelen);
		w_bytes(&w, zk->value, zk->valuelen);
	}
	/* Positions last: they apply to nodes the records above created. */
	store_walk(s, count_positions, &npos);
	w_u64(&w, npos);
	store_walk(s, write_positions, &w);
	rcu_read_unlock();
	if (!w.err && w.npos != npos)
		w.err = EINVAL;
	/* The deleted RRsets' versions (tombs.h): conditional events judge by them. */
	w_u64(&w, tombs_count(store_tombs((struct store *)s)));
	tombs_walk(store_tombs((struct store *)s), write_tomb, &w);
	/* And the update guards' (type 0), the same way. */
	{
		struct tombs *g = store_guards_lock((struct store *)s);

		w_u64(&w, tombs_count(g));
		tombs_walk(g, write_tomb, &w);
		store_guards_unlock((struct store *)s);
	}
	free(w.keyed);
	if (!w.err && w.count != st.rrsets)
		w.err = EINVAL;
	crypto_generichash_final(&w.h, sum, sizeof(sum));
	if (!w.err && fwrite(sum, 1, sizeof(sum), w.f) != sizeof(sum))
		w.err = errno;
	if (!w.err && (fflush(w.f) != 0 || fsync(fileno(w.f)) != 0))
		w.err = errno;
	if (fclose(w.f) != 0 && !w.err)
		w.err = errno;
	if (w.err || rename(tmp, path) != 0) {
		errno = w.err ? w.err : errno;
		log_warn("snapshot %s not written", path);
		unlink(tmp);
		return -1;
	}
	fsync_dir(path);
	*written = w.count;
	return 0;
}

struct reader {
	const uint8_t	*p, *end;
};

static int
r_bytes(struct reader *r, void *out, size_t n)
{
	if ((size_t)(r->end - r->p) < n)
		return -1;
	memcpy(out, r->p, n);
	r->p += n;
	return 0;
}

/* The records' lengths must add up exactly to datalen, and their number to count. */
static bool
rdata_lengths_ok(const struct rrset *rs)
{
	size_t p = 0;
	uint32_t n = 0;

	while (p < rs->datalen) {
		uint16_t l;

		if (p + 2 > rs->datalen)
			return false;
		memcpy(&l, rs->data + p, 2);
		p += 2 + (size_t)l;
		n++;
	}
	return p == rs->datalen && n == rs->count;
}

/* Reads one record; with s == NULL only checks it. */
static int
read_record(struct reader *r, struct store *s)
{
	uint8_t len, raw[DNAME_MAXLEN], name[DNAME_MAXLEN];
	struct rrset hdr, *rs;
	size_t pos = 0;

	if (r_bytes(r, &len, 1) != 0 || len == 0 || r_bytes(r, raw, len) != 0 ||
	    dname_unpack(raw, len, &pos, name) != (int)len || pos != len ||
	    r_bytes(r, &hdr, sizeof(hdr)) != 0 || hdr.count == 0 ||
	    (size_t)(r->end - r->p) < hdr.datalen)
		return -1;
	rs = xmalloc(sizeof(*rs) + hdr.datalen);
	*rs = hdr;
	memcpy(rs->data, r->p, hdr.datalen);
	r->p += hdr.datalen;
	if (!rdata_lengths_ok(rs)) {
		free(rs);
		return -1;
	}
	if (s == NULL)
		free(rs);
	else
		store_apply(s, name, rs->type, rs);
	return 0;
}

/* Header fields; returns NULL (reason set) when the snapshot is not ours. */
static int
read_header(struct reader *r, const char *topic, struct snapshot_offsets *off,
    uint64_t *count, const char **why)
{
	char magic[8];
	uint32_t version, npart;
	uint16_t endian, tlen;
	char t[256];

	if (r_bytes(r, magic, 8) != 0 || memcmp(magic, SNAP_MAGIC, 8) != 0 ||
	    r_bytes(r, &version, 4) != 0 || version != SNAP_VERSION ||
	    r_bytes(r, &endian, 2) != 0 || endian != SNAP_ENDIAN) {
		*why = "not a snapshot of this version and byte order";
		return -1;
	}
	if (r_bytes(r, &tlen, 2) != 0 || tlen >= sizeof(t) || r_bytes(r, t, tlen) != 0) {
		*why = "truncated header";
		return -1;
	}
	t[tlen] = '\0';
	if (strcmp(t, topic) != 0) {
		*why = "it belongs to another topic";
		return -1;
	}
	if (r_bytes(r, &npart, 4) != 0 || npart == 0 || npart > 100000) {
		*why = "bad partition count";
		return -1;
	}
	off->npart = (int32_t)npart;
	off->next = xcalloc(npart, sizeof(*off->next));
	for (uint32_t p = 0; p < npart; p++)
		if (r_bytes(r, &off->next[p], 8) != 0 || off->next[p] < 0) {
			*why = "bad offsets";
			return -1;
		}
	if (r_bytes(r, count, 8) != 0) {
		*why = "truncated header";
		return -1;
	}
	return 0;
}

/* Reads one key set; with keys == NULL only checks its framing. */
static int
read_keys(struct reader *r, const struct snapshot_keys *keys)
{
	uint8_t len, raw[DNAME_MAXLEN], name[DNAME_MAXLEN];
	size_t pos = 0;
	uint32_t vlen;

	if (r_bytes(r, &len, 1) != 0 || len == 0 || r_bytes(r, raw, len) != 0 ||
	    dname_unpack(raw, len, &pos, name) != (int)len || pos != len ||
	    r_bytes(r, &vlen, 4) != 0 || (size_t)(r->end - r->p) < vlen)
		return -1;
	if (keys != NULL)
		keys->apply(keys->arg, name, (const char *)r->p, vlen);
	r->p += vlen;
	return 0;
}

/* Reads one node's positions; with s == NULL only checks their framing. */
static int
read_positions(struct reader *r, struct store *s)
{
	uint8_t len, raw[DNAME_MAXLEN], name[DNAME_MAXLEN];
	size_t pos = 0;
	uint32_t base, k;
	uint64_t *e;

	if (r_bytes(r, &len, 1) != 0 || len == 0 || r_bytes(r, raw, len) != 0 ||
	    dname_unpack(raw, len, &pos, name) != (int)len || pos != len ||
	    r_bytes(r, &base, 4) != 0 || r_bytes(r, &k, 4) != 0 ||
	    (size_t)(r->end - r->p) / sizeof(*e) < k)
		return -1;
	if (s != NULL) {
		e = xmalloc((k ? k : 1) * sizeof(*e));
		memcpy(e, r->p, k * sizeof(*e));
		store_set_positions(s, name, base, e, k);
		free(e);
	}
	r->p += k * sizeof(*e);
	return 0;
}

/* Reads one deleted RRset's version (or guard's); with s == NULL only checks framing. */
static int
read_tomb(struct reader *r, struct store *s, bool guard)
{
	uint8_t len, raw[DNAME_MAXLEN], name[DNAME_MAXLEN];
	size_t pos = 0;
	uint16_t type;
	uint32_t partition;
	int64_t offset;

	if (r_bytes(r, &len, 1) != 0 || len == 0 || r_bytes(r, raw, len) != 0 ||
	    dname_unpack(raw, len, &pos, name) != (int)len || pos != len ||
	    r_bytes(r, &type, 2) != 0 || r_bytes(r, &partition, 4) != 0 ||
	    r_bytes(r, &offset, 8) != 0 || offset < 0)
		return -1;
	if (s != NULL && !guard) {
		tombs_set(store_tombs(s), name, type, partition, offset);
	} else if (s != NULL) {
		tombs_set(store_guards_lock(s), name, type, partition, offset);
		store_guards_unlock(s);
	}
	return 0;
}

/* Two passes over the verified bytes: check every record, then apply them. */
static int
parse(const uint8_t *data, size_t len, const char *topic, struct store *s,
    struct snapshot_offsets *off, uint64_t *loaded, const struct snapshot_keys *keys,
    const char **why)
{
	struct reader r = { data, data + len };
	const uint8_t *records, *keysets, *positions, *tombstones, *guards;
	uint64_t count, nkeys, npos, ntombs, nguards;

	if (read_header(&r, topic, off, &count, why) != 0)
		return -1;
	records = r.p;
	for (uint64_t i = 0; i < count; i++)
		if (read_record(&r, NULL) != 0) {
			*why = "malformed record";
			return -1;
		}
	keysets = r.p;
	if (r_bytes(&r, &nkeys, 8) != 0) {
		*why = "truncated";
		return -1;
	}
	for (uint64_t i = 0; i < nkeys; i++)
		if (read_keys(&r, NULL) != 0) {
			*why = "malformed key set";
			return -1;
		}
	positions = r.p;
	if (r_bytes(&r, &npos, 8) != 0) {
		*why = "truncated";
		return -1;
	}
	for (uint64_t i = 0; i < npos; i++)
		if (read_positions(&r, NULL) != 0) {
			*why = "malformed positions";
			return -1;
		}
	tombstones = r.p;
	if (r_bytes(&r, &ntombs, 8) != 0) {
		*why = "truncated";
		return -1;
	}
	for (uint64_t i = 0; i < ntombs; i++)
		if (read_tomb(&r, NULL, false) != 0) {
			*why = "malformed deleted RRset";
			return -1;
		}
	guards = r.p;
	if (r_bytes(&r, &nguards, 8) != 0) {
		*why = "truncated";
		return -1;
	}
	for (uint64_t i = 0; i < nguards; i++)
		if (read_tomb(&r, NULL, true) != 0) {
			*why = "malformed update guard";
			return -1;
		}
	if (r.p != r.end) {
		*why = "trailing data";
		return -1;
	}
	r.p = records;
	for (uint64_t i = 0; i < count; i++)
		read_record(&r, s);
	r.p = keysets + 8;
	for (uint64_t i = 0; i < nkeys; i++)
		read_keys(&r, keys);
	r.p = positions + 8;
	for (uint64_t i = 0; i < npos; i++)
		read_positions(&r, s);
	r.p = tombstones + 8;
	for (uint64_t i = 0; i < ntombs; i++)
		read_tomb(&r, s, false);
	r.p = guards + 8;
	for (uint64_t i = 0; i < nguards; i++)
		read_tomb(&r, s, true);
	store_commit(s);
	*loaded = count;
	return 0;
}

int
snapshot_load(const char *path, const char *topic, struct store *s,
    struct snapshot_offsets *off, uint64_t *loaded, const struct snapshot_keys *keys)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = -1;
	struct stat sb;
	uint8_t *data = MAP_FAILED, sum[SNAP_SUMLEN];
	const char *why = NULL;

	memset(off, 0, sizeof(*off));
	if (fd < 0) {
		if (errno == ENOENT)
			return 1;
		log_warn("snapshot %s ignored, replaying the topic", path);
		return -1;
	}
	if (fstat(fd, &sb) != 0 || sb.st_size < (off_t)(8 + SNAP_SUMLEN)) {
		why = "too short";
		goto out;
	}
	data = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (data == MAP_FAILED) {
		why = strerror(errno);
		goto out;
	}
	crypto_generichash(sum, sizeof(sum), data, (size_t)sb.st_size - SNAP_SUMLEN, NULL, 0);
	if (sodium_memcmp(sum, data + sb.st_size - SNAP_SUMLEN, SNAP_SUMLEN) != 0) {
		why = "checksum mismatch (corrupt or partly written)";
		goto out;
	}
	rc = parse(data, (size_t)sb.st_size - SNAP_SUMLEN, topic, s, off, loaded, keys, &why);
out:
	if (data != MAP_FAILED)
		munmap(data, (size_t)sb.st_size);
	close(fd);
	if (rc != 0) {
		log_warnx("snapshot %s ignored: %s; replaying the topic", path, why);
		free(off->next);
		memset(off, 0, sizeof(*off));
	}
	return rc;
}
