/* SPDX-License-Identifier: MIT */
/*
 * A device worker's death and what follows (device_restart.c): one log line
 * naming the device, pid and cause; then, by --device-restart and
 * --restart-budget, a successor through the spawner (at once, or with a
 * doubling back-off while workers die within 1 s of starting: a crash
 * loop), the end of the VM (never), or a failed device that reads as
 * removed hardware (past the budget) while the VM keeps running.
 */
#ifndef SQUIB_MONITOR_DEVICE_RESTART_H
#define SQUIB_MONITOR_DEVICE_RESTART_H

#include <stdbool.h>
#include <stdint.h>

struct vm;
struct device_instance;
struct spawner_msg;

/* An event from the spawner (SPAWNED, SPAWN_FAILED, DIED), already checked by spawner_receive. */
void device_spawner_event(struct vm *vm, const struct spawner_msg *m);

/* The device's worker said CONTROL_READY. */
void device_ready(struct vm *vm, struct device_instance *dev);

/*
 * CONTROL_SERVED from a successor: logs how long after its predecessor's
 * death it completed its first request (the pause the guest saw). Once
 * per restart; ignored otherwise.
 */
void device_served(struct vm *vm, struct device_instance *dev);

/*
 * The device broke the ring protocol (a vCPU worker saw a malformed reply):
 * its worker is killed, and its death handled like any other.
 */
void device_broke_protocol(struct vm *vm, struct device_instance *dev, unsigned vcpu, int err);

/*
 * The device left a vCPU's read unanswered for VCPU_REPLY_DEADLINE_S (the
 * vCPU said so): the same, with its own log line; with --device-restart
 * never, the VM ends with status 4.
 */
void device_missed_deadline(struct vm *vm, struct device_instance *dev, unsigned vcpu);

/* The VM is ending: cancel scheduled restarts. */
void device_restarts_cancel(struct vm *vm);

/* --verbose at exit: restarts per device. */
void device_restarts_report(const struct vm *vm);

/*
 * The budget rule: may a device that restarted at times[0..n) (CLOCK_MONOTONIC
 * ns, 0 = unused, any order) restart again at now, with at most budget
 * restarts within window_ns?
 */
bool device_restart_budget_ok(const uint64_t *times, unsigned n, uint64_t now, uint32_t budget, uint64_t window_ns);

/*
 * The back-off before a restart: 0 when the worker that died had served at
 * least 1 s (quick_deaths 0), else 10 ms doubling with each death in a row
 * within 1 s of starting, at most 1 s.
 */
uint64_t device_restart_delay(unsigned quick_deaths);

#endif
