/* SPDX-License-Identifier: MIT */
/*
 * Shared-memory single-producer single-consumer rings of msgpack records.
 *
 * One ring per (vCPU worker, device worker) pair, and one per vCPU worker
 * towards the monitor. A ring lives in a memfd the monitor creates, sizes and
 * initializes (ring_region_init) before handing it to both sides.
 *
 * Protocol (see proto/SCHEMA.md for the record bytes):
 * - The producer (a vCPU worker) copies a record into the slot at `tail`,
 *   then publishes tail. Writes are posted: ring_push returns as soon as the
 *   record is in the ring. A read pushes its request and then waits in
 *   ring_wait_reply for the reply to that request's sequence number; FIFO
 *   order means the reply comes after every earlier posted write was handled.
 * - The consumer (a device worker, or the monitor) copies a record out of the
 *   slot at `head` (ring_peek), and publishes head (ring_advance) once it is
 *   done with it: a device worker only after the record is applied and its
 *   reply published, so a successor worker finds every unfinished record
 *   still in the ring (docs/DESIGN.md, "Take, apply, complete").
 * - No syscall while the peer is awake: each side announces that it is going
 *   to sleep in a flag word, re-checks, and only then sleeps. The other side
 *   checks the flag after publishing (both with a seq_cst fence between, the
 *   Dekker pattern) and only then pays for a wake-up. The consumer_sleeping
 *   and producer_waits_space flags hold a sleep token, index + 1 (1 for
 *   index 0xFFFFFFFF), naming the index the sleeper waits for: the publisher
 *   wakes it only when it publishes exactly that index, so one sleep costs
 *   one wake-up however many records follow while the sleeper wakes up.
 * - A record's sequence number is its ring index; the consumer rejects a
 *   slot whose seq is not its index (-EPROTO). At most one read is
 *   outstanding (there is one reply area). The consumer sleeps on
 *   an eventfd doorbell (so it can wait on many rings and other fds at once);
 *   the producer sleeps on a futex (head when the ring is full, reply_seq
 *   when waiting for a reply).
 *
 * Threat note: the two sides are different security domains; either may be
 * compromised. Each side reads the peer's index once into a local, checks the
 * distance against capacity, copies a record out before looking at it, and
 * reports a violation as -EPROTO (the peer's fault: the monitor kills it),
 * never by crashing or touching memory outside the region.
 *
 * Freestanding: no libc; the producer side runs in vCPU workers.
 */
#ifndef SQUIB_PROTO_RING_H
#define SQUIB_PROTO_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"

#define RING_MAGIC 0x47525153u /* "SQRG" */
#define RING_VERSION 1u
#define RING_RECORD_MAX 112u      /* == VM_WIRE_MAX */
#define RING_SLOTS_OFFSET 4096u   /* slots start one page into the region */
#define RING_DEFAULT_SLOTS 256u
#define RING_MAX_SLOTS 65536u

struct ring_slot {
	uint32_t len;   /* bytes used in `bytes` */
	uint32_t seq;   /* producer's sequence number for this record */
	uint32_t order; /* device-wide order stamp (see ring_producer.order_counter) */
	uint32_t reserved; /* keeps bytes 8-byte aligned */
	uint8_t bytes[RING_RECORD_MAX];
};
_Static_assert(sizeof(struct ring_slot) == 128, "ring slot is two cache lines");

struct ring_header {
	/* Written once by the monitor before either side attaches. */
	uint32_t magic;
	uint32_t version;
	uint32_t nslots; /* a power of two, <= RING_MAX_SLOTS */
	uint32_t reserved;

	/* Written only by the producer. */
	ALIGNED(CACHELINE) _Atomic uint32_t tail;
	/* Rarely written: own line, so reading them costs no cache miss while
	 * the indices bounce between the two sides. */
	ALIGNED(CACHELINE) _Atomic uint32_t producer_waits_space; /* 0, or token of the head value it sleeps on */
	_Atomic uint32_t producer_waits_reply; /* 0, or 1: asleep on `reply_seq` */

	/* Written only by the consumer. */
	ALIGNED(CACHELINE) _Atomic uint32_t head;
	ALIGNED(CACHELINE) _Atomic uint32_t consumer_sleeping; /* 0, or token of the tail it sleeps on */

	/* Written only by the consumer: the reply to the latest waiting request. */
	ALIGNED(CACHELINE) _Atomic uint32_t reply_seq; /* seq + 1 of the request answered */
	uint32_t reply_len;
	uint8_t reply[RING_RECORD_MAX];
};
_Static_assert(sizeof(struct ring_header) <= RING_SLOTS_OFFSET, "ring header fits its page");

/* Bytes of memfd needed for a ring of nslots slots. */
size_t ring_region_size(uint32_t nslots);

/*
 * Monitor side: formats a zeroed region. nslots must be a power of two in
 * [2, RING_MAX_SLOTS] and size >= ring_region_size(nslots). 0 or -EINVAL.
 */
int ring_region_init(void *mem, size_t size, uint32_t nslots) MUST_USE;

struct ring_producer {
	struct ring_header *hdr;
	struct ring_slot *slots;
	uint32_t nslots;
	uint32_t mask;
	uint32_t tail;       /* private copy: the shared tail is never read back */
	uint32_t head_cache; /* last validated head; re-read only when it says full */
	int doorbell_fd;     /* eventfd of the consumer */
	uint32_t spin_iters; /* busy-wait iterations before sleeping */
	/*
	 * Seconds ring_wait_reply sleeps for one reply before it returns
	 * -ETIMEDOUT (0: forever). Counted in 1-second futex timeouts, so a
	 * task with no clock (a vCPU worker) can keep it.
	 */
	uint32_t reply_deadline_s;
	/* Statistics, for benchmarks and logs. */
	uint64_t doorbells;   /* eventfd signals sent */
	uint64_t full_waits;  /* times the ring was full */
	uint64_t reply_sleeps;/* times a reply wait went to sleep */
	/*
	 * Shared by every producer feeding one device (NULL: stamps are 0).
	 * Each record takes the next value, so a record pushed after another
	 * one's push completed (e.g. a vCPU's read after another vCPU's write,
	 * ordered by a guest lock) carries a later stamp, and the device serves
	 * its rings in stamp order: cross-vCPU order is kept as on hardware.
	 */
	_Atomic uint32_t *order_counter;
};

struct ring_consumer {
	struct ring_header *hdr;
	struct ring_slot *slots;
	uint32_t nslots;
	uint32_t mask;
	uint32_t head; /* private copy */
	uint32_t tail_cache; /* last validated tail; re-read only when it says empty */
};

/*
 * Attach to an initialized region of `size` bytes. Validates magic, version,
 * nslots and size (the header was written by the monitor, but the region is
 * shared with the peer, so it is checked anyway), a 64-byte aligned mem and,
 * for the producer, doorbell_fd >= 0. 0 or -EINVAL.
 * The private index starts from the shared one (so a restarted peer resumes).
 */
int ring_producer_attach(struct ring_producer *p, void *mem, size_t size, int doorbell_fd,
			 uint32_t spin_iters) MUST_USE;
int ring_consumer_attach(struct ring_consumer *c, void *mem, size_t size) MUST_USE;

/*
 * A successor consumer's check of the head its predecessor left. Only a
 * consumer writes head, so a head the ring cannot have (more than nslots
 * behind tail, or ahead of it) is the predecessor's doing (a compromised
 * worker's), never the producer's. Then head moves to tail - 1 when the
 * last record may be a read still waiting for its reply (reply_seq is not
 * tail), else to tail: the records in between are not applied (a
 * compromised consumer could have dropped them anyway), and no producer
 * waits forever. Returns true when head was moved (*old_head: what it was).
 */
bool ring_consumer_repair_head(struct ring_consumer *c, uint32_t *old_head);

/*
 * Appends one record of len bytes (1..RING_RECORD_MAX) and returns its
 * sequence number in *seq. Blocks (spin, then futex) while the ring is full.
 * Rings the doorbell only if the consumer announced it is sleeping.
 * 0, -EMSGSIZE (bad len), -EPROTO (consumer published an impossible head).
 */
int ring_push(struct ring_producer *p, const void *rec, uint32_t len, uint32_t *seq) MUST_USE;

/*
 * Waits for the reply to request `seq` and copies it into buf (cap bytes).
 * 0 with *len set, or -EPROTO when the consumer's reply is malformed
 * (length over cap or RING_RECORD_MAX, or it answers a request newer than
 * seq); -EINVAL if seq was not pushed yet. Replies to older requests are
 * waited past. reply_seq is 32 bits: a stale reply exactly 2^32 records old
 * (no reply in between) would be taken for this one. -ETIMEDOUT when
 * reply_deadline_s passed asleep without a reply: the request stays
 * outstanding, and calling again waits for it again (a successor answers).
 */
int ring_wait_reply(struct ring_producer *p, uint32_t seq, void *buf, uint32_t cap,
		    uint32_t *len) MUST_USE;

/*
 * The producer rejects the reply to request seq that ring_wait_reply (or
 * its decoder) found malformed: it stores reply_seq = seq, so the next
 * ring_wait_reply(seq) waits again, for the consumer's successor to answer
 * the request (it is still at the head of the ring: "Take, apply,
 * complete"). The one word of the consumer's the producer writes.
 * Returns false when the consumer already moved head past seq: the request
 * was consumed and its answer is lost (nothing will come; the caller gives up).
 */
bool ring_reject_reply(struct ring_producer *p, uint32_t seq);

/*
 * Copies the oldest record into buf (cap >= RING_RECORD_MAX) without
 * consuming it: the slot stays the producer's to keep until ring_advance.
 * 0 with *len and *seq set; -EAGAIN when empty; -EINVAL when cap is smaller;
 * -EPROTO when the producer published an impossible tail, a record of length
 * 0 or longer than RING_RECORD_MAX, or a slot whose seq is not its index
 * (the bad record stays: every later call reports it again).
 */
int ring_peek(struct ring_consumer *c, void *buf, uint32_t cap, uint32_t *len, uint32_t *seq) MUST_USE;

/*
 * Consumes the record ring_peek returned (precondition: it returned 0 and
 * nothing was advanced since), publishing head: the record is done. Wakes a
 * producer sleeping for space. A device worker calls it only after the
 * record's effects are in place and its reply (for a read) is published:
 * the head a successor worker resumes from is the first record not yet
 * done (docs/DESIGN.md, "Take, apply, complete").
 */
void ring_advance(struct ring_consumer *c);

/* ring_peek then ring_advance: for consumers that keep no state across a crash (the monitor). */
int ring_pop(struct ring_consumer *c, void *buf, uint32_t cap, uint32_t *len, uint32_t *seq) MUST_USE;

/* Publishes the reply (0..RING_RECORD_MAX bytes) to request seq and wakes the producer if it sleeps. 0 or -EMSGSIZE. */
int ring_reply(struct ring_consumer *c, uint32_t seq, const void *rec, uint32_t len) MUST_USE;

/*
 * Consumer going to sleep: announces it, then re-checks. Returns true when the
 * ring is still empty (the caller may now block on its doorbell: any later
 * push will ring it), false when a record arrived (flag cleared; drain again).
 */
bool ring_consumer_prepare_sleep(struct ring_consumer *c);
/* Consumer woke up: producers need not ring the doorbell any more. */
void ring_consumer_end_sleep(struct ring_consumer *c);

/*
 * The order stamp of the oldest record without consuming it: 0, or -EAGAIN
 * when the ring is empty. The stamp is the producer's word, not validated:
 * a lying producer can only reorder its own records.
 */
int ring_peek_order(const struct ring_consumer *c, uint32_t *order) MUST_USE;

/* Records waiting to be consumed (for draining on shutdown); an impossible tail reads as nslots. */
uint32_t ring_pending(const struct ring_consumer *c);

#endif
