/* event.c: the zone event codec: Kafka key + JSON value <-> owner, type and RRset. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libknot/libknot.h>
#include <libzscanner/scanner.h>

#include "common/event.h"
#include "common/keyset.h"
#include "common/event_fast.h"
#include "common/rdata.h"
#include "common/wire.h"

#define TYPE_STRLEN	16		/* "TYPE65535" and every mnemonic fit */
#define SHOW_MAX	40		/* characters of untrusted text quoted in a reason */

struct event_decoder {
	zs_scanner_t	*zs;
	bool		 zs_dirty;	/* the last parse did not end cleanly: re-init */
	char		*line;		/* the zone-file line handed to the scanner */
	size_t		 linecap;
	char		*text;		/* presentation buffer for RDATA checks */
	size_t		 textcap;
	bool		 fast;		/* try common/event_fast.c first (tests turn it off) */
	uint16_t	 last_type;	/* the last key type checked, and its text */
	char		 last_type_text[TYPE_STRLEN];
};

/* What one record contributes, and where its reasons go. */
struct rec_ctx {
	struct event_decoder	*d;
	const char		*owner_text;	/* canonical, from the key */
	struct event		*ev;
	size_t			 idx;		/* 1-based, for reasons */
	char			*err;
	size_t			 errlen;
};

static const char *const error_names[EVENT_ERR__COUNT] = {
	[EVENT_OK] = "ok",
	[EVENT_ERR_KEY] = "key",
	[EVENT_ERR_JSON] = "json",
	[EVENT_ERR_MISMATCH] = "mismatch",
	[EVENT_ERR_SIGNATURE] = "signature",
	[EVENT_ERR_KEYSET] = "keyset",
	[EVENT_ERR_CONTENT] = "content",
	[EVENT_ERR_TTL] = "ttl",
	[EVENT_ERR_RRSET] = "rrset",
};

const char *
event_error_name(enum event_error e)
{
	if ((unsigned)e >= EVENT_ERR__COUNT)
		return "unknown";
	return error_names[e];
}

/* Writes a reason into err (when there is room for one) and returns the class e. */
static enum event_error __attribute__((format(printf, 4, 5)))
fail(char *err, size_t errlen, enum event_error e, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return e;
}

/* Copies untrusted text for a reason: shortened, non-printables as '?'. */
static const char *
show(const char *s, size_t len, char *buf, size_t buflen)
{
	size_t n = len < buflen - 4 ? len : buflen - 4, i;

	for (i = 0; i < n; i++)
		buf[i] = (s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
	if (n < len)
		buf[i++] = '.', buf[i++] = '.', buf[i++] = '.';
	buf[i] = '\0';
	return buf;
}

static int
scanner_init(struct event_decoder *d)
{
	/* Relative names in content are relative to the root; class IN. */
	if (zs_init(d->zs, ".", KNOT_CLASS_IN, 0) != 0)
		return -1;
	d->zs_dirty = false;
	return 0;
}

struct event_decoder *
event_decoder_new(void)
{
	struct event_decoder *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return NULL;
	d->fast = true;
	d->zs = malloc(sizeof(*d->zs));
	if (d->zs == NULL || scanner_init(d) != 0) {
		free(d->zs);
		free(d);
		return NULL;
	}
	return d;
}

void
event_decoder_set_fast(struct event_decoder *d, bool on)
{
	d->fast = on;
}

void
event_decoder_free(struct event_decoder *d)
{
	if (d == NULL)
		return;
	zs_deinit(d->zs);
	free(d->zs);
	free(d->line);
	free(d->text);
	free(d);
}

/* Grows *buf to at least need octets. */
static int
buf_reserve(char **buf, size_t *cap, size_t need)
{
	char *nb;

	if (*cap >= need)
		return 0;
	nb = realloc(*buf, need);
	if (nb == NULL)
		return -1;
	*buf = nb;
	*cap = need;
	return 0;
}

/*
 * knot's text dumper trusts the inner structure of these types (NSEC3 hash lengths, SVCB
 * parameters) and reads out of bounds when it is wrong: found by fuzzing libknot 3.2.
 * Their RDATA must therefore come from the scanner's own parser, never from RFC 3597 data.
 */
static bool
type_is_structured(uint16_t type)
{
	return type == KNOT_RRTYPE_NSEC3 || type == KNOT_RRTYPE_NSEC3PARAM ||
	    type == KNOT_RRTYPE_SVCB || type == KNOT_RRTYPE_HTTPS;
}

/*
 * Checks RDATA as knot's packet parser would (fixed fields complete, names well formed
 * and uncompressed). The dumper trusts this much; it reads past malformed names.
 */
static bool
rdata_wire_valid(uint16_t type, const uint8_t *rdata, uint16_t len)
{
	uint8_t *w = malloc(11 + (size_t)len);
	knot_rrset_t rr;
	size_t pos = 0;
	bool ok;

	if (w == NULL)
		return false;
	/* Root owner, TYPE, CLASS IN, TTL 0, RDLENGTH, RDATA. */
	memcpy(w, "\0\0\0\0\1\0\0\0\0", 9);
	w[1] = (uint8_t)(type >> 8), w[2] = (uint8_t)type;
	w[9] = (uint8_t)(len >> 8), w[10] = (uint8_t)len;
	memcpy(w + 11, rdata, len);
	knot_rrset_init_empty(&rr);
	ok = knot_rrset_rr_from_wire(w, &pos, 11 + (size_t)len, &rr, NULL, false) == KNOT_EOK;
	/* A compression pointer would have been expanded: the octets must come back as given. */
	ok = ok && pos == 11 + (size_t)len && rr.rrs.count == 1 && rr.rrs.rdata->len == len &&
	    memcmp(rr.rrs.rdata->data, rdata, len) == 0;
	knot_rrset_clear(&rr, NULL);
	free(w);
	return ok;
}

/* ---- key ---- */

/* Lower-case letters, digits, '-', '_', '*' in non-empty labels, absolute: canonical as is. */
static bool
plainly_canonical(const char *text)
{
	const char *p = text;

	for (; *p != '\0'; p++) {
		if (*p == '.') {
			if (p == text || p[-1] == '.')
				return false;
		} else if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		    *p == '_' || *p == '*')) {
			return false;
		}
	}
	return p > text && p[-1] == '.';
}

static enum event_error
key_owner(const char *text, struct event *ev, char *err, size_t errlen)
{
	char canon[DNAME_STRLEN];

	if (plainly_canonical(text) && dname_from_str(text, NULL, ev->owner) > 0)
		return EVENT_OK;
	if (dname_from_str(text, NULL, ev->owner) < 0)
		return fail(err, errlen, EVENT_ERR_KEY, "key: owner is not a domain name");
	dname_lower(ev->owner);
	dname_to_str(ev->owner, canon, sizeof(canon));
	if (strcmp(canon, text) != 0)
		return fail(err, errlen, EVENT_ERR_KEY, "key: owner is not canonical (absolute, "
		    "lower case, no needless escapes): expected \"%s\"", canon);
	return EVENT_OK;
}

/* Q-types and meta-types (RFC 6895 3.1: 128-255, plus OPT and the obsolete SIG) hold no data. */
static bool
type_is_meta(uint16_t type)
{
	return type == 0 || knot_rrtype_is_metatype(type) || (type >= 128 && type <= 255);
}

static enum event_error
key_type(struct event_decoder *d, const char *text, struct event *ev, char *err,
    size_t errlen)
{
	char canon[TYPE_STRLEN], shown[SHOW_MAX];
	uint16_t type;

	if (strcmp(text, d->last_type_text) == 0) {
		ev->type = d->last_type;	/* checked already: a replay repeats a few types */
		return EVENT_OK;
	}
	if (knot_rrtype_from_string(text, &type) != 0)
		return fail(err, errlen, EVENT_ERR_KEY, "key: unknown type \"%s\"",
		    show(text, strlen(text), shown, sizeof(shown)));
	if (type_is_meta(type))
		return fail(err, errlen, EVENT_ERR_KEY, "key: type %s holds no data "
		    "(meta or query type)", show(text, strlen(text), shown, sizeof(shown)));
	if (knot_rrtype_to_string(type, canon, sizeof(canon)) < 0 ||
	    strcmp(canon, text) != 0)
		return fail(err, errlen, EVENT_ERR_KEY, "key: type is not canonical: "
		    "expected \"%s\"", canon);
	ev->type = type;
	d->last_type = type;
	memcpy(d->last_type_text, canon, sizeof(canon));
	return EVENT_OK;
}

/* Splits "<owner>|<TYPE>" into owner_text (DNAME_STRLEN), type_text and checks both. */
static enum event_error
key_parse(struct event_decoder *d, const char *key, size_t keylen, struct event *ev,
    char *owner_text, char *type_text, char *err, size_t errlen)
{
	const char *bar;
	size_t olen, tlen;
	enum event_error e;

	if (key == NULL || keylen == 0)
		return fail(err, errlen, EVENT_ERR_KEY, "key: missing");
	if (memchr(key, '\0', keylen) != NULL)
		return fail(err, errlen, EVENT_ERR_KEY, "key: contains a NUL octet");
	bar = memchr(key, '|', keylen);
	if (bar == NULL)
		return fail(err, errlen, EVENT_ERR_KEY, "key: no '|' (want \"<owner>|<TYPE>\")");
	olen = (size_t)(bar - key);
	tlen = keylen - olen - 1;
	if (memchr(bar + 1, '|', tlen) != NULL)
		return fail(err, errlen, EVENT_ERR_KEY, "key: more than one '|'");
	if (olen == 0 || olen >= DNAME_STRLEN)
		return fail(err, errlen, EVENT_ERR_KEY, "key: owner empty or too long");
	if (tlen == 0 || tlen >= TYPE_STRLEN)
		return fail(err, errlen, EVENT_ERR_KEY, "key: type empty or too long");
	memcpy(owner_text, key, olen);
	owner_text[olen] = '\0';
	memcpy(type_text, bar + 1, tlen);
	type_text[tlen] = '\0';
	e = key_owner(owner_text, ev, err, errlen);
	if (e == EVENT_OK && strcmp(type_text, KEYSET_TYPE_NAME) == 0) {
		ev->keyset = true;	/* a zone's DNSSEC keys: common/keyset.h reads the value */
		return EVENT_OK;
	}
	if (e == EVENT_OK && strcmp(type_text, EVENT_GUARD_TYPE) == 0) {
		ev->guard = true;	/* an update's guard on a name: no data */
		return EVENT_OK;
	}
	return e != EVENT_OK ? e : key_type(d, type_text, ev, err, errlen);
}

/* ---- record members ---- */

/* Fetches a required string member. */
static enum event_error
rec_string(const struct rec_ctx *c, const json_t *rec, const char *member, const char **out,
    size_t *len)
{
	const json_t *v = json_object_get(rec, member);

	if (!json_is_string(v))
		return fail(c->err, c->errlen, EVENT_ERR_JSON, "record %zu: %s: %s", c->idx,
		    member, v == NULL ? "missing" : "not a string");
	*out = json_string_value(v);
	*len = json_string_length(v);
	return EVENT_OK;
}

static enum event_error
rec_ttl(const struct rec_ctx *c, const json_t *rec, uint32_t *ttl)
{
	const json_t *v = json_object_get(rec, "ttl");
	json_int_t n;

	if (v == NULL)
		return fail(c->err, c->errlen, EVENT_ERR_TTL, "record %zu: ttl: missing", c->idx);
	if (!json_is_integer(v))
		return fail(c->err, c->errlen, EVENT_ERR_TTL, "record %zu: ttl: not an integer",
		    c->idx);
	n = json_integer_value(v);
	if (n < 0 || n > (json_int_t)EVENT_TTL_MAX)
		return fail(c->err, c->errlen, EVENT_ERR_TTL, "record %zu: ttl: %lld is out of "
		    "0..%u", c->idx, (long long)n, EVENT_TTL_MAX);
	*ttl = (uint32_t)n;
	return EVENT_OK;
}

/* Optional members: priority (0..65535, *prio = -1 when absent) and metadatas. */
static enum event_error
rec_optional(const struct rec_ctx *c, const json_t *rec, int *prio)
{
	const json_t *p = json_object_get(rec, "priority");
	const json_t *m = json_object_get(rec, "metadatas");

	*prio = -1;
	if (p != NULL) {
		if (!json_is_integer(p) || json_integer_value(p) < 0 ||
		    json_integer_value(p) > 65535)
			return fail(c->err, c->errlen, EVENT_ERR_JSON, "record %zu: priority: not "
			    "an integer in 0..65535", c->idx);
		*prio = (int)json_integer_value(p);
	}
	/* A Go producer writes a nil map as null. */
	if (m != NULL && !json_is_object(m) && !json_is_null(m))
		return fail(c->err, c->errlen, EVENT_ERR_JSON, "record %zu: metadatas: not an "
		    "object", c->idx);
	return EVENT_OK;
}

static enum event_error
rec_match_name(const struct rec_ctx *c, const char *name, size_t len)
{
	uint8_t wire[DNAME_MAXLEN];
	char shown[SHOW_MAX];

	if (strlen(name) != len || dname_from_str(name, NULL, wire) < 0)
		return fail(c->err, c->errlen, EVENT_ERR_MISMATCH, "record %zu: name \"%s\" is "
		    "not a domain name", c->idx, show(name, len, shown, sizeof(shown)));
	if (!dname_equal(wire, c->ev->owner))
		return fail(c->err, c->errlen, EVENT_ERR_MISMATCH, "record %zu: name \"%s\" "
		    "differs from the key's owner \"%s\"", c->idx,
		    show(name, len, shown, sizeof(shown)), c->owner_text);
	return EVENT_OK;
}

static enum event_error
rec_match_type(const struct rec_ctx *c, const char *type, size_t len)
{
	char upper[TYPE_STRLEN], shown[SHOW_MAX];
	uint16_t t;
	size_t i;

	for (i = 0; i < len && i < sizeof(upper) - 1; i++)
		upper[i] = (type[i] >= 'a' && type[i] <= 'z') ? (char)(type[i] - 32) : type[i];
	upper[i] = '\0';
	if (len >= sizeof(upper) || strlen(type) != len ||
	    knot_rrtype_from_string(upper, &t) != 0 || t != c->ev->type)
		return fail(c->err, c->errlen, EVENT_ERR_MISMATCH, "record %zu: type \"%s\" "
		    "differs from the key's type", c->idx, show(type, len, shown, sizeof(shown)));
	return EVENT_OK;
}

/* ---- content ---- */

/* A control character would end the zone-file line and let content add records or $INCLUDE. */
static enum event_error
content_chars(const struct rec_ctx *c, const char *content, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)content[i];

		if (ch < 0x20 || ch == 0x7f)
			return fail(c->err, c->errlen, EVENT_ERR_CONTENT, "record %zu: content: "
			    "control character 0x%02x at offset %zu", c->idx, ch, i);
	}
	return EVENT_OK;
}

static size_t
content_fields(const char *content, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		if (content[i] != ' ' && (i == 0 || content[i - 1] == ' '))
			n++;
	return n;
}

/* The original carried the preference of MX and SRV in "priority"; fields the type needs. */
static size_t
priority_fields(uint16_t type)
{
	switch (type) {
	case KNOT_RRTYPE_MX:
		return 2;
	case KNOT_RRTYPE_SRV:
		return 4;
	default:
		return 0;
	}
}

/*
 * The scanner takes ASCII only, while the original (like most servers) took UTF-8 in TXT
 * and the like. An octet above 0x7f becomes \DDD, the same octet in RFC 1035 text; right
 * after a backslash it is escaped already, so only its digits are written. dst holds 4*len+1.
 */
static size_t
content_copy(char *dst, const char *src, size_t len)
{
	bool escaped = false;
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)src[i];

		if (ch >= 0x80)
			o += (size_t)sprintf(dst + o, escaped ? "%03u" : "\\%03u", ch);
		else
			dst[o++] = (char)ch;
		escaped = !escaped && ch == '\\';
	}
	return o;
}

/*
 * Builds "@ <ttl> IN <TYPE> [<priority> ]<content>\n" in d->line; returns its length. Only
 * the RDATA is taken from the scanner, so the owner is "@" (the root, the origin): the key's
 * owner, checked already, may hold octets such as ',' that the scanner's name syntax wants
 * escaped, and must not get the event rejected as content.
 */
static int
line_build(const struct rec_ctx *c, uint32_t ttl, int prio, const char *content, size_t len)
{
	struct event_decoder *d = c->d;
	char type[TYPE_STRLEN], head[64];
	size_t need = priority_fields(c->ev->type), o;
	int n;

	/* libzscanner knows no "NULL" mnemonic (type 10): it takes only the generic form. */
	if (c->ev->type == DNS_TYPE_NULL)
		snprintf(type, sizeof(type), "TYPE10");
	else
		knot_rrtype_to_string(c->ev->type, type, sizeof(type));
	if (prio >= 0 && need > 0 && content_fields(content, len) == need - 1)
		n = snprintf(head, sizeof(head), "@ %u IN %s %d ", ttl, type, prio);
	else
		n = snprintf(head, sizeof(head), "@ %u IN %s ", ttl, type);
	if (n < 0 || (size_t)n >= sizeof(head) || len > INT32_MAX / 8 ||
	    buf_reserve(&d->line, &d->linecap, (size_t)n + 4 * len + 2) != 0)
		return -1;
	memcpy(d->line, head, (size_t)n);
	o = (size_t)n + content_copy(d->line + n, content, len);
	d->line[o++] = '\n';
	return (int)o;
}

/* Parses d->line: exactly one record, then the end. The RDATA stays in d->zs->r_data. */
static enum event_error
line_scan(const struct rec_ctx *c, size_t len)
{
	zs_scanner_t *s = c->d->zs;

	if (c->d->zs_dirty) {
		/* After an error the scanner keeps state (an open parenthesis, a fatal flag). */
		zs_deinit(s);
		if (scanner_init(c->d) != 0)
			return fail(c->err, c->errlen, EVENT_ERR_CONTENT, "record %zu: content: "
			    "scanner initialization failed", c->idx);
	}
	c->d->zs_dirty = true;
	if (zs_set_input_string(s, c->d->line, len) != 0 || zs_parse_record(s) != 0 ||
	    s->state != ZS_STATE_DATA)
		goto bad;
	if (s->r_type != c->ev->type || s->r_data_length > UINT16_MAX)
		return fail(c->err, c->errlen, EVENT_ERR_CONTENT, "record %zu: content: does not "
		    "parse as one %u record", c->idx, c->ev->type);
	if (zs_parse_record(s) != 0 || s->state != ZS_STATE_EOF)
		goto bad;
	c->d->zs_dirty = false;
	return EVENT_OK;
bad:
	if (s->state != ZS_STATE_ERROR)
		return fail(c->err, c->errlen, EVENT_ERR_CONTENT, "record %zu: content: not "
		    "exactly one record", c->idx);
	return fail(c->err, c->errlen, EVENT_ERR_CONTENT, "record %zu: content: %s", c->idx,
	    zs_strerror(s->error.code));
}

static bool
content_is_generic(const char *content)
{
	while (*content == ' ')
		content++;
	return content[0] == '\\' && content[1] == '#';
}

/*
 * What is accepted must render back to text, or event_encode() could not round-trip it:
 * knot's dumper refuses a few forms the scanner takes (an IPSECKEY without its key).
 * RFC 3597 "\# len hex" is taken by the scanner as given, even for a type with a known
 * layout (an A of 3 octets); for a known type it must then be well formed RDATA, checked
 * before the dumper sees it.
 */
static enum event_error
rdata_check(const struct rec_ctx *c, const uint8_t *rdata, uint16_t len, bool generic)
{
	const char *name = knot_get_rdata_descriptor(c->ev->type)->type_name;
	knot_rrset_t rr;
	int r;

	if (name == NULL)
		return EVENT_OK;	/* unknown type: opaque octets, always \# */
	if (generic && type_is_structured(c->ev->type))
		return fail(c->err, c->errlen, EVENT_ERR_CONTENT, "record %zu: content: \\# data "
		    "is not accepted for %s: use its presentation format", c->idx, name);
	if (generic && !rdata_wire_valid(c->ev->type, rdata, len))
		return fail(c->err, c->errlen, EVENT_ERR_CONTENT, "record %zu: content: \\# data "
		    "is not a valid %s RDATA", c->idx, name);
	knot_rrset_init(&rr, c->ev->owner, c->ev->type, KNOT_CLASS_IN, 0);
	if (knot_rrset_add_rdata(&rr, rdata, len, NULL) != KNOT_EOK)
		return fail(c->err, c->errlen, EVENT_ERR_RRSET, "out of memory");
	r = rdata_text(&rr, 0, false, &c->d->text, &c->d->textcap);
	knot_rdataset_clear(&rr.rrs, NULL);
	if (r == -2)
		return fail(c->err, c->errlen, EVENT_ERR_RRSET, "out of memory");
	if (r != 0)
		return fail(c->err, c->errlen, EVENT_ERR_CONTENT, "record %zu: content: %s "
		    "RDATA that cannot be written back as text", c->idx, name);
	return EVENT_OK;
}

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* An NSEC/NSEC3 type bitmap (RFC 4034 4.1.2): windows ascending, 1..32 octets each. */
static bool
bitmap_ok(const uint8_t *p, size_t len)
{
	int last = -1;

	while (len > 0) {
		if (len < 2 || p[0] <= last || p[1] == 0 || p[1] > 32 || len < 2u + p[1])
			return false;
		last = p[0];
		len -= 2u + p[1];
		p += 2u + p[1];
	}
	return true;
}

/* SVCB/HTTPS SvcParams (RFC 9460 2.2), after priority and target: keys ascending, values whole. */
static bool
svcparams_ok(const uint8_t *p, size_t len)
{
	int32_t last = -1;

	while (len > 0) {
		uint16_t key, vlen;

		if (len < 4)
			return false;
		key = get16(p);
		vlen = get16(p + 2);
		if ((int32_t)key <= last || len - 4 < vlen)
			return false;
		last = key;
		p += 4;
		len -= 4;
		switch (key) {
		case 0:		/* mandatory: keys */
			if (vlen == 0 || vlen % 2 != 0)
				return false;
			break;
		case 1:		/* alpn: non-empty character-strings, exactly */
			if (vlen == 0)
				return false;
			for (size_t i = 0; i < vlen; i += 1u + p[i])
				if (p[i] == 0 || i + 1u + p[i] > vlen)
					return false;
			break;
		case 2:		/* no-default-alpn */
			if (vlen != 0)
				return false;
			break;
		case 3:		/* port */
			if (vlen != 2)
				return false;
			break;
		case 4:		/* ipv4hint */
			if (vlen == 0 || vlen % 4 != 0)
				return false;
			break;
		case 6:		/* ipv6hint */
			if (vlen == 0 || vlen % 16 != 0)
				return false;
			break;
		default:
			break;
		}
		p += vlen;
		len -= vlen;
	}
	return true;
}

/*
 * The inner structure knot's text dumper trusts in the types of type_is_structured(),
 * checked before it sees RDATA that did not come from the scanner (rdata_wire_valid has
 * checked fixed fields and names already).
 */
static bool
rdata_structure_ok(uint16_t type, const uint8_t *rd, size_t len)
{
	size_t p;

	switch (type) {
	case KNOT_RRTYPE_NSEC3PARAM:
		return len >= 5 && 5u + rd[4] == len;
	case KNOT_RRTYPE_NSEC3:
		if (len < 6 || (p = 5u + rd[4]) >= len || rd[p] == 0 || p + 1u + rd[p] > len)
			return false;
		p += 1u + rd[p];
		return bitmap_ok(rd + p, len - p);
	case KNOT_RRTYPE_SVCB:
	case KNOT_RRTYPE_HTTPS:
		if (len < 3)
			return false;
		for (p = 2; p < len && rd[p] != 0; p += 1u + rd[p])
			;
		if (p >= len)
			return false;
		p++;
		return svcparams_ok(rd + p, len - p);
	default:
		return true;
	}
}

enum event_error
event_rdata_check(struct event_decoder *d, const uint8_t *owner, uint16_t type,
    const uint8_t *rd, uint16_t len, char *err, size_t errlen)
{
	const char *name = knot_get_rdata_descriptor(type)->type_name;
	struct event ev;
	struct rec_ctx c = { d, ".", &ev, 1, err, errlen };
	knot_rrset_t rr;
	enum event_error e;
	int n, r;

	if (name == NULL)
		return EVENT_OK;	/* unknown type: opaque octets, written as \# */
	if (!rdata_wire_valid(type, rd, len) || !rdata_structure_ok(type, rd, len))
		return fail(err, errlen, EVENT_ERR_CONTENT, "not a valid %s RDATA", name);
	knot_rrset_init(&rr, (knot_dname_t *)(uintptr_t)owner, type, KNOT_CLASS_IN, 0);
	if (knot_rrset_add_rdata(&rr, rd, len, NULL) != KNOT_EOK)
		return fail(err, errlen, EVENT_ERR_RRSET, "out of memory");
	r = rdata_text(&rr, 0, false, &d->text, &d->textcap);
	knot_rdataset_clear(&rr.rrs, NULL);
	if (r == -2)
		return fail(err, errlen, EVENT_ERR_RRSET, "out of memory");
	if (r != 0)
		return fail(err, errlen, EVENT_ERR_CONTENT, "%s RDATA that cannot be written "
		    "as text", name);
	/* The text must read back as the very same octets (else the dump ran past them). */
	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	if ((n = line_build(&c, 0, -1, d->text, strlen(d->text))) < 0)
		return fail(err, errlen, EVENT_ERR_CONTENT, "%s RDATA too long", name);
	if ((e = line_scan(&c, (size_t)n)) != EVENT_OK)
		return e;
	if (d->zs->r_data_length != len || memcmp(d->zs->r_data, rd, len) != 0)
		return fail(err, errlen, EVENT_ERR_CONTENT, "not a well-formed %s RDATA", name);
	return EVENT_OK;
}

/* Content -> RDATA, added to b. */
static enum event_error
rec_content(const struct rec_ctx *c, struct rrset_builder *b, uint32_t ttl, int prio,
    const char *content, size_t len)
{
	zs_scanner_t *s = c->d->zs;
	enum event_error e;
	int n;

	if ((e = content_chars(c, content, len)) != EVENT_OK)
		return e;
	n = line_build(c, ttl, prio, content, len);
	if (n < 0)
		return fail(c->err, c->errlen, EVENT_ERR_CONTENT, "record %zu: content: too "
		    "long or out of memory", c->idx);
	if ((e = line_scan(c, (size_t)n)) != EVENT_OK)
		return e;
	e = rdata_check(c, s->r_data, (uint16_t)s->r_data_length, content_is_generic(content));
	if (e != EVENT_OK)
		return e;
	if (rrset_builder_add(b, ttl, s->r_data, (uint16_t)s->r_data_length) != 0)
		return fail(c->err, c->errlen, EVENT_ERR_RRSET, "record %zu: the RRset would "
		    "exceed 65535 octets", c->idx);
	return EVENT_OK;
}

/* One element of the value array. */
static enum event_error
rec_decode(const struct rec_ctx *c, const json_t *rec, struct rrset_builder *b)
{
	const char *name = NULL, *type = NULL, *content = NULL;
	size_t namelen = 0, typelen = 0, contentlen = 0;
	uint32_t ttl = 0;
	int prio = -1;
	enum event_error e;

	if (!json_is_object(rec))
		return fail(c->err, c->errlen, EVENT_ERR_JSON, "record %zu: not a JSON object",
		    c->idx);
	if ((e = rec_string(c, rec, "name", &name, &namelen)) != EVENT_OK ||
	    (e = rec_string(c, rec, "type", &type, &typelen)) != EVENT_OK ||
	    (e = rec_string(c, rec, "content", &content, &contentlen)) != EVENT_OK ||
	    (e = rec_optional(c, rec, &prio)) != EVENT_OK ||
	    (e = rec_ttl(c, rec, &ttl)) != EVENT_OK ||
	    (e = rec_match_name(c, name, namelen)) != EVENT_OK ||
	    (e = rec_match_type(c, type, typelen)) != EVENT_OK)
		return e;
	return rec_content(c, b, ttl, prio, content, contentlen);
}

/* ---- value ---- */

/* CNAME and DNAME redirect a name, SOA starts a zone: a second record has no meaning. */
static bool
type_is_singleton(uint16_t type)
{
	return type == KNOT_RRTYPE_CNAME || type == KNOT_RRTYPE_DNAME ||
	    type == KNOT_RRTYPE_SOA;
}

static enum event_error
records_decode(struct rec_ctx *c, const json_t *arr)
{
	struct rrset_builder b;
	enum event_error e = EVENT_OK;

	rrset_builder_init(&b, c->ev->type);
	for (size_t i = 0; i < json_array_size(arr) && e == EVENT_OK; i++) {
		c->idx = i + 1;
		e = rec_decode(c, json_array_get(arr, i), &b);
	}
	if (e != EVENT_OK) {
		rrset_builder_clear(&b);
		return e;
	}
	c->ev->rrset = rrset_builder_finish(&b);
	if (c->ev->rrset == NULL)
		return fail(c->err, c->errlen, EVENT_ERR_RRSET, "out of memory");
	if (type_is_singleton(c->ev->type) && c->ev->rrset->count != 1) {
		unsigned count = c->ev->rrset->count;

		free(c->ev->rrset);
		c->ev->rrset = NULL;
		return fail(c->err, c->errlen, EVENT_ERR_RRSET, "a %s RRset must hold exactly "
		    "one record, not %u", knot_get_rdata_descriptor(c->ev->type)->type_name,
		    count);
	}
	return EVENT_OK;
}

/* Parses the value; *root is NULL for a delete (JSON null, as Go writes a nil slice, or []). */
static enum event_error
value_load(const char *value, size_t len, json_t **root, char *err, size_t errlen)
{
	json_error_t je;
	json_t *j;

	*root = NULL;
	if (len == 0)
		return fail(err, errlen, EVENT_ERR_JSON, "empty value: use a tombstone (null) to "
		    "delete");
	j = json_loadb(value, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
	if (j == NULL)
		return fail(err, errlen, EVENT_ERR_JSON, "value: invalid JSON at line %d column "
		    "%d: %s", je.line, je.column, je.text);
	if (!json_is_array(j) && !json_is_null(j)) {
		json_decref(j);
		return fail(err, errlen, EVENT_ERR_JSON, "value: not a JSON array of records");
	}
	if (json_is_null(j) || json_array_size(j) == 0)
		json_decref(j);
	else
		*root = j;
	return EVENT_OK;
}

enum event_error
event_decode(struct event_decoder *d, const char *key, size_t keylen, const char *value,
    size_t valuelen, struct event *ev, char *err, size_t errlen)
{
	char owner_text[DNAME_STRLEN], type_text[TYPE_STRLEN];
	struct rec_ctx c = { d, owner_text, ev, 0, err, errlen };
	json_t *root;
	enum event_error e;
	int r;

	ev->rrset = NULL;
	ev->keyset = false;
	ev->guard = false;
	ev->type = 0;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if ((e = key_parse(d, key, keylen, ev, owner_text, type_text, err, errlen)) != EVENT_OK)
		return e;
	if (value == NULL || ev->keyset || ev->guard)
		return EVENT_OK;
	r = d->fast ? event_fast_value(value, valuelen, owner_text, type_text, ev->type,
	    &ev->rrset) : 0;
	if (r != 0)
		return r > 0 ? EVENT_OK : fail(err, errlen, EVENT_ERR_RRSET, "out of memory");
	if ((e = value_load(value, valuelen, &root, err, errlen)) != EVENT_OK || root == NULL)
		return e;
	e = records_decode(&c, root);
	json_decref(root);
	return e;
}

/* ---- encoding ---- */

/*
 * Appends {"name","type","content","ttl"} for record pos of rr. RDATA that is malformed
 * for its type (never from event_decode) is written as RFC 3597 data rather than lost or
 * handed to the dumper, which trusts the names in it. Structured types are trusted to
 * come from event_decode, which builds them with the scanner only.
 */
static int
encode_record(json_t *arr, const knot_rrset_t *rr, size_t pos, const char *owner,
    const char *type, char **buf, size_t *cap)
{
	const knot_rdata_t *rd = knot_rdataset_at(&rr->rrs, (uint16_t)pos);
	int r = -1;

	if (rdata_wire_valid(rr->type, rd->data, rd->len))
		r = rdata_text(rr, pos, false, buf, cap);
	if (r == -1)
		r = rdata_text(rr, pos, true, buf, cap);
	if (r != 0)
		return -1;
	return json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:I}", "name", owner,
	    "type", type, "content", *buf, "ttl", (json_int_t)rr->ttl));
}

/* The RRset as a knot_rrset_t, which owns copies of the owner and RDATA. */
static knot_rrset_t *
encode_knot_rrset(const uint8_t *owner, const struct rrset *rs)
{
	knot_rrset_t *rr = knot_rrset_new(owner, rs->type, KNOT_CLASS_IN, rs->ttl, NULL);
	struct rdata_ref rd;

	if (rr == NULL)
		return NULL;
	for (const uint8_t *it = rrset_first(rs, &rd); it; it = rrset_next(rs, it, &rd)) {
		if (knot_rrset_add_rdata(rr, rd.data, rd.len, NULL) != KNOT_EOK) {
			knot_rrset_free(rr, NULL);
			return NULL;
		}
	}
	return rr;
}

static char *
encode_value(const knot_rrset_t *rr, const char *owner, const char *type)
{
	json_t *arr = json_array();
	char *buf = NULL, *value = NULL;
	size_t cap = 0;
	int ok = arr != NULL;

	for (size_t i = 0; ok && i < rr->rrs.count; i++)
		ok = encode_record(arr, rr, i, owner, type, &buf, &cap) == 0;
	if (ok)
		value = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	free(buf);
	return value;
}

int
event_key(const uint8_t *owner, uint16_t type, char *buf, size_t len)
{
	char owner_text[DNAME_STRLEN], tname[TYPE_STRLEN];
	uint8_t lower[DNAME_MAXLEN];
	int n;

	/* Keys are canonical (lower case) so that one RRset is one Kafka key. */
	memcpy(lower, owner, dname_len(owner));
	dname_lower(lower);
	dname_to_str(lower, owner_text, sizeof(owner_text));
	if (knot_rrtype_to_string(type, tname, sizeof(tname)) < 0)
		return -1;
	n = snprintf(buf, len, "%s|%s", owner_text, tname);
	return n < 0 || (size_t)n >= len ? -1 : n;
}

int
event_encode(const uint8_t *owner, const struct rrset *rs, char **key, char **value)
{
	char k[EVENT_KEY_MAX], *bar;
	uint8_t lower[DNAME_MAXLEN];
	knot_rrset_t *rr;

	*key = *value = NULL;
	if (event_key(owner, rs->type, k, sizeof(k)) < 0)
		return -1;
	memcpy(lower, owner, dname_len(owner));
	dname_lower(lower);
	rr = encode_knot_rrset(lower, rs);
	if (rr == NULL)
		return -1;
	bar = strrchr(k, '|');
	*bar = '\0';
	*value = encode_value(rr, k, bar + 1);
	*bar = '|';
	knot_rrset_free(rr, NULL);
	*key = strdup(k);
	if (*key == NULL || *value == NULL) {
		free(*key);
		free(*value);
		*key = *value = NULL;
		return -1;
	}
	return 0;
}

bool
event_condition(bool present, int64_t version, int64_t base)
{
	if (!present && base == -1)
		return true;		/* read absent, still absent */
	return version <= base;
}

int
event_base_parse(const void *value, size_t len, int64_t *base)
{
	char buf[24], *end;
	long long v;

	if (value == NULL || len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, value, len);
	buf[len] = '\0';
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (*end != '\0' || errno != 0 || v < -1)
		return -1;
	*base = v;
	return 0;
}
