/* SPDX-License-Identifier: MIT */
/*
 * The VM-level KVM objects the monitor owns: /dev/kvm, the VM fd, the
 * in-kernel irqchip, guest RAM slots and the vCPU fds with their kvm_run
 * mappings. Every wrapper states its preconditions; all return 0 / -errno.
 */
#ifndef SQUIB_MONITOR_KVM_VM_H
#define SQUIB_MONITOR_KVM_VM_H

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"

struct kvm_vm {
	int kvm_fd;
	int vm_fd;
	size_t run_size; /* KVM_GET_VCPU_MMAP_SIZE */
	unsigned max_vcpus;
	struct kvm_cpuid2 *supported_cpuid; /* malloc'd */
};

struct kvm_vcpu_handle {
	int fd;
	struct kvm_run *run; /* mmap of run_size bytes */
};

/*
 * Opens /dev/kvm, checks the API version and every capability squib needs
 * (naming the missing one in err), creates the VM, the in-kernel irqchip
 * and the TSS/identity-map pages. -ENODEV etc. with err filled on failure.
 */
int kvm_vm_create(struct kvm_vm *vm, char *err, size_t err_len) MUST_USE;

/*
 * Registers host memory [host, host + size) as guest-physical
 * [gpa, gpa + size) in slot. Preconditions: host is page aligned and stays
 * mapped for the VM's life; ranges of different slots do not overlap.
 */
int kvm_vm_set_memory(struct kvm_vm *vm, uint32_t slot, uint64_t gpa, void *host, uint64_t size) MUST_USE;

/* Creates vCPU `index` (APIC ID = index) and maps its kvm_run. */
int kvm_vm_create_vcpu(struct kvm_vm *vm, unsigned index, struct kvm_vcpu_handle *out) MUST_USE;

/*
 * Sets CPUID for vCPU index from KVM_GET_SUPPORTED_CPUID, with its APIC ID
 * in leaves 0x1 and 0xb and the hypervisor bit set. Precondition: the vCPU
 * has not run yet.
 */
int kvm_vcpu_setup_cpuid(struct kvm_vm *vm, const struct kvm_vcpu_handle *vcpu, unsigned index) MUST_USE;

void kvm_vcpu_release(struct kvm_vm *vm, struct kvm_vcpu_handle *vcpu);
void kvm_vm_destroy(struct kvm_vm *vm);

#endif
