// SPDX-License-Identifier: MIT
/*
 * Unit tests for monitor/kvm/vcpu_cpu.c's CPUID table builder: APIC IDs and
 * topology per vCPU, the hypervisor bit, and KVM's timing leaf, against a
 * synthetic KVM_GET_SUPPORTED_CPUID table shaped like an AMD and an Intel host.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/kvm/vcpu_cpu.h"

#define MAX_ENTRIES 32

static struct kvm_cpuid2 *alloc_table(uint32_t n)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));

	cr_assert_not_null(c);
	return c;
}

static void add(struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx, uint32_t eax, uint32_t ebx, uint32_t ecx,
		uint32_t edx)
{
	struct kvm_cpuid_entry2 *e = &c->entries[c->nent++];

	memset(e, 0, sizeof(*e));
	e->function = fn;
	e->index = idx;
	e->eax = eax;
	e->ebx = ebx;
	e->ecx = ecx;
	e->edx = edx;
}

/* What KVM_GET_SUPPORTED_CPUID might return: host topology that must not leak through. */
static struct kvm_cpuid2 *supported(bool with_timing_leaf)
{
	struct kvm_cpuid2 *c = alloc_table(MAX_ENTRIES);

	add(c, 0x0, 0, 0xd, 0x68747541, 0x444d4163, 0x69746e65);
	add(c, 0x1, 0, 0x800f12, 0x07100800 /* host APIC id 7, 16 logical */, 0x7ed8320b, 0x178bfbff);
	add(c, 0x4, 0, 0x1c004121 /* L1d, 8 cores sharing */, 0x01c0003f, 0x3f, 0);
	add(c, 0x4, 3, 0x1c03c163 /* L3 */, 0x03c0003f, 0x3fff, 0x6);
	add(c, 0x4, 4, 0, 0, 0, 0);
	add(c, 0xb, 0, 1, 2, 0x100, 7);
	add(c, 0xb, 1, 4, 16, 0x201, 7);
	add(c, 0xb, 2, 0, 0, 2, 7);
	add(c, 0x40000000, 0, 0x40000001, 0x4b4d564b, 0x564b4d56, 0x4d);
	add(c, 0x40000001, 0, 0x01007afb, 0, 0, 0);
	add(c, 0x80000008, 0, 0x3030, 0, 0x700f, 0);
	add(c, 0x8000001e, 0, 7, 0x0103, 0x0301, 0);
	if (with_timing_leaf)
		add(c, CPUID_TIMING_LEAF, 0, 1, 2, 3, 4);
	return c;
}

static const struct kvm_cpuid_entry2 *find(const struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx)
{
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == idx)
			return &c->entries[i];
	cr_assert_fail("leaf %#x.%u missing", fn, idx);
	return NULL;
}

static struct kvm_cpuid2 *build_opt(const struct kvm_cpuid2 *sup, unsigned index, unsigned ncpus, uint32_t tsc_khz,
				    bool deadline)
{
	struct kvm_cpuid2 *c = alloc_table(MAX_ENTRIES);
	int r = vcpu_cpuid_build(sup, index, ncpus, tsc_khz, deadline, c, MAX_ENTRIES);

	cr_assert_eq(r, 0, "vcpu_cpuid_build: %d", r);
	return c;
}

static struct kvm_cpuid2 *build(const struct kvm_cpuid2 *sup, unsigned index, unsigned ncpus, uint32_t tsc_khz)
{
	return build_opt(sup, index, ncpus, tsc_khz, false);
}

Test(vcpu_cpuid, tsc_deadline_bit)
{
	struct kvm_cpuid2 *sup = supported(false);
	struct kvm_cpuid2 *with = build_opt(sup, 0, 1, 0, true), *without = build(sup, 0, 1, 0);

	cr_assert(find(with, 0x1, 0)->ecx & (1u << 24), "TSC-deadline advertised when KVM emulates it");
	cr_assert_eq(find(without, 0x1, 0)->ecx & (1u << 24), 0u);
	free(with);
	free(without);
	free(sup);
}

Test(vcpu_cpuid, apic_ids_and_topology)
{
	struct kvm_cpuid2 *sup = supported(false);

	for (unsigned ncpus = 1; ncpus <= 6; ncpus++) {
		for (unsigned i = 0; i < ncpus; i++) {
			struct kvm_cpuid2 *c = build(sup, i, ncpus, 0);
			const struct kvm_cpuid_entry2 *l1 = find(c, 0x1, 0);
			const struct kvm_cpuid_entry2 *smt = find(c, 0xb, 0), *core = find(c, 0xb, 1);

			cr_assert_eq(l1->ebx >> 24, i, "initial APIC id of vCPU %u", i);
			cr_assert_eq((l1->ebx >> 16) & 0xff, ncpus, "logical processor count");
			cr_assert_eq(l1->ebx & 0xffff, 0x0800u, "brand/clflush bits kept");
			cr_assert(l1->ecx & (1u << 31), "hypervisor bit");
			cr_assert_eq(!!(l1->edx & (1u << 28)), ncpus > 1, "HTT iff several logical processors");
			cr_assert_eq(smt->ebx, 1u, "one thread per core");
			cr_assert_eq(smt->ecx, 0x100u);
			cr_assert_eq(core->ebx, ncpus);
			cr_assert_eq(core->ecx, 0x201u);
			cr_assert_geq(1u << core->eax, ncpus, "core shift covers every APIC id");
			cr_assert_lt(1u << core->eax, 2 * ncpus + (ncpus == 1), "core shift is minimal");
			cr_assert_eq(smt->edx, i);
			cr_assert_eq(core->edx, i);
			cr_assert_eq(find(c, 0xb, 2)->ebx, 0u, "no third level");
			cr_assert_eq(find(c, 0x80000008, 0)->ecx & 0xff, ncpus - 1, "AMD NC");
			cr_assert_eq(find(c, 0x8000001e, 0)->eax, i, "AMD extended APIC id");
			cr_assert_eq(find(c, 0x8000001e, 0)->ebx & 0xffff, i, "core id, one thread per core");
			cr_assert_eq(find(c, 0x4, 0)->eax >> 26, ncpus - 1, "cores per package (leaf 4)");
			cr_assert_eq((find(c, 0x4, 0)->eax >> 14) & 0xfff, 0u, "L1 is private");
			cr_assert_eq((find(c, 0x4, 3)->eax >> 14) & 0xfff, ncpus - 1, "L3 is shared by all");
			cr_assert_eq(find(c, 0x4, 4)->eax, 0u, "the end-of-caches leaf stays empty");
			free(c);
		}
	}
	free(sup);
}

Test(vcpu_cpuid, timing_leaf_added)
{
	struct kvm_cpuid2 *sup = supported(false);
	struct kvm_cpuid2 *c = build(sup, 0, 2, 2100000);
	const struct kvm_cpuid_entry2 *t = find(c, CPUID_TIMING_LEAF, 0);

	cr_assert_eq(c->nent, sup->nent + 1);
	cr_assert_eq(t->eax, 2100000u, "TSC kHz");
	cr_assert_eq(t->ebx, KVM_APIC_BUS_KHZ);
	cr_assert_geq(find(c, CPUID_KVM_SIGNATURE, 0)->eax, CPUID_TIMING_LEAF, "the signature leaf covers it");
	cr_assert_eq(find(c, CPUID_KVM_SIGNATURE, 0)->ebx, 0x4b4d564bu, "signature kept");
	free(c);
	free(sup);
}

Test(vcpu_cpuid, timing_leaf_replaced_not_duplicated)
{
	struct kvm_cpuid2 *sup = supported(true);
	struct kvm_cpuid2 *c = build(sup, 1, 2, 1000000);
	unsigned n = 0;

	for (uint32_t i = 0; i < c->nent; i++)
		n += c->entries[i].function == CPUID_TIMING_LEAF;
	cr_assert_eq(n, 1u);
	cr_assert_eq(c->nent, sup->nent);
	cr_assert_eq(find(c, CPUID_TIMING_LEAF, 0)->eax, 1000000u);
	cr_assert_eq(find(c, CPUID_TIMING_LEAF, 0)->ecx, 0u);
	free(c);
	free(sup);
}

Test(vcpu_cpuid, no_tsc_frequency_no_leaf)
{
	struct kvm_cpuid2 *sup = supported(false);
	struct kvm_cpuid2 *c = build(sup, 0, 1, 0);

	cr_assert_eq(c->nent, sup->nent);
	cr_assert_eq(find(c, CPUID_KVM_SIGNATURE, 0)->eax, 0x40000001u, "signature leaf untouched");
	free(c);
	free(sup);
}

Test(vcpu_cpuid, bad_arguments)
{
	struct kvm_cpuid2 *sup = supported(false);
	struct kvm_cpuid2 *c = alloc_table(MAX_ENTRIES);

	cr_assert_eq(vcpu_cpuid_build(sup, 2, 2, 0, false, c, MAX_ENTRIES), -EINVAL, "index past ncpus");
	cr_assert_eq(vcpu_cpuid_build(sup, 0, 0, 0, false, c, MAX_ENTRIES), -EINVAL, "no vCPUs");
	cr_assert_eq(vcpu_cpuid_build(sup, 0, 1, 0, false, c, sup->nent - 1), -EINVAL, "table too small");
	cr_assert_eq(vcpu_cpuid_build(sup, 0, 1, 1000, false, c, sup->nent), -ENOSPC, "no room for the timing leaf");
	free(c);
	free(sup);
}
