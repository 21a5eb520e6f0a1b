/* SPDX-License-Identifier: MIT */
/*
 * pio: port I/O of widths 1/2/4 on the testdev PIO scratch (0x510-0x513),
 * unclaimed ports (0x520) and string I/O. vCPU 0 only; needs --testdev.
 * Prints `string-io` (via rep outsb to COM1), one `ok <name>` per check,
 * then PASS (exit 0) or FAILED <n> (exit 1).
 */
#include "check.h"
#include "common/platform.h"
#include "guest.h"
#include "io.h"
#include "testdev.h"
#include "workloads.h"

#define SCRATCH TESTDEV_PIO_SCRATCH_PORT
#define UNCLAIMED 0x520

static void bytes_each_offset(void)
{
	static const char *const names[4] = { "pio-b0", "pio-b1", "pio-b2", "pio-b3" };
	static const char *const over[4] = { "pio-l-b0", "pio-l-b1", "pio-l-b2", "pio-l-b3" };

	/* 1-byte writes, 1-byte reads, then the whole register. */
	for (unsigned k = 0; k < 4; k++)
		outb(SCRATCH + k, (uint8_t)(0x11 * (k + 1)));
	for (unsigned k = 0; k < 4; k++)
		check_eq(names[k], 0x11 * (k + 1), inb(SCRATCH + k));
	check_eq("pio-bytes-as-l", 0x44332211, inl(SCRATCH));

	/* A 4-byte write read back byte by byte (partial-width overlap). */
	outl(SCRATCH, 0xdeadbeef);
	check_eq("pio-l", 0xdeadbeef, inl(SCRATCH));
	for (unsigned k = 0; k < 4; k++)
		check_eq(over[k], (0xdeadbeefu >> (8 * k)) & 0xff, inb(SCRATCH + k));
	check_eq("pio-l-w0", 0xbeef, inw(SCRATCH));
	check_eq("pio-l-w1", 0xadbe, inw(SCRATCH + 1));
	check_eq("pio-l-w2", 0xdead, inw(SCRATCH + 2));
}

static void words_and_overlap(void)
{
	outw(SCRATCH, 0xbeef);
	check_eq("pio-w", 0xbeef, inw(SCRATCH));
	outw(SCRATCH + 2, 0xcafe);
	check_eq("pio-w-as-l", 0xcafebeef, inl(SCRATCH));
	/* A narrow write into a wide value changes only its bytes. */
	outl(SCRATCH, 0x11223344);
	outb(SCRATCH + 2, 0xaa);
	check_eq("pio-b-into-l", 0x11aa3344, inl(SCRATCH));
	outw(SCRATCH + 1, 0x5566);
	check_eq("pio-w1-into-l", 0x11556644, inl(SCRATCH));
}

static void unclaimed(void)
{
	check_eq("pio-unclaimed-b", 0xff, inb(UNCLAIMED));
	check_eq("pio-unclaimed-w", 0xffff, inw(UNCLAIMED));
	check_eq("pio-unclaimed-l", 0xffffffff, inl(UNCLAIMED));
	outl(UNCLAIMED, 0x12345678); /* dropped */
	check_eq("pio-unclaimed-after-write", 0xffffffff, inl(UNCLAIMED));
}

static void string_io(void)
{
	static const char text[] = "string-io\n";
	uint8_t b[16];
	uint16_t w[4];
	uint32_t l[4];
	static const uint32_t out[3] = { 0x01020304, 0x05060708, 0x0a0b0c0d };
	uint64_t bad = 0;

	/* rep outsb to COM1 (the line appears on the console). */
	outsb(COM1_PORT_BASE, text, sizeof(text) - 1);

	outb(SCRATCH, 0x5a);
	memset(b, 0, sizeof(b));
	insb(SCRATCH, b, sizeof(b));
	for (unsigned i = 0; i < sizeof(b); i++) {
		if (b[i] != 0x5a)
			bad = bad ? bad : (uint64_t)(0x100 | i) << 8 | b[i];
	}
	/* bad = 0, or (0x100 | index of the first wrong byte) << 8 | its value */
	check_eq("pio-insb", 0, bad);

	memset(l, 0, sizeof(l));
	insl(UNCLAIMED, l, 4);
	check_eq("pio-insl-unclaimed", 0xffffffffffffffffull,
		 (uint64_t)l[0] << 32 | (l[1] & l[2] & l[3]));
	memset(w, 0, sizeof(w));
	insw(UNCLAIMED, w, 4);
	check_eq("pio-insw-unclaimed", 0xffffffffffffffffull,
		 (uint64_t)w[0] << 48 | (uint64_t)w[1] << 32 | (uint64_t)w[2] << 16 | w[3]);

	outsl(SCRATCH, out, 3);
	check_eq("pio-outsl", out[2], inl(SCRATCH));
}

void wl_pio(unsigned cpu)
{
	if (cpu != 0)
		return;
	bytes_each_offset();
	words_and_overlap();
	unclaimed();
	string_io();
	finish();
}
