/* ctl_watch.c: streamdns-ctl watch: events as they arrive, decoded, or why authd rejects them. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "common/event.h"
#include "common/keyset.h"
#include "common/log.h"
#include "tools/ctl.h"

#define BATCH_MAX	1000
#define POLL_MS		200
#define KEY_SHOWN	300

struct watch_opts {
	bool		from_beginning;
	long long	count;		/* stop after this many events; 0: never */
};

static volatile sig_atomic_t stopping;

static void
on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static int
opt_count(void *dst, const char *arg)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || n < 1) {
		fprintf(stderr, CTL_NAME " watch: --count wants a positive number, not '%s'\n", arg);
		return -1;
	}
	((struct watch_opts *)dst)->count = n;
	return 0;
}

static const struct ctl_option watch_options[] = {
	{ "from-beginning", 0, NULL, NULL,
	    "start with the oldest event of every partition, not with the next one",
	    offsetof(struct watch_opts, from_beginning) },
	{ "count", 0, "N", opt_count, "exit after N events", 0 },
};

static const struct ctl_optset watch_optset = {
	"watch [OPTIONS]",
	"Prints each event as it arrives, until interrupted: partition:offset, key, then the\n"
	"RRset as master-file lines, \"deleted\", why authd rejects it, or a key set's size.",
	watch_options, sizeof(watch_options) / sizeof(watch_options[0]),
};

/* A key set event: how many keys, or why authd would reject it; never the keys. */
static void
print_keyset(const uint8_t *zone, const rd_kafka_message_t *m)
{
	char name[DNAME_STRLEN], err[512];
	struct keyset *ks;

	dname_to_str(zone, name, sizeof(name));
	if (m->payload == NULL) {
		printf(" key set of %s deleted\n", name);
	} else if ((ks = keyset_parse(zone, m->payload, m->len, err, sizeof(err))) == NULL) {
		printf(" rejected (key set): %s\n", err);
	} else {
		printf(" key set of %s: %zu keys\n", name, ks->nkeys);
		keyset_free(ks);
	}
}

/* One event, decoded with the decoder authd uses. */
static void
print_event(struct event_decoder *dec, const rd_kafka_message_t *m)
{
	char err[512];
	struct event ev;
	enum event_error e;
	int klen = m->key_len > KEY_SHOWN ? KEY_SHOWN : (int)m->key_len;
	const char *key = m->key != NULL ? m->key : "";

	e = event_decode(dec, m->key, m->key_len, m->payload, m->len, &ev, err, sizeof(err));
	printf("%" PRId32 ":%" PRId64 " ", m->partition, m->offset);
	/* Keys are untrusted: no control characters reach the terminal. */
	for (int i = 0; i < klen; i++)
		putchar((unsigned char)key[i] < 0x20 || key[i] == 0x7f ? '?' : key[i]);
	if (e == EVENT_OK && ev.keyset) {
		print_keyset(ev.owner, m);
	} else if (e == EVENT_OK && ev.guard) {
		printf(" guard of an RFC 2136 update\n");
	} else if (e != EVENT_OK) {
		printf(" rejected (%s): %s\n", event_error_name(e), err);
	} else if (ev.rrset == NULL) {
		printf(" deleted\n");
	} else {
		putchar('\n');
		ctl_print_rrset(stdout, ev.owner, ev.rrset, "  ");
		free(ev.rrset);
	}
}

/* Assigns every partition from its end (or beginning); -1 after printing why. */
static int
watch_assign(const struct ctl *c, rd_kafka_t *rk, const struct watch_opts *o)
{
	int32_t npart = ctl_topic_partitions(c, rk);
	int64_t *low, *high;
	int ret = -1;

	if (npart < 0)
		return -1;
	low = xcalloc((size_t)npart, sizeof(*low));
	high = xcalloc((size_t)npart, sizeof(*high));
	/* Exact offsets, read now: every event produced after this line is seen. */
	if (ctl_watermarks(c, rk, npart, low, high) == 0 &&
	    ctl_assign_all(c, rk, npart, o->from_beginning ? low : high) == 0) {
		fprintf(stderr, CTL_NAME ": watching %s at %s (%" PRId32 " partitions) from %s\n",
		    c->topic, c->brokers, npart, o->from_beginning ? "the beginning" : "now");
		ret = 0;
	}
	free(low);
	free(high);
	return ret;
}

static void
watch_loop(rd_kafka_t *rk, const struct watch_opts *o)
{
	rd_kafka_queue_t *q = rd_kafka_queue_get_consumer(rk);
	rd_kafka_message_t *batch[BATCH_MAX];
	struct event_decoder *dec = event_decoder_new();
	long long seen = 0;

	if (dec == NULL)
		fatalx("out of memory");
	while (!stopping && (o->count == 0 || seen < o->count)) {
		ssize_t n = rd_kafka_consume_batch_queue(q, POLL_MS, batch, BATCH_MAX);

		for (ssize_t i = 0; i < n; i++) {
			if (batch[i]->err == RD_KAFKA_RESP_ERR_NO_ERROR &&
			    (o->count == 0 || seen < o->count)) {
				print_event(dec, batch[i]);
				seen++;
			} else if (batch[i]->err != RD_KAFKA_RESP_ERR__PARTITION_EOF &&
			    batch[i]->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
				fprintf(stderr, CTL_NAME ": watch: %s\n",
				    rd_kafka_message_errstr(batch[i]));
			}
			rd_kafka_message_destroy(batch[i]);
		}
		fflush(stdout);
	}
	event_decoder_free(dec);
	rd_kafka_queue_destroy(q);
}

int
ctl_cmd_watch(struct ctl *c, int argc, char **argv)
{
	struct watch_opts o = { false, 0 };
	struct sigaction sa;
	rd_kafka_t *rk;
	int i = 0, rc = CTL_FAIL;

	if (ctl_options_parse(&watch_optset, &o, argc, argv, &i, false, NULL) < 0)
		return CTL_USAGE;
	if (i != argc) {
		fprintf(stderr, "usage: " CTL_NAME " watch [--from-beginning] [--count N]\n");
		return CTL_USAGE;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if ((rk = ctl_kafka_new(c, RD_KAFKA_CONSUMER)) == NULL)
		return CTL_FAIL;
	if (watch_assign(c, rk, &o) == 0) {
		watch_loop(rk, &o);
		rc = CTL_OK;
	}
	rd_kafka_consumer_close(rk);
	ctl_kafka_free(rk);
	return rc;
}
