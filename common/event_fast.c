/*
 * event_fast.c: the event decoder's fast path.
 *
 * A replay decodes every event of the topic, and nearly all of them are written by
 * streamdns-ctl or a producer like it: an array of flat objects, plain strings, an A or a
 * name as content. Decoding those with jansson (a tree of allocated values) and libzscanner
 * (a zone-file line built for it) costs ~5 us an event; this reads the same bytes in
 * place, allocating nothing but the RRset, in well under 1 us.
 *
 * It is a strict subset, not a second decoder: every rule here is narrower than the
 * full decoder's (common/event.c), and anything else — escapes other than \" \\ \/,
 * non-ASCII, unknown members, nested metadata, other types, any spelling the narrow
 * grammar below does not take — returns 0 and goes to the full decoder, which accepts or
 * rejects it with a reason. The unit tests and the event fuzz target decode every input
 * both ways and require the same RRset, octet for octet.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <string.h>

#include "common/dname.h"
#include "common/event.h"
#include "common/event_fast.h"
#include "common/wire.h"

#define CONTENT_MAX	1024	/* longer content goes to the full decoder */
#define META_KEYS	8

struct cursor {
	const char	*p, *end;
};

struct record {
	const char	*name, *type;
	size_t		 namelen, typelen, contentlen;
	uint32_t	 ttl;
	int		 prio;		/* -1: absent */
	char		 content[CONTENT_MAX];
};

enum {
	M_NAME = 1, M_TYPE = 2, M_CONTENT = 4, M_TTL = 8, M_PRIORITY = 16, M_METADATAS = 32,
	M_REQUIRED = M_NAME | M_TYPE | M_CONTENT | M_TTL,
};

static void
skip_ws(struct cursor *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' ||
	    *c->p == '\r'))
		c->p++;
}

static bool
eat(struct cursor *c, char ch)
{
	skip_ws(c);
	if (c->p < c->end && *c->p == ch) {
		c->p++;
		return true;
	}
	return false;
}

static bool
eat_word(struct cursor *c, const char *w)
{
	size_t n = strlen(w);

	skip_ws(c);
	if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n) != 0)
		return false;
	c->p += n;
	return true;
}

/* A JSON string of printable ASCII without escapes; *s points into the value. */
static bool
plain_string(struct cursor *c, const char **s, size_t *len)
{
	const char *b;

	if (!eat(c, '"'))
		return false;
	for (b = c->p; c->p < c->end && *c->p != '"'; c->p++)
		if (*c->p < 0x20 || *c->p > 0x7e || *c->p == '\\')
			return false;
	if (c->p == c->end)
		return false;
	*s = b;
	*len = (size_t)(c->p++ - b);
	return true;
}

/* A JSON string of printable ASCII where \" \\ \/ may stand; unescaped into buf. */
static bool
content_string(struct cursor *c, char *buf, size_t cap, size_t *len)
{
	size_t o = 0;

	if (!eat(c, '"'))
		return false;
	for (;;) {
		char ch;

		if (c->p == c->end || o == cap)
			return false;
		ch = *c->p++;
		if (ch == '"')
			break;
		if (ch < 0x20 || ch > 0x7e)
			return false;
		if (ch == '\\') {
			if (c->p == c->end)
				return false;
			ch = *c->p++;
			if (ch != '"' && ch != '\\' && ch != '/')
				return false;
		}
		buf[o++] = ch;
	}
	*len = o;
	return true;
}

/* Decimal digits without a leading zero, at most maxdigits of them; '-' when allowed. */
static bool
integer(struct cursor *c, bool negative_ok, size_t maxdigits, uint64_t *v)
{
	const char *b;

	skip_ws(c);
	if (negative_ok && c->p < c->end && *c->p == '-')
		c->p++;
	*v = 0;
	for (b = c->p; c->p < c->end && *c->p >= '0' && *c->p <= '9'; c->p++) {
		if ((size_t)(c->p - b) == maxdigits)
			return false;
		*v = *v * 10 + (uint64_t)(*c->p - '0');
	}
	/* A fraction or an exponent makes a JSON real: the next token check rejects it. */
	return c->p > b && !(c->p - b > 1 && *b == '0');
}

static bool
bounded(struct cursor *c, uint64_t max, uint64_t *v)
{
	return integer(c, false, 10, v) && *v <= max;
}

/* A metadata value: a plain string, an integer of at most 18 digits, true, false, null. */
static bool
scalar(struct cursor *c)
{
	const char *s;
	size_t len;
	uint64_t v;

	skip_ws(c);
	if (c->p < c->end && *c->p == '"')
		return plain_string(c, &s, &len);
	return eat_word(c, "true") || eat_word(c, "false") || eat_word(c, "null") ||
	    integer(c, true, 18, &v);
}

/* metadatas: null, or a flat object of scalars under distinct keys (jansson rejects twins). */
static bool
metadatas(struct cursor *c)
{
	const char *keys[META_KEYS];
	size_t lens[META_KEYS];
	int n = 0;

	if (eat_word(c, "null"))
		return true;
	if (!eat(c, '{'))
		return false;
	if (eat(c, '}'))
		return true;
	do {
		if (n == META_KEYS || !plain_string(c, &keys[n], &lens[n]) || !eat(c, ':') ||
		    !scalar(c))
			return false;
		for (int i = 0; i < n; i++)
			if (lens[i] == lens[n] && memcmp(keys[i], keys[n], lens[n]) == 0)
				return false;
		n++;
	} while (eat(c, ','));
	return eat(c, '}');
}

static unsigned
member_bit(const char *k, size_t len)
{
	static const struct {
		const char	*name;
		unsigned	 bit;
	} members[] = {
		{ "name", M_NAME }, { "type", M_TYPE }, { "content", M_CONTENT },
		{ "ttl", M_TTL }, { "priority", M_PRIORITY }, { "metadatas", M_METADATAS },
	};

	for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++)
		if (strlen(members[i].name) == len && memcmp(members[i].name, k, len) == 0)
			return members[i].bit;
	return 0;
}

static bool
record(struct cursor *c, struct record *r)
{
	unsigned seen = 0;
	uint64_t v;

	r->prio = -1;
	if (!eat(c, '{'))
		return false;
	do {
		const char *k;
		size_t klen;
		unsigned bit;
		bool ok = false;

		if (!plain_string(c, &k, &klen) || !eat(c, ':'))
			return false;
		bit = member_bit(k, klen);
		if (bit == 0 || (seen & bit) != 0)
			return false;	/* unknown or repeated: the full decoder decides */
		seen |= bit;
		switch (bit) {
		case M_NAME:
			ok = plain_string(c, &r->name, &r->namelen);
			break;
		case M_TYPE:
			ok = plain_string(c, &r->type, &r->typelen);
			break;
		case M_CONTENT:
			ok = content_string(c, r->content, sizeof(r->content), &r->contentlen);
			break;
		case M_TTL:
			ok = bounded(c, EVENT_TTL_MAX, &v);
			r->ttl = (uint32_t)v;
			break;
		case M_PRIORITY:
			ok = bounded(c, 65535, &v);
			r->prio = (int)v;
			break;
		case M_METADATAS:
			ok = metadatas(c);
			break;
		}
		if (!ok)
			return false;
	} while (eat(c, ','));
	return eat(c, '}') && (seen & M_REQUIRED) == M_REQUIRED;
}

/* ---- content: the narrowest spelling of each type ---- */

/* Dotted quad, no leading zeros. */
static int
rdata_a(const char *s, size_t len, uint8_t *out)
{
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		size_t b;
		unsigned v = 0;

		if (part > 0 && (i == len || s[i++] != '.'))
			return -1;
		for (b = i; i < len && i - b < 3 && s[i] >= '0' && s[i] <= '9'; i++)
			v = v * 10 + (unsigned)(s[i] - '0');
		if (i == b || (i - b > 1 && s[b] == '0') || v > 255)
			return -1;
		out[part] = (uint8_t)v;
	}
	return i == len ? 4 : -1;
}

static int
rdata_aaaa(const char *s, size_t len, uint8_t *out)
{
	char text[INET6_ADDRSTRLEN];

	if (len < 2 || len >= sizeof(text))
		return -1;
	for (size_t i = 0; i < len; i++)
		if (strchr("0123456789abcdefABCDEF:.", s[i]) == NULL || s[i] == '\0')
			return -1;
	memcpy(text, s, len);
	text[len] = '\0';
	return inet_pton(AF_INET6, text, out) == 1 ? 16 : -1;
}

static bool
host_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	    ch == '-' || ch == '_';
}

/*
 * Letters, digits, '-', '_' and dots only (no escapes, no '@'), then the one name codec:
 * relative names are relative to the root, as the full decoder's origin is.
 */
static int
rdata_name(const char *s, size_t len, uint8_t *out)
{
	char text[DNAME_STRLEN];

	if (len == 0 || len >= sizeof(text))
		return -1;
	for (size_t i = 0; i < len; i++)
		if (!host_char(s[i]) && s[i] != '.')
			return -1;
	memcpy(text, s, len);
	text[len] = '\0';
	return dname_from_str(text, NULL, out);
}

/* "PREF NAME", or "NAME" with the preference in priority (as the original wrote MX). */
static int
rdata_mx(const char *s, size_t len, int prio, uint8_t *out)
{
	const char *sp = memchr(s, ' ', len);
	unsigned pref = 0;
	int n;

	if (sp == NULL) {
		if (prio < 0)
			return -1;
		pref = (unsigned)prio;
	} else {
		struct cursor c = { s, sp };
		uint64_t v;

		if (!bounded(&c, 65535, &v) || c.p != sp)
			return -1;
		pref = (unsigned)v;
		len -= (size_t)(sp + 1 - s);
		s = sp + 1;
	}
	if ((n = rdata_name(s, len, out + 2)) < 0)
		return -1;
	out[0] = (uint8_t)(pref >> 8);
	out[1] = (uint8_t)pref;
	return n + 2;
}

/* Quoted strings without escapes, one space apart. */
static int
rdata_txt(const char *s, size_t len, uint8_t *out, size_t cap)
{
	size_t i = 0, o = 0;

	while (i < len) {
		size_t b;

		if (i > 0 && s[i++] != ' ')
			return -1;
		if (i == len || s[i++] != '"')
			return -1;
		for (b = i; i < len && s[i] != '"'; i++)
			if (s[i] == '\\')
				return -1;
		if (i == len || i - b > 255 || o + 1 + (i - b) > cap)
			return -1;
		out[o] = (uint8_t)(i - b);
		memcpy(out + o + 1, s + b, i - b);
		o += 1 + (i - b);
		i++;
	}
	return o > 0 ? (int)o : -1;
}

static int
rdata(uint16_t type, const struct record *r, uint8_t *out, size_t cap)
{
	switch (type) {
	case DNS_TYPE_A:
		return rdata_a(r->content, r->contentlen, out);
	case DNS_TYPE_AAAA:
		return rdata_aaaa(r->content, r->contentlen, out);
	case DNS_TYPE_NS:
	case DNS_TYPE_CNAME:
	case DNS_TYPE_PTR:
	case DNS_TYPE_DNAME:
		return rdata_name(r->content, r->contentlen, out);
	case DNS_TYPE_MX:
		return rdata_mx(r->content, r->contentlen, r->prio, out);
	case DNS_TYPE_TXT:
		return rdata_txt(r->content, r->contentlen, out, cap);
	default:
		return -1;
	}
}

static bool
fast_type(uint16_t type)
{
	return type == DNS_TYPE_A || type == DNS_TYPE_AAAA || type == DNS_TYPE_NS ||
	    type == DNS_TYPE_CNAME || type == DNS_TYPE_PTR || type == DNS_TYPE_DNAME ||
	    type == DNS_TYPE_MX || type == DNS_TYPE_TXT;
}

int
event_fast_value(const char *value, size_t len, const char *owner_text,
    const char *type_text, uint16_t type, struct rrset **out)
{
	struct cursor c = { value, value + len };
	struct rrset_builder b;
	struct record r;
	uint8_t wire[CONTENT_MAX];
	size_t ownerlen = strlen(owner_text), typelen = strlen(type_text);

	*out = NULL;
	if (!fast_type(type) || !eat(&c, '['))
		return 0;
	rrset_builder_init(&b, type);
	do {
		int n;

		if (!record(&c, &r) || r.namelen != ownerlen ||
		    memcmp(r.name, owner_text, ownerlen) != 0 || r.typelen != typelen ||
		    memcmp(r.type, type_text, typelen) != 0 ||
		    (n = rdata(type, &r, wire, sizeof(wire))) < 0 ||
		    rrset_builder_add(&b, r.ttl, wire, (uint16_t)n) != 0)
			goto other;
	} while (eat(&c, ','));
	if (!eat(&c, ']'))
		goto other;
	skip_ws(&c);
	/* A CNAME or DNAME RRset of two records is an error the full decoder words. */
	if (c.p != c.end || ((type == DNS_TYPE_CNAME || type == DNS_TYPE_DNAME) && b.count != 1))
		goto other;
	*out = rrset_builder_finish(&b);
	return *out != NULL ? 1 : -1;
other:
	rrset_builder_clear(&b);
	return 0;
}
