/* SPDX-License-Identifier: MIT */
/* The VM process (vm_process.h): fork, narrow to KVM's eventfds, build, clone, exit. */
#include "monitor/vm_process.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "monitor/exit_status.h"
#include "monitor/log.h"
#include "monitor/supervise/close_fds.h"
#include "monitor/supervise/worker_signal.h"
#include "monitor/vm.h"

_Static_assert(sizeof(struct vm_shared) <= 4096, "the shared page is one page");

int vm_shared_create(struct vm *vm)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		int r = -errno;

		mlog("cannot map the page shared with the VM process: %s", strerror(-r));
		return r;
	}
	vm->shared = p;
	atomic_store(&vm->shared->start_gate, VCPU_GATE_WAIT);
	return 0;
}

/*
 * What the VM process keeps: stderr (and stdin/stdout, untouched), the
 * doorbells its vCPU workers ring, and the eventfds KVM takes as irqfds and
 * ioeventfds. Not the backends, the spawner's socket, the control sockets,
 * the rings' memfds or guest RAM's memfd (its mapping is inherited).
 */
static int keep_fds(const struct vm *vm, int *keep, int max)
{
	int n = 0;

#define KEEP(fd)                           \
	do {                               \
		if (n < max)               \
			keep[n++] = (fd);  \
	} while (0)
	KEEP(0);
	KEEP(1);
	KEEP(2);
	KEEP(vm->monitor_doorbell_fd);
	KEEP(vm->console.irq_fd);
	for (unsigned d = 0; d < vm->ndevices; d++) {
		const struct device_instance *dev = &vm->devices[d];

		KEEP(dev->doorbell_fd);
		if (!dev->is_virtio)
			continue;
		KEEP(dev->virtio.irq_fd);
		KEEP(dev->virtio.resample_fd);
		for (unsigned q = 0; q < dev->virtio.nqueues; q++)
			KEEP(dev->virtio.notify_fds[q]);
	}
#undef KEEP
	return n;
}

static NORETURN void vm_process_main(struct vm *vm, int (*build)(struct vm *vm), pid_t monitor)
{
	int keep[8 + VCPU_MAX_DEVICES * (3 + VIRTIO_MAX_QUEUES)];
	int r;

	forked_helper_start("vm", "squib-vm", monitor, keep, keep_fds(vm, keep, (int)ARRAY_SIZE(keep)),
			    EXIT_SETUP_FAILED);
	r = build(vm); /* it logs what failed */
	_exit(r < 0 ? EXIT_SETUP_FAILED : 0);
}

/* The vCPU workers the VM process cloned (CLONE_PARENT: ours), whatever became of it. */
static int adopt_vcpus(struct vm *vm)
{
	int first_err = 0;

	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct vcpu_instance *v = &vm->vcpus[i];
		pid_t pid = vm->shared->vcpu_pids[i];
		siginfo_t info;
		int pidfd;

		if (pid <= 0)
			continue;
		/* SAFETY: pidfd_open(2) of a pid the VM process reported; checked next to be our unreaped child. */
		pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
		memset(&info, 0, sizeof(info));
		if (pidfd < 0 || waitid(P_PIDFD, (id_t)pidfd, &info, WEXITED | WNOHANG | WNOWAIT) < 0) {
			int r = -errno;

			mlog("vCPU worker %u (pid %d) is not the monitor's child: %s", i, (int)pid, strerror(-r));
			if (pidfd >= 0)
				close(pidfd);
			if (!first_err)
				first_err = r;
			continue;
		}
		v->pid = pid;
		v->pidfd = pidfd;
		v->alive = true;
	}
	return first_err;
}

int vm_process_run(struct vm *vm, int (*build)(struct vm *vm))
{
	pid_t pid, self = getpid();
	int wstatus, r;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		r = -errno;
		mlog("cannot fork the VM process: %s", strerror(-r));
		return r;
	}
	if (pid == 0)
		vm_process_main(vm, build, self);
	while (waitpid(pid, &wstatus, 0) < 0) {
		if (errno != EINTR) {
			r = -errno;
			mlog("cannot wait for the VM process (pid %d): %s", (int)pid, strerror(-r));
			return r;
		}
	}
	r = adopt_vcpus(vm);
	if (WIFSIGNALED(wstatus)) {
		char how[160];

		worker_describe_death(CLD_KILLED, WTERMSIG(wstatus), NULL, how, sizeof(how));
		mlog("the VM process (pid %d) %s while it built the VM", (int)pid, how);
		return -ECHILD;
	}
	if (WEXITSTATUS(wstatus) != 0)
		return -ECANCELED; /* it said what failed */
	return r;
}
