/* ctl_edit.c: streamdns-ctl set and delete: one RRset event, validated by the one decoder first. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libknot/libknot.h>

#include "common/event.h"
#include "common/log.h"
#include "tools/ctl.h"

int
ctl_event_make(struct event_decoder *dec, const uint8_t *owner, const struct rrset *rs,
    char **key, char **value, char *err, size_t errlen)
{
	struct event ev;
	enum event_error e;

	if (event_encode(owner, rs, key, value) != 0) {
		snprintf(err, errlen, "cannot be encoded as an event");
		return -1;
	}
	e = event_decode(dec, *key, strlen(*key), *value, strlen(*value), &ev, err, errlen);
	if (e == EVENT_OK && (ev.rrset == NULL || !ctl_rrset_equal(ev.rrset, rs))) {
		/* The codec must give back what it was given: anything else is a bug. */
		snprintf(err, errlen, "the event does not decode to the same RRset "
		    "(a bug in common/event.c): %s", *value);
		e = EVENT_ERR_CONTENT;
	}
	free(ev.rrset);
	if (e != EVENT_OK) {
		free(*key);
		free(*value);
		*key = *value = NULL;
		return -1;
	}
	return 0;
}

/* NAME (absolute, or taken as absolute) into owner, lower case; -1 after printing why. */
static int
parse_owner(const char *cmd, const char *name, uint8_t *owner)
{
	if (dname_from_str(name, NULL, owner) < 0) {
		fprintf(stderr, CTL_NAME " %s: '%s' is not a domain name\n", cmd, name);
		return -1;
	}
	dname_lower(owner);
	return 0;
}

/* TYPE (any case; TYPEnnn) into *type and its canonical text; -1 after printing why. */
static int
parse_type(const char *cmd, const char *text, uint16_t *type, char *canon, size_t len)
{
	char upper[32];
	size_t i;

	for (i = 0; text[i] != '\0' && i < sizeof(upper) - 1; i++)
		upper[i] = (text[i] >= 'a' && text[i] <= 'z') ? (char)(text[i] - 32) : text[i];
	upper[i] = '\0';
	if (text[i] != '\0' || knot_rrtype_from_string(upper, type) != 0 ||
	    knot_rrtype_to_string(*type, canon, len) < 0) {
		fprintf(stderr, CTL_NAME " %s: unknown type '%s'\n", cmd, text);
		return -1;
	}
	return 0;
}

/* Produces one event and waits for its delivery report. */
static int
produce_one(struct ctl *c, const char *key, char *value)
{
	struct ctl_producer *p = ctl_producer_new(c);
	size_t failed;

	if (p == NULL) {
		free(value);
		return CTL_FAIL;
	}
	ctl_produce(p, key, value);
	failed = ctl_producer_finish(p);
	ctl_producer_free(p);
	return failed == 0 ? CTL_OK : CTL_FAIL;
}

/* The records as the event value a user would write: the decoder checks them. */
static char *
records_json(const char *owner, const char *type, long long ttl, int n, char **rdata)
{
	json_t *arr = json_array();
	char *value;

	for (int i = 0; i < n; i++) {
		json_t *r = json_pack("{s:s, s:s, s:s, s:I}", "name", owner, "type", type,
		    "content", rdata[i], "ttl", (json_int_t)ttl);

		if (r == NULL) {
			fprintf(stderr, CTL_NAME " set: RDATA %d is not UTF-8 text (write other "
			    "octets as \\DDD)\n", i + 1);
			json_decref(arr);
			return NULL;
		}
		json_array_append_new(arr, r);
	}
	value = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	return value;
}

static long long
parse_ttl(const char *s)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || n < 0 || n > EVENT_TTL_MAX) {
		fprintf(stderr, CTL_NAME " set: TTL '%s' is not an integer in 0..%u\n", s,
		    EVENT_TTL_MAX);
		return -1;
	}
	return n;
}

int
ctl_cmd_set(struct ctl *c, int argc, char **argv)
{
	uint8_t owner[DNAME_MAXLEN];
	char name[DNAME_STRLEN], type[32], err[512], k[DNAME_STRLEN + 40];
	char *key = NULL, *value, *out;
	struct event_decoder *dec;
	struct event ev;
	uint16_t t;
	long long ttl;
	int rc = CTL_FAIL;

	if (argc > 0 && strcmp(argv[0], "--") == 0)
		argc--, argv++;
	if (argc < 4) {
		fprintf(stderr, "usage: " CTL_NAME " set NAME TYPE TTL RDATA [RDATA ...]\n");
		return CTL_USAGE;
	}
	if (parse_owner("set", argv[0], owner) != 0 ||
	    parse_type("set", argv[1], &t, type, sizeof(type)) != 0 ||
	    (ttl = parse_ttl(argv[2])) < 0)
		return CTL_USAGE;
	dname_to_str(owner, name, sizeof(name));
	if ((value = records_json(name, type, ttl, argc - 3, argv + 3)) == NULL)
		return CTL_USAGE;
	if ((dec = event_decoder_new()) == NULL)
		fatalx("out of memory");
	snprintf(k, sizeof(k), "%s|%s", name, type);
	/* Exactly what authd would do with this event: if it rejects it, so do we. */
	if (event_decode(dec, k, strlen(k), value, strlen(value), &ev, err,
	    sizeof(err)) != EVENT_OK) {
		fprintf(stderr, CTL_NAME " set: %s %s: %s\n", name, type, err);
	} else if (ctl_event_make(dec, owner, ev.rrset, &key, &out, err, sizeof(err)) != 0) {
		fprintf(stderr, CTL_NAME " set: %s %s: %s\n", name, type, err);
	} else if ((rc = produce_one(c, key, out)) == CTL_OK) {
		printf("set %s: %u record(s), TTL %u\n", key, ev.rrset->count, ev.rrset->ttl);
	}
	free(ev.rrset);
	free(key);
	free(value);
	event_decoder_free(dec);
	return rc;
}

int
ctl_cmd_delete(struct ctl *c, int argc, char **argv)
{
	uint8_t owner[DNAME_MAXLEN];
	char name[DNAME_STRLEN], type[32], key[DNAME_STRLEN + 40], err[512];
	struct event_decoder *dec;
	struct event ev;
	uint16_t t;
	int rc = CTL_FAIL;

	if (argc > 0 && strcmp(argv[0], "--") == 0)
		argc--, argv++;
	if (argc != 2) {
		fprintf(stderr, "usage: " CTL_NAME " delete NAME TYPE\n");
		return CTL_USAGE;
	}
	if (parse_owner("delete", argv[0], owner) != 0 ||
	    parse_type("delete", argv[1], &t, type, sizeof(type)) != 0)
		return CTL_USAGE;
	snprintf(key, sizeof(key), "%s|%s", dname_to_str(owner, name, sizeof(name)), type);
	if ((dec = event_decoder_new()) == NULL)
		fatalx("out of memory");
	/* A tombstone's key must be one authd takes (a meta type is not). */
	if (event_decode(dec, key, strlen(key), NULL, 0, &ev, err, sizeof(err)) != EVENT_OK)
		fprintf(stderr, CTL_NAME " delete: %s\n", err);
	else if ((rc = produce_one(c, key, NULL)) == CTL_OK)
		printf("deleted %s\n", key);
	event_decoder_free(dec);
	return rc;
}
