/* SPDX-License-Identifier: MIT */
/*
 * rng [bytes=4096]: reads `bytes` (16..65536) from the first virtio-rng
 * device twice (requests of up to 4096 bytes) and checks
 *   ok rng-open          the device initialised
 *   ok rng-not-zero      the first read is not all zero bytes
 *   ok rng-not-constant  the first read has at least two distinct bytes
 *   ok rng-reads-differ  the two reads differ
 * then prints `rng: read <2*bytes> bytes in <n> requests` and PASS/FAILED.
 * Driver parameters: virtio.h (event_idx, indirect, poll, qsize, timeout).
 */
#include "check.h"
#include "cmdline.h"
#include "dma.h"
#include "guest.h"
#include "virtio_rng.h"
#include "workloads.h"

#define RNG_BYTES_MIN 16
#define RNG_BYTES_MAX 65536

static uint8_t first[RNG_BYTES_MAX], second[RNG_BYTES_MAX];

void wl_rng(unsigned cpu)
{
	struct virtio_opts o;
	struct rng_dev r;
	const char *err;
	uint64_t bytes;
	bool zero = true, constant = true;

	if (cpu != 0)
		return;
	bytes = cmdline_get_u64("bytes", 4096);
	if (bytes < RNG_BYTES_MIN)
		bytes = RNG_BYTES_MIN;
	if (bytes > RNG_BYTES_MAX)
		bytes = RNG_BYTES_MAX;
	virtio_opts_from_cmdline(&o);
	virtio_cpu_init();
	err = rng_open(&r, 0, &o);
	if (err) {
		check_fail("rng-open", err);
		finish();
	}
	check_eq("rng-open", 0, 0);

	rng_read(&r, first, (uint32_t)bytes);
	rng_read(&r, second, (uint32_t)bytes);
	for (uint64_t i = 0; i < bytes; i++) {
		zero &= first[i] == 0;
		constant &= first[i] == first[0];
	}
	check_eq("rng-not-zero", 0, zero);
	check_eq("rng-not-constant", 0, constant);
	check_eq("rng-reads-differ", 1, memcmp(first, second, bytes) != 0);
	kprintf("rng: read %lu bytes in %lu requests\n", 2 * bytes, r.requests);
	finish();
}
