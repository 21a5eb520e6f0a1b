/* SPDX-License-Identifier: MIT */
/* Integer rate arithmetic for the benchmark lines (no floating point here). */
#ifndef SQUIB_GUEST_BENCH_RATE_H
#define SQUIB_GUEST_BENCH_RATE_H

#include <stdint.h>

/* n events in ns nanoseconds -> events per second (0 when ns is 0); n < 1.8e10. */
static inline uint64_t rate_per_s(uint64_t n, uint64_t ns)
{
	return ns ? n * 1000000000ull / ns : 0;
}

/* bytes in ns -> thousandths of MB/s (MB = 10^6 bytes); bytes < 1.8e13. */
static inline uint64_t mbps_milli(uint64_t bytes, uint64_t ns)
{
	return ns ? bytes * 1000000ull / ns : 0;
}

#endif
