/* SPDX-License-Identifier: MIT */
/*
 * Linux bzImage loader for the x86 64-bit boot protocol. See bzimage.h for
 * the low-memory map and the vCPU entry state.
 */
#include "monitor/boot/bzimage.h"
#include "monitor/boot/long_mode.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Setup header offsets, in the file and in struct boot_params alike. */
#define HDR_START 0x1f1
#define HDR_SETUP_SECTS 0x1f1
#define HDR_SYSSIZE 0x1f4
#define HDR_BOOT_FLAG 0x1fe
#define HDR_JUMP 0x200
#define HDR_MAGIC 0x202
#define HDR_VERSION 0x206
#define HDR_TYPE_OF_LOADER 0x210
#define HDR_LOADFLAGS 0x211
#define HDR_RAMDISK_IMAGE 0x218
#define HDR_RAMDISK_SIZE 0x21c
#define HDR_HEAP_END_PTR 0x224
#define HDR_EXT_LOADER_VER 0x226
#define HDR_EXT_LOADER_TYPE 0x227
#define HDR_CMD_LINE_PTR 0x228
#define HDR_INITRD_ADDR_MAX 0x22c
#define HDR_KERNEL_ALIGNMENT 0x230
#define HDR_RELOCATABLE 0x234
#define HDR_XLOADFLAGS 0x236
#define HDR_CMDLINE_SIZE 0x238
#define HDR_HW_SUBARCH 0x23c
#define HDR_HW_SUBARCH_DATA 0x240
#define HDR_PAYLOAD_OFFSET 0x248
#define HDR_PAYLOAD_LENGTH 0x24c
#define HDR_SETUP_DATA 0x250
#define HDR_PREF_ADDRESS 0x258
#define HDR_INIT_SIZE 0x260
#define HDR_MIN_END 0x264 /* through init_size: every field read here */
#define HDR_MAX_END 0x290 /* room for the header in struct boot_params */

#define BOOT_FLAG 0xaa55
#define HDR_MAGIC_VALUE 0x53726448 /* "HdrS" */
#define JMP_SHORT 0xeb
#define MIN_VERSION 0x020c /* 2.12: xloadflags, 64-bit entry */
#define RSDP_VERSION 0x020e /* 2.14: acpi_rsdp_addr */

#define LOADED_HIGH (1u << 0)
#define CAN_USE_HEAP (1u << 7)
#define XLF_KERNEL_64 (1u << 0)

/* struct boot_params offsets. */
#define BP_ACPI_RSDP_ADDR 0x070
#define BP_E820_ENTRIES 0x1e8
#define BP_E820_TABLE 0x2d0
#define BP_SIZE 0x1000
#define E820_ENTRY_SIZE 20

#define ENTRY_64_OFFSET 0x200
#define HEAP_END_PTR 0xfe00 /* real-mode setup heap end - 0x200; unused by the 64-bit entry */
#define PAGE 0x1000ULL
#define MIB (1024ULL * 1024ULL)
#define KERNEL_LOW_PREFERRED (16 * MIB)
#define BOOT_STRUCT_END (BZ_CMDLINE_ADDR + BZ_CMDLINE_MAX)


struct e820e {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

static void __attribute__((format(printf, 3, 4))) set_err(char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;

	if (!err || err_len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
}

static uint16_t rd16(const uint8_t *p, size_t off)
{
	return (uint16_t)(p[off] | (p[off + 1] << 8));
}

static uint32_t rd32(const uint8_t *p, size_t off)
{
	return (uint32_t)rd16(p, off) | ((uint32_t)rd16(p, off + 2) << 16);
}

static uint64_t rd64(const uint8_t *p, size_t off)
{
	return (uint64_t)rd32(p, off) | ((uint64_t)rd32(p, off + 4) << 32);
}

static void wr8(uint8_t *p, size_t off, uint8_t v)
{
	p[off] = v;
}

static void wr16(uint8_t *p, size_t off, uint16_t v)
{
	p[off] = (uint8_t)v;
	p[off + 1] = (uint8_t)(v >> 8);
}

static void wr32(uint8_t *p, size_t off, uint32_t v)
{
	wr16(p, off, (uint16_t)v);
	wr16(p, off + 2, (uint16_t)(v >> 16));
}

static void wr64(uint8_t *p, size_t off, uint64_t v)
{
	wr32(p, off, (uint32_t)v);
	wr32(p, off + 4, (uint32_t)(v >> 32));
}

static bool is_pow2(uint64_t v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

/* Rounds v up to align (a power of two); false on overflow. */
static bool round_up(uint64_t v, uint64_t align, uint64_t *out)
{
	if (v > UINT64_MAX - (align - 1))
		return false;
	*out = (v + align - 1) & ~(align - 1);
	return true;
}

bool bzimage_detect(const uint8_t *img, size_t len)
{
	return img && len >= HDR_MAGIC + 4 && rd16(img, HDR_BOOT_FLAG) == BOOT_FLAG &&
	       rd32(img, HDR_MAGIC) == HDR_MAGIC_VALUE;
}

int bzimage_parse(const uint8_t *img, size_t len, struct bzimage_info *out, char *err, size_t err_len)
{
	uint64_t setup_size, rest, sys_bytes, payload_end;
	uint32_t hdr_end, sys, init_size;
	unsigned sects;

	if (!img || !out) {
		set_err(err, err_len, "no kernel image");
		return -EINVAL;
	}
	memset(out, 0, sizeof(*out));
	if (len < HDR_VERSION + 2) {
		set_err(err, err_len, "the kernel file is %zu bytes, too short for a setup header (at least 0x%x)", len,
			HDR_MIN_END);
		return -ENOEXEC;
	}
	if (rd16(img, HDR_BOOT_FLAG) != BOOT_FLAG) {
		set_err(err, err_len, "not a bzImage: boot_flag at 0x1fe is 0x%04x, not 0xaa55", rd16(img, HDR_BOOT_FLAG));
		return -ENOEXEC;
	}
	if (rd32(img, HDR_MAGIC) != HDR_MAGIC_VALUE) {
		set_err(err, err_len, "not a bzImage: no \"HdrS\" setup header magic at 0x202");
		return -ENOEXEC;
	}
	out->version = rd16(img, HDR_VERSION);
	if (out->version < MIN_VERSION) {
		set_err(err, err_len,
			"boot protocol %u.%02u is too old: the 64-bit entry needs 2.12 or newer (Linux 3.8+)",
			out->version >> 8, out->version & 0xff);
		return -ENOTSUP;
	}
	/* The header ends at 0x202 + the short jump's displacement (boot.rst). */
	if (img[HDR_JUMP] != JMP_SHORT) {
		set_err(err, err_len, "setup header: no short jump at 0x200 (found 0x%02x), cannot size the header",
			img[HDR_JUMP]);
		return -ENOEXEC;
	}
	hdr_end = HDR_MAGIC + img[HDR_JUMP + 1];
	if (hdr_end < HDR_MIN_END) {
		set_err(err, err_len, "setup header ends at 0x%x, before init_size (0x%x) that protocol %u.%02u has",
			hdr_end, HDR_MIN_END + 4, out->version >> 8, out->version & 0xff);
		return -ENOEXEC;
	}
	if (hdr_end > len) {
		set_err(err, err_len, "the kernel file is %zu bytes, too short for its setup header (ends at 0x%x)", len,
			hdr_end);
		return -ENOEXEC;
	}
	out->hdr_end = hdr_end > HDR_MAX_END ? HDR_MAX_END : hdr_end;

	sects = img[HDR_SETUP_SECTS];
	if (sects == 0)
		sects = 4;
	out->setup_sects = (uint8_t)sects;
	setup_size = ((uint64_t)sects + 1) * 512;
	if (setup_size >= len) {
		set_err(err, err_len,
			"setup_sects %u puts the protected-mode kernel at 0x%llx, at or past the end of the %zu-byte file",
			sects, (unsigned long long)setup_size, len);
		return -ENOEXEC;
	}
	rest = len - setup_size;
	sys = rd32(img, HDR_SYSSIZE);
	sys_bytes = (uint64_t)sys * 16;
	if (sys == 0) {
		set_err(err, err_len, "syssize is 0: the header declares no protected-mode kernel");
		return -ENOEXEC;
	}
	/* syssize is rounded up to 16 bytes; signed kernels carry a trailer. */
	if (sys_bytes > rest + 15) {
		set_err(err, err_len,
			"the protected-mode kernel is truncated: syssize says %llu bytes, the file has %llu after the %llu-byte setup",
			(unsigned long long)sys_bytes, (unsigned long long)rest, (unsigned long long)setup_size);
		return -ENOEXEC;
	}
	out->kernel_offset = setup_size;
	out->kernel_size = sys_bytes < rest ? sys_bytes : rest;

	out->loadflags = img[HDR_LOADFLAGS];
	if (!(out->loadflags & LOADED_HIGH)) {
		set_err(err, err_len, "loadflags lacks LOADED_HIGH: a zImage loaded at 0x10000, not supported");
		return -ENOTSUP;
	}
	out->xloadflags = rd16(img, HDR_XLOADFLAGS);
	if (!(out->xloadflags & XLF_KERNEL_64)) {
		set_err(err, err_len, "xloadflags 0x%x lacks XLF_KERNEL_64: no 64-bit entry point at +0x200",
			out->xloadflags);
		return -ENOTSUP;
	}

	out->relocatable = img[HDR_RELOCATABLE] != 0;
	out->kernel_alignment = rd32(img, HDR_KERNEL_ALIGNMENT);
	out->pref_address = rd64(img, HDR_PREF_ADDRESS);
	init_size = rd32(img, HDR_INIT_SIZE);
	out->init_size = init_size;
	if (out->relocatable && !is_pow2(out->kernel_alignment)) {
		set_err(err, err_len, "kernel_alignment 0x%x is not a power of two", out->kernel_alignment);
		return -ENOEXEC;
	}
	if (init_size < out->kernel_size) {
		set_err(err, err_len, "init_size 0x%x is smaller than the protected-mode kernel (0x%llx bytes)", init_size,
			(unsigned long long)out->kernel_size);
		return -ENOEXEC;
	}
	if (!out->relocatable && (out->pref_address < BZ_HIGH_RAM_START || out->pref_address > UINT64_MAX - init_size)) {
		set_err(err, err_len, "the kernel is not relocatable and its pref_address 0x%llx is unusable",
			(unsigned long long)out->pref_address);
		return -ENOEXEC;
	}
	payload_end = (uint64_t)rd32(img, HDR_PAYLOAD_OFFSET) + rd32(img, HDR_PAYLOAD_LENGTH);
	if (payload_end > out->kernel_size) {
		set_err(err, err_len,
			"payload_offset 0x%x + payload_length 0x%x lie outside the protected-mode kernel (0x%llx bytes)",
			rd32(img, HDR_PAYLOAD_OFFSET), rd32(img, HDR_PAYLOAD_LENGTH),
			(unsigned long long)out->kernel_size);
		return -ENOEXEC;
	}
	out->cmdline_size = rd32(img, HDR_CMDLINE_SIZE);
	out->initrd_addr_max = rd32(img, HDR_INITRD_ADDR_MAX);
	return 0;
}

static bool kernel_fits(uint64_t addr, uint64_t init_size, uint64_t ram_size)
{
	return addr >= BZ_HIGH_RAM_START && addr <= ram_size && init_size <= ram_size - addr;
}

int bzimage_load_addr(const struct bzimage_info *info, uint64_t ram_size, uint64_t *addr, char *err, size_t err_len)
{
	static const uint64_t starts[] = {KERNEL_LOW_PREFERRED, BZ_HIGH_RAM_START};
	uint64_t align, a;

	if (!info || !addr) {
		set_err(err, err_len, "no kernel info");
		return -EINVAL;
	}
	if (!info->relocatable) {
		if (kernel_fits(info->pref_address, info->init_size, ram_size)) {
			*addr = info->pref_address;
			return 0;
		}
		set_err(err, err_len,
			"the kernel is not relocatable and needs [0x%llx, 0x%llx) (pref_address + init_size), outside guest RAM (%llu MiB)",
			(unsigned long long)info->pref_address,
			(unsigned long long)(info->pref_address + info->init_size),
			(unsigned long long)(ram_size / MIB));
		return -EFBIG;
	}
	align = info->kernel_alignment;
	if (!is_pow2(align)) {
		set_err(err, err_len, "kernel_alignment 0x%llx is not a power of two", (unsigned long long)align);
		return -EINVAL;
	}
	if ((info->pref_address & (align - 1)) == 0 && kernel_fits(info->pref_address, info->init_size, ram_size)) {
		*addr = info->pref_address;
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(starts); i++) {
		if (round_up(starts[i], align, &a) && kernel_fits(a, info->init_size, ram_size)) {
			*addr = a;
			return 0;
		}
	}
	set_err(err, err_len,
		"guest RAM (%llu MiB) is too small for the kernel: init_size %u bytes at a 0x%llx-aligned address above 1 MiB",
		(unsigned long long)(ram_size / MIB), info->init_size, (unsigned long long)align);
	return -EFBIG;
}

static int write_gdt(const struct guest_mem *mem)
{
	const uint64_t gdt[BZ_GDT_ENTRIES] = {
		0,
		0,
		LONG_MODE_GDT_CODE64, /* 0x10 __BOOT_CS */
		LONG_MODE_GDT_DATA,   /* 0x18 __BOOT_DS */
	};

	return guest_mem_write(mem, BZ_GDT_ADDR, gdt, sizeof(gdt));
}

static void e820_store(uint8_t *bp, const struct e820e *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t off = BP_E820_TABLE + i * E820_ENTRY_SIZE;

		wr64(bp, off, e[i].addr);
		wr64(bp, off + 8, e[i].size);
		wr32(bp, off + 16, e[i].type);
	}
	wr8(bp, BP_E820_ENTRIES, (uint8_t)n);
}

/* Places the initrd; 0 or -EFBIG with err naming sizes. */
static int place_initrd(const struct bzimage_info *info, uint64_t ram, uint64_t kernel_end, size_t initrd_len,
			uint64_t *addr, char *err, size_t err_len)
{
	uint64_t limit = (uint64_t)info->initrd_addr_max + 1;
	uint64_t top, lowest, start;

	if (limit > ram)
		limit = ram;
	top = limit & ~(PAGE - 1);
	if (!round_up(kernel_end, PAGE, &lowest) || initrd_len > top || ((top - initrd_len) & ~(PAGE - 1)) < lowest) {
		uint64_t room = 0;

		if (round_up(kernel_end, PAGE, &lowest) && top > lowest)
			room = top - lowest;
		set_err(err, err_len,
			"the initrd (%zu bytes) does not fit: %llu bytes free between the kernel's end 0x%llx and 0x%llx (the lower of initrd_addr_max + 1 and the %llu MiB of RAM)",
			initrd_len, (unsigned long long)room, (unsigned long long)kernel_end, (unsigned long long)top,
			(unsigned long long)(ram / MIB));
		return -EFBIG;
	}
	start = (top - initrd_len) & ~(PAGE - 1);
	*addr = start;
	return 0;
}

int bzimage_load(const struct guest_mem *mem, const uint8_t *img, size_t len, const struct bzimage_info *info,
		 const uint8_t *initrd, size_t initrd_len, const char *cmdline, uint64_t rsdp_gpa,
		 struct bzimage_boot *out, char *err, size_t err_len)
{
	static uint8_t const empty[1];
	uint64_t ram, load, need, initrd_pages, initrd_addr = 0, cmax;
	size_t clen;
	uint8_t bp[BP_SIZE];
	struct e820e e820[3];
	int r;

	if (!mem || !mem->host_base || !img || !info || !out || (initrd_len && !initrd)) {
		set_err(err, err_len, "bzimage_load: missing argument");
		return -EINVAL;
	}
	memset(out, 0, sizeof(*out));
	if (info->kernel_offset > len || info->kernel_size > len - info->kernel_offset ||
	    info->hdr_end > HDR_MAX_END || info->hdr_end < HDR_MIN_END || info->hdr_end > len ||
	    info->init_size < info->kernel_size) {
		set_err(err, err_len, "the kernel image does not match its parsed header");
		return -EINVAL;
	}
	ram = mem->size;
	if (ram > BZ_RAM_LIMIT) {
		set_err(err, err_len, "guest RAM (%llu MiB) exceeds the %llu MiB the bzImage loader lays out",
			(unsigned long long)(ram / MIB), BZ_RAM_LIMIT / MIB);
		return -EINVAL;
	}
	/* Enough RAM for low memory + init_size + initrd, before the details. */
	if (!round_up(initrd_len, PAGE, &initrd_pages))
		initrd_pages = UINT64_MAX;
	need = BZ_HIGH_RAM_START + (uint64_t)info->init_size;
	need = initrd_pages > UINT64_MAX - need ? UINT64_MAX : need + initrd_pages;
	if (ram < need) {
		set_err(err, err_len,
			"guest RAM (%llu MiB) is too small: 1 MiB of low memory + the kernel's init_size %u bytes + the initrd's %zu bytes need %llu MiB",
			(unsigned long long)(ram / MIB), info->init_size, initrd_len,
			(unsigned long long)((need + MIB - 1) / MIB));
		return -EFBIG;
	}
	cmax = info->cmdline_size < BZ_CMDLINE_MAX - 1 ? info->cmdline_size : BZ_CMDLINE_MAX - 1;
	clen = cmdline ? strnlen(cmdline, BZ_CMDLINE_MAX) : 0;
	if (clen > cmax) {
		set_err(err, err_len, "the command line is %s%zu bytes; this kernel accepts at most %llu (cmdline_size %u)",
			clen == BZ_CMDLINE_MAX ? "at least " : "", clen, (unsigned long long)cmax, info->cmdline_size);
		return -E2BIG;
	}
	r = bzimage_load_addr(info, ram, &load, err, err_len);
	if (r < 0)
		return r;
	if (initrd_len) {
		r = place_initrd(info, ram, load + info->init_size, initrd_len, &initrd_addr, err, err_len);
		if (r < 0)
			return r;
	}

	/* The zero page: header from the file, then the fields the loader owns. */
	memset(bp, 0, sizeof(bp));
	memcpy(bp + HDR_START, img + HDR_START, info->hdr_end - HDR_START);
	wr8(bp, HDR_TYPE_OF_LOADER, 0xff);
	wr8(bp, HDR_LOADFLAGS, (uint8_t)(info->loadflags | CAN_USE_HEAP));
	wr16(bp, HDR_HEAP_END_PTR, HEAP_END_PTR);
	wr8(bp, HDR_EXT_LOADER_VER, 0);
	wr8(bp, HDR_EXT_LOADER_TYPE, 0);
	wr32(bp, HDR_CMD_LINE_PTR, (uint32_t)BZ_CMDLINE_ADDR);
	wr32(bp, HDR_RAMDISK_IMAGE, (uint32_t)initrd_addr);
	wr32(bp, HDR_RAMDISK_SIZE, (uint32_t)initrd_len);
	/* A file-chosen setup_data pointer would have the kernel walk guest
	 * memory of the file's choosing; squib passes none. */
	if (info->hdr_end >= HDR_SETUP_DATA + 8)
		wr64(bp, HDR_SETUP_DATA, 0);
	wr32(bp, HDR_HW_SUBARCH, 0); /* X86_SUBARCH_PC */
	wr64(bp, HDR_HW_SUBARCH_DATA, 0);
	if (info->version >= RSDP_VERSION)
		wr64(bp, BP_ACPI_RSDP_ADDR, rsdp_gpa);
	e820[0] = (struct e820e){0, BZ_LOW_RAM_END, BZ_E820_RAM};
	e820[1] = (struct e820e){BZ_LOW_RAM_END, BZ_HIGH_RAM_START - BZ_LOW_RAM_END, BZ_E820_RESERVED};
	e820[2] = (struct e820e){BZ_HIGH_RAM_START, ram - BZ_HIGH_RAM_START, BZ_E820_RAM};
	e820_store(bp, e820, ARRAY_SIZE(e820));

	r = guest_mem_write(mem, load, img + info->kernel_offset, info->kernel_size);
	if (r == 0)
		r = write_gdt(mem);
	if (r == 0)
		r = long_mode_write_page_tables(mem);
	if (r == 0)
		r = guest_mem_write(mem, BZ_ZERO_PAGE_ADDR, bp, sizeof(bp));
	if (r == 0)
		r = guest_mem_write(mem, BZ_CMDLINE_ADDR, clen ? (const void *)cmdline : empty, clen);
	if (r == 0)
		r = guest_mem_write(mem, BZ_CMDLINE_ADDR + clen, empty, 1);
	if (r == 0 && initrd_len)
		r = guest_mem_write(mem, initrd_addr, initrd, initrd_len);
	if (r < 0) {
		set_err(err, err_len, "guest RAM too small for the boot structures");
		return r;
	}

	out->entry = load + ENTRY_64_OFFSET;
	out->zero_page = BZ_ZERO_PAGE_ADDR;
	out->stack_top = BZ_STACK_TOP;
	out->cr3 = LONG_MODE_PML4_ADDR;
	out->gdt_base = BZ_GDT_ADDR;
	out->gdt_limit = BZ_GDT_ENTRIES * 8 - 1;
	out->cs_selector = BZ_BOOT_CS;
	out->ds_selector = BZ_BOOT_DS;
	out->load_addr = load;
	out->kernel_end = load + info->init_size;
	out->initrd_addr = initrd_addr;
	out->initrd_size = initrd_len;
	out->cmdline_addr = BZ_CMDLINE_ADDR;
	out->cmdline_len = clen;
	return 0;
}

static bool overlaps(uint64_t a, uint64_t a_end, uint64_t b, uint64_t b_end)
{
	return a < b_end && b < a_end;
}

int bzimage_e820_mark(const struct guest_mem *mem, const struct bzimage_boot *boot, uint64_t base, uint64_t size,
		      uint32_t type, char *err, size_t err_len)
{
	struct e820e in[BZ_E820_MAX], outv[BZ_E820_MAX + 3];
	uint8_t raw[BZ_E820_MAX * E820_ENTRY_SIZE], bp[BP_E820_TABLE + BZ_E820_MAX * E820_ENTRY_SIZE];
	uint64_t end;
	uint8_t n8;
	size_t n, m = 0;
	int r;

	if (!mem || !boot) {
		set_err(err, err_len, "bzimage_e820_mark: missing argument");
		return -EINVAL;
	}
	if (type != BZ_E820_RESERVED && type != BZ_E820_ACPI && type != BZ_E820_NVS) {
		set_err(err, err_len, "e820 type %u is not reserved, ACPI or NVS", type);
		return -EINVAL;
	}
	if (size == 0 || base > UINT64_MAX - size) {
		set_err(err, err_len, "e820 range 0x%llx + 0x%llx is empty or wraps", (unsigned long long)base,
			(unsigned long long)size);
		return -EINVAL;
	}
	end = base + size;
	if (overlaps(base, end, BZ_GDT_ADDR, BOOT_STRUCT_END) ||
	    overlaps(base, end, boot->load_addr, boot->kernel_end) ||
	    (boot->initrd_size && overlaps(base, end, boot->initrd_addr, boot->initrd_addr + boot->initrd_size))) {
		set_err(err, err_len,
			"e820 range [0x%llx, 0x%llx) overlaps the boot structures [0x500, 0x%llx), the kernel [0x%llx, 0x%llx) or the initrd at 0x%llx",
			(unsigned long long)base, (unsigned long long)end, BOOT_STRUCT_END,
			(unsigned long long)boot->load_addr, (unsigned long long)boot->kernel_end,
			(unsigned long long)boot->initrd_addr);
		return -EBUSY;
	}
	r = guest_mem_read(mem, boot->zero_page + BP_E820_ENTRIES, &n8, 1);
	if (r == 0 && n8 <= BZ_E820_MAX)
		r = guest_mem_read(mem, boot->zero_page + BP_E820_TABLE, raw, (uint64_t)n8 * E820_ENTRY_SIZE);
	if (r < 0 || n8 > BZ_E820_MAX) {
		set_err(err, err_len, "no valid e820 map in the zero page at 0x%llx", (unsigned long long)boot->zero_page);
		return r < 0 ? r : -EINVAL;
	}
	n = n8;
	for (size_t i = 0; i < n; i++) {
		in[i].addr = rd64(raw, i * E820_ENTRY_SIZE);
		in[i].size = rd64(raw, i * E820_ENTRY_SIZE + 8);
		in[i].type = rd32(raw, i * E820_ENTRY_SIZE + 16);
		if (in[i].addr > UINT64_MAX - in[i].size) {
			set_err(err, err_len, "e820 entry %zu wraps", i);
			return -EINVAL;
		}
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t s = in[i].addr, x = in[i].addr + in[i].size;

		if (!overlaps(s, x, base, end)) {
			outv[m++] = in[i];
			continue;
		}
		if (s < base)
			outv[m++] = (struct e820e){s, base - s, in[i].type};
		if (x > end)
			outv[m++] = (struct e820e){end, x - end, in[i].type};
		if (m > BZ_E820_MAX)
			break;
	}
	if (m > BZ_E820_MAX) {
		set_err(err, err_len, "the e820 map would exceed %d entries", BZ_E820_MAX);
		return -ENOSPC;
	}
	outv[m++] = (struct e820e){base, size, type};
	/* Insertion sort by address, then merge touching entries of one type. */
	for (size_t i = 1; i < m; i++) {
		struct e820e t = outv[i];
		size_t j = i;

		for (; j > 0 && outv[j - 1].addr > t.addr; j--)
			outv[j] = outv[j - 1];
		outv[j] = t;
	}
	n = 0;
	for (size_t i = 0; i < m; i++) {
		if (n > 0 && outv[n - 1].type == outv[i].type && outv[n - 1].addr + outv[n - 1].size == outv[i].addr)
			outv[n - 1].size += outv[i].size;
		else
			outv[n++] = outv[i];
	}
	if (n > BZ_E820_MAX) {
		set_err(err, err_len, "the e820 map would exceed %d entries", BZ_E820_MAX);
		return -ENOSPC;
	}
	memset(bp, 0, sizeof(bp));
	e820_store(bp, outv, n);
	r = guest_mem_write(mem, boot->zero_page + BP_E820_ENTRIES, bp + BP_E820_ENTRIES, 1);
	if (r == 0)
		r = guest_mem_write(mem, boot->zero_page + BP_E820_TABLE, bp + BP_E820_TABLE, n * E820_ENTRY_SIZE);
	if (r < 0)
		set_err(err, err_len, "cannot write the e820 map");
	return r;
}
