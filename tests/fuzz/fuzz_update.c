/*
 * fuzz_update.c: libFuzzer target: any octets as an RFC 2136 UPDATE to the update engine
 * (authd/update.c) against a small zone, and every RRset it plans encoded as the event
 * the updater would write (the codec must take whatever the engine accepts).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <urcu.h>

#include "authd/store.h"
#include "authd/update.h"
#include "common/event.h"

static struct store *store;
static struct event_decoder *dec;

static const char *const events[][2] = {
	{ "example.com.|SOA", "[{\"name\":\"example.com.\",\"type\":\"SOA\",\"ttl\":3600,"
	    "\"content\":\"ns1.example.com. h.example.com. 1 3600 900 604800 300\"}]" },
	{ "example.com.|NS", "[{\"name\":\"example.com.\",\"type\":\"NS\",\"ttl\":300,"
	    "\"content\":\"ns1.example.com.\"}]" },
	{ "example.com.|MX", "[{\"name\":\"example.com.\",\"type\":\"MX\",\"ttl\":300,"
	    "\"content\":\"10 mail.example.com.\"}]" },
	{ "ns1.example.com.|A", "[{\"name\":\"ns1.example.com.\",\"type\":\"A\",\"ttl\":300,"
	    "\"content\":\"192.0.2.1\"}]" },
	{ "mail.example.com.|A", "[{\"name\":\"mail.example.com.\",\"type\":\"A\",\"ttl\":300,"
	    "\"content\":\"192.0.2.2\"}]" },
	{ "www.example.com.|CNAME", "[{\"name\":\"www.example.com.\",\"type\":\"CNAME\","
	    "\"ttl\":300,\"content\":\"mail.example.com.\"}]" },
	{ "loop.example.com.|CNAME", "[{\"name\":\"loop.example.com.\",\"type\":\"CNAME\","
	    "\"ttl\":300,\"content\":\"loop.example.com.\"}]" },
	{ "*.w.example.com.|TXT", "[{\"name\":\"*.w.example.com.\",\"type\":\"TXT\",\"ttl\":300,"
	    "\"content\":\"\\\"wild\\\"\"}]" },
	{ "sub.example.com.|NS", "[{\"name\":\"sub.example.com.\",\"type\":\"NS\",\"ttl\":300,"
	    "\"content\":\"ns.sub.example.com.\"}]" },
	{ "ns.sub.example.com.|A", "[{\"name\":\"ns.sub.example.com.\",\"type\":\"A\","
	    "\"ttl\":300,\"content\":\"192.0.2.53\"}]" },
	{ "d.example.com.|DNAME", "[{\"name\":\"d.example.com.\",\"type\":\"DNAME\",\"ttl\":300,"
	    "\"content\":\"example.com.\"}]" },
};

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct event_decoder *d = event_decoder_new();
	char err[256];

	(void)argc, (void)argv;
	rcu_register_thread();
	store = store_new();
	for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
		struct event ev;

		if (event_decode(d, events[i][0], strlen(events[i][0]), events[i][1],
		    strlen(events[i][1]), &ev, err, sizeof(err)) != EVENT_OK)
			abort();
		rrset_set_version(ev.rrset, (int64_t)i);
		store_apply(store, ev.owner, ev.type, ev.rrset);
	}
	store_commit(store);
	dec = d;		/* kept: the engine checks RDATA with it */
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct update_opts o = { .serial_as_is = size > 0 && (data[0] & 1), .dec = dec };
	struct update_plan plan;
	uint8_t zone[DNAME_MAXLEN];
	char why[256];
	int rc;

	(void)update_zone(data, size, zone);
	memset(&plan, 0, sizeof(plan));
	rc = update_prepare(store, data, size, &o, &plan, why, sizeof(why));
	if (rc != 0 && plan.n != 0)
		abort();			/* an error plans nothing */
	for (size_t i = 0; i < plan.n; i++) {
		char *key, *value;

		if (plan.changes[i].rs == NULL)
			continue;
		if (event_encode(plan.changes[i].owner, plan.changes[i].rs, &key, &value) != 0)
			abort();		/* the updater could not write it */
		free(key);
		free(value);
	}
	update_plan_free(&plan);
	return 0;
}
