/* SPDX-License-Identifier: MIT */
/*
 * Linux bzImage loader, x86 64-bit boot protocol (Linux
 * Documentation/arch/x86/boot.rst, "64-bit Boot Protocol"). Pure functions
 * over byte buffers and a struct guest_mem: no KVM here, the vCPU set-up is
 * the caller's (see "What the vCPU set-up must do" below).
 *
 * Threat note: the kernel image and the initrd are user input. Every header
 * field is range-checked before use and all arithmetic is overflow-safe;
 * every guest-memory write goes through common/guest_mem.h.
 *
 * Low-memory map the loader builds (guest-physical):
 *   0x00500-0x0051f  GDT: null, null, 0x10 = __BOOT_CS (64-bit code),
 *                    0x18 = __BOOT_DS (flat data). Same address as the raw
 *                    guest's GDT, but the protocol wants the selectors
 *                    0x10/0x18 (the raw guest uses 0x08/0x10).
 *   0x01000-0x06fff  identity page tables, byte-for-byte the raw guest's:
 *                    PML4 0x1000, PDPT 0x2000, PDs 0x3000-0x6fff mapping
 *                    0-4 GiB with 2 MiB pages (monitor/boot/long_mode.h).
 *   0x07000-0x07fff  zero page (struct boot_params), rsi at entry.
 *   0x08000-0x0ffff  boot stack, rsp = 0x10000 at entry (startup_64 sets
 *                    its own stack; this is just a valid one).
 *   0x10000-0x1ffff  kernel command line (NUL-terminated), at most
 *                    min(header cmdline_size, 0xffff) characters.
 *   0x20000-0x9fbff  free RAM (the kernel's real-mode trampoline etc.).
 *   0x9fc00-0xfffff  e820 reserved: EBDA, ACPI tables, BIOS area.
 *   load address     protected-mode kernel, [load, load + init_size).
 *   top of RAM       initrd, page-aligned, as high as allowed.
 *
 * What the vCPU set-up must do with struct bzimage_boot (BSP only; the APs
 * stay in KVM's wait-for-SIPI state, Linux starts them with INIT/SIPI):
 *   CPUID set first (KVM checks EFER.LME against it);
 *   CR0 = PE|MP|ET|NE|WP|PG, CR4 = PAE (+OSFXSR|OSXMMEXCPT is fine),
 *   EFER = LME|LMA, CR3 = cr3;
 *   GDTR = gdt_base/gdt_limit, IDTR = 0/0;
 *   CS = cs_selector, 64-bit code (L=1, type 0xb), base 0, limit 4G;
 *   DS = ES = SS (and FS, GS) = ds_selector, flat read/write data;
 *   rip = entry, rsi = zero_page, rsp = stack_top, rflags = 0x2
 *   (interrupts off), every other general register 0.
 */
#ifndef SQUIB_MONITOR_BZIMAGE_H
#define SQUIB_MONITOR_BZIMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"
#include "common/guest_mem.h"

#define BZ_GDT_ADDR 0x500ULL
#define BZ_GDT_ENTRIES 4
#define BZ_BOOT_CS 0x10
#define BZ_BOOT_DS 0x18
#define BZ_ZERO_PAGE_ADDR 0x7000ULL
#define BZ_STACK_TOP 0x10000ULL
#define BZ_CMDLINE_ADDR 0x10000ULL
#define BZ_CMDLINE_MAX 0x10000ULL /* buffer bytes, NUL included */
#define BZ_LOW_RAM_END 0x9fc00ULL  /* e820: RAM [0, this), reserved up to 1 MiB */
#define BZ_HIGH_RAM_START 0x100000ULL
/* RAM must end below the device windows (common/platform.h). */
#define BZ_RAM_LIMIT 0xc0000000ULL

/* e820 types (boot_params.e820_table). */
#define BZ_E820_RAM 1
#define BZ_E820_RESERVED 2
#define BZ_E820_ACPI 3
#define BZ_E820_NVS 4
#define BZ_E820_MAX 128 /* E820_MAX_ENTRIES_ZEROPAGE */

/* Setup header fields, from the image, validated by bzimage_parse. */
struct bzimage_info {
	uint16_t version;          /* protocol, e.g. 0x020f */
	uint8_t setup_sects;       /* effective (0 in the file means 4) */
	uint8_t loadflags;
	uint16_t xloadflags;
	bool relocatable;
	uint32_t hdr_end;          /* file offset just past the setup header */
	uint64_t kernel_offset;    /* file offset of the protected-mode kernel */
	uint64_t kernel_size;      /* bytes to copy: min(syssize * 16, rest of file) */
	uint32_t kernel_alignment; /* power of two */
	uint64_t pref_address;
	uint32_t init_size;        /* linear bytes needed from the load address */
	uint32_t cmdline_size;     /* longest command line, NUL excluded */
	uint32_t initrd_addr_max;  /* highest address of an initrd byte */
};

/* Result of bzimage_load: where things went, and the entry state. */
struct bzimage_boot {
	uint64_t entry;      /* rip: load_addr + 0x200 */
	uint64_t zero_page;  /* rsi */
	uint64_t stack_top;  /* rsp */
	uint64_t cr3;
	uint64_t gdt_base;
	uint16_t gdt_limit;
	uint16_t cs_selector;
	uint16_t ds_selector;
	uint64_t load_addr;
	uint64_t kernel_end; /* load_addr + init_size */
	uint64_t initrd_addr; /* 0 and 0 without an initrd */
	uint64_t initrd_size;
	uint64_t cmdline_addr;
	uint64_t cmdline_len; /* NUL excluded */
};

/* True when img carries a setup header (boot_flag 0xAA55, "HdrS"). */
bool bzimage_detect(const uint8_t *img, size_t len);

/*
 * Validates the setup header. 0, or -ENOEXEC (not a bzImage / malformed),
 * -ENOTSUP (valid but unusable: old protocol, no 64-bit entry, ...), with
 * one line in err naming the problem.
 */
int bzimage_parse(const uint8_t *img, size_t len, struct bzimage_info *out, char *err, size_t err_len) MUST_USE;

/*
 * Chooses the load address for a guest with ram_size bytes: pref_address
 * when [pref, pref + init_size) fits in RAM (and, for a relocatable kernel,
 * pref is >= 1 MiB and kernel_alignment-aligned); otherwise, relocatable
 * only, the lowest kernel_alignment-aligned address >= 16 MiB that fits
 * (keeping the ISA-DMA low 16 MiB free, as the kernel's own default
 * CONFIG_PHYSICAL_START does), else the lowest aligned one >= 1 MiB.
 * -EFBIG with err naming sizes when nothing fits.
 */
int bzimage_load_addr(const struct bzimage_info *info, uint64_t ram_size, uint64_t *addr, char *err,
		      size_t err_len) MUST_USE;

/*
 * Loads a parsed image: kernel at its load address, GDT, page tables, zero
 * page, command line, initrd, e820. initrd may be NULL (initrd_len 0),
 * cmdline may be NULL (empty). rsdp_gpa is stored in acpi_rsdp_addr for
 * protocol >= 2.14 (0: none; older kernels scan 0xe0000-0xfffff).
 * 0, or -EFBIG (does not fit: err names sizes), -E2BIG (command line longer
 * than the kernel accepts), -EINVAL (inconsistent info / RAM layout).
 */
int bzimage_load(const struct guest_mem *mem, const uint8_t *img, size_t len, const struct bzimage_info *info,
		 const uint8_t *initrd, size_t initrd_len, const char *cmdline, uint64_t rsdp_gpa,
		 struct bzimage_boot *out, char *err, size_t err_len) MUST_USE;

/*
 * Marks [base, base + size) with e820 type (BZ_E820_ACPI, _RESERVED, _NVS)
 * in the zero page bzimage_load built, splitting RAM entries as needed. For
 * whoever places the ACPI tables. -EBUSY when the range overlaps what the
 * loader placed (boot structures 0x500-0x1ffff, kernel, initrd), -ENOSPC
 * when the map would exceed 128 entries, -EINVAL for an empty/wrapping
 * range or a RAM type.
 */
int bzimage_e820_mark(const struct guest_mem *mem, const struct bzimage_boot *boot, uint64_t base, uint64_t size,
		      uint32_t type, char *err, size_t err_len) MUST_USE;

#endif
