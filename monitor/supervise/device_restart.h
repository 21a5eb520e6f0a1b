/* SPDX-License-Identifier: MIT */
/*
 * A device worker's death and what follows (device_restart.c): one log line
 * naming the device, pid and cause; then, by --device-restart and
 * --restart-budget, a successor through the spawner (at once for the first
 * restart in a window, with doubling back-off after that), the end of the
 * VM (never), or a failed device that reads as removed hardware (past the
 * budget) while the VM keeps running.
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
 * The device broke the ring protocol (a vCPU worker saw a malformed reply):
 * its worker is killed, and its death handled like any other.
 */
void device_broke_protocol(struct vm *vm, struct device_instance *dev, unsigned vcpu, int err);

/* The VM is ending: cancel scheduled restarts. */
void device_restarts_cancel(struct vm *vm);

/* --verbose at exit: restarts per device. */
void device_restarts_report(const struct vm *vm);

/*
 * The budget rule, for tests: may a device that restarted at times[0..n)
 * (CLOCK_MONOTONIC ns, any order) restart again at now_ns, with at most
 * budget restarts within window_ns? And how long to wait first: 0 for the
 * first restart in the window, then 10 ms doubling per restart in the
 * window, at most 1 s.
 */
bool device_restart_allowed(const uint64_t *times, unsigned n, uint64_t now_ns, uint32_t budget,
			    uint64_t window_ns, uint64_t *delay_ns);

#endif
