/* wire.h: DNS messages on the wire: query parsing and response writing with compression. */
#ifndef STREAMDNS_WIRE_H
#define STREAMDNS_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/dname.h"

#define DNS_HEADER_LEN	12
#define DNS_MAX_MSG	65535
#define DNS_MIN_UDP	512

/* Header flag bits (second 16-bit word). */
#define DNS_FLAG_QR	0x8000
#define DNS_FLAG_AA	0x0400
#define DNS_FLAG_TC	0x0200
#define DNS_FLAG_RD	0x0100
#define DNS_FLAG_RA	0x0080
#define DNS_FLAG_AD	0x0020
#define DNS_FLAG_CD	0x0010

#define DNS_OPCODE_MASK	0x7800	/* the opcode's bits in the flags word */
#define DNS_OPCODE_SHIFT	11
#define DNS_RCODE_MASK	0x000f	/* the RCODE's low bits in the flags word */

enum dns_opcode {
	DNS_OPCODE_QUERY = 0, DNS_OPCODE_IQUERY = 1, DNS_OPCODE_STATUS = 2,
	DNS_OPCODE_NOTIFY = 4, DNS_OPCODE_UPDATE = 5, DNS_OPCODE_DSO = 6,
};

enum dns_rcode {
	DNS_RCODE_NOERROR = 0, DNS_RCODE_FORMERR = 1, DNS_RCODE_SERVFAIL = 2,
	DNS_RCODE_NXDOMAIN = 3, DNS_RCODE_NOTIMP = 4, DNS_RCODE_REFUSED = 5,
	DNS_RCODE_YXDOMAIN = 6, DNS_RCODE_YXRRSET = 7, DNS_RCODE_NXRRSET = 8,
	DNS_RCODE_NOTAUTH = 9, DNS_RCODE_NOTZONE = 10, DNS_RCODE_BADVERS = 16,
};

enum {
	DNS_TYPE_A = 1, DNS_TYPE_NS = 2, DNS_TYPE_CNAME = 5, DNS_TYPE_SOA = 6,
	DNS_TYPE_PTR = 12, DNS_TYPE_MX = 15, DNS_TYPE_TXT = 16, DNS_TYPE_AAAA = 28,
	DNS_TYPE_SRV = 33, DNS_TYPE_DNAME = 39, DNS_TYPE_OPT = 41, DNS_TYPE_DS = 43,
	DNS_TYPE_RRSIG = 46, DNS_TYPE_NSEC = 47, DNS_TYPE_DNSKEY = 48,
	DNS_TYPE_TKEY = 249, DNS_TYPE_TSIG = 250, DNS_TYPE_IXFR = 251, DNS_TYPE_AXFR = 252,
	DNS_TYPE_MAILB = 253, DNS_TYPE_MAILA = 254, DNS_TYPE_ANY = 255,
};

#define DNS_CLASS_IN	1
#define DNS_CLASS_CH	3
#define DNS_CLASS_ANY	255

#define EDNS_OPT_NSID	3
#define EDNS_OPT_COOKIE	10
#define EDNS_OPT_EDE	15
/* Extended DNS Error info-codes (RFC 8914 4) both daemons send. */
#define EDE_OTHER			0
#define EDE_NOT_READY			14
#define EDE_PROHIBITED			18
#define EDE_NO_REACHABLE_AUTHORITY	22
#define EDE_NETWORK_ERROR		23
#define EDNS_FLAG_DO	0x8000
#define EDNS_FLAG_CO	0x4000	/* Compact Answers OK (RFC 9824 3.4) */

/* The rest of the protocol numbers the code names (RFC 6895 registries). */
enum {
	DNS_TYPE_NULL = 10, DNS_TYPE_SIG = 24, DNS_TYPE_NAPTR = 35, DNS_TYPE_NSEC3 = 50,
	DNS_TYPE_NSEC3PARAM = 51, DNS_TYPE_ZONEMD = 63, DNS_TYPE_SVCB = 64,
	DNS_TYPE_HTTPS = 65, DNS_TYPE_CAA = 257, DNS_TYPE_CDS = 59, DNS_TYPE_CDNSKEY = 60,
	DNS_TYPE_NXNAME = 128,	/* RFC 9824: only in compact-denial NSEC bitmaps */
};

/* What a query said, after parsing (qname keeps the client's case). */
struct dns_query {
	uint16_t	id;
	uint16_t	flags;		/* second header word as received */
	uint8_t		opcode;
	uint16_t	qdcount;	/* questions in the message (only one is read) */
	uint8_t		qname[DNAME_MAXLEN];
	size_t		qname_len;
	uint16_t	qtype;
	uint16_t	qclass;
	bool		has_question;	/* false when the question could not be read */
	bool		edns;
	uint8_t		edns_version;
	uint16_t	edns_udp;	/* the requestor's payload size, as sent */
	uint16_t	edns_flags;	/* DO and the rest of the OPT TTL's low word */
	bool		edns_nsid;
	uint8_t		cookie_len;	/* 0: no COOKIE option; else 8 or 16..40 */
	uint8_t		cookie[40];	/* client cookie, then the server cookie if any */
	/*
	 * The TSIG RR (RFC 8945), when the message ends with one: where it starts (the
	 * message it signs is the octets before it), its RDATA (well formed: checked by
	 * wire_read_message), and the room the envelope holds back for the TSIG RR of the
	 * response (set by the gate once it has judged the TSIG; 0: none).
	 */
	size_t		tsig_pos;	/* 0: no TSIG */
	size_t		tsig_rdata;
	uint16_t	tsig_rdlen;
	uint16_t	tsig_reserve;
	bool		tsig_malformed;	/* WIRE_FORMERR because of a TSIG RR */
};

enum wire_parse_result {
	WIRE_OK = 0,
	WIRE_DROP = -1,		/* not answerable: shorter than a header, or QR=1 */
	WIRE_FORMERR = -2,	/* answer FORMERR (header id known) */
};

/*
 * Cuts a response to its header and question with TC=1 (the client retries over TCP).
 * Returns the new length (12 when the question cannot be found).
 */
size_t wire_truncate(uint8_t *resp, size_t len);

/*
 * Reads a request: header, every question (q keeps the question when there is exactly
 * one), and the other sections with the OPT and the TSIG. A TSIG RR must be the last RR
 * of the additional section, the only one, of class ANY and TTL 0, with well-formed RDATA
 * (RFC 8945 4.2, 5.2), else WIRE_FORMERR. WIRE_OK means well formed, whatever QDCOUNT;
 * on WIRE_FORMERR, q->edns is false (the OPT may be what was wrong). Never reads beyond len.
 */
enum wire_parse_result wire_read_message(const uint8_t *msg, size_t len, struct dns_query *q);

/* Parses a query: wire_read_message(), and exactly one question (else WIRE_FORMERR). */
enum wire_parse_result wire_parse_query(const uint8_t *msg, size_t len, struct dns_query *q);

#define WIRE_COMPR_MAX	64

/* A response being written into a caller's buffer, with a compression table. */
struct wire_writer {
	uint8_t		*buf;
	size_t		 cap;		/* the most this message may grow to */
	size_t		 reserve;	/* held back from cap for the OPT (envelope.c) */
	size_t		 len;
	uint16_t	 counts[4];	/* QD, AN, NS, AR, kept in host order until finish */
	size_t		 ncompr;
	uint16_t	 compr[WIRE_COMPR_MAX];	/* offsets of names already written */
	/* Lean compression (wire_compress_lean); lean_apex NULL: the table above. */
	const uint8_t	*lean_apex;
	size_t		 lean_apex_len;
	uint16_t	 apex_off;	/* where the apex is in the message; 0: not yet */
	uint16_t	 prev_off;	/* the previous owner's offset; 0: none */
	const uint8_t	*prev_owner;
};

/* A point to roll back to when an RRset does not fit. */
struct wire_mark {
	size_t		len;
	size_t		ncompr;
	uint16_t	counts[4];
};

enum { WIRE_QD = 0, WIRE_AN = 1, WIRE_NS = 2, WIRE_AR = 3 };

void wire_init(struct wire_writer *w, uint8_t *buf, size_t cap);
/* Writes the 12-octet header (counts are patched by wire_finish). */
void wire_header(struct wire_writer *w, uint16_t id, uint16_t flags);
int wire_question(struct wire_writer *w, const uint8_t *qname, uint16_t qtype,
    uint16_t qclass);
/*
 * Appends one RR to section sec; names in RDATA are compressed where RFC 3597 allows
 * (types of RFC 1035). Returns 0, or -1 when it does not fit (w is unchanged then).
 */
int wire_rr(struct wire_writer *w, int sec, const uint8_t *owner, uint16_t type,
    uint16_t rclass, uint32_t ttl, const uint8_t *rdata, uint16_t rdlen);
/* OPT pseudo-RR with optional options (already encoded). */
int wire_opt(struct wire_writer *w, uint16_t udp, uint8_t ext_rcode, uint8_t version,
    uint16_t flags, const uint8_t *opts, uint16_t optlen);
/*
 * Lean compression for long streams of one zone's records (zone transfers), as Knot
 * writes them: a name is compressed only against the zone's apex and the previous
 * owner, so each record costs the same whatever the message already holds, where the
 * table above is searched name by name. Call after wire_init(); apex stays the caller's.
 */
void wire_compress_lean(struct wire_writer *w, const uint8_t *apex);
void wire_mark(const struct wire_writer *w, struct wire_mark *m);
void wire_rollback(struct wire_writer *w, const struct wire_mark *m);
/* Sets the header's flags word (keeps counts). */
void wire_set_flags(struct wire_writer *w, uint16_t flags);
uint16_t wire_get_flags(const struct wire_writer *w);
/* Patches the section counts; returns the message length. */
size_t wire_finish(struct wire_writer *w);

static inline uint16_t
wire_read16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline void
wire_write16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/*
 * Reading any message (responses included): the header and question, then every RR of
 * every section by iteration. wire_msg_parse() walks the whole message once, checking
 * every length, every name (pointers strictly backwards) and that nothing trails the
 * last RR, so iterating a parsed message afterwards cannot fail.
 */
struct wire_msg {
	const uint8_t	*msg;
	size_t		 len;
	uint16_t	 id;
	uint16_t	 flags;		/* second header word */
	uint16_t	 counts[4];	/* QD, AN, NS, AR */
	bool		 has_question;
	uint8_t		 qname[DNAME_MAXLEN];	/* as in the message, case kept */
	uint16_t	 qtype;
	uint16_t	 qclass;
	size_t		 rr_pos;	/* offset of the first RR after the question */
	bool		 edns;		/* an OPT RR was in the additional section */
	uint16_t	 edns_udp;
	uint8_t		 ext_rcode;	/* upper 8 bits of the 12-bit RCODE, from the OPT */
};

struct wire_rr {
	int		 section;	/* WIRE_AN, WIRE_NS or WIRE_AR */
	uint8_t		 owner[DNAME_MAXLEN];
	uint16_t	 type;
	uint16_t	 rclass;
	uint32_t	 ttl;
	size_t		 rdata;		/* offset of the RDATA in the message */
	uint16_t	 rdlen;
};

struct wire_iter {
	size_t		pos;
	unsigned	idx;
};

/*
 * Parses msg (len octets): at most one question, all RRs well formed, at most one OPT
 * (in the additional section, owned by the root). Returns 0, or -1 when malformed.
 */
int wire_msg_parse(const uint8_t *msg, size_t len, struct wire_msg *m);

/* The full 12-bit RCODE (header bits plus the OPT's extension). */
uint16_t wire_msg_rcode(const struct wire_msg *m);

/* Iterates the RRs of a parsed message in order: 1 with rr filled, 0 at the end. */
void wire_iter_init(const struct wire_msg *m, struct wire_iter *it);
int wire_iter_next(const struct wire_msg *m, struct wire_iter *it, struct wire_rr *rr);

/*
 * The RDATA of rr with its domain names uncompressed (RFC 3597 4: the names of the RFC
 * 1035 types and a few later ones may arrive compressed; libknot's descriptors say which
 * fields are names), into out (cap octets). Every name must end inside the RDATA and the
 * fields must use it up exactly. Returns the length written, or -1 when malformed or
 * larger than cap.
 */
int wire_rdata_unpack(const struct wire_msg *m, const struct wire_rr *rr, uint8_t *out,
    size_t cap);

#endif
