/* SPDX-License-Identifier: MIT */
/*
 * Sandbox profiles, one per process role (the allowlists are in
 * sandbox/profiles.c; the roles, how each is spawned and what it inherits,
 * in monitor/supervise/roles.c).
 *
 * Order (vmd's and Solo5's): acquire every resource, then narrow, then
 * parse. A worker calls sandbox_enter after mapping guest RAM and its rings
 * and before reading the first untrusted byte. Filters are default-deny
 * libseccomp allowlists; a denied syscall raises SIGSYS, a reporter records
 * the syscall number in the worker's struct worker_status, and the worker
 * dies by SIGSYS, so the monitor can name role, pid and syscall.
 */
#ifndef SQUIB_SANDBOX_SANDBOX_H
#define SQUIB_SANDBOX_SANDBOX_H

#include <linux/filter.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/compiler.h"
#include "proto/control.h"

enum sandbox_role {
	SANDBOX_ROLE_MONITOR = 0, /* the monitor after set-up */
	SANDBOX_ROLE_VCPU = 1,    /* a vCPU worker */
	SANDBOX_ROLE_DEVICE = 2,  /* a device worker (squib-device) */
	SANDBOX_ROLE_PIDNS_INIT = 3, /* the init of the device workers' pid namespace (it only waits) */
	SANDBOX_ROLE_COUNT
};

/*
 * One more syscall a device model needs (virtio_device.h): allowed only with
 * its first argument equal to fd, or with any arguments when fd is -1.
 * fallocate is the exception: always tied to its fd, and only with the modes
 * that cannot grow a file past RLIMIT_FSIZE (sandbox.c, allow_fallocate).
 */
struct sandbox_fd_rule {
	int nr;
	int fd;
	const char *why;
};

#define SANDBOX_MAX_EXTRA_RULES 32

/* What a role's filter may refer to (fd numbers for argument checks). */
struct sandbox_params {
	int vcpu_fd;        /* VCPU: the only fd ioctl is allowed on */
	bool inline_testdev;/* VCPU: testdev runs in the worker (--inline-testdev): clock_gettime allowed */
	int log_fd;         /* VCPU/DEVICE: fd write(2) is allowed on for logs (usually 2) */
	const char *log_who;/* sandbox_enter: its name in the SIGSYS line ("dev-uart"); NULL: the role's */
	int doorbell_fds[1 + 12];/* VCPU: eventfds it may write (monitor + one per device); -1 = unused */
	int control_fd;     /* DEVICE: its control socket (send/recv) */
	int doorbell_fd;    /* DEVICE: its own doorbell eventfd (read) */
	/*
	 * DEVICE: 0, or the signal a --fault makes the worker send itself
	 * (device-worker/fault.h): SIGKILL admits kill(pid, SIGKILL);
	 * SIGABRT admits what glibc's abort() does (rt_sigprocmask, getpid,
	 * gettid, tgkill(pid, tid, SIGABRT)). Never set without --fault.
	 */
	int fault_signal;
	int fault_pid;      /* DEVICE: its own pid, the only target of those signals */
	/* DEVICE: the model's own needs (device_model.sandbox_rules). */
	struct sandbox_fd_rule extra[SANDBOX_MAX_EXTRA_RULES];
	unsigned nextra;
	/*
	 * MONITOR: the fds it holds when it narrows, the only ones read, write
	 * and close may name (it opens none afterwards); its sockets (the
	 * device control sockets and the spawner's), the only ones sendto and
	 * recvfrom may name; and its vCPU workers' pidfds, the only targets of
	 * pidfd_send_signal. Arrays of -1-free fd numbers, owned by the caller.
	 */
	const int *held_fds;
	unsigned nheld_fds;
	const int *socket_fds;
	unsigned nsocket_fds;
	const int *signal_fds;
	unsigned nsignal_fds;
};

/* A compiled filter, ready for seccomp(SECCOMP_SET_MODE_FILTER). */
struct sandbox_filter {
	struct sock_fprog prog;
	struct sock_filter insns[4096];
};

const char *sandbox_role_name(enum sandbox_role role);

/* Number of syscalls the role's allowlist admits (for the README and tests). */
int sandbox_allowed_count(enum sandbox_role role) MUST_USE;

/* Builds the role's BPF program into *out (hosted: uses libseccomp). 0 or -errno. */
int sandbox_compile(enum sandbox_role role, const struct sandbox_params *params,
		    struct sandbox_filter *out) MUST_USE;

/*
 * Hosted processes (monitor, device workers): installs the SIGSYS reporter
 * writing into *status, sets PR_SET_NO_NEW_PRIVS, compiles and loads the
 * role's filter. 0 or -errno; on failure the process must not go on.
 */
int sandbox_enter(enum sandbox_role role, const struct sandbox_params *params,
		  struct worker_status *status) MUST_USE;

/* Name of a syscall number on x86-64 ("?" when unknown). Not for signal handlers. */
const char *sandbox_syscall_name(int nr);

/* A profile (sandbox/profiles.c): one role's allowlist, every entry with its reason. */
struct sandbox_rule {
	int nr;              /* syscall number */
	const char *why;     /* one line: why the role needs it */
};

struct sandbox_role_desc {
	enum sandbox_role role;
	const char *name;
	const struct sandbox_rule *rules;
	unsigned nrules;
	const struct sandbox_rule *san_rules; /* extra, only in ASan/UBSan builds */
	unsigned nsan_rules;
};

const struct sandbox_role_desc *sandbox_role(enum sandbox_role role);

#endif
