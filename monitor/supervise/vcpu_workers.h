/* SPDX-License-Identifier: MIT */
/*
 * vCPU workers (vcpu_workers.c): each prepared in its own region (struct
 * vcpu_worker and its stack, MAP_SHARED so the monitor reads its status and
 * counters after the VM process is gone) and cloned with CLONE_VM by the VM
 * process (monitor/vm_process.h).
 */
#ifndef SQUIB_MONITOR_VCPU_WORKERS_H
#define SQUIB_MONITOR_VCPU_WORKERS_H

#include "common/compiler.h"

struct vm;

/*
 * In the monitor, before the VM process forks: maps each vCPU's worker
 * region and monitor ring and fills what needs no KVM object (routes,
 * rings, doorbells). 0 or -errno (with a log line).
 */
int vcpu_workers_prepare(struct vm *vm) MUST_USE;
/* In the VM process: each worker's vCPU fd, kvm_run and compiled filter. 0 or -errno (with a log line). */
int vcpu_workers_attach_kvm(struct vm *vm) MUST_USE;
/*
 * In the VM process: clones every worker (CLONE_VM | CLONE_PARENT) and
 * writes its pid into vm->shared; they wait at the start gate. 0 or -errno
 * (with a log line).
 */
int vcpu_workers_spawn(struct vm *vm) MUST_USE;
void vcpu_workers_kill_all(struct vm *vm);
/* Each live vCPU worker logs its registers (VCPU_DUMP_SIGNAL); a vCPU waiting on a device says which. */
void vcpu_workers_request_dump(struct vm *vm);

#endif
