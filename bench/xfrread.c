/*
 * xfrread.c: reads one AXFR over TCP as fast as it arrives and counts its RRs (bench/xfr.py).
 *
 * Usage: xfrread PORT ZONE
 * Connects to 127.0.0.1:PORT, asks AXFR for ZONE, and reads length-prefixed messages until
 * the SOA that closes the transfer. Every message is parsed whole (wire_msg_parse checks
 * each name and length), so a malformed message is caught, but nothing is kept: the client
 * must not be what bounds the rate it measures. Prints one line of key=value: RRs, messages,
 * octets, the serial, seconds to the first message and to the end, and the longest wait
 * between two messages (a server that stops sending shows there). Exit 0 when the transfer
 * was complete (NOERROR, SOA first and last, same serial), 1 otherwise.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/dname.h"
#include "common/wire.h"

struct tally {
	unsigned long long	rrs, messages, octets;
	unsigned		soas;
	uint32_t		serial;
	bool			serial_differs, last_was_soa;
	uint16_t		rcode;
	double			first_s, max_gap_s;
};

static int
read_full(int fd, uint8_t *buf, size_t len)
{
	while (len > 0) {
		ssize_t r = read(fd, buf, len);

		if (r <= 0)
			return -1;
		buf += r;
		len -= (size_t)r;
	}
	return 0;
}

static int
send_query(int fd, const uint8_t *zone)
{
	uint8_t buf[2 + 512];
	struct wire_writer w;
	size_t len;

	wire_init(&w, buf + 2, sizeof(buf) - 2);
	wire_header(&w, 0x5851, 0);
	if (wire_question(&w, zone, DNS_TYPE_AXFR, DNS_CLASS_IN) != 0)
		return -1;
	len = wire_finish(&w);
	wire_write16(buf, (uint16_t)len);
	return write(fd, buf, len + 2) == (ssize_t)(len + 2) ? 0 : -1;
}

/* Counts one message's answer RRs; the SOA's serial is the last 20 octets' first 4. */
static int
count(const uint8_t *msg, size_t len, struct tally *t)
{
	struct wire_msg m;
	struct wire_iter it;
	struct wire_rr rr;

	if (wire_msg_parse(msg, len, &m) != 0)
		return -1;
	if ((t->rcode = wire_msg_rcode(&m)) != DNS_RCODE_NOERROR)
		return -1;
	wire_iter_init(&m, &it);
	while (wire_iter_next(&m, &it, &rr)) {
		if (rr.section != WIRE_AN)
			continue;
		t->rrs++;
		t->last_was_soa = rr.type == DNS_TYPE_SOA;
		if (t->last_was_soa && rr.rdlen >= 22) {
			const uint8_t *p = m.msg + rr.rdata + rr.rdlen - 20;
			uint32_t serial = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
			    (uint32_t)p[2] << 8 | p[3];

			if (t->soas > 0 && serial != t->serial)
				t->serial_differs = true;
			t->serial = serial;
			t->soas++;
		}
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static uint8_t msg[DNS_MAX_MSG];
	uint8_t zone[DNAME_MAXLEN], hdr[2];
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct tally t = { 0 };
	uint64_t t0, prev, now;
	int fd, ok;

	if (argc != 3 || dname_from_str(argv[2], NULL, zone) <= 0) {
		fprintf(stderr, "usage: xfrread PORT ZONE\n");
		return 2;
	}
	sin.sin_port = htons((uint16_t)atoi(argv[1]));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		perror("connect");
		return 1;
	}
	t0 = prev = clock_mono_us();
	if (send_query(fd, zone) != 0) {
		perror("send");
		return 1;
	}
	/* Until the SOA that ends it: the first message holds one, the last another. */
	while (t.soas < 2 || !t.last_was_soa) {
		size_t len;

		if (read_full(fd, hdr, 2) != 0 || (len = wire_read16(hdr)) == 0 ||
		    read_full(fd, msg, len) != 0)
			break;
		now = clock_mono_us();
		if (t.messages == 0)
			t.first_s = (double)(now - t0) / 1e6;
		else if ((double)(now - prev) / 1e6 > t.max_gap_s)
			t.max_gap_s = (double)(now - prev) / 1e6;
		prev = now;
		t.messages++;
		t.octets += len + 2;
		if (count(msg, len, &t) != 0)
			break;
	}
	now = clock_mono_us();
	close(fd);
	ok = t.soas == 2 && t.last_was_soa && !t.serial_differs && t.rcode == DNS_RCODE_NOERROR;
	printf("complete=%d rrs=%llu messages=%llu octets=%llu serial=%u rcode=%u first_s=%.6f "
	    "total_s=%.6f max_gap_s=%.6f\n", ok, t.rrs, t.messages, t.octets, t.serial, t.rcode,
	    t.first_s, (double)(now - t0) / 1e6, t.max_gap_s);
	return ok ? 0 : 1;
}
