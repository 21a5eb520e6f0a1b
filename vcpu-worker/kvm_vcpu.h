/* SPDX-License-Identifier: MIT */
/*
 * The vCPU ioctls a vCPU worker may issue (its seccomp filter admits exactly
 * these request numbers on its vCPU fd). Raw syscalls, -errno results.
 *
 * Common precondition: fd is a KVM vCPU fd created by this task's memory
 * owner (KVM refuses vCPU ioctls with EIO from any other mm), and the
 * argument points to writable memory of the struct the request encodes.
 */
#ifndef SQUIB_VCPU_KVM_VCPU_H
#define SQUIB_VCPU_KVM_VCPU_H

#include <linux/kvm.h>

#include "common/raw_syscall.h"

/* Runs the vCPU until an exit userspace must handle; -EINTR on a signal. */
static inline MUST_USE long kvm_vcpu_run(int fd)
{
	return raw_ioctl(fd, KVM_RUN, 0);
}

/* Precondition: regs points to a struct kvm_regs. */
static inline MUST_USE long kvm_vcpu_get_regs(int fd, struct kvm_regs *regs)
{
	return raw_ioctl(fd, KVM_GET_REGS, (unsigned long)regs);
}

/* Precondition: regs holds a full register set read by KVM_GET_REGS. */
static inline MUST_USE long kvm_vcpu_set_regs(int fd, const struct kvm_regs *regs)
{
	return raw_ioctl(fd, KVM_SET_REGS, (unsigned long)regs);
}

/* Precondition: sregs points to a struct kvm_sregs. Read-only: used for state dumps. */
static inline MUST_USE long kvm_vcpu_get_sregs(int fd, struct kvm_sregs *sregs)
{
	return raw_ioctl(fd, KVM_GET_SREGS, (unsigned long)sregs);
}

/* Precondition: ev points to a struct kvm_vcpu_events. */
static inline MUST_USE long kvm_vcpu_get_events(int fd, struct kvm_vcpu_events *ev)
{
	return raw_ioctl(fd, KVM_GET_VCPU_EVENTS, (unsigned long)ev);
}

/* Precondition: ev was read by KVM_GET_VCPU_EVENTS and then modified. */
static inline MUST_USE long kvm_vcpu_set_events(int fd, const struct kvm_vcpu_events *ev)
{
	return raw_ioctl(fd, KVM_SET_VCPU_EVENTS, (unsigned long)ev);
}

/* Precondition: dbg is fully initialized (unused fields zero). */
static inline MUST_USE long kvm_vcpu_set_guest_debug(int fd, const struct kvm_guest_debug *dbg)
{
	return raw_ioctl(fd, KVM_SET_GUEST_DEBUG, (unsigned long)dbg);
}

/* Translates tr->linear_address through the guest's current page tables. */
static inline MUST_USE long kvm_vcpu_translate(int fd, struct kvm_translation *tr)
{
	return raw_ioctl(fd, KVM_TRANSLATE, (unsigned long)tr);
}

#endif
