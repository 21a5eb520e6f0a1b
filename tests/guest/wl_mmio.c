/* SPDX-License-Identifier: MIT */
/*
 * mmio: the testdev MMIO scratch slots (widths 1/2/4/8, cross-width,
 * byte-granular overlap, unwritten slot) and the read counter slot at 0x800.
 * vCPU 0 only; needs --testdev. One `ok <name>` per check, then PASS/FAILED.
 */
#include "check.h"
#include "common/platform.h"
#include "guest.h"
#include "io.h"
#include "testdev.h"
#include "workloads.h"

#define COUNTER TESTDEV_MMIO(TESTDEV_COUNTER_OFFSET)

static void widths(void)
{
	mmio_write8(TESTDEV_MMIO(0x08), 0x5a);
	check_eq("mmio-b", 0x5a, mmio_read8(TESTDEV_MMIO(0x08)));
	mmio_write16(TESTDEV_MMIO(0x10), 0xbeef);
	check_eq("mmio-w", 0xbeef, mmio_read16(TESTDEV_MMIO(0x10)));
	mmio_write32(TESTDEV_MMIO(0x18), 0xdeadbeef);
	check_eq("mmio-l", 0xdeadbeef, mmio_read32(TESTDEV_MMIO(0x18)));
	mmio_write64(TESTDEV_MMIO(0x20), 0x0123456789abcdefull);
	check_eq("mmio-q", 0x0123456789abcdefull, mmio_read64(TESTDEV_MMIO(0x20)));
	/* the last slot of the window */
	mmio_write64(TESTDEV_MMIO(0xff8), 0xfedcba9876543210ull);
	check_eq("mmio-q-last", 0xfedcba9876543210ull, mmio_read64(TESTDEV_MMIO(0xff8)));
	/* a narrow write leaves the rest of its slot as it was (0) */
	check_eq("mmio-b-as-q", 0x5a, mmio_read64(TESTDEV_MMIO(0x08)));
}

static void cross_width(void)
{
	static const char *const bn[8] = { "mmio-x-b0", "mmio-x-b1", "mmio-x-b2", "mmio-x-b3",
					   "mmio-x-b4", "mmio-x-b5", "mmio-x-b6", "mmio-x-b7" };
	static const char *const wn[4] = { "mmio-x-w0", "mmio-x-w2", "mmio-x-w4", "mmio-x-w6" };
	const uint64_t v = 0x8877665544332211ull;
	const uint64_t slot = TESTDEV_MMIO(0x28);

	mmio_write64(slot, v);
	for (unsigned k = 0; k < 8; k++)
		check_eq(bn[k], (v >> (8 * k)) & 0xff, mmio_read8(slot + k));
	for (unsigned k = 0; k < 4; k++)
		check_eq(wn[k], (v >> (16 * k)) & 0xffff, mmio_read16(slot + 2 * k));
	check_eq("mmio-x-l0", v & 0xffffffff, mmio_read32(slot));
	check_eq("mmio-x-l4", v >> 32, mmio_read32(slot + 4));

	/* narrow writes into the 8-byte value change only their bytes */
	mmio_write8(slot + 3, 0xaa);
	check_eq("mmio-b-into-q", 0x88776655aa332211ull, mmio_read64(slot));
	mmio_write16(slot + 6, 0xbbcc);
	check_eq("mmio-w-into-q", 0xbbcc6655aa332211ull, mmio_read64(slot));
	mmio_write32(slot, 0x01020304);
	check_eq("mmio-l-into-q", 0xbbcc665501020304ull, mmio_read64(slot));
}

static void unwritten(void)
{
	check_eq("mmio-unwritten-q", 0, mmio_read64(TESTDEV_MMIO(0x100)));
	check_eq("mmio-unwritten-b", 0, mmio_read8(TESTDEV_MMIO(0x107)));
}

static void counter(void)
{
	uint64_t a, b, c;

	a = mmio_read64(COUNTER);
	b = mmio_read64(COUNTER);
	check_eq("mmio-counter-step", 1, b - a);
	mmio_write64(COUNTER, 0x1234567812345678ull); /* ignored */
	c = mmio_read64(COUNTER);
	check_eq("mmio-counter-ro", b + 1, c);
	/* narrow reads count too and return the low bytes */
	check_eq("mmio-counter-l", (c + 1) & 0xffffffff, mmio_read32(COUNTER));
	check_eq("mmio-counter-w", (c + 2) & 0xffff, mmio_read16(COUNTER));
	check_eq("mmio-counter-b", (c + 3) & 0xff, mmio_read8(COUNTER));
	check_eq("mmio-counter-after", c + 4, mmio_read64(COUNTER));
}

void wl_mmio(unsigned cpu)
{
	if (cpu != 0)
		return;
	widths();
	cross_width();
	unwritten();
	counter();
	finish();
}
