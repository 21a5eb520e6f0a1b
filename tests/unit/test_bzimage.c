// SPDX-License-Identifier: MIT
/*
 * Unit tests for monitor/boot/bzimage.c, the Linux bzImage loader (64-bit boot
 * protocol), against synthetic images, the real Debian kernel when it is in
 * build/svm-host/vmlinuz, and corrupted headers. Guest RAM is a heap buffer
 * with guard zones on both sides that must stay untouched.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/boot/bzimage.h"

#define MIB (1024ULL * 1024ULL)
#define GUARD 0x10000ULL
#define GUARD_BYTE 0xa5
#define SETUP_SIZE 0x1000
#define PAYLOAD_SIZE 0x3000
#define IMG_SIZE (SETUP_SIZE + PAYLOAD_SIZE)
#define INIT_SIZE 0x800000u

static struct guest_mem mem;
static uint8_t *ram_buf;
static uint64_t ram_buf_size;
static uint8_t img[IMG_SIZE];
static char err[512];

static void ram_alloc(uint64_t size)
{
	free(ram_buf);
	ram_buf_size = size + 2 * GUARD;
	ram_buf = malloc(ram_buf_size);
	cr_assert_not_null(ram_buf);
	memset(ram_buf, GUARD_BYTE, GUARD);
	memset(ram_buf + GUARD, 0, size);
	memset(ram_buf + GUARD + size, GUARD_BYTE, GUARD);
	mem.host_base = ram_buf + GUARD;
	mem.size = size;
}

static void guards_intact(void)
{
	for (uint64_t i = 0; i < GUARD; i++) {
		if (ram_buf[i] != GUARD_BYTE || ram_buf[GUARD + mem.size + i] != GUARD_BYTE)
			cr_assert_fail("write outside guest RAM at guard byte %llu", (unsigned long long)i);
	}
}

static void w8(size_t off, uint8_t v)
{
	img[off] = v;
}

static void w16(size_t off, uint16_t v)
{
	memcpy(img + off, &v, 2);
}

static void w32(size_t off, uint32_t v)
{
	memcpy(img + off, &v, 4);
}

static void w64(size_t off, uint64_t v)
{
	memcpy(img + off, &v, 8);
}

static uint16_t g16(uint64_t gpa)
{
	uint16_t v;

	memcpy(&v, mem.host_base + gpa, 2);
	return v;
}

static uint32_t g32(uint64_t gpa)
{
	uint32_t v;

	memcpy(&v, mem.host_base + gpa, 4);
	return v;
}

static uint64_t g64(uint64_t gpa)
{
	uint64_t v;

	memcpy(&v, mem.host_base + gpa, 8);
	return v;
}

/* A valid image: 0x1000-byte setup (setup_sects 7) + 0x3000-byte payload. */
static void make_image(void)
{
	memset(img, 0, sizeof(img));
	for (size_t i = SETUP_SIZE; i < IMG_SIZE; i++)
		img[i] = (uint8_t)(i * 13 + 5);
	w8(0x1f1, 7);
	w32(0x1f4, PAYLOAD_SIZE / 16);
	w16(0x1fe, 0xaa55);
	w8(0x200, 0xeb);
	w8(0x201, 0x6a); /* header ends at 0x26c */
	memcpy(img + 0x202, "HdrS", 4);
	w16(0x206, 0x020f);
	w8(0x211, 0x01);         /* LOADED_HIGH */
	w32(0x22c, 0x7fffffff);  /* initrd_addr_max */
	w32(0x230, 0x200000);    /* kernel_alignment */
	w8(0x234, 1);            /* relocatable */
	w8(0x235, 21);
	w16(0x236, 0x3);         /* XLF_KERNEL_64 | CAN_BE_LOADED_ABOVE_4G */
	w32(0x238, 2047);        /* cmdline_size */
	w32(0x248, 0x100);       /* payload_offset */
	w32(0x24c, 0x200);       /* payload_length */
	w64(0x250, 0xdeadbeef);  /* setup_data: the loader must clear it */
	w64(0x258, 0x1000000);   /* pref_address 16 MiB */
	w32(0x260, INIT_SIZE);
}

static void setup(void)
{
	ram_buf = NULL;
	ram_alloc(64 * MIB);
	make_image();
	memset(err, 0, sizeof(err));
}

static void teardown(void)
{
	free(ram_buf);
	ram_buf = NULL;
}

TestSuite(bzimage, .init = setup, .fini = teardown);

static void parse_ok(struct bzimage_info *info)
{
	int r = bzimage_parse(img, sizeof(img), info, err, sizeof(err));

	cr_assert_eq(r, 0, "parse: %d %s", r, err);
}

static void parse_fails(size_t len, int want, const char *needle)
{
	struct bzimage_info info;
	int r = bzimage_parse(img, len, &info, err, sizeof(err));

	cr_assert_eq(r, want, "parse returned %d (%s), wanted %d", r, err, want);
	cr_assert_not_null(strstr(err, needle), "error \"%s\" lacks \"%s\"", err, needle);
}

static int load(const struct bzimage_info *info, const uint8_t *initrd, size_t initrd_len, const char *cmdline,
		struct bzimage_boot *boot)
{
	return bzimage_load(&mem, img, sizeof(img), info, initrd, initrd_len, cmdline, 0xf0000, boot, err,
			    sizeof(err));
}

static void load_fails(int want, const uint8_t *initrd, size_t initrd_len, const char *cmdline, const char *needle)
{
	struct bzimage_info info;
	struct bzimage_boot boot;
	int r;

	parse_ok(&info);
	r = load(&info, initrd, initrd_len, cmdline, &boot);
	cr_assert_eq(r, want, "load returned %d (%s), wanted %d", r, err, want);
	cr_assert_not_null(strstr(err, needle), "error \"%s\" lacks \"%s\"", err, needle);
	guards_intact();
}

/* ---- detection and header rejections ------------------------------------ */

Test(bzimage, detect)
{
	cr_assert(bzimage_detect(img, sizeof(img)));
	cr_assert_not(bzimage_detect(img, 0x205));
	cr_assert_not(bzimage_detect(NULL, 0));
	img[0x202] = 'X';
	cr_assert_not(bzimage_detect(img, sizeof(img)));
	make_image();
	w16(0x1fe, 0x55aa);
	cr_assert_not(bzimage_detect(img, sizeof(img)));
}

Test(bzimage, parse_good)
{
	struct bzimage_info info;

	parse_ok(&info);
	cr_assert_eq(info.version, 0x020f);
	cr_assert_eq(info.setup_sects, 7);
	cr_assert_eq(info.kernel_offset, SETUP_SIZE);
	cr_assert_eq(info.kernel_size, PAYLOAD_SIZE);
	cr_assert_eq(info.init_size, INIT_SIZE);
	cr_assert_eq(info.pref_address, 0x1000000);
	cr_assert_eq(info.kernel_alignment, 0x200000);
	cr_assert(info.relocatable);
	cr_assert_eq(info.cmdline_size, 2047);
	cr_assert_eq(info.initrd_addr_max, 0x7fffffff);
	cr_assert_eq(info.hdr_end, 0x26c);
}

Test(bzimage, too_short)
{
	parse_fails(0x100, -ENOEXEC, "too short");
	parse_fails(0x260, -ENOEXEC, "too short for its setup header");
}

Test(bzimage, bad_magic)
{
	img[0x203] = 'x';
	parse_fails(sizeof(img), -ENOEXEC, "HdrS");
	make_image();
	w16(0x1fe, 0);
	parse_fails(sizeof(img), -ENOEXEC, "boot_flag");
}

Test(bzimage, old_protocol)
{
	w16(0x206, 0x020b);
	parse_fails(sizeof(img), -ENOTSUP, "2.11");
}

Test(bzimage, not_64bit)
{
	w16(0x236, 0x2);
	parse_fails(sizeof(img), -ENOTSUP, "XLF_KERNEL_64");
}

Test(bzimage, not_loaded_high)
{
	w8(0x211, 0);
	parse_fails(sizeof(img), -ENOTSUP, "LOADED_HIGH");
}

Test(bzimage, short_header)
{
	w8(0x201, 0x50);
	parse_fails(sizeof(img), -ENOEXEC, "setup header ends at 0x252");
	make_image();
	w8(0x200, 0x90);
	parse_fails(sizeof(img), -ENOEXEC, "short jump");
}

Test(bzimage, setup_sects_past_file)
{
	w8(0x1f1, 200);
	parse_fails(sizeof(img), -ENOEXEC, "setup_sects 200");
	make_image();
	w8(0x1f1, 0); /* means 4: 0xa00 bytes of setup, payload longer than syssize */
	{
		struct bzimage_info info;

		parse_ok(&info);
		cr_assert_eq(info.setup_sects, 4);
		cr_assert_eq(info.kernel_offset, 0xa00);
	}
}

Test(bzimage, truncated_payload)
{
	parse_fails(SETUP_SIZE + PAYLOAD_SIZE - 0x100, -ENOEXEC, "truncated");
	w32(0x1f4, 0);
	parse_fails(sizeof(img), -ENOEXEC, "syssize is 0");
}

Test(bzimage, bad_alignment_and_sizes)
{
	w32(0x230, 0x300000);
	parse_fails(sizeof(img), -ENOEXEC, "power of two");
	make_image();
	w32(0x260, PAYLOAD_SIZE - 16);
	parse_fails(sizeof(img), -ENOEXEC, "init_size");
	make_image();
	w32(0x24c, PAYLOAD_SIZE);
	parse_fails(sizeof(img), -ENOEXEC, "payload_length");
	make_image();
	w8(0x234, 0);
	w64(0x258, 0x1000);
	parse_fails(sizeof(img), -ENOEXEC, "not relocatable");
}

/* ---- load rejections ------------------------------------------------------ */

Test(bzimage, not_relocatable_pref_out_of_ram)
{
	w8(0x234, 0);
	w64(0x258, 0x10000000); /* 256 MiB in a 64 MiB guest */
	load_fails(-EFBIG, NULL, 0, NULL, "not relocatable");
}

Test(bzimage, huge_init_size)
{
	w32(0x260, 0xf0000000u);
	load_fails(-EFBIG, NULL, 0, NULL, "init_size 4026531840");
}

Test(bzimage, cmdline_too_long)
{
	w32(0x238, 10);
	load_fails(-E2BIG, NULL, 0, "console=ttyS0 quiet", "19 bytes; this kernel accepts at most 10");
}

Test(bzimage, initrd_too_big)
{
	static uint8_t initrd[10 * MIB];

	/* Kernel [16, 24) MiB, initrd below 32 MiB: 8 MiB free, 10 MiB asked. */
	w32(0x22c, 0x1ffffff);
	load_fails(-EFBIG, initrd, sizeof(initrd), NULL, "initrd (10485760 bytes) does not fit");
}

Test(bzimage, ram_too_small)
{
	ram_alloc(8 * MIB);
	load_fails(-EFBIG, NULL, 0, NULL, "guest RAM (8 MiB) is too small");
	ram_alloc(4 * MIB);
	w32(0x260, PAYLOAD_SIZE);
	{
		static uint8_t initrd[4 * MIB];

		load_fails(-EFBIG, initrd, sizeof(initrd), NULL, "initrd's 4194304 bytes");
	}
}

/* ---- a good load ---------------------------------------------------------- */

Test(bzimage, good_load)
{
	struct bzimage_info info;
	struct bzimage_boot boot;
	uint8_t initrd[5000];
	const char *cmdline = "console=ttyS0 root=/dev/vda";
	uint64_t zp = BZ_ZERO_PAGE_ADDR;

	for (size_t i = 0; i < sizeof(initrd); i++)
		initrd[i] = (uint8_t)(i ^ 0x5a);
	parse_ok(&info);
	cr_assert_eq(load(&info, initrd, sizeof(initrd), cmdline, &boot), 0, "%s", err);
	guards_intact();

	cr_assert_eq(boot.load_addr, 0x1000000);
	cr_assert_eq(boot.entry, 0x1000200);
	cr_assert_eq(boot.zero_page, zp);
	cr_assert_eq(boot.cs_selector, 0x10);
	cr_assert_eq(boot.ds_selector, 0x18);
	cr_assert_eq(boot.cr3, 0x1000);
	cr_assert_eq(boot.kernel_end, 0x1000000 + INIT_SIZE);
	cr_assert_eq(memcmp(mem.host_base + boot.load_addr, img + SETUP_SIZE, PAYLOAD_SIZE), 0);

	/* Header copied, loader fields set. */
	cr_assert_eq(memcmp(mem.host_base + zp + 0x1f1, img + 0x1f1, 0x210 - 0x1f1), 0);
	cr_assert_eq(memcmp(mem.host_base + zp + 0x202, "HdrS", 4), 0);
	cr_assert_eq(g16(zp + 0x206), 0x020f);
	cr_assert_eq(mem.host_base[zp + 0x210], 0xff);
	cr_assert_eq(mem.host_base[zp + 0x211], 0x81);
	cr_assert_eq(g16(zp + 0x224), 0xfe00);
	cr_assert_eq(g32(zp + 0x230), 0x200000);
	cr_assert_eq(g32(zp + 0x260), INIT_SIZE);
	cr_assert_eq(g64(zp + 0x250), 0, "setup_data must be cleared");
	cr_assert_eq(mem.host_base[zp + 0x1ef], 0, "sentinel");
	cr_assert_eq(g64(zp + 0x70), 0xf0000, "acpi_rsdp_addr");

	cr_assert_eq(g32(zp + 0x228), BZ_CMDLINE_ADDR);
	cr_assert_str_eq((const char *)mem.host_base + BZ_CMDLINE_ADDR, cmdline);
	cr_assert_eq(boot.cmdline_len, strlen(cmdline));

	/* initrd: page-aligned, as high as possible, above the kernel. */
	cr_assert_eq(g32(zp + 0x21c), sizeof(initrd));
	cr_assert_eq(g32(zp + 0x218), boot.initrd_addr);
	cr_assert_eq(boot.initrd_addr % 4096, 0);
	cr_assert_eq(boot.initrd_addr, (64 * MIB - sizeof(initrd)) & ~0xfffULL);
	cr_assert_geq(boot.initrd_addr, boot.kernel_end);
	cr_assert_eq(memcmp(mem.host_base + boot.initrd_addr, initrd, sizeof(initrd)), 0);

	/* e820 */
	cr_assert_eq(mem.host_base[zp + 0x1e8], 3);
	cr_assert_eq(g64(zp + 0x2d0), 0);
	cr_assert_eq(g64(zp + 0x2d8), 0x9fc00);
	cr_assert_eq(g32(zp + 0x2e0), BZ_E820_RAM);
	cr_assert_eq(g64(zp + 0x2e4), 0x9fc00);
	cr_assert_eq(g64(zp + 0x2ec), 0x100000 - 0x9fc00);
	cr_assert_eq(g32(zp + 0x2f4), BZ_E820_RESERVED);
	cr_assert_eq(g64(zp + 0x2f8), 0x100000);
	cr_assert_eq(g64(zp + 0x300), 64 * MIB - 0x100000);
	cr_assert_eq(g32(zp + 0x308), BZ_E820_RAM);

	/* GDT and identity page tables. */
	cr_assert_eq(g64(BZ_GDT_ADDR + 0x10), 0x00af9b000000ffffULL);
	cr_assert_eq(g64(BZ_GDT_ADDR + 0x18), 0x00cf93000000ffffULL);
	cr_assert_eq(g64(0x1000), 0x2003);
	cr_assert_eq(g64(0x2000 + 3 * 8), 0x6003);
	cr_assert_eq(g64(0x3000 + 8 * 8), (8ULL << 21) | 0x83);
}

Test(bzimage, no_initrd_no_cmdline_old_rsdp)
{
	struct bzimage_info info;
	struct bzimage_boot boot;

	w16(0x206, 0x020c);
	parse_ok(&info);
	cr_assert_eq(load(&info, NULL, 0, NULL, &boot), 0, "%s", err);
	cr_assert_eq(g32(BZ_ZERO_PAGE_ADDR + 0x218), 0);
	cr_assert_eq(g32(BZ_ZERO_PAGE_ADDR + 0x21c), 0);
	cr_assert_eq(g64(BZ_ZERO_PAGE_ADDR + 0x70), 0, "2.12 has no acpi_rsdp_addr");
	cr_assert_eq(mem.host_base[BZ_CMDLINE_ADDR], 0);
	cr_assert_eq(boot.initrd_size, 0);
}

Test(bzimage, relocation_fallback)
{
	struct bzimage_info info;
	struct bzimage_boot boot;
	uint64_t a;

	/* 20 MiB: 16 MiB + 8 MiB does not fit; 2 MiB (aligned, >= 1 MiB) does. */
	ram_alloc(20 * MIB);
	parse_ok(&info);
	cr_assert_eq(load(&info, NULL, 0, NULL, &boot), 0, "%s", err);
	cr_assert_eq(boot.load_addr, 0x200000);
	cr_assert_eq(boot.entry, 0x200200);
	guards_intact();
	/* A misaligned pref_address is not used. */
	info.pref_address = 0x1100000;
	cr_assert_eq(bzimage_load_addr(&info, 256 * MIB, &a, err, sizeof(err)), 0);
	cr_assert_eq(a, 0x1000000);
}

Test(bzimage, e820_mark)
{
	struct bzimage_info info;
	struct bzimage_boot boot;
	uint64_t zp = BZ_ZERO_PAGE_ADDR;

	parse_ok(&info);
	cr_assert_eq(load(&info, NULL, 0, NULL, &boot), 0, "%s", err);
	cr_assert_eq(bzimage_e820_mark(&mem, &boot, 0xe0000, 0x20000, BZ_E820_ACPI, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(mem.host_base[zp + 0x1e8], 4);
	cr_assert_eq(g64(zp + 0x2e4), 0x9fc00);
	cr_assert_eq(g64(zp + 0x2ec), 0xe0000 - 0x9fc00);
	cr_assert_eq(g32(zp + 0x2f4), BZ_E820_RESERVED);
	cr_assert_eq(g64(zp + 0x2f8), 0xe0000);
	cr_assert_eq(g64(zp + 0x300), 0x20000);
	cr_assert_eq(g32(zp + 0x308), BZ_E820_ACPI);
	cr_assert_eq(g64(zp + 0x30c), 0x100000);

	/* A range in high RAM splits it; marking it reserved again merges nothing away. */
	cr_assert_eq(bzimage_e820_mark(&mem, &boot, 0x3000000, 0x10000, BZ_E820_NVS, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(mem.host_base[zp + 0x1e8], 6);
	cr_assert_eq(g64(zp + 0x2d0 + 5 * 20), 0x3010000);
	cr_assert_eq(g64(zp + 0x2d0 + 5 * 20 + 8), 64 * MIB - 0x3010000);

	cr_assert_eq(bzimage_e820_mark(&mem, &boot, 0x1000000, 0x1000, BZ_E820_ACPI, err, sizeof(err)), -EBUSY);
	cr_assert_eq(bzimage_e820_mark(&mem, &boot, 0x7000, 0x1000, BZ_E820_ACPI, err, sizeof(err)), -EBUSY);
	cr_assert_eq(bzimage_e820_mark(&mem, &boot, 0xe0000, 0x1000, BZ_E820_RAM, err, sizeof(err)), -EINVAL);
	cr_assert_eq(bzimage_e820_mark(&mem, &boot, ~0ULL, 2, BZ_E820_ACPI, err, sizeof(err)), -EINVAL);
	cr_assert_eq(bzimage_e820_mark(&mem, &boot, 0xe0000, 0, BZ_E820_ACPI, err, sizeof(err)), -EINVAL);
	guards_intact();
}

/* ---- the real Debian kernel ------------------------------------------------ */

Test(bzimage, debian_kernel)
{
	const char *path = "build/svm-host/vmlinuz";
	struct bzimage_info info;
	struct bzimage_boot boot;
	uint8_t initrd[64 * 1024];
	uint8_t *k;
	long n;
	FILE *f = fopen(path, "rb");

	if (!f)
		cr_skip_test("%s is absent (the svm-host kernel cache is not built)", path);
	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	cr_assert_gt(n, 0);
	rewind(f);
	k = malloc((size_t)n);
	cr_assert_not_null(k);
	cr_assert_eq(fread(k, 1, (size_t)n, f), (size_t)n);
	fclose(f);

	cr_assert(bzimage_detect(k, (size_t)n));
	cr_assert_eq(bzimage_parse(k, (size_t)n, &info, err, sizeof(err)), 0, "%s", err);
	cr_log_info("%s: protocol %u.%02u, init_size 0x%x, pref_address 0x%llx, kernel_alignment 0x%x, "
		    "kernel %llu bytes, cmdline_size %u, initrd_addr_max 0x%x, xloadflags 0x%x",
		    path, info.version >> 8, info.version & 0xff, info.init_size,
		    (unsigned long long)info.pref_address, info.kernel_alignment,
		    (unsigned long long)info.kernel_size, info.cmdline_size, info.initrd_addr_max, info.xloadflags);
	cr_assert_geq(info.version, 0x020c);

	ram_alloc(256 * MIB);
	memset(initrd, 0x42, sizeof(initrd));
	cr_assert_eq(bzimage_load(&mem, k, (size_t)n, &info, initrd, sizeof(initrd), "console=ttyS0", 0xf0000, &boot,
				  err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(boot.entry, boot.load_addr + 0x200);
	cr_assert_eq(memcmp(mem.host_base + boot.load_addr, k + info.kernel_offset, info.kernel_size), 0);
	cr_assert_geq(boot.initrd_addr, boot.kernel_end);
	cr_log_info("loaded at 0x%llx, entry 0x%llx, initrd at 0x%llx", (unsigned long long)boot.load_addr,
		    (unsigned long long)boot.entry, (unsigned long long)boot.initrd_addr);
	guards_intact();
	free(k);
}

/* ---- hostile input ---------------------------------------------------------- */

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void try_load(size_t len)
{
	struct bzimage_info info;
	struct bzimage_boot boot;
	static const uint8_t initrd[3000];

	(void)bzimage_detect(img, len);
	if (bzimage_parse(img, len, &info, err, sizeof(err)) == 0) {
		if (bzimage_load(&mem, img, len, &info, initrd, sizeof(initrd), "console=ttyS0", 0, &boot, err,
				 sizeof(err)) == 0) {
			cr_assert_leq(boot.kernel_end, mem.size);
			cr_assert_geq(boot.initrd_addr, boot.kernel_end);
		}
	}
	cr_assert_lt(strnlen(err, sizeof(err)), sizeof(err));
}

Test(bzimage, fuzz_random_bytes)
{
	uint64_t s = 0x9e3779b97f4a7c15ULL;

	ram_alloc(32 * MIB);
	for (int iter = 0; iter < 3000; iter++) {
		size_t len = rng_next(&s) % sizeof(img);

		for (size_t i = 0; i < sizeof(img); i++)
			img[i] = (uint8_t)rng_next(&s);
		if (iter & 1) { /* keep the magic so parsing goes deeper */
			w16(0x1fe, 0xaa55);
			memcpy(img + 0x202, "HdrS", 4);
			w16(0x206, (uint16_t)(0x020c + (rng_next(&s) & 7)));
			w8(0x200, 0xeb);
		}
		try_load(len);
	}
	guards_intact();
}

Test(bzimage, fuzz_header_corruptions)
{
	static const uint8_t values[] = {0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff};

	ram_alloc(32 * MIB);
	for (size_t off = 0x1f0; off < 0x270; off++) {
		for (size_t v = 0; v < ARRAY_SIZE(values) + 8; v++) {
			make_image();
			if (v < ARRAY_SIZE(values))
				img[off] = values[v];
			else
				img[off] ^= (uint8_t)(1u << (v - ARRAY_SIZE(values)));
			try_load(sizeof(img));
		}
	}
	guards_intact();
}

Test(bzimage, ram_above_limit_rejected_before_any_write)
{
	struct bzimage_info info;
	struct bzimage_boot boot;
	struct guest_mem big = {.host_base = mem.host_base, .size = 4096 * MIB};

	parse_ok(&info);
	cr_assert_eq(bzimage_load(&big, img, sizeof(img), &info, NULL, 0, NULL, 0, &boot, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "exceeds the 3072 MiB"), "%s", err);
	guards_intact();
}

Test(bzimage, long_header_is_clamped_to_boot_params)
{
	struct bzimage_info info;
	struct bzimage_boot boot;

	w8(0x201, 0xff); /* header "ends" at 0x301, past boot_params' room */
	parse_ok(&info);
	cr_assert_eq(info.hdr_end, 0x290);
	cr_assert_eq(load(&info, NULL, 0, NULL, &boot), 0, "%s", err);
	cr_assert_eq(mem.host_base[BZ_ZERO_PAGE_ADDR + 0x1e8], 3, "e820_entries untouched by the header copy");
}
