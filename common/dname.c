/* dname.c: wire-format domain names: unpacking with compression, comparison, text form. */
#include <assert.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "common/dname.h"

static uint64_t hash_seed = 0x9e3779b97f4a7c15ULL;

int
dname_unpack(const uint8_t *msg, size_t len, size_t *pos, uint8_t *out)
{
	size_t p = *pos, outlen = 0, end = 0;
	bool jumped = false;

	for (;;) {
		uint8_t l;

		if (p >= len)
			return -1;
		l = msg[p];
		if ((l & 0xc0) == 0xc0) {
			size_t target;

			if (p + 1 >= len)
				return -1;
			target = ((size_t)(l & 0x3f) << 8) | msg[p + 1];
			/* Strictly backwards: no loops, no forward references. */
			if (target >= (jumped ? p : *pos))
				return -1;
			if (!jumped)
				end = p + 2;
			jumped = true;
			p = target;
			continue;
		}
		if ((l & 0xc0) != 0)
			return -1;	/* 0x40, 0x80: extended label types are obsolete */
		if (p + 1 + l > len || outlen + 1 + l > DNAME_MAXLEN)
			return -1;
		memcpy(out + outlen, msg + p, 1 + (size_t)l);
		outlen += 1 + (size_t)l;
		p += 1 + (size_t)l;
		if (l == 0)
			break;
	}
	*pos = jumped ? end : p;
	return (int)outlen;
}

size_t
dname_len(const uint8_t *name)
{
	const uint8_t *p = name;

	while (*p != 0)
		p += 1 + *p;
	return (size_t)(p - name) + 1;
}

int
dname_labels(const uint8_t *name)
{
	int n = 0;

	for (; *name != 0; name += 1 + *name)
		n++;
	return n;
}

void
dname_lower(uint8_t *name)
{
	while (*name != 0) {
		uint8_t l = *name++;

		for (uint8_t i = 0; i < l; i++, name++)
			if (*name >= 'A' && *name <= 'Z')
				*name |= 0x20;
	}
}

static inline uint8_t
lc(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c | 0x20) : c;
}

bool
dname_equal(const uint8_t *a, const uint8_t *b)
{
	for (;;) {
		uint8_t l = *a;

		if (l != *b)
			return false;
		if (l == 0)
			return true;
		a++, b++;
		for (uint8_t i = 0; i < l; i++)
			if (lc(a[i]) != lc(b[i]))
				return false;
		a += l, b += l;
	}
}

bool
dname_is_below(const uint8_t *name, const uint8_t *ancestor)
{
	int nl = dname_labels(name), al = dname_labels(ancestor);

	if (nl < al)
		return false;
	for (; nl > al; nl--)
		name += 1 + *name;
	return dname_equal(name, ancestor);
}

const uint8_t *
dname_parent(const uint8_t *name)
{
	return *name == 0 ? NULL : name + 1 + *name;
}

/* Positions of a name's labels, root excluded; returns their number. */
static int
label_starts(const uint8_t *name, const uint8_t **starts)
{
	int n = 0;

	for (; *name != 0; name += 1 + *name) {
		assert(n < DNAME_MAXLABELS);	/* 255 octets hold at most 127 labels */
		starts[n++] = name;
	}
	return n;
}

int
dname_canon_cmp(const uint8_t *a, const uint8_t *b)
{
	const uint8_t *la[DNAME_MAXLABELS], *lb[DNAME_MAXLABELS];
	int na = label_starts(a, la), nb = label_starts(b, lb);

	/* From the most significant label, each compared as an octet string. */
	while (na > 0 && nb > 0) {
		const uint8_t *x = la[--na], *y = lb[--nb];
		size_t n = x[0] < y[0] ? x[0] : y[0];
		int c = memcmp(x + 1, y + 1, n);

		if (c != 0)
			return c;
		if (x[0] != y[0])
			return x[0] < y[0] ? -1 : 1;
	}
	return (na > 0) - (nb > 0);	/* the shorter name, an ancestor, sorts first */
}

int
dname_substitute(const uint8_t *name, const uint8_t *owner, const uint8_t *target,
    uint8_t *out)
{
	size_t nlen = dname_len(name), olen = dname_len(owner), tlen = dname_len(target);
	size_t prefix;

	assert(nlen >= olen);	/* name is owner or below it */
	prefix = nlen - olen;
	if (prefix + tlen > DNAME_MAXLEN)
		return -1;
	memcpy(out, name, prefix);
	memcpy(out + prefix, target, tlen);
	return (int)(prefix + tlen);
}

int
dname_from_str(const char *s, const uint8_t *origin, uint8_t *out)
{
	size_t outlen = 0, lpos = 0;
	uint8_t llen = 0;

	if (strcmp(s, ".") == 0) {
		out[0] = 0;
		return 1;
	}
	if (*s == '\0' || *s == '.')
		return -1;
	out[0] = 0;
	outlen = 1;
	for (const char *p = s; *p != '\0'; p++) {
		int c = (unsigned char)*p;

		if (c == '.') {
			if (llen == 0)
				return -1;
			out[lpos] = llen;
			lpos = outlen;
			llen = 0;
			if (outlen + 1 > DNAME_MAXLEN)
				return -1;
			out[outlen++] = 0;
			continue;
		}
		if (c == '\\') {
			p++;
			if (isdigit((unsigned char)p[0])) {
				if (!isdigit((unsigned char)p[1]) || !isdigit((unsigned char)p[2]))
					return -1;
				c = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
				if (c > 255)
					return -1;
				p += 2;
			} else if (*p == '\0') {
				return -1;
			} else {
				c = (unsigned char)*p;
			}
		}
		if (llen == 63 || outlen + 1 > DNAME_MAXLEN)
			return -1;
		out[outlen++] = (uint8_t)c;
		llen++;
	}
	if (llen == 0) {
		/* Absolute: the trailing dot already wrote the root label. */
		return (int)outlen;
	}
	out[lpos] = llen;
	if (origin == NULL) {
		if (outlen + 1 > DNAME_MAXLEN)
			return -1;
		out[outlen++] = 0;
		return (int)outlen;
	}
	{
		size_t olen = dname_len(origin);

		if (outlen + olen > DNAME_MAXLEN)
			return -1;
		memcpy(out + outlen, origin, olen);
		return (int)(outlen + olen);
	}
}

char *
dname_to_str(const uint8_t *name, char *buf, size_t buflen)
{
	size_t o = 0;

	if (buflen < 2) {
		if (buflen == 1)
			buf[0] = '\0';
		return buf;
	}
	if (*name == 0) {
		buf[0] = '.';
		buf[1] = '\0';
		return buf;
	}
	while (*name != 0) {
		uint8_t l = *name++;

		for (uint8_t i = 0; i < l; i++, name++) {
			uint8_t c = *name;

			if (o + 5 >= buflen)
				goto out;
			if (c == '.' || c == '\\' || c == '"' || c == '(' || c == ')' ||
			    c == ';' || c == '$' || c == '@')
				o += (size_t)snprintf(buf + o, buflen - o, "\\%c", c);
			else if (c <= 0x20 || c >= 0x7f)
				o += (size_t)snprintf(buf + o, buflen - o, "\\%03u", c);
			else
				buf[o++] = (char)c;
		}
		if (o + 2 >= buflen)
			goto out;
		buf[o++] = '.';
	}
out:
	buf[o] = '\0';
	return buf;
}

void
dname_hash_seed(uint64_t seed)
{
	hash_seed = seed | 1;
}

/* FNV-1a over lower-cased octets, mixed with the seed; a final avalanche step. */
uint64_t
dname_hash(const uint8_t *name, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ hash_seed;

	for (size_t i = 0; i < len; i++) {
		h ^= lc(name[i]);
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}
