/* kafka.h: the consumer thread: reads every partition of the zone topic into the store. */
#ifndef STREAMDNS_KAFKA_H
#define STREAMDNS_KAFKA_H

#include "authd/authd.h"

struct consumer;

/*
 * Starts the consumer thread. It waits (with a log line per attempt) until the broker and
 * the topic are there, assigns every partition from the beginning, applies events to
 * st->store and sets st->ready once the high watermarks read at start-up are reached.
 */
struct consumer *consumer_start(const struct authd_conf *conf, struct authd_state *st);
/* Stops the thread (st->stopping must be set) and frees the consumer. */
void consumer_stop(struct consumer *c);

#endif
