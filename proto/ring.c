/* SPDX-License-Identifier: MIT */
/*
 * Shared-memory SPSC rings (proto/ring.h).
 *
 * Built twice: hosted (maybe sanitized) for device workers, the monitor and
 * the unit tests, and freestanding (-fno-builtin, no sanitizer, no stack
 * protector) for vCPU workers. Hence no libc at all, not even memcpy: the
 * copy loops below use volatile accesses on the shared side, which gcc never
 * turns into a library call. `nm -u` on the freestanding object is empty.
 *
 * Indices are free-running uint32_t; a record's slot is index & mask and its
 * sequence number is its index. nslots <= 2^16, so `tail - head` in modular
 * arithmetic is the fill level whenever the peer is honest; anything above
 * nslots is a protocol violation (-EPROTO).
 *
 * Memory ordering
 * ---------------
 * Data hand-off (message passing):
 *   producer: write slot -> store-release tail  ==>  consumer: load-acquire
 *             tail -> read slot. So a published slot is complete when read.
 *   consumer: read slot -> store-release head   ==>  producer: load-acquire
 *             head -> overwrite slot. So a slot is never overwritten while
 *             it is still being copied out.
 *   consumer: write reply -> store-release reply_seq  ==>  producer:
 *             load-acquire reply_seq -> read reply.
 *
 * Sleeping without lost wake-ups (Dekker / store-buffering pattern), for each
 * of the three (index, flag, sleeper's wait object) triples:
 *   doorbell:     tail,      consumer_sleeping,    eventfd
 *   ring full:    head,      producer_waits_space, futex on head
 *   reply:        reply_seq, producer_waits_reply, futex on reply_seq
 *
 *   publisher:  X: store index       ; F1: fence(seq_cst) ; Y: load flag
 *   sleeper:    A: store flag != 0   ; F2: fence(seq_cst) ; B: load index
 *
 * F1 and F2 are totally ordered (C11 7.17.4: seq_cst fences). If F1 is first,
 * B reads-from X or later, so the sleeper sees the new index and does not
 * sleep. If F2 is first, Y reads A (or later: the sleeper keeps its flag
 * unchanged until it leaves its wait loop), so the publisher wakes it. It
 * cannot be that Y misses the flag AND B misses the index. On x86 the plain
 * stores/loads are already release/acquire; the fences are the one locked
 * instruction that forbids the store->load reordering of the store buffer,
 * which is exactly what would otherwise lose a wake-up.
 *
 * One wake-up per sleep, not one per record: the doorbell and ring-full flags
 * hold a token naming the index the sleeper saw, sleep_token(i), i.e. "I
 * sleep until the record at index i is published" (consumer: tail was i) or
 * "... until the slot at index i is freed" (producer: head was i). The
 * publisher wakes only when it has just published exactly that index. This
 * loses nothing: records are published one index at a time, so the first
 * publication after the sleeper's observation is precisely index i, and the
 * argument above applies to that one (if it missed the token, the sleeper's
 * re-check B saw it and did not sleep). Later publications while the peer
 * is still waking up (it takes ~10 us here, long enough for many records)
 * no longer pay a syscall each. A token from another lap (2^32 indices
 * later) or the 0xFFFFFFFF/0 alias below only costs an extra wake-up. The
 * flags are still written only by their owner, as proto/ring.h says. The
 * reply flag is a plain 1: there is one reply per wait.
 *
 * The wake-up itself cannot be lost between "decided to sleep" and "slept":
 * - futex: the publisher wakes only after X; futex_wait atomically re-checks
 *   that the index still holds the value the sleeper saw (returns -EAGAIN
 *   otherwise), and the kernel orders that check against futex_wake.
 * - eventfd: the signal is a counter, so a doorbell rung before the consumer
 *   reaches poll() makes poll() return at once.
 * Spurious returns (0 with the index unchanged, -EINTR, -EAGAIN) just loop
 * back to re-reading the index. A sleeper leaves its flag set across such
 * loops and clears it only when done; a publisher that sees a stale flag
 * pays an unneeded wake, never a missed one.
 *
 * Threat model: the peer may write anything anywhere in the region at any
 * time. Every shared value we act on is read once into a local and validated
 * before use (indices against capacity, lengths against RING_RECORD_MAX and
 * the caller's buffer), slot addresses are always index & mask of our own
 * private nslots, and copies use our validated local length. A racing peer
 * can only garble bytes of its own records.
 */
#include "proto/ring.h"

#include <linux/errno.h>

#include "common/raw_syscall.h"

_Static_assert(offsetof(struct ring_slot, bytes) % 8 == 0, "slot bytes are 8-aligned");
_Static_assert(offsetof(struct ring_header, reply) % 8 == 0, "reply bytes are 8-aligned");
_Static_assert(RING_SLOTS_OFFSET % sizeof(struct ring_slot) == 0, "slots are 128-aligned");

/* An 8-byte load/store at any alignment that may alias anything. */
typedef uint64_t __attribute__((may_alias, aligned(1))) unaligned_u64;

/*
 * Caller memory -> shared memory (a slot or the reply area, 8-aligned).
 * Volatile stores: the compiler may neither turn the loop into a memcpy call
 * (there is none in a vCPU worker) nor re-read or widen accesses the peer can
 * see. Reads exactly len bytes of src.
 */
static void copy_to_shared(volatile uint8_t *dst, const uint8_t *src, uint32_t len)
{
	volatile uint64_t *dw = (volatile uint64_t *)(volatile void *)dst;
	uint32_t nw = len / 8, i;

	for (i = 0; i < nw; i++)
		dw[i] = *(const unaligned_u64 *)(const void *)(src + 8 * i);
	for (i = nw * 8; i < len; i++)
		dst[i] = src[i];
}

/* Shared memory (8-aligned) -> caller memory. Writes exactly len bytes of dst. */
static void copy_from_shared(uint8_t *dst, const volatile uint8_t *src, uint32_t len)
{
	const volatile uint64_t *sw = (const volatile uint64_t *)(const volatile void *)src;
	uint32_t nw = len / 8, i;

	for (i = 0; i < nw; i++)
		*(unaligned_u64 *)(void *)(dst + 8 * i) = sw[i];
	for (i = nw * 8; i < len; i++)
		dst[i] = src[i];
}

static inline uint32_t read_once_u32(const uint32_t *p)
{
	return *(const volatile uint32_t *)p;
}

static inline const volatile uint32_t *futex_word(_Atomic uint32_t *a)
{
	return (const volatile uint32_t *)(volatile void *)a;
}

/* Never 0 (0 means awake); index 0xFFFFFFFF shares token 1 with index 0. */
static inline uint32_t sleep_token(uint32_t index)
{
	uint32_t v = index + 1;

	return v ? v : 1;
}

static bool nslots_valid(uint32_t n)
{
	return n >= 2 && n <= RING_MAX_SLOTS && (n & (n - 1)) == 0;
}

size_t ring_region_size(uint32_t nslots)
{
	return (size_t)RING_SLOTS_OFFSET + (size_t)nslots * sizeof(struct ring_slot);
}

int ring_region_init(void *mem, size_t size, uint32_t nslots)
{
	struct ring_header *hdr = mem;

	if (!mem || ((uintptr_t)mem & (CACHELINE - 1)) != 0 || !nslots_valid(nslots) ||
	    size < ring_region_size(nslots))
		return -EINVAL;

	/* No peer yet (the region is handed over later, through a syscall). */
	atomic_store_explicit(&hdr->tail, 0, memory_order_relaxed);
	atomic_store_explicit(&hdr->producer_waits_space, 0, memory_order_relaxed);
	atomic_store_explicit(&hdr->producer_waits_reply, 0, memory_order_relaxed);
	atomic_store_explicit(&hdr->head, 0, memory_order_relaxed);
	atomic_store_explicit(&hdr->consumer_sleeping, 0, memory_order_relaxed);
	atomic_store_explicit(&hdr->reply_seq, 0, memory_order_relaxed);
	*(volatile uint32_t *)&hdr->reply_len = 0;
	*(volatile uint32_t *)&hdr->reserved = 0;
	*(volatile uint32_t *)&hdr->nslots = nslots;
	*(volatile uint32_t *)&hdr->version = RING_VERSION;
	/* Magic last, so a half-formatted region never attaches. */
	atomic_thread_fence(memory_order_release);
	*(volatile uint32_t *)&hdr->magic = RING_MAGIC;
	return 0;
}

/*
 * Checks what attach relies on: alignment, a readable header, magic, version,
 * nslots and size. Each header field is read once; nslots is returned so the
 * caller never looks at the shared copy again.
 */
static int region_check(void *mem, size_t size, uint32_t *nslots)
{
	const struct ring_header *hdr = mem;
	uint32_t n;

	if (!mem || ((uintptr_t)mem & (CACHELINE - 1)) != 0 || size < RING_SLOTS_OFFSET)
		return -EINVAL;
	if (read_once_u32(&hdr->magic) != RING_MAGIC || read_once_u32(&hdr->version) != RING_VERSION)
		return -EINVAL;
	n = read_once_u32(&hdr->nslots);
	if (!nslots_valid(n) || size < ring_region_size(n))
		return -EINVAL;
	/* Pairs with the release fence in ring_region_init (belt and braces). */
	atomic_thread_fence(memory_order_acquire);
	*nslots = n;
	return 0;
}

int ring_producer_attach(struct ring_producer *p, void *mem, size_t size, int doorbell_fd,
			 uint32_t spin_iters)
{
	uint32_t n;
	int err;

	if (!p || doorbell_fd < 0)
		return -EINVAL;
	err = region_check(mem, size, &n);
	if (err)
		return err;
	p->hdr = mem;
	p->slots = (struct ring_slot *)(void *)((uint8_t *)mem + RING_SLOTS_OFFSET);
	p->nslots = n;
	p->mask = n - 1;
	/* Resume where a previous producer stopped. Not trusted: every push
	 * checks tail - head against nslots. */
	p->tail = atomic_load_explicit(&p->hdr->tail, memory_order_relaxed);
	p->head_cache = p->tail - n; /* "full": the first push reads head */
	p->doorbell_fd = doorbell_fd;
	p->spin_iters = spin_iters;
	p->reply_deadline_s = 0;
	p->order_counter = NULL;
	p->doorbells = 0;
	p->full_waits = 0;
	p->reply_sleeps = 0;
	return 0;
}

int ring_consumer_attach(struct ring_consumer *c, void *mem, size_t size)
{
	uint32_t n;
	int err;

	if (!c)
		return -EINVAL;
	err = region_check(mem, size, &n);
	if (err)
		return err;
	c->hdr = mem;
	c->slots = (struct ring_slot *)(void *)((uint8_t *)mem + RING_SLOTS_OFFSET);
	c->nslots = n;
	c->mask = n - 1;
	/* Resume where a previous consumer stopped; checked by every pop. */
	c->head = atomic_load_explicit(&c->hdr->head, memory_order_relaxed);
	c->tail_cache = c->head; /* "empty": the first pop reads tail */
	return 0;
}

bool ring_consumer_repair_head(struct ring_consumer *c, uint32_t *old_head)
{
	uint32_t tail = atomic_load_explicit(&c->hdr->tail, memory_order_acquire);
	uint32_t reply = atomic_load_explicit(&c->hdr->reply_seq, memory_order_acquire);
	uint32_t head = c->head;

	*old_head = head;
	if (tail - head <= c->nslots)
		return false;
	head = (tail != 0 && reply != tail) ? tail - 1 : tail;
	c->head = head;
	c->tail_cache = head;
	atomic_store_explicit(&c->hdr->head, head, memory_order_release);
	return true;
}

/* ---- producer ----------------------------------------------------------- */

/*
 * The ring looked full for tail t: spin, then sleep on the head futex until
 * the consumer frees a slot. 0, or -EPROTO if head becomes impossible.
 */
static int wait_space(struct ring_producer *p, uint32_t t, uint32_t *head)
{
	struct ring_header *hdr = p->hdr;
	uint32_t spins = 0, h, used;
	bool flagged = false;
	int err;

	p->full_waits++;
	for (;;) {
		/* Acquire: pairs with the consumer's store-release of head in
		 * ring_pop, so its copy-out of the slot we are about to reuse
		 * happens-before our overwrite. */
		h = atomic_load_explicit(&hdr->head, memory_order_acquire);
		used = t - h;
		if (used > p->nslots) {
			err = -EPROTO;
			break;
		}
		if (used < p->nslots) {
			*head = h;
			err = 0;
			break;
		}
		if (spins < p->spin_iters) {
			spins++;
			cpu_relax();
			continue;
		}
		if (!flagged) {
			/* Sleeper side (A, F2): announce "asleep until slot h
			 * is freed", fence, then the loop re-reads head (B)
			 * before any futex_wait. The flag keeps this value
			 * until we leave (head cannot move on without freeing
			 * slot h first), so F2 covers every later re-check.
			 * Pairs with F1 in ring_pop. */
			atomic_store_explicit(&hdr->producer_waits_space, sleep_token(h), memory_order_relaxed);
			atomic_thread_fence(memory_order_seq_cst);
			flagged = true;
			continue;
		}
		/* Sleeps only while head is still h. 0 (maybe spurious),
		 * -EAGAIN (head moved) and -EINTR all mean: re-check. */
		(void)raw_futex_wait(futex_word(&hdr->head), h);
	}
	if (flagged)
		atomic_store_explicit(&hdr->producer_waits_space, 0, memory_order_relaxed);
	return err;
}

static void ring_doorbell(struct ring_producer *p)
{
	long r;

	do
		r = raw_eventfd_signal(p->doorbell_fd);
	while (r == -EINTR);
	p->doorbells++;
}

int ring_push(struct ring_producer *p, const void *rec, uint32_t len, uint32_t *seq)
{
	struct ring_header *hdr = p->hdr;
	volatile struct ring_slot *s;
	uint32_t t = p->tail, h, used;

	if (len == 0 || len > RING_RECORD_MAX)
		return -EMSGSIZE;

	/* The cached head was validated when read and only grows stale
	 * towards "full": re-read the shared one only then. */
	if (unlikely(t - p->head_cache >= p->nslots)) {
		/* Acquire: as in wait_space (slot t is no longer being read). */
		h = atomic_load_explicit(&hdr->head, memory_order_acquire);
		used = t - h;
		if (unlikely(used > p->nslots))
			return -EPROTO;
		if (unlikely(used == p->nslots)) {
			int err = wait_space(p, t, &h);
			if (err)
				return err;
		}
		p->head_cache = h;
	}

	s = &p->slots[t & p->mask];
	s->len = len;
	s->seq = t;
	s->order = p->order_counter ? atomic_fetch_add_explicit(p->order_counter, 1, memory_order_relaxed) : 0;
	copy_to_shared(s->bytes, rec, len);
	t++;
	p->tail = t;
	/* Release: publishes the slot written above (X of the doorbell triple).
	 * Pairs with the load-acquire of tail in ring_pop. */
	atomic_store_explicit(&hdr->tail, t, memory_order_release);
	/* F1 of the doorbell triple: the tail store is globally visible before
	 * we read consumer_sleeping. Pairs with F2 in
	 * ring_consumer_prepare_sleep: either it sees our tail or we see its
	 * flag. Ring only if it waits for this very record (see the top). */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&hdr->consumer_sleeping, memory_order_relaxed) == sleep_token(t - 1))
		ring_doorbell(p);
	*seq = t - 1;
	return 0;
}

int ring_wait_reply(struct ring_producer *p, uint32_t seq, void *buf, uint32_t cap,
		    uint32_t *len)
{
	struct ring_header *hdr = p->hdr;
	uint32_t want = seq + 1, spins = 0, r, rl, timeouts = 0;
	bool flagged = false, slept = false;
	int err;

	/* Only a request already pushed can be answered (a caller bug, not
	 * the peer's: -EINVAL). At most one read may be outstanding: there is
	 * one reply area. Known limit of a 32-bit reply_seq: a reply left from
	 * exactly 2^32 records earlier (or the initial 0 for seq 0xFFFFFFFF,
	 * i.e. no reply at all in the first 2^32 records) is taken for ours. */
	if ((int32_t)(p->tail - want) < 0)
		return -EINVAL;

	for (;;) {
		/* Acquire: pairs with the store-release of reply_seq in
		 * ring_reply, so reply_len and reply are complete below. */
		r = atomic_load_explicit(&hdr->reply_seq, memory_order_acquire);
		if (r == want)
			break;
		/* Newer than our request: with one outstanding read (the
		 * protocol) the consumer answered something we never asked
		 * for, or skipped our request. Either way ours never comes. */
		if ((int32_t)(r - want) > 0) {
			err = -EPROTO;
			goto out;
		}
		/* Older: a previous reply still in place; keep waiting. */
		if (spins < p->spin_iters) {
			spins++;
			cpu_relax();
			continue;
		}
		if (!flagged) {
			/* Sleeper side (A, F2) of the reply triple; pairs with
			 * F1 in ring_reply. Re-check follows via the loop. */
			atomic_store_explicit(&hdr->producer_waits_reply, 1, memory_order_relaxed);
			atomic_thread_fence(memory_order_seq_cst);
			flagged = true;
			continue;
		}
		if (!slept) {
			slept = true;
			p->reply_sleeps++;
		}
		/* Sleeps only while reply_seq is still r; any return re-checks. */
		if (!p->reply_deadline_s) {
			(void)raw_futex_wait(futex_word(&hdr->reply_seq), r);
		} else if (raw_futex_wait_for(futex_word(&hdr->reply_seq), r, 1) == -ETIMEDOUT &&
			   ++timeouts >= p->reply_deadline_s) {
			err = -ETIMEDOUT;
			goto out;
		}
	}

	rl = read_once_u32(&hdr->reply_len);
	if (rl > cap || rl > RING_RECORD_MAX) {
		err = -EPROTO;
		goto out;
	}
	copy_from_shared(buf, hdr->reply, rl);
	*len = rl;
	err = 0;
out:
	if (flagged)
		atomic_store_explicit(&hdr->producer_waits_reply, 0, memory_order_relaxed);
	return err;
}

bool ring_reject_reply(struct ring_producer *p, uint32_t seq)
{
	/* Release: nothing to publish; only the value matters to the next wait. */
	atomic_store_explicit(&p->hdr->reply_seq, seq, memory_order_release);
	/* Head is the consumer's word: any value is possible, only "past seq" counts. */
	return (int32_t)(atomic_load_explicit(&p->hdr->head, memory_order_acquire) - seq) <= 0;
}

/* ---- consumer ----------------------------------------------------------- */

int ring_peek(struct ring_consumer *c, void *buf, uint32_t cap, uint32_t *len, uint32_t *seq)
{
	struct ring_header *hdr = c->hdr;
	const volatile struct ring_slot *s;
	uint32_t h = c->head, t, avail, l, sq;

	/* The header's precondition; checked, since a shorter buffer would
	 * make a valid record look like the producer's fault. */
	if (cap < RING_RECORD_MAX)
		return -EINVAL;
	/* Acquire: pairs with the store-release of tail in ring_push, so the
	 * slot contents are complete before we read them. */
	if (c->tail_cache == h) {
		t = atomic_load_explicit(&hdr->tail, memory_order_acquire);
		avail = t - h;
		if (avail == 0)
			return -EAGAIN;
		if (avail > c->nslots)
			return -EPROTO;
		c->tail_cache = t;
	}

	s = &c->slots[h & c->mask];
	/* Snapshot len and seq once; only the snapshot is validated and used
	 * (the producer may rewrite the slot under us), and the copy below is
	 * bounded by it. seq must be the record's index: anything else is a
	 * slot the producer published without writing (e.g. one from the
	 * previous lap). A bad record is not consumed: every later call
	 * reports it again. */
	l = s->len;
	sq = s->seq;
	if (l == 0 || l > RING_RECORD_MAX || sq != h)
		return -EPROTO;
	copy_from_shared(buf, s->bytes, l);
	*len = l;
	*seq = sq;
	return 0;
}

void ring_advance(struct ring_consumer *c)
{
	struct ring_header *hdr = c->hdr;
	uint32_t h = c->head + 1;

	c->head = h;
	/* Release: our reads of the slot (and, in a device worker, everything
	 * the record's handling wrote) happen-before the producer reuses the
	 * slot and before a successor consumer sees the record as done (X of
	 * the ring-full triple). Pairs with the acquire loads of head. */
	atomic_store_explicit(&hdr->head, h, memory_order_release);
	/* F1 of the ring-full triple: head is visible before we read the flag;
	 * pairs with F2 in wait_space. Wake only if the producer waits for
	 * this very slot (h - 1, just freed). */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&hdr->producer_waits_space, memory_order_relaxed) == sleep_token(h - 1))
		(void)raw_futex_wake(futex_word(&hdr->head), 1);
}

int ring_pop(struct ring_consumer *c, void *buf, uint32_t cap, uint32_t *len, uint32_t *seq)
{
	int err = ring_peek(c, buf, cap, len, seq);

	if (err == 0)
		ring_advance(c);
	return err;
}

int ring_reply(struct ring_consumer *c, uint32_t seq, const void *rec, uint32_t len)
{
	struct ring_header *hdr = c->hdr;

	if (len > RING_RECORD_MAX)
		return -EMSGSIZE;
	copy_to_shared(hdr->reply, rec, len);
	*(volatile uint32_t *)&hdr->reply_len = len;
	/* Release: publishes reply_len and reply (X of the reply triple);
	 * pairs with the load-acquire in ring_wait_reply. */
	atomic_store_explicit(&hdr->reply_seq, seq + 1, memory_order_release);
	/* F1 of the reply triple; pairs with F2 in ring_wait_reply. */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&hdr->producer_waits_reply, memory_order_relaxed))
		(void)raw_futex_wake(futex_word(&hdr->reply_seq), 1);
	return 0;
}

bool ring_consumer_prepare_sleep(struct ring_consumer *c)
{
	struct ring_header *hdr = c->hdr;
	uint32_t t;

	/* Sleeper side (A, F2) of the doorbell triple; pairs with F1 in
	 * ring_push: if the push of record `head` is missed by the re-check
	 * below, it sees our token and rings. */
	atomic_store_explicit(&hdr->consumer_sleeping, sleep_token(c->head), memory_order_relaxed);
	atomic_thread_fence(memory_order_seq_cst);
	/* B. Acquire is not needed for the comparison alone, but the caller
	 * drains right after a false return. */
	t = atomic_load_explicit(&hdr->tail, memory_order_acquire);
	if (t != c->head) {
		/* Something arrived (or the tail is garbage, which the drain
		 * reports as -EPROTO). */
		atomic_store_explicit(&hdr->consumer_sleeping, 0, memory_order_relaxed);
		return false;
	}
	return true;
}

void ring_consumer_end_sleep(struct ring_consumer *c)
{
	/* Relaxed: if the producer still sees 1 for a while it only rings an
	 * extra doorbell (a spurious poll wake-up), never misses one. */
	atomic_store_explicit(&c->hdr->consumer_sleeping, 0, memory_order_relaxed);
}

uint32_t ring_pending(const struct ring_consumer *c)
{
	uint32_t avail = atomic_load_explicit(&c->hdr->tail, memory_order_acquire) - c->head;

	/* An impossible tail reads as a full ring: the drain then pops and
	 * gets -EPROTO instead of the garbage being hidden. */
	return avail > c->nslots ? c->nslots : avail;
}

int ring_peek_order(const struct ring_consumer *c, uint32_t *order)
{
	uint32_t tail = atomic_load_explicit(&c->hdr->tail, memory_order_acquire);
	const volatile struct ring_slot *s;

	if (tail == c->head)
		return -EAGAIN;
	/* Acquire above: the slot's content is visible. */
	s = (const volatile struct ring_slot *)&c->slots[c->head & c->mask];
	*order = s->order;
	return 0;
}
