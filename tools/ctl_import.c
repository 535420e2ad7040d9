/* ctl_import.c: streamdns-ctl import: a master file, checked whole, as one event per changed RRset. */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <libknot/libknot.h>

#include "common/event.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/zonefile.h"
#include "tools/ctl.h"

#define CHUNK		512		/* RRsets a validating thread takes at a time */
#define ERRORS_SHOWN	100
#define WARNINGS_SHOWN	100

struct import_opts {
	const char	*origin;
	bool		 prune;
	bool		 progress;
	bool		 dry_run;
};

/* One RRset of the file on its way to the topic. */
struct item {
	char		*key;
	char		*value;		/* handed to librdkafka when produced */
	char		*err;		/* why it is not a valid event */
	bool		 outside;	/* in none of the file's zones */
	bool		 beside_cname;	/* its owner has a CNAME too */
	bool		 unchanged;	/* the topic holds this RRset already */
};

struct import {
	struct ctl		*c;
	struct import_opts	 o;
	const char		*path;
	struct zonefile		*zf;
	struct ctl_index	*fidx;		/* the file's SOA and CNAME RRsets, by (owner, type) */
	struct ctl_index	*all;		/* every RRset of the file (--prune only) */
	uint8_t			 origin[DNAME_MAXLEN];
	const uint8_t		*apex;		/* of the file's zone, when it has one */
	struct item		*items;
	size_t			 nzones;
	size_t			 errors;
	size_t			 warnings;
	atomic_size_t		 next;		/* validation: the next chunk to take */
	pthread_t		 main_thread;	/* the one that shows progress */
	double			 shown;		/* when progress was last shown */
	struct ctl_state	*st;
	char			**tombstones;	/* keys --prune deletes */
	size_t			 ntomb;
	size_t			 unchanged;
};

/* ---- options ---- */

static const struct ctl_option import_options[] = {
	{ "origin", 0, "ORIGIN", NULL,
	    "origin of relative names before any $ORIGIN; records must lie below it",
	    offsetof(struct import_opts, origin) },
	{ "prune", 0, NULL, NULL,
	    "also delete the RRsets of the file's zones that the file does not have",
	    offsetof(struct import_opts, prune) },
	{ "progress", 0, NULL, NULL,
	    "show progress on stderr (the default when stderr is a terminal)",
	    offsetof(struct import_opts, progress) },
	{ "dry-run", 'n', NULL, NULL,
	    "check the file and count what would change; produce nothing",
	    offsetof(struct import_opts, dry_run) },
};

static const struct ctl_optset import_optset = {
	"import [OPTIONS] FILE",
	"Produces one event per RRset of an RFC 1035 master file whose value differs from\n"
	"the topic's. The whole file is checked first: any error, and nothing is produced.\n"
	"Its zones are the owners of its SOA records (and ORIGIN).",
	import_options, sizeof(import_options) / sizeof(import_options[0]),
};

/* ---- reading and checking the file ---- */

static void
print_error(void *arg, const char *file, uint64_t line, const char *reason)
{
	(void)arg;
	if (line > 0)
		fprintf(stderr, "%s:%llu: %s\n", file, (unsigned long long)line, reason);
	else
		fprintf(stderr, "%s: %s\n", file, reason);
}

/* "file:line: owner TYPE: " then the message; counts an error unless it is a warning. */
static void __attribute__((format(printf, 4, 5)))
rrset_error(struct import *im, const struct zonefile_rrset *r, bool warning,
    const char *fmt, ...)
{
	char name[DNAME_STRLEN], type[32];
	va_list ap;

	if (warning ? im->warnings++ >= WARNINGS_SHOWN : im->errors++ >= ERRORS_SHOWN)
		return;
	knot_rrtype_to_string(r->rrset->type, type, sizeof(type));
	fprintf(stderr, "%s:%llu: %s%s %s: ", r->file, (unsigned long long)r->line,
	    warning ? "warning: " : "", dname_to_str(r->owner, name, sizeof(name)), type);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* A zone of the file: a name owning an SOA in it, or the origin given. */
static bool
file_apex(void *arg, const uint8_t *name)
{
	const struct import *im = arg;

	return ctl_index_get(im->fidx, name, KNOT_RRTYPE_SOA) != NULL ||
	    (im->o.origin != NULL && dname_equal(name, im->origin));
}

/* Indexes the file's RRsets (what the checks look up); counts its zones. */
static void
index_file(struct import *im)
{
	im->fidx = ctl_index_new(0);
	/* A million RRsets in a table is a cache miss each: built only when --prune needs it. */
	if (im->o.prune)
		im->all = ctl_index_new(im->zf->count);
	for (size_t i = 0; i < im->zf->count; i++) {
		struct zonefile_rrset *r = &im->zf->rrsets[i];

		if (r->rrset->type == KNOT_RRTYPE_SOA || r->rrset->type == KNOT_RRTYPE_CNAME)
			ctl_index_put(im->fidx, r->owner, r->rrset->type, r);
		if (im->all != NULL)
			ctl_index_put(im->all, r->owner, r->rrset->type, r);
		if (r->rrset->type == KNOT_RRTYPE_SOA) {
			im->nzones++;
			im->apex = r->owner;
		}
	}
	if (im->o.origin != NULL && ctl_index_get(im->fidx, im->origin, KNOT_RRTYPE_SOA) == NULL) {
		im->nzones++;
		im->apex = im->origin;
	}
}

/* The file as a whole: it needs a zone, and --prune needs the zone's SOA. */
static void
check_zones(struct import *im)
{
	char name[DNAME_STRLEN];

	if (im->nzones == 0 && im->zf->count > 0) {
		fprintf(stderr, "%s: no SOA record: give --origin ZONE to import records into "
		    "an existing zone\n", im->path);
		im->errors++;
	}
	/* Without it, --prune would delete the SOA, and with it the zone. */
	if (im->o.prune && im->o.origin != NULL &&
	    ctl_index_get(im->fidx, im->origin, KNOT_RRTYPE_SOA) == NULL) {
		fprintf(stderr, "%s: --prune needs the SOA of %s in the file: without it, the "
		    "zone itself would be deleted\n", im->path,
		    dname_to_str(im->origin, name, sizeof(name)));
		im->errors++;
	}
}

static bool
is_dnssec(uint16_t type)
{
	return type == KNOT_RRTYPE_RRSIG || type == KNOT_RRTYPE_NSEC ||
	    type == KNOT_RRTYPE_NSEC3;
}

/* ---- checks: every RRset through the one encoder and the one decoder ---- */

/*
 * Everything known about one RRset of the file, on whichever thread: the index and the
 * zone set are only read here. Data outside every zone of the file would be served by no
 * zone (or by somebody else's).
 */
static void
check_rrset(struct import *im, size_t i, struct event_decoder *dec, char *err, size_t errlen)
{
	const struct zonefile_rrset *r = &im->zf->rrsets[i];
	struct item *it = &im->items[i];
	uint16_t t = r->rrset->type;

	/* One zone (the usual file): a suffix test, no lookups. */
	it->outside = im->nzones == 1 ? !dname_is_below(r->owner, im->apex) :
	    ctl_zone_of(r->owner, file_apex, im) == NULL;
	it->beside_cname = t != KNOT_RRTYPE_CNAME && !is_dnssec(t) &&
	    ctl_index_get(im->fidx, r->owner, KNOT_RRTYPE_CNAME) != NULL;
	if (ctl_event_make(dec, r->owner, r->rrset, &it->key, &it->value, err, errlen) != 0)
		it->err = xstrdup(err);
}

/* What the checks found, in the order of the file. Warnings: accepted, but likely mistakes. */
static void
report_rrsets(struct import *im)
{
	for (size_t i = 0; i < im->zf->count; i++) {
		const struct zonefile_rrset *r = &im->zf->rrsets[i];
		const struct item *it = &im->items[i];

		if (r->ttl_differs)
			rrset_error(im, r, true, "records with different TTLs: all get the least, "
			    "%u (RFC 2181 5.2)", r->rrset->ttl);
		if (it->beside_cname)
			rrset_error(im, r, true, "data beside a CNAME (RFC 1034 3.6.2): authd "
			    "answers with the CNAME");
		if (it->outside && im->nzones > 0)
			rrset_error(im, r, false, "outside the zone(s) of this file");
		if (it->err != NULL)
			rrset_error(im, r, false, "%s", it->err);
	}
}

/* "checking: N/M RRsets" on stderr, from the main thread only, at most once a second. */
static void
validate_progress(struct import *im, size_t done, bool final)
{
	double now = clock_mono_sec();

	if (!final && now - im->shown < 1.0)
		return;
	im->shown = now;
	fprintf(stderr, "\r" CTL_NAME ": import: checking %zu/%zu RRsets (%.0f%%)%s",
	    done, im->zf->count, im->zf->count ? 100.0 * (double)done /
	    (double)im->zf->count : 100.0, final ? "\n" : "");
}

static void *
validate_worker(void *arg)
{
	struct import *im = arg;
	struct event_decoder *dec = event_decoder_new();
	bool main_thread = pthread_equal(pthread_self(), im->main_thread);
	char err[1024];
	size_t start;

	if (dec == NULL)
		fatalx("out of memory");
	while ((start = atomic_fetch_add(&im->next, CHUNK)) < im->zf->count) {
		size_t end = start + CHUNK < im->zf->count ? start + CHUNK : im->zf->count;

		if (main_thread && im->o.progress)
			validate_progress(im, start, false);

		for (size_t i = start; i < end; i++)
			check_rrset(im, i, dec, err, sizeof(err));
	}
	event_decoder_free(dec);
	return NULL;
}

/* Encodes and checks every RRset, on every CPU: the costliest step of a big import. */
static void
validate_all(struct import *im)
{
	pthread_t th[CTL_THREADS_MAX];
	size_t n = ctl_cpus();

	im->items = xcalloc(im->zf->count > 0 ? im->zf->count : 1, sizeof(*im->items));
	if (im->zf->count < 4 * CHUNK)
		n = 1;
	atomic_store(&im->next, 0);
	im->main_thread = pthread_self();
	im->shown = clock_mono_sec();
	for (size_t t = 1; t < n; t++)
		if (pthread_create(&th[t], NULL, validate_worker, im) != 0)
			fatal("pthread_create");
	validate_worker(im);
	for (size_t t = 1; t < n; t++)
		pthread_join(th[t], NULL);
	if (im->o.progress && im->zf->count >= 4 * CHUNK)
		validate_progress(im, im->zf->count, true);
	report_rrsets(im);
	if (im->errors > ERRORS_SHOWN || im->warnings > WARNINGS_SHOWN)
		fprintf(stderr, "%s: %zu error(s) and %zu warning(s) in all; the first %d of each "
		    "are shown\n", im->path, im->errors, im->warnings, ERRORS_SHOWN);
}

/* ---- what changes ---- */

/* A zone apex per the topic or the file (the deepest wins, as when authd answers). */
static bool
any_apex(void *arg, const uint8_t *name)
{
	const struct import *im = arg;
	const struct ctl_entry *e = ctl_index_get(im->st->index, name, KNOT_RRTYPE_SOA);

	return (e != NULL && e->rrset != NULL) ||
	    ctl_index_get(im->fidx, name, KNOT_RRTYPE_SOA) != NULL;
}

/* Keys of the RRsets that belong to one of the file's zones but are not in the file. */
static void
plan_prune(struct import *im)
{
	char name[DNAME_STRLEN], type[32];

	im->tombstones = xcalloc(im->st->live + 1, sizeof(char *));
	for (size_t i = 0; i < im->st->nentries; i++) {
		const struct ctl_entry *e = im->st->entries[i];
		const uint8_t *zone;
		size_t n;

		if (e->rrset == NULL || ctl_index_get(im->all, e->owner, e->rrset->type) != NULL)
			continue;
		zone = ctl_rrset_zone(e->owner, e->rrset->type, any_apex, im);
		if (zone == NULL || ctl_index_get(im->fidx, zone, KNOT_RRTYPE_SOA) == NULL)
			continue;
		knot_rrtype_to_string(e->rrset->type, type, sizeof(type));
		dname_to_str(e->owner, name, sizeof(name));
		n = strlen(name) + strlen(type) + 2;
		im->tombstones[im->ntomb] = xmalloc(n);
		snprintf(im->tombstones[im->ntomb++], n, "%s|%s", name, type);
	}
}

static void
plan(struct import *im)
{
	for (size_t i = 0; i < im->zf->count; i++) {
		const struct zonefile_rrset *r = &im->zf->rrsets[i];
		const struct ctl_entry *e = ctl_index_get(im->st->index, r->owner, r->rrset->type);

		/* Decoded RRsets compare, not JSON text: "unchanged" is what authd would hold. */
		if (e != NULL && e->rrset != NULL && ctl_rrset_equal(e->rrset, r->rrset)) {
			im->items[i].unchanged = true;
			im->unchanged++;
		}
	}
	if (im->o.prune)
		plan_prune(im);
}

/* ---- producing ---- */

static void
show_progress(const struct import *im, const struct ctl_delivery *d, size_t total, double t0,
    bool final)
{
	size_t done = d->set + d->deleted + d->failed;
	double dt = clock_mono_sec() - t0;

	fprintf(stderr, "\r" CTL_NAME ": import: %zu/%zu events delivered (%.0f%%), %zu failed, "
	    "%.0f events/s%s", done, total, total ? 100.0 * (double)done / (double)total : 100.0,
	    d->failed, dt > 0 ? (double)done / dt : 0.0, final ? "\n" : "");
	(void)im;
}

/* Produces the changed RRsets and the tombstones; fills d. */
static int
produce_all(struct import *im, struct ctl_delivery *d)
{
	struct ctl_producer *p = ctl_producer_new(im->c);
	size_t total = im->zf->count - im->unchanged + im->ntomb;
	double t0 = clock_mono_sec(), shown = t0;

	if (p == NULL)
		return -1;
	if (im->o.progress)
		fprintf(stderr, CTL_NAME ": import: producing %zu events to %s\n", total,
		    im->c->topic);
	for (size_t i = 0; i < im->zf->count + im->ntomb; i++) {
		if (i < im->zf->count && !im->items[i].unchanged) {
			ctl_produce(p, im->items[i].key, im->items[i].value);
			im->items[i].value = NULL;	/* librdkafka's now */
		} else if (i >= im->zf->count) {
			ctl_produce(p, im->tombstones[i - im->zf->count], NULL);
		}
		if (im->o.progress && (i & 1023) == 0 && clock_mono_sec() - shown >= 1.0) {
			shown = clock_mono_sec();
			ctl_producer_poll(p, d);
			show_progress(im, d, total, t0, false);
		}
	}
	ctl_producer_finish(p);
	ctl_producer_poll(p, d);
	if (im->o.progress && shown != t0)
		show_progress(im, d, total, t0, true);
	ctl_producer_free(p);
	return 0;
}

static void
import_free(struct import *im)
{
	for (size_t i = 0; im->items != NULL && i < im->zf->count; i++) {
		free(im->items[i].key);
		free(im->items[i].value);
		free(im->items[i].err);
	}
	free(im->items);
	for (size_t i = 0; i < im->ntomb; i++)
		free(im->tombstones[i]);
	free(im->tombstones);
	ctl_state_free(im->st);
	ctl_index_free(im->fidx);
	ctl_index_free(im->all);
	zonefile_free(im->zf);
}

/* Reads, checks and validates the file; -1 when anything is wrong with it. */
static int
load(struct import *im)
{
	double t0 = clock_mono_sec();
	size_t nerr = 0;

	if (im->o.origin != NULL && dname_from_str(im->o.origin, NULL, im->origin) < 0) {
		fprintf(stderr, CTL_NAME " import: --origin '%s' is not a domain name\n",
		    im->o.origin);
		return -1;
	}
	if ((im->zf = zonefile_load(im->path, im->o.origin, print_error, NULL, &nerr)) == NULL) {
		im->errors += nerr;
		return -1;
	}
	index_file(im);
	check_zones(im);
	validate_all(im);	/* even after an error: every problem is shown at once */
	if (im->o.progress)
		fprintf(stderr, CTL_NAME ": import: %zu RRsets (%zu records) read and checked in "
		    "%.2f s\n", im->zf->count, im->zf->records, clock_mono_sec() - t0);
	return im->errors == 0 ? 0 : -1;
}

int
ctl_cmd_import(struct ctl *c, int argc, char **argv)
{
	struct import im;
	struct ctl_delivery d = { 0, 0, 0 };
	char **ops = xcalloc((size_t)argc + 1, sizeof(char *));
	int i = 0, nops, rc = CTL_FAIL;
	double t0 = clock_mono_sec(), dt;

	memset(&im, 0, sizeof(im));
	im.c = c;
	im.o.progress = c->progress;
	nops = ctl_options_parse(&import_optset, &im.o, argc, argv, &i, true, ops);
	if (nops != 1) {
		if (nops >= 0)
			fprintf(stderr, "usage: " CTL_NAME " import [--origin ORIGIN] [--prune] "
			    "[--progress] [--dry-run] FILE\n");
		free(ops);
		return CTL_USAGE;
	}
	im.path = ops[0];	/* "-": standard input, for `dump | import -` */
	c->progress = im.o.progress;
	if (load(&im) != 0) {
		fprintf(stderr, CTL_NAME " import: %s: %zu error(s); nothing was produced\n",
		    im.path, im.errors);
	} else if ((im.st = ctl_state_read(c)) == NULL) {
		fprintf(stderr, CTL_NAME " import: nothing was produced\n");
	} else {
		plan(&im);
		if (!im.o.dry_run && produce_all(&im, &d) != 0) {
			fprintf(stderr, CTL_NAME " import: nothing was produced\n");
		} else {
			dt = clock_mono_sec() - t0;
			printf("import %s: %zu RRsets in %zu zone(s): %s %zu, unchanged %zu, "
			    "%s %zu, failed %zu; %.2f s, %.0f RRsets/s\n", im.path, im.zf->count,
			    im.nzones, im.o.dry_run ? "would produce" : "produced",
			    im.o.dry_run ? im.zf->count - im.unchanged : d.set, im.unchanged,
			    im.o.dry_run ? "would delete" : "deleted",
			    im.o.dry_run ? im.ntomb : d.deleted, d.failed, dt,
			    dt > 0 ? (double)im.zf->count / dt : 0.0);
			rc = d.failed == 0 ? CTL_OK : CTL_FAIL;
		}
	}
	import_free(&im);
	free(ops);
	return rc;
}
