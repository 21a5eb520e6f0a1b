/* SPDX-License-Identifier: MIT */
/*
 * The sandbox profile of every process role: its seccomp allowlist, in one
 * table. Each allowed syscall says why. Argument checks (ioctl numbers, fd
 * numbers, signal numbers, mmap protections, futex ops) are added in
 * sandbox.c where they pay; tests/unit/test_filter_args.c fails on any
 * syscall a role admits with no argument condition that is not on its
 * commented list. The roles
 * themselves (how each process is spawned, its entry point, its fds) are
 * monitor/supervise/roles.c.
 */
#include <stddef.h>
#include <sys/syscall.h>

#include "sandbox/sandbox.h"

/*
 * vCPU worker: runs guest code all the time, so it is the role most exposed
 * to a guest escaping KVM. Firecracker allows its vCPU threads 27 syscalls.
 */
static const struct sandbox_rule vcpu_rules[] = {
	{ SYS_ioctl, "KVM_RUN and the 7 vCPU ioctls of vcpu-worker/kvm_vcpu.h, on its own vCPU fd only" },
	{ SYS_write, "doorbell eventfds of its device workers and the monitor, and one-line logs on stderr" },
	{ SYS_futex, "sleeping on a full ring or a pending reply, and the start gate" },
	{ SYS_clock_gettime, "testdev's clock hypercall, only with --inline-testdev (the benchmark baseline); absent from every other VM's filter" },
	{ SYS_rt_sigreturn, "returning from the empty SIGUSR1 handler that interrupts KVM_RUN for a state dump" },
	{ SYS_exit_group, "ending after a terminal exit" },
};

/* Device worker (squib-device): parses every guest-controlled byte of its device. */
static const struct sandbox_rule device_rules[] = {
	{ SYS_read, "draining its doorbell eventfd (that fd only)" },
	{ SYS_write, "logs on stderr; the model's eventfds (uart: IRQ 4 and the console kick; virtio: interrupts), each by fd" },
	{ SYS_poll, "sleeping on its doorbell and control socket (glibc 2.36's poll)" },
	{ SYS_futex, "FUTEX_WAKE of a vCPU worker waiting for a reply or ring space" },
	{ SYS_sendto, "control messages to the monitor (its control socket only)" },
	{ SYS_recvfrom, "control messages from the monitor (its control socket only)" },
	{ SYS_clock_gettime, "testdev's clock hypercall (raw syscall), and the vDSO's fallback where the host clocksource has no vDSO path (idle timing)" },
	{ SYS_rt_sigreturn, "returning from a signal handler" },
	{ SYS_restart_syscall, "the kernel resuming an interrupted poll" },
	{ SYS_exit_group, "exiting after CONTROL_STOP" },
};

/*
 * The monitor after set-up: supervises, never parses guest data, shares no
 * memory with a vCPU worker (monitor/vm_process.h). Arguments are checked
 * in sandbox.c (add_monitor_rule) where the entry says so.
 */
static const struct sandbox_rule monitor_rules[] = {
	{ SYS_epoll_wait, "libevent's loop" },
	{ SYS_epoll_pwait, "libevent's loop (newer libevent/glibc)" },
	{ SYS_epoll_ctl, "libevent adding and removing events" },
	{ SYS_read, "eventfds, libevent's signal socket, typed input on stdin: only fds it held when it narrowed" },
	{ SYS_write, "logs on stderr, libevent's signal socket, guest console output, the uart's doorbell: only fds it held when it narrowed" },
	{ SYS_close, "releasing fds at teardown: only fds it held when it narrowed" },
	{ SYS_poll, "the console's last drain at the VM's end (a bounded wait for a slow terminal)" },
	{ SYS_sendto, "control messages to device workers and requests to the spawner: those sockets only" },
	{ SYS_recvfrom, "control messages from device workers and events from the spawner: those sockets only" },
	{ SYS_waitid, "reaping workers through their pidfds (only its own children can be waited for)" },
	{ SYS_pidfd_send_signal, "SIGKILL (teardown) and SIGUSR1 (state dump) to its vCPU workers' pidfds only; device workers are killed by the spawner" },
	{ SYS_futex, "FUTEX_WAKE of the vCPU start gate only" },
	{ SYS_munmap, "free() of large blocks" },
	{ SYS_mmap, "malloc() of large blocks, never with PROT_EXEC" },
	{ SYS_brk, "malloc()" },
	{ SYS_madvise, "free() trimming" },
	{ SYS_clock_gettime, "libevent timers (vDSO fallback)" },
	{ SYS_gettimeofday, "libevent timers (vDSO fallback)" },
	{ SYS_rt_sigaction, "libevent restoring signal handlers at teardown" },
	{ SYS_rt_sigprocmask, "signal masks" },
	{ SYS_rt_sigreturn, "returning from signal handlers" },
	{ SYS_restart_syscall, "resuming an interrupted wait" },
	{ SYS_getpid, "libevent's signal handling, the log prefix" },
	{ SYS_ioctl, "restoring the terminal's termios at the VM's end (fd 0; TCSETS, TCSETSW and glibc's read-back TCGETS only)" },
	{ SYS_exit_group, "exiting" },
};

/* The init of the device workers' pid namespace (monitor/supervise/spawner.c): waits, then exits. */
static const struct sandbox_rule pidns_init_rules[] = {
	{ SYS_poll, "waiting for the spawner's pipe to hang up" },
	{ SYS_restart_syscall, "the kernel resuming that poll" },
	{ SYS_rt_sigreturn, "returning from a signal handler (it installs none; the SIGSYS reporter's)" },
	{ SYS_exit_group, "exiting once the spawner is gone" },
};

/*
 * ASan/UBSan builds only (the separate debug build, never a runtime switch):
 * the sanitizer runtime maps shadow and quarantine memory and reports errors.
 */
static const struct sandbox_rule san_rules[] = {
	{ SYS_mmap, "sanitizer allocator" },
	{ SYS_munmap, "sanitizer allocator" },
	{ SYS_mprotect, "sanitizer allocator" },
	{ SYS_madvise, "sanitizer allocator" },
	{ SYS_sched_yield, "sanitizer spin locks" },
	{ SYS_getpid, "sanitizer reports" },
	{ SYS_gettid, "sanitizer reports" },
	{ SYS_write, "sanitizer reports" },
	{ SYS_sigaltstack, "sanitizer signal handling" },
	{ SYS_rt_sigprocmask, "sanitizer signal handling" },
	{ SYS_prctl, "sanitizer thread names" },
	{ SYS_readlink, "sanitizer symbolizer" },
	{ SYS_openat, "sanitizer reports (/proc/self/maps)" },
	{ SYS_close, "sanitizer reports" },
	{ SYS_read, "sanitizer reports" },
	{ SYS_pread64, "sanitizer reports" },
	{ SYS_newfstatat, "sanitizer reports" },
	{ SYS_exit, "sanitizer threads" },
	{ SYS_tgkill, "sanitizer aborts" },
	{ SYS_getrandom, "sanitizer allocator" },
};

#define PROFILE(r, n, rules)                                                                  \
	{                                                                                     \
		r, n, rules, sizeof(rules) / sizeof(rules[0]), san_rules,                     \
			sizeof(san_rules) / sizeof(san_rules[0])                              \
	}

static const struct sandbox_role_desc roles[SANDBOX_ROLE_COUNT] = {
	PROFILE(SANDBOX_ROLE_MONITOR, "monitor", monitor_rules),
	PROFILE(SANDBOX_ROLE_VCPU, "vcpu", vcpu_rules),
	PROFILE(SANDBOX_ROLE_DEVICE, "device", device_rules),
	PROFILE(SANDBOX_ROLE_PIDNS_INIT, "pidns-init", pidns_init_rules),
};

const struct sandbox_role_desc *sandbox_role(enum sandbox_role role)
{
	if ((unsigned)role >= SANDBOX_ROLE_COUNT)
		return NULL;
	return &roles[role];
}

const char *sandbox_role_name(enum sandbox_role role)
{
	const struct sandbox_role_desc *d = sandbox_role(role);

	return d ? d->name : "?";
}

int sandbox_allowed_count(enum sandbox_role role)
{
	const struct sandbox_role_desc *d = sandbox_role(role);

	return d ? (int)d->nrules : -1;
}
