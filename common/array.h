/* array.h: growing a heap array by doubling, for code that reports OOM instead of exiting. */
#ifndef STREAMDNS_ARRAY_H
#define STREAMDNS_ARRAY_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/*
 * Makes the array *p of elements of size octets hold at least need of them: *cap becomes
 * the smallest initial * 2^k (or *cap * 2^k once it has one) that does. Returns 0, or -1
 * when out of memory or the size would overflow (*p and *cap are then unchanged).
 */
static inline int
array_grow(void **p, size_t *cap, size_t need, size_t size, size_t initial)
{
	size_t ncap = *cap != 0 ? *cap : initial;
	void *np;

	if (need <= *cap)
		return 0;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2)
			return -1;
		ncap *= 2;
	}
	if (ncap > SIZE_MAX / size || (np = realloc(*p, ncap * size)) == NULL)
		return -1;
	*p = np;
	*cap = ncap;
	return 0;
}

#endif
