/* anchor.c: DNSSEC trust anchors read from master files, and the domain-insecure names. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libdnssec/key.h>
#include <libknot/descriptor.h>

#include "dnsr/anchor.h"
#include "common/conf.h"
#include "common/keyset.h"
#include "common/wire.h"
#include "common/zonefile.h"

/*
 * Anchor files need no TTL (root.key has none, RFC 7958's files carry none); the value
 * is never used, but must be a valid one for the loader to take the record.
 */
#define ANCHOR_TTL	0

/* A domain-insecure name. */
struct insecure {
	uint8_t		name[DNAME_MAXLEN];	/* wire format, lower case */
	size_t		len;
};

/*
 * Both arrays are sorted by (length, octets) of the names: only exact matches are looked
 * up, one per label of the name asked about, and that order is the cheapest to compare.
 */
struct anchors {
	struct anchor	*v;
	size_t		 n;
	struct insecure	*insecure;
	size_t		 ninsecure;
};

/* What the loader carries between records: the reason of the last refused one. */
struct load {
	char		why[128];
};

static int
name_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	if (alen != blen)
		return alen < blen ? -1 : 1;
	return memcmp(a, b, alen);
}

static int
anchor_cmp(const void *a, const void *b)
{
	const struct anchor *x = a, *y = b;

	return name_cmp(x->owner, x->owner_len, y->owner, y->owner_len);
}

static int
insecure_cmp(const void *a, const void *b)
{
	const struct insecure *x = a, *y = b;

	return name_cmp(x->name, x->len, y->name, y->len);
}

/* ---- loading ---- */

/* RFC 4034 5.1.4 and its successors: the digest length of each DS digest type known. */
static int
ds_digest_len(uint8_t type)
{
	switch (type) {
	case DNSSEC_KEY_DIGEST_SHA1:
		return DNSSEC_KEY_DIGEST_LEN_SHA1;
	case DNSSEC_KEY_DIGEST_SHA256:
		return DNSSEC_KEY_DIGEST_LEN_SHA256;
	case DNSSEC_KEY_DIGEST_SHA384:
		return DNSSEC_KEY_DIGEST_LEN_SHA384;
	default:
		return -1;	/* unknown: the validator will find it unsupported */
	}
}

/*
 * A zonefile_check_fn: what may be an anchor. A DNSKEY without the zone-key flag cannot
 * sign a zone (RFC 4034 2.1.1), one with another protocol is invalid (2.1.2), a revoked
 * one may not be trusted (RFC 5011 7): each would leave a zone unverifiable, so it is a
 * start-up error rather than a surprise at the first query. A DS digest of the wrong
 * length (a line cut short) likewise.
 */
static const char *
check_record(void *arg, const uint8_t *owner, uint16_t type, const uint8_t *rd, size_t len)
{
	struct load *ld = arg;
	char tname[32];
	uint16_t flags;
	int dlen;

	if (type == DNS_TYPE_DS) {
		if (len < 4)
			return "DS record too short";
		dlen = ds_digest_len(rd[3]);
		if (dlen >= 0 && len - 4 != (size_t)dlen) {
			snprintf(ld->why, sizeof(ld->why), "DS digest type %u needs %d octets of "
			    "digest, not %zu", rd[3], dlen, len - 4);
			return ld->why;
		}
		return NULL;
	}
	if (type == DNS_TYPE_DNSKEY) {
		if (len < 4)
			return "DNSKEY record too short";
		flags = (uint16_t)(rd[0] << 8 | rd[1]);
		if ((flags & DNSKEY_FLAG_ZONE) == 0)
			return "DNSKEY without the zone-key flag (flags 256 or 257) is not a "
			    "trust anchor";
		if ((flags & DNSKEY_FLAG_REVOKE) != 0)
			return "DNSKEY with the REVOKE flag (RFC 5011) is not a trust anchor";
		if (rd[2] != DNSKEY_PROTOCOL)
			return "DNSKEY protocol is not 3 (RFC 4034 2.1.2)";
		return NULL;
	}
	if (knot_rrtype_to_string(type, tname, sizeof(tname)) < 0)
		snprintf(tname, sizeof(tname), "TYPE%u", type);
	snprintf(ld->why, sizeof(ld->why), "%s record: only DS and DNSKEY records are trust "
	    "anchors", tname);
	return ld->why;
}

/* A zonefile_error_fn: "file:line: reason", or "file: reason" for the whole file. */
static void
print_error(void *arg, const char *file, uint64_t line, const char *reason)
{
	FILE *out = arg;

	if (line > 0)
		fprintf(out, "%s:%llu: %s\n", file, (unsigned long long)line, reason);
	else
		fprintf(out, "%s: %s\n", file, reason);
}

/* The anchor of owner, added when new; NULL when out of memory. */
static struct anchor *
anchor_get(struct anchors *a, const uint8_t *owner)
{
	size_t len = dname_len(owner);
	struct anchor *v;

	for (size_t i = 0; i < a->n; i++)
		if (name_cmp(a->v[i].owner, a->v[i].owner_len, owner, len) == 0)
			return &a->v[i];
	if ((v = reallocarray(a->v, a->n + 1, sizeof(*v))) == NULL)
		return NULL;
	a->v = v;
	v = &a->v[a->n++];
	memset(v, 0, sizeof(*v));
	memcpy(v->owner, owner, len);
	v->owner_len = len;
	return v;
}

/*
 * *slot gets add's records too (several files may hold keys of one owner: root.key and
 * root.ds, or an old and a new key); duplicates go, as in any RRset. 0, or -1 when out of
 * memory or the merged RRset would not fit a message.
 */
static int
merge(struct rrset **slot, const struct rrset *add)
{
	const struct rrset *sets[2] = { *slot, add };
	struct rrset_builder b;
	struct rdata_ref rd;
	struct rrset *rs;

	rrset_builder_init(&b, add->type);
	for (size_t i = 0; i < 2; i++) {
		if (sets[i] == NULL)
			continue;
		for (const uint8_t *it = rrset_first(sets[i], &rd); it != NULL;
		    it = rrset_next(sets[i], it, &rd)) {
			if (rrset_builder_add(&b, ANCHOR_TTL, rd.data, rd.len) != 0) {
				rrset_builder_clear(&b);
				return -1;
			}
		}
	}
	if ((rs = rrset_builder_finish(&b)) == NULL)
		return -1;
	free(*slot);
	*slot = rs;
	return 0;
}

/* Adds one file's anchors; returns the number of errors printed. */
static int
load_file(struct anchors *a, const char *path, FILE *errout)
{
	struct load ld = { "" };
	struct zonefile_opts o = { ".", ANCHOR_TTL, check_record, &ld };
	const struct zonefile_rrset *zr;
	struct zonefile *zf;
	struct anchor *an;
	size_t nerrors;

	/* libzscanner says only "file open error": the reason is what an operator needs. */
	if (access(path, R_OK) != 0) {
		fprintf(errout, "%s: %s\n", path, strerror(errno));
		return 1;
	}
	if ((zf = zonefile_load_opts(path, &o, print_error, errout, &nerrors)) == NULL)
		return nerrors > 0 ? (int)nerrors : 1;
	if (zf->count == 0) {
		fprintf(errout, "%s: no trust anchor (DS or DNSKEY record) in the file\n", path);
		zonefile_free(zf);
		return 1;
	}
	for (size_t i = 0; i < zf->count; i++) {
		zr = &zf->rrsets[i];
		if ((an = anchor_get(a, zr->owner)) == NULL ||
		    merge(zr->rrset->type == DNS_TYPE_DS ? &an->ds : &an->dnskey,
		    zr->rrset) != 0) {
			fprintf(errout, "%s:%llu: out of memory, or too many keys for one "
			    "message\n", zr->file, (unsigned long long)zr->line);
			zonefile_free(zf);
			return 1;
		}
	}
	zonefile_free(zf);
	return 0;
}

struct anchors *
anchors_load(const char *const *paths, size_t npaths, FILE *errout)
{
	struct anchors *a = calloc(1, sizeof(*a));
	int errors = 0;

	if (a == NULL) {
		fprintf(errout, "trust anchors: out of memory\n");
		return NULL;
	}
	if (npaths == 0) {
		fprintf(errout, "trust anchors: no file given\n");
		errors++;
	}
	/* Every file is read, so that one run shows every problem. */
	for (size_t i = 0; i < npaths; i++)
		errors += load_file(a, paths[i], errout);
	if (errors > 0) {
		anchors_free(a);
		return NULL;
	}
	qsort(a->v, a->n, sizeof(*a->v), anchor_cmp);
	return a;
}

/* ---- domain-insecure ---- */

/* A conf_item_fn: one domain-insecure name into the array arg (NULL: check only). */
static int
insecure_item(void *arg, const char *item, char *err, size_t errlen)
{
	struct insecure *out = arg, tmp;
	int len;

	if (out == NULL)
		out = &tmp;
	/* Relative names are taken from the root: the trailing dot is optional. */
	if ((len = dname_from_str(item, NULL, out->name)) < 0) {
		snprintf(err, errlen, "'%s': not a domain name", item);
		return -1;
	}
	dname_lower(out->name);
	out->len = (size_t)len;
	return 0;
}

/* A conf_item_fn: appends one name to the anchors' array (room is made beforehand). */
static int
insecure_append(void *arg, const char *item, char *err, size_t errlen)
{
	struct anchors *a = arg;

	if (insecure_item(&a->insecure[a->ninsecure], item, err, errlen) != 0)
		return -1;
	a->ninsecure++;
	return 0;
}

int
anchors_set_insecure(struct anchors *a, const char *list, char *err, size_t errlen)
{
	struct insecure *v;
	size_t before;
	long n;

	n = conf_list_each(list, ANCHORS_MAX_INSECURE, insecure_item, NULL, err, errlen);
	if (n > ANCHORS_MAX_INSECURE) {
		snprintf(err, errlen, "more than %d domains", ANCHORS_MAX_INSECURE);
		return -1;
	}
	if (n <= 0 || a == NULL)
		return n < 0 ? -1 : 0;
	if ((v = reallocarray(a->insecure, a->ninsecure + (size_t)n, sizeof(*v))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	a->insecure = v;
	before = a->ninsecure;
	/* The names were checked above, so this fails only on memory: then undo. */
	if (conf_list_each(list, ANCHORS_MAX_INSECURE, insecure_append, a, err, errlen) < 0) {
		a->ninsecure = before;
		return -1;
	}
	qsort(a->insecure, a->ninsecure, sizeof(*a->insecure), insecure_cmp);
	return 0;
}

/* ---- lookups ---- */

/* Binary searches for exactly the name (len octets, lower case); NULL when absent. */
static const void *
find_anchor(const struct anchors *a, const uint8_t *name, size_t len)
{
	size_t lo = 0, hi = a->n, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = name_cmp(a->v[mid].owner, a->v[mid].owner_len, name, len)) == 0)
			return &a->v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static const void *
find_insecure(const struct anchors *a, const uint8_t *name, size_t len)
{
	size_t lo = 0, hi = a->ninsecure, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = name_cmp(a->insecure[mid].name, a->insecure[mid].len, name, len);
		if (c == 0)
			return &a->insecure[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/*
 * Tries name and each of its ancestors, closest first; returns the first that find()
 * knows. The name is lower-cased into a copy: callers may pass a name as it came off the
 * wire (0x20 case included).
 */
static const void *
closest(const struct anchors *a, const uint8_t *name,
    const void *(*find)(const struct anchors *, const uint8_t *, size_t))
{
	uint8_t lower[DNAME_MAXLEN];
	size_t len = dname_len(name), pos = 0;
	const void *found;

	memcpy(lower, name, len);
	dname_lower(lower);
	for (;;) {
		if ((found = find(a, lower + pos, len - pos)) != NULL || lower[pos] == 0)
			return found;
		pos += 1 + (size_t)lower[pos];
	}
}

const struct anchor *
anchors_find(const struct anchors *a, const uint8_t *name)
{
	return a->n == 0 ? NULL : closest(a, name, find_anchor);
}

bool
anchors_insecure(const struct anchors *a, const uint8_t *name)
{
	return a->ninsecure > 0 && closest(a, name, find_insecure) != NULL;
}

size_t
anchors_count(const struct anchors *a)
{
	return a->n;
}

void
anchors_free(struct anchors *a)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < a->n; i++) {
		free(a->v[i].ds);
		free(a->v[i].dnskey);
	}
	free(a->v);
	free(a->insecure);
	free(a);
}
