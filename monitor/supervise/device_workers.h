/* SPDX-License-Identifier: MIT */
/*
 * Device workers (device_workers.c): every device's resources, created once
 * and kept for its successors; the first start of each worker through the
 * spawner (spawner.h), which also runs device_worker_exec for every restart;
 * and stopping, killing or asking a worker for a dump.
 */
#ifndef SQUIB_MONITOR_DEVICE_WORKERS_H
#define SQUIB_MONITOR_DEVICE_WORKERS_H

#include <stdint.h>
#include <sys/types.h>

#include "common/compiler.h"

struct vm;
struct device_instance;

/* Upper bound of the fds one device worker is given (device_worker_fds). */
#define DEVICE_WORKER_MAX_FDS (8 + 64 + 8 + 3)

/*
 * Creates every device's resources, starts the spawner and through it each
 * device's first worker, and waits until each is ready. 0 or -errno (with a
 * log line).
 */
int device_workers_spawn(struct vm *vm) MUST_USE;

/*
 * The fds a worker of dev inherits besides its configuration memfd
 * (at most max of them, written to fds); returns how many. Some may be -1.
 */
int device_worker_fds(const struct vm *vm, const struct device_instance *dev, int *fds, int max);

/*
 * Once the spawner and the VM process hold what they need: the monitor
 * closes every device fd it does not use itself (backends, state regions,
 * ring memfds, queue and interrupt eventfds, the console's ring memfd and
 * IRQ 4 eventfd) and unmaps the virtio state regions. It keeps each
 * device's control socket, doorbell, status page and ring mappings, and the
 * console's kick eventfd and ring mapping: what supervising and answering
 * for a removed device need. A vCPU-side compromise never shared this
 * memory anyway; this keeps a monitor compromise from reaching the
 * tenant's raw disk or tap past the device workers' checks.
 */
void device_workers_release_fds(struct vm *vm);

/*
 * In the spawner: encodes dev's configuration (restart: 0 for the first
 * worker, n for the n-th successor) into a sealed memfd and fork+execs
 * squib-device with exactly its fds, log_fd as its stderr. The pid, or
 * -errno (logged).
 */
pid_t device_worker_exec(const struct vm *vm, const struct device_instance *dev, uint32_t restart, int log_fd);

/* CONTROL_STOP: drain the rings and exit (killed when the message cannot be sent). */
void device_worker_stop(struct device_instance *dev);
/* SIGKILL through the spawner; the spawner's SPAWNER_DIED reports it. */
void device_worker_kill(struct vm *vm, struct device_instance *dev);
/* CONTROL_DUMP: the worker logs its device's state (a stall's evidence). */
void device_worker_request_dump(struct device_instance *dev);

#endif
