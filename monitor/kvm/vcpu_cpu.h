/* SPDX-License-Identifier: MIT */
/*
 * The CPU each vCPU presents: CPUID, the MSRs a booting kernel expects,
 * and the local APIC's LINT pins. Every function here runs before the
 * vCPU's first KVM_RUN (precondition of each).
 *
 * Topology: the vCPUs are the cores of one socket, one thread per core,
 * APIC ID = vCPU index.
 */
#ifndef SQUIB_MONITOR_VCPU_CPU_H
#define SQUIB_MONITOR_VCPU_CPU_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/compiler.h"
#include "monitor/kvm/kvm_vm.h"

/* KVM's timing leaf (also VMware's): eax = TSC kHz, ebx = APIC bus kHz. */
#define CPUID_KVM_SIGNATURE 0x40000000u
#define CPUID_TIMING_LEAF 0x40000010u
#define KVM_APIC_BUS_KHZ 1000000u /* KVM's local APIC timer counts nanoseconds */

/*
 * Fills c (room for max entries, c->nent set by the caller to what sup
 * holds) from KVM_GET_SUPPORTED_CPUID sup for vCPU index of ncpus: APIC
 * IDs in leaves 0x1, 0xb, 0x1f and 0x8000001e, the topology (leaves 0x1,
 * 0x4, 0xb, 0x80000008, 0x8000001e), the hypervisor bit, and, when tsc_khz
 * is not 0, the timing leaf 0x40000010 so the guest need not calibrate its
 * TSC. With tsc_deadline, the TSC-deadline timer bit (leaf 0x1 ecx 24),
 * which KVM's in-kernel LAPIC emulates on every host but
 * KVM_GET_SUPPORTED_CPUID does not report (QEMU adds it the same way):
 * Linux then programs its LAPIC timer in TSC-deadline mode instead of
 * calibrating it against the PIT, a calibration that fails under nested
 * emulation and leaves the guest without a working tick.
 * Pure (unit-tested). 0, or -ENOSPC when the timing leaf does not fit.
 */
int vcpu_cpuid_build(const struct kvm_cpuid2 *sup, unsigned index, unsigned ncpus, uint32_t tsc_khz,
		     bool tsc_deadline, struct kvm_cpuid2 *c, uint32_t max) MUST_USE;

/*
 * KVM_SET_CPUID2 with vcpu_cpuid_build's table; the TSC frequency is the
 * vCPU's KVM_GET_TSC_KHZ when the kernel offers it, the TSC-deadline bit
 * set when KVM_CAP_TSC_DEADLINE_TIMER says so.
 * Precondition: the vCPU has not run.
 */
int vcpu_cpu_setup_cpuid(struct kvm_vm *vm, const struct kvm_vcpu_handle *vcpu, unsigned index, unsigned ncpus) MUST_USE;

/*
 * Sets the boot values of the MSRs a kernel expects (SYSENTER/SYSCALL
 * registers zero, fast strings on, MTRRs enabled with write-back
 * as the default type), each only when KVM_GET_MSR_INDEX_LIST names it:
 * setting an MSR KVM does not offer fails the whole KVM_SET_MSRS (QEMU
 * aborts that way on IA32_ARCH_CAPABILITIES on some hosts). *nset gets
 * how many were set. Precondition: the vCPU has not run.
 */
int vcpu_cpu_setup_msrs(struct kvm_vm *vm, const struct kvm_vcpu_handle *vcpu, unsigned *nset) MUST_USE;

/*
 * Local APIC LINT0 = ExtINT (the 8259's output, virtual-wire mode) and
 * LINT1 = NMI, as a PC's firmware leaves them. Precondition: the in-kernel
 * irqchip exists and the vCPU has not run.
 */
int vcpu_cpu_setup_lapic(const struct kvm_vcpu_handle *vcpu) MUST_USE;

#endif
