/* kafkapos.c: a topic reader's offsets moved on to librdkafka's fetch positions. */
#include <assert.h>

#include "common/kafkapos.h"

void
kafkapos_advance(rd_kafka_t *rk, const char *topic, int32_t npart, int64_t *next)
{
	rd_kafka_topic_partition_list_t *l;

	assert(npart >= 0);
	l = rd_kafka_topic_partition_list_new(npart);
	for (int32_t p = 0; p < npart; p++)
		rd_kafka_topic_partition_list_add(l, topic, p);
	if (rd_kafka_position(rk, l) == RD_KAFKA_RESP_ERR_NO_ERROR) {
		for (int i = 0; i < l->cnt; i++) {
			int32_t p = l->elems[i].partition;

			if (p >= 0 && p < npart && l->elems[i].offset > next[p])
				next[p] = l->elems[i].offset;
		}
	}
	rd_kafka_topic_partition_list_destroy(l);
}
