/* SPDX-License-Identifier: MIT */
/*
 * Signalling the monitor's own workers (vCPU and device), through their
 * pidfds: the one place the monitor sends signals. The monitor's filter
 * admits pidfd_send_signal with SIGKILL and SIGUSR1 only, and kill with
 * SIGKILL only (sandbox/sandbox.c).
 */
#ifndef SQUIB_MONITOR_WORKER_SIGNAL_H
#define SQUIB_MONITOR_WORKER_SIGNAL_H

#include <sys/types.h>

#include "common/compiler.h"

/*
 * pidfd_send_signal(pidfd, sig). Preconditions: pidfd came from this
 * process's clone(CLONE_PIDFD) or pidfd_open of its own child, and the child
 * has not been reaped (so the pidfd still names it). 0 or -errno.
 */
int worker_signal(int pidfd, int sig) MUST_USE;

/*
 * SIGKILL to a worker that has not been reaped: through pidfd when it is
 * >= 0, else (or when that fails) kill(pid). A failure of both is logged
 * with who ("vcpu0", "device worker uart"); the caller still reaps.
 */
void worker_sigkill(int pidfd, pid_t pid, const char *who);

#endif
