/* SPDX-License-Identifier: MIT */
#include "monitor/boot/linux_boot.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "monitor/boot/long_mode.h"
#include "monitor/firmware/smbios.h"

int linux_boot_load(const struct guest_mem *mem, const struct linux_boot_config *cfg, struct bzimage_boot *boot,
		    char *err, size_t err_len)
{
	struct bzimage_info info;
	uint64_t rsdp = 0;
	int r;

	r = bzimage_parse(cfg->kernel, cfg->kernel_len, &info, err, err_len);
	if (r < 0)
		return r;
	r = bzimage_load(mem, cfg->kernel, cfg->kernel_len, &info, cfg->initrd, cfg->initrd_len,
			 cfg->cmdline ? cfg->cmdline : LINUX_DEFAULT_CMDLINE, ACPI_DEFAULT_BASE, boot, err, err_len);
	if (r < 0)
		return r;
	/* The tables sit in the BIOS area the e820 map already reserves,
	 * where kernels older than protocol 2.14 scan for the RSDP; the SMBIOS
	 * entry point above them, where Linux scans for it. */
	r = acpi_build(mem, ACPI_DEFAULT_BASE, ACPI_MAX_SIZE, &cfg->acpi, &rsdp);
	if (r < 0) {
		snprintf(err, err_len, "cannot build the ACPI tables: %s", strerror(-r));
		return r;
	}
	if (rsdp != ACPI_DEFAULT_BASE) {
		snprintf(err, err_len, "the ACPI tables moved their RSDP to 0x%llx (bug)", (unsigned long long)rsdp);
		return -EPROTO;
	}
	r = smbios_build(mem, SMBIOS_DEFAULT_BASE);
	if (r < 0)
		snprintf(err, err_len, "cannot write the SMBIOS tables: %s", strerror(-r));
	return r;
}

int linux_boot_setup_bsp(int vcpu_fd, const struct bzimage_boot *boot)
{
	const struct long_mode_entry e = {
		.gdt_base = boot->gdt_base,
		.gdt_limit = boot->gdt_limit,
		.cs_selector = boot->cs_selector,
		.ds_selector = boot->ds_selector,
		.cr3 = boot->cr3,
		.rip = boot->entry,
		.rsp = boot->stack_top,
		.rsi = boot->zero_page,
	};

	return long_mode_set_vcpu(vcpu_fd, &e);
}
