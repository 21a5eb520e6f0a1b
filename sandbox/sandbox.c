/* SPDX-License-Identifier: MIT */
/*
 * Compiling and entering seccomp filters with libseccomp.
 *
 * Filters are default-deny: anything not in the role's table raises SIGSYS
 * (SCMP_ACT_TRAP). The reporter below records the syscall number where the
 * monitor can read it, then dies by SIGSYS so the monitor sees the signal.
 * libseccomp 2.5 has no seccomp_export_bpf_mem, so the BPF is exported
 * through a memfd and read back.
 */
#include "sandbox/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/futex.h>
#include <linux/kvm.h>
#include <seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/fmt.h"
#include "common/log_prefix.h"
#include "common/raw_syscall.h"

/* The ioctls a vCPU worker may issue on its vCPU fd (vcpu-worker/kvm_vcpu.h). */
static const unsigned long vcpu_ioctls[] = {
	KVM_RUN, KVM_GET_REGS, KVM_SET_REGS, KVM_GET_SREGS, KVM_GET_VCPU_EVENTS, KVM_SET_VCPU_EVENTS,
	KVM_SET_GUEST_DEBUG, KVM_TRANSLATE,
};

static bool sanitized_build(void)
{
#ifdef SQUIB_SANITIZED
	return true;
#else
	return false;
#endif
}

static int add_vcpu_rule(scmp_filter_ctx ctx, int nr, const struct sandbox_params *p)
{
	int r = 0;

	switch (nr) {
	case SYS_ioctl:
		for (size_t i = 0; i < ARRAY_SIZE(vcpu_ioctls) && r == 0; i++)
			r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 2, SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)p->vcpu_fd),
					     SCMP_A1(SCMP_CMP_EQ, vcpu_ioctls[i]));
		return r;
	case SYS_write:
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)p->log_fd));
		for (size_t i = 0; i < ARRAY_SIZE(p->doorbell_fds) && r == 0; i++)
			if (p->doorbell_fds[i] >= 0)
				r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
						     SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)p->doorbell_fds[i]));
		return r;
	case SYS_futex:
		/* FUTEX_WAIT and FUTEX_WAKE on shared words, nothing else. */
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, SCMP_A1(SCMP_CMP_EQ, FUTEX_WAIT));
		if (r == 0)
			r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, SCMP_A1(SCMP_CMP_EQ, FUTEX_WAKE));
		return r;
	case SYS_clock_gettime:
		/* Only the inline testdev's clock hypercall calls it (the worker has no vDSO use). */
		return p->inline_testdev ? seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) : 0;
	default:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
	}
}

static int allow_fd(scmp_filter_ctx ctx, int nr, int fd)
{
	if (fd < 0)
		return 0;
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)fd));
}

static int add_device_rule(scmp_filter_ctx ctx, int nr, const struct sandbox_params *p)
{
	switch (nr) {
	case SYS_read:
		return allow_fd(ctx, nr, p->doorbell_fd);
	case SYS_write:
		return allow_fd(ctx, nr, p->log_fd);
	case SYS_sendto:
	case SYS_recvfrom:
		return allow_fd(ctx, nr, p->control_fd);
	case SYS_futex:
		/* A device only wakes vCPU workers; it never waits on a ring futex. */
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, SCMP_A1(SCMP_CMP_EQ, FUTEX_WAKE));
	default:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
	}
}

static int allow_fds(scmp_filter_ctx ctx, int nr, const int *fds, unsigned n)
{
	int r = 0;

	for (unsigned i = 0; i < n && r == 0; i++) {
		r = allow_fd(ctx, nr, fds[i]);
		if (r == -EEXIST)
			r = 0;
	}
	return r;
}

/*
 * The monitor after set-up (sandbox.h, struct sandbox_params): fds pinned
 * for read/write/close/sendto/recvfrom, signals only to its vCPU workers,
 * no executable mapping, only the futex op it uses.
 */
static int add_monitor_rule(scmp_filter_ctx ctx, int nr, const struct sandbox_params *p)
{
	static const int signals[] = { SIGKILL, SIGUSR1 }; /* teardown; a vCPU state dump (vcpu-worker/worker.h) */
	int r = 0;

	switch (nr) {
	case SYS_read:
	case SYS_write:
	case SYS_close:
		return allow_fds(ctx, nr, p->held_fds, p->nheld_fds);
	case SYS_sendto:
	case SYS_recvfrom:
		return allow_fds(ctx, nr, p->socket_fds, p->nsocket_fds);
	case SYS_pidfd_send_signal:
		for (unsigned i = 0; i < p->nsignal_fds && r == 0; i++)
			for (size_t s = 0; s < ARRAY_SIZE(signals) && r == 0; s++)
				r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 2,
						     SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)p->signal_fds[i]),
						     SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)signals[s]));
		return r;
	case SYS_mmap:
		/* malloc's large blocks: never executable. */
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	case SYS_futex:
		/* Opening the vCPU start gate, a shared word: FUTEX_WAKE, nothing else. */
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, SCMP_A1(SCMP_CMP_EQ, FUTEX_WAKE));
	case SYS_ioctl: {
		/*
		 * tcsetattr on stdin only: the console restoring the user's
		 * terminal. glibc 2.36's tcsetattr reads the result back with
		 * TCGETS (read-only), so that is allowed too.
		 */
		static const unsigned long reqs[] = { TCSETS, TCSETSW, TCGETS };

		for (size_t i = 0; i < ARRAY_SIZE(reqs) && r == 0; i++)
			r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 2, SCMP_A0(SCMP_CMP_EQ, 0),
					     SCMP_A1(SCMP_CMP_EQ, reqs[i]));
		return r;
	}
	default:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
	}
}

static int add_rule(scmp_filter_ctx ctx, enum sandbox_role role, int nr, const struct sandbox_params *p)
{
	if (role == SANDBOX_ROLE_VCPU)
		return add_vcpu_rule(ctx, nr, p);
	/*
	 * The ASan/UBSan build drops the device role's argument checks (fd
	 * numbers, FUTEX_WAKE only): its runtime reads /proc/self/maps and
	 * writes reports through fds and futex operations the checks would
	 * refuse, so there every allowed syscall takes any arguments. The
	 * syscall list itself is the same plus san_rules. Release builds always
	 * check; README "Security" and docs/DESIGN.md say so.
	 */
	if (role == SANDBOX_ROLE_DEVICE && !sanitized_build())
		return add_device_rule(ctx, nr, p);
	/* The same for the monitor's fd, mmap and futex checks (its runtime reads, writes and locks too). */
	if (role == SANDBOX_ROLE_MONITOR && !sanitized_build())
		return add_monitor_rule(ctx, nr, p);
	if (role == SANDBOX_ROLE_MONITOR &&
	    (nr == SYS_pidfd_send_signal || nr == SYS_ioctl || nr == SYS_sendto || nr == SYS_recvfrom))
		return add_monitor_rule(ctx, nr, p); /* the sanitizer runtime needs none of these */
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
}

/*
 * fallocate(2) on fd with the two modes that cannot grow a file past its
 * RLIMIT_FSIZE: PUNCH_HOLE|KEEP_SIZE (frees blocks, never allocates) and
 * ZERO_RANGE without KEEP_SIZE (past the end it would extend the file,
 * which the limit refuses). ZERO_RANGE|KEEP_SIZE or a plain fallocate
 * could allocate past the end unchecked: refused (sandbox.h).
 */
static int allow_fallocate(scmp_filter_ctx ctx, int fd)
{
	static const scmp_datum_t modes[] = { FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, FALLOC_FL_ZERO_RANGE };
	int r = 0;

	if (fd < 0)
		return -EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(modes) && r == 0; i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SYS_fallocate, 2, SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)fd),
				     SCMP_A1(SCMP_CMP_EQ, modes[i]));
	return r;
}

/* fault_signal to its own pid only (sandbox.h). -EEXIST (a rule already there) is fine. */
static int allow_fault_signal(scmp_filter_ctx ctx, const struct sandbox_params *p)
{
	int r;

	if (p->fault_signal == SIGKILL)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SYS_kill, 2, SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)p->fault_pid),
				     SCMP_A1(SCMP_CMP_EQ, SIGKILL));
	else if (p->fault_signal == SIGABRT) {
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SYS_rt_sigprocmask, 0);
		if (r == 0 || r == -EEXIST)
			r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SYS_getpid, 0);
		if (r == 0 || r == -EEXIST)
			r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SYS_gettid, 0);
		if (r == 0 || r == -EEXIST)
			r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SYS_tgkill, 2,
					     SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)p->fault_pid),
					     SCMP_A2(SCMP_CMP_EQ, SIGABRT));
	} else
		return -EINVAL;
	return r == -EEXIST ? 0 : r;
}

static int build_ctx(enum sandbox_role role, const struct sandbox_params *p, scmp_filter_ctx *out)
{
	const struct sandbox_role_desc *d = sandbox_role(role);
	scmp_filter_ctx ctx;
	int r = 0;

	if (!d)
		return -EINVAL;
	ctx = seccomp_init(SCMP_ACT_TRAP);
	if (!ctx)
		return -ENOMEM;
	for (unsigned i = 0; i < d->nrules && r == 0; i++)
		r = add_rule(ctx, role, d->rules[i].nr, p);
	/* A device model's own needs, each tied to its fd where it has one. */
	for (unsigned i = 0; role == SANDBOX_ROLE_DEVICE && i < p->nextra && i < SANDBOX_MAX_EXTRA_RULES && r == 0; i++) {
		if (p->extra[i].nr == SYS_fallocate)
			r = allow_fallocate(ctx, p->extra[i].fd);
		else if (p->extra[i].fd >= 0)
			r = allow_fd(ctx, p->extra[i].nr, p->extra[i].fd);
		else
			r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, p->extra[i].nr, 0);
		if (r == -EEXIST)
			r = 0;
	}
	/* A --fault that sends the worker a signal of its own (never without --fault). */
	if (role == SANDBOX_ROLE_DEVICE && p->fault_signal && r == 0)
		r = allow_fault_signal(ctx, p);
	/* Sanitizer builds add their runtime's needs (never in release builds). */
	for (unsigned i = 0; sanitized_build() && role != SANDBOX_ROLE_VCPU && i < d->nsan_rules && r == 0; i++) {
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, d->san_rules[i].nr, 0);
		if (r == -EEXIST)
			r = 0;
	}
	if (r < 0) {
		seccomp_release(ctx);
		return r;
	}
	*out = ctx;
	return 0;
}

int sandbox_compile(enum sandbox_role role, const struct sandbox_params *params, struct sandbox_filter *out)
{
	scmp_filter_ctx ctx;
	int fd, r;
	off_t size;

	r = build_ctx(role, params, &ctx);
	if (r < 0)
		return r;
	fd = memfd_create("squib-bpf", MFD_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		seccomp_release(ctx);
		return r;
	}
	r = seccomp_export_bpf(ctx, fd);
	seccomp_release(ctx);
	size = r == 0 ? lseek(fd, 0, SEEK_END) : -1;
	if (r == 0 && (size <= 0 || size % sizeof(struct sock_filter) || (size_t)size > sizeof(out->insns)))
		r = -E2BIG;
	if (r == 0 && pread(fd, out->insns, (size_t)size, 0) != size)
		r = -EIO;
	close(fd);
	if (r < 0)
		return r;
	out->prog.len = (unsigned short)(size / sizeof(struct sock_filter));
	out->prog.filter = out->insns;
	return 0;
}

/*
 * The reporter's one piece of process-wide state: a signal handler gets no
 * context argument. Set once by sandbox_enter, before the filter exists.
 */
static struct worker_status *reporter_status;
static long reporter_pid; /* getpid() is not allowed in every role */
static char reporter_who[48]; /* its log name (common/log_prefix.h) */

static void sigsys_reporter(int sig, siginfo_t *info, void *uctx)
{
	int nr = info->si_syscall;
	char line[96];
	struct fmt_buf f;

	(void)sig;
	(void)uctx;
	if (reporter_status)
		atomic_store(&reporter_status->denied_syscall, nr);
	fmt_init(&f, line, sizeof(line));
	fmt_log_prefix(&f, reporter_who, -1, reporter_pid);
	fmt_str(&f, "seccomp denied syscall ");
	fmt_dec(&f, nr);
	fmt_char(&f, '\n');
	(void)raw_write(2, line, f.len);
	/* SIGSYS is blocked in its own handler: denying again makes the kernel
	 * reset it to the default action, so the process dies by SIGSYS. All
	 * arguments -1: no rule admits fd -1, futex op -1 or signal -1. */
	raw_syscall6(nr, -1, -1, -1, -1, -1, -1);
	raw_exit_group(128 + SIGSYS);
}

int sandbox_enter(enum sandbox_role role, const struct sandbox_params *params, struct worker_status *status)
{
	struct sigaction sa;
	scmp_filter_ctx ctx;
	int r;

	reporter_status = status;
	reporter_pid = getpid();
	snprintf(reporter_who, sizeof(reporter_who), "%s", params->log_who ? params->log_who : sandbox_role_name(role));
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sigsys_reporter;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return -errno;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	r = build_ctx(role, params, &ctx);
	if (r < 0)
		return r;
	r = seccomp_load(ctx);
	seccomp_release(ctx);
	return r;
}

const char *sandbox_syscall_name(int nr)
{
	static char name[64];
	char *s = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, nr);

	if (!s)
		return "?";
	snprintf(name, sizeof(name), "%s", s);
	free(s);
	return name;
}
