/*
 * notify.h: NOTIFY out (RFC 1996): when a zone's served serial changes, every target of
 * [xfr] notify hears of it, once the change is served, debounced and retried until it
 * answers. One thread of its own; the consumer only queues zone names.
 */
#ifndef STREAMDNS_NOTIFY_H
#define STREAMDNS_NOTIFY_H

#include <stdatomic.h>
#include <stdint.h>

struct store;
struct tsig_keys;
struct notifier;

struct notify_stats {
	atomic_ullong	sent;		/* messages sent, retries included */
	atomic_ullong	acked;		/* a target answered NOERROR */
	atomic_ullong	failed;		/* a target answered an error, or never answered */
};

/*
 * Starts the notifier for targets ("ADDR:PORT, ...", port 53 by default), signing with
 * the key called key_name of keys (NULL: unsigned). Returns NULL, with the reason logged,
 * when a target does not parse or the key is not in keys.
 */
struct notifier *notifier_start(struct store *s, const char *targets, const char *key_name,
    const struct tsig_keys *keys, struct notify_stats *stats);
/* Any thread: the zone at apex has a new serial (the change is served already). */
void notifier_zone_changed(struct notifier *n, const uint8_t *apex);
void notifier_stop(struct notifier *n);

#endif
