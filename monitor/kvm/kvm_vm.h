/* SPDX-License-Identifier: MIT */
/*
 * The VM-level KVM objects the monitor owns: /dev/kvm, the VM fd, the
 * in-kernel irqchip, guest RAM slots and the vCPU fds with their kvm_run
 * mappings. Every wrapper states its preconditions; all return 0 / -errno.
 */
#ifndef SQUIB_MONITOR_KVM_VM_H
#define SQUIB_MONITOR_KVM_VM_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"

/*
 * ioctl(2) on a KVM fd, retried on EINTR; the result or -errno.
 * Precondition: req's argument type matches arg (KVM's ABI).
 */
int kvm_ioctl(int fd, unsigned long req, void *arg) MUST_USE;

struct kvm_vm {
	int kvm_fd;
	int vm_fd;
	size_t run_size; /* KVM_GET_VCPU_MMAP_SIZE */
	unsigned max_vcpus;
	struct kvm_cpuid2 *supported_cpuid; /* malloc'd */
	struct kvm_msr_list *msr_list;      /* malloc'd; NULL when KVM lists none */
	/*
	 * /dev/kvm is PVM (kvm_pvm, software virtualization; no kvm_intel or
	 * kvm_amd): an exception injected with KVM_SET_VCPU_EVENTS is delivered
	 * with rip as it stands, even a soft one (#BP), where VMX and SVM
	 * advance rip past the instruction themselves.
	 */
	bool pvm;
};

struct kvm_vcpu_handle {
	int fd;
	struct kvm_run *run; /* mmap of run_size bytes */
};

/*
 * Opens /dev/kvm, checks the API version and every capability squib needs
 * (naming the missing one in err), reads the supported CPUID and MSR
 * lists, creates the VM, the in-kernel irqchip and PIT, and the
 * TSS/identity-map pages. -ENODEV etc. with err filled on failure.
 */
int kvm_vm_create(struct kvm_vm *vm, char *err, size_t err_len) MUST_USE;

/*
 * Registers host memory [host, host + size) as guest-physical
 * [gpa, gpa + size) in slot. Preconditions: host is page aligned and stays
 * mapped for the VM's life; ranges of different slots do not overlap.
 */
int kvm_vm_set_memory(struct kvm_vm *vm, uint32_t slot, uint64_t gpa, void *host, uint64_t size) MUST_USE;

/*
 * Creates vCPU `index` (APIC ID = index) and maps its kvm_run. With
 * all_runnable every vCPU starts running at once (raw guests); otherwise
 * KVM's default holds: vCPU 0 runs, the others wait for INIT/SIPI.
 * Precondition: index < max_vcpus and not created yet.
 */
int kvm_vm_create_vcpu(struct kvm_vm *vm, unsigned index, bool all_runnable, struct kvm_vcpu_handle *out) MUST_USE;

/*
 * A guest write of exactly len bytes of datamatch at MMIO address addr
 * signals eventfd fd in the kernel, with no exit to userspace (virtio
 * QueueNotify). Preconditions: fd is an eventfd; len is 1, 2, 4 or 8; the
 * (addr, len, datamatch) triple is not registered yet. 0 or -errno.
 */
int kvm_vm_add_ioeventfd(struct kvm_vm *vm, uint64_t addr, uint32_t len, uint64_t datamatch, int fd) MUST_USE;

/*
 * A write to eventfd fd asserts IOAPIC pin gsi (level); KVM lowers it when
 * the guest EOIs and signals resample_fd. Preconditions: the in-kernel
 * irqchip exists (kvm_vm_create), gsi < 24, both fds are eventfds and gsi
 * has no other irqfd. 0 or -errno.
 */
int kvm_vm_add_irqfd_resample(struct kvm_vm *vm, uint32_t gsi, int fd, int resample_fd) MUST_USE;

void kvm_vcpu_release(struct kvm_vm *vm, struct kvm_vcpu_handle *vcpu);
void kvm_vm_destroy(struct kvm_vm *vm);

/*
 * A write to eventfd fd pulses IOAPIC pin gsi: KVM raises and at once
 * lowers the line (no resample), an edge for an edge-triggered ISA IRQ.
 * Preconditions: the in-kernel irqchip exists (kvm_vm_create), gsi < 24,
 * fd is an eventfd and gsi has no other irqfd. 0 or -errno.
 */
int kvm_vm_add_irqfd(struct kvm_vm *vm, uint32_t gsi, int fd) MUST_USE;

#endif
