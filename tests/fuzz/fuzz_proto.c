/* fuzz_proto.c: libFuzzer target: any octets as a stream of authd <-> dnsr frames (proto/). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "proto/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t out[4 + PROTO_MAX_FRAME];

/* Encodes m again with the encoder of its type; the frame's length, or -1. */
static long
reencode(const struct proto_msg *m)
{
	switch (m->type) {
	case PROTO_HELLO:
		return proto_encode_hello(out, sizeof(out), m->version, m->name);
	case PROTO_HELLO_OK:
		return proto_encode_hello_ok(out, sizeof(out), m->version);
	case PROTO_QUERY:
		return proto_encode_query(out, sizeof(out), m->id, m->transport,
		    (const struct sockaddr *)&m->client, m->max_answer, m->dns, m->dnslen);
	case PROTO_ANSWER:
		return proto_encode_answer(out, sizeof(out), m->id, m->dns, m->dnslen);
	case PROTO_ERROR:
		return proto_encode_error(out, sizeof(out), m->code, m->reason);
	}
	abort();	/* the decoder returned a type it does not know */
}

static int
same_client(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	const struct sockaddr_in *a4 = (const struct sockaddr_in *)a;
	const struct sockaddr_in *b4 = (const struct sockaddr_in *)b;
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)a;
	const struct sockaddr_in6 *b6 = (const struct sockaddr_in6 *)b;

	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET)
		return a4->sin_port == b4->sin_port &&
		    memcmp(&a4->sin_addr, &b4->sin_addr, 4) == 0;
	if (a->ss_family == AF_INET6)
		return a6->sin6_port == b6->sin6_port &&
		    memcmp(&a6->sin6_addr, &b6->sin6_addr, 16) == 0;
	return 0;
}

/* The fields of its type that a decoded frame carries are the same in both. */
static int
same_fields(const struct proto_msg *a, const struct proto_msg *b)
{
	if (a->type != b->type)
		return 0;
	switch (a->type) {
	case PROTO_HELLO:
		return a->version == b->version && strcmp(a->name, b->name) == 0;
	case PROTO_HELLO_OK:
		return a->version == b->version;
	case PROTO_QUERY:
		return a->id == b->id && a->transport == b->transport &&
		    a->max_answer == b->max_answer && same_client(&a->client, &b->client) &&
		    a->dnslen == b->dnslen && memcmp(a->dns, b->dns, a->dnslen) == 0;
	case PROTO_ANSWER:
		return a->id == b->id && a->dnslen == b->dnslen &&
		    memcmp(a->dns, b->dns, a->dnslen) == 0;
	case PROTO_ERROR:
		return a->code == b->code && strcmp(a->reason, b->reason) == 0;
	}
	return 0;
}

/*
 * The length the re-encoded frame must have: the original's, except that a HELLO name or
 * an ERROR reason is a C string to the encoders, so it ends at its first NUL.
 */
static long
expected_length(const struct proto_msg *m, long n)
{
	if (m->type == PROTO_HELLO)
		return PROTO_HDR + 5 + (long)strlen(m->name);
	if (m->type == PROTO_ERROR)
		return PROTO_HDR + 2 + (long)strlen(m->reason);
	return n;
}

/*
 * Frames are taken off the input one after the other, as dnsr and authd read them. Each
 * decoded frame: its length is within the input; one octet less needs more; encoded again
 * it has the expected length and decodes to the same fields; HELLO_OK, ANSWER and a
 * NUL-free ERROR are even the same octets.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_msg m, again;
	char err[128];
	size_t pos = 0;

	while (pos < size) {
		long n, e;

		err[0] = '\0';
		n = proto_decode(data + pos, size - pos, &m, err, sizeof(err));
		if (n < 0 && err[0] == '\0')
			abort();	/* malformed without a reason */
		if (n <= 0)
			break;
		if (n < PROTO_HDR || (size_t)n > size - pos || (size_t)n > 4 + PROTO_MAX_FRAME)
			abort();
		if (proto_decode(data + pos, (size_t)n - 1, &again, err, sizeof(err)) != 0)
			abort();	/* a frame cut short is never complete nor malformed */
		if ((e = reencode(&m)) != expected_length(&m, n))
			abort();
		if (proto_decode(out, (size_t)e, &again, err, sizeof(err)) != e ||
		    !same_fields(&m, &again))
			abort();
		if ((m.type == PROTO_HELLO_OK || m.type == PROTO_ANSWER ||
		    (m.type == PROTO_ERROR && e == n)) && memcmp(out, data + pos, (size_t)n) != 0)
			abort();
		pos += (size_t)n;
	}
	return 0;
}
