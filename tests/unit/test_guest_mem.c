// SPDX-License-Identifier: MIT
/*
 * Unit tests for common/guest_mem.h, the one checked accessor for
 * guest-physical memory. Every address and length here is hostile.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/guest_mem.h"

#define RAM_SIZE 0x10000ULL

static struct guest_mem gm;

static void guest_mem_setup(void)
{
	gm.host_base = calloc(1, RAM_SIZE);
	cr_assert_not_null(gm.host_base);
	gm.size = RAM_SIZE;
}

static void guest_mem_teardown(void)
{
	free(gm.host_base);
	gm.host_base = NULL;
}

TestSuite(guest_mem, .init = guest_mem_setup, .fini = guest_mem_teardown);

/* ---- range checks ------------------------------------------------------- */

Test(guest_mem, range_inside)
{
	cr_assert(guest_mem_range_ok(&gm, 0, 0));
	cr_assert(guest_mem_range_ok(&gm, 0, 1));
	cr_assert(guest_mem_range_ok(&gm, 0, RAM_SIZE), "all of RAM");
	cr_assert(guest_mem_range_ok(&gm, RAM_SIZE - 1, 1), "last byte");
	cr_assert(guest_mem_range_ok(&gm, RAM_SIZE - 8, 8), "last 8 bytes");
	cr_assert(guest_mem_range_ok(&gm, 0x1234, 0x100));
}

Test(guest_mem, range_edges)
{
	cr_assert_eq(guest_mem_range_ok(&gm, RAM_SIZE, 0), true, "gpa == size with len 0 is ok");
	cr_assert_eq(guest_mem_range_ok(&gm, RAM_SIZE, 1), false, "gpa == size with len 1 is outside");
	cr_assert_eq(guest_mem_range_ok(&gm, RAM_SIZE + 1, 0), false, "gpa past the end, len 0");
	cr_assert_eq(guest_mem_range_ok(&gm, 0, RAM_SIZE + 1), false, "one byte more than RAM");
	cr_assert_eq(guest_mem_range_ok(&gm, RAM_SIZE - 1, 2), false, "straddling the end");
	cr_assert_eq(guest_mem_range_ok(&gm, RAM_SIZE - 8, 9), false, "straddling the end by one");
}

Test(guest_mem, range_overflow)
{
	cr_assert_eq(guest_mem_range_ok(&gm, UINT64_MAX, 2), false, "gpa + len wraps to 1");
	cr_assert_eq(guest_mem_range_ok(&gm, UINT64_MAX, 1), false, "gpa + len wraps to 0");
	cr_assert_eq(guest_mem_range_ok(&gm, UINT64_MAX, 0), false, "gpa UINT64_MAX, len 0");
	cr_assert_eq(guest_mem_range_ok(&gm, 1, UINT64_MAX), false, "1 + UINT64_MAX wraps to 0");
	cr_assert_eq(guest_mem_range_ok(&gm, 0x10, UINT64_MAX - 0xf), false, "0x10 + (2^64 - 0x10) wraps to 0");
	cr_assert_eq(guest_mem_range_ok(&gm, RAM_SIZE - 1, UINT64_MAX), false);
	cr_assert_eq(guest_mem_range_ok(&gm, UINT64_MAX - RAM_SIZE + 2, RAM_SIZE), false);
}

Test(guest_mem, huge_len)
{
	cr_assert_eq(guest_mem_range_ok(&gm, 0, UINT64_MAX), false);
	cr_assert_eq(guest_mem_range_ok(&gm, 0, 1ULL << 63), false);
	cr_assert_eq(guest_mem_range_ok(&gm, 0, UINT64_MAX - RAM_SIZE), false);
	cr_assert_null(guest_mem_ptr(&gm, 0, UINT64_MAX));
	cr_assert_null(guest_mem_ptr(&gm, 8, UINT64_MAX - 4));
}

Test(guest_mem, zero_size_ram)
{
	struct guest_mem empty = { gm.host_base, 0 };

	cr_assert_eq(guest_mem_range_ok(&empty, 0, 0), true, "an empty range of an empty RAM");
	cr_assert_eq(guest_mem_range_ok(&empty, 0, 1), false);
	cr_assert_eq(guest_mem_range_ok(&empty, 1, 0), false);
}

Test(guest_mem, huge_ram)
{
	/* size near the top of the address space: gpa + len still must not wrap. */
	struct guest_mem big = { NULL, UINT64_MAX };

	cr_assert_eq(guest_mem_range_ok(&big, UINT64_MAX, 0), true);
	cr_assert_eq(guest_mem_range_ok(&big, UINT64_MAX, 1), false);
	cr_assert_eq(guest_mem_range_ok(&big, UINT64_MAX - 1, 1), true);
	cr_assert_eq(guest_mem_range_ok(&big, UINT64_MAX - 1, 2), false);
	cr_assert_eq(guest_mem_range_ok(&big, 2, UINT64_MAX - 2), true);
	cr_assert_eq(guest_mem_range_ok(&big, 2, UINT64_MAX - 1), false);
}

/* ---- pointers ----------------------------------------------------------- */

Test(guest_mem, ptr)
{
	cr_assert_eq(guest_mem_ptr(&gm, 0, 1), gm.host_base);
	cr_assert_eq(guest_mem_ptr(&gm, 0x100, 0x10), gm.host_base + 0x100);
	cr_assert_eq(guest_mem_ptr(&gm, RAM_SIZE - 1, 1), gm.host_base + RAM_SIZE - 1);
	cr_assert_eq(guest_mem_ptr(&gm, RAM_SIZE, 0), gm.host_base + RAM_SIZE, "end pointer for an empty range");
	cr_assert_null(guest_mem_ptr(&gm, RAM_SIZE, 1));
	cr_assert_null(guest_mem_ptr(&gm, UINT64_MAX, 2));
	cr_assert_null(guest_mem_ptr(&gm, RAM_SIZE - 4, 8));
}

/* ---- reads and writes ---------------------------------------------------- */

Test(guest_mem, round_trip)
{
	static const uint64_t gpas[] = { 0, 1, 0x7ff, 0x1000, RAM_SIZE - 64 };

	for (size_t k = 0; k < sizeof(gpas) / sizeof(gpas[0]); k++) {
		uint8_t in[64], out[64];
		int r;

		for (size_t i = 0; i < sizeof(in); i++)
			in[i] = (uint8_t)(k * 31 + i * 13 + 5);
		memset(out, 0, sizeof(out));
		r = guest_mem_write(&gm, gpas[k], in, sizeof(in));
		cr_assert_eq(r, 0, "write at %#llx: %d", (unsigned long long)gpas[k], r);
		cr_assert_eq(memcmp(gm.host_base + gpas[k], in, sizeof(in)), 0, "RAM at %#llx",
			     (unsigned long long)gpas[k]);
		r = guest_mem_read(&gm, gpas[k], out, sizeof(out));
		cr_assert_eq(r, 0, "read at %#llx: %d", (unsigned long long)gpas[k], r);
		cr_assert_eq(memcmp(in, out, sizeof(in)), 0, "round trip at %#llx", (unsigned long long)gpas[k]);
	}
}

Test(guest_mem, round_trip_values)
{
	uint64_t v = 0x0123456789abcdefULL, got = 0;
	uint32_t w = 0xdeadbeef, wgot = 0;

	cr_assert_eq(guest_mem_write(&gm, RAM_SIZE - 8, &v, sizeof(v)), 0);
	cr_assert_eq(guest_mem_read(&gm, RAM_SIZE - 8, &got, sizeof(got)), 0);
	cr_assert_eq(got, v, "read %#llx, wrote %#llx", (unsigned long long)got, (unsigned long long)v);
	cr_assert_eq(gm.host_base[RAM_SIZE - 8], 0xef, "little-endian in RAM");
	cr_assert_eq(guest_mem_write(&gm, 3, &w, sizeof(w)), 0, "unaligned");
	cr_assert_eq(guest_mem_read(&gm, 3, &wgot, sizeof(wgot)), 0);
	cr_assert_eq(wgot, w);
}

Test(guest_mem, len_zero_transfers_nothing)
{
	uint8_t byte = 0x5a;

	cr_assert_eq(guest_mem_write(&gm, RAM_SIZE, &byte, 0), 0, "empty write at the end");
	cr_assert_eq(guest_mem_read(&gm, RAM_SIZE, &byte, 0), 0, "empty read at the end");
	cr_assert_eq(byte, 0x5a);
	cr_assert_eq(guest_mem_read(&gm, RAM_SIZE + 1, &byte, 0), -14, "empty read past the end");
}

Test(guest_mem, efault_out_of_range)
{
	uint8_t buf[16];
	static const struct {
		uint64_t gpa, len;
	} bad[] = {
		{ RAM_SIZE, 1 },      { RAM_SIZE - 8, 16 }, { UINT64_MAX, 2 }, { UINT64_MAX, 1 },
		{ RAM_SIZE + 0x1000, 1 }, { 1ULL << 63, 8 }, { 0, UINT64_MAX }, { 8, UINT64_MAX - 7 },
	};

	cr_assert_eq(-EFAULT, -14);
	memset(buf, 0x77, sizeof(buf));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = guest_mem_read(&gm, bad[i].gpa, buf, bad[i].len);

		cr_assert_eq(r, -EFAULT, "read [%#llx, +%#llx): %d, expected -EFAULT", (unsigned long long)bad[i].gpa,
			     (unsigned long long)bad[i].len, r);
		r = guest_mem_write(&gm, bad[i].gpa, buf, bad[i].len);
		cr_assert_eq(r, -EFAULT, "write [%#llx, +%#llx): %d, expected -EFAULT",
			     (unsigned long long)bad[i].gpa, (unsigned long long)bad[i].len, r);
	}
	for (size_t i = 0; i < sizeof(buf); i++)
		cr_assert_eq(buf[i], 0x77, "a failed read wrote to the destination");
	for (uint64_t i = 0; i < RAM_SIZE; i++)
		cr_assert_eq(gm.host_base[i], 0, "a failed write touched RAM at %#llx", (unsigned long long)i);
}

/* Accesses right at the end of a mapping followed by a guard page: no byte past it is touched. */
Test(guest_mem, end_of_mapping_guard_page)
{
	long page = sysconf(_SC_PAGESIZE);
	uint8_t *area = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct guest_mem g;
	uint8_t v[4] = { 1, 2, 3, 4 }, out[4];

	cr_assert_neq(area, MAP_FAILED);
	cr_assert_eq(mprotect(area + page, (size_t)page, PROT_NONE), 0);
	g.host_base = area;
	g.size = (uint64_t)page;
	cr_assert_eq(guest_mem_write(&g, (uint64_t)page - 4, v, 4), 0);
	cr_assert_eq(guest_mem_read(&g, (uint64_t)page - 4, out, 4), 0);
	cr_assert_eq(memcmp(v, out, 4), 0);
	cr_assert_eq(guest_mem_write(&g, (uint64_t)page - 3, v, 4), -EFAULT);
	cr_assert_eq(guest_mem_read(&g, (uint64_t)page, out, 1), -EFAULT);
	munmap(area, (size_t)page * 2);
}
