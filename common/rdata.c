/* rdata.c: RDATA to presentation text through libknot, with a buffer that grows as needed. */
#include <assert.h>
#include <stdlib.h>

#include "common/rdata.h"

#define RDATA_TEXT_INITIAL	4096

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
