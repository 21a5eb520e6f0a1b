/* SPDX-License-Identifier: MIT */
#include "monitor/kvm/vcpu_cpu.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_1_EDX_HTT (1u << 28)
#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)
#define TOPO_LEVEL_SMT 1u
#define TOPO_LEVEL_CORE 2u

#define MSR_IA32_SYSENTER_CS 0x174u
#define MSR_IA32_SYSENTER_ESP 0x175u
#define MSR_IA32_SYSENTER_EIP 0x176u
#define MSR_IA32_MISC_ENABLE 0x1a0u
#define MSR_MTRR_DEF_TYPE 0x2ffu
#define MSR_STAR 0xc0000081u
#define MSR_LSTAR 0xc0000082u
#define MSR_CSTAR 0xc0000083u
#define MSR_SYSCALL_MASK 0xc0000084u
#define MSR_KERNEL_GS_BASE 0xc0000102u
#define MISC_ENABLE_FAST_STRING 1u
#define MTRR_DEF_TYPE_ENABLE (1u << 11)
#define MTRR_TYPE_WRBACK 6u

#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_MODE_NMI 0x4u
#define APIC_MODE_EXTINT 0x7u

/* Bits needed to number n things (0 for n <= 1). */
static uint32_t id_bits(unsigned n)
{
	uint32_t b = 0;

	while ((1u << b) < n)
		b++;
	return b;
}

static void set_topology_leaf(struct kvm_cpuid_entry2 *e, unsigned index, unsigned ncpus)
{
	uint32_t apic = index;

	switch (e->index) {
	case 0: /* threads in a core: one */
		e->eax = 0;
		e->ebx = 1;
		e->ecx = (TOPO_LEVEL_SMT << 8) | 0;
		break;
	case 1: /* cores in the package */
		e->eax = id_bits(ncpus);
		e->ebx = ncpus;
		e->ecx = (TOPO_LEVEL_CORE << 8) | 1;
		break;
	default: /* no further level */
		e->eax = 0;
		e->ebx = 0;
		e->ecx = e->index & 0xff;
		break;
	}
	e->edx = apic;
}

static void fix_entry(struct kvm_cpuid_entry2 *e, unsigned index, unsigned ncpus, bool tsc_deadline)
{
	uint32_t cores_m1 = ncpus > 64 ? 63 : ncpus - 1;

	switch (e->function) {
	case 0x1:
		e->ebx = (e->ebx & 0x0000ffffu) | (index << 24) | ((ncpus > 255 ? 255u : ncpus) << 16);
		e->ecx |= CPUID_1_ECX_HYPERVISOR;
		if (tsc_deadline)
			e->ecx |= CPUID_1_ECX_TSC_DEADLINE;
		if (ncpus > 1)
			e->edx |= CPUID_1_EDX_HTT;
		else
			e->edx &= ~CPUID_1_EDX_HTT;
		break;
	case 0x4: /* deterministic cache parameters (Intel) */
		if ((e->eax & 0x1f) == 0)
			break; /* no more caches */
		e->eax &= 0x00003fffu;
		e->eax |= cores_m1 << 26;
		/* L3 (level 3) is shared by the package, the others private to a core. */
		if (((e->eax >> 5) & 7) == 3)
			e->eax |= (uint32_t)(ncpus - 1 > 0xfff ? 0xfff : ncpus - 1) << 14;
		break;
	case 0xb:
	case 0x1f:
		set_topology_leaf(e, index, ncpus);
		break;
	case 0x80000008: /* AMD: NC = cores - 1, ApicIdCoreIdSize */
		e->ecx = (e->ecx & ~0xf0ffu) | (id_bits(ncpus) << 12) | (ncpus - 1);
		break;
	case 0x8000001e: /* AMD extended APIC ID, core and node ids */
		e->eax = index;
		e->ebx = (e->ebx & ~0xffffu) | (index & 0xff); /* one thread per core */
		e->ecx = e->ecx & ~0x7ffu;                     /* node 0, one node per package */
		break;
	default:
		break;
	}
}

int vcpu_cpuid_build(const struct kvm_cpuid2 *sup, unsigned index, unsigned ncpus, uint32_t tsc_khz,
		     bool tsc_deadline, struct kvm_cpuid2 *c, uint32_t max)
{
	bool have_timing = false;
	struct kvm_cpuid_entry2 *sig = NULL;

	if (!sup || !c || ncpus == 0 || index >= ncpus || sup->nent > max)
		return -EINVAL;
	c->nent = sup->nent;
	c->padding = 0;
	memcpy(c->entries, sup->entries, sup->nent * sizeof(sup->entries[0]));
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		fix_entry(e, index, ncpus, tsc_deadline);
		if (e->function == CPUID_KVM_SIGNATURE)
			sig = e;
		if (e->function == CPUID_TIMING_LEAF) {
			have_timing = true;
			e->eax = tsc_khz;
			e->ebx = KVM_APIC_BUS_KHZ;
			e->ecx = e->edx = 0;
		}
	}
	if (tsc_khz == 0 || !sig)
		return 0;
	if (!have_timing) {
		struct kvm_cpuid_entry2 *t;

		if (c->nent >= max)
			return -ENOSPC;
		t = &c->entries[c->nent++];
		memset(t, 0, sizeof(*t));
		t->function = CPUID_TIMING_LEAF;
		t->eax = tsc_khz;
		t->ebx = KVM_APIC_BUS_KHZ;
	}
	if (sig->eax < CPUID_TIMING_LEAF)
		sig->eax = CPUID_TIMING_LEAF;
	return 0;
}

int vcpu_cpu_setup_cpuid(struct kvm_vm *vm, const struct kvm_vcpu_handle *vcpu, unsigned index, unsigned ncpus)
{
	const struct kvm_cpuid2 *sup = vm->supported_cpuid;
	uint32_t max = sup->nent + 1;
	struct kvm_cpuid2 *c = malloc(sizeof(*c) + max * sizeof(c->entries[0]));
	int tsc_khz = 0, r;
	bool deadline;

	if (!c)
		return -ENOMEM;
	deadline = kvm_ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, (void *)(long)KVM_CAP_TSC_DEADLINE_TIMER) > 0;
	if (kvm_ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, (void *)(long)KVM_CAP_GET_TSC_KHZ) > 0) {
		tsc_khz = kvm_ioctl(vcpu->fd, KVM_GET_TSC_KHZ, NULL);
		if (tsc_khz < 0)
			tsc_khz = 0;
	}
	r = vcpu_cpuid_build(sup, index, ncpus, (uint32_t)tsc_khz, deadline, c, max);
	if (r == 0)
		r = kvm_ioctl(vcpu->fd, KVM_SET_CPUID2, c);
	free(c);
	return r < 0 ? r : 0;
}

static bool msr_offered(const struct kvm_vm *vm, uint32_t index)
{
	for (uint32_t i = 0; vm->msr_list && i < vm->msr_list->nmsrs; i++)
		if (vm->msr_list->indices[i] == index)
			return true;
	return false;
}

int vcpu_cpu_setup_msrs(struct kvm_vm *vm, const struct kvm_vcpu_handle *vcpu, unsigned *nset)
{
	static const struct {
		uint32_t index;
		uint64_t value;
	} wanted[] = {
		{ MSR_IA32_SYSENTER_CS, 0 },
		{ MSR_IA32_SYSENTER_ESP, 0 },
		{ MSR_IA32_SYSENTER_EIP, 0 },
		{ MSR_STAR, 0 },
		{ MSR_LSTAR, 0 },
		{ MSR_CSTAR, 0 },
		{ MSR_SYSCALL_MASK, 0 },
		{ MSR_KERNEL_GS_BASE, 0 },
		{ MSR_IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING },
		{ MSR_MTRR_DEF_TYPE, MTRR_DEF_TYPE_ENABLE | MTRR_TYPE_WRBACK },
	};
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[sizeof(wanted) / sizeof(wanted[0])];
	} msrs;
	uint32_t n = 0;
	int r;

	memset(&msrs, 0, sizeof(msrs));
	for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
		if (!msr_offered(vm, wanted[i].index))
			continue;
		msrs.e[n].index = wanted[i].index;
		msrs.e[n].data = wanted[i].value;
		n++;
	}
	msrs.hdr.nmsrs = n;
	/* KVM_SET_MSRS returns how many it set, stopping at the first it refuses. */
	r = kvm_ioctl(vcpu->fd, KVM_SET_MSRS, &msrs);
	if (r < 0)
		return r;
	*nset = (unsigned)r;
	if ((uint32_t)r != n)
		return -EINVAL;
	return 0;
}

static void set_lvt_mode(struct kvm_lapic_state *l, unsigned reg, uint32_t mode)
{
	uint32_t v;

	memcpy(&v, &l->regs[reg], sizeof(v));
	v = (v & ~0x700u & ~(1u << 16)) | (mode << 8); /* delivery mode, unmasked */
	memcpy(&l->regs[reg], &v, sizeof(v));
}

int vcpu_cpu_setup_lapic(const struct kvm_vcpu_handle *vcpu)
{
	struct kvm_lapic_state l;
	int r = kvm_ioctl(vcpu->fd, KVM_GET_LAPIC, &l);

	if (r < 0)
		return r;
	set_lvt_mode(&l, APIC_LVT_LINT0, APIC_MODE_EXTINT);
	set_lvt_mode(&l, APIC_LVT_LINT1, APIC_MODE_NMI);
	r = kvm_ioctl(vcpu->fd, KVM_SET_LAPIC, &l);
	return r < 0 ? r : 0;
}
