/* fuzz_event.c: libFuzzer target: "key\nvalue" through the event decoder, and round trips. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/event.h"

static struct event_decoder *dec;

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

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	struct event ev;
	char err[512];
	size_t klen = nl ? (size_t)(nl - data) : size;

	if (dec == NULL)
		dec = event_decoder_new();
	if (event_decode(dec, (const char *)data, klen, nl ? (const char *)nl + 1 : NULL,
	    nl ? size - klen - 1 : 0, &ev, err, sizeof(err)) != EVENT_OK)
		return 0;
	if (ev.rrset != NULL)
		round_trip(&ev);
	free(ev.rrset);
	return 0;
}
