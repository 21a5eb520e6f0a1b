/* SPDX-License-Identifier: MIT */
/*
 * Freestanding: this file calls nothing outside itself and raw_syscall.h,
 * and its loops are written so the compiler cannot turn them into memset or
 * memcpy calls (volatile stores, or bodies with per-byte decisions).
 * <errno.h> and <time.h> are included for constants and types only.
 */
#include "common/testdev.h"

#include <errno.h>
#include <time.h>

#include "common/raw_syscall.h"

static bool valid_width(uint8_t len, bool allow_8)
{
	return len == 1 || len == 2 || len == 4 || (allow_8 && len == 8);
}

/* Sets n bytes of data to v, one volatile store at a time (no memset call). */
static void fill(uint8_t *data, unsigned n, uint8_t v)
{
	volatile uint8_t *p = data;

	for (unsigned i = 0; i < n; i++)
		p[i] = v;
}

void testdev_init(struct testdev *td)
{
	fill((uint8_t *)td, sizeof(*td), 0);
}

int testdev_mmio(struct testdev *td, uint64_t offset, bool write, uint8_t len,
		 uint8_t data[TESTDEV_MMIO_DATA_MAX])
{
	uint8_t *bytes = (uint8_t *)td->slots;
	uint64_t counter = 0;

	if (!valid_width(len, true)) {
		if (!write)
			fill(data, TESTDEV_MMIO_DATA_MAX, 0xff);
		return -EINVAL;
	}
	if (!write)
		fill(data, TESTDEV_MMIO_DATA_MAX, 0);
	/* Wholly inside the window? (offset + len may wrap; this form cannot.) */
	if (offset >= TESTDEV_MMIO_SIZE || len > TESTDEV_MMIO_SIZE - offset) {
		if (!write)
			fill(data, len, 0xff);
		return 0;
	}
	if (!write && offset < TESTDEV_COUNTER_OFFSET + TESTDEV_COUNTER_SIZE &&
	    offset + len > TESTDEV_COUNTER_OFFSET)
		counter = ++td->read_counter;
	for (unsigned i = 0; i < len; i++) {
		uint64_t at = offset + i;
		uint64_t in_counter = at - TESTDEV_COUNTER_OFFSET; /* wraps when below */

		if (in_counter < TESTDEV_COUNTER_SIZE) {
			/* Read-only: writes to these bytes are dropped. */
			if (!write)
				data[i] = (uint8_t)(counter >> (8 * in_counter));
		} else if (write) {
			bytes[at] = data[i];
		} else {
			data[i] = bytes[at];
		}
	}
	return 0;
}

static bool is_scratch_port(uint32_t port)
{
	return port >= TESTDEV_PIO_SCRATCH_PORT && port - TESTDEV_PIO_SCRATCH_PORT < TESTDEV_PIO_SCRATCH_SIZE;
}

bool testdev_owns_port(uint16_t port)
{
	return port == TESTDEV_EXIT_PORT || is_scratch_port(port);
}

int testdev_pio(struct testdev *td, uint16_t port, bool write, uint8_t len,
		uint8_t data[TESTDEV_PIO_DATA_MAX], int *exit_status)
{
	if (!valid_width(len, false)) {
		if (!write)
			fill(data, TESTDEV_PIO_DATA_MAX, 0xff);
		return -EINVAL;
	}
	if (!write)
		fill(data, TESTDEV_PIO_DATA_MAX, 0);
	if (port == TESTDEV_EXIT_PORT) {
		if (write && len == 1)
			*exit_status = data[0];
		else if (!write)
			fill(data, len, 0xff);
		return 0;
	}
	if (!is_scratch_port(port)) {
		if (!write)
			fill(data, len, 0xff);
		return -ENOENT;
	}
	for (unsigned i = 0; i < len; i++) {
		uint32_t p = (uint32_t)port + i;

		if (!is_scratch_port(p)) {
			if (!write)
				data[i] = 0xff;
		} else if (write) {
			td->pio_scratch[p - TESTDEV_PIO_SCRATCH_PORT] = data[i];
		} else {
			data[i] = td->pio_scratch[p - TESTDEV_PIO_SCRATCH_PORT];
		}
	}
	return 0;
}

static uint64_t monotonic_ns(void)
{
	struct timespec ts;
	long ret = raw_syscall6(SYS_clock_gettime, CLOCK_MONOTONIC, (long)&ts, 0, 0, 0, 0);

	if (ret < 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t testdev_hypercall(struct testdev *td, uint64_t func, const uint64_t args[6])
{
	uint64_t sum = 0;

	(void)td;
	switch (func) {
	case TESTDEV_HC_SIGNATURE:
		return TESTDEV_SIGNATURE;
	case TESTDEV_HC_SUM:
		for (unsigned i = 0; i < 6; i++)
			sum += args[i];
		return sum;
	case TESTDEV_HC_CLOCK:
		return monotonic_ns();
	default:
		return TESTDEV_HC_UNKNOWN_RESULT;
	}
}
