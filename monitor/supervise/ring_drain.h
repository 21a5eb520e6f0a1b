/* SPDX-License-Identifier: MIT */
/*
 * The monitor as a ring consumer (ring_drain.c): its own ring from each
 * vCPU worker (supervisor.c), and a failed device's rings, which it answers
 * as removed hardware (device_restart.c). The monitor is event driven, so it
 * is always "asleep" between drains: it announces that whenever it finds a
 * ring empty (any later push rings the doorbell).
 */
#ifndef SQUIB_MONITOR_RING_DRAIN_H
#define SQUIB_MONITOR_RING_DRAIN_H

#include <stdint.h>

#include "common/compiler.h"
#include "proto/ring.h"
#include "proto/wire.h"

/* Records the monitor serves from one ring per wake-up: a flooding vCPU cannot hold its event loop. */
#define MONITOR_RING_BUDGET RING_DEFAULT_SLOTS

/*
 * The next exit of ring c, decoded into *e with its sequence number: 1 (the
 * record stays in the ring until ring_advance), 0 when the ring is empty
 * and the monitor's sleep is announced, or -errno for a malformed record.
 * Trust boundary: the records come from a vCPU worker (which shares the
 * monitor's memory, but parses guest-driven exits); every one is checked.
 */
int monitor_ring_next(struct ring_consumer *c, struct vm_wire_decoder *d, struct vm_exit *e, uint32_t *seq) MUST_USE;

#endif
