/* ctl.h: streamdns-ctl's shared state, its option tables, Kafka helpers, topic state and commands. */
#ifndef STREAMDNS_CTL_H
#define STREAMDNS_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <librdkafka/rdkafka.h>

#include "authd/authd.h"
#include "common/dname.h"
#include "common/rrset.h"

#define CTL_NAME		"streamdns-ctl"
#define CTL_TIMEOUT_DEFAULT	10000	/* ms: DESIGN.md wants a failure within 30 s */
#define CTL_PROPS_MAX		(KAFKA_PROPS_MAX * 2)
#define CTL_THREADS_MAX		8	/* decoding/encoding threads, at most one per CPU */

/* Exit statuses. */
#define CTL_OK		0
#define CTL_FAIL	1	/* the command failed (bad file, broker, delivery) */
#define CTL_USAGE	2	/* bad command line or configuration */

/* Everything the global options and the -c file decide (ctl.c fills it). */
struct ctl {
	struct authd_conf	 conf;		/* defaults, or the -c file: brokers, topic, props */
	const char		*brokers;	/* -b, else conf.brokers */
	const char		*topic;		/* -t, else conf.topic */
	const char		*config;	/* -c */
	struct kafka_prop	 props[CTL_PROPS_MAX];	/* the file's, then --kafka's */
	size_t			 nprops;
	int			 timeout_ms;	/* --timeout: the longest wait for the broker */
	bool			 verbose;
	bool			 progress;	/* --progress, or stderr is a terminal */
	const char		*sign_key;	/* --sign-key FILE: Ed25519 secret key */
	uint8_t			 sk[64];	/* loaded from sign_key */
	bool			 signing;
};

/*
 * Option tables. One table per command (and one for the global options), so that a new
 * option (--sign-key, a keygen command) is one line here, and --help comes from the table.
 * set() returns 0, or -1 after printing why.
 */
struct ctl_option {
	const char	*name;		/* long name without "--" */
	int		 short_name;	/* or 0 */
	const char	*arg;		/* the argument's name in help; NULL: a flag */
	int		(*set)(void *dst, const char *arg);	/* NULL: store at field */
	const char	*help;
	/*
	 * With set NULL, where the option goes in dst: a flag (arg NULL) sets a bool there
	 * to true, an option with an argument stores the argument as a const char *.
	 */
	size_t		 field;
};

/*
 * A command's option table and, when synopsis is set, what its -h/--help prints above
 * the options: "usage: streamdns-ctl [GLOBAL OPTIONS] <synopsis>", then about. The
 * parser then answers -h/--help itself (exit 0), and the help lists it last. Without a
 * synopsis (the global options), the table has its own --help.
 */
struct ctl_optset {
	const char		*synopsis;
	const char		*about;
	const struct ctl_option	*opts;
	size_t			 n;
};

/*
 * Parses options of s from argv[*i] on, leaving *i at the first operand. With
 * interleave, options may also follow operands (which are then collected in operands[],
 * room for argc of them); otherwise parsing stops at the first operand. "--" ends the
 * options. Returns the number of operands collected (interleave) or 0, or -1 on error.
 */
int ctl_options_parse(const struct ctl_optset *s, void *dst, int argc, char **argv, int *i,
    bool interleave, char **operands);
void ctl_options_help(const struct ctl_optset *s, FILE *out);

/* Parses "250ms", "2s", "1m" or a bare number of seconds into milliseconds; -1 if bad. */
int ctl_parse_duration(const char *s);


/* Threads worth running for CPU-bound work: the CPUs online, 1..CTL_THREADS_MAX. */
size_t ctl_cpus(void);

/* ---- Kafka (ctl_kafka.c) ---- */

/* Checks a user's librdkafka property (and that it weakens nothing); -1 after printing. */
int ctl_kafka_check_prop(const char *name, const char *value);

/* A client handle with our settings and the user's properties; NULL after printing why. */
rd_kafka_t *ctl_kafka_new(const struct ctl *c, rd_kafka_type_t type);
void ctl_kafka_free(rd_kafka_t *rk);

/*
 * Reads the metadata of all topics (asking for ours by name could create it) and returns
 * our topic's partition count, or -1 after printing why (broker unreachable within the
 * timeout, no such topic).
 */
int32_t ctl_topic_partitions(const struct ctl *c, rd_kafka_t *rk);

/* Low and high watermark of every partition into low[], high[]; -1 after printing why. */
int ctl_watermarks(const struct ctl *c, rd_kafka_t *rk, int32_t npart, int64_t *low,
    int64_t *high);

/* Assigns every partition, each from offsets[p] (or RD_KAFKA_OFFSET_BEGINNING/END). */
int ctl_assign_all(const struct ctl *c, rd_kafka_t *rk, int32_t npart, const int64_t *offsets);

/*
 * The producer: idempotent, acks=all. ctl_produce() takes the value (NULL: a tombstone),
 * which librdkafka frees with free(); the key is copied. ctl_producer_finish() waits for
 * every delivery report and returns the number of events not delivered, naming them on
 * stderr.
 */
struct ctl_producer;

struct ctl_producer *ctl_producer_new(const struct ctl *c);
int ctl_produce(struct ctl_producer *p, const char *key, char *value);

/* Delivery reports so far: RRsets written, tombstones written, events not delivered. */
struct ctl_delivery {
	size_t	set;
	size_t	deleted;
	size_t	failed;
};

/* Serves pending delivery reports and returns the counts so far. */
void ctl_producer_poll(struct ctl_producer *p, struct ctl_delivery *d);
size_t ctl_producer_finish(struct ctl_producer *p);
void ctl_producer_free(struct ctl_producer *p);

/* ---- the topic's state (ctl_state.c) ---- */

/* An index of (owner, type) -> value, for the topic's state and a file's RRsets. */
struct ctl_index;

/* expected: entries it will hold (0 if unknown), so that it need not grow. */
struct ctl_index *ctl_index_new(size_t expected);
void ctl_index_free(struct ctl_index *ix);
/* Returns the value stored for (owner, type) (owner lower case), or NULL. */
void *ctl_index_get(const struct ctl_index *ix, const uint8_t *owner, uint16_t type);
/* Stores value for (owner, type), replacing any; owner must outlive the index. */
void ctl_index_put(struct ctl_index *ix, const uint8_t *owner, uint16_t type, void *value);

/* The latest valid value of every key, as authd holds it. */
struct ctl_entry {
	const uint8_t	*owner;		/* lower case wire */
	struct rrset	*rrset;		/* NULL once deleted */
	int32_t		 partition;
	int64_t		 offset;
};

/*
 * A zone's key set (keyset.h: key "<zone>|DNSSEC"), its latest value as the event holds
 * it: only the dnssec commands parse it. Not an RRset, so dump and import never see it.
 */
struct ctl_keyset {
	uint8_t		 zone[DNAME_MAXLEN];	/* lower case wire */
	char		*value;		/* NULL once deleted */
	size_t		 len;
};

struct ctl_state {
	struct ctl_index	*index;		/* (owner, type) -> struct ctl_entry */
	struct ctl_entry	**entries;	/* in order of first appearance; some deleted */
	size_t			 nentries, cap;
	size_t			 live;		/* entries with an RRset */
	int32_t			 npart;
	int64_t			*low, *high;	/* watermarks read before reading */
	size_t			 events;	/* events read */
	size_t			 rejected;	/* of which invalid (authd rejects them too) */
	struct ctl_keyset	**keysets;	/* few: one per signed zone */
	size_t			 nkeysets;
};

/* Reads the topic from its start to the high watermarks read first; NULL after printing. */
struct ctl_state *ctl_state_read(const struct ctl *c);
void ctl_state_free(struct ctl_state *st);
/* The key set of zone (lower case wire), or NULL: never had one. */
struct ctl_keyset *ctl_state_keyset(const struct ctl_state *st, const uint8_t *zone);
/* True when name owns an SOA in st (authd's definition of a zone); arg is the state. */
bool ctl_state_apex(void *st, const uint8_t *name);
struct event_decoder;

/* True when a and b hold the same records and TTL. */
bool ctl_rrset_equal(const struct rrset *a, const struct rrset *b);

/*
 * The zone a name belongs to: its deepest ancestor (itself included) owning an SOA, as
 * is_apex() tells; NULL when none. Points into owner.
 */
const uint8_t *ctl_zone_of(const uint8_t *owner, bool (*is_apex)(void *, const uint8_t *),
    void *arg);
/*
 * The zone an RRset belongs to: as ctl_zone_of(), but a DS RRset at a zone's apex (which
 * dnssec enable writes) belongs to the parent zone.
 */
const uint8_t *ctl_rrset_zone(const uint8_t *owner, uint16_t type,
    bool (*is_apex)(void *, const uint8_t *), void *arg);

/* Writes an RRset as master-file lines (absolute owner, TTL, IN, type, data); -1 if bad. */
int ctl_print_rrset(FILE *out, const uint8_t *owner, const struct rrset *rs,
    const char *indent);

/*
 * The event for an RRset, through the one encoder, then checked with the one decoder:
 * what ctl produces is exactly what authd accepts, and decodes back to rs. Returns 0 with
 * *key and *value (caller frees), or -1 with a reason in err.
 */
int ctl_event_make(struct event_decoder *dec, const uint8_t *owner, const struct rrset *rs,
    char **key, char **value, char *err, size_t errlen);	/* ctl_edit.c */

/* ---- commands (one file per role) ---- */

int ctl_cmd_set(struct ctl *c, int argc, char **argv);		/* ctl_edit.c */
int ctl_cmd_delete(struct ctl *c, int argc, char **argv);	/* ctl_edit.c */
int ctl_cmd_import(struct ctl *c, int argc, char **argv);	/* ctl_import.c */
int ctl_cmd_dump(struct ctl *c, int argc, char **argv);		/* ctl_dump.c */
int ctl_cmd_status(struct ctl *c, int argc, char **argv);	/* ctl_dump.c */
int ctl_cmd_watch(struct ctl *c, int argc, char **argv);	/* ctl_watch.c */
int ctl_cmd_keygen(struct ctl *c, int argc, char **argv);	/* ctl.c */
int ctl_cmd_tsig_keygen(struct ctl *c, int argc, char **argv);	/* ctl_tsig.c */
int ctl_cmd_dnssec(struct ctl *c, int argc, char **argv);	/* ctl_dnssec.c */

#endif
