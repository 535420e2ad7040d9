/* wire.c: parsing queries and writing responses, with RFC 1035 4.1.4 name compression. */
#include <string.h>

#include <libknot/descriptor.h>

#include "common/wire.h"

/* Skips one RR whose name starts at *pos; returns its type or -1 when malformed. */
static int
skip_rr(const uint8_t *msg, size_t len, size_t *pos, uint16_t *rclass, uint32_t *ttl,
    size_t *rdata, uint16_t *rdlen)
{
	uint8_t name[DNAME_MAXLEN];
	uint16_t type;

	if (dname_unpack(msg, len, pos, name) < 0 || *pos + 10 > len)
		return -1;
	type = wire_read16(msg + *pos);
	*rclass = wire_read16(msg + *pos + 2);
	*ttl = ((uint32_t)wire_read16(msg + *pos + 4) << 16) | wire_read16(msg + *pos + 6);
	*rdlen = wire_read16(msg + *pos + 8);
	*pos += 10;
	if (*pos + *rdlen > len)
		return -1;
	*rdata = *pos;
	*pos += *rdlen;
	if (type == DNS_TYPE_OPT && name[0] != 0)
		return -1;	/* RFC 6891 6.1.2: OPT's owner is the root */
	return type;
}

/* Reads the OPT RR's fields and options (RFC 6891 6.1.2). */
static int
parse_opt(const uint8_t *msg, uint16_t rclass, uint32_t ttl, size_t rdata, uint16_t rdlen,
    struct dns_query *q)
{
	size_t p = rdata, end = rdata + rdlen;

	q->edns = true;
	q->edns_udp = rclass;
	q->edns_version = (uint8_t)(ttl >> 16);
	q->edns_flags = (uint16_t)ttl;
	while (p < end) {
		uint16_t code, olen;

		if (p + 4 > end)
			return -1;
		code = wire_read16(msg + p);
		olen = wire_read16(msg + p + 2);
		p += 4;
		if (p + olen > end)
			return -1;
		if (code == EDNS_OPT_NSID)
			q->edns_nsid = true;
		if (code == EDNS_OPT_COOKIE) {
			/* RFC 7873 5.2.2: 8 octets, or 16 to 40; anything else is FORMERR. */
			if ((olen != 8 && (olen < 16 || olen > 40)) || q->cookie_len != 0)
				return -1;
			memcpy(q->cookie, msg + p, olen);
			q->cookie_len = (uint8_t)olen;
		}
		p += olen;
	}
	return 0;
}

/*
 * A TSIG RDATA (RFC 8945 4.2): an uncompressed algorithm name, time signed (48 bits),
 * fudge, MAC size and MAC, original id, error, other len and other data, using the
 * RDATA up exactly.
 */
static bool
tsig_rdata_ok(const uint8_t *msg, size_t rdata, uint16_t rdlen)
{
	uint8_t alg[DNAME_MAXLEN];
	size_t p = 0;
	int n = dname_unpack(msg + rdata, rdlen, &p, alg);

	if (n < 0 || (size_t)n != p || p + 10 > rdlen)
		return false;	/* a compressed algorithm name consumes fewer octets */
	p += 10 + wire_read16(msg + rdata + p + 8);
	if (p + 6 > rdlen)
		return false;
	p += 6 + wire_read16(msg + rdata + p + 4);
	return p == rdlen;
}

static int
parse_sections(const uint8_t *msg, size_t len, size_t pos, struct dns_query *q)
{
	unsigned an = wire_read16(msg + 6), ns = wire_read16(msg + 8);
	unsigned ar = wire_read16(msg + 10);

	for (unsigned i = 0; i < an + ns + ar; i++) {
		uint16_t rclass, rdlen;
		uint32_t ttl;
		size_t rdata, start = pos;
		int type = skip_rr(msg, len, &pos, &rclass, &ttl, &rdata, &rdlen);

		if (type < 0)
			return -1;
		if (type == DNS_TYPE_TSIG) {
			/* RFC 8945 5.2: the last RR of the additional section, only once. */
			if (i + 1 != an + ns + ar || i < an + ns || rclass != DNS_CLASS_ANY ||
			    ttl != 0 || !tsig_rdata_ok(msg, rdata, rdlen)) {
				q->tsig_malformed = true;
				return -1;
			}
			q->tsig_pos = start;
			q->tsig_rdata = rdata;
			q->tsig_rdlen = rdlen;
			continue;
		}
		if (type != DNS_TYPE_OPT)
			continue;
		if (i < an + ns || q->edns)
			return -1;	/* OPT outside additional, or twice: FORMERR */
		if (parse_opt(msg, rclass, ttl, rdata, rdlen, q) != 0)
			return -1;
	}
	return pos == len ? 0 : -1;	/* trailing octets: malformed */
}

enum wire_parse_result
wire_read_message(const uint8_t *msg, size_t len, struct dns_query *q)
{
	size_t pos = DNS_HEADER_LEN;

	memset(q, 0, sizeof(*q));
	if (len < DNS_HEADER_LEN)
		return WIRE_DROP;
	q->id = wire_read16(msg);
	q->flags = wire_read16(msg + 2);
	if (q->flags & DNS_FLAG_QR)
		return WIRE_DROP;	/* never answer a response: no reflection loops */
	q->opcode = (uint8_t)((q->flags & DNS_OPCODE_MASK) >> DNS_OPCODE_SHIFT);
	q->qdcount = wire_read16(msg + 4);
	for (unsigned i = 0; i < q->qdcount; i++) {
		uint8_t name[DNAME_MAXLEN];
		int n = dname_unpack(msg, len, &pos, name);

		if (n < 0 || pos + 4 > len)
			return WIRE_FORMERR;
		if (q->qdcount == 1) {
			memcpy(q->qname, name, (size_t)n);
			q->qname_len = (size_t)n;
			q->qtype = wire_read16(msg + pos);
			q->qclass = wire_read16(msg + pos + 2);
			q->has_question = true;
		}
		pos += 4;
	}
	if (parse_sections(msg, len, pos, q) != 0) {
		q->edns = false;	/* the OPT may be what was wrong */
		q->cookie_len = 0;
		q->tsig_pos = 0;	/* and so may the TSIG */
		return WIRE_FORMERR;
	}
	return WIRE_OK;
}

enum wire_parse_result
wire_parse_query(const uint8_t *msg, size_t len, struct dns_query *q)
{
	enum wire_parse_result pr = wire_read_message(msg, len, q);

	if (pr == WIRE_OK && q->qdcount != 1)
		return WIRE_FORMERR;
	return pr;
}

size_t
wire_truncate(uint8_t *resp, size_t len)
{
	size_t pos = DNS_HEADER_LEN;
	uint8_t qname[DNAME_MAXLEN];

	if (len < DNS_HEADER_LEN)
		return len;
	if (wire_read16(resp + 4) == 1 && dname_unpack(resp, len, &pos, qname) > 0 &&
	    pos + 4 <= len)
		pos += 4;
	else
		pos = DNS_HEADER_LEN;
	wire_write16(resp + 2, wire_read16(resp + 2) | DNS_FLAG_TC);
	wire_write16(resp + 4, pos > DNS_HEADER_LEN ? 1 : 0);
	memset(resp + 6, 0, 6);
	return pos;
}

void
wire_init(struct wire_writer *w, uint8_t *buf, size_t cap)
{
	memset(w, 0, sizeof(*w));
	w->buf = buf;
	w->cap = cap > DNS_MAX_MSG ? DNS_MAX_MSG : cap;
}

void
wire_header(struct wire_writer *w, uint16_t id, uint16_t flags)
{
	memset(w->buf, 0, DNS_HEADER_LEN);
	wire_write16(w->buf, id);
	wire_write16(w->buf + 2, flags);
	w->len = DNS_HEADER_LEN;
	memset(w->counts, 0, sizeof(w->counts));
	w->ncompr = 0;
}

void
wire_set_flags(struct wire_writer *w, uint16_t flags)
{
	wire_write16(w->buf + 2, flags);
}

uint16_t
wire_get_flags(const struct wire_writer *w)
{
	return wire_read16(w->buf + 2);
}

static inline uint8_t
lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c | 0x20) : c;
}

/* Does the name written at off (compressed, in our own output) equal name? */
static bool
name_at_equals(const uint8_t *buf, size_t off, const uint8_t *name)
{
	for (;;) {
		uint8_t l = buf[off];

		if ((l & 0xc0) == 0xc0) {
			off = ((size_t)(l & 0x3f) << 8) | buf[off + 1];
			continue;
		}
		if (l != *name)
			return false;
		if (l == 0)
			return true;
		for (uint8_t i = 1; i <= l; i++)
			if (lower(buf[off + i]) != lower(name[i]))
				return false;
		off += 1 + l;
		name += 1 + l;
	}
}

/* Offset of an earlier occurrence of suffix, or -1. */
static int
compr_find(const struct wire_writer *w, const uint8_t *suffix)
{
	for (size_t i = 0; i < w->ncompr; i++)
		if (name_at_equals(w->buf, w->compr[i], suffix))
			return w->compr[i];
	return -1;
}

void
wire_compress_lean(struct wire_writer *w, const uint8_t *apex)
{
	w->lean_apex = apex;
	w->lean_apex_len = dname_len(apex);
}

/*
 * The lean form of put_name: the previous owner whole, else the labels above the apex
 * and a pointer to it (the apex written out the first time). Names outside the zone,
 * and every name of the root zone, go out uncompressed.
 */
static int
put_name_lean(struct wire_writer *w, const uint8_t *name, bool owner)
{
	size_t nlen = dname_len(name), start = w->len;
	const uint8_t *s = name;
	bool in_zone = false;

	if (w->prev_off != 0 && (name == w->prev_owner || dname_equal(name, w->prev_owner))) {
		if (w->len + 2 > w->cap)
			return -1;
		wire_write16(w->buf + w->len, (uint16_t)(0xc000 | w->prev_off));
		w->len += 2;
		return 0;
	}
	if (w->lean_apex_len > 1) {
		for (; *s != 0; s += 1 + *s) {
			if (nlen - (size_t)(s - name) == w->lean_apex_len &&
			    dname_equal(s, w->lean_apex)) {
				in_zone = true;
				break;
			}
		}
	}
	if (!in_zone || w->apex_off == 0)
		s = name + nlen - 1;		/* all of it, root label last */
	if (w->len + (size_t)(s - name) + (in_zone && w->apex_off != 0 ? 2 : 1) > w->cap)
		return -1;
	for (const uint8_t *p = name; p < s; p += 1 + *p) {
		if (in_zone && w->apex_off == 0 && p + w->lean_apex_len == name + nlen &&
		    w->len < 0x4000)
			w->apex_off = (uint16_t)w->len;
		memcpy(w->buf + w->len, p, 1 + (size_t)*p);
		w->len += 1 + (size_t)*p;
	}
	if (*s != 0) {
		wire_write16(w->buf + w->len, (uint16_t)(0xc000 | w->apex_off));
		w->len += 2;
	} else {
		w->buf[w->len++] = 0;
	}
	if (owner && start < 0x4000) {
		w->prev_owner = name;
		w->prev_off = (uint16_t)start;
	}
	return 0;
}

/* Writes name, compressed against earlier names when compress is set. */
static int
put_name(struct wire_writer *w, const uint8_t *name, bool compress)
{
	const uint8_t *s = name;
	int ptr = -1;

	if (compress && w->lean_apex != NULL)
		return put_name_lean(w, name, false);
	if (compress) {
		for (; *s != 0; s += 1 + *s)
			if ((ptr = compr_find(w, s)) >= 0)
				break;
	} else {
		s = name + dname_len(name) - 1;
	}
	for (const uint8_t *p = name; p < s; p += 1 + *p) {
		size_t l = 1 + (size_t)*p;

		if (w->len + l > w->cap)
			return -1;
		if (compress && w->len < 0x4000 && w->ncompr < WIRE_COMPR_MAX)
			w->compr[w->ncompr++] = (uint16_t)w->len;
		memcpy(w->buf + w->len, p, l);
		w->len += l;
	}
	if (ptr >= 0) {
		if (w->len + 2 > w->cap)
			return -1;
		wire_write16(w->buf + w->len, (uint16_t)(0xc000 | ptr));
		w->len += 2;
		return 0;
	}
	if (w->len + 1 > w->cap)
		return -1;
	w->buf[w->len++] = 0;
	return 0;
}

static int
put_bytes(struct wire_writer *w, const void *p, size_t n)
{
	if (w->len + n > w->cap)
		return -1;
	if (n > 0)
		memcpy(w->buf + w->len, p, n);	/* p may be NULL when n is 0 */
	w->len += n;
	return 0;
}

static int
put16(struct wire_writer *w, uint16_t v)
{
	if (w->len + 2 > w->cap)
		return -1;
	wire_write16(w->buf + w->len, v);
	w->len += 2;
	return 0;
}

int
wire_question(struct wire_writer *w, const uint8_t *qname, uint16_t qtype,
    uint16_t qclass)
{
	struct wire_mark m;

	wire_mark(w, &m);
	if (put_name(w, qname, true) != 0 || put16(w, qtype) != 0 || put16(w, qclass) != 0) {
		wire_rollback(w, &m);
		return -1;
	}
	w->counts[WIRE_QD]++;
	return 0;
}

static bool
type_has_compressible(const knot_rdata_descriptor_t *d)
{
	for (int i = 0; d->block_types[i] != KNOT_RDATA_WF_END; i++)
		if (d->block_types[i] == KNOT_RDATA_WF_COMPRESSIBLE_DNAME)
			return true;
	return false;
}

/*
 * RDATA of the RFC 1035 types: walk the descriptor, compress the names it marks
 * compressible, copy the rest. The RDATA came from our own store, so it is well formed;
 * bounds are checked anyway, and anything odd falls back to a verbatim copy.
 */
static int
put_rdata(struct wire_writer *w, uint16_t type, const uint8_t *rd, uint16_t rdlen)
{
	const knot_rdata_descriptor_t *d = knot_get_rdata_descriptor(type);
	size_t p = 0;

	if (d == NULL || !type_has_compressible(d))
		return put_bytes(w, rd, rdlen);
	for (int i = 0; d->block_types[i] != KNOT_RDATA_WF_END && p < rdlen; i++) {
		int b = d->block_types[i];

		if (b == KNOT_RDATA_WF_COMPRESSIBLE_DNAME) {
			size_t nl = dname_len(rd + p);

			if (p + nl > rdlen || put_name(w, rd + p, true) != 0)
				return -1;
			p += nl;
		} else if (b > 0) {
			if (p + (size_t)b > rdlen || put_bytes(w, rd + p, (size_t)b) != 0)
				return -1;
			p += (size_t)b;
		} else {
			break;
		}
	}
	return p < rdlen ? put_bytes(w, rd + p, rdlen - p) : 0;
}

int
wire_rr(struct wire_writer *w, int sec, const uint8_t *owner, uint16_t type,
    uint16_t rclass, uint32_t ttl, const uint8_t *rdata, uint16_t rdlen)
{
	struct wire_mark m;
	size_t lenpos;

	wire_mark(w, &m);
	if ((w->lean_apex != NULL ? put_name_lean(w, owner, true) : put_name(w, owner, true)) != 0 ||
	    put16(w, type) != 0 || put16(w, rclass) != 0 ||
	    put16(w, (uint16_t)(ttl >> 16)) != 0 || put16(w, (uint16_t)ttl) != 0)
		goto fail;
	lenpos = w->len;
	if (put16(w, 0) != 0 || put_rdata(w, type, rdata, rdlen) != 0)
		goto fail;
	wire_write16(w->buf + lenpos, (uint16_t)(w->len - lenpos - 2));
	w->counts[sec]++;
	return 0;
fail:
	wire_rollback(w, &m);
	return -1;
}

int
wire_opt(struct wire_writer *w, uint16_t udp, uint8_t ext_rcode, uint8_t version,
    uint16_t flags, const uint8_t *opts, uint16_t optlen)
{
	struct wire_mark m;
	uint8_t root = 0;

	wire_mark(w, &m);
	if (put_bytes(w, &root, 1) != 0 || put16(w, DNS_TYPE_OPT) != 0 || put16(w, udp) != 0 ||
	    put16(w, (uint16_t)((ext_rcode << 8) | version)) != 0 || put16(w, flags) != 0 ||
	    put16(w, optlen) != 0 || put_bytes(w, opts, optlen) != 0) {
		wire_rollback(w, &m);
		return -1;
	}
	w->counts[WIRE_AR]++;
	return 0;
}

void
wire_mark(const struct wire_writer *w, struct wire_mark *m)
{
	m->len = w->len;
	m->ncompr = w->ncompr;
	memcpy(m->counts, w->counts, sizeof(m->counts));
}

void
wire_rollback(struct wire_writer *w, const struct wire_mark *m)
{
	w->len = m->len;
	w->ncompr = m->ncompr;
	memcpy(w->counts, m->counts, sizeof(m->counts));
	/* Lean compression: forget what pointed into the part taken back. */
	if (w->apex_off >= m->len)
		w->apex_off = 0;
	if (w->prev_off >= m->len)
		w->prev_off = 0;
}

size_t
wire_finish(struct wire_writer *w)
{
	for (int i = 0; i < 4; i++)
		wire_write16(w->buf + 4 + 2 * i, w->counts[i]);
	return w->len;
}

/* ---- reading whole messages (responses) ---- */

/* Reads the RR at *pos into rr (section not set); -1 when malformed. */
static int
read_rr(const uint8_t *msg, size_t len, size_t *pos, struct wire_rr *rr)
{
	if (dname_unpack(msg, len, pos, rr->owner) < 0 || *pos + 10 > len)
		return -1;
	rr->type = wire_read16(msg + *pos);
	rr->rclass = wire_read16(msg + *pos + 2);
	rr->ttl = ((uint32_t)wire_read16(msg + *pos + 4) << 16) | wire_read16(msg + *pos + 6);
	rr->rdlen = wire_read16(msg + *pos + 8);
	*pos += 10;
	if (*pos + rr->rdlen > len)
		return -1;
	rr->rdata = *pos;
	*pos += rr->rdlen;
	return 0;
}

static int
section_of(const struct wire_msg *m, unsigned idx)
{
	if (idx < m->counts[WIRE_AN])
		return WIRE_AN;
	if (idx < (unsigned)m->counts[WIRE_AN] + m->counts[WIRE_NS])
		return WIRE_NS;
	return WIRE_AR;
}

/* Walks every RR once; notes the OPT. */
static int
msg_check_rrs(struct wire_msg *m)
{
	unsigned total = (unsigned)m->counts[WIRE_AN] + m->counts[WIRE_NS] + m->counts[WIRE_AR];
	size_t pos = m->rr_pos;
	struct wire_rr rr;

	for (unsigned i = 0; i < total; i++) {
		if (read_rr(m->msg, m->len, &pos, &rr) != 0)
			return -1;
		if (rr.type != DNS_TYPE_OPT)
			continue;
		if (section_of(m, i) != WIRE_AR || m->edns || rr.owner[0] != 0)
			return -1;	/* RFC 6891 6.1.1: one OPT, in additional, at the root */
		m->edns = true;
		m->edns_udp = rr.rclass;
		m->ext_rcode = (uint8_t)(rr.ttl >> 24);
	}
	return pos == m->len ? 0 : -1;
}

int
wire_msg_parse(const uint8_t *msg, size_t len, struct wire_msg *m)
{
	size_t pos = DNS_HEADER_LEN;

	memset(m, 0, sizeof(*m));
	m->msg = msg;
	m->len = len;
	if (len < DNS_HEADER_LEN)
		return -1;
	m->id = wire_read16(msg);
	m->flags = wire_read16(msg + 2);
	for (int i = 0; i < 4; i++)
		m->counts[i] = wire_read16(msg + 4 + 2 * i);
	if (m->counts[WIRE_QD] > 1)
		return -1;
	if (m->counts[WIRE_QD] == 1) {
		if (dname_unpack(msg, len, &pos, m->qname) < 0 || pos + 4 > len)
			return -1;
		m->qtype = wire_read16(msg + pos);
		m->qclass = wire_read16(msg + pos + 2);
		m->has_question = true;
		pos += 4;
	}
	m->rr_pos = pos;
	return msg_check_rrs(m);
}

uint16_t
wire_msg_rcode(const struct wire_msg *m)
{
	return (uint16_t)(((uint16_t)m->ext_rcode << 4) | (m->flags & 0x000f));
}

void
wire_iter_init(const struct wire_msg *m, struct wire_iter *it)
{
	it->pos = m->rr_pos;
	it->idx = 0;
}

int
wire_iter_next(const struct wire_msg *m, struct wire_iter *it, struct wire_rr *rr)
{
	unsigned total = (unsigned)m->counts[WIRE_AN] + m->counts[WIRE_NS] + m->counts[WIRE_AR];

	if (it->idx >= total || read_rr(m->msg, m->len, &it->pos, rr) != 0)
		return 0;
	rr->section = section_of(m, it->idx);
	it->idx++;
	return 1;
}

/* Copies n octets of the message at *p into out at *o, within the limits. */
static int
copy_octets(const uint8_t *msg, size_t *p, size_t end, size_t n, uint8_t *out, size_t *o,
    size_t cap)
{
	if (*p + n > end || *o + n > cap)
		return -1;
	memcpy(out + *o, msg + *p, n);
	*p += n;
	*o += n;
	return 0;
}

/* A name at *p that must end inside the RDATA (end); written uncompressed. */
static int
copy_name(const uint8_t *msg, size_t *p, size_t end, uint8_t *out, size_t *o, size_t cap)
{
	uint8_t name[DNAME_MAXLEN];
	int n = dname_unpack(msg, end, p, name);

	if (n < 0 || *o + (size_t)n > cap)
		return -1;
	memcpy(out + *o, name, (size_t)n);
	*o += (size_t)n;
	return 0;
}

/* NAPTR's fixed part (RFC 3403 4.1): ORDER, PREFERENCE, then three character-strings. */
static int
copy_naptr_header(const uint8_t *msg, size_t *p, size_t end, uint8_t *out, size_t *o,
    size_t cap)
{
	if (copy_octets(msg, p, end, 4, out, o, cap) != 0)
		return -1;
	for (int i = 0; i < 3; i++) {
		if (*p >= end || copy_octets(msg, p, end, 1 + (size_t)msg[*p], out, o, cap) != 0)
			return -1;
	}
	return 0;
}

int
wire_rdata_unpack(const struct wire_msg *m, const struct wire_rr *rr, uint8_t *out,
    size_t cap)
{
	const knot_rdata_descriptor_t *d = knot_get_rdata_descriptor(rr->type);
	size_t p = rr->rdata, end = rr->rdata + rr->rdlen, o = 0;

	/* MD, MF, MB, MG, MR, MINFO (RFC 3597 4) are only in libknot's obsolete table. */
	if (d == NULL || d->type_name == NULL)
		d = knot_get_obsolete_rdata_descriptor(rr->type);
	if (d == NULL)
		return copy_octets(m->msg, &p, end, end - p, out, &o, cap) == 0 ? (int)o : -1;
	for (int i = 0; d->block_types[i] != KNOT_RDATA_WF_END; i++) {
		int b = d->block_types[i], rc;

		if (b > 0)
			rc = copy_octets(m->msg, &p, end, (size_t)b, out, &o, cap);
		else if (b == KNOT_RDATA_WF_REMAINDER)
			rc = copy_octets(m->msg, &p, end, end - p, out, &o, cap);
		else if (b == KNOT_RDATA_WF_NAPTR_HEADER)
			rc = copy_naptr_header(m->msg, &p, end, out, &o, cap);
		else	/* fixed, compressible or decompressible name */
			rc = copy_name(m->msg, &p, end, out, &o, cap);
		if (rc != 0)
			return -1;
	}
	return p == end ? (int)o : -1;
}
