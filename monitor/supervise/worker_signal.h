/* SPDX-License-Identifier: MIT */
/*
 * Signalling the monitor's own workers (vCPU and device), through their
 * pidfds: the one place the monitor sends signals. The monitor's filter
 * admits pidfd_send_signal with SIGKILL and SIGUSR1 only, and kill with
 * SIGKILL only (sandbox/sandbox.c).
 */
#ifndef SQUIB_MONITOR_WORKER_SIGNAL_H
#define SQUIB_MONITOR_WORKER_SIGNAL_H

#include <stddef.h>
#include <sys/types.h>

#include "common/compiler.h"
#include "sandbox/sandbox.h"

/*
 * pidfd_send_signal(pidfd, sig). Preconditions: pidfd came from this
 * process's clone(CLONE_PIDFD) or pidfd_open of its own child, and the child
 * has not been reaped (so the pidfd still names it). 0 or -errno.
 */
int worker_signal(int pidfd, int sig) MUST_USE;

/*
 * SIGKILL through pidfd to a worker that has not been reaped (the monitor's
 * filter has no kill(2)). A failure is logged with who ("vcpu0"); the
 * caller still reaps.
 */
void worker_sigkill(int pidfd, const char *who);

/*
 * How a worker ended, from waitid's si_code and si_status: "exited with
 * status N", "was killed by signal 9 (SIGKILL)", or for SIGSYS the syscall
 * the seccomp filter denied (read from its status page st, which the worker
 * could write: a claim, printed only).
 */
void worker_describe_death(int code, int status, const struct worker_status *st, char *out, size_t cap);

#endif
