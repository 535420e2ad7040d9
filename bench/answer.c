/*
 * answer.c: answer_message() over a fixed set of queries, to compare the answer path's cost.
 *
 * Usage: answer [ROUNDS [-v]]
 * Loads a small zone set (every kind of answer: data, CNAME chains, DNAME, wildcard,
 * referral, NODATA, NXDOMAIN, out of zone) through the event codec, then answers each
 * query of the set ROUNDS times (default 2000); -v lists each query's first answer. Prints the queries/s and a digest of every
 * response: two builds that print the same digest gave the same bytes.
 *
 * Wall-clock time on a shared machine is noisy; instruction counts are not:
 *   valgrind --tool=callgrind --toggle-collect=answer_message build/bench/answer
 * counts only what answer_message() does (the zone loading is left out).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <urcu.h>

#include "authd/answer.h"
#include "authd/store.h"
#include "common/clock.h"
#include "common/dname.h"
#include "common/event.h"
#include "common/wire.h"

#define ZONE_HOSTS	200	/* hN.example.com. A, so lookups see a populated store */

struct query {
	const char	*name;
	uint16_t	 type;
	uint16_t	 edns;		/* 0: no OPT */
	bool		 tcp;
	bool		 recursion;	/* the client may recurse through dnsr */
};

static const struct query queries[] = {
	{ "www.example.com.",		DNS_TYPE_A,	0,	false, false },
	{ "WWW.Example.COM.",		DNS_TYPE_A,	1232,	false, false },
	{ "h17.example.com.",		DNS_TYPE_A,	1232,	false, false },
	{ "h123.example.com.",		DNS_TYPE_AAAA,	1232,	false, false },
	{ "example.com.",		DNS_TYPE_MX,	1232,	false, false },
	{ "example.com.",		DNS_TYPE_NS,	0,	false, false },
	{ "example.com.",		DNS_TYPE_ANY,	0,	false, false },
	{ "example.com.",		DNS_TYPE_ANY,	0,	true,  false },
	{ "alias.example.com.",		DNS_TYPE_A,	1232,	false, false },
	{ "chain1.example.com.",	DNS_TYPE_A,	0,	false, false },
	{ "loop1.example.com.",		DNS_TYPE_A,	0,	false, false },
	{ "dangling.example.com.",	DNS_TYPE_A,	0,	false, false },
	{ "ext.example.com.",		DNS_TYPE_A,	0,	false, false },
	{ "ext.example.com.",		DNS_TYPE_A,	0,	false, true },
	{ "nothere.example.com.",	DNS_TYPE_A,	1232,	false, false },
	{ "www.example.com.",		DNS_TYPE_TXT,	1232,	false, false },
	{ "ent.example.com.",		DNS_TYPE_A,	0,	false, false },
	{ "a.wild.example.com.",	DNS_TYPE_A,	1232,	false, false },
	{ "b.c.wild.example.com.",	DNS_TYPE_AAAA,	0,	false, false },
	{ "www.sub.example.com.",	DNS_TYPE_A,	1232,	false, false },
	{ "sub.example.com.",		DNS_TYPE_DS,	0,	false, false },
	{ "tosub.example.com.",		DNS_TYPE_A,	0,	false, false },
	{ "x.dn.example.com.",		DNS_TYPE_A,	0,	false, false },
	{ "www.dn.example.com.",	DNS_TYPE_A,	1232,	false, false },
	{ "back.example.net.",		DNS_TYPE_A,	0,	false, false },
	{ "big.example.com.",		DNS_TYPE_TXT,	0,	false, false },
	{ "big.example.com.",		DNS_TYPE_TXT,	0,	true,  false },
	{ "www.example.org.",		DNS_TYPE_A,	0,	false, false },
	{ "www.example.org.",		DNS_TYPE_A,	0,	false, true },
};
#define NQUERIES	(sizeof(queries) / sizeof(queries[0]))

static void
load(struct event_decoder *d, struct store *st, const char *owner, const char *type,
    const char *content)
{
	char key[300], value[8192], err[256];
	struct event ev;

	snprintf(key, sizeof(key), "%s|%s", owner, type);
	snprintf(value, sizeof(value), "[%s]", content);
	if (event_decode(d, key, strlen(key), value, strlen(value), &ev, err, sizeof(err)) !=
	    EVENT_OK) {
		fprintf(stderr, "%s: %s\n", key, err);
		exit(1);
	}
	store_apply(st, ev.owner, ev.type, ev.rrset);
}

/*
 * The zone in master-file form (owner TTL type data), a record a line; consecutive lines
 * of one owner and type are one RRset.
 */
static const char zone_text[] =
    "example.com. 3600 SOA "
    "ns1.example.com. hostmaster.example.com. 2024010101 7200 3600 1209600 300\n"
    "example.com. 3600 NS ns1.example.com.\n"
    "example.com. 3600 NS ns2.example.com.\n"
    "example.com. 300 MX 10 mail.example.com.\n"
    "ns1.example.com. 3600 A 192.0.2.1\n"
    "ns2.example.com. 3600 A 192.0.2.2\n"
    "mail.example.com. 300 A 192.0.2.25\n"
    "www.example.com. 300 A 192.0.2.10\n"
    "www.example.com. 300 A 192.0.2.11\n"
    "alias.example.com. 300 CNAME www.example.com.\n"
    "chain1.example.com. 300 CNAME chain2.example.com.\n"
    "chain2.example.com. 300 CNAME www.example.com.\n"
    "loop1.example.com. 300 CNAME loop2.example.com.\n"
    "loop2.example.com. 300 CNAME loop1.example.com.\n"
    "dangling.example.com. 300 CNAME nothere.example.com.\n"
    "ext.example.com. 300 CNAME www.example.org.\n"
    "*.wild.example.com. 300 A 192.0.2.99\n"
    "sub.example.com. 86400 NS ns.sub.example.com.\n"
    "sub.example.com. 86400 DS "
    "12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
    "ns.sub.example.com. 86400 A 192.0.2.53\n"
    "tosub.example.com. 300 CNAME www.sub.example.com.\n"
    "dn.example.com. 600 DNAME example.net.\n"
    "host.ent.example.com. 300 A 192.0.2.77\n"
    "example.net. 60 SOA "
    "ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 900\n"
    "example.net. 3600 NS ns1.example.com.\n"
    "www.example.net. 300 A 198.51.100.1\n"
    "back.example.net. 300 CNAME y.dn.example.com.\n"
    "y.example.net. 300 A 198.51.100.2\n";

/* Whether the master-file line starts with owner, a TTL and type. */
static bool
same_rrset(const char *line, const char *owner, const char *type)
{
	char o[64], t[16];
	int ttl;

	return sscanf(line, "%63s %d %15s", o, &ttl, t) == 3 && strcmp(o, owner) == 0 &&
	    strcmp(t, type) == 0;
}

static void
load_zone(struct event_decoder *d, struct store *st)
{
	char content[4096], rr[512], owner[64], type[16];
	size_t len = 0;
	const char *line = zone_text;

	while (*line != '\0') {
		const char *eol = strchr(line, '\n');
		char data[160];
		int ttl;

		if (sscanf(line, "%63s %d %15s %159[^\n]", owner, &ttl, type, data) != 4)
			exit(1);
		snprintf(rr, sizeof(rr), "%s{\"name\":\"%s\",\"type\":\"%s\",\"content\":"
		    "\"%s\",\"ttl\":%d}", len > 0 ? "," : "", owner, type, data, ttl);
		memcpy(content + len, rr, strlen(rr) + 1);
		len += strlen(rr);
		line = eol + 1;
		if (*line == '\0' || !same_rrset(line, owner, type)) {
			load(d, st, owner, type, content);
			len = 0;
		}
	}
	for (int i = 0; i < 30; i++) {
		snprintf(rr, sizeof(rr), "%s{\"name\":\"big.example.com.\",\"type\":\"TXT\","
		    "\"content\":\"\\\"record-%02d-%051d\\\"\",\"ttl\":300}", i ? "," : "", i, 0);
		memcpy(content + len, rr, strlen(rr) + 1);
		len += strlen(rr);
	}
	load(d, st, "big.example.com.", "TXT", content);
	for (int i = 0; i < ZONE_HOSTS; i++) {
		snprintf(owner, sizeof(owner), "h%d.example.com.", i);
		snprintf(rr, sizeof(rr), "{\"name\":\"%s\",\"type\":\"A\",\"content\":"
		    "\"192.0.2.%d\",\"ttl\":300}", owner, i % 250);
		load(d, st, owner, "A", rr);
		snprintf(rr, sizeof(rr), "{\"name\":\"%s\",\"type\":\"AAAA\",\"content\":"
		    "\"2001:db8::%x\",\"ttl\":300}", owner, i);
		load(d, st, owner, "AAAA", rr);
	}
}

static size_t
build_query(const struct query *qs, uint16_t id, uint8_t *buf, size_t cap)
{
	uint8_t qname[DNAME_MAXLEN];
	struct wire_writer w;

	if (dname_from_str(qs->name, NULL, qname) <= 0)
		exit(1);
	wire_init(&w, buf, cap);
	wire_header(&w, id, DNS_FLAG_RD);
	wire_question(&w, qname, qs->type, DNS_CLASS_IN);
	if (qs->edns)
		wire_opt(&w, qs->edns, 0, 0, 0, NULL, 0);
	return wire_finish(&w);
}

int
main(int argc, char **argv)
{
	static uint8_t msg[NQUERIES][512], out[DNS_MAX_MSG];
	size_t len[NQUERIES];
	int rounds = argc > 1 ? atoi(argv[1]) : 2000;
	bool verbose = argc > 2 && strcmp(argv[2], "-v") == 0;
	struct answer_opts o = { .udp_payload = 1232, .ready = true };
	struct event_decoder *d;
	struct store *st;
	uint64_t digest = 1469598103934665603ULL;	/* FNV-1a over every response */
	double t0, t;

	rcu_register_thread();
	if ((d = event_decoder_new()) == NULL || (st = store_new()) == NULL)
		return 1;
	load_zone(d, st);
	store_commit(st);
	event_decoder_free(d);
	for (size_t i = 0; i < NQUERIES; i++)
		len[i] = build_query(&queries[i], (uint16_t)i, msg[i], sizeof(msg[i]));

	t0 = clock_mono_sec();
	for (int r = 0; r < rounds; r++) {
		for (size_t i = 0; i < NQUERIES; i++) {
			struct answer_info info;
			size_t n;

			o.recursion = queries[i].recursion;
			n = answer_message(st, &o, msg[i], len[i], queries[i].tcp, out,
			    sizeof(out), &info);
			if (r > 0)
				continue;
			if (verbose)
				printf("%-24s %5u rcode=%u len=%zu an=%u ns=%u ar=%u%s%s%s\n",
				    queries[i].name, queries[i].type, info.rcode, n,
				    n ? wire_read16(out + 6) : 0, n ? wire_read16(out + 8) : 0,
				    n ? wire_read16(out + 10) : 0, info.truncated ? " TC" : "",
				    info.forward ? " forward" : "", info.complete ? " complete" : "");
			for (size_t k = 0; k < n; k++)
				digest = (digest ^ out[k]) * 1099511628211ULL;
			digest = (digest ^ info.rcode ^ (uint64_t)info.forward << 8 ^
			    (uint64_t)info.complete << 9 ^ (uint64_t)info.truncated << 10) *
			    1099511628211ULL;
			for (size_t k = 0; info.complete && k < dname_len(info.target); k++)
				digest = (digest ^ info.target[k]) * 1099511628211ULL;
		}
	}
	t = clock_mono_sec() - t0;
	printf("queries=%zu rounds=%d %.0f answers/s digest=%016llx\n", NQUERIES, rounds,
	    (double)NQUERIES * rounds / t, (unsigned long long)digest);
	store_free(st);
	rcu_unregister_thread();
	return 0;
}
