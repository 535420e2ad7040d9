/* clock.h: the one monotonic clock (intervals, deadlines, latencies); wall time stays apart. */
#ifndef STREAMDNS_CLOCK_H
#define STREAMDNS_CLOCK_H

#include <stdint.h>
#include <time.h>

/*
 * CLOCK_MONOTONIC never jumps with the wall clock, so differences of these values are
 * true durations. Their origin is arbitrary: compare them, never print them as times.
 */
static inline uint64_t
clock_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static inline uint64_t
clock_mono_ms(void)
{
	return clock_mono_us() / 1000;
}

/* Seconds as a double, for rates and log intervals. */
static inline double
clock_mono_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Whole seconds of CLOCK_MONOTONIC_COARSE: cheaper than a full clock read (no vDSO
 * timer access), good enough for TTLs that count whole seconds.
 */
static inline uint32_t
clock_mono_coarse_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint32_t)ts.tv_sec;
}

#endif
