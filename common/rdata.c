/* rdata.c: RDATA to presentation text through libknot, with a buffer that grows as needed. */
#include <assert.h>
#include <stdlib.h>

#include "common/rdata.h"

#define RDATA_TEXT_INITIAL	4096

/* Length of the uncompressed name at rd[pos], bounded by len; 0 when it runs off the end. */
static size_t
name_len(const uint8_t *rd, size_t pos, size_t len)
{
	size_t start = pos;

	while (pos < len && rd[pos] != 0)
		pos += 1 + (size_t)rd[pos];
	return pos < len ? pos + 1 - start : 0;
}

int
rdata_names(uint16_t type, const uint8_t *rd, size_t len, rdata_name_fn each, void *arg)
{
	const knot_rdata_descriptor_t *d = knot_get_rdata_descriptor(type);
	size_t pos = 0, n;
	int rc;

	if (d == NULL)
		return 0;
	for (const int *b = d->block_types; *b != KNOT_RDATA_WF_END && pos < len; b++) {
		switch (*b) {
		case KNOT_RDATA_WF_FIXED_DNAME:
		case KNOT_RDATA_WF_COMPRESSIBLE_DNAME:
		case KNOT_RDATA_WF_DECOMPRESSIBLE_DNAME:
			if ((n = name_len(rd, pos, len)) == 0)
				return 0;
			if ((rc = each(arg, pos, n)) != 0)
				return rc;
			pos += n;
			break;
		case KNOT_RDATA_WF_NAPTR_HEADER:
			/* ORDER, PREFERENCE, then FLAGS, SERVICES, REGEXP character-strings. */
			pos += 4;
			for (int i = 0; i < 3 && pos < len; i++)
				pos += 1 + (size_t)rd[pos];
			break;
		case KNOT_RDATA_WF_REMAINDER:
			return 0;
		default:
			assert(*b > 0);	/* a fixed-size field: every other block is above */
			pos += (size_t)*b;
			break;
		}
	}
	return 0;
}

int
rdata_text(const knot_rrset_t *rr, size_t pos, bool generic, char **buf, size_t *cap)
{
	knot_dump_style_t style = KNOT_DUMP_STYLE_DEFAULT;

	assert(pos < rr->rrs.count);
	style.generic = generic;
	for (;;) {
		size_t ncap = *cap == 0 ? RDATA_TEXT_INITIAL : *cap * 2;
		char *nb;
		int r = -1;

		if (*cap > 0)
			r = knot_rrset_txt_dump_data(rr, pos, *buf, *cap, &style);
		if (r >= 0)
			return 0;
		if (*cap > 0 && (r != KNOT_ESPACE || *cap >= RDATA_TEXT_MAX))
			return -1;
		if ((nb = realloc(*buf, ncap)) == NULL)
			return -2;
		*buf = nb;
		*cap = ncap;
	}
}
