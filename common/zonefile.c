/* zonefile.c: master files read with libzscanner, records grouped into RRsets by owner and type. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libknot/libknot.h>
#include <libzscanner/scanner.h>

#include "common/array.h"
#include "common/dname.h"
#include "common/rdata.h"
#include "common/zonefile.h"

/*
 * Given to the scanner as the default TTL: above 2^31-1 (RFC 2181 8), so no valid TTL
 * equals it, and a record carrying it had neither a TTL of its own nor a $TTL above it.
 */
#define TTL_UNSET	ZONEFILE_TTL_REQUIRED
#define NONE		UINT32_MAX
#define STDIN_NAME	"-"
#define STDIN_MAX	(1024u * 1024 * 1024)	/* read from a pipe, held in memory */

/* A scanner reading a string (standard input) has no file name. */
#define FNAME(s)	((s)->file.name != NULL ? (s)->file.name : STDIN_NAME)

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
	uint64_t		*table;		/* open addressing: hash tag, set index + 1 */
	size_t			 table_cap;	/* a power of two */
	uint32_t		 last_set;	/* the set of the previous record */
	bool			 no_origin;
	zonefile_check_fn	 check;
	void			*check_arg;
	zonefile_error_fn	 err;
	void			*arg;
	size_t			 nerrors;
	char			*chain[ZONEFILE_MAX_DEPTH + 1];	/* real paths being read */
	int			 chain_len;
	char			*in;		/* standard input, when the path is "-" */
	size_t			 in_len;
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

/* The arrays of the loader start at 64 elements and double. */
static int
grow(void **ptr, size_t *cap, size_t need, size_t size)
{
	return array_grow(ptr, cap, need, size, 64);
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

static int
name_unrooted(void *rd, size_t off, size_t n)
{
	return name_is_unrooted((const uint8_t *)rd + off, n);
}

/* True when a domain name in the RDATA (per libknot's layout of the type) is unrooted. */
static bool
rdata_is_unrooted(uint16_t type, const uint8_t *rd, size_t len)
{
	return rdata_names(type, rd, len, name_unrooted, (void *)rd) != 0;
}

/* ---- grouping ---- */

static uint64_t
set_hash(const uint8_t *owner, size_t len, uint16_t type)
{
	return dname_hash(owner, len) ^ ((uint64_t)type * 0x9e3779b97f4a7c15ULL);
}

/*
 * A slot holds the set's index + 1 (0: empty) in its low half and the top of its hash in
 * the high half: probes compare the hash before touching the set (a cache miss each), and
 * growing re-places slots without hashing names again.
 */
static int
table_grow(struct loader *ld)
{
	size_t cap = ld->table_cap == 0 ? 4096 : ld->table_cap * 2;
	uint64_t *t = calloc(cap, sizeof(*t));

	if (t == NULL)
		return -1;
	for (size_t i = 0; i < ld->table_cap; i++) {
		uint64_t slot = ld->table[i];
		size_t h;

		if (slot == 0)
			continue;
		/* The hash's top half indexes too: the table never exceeds 2^32 slots. */
		for (h = (size_t)(slot >> 32) & (cap - 1); t[h] != 0; h = (h + 1) & (cap - 1))
			;
		t[h] = slot;
	}
	free(ld->table);
	ld->table = t;
	ld->table_cap = cap;
	return 0;
}

/*
 * Is the owner stored at a (a well-formed wire name) owner? Lengths first: a stored name
 * may end the arena, and memcmp may read all len octets (found by fuzz_zonefile).
 */
static bool
owner_eq(const uint8_t *a, const uint8_t *owner, size_t len)
{
	return dname_len(a) == len && memcmp(a, owner, len) == 0;
}

/* The set of (owner, type), created when new; NONE when out of memory. */
static uint32_t
set_find(struct loader *ld, const uint8_t *owner, size_t len, uint16_t type, uint32_t file,
    uint64_t line)
{
	uint64_t tag;
	size_t h, mask;
	struct set *st;

	/* Records of one RRset usually follow each other. */
	if (ld->nsets > 0) {
		st = &ld->sets[ld->last_set];
		if (st->type == type && owner_eq(ld->p->arena + st->owner, owner, len))
			return ld->last_set;
	}
	if (ld->nsets * 2 >= ld->table_cap && table_grow(ld) != 0)
		return NONE;
	mask = ld->table_cap - 1;
	tag = set_hash(owner, len, type) >> 32;
	for (h = (size_t)tag & mask; ld->table[h] != 0; h = (h + 1) & mask) {
		if (ld->table[h] >> 32 != tag)
			continue;
		st = &ld->sets[(uint32_t)ld->table[h] - 1];
		if (st->type == type && owner_eq(ld->p->arena + st->owner, owner, len))
			return ld->last_set = (uint32_t)ld->table[h] - 1;
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
	ld->table[h] = tag << 32 | ((uint64_t)ld->nsets + 1);
	ld->last_set = (uint32_t)ld->nsets;
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
on_record(struct loader *ld, const zs_scanner_t *s)
{
	uint8_t owner[DNAME_MAXLEN];
	const char *problem = record_problem(ld, s);
	uint32_t fi, si;

	if (problem == NULL) {
		memcpy(owner, s->r_owner, s->r_owner_length);
		dname_lower(owner);
		if (ld->check != NULL)
			problem = ld->check(ld->check_arg, owner, s->r_type, s->r_data,
			    s->r_data_length);
	}
	if (problem != NULL) {
		report(ld, FNAME(s), s->line_counter, "%s", problem);
	} else if (ld->nerrors == 0) {
		/* After an error nothing is kept: only further errors are of interest. */
		if ((fi = file_index(ld->p, FNAME(s))) == NONE ||
		    (si = set_find(ld, owner, s->r_owner_length, s->r_type, fi,
		    s->line_counter)) == NONE || rec_add(ld, si, s) != 0)
			report(ld, FNAME(s), s->line_counter, "out of memory");
	}
}

/* ---- scanning, $INCLUDE by $INCLUDE ---- */

static bool
file_in_chain(const struct loader *ld, const char *real)
{
	for (int i = 0; i < ld->chain_len; i++)
		if (ld->chain[i] != NULL && strcmp(ld->chain[i], real) == 0)
			return true;
	return false;
}

static void scan(struct loader *ld, const char *path, const char *origin, uint32_t ttl,
    const char *from, uint64_t from_line, int depth);

/*
 * libzscanner would read an $INCLUDE itself, recursively and without limit: a file that
 * includes itself would hold thousands of scanners (about 200 KB each) until file
 * descriptors run out. So includes are followed here, with a depth limit and a check
 * for loops. The included file starts with the includer's $TTL, as RFC 1035 5.1 has it.
 */
static void
include(struct loader *ld, zs_scanner_t *s, int depth)
{
	const char *name = s->include_filename;
	char *real = realpath(name, NULL);

	if (depth >= ZONEFILE_MAX_DEPTH) {
		report(ld, FNAME(s), s->line_counter, "$INCLUDE %s: more than %d files "
		    "deep", name, ZONEFILE_MAX_DEPTH);
	} else if (real != NULL && file_in_chain(ld, real)) {
		report(ld, FNAME(s), s->line_counter, "$INCLUDE %s: includes itself "
		    "(a loop)", name);
	} else {
		ld->chain[ld->chain_len++] = real;
		real = NULL;
		scan(ld, name, (const char *)s->buffer, s->default_ttl, FNAME(s),
		    s->line_counter, depth + 1);
		free(ld->chain[--ld->chain_len]);
	}
	free(real);
	/* libzscanner marks the include state as fatal to stop; the includer goes on. */
	s->error.fatal = false;
	s->error.code = ZS_OK;
}

/*
 * Standard input, read whole: libzscanner reads a pipe only up to its first short
 * read (read_file_to_buf() in libzscanner 3.2 stops when read() returns less than
 * asked), which truncates any input larger than the pipe's buffer.
 */
static int
read_stdin(struct loader *ld)
{
	size_t cap = 0;
	ssize_t n;

	for (;;) {
		if (ld->in_len == cap) {
			if (cap >= STDIN_MAX ||
			    grow((void **)&ld->in, &cap, cap == 0 ? 65536 : cap * 2, 1) != 0)
				return -1;
		}
		n = read(STDIN_FILENO, ld->in + ld->in_len, cap - ld->in_len);
		if (n == 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -1;
		if (n > 0)
			ld->in_len += (size_t)n;
	}
}

/* path "-" is standard input; relative $INCLUDEs then start from the working directory. */
static int
set_input(struct loader *ld, zs_scanner_t *s, const char *path)
{
	if (strcmp(path, STDIN_NAME) != 0)
		return zs_set_input_file(s, path);
	if (ld->in == NULL && read_stdin(ld) != 0) {
		s->error.code = ZS_FILE_INVALID;
		return -1;
	}
	return zs_set_input_string(s, ld->in != NULL ? ld->in : "", ld->in_len);
}

/*
 * Reads one file with a scanner of its own. from/from_line: the $INCLUDE that names
 * it, for errors opening it (NULL for the file given).
 */
static void
scan(struct loader *ld, const char *path, const char *origin, uint32_t ttl,
    const char *from, uint64_t from_line, int depth)
{
	zs_scanner_t *s = malloc(sizeof(*s));

	if (s == NULL) {
		report(ld, path, 0, "out of memory");
		return;
	}
	if (zs_init(s, origin, KNOT_CLASS_IN, ttl) != 0) {
		report(ld, from ? from : path, from_line, "bad origin \"%s\": %s", origin,
		    zs_strerror(s->error.code));
	} else if (set_input(ld, s, path) != 0) {
		if (from != NULL)
			report(ld, from, from_line, "$INCLUDE %s: %s", path,
			    zs_strerror(s->error.code));
		else
			report(ld, path, 0, "%s", zs_strerror(s->error.code));
	} else {
		int includes = 0;

		while (ld->nerrors < ZONEFILE_MAX_ERRORS && zs_parse_record(s) == 0 &&
		    s->state != ZS_STATE_EOF && s->state != ZS_STATE_STOP) {
			if (s->state == ZS_STATE_DATA)
				on_record(ld, s);
			else if (s->state == ZS_STATE_INCLUDE &&
			    ++includes > ZONEFILE_MAX_INCLUDES) {
				/*
				 * libzscanner 3.2 leaves a frame on its parser stack at every
				 * $INCLUDE it returns to us, and overflows it (stack smashing)
				 * after 16 in one file (found by fuzz_zonefile): refuse more.
				 */
				report(ld, FNAME(s), s->line_counter, "more than %d $INCLUDE "
				    "directives in one file", ZONEFILE_MAX_INCLUDES);
				break;
			} else if (s->state == ZS_STATE_INCLUDE)
				include(ld, s, depth);
			else if (s->state == ZS_STATE_ERROR)
				report(ld, FNAME(s), s->line_counter, "%s",
				    zs_strerror(s->error.code));
		}
	}
	zs_deinit(s);
	free(s);
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
	free(ld->in);
	free(ld->recs);
	free(ld->sets);
	free(ld->table);
}

struct zonefile *
zonefile_load(const char *path, const char *origin, zonefile_error_fn err, void *arg,
    size_t *nerrors)
{
	struct zonefile_opts o = { origin, ZONEFILE_TTL_REQUIRED, NULL, NULL };

	return zonefile_load_opts(path, &o, err, arg, nerrors);
}

struct zonefile *
zonefile_load_opts(const char *path, const struct zonefile_opts *o, zonefile_error_fn err,
    void *arg, size_t *nerrors)
{
	const char *origin = o->origin;
	struct loader ld;

	memset(&ld, 0, sizeof(ld));
	ld.err = err;
	ld.arg = arg;
	ld.check = o->check;
	ld.check_arg = o->check_arg;
	ld.no_origin = origin == NULL;
	ld.zf = calloc(1, sizeof(*ld.zf));
	ld.p = calloc(1, sizeof(*ld.p));
	if (ld.zf == NULL || ld.p == NULL) {
		report(&ld, path, 0, "out of memory");
	} else {
		ld.zf->priv = ld.p;
		ld.chain[ld.chain_len++] = realpath(path, NULL);
		scan(&ld, path, origin != NULL ? origin : NO_ORIGIN_TEXT, o->default_ttl, NULL,
		    0, 0);
		free(ld.chain[--ld.chain_len]);
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
