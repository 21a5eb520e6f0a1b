/* SPDX-License-Identifier: MIT */
/*
 * virtio-mmio version 2 transport, driver side (virtio 1.2 sections 3.1
 * and 4.2): finding devices in the VIRTIO_MMIO_SLOTS windows, the
 * initialisation sequence with feature negotiation and queue set-up,
 * device configuration space reads, the interrupt handler (IOAPIC pin
 * VIRTIO_MMIO_SLOT_GSI(slot), level-triggered, on vector
 * VIRTIO_VECTOR_BASE + slot) and waiting for completions with a deadline.
 *
 * Every window register access is one 32-bit access; configuration space
 * is read at the field's natural width (64-bit fields as two 32-bit reads
 * under the ConfigGeneration retry loop).
 */
#ifndef SQUIB_GUEST_VIRTIO_H
#define SQUIB_GUEST_VIRTIO_H

#include <stdbool.h>
#include <stdint.h>

#include "common/platform.h"
#include "virtio_mmio.h"
#include "virtq.h"

#define VIRTIO_MAX_QUEUES 2
#define VIRTIO_VECTOR_BASE 0x50 /* slot i interrupts on vector 0x50 + i */

/*
 * Driver choices, from the command line (virtio_opts_from_cmdline):
 *   event_idx=0|1  negotiate VIRTIO_F_EVENT_IDX when offered (default 1)
 *   indirect=0|1   negotiate VIRTIO_F_INDIRECT_DESC when offered (default 1)
 *   poll=0|1       completions by polling the used ring, IOAPIC pin masked
 *                  and used buffer notifications suppressed (default 0:
 *                  by interrupt, waiting with hlt)
 *   qsize=N        queue size, a power of 2 up to 256 and QueueNumMax (default 256)
 *   timeout=S      seconds a request may take before the workload fails (default 30)
 */
struct virtio_opts {
	bool event_idx;
	bool indirect;
	bool poll;
	uint16_t qsize;
	uint64_t timeout_ns;
};
void virtio_opts_from_cmdline(struct virtio_opts *o);

struct virtio_dev {
	unsigned slot;
	uint64_t base;
	uint32_t device_id;
	uint32_t vendor_id;
	uint64_t offered;    /* device features */
	uint64_t features;   /* negotiated */
	unsigned nqueues;
	struct virtq vq[VIRTIO_MAX_QUEUES];
	bool poll;           /* completions by polling */
	bool shared;         /* several vCPUs wait on it: never hlt (see virtio_wait_idle) */
	uint8_t vector;
	unsigned irq_cpu;    /* vCPU that takes its interrupts */
	uint64_t timeout_ns;
	uint32_t starts;     /* completed virtio_start calls */
	/* Counted by the interrupt handler. */
	uint32_t irqs;         /* handler runs */
	uint32_t vring_irqs;   /* InterruptStatus bit 0 seen */
	uint32_t config_irqs;  /* InterruptStatus bit 1 seen */
	uint32_t empty_irqs;   /* InterruptStatus read 0 (re-delivery after an unprocessed ACK) */
};

/* Scans the slots once (later calls return the same result): number found. */
unsigned virtio_probe(void);
/* The nth device (0-based) with that device ID, or NULL. */
struct virtio_dev *virtio_find(uint32_t device_id, unsigned nth);
/* The i-th device found, in slot order (i < virtio_probe()). */
struct virtio_dev *virtio_device(unsigned i);
/* "net", "blk", "rng" or "id<N>". */
const char *virtio_name(uint32_t device_id);

/* Register access in the device's window. */
uint32_t virtio_read(const struct virtio_dev *d, uint32_t reg);
void virtio_write(const struct virtio_dev *d, uint32_t reg, uint32_t v);
uint32_t virtio_status(const struct virtio_dev *d);

/*
 * Per vCPU, before it waits on any device: enables its local APIC and a
 * 50 ms LAPIC timer tick (vector VECTOR_TIMER) that wakes hlt so a
 * deadline is noticed even when a device never interrupts.
 */
void virtio_cpu_init(void);

/*
 * Initialisation up to, not including, DRIVER_OK: reset (and wait for
 * Status to read 0), ACKNOWLEDGE, DRIVER, feature negotiation (VERSION_1
 * always; `wanted` device bits when offered; EVENT_IDX and INDIRECT_DESC
 * per opts), FEATURES_OK and its re-read, then nqueues queues of
 * min(opts->qsize, QueueNumMax) entries. Routes the interrupt to the
 * calling vCPU (unless opts->poll). Returns NULL, or why it failed (Status
 * then has FAILED).
 */
const char *virtio_start(struct virtio_dev *d, uint64_t wanted, unsigned nqueues,
			 const struct virtio_opts *opts);
/* Sets DRIVER_OK: the device is live; buffers may be kicked from now on. */
void virtio_driver_ok(struct virtio_dev *d);
/* Writes Status 0 and waits until it reads back 0; false on timeout. */
bool virtio_reset(struct virtio_dev *d);
bool virtio_has(const struct virtio_dev *d, unsigned feature_bit);

/* Device configuration space (offset from VIRTIO_MMIO_CONFIG). */
uint8_t virtio_cfg8(const struct virtio_dev *d, uint32_t off);
uint16_t virtio_cfg16(const struct virtio_dev *d, uint32_t off);
uint32_t virtio_cfg32(const struct virtio_dev *d, uint32_t off);
uint64_t virtio_cfg64(const struct virtio_dev *d, uint32_t off);
/* len bytes, one byte access each, consistent by ConfigGeneration. */
void virtio_cfg_bytes(const struct virtio_dev *d, uint32_t off, void *buf, uint32_t len);

/*
 * Waiting for a device: begin, then call idle whenever a look at the used
 * ring found nothing. With interrupts (not poll, not shared, calling vCPU
 * takes the interrupt) idle is `sti; hlt; cli`; otherwise it opens an
 * interrupt window and pauses. Returns false once the device's timeout has
 * passed (counted from the first clock look after begin: the first 50 ms
 * tick, or the 1024th idle when not halting; begin itself costs no exit).
 */
struct virtio_wait {
	uint64_t deadline_ns;
	uint32_t ticks;
	uint32_t spins;
};
void virtio_wait_begin(struct virtio_wait *w, const struct virtio_dev *d);
bool virtio_wait_idle(struct virtio_wait *w, const struct virtio_dev *d);

/*
 * After a wait: did a configuration change interrupt arrive since
 * *config_seen (or did the wait run out, timed_out) with DEVICE_NEEDS_RESET
 * in Status? Updates *config_seen. (A device whose worker found its state
 * scribbled on says so this way; the driver resets it and starts again.)
 */
bool virtio_needs_reset(struct virtio_dev *d, uint32_t *config_seen, bool timed_out);

/* `FAIL <what>: virtio slot <s> ...` with the device state, then finish(). */
NORETURN void virtio_fatal(const struct virtio_dev *d, const char *what);

#endif
