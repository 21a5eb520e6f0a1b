/* SPDX-License-Identifier: MIT */
#include "monitor/boot/long_mode.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <string.h>

#include "monitor/kvm/kvm_vm.h"

#define PTE_P (1ULL << 0)
#define PTE_RW (1ULL << 1)
#define PTE_PS (1ULL << 7)
#define PAGE 0x1000ULL

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

int long_mode_write_page_tables(const struct guest_mem *mem)
{
	uint64_t t[512];
	int r;

	memset(t, 0, sizeof(t));
	t[0] = LONG_MODE_PDPT_ADDR | PTE_P | PTE_RW;
	r = guest_mem_write(mem, LONG_MODE_PML4_ADDR, t, sizeof(t));
	for (uint64_t i = 0; i < LONG_MODE_PD_PAGES; i++)
		t[i] = (LONG_MODE_PD_ADDR + i * PAGE) | PTE_P | PTE_RW;
	if (r == 0)
		r = guest_mem_write(mem, LONG_MODE_PDPT_ADDR, t, sizeof(t));
	for (uint64_t pd = 0; pd < LONG_MODE_PD_PAGES && r == 0; pd++) {
		for (uint64_t i = 0; i < 512; i++)
			t[i] = ((pd * 512 + i) << 21) | PTE_P | PTE_RW | PTE_PS;
		r = guest_mem_write(mem, LONG_MODE_PD_ADDR + pd * PAGE, t, sizeof(t));
	}
	return r;
}

static void flat_segment(struct kvm_segment *s, uint16_t selector, bool code)
{
	memset(s, 0, sizeof(*s));
	s->limit = 0xffffffff;
	s->selector = selector;
	s->type = code ? 0xb : 0x3; /* execute/read accessed; read/write accessed */
	s->present = 1;
	s->s = 1;
	s->g = 1;
	s->l = code ? 1 : 0;
	s->db = code ? 0 : 1;
}

int long_mode_set_vcpu(int vcpu_fd, const struct long_mode_entry *e)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	int r;

	/* Preconditions (long_mode.h): vcpu_fd is a vCPU of this process's VM, not running. */
	r = kvm_ioctl(vcpu_fd, KVM_GET_SREGS, &sregs);
	if (r < 0)
		return r;
	flat_segment(&sregs.cs, e->cs_selector, true);
	flat_segment(&sregs.ds, e->ds_selector, false);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.gdt.base = e->gdt_base;
	sregs.gdt.limit = e->gdt_limit;
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	sregs.cr3 = e->cr3;
	sregs.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
	sregs.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
	sregs.efer = EFER_LME | EFER_LMA;
	r = kvm_ioctl(vcpu_fd, KVM_SET_SREGS, &sregs);
	if (r < 0)
		return r;

	memset(&regs, 0, sizeof(regs));
	regs.rflags = 0x2;
	regs.rip = e->rip;
	regs.rsp = e->rsp;
	regs.rdi = e->rdi;
	regs.rsi = e->rsi;
	regs.rdx = e->rdx;
	regs.rcx = e->rcx;
	r = kvm_ioctl(vcpu_fd, KVM_SET_REGS, &regs);
	return r < 0 ? r : 0;
}
