/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueues (virtio 1.2 section 2.7), driver side: the three ring
 * areas in static page-aligned memory, a free list of descriptors, adding a
 * buffer chain (direct, or through an indirect table when
 * VIRTIO_F_INDIRECT_DESC was negotiated), the notification decision
 * (VIRTQ_USED_F_NO_NOTIFY or, with VIRTIO_F_EVENT_IDX, avail_event) and
 * taking used buffers back (requesting the next interrupt with used_event,
 * or suppressing interrupts when polling).
 *
 * No locking here: a virtqueue shared by vCPUs is used under vq->lock
 * (spinlock.h) by its callers.
 */
#ifndef SQUIB_GUEST_VIRTQ_H
#define SQUIB_GUEST_VIRTQ_H

#include <stdbool.h>
#include <stdint.h>

#include "spinlock.h"

#define VIRTQ_MAX_SIZE 256
#define VIRTQ_INDIRECT_MAX 16 /* descriptors in one indirect table */

/* Descriptor flags. */
#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2 /* device-writable (else device-readable) */
#define VIRTQ_DESC_F_INDIRECT 4
/* avail->flags and used->flags. */
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY 1

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};
_Static_assert(sizeof(struct virtq_desc) == 16, "virtq_desc is 16 bytes");

/* flags, idx, ring[size], then used_event (with EVENT_IDX). */
struct virtq_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[];
};

struct virtq_used_elem {
	uint32_t id;  /* head of the used chain */
	uint32_t len; /* bytes written into the chain's device-writable part */
};

/* flags, idx, ring[size], then avail_event (with EVENT_IDX). */
struct virtq_used {
	uint16_t flags;
	uint16_t idx;
	struct virtq_used_elem ring[];
};

/* All the memory of one queue (static, page-aligned, in .bss). */
struct virtq_mem {
	struct virtq_desc desc[VIRTQ_MAX_SIZE];             /* 4 KiB, 16-aligned */
	uint8_t avail_area[4096];                           /* 6 + 2 * 256 + 2 bytes used */
	uint8_t used_area[4096];                            /* 6 + 8 * 256 + 2 bytes used */
	struct virtq_desc indirect[VIRTQ_MAX_SIZE][VIRTQ_INDIRECT_MAX]; /* one table per head */
} __attribute__((aligned(4096)));

/* One buffer of a chain: device-readable ones first, then device-writable. */
struct virtq_buf {
	uint64_t addr;
	uint32_t len;
	bool writable;
};

struct virtq {
	struct spinlock lock; /* for callers sharing the queue between vCPUs */
	uint16_t index;       /* queue index (QueueSel, QueueNotify value) */
	uint16_t size;        /* QueueNum, a power of 2 */
	bool event_idx;       /* VIRTIO_F_EVENT_IDX negotiated */
	bool indirect;        /* use indirect tables for chains of 2+ buffers */
	bool want_irq;        /* ask for used buffer notifications */
	bool broken;          /* the device returned a bad used element */
	struct virtq_mem *mem;
	struct virtq_desc *desc;
	struct virtq_avail *avail;
	struct virtq_used *used;
	uint16_t free_head;
	uint16_t num_free;
	uint16_t avail_idx;   /* our copy of avail->idx */
	uint16_t last_used;   /* next used ring entry to take */
	uint16_t kick_old;    /* avail_idx at the previous notification decision */
	uint64_t notify_addr; /* QueueNotify register of the device */
	uint32_t bad_id;      /* the offending used id when broken */
	uint64_t kicks;       /* notifications written */
	uint64_t kicks_skipped;
	uint16_t chain_len[VIRTQ_MAX_SIZE]; /* descriptors of the main table per head */
	void *token[VIRTQ_MAX_SIZE];        /* caller's token per head, NULL when free */
};

/* Lays the queue out in `mem` (zeroed) with an empty free list. */
void virtq_init(struct virtq *vq, struct virtq_mem *mem, uint16_t index, uint16_t size,
		bool event_idx, bool indirect, bool want_irq, uint64_t notify_addr);

/* Guest-physical addresses for QueueDesc / QueueDriver / QueueDevice. */
uint64_t virtq_desc_addr(const struct virtq *vq);
uint64_t virtq_driver_addr(const struct virtq *vq);
uint64_t virtq_device_addr(const struct virtq *vq);

/* Descriptors a chain of n buffers takes from the main table. */
unsigned virtq_descs_needed(const struct virtq *vq, unsigned n);
/*
 * Adds a chain of n buffers and makes it available (avail->idx is written).
 * token (non-NULL) comes back from virtq_get_used. Returns the head, or -1
 * when there are not enough free descriptors (or n is 0 or too large).
 */
int virtq_add(struct virtq *vq, const struct virtq_buf *bufs, unsigned n, void *token);
/*
 * Notifies the device (a 4-byte QueueNotify write of the queue index)
 * unless it asked not to be: used->flags NO_NOTIFY, or with EVENT_IDX
 * avail_event outside the buffers added since the previous call.
 * Returns whether it wrote QueueNotify.
 */
bool virtq_kick(struct virtq *vq);
/* Unconditional QueueNotify write. */
void virtq_notify(struct virtq *vq);
/*
 * Takes the next used element: returns its token and sets *len, or returns
 * NULL when the device has used nothing new (or vq->broken is set: a used
 * id out of range or not in flight). Re-arms (or, without want_irq,
 * suppresses) used buffer notifications before looking.
 */
void *virtq_get_used(struct virtq *vq, uint32_t *len);
/* Whether the device has used buffers not taken yet (no side effects). */
bool virtq_has_used(const struct virtq *vq);
/* Buffers in flight (added, not yet taken back). */
unsigned virtq_in_flight(const struct virtq *vq);

/* used_event / avail_event slots behind the rings. */
uint16_t *virtq_used_event(struct virtq *vq);
const uint16_t *virtq_avail_event(const struct virtq *vq);

/*
 * For deliberately malformed requests (the hostile workload): puts head
 * into the next avail ring slot and publishes avail->idx = avail_idx + 1
 * without looking at the descriptors; or publishes an arbitrary idx.
 */
void virtq_publish_raw(struct virtq *vq, uint16_t head);
void virtq_set_avail_idx_raw(struct virtq *vq, uint16_t idx);

#endif
