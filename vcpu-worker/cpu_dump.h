/* SPDX-License-Identifier: MIT */
/*
 * The vCPU's architectural state as log lines: general registers, control
 * and segment registers, descriptor tables and pending events. Written when
 * the guest triple-faults and when the monitor asks for a state dump (a boot
 * that missed its deadline), so a failure leaves evidence behind.
 * Freestanding (runs inside the vCPU worker).
 */
#ifndef SQUIB_VCPU_CPU_DUMP_H
#define SQUIB_VCPU_CPU_DUMP_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Writes "squib[vcpuN PID]: WHY: ..." lines to log_fd. Precondition: vcpu_fd is
 * the caller's own vCPU fd and the vCPU is not running (called between
 * KVM_RUN calls). Registers KVM cannot read are reported as such.
 * Returns true when CS is the reset vector's (selector 0xf000, base
 * 0xffff0000): the registers dumped are the reset state.
 */
bool vcpu_dump_cpu(int vcpu_fd, int log_fd, uint32_t index, int32_t pid, const char *why);

#endif
