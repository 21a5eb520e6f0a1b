/* SPDX-License-Identifier: MIT */
/*
 * SMBIOS (DMI) tables for Linux guests: a 64-bit entry point ("_SM3_",
 * SMBIOS 3.0) where Linux scans for it (0xF0000-0xFFFFF), a BIOS
 * Information structure (type 0), System Information (type 1) and the
 * end-of-table marker (type 127).
 *
 * Why a VMM without firmware writes these: the guest learns what it runs
 * on (`dmesg`: "DMI: squib squib VM, BIOS squib ..."; dmidecode;
 * /sys/class/dmi/id), and Linux trusts PCI configuration mechanism #1
 * without probing every device on bus 0 only when the BIOS date is 2001 or
 * later. Pure builder over guest memory through the checked accessor.
 */
#ifndef SQUIB_MONITOR_SMBIOS_H
#define SQUIB_MONITOR_SMBIOS_H

#include <stdint.h>

#include "monitor/firmware/acpi.h"

#include "common/compiler.h"
#include "common/guest_mem.h"

#define SMBIOS_DEFAULT_BASE 0xf0000ULL
#define SMBIOS_MAX_SIZE 0x400ULL
_Static_assert(ACPI_DEFAULT_BASE + ACPI_MAX_SIZE <= SMBIOS_DEFAULT_BASE, "ACPI and SMBIOS tables overlap");

/* Date and version squib reports as its "BIOS" (fixed, so boots are reproducible). */
#define SMBIOS_BIOS_VENDOR "squib"
#define SMBIOS_BIOS_VERSION "squib"
#define SMBIOS_BIOS_DATE "11/22/2026" /* mm/dd/yyyy, as DMI wants */
#define SMBIOS_SYSTEM_MANUFACTURER "squib"
#define SMBIOS_SYSTEM_PRODUCT "squib VM"

/*
 * Writes the entry point at base (16-byte aligned) and the structures right
 * after it, at most SMBIOS_MAX_SIZE bytes in all. 0, -EINVAL for a bad
 * base, -EFAULT when the range is not inside guest RAM.
 */
int smbios_build(const struct guest_mem *mem, uint64_t base) MUST_USE;

#endif
