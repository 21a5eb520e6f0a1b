/* SPDX-License-Identifier: MIT */
/*
 * The monitor's event loop (supervisor.c) and the one way a VM ends.
 */
#ifndef SQUIB_MONITOR_SUPERVISOR_H
#define SQUIB_MONITOR_SUPERVISOR_H

#include "common/compiler.h"

struct vm;

/* The libevent base and every event (signals, pidfds, control sockets, doorbell, console). 0 or -errno. */
int supervisor_setup(struct vm *vm) MUST_USE;
void supervisor_teardown(struct vm *vm);
/* While ending: stops the loop once no device worker is left. */
void supervisor_check_all_stopped(struct vm *vm);
/* Ends the VM: the first reason wins, fixes the exit status and is logged (one line). */
void vm_end(struct vm *vm, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
