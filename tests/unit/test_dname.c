/* test_dname.c: unit tests of the name codec (unpacking, text form, comparisons). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/dname.h"

#define W(s)	((const uint8_t *)(s))

/* ---- dname_unpack ---- */

static void
test_unpack_plain(void **state)
{
	static const uint8_t msg[] = "\x03www\x07" "example\x03" "com\x00" "tail";
	uint8_t out[DNAME_MAXLEN];
	size_t pos = 0;

	assert_int_equal(dname_unpack(msg, sizeof(msg) - 1, &pos, out), 17);
	assert_int_equal(pos, 17);
	assert_memory_equal(out, msg, 17);
}

/* A name ending in a pointer to an earlier name; pos ends just after the pointer. */
static void
test_unpack_compressed(void **state)
{
	static const uint8_t msg[] = "\x07" "example\x03" "com\x00"	/* 0..12 */
	    "\x03www\xc0\x00"						/* 13..18 */
	    "\x04mail\xc0\x0d";						/* 19..25 */
	uint8_t out[DNAME_MAXLEN];
	size_t pos = 13;

	assert_int_equal(dname_unpack(msg, sizeof(msg) - 1, &pos, out), 17);
	assert_int_equal(pos, 19);
	assert_memory_equal(out, "\x03www\x07" "example\x03" "com", 17);
	/* A pointer to a name that is itself compressed. */
	pos = 19;
	assert_int_equal(dname_unpack(msg, sizeof(msg) - 1, &pos, out), 22);
	assert_int_equal(pos, 26);
	assert_memory_equal(out, "\x04mail\x03www\x07" "example\x03" "com", 22);
}

/* Keeps the case of the message. */
static void
test_unpack_keeps_case(void **state)
{
	static const uint8_t msg[] = "\x03WwW\x00";
	uint8_t out[DNAME_MAXLEN];
	size_t pos = 0;

	assert_int_equal(dname_unpack(msg, 5, &pos, out), 5);
	assert_memory_equal(out, "\x03WwW", 5);
}

static void
test_unpack_pointer_loop(void **state)
{
	static const uint8_t self[] = "\xc0\x00";
	static const uint8_t pair[] = "\x01" "a\xc0\x04\x01" "b\xc0\x00";
	uint8_t out[DNAME_MAXLEN];
	size_t pos = 0;

	assert_int_equal(dname_unpack(self, 2, &pos, out), -1);
	pos = 4;	/* b -> a -> b: the second pointer goes forward again */
	assert_int_equal(dname_unpack(pair, 8, &pos, out), -1);
	pos = 0;
	assert_int_equal(dname_unpack(pair, 8, &pos, out), -1);
}

static void
test_unpack_forward_pointer(void **state)
{
	static const uint8_t msg[] = "\xc0\x02\x01" "a\x00";
	uint8_t out[DNAME_MAXLEN];
	size_t pos = 0;

	assert_int_equal(dname_unpack(msg, 5, &pos, out), -1);
}

static void
test_unpack_out_of_range(void **state)
{
	static const uint8_t far[] = "\x01" "a\x00\xc0\xff";
	static const uint8_t cut_ptr[] = "\x01" "a\x00\xc0";
	static const uint8_t cut_label[] = "\x05" "ab";
	static const uint8_t no_root[] = "\x01" "a";
	uint8_t out[DNAME_MAXLEN];
	size_t pos = 3;

	assert_int_equal(dname_unpack(far, 5, &pos, out), -1);
	pos = 3;
	assert_int_equal(dname_unpack(cut_ptr, 4, &pos, out), -1);
	pos = 0;
	assert_int_equal(dname_unpack(cut_label, 3, &pos, out), -1);
	pos = 0;
	assert_int_equal(dname_unpack(no_root, 2, &pos, out), -1);
	pos = 10;
	assert_int_equal(dname_unpack(no_root, 2, &pos, out), -1);
}

/* 0x40 and 0x80 label types (RFC 6891 obsoleted them); a 64-octet label is one of them. */
static void
test_unpack_label_types(void **state)
{
	uint8_t msg[80] = { 0 }, out[DNAME_MAXLEN];
	size_t pos = 0;

	msg[0] = 64;
	memset(msg + 1, 'a', 64);
	assert_int_equal(dname_unpack(msg, 66, &pos, out), -1);
	msg[0] = 0x80;
	pos = 0;
	assert_int_equal(dname_unpack(msg, 66, &pos, out), -1);
	msg[0] = 63;
	msg[64] = 0;
	pos = 0;
	assert_int_equal(dname_unpack(msg, 65, &pos, out), 65);
}

/* 4 labels of 63 make 256 octets with the root: one too many. 255 is accepted. */
static void
test_unpack_too_long(void **state)
{
	uint8_t msg[300], out[DNAME_MAXLEN];
	size_t pos = 0, o = 0;

	for (int i = 0; i < 4; i++) {
		msg[o++] = 63;
		memset(msg + o, 'x', 63);
		o += 63;
	}
	msg[o++] = 0;
	assert_int_equal(dname_unpack(msg, o, &pos, out), -1);
	msg[3 * 64] = 61;	/* last label 61 octets: 255 in all */
	msg[3 * 64 + 62] = 0;
	pos = 0;
	assert_int_equal(dname_unpack(msg, 255, &pos, out), 255);
	assert_int_equal(pos, 255);
}

/* A long chain of pointers, each within bounds, that builds a name over 255 octets. */
static void
test_unpack_too_long_compressed(void **state)
{
	uint8_t msg[600], out[DNAME_MAXLEN];
	size_t o = 0, prev = 0, pos;

	msg[o++] = 0;
	for (int i = 0; i < 130; i++) {
		size_t here = o;

		msg[o++] = 1;
		msg[o++] = 'a';
		msg[o++] = (uint8_t)(0xc0 | (prev >> 8));
		msg[o++] = (uint8_t)prev;
		prev = here;
	}
	pos = prev;
	assert_int_equal(dname_unpack(msg, o, &pos, out), -1);
}

/* ---- text form ---- */

static void
roundtrip(const char *text)
{
	uint8_t wire[DNAME_MAXLEN], again[DNAME_MAXLEN];
	char buf[DNAME_STRLEN];
	int n;

	n = dname_from_str(text, NULL, wire);
	assert_true(n > 0);
	assert_int_equal((size_t)n, dname_len(wire));
	assert_string_equal(dname_to_str(wire, buf, sizeof(buf)), text);
	assert_int_equal(dname_from_str(buf, NULL, again), n);
	assert_memory_equal(wire, again, (size_t)n);
}

static void
test_str_roundtrip(void **state)
{
	roundtrip(".");
	roundtrip("com.");
	roundtrip("www.example.com.");
	roundtrip("WwW.Example.COM.");
	roundtrip("a\\.b.example.");
	roundtrip("a\\\\b.example.");
	roundtrip("\\@.\\$x.\\;.\\(\\).\\\".");
	roundtrip("\\000\\032\\127\\255.");
	roundtrip("*.example.");
	roundtrip("_sip._tcp.example.");
}

static void
test_from_str_escapes(void **state)
{
	uint8_t wire[DNAME_MAXLEN];

	assert_int_equal(dname_from_str("\\065\\.b.", NULL, wire), 5);
	assert_memory_equal(wire, "\x03" "A.b\x00", 5);
	assert_int_equal(dname_from_str("\\q.", NULL, wire), 3);
	assert_memory_equal(wire, "\x01q\x00", 3);
	assert_int_equal(dname_from_str("\\256.", NULL, wire), -1);
	assert_int_equal(dname_from_str("\\12.", NULL, wire), -1);
	assert_int_equal(dname_from_str("\\1", NULL, wire), -1);
	assert_int_equal(dname_from_str("a\\", NULL, wire), -1);
}

static void
test_from_str_relative(void **state)
{
	uint8_t origin[DNAME_MAXLEN], wire[DNAME_MAXLEN];

	assert_int_equal(dname_from_str("example.com.", NULL, origin), 13);
	assert_int_equal(dname_from_str("www", origin, wire), 17);
	assert_memory_equal(wire, "\x03www\x07" "example\x03" "com\x00", 17);
	assert_int_equal(dname_from_str("www", NULL, wire), 5);	/* relative to the root */
	assert_memory_equal(wire, "\x03www\x00", 5);
	assert_int_equal(dname_from_str("a.b", NULL, wire), 5);
}

static void
test_from_str_malformed(void **state)
{
	uint8_t wire[DNAME_MAXLEN];
	char s[400];

	assert_int_equal(dname_from_str("", NULL, wire), -1);
	assert_int_equal(dname_from_str("..", NULL, wire), -1);
	assert_int_equal(dname_from_str("a..b.", NULL, wire), -1);
	assert_int_equal(dname_from_str(".a.", NULL, wire), -1);
	memset(s, 'a', 64);
	strcpy(s + 64, ".");
	assert_int_equal(dname_from_str(s, NULL, wire), -1);	/* label of 64 */
	s[63] = '.', s[64] = '\0';
	assert_int_equal(dname_from_str(s, NULL, wire), 65);
	/* 4 x 63-octet labels: 257 octets. */
	for (int i = 0; i < 4; i++) {
		memset(s + i * 64, 'b', 63);
		s[i * 64 + 63] = '.';
	}
	s[256] = '\0';
	assert_int_equal(dname_from_str(s, NULL, wire), -1);
	s[3 * 64 + 61] = '.', s[3 * 64 + 62] = '\0';	/* 3 x 63 + 61: 255 octets */
	assert_int_equal(dname_from_str(s, NULL, wire), 255);
}

static void
test_from_str_origin_overflow(void **state)
{
	uint8_t origin[DNAME_MAXLEN], wire[DNAME_MAXLEN];
	char s[300];

	for (int i = 0; i < 3; i++) {
		memset(s + i * 64, 'c', 63);
		s[i * 64 + 63] = '.';
	}
	s[192] = '\0';
	assert_int_equal(dname_from_str(s, NULL, origin), 193);
	assert_int_equal(dname_from_str("x", origin, wire), 195);
	memset(s, 'd', 62);
	s[62] = '\0';
	assert_int_equal(dname_from_str(s, origin, wire), -1);	/* 63 + 193 octets */
	s[61] = '\0';
	assert_int_equal(dname_from_str(s, origin, wire), 255);
}

static void
test_to_str_small_buffer(void **state)
{
	char buf[8];

	dname_to_str(W("\x07" "example\x03" "com"), buf, sizeof(buf));
	assert_true(strlen(buf) < sizeof(buf));
	dname_to_str(W(""), buf, 1);
	assert_string_equal(buf, "");
}

/* ---- comparisons ---- */

static void
test_equal(void **state)
{
	assert_true(dname_equal(W("\x03www\x07" "example"), W("\x03WWW\x07" "eXample")));
	assert_true(dname_equal(W(""), W("")));
	assert_false(dname_equal(W("\x03www"), W("\x03wwx")));
	assert_false(dname_equal(W("\x03www"), W("\x04wwww")));
	assert_false(dname_equal(W("\x03www\x01" "a"), W("\x03www")));
	/* Only ASCII letters fold: 0xc1 and 0xe1 differ. */
	assert_false(dname_equal(W("\x01\xc1"), W("\x01\xe1")));
	assert_false(dname_equal(W("\x01@"), W("\x01`")));
}

static void
test_is_below(void **state)
{
	const uint8_t *www = W("\x03www\x07" "example\x03" "com");
	const uint8_t *zone = W("\x07" "Example\x03" "COM");

	assert_true(dname_is_below(www, zone));
	assert_true(dname_is_below(zone, zone));
	assert_true(dname_is_below(www, W("")));
	assert_false(dname_is_below(zone, www));
	assert_false(dname_is_below(W("\x0anotexample\x03" "com"), zone));
	assert_false(dname_is_below(W("\x03www\x07" "example\x03" "net"), zone));
}

static void
test_labels_parent_len(void **state)
{
	const uint8_t *www = W("\x03www\x07" "example\x03" "com");
	const uint8_t *p;

	assert_int_equal(dname_labels(www), 3);
	assert_int_equal(dname_labels(W("")), 0);
	assert_int_equal(dname_len(www), 17);
	assert_int_equal(dname_len(W("")), 1);
	p = dname_parent(www);
	assert_ptr_equal(p, www + 4);
	p = dname_parent(dname_parent(p));
	assert_int_equal(*p, 0);
	assert_null(dname_parent(p));
}

static void
test_lower_and_hash(void **state)
{
	uint8_t a[] = "\x03WwW\x07" "EXAMPLE\x01\xc1";
	const uint8_t *b = W("\x03www\x07" "example\x01\xc1");

	assert_int_equal(dname_hash(a, sizeof(a)), dname_hash(b, sizeof(a)));
	dname_lower(a);
	assert_memory_equal(a, b, sizeof(a));
	assert_int_not_equal(dname_hash(W("\x01" "a"), 3), dname_hash(W("\x01" "b"), 3));
}

/* ---- dname_substitute (RFC 6672 2.2) ---- */

static void
test_substitute(void **state)
{
	uint8_t out[DNAME_MAXLEN];
	const uint8_t *name = W("\x03" "WWW\x02" "dn\x07" "example\x03" "com");
	const uint8_t *want = W("\x03" "WWW\x07" "Example\x03" "net");

	/* The owner may be given in another case, or as the suffix of name itself. */
	assert_int_equal(dname_substitute(name, W("\x02" "DN\x07" "example\x03" "com"),
	    W("\x07" "Example\x03" "net"), out), 17);
	assert_memory_equal(out, want, 17);
	assert_int_equal(dname_substitute(name, name + 4, W("\x07" "Example\x03" "net"), out),
	    17);
	assert_memory_equal(out, want, 17);
	/* Two labels kept, to the root; and the owner itself becomes the target. */
	assert_int_equal(dname_substitute(W("\x01" "a\x01" "b\x02" "dn\x00"), W("\x02" "dn"),
	    W(""), out), 5);
	assert_memory_equal(out, W("\x01" "a\x01" "b"), 5);
	assert_int_equal(dname_substitute(name, name, W("\x01" "x"), out), 3);
	assert_memory_equal(out, W("\x01" "x"), 3);
}

static void
test_substitute_too_long(void **state)
{
	uint8_t name[DNAME_MAXLEN], target[DNAME_MAXLEN], out[DNAME_MAXLEN];
	size_t n = 0;

	/* name: 29 labels "a" (58 octets) then dn.; target: 201 octets; 58 + 201 > 255. */
	for (int i = 0; i < 29; i++, n += 2)
		memcpy(name + n, "\x01" "a", 2);
	memcpy(name + n, "\x02" "dn", 4);	/* with the root */
	n = 0;
	for (int i = 0; i < 4; i++, n += 50) {
		target[n] = 49;
		memset(target + n + 1, 't', 49);
	}
	target[n] = 0;
	memset(out, 0xee, sizeof(out));
	assert_int_equal(dname_substitute(name, name + 58, target, out), -1);
	assert_int_equal(out[0], 0xee);		/* untouched */
	/* Two labels fewer fit exactly: 54 + 201 = 255. */
	assert_int_equal(dname_substitute(name + 4, name + 58, target, out), 255);
	assert_int_equal(dname_len(out), 255);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unpack_plain),
		cmocka_unit_test(test_unpack_compressed),
		cmocka_unit_test(test_unpack_keeps_case),
		cmocka_unit_test(test_unpack_pointer_loop),
		cmocka_unit_test(test_unpack_forward_pointer),
		cmocka_unit_test(test_unpack_out_of_range),
		cmocka_unit_test(test_unpack_label_types),
		cmocka_unit_test(test_unpack_too_long),
		cmocka_unit_test(test_unpack_too_long_compressed),
		cmocka_unit_test(test_str_roundtrip),
		cmocka_unit_test(test_from_str_escapes),
		cmocka_unit_test(test_from_str_relative),
		cmocka_unit_test(test_from_str_malformed),
		cmocka_unit_test(test_from_str_origin_overflow),
		cmocka_unit_test(test_to_str_small_buffer),
		cmocka_unit_test(test_equal),
		cmocka_unit_test(test_is_below),
		cmocka_unit_test(test_labels_parent_len),
		cmocka_unit_test(test_lower_and_hash),
		cmocka_unit_test(test_substitute),
		cmocka_unit_test(test_substitute_too_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
