/* SPDX-License-Identifier: MIT */
#include "common/spin.h"

#include <time.h>

#include "common/compiler.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint32_t spin_iters_for_us(uint32_t us)
{
	const uint32_t probe = 4096;
	uint64_t best = UINT64_MAX, iters;

	if (us == 0)
		return 0;
	/* Best of three: a preempted probe would overstate the cost. */
	for (int round = 0; round < 3; round++) {
		uint64_t t0 = now_ns(), dt;

		for (uint32_t i = 0; i < probe; i++)
			cpu_relax();
		dt = now_ns() - t0;
		if (dt < best)
			best = dt;
	}
	if (best == 0)
		best = 1;
	iters = (uint64_t)us * 1000u * probe / best;
	if (iters < 1)
		iters = 1;
	if (iters > UINT32_MAX / 2)
		iters = UINT32_MAX / 2;
	return (uint32_t)iters;
}
