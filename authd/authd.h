/* authd.h: streamdns-authd's configuration and the state its threads share. */
#ifndef STREAMDNS_AUTHD_H
#define STREAMDNS_AUTHD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <pthread.h>

#include "authd/store.h"
#include "authd/notify.h"
#include "authd/updater.h"
#include "authd/xfr.h"
#include "common/conf.h"
#include "common/event.h"
#include "common/keyset.h"
#include "common/metrics.h"
#include "common/tsig.h"

#define KAFKA_PROPS_MAX	64
#define UPDATE_GRANTS_MAX	256

struct kafka_prop {
	char	*name;
	char	*value;
};

struct authd_conf {
	/* [server] */
	char		*listen;
	int		 workers;
	int		 udp_payload_size;
	int		 tcp_idle_timeout;	/* ms */
	int		 tcp_max_clients;	/* per worker */
	char		*user;			/* drop to this user after binding */
	char		*identity;		/* NULL until defaulted to the host name */
	bool		 nsid;
	bool		 identity_queries;
	char		*version;
	/* [zones] */
	char		*serve;			/* comma-separated zone names, NULL: all */
	char		*serial_str;		/* topic | as-is */
	/* [xfr] */
	char		*allow_transfer;	/* xfr.h: CIDR, key:NAME, CIDR key:NAME; NULL: nobody */
	char		*notify;		/* ADDR:PORT, ...: NOTIFY targets */
	char		*notify_key;		/* a [tsig] key to sign them with */
	bool		 serial_topic;		/* serial = topic (store.h) */
	/* [local] */
	char		*local_zone_file;
	bool		 cookies;
	char		*cookie_secret;		/* 32 hex digits, or NULL: random */
	/* [resolver] */
	char		*resolver_socket;
	char		*recursion_allow;
	int		 resolver_timeout;	/* ms */
	/* [rrl] */
	int		 rrl_rate;
	int		 rrl_slip;
	int		 rrl_v4_prefix;
	int		 rrl_v6_prefix;
	/* [kafka] */
	char		*brokers;
	char		*topic;
	int		 retry_interval;	/* ms */
	bool		 require_signed;
	char		*trusted_keys;
	char		*sign_key;		/* signs the events updates write */
	size_t		 nprops;
	struct kafka_prop props[KAFKA_PROPS_MAX];	/* librdkafka pass-through */
	/* [tsig]: NAME = ALGORITHM:BASE64-SECRET, every key of the section */
	struct tsig_keys *tsig;
	/* [update]: KEYNAME = ZONE, ...: the zones each TSIG key may update (RFC 2136) */
	size_t		 ngrants;
	struct update_grant {
		char	*key;
		char	*zones;
	} grants[UPDATE_GRANTS_MAX];
	/* [log] */
	char		*log_level;
	char		*log_format;
	bool		 query_log;
	int		 query_log_sample;	/* log one query in N */
	/* [admin] */
	char		*admin_listen;
	char		*admin_token_file;
	/* [metrics] */
	char		*statsd;
	char		*statsd_prefix;
	int		 statsd_interval;	/* ms */
	/* [store] */
	char		*snapshot;
	int		 snapshot_interval;	/* ms */
	/* [dnssec] */
	char		*dnssec_secret_file;	/* the fleet secret (keyset.h) */
	int		 dnssec_delay;		/* propagation-delay, ms */
	size_t		 dnssec_cache_size;	/* signature-cache, octets */
};

struct zone_filter;
struct local_data;
struct fwd_stats;

/* The one config table (authd/config.c). */
extern const struct conf_schema authd_conf_schema;

/* Loads and validates path; prints "file:line: key: reason" lines; returns #errors. */
int authd_conf_load(struct authd_conf *c, const char *path, FILE *errout);
/* The [zones] serve list as a filter (NULL: serve every zone); caller frees. */
struct zone_filter *authd_zone_filter(const struct authd_conf *c);
void authd_conf_free(struct authd_conf *c);

/* Per-worker counters: one writer (the worker), read by the admin thread. */
#define STATS_RCODES	19	/* 0..15, 16 BADVERS, 17 dropped, 18 forwarded to dnsr */
#define STATS_RCODE_DROPPED	17
#define STATS_RCODE_FORWARDED	18
#define STATS_QTYPES	18

struct worker_stats {
	counter_t		queries[2][STATS_RCODES];	/* [tcp][rcode] */
	counter_t		qtypes[STATS_QTYPES];
	counter_t		truncated;
	counter_t		tsig[TSIG_RESULTS];	/* signed requests, by result */
	struct histogram	latency;
};

/* The qtype slot of a query type, and the label of a slot. */
int stats_qtype_slot(uint16_t qtype);
const char *stats_qtype_name(int slot);

/*
 * What the consumer thread publishes after each batch, under a mutex, for the admin
 * thread: offsets, lag and store counters.
 */
#define PARTITIONS_MAX	1024

struct consumer_status {
	int32_t			npart;
	int64_t			next[PARTITIONS_MAX];	/* next offset to read */
	int64_t			high[PARTITIONS_MAX];	/* latest known high watermark */
	struct store_stats	store;
	double			last_event;	/* CLOCK_REALTIME seconds, 0 = none */
	double			ready_at;	/* seconds from start to ready, 0 = not yet */
	uint64_t		snapshot_events;	/* events loaded from the snapshot */
	char			keys_why[1300];	/* the last zone whose keys are unusable */
};

/* State shared by the threads of authd. */
struct authd_state {
	struct store		*store;
	atomic_bool		 ready;		/* caught up with the start-up watermarks */
	atomic_bool		 stopping;
	atomic_bool		 kafka_up;	/* false after "all brokers down" until data flows */
	atomic_ullong		 events_applied;
	atomic_ullong		 events_rejected;
	atomic_ullong		 events_conflicts;	/* conditional events not applied */
	atomic_ullong		 rejected_by[EVENT_ERR__COUNT];
	atomic_int		 keys_unusable;	/* zones whose DNSSEC keys cannot be unsealed */
	/* [dnssec] secret-file, read before privileges are dropped: the consumer unseals. */
	struct keyset_secrets	 secrets;
	atomic_int		 log_level;	/* SIGHUP may change it */
	pthread_mutex_t		 status_mtx;
	struct consumer_status	 status;
	size_t			 nworkers;
	struct worker_stats	*wstats[64];
	atomic_ullong		*rrl_limited;	/* set by the server when RRL is on */
	struct fwd_stats	*fstats[64];	/* per worker, when forwarding to dnsr */
	struct zone_filter	*serve;		/* RCU-published; NULL: every zone */
	struct xfr_stats	 xfr;		/* zone transfers (xfr.c) */
	struct notify_stats	 notify;	/* NOTIFY out (notify.c) */
	struct notifier		*notifier;	/* NULL: [xfr] notify unset */
	struct update_stats	 update_stats;	/* RFC 2136 updates (updater.c) */
	struct update_verdicts	 verdicts;	/* the consumer's, of our own updates' events */
	pthread_mutex_t		 local_mtx;
	struct local_data	*local_pending;	/* for the consumer thread to apply */
	const char		*identity;
};

#endif
