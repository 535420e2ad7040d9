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

static struct store *store;
static struct tsig_keys *keys;

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
		store_apply(store, ev.owner, ev.type, ev.rrset);
	}
	store_commit(store);
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
