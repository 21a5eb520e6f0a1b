/* SPDX-License-Identifier: MIT */
/*
 * The vCPU worker's KVM_RUN loop. Freestanding: see worker.h.
 *
 * Syscalls after the seccomp filter is loaded (sandbox/profiles.c lists them):
 * ioctl on the vCPU fd (KVM_RUN, KVM_GET/SET_REGS, KVM_GET_SREGS,
 * KVM_GET/SET_VCPU_EVENTS, KVM_SET_GUEST_DEBUG, KVM_TRANSLATE), write (log fd, doorbell eventfds),
 * futex (ring waits), exit_group, clock_gettime (inline testdev only).
 */
#include "vcpu-worker/worker.h"
#include "vcpu-worker/exits.h"

#include <errno.h>
#include <linux/prctl.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>

#include "common/fmt.h"
#include "common/log_prefix.h"
#include "common/raw_syscall.h"
#include "vcpu-worker/cpu_dump.h"
#include "vcpu-worker/kvm_vcpu.h"


/* ---- logging ------------------------------------------------------------ */

void vcpu_log_line(struct vcpu_worker *w, const char *text)
{
	char line[192];
	struct fmt_buf f;

	fmt_init(&f, line, sizeof(line));
	fmt_log_prefix(&f, "vcpu", w->index, w->pid);
	fmt_str(&f, text);
	fmt_char(&f, '\n');
	(void)raw_write(w->log_fd, line, f.len);
}

/* ---- the SIGSYS reporter -------------------------------------------------- */

void squib_vcpu_sigreturn(void);
__asm__(".text\n"
	".globl squib_vcpu_sigreturn\n"
	".type squib_vcpu_sigreturn,@function\n"
	"squib_vcpu_sigreturn:\n"
	"\tmov $15, %eax\n" /* rt_sigreturn */
	"\tsyscall\n"
	"\thlt\n");

static struct vcpu_worker *worker_from_stack(void)
{
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);

	return (struct vcpu_worker *)(sp & ~((uintptr_t)VCPU_WORKER_REGION_SIZE - 1));
}

/*
 * Runs on the worker's own stack when seccomp denies a syscall: records the
 * number for the monitor, then issues the denied syscall again. SIGSYS is
 * blocked inside its own handler, so the kernel resets it to the default
 * action and the worker dies by SIGSYS, which the monitor reports.
 */
static void vcpu_sigsys_handler(int sig, siginfo_t *info, void *uctx)
{
	struct vcpu_worker *w = worker_from_stack();
	int nr = info->si_syscall;

	(void)sig;
	(void)uctx;
	if (w->magic == VCPU_WORKER_MAGIC)
		atomic_store(&w->status.denied_syscall, nr);
	/*
	 * SAFETY: re-issues the denied syscall with every argument -1, so the
	 * filter denies it again (no rule admits fd -1 or futex op -1) and the
	 * kernel never dereferences an argument; it exists so a tracer sees
	 * the number. nr came from the kernel's siginfo, not from the guest.
	 */
	raw_syscall6(nr, -1, -1, -1, -1, -1, -1);
	raw_exit_group(128 + SIGSYS);
}

struct kernel_sigaction {
	void *handler;
	unsigned long flags;
	void *restorer;
	uint64_t mask;
};

/* rt_sigaction(2) with the kernel's struct. Precondition: sig is valid. */
static long raw_sigaction(int sig, void *handler, unsigned long flags)
{
	struct kernel_sigaction ka = {
		.handler = handler,
		.flags = flags | 0x04000000 /* SA_RESTORER */,
		.restorer = (void *)squib_vcpu_sigreturn,
		.mask = 0,
	};

	/*
	 * SAFETY: rt_sigaction(2) with the kernel's struct (not glibc's) on
	 * this stack, no old-action pointer, sigsetsize 8 (the kernel's
	 * sigset_t on x86-64). The restorer is this file's asm stub, which
	 * issues rt_sigreturn; dispositions are per task here (no CLONE_SIGHAND).
	 */
	return raw_syscall6(SYS_rt_sigaction, sig, (long)&ka, 0, 8, 0, 0);
}

/*
 * VCPU_DUMP_SIGNAL's handler: nothing. Its only job is to interrupt KVM_RUN
 * (or a futex wait, which simply waits again); the loop then looks at
 * dump_requested.
 */
static void vcpu_kick_handler(int sig)
{
	(void)sig;
}

/* ---- set-up ------------------------------------------------------------- */

static int worker_setup_signals(struct vcpu_worker *w)
{
	/* The monitor owns the terminal: keyboard and job-control signals are its. */
	static const int ignored[] = { SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGPIPE, SIGTSTP,
				       SIGTTIN, SIGTTOU, SIGUSR2, SIGALRM, SIGCHLD, SIGWINCH };
	uint64_t none = 0;
	long r;

	for (size_t i = 0; i < ARRAY_SIZE(ignored); i++) {
		r = raw_sigaction(ignored[i], SIG_IGN, 0);
		if (r < 0)
			return (int)r;
	}
	r = raw_sigaction(SIGSYS, (void *)vcpu_sigsys_handler, SA_SIGINFO);
	if (r < 0)
		return (int)r;
	/* No SA_RESTART: KVM_RUN must come back with -EINTR. */
	r = raw_sigaction(VCPU_DUMP_SIGNAL, (void *)vcpu_kick_handler, 0);
	if (r < 0)
		return (int)r;
	/* Die with the monitor. SAFETY: prctl(2) with scalar arguments only. */
	r = raw_syscall6(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0, 0);
	if (r < 0)
		return (int)r;
	(void)w;
	/*
	 * The monitor blocked every signal around clone(); unblock them here.
	 * SAFETY: rt_sigprocmask(2) reads the 8-byte kernel sigset `none` on
	 * this stack; no old-mask pointer. The mask is this task's alone.
	 */
	return (int)raw_syscall6(SYS_rt_sigprocmask, SIG_SETMASK, (long)&none, 0, 8, 0, 0);
}

/* Closes every fd but the ones this worker uses (its fd table is a copy of the monitor's). */
static int worker_close_fds(struct vcpu_worker *w)
{
	int keep[3 + VCPU_MAX_DEVICES + 1];
	int nkeep = 0, lo = 0;
	long r;

	keep[nkeep++] = w->vcpu_fd;
	keep[nkeep++] = w->vm_fd;
	keep[nkeep++] = w->log_fd;
	keep[nkeep++] = w->monitor_doorbell_fd;
	for (uint32_t d = 0; d < w->ndevices; d++)
		keep[nkeep++] = w->device_rings[d].doorbell_fd;
	/* Sort (insertion sort: at most a dozen entries). */
	for (int i = 1; i < nkeep; i++)
		for (int j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
			int t = keep[j];
			keep[j] = keep[j - 1];
			keep[j - 1] = t;
		}
	for (int i = 0; i < nkeep; i++) {
		if (keep[i] < 0 || keep[i] < lo)
			continue;
		if (keep[i] > lo) {
			/*
			 * SAFETY: close_range(2) (Linux 5.9) on this task's own fd
			 * table, a copy made by clone without CLONE_FILES: the
			 * monitor's fds stay open. Scalars only.
			 */
			r = raw_syscall3(SYS_close_range, lo, keep[i] - 1, 0);
			if (r < 0)
				return (int)r;
		}
		lo = keep[i] + 1;
	}
	r = raw_syscall3(SYS_close_range, lo, ~0U, 0); /* SAFETY: as above, up to the last fd */
	return (int)r;
}

static int worker_enter_sandbox(struct vcpu_worker *w)
{
	char name[16] = "squib-vcpu";
	struct fmt_buf f;
	long r;

	fmt_init(&f, name + 10, sizeof(name) - 10);
	fmt_dec(&f, w->index);
	/* SAFETY: prctl(2) reads at most 16 bytes of name, NUL-terminated (fmt keeps it so). */
	r = raw_syscall6(SYS_prctl, PR_SET_NAME, (long)name, 0, 0, 0, 0);
	if (r < 0)
		return (int)r;
	/* SAFETY: scalar arguments; required before an unprivileged seccomp filter. */
	r = raw_syscall6(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0);
	if (r < 0)
		return (int)r;
	/*
	 * SAFETY: seccomp(2) reads the sock_fprog and its instructions, which
	 * the monitor compiled into w->filter before the clone and never
	 * changes afterwards. No TSYNC: the filter applies to this task only
	 * (the monitor enters its own).
	 */
	return (int)raw_syscall3(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, (long)&w->filter->prog);
}

/* ---- entry -------------------------------------------------------------- */

static void wait_for_gate(struct vcpu_worker *w)
{
	uint32_t v;

	while ((v = atomic_load(w->start_gate)) == VCPU_GATE_WAIT)
		(void)raw_futex_wait((volatile uint32_t *)w->start_gate, VCPU_GATE_WAIT);
	if (v != VCPU_GATE_GO)
		raw_exit_group(VCPU_EXIT_ABORTED);
}

int vcpu_worker_main(void *arg)
{
	struct vcpu_worker *w = arg;
	int err;

	err = worker_setup_signals(w);
	if (err == 0)
		err = worker_close_fds(w);
	if (err == 0 && w->single_step > 0) {
		struct kvm_guest_debug dbg = { .control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP };

		err = (int)kvm_vcpu_set_guest_debug(w->vcpu_fd, &dbg);
	}
	if (err == 0)
		err = worker_enter_sandbox(w);
	if (err < 0) {
		char text[96];
		struct fmt_buf f;

		fmt_init(&f, text, sizeof(text));
		fmt_str(&f, "set-up failed: errno ");
		fmt_dec(&f, -err);
		vcpu_log_line(w, text);
		raw_exit_group(VCPU_EXIT_SETUP);
	}
	wait_for_gate(w);
	for (;;) {
		long r = kvm_vcpu_run(w->vcpu_fd);

		if (r == -EINTR && atomic_exchange(&w->dump_requested, 0)) {
			/* No exit is half-done here: KVM completes one before it returns -EINTR. */
			w->run->immediate_exit = 0;
			vcpu_dump_cpu(w->vcpu_fd, w->log_fd, w->index, w->pid, "state dump");
		}
		if (r == -EINTR || r == -EAGAIN)
			continue;
		if (r < 0)
			vcpu_stop_with_error(w, "KVM_RUN", r);
		vcpu_handle_exit(w);
		/*
		 * The kick landed while the exit was handled: re-enter with
		 * immediate_exit, which completes the exit without running the
		 * guest and returns -EINTR, so the registers read are consistent.
		 */
		if (atomic_load(&w->dump_requested))
			w->run->immediate_exit = 1;
	}
}
