/* proto.c: encoding and decoding of protocol frames, every length checked exactly. */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "proto/proto.h"

#define TEXT_MAX	255	/* a HELLO name or an ERROR reason; longer ones are cut */

_Static_assert(sizeof(((struct proto_msg *)0)->name) > TEXT_MAX &&
    sizeof(((struct proto_msg *)0)->reason) > TEXT_MAX, "decoded text and its NUL fit");

static uint32_t
rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void
wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void
wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static long
bad(char *err, size_t errlen, const char *why)
{
	snprintf(err, errlen, "%s", why);
	return -1;
}

static long
decode_hello(const uint8_t *b, size_t n, struct proto_msg *m, char *err, size_t errlen)
{
	if (n < 5 || n != 5 + (size_t)b[4])
		return bad(err, errlen, "HELLO body length does not match its name length");
	m->version = rd16(b);
	memcpy(m->name, b + 5, b[4]);
	m->name[b[4]] = '\0';
	return 0;
}

static long
decode_query(const uint8_t *b, size_t n, struct proto_msg *m, char *err, size_t errlen)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&m->client;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&m->client;

	if (n < PROTO_QUERY_HDR + PROTO_MIN_DNS || n > PROTO_QUERY_HDR + PROTO_MAX_DNS)
		return bad(err, errlen, "QUERY body length out of range");
	m->id = rd32(b);
	m->transport = b[4];
	if (m->transport > PROTO_TCP)
		return bad(err, errlen, "QUERY transport is neither UDP nor TCP");
	memset(&m->client, 0, sizeof(m->client));
	if (b[5] == 4) {
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, b + 6, 4);
		sin->sin_port = htons(rd16(b + 22));
	} else if (b[5] == 6) {
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, b + 6, 16);
		sin6->sin6_port = htons(rd16(b + 22));
	} else {
		return bad(err, errlen, "QUERY address family is neither 4 nor 6");
	}
	m->max_answer = rd16(b + 24);
	/* octets 26..29 are reserved, zero */
	m->dns = b + PROTO_QUERY_HDR;
	m->dnslen = n - PROTO_QUERY_HDR;
	return 0;
}

static long
decode_body(const uint8_t *b, size_t n, struct proto_msg *m, char *err, size_t errlen)
{
	switch (m->type) {
	case PROTO_HELLO:
		return decode_hello(b, n, m, err, errlen);
	case PROTO_HELLO_OK:
		if (n != 2)
			return bad(err, errlen, "HELLO_OK body is not 2 octets");
		m->version = rd16(b);
		return 0;
	case PROTO_QUERY:
		return decode_query(b, n, m, err, errlen);
	case PROTO_ANSWER:
		if (n < 4 + PROTO_MIN_DNS || n > 4 + PROTO_MAX_DNS)
			return bad(err, errlen, "ANSWER body length out of range");
		m->id = rd32(b);
		m->dns = b + 4;
		m->dnslen = n - 4;
		return 0;
	case PROTO_ERROR:
		if (n < 2 || n > 2 + TEXT_MAX)
			return bad(err, errlen, "ERROR body length out of range");
		m->code = rd16(b);
		memcpy(m->reason, b + 2, n - 2);
		m->reason[n - 2] = '\0';
		return 0;
	}
	return bad(err, errlen, "unknown frame type");
}

long
proto_decode(const uint8_t *buf, size_t len, struct proto_msg *m, char *err, size_t errlen)
{
	uint32_t flen;

	if (len < 4)
		return 0;
	flen = rd32(buf);
	if (flen == 0 || flen > PROTO_MAX_FRAME)
		return bad(err, errlen, "frame length out of range");
	if (len < 4 + (size_t)flen)
		return 0;
	memset(m, 0, sizeof(*m));
	m->type = (enum proto_type)buf[4];
	if (decode_body(buf + PROTO_HDR, flen - 1, m, err, errlen) != 0)
		return -1;
	return (long)(4 + flen);
}

/* Writes the frame header; returns a pointer to the body, or NULL when cap is too small. */
static uint8_t *
frame(uint8_t *out, size_t cap, enum proto_type type, size_t bodylen)
{
	if (cap < PROTO_HDR + bodylen || 1 + bodylen > PROTO_MAX_FRAME)
		return NULL;
	wr32(out, (uint32_t)(1 + bodylen));
	out[4] = (uint8_t)type;
	return out + PROTO_HDR;
}

/* A frame whose body is head (hlen octets), then text cut to TEXT_MAX: HELLO, ERROR. */
static long
frame_with_text(uint8_t *out, size_t cap, enum proto_type type, const uint8_t *head,
    size_t hlen, const char *text)
{
	size_t tl = strnlen(text, TEXT_MAX);
	uint8_t *b = frame(out, cap, type, hlen + tl);

	if (b == NULL)
		return -1;
	memcpy(b, head, hlen);
	memcpy(b + hlen, text, tl);
	return (long)(PROTO_HDR + hlen + tl);
}

long
proto_encode_hello(uint8_t *out, size_t cap, uint16_t version, const char *name)
{
	uint8_t head[5];	/* version, 2 reserved octets, name length */

	wr16(head, version);
	wr16(head + 2, 0);
	head[4] = (uint8_t)strnlen(name, TEXT_MAX);
	return frame_with_text(out, cap, PROTO_HELLO, head, sizeof(head), name);
}

long
proto_encode_hello_ok(uint8_t *out, size_t cap, uint16_t version)
{
	uint8_t *b = frame(out, cap, PROTO_HELLO_OK, 2);

	if (b == NULL)
		return -1;
	wr16(b, version);
	return PROTO_HDR + 2;
}

long
proto_encode_query(uint8_t *out, size_t cap, uint32_t id, uint8_t transport,
    const struct sockaddr *client, uint16_t max_answer, const uint8_t *dns, size_t dnslen)
{
	uint8_t *b;

	if (dnslen < PROTO_MIN_DNS || dnslen > PROTO_MAX_DNS ||
	    (b = frame(out, cap, PROTO_QUERY, PROTO_QUERY_HDR + dnslen)) == NULL)
		return -1;
	memset(b, 0, PROTO_QUERY_HDR);
	wr32(b, id);
	b[4] = transport;
	if (client != NULL && client->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)client;

		b[5] = 6;
		memcpy(b + 6, &s6->sin6_addr, 16);
		wr16(b + 22, ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)client;

		b[5] = 4;
		if (client != NULL && client->sa_family == AF_INET) {
			memcpy(b + 6, &s4->sin_addr, 4);
			wr16(b + 22, ntohs(s4->sin_port));
		}
	}
	wr16(b + 24, max_answer);
	memcpy(b + PROTO_QUERY_HDR, dns, dnslen);
	return (long)(PROTO_HDR + PROTO_QUERY_HDR + dnslen);
}

long
proto_encode_answer(uint8_t *out, size_t cap, uint32_t id, const uint8_t *dns, size_t dnslen)
{
	uint8_t *b;

	if (dnslen < PROTO_MIN_DNS || dnslen > PROTO_MAX_DNS ||
	    (b = frame(out, cap, PROTO_ANSWER, 4 + dnslen)) == NULL)
		return -1;
	wr32(b, id);
	memcpy(b + 4, dns, dnslen);
	return (long)(PROTO_HDR + 4 + dnslen);
}

long
proto_encode_error(uint8_t *out, size_t cap, uint16_t code, const char *reason)
{
	uint8_t head[2];	/* code; the reason runs to the end of the frame */

	wr16(head, code);
	return frame_with_text(out, cap, PROTO_ERROR, head, sizeof(head), reason);
}
