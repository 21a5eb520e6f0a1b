/* SPDX-License-Identifier: MIT */
/* Signalling the monitor's workers (worker_signal.h). */
#include "monitor/supervise/worker_signal.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "monitor/log.h"

int worker_signal(int pidfd, int sig)
{
	/*
	 * SAFETY: pidfd_send_signal(2) (Linux 5.1) with no siginfo and no
	 * flags. The pidfd pins the child's identity: while the child is
	 * unreaped (the precondition) the signal cannot reach a process that
	 * reused its pid.
	 */
	if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0)
		return -errno;
	return 0;
}

void worker_sigkill(int pidfd, const char *who)
{
	int r = worker_signal(pidfd, SIGKILL);

	if (r < 0)
		mlog("%s: cannot send SIGKILL: %s", who, strerror(-r));
}

void worker_describe_death(int code, int status, const struct worker_status *st, char *out, size_t cap)
{
	int nr;

	if (code == CLD_EXITED) {
		snprintf(out, cap, "exited with status %d", status);
		return;
	}
	/*
	 * Trust boundary: the status page is writable by the worker that just
	 * died, and a worker compromised before its death may have written
	 * anything there (or nothing). nr is only a claim: it is printed as a
	 * number and looked up by number (sandbox_syscall_name takes any int),
	 * never used as an index, and only when the kernel itself says the
	 * worker died of SIGSYS. A lying worker can mislabel its own death;
	 * it cannot reach beyond this line.
	 */
	nr = st ? atomic_load(&st->denied_syscall) : -1;
	if (status == SIGSYS && nr >= 0)
		snprintf(out, cap, "was killed by SIGSYS: seccomp denied syscall %s (%d)", sandbox_syscall_name(nr), nr);
	else
		snprintf(out, cap, "was killed by signal %d (SIG%s)", status, sigabbrev_np(status) ?: "?");
}
