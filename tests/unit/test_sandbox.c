// SPDX-License-Identifier: MIT
/*
 * Unit tests for sandbox/ (profiles.c, sandbox.c): the profile tables, filter
 * compilation, and real enforcement in forked children.
 *
 * Criterion already runs each test in its own process; the enforcement
 * tests fork once more so the filter (which cannot be removed) only ever
 * binds a throw-away child. Children never return into criterion: they end
 * with raw_exit_group (after a filter is loaded, libc's exit paths could
 * make syscalls the filter denies).
 */
#include <criterion/criterion.h>
#include <pty.h>
#include <termios.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "common/raw_syscall.h"
#include "proto/control.h"
#include "sandbox/sandbox.h"

TestSuite(sandbox);

/* ---- helpers ------------------------------------------------------------ */

#define TEST_VCPU_FD 5
#define TEST_LOG_FD 2
#define TEST_DOORBELL_A 6
#define TEST_DOORBELL_B 7
#define TEST_FOREIGN_FD 9

static struct sandbox_params plausible_params(void)
{
	struct sandbox_params p;

	memset(&p, 0, sizeof(p));
	p.vcpu_fd = TEST_VCPU_FD;
	p.log_fd = TEST_LOG_FD;
	for (size_t i = 0; i < sizeof(p.doorbell_fds) / sizeof(p.doorbell_fds[0]); i++)
		p.doorbell_fds[i] = -1;
	p.doorbell_fds[0] = TEST_DOORBELL_A;
	p.doorbell_fds[1] = TEST_DOORBELL_B;
	p.control_fd = -1;
	p.doorbell_fd = -1;
	return p;
}

static struct sandbox_filter *compile(enum sandbox_role role)
{
	struct sandbox_params p = plausible_params();
	struct sandbox_filter *f = calloc(1, sizeof(*f));
	int r;

	cr_assert_not_null(f);
	r = sandbox_compile(role, &p, f);
	cr_assert_eq(r, 0, "sandbox_compile(%s): %d (%s)", sandbox_role_name(role), r, strerror(-r));
	return f;
}

/* A child without core dumps: a SIGSYS death must not write a core file. */
static void child_prepare(void)
{
	struct rlimit no_core = { 0, 0 };

	(void)setrlimit(RLIMIT_CORE, &no_core);
}

static int wait_child(pid_t pid)
{
	int status = 0;
	pid_t w;

	do
		w = waitpid(pid, &status, 0);
	while (w < 0 && errno == EINTR);
	cr_assert_eq(w, pid, "waitpid: %s", strerror(errno));
	return status;
}

static void assert_killed_by_sigsys(int status, const char *what)
{
	cr_assert(WIFSIGNALED(status), "%s: child not killed by a signal (%s %d)", what,
		  WIFEXITED(status) ? "exit status" : "wait status",
		  WIFEXITED(status) ? WEXITSTATUS(status) : status);
	cr_assert_eq(WTERMSIG(status), SIGSYS, "%s: killed by signal %d, expected SIGSYS (%d)", what,
		     WTERMSIG(status), SIGSYS);
}

static void assert_exited(int status, int code, const char *what)
{
	if (WIFSIGNALED(status))
		cr_assert_fail("%s: child killed by signal %d, expected exit %d", what, WTERMSIG(status), code);
	cr_assert(WIFEXITED(status), "%s: wait status %#x", what, status);
	cr_assert_eq(WEXITSTATUS(status), code, "%s: exit status %d, expected %d", what, WEXITSTATUS(status), code);
}

/* Reads everything from fd until EOF into buf (NUL-terminated). */
static size_t drain(int fd, char *buf, size_t cap)
{
	size_t len = 0;

	for (;;) {
		ssize_t n = read(fd, buf + len, cap - 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == cap - 1)
			break;
	}
	buf[len] = '\0';
	return len;
}

/* pipe(2) with both ends moved to fd >= 100, clear of the fd numbers the tests dup onto. */
static void high_pipe(int fds[2])
{
	int lo[2];

	cr_assert_eq(pipe(lo), 0, "pipe: %s", strerror(errno));
	for (int i = 0; i < 2; i++) {
		fds[i] = fcntl(lo[i], F_DUPFD, 100);
		cr_assert_geq(fds[i], 100, "F_DUPFD: %s", strerror(errno));
		close(lo[i]);
	}
}

/* Loads f into the calling (child) process as vcpu-worker/worker.c does. 0 or -errno. */
static long load_filter_raw(const struct sandbox_filter *f)
{
	long r = raw_syscall6(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0);

	if (r < 0)
		return r;
	return raw_syscall3(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, (long)&f->prog);
}

/* ---- role table --------------------------------------------------------- */

Test(sandbox, role_names)
{
	cr_assert_str_eq(sandbox_role_name(SANDBOX_ROLE_MONITOR), "monitor");
	cr_assert_str_eq(sandbox_role_name(SANDBOX_ROLE_VCPU), "vcpu");
	cr_assert_str_eq(sandbox_role_name(SANDBOX_ROLE_DEVICE), "device");
	cr_assert_str_eq(sandbox_role_name(SANDBOX_ROLE_COUNT), "?");
	cr_assert_str_eq(sandbox_role_name((enum sandbox_role)-1), "?");
	cr_assert_null(sandbox_role(SANDBOX_ROLE_COUNT));
	cr_assert_eq(sandbox_allowed_count(SANDBOX_ROLE_COUNT), -1);
	for (int role = 0; role < SANDBOX_ROLE_COUNT; role++) {
		const struct sandbox_role_desc *d = sandbox_role((enum sandbox_role)role);

		cr_assert_not_null(d, "role %d", role);
		cr_assert_eq((int)d->role, role, "roles[%d] describes role %d", role, d->role);
		cr_assert_str_eq(d->name, sandbox_role_name((enum sandbox_role)role));
	}
}

Test(sandbox, vcpu_allowlist_is_small)
{
	int n = sandbox_allowed_count(SANDBOX_ROLE_VCPU);

	cr_assert_gt(n, 0);
	cr_assert_leq(n, 6, "the vCPU role allows %d syscalls, at most 6 expected", n);
	cr_assert_eq(sandbox_role(SANDBOX_ROLE_VCPU)->nrules, (unsigned)n);
}

Test(sandbox, every_rule_says_why)
{
	for (int role = 0; role < SANDBOX_ROLE_COUNT; role++) {
		const struct sandbox_role_desc *d = sandbox_role((enum sandbox_role)role);

		cr_assert_eq(sandbox_allowed_count((enum sandbox_role)role), (int)d->nrules);
		cr_assert_gt(d->nrules, 0u, "role %s allows nothing", d->name);
		for (unsigned i = 0; i < d->nrules; i++) {
			const struct sandbox_rule *rule = &d->rules[i];

			cr_assert_not_null(rule->why, "role %s rule %u (%d) has no why", d->name, i, rule->nr);
			cr_assert_gt(strlen(rule->why), 0u, "role %s rule %u (%s) has an empty why", d->name, i,
				     sandbox_syscall_name(rule->nr));
			cr_assert_str_neq(sandbox_syscall_name(rule->nr), "?", "role %s rule %u: unknown syscall %d",
					  d->name, i, rule->nr);
			for (unsigned j = 0; j < i; j++)
				cr_assert_neq(d->rules[j].nr, rule->nr, "role %s lists %s twice (rules %u and %u)",
					      d->name, sandbox_syscall_name(rule->nr), j, i);
		}
		for (unsigned i = 0; i < d->nsan_rules; i++) {
			cr_assert_not_null(d->san_rules[i].why);
			cr_assert_gt(strlen(d->san_rules[i].why), 0u, "role %s sanitizer rule %u has an empty why",
				     d->name, i);
		}
	}
}

/* getppid, the syscall the enforcement tests use, is allowed by no role in either build. */
Test(sandbox, getppid_is_allowed_nowhere)
{
	for (int role = 0; role < SANDBOX_ROLE_COUNT; role++) {
		const struct sandbox_role_desc *d = sandbox_role((enum sandbox_role)role);

		for (unsigned i = 0; i < d->nrules; i++)
			cr_assert_neq(d->rules[i].nr, SYS_getppid, "role %s allows getppid", d->name);
		for (unsigned i = 0; i < d->nsan_rules; i++)
			cr_assert_neq(d->san_rules[i].nr, SYS_getppid, "role %s (sanitized) allows getppid", d->name);
	}
}

Test(sandbox, syscall_names)
{
	cr_assert_str_eq(sandbox_syscall_name(0), "read");
	cr_assert_str_eq(sandbox_syscall_name(1), "write");
	cr_assert_str_eq(sandbox_syscall_name(257), "openat");
	cr_assert_str_eq(sandbox_syscall_name(SYS_getppid), "getppid");
	cr_assert_str_eq(sandbox_syscall_name(SYS_exit_group), "exit_group");
	cr_assert_str_eq(sandbox_syscall_name(-1), "?");
	cr_assert_str_eq(sandbox_syscall_name(100000), "?");
}

/* ---- compilation -------------------------------------------------------- */

Test(sandbox, compile_every_role)
{
	for (int role = 0; role < SANDBOX_ROLE_COUNT; role++) {
		struct sandbox_filter *f = compile((enum sandbox_role)role);

		cr_assert_gt(f->prog.len, 0, "role %s: empty program", sandbox_role_name((enum sandbox_role)role));
		cr_assert_leq(f->prog.len, sizeof(f->insns) / sizeof(f->insns[0]));
		cr_assert_eq(f->prog.filter, f->insns, "role %s: prog.filter does not point at insns",
			     sandbox_role_name((enum sandbox_role)role));
		/* libseccomp's programs start by checking the architecture. */
		cr_assert_eq(f->insns[0].code, BPF_LD | BPF_W | BPF_ABS, "role %s: first insn %#x",
			     sandbox_role_name((enum sandbox_role)role), f->insns[0].code);
		cr_assert_eq(f->insns[0].k, offsetof(struct seccomp_data, arch));
		/* The last instruction returns. */
		cr_assert_eq(BPF_CLASS(f->insns[f->prog.len - 1].code), BPF_RET, "role %s: last insn %#x",
			     sandbox_role_name((enum sandbox_role)role), f->insns[f->prog.len - 1].code);
		free(f);
	}
}

Test(sandbox, compile_without_doorbells)
{
	struct sandbox_params p = plausible_params();
	struct sandbox_filter *f = calloc(1, sizeof(*f));

	cr_assert_not_null(f);
	for (size_t i = 0; i < sizeof(p.doorbell_fds) / sizeof(p.doorbell_fds[0]); i++)
		p.doorbell_fds[i] = -1;
	cr_assert_eq(sandbox_compile(SANDBOX_ROLE_VCPU, &p, f), 0);
	cr_assert_gt(f->prog.len, 0);
	free(f);
}

Test(sandbox, compile_bad_role)
{
	struct sandbox_params p = plausible_params();
	struct sandbox_filter *f = calloc(1, sizeof(*f));

	cr_assert_not_null(f);
	cr_assert_eq(sandbox_compile(SANDBOX_ROLE_COUNT, &p, f), -EINVAL);
	cr_assert_eq(sandbox_compile((enum sandbox_role)-1, &p, f), -EINVAL);
	free(f);
}

/* ---- enforcement: sandbox_enter (device role) ---------------------------- */

/*
 * The child enters the device sandbox with its stderr on a pipe and calls
 * getppid. Expected: the reporter records SYS_getppid in the shared status
 * page, logs one line, and the child dies by SIGSYS.
 */
Test(sandbox, enter_device_denied_syscall_kills_with_sigsys)
{
	struct worker_status *status = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int err_pipe[2];
	char out[512];
	pid_t pid;
	int ws;

	cr_assert_neq(status, MAP_FAILED);
	status->magic = WORKER_STATUS_MAGIC;
	atomic_store(&status->denied_syscall, -1);
	high_pipe(err_pipe);
	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		struct sandbox_params p = plausible_params();
		int r;

		p.log_who = "dev-test";
		child_prepare();
		if (dup2(err_pipe[1], 2) < 0)
			_exit(10);
		close(err_pipe[0]);
		close(err_pipe[1]);
		r = sandbox_enter(SANDBOX_ROLE_DEVICE, &p, status);
		if (r != 0)
			raw_exit_group(11);
		raw_syscall3(SYS_getppid, 0, 0, 0);
		raw_exit_group(12); /* not reached */
	}
	close(err_pipe[1]);
	drain(err_pipe[0], out, sizeof(out));
	close(err_pipe[0]);
	ws = wait_child(pid);
	assert_killed_by_sigsys(ws, "getppid in the device sandbox");
	cr_assert_eq(atomic_load(&status->denied_syscall), SYS_getppid,
		     "status->denied_syscall = %d, expected SYS_getppid (%d)", atomic_load(&status->denied_syscall),
		     SYS_getppid);
	cr_assert_eq(status->magic, WORKER_STATUS_MAGIC, "the reporter touched more than denied_syscall");
	{
		char want[96];

		snprintf(want, sizeof(want), "squib[dev-test %d]: seccomp denied syscall %d", (int)pid, SYS_getppid);
		cr_assert_not_null(strstr(out, want), "stderr '%s' lacks '%s'", out, want);
	}
	munmap(status, 4096);
}

/* The same child, doing only allowed things, exits normally. */
Test(sandbox, enter_device_allowed_syscalls_work)
{
	struct worker_status *status = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int out_pipe[2];
	char out[64];
	pid_t pid;
	int ws;

	cr_assert_neq(status, MAP_FAILED);
	atomic_store(&status->denied_syscall, -1);
	high_pipe(out_pipe);
	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct sandbox_params p = plausible_params();
		struct timespec ts;

		/* A device may write stderr and the fds its model names (uart: its console kick). */
		p.extra[p.nextra++] = (struct sandbox_fd_rule){ SYS_write, out_pipe[1], "test" };
		child_prepare();
		close(out_pipe[0]);
		if (sandbox_enter(SANDBOX_ROLE_DEVICE, &p, status) != 0)
			raw_exit_group(11);
		if (raw_syscall6(SYS_clock_gettime, CLOCK_MONOTONIC, (long)&ts, 0, 0, 0, 0) != 0)
			raw_exit_group(12);
		if (raw_write(out_pipe[1], "ok", 2) != 2)
			raw_exit_group(13);
		raw_exit_group(0);
	}
	close(out_pipe[1]);
	drain(out_pipe[0], out, sizeof(out));
	close(out_pipe[0]);
	ws = wait_child(pid);
	assert_exited(ws, 0, "allowed syscalls in the device sandbox");
	cr_assert_str_eq(out, "ok");
	cr_assert_eq(atomic_load(&status->denied_syscall), -1, "nothing was denied");
	munmap(status, 4096);
}

/* ---- enforcement: the vCPU filter loaded by hand (as worker.c does) ------ */

enum vcpu_probe {
	PROBE_LOG_WRITE,        /* write on log_fd: allowed */
	PROBE_DOORBELL_WRITE,   /* write on a doorbell fd: allowed */
	PROBE_FOREIGN_WRITE,    /* write on fd 9: denied */
	PROBE_VCPU_IOCTL,       /* KVM_RUN on vcpu_fd: allowed (fails with ENOTTY on /dev/null) */
	PROBE_OTHER_IOCTL,      /* TCGETS on vcpu_fd: denied */
	PROBE_IOCTL_OTHER_FD,   /* KVM_RUN on the log fd: denied */
	PROBE_FUTEX_WAKE,       /* FUTEX_WAKE: allowed */
	PROBE_FUTEX_WAKE_PRIV,  /* FUTEX_WAKE_PRIVATE: denied */
	PROBE_GETPPID,          /* denied */
	PROBE_READ,             /* read: denied */
	PROBE_CLOCK_GETTIME,    /* clock_gettime: allowed only with inline_testdev */
};

/*
 * The child's part after its filter is loaded: raw syscalls only, and never
 * instrumented. (ASan inserts __asan_handle_no_return before noreturn calls
 * such as raw_exit_group, and that calls sigaltstack, which the vCPU filter
 * rightly denies; vCPU workers themselves are built -fno-sanitize=all.)
 */
static volatile int child_exit_retry = 1;

static __attribute__((noinline, no_sanitize("address", "undefined"))) void
vcpu_probe_run(const struct sandbox_filter *f, enum vcpu_probe probe)
{
	uint32_t word = 0;
	long r = 0;

	if (load_filter_raw(f) != 0) {
		r = 22;
		goto out;
	}
	switch (probe) {
	case PROBE_LOG_WRITE:
		r = raw_write(TEST_LOG_FD, "log;", 4) == 4 ? 0 : 1;
		break;
	case PROBE_DOORBELL_WRITE:
		r = raw_write(TEST_DOORBELL_A, "bell6;", 6) == 6 && raw_write(TEST_DOORBELL_B, "bell7;", 6) == 6
			    ? 0
			    : 1;
		break;
	case PROBE_FOREIGN_WRITE:
		raw_write(TEST_FOREIGN_FD, "fd9;", 4);
		r = 30;
		break;
	case PROBE_VCPU_IOCTL:
		r = raw_ioctl(TEST_VCPU_FD, KVM_RUN, 0) == -ENOTTY ? 0 : 1;
		break;
	case PROBE_OTHER_IOCTL: {
		struct termios t;

		raw_ioctl(TEST_VCPU_FD, TCGETS, (unsigned long)&t);
		r = 30;
		break;
	}
	case PROBE_IOCTL_OTHER_FD:
		raw_ioctl(TEST_LOG_FD, KVM_RUN, 0);
		r = 30;
		break;
	case PROBE_FUTEX_WAKE:
		r = raw_futex_wake(&word, 1) == 0 ? 0 : 1;
		break;
	case PROBE_FUTEX_WAKE_PRIV:
		raw_syscall6(SYS_futex, (long)&word, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0);
		r = 30;
		break;
	case PROBE_GETPPID:
		raw_syscall3(SYS_getppid, 0, 0, 0);
		r = 30;
		break;
	case PROBE_READ: {
		char c;

		raw_read(TEST_VCPU_FD, &c, 1);
		r = 30;
		break;
	}
	case PROBE_CLOCK_GETTIME: {
		struct timespec ts;

		r = raw_syscall6(SYS_clock_gettime, CLOCK_MONOTONIC, (long)&ts, 0, 0, 0, 0) == 0 ? 0 : 1;
		break;
	}
	}
out:
	/*
	 * Not raw_exit_group: a call the compiler knows never returns would
	 * make this function noreturn too, and ASan would instrument its caller.
	 */
	while (child_exit_retry)
		raw_syscall3(SYS_exit_group, r, 0, 0);
}

/*
 * Forks a child whose fds log_fd, the doorbells and fd 9 are pipes (vcpu_fd
 * is /dev/null), loads the compiled vCPU filter and runs probe. Returns the
 * wait status; *out receives what arrived on the pipes (tagged by fd).
 */
static int run_vcpu_probe_with(const struct sandbox_params *p, enum vcpu_probe probe, char *out, size_t out_cap)
{
	struct sandbox_filter *f = calloc(1, sizeof(*f));
	int pipes[2];
	pid_t pid;
	int ws;

	cr_assert_not_null(f);
	cr_assert_eq(sandbox_compile(SANDBOX_ROLE_VCPU, p, f), 0);
	high_pipe(pipes);
	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		static const int write_fds[] = { TEST_LOG_FD, TEST_DOORBELL_A, TEST_DOORBELL_B, TEST_FOREIGN_FD };
		int devnull = open("/dev/null", O_RDWR);

		child_prepare();
		if (devnull < 0 || dup2(devnull, TEST_VCPU_FD) < 0)
			_exit(20);
		/* All write fds share one pipe: the parent sees which fd wrote from the text. */
		for (size_t i = 0; i < sizeof(write_fds) / sizeof(write_fds[0]); i++)
			if (dup2(pipes[1], write_fds[i]) < 0)
				_exit(21);
		close(pipes[0]);
		close(pipes[1]);
		close(devnull);
		vcpu_probe_run(f, probe);
		_exit(23); /* not reached */
	}
	close(pipes[1]);
	drain(pipes[0], out, out_cap);
	close(pipes[0]);
	ws = wait_child(pid);
	free(f);
	return ws;
}

static int run_vcpu_probe(enum vcpu_probe probe, char *out, size_t out_cap)
{
	struct sandbox_params p = plausible_params();

	return run_vcpu_probe_with(&p, probe, out, out_cap);
}

/* clock_gettime is testdev's (the inline benchmark baseline's), so only that VM's vCPUs get it. */
Test(sandbox, vcpu_filter_allows_clock_gettime_only_with_inline_testdev)
{
	struct sandbox_params p = plausible_params();
	char out[64];
	int ws = run_vcpu_probe_with(&p, PROBE_CLOCK_GETTIME, out, sizeof(out));

	assert_killed_by_sigsys(ws, "clock_gettime without --inline-testdev");
	p.inline_testdev = true;
	ws = run_vcpu_probe_with(&p, PROBE_CLOCK_GETTIME, out, sizeof(out));
	assert_exited(ws, 0, "clock_gettime with --inline-testdev");
}

Test(sandbox, vcpu_filter_allows_write_on_log_fd)
{
	char out[64];
	int ws = run_vcpu_probe(PROBE_LOG_WRITE, out, sizeof(out));

	assert_exited(ws, 0, "write on the log fd");
	cr_assert_str_eq(out, "log;");
}

Test(sandbox, vcpu_filter_allows_write_on_doorbells)
{
	char out[64];
	int ws = run_vcpu_probe(PROBE_DOORBELL_WRITE, out, sizeof(out));

	assert_exited(ws, 0, "write on the doorbell fds");
	cr_assert_str_eq(out, "bell6;bell7;");
}

Test(sandbox, vcpu_filter_denies_write_on_other_fd)
{
	char out[64];
	int ws = run_vcpu_probe(PROBE_FOREIGN_WRITE, out, sizeof(out));

	assert_killed_by_sigsys(ws, "write on fd 9");
	cr_assert_str_eq(out, "", "the denied write went through: '%s'", out);
}

Test(sandbox, vcpu_filter_allows_kvm_ioctl_on_vcpu_fd)
{
	char out[64];
	int ws = run_vcpu_probe(PROBE_VCPU_IOCTL, out, sizeof(out));

	assert_exited(ws, 0, "KVM_RUN on the vCPU fd");
}

Test(sandbox, vcpu_filter_denies_other_ioctl)
{
	char out[64];
	int ws = run_vcpu_probe(PROBE_OTHER_IOCTL, out, sizeof(out));

	assert_killed_by_sigsys(ws, "TCGETS on the vCPU fd");
}

Test(sandbox, vcpu_filter_denies_ioctl_on_other_fd)
{
	char out[64];
	int ws = run_vcpu_probe(PROBE_IOCTL_OTHER_FD, out, sizeof(out));

	assert_killed_by_sigsys(ws, "KVM_RUN on the log fd");
}

Test(sandbox, vcpu_filter_allows_shared_futex_wake)
{
	char out[64];
	int ws = run_vcpu_probe(PROBE_FUTEX_WAKE, out, sizeof(out));

	assert_exited(ws, 0, "FUTEX_WAKE");
}

Test(sandbox, vcpu_filter_denies_private_futex)
{
	char out[64];
	int ws = run_vcpu_probe(PROBE_FUTEX_WAKE_PRIV, out, sizeof(out));

	assert_killed_by_sigsys(ws, "FUTEX_WAKE_PRIVATE");
}

Test(sandbox, vcpu_filter_denies_getppid_and_read)
{
	char out[64];
	int ws = run_vcpu_probe(PROBE_GETPPID, out, sizeof(out));

	assert_killed_by_sigsys(ws, "getppid");
	ws = run_vcpu_probe(PROBE_READ, out, sizeof(out));
	assert_killed_by_sigsys(ws, "read");
}

Test(sandbox, enter_device_write_to_foreign_fd_is_denied)
{
	struct worker_status *status = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int out_pipe[2];
	pid_t pid;
	int ws;

	cr_assert_neq(status, MAP_FAILED);
	atomic_store(&status->denied_syscall, -1);
	high_pipe(out_pipe);
	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct sandbox_params p = plausible_params();

		child_prepare();
		close(out_pipe[0]);
		if (sandbox_enter(SANDBOX_ROLE_DEVICE, &p, status) != 0)
			raw_exit_group(11);
		(void)raw_write(out_pipe[1], "no", 2); /* not its output fd: denied */
		raw_exit_group(0);
	}
	close(out_pipe[0]);
	close(out_pipe[1]);
	ws = wait_child(pid);
#ifdef SQUIB_SANITIZED
	/* Sanitizer builds allow write(2) on any fd for the runtime's reports. */
	(void)ws;
#else
	cr_assert(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGSYS, "write to a foreign fd killed the device worker by SIGSYS (status 0x%x)", ws);
	cr_assert_eq(atomic_load(&status->denied_syscall), SYS_write);
#endif
	munmap(status, 4096);
}

/*
 * The monitor may restore the terminal on fd 0 (tcsetattr: ioctl TCSETS),
 * nothing else through ioctl: TIOCSTI (faking typed input) is denied.
 */
static int monitor_ioctl_child(unsigned long req, struct worker_status *status)
{
	int master, slave;
	pid_t pid;

	cr_assert_eq(openpty(&master, &slave, NULL, NULL, NULL), 0, "openpty: %s", strerror(errno));
	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct sandbox_params p = plausible_params();
		struct termios t;
		char c = 'x';

		child_prepare();
		if (dup2(slave, 0) < 0 || tcgetattr(0, &t) < 0)
			raw_exit_group(10);
		if (sandbox_enter(SANDBOX_ROLE_MONITOR, &p, status) != 0)
			raw_exit_group(11);
		if (req == TCSETS && tcsetattr(0, TCSANOW, &t) != 0)
			raw_exit_group(12);
		if (req == TIOCSTI)
			(void)raw_syscall6(SYS_ioctl, 0, TIOCSTI, (long)&c, 0, 0, 0);
		raw_exit_group(0);
	}
	close(master);
	close(slave);
	return wait_child(pid);
}

Test(sandbox, monitor_may_restore_the_terminal_only)
{
	struct worker_status *status = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	cr_assert_neq(status, MAP_FAILED);
	atomic_store(&status->denied_syscall, -1);
	assert_exited(monitor_ioctl_child(TCSETS, status), 0, "tcsetattr(0, TCSANOW) in the monitor sandbox");
	cr_assert_eq(atomic_load(&status->denied_syscall), -1, "nothing was denied");
	assert_killed_by_sigsys(monitor_ioctl_child(TIOCSTI, status), "TIOCSTI in the monitor sandbox");
	munmap(status, 4096);
}

/*
 * The monitor signals its workers through their pidfds: SIGKILL at
 * teardown, SIGUSR1 to kick a vCPU worker for a state dump. Any other
 * signal (here SIGTERM) is denied.
 */
static int monitor_signal_child(int sig)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct sandbox_params p = plausible_params();
		pid_t target;
		int pidfd;

		pid_t parent = getpid();

		child_prepare();
		target = fork();
		if (target < 0)
			raw_exit_group(10);
		if (target == 0) {
			/*
			 * Dies with the child even when the child dies by SIGSYS before
			 * killing it; the getppid check covers a child that died before
			 * the prctl (a leftover pausing forever held make test's pipe).
			 */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != parent)
				raw_exit_group(0);
			signal(SIGUSR1, SIG_IGN); /* a vCPU worker handles it; here it must just arrive */
			for (;;)
				pause();
		}
		pidfd = (int)raw_syscall3(SYS_pidfd_open, target, 0, 0);
		if (pidfd < 0)
			raw_exit_group(11);
		p.signal_fds = &pidfd;
		p.nsignal_fds = 1;
		if (sandbox_enter(SANDBOX_ROLE_MONITOR, &p, NULL) != 0)
			raw_exit_group(12);
		if (raw_syscall6(SYS_pidfd_send_signal, pidfd, sig, 0, 0, 0, 0) != 0)
			raw_exit_group(13);
		(void)raw_syscall6(SYS_pidfd_send_signal, pidfd, SIGKILL, 0, 0, 0, 0);
		raw_exit_group(0);
	}
	return wait_child(pid);
}

Test(sandbox, monitor_may_send_sigkill_and_sigusr1_only)
{
	assert_exited(monitor_signal_child(SIGUSR1), 0, "pidfd_send_signal(SIGUSR1) in the monitor sandbox");
	assert_exited(monitor_signal_child(SIGKILL), 0, "pidfd_send_signal(SIGKILL) in the monitor sandbox");
	assert_killed_by_sigsys(monitor_signal_child(SIGTERM), "pidfd_send_signal(SIGTERM) in the monitor sandbox");
}

/* ---- the monitor's argument checks (issue: hardened multi-tenant hosts) --- */

enum monitor_probe {
	PROBE_NOTHING,          /* control: the listed fd, the listed pidfd */
	PROBE_KILL_SIBLING,     /* kill(2) is not in the monitor's filter at all */
	PROBE_KILL_ALL,         /* kill(-1, SIGKILL), inside a fresh pid namespace */
	PROBE_UNLISTED_PIDFD,   /* pidfd_send_signal on a pidfd that is not a vCPU worker's */
	PROBE_MMAP_RWX,         /* mmap(PROT_WRITE | PROT_EXEC) */
	PROBE_STAT_PATH,        /* newfstatat("/etc/passwd") */
	PROBE_FUTEX_LOCK_PI,    /* a futex op it does not use */
	PROBE_WRITE_UNLISTED,   /* write(2) on an fd it did not hold when it narrowed */
};

/*
 * In a forked child: enters the monitor's filter with one listed fd (a
 * pipe's write end), one listed pidfd and one unlisted one (two paused
 * siblings), then runs the probe. Exits 0 when the probe's syscall
 * returned; the filter's SIGSYS otherwise. *sibling_alive says whether the
 * unlisted sibling outlived the probe.
 */
static int monitor_probe_child(enum monitor_probe probe, bool *sibling_alive)
{
	int *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int status;
	pid_t pid;

	cr_assert_neq(shared, MAP_FAILED);
	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct sandbox_params p = plausible_params();
		pid_t parent = getpid(), kids[2];
		int pidfds[2], held[2], pipefd[2];
		char c = 'x';

		child_prepare();
		if (probe == PROBE_KILL_ALL && unshare(CLONE_NEWPID) < 0)
			raw_exit_group(9);
		/* In a new pid namespace, the next fork is its pid 1: kill(-1) there reaches nothing outside. */
		if (probe == PROBE_KILL_ALL) {
			pid_t init = fork();

			if (init < 0)
				raw_exit_group(10);
			if (init > 0) {
				int st = 0;

				while (waitpid(init, &st, 0) < 0 && errno == EINTR)
					;
				if (WIFSIGNALED(st))
					raise(WTERMSIG(st)); /* dies the way the namespace's init did */
				raw_exit_group(WIFEXITED(st) ? WEXITSTATUS(st) : 10);
			}
			parent = getpid();
		}
		for (int i = 0; i < 2; i++) {
			kids[i] = fork();
			if (kids[i] < 0)
				raw_exit_group(10);
			if (kids[i] == 0) {
				prctl(PR_SET_PDEATHSIG, SIGKILL);
				if (getppid() != parent)
					raw_exit_group(0);
				signal(SIGUSR1, SIG_IGN);
				for (;;)
					pause();
			}
			pidfds[i] = (int)raw_syscall3(SYS_pidfd_open, kids[i], 0, 0);
			if (pidfds[i] < 0)
				raw_exit_group(11);
		}
		if (pipe(pipefd) < 0)
			raw_exit_group(11);
		held[0] = 2;
		held[1] = pipefd[1];
		p.held_fds = held;
		p.nheld_fds = 2;
		p.signal_fds = &pidfds[0]; /* kids[1] is not listed */
		p.nsignal_fds = 1;
		if (sandbox_enter(SANDBOX_ROLE_MONITOR, &p, NULL) != 0)
			raw_exit_group(12);
		switch (probe) {
		case PROBE_NOTHING:
			if (raw_write(pipefd[1], &c, 1) != 1 ||
			    raw_syscall6(SYS_pidfd_send_signal, pidfds[0], SIGUSR1, 0, 0, 0, 0) != 0)
				raw_exit_group(13);
			break;
		case PROBE_KILL_SIBLING:
			(void)raw_syscall6(SYS_kill, kids[1], SIGKILL, 0, 0, 0, 0);
			break;
		case PROBE_KILL_ALL:
			(void)raw_syscall6(SYS_kill, -1, SIGKILL, 0, 0, 0, 0);
			break;
		case PROBE_UNLISTED_PIDFD:
			(void)raw_syscall6(SYS_pidfd_send_signal, pidfds[1], SIGKILL, 0, 0, 0, 0);
			break;
		case PROBE_MMAP_RWX:
			(void)raw_syscall6(SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
					   -1, 0);
			break;
		case PROBE_STAT_PATH: {
			struct stat st;

			(void)raw_syscall6(SYS_newfstatat, AT_FDCWD, (long)"/etc/passwd", (long)&st, 0, 0, 0);
			break;
		}
		case PROBE_FUTEX_LOCK_PI: {
			uint32_t word = 0;

			(void)raw_syscall6(SYS_futex, (long)&word, FUTEX_LOCK_PI, 0, 0, 0, 0);
			break;
		}
		case PROBE_WRITE_UNLISTED:
			(void)raw_write(pipefd[0], &c, 1);
			break;
		}
		/* Is the unlisted sibling still there? (waitid: the one way the filter leaves to look.) */
		{
			siginfo_t info;

			memset(&info, 0, sizeof(info));
			shared[0] = waitid(P_PID, (id_t)kids[1], &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
				    info.si_pid == 0;
		}
		raw_exit_group(0);
	}
	status = wait_child(pid);
	*sibling_alive = shared[0];
	munmap(shared, 4096);
	return status;
}

static void assert_probe_denied(enum monitor_probe probe, const char *what)
{
	bool alive;

	assert_killed_by_sigsys(monitor_probe_child(probe, &alive), what);
}

Test(sandbox, monitor_filter_checks_arguments)
{
	bool alive = false;

	assert_exited(monitor_probe_child(PROBE_NOTHING, &alive), 0, "a listed fd and a listed pidfd");
	cr_assert(alive, "the unlisted sibling died with nothing sent to it");
	assert_probe_denied(PROBE_KILL_SIBLING, "kill(sibling) in the monitor sandbox");
	assert_probe_denied(PROBE_KILL_ALL, "kill(-1) in the monitor sandbox (own pid namespace)");
	assert_probe_denied(PROBE_UNLISTED_PIDFD, "pidfd_send_signal on a pidfd that is no vCPU worker's");
#ifndef SQUIB_SANITIZED
	/* The ASan build lets its runtime map, stat, lock and write freely (sandbox.c, san_rules). */
	assert_probe_denied(PROBE_MMAP_RWX, "mmap(PROT_WRITE | PROT_EXEC) in the monitor sandbox");
	assert_probe_denied(PROBE_STAT_PATH, "newfstatat(\"/etc/passwd\") in the monitor sandbox");
	assert_probe_denied(PROBE_FUTEX_LOCK_PI, "FUTEX_LOCK_PI in the monitor sandbox");
	assert_probe_denied(PROBE_WRITE_UNLISTED, "write on an fd the monitor did not hold");
#else
	cr_log_info("mmap, newfstatat, futex and fd checks: release builds only (the sanitizer runtime needs them)");
#endif
}
