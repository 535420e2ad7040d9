/*
 * fuzz_event.c: libFuzzer target: "key\nvalue" through the event decoder, with and
 * without its fast path (both must give the same outcome and RRset), and round trips.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/event.h"

static struct event_decoder *dec, *full;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Accepted events must survive encode -> decode unchanged (ctl and authd agree). */
static void
round_trip(const struct event *ev)
{
	struct event again;
	char *key, *value, err[256];

	if (event_encode(ev->owner, ev->rrset, &key, &value) != 0)
		abort();
	if (event_decode(dec, key, strlen(key), value, strlen(value), &again, err,
	    sizeof(err)) != EVENT_OK)
		abort();
	if (again.type != ev->type || again.rrset == NULL ||
	    again.rrset->count != ev->rrset->count || again.rrset->ttl != ev->rrset->ttl ||
	    again.rrset->datalen != ev->rrset->datalen ||
	    memcmp(again.rrset->data, ev->rrset->data, ev->rrset->datalen) != 0 ||
	    !dname_equal(again.owner, ev->owner))
		abort();
	free(again.rrset);
	free(key);
	free(value);
}

static bool
same_rrset(const struct rrset *a, const struct rrset *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return a->type == b->type && a->count == b->count && a->ttl == b->ttl &&
	    a->datalen == b->datalen && memcmp(a->data, b->data, a->datalen) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	const char *value = nl ? (const char *)nl + 1 : NULL;
	struct event ev, slow;
	char err[512];
	size_t klen = nl ? (size_t)(nl - data) : size, vlen = nl ? size - klen - 1 : 0;
	enum event_error e, es;

	if (dec == NULL) {
		dec = event_decoder_new();
		full = event_decoder_new();
		event_decoder_set_fast(full, false);
	}
	e = event_decode(dec, (const char *)data, klen, value, vlen, &ev, err, sizeof(err));
	es = event_decode(full, (const char *)data, klen, value, vlen, &slow, err, sizeof(err));
	if (e != es || (e == EVENT_OK && !same_rrset(ev.rrset, slow.rrset)))
		abort();	/* the fast path decided differently from the full decoder */
	free(slow.rrset);
	if (e != EVENT_OK)
		return 0;
	if (ev.rrset != NULL)
		round_trip(&ev);
	free(ev.rrset);
	return 0;
}
