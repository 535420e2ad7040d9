/* ctl_dump.c: streamdns-ctl dump and status: the topic's current state, as a master file or counts. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <libknot/libknot.h>

#include "common/log.h"
#include "tools/ctl.h"

/* Canonical order of names; at one name the SOA first (RFC 1035 5.2), then by type. */
static int
entry_cmp(const void *pa, const void *pb)
{
	const struct ctl_entry *a = *(const struct ctl_entry *const *)pa;
	const struct ctl_entry *b = *(const struct ctl_entry *const *)pb;
	int c = dname_canon_cmp(a->owner, b->owner);
	unsigned ta = a->rrset->type, tb = b->rrset->type;

	if (c != 0)
		return c;
	ta = ta == KNOT_RRTYPE_SOA ? 0 : ta;
	tb = tb == KNOT_RRTYPE_SOA ? 0 : tb;
	return (ta > tb) - (ta < tb);
}

/* The live entries (of zone, when not NULL), sorted when sort; returns their number. */
static size_t
select_entries(const struct ctl_state *st, const uint8_t *zone, bool sort,
    struct ctl_entry ***out)
{
	struct ctl_entry **v = xcalloc(st->live + 1, sizeof(*v));
	size_t n = 0;

	for (size_t i = 0; i < st->nentries; i++) {
		struct ctl_entry *e = st->entries[i];
		const uint8_t *z;

		if (e->rrset == NULL)
			continue;
		if (zone != NULL && ((z = ctl_rrset_zone(e->owner,
		    e->rrset->type, ctl_state_apex, (void *)st)) == NULL ||
		    !dname_equal(z, zone)))
			continue;
		v[n++] = e;
	}
	if (sort)
		qsort(v, n, sizeof(*v), entry_cmp);
	*out = v;
	return n;
}

static void
print_offsets(FILE *out, const struct ctl_state *st)
{
	fprintf(out, "; read up to the high watermarks (partition:offset):");
	for (int32_t p = 0; p < st->npart; p++)
		fprintf(out, " %" PRId32 ":%" PRId64, p, st->high[p]);
	fputc('\n', out);
}

int
ctl_cmd_dump(struct ctl *c, int argc, char **argv)
{
	uint8_t zone[DNAME_MAXLEN];
	char name[DNAME_STRLEN];
	struct ctl_entry **v;
	struct ctl_state *st;
	size_t n;
	int rc = CTL_OK;

	if (argc > 1 || (argc == 1 && argv[0][0] == '-')) {
		bool help = argc == 1 && strcmp(argv[0], "--help") == 0;

		fprintf(help ? stdout : stderr, "usage: " CTL_NAME " [GLOBAL OPTIONS] dump [ZONE]\n"
		    "Prints the topic's current state (one zone, or every RRset) as a master "
		    "file.\n");
		return help ? CTL_OK : CTL_USAGE;
	}
	if (argc == 1 && dname_from_str(argv[0], NULL, zone) < 0) {
		fprintf(stderr, CTL_NAME " dump: '%s' is not a domain name\n", argv[0]);
		return CTL_USAGE;
	}
	if (argc == 1)		/* without a zone, every RRset: zone is not set */
		dname_lower(zone);
	if ((st = ctl_state_read(c)) == NULL)
		return CTL_FAIL;
	if (argc == 1 && !ctl_state_apex(st, zone)) {
		fprintf(stderr, CTL_NAME " dump: no zone %s in %s (no SOA RRset at that name)\n",
		    argv[0], c->topic);
		ctl_state_free(st);
		return CTL_FAIL;
	}
	n = select_entries(st, argc == 1 ? zone : NULL, true, &v);
	if (argc == 1)
		printf("; zone %s of topic %s at %s: %zu RRsets\n",
		    dname_to_str(zone, name, sizeof(name)), c->topic, c->brokers, n);
	else
		printf("; every RRset of topic %s at %s: %zu\n", c->topic, c->brokers, n);
	print_offsets(stdout, st);
	for (size_t i = 0; i < n && rc == CTL_OK; i++) {
		if (ctl_print_rrset(stdout, v[i]->owner, v[i]->rrset, "") != 0) {
			fprintf(stderr, CTL_NAME " dump: an RRset cannot be written as text\n");
			rc = CTL_FAIL;
		}
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, CTL_NAME " dump: writing the output failed\n");
		rc = CTL_FAIL;
	}
	free(v);
	ctl_state_free(st);
	return rc;
}

/* Per zone (in canonical order): RRsets and serial; then the RRsets in no zone. */
static void
print_zones(const struct ctl_state *st, struct ctl_entry **v, size_t n)
{
	struct ctl_index *count = ctl_index_new(0);	/* (apex, SOA) -> RRsets */
	struct ctl_entry **soa = xcalloc(n + 1, sizeof(*soa));
	size_t orphans = 0, nsoa = 0;

	for (size_t i = 0; i < n; i++) {
		const uint8_t *z = ctl_rrset_zone(v[i]->owner, v[i]->rrset->type,
		    ctl_state_apex, (void *)st);

		if (v[i]->rrset->type == KNOT_RRTYPE_SOA)
			soa[nsoa++] = v[i];
		if (z == NULL) {
			orphans++;
			continue;
		}
		ctl_index_put(count, z, KNOT_RRTYPE_SOA, (void *)((uintptr_t)ctl_index_get(count,
		    z, KNOT_RRTYPE_SOA) + 1));
	}
	/* Only the zones are sorted: a million RRsets need not be for a count. */
	qsort(soa, nsoa, sizeof(*soa), entry_cmp);
	for (size_t i = 0; i < nsoa; i++) {
		char name[DNAME_STRLEN];

		printf("zone %s: %zu RRsets, serial %" PRIu32 "\n",
		    dname_to_str(soa[i]->owner, name, sizeof(name)),
		    (size_t)(uintptr_t)ctl_index_get(count, soa[i]->owner, KNOT_RRTYPE_SOA),
		    rrset_soa_serial(soa[i]->rrset));
	}
	if (orphans > 0)
		printf("outside every zone: %zu RRsets (authd does not serve them)\n", orphans);
	free(soa);
	ctl_index_free(count);
}

int
ctl_cmd_status(struct ctl *c, int argc, char **argv)
{
	struct ctl_state *st;
	struct ctl_entry **v;
	size_t n, zones = 0, records = 0, keysets = 0;

	if (argc > 0) {
		bool help = strcmp(argv[0], "--help") == 0;

		fprintf(help ? stdout : stderr, "usage: " CTL_NAME " [GLOBAL OPTIONS] status\n"
		    "Prints every partition's watermarks, then the zones and RRsets the topic "
		    "holds.\n");
		return help ? CTL_OK : CTL_USAGE;
	}
	if ((st = ctl_state_read(c)) == NULL)
		return CTL_FAIL;
	printf("topic %s at %s: %" PRId32 " partition(s)\n", c->topic, c->brokers, st->npart);
	printf("%9s %15s %15s\n", "partition", "low-watermark", "high-watermark");
	for (int32_t p = 0; p < st->npart; p++)
		printf("%9" PRId32 " %15" PRId64 " %15" PRId64 "\n", p, st->low[p], st->high[p]);
	n = select_entries(st, NULL, false, &v);
	for (size_t i = 0; i < n; i++) {
		zones += v[i]->rrset->type == KNOT_RRTYPE_SOA;
		records += v[i]->rrset->count;
	}
	printf("events: %zu read, %zu rejected (invalid: authd ignores them too)\n", st->events,
	    st->rejected);
	printf("RRsets: %zu (%zu records) in %zu zone(s)\n", n, records, zones);
	for (size_t i = 0; i < st->nkeysets; i++)
		keysets += st->keysets[i]->value != NULL;
	if (keysets > 0)
		printf("DNSSEC key sets: %zu (see dnssec status)\n", keysets);
	print_zones(st, v, n);
	free(v);
	ctl_state_free(st);
	return CTL_OK;
}
