/* local.c: loading and applying instance-local records (the original's DNS_LOCAL_RECORDS). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authd/local.h"
#include "common/log.h"
#include "common/wire.h"
#include "common/zonefile.h"

struct load_ctx {
	const char	*path;
	size_t		 errors;
};

static void
load_error(void *arg, const char *file, uint64_t line, const char *reason)
{
	struct load_ctx *c = arg;

	c->errors++;
	if (line > 0)
		log_warnx("%s:%llu: %s", file, (unsigned long long)line, reason);
	else
		log_warnx("%s: %s", file, reason);
}

/* The RRset rules events obey hold for local data too: one CNAME, DNAME or SOA record. */
static int
check_rrset(const struct zonefile_rrset *z, struct load_ctx *c)
{
	uint16_t t = z->rrset->type;
	char msg[128];

	if ((t == DNS_TYPE_CNAME || t == DNS_TYPE_DNAME || t == DNS_TYPE_SOA) &&
	    z->rrset->count != 1) {
		snprintf(msg, sizeof(msg), "a %s RRset must have exactly one record, not %u",
		    t == DNS_TYPE_CNAME ? "CNAME" : t == DNS_TYPE_DNAME ? "DNAME" : "SOA",
		    z->rrset->count);
		load_error(c, z->file, z->line, msg);
		return -1;
	}
	return 0;
}

/* The daemon's copy: out of memory is fatal here, as for every xmalloc. */
static struct rrset *
xrrset_dup(const struct rrset *rs)
{
	struct rrset *d = rrset_dup(rs);

	if (d == NULL)
		fatalx("out of memory");
	return d;
}

struct local_data *
local_load(const char *path)
{
	struct load_ctx c = { path, 0 };
	struct zonefile *zf = zonefile_load(path, NULL, load_error, &c, NULL);
	struct local_data *d;

	if (zf == NULL)
		return NULL;
	for (size_t i = 0; i < zf->count; i++)
		check_rrset(&zf->rrsets[i], &c);
	if (c.errors > 0) {
		zonefile_free(zf);
		return NULL;
	}
	d = xcalloc(1, sizeof(*d));
	d->sets = xcalloc(zf->count ? zf->count : 1, sizeof(*d->sets));
	for (size_t i = 0; i < zf->count; i++) {
		memcpy(d->sets[i].owner, zf->rrsets[i].owner, dname_len(zf->rrsets[i].owner));
		d->sets[i].type = zf->rrsets[i].rrset->type;
		d->sets[i].rrset = xrrset_dup(zf->rrsets[i].rrset);
	}
	d->n = zf->count;
	zonefile_free(zf);
	return d;
}

void
local_free(struct local_data *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; i < d->n; i++)
		free(d->sets[i].rrset);
	free(d->sets);
	free(d);
}

static bool
local_has(const struct local_data *d, const uint8_t *owner, uint16_t type)
{
	for (size_t i = 0; d != NULL && i < d->n; i++)
		if (d->sets[i].type == type && dname_equal(d->sets[i].owner, owner))
			return true;
	return false;
}

void
local_apply(struct store *s, const struct local_data *prev, const struct local_data *next)
{
	for (size_t i = 0; prev != NULL && i < prev->n; i++)
		if (!local_has(next, prev->sets[i].owner, prev->sets[i].type))
			store_apply_local(s, prev->sets[i].owner, prev->sets[i].type, NULL);
	for (size_t i = 0; next != NULL && i < next->n; i++)
		store_apply_local(s, next->sets[i].owner, next->sets[i].type,
		    xrrset_dup(next->sets[i].rrset));
	store_commit(s);
}
