/* SPDX-License-Identifier: MIT */
/*
 * vCPU workers (vcpu_workers.c): each prepared in its own region (struct
 * vcpu_worker, its stack, its compiled filter) and cloned with CLONE_VM.
 */
#ifndef SQUIB_MONITOR_VCPU_WORKERS_H
#define SQUIB_MONITOR_VCPU_WORKERS_H

#include "common/compiler.h"

struct vm;

/* Fills each vCPU's worker region and compiles its filter. 0 or -errno (with a log line). */
int vcpu_workers_prepare(struct vm *vm) MUST_USE;
/* Clones every worker; they wait at the start gate. 0 or -errno (with a log line). */
int vcpu_workers_spawn(struct vm *vm) MUST_USE;
void vcpu_workers_kill_all(struct vm *vm);
/* Each live vCPU worker logs its registers (VCPU_DUMP_SIGNAL); a vCPU waiting on a device says which. */
void vcpu_workers_request_dump(struct vm *vm);

#endif
