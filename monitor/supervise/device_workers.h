/* SPDX-License-Identifier: MIT */
/*
 * Device workers (device_workers.c): one fork+exec'd squib-device per device,
 * started with every resource open, and stopped, killed or asked for a dump.
 */
#ifndef SQUIB_MONITOR_DEVICE_WORKERS_H
#define SQUIB_MONITOR_DEVICE_WORKERS_H

#include "common/compiler.h"

struct vm;
struct device_instance;

/* Starts every device's worker and waits until each is ready. 0 or -errno (with a log line). */
int device_workers_spawn(struct vm *vm) MUST_USE;
/* CONTROL_STOP: drain the rings and exit (killed when the message cannot be sent). */
void device_worker_stop(struct device_instance *dev);
/* SIGKILL and reap synchronously. */
void device_worker_kill(struct device_instance *dev);
/* CONTROL_DUMP: the worker logs its device's state (a stall's evidence). */
void device_worker_request_dump(struct device_instance *dev);

#endif
