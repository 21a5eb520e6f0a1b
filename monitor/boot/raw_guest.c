/* SPDX-License-Identifier: MIT */
#include "monitor/boot/raw_guest.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/platform.h"
#include "monitor/boot/long_mode.h"

unsigned raw_guest_max_vcpus(void)
{
	return (unsigned)((RAW_GUEST_LOAD_ADDR - RAW_STACKS_LOW) / RAW_GUEST_STACK_SIZE);
}

static int build_gdt(const struct guest_mem *mem)
{
	const uint64_t gdt[3] = {
		0,
		LONG_MODE_GDT_CODE64, /* 0x08 */
		LONG_MODE_GDT_DATA,   /* 0x10 */
	};

	return guest_mem_write(mem, RAW_GDT_ADDR, gdt, sizeof(gdt));
}

int raw_guest_load(const struct guest_mem *mem, const void *image, size_t len, const char *cmdline,
		   char *err, size_t err_len)
{
	int r;

	if (len == 0) {
		snprintf(err, err_len, "the image is empty");
		return -EINVAL;
	}
	if (mem->size <= RAW_GUEST_LOAD_ADDR || len > mem->size - RAW_GUEST_LOAD_ADDR) {
		snprintf(err, err_len, "the image (%zu bytes) does not fit in guest RAM above 0x100000 (%llu bytes free)",
			 len, mem->size > RAW_GUEST_LOAD_ADDR ? (unsigned long long)(mem->size - RAW_GUEST_LOAD_ADDR) : 0ULL);
		return -EFBIG;
	}
	if (cmdline && strlen(cmdline) >= RAW_CMDLINE_MAX) {
		snprintf(err, err_len, "the command line is longer than %llu bytes", RAW_CMDLINE_MAX - 1);
		return -EINVAL;
	}
	r = guest_mem_write(mem, RAW_GUEST_LOAD_ADDR, image, len);
	if (r == 0)
		r = build_gdt(mem);
	if (r == 0)
		r = long_mode_write_page_tables(mem);
	if (r == 0 && cmdline)
		r = guest_mem_write(mem, RAW_CMDLINE_ADDR, cmdline, strlen(cmdline) + 1);
	if (r < 0)
		snprintf(err, err_len, "guest RAM too small for the boot structures");
	return r;
}

int raw_guest_setup_vcpu(int vcpu_fd, unsigned index, unsigned ncpus, uint64_t ram_size, bool has_cmdline)
{
	const struct long_mode_entry e = {
		.gdt_base = RAW_GDT_ADDR,
		.gdt_limit = 3 * 8 - 1,
		.cs_selector = 0x08,
		.ds_selector = 0x10,
		.cr3 = LONG_MODE_PML4_ADDR,
		.rip = RAW_GUEST_LOAD_ADDR,
		.rsp = RAW_GUEST_LOAD_ADDR - (uint64_t)index * RAW_GUEST_STACK_SIZE,
		.rdi = index,
		.rsi = ncpus,
		.rdx = ram_size,
		.rcx = has_cmdline ? RAW_CMDLINE_ADDR : 0,
	};

	return long_mode_set_vcpu(vcpu_fd, &e);
}
