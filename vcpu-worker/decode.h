/* SPDX-License-Identifier: MIT */
/*
 * Decoding struct kvm_run into portable VmExits.
 *
 * The vCPU worker parses nothing but kvm_run fields (docs/DESIGN.md). kvm_run is
 * written by the kernel, but its sizes and offsets are still checked against
 * the mapping before use, so a kernel/ABI mismatch becomes an InternalError
 * rather than a wild access.
 *
 * One KVM exit can stand for several VmExits: string I/O (rep ins/outs)
 * exits once with io.count repetitions. vcpu_exit_repeats() says how many;
 * vcpu_decode_exit() decodes repetition `rep`.
 *
 * Freestanding: used inside vCPU workers.
 */
#ifndef SQUIB_VCPU_DECODE_H
#define SQUIB_VCPU_DECODE_H

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"
#include "common/fmt.h"
#include "proto/vmexit.h"

/*
 * How many VmExits the current exit stands for: io.count for KVM_EXIT_IO
 * (0 when its size/offset/count are invalid for a run mapping of run_size
 * bytes), 1 otherwise.
 */
uint32_t vcpu_exit_repeats(const struct kvm_run *run, size_t run_size);

/*
 * Pointer to the data bytes of repetition rep of a KVM_EXIT_IO (inside the
 * run mapping), or NULL when out of range.
 */
uint8_t *vcpu_io_data(struct kvm_run *run, size_t run_size, uint32_t rep);

/*
 * Decodes repetition rep of the exit in run into *out. Always produces a
 * VmExit: invalid or unknown exits become InternalError naming the reason.
 */
void vcpu_decode_exit(const struct kvm_run *run, size_t run_size, uint32_t rep, struct vm_exit *out);

/* Builds the Hypercall for the doorbell port from the guest's registers. */
void vcpu_make_hypercall(const struct kvm_regs *regs, struct vm_exit *out);

/* Sets out to InternalError with message (truncated to fit). */
void vcpu_internal_error(struct vm_exit *out, const char *message);

/*
 * Sets out to InternalError with message and points f at the end of it, so
 * the caller can append numbers (fmt_dec, fmt_hex). Also used to append to
 * an InternalError that already holds a message.
 */
void vcpu_internal_error_fmt(struct vm_exit *out, struct fmt_buf *f, const char *message);

#endif
