/* SPDX-License-Identifier: MIT */
#include "monitor/raw_guest.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "common/platform.h"

#define PTE_P (1ULL << 0)
#define PTE_RW (1ULL << 1)
#define PTE_PS (1ULL << 7)

#define CR0_PE (1ULL << 0)
#define CR0_MP (1ULL << 1)
#define CR0_ET (1ULL << 4)
#define CR0_NE (1ULL << 5)
#define CR0_WP (1ULL << 16)
#define CR0_PG (1ULL << 31)
#define CR4_PAE (1ULL << 5)
#define CR4_OSFXSR (1ULL << 9)
#define CR4_OSXMMEXCPT (1ULL << 10)
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)

unsigned raw_guest_max_vcpus(void)
{
	return (unsigned)((RAW_GUEST_LOAD_ADDR - RAW_STACKS_LOW) / RAW_GUEST_STACK_SIZE);
}

static int put_u64(const struct guest_mem *mem, uint64_t gpa, uint64_t v)
{
	return guest_mem_write(mem, gpa, &v, sizeof(v));
}

static int build_page_tables(const struct guest_mem *mem)
{
	int r = put_u64(mem, RAW_PML4_ADDR, RAW_PDPT_ADDR | PTE_P | PTE_RW);

	for (uint64_t i = 0; i < RAW_PD_PAGES && r == 0; i++)
		r = put_u64(mem, RAW_PDPT_ADDR + i * 8, (RAW_PD_ADDR + i * 0x1000) | PTE_P | PTE_RW);
	/* Identity-map the low 4 GiB (RAM and every device window) with 2 MiB pages. */
	for (uint64_t i = 0; i < RAW_PD_PAGES * 512 && r == 0; i++)
		r = put_u64(mem, RAW_PD_ADDR + i * 8, (i << 21) | PTE_P | PTE_RW | PTE_PS);
	return r;
}

static int build_gdt(const struct guest_mem *mem)
{
	const uint64_t gdt[3] = {
		0,
		0x00af9b000000ffffULL, /* 0x08: 64-bit code, present, DPL 0 */
		0x00cf93000000ffffULL, /* 0x10: data, read/write, present */
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
		r = build_page_tables(mem);
	if (r == 0 && cmdline)
		r = guest_mem_write(mem, RAW_CMDLINE_ADDR, cmdline, strlen(cmdline) + 1);
	if (r < 0)
		snprintf(err, err_len, "guest RAM too small for the boot structures");
	return r;
}

static void set_segment(struct kvm_segment *s, uint16_t selector, uint8_t type, bool code)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = selector;
	s->type = type;
	s->present = 1;
	s->dpl = 0;
	s->s = 1;
	s->g = 1;
	s->l = code ? 1 : 0;
	s->db = code ? 0 : 1;
}

int raw_guest_setup_vcpu(int vcpu_fd, unsigned index, unsigned ncpus, uint64_t ram_size, bool has_cmdline)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	if (ioctl(vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	set_segment(&sregs.cs, 0x08, 0xb, true);
	set_segment(&sregs.ds, 0x10, 0x3, false);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.gdt.base = RAW_GDT_ADDR;
	sregs.gdt.limit = 3 * 8 - 1;
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	sregs.cr3 = RAW_PML4_ADDR;
	sregs.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
	sregs.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
	sregs.efer = EFER_LME | EFER_LMA;
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
		return -errno;

	memset(&regs, 0, sizeof(regs));
	regs.rflags = 0x2; /* interrupts disabled */
	regs.rip = RAW_GUEST_LOAD_ADDR;
	regs.rsp = RAW_GUEST_LOAD_ADDR - (uint64_t)index * RAW_GUEST_STACK_SIZE;
	regs.rdi = index;
	regs.rsi = ncpus;
	regs.rdx = ram_size;
	regs.rcx = has_cmdline ? RAW_CMDLINE_ADDR : 0;
	if (ioctl(vcpu_fd, KVM_SET_REGS, &regs) < 0)
		return -errno;
	return 0;
}
