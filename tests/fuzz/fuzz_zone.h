/*
 * fuzz_zone.h: the small zone the answer and update fuzzers run against, loaded from
 * events as authd loads them (each RRset given its index as version). Header only: each
 * target is one file linked against the instrumented archive.
 */
#ifndef STREAMDNS_FUZZ_ZONE_H
#define STREAMDNS_FUZZ_ZONE_H

#include <stdlib.h>
#include <string.h>

#include "authd/store.h"
#include "common/event.h"

static const char *const fuzz_zone_events[][2] = {
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

/* A store holding the zone; d (kept by the caller) decodes the events. */
static struct store *
fuzz_zone_store(struct event_decoder *d)
{
	struct store *s = store_new();
	char err[256];

	for (size_t i = 0; i < sizeof(fuzz_zone_events) / sizeof(fuzz_zone_events[0]); i++) {
		struct event ev;

		if (event_decode(d, fuzz_zone_events[i][0], strlen(fuzz_zone_events[i][0]),
		    fuzz_zone_events[i][1], strlen(fuzz_zone_events[i][1]), &ev, err,
		    sizeof(err)) != EVENT_OK)
			abort();
		rrset_set_version(ev.rrset, (int64_t)i);
		store_apply(s, ev.owner, ev.type, ev.rrset);
	}
	store_commit(s);
	return s;
}

#endif
