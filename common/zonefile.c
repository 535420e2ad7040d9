/* zonefile.c: master files read with libzscanner, records grouped into RRsets by owner and type. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libknot/libknot.h>
#include <libzscanner/scanner.h>

#include "common/dname.h"
#include "common/zonefile.h"

/*
 * Given to the scanner as the default TTL: above 2^31-1 (RFC 2181 8), so no valid TTL
 * equals it, and a record carrying it had neither a TTL of its own nor a $TTL above it.
 */
#define TTL_UNSET	UINT32_MAX
#define NONE		UINT32_MAX

/*
 * The origin used when the caller has none: a label no real zone contains (it starts with
 * a NUL octet), so that a name completed with it is recognised as "relative, no origin".
 */
#define NO_ORIGIN_TEXT	"\\000streamdns-no-origin."
static const uint8_t no_origin_label[] = "\x14\0streamdns-no-origin";
#define NO_ORIGIN_LABEL_LEN	21

/* One record read: its RDATA sits in the arena; records of one RRset are chained. */
struct rec {
	size_t		rdata;		/* arena offset */
	uint32_t	next;		/* next record of the same RRset, or NONE */
	uint32_t	ttl;
	uint16_t	len;
};

/* An RRset being collected. */
struct set {
	size_t		owner;		/* arena offset of the lower-case wire owner */
	uint32_t	first, last;	/* record chain */
	uint32_t	file;		/* index in files[] */
	uint64_t	line;
	uint16_t	type;
	bool		ttl_differs;
};

struct zonefile_priv {
	uint8_t		*arena;		/* owners and RDATA, addressed by offset while growing */
	size_t		 arena_len, arena_cap;
	char		**files;	/* every file name seen ($INCLUDE adds some) */
	size_t		 nfiles, files_cap;
};

struct loader {
	struct zonefile		*zf;
	struct zonefile_priv	*p;
	struct rec		*recs;
	size_t			 nrecs, recs_cap;
	struct set		*sets;
	size_t			 nsets, sets_cap;
	uint32_t		*table;		/* open addressing: set index + 1, 0 = empty */
	size_t			 table_cap;	/* a power of two */
	bool			 no_origin;
	zonefile_error_fn	 err;
	void			*arg;
	size_t			 nerrors;
	const zs_scanner_t	*top;		/* the scanner of the file itself */
	bool			 include_failed;	/* an error was reported inside an $INCLUDE */
};

static void __attribute__((format(printf, 4, 5)))
report(struct loader *ld, const char *file, uint64_t line, const char *fmt, ...)
{
	char reason[512];
	va_list ap;

	ld->nerrors++;
	if (ld->nerrors > ZONEFILE_MAX_ERRORS || ld->err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (ld->nerrors == ZONEFILE_MAX_ERRORS)
		strncat(reason, " (too many errors: stopping)", sizeof(reason) - strlen(reason) - 1);
	ld->err(ld->arg, file, line, reason);
}

/* Grows *ptr (of elements of size) so that it holds at least need of them. */
static int
grow(void **ptr, size_t *cap, size_t need, size_t size)
{
	size_t ncap = *cap == 0 ? 64 : *cap;
	void *n;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	if ((n = realloc(*ptr, ncap * size)) == NULL)
		return -1;
	*ptr = n;
	*cap = ncap;
	return 0;
}

/* Appends len octets to the arena; returns their offset, or SIZE_MAX when out of memory. */
static size_t
arena_add(struct zonefile_priv *p, const uint8_t *data, size_t len)
{
	size_t off = p->arena_len;

	if (grow((void **)&p->arena, &p->arena_cap, p->arena_len + len, 1) != 0)
		return SIZE_MAX;
	memcpy(p->arena + off, data, len);
	p->arena_len += len;
	return off;
}

/* Index of name in files[], adding it when new (nearly always the last one). */
static uint32_t
file_index(struct zonefile_priv *p, const char *name)
{
	char *copy;

	if (name == NULL)
		name = "-";
	for (size_t i = p->nfiles; i > 0; i--)
		if (strcmp(p->files[i - 1], name) == 0)
			return (uint32_t)(i - 1);
	if (grow((void **)&p->files, &p->files_cap, p->nfiles + 1, sizeof(char *)) != 0 ||
	    (copy = strdup(name)) == NULL)
		return NONE;
	p->files[p->nfiles] = copy;
	return (uint32_t)p->nfiles++;
}

/* ---- relative names without an origin ---- */

/* True when the name's last label is the no-origin sentinel. */
static bool
name_is_unrooted(const uint8_t *name, size_t avail)
{
	size_t pos = 0, last = NONE;

	while (pos < avail && name[pos] != 0) {
		last = pos;
		pos += 1 + (size_t)name[pos];
	}
	return last != NONE && last + NO_ORIGIN_LABEL_LEN <= avail &&
	    memcmp(name + last, no_origin_label, NO_ORIGIN_LABEL_LEN) == 0;
}

/* Length of the uncompressed name at rd[pos], bounded by len; 0 when it runs off the end. */
static size_t
wire_name_len(const uint8_t *rd, size_t pos, size_t len)
{
	size_t start = pos;

	while (pos < len && rd[pos] != 0)
		pos += 1 + (size_t)rd[pos];
	return pos < len ? pos + 1 - start : 0;
}

/* True when a domain name in the RDATA (per libknot's layout of the type) is unrooted. */
static bool
rdata_is_unrooted(uint16_t type, const uint8_t *rd, size_t len)
{
	const knot_rdata_descriptor_t *d = knot_get_rdata_descriptor(type);
	size_t pos = 0, n;

	for (const int *b = d->block_types; *b != KNOT_RDATA_WF_END && pos < len; b++) {
		switch (*b) {
		case KNOT_RDATA_WF_FIXED_DNAME:
		case KNOT_RDATA_WF_COMPRESSIBLE_DNAME:
		case KNOT_RDATA_WF_DECOMPRESSIBLE_DNAME:
			if ((n = wire_name_len(rd, pos, len)) == 0)
				return false;
			if (name_is_unrooted(rd + pos, n))
				return true;
			pos += n;
			break;
		case KNOT_RDATA_WF_NAPTR_HEADER:
			/* ORDER, PREFERENCE, then FLAGS, SERVICES, REGEXP character-strings. */
			pos += 4;
			for (int i = 0; i < 3 && pos < len; i++)
				pos += 1 + (size_t)rd[pos];
			break;
		case KNOT_RDATA_WF_REMAINDER:
			return false;
		default:
			pos += (size_t)*b;
			break;
		}
	}
	return false;
}

/* ---- grouping ---- */

static uint64_t
set_hash(const uint8_t *owner, size_t len, uint16_t type)
{
	return dname_hash(owner, len) ^ ((uint64_t)type * 0x9e3779b97f4a7c15ULL);
}

static int
table_grow(struct loader *ld)
{
	size_t cap = ld->table_cap == 0 ? 1024 : ld->table_cap * 2;
	uint32_t *t = calloc(cap, sizeof(*t));

	if (t == NULL)
		return -1;
	for (size_t i = 0; i < ld->nsets; i++) {
		const uint8_t *o = ld->p->arena + ld->sets[i].owner;
		size_t h = (size_t)set_hash(o, dname_len(o), ld->sets[i].type) & (cap - 1);

		while (t[h] != 0)
			h = (h + 1) & (cap - 1);
		t[h] = (uint32_t)i + 1;
	}
	free(ld->table);
	ld->table = t;
	ld->table_cap = cap;
	return 0;
}

/* The set of (owner, type), created when new; NONE when out of memory. */
static uint32_t
set_find(struct loader *ld, const uint8_t *owner, size_t len, uint16_t type, uint32_t file,
    uint64_t line)
{
	size_t h, mask;
	struct set *st;

	if (ld->nsets * 2 >= ld->table_cap && table_grow(ld) != 0)
		return NONE;
	mask = ld->table_cap - 1;
	for (h = (size_t)set_hash(owner, len, type) & mask; ld->table[h] != 0;
	    h = (h + 1) & mask) {
		st = &ld->sets[ld->table[h] - 1];
		if (st->type == type && memcmp(ld->p->arena + st->owner, owner, len) == 0)
			return ld->table[h] - 1;
	}
	if (ld->nsets >= NONE - 1 ||
	    grow((void **)&ld->sets, &ld->sets_cap, ld->nsets + 1, sizeof(*ld->sets)) != 0)
		return NONE;
	st = &ld->sets[ld->nsets];
	if ((st->owner = arena_add(ld->p, owner, len)) == SIZE_MAX)
		return NONE;
	st->type = type;
	st->first = st->last = NONE;
	st->file = file;
	st->line = line;
	st->ttl_differs = false;
	ld->table[h] = (uint32_t)ld->nsets + 1;
	return (uint32_t)ld->nsets++;
}

static int
rec_add(struct loader *ld, uint32_t si, const zs_scanner_t *s)
{
	struct set *st = &ld->sets[si];
	struct rec *r;

	if (ld->nrecs >= NONE - 1 ||
	    grow((void **)&ld->recs, &ld->recs_cap, ld->nrecs + 1, sizeof(*ld->recs)) != 0)
		return -1;
	r = &ld->recs[ld->nrecs];
	if ((r->rdata = arena_add(ld->p, s->r_data, s->r_data_length)) == SIZE_MAX)
		return -1;
	r->len = (uint16_t)s->r_data_length;
	r->ttl = s->r_ttl;
	r->next = NONE;
	if (st->last == NONE) {
		st->first = (uint32_t)ld->nrecs;
	} else {
		st->ttl_differs |= ld->recs[st->last].ttl != r->ttl;
		ld->recs[st->last].next = (uint32_t)ld->nrecs;
	}
	st->last = (uint32_t)ld->nrecs++;
	return 0;
}

/* ---- scanner callbacks ---- */

/* Checks what libzscanner leaves to its caller; returns a reason, or NULL. */
static const char *
record_problem(const struct loader *ld, const zs_scanner_t *s)
{
	if (s->r_class != KNOT_CLASS_IN)
		return "only class IN is supported";
	if (s->r_ttl == TTL_UNSET)
		return "no TTL: the record has none and no $TTL precedes it (servers disagree "
		    "on the default: state it)";
	if (ld->no_origin && name_is_unrooted(s->r_owner, s->r_owner_length))
		return "relative owner name (or @) but no origin: add $ORIGIN or give the origin";
	if (ld->no_origin && rdata_is_unrooted(s->r_type, s->r_data, s->r_data_length))
		return "relative name in the data but no origin: add $ORIGIN or give the origin";
	return NULL;
}

static void
on_record(zs_scanner_t *s)
{
	struct loader *ld = s->process.data;
	uint8_t owner[DNAME_MAXLEN];
	const char *problem = record_problem(ld, s);
	uint32_t fi, si;

	if (problem != NULL) {
		report(ld, s->file.name, s->line_counter, "%s", problem);
	} else if (ld->nerrors == 0) {
		/* After an error nothing is kept: only further errors are of interest. */
		memcpy(owner, s->r_owner, s->r_owner_length);
		dname_lower(owner);
		if ((fi = file_index(ld->p, s->file.name)) == NONE ||
		    (si = set_find(ld, owner, s->r_owner_length, s->r_type, fi,
		    s->line_counter)) == NONE || rec_add(ld, si, s) != 0)
			report(ld, s->file.name, s->line_counter, "out of memory");
	}
	if (ld->nerrors >= ZONEFILE_MAX_ERRORS)
		s->state = ZS_STATE_STOP;
}

static bool
is_file_error(int code)
{
	return code == ZS_FILE_OPEN || code == ZS_FILE_INVALID || code == ZS_FILE_ACCESS ||
	    code == ZS_UNOPENED_INCLUDE;
}

static void
on_error(zs_scanner_t *s)
{
	struct loader *ld = s->process.data;

	if (s->error.code == ZS_UNPROCESSED_INCLUDE && ld->include_failed) {
		/* The included file's own errors were reported: this one only repeats them. */
	} else if (is_file_error(s->error.code) && s->include_filename[0] != '\0') {
		report(ld, s->file.name, s->line_counter, "$INCLUDE %s: %s", s->include_filename,
		    zs_strerror(s->error.code));
	} else {
		report(ld, s->file.name, s->line_counter, "%s", zs_strerror(s->error.code));
	}
	/* libzscanner reads an $INCLUDE with a scanner of its own, calling us the same way. */
	if (s != ld->top)
		ld->include_failed = true;
	if (ld->nerrors >= ZONEFILE_MAX_ERRORS)
		s->state = ZS_STATE_STOP;
}

/* ---- assembling ---- */

static int
assemble(struct loader *ld)
{
	struct zonefile *zf = ld->zf;
	struct rrset_builder b;

	zf->rrsets = calloc(ld->nsets > 0 ? ld->nsets : 1, sizeof(*zf->rrsets));
	if (zf->rrsets == NULL)
		return -1;
	for (size_t i = 0; i < ld->nsets; i++) {
		const struct set *st = &ld->sets[i];
		struct zonefile_rrset *out = &zf->rrsets[i];

		out->owner = ld->p->arena + st->owner;
		out->file = ld->p->files[st->file];
		out->line = st->line;
		out->ttl_differs = st->ttl_differs;
		rrset_builder_init(&b, st->type);
		for (uint32_t r = st->first; r != NONE; r = ld->recs[r].next) {
			if (rrset_builder_add(&b, ld->recs[r].ttl, ld->p->arena + ld->recs[r].rdata,
			    ld->recs[r].len) != 0) {
				rrset_builder_clear(&b);
				report(ld, out->file, out->line, "the RRset is too large for a DNS "
				    "message (more than 65535 octets)");
				break;
			}
		}
		if (b.count > 0 && (out->rrset = rrset_builder_finish(&b)) == NULL)
			return -1;
		zf->count = i + 1;
	}
	zf->records = ld->nrecs;
	return 0;
}

static void
loader_free(struct loader *ld)
{
	free(ld->recs);
	free(ld->sets);
	free(ld->table);
}

/* Runs the scanner over path; every problem is reported through ld. */
static void
scan(struct loader *ld, const char *path, const char *origin)
{
	zs_scanner_t *s = malloc(sizeof(*s));

	if (s == NULL) {
		report(ld, path, 0, "out of memory");
		return;
	}
	if (zs_init(s, origin != NULL ? origin : NO_ORIGIN_TEXT, KNOT_CLASS_IN, TTL_UNSET) != 0) {
		report(ld, path, 0, "bad origin \"%s\": %s", origin != NULL ? origin : "",
		    zs_strerror(s->error.code));
		free(s);
		return;
	}
	ld->top = s;
	if (zs_set_processing(s, on_record, on_error, ld) != 0 ||
	    zs_set_input_file(s, path) != 0) {
		report(ld, path, 0, "%s", zs_strerror(s->error.code));
	} else if (zs_parse_all(s) != 0 && ld->nerrors == 0) {
		report(ld, path, s->line_counter, "%s", zs_strerror(s->error.code));
	}
	zs_deinit(s);
	free(s);
}

struct zonefile *
zonefile_load(const char *path, const char *origin, zonefile_error_fn err, void *arg,
    size_t *nerrors)
{
	struct loader ld;

	memset(&ld, 0, sizeof(ld));
	ld.err = err;
	ld.arg = arg;
	ld.no_origin = origin == NULL;
	ld.zf = calloc(1, sizeof(*ld.zf));
	ld.p = calloc(1, sizeof(*ld.p));
	if (ld.zf == NULL || ld.p == NULL) {
		report(&ld, path, 0, "out of memory");
	} else {
		ld.zf->priv = ld.p;
		scan(&ld, path, origin);
		if (ld.nerrors == 0 && assemble(&ld) != 0)
			report(&ld, path, 0, "out of memory");
	}
	loader_free(&ld);
	if (nerrors != NULL)
		*nerrors = ld.nerrors;
	if (ld.nerrors > 0) {
		if (ld.zf == NULL)
			free(ld.p);
		zonefile_free(ld.zf);
		return NULL;
	}
	return ld.zf;
}

void
zonefile_free(struct zonefile *zf)
{
	if (zf == NULL)
		return;
	for (size_t i = 0; i < zf->count; i++)
		free(zf->rrsets[i].rrset);
	free(zf->rrsets);
	if (zf->priv != NULL) {
		for (size_t i = 0; i < zf->priv->nfiles; i++)
			free(zf->priv->files[i]);
		free(zf->priv->files);
		free(zf->priv->arena);
		free(zf->priv);
	}
	free(zf);
}
