/* kafkapos.h: how far a reader of every partition of a topic really is (authd and ctl). */
#ifndef STREAMDNS_KAFKAPOS_H
#define STREAMDNS_KAFKAPOS_H

#include <stdint.h>

#include <librdkafka/rdkafka.h>

/*
 * Raises next[p], the next offset to read of partition p (0 <= p < npart) of topic, to
 * rk's fetch position where that is further. The position moves past offsets that carry
 * no message for the reader (transaction markers, compaction gaps), so it, not the last
 * offset seen, says when a reader has reached a high watermark. Leaves next as it is
 * when librdkafka cannot say.
 */
void kafkapos_advance(rd_kafka_t *rk, const char *topic, int32_t npart, int64_t *next);

#endif
