/* proto.h: the authd <-> dnsr protocol (proto/PROTOCOL.md): one message catalogue, one codec. */
#ifndef STREAMDNS_PROTO_H
#define STREAMDNS_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define PROTO_VERSION		1
#define PROTO_HDR		5		/* length (4) + type (1) */
#define PROTO_QUERY_HDR		30		/* id, transport, family, address, port, max */
#define PROTO_MAX_FRAME		66000		/* length field maximum */
#define PROTO_MAX_DNS		65535
#define PROTO_MIN_DNS		12

enum proto_type {
	PROTO_HELLO = 1,
	PROTO_HELLO_OK = 2,
	PROTO_QUERY = 3,
	PROTO_ANSWER = 4,
	PROTO_ERROR = 5,
};

enum proto_error {
	PROTO_ERR_MALFORMED = 1,
	PROTO_ERR_VERSION = 2,
	PROTO_ERR_UNEXPECTED = 3,
	PROTO_ERR_OVERLOADED = 4,
};

enum proto_transport { PROTO_UDP = 0, PROTO_TCP = 1 };

/* One decoded frame; dns and name point into the decoded buffer (valid while it is). */
struct proto_msg {
	enum proto_type	 type;
	uint16_t	 version;		/* HELLO, HELLO_OK */
	char		 name[256];		/* HELLO: the client's identity */
	uint32_t	 id;			/* QUERY, ANSWER */
	uint8_t		 transport;		/* QUERY */
	struct sockaddr_storage client;		/* QUERY: address and port */
	uint16_t	 max_answer;		/* QUERY */
	const uint8_t	*dns;			/* QUERY, ANSWER */
	size_t		 dnslen;
	uint16_t	 code;			/* ERROR */
	char		 reason[256];		/* ERROR */
};

/*
 * Decodes the frame at the start of buf (len octets available). Returns the octets the
 * frame takes (> 0) with m filled, 0 when more octets are needed, or -1 when the frame is
 * malformed (reason in err). Never reads beyond len.
 */
long proto_decode(const uint8_t *buf, size_t len, struct proto_msg *m, char *err,
    size_t errlen);

/* Encoders: write one frame into out (cap octets); return its length or -1 if too small. */
long proto_encode_hello(uint8_t *out, size_t cap, uint16_t version, const char *name);
long proto_encode_hello_ok(uint8_t *out, size_t cap, uint16_t version);
long proto_encode_query(uint8_t *out, size_t cap, uint32_t id, uint8_t transport,
    const struct sockaddr *client, uint16_t max_answer, const uint8_t *dns, size_t dnslen);
long proto_encode_answer(uint8_t *out, size_t cap, uint32_t id, const uint8_t *dns,
    size_t dnslen);
long proto_encode_error(uint8_t *out, size_t cap, uint16_t code, const char *reason);

#endif
