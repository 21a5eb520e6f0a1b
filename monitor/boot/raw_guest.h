/* SPDX-License-Identifier: MIT */
/*
 * The raw guest ABI (README: "Raw guest ABI"): a flat binary at 0x100000,
 * every vCPU entering it in 64-bit long mode with identity-mapped paging, a
 * private 16 KiB stack below 1 MiB, and rdi/rsi/rdx/rcx describing the VM.
 *
 * Low-memory layout the monitor builds (all below the load address):
 *   0x0500  GDT: null, 64-bit code (0x08), data (0x10)
 *   0x1000  identity page tables to 0x6fff (monitor/boot/long_mode.h)
 *   0x7000  the --cmdline string (4 KiB)
 *   below 0x100000: vCPU i's stack is [0x100000 - (i+1)*16K, 0x100000 - i*16K)
 */
#ifndef SQUIB_MONITOR_RAW_GUEST_H
#define SQUIB_MONITOR_RAW_GUEST_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"
#include "common/guest_mem.h"

#define RAW_GDT_ADDR 0x500ULL
#define RAW_CMDLINE_ADDR 0x7000ULL
#define RAW_CMDLINE_MAX 4096ULL
#define RAW_STACKS_LOW 0x8000ULL

/*
 * Copies image (len bytes) to 0x100000 and builds the GDT, page tables and
 * command line. -EFBIG when the image does not fit in guest RAM (err names
 * sizes), -EINVAL for an empty image or an over-long command line.
 */
int raw_guest_load(const struct guest_mem *mem, const void *image, size_t len, const char *cmdline,
		   char *err, size_t err_len) MUST_USE;

/* Largest vCPU count whose stacks fit below the load address. */
unsigned raw_guest_max_vcpus(void);

/*
 * Puts vCPU index into 64-bit mode at the entry point with the ABI's
 * registers. Precondition: CPUID was set on the vCPU (KVM checks EFER.LME
 * against it) and the vCPU has not run.
 */
int raw_guest_setup_vcpu(int vcpu_fd, unsigned index, unsigned ncpus, uint64_t ram_size, bool has_cmdline) MUST_USE;

#endif
