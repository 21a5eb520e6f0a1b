/* SPDX-License-Identifier: MIT */
/* Signalling the monitor's workers (worker_signal.h). */
#include "monitor/supervise/worker_signal.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
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

void worker_sigkill(int pidfd, pid_t pid, const char *who)
{
	int r = -EBADF;

	if (pidfd >= 0)
		r = worker_signal(pidfd, SIGKILL);
	if (r == 0)
		return;
	/* Without a pidfd, pid is still our unreaped child, so it cannot have been reused. */
	if (kill(pid, SIGKILL) < 0)
		mlog("%s (pid %d): cannot send SIGKILL: %s", who, (int)pid, strerror(errno));
}
