/* event_fast.h: the event decoder's fast path (internal to common/event.c and its tests). */
#ifndef STREAMDNS_EVENT_FAST_H
#define STREAMDNS_EVENT_FAST_H

#include <stddef.h>
#include <stdint.h>

#include "common/rrset.h"

/*
 * Decodes the value of an event whose key (owner_text, type_text, type) was already
 * checked, when the value lies in the plain subset that producers write almost always:
 * an array of flat records with plain strings, A/AAAA/NS/CNAME/PTR/DNAME/MX/TXT content in
 * its simplest spelling. Returns 1 with *out set, 0 when the value is outside that subset
 * (the full decoder then decides, and gives the reasons), -1 when out of memory.
 * It never rejects: whatever it accepts, the full decoder accepts with the same RRset
 * (tests/unit/test_event.c and tests/fuzz/fuzz_event.c check both on every input).
 */
int event_fast_value(const char *value, size_t len, const char *owner_text,
    const char *type_text, uint16_t type, struct rrset **out);

#endif
