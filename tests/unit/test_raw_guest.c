// SPDX-License-Identifier: MIT
/*
 * Unit tests for monitor/boot/raw_guest.c, the raw guest loader (GDT, page
 * tables, command line and image), run against a heap "guest RAM".
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/platform.h"
#include "monitor/boot/long_mode.h"
#include "monitor/boot/raw_guest.h"

#define MIB (1024ULL * 1024ULL)
#define PTE_P (1ULL << 0)
#define PTE_RW (1ULL << 1)
#define PTE_PS (1ULL << 7)

static struct guest_mem mem;
static uint8_t *image;
static char err[256];

static void ram_alloc(uint64_t size)
{
	free(mem.host_base);
	mem.host_base = calloc(1, size);
	cr_assert_not_null(mem.host_base);
	mem.size = size;
}

static void raw_guest_setup(void)
{
	mem.host_base = NULL;
	ram_alloc(4 * MIB);
	image = NULL;
	memset(err, 'Z', sizeof(err) - 1);
	err[sizeof(err) - 1] = '\0';
}

static void raw_guest_teardown(void)
{
	free(mem.host_base);
	mem.host_base = NULL;
	free(image);
	image = NULL;
}

TestSuite(raw_guest, .init = raw_guest_setup, .fini = raw_guest_teardown);

/* ---- helpers ------------------------------------------------------------ */

static uint8_t *make_image(size_t len)
{
	free(image);
	image = malloc(len ? len : 1);
	cr_assert_not_null(image);
	for (size_t i = 0; i < len; i++)
		image[i] = (uint8_t)(i * 7 + 1);
	return image;
}

static uint64_t ram_u64(uint64_t gpa)
{
	uint64_t v;

	cr_assert_leq(gpa + 8, mem.size, "reading %#llx outside RAM", (unsigned long long)gpa);
	memcpy(&v, mem.host_base + gpa, sizeof(v));
	return v;
}

static void load_ok(size_t len, const char *cmdline)
{
	int r = raw_guest_load(&mem, make_image(len), len, cmdline, err, sizeof(err));

	cr_assert_eq(r, 0, "raw_guest_load(%zu bytes): %d (%s)", len, r, err);
}

/* ---- layout ------------------------------------------------------------- */

Test(raw_guest, layout_constants)
{
	cr_assert_eq(RAW_GUEST_LOAD_ADDR, 0x100000ULL);
	cr_assert_eq(RAW_GDT_ADDR, 0x500ULL);
	cr_assert_eq(LONG_MODE_PML4_ADDR, 0x1000ULL);
	cr_assert_eq(LONG_MODE_PDPT_ADDR, 0x2000ULL);
	cr_assert_eq(LONG_MODE_PD_ADDR, 0x3000ULL);
	cr_assert_eq(RAW_CMDLINE_ADDR, 0x7000ULL);
	/* The structures do not overlap one another or the stacks. */
	cr_assert_leq(RAW_GDT_ADDR + 3 * 8, LONG_MODE_PML4_ADDR);
	cr_assert_leq(LONG_MODE_PD_ADDR + LONG_MODE_PD_PAGES * 0x1000ULL, RAW_CMDLINE_ADDR, "page directories run into the cmdline");
	cr_assert_leq(RAW_CMDLINE_ADDR + RAW_CMDLINE_MAX, RAW_STACKS_LOW, "the cmdline runs into the stacks");
}

Test(raw_guest, image_copied_at_load_address)
{
	load_ok(12345, NULL);
	cr_assert_eq(memcmp(mem.host_base + 0x100000, image, 12345), 0, "image bytes differ at 0x100000");
	cr_assert_eq(mem.host_base[0x100000 - 1], 0, "byte before the image touched");
	cr_assert_eq(mem.host_base[0x100000 + 12345], 0, "byte after the image touched");
}

Test(raw_guest, gdt)
{
	load_ok(16, NULL);
	cr_assert_eq(ram_u64(0x500), 0ULL, "GDT[0] (null) = %#llx", (unsigned long long)ram_u64(0x500));
	cr_assert_eq(ram_u64(0x508), 0x00af9b000000ffffULL, "GDT[1] (0x08, 64-bit code) = %#llx",
		     (unsigned long long)ram_u64(0x508));
	cr_assert_eq(ram_u64(0x510), 0x00cf93000000ffffULL, "GDT[2] (0x10, data) = %#llx",
		     (unsigned long long)ram_u64(0x510));
	/* Code descriptor bits: L=1, D=0, P=1, S=1, type execute/read. */
	{
		uint64_t code = ram_u64(0x508);

		cr_assert_eq((code >> 53) & 1, 1, "code L bit");
		cr_assert_eq((code >> 54) & 1, 0, "code D bit must be 0 with L=1");
		cr_assert_eq((code >> 47) & 1, 1, "code P bit");
		cr_assert_eq((code >> 44) & 1, 1, "code S bit");
		cr_assert_eq((code >> 43) & 1, 1, "code executable bit");
	}
}

Test(raw_guest, page_tables)
{
	load_ok(16, NULL);
	cr_assert_eq(ram_u64(0x1000), 0x2000ULL | 3, "PML4[0] = %#llx", (unsigned long long)ram_u64(0x1000));
	for (uint64_t i = 1; i < 512; i++)
		cr_assert_eq(ram_u64(0x1000 + i * 8), 0ULL, "PML4[%llu] = %#llx, expected not present",
			     (unsigned long long)i, (unsigned long long)ram_u64(0x1000 + i * 8));
	for (uint64_t i = 0; i < 4; i++) {
		uint64_t want = (0x3000 + i * 0x1000) | 3;

		cr_assert_eq(ram_u64(0x2000 + i * 8), want, "PDPT[%llu] = %#llx, expected %#llx",
			     (unsigned long long)i, (unsigned long long)ram_u64(0x2000 + i * 8),
			     (unsigned long long)want);
	}
	for (uint64_t i = 4; i < 512; i++)
		cr_assert_eq(ram_u64(0x2000 + i * 8), 0ULL, "PDPT[%llu] present", (unsigned long long)i);
}

Test(raw_guest, page_directory_identity_maps_4gib)
{
	const uint64_t flags = PTE_P | PTE_RW | PTE_PS;

	load_ok(16, NULL);
	cr_assert_eq(ram_u64(0x3000), 0x0ULL | flags, "PD entry 0 = %#llx", (unsigned long long)ram_u64(0x3000));
	cr_assert_eq(ram_u64(0x3008), 0x200000ULL | flags, "PD entry 1 = %#llx",
		     (unsigned long long)ram_u64(0x3008));
	cr_assert_eq(ram_u64(0x3000 + 2047 * 8), 0xFFE00000ULL | flags, "PD entry 2047 = %#llx",
		     (unsigned long long)ram_u64(0x3000 + 2047 * 8));
	cr_assert_eq(flags, 0x83ULL);
	/* Every entry, across the four page directories. */
	for (uint64_t i = 0; i < 2048; i++) {
		uint64_t want = (i << 21) | flags;

		cr_assert_eq(ram_u64(0x3000 + i * 8), want, "PD entry %llu = %#llx, expected %#llx",
			     (unsigned long long)i, (unsigned long long)ram_u64(0x3000 + i * 8),
			     (unsigned long long)want);
	}
	/* The device windows are mapped too. */
	cr_assert_eq(ram_u64(0x3000 + (TESTDEV_MMIO_BASE >> 21) * 8), (TESTDEV_MMIO_BASE & ~0x1fffffULL) | flags);
	cr_assert_eq(ram_u64(0x3000 + (LAPIC_BASE >> 21) * 8), (LAPIC_BASE & ~0x1fffffULL) | flags);
}

/* Walks the tables as the MMU would, for a few addresses. */
Test(raw_guest, page_walk)
{
	static const uint64_t vas[] = { 0, 0x100000, 0x1fffff, 0x200000, 0x7fffffff, 0xfe000000, 0xfee00000,
					0xffffffff };

	load_ok(16, NULL);
	for (size_t k = 0; k < sizeof(vas) / sizeof(vas[0]); k++) {
		uint64_t va = vas[k];
		uint64_t pml4e = ram_u64(LONG_MODE_PML4_ADDR + ((va >> 39) & 511) * 8);
		uint64_t pdpte, pde, pa;

		cr_assert(pml4e & PTE_P, "va %#llx: PML4E not present", (unsigned long long)va);
		pdpte = ram_u64((pml4e & ~0xfffULL) + ((va >> 30) & 511) * 8);
		cr_assert(pdpte & PTE_P, "va %#llx: PDPTE not present", (unsigned long long)va);
		cr_assert_eq(pdpte & PTE_PS, 0, "va %#llx: PDPTE must point to a PD", (unsigned long long)va);
		pde = ram_u64((pdpte & ~0xfffULL) + ((va >> 21) & 511) * 8);
		cr_assert(pde & PTE_P, "va %#llx: PDE not present", (unsigned long long)va);
		cr_assert(pde & PTE_PS, "va %#llx: PDE is not a 2 MiB page", (unsigned long long)va);
		pa = (pde & ~0x1fffffULL & ((1ULL << 52) - 1)) | (va & 0x1fffff);
		cr_assert_eq(pa, va, "va %#llx maps to %#llx, not identity", (unsigned long long)va,
			     (unsigned long long)pa);
	}
}

Test(raw_guest, cmdline_stored)
{
	load_ok(16, "console=ttyS0 quiet");
	cr_assert_str_eq((const char *)mem.host_base + 0x7000, "console=ttyS0 quiet");
	cr_assert_eq(mem.host_base[0x7000 + strlen("console=ttyS0 quiet")], '\0', "NUL-terminated");
}

Test(raw_guest, cmdline_empty_string)
{
	memset(mem.host_base + 0x7000, 'x', 16);
	load_ok(16, "");
	cr_assert_eq(mem.host_base[0x7000], '\0', "an empty cmdline is a lone NUL");
}

Test(raw_guest, cmdline_absent_leaves_page_alone)
{
	load_ok(16, NULL);
	for (uint64_t i = 0; i < 4096; i++)
		cr_assert_eq(mem.host_base[0x7000 + i], 0, "cmdline page byte %llu written without a cmdline",
			     (unsigned long long)i);
}

Test(raw_guest, cmdline_longest)
{
	char *s = malloc(4096);

	cr_assert_not_null(s);
	memset(s, 'q', 4095);
	s[4095] = '\0';
	load_ok(16, s);
	cr_assert_eq(memcmp(mem.host_base + 0x7000, s, 4096), 0, "4095 bytes and the NUL");
	cr_assert_eq(mem.host_base[RAW_STACKS_LOW], 0, "stack area touched");
	free(s);
}

Test(raw_guest, cmdline_too_long)
{
	char *s = malloc(4097);
	int r;

	cr_assert_not_null(s);
	memset(s, 'q', 4096);
	s[4096] = '\0';
	r = raw_guest_load(&mem, make_image(16), 16, s, err, sizeof(err));
	cr_assert_eq(r, -EINVAL, "a 4096-byte cmdline: %d", r);
	cr_assert_not_null(strstr(err, "command line"), "message '%s'", err);
	free(s);
}

/* ---- errors ------------------------------------------------------------- */

Test(raw_guest, empty_image)
{
	int r = raw_guest_load(&mem, make_image(0), 0, NULL, err, sizeof(err));

	cr_assert_eq(r, -EINVAL, "empty image: %d", r);
	cr_assert_not_null(strstr(err, "empty"), "message '%s'", err);
	cr_assert_eq(ram_u64(0x1000), 0ULL, "nothing is built for a rejected image");
}

Test(raw_guest, image_too_big)
{
	size_t len = 1024 * 1024 + 1;
	int r;

	ram_alloc(2 * MIB);
	r = raw_guest_load(&mem, make_image(len), len, NULL, err, sizeof(err));
	cr_assert_eq(r, -EFBIG, "1 MiB + 1 in 2 MiB of RAM: %d", r);
	cr_assert_not_null(strstr(err, "1048577"), "message '%s' does not give the image size", err);
	cr_assert_not_null(strstr(err, "1048576"), "message '%s' does not give the free size", err);
	cr_assert_eq(ram_u64(0x1000), 0ULL, "nothing is built for a rejected image");
	cr_assert_eq(mem.host_base[0x100000], 0, "nothing is copied for a rejected image");
}

Test(raw_guest, image_exactly_fills_ram)
{
	size_t len = 1024 * 1024;

	ram_alloc(2 * MIB);
	load_ok(len, "x");
	cr_assert_eq(memcmp(mem.host_base + 0x100000, image, len), 0);
	cr_assert_eq(mem.host_base[2 * MIB - 1], image[len - 1], "last byte of RAM");
	cr_assert_eq(ram_u64(0x1000), 0x2003ULL);
}

Test(raw_guest, ram_without_room_above_load_address)
{
	int r;

	ram_alloc(1 * MIB);
	r = raw_guest_load(&mem, make_image(1), 1, NULL, err, sizeof(err));
	cr_assert_eq(r, -EFBIG, "RAM of exactly 1 MiB: %d", r);
	cr_assert_not_null(strstr(err, "(0 bytes free)"), "message '%s'", err);

	ram_alloc(64 * 1024);
	r = raw_guest_load(&mem, make_image(1), 1, NULL, err, sizeof(err));
	cr_assert_eq(r, -EFBIG, "RAM of 64 KiB: %d", r);
}

Test(raw_guest, huge_image_length)
{
	int r = raw_guest_load(&mem, make_image(16), SIZE_MAX, NULL, err, sizeof(err));

	cr_assert_eq(r, -EFBIG, "len SIZE_MAX: %d", r);
}

Test(raw_guest, error_without_buffer_space)
{
	int r = raw_guest_load(&mem, make_image(0), 0, NULL, NULL, 0);

	cr_assert_eq(r, -EINVAL);
}

Test(raw_guest, max_vcpus)
{
	unsigned want = (unsigned)((0x100000 - 0x8000) / 0x4000);

	cr_assert_eq(want, 62u);
	cr_assert_eq(raw_guest_max_vcpus(), want, "raw_guest_max_vcpus() = %u, expected %u", raw_guest_max_vcpus(),
		     want);
	/* The lowest stack stays above the boot structures. */
	cr_assert_geq(RAW_GUEST_LOAD_ADDR - raw_guest_max_vcpus() * RAW_GUEST_STACK_SIZE, RAW_STACKS_LOW);
	cr_assert_lt(RAW_GUEST_LOAD_ADDR - (raw_guest_max_vcpus() + 1) * RAW_GUEST_STACK_SIZE, RAW_STACKS_LOW);
}
