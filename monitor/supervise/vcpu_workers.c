/* SPDX-License-Identifier: MIT */
/*
 * Preparing and cloning vCPU workers.
 *
 * A vCPU worker must share the VM creator's mm (KVM checks kvm->mm ==
 * current->mm on every vCPU ioctl), so it is a clone(CLONE_VM |
 * CLONE_PARENT | SIGCHLD) task of the VM process (monitor/vm_process.h): its
 * own pid, fd table, signal handlers and seccomp filter, the VM process's
 * memory, the monitor as its parent. Everything it uses (rings, routing
 * table, compiled BPF) is set up here, before the clone, because the worker
 * itself cannot allocate: the parts that need no KVM object in the monitor
 * (vcpu_workers_prepare), the rest in the VM process.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/raw_syscall.h"
#include "common/spin.h"
#include "monitor/vm.h"
#include "monitor/log.h"
#include "monitor/supervise/roles.h"
#include "monitor/supervise/vcpu_workers.h"
#include "monitor/supervise/worker_signal.h"
#include "monitor/vm_process.h"


static void *map_aligned_region(size_t size)
{
	size_t span = 2 * size;
	uint8_t *p = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	uintptr_t start, end;

	if (p == MAP_FAILED)
		return NULL;
	start = ((uintptr_t)p + size - 1) & ~((uintptr_t)size - 1);
	end = start + size;
	if (start > (uintptr_t)p)
		munmap(p, start - (uintptr_t)p);
	if ((uintptr_t)p + span > end)
		munmap((void *)end, (uintptr_t)p + span - end);
	return (void *)start;
}

static int prepare_one(struct vm *vm, struct vcpu_instance *v)
{
	struct vcpu_worker *w;
	uint32_t spin = spin_iters_for_us(vm->cfg.poll_us);
	int r;

	w = map_aligned_region(VCPU_WORKER_REGION_SIZE);
	if (!w)
		return -ENOMEM;
	v->worker = w;
	w->magic = VCPU_WORKER_MAGIC;
	w->index = v->index;
	atomic_store(&w->waiting_for_device, -1);
	w->vcpu_fd = w->vm_fd = -1; /* the KVM fields: vcpu_workers_attach_kvm, in the VM process */
	w->log_fd = 2;
	w->routes = &vm->routes;
	w->ndevices = vm->ndevices;
	w->monitor_doorbell_fd = vm->monitor_doorbell_fd;
	w->mem = vm->ram.mem;
	w->single_step = v->index == 0 ? vm->cfg.single_step : 0;
	w->inline_testdev = vm->inline_testdev;
	w->start_gate = &vm->shared->start_gate;
	w->pm1_enable = &vm->pm1_enable;
	w->pci_address = &vm->pci_address;
	w->status.magic = WORKER_STATUS_MAGIC;
	atomic_store(&w->status.denied_syscall, -1);

	for (unsigned d = 0; d < vm->ndevices; d++) {
		struct device_instance *dev = &vm->devices[d];

		w->device_names[d] = dev->spec->name;
		r = ring_producer_attach(&w->device_rings[d], dev->ring_maps[v->index], dev->ring_size,
					 dev->doorbell_fd, spin);
		if (r < 0)
			return r;
		w->device_rings[d].order_counter = &dev->order;
		w->device_rings[d].reply_deadline_s = VCPU_REPLY_DEADLINE_S;
	}
	v->monitor_ring_size = ring_region_size(RING_DEFAULT_SLOTS);
	v->monitor_ring_mem = mmap(NULL, v->monitor_ring_size, PROT_READ | PROT_WRITE,
				   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (v->monitor_ring_mem == MAP_FAILED) {
		v->monitor_ring_mem = NULL;
		return -ENOMEM;
	}
	r = ring_region_init(v->monitor_ring_mem, v->monitor_ring_size, RING_DEFAULT_SLOTS);
	if (r == 0)
		r = ring_producer_attach(&w->monitor_ring, v->monitor_ring_mem, v->monitor_ring_size,
					 vm->monitor_doorbell_fd, spin);
	if (r == 0)
		r = ring_consumer_attach(&v->monitor_ring, v->monitor_ring_mem, v->monitor_ring_size);
	return r;
}

/* In the VM process: the worker's vCPU fd, kvm_run and filter (its fd numbers are the VM process's). */
static int attach_one(struct vm *vm, struct vcpu_instance *v)
{
	struct vcpu_worker *w = v->worker;
	struct sandbox_params params;
	int r;

	w->vcpu_fd = v->kvm.fd;
	w->vm_fd = vm->kvm.vm_fd;
	w->run = v->kvm.run;
	w->run_size = vm->kvm.run_size;
	w->int3_advance_rip = vm->kvm.pvm;
	memset(&params, 0, sizeof(params));
	params.vcpu_fd = v->kvm.fd;
	params.inline_testdev = vm->inline_testdev != NULL;
	params.log_fd = 2;
	for (unsigned i = 0; i < ARRAY_SIZE(params.doorbell_fds); i++)
		params.doorbell_fds[i] = -1;
	params.doorbell_fds[0] = vm->monitor_doorbell_fd;
	for (unsigned d = 0; d < vm->ndevices && d + 1 < ARRAY_SIZE(params.doorbell_fds); d++)
		params.doorbell_fds[d + 1] = vm->devices[d].doorbell_fd;
	v->filter = malloc(sizeof(*v->filter));
	if (!v->filter)
		return -ENOMEM;
	r = sandbox_compile(process_roles[ROLE_VCPU].profile, &params, v->filter);
	if (r < 0)
		return r;
	w->filter = v->filter;
	return 0;
}

/* step for every vCPU, the first failure logged and returned. */
static int each_vcpu(struct vm *vm, int (*step)(struct vm *vm, struct vcpu_instance *v))
{
	for (unsigned i = 0; i < vm->ncpus; i++) {
		int r = step(vm, &vm->vcpus[i]);

		if (r < 0) {
			mlog("cannot prepare vCPU worker %u: %s", i, strerror(-r));
			return r;
		}
	}
	return 0;
}

int vcpu_workers_prepare(struct vm *vm)
{
	return each_vcpu(vm, prepare_one);
}

int vcpu_workers_attach_kvm(struct vm *vm)
{
	return each_vcpu(vm, attach_one);
}

int vcpu_workers_spawn(struct vm *vm)
{
	sigset_t all, old;
	int r = 0;

	/* Workers start with every signal blocked and unblock once their own
	 * dispositions are set: the monitor's handlers must never run in them. */
	sigfillset(&all);
	if (sigprocmask(SIG_SETMASK, &all, &old) < 0) {
		r = -errno;
		mlog("cannot block signals around the vCPU workers' clone: %s", strerror(-r));
		return r;
	}
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct vcpu_instance *v = &vm->vcpus[i];
		uint8_t *stack_top = (uint8_t *)v->worker + VCPU_WORKER_REGION_SIZE;
		pid_t pid;

		/*
		 * SAFETY: clone(CLONE_VM) runs vcpu_worker_main in this address
		 * space on the stack at the top of the worker's own region
		 * (VCPU_WORKER_REGION_SIZE, 16-byte aligned, used by nothing
		 * else). No CLONE_SETTLS: the child has no TLS, which is why
		 * everything it runs is freestanding (docs/DESIGN.md, "vCPU
		 * workers are freestanding"). No CLONE_FILES or CLONE_SIGHAND:
		 * it gets copies of the fd table and dispositions and changes
		 * only its own. Every signal is blocked (above), so no monitor
		 * handler runs on its stack before it installs its own.
		 * CLONE_PARENT: the worker is the monitor's child, not this VM
		 * process's (which exits next); the monitor reaps and signals it
		 * (vm_process.c adopts it from the pid written below).
		 */
		pid = clone(process_roles[ROLE_VCPU].clone_entry, stack_top, CLONE_VM | CLONE_PARENT | SIGCHLD,
			    v->worker);
		if (pid < 0) {
			r = -errno;
			mlog("cannot clone vCPU worker %u: %s", i, strerror(errno));
			break;
		}
		vm->shared->vcpu_pids[i] = pid;
		atomic_store(&v->worker->pid, pid);
	}
	if (sigprocmask(SIG_SETMASK, &old, NULL) < 0 && r == 0) {
		r = -errno;
		mlog("cannot unblock signals after cloning the vCPU workers: %s", strerror(-r));
	}
	return r;
}

/*
 * SIGKILL to every worker, then reap them last to first: vCPU 0's worker is
 * the init of the workers' pid namespace (vm.c, build_kvm), and an
 * init does not finish dying until every other process of its namespace has
 * been reaped, by us (CLONE_PARENT): waiting for it first would wait forever.
 */
void vcpu_workers_kill_all(struct vm *vm)
{
	for (unsigned i = 0; i < vm->ncpus; i++) {
		char who[16];

		if (!vm->vcpus[i].alive)
			continue;
		snprintf(who, sizeof(who), "vcpu%u", i);
		worker_sigkill(vm->vcpus[i].pidfd, who);
	}
	for (unsigned i = vm->ncpus; i-- > 0;) {
		struct vcpu_instance *v = &vm->vcpus[i];
		siginfo_t info;

		if (!v->alive)
			continue;
		while (waitid(P_PIDFD, (id_t)v->pidfd, &info, WEXITED) < 0 && errno == EINTR)
			;
		v->alive = false;
	}
}

void vcpu_workers_request_dump(struct vm *vm)
{
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct vcpu_instance *v = &vm->vcpus[i];
		/* Written by the worker: an index it may have scribbled, so range-checked. */
		int32_t dev = atomic_load(&v->worker->waiting_for_device);
		int r;

		if (!v->alive)
			continue;
		if (dev >= 0 && (unsigned)dev < vm->ndevices)
			mlog("vcpu%u: waiting for a reply from device %s", i, vm->devices[dev].spec->name);
		atomic_store(&v->worker->dump_requested, 1);
		r = worker_signal(v->pidfd, VCPU_DUMP_SIGNAL);
		if (r < 0)
			mlog("vcpu%u: cannot signal it for a state dump: %s", i, strerror(-r));
	}
}
