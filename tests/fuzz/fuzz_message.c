/*
 * fuzz_message.c: libFuzzer target: any octets as a query to the answer logic (UDP and TCP),
 * with a TSIG key known (the TSIG step of the gate) and the response signed as authd signs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <urcu.h>

#include "authd/answer.h"
#include "authd/store.h"
#include "common/event.h"
#include "common/tsig.h"
#include "common/wire.h"
#include "tests/fuzz/fuzz_zone.h"

static struct store *store;
static struct tsig_keys *keys;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct event_decoder *d = event_decoder_new();
	char err[256];

	(void)argc, (void)argv;
	rcu_register_thread();
	if (d == NULL)
		abort();
	store = fuzz_zone_store(d);
	event_decoder_free(d);
	if ((keys = tsig_keys_new()) == NULL || tsig_keys_add(keys, "key.", "hmac-sha256:"
	    "2v0yTDE8Gg3Oq2b4z1J6ewK8cB2H7fYzmQwq0aOZ5Gs=", err, sizeof(err)) != 0)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[DNS_MAX_MSG];
	struct answer_opts o = { .udp_payload = 1232, .ready = true, .tsig_keys = keys };
	struct answer_info info;
	struct dns_query q;
	size_t n;

	n = answer_message(store, &o, data, size, false, out, sizeof(out), &info);
	/* Signed as authd/server.c signs, within the client's limit (checked below). */
	if (n > 0 && info.tsig.result != TSIG_NONE)
		(void)tsig_sign_first(&info.tsig, out, &n, info.limit);
	/* A UDP answer never exceeds what the query allowed: 512, or min(EDNS size, ours). */
	if (n > 0 && wire_parse_query(data, size, &q) == WIRE_OK) {
		size_t lim = q.edns ? (q.edns_udp < 1232 ? q.edns_udp : 1232) : 512;

		if (lim < 512)
			lim = 512;
		if (n > lim)
			abort();
	}
	if (n > 0 && (n < DNS_HEADER_LEN || memcmp(out, data, 2) != 0))
		abort();	/* every answer echoes the id */
	answer_message(store, &o, data, size, true, out, sizeof(out), &info);
	o.ready = false;
	answer_message(store, &o, data, size, false, out, sizeof(out), &info);
	return 0;
}
