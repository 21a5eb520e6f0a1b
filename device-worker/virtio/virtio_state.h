/* SPDX-License-Identifier: MIT */
/*
 * The device-state region of a virtio device: everything needed to resume
 * the device after its worker crashes (docs/DESIGN.md, "Device workers, and
 * surviving their crash"). It lives in a memfd the monitor creates and keeps;
 * each successive worker for the device maps the same memfd.
 *
 * Fixed layout, fixed-width little-endian fields (x86-64 only), explicit
 * padding, pinned below with _Static_assert. Any change to it bumps
 * VIRTIO_STATE_LAYOUT_VERSION.
 *
 * Who writes what:
 * - virtio_mmio_init() (device model, before its first guest access): the
 *   whole struct; it sets the identity fields (magic, layout_version,
 *   device_id, nqueues, config_len, device_features, queues[].num_max).
 *   virtio_mmio_set_ram_size() sets ram_size.
 * - The transport (virtio_mmio.c), on behalf of guest register accesses:
 *   status, driver_features, the selectors, queue_sel, interrupt_status
 *   (acks), queues[].num / ready / *_addr, and on QueueReady and reset
 *   queues[].last_avail_idx / used_idx / inflight.
 * - The device model: config[] (device-specific config space, and guest
 *   config writes it accepts), config_generation and interrupt_status through
 *   the virtio_mmio.h helpers, and for a ready queue last_avail_idx, used_idx
 *   and the inflight bitmap as it takes chains from the available ring and
 *   returns them on the used ring.
 * - The monitor: nothing (it only keeps the memfd alive across restarts).
 * Nothing else: the guest never sees this region, only the registers.
 *
 * Threat note: a successor worker MUST treat the whole struct as hostile:
 * its crashed predecessor may have been compromised and may have scribbled
 * anything anywhere in it. The successor calls virtio_state_validate() (which
 * copies the region to a local before checking) and
 * virtio_state_same_device() before using any field. When either fails it
 * does not resume: it re-initialises the region (virtio_mmio_init()) and
 * reports DEVICE_NEEDS_RESET (virtio_mmio_needs_reset(); DRIVER_OK is clear
 * after init, so the model raises the configuration change interrupt itself
 * with virtio_mmio_interrupt() if it wants the driver to notice before its
 * next Status read). The transport
 * itself is memory-safe on any contents (every index is bounded by the
 * array sizes, not only by nqueues and config_len), but it is only
 * *correct* on a validated state.
 *
 * In-flight tracking (the idea of vhost-user's inflight region): a ready
 * queue's inflight bitmap has bit h set while the chain whose head is
 * descriptor h has been taken from the available ring and not yet returned
 * on the used ring. Each of the two steps that change it opens a journal
 * entry first, so that a crash at any instruction leaves a state from which
 * the successor knows exactly what happened (virtio_device.c,
 * resolve_journals):
 *   take:     take_journal = {VALID, h, L = last_avail_idx}; set bit h;
 *             last_avail_idx = L + 1; take_journal = 0.
 *             Journal open and last_avail_idx still L: the take did not
 *             happen (bit h is cleared; the chain is taken again from the
 *             available ring). last_avail_idx L + 1: it did.
 *   complete: push_journal = {VALID, h, U + 1} where U = used_idx; write
 *             the used element and publish used->idx = U + 1 in guest RAM;
 *             used_idx = U + 1; clear bit h; push_journal = 0.
 *             Journal open: used_idx already U + 1, or guest used->idx
 *             U + 1, means the completion is published (used_idx set, bit h
 *             cleared); otherwise it is not, and h is still in flight.
 * A successor then resubmits every chain whose bit is set, walking it again
 * from its head (the guest may not touch an in-flight chain), before it
 * takes anything new: vhost-user's inflight resubmission, with the two
 * crash windows closed by the journals instead of guessed from guest RAM.
 * A head that is already in flight when taken is a malformed chain (the
 * model calls virtio_mmio_needs_reset()), so in-flight chains are distinct
 * heads: at most num of them, and last_avail_idx - used_idx (mod 2^16)
 * never exceeds num. virtio_state_validate() checks that distance and that
 * every in-flight head is below num; it does not tie the bitmap's count to
 * the distance, which the crash windows above may leave off by one.
 */
#ifndef SQUIB_DEVICE_VIRTIO_STATE_H
#define SQUIB_DEVICE_VIRTIO_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/virtio_devices.h"

#define VIRTIO_STATE_MAGIC 0x53565153u /* "SQVS" in memory: squib virtio state */
#define VIRTIO_STATE_LAYOUT_VERSION 2u
#define VIRTIO_STATE_MAX_QUEUES VIRTIO_MAX_QUEUES
/*
 * Largest queue size a device may offer (QueueNumMax). 256 is what QEMU and
 * Firecracker offer for block and net; it bounds the inflight bitmap.
 */
#define VIRTIO_STATE_QUEUE_SIZE_MAX 256u
#define VIRTIO_STATE_INFLIGHT_WORDS (VIRTIO_STATE_QUEUE_SIZE_MAX / 64u)
#define VIRTIO_STATE_CONFIG_SIZE 256u

/* Device status bits (virtio 1.2 section 2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 0x01u
#define VIRTIO_STATUS_DRIVER 0x02u
#define VIRTIO_STATUS_DRIVER_OK 0x04u
#define VIRTIO_STATUS_FEATURES_OK 0x08u
#define VIRTIO_STATUS_NEEDS_RESET 0x40u /* set by the device only */
#define VIRTIO_STATUS_FAILED 0x80u
/* The bits a driver may set by writing Status. */
#define VIRTIO_STATUS_DRIVER_BITS                                                              \
	(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK |          \
	 VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_FAILED)
#define VIRTIO_STATUS_KNOWN_BITS (VIRTIO_STATUS_DRIVER_BITS | VIRTIO_STATUS_NEEDS_RESET)

/* InterruptStatus bits (virtio 1.2 section 4.2.2). */
#define VIRTIO_MMIO_IRQ_USED 0x1u   /* "used buffer notification" */
#define VIRTIO_MMIO_IRQ_CONFIG 0x2u /* "configuration change notification" */
#define VIRTIO_MMIO_IRQ_MASK (VIRTIO_MMIO_IRQ_USED | VIRTIO_MMIO_IRQ_CONFIG)

/* Reserved feature bits (virtio 1.2 section 6), as 64-bit masks. */
#define VIRTIO_FEAT_INDIRECT_DESC (1ull << 28)
#define VIRTIO_FEAT_EVENT_IDX (1ull << 29)
#define VIRTIO_FEAT_VERSION_1 (1ull << 32)
#define VIRTIO_FEAT_ACCESS_PLATFORM (1ull << 33)
#define VIRTIO_FEAT_RING_PACKED (1ull << 34)
#define VIRTIO_FEAT_IN_ORDER (1ull << 35)
#define VIRTIO_FEAT_ORDER_PLATFORM (1ull << 36)
#define VIRTIO_FEAT_SR_IOV (1ull << 37)
#define VIRTIO_FEAT_NOTIFICATION_DATA (1ull << 38)
#define VIRTIO_FEAT_NOTIF_CONFIG_DATA (1ull << 39)
#define VIRTIO_FEAT_RING_RESET (1ull << 40)
/*
 * Features this transport cannot honour, never offered whatever a model
 * asks: IOVAs instead of guest-physical addresses, packed rings (the ring
 * sizes here are the split layout's), SR-IOV, notification data (QueueNotify
 * carries only a queue index here), and per-queue reset (no QueueReset
 * register).
 */
#define VIRTIO_FEAT_TRANSPORT_UNSUPPORTED                                                      \
	(VIRTIO_FEAT_ACCESS_PLATFORM | VIRTIO_FEAT_RING_PACKED | VIRTIO_FEAT_SR_IOV |           \
	 VIRTIO_FEAT_NOTIFICATION_DATA | VIRTIO_FEAT_NOTIF_CONFIG_DATA | VIRTIO_FEAT_RING_RESET)

/* One virtqueue. Offsets relative to the entry. */
struct virtio_queue_state {
	uint32_t num;            /* 0x00 QueueNum as last written (any value; checked at QueueReady) */
	uint16_t num_max;        /* 0x04 QueueNumMax; 0 for a queue past nqueues */
	uint8_t ready;           /* 0x06 QueueReady: 0 or 1 */
	uint8_t reserved0;       /* 0x07 zero */
	uint64_t desc_addr;      /* 0x08 QueueDescLow/High */
	uint64_t driver_addr;    /* 0x10 QueueDriverLow/High (available ring) */
	uint64_t device_addr;    /* 0x18 QueueDeviceLow/High (used ring) */
	uint16_t last_avail_idx; /* 0x20 next available-ring index the device takes */
	uint16_t used_idx;       /* 0x22 used->idx as the device last published it */
	uint32_t take_journal;   /* 0x24 VIRTIO_JOURNAL_VALID | head << 16 | avail index (see above), or 0 */
	uint64_t inflight[VIRTIO_STATE_INFLIGHT_WORDS]; /* 0x28 bit h: head h in flight */
	uint32_t push_journal;   /* 0x48 VIRTIO_JOURNAL_VALID | head << 16 | used index after the push, or 0 */
	uint32_t reserved2;      /* 0x4c zero */
};

struct virtio_state {
	uint32_t magic;               /* 0x000 VIRTIO_STATE_MAGIC */
	uint32_t layout_version;      /* 0x004 VIRTIO_STATE_LAYOUT_VERSION */
	uint32_t device_id;           /* 0x008 virtio device type (DeviceID) */
	uint32_t nqueues;             /* 0x00c queues that exist, <= VIRTIO_STATE_MAX_QUEUES */
	uint32_t config_len;          /* 0x010 bytes of config[] the guest sees, <= 256 */
	uint32_t status;              /* 0x014 Status (VIRTIO_STATUS_*) */
	uint64_t device_features;     /* 0x018 offered; always includes VERSION_1 */
	uint64_t driver_features;     /* 0x020 as written by the driver (maybe not acceptable) */
	uint32_t device_features_sel; /* 0x028 DeviceFeaturesSel (any value) */
	uint32_t driver_features_sel; /* 0x02c DriverFeaturesSel (any value) */
	uint32_t queue_sel;           /* 0x030 QueueSel (any value) */
	uint32_t config_generation;   /* 0x034 ConfigGeneration */
	uint32_t interrupt_status;    /* 0x038 InterruptStatus (VIRTIO_MMIO_IRQ_*) */
	uint32_t reserved0;           /* 0x03c zero */
	uint64_t ram_size;            /* 0x040 guest RAM [0, ram_size) rings must lie in */
	uint8_t reserved1[0x38];      /* 0x048 zero */
	struct virtio_queue_state queues[VIRTIO_STATE_MAX_QUEUES]; /* 0x080 */
	uint8_t config[VIRTIO_STATE_CONFIG_SIZE];                  /* 0x300 little-endian */
};

_Static_assert(sizeof(struct virtio_queue_state) == 0x50, "virtio_queue_state layout");
_Static_assert(offsetof(struct virtio_queue_state, desc_addr) == 0x08, "virtio_queue_state layout");
_Static_assert(offsetof(struct virtio_queue_state, last_avail_idx) == 0x20, "virtio_queue_state layout");
_Static_assert(offsetof(struct virtio_queue_state, inflight) == 0x28, "virtio_queue_state layout");
_Static_assert(sizeof(struct virtio_state) == 0x400, "virtio_state layout");
_Static_assert(offsetof(struct virtio_state, status) == 0x014, "virtio_state layout");
_Static_assert(offsetof(struct virtio_state, device_features) == 0x018, "virtio_state layout");
_Static_assert(offsetof(struct virtio_state, interrupt_status) == 0x038, "virtio_state layout");
_Static_assert(offsetof(struct virtio_state, ram_size) == 0x040, "virtio_state layout");
_Static_assert(offsetof(struct virtio_state, queues) == 0x080, "virtio_state layout");
_Static_assert(offsetof(struct virtio_state, config) == 0x300, "virtio_state layout");
_Static_assert(offsetof(struct virtio_queue_state, push_journal) == 0x48, "virtio_queue_state layout");
_Static_assert(VIRTIO_STATE_QUEUE_SIZE_MAX % 64u == 0, "inflight bitmap words");

/* A journal entry (take_journal, push_journal): open, for head h, at index idx. */
#define VIRTIO_JOURNAL_VALID 0x80000000u
static inline uint32_t virtio_journal_make(uint32_t head, uint16_t idx)
{
	return VIRTIO_JOURNAL_VALID | (head & 0xfffu) << 16 | idx;
}
static inline uint32_t virtio_journal_head(uint32_t j)
{
	return (j >> 16) & 0xfffu;
}
static inline uint16_t virtio_journal_idx(uint32_t j)
{
	return (uint16_t)j;
}

/*
 * In-flight bitmap helpers for a device model. q and head come from the
 * model (head from guest memory, hence checked): out-of-range values are
 * refused, never indexed. Set: true when the bit was clear and is now set;
 * false for an out-of-range head or one already in flight (a malformed
 * chain). Clear: true when the bit was set.
 */
static inline bool virtio_state_inflight_set(struct virtio_state *st, unsigned q, uint32_t head)
{
	uint64_t bit;

	if (q >= VIRTIO_STATE_MAX_QUEUES || head >= VIRTIO_STATE_QUEUE_SIZE_MAX)
		return false;
	bit = 1ull << (head % 64u);
	if (st->queues[q].inflight[head / 64u] & bit)
		return false;
	st->queues[q].inflight[head / 64u] |= bit;
	return true;
}

static inline bool virtio_state_inflight_clear(struct virtio_state *st, unsigned q, uint32_t head)
{
	uint64_t bit;

	if (q >= VIRTIO_STATE_MAX_QUEUES || head >= VIRTIO_STATE_QUEUE_SIZE_MAX)
		return false;
	bit = 1ull << (head % 64u);
	if (!(st->queues[q].inflight[head / 64u] & bit))
		return false;
	st->queues[q].inflight[head / 64u] &= ~bit;
	return true;
}

static inline bool virtio_state_inflight_test(const struct virtio_state *st, unsigned q, uint32_t head)
{
	if (q >= VIRTIO_STATE_MAX_QUEUES || head >= VIRTIO_STATE_QUEUE_SIZE_MAX)
		return false;
	return (st->queues[q].inflight[head / 64u] >> (head % 64u)) & 1u;
}

#endif
