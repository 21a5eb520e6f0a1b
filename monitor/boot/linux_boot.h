/* SPDX-License-Identifier: MIT */
/*
 * Booting a Linux bzImage: the 64-bit boot protocol (monitor/boot/bzimage.c)
 * plus the ACPI tables (monitor/firmware/acpi.h) that describe the vCPUs and the
 * virtio-mmio devices, and the boot vCPU's entry state. The other vCPUs
 * stay in KVM's wait-for-SIPI state: Linux starts them itself.
 */
#ifndef SQUIB_MONITOR_LINUX_BOOT_H
#define SQUIB_MONITOR_LINUX_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"
#include "common/guest_mem.h"
#include "monitor/firmware/acpi.h"
#include "monitor/boot/bzimage.h"

/* Used when --cmdline is not given. */
#define LINUX_DEFAULT_CMDLINE "console=ttyS0"

struct linux_boot_config {
	const uint8_t *kernel;
	size_t kernel_len;
	const uint8_t *initrd; /* NULL: none */
	size_t initrd_len;
	const char *cmdline;   /* NULL: LINUX_DEFAULT_CMDLINE */
	struct acpi_config acpi;
};

/*
 * Validates the kernel's setup header, then loads kernel, initrd, command
 * line, zero page, e820 map and ACPI tables into guest RAM. 0, or -errno
 * with one line in err naming the problem (not a bzImage, too big for
 * RAM, command line too long for this kernel, ...).
 */
int linux_boot_load(const struct guest_mem *mem, const struct linux_boot_config *cfg, struct bzimage_boot *boot,
		    char *err, size_t err_len) MUST_USE;

/*
 * The boot vCPU's registers at the 64-bit entry point: long mode, the
 * loader's GDT and page tables, rsi = zero page, interrupts off.
 * Precondition: CPUID is set and the vCPU has not run.
 */
int linux_boot_setup_bsp(int vcpu_fd, const struct bzimage_boot *boot) MUST_USE;

#endif
