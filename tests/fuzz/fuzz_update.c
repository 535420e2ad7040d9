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
#include "tests/fuzz/fuzz_zone.h"

static struct store *store;
static struct event_decoder *dec;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct event_decoder *d = event_decoder_new();

	(void)argc, (void)argv;
	rcu_register_thread();
	if (d == NULL)
		abort();
	store = fuzz_zone_store(d);
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
