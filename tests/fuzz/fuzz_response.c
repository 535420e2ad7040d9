/* fuzz_response.c: libFuzzer target: any octets as an upstream answer to dnsr's response reader. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * A message that parses must iterate to the end without a malformed RR (the parser walked
 * it all), and every RDATA must either be refused or uncompress into a buffer of a size
 * that fits: names grow at most to 255 octets each.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[DNS_MAX_MSG];
	struct wire_msg m;
	struct wire_iter it;
	struct wire_rr rr;
	unsigned n = 0;

	if (wire_msg_parse(data, size, &m) != 0)
		return 0;
	wire_iter_init(&m, &it);
	while (wire_iter_next(&m, &it, &rr) == 1) {
		int len = wire_rdata_unpack(&m, &rr, out, sizeof(out));

		if (len > (int)sizeof(out))
			abort();
		if (len >= 0 && wire_rdata_unpack(&m, &rr, out, (size_t)len) != len)
			abort();	/* an exact-size buffer is enough */
		if (len > 0 && wire_rdata_unpack(&m, &rr, out, (size_t)len - 1) != -1)
			abort();	/* and one octet less is not */
		n++;
	}
	if (n != (unsigned)m.counts[WIRE_AN] + m.counts[WIRE_NS] + m.counts[WIRE_AR])
		abort();
	return 0;
}
