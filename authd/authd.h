/* authd.h: streamdns-authd's configuration and the state its threads share. */
#ifndef STREAMDNS_AUTHD_H
#define STREAMDNS_AUTHD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "authd/store.h"
#include "common/conf.h"

#define KAFKA_PROPS_MAX	64

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
	/* [kafka] */
	char		*brokers;
	char		*topic;
	int		 retry_interval;	/* ms */
	size_t		 nprops;
	struct kafka_prop props[KAFKA_PROPS_MAX];	/* librdkafka pass-through */
	/* [log] */
	char		*log_level;
};

/* The one config table (authd/config.c). */
extern const struct conf_schema authd_conf_schema;

/* Loads and validates path; prints "file:line: key: reason" lines; returns #errors. */
int authd_conf_load(struct authd_conf *c, const char *path, FILE *errout);
void authd_conf_free(struct authd_conf *c);

/* Consumer progress shared with workers and (later) the admin endpoint. */
struct authd_state {
	struct store		*store;
	atomic_bool		 ready;		/* caught up with the start-up watermarks */
	atomic_bool		 stopping;
	atomic_ullong		 events_applied;
	atomic_ullong		 events_rejected;
};

#endif
