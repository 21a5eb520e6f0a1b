/* SPDX-License-Identifier: MIT */
/*
 * Busy-poll windows expressed in time. Rings and the device loop spin a
 * number of cpu_relax() iterations before sleeping; how long one iteration
 * takes differs by a factor of 100 between hardware and an emulated CPU, so
 * squib calibrates iterations per microsecond once, at start-up (hosted code:
 * uses clock_gettime), and converts the --poll-us window with it.
 */
#ifndef SQUIB_COMMON_SPIN_H
#define SQUIB_COMMON_SPIN_H

#include <stdint.h>

/* Longest polling window, microseconds (KVM halt-polls up to 200 us by default). */
#define SPIN_DEFAULT_POLL_US 200
#define SPIN_MAX_POLL_US 10000

/* cpu_relax() iterations that take about `us` microseconds on this CPU. */
uint32_t spin_iters_for_us(uint32_t us);

#endif
