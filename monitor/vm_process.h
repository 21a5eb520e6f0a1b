/* SPDX-License-Identifier: MIT */
/*
 * The VM process: the one process that ever holds this VM's KVM objects.
 *
 * KVM ties a VM to the mm of the process that created it (every vCPU ioctl
 * checks kvm->mm == current->mm), and vCPU workers must share that mm. So
 * the monitor does not create the VM itself: once guest RAM holds the guest
 * and every device worker is ready, it forks the VM process, which
 *   - closes every fd but the eventfds KVM and the vCPU workers need,
 *   - opens /dev/kvm, creates the VM, maps guest RAM into it, registers the
 *     irqfds and ioeventfds and creates the vCPUs (the build callback),
 *   - clones the vCPU workers with CLONE_VM | CLONE_PARENT: they share its
 *     mm, and are the monitor's children (it reaps and signals them),
 *   - writes their pids into the shared page and exits. Each vCPU worker
 *     keeps the VM fd open, unused: KVM tears down every irqfd of a VM when
 *     the last reference to its VM fd closes (kvm_vm_release).
 * From then on the mm the vCPU workers share holds guest RAM, the KVM fds
 * (in their own fd tables), their worker regions and a copy of this VM's
 * configuration as it was at the fork: nothing the tenant does not already
 * own. The event loop, the restart logic, the backend fds (through the
 * spawner), the console and later the control API live in the monitor's own
 * address space, which no vCPU worker can reach.
 */
#ifndef SQUIB_MONITOR_VM_PROCESS_H
#define SQUIB_MONITOR_VM_PROCESS_H

#include <stdatomic.h>
#include <stdint.h>

#include "common/compiler.h"
#include "monitor/cli.h"

struct vm;

/*
 * One MAP_SHARED page, created by the monitor before the fork: what the
 * monitor, the VM process and the vCPU workers exchange outside the worker
 * regions. Trust: vCPU workers can write it once the guest runs; the
 * monitor reads vcpu_pids only before that (right after the VM process
 * exits) and checks each is its own child.
 */
struct vm_shared {
	_Atomic uint32_t start_gate;       /* VCPU_GATE_*: a shared futex word the monitor opens */
	int32_t vcpu_pids[CLI_MAX_CPUS];   /* written by the VM process after each clone */
};

/* Maps vm->shared. 0 or -errno (with a log line). */
int vm_shared_create(struct vm *vm) MUST_USE;

/*
 * Forks the VM process, which runs build(vm) and exits; waits for it, then
 * takes the vCPU workers it cloned as the monitor's own (pid, pidfd, alive),
 * even after a failure, so teardown can abort and reap them. 0, or -errno
 * after the failing step was logged (by the VM process or here).
 */
int vm_process_run(struct vm *vm, int (*build)(struct vm *vm)) MUST_USE;

#endif
