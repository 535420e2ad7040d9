/* journal.c: a zone's recent changes, IXFR-shaped: per serial step, deletions and additions. */
#include <stdlib.h>
#include <string.h>

#include "authd/journal.h"
#include "common/dname.h"
#include "common/log.h"

static void
jbuf_put(struct jbuf *b, const uint8_t *owner, uint16_t type, uint32_t ttl,
    const struct rdata_ref *rd)
{
	size_t olen = dname_len(owner), need = olen + 2 + 4 + 2 + rd->len;

	if (b->len + need > b->cap) {
		b->cap = b->cap ? b->cap : 256;
		while (b->len + need > b->cap)
			b->cap *= 2;
		if ((b->data = realloc(b->data, b->cap)) == NULL)
			fatal("journal");
	}
	memcpy(b->data + b->len, owner, olen);
	memcpy(b->data + b->len + olen, &type, 2);
	memcpy(b->data + b->len + olen + 2, &ttl, 4);
	memcpy(b->data + b->len + olen + 6, &rd->len, 2);
	memcpy(b->data + b->len + olen + 8, rd->data, rd->len);
	b->len += need;
	b->count++;
}

const uint8_t *
journal_rr(const struct jbuf *b, const uint8_t *p, struct jrr *r)
{
	size_t olen;

	if (p == NULL || p >= b->data + b->len)
		return NULL;
	olen = dname_len(p);
	r->owner = p;
	memcpy(&r->type, p + olen, 2);
	memcpy(&r->ttl, p + olen + 2, 4);
	memcpy(&r->rdlen, p + olen + 6, 2);
	r->rdata = p + olen + 8;
	return r->rdata + r->rdlen;
}

struct journal *
journal_new(const struct rrset *soa)
{
	struct journal *j = xcalloc(1, sizeof(*j));

	if ((j->soa = rrset_dup(soa)) == NULL)
		fatal("journal");
	return j;
}

void
journal_entry_free(void *p)
{
	struct journal_entry *e = p;

	free(e->soa_from);
	free(e->soa_to);
	free(e->del.data);
	free(e->add.data);
	free(e);
}

void
journal_free(struct journal *j)
{
	if (j == NULL)
		return;
	while (j->first != NULL) {
		struct journal_entry *e = j->first;

		j->first = e->next;
		journal_entry_free(e);
	}
	free(j->soa);
	free(j->del.data);
	free(j->add.data);
	free(j);
}

static bool
has_rdata(const struct rrset *rs, const struct rdata_ref *rd)
{
	struct rdata_ref x;

	for (const uint8_t *it = rrset_first(rs, &x); it; it = rrset_next(rs, it, &x))
		if (x.len == rd->len && memcmp(x.data, rd->data, rd->len) == 0)
			return true;
	return false;
}

void
journal_change(struct journal *j, const uint8_t *owner, const struct rrset *prev,
    const struct rrset *rs)
{
	/* A new TTL is every record deleted and added again with it. */
	bool ttl = prev != NULL && rs != NULL && prev->ttl != rs->ttl;
	struct rdata_ref rd;

	j->touched = true;
	for (const uint8_t *it = rrset_first(prev, &rd); it; it = rrset_next(prev, it, &rd))
		if (ttl || rs == NULL || !has_rdata(rs, &rd))
			jbuf_put(&j->del, owner, prev->type, prev->ttl, &rd);
	for (const uint8_t *it = rrset_first(rs, &rd); it; it = rrset_next(rs, it, &rd))
		if (ttl || prev == NULL || !has_rdata(prev, &rd))
			jbuf_put(&j->add, owner, rs->type, rs->ttl, &rd);
}

static void
drop_first(struct journal *j, void (*discard)(void *, void *), void *arg)
{
	struct journal_entry *e = j->first;

	j->first = e->next;
	if (j->first == NULL)
		j->last = NULL;
	j->entries--;
	j->bytes -= e->del.len + e->add.len;
	discard(arg, e);
}

void
journal_commit(struct journal *j, const struct rrset *soa,
    void (*discard)(void *arg, void *entry), void *arg)
{
	struct journal_entry *e;
	bool same = j->soa != NULL && rrset_soa_serial(soa) == rrset_soa_serial(j->soa);

	if (!j->touched && same)
		return;
	if (j->soa == NULL || same || j->broken) {
		/*
		 * Start over. After a change under an unchanged serial, that serial names two
		 * contents: no step may start from it, so the journal waits for the next one.
		 */
		while (j->first != NULL)
			drop_first(j, discard, arg);
		free(j->soa);
		j->soa = NULL;
		if (!same && (j->soa = rrset_dup(soa)) == NULL)
			fatal("journal");
		j->del.len = j->add.len = j->del.count = j->add.count = 0;
		j->touched = j->broken = false;
		return;
	}
	e = xcalloc(1, sizeof(*e));
	e->soa_from = j->soa;
	if ((e->soa_to = rrset_dup(soa)) == NULL || (j->soa = rrset_dup(soa)) == NULL)
		fatal("journal");
	e->del = j->del;
	e->add = j->add;
	memset(&j->del, 0, sizeof(j->del));
	memset(&j->add, 0, sizeof(j->add));
	j->touched = false;
	if (j->last != NULL)
		j->last->next = e;
	else
		j->first = e;
	j->last = e;
	j->entries++;
	j->bytes += e->del.len + e->add.len;
	while (j->first != NULL && (j->entries > JOURNAL_ENTRIES_MAX ||
	    j->bytes > JOURNAL_BYTES_MAX))
		drop_first(j, discard, arg);
}

const struct journal_entry *
journal_from(const struct journal *j, uint32_t serial)
{
	for (const struct journal_entry *e = j != NULL ? j->first : NULL; e; e = e->next)
		if (rrset_soa_serial(e->soa_from) == serial)
			return e;
	return NULL;
}
