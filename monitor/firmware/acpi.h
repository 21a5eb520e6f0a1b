/* SPDX-License-Identifier: MIT */
/*
 * ACPI tables for Linux guests (issue 4): stock distribution kernels find
 * their vCPUs in the MADT and squib's virtio-mmio devices (_HID "LNRO0005")
 * and COM1 in the DSDT; `poweroff` uses the FADT's PM1a control block and
 * the DSDT's \_S5 object, `reboot` the FADT's reset register.
 *
 * acpi_build() is a pure table builder: it only writes guest memory through
 * the checked accessor, so it is unit-tested against a heap "guest RAM".
 *
 * Layout inside [base, base + len), in this order: RSDP (revision 2, at
 * base), FACS (64-byte aligned), XSDT -> { FADT, MADT }, FADT -> { FACS,
 * DSDT }. ACPI_DEFAULT_BASE puts the RSDP where Linux scans for it
 * (0xE0000-0xFFFFF, 16-byte boundaries) and the boot code should still pass
 * the reported RSDP address in boot_params.acpi_rsdp_addr (boot protocol
 * 2.14+), and mark the region reserved (or ACPI, type 3) in the E820 map.
 */
#ifndef SQUIB_MONITOR_ACPI_H
#define SQUIB_MONITOR_ACPI_H

#include <stdbool.h>
#include <stdint.h>

#include "common/compiler.h"
#include "common/guest_mem.h"

/* The BIOS read-only area, scanned by Linux for "RSD PTR ". */
#define ACPI_DEFAULT_BASE 0xe0000ULL
#define ACPI_DEFAULT_LEN 0x20000ULL

/* Every table fits in this many bytes, whatever the (valid) config. */
#define ACPI_MAX_SIZE 0x2000ULL

struct acpi_virtio_dev {
	uint64_t base; /* below 4 GiB (Memory32Fixed) */
	uint32_t size;
	uint32_t gsi;  /* IOAPIC pin, level-triggered active high */
};

struct acpi_config {
	unsigned ncpus;                       /* 1..CLI_MAX_CPUS: one Local APIC each, APIC id = index */
	const struct acpi_virtio_dev *virtio; /* DSDT devices VR00.., _UID = index */
	unsigned nvirtio;                     /* 0..VIRTIO_MMIO_SLOTS */
	bool com1;                            /* describe COM1 (PNP0501, 0x3f8-0x3ff, IRQ 4) */
};

/*
 * Writes the tables into guest memory at [base, base + len) and stores the
 * RSDP's guest-physical address in *rsdp_gpa (= base). base must be 16-byte
 * aligned. 0; -EINVAL for a bad config or base; -ENOSPC when the tables do
 * not fit in len bytes; -EFAULT when the region is not inside guest RAM.
 */
int acpi_build(const struct guest_mem *mem, uint64_t base, uint64_t len, const struct acpi_config *cfg,
	       uint64_t *rsdp_gpa) MUST_USE;

#endif
