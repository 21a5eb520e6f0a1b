/* SPDX-License-Identifier: MIT */
/*
 * The split virtqueue (virtio 1.2 section 2.7), device side: the one audited
 * descriptor walker shared by every virtio device model in squib.
 *
 * Layouts are virtio 1.x (VIRTIO_F_VERSION_1): little-endian, which is the
 * host byte order on x86-64 (virtqueue.c asserts it).
 *
 * Threat model. Every byte of the descriptor table, the avail ring and the
 * used ring is guest memory: hostile, and changing concurrently (other vCPUs
 * write it while we read it). Therefore:
 *   - every guest address goes through common/guest_mem.h, and every range is
 *     checked with its overflow-safe guest_mem_range_ok before it is used;
 *   - every shared field is read exactly once (avail->idx, each avail ring
 *     entry) or copied into a local struct (each descriptor) before it is
 *     checked, and only the local copy is used afterwards;
 *   - guest indices are used for indexing only after masking (ring slots) or
 *     after a "< size" check (descriptor indices);
 *   - every guest-driven loop is bounded (the direct chain by the queue size,
 *     an indirect chain by its table length, the whole chain by
 *     VIRTQ_MAX_CHAIN);
 *   - a malformed chain is reported, never "fixed": virtq_pop returns -EINVAL
 *     with a static reason string and consumes nothing. The caller logs the
 *     reason and puts the device in DEVICE_NEEDS_RESET (virtio 1.2 2.1.2);
 *     it must not keep popping from that queue.
 *   - the device never reads back anything it wrote to guest memory: the used
 *     index and the avail position are the device's own copies (struct virtq),
 *     not the guest-visible ones.
 * The walker never dereferences the buffers a chain describes; it only proves
 * that each lies wholly inside guest RAM. The device still reads and writes
 * them through guest_mem_read/guest_mem_write, and must treat their content
 * as hostile and changing.
 *
 * Threading: one struct virtq is used by one thread at a time. The guest is
 * the only concurrent party, and the memory ordering below is about it.
 *
 * Memory ordering (device side of virtio 1.2 2.7.13 and 2.7.7):
 *   - virtq_pop loads avail->idx with acquire ordering, so the ring entries
 *     and descriptors the driver wrote before publishing it are visible;
 *   - virtq_push writes the used element, then stores used->idx with release
 *     ordering, so the driver never sees an index before its element;
 *   - virtq_needs_notify issues a full barrier between the used->idx store
 *     and the load of used_event / avail->flags (store-load ordering);
 *   - virtq_set_avail_event issues a full barrier after its store; the caller
 *     re-checks virtq_pending afterwards (see there).
 *
 * Spec decisions (where virtio 1.2 leaves room, or squib is stricter):
 *   - Indirect descriptors (2.7.5.3): a chain may be zero or more direct
 *     descriptors followed by ONE indirect descriptor, which ends the direct
 *     part (the device MUST handle that case, 2.7.5.3.2). An indirect
 *     descriptor with NEXT also set is malformed (the driver MUST NOT set
 *     both). Its WRITE flag is ignored (the device MUST ignore it). The table
 *     need not be 16-byte aligned (the spec does not require it); its length
 *     must be a non-zero multiple of 16 and at most 16 * VIRTQ_MAX_CHAIN; its
 *     chain starts at entry 0, its next indices must be < len / 16, and it
 *     may not contain an indirect descriptor (no nesting).
 *   - The indirect table is bounded by VIRTQ_MAX_CHAIN, not by the queue
 *     size: Linux builds indirect tables from seg_max, which may exceed a
 *     small queue (QEMU bounds them the same way).
 *   - Zero-length descriptors are malformed (QEMU rejects them too; the spec
 *     does not forbid them, but no driver squib cares about sends them, and
 *     rejecting them keeps every buffer non-empty for the device code).
 *   - A readable descriptor after a writable one is malformed, across the
 *     direct part and the indirect table alike (2.7.4.2: the driver MUST
 *     place device-writable descriptors after device-readable ones).
 *   - The chain's total length (readable + writable) must fit a uint32_t
 *     (VIRTQ_MAX_CHAIN_BYTES, 4 GiB - 1), so any written count fits the used
 *     element's 32-bit len. The spec (2.7.5.2) forbids chains longer than
 *     2^32 bytes; squib is one byte stricter.
 *   - At most size chains may be outstanding (popped, not yet pushed): each
 *     holds at least one descriptor of the table, so a driver offering one
 *     more has reused descriptors the device still owns. virtq_pop reports
 *     it, so that virtq_push of a chain virtq_pop returned never fails.
 *   - Flag bits other than NEXT, WRITE and INDIRECT are ignored (they have no
 *     meaning for split rings).
 *   - virtq_init does not reject overlapping rings: the spec does not, and
 *     overlap can only hurt the guest itself.
 */
#ifndef SQUIB_DEVICE_VIRTQUEUE_H
#define SQUIB_DEVICE_VIRTQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"
#include "common/guest_mem.h"

/* Largest queue size the split ring format allows (virtio 1.2 2.7). */
#define VIRTQ_MAX_SIZE 32768
/* Longest chain virtq_pop accepts, direct and indirect descriptors together. */
#define VIRTQ_MAX_CHAIN 1024
/* Largest total length (readable + writable bytes) of one chain. */
#define VIRTQ_MAX_CHAIN_BYTES 0xffffffffULL

/* ---- guest-visible layouts (virtio 1.2 2.7.5 .. 2.7.8, little-endian) ---- */

#define VIRTQ_DESC_F_NEXT 1     /* the chain continues via next */
#define VIRTQ_DESC_F_WRITE 2    /* device-writable (otherwise device-readable) */
#define VIRTQ_DESC_F_INDIRECT 4 /* addr/len describe a table of descriptors */

#define VIRTQ_AVAIL_F_NO_INTERRUPT 1 /* avail->flags: driver wants no interrupt */
#define VIRTQ_USED_F_NO_NOTIFY 1     /* used->flags: device wants no kick */

/* Ring alignment required of the driver (virtio 1.2 2.7, table "Alignment"). */
#define VIRTQ_DESC_ALIGN 16
#define VIRTQ_AVAIL_ALIGN 2
#define VIRTQ_USED_ALIGN 4

struct virtq_desc {
	uint64_t addr;  /* guest-physical */
	uint32_t len;
	uint16_t flags; /* VIRTQ_DESC_F_* */
	uint16_t next;  /* index of the next descriptor when flags & NEXT */
};

/*
 * avail ring: le16 flags; le16 idx; le16 ring[size]; le16 used_event.
 * used ring:  le16 flags; le16 idx; struct virtq_used_elem ring[size];
 *             le16 avail_event.
 */
struct virtq_used_elem {
	uint32_t id;  /* head index of the completed chain */
	uint32_t len; /* bytes the device wrote into the chain's writable part */
};

#define VIRTQ_AVAIL_FLAGS_OFF 0
#define VIRTQ_AVAIL_IDX_OFF 2
#define VIRTQ_AVAIL_RING_OFF 4
#define VIRTQ_USED_FLAGS_OFF 0
#define VIRTQ_USED_IDX_OFF 2
#define VIRTQ_USED_RING_OFF 4

_Static_assert(sizeof(struct virtq_desc) == 16, "virtq_desc is 16 bytes");
_Static_assert(offsetof(struct virtq_desc, addr) == 0, "virtq_desc.addr at 0");
_Static_assert(offsetof(struct virtq_desc, len) == 8, "virtq_desc.len at 8");
_Static_assert(offsetof(struct virtq_desc, flags) == 12, "virtq_desc.flags at 12");
_Static_assert(offsetof(struct virtq_desc, next) == 14, "virtq_desc.next at 14");
_Static_assert(sizeof(struct virtq_used_elem) == 8, "virtq_used_elem is 8 bytes");

/* Bytes of each ring for a queue of size entries, event fields included. */
static inline uint64_t virtq_desc_bytes(uint32_t size)
{
	return 16ULL * size;
}

static inline uint64_t virtq_avail_bytes(uint32_t size)
{
	return 6ULL + 2ULL * size; /* flags, idx, ring[size], used_event */
}

static inline uint64_t virtq_used_bytes(uint32_t size)
{
	return 6ULL + 8ULL * size; /* flags, idx, ring[size], avail_event */
}

/* Offsets of the event fields (meaningful with VIRTIO_RING_F_EVENT_IDX). */
static inline uint64_t virtq_used_event_off(uint32_t size)
{
	return VIRTQ_AVAIL_RING_OFF + 2ULL * size; /* in the avail ring */
}

static inline uint64_t virtq_avail_event_off(uint32_t size)
{
	return VIRTQ_USED_RING_OFF + 8ULL * size; /* in the used ring */
}

/*
 * vring_need_event (virtio 1.2 2.7.10, Linux virtio_ring.h): the indices
 * old..new_idx-1 were just published (entries written, index moved from old
 * to new_idx); true when event_idx is one of them, i.e. the other side asked
 * to be told once the entry at event_idx is written. Computed modulo 2^16, so
 * it is right across the 65535 -> 0 wrap; false when new_idx == old.
 */
static inline bool virtq_need_event(uint16_t event_idx, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event_idx - 1) < (uint16_t)(new_idx - old);
}

/* ---- the device's view --------------------------------------------------- */

/* One buffer of a chain: proven to lie wholly inside guest RAM, len > 0. */
struct virtq_buf {
	uint64_t gpa;
	uint32_t len;
	bool device_writable;
};

/*
 * A chain as virtq_pop returns it: readable buffers first, then writable
 * ones, nbufs in 1..VIRTQ_MAX_CHAIN, readable_bytes + writable_bytes <=
 * VIRTQ_MAX_CHAIN_BYTES. head is what virtq_push takes back. About 16 KiB:
 * keep it in the device state, not on a small stack.
 */
struct virtq_chain {
	uint16_t head;
	uint32_t nbufs;
	struct virtq_buf bufs[VIRTQ_MAX_CHAIN];
	uint64_t readable_bytes, writable_bytes;
};

struct virtq {
	/* Set when the driver makes the queue ready; validated by virtq_init. */
	uint16_t size;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	bool event_idx; /* VIRTIO_RING_F_EVENT_IDX negotiated */
	bool indirect;  /* VIRTIO_RING_F_INDIRECT_DESC negotiated */
	/*
	 * Progress: the device's own copies, never read back from the guest.
	 * The caller may keep them in shared device-state memory so a restarted
	 * worker resumes: virtq_init, then restore both. The number of chains
	 * popped but not yet pushed is (uint16_t)(last_avail_idx - used_idx).
	 */
	uint16_t last_avail_idx; /* next avail ring slot to consume */
	uint16_t used_idx;       /* value last stored to used->idx */
	const struct guest_mem *mem;
};

/*
 * Validates the driver's queue configuration and readies q, with both
 * progress indices 0 (a fresh queue, virtio 1.2 2.7.5.1 / 2.7.8).
 *   size: a power of 2 in 1..VIRTQ_MAX_SIZE;
 *   desc: 16-aligned, [desc, desc + 16*size) inside guest RAM;
 *   avail: 2-aligned, [avail, avail + 6 + 2*size) inside guest RAM;
 *   used: 4-aligned, [used, used + 6 + 8*size) inside guest RAM.
 * The ring sizes include used_event / avail_event whether or not EVENT_IDX
 * is negotiated (they are part of the layout). event_idx and indirect say
 * which ring features were negotiated.
 * Preconditions: q and mem non-NULL; mem outlives q; mem->host_base at least
 * 16-byte aligned (guest RAM is a page-aligned mapping; checked too).
 * 0, or -EINVAL with *why set to a static reason (why may be NULL); on
 * failure q is left not ready (size 0) and every other call on it fails or
 * does nothing.
 */
int virtq_init(struct virtq *q, const struct guest_mem *mem, uint16_t size, uint64_t desc, uint64_t avail,
	       uint64_t used, bool event_idx, bool indirect, const char **why) MUST_USE;

/*
 * Takes the next available chain, if any, and walks it into *out.
 * Returns 1 with *out filled and last_avail_idx advanced by exactly one
 * (at most size chains are ever outstanding, popped and not pushed: a driver
 * offering one more is malformed, so virtq_push of a popped chain succeeds);
 * 0 when the driver has published nothing new (nothing changes); or -EINVAL
 * when the ring or the chain is malformed, with *why set to a static reason
 * string (why may be NULL), last_avail_idx unchanged and out->nbufs 0. After
 * -EINVAL the caller logs *why and sets DEVICE_NEEDS_RESET; popping again
 * would return the same error (or another, as the guest keeps writing).
 * Every rule, with its reason, is listed at virtq_pop in virtqueue.c.
 * Preconditions: q readied by virtq_init; out non-NULL.
 * Threat note: runs in bounded time whatever the guest writes: at most
 * min(size, VIRTQ_MAX_CHAIN + 1) descriptor reads for a direct chain, at
 * most VIRTQ_MAX_CHAIN + 2 with an indirect table. A malformed chain, even
 * one the guest is rewriting during the walk, never yields a buffer outside
 * guest RAM: each descriptor is checked as copied, not as it is now.
 */
int virtq_pop(struct virtq *q, struct virtq_chain *out, const char **why) MUST_USE;

/*
 * Walks the chain whose head is descriptor head into *out, as virtq_pop
 * would, without touching the avail ring or any index: a restarted worker
 * resubmitting a chain its predecessor took (the guest may not change an
 * in-flight chain, virtio 1.2 2.7.13.1; one that did gets its own -EINVAL).
 * 1 with *out filled, or -EINVAL with *why (head >= size, a malformed chain).
 */
int virtq_chain_at(const struct virtq *q, uint16_t head, struct virtq_chain *out, const char **why) MUST_USE;

/*
 * Returns a chain to the driver: writes used->ring[used_idx % size] =
 * {head, written}, then used->idx = ++used_idx with release ordering.
 * written is the number of bytes the device wrote to the chain's writable
 * buffers; it should not exceed the chain's writable_bytes (not checked: the
 * driver must not trust it anyway, virtio 1.2 2.7.8.1).
 * 0, or -EINVAL (nothing written) when q is not ready, head >= size, or no
 * chain is outstanding (used_idx would pass last_avail_idx: a device bug that
 * would make the driver see completions it never made available).
 * Call virtq_needs_notify after a batch of pushes.
 */
int virtq_push(struct virtq *q, uint16_t head, uint32_t written) MUST_USE;

/*
 * After a batch of pushes that moved used_idx from old_used_idx: should the
 * device interrupt the driver? With EVENT_IDX, true when used_event (read
 * once, after a full barrier) is one of the entries just written,
 * old_used_idx..used_idx-1 (virtq_need_event; avail->flags is ignored then);
 * without it, true unless avail->flags has VIRTQ_AVAIL_F_NO_INTERRUPT.
 * False when nothing was pushed, and for a queue that is not ready.
 * The guest controls the answer; a wrong one only costs it interrupts.
 */
bool virtq_needs_notify(struct virtq *q, uint16_t old_used_idx);

/*
 * With EVENT_IDX: publishes avail_event = last_avail_idx, asking the driver
 * to kick when it makes the next buffer available, then issues a full
 * barrier. Race: the driver may have published a buffer after the device's
 * last virtq_pop and before this store, and checked the old avail_event, so
 * no kick comes for it. The device therefore MUST call virtq_pending (or
 * virtq_pop) after virtq_set_avail_event and process anything found before
 * it waits for a kick. Without EVENT_IDX, or for a queue that is not ready,
 * does nothing.
 */
void virtq_set_avail_event(struct virtq *q);

/*
 * Chains available and not yet popped: avail->idx - last_avail_idx (modulo
 * 2^16, avail->idx loaded with acquire ordering), or 0 when that exceeds the
 * queue size (virtq_pop reports that as malformed) or q is not ready.
 */
uint16_t virtq_pending(const struct virtq *q);

#endif
