/* SPDX-License-Identifier: MIT */
/*
 * scratch-verify [passes=0]: testdev's state across restarts of its worker.
 * Each pass writes a pattern (by slot and pass) to every 8-byte MMIO
 * scratch slot but the counter's, reads it back, and reads the read
 * counter once per slot: it must grow by exactly 1 per read (a read applied
 * twice, or lost, shows). passes=0: pass after pass until a byte is typed
 * on the console (at least one). vCPU 0 only; needs --testdev. Prints
 *   FAIL scratch-verify: pass <p> slot <s>: expected 0x<e> got 0x<g>
 *   FAIL scratch-verify-counter: pass <p>: counter went from <a> to <b>
 * on the first mismatch, else
 *   scratch-verify: <passes> passes, <reads> counter reads in order
 * then PASS/FAILED.
 */
#include "check.h"
#include "cmdline.h"
#include "common/platform.h"
#include "guest.h"
#include "io.h"
#include "testdev.h"
#include "workloads.h"

#define SLOTS (TESTDEV_MMIO_SIZE / 8)
#define COUNTER_SLOT (TESTDEV_COUNTER_OFFSET / 8)

static uint64_t pattern(uint64_t slot, uint64_t pass)
{
	return (slot * 0x9E3779B97F4A7C15ull) ^ (pass << 40) ^ 0x5c0ffee5ull;
}

void wl_scratch_verify(unsigned cpu)
{
	uint64_t passes, pass, reads = 0, last;
	bool ok = true;

	if (cpu != 0)
		return;
	passes = cmdline_get_u64("passes", 0);
	last = mmio_read64(TESTDEV_MMIO(TESTDEV_COUNTER_OFFSET));
	reads++;
	for (pass = 0; ok && (passes ? pass < passes : pass == 0 || !console_input_waiting()); pass++) {
		for (uint64_t s = 0; s < SLOTS; s++)
			if (s != COUNTER_SLOT)
				mmio_write64(TESTDEV_MMIO(8 * s), pattern(s, pass));
		for (uint64_t s = 0; ok && s < SLOTS; s++) {
			uint64_t got, now;

			if (s != COUNTER_SLOT) {
				got = mmio_read64(TESTDEV_MMIO(8 * s));
				if (got != pattern(s, pass)) {
					kprintf("FAIL scratch-verify: pass %lu slot %lu: expected 0x%lx got 0x%lx\n", pass, s,
						pattern(s, pass), got);
					ok = false;
				}
			}
			now = mmio_read64(TESTDEV_MMIO(TESTDEV_COUNTER_OFFSET));
			reads++;
			if (now != last + 1) {
				kprintf("FAIL scratch-verify-counter: pass %lu: counter went from %lu to %lu\n", pass, last,
					now);
				ok = false;
			}
			last = now;
		}
	}
	check_eq("scratch-verify", 1, ok);
	kprintf("scratch-verify: %lu passes, %lu counter reads in order\n", pass, reads);
	finish();
}
