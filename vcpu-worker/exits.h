/* SPDX-License-Identifier: MIT */
/*
 * What the vCPU worker's loop (worker.c) and its exit handling (exits.c)
 * share. Freestanding: see worker.h.
 */
#ifndef SQUIB_VCPU_EXITS_H
#define SQUIB_VCPU_EXITS_H

#include "common/compiler.h"
#include "vcpu-worker/worker.h"

/* Handles the exit KVM_RUN just returned (w->run); returns to re-enter KVM_RUN, or ends the vCPU. */
void vcpu_handle_exit(struct vcpu_worker *w);

/* One log line "squib[vcpuN PID]: <text>" on the worker's log fd. */
void vcpu_log_line(struct vcpu_worker *w, const char *text);

/* Ends this vCPU with an InternalError naming what failed with err (-errno). */
NORETURN void vcpu_stop_with_error(struct vcpu_worker *w, const char *what, long err);

#endif
