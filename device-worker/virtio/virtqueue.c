/* SPDX-License-Identifier: MIT */
/*
 * The split virtqueue, device side. See virtqueue.h for the threat model,
 * the memory ordering and the spec decisions; the rules virtq_pop enforces
 * are listed above it, each with its reason string.
 *
 * After bhyve's vq_getchain (usr.sbin/bhyve/virtio.c) and vmd's vioblk:
 * one walker, every malformation rejected with a message, every loop bounded.
 */
#include "device-worker/virtio/virtqueue.h"

#include <errno.h>

/* Layouts are read in host order: virtio 1.x rings are little-endian. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "virtqueue.c assumes a little-endian host");

/* ---- reason strings (static: the caller logs them) ---------------------- */

static const char WHY_INIT_SIZE_ZERO[] = "queue size is 0";
static const char WHY_INIT_SIZE_POW2[] = "queue size is not a power of 2";
static const char WHY_INIT_SIZE_MAX[] = "queue size above 32768";
static const char WHY_INIT_MEM_ALIGN[] = "guest RAM mapping not 16-byte aligned";
static const char WHY_INIT_DESC_ALIGN[] = "descriptor table not 16-byte aligned";
static const char WHY_INIT_AVAIL_ALIGN[] = "avail ring not 2-byte aligned";
static const char WHY_INIT_USED_ALIGN[] = "used ring not 4-byte aligned";
static const char WHY_INIT_DESC_RAM[] = "descriptor table outside guest RAM";
static const char WHY_INIT_AVAIL_RAM[] = "avail ring outside guest RAM";
static const char WHY_INIT_USED_RAM[] = "used ring outside guest RAM";

static const char WHY_NOT_READY[] = "queue not ready";
static const char WHY_AVAIL_IDX[] = "avail index moved more than the queue size";
static const char WHY_IN_FLIGHT[] = "more chains in flight than the queue size";
static const char WHY_HEAD[] = "head descriptor index >= queue size";
static const char WHY_NEXT[] = "next descriptor index >= queue size";
static const char WHY_LOOP[] = "descriptor chain longer than the queue (loop)";
static const char WHY_MAX_CHAIN[] = "descriptor chain longer than VIRTQ_MAX_CHAIN";
static const char WHY_ZERO_LEN[] = "zero-length descriptor";
static const char WHY_BUF_WRAPS[] = "descriptor buffer address wraps";
static const char WHY_BUF_RAM[] = "descriptor buffer outside guest RAM";
static const char WHY_ORDER[] = "readable descriptor after a writable one";
static const char WHY_TOTAL[] = "chain carries 4 GiB or more";
static const char WHY_IND_FEATURE[] = "indirect descriptor without VIRTIO_RING_F_INDIRECT_DESC";
static const char WHY_IND_NEXT[] = "indirect descriptor with NEXT set";
static const char WHY_IND_LEN_ZERO[] = "indirect table length is 0";
static const char WHY_IND_LEN_MUL[] = "indirect table length not a multiple of 16";
static const char WHY_IND_LEN_MAX[] = "indirect table longer than VIRTQ_MAX_CHAIN descriptors";
static const char WHY_IND_RAM[] = "indirect table outside guest RAM";
static const char WHY_IND_NESTED[] = "indirect descriptor inside an indirect table";
static const char WHY_IND_NEXT_RANGE[] = "next index outside the indirect table";
static const char WHY_IND_LOOP[] = "indirect chain longer than its table (loop)";
static const char WHY_DESC_READ[] = "descriptor read outside guest RAM";

static int fail(const char **why, const char *reason)
{
	if (why)
		*why = reason;
	return -EINVAL;
}

/* ---- configuration -------------------------------------------------------- */

/*
 * Every property virtq_init established, re-checked cheaply by each entry
 * point: struct virtq may live in memory a crashed worker left behind, and
 * this keeps a corrupted one from turning into an out-of-range access.
 * NULL when the layout is good, else the reason it is not.
 */
static const char *layout_check(const struct guest_mem *mem, uint32_t size, uint64_t desc, uint64_t avail,
				uint64_t used)
{
	if (size == 0)
		return WHY_INIT_SIZE_ZERO;
	if (size > VIRTQ_MAX_SIZE)
		return WHY_INIT_SIZE_MAX;
	if (size & (size - 1))
		return WHY_INIT_SIZE_POW2;
	if ((uintptr_t)mem->host_base % VIRTQ_DESC_ALIGN)
		return WHY_INIT_MEM_ALIGN;
	if (desc % VIRTQ_DESC_ALIGN)
		return WHY_INIT_DESC_ALIGN;
	if (avail % VIRTQ_AVAIL_ALIGN)
		return WHY_INIT_AVAIL_ALIGN;
	if (used % VIRTQ_USED_ALIGN)
		return WHY_INIT_USED_ALIGN;
	if (!guest_mem_range_ok(mem, desc, virtq_desc_bytes(size)))
		return WHY_INIT_DESC_RAM;
	if (!guest_mem_range_ok(mem, avail, virtq_avail_bytes(size)))
		return WHY_INIT_AVAIL_RAM;
	if (!guest_mem_range_ok(mem, used, virtq_used_bytes(size)))
		return WHY_INIT_USED_RAM;
	return NULL;
}

static bool ready(const struct virtq *q)
{
	return q->mem && layout_check(q->mem, q->size, q->desc_gpa, q->avail_gpa, q->used_gpa) == NULL;
}

int virtq_init(struct virtq *q, const struct guest_mem *mem, uint16_t size, uint64_t desc, uint64_t avail,
	       uint64_t used, bool event_idx, bool indirect, const char **why)
{
	const char *reason = layout_check(mem, size, desc, avail, used);

	*q = (struct virtq){ .mem = mem };
	if (reason)
		return fail(why, reason);
	q->size = size;
	q->desc_gpa = desc;
	q->avail_gpa = avail;
	q->used_gpa = used;
	q->event_idx = event_idx;
	q->indirect = indirect;
	return 0;
}

/* ---- shared-field access (after ready(): the ranges are inside RAM) ------ */

/* A 2-aligned le16 in a ring, read once. */
static uint16_t ring_load16(const struct virtq *q, uint64_t gpa, int order)
{
	uint16_t *p = guest_mem_ptr(q->mem, gpa, sizeof(uint16_t));

	if (!p) /* unreachable after ready(); fail safe */
		return 0;
	return order == __ATOMIC_ACQUIRE ? __atomic_load_n(p, __ATOMIC_ACQUIRE) : __atomic_load_n(p, __ATOMIC_RELAXED);
}

/* avail->idx with acquire ordering: the entries it publishes are visible. */
static uint16_t avail_idx_load(const struct virtq *q)
{
	return ring_load16(q, q->avail_gpa + VIRTQ_AVAIL_IDX_OFF, __ATOMIC_ACQUIRE);
}

/* ---- the walker ------------------------------------------------------------ */

/* Appends one validated buffer to out. 0, or -EINVAL with *why. */
static int add_buf(struct virtq_chain *out, const struct guest_mem *mem, const struct virtq_desc *d, bool writable,
		   const char **why)
{
	if (d->len == 0)
		return fail(why, WHY_ZERO_LEN);
	if (d->len > UINT64_MAX - d->addr)
		return fail(why, WHY_BUF_WRAPS);
	if (!guest_mem_range_ok(mem, d->addr, d->len))
		return fail(why, WHY_BUF_RAM);
	if (!writable && out->writable_bytes != 0)
		return fail(why, WHY_ORDER);
	if (out->nbufs >= VIRTQ_MAX_CHAIN)
		return fail(why, WHY_MAX_CHAIN);
	/* Both totals are <= VIRTQ_MAX_CHAIN_BYTES here: no overflow below. */
	if (out->readable_bytes + out->writable_bytes + d->len > VIRTQ_MAX_CHAIN_BYTES)
		return fail(why, WHY_TOTAL);

	out->bufs[out->nbufs] = (struct virtq_buf){ .gpa = d->addr, .len = d->len, .device_writable = writable };
	out->nbufs++;
	if (writable)
		out->writable_bytes += d->len;
	else
		out->readable_bytes += d->len;
	return 0;
}

/* Copies descriptor i of the table at table_gpa into *d (one read). */
static int desc_load(const struct guest_mem *mem, uint64_t table_gpa, uint32_t i, struct virtq_desc *d,
		     const char **why)
{
	/* Callers proved [table_gpa, table_gpa + 16 * n) inside RAM and i < n. */
	if (guest_mem_read(mem, table_gpa + 16ULL * i, d, sizeof(*d)) != 0)
		return fail(why, WHY_DESC_READ);
	return 0;
}

/*
 * Walks the indirect table described by the (local copy of the) indirect
 * descriptor ind. Its chain starts at entry 0 and may not leave the table,
 * loop, or nest another table.
 */
static int walk_indirect(struct virtq_chain *out, const struct guest_mem *mem, const struct virtq_desc *ind,
			 const char **why)
{
	struct virtq_desc d;
	uint32_t n, i = 0, count = 0;
	int err;

	if (ind->len == 0)
		return fail(why, WHY_IND_LEN_ZERO);
	if (ind->len % sizeof(struct virtq_desc))
		return fail(why, WHY_IND_LEN_MUL);
	n = ind->len / sizeof(struct virtq_desc);
	if (n > VIRTQ_MAX_CHAIN)
		return fail(why, WHY_IND_LEN_MAX);
	if (!guest_mem_range_ok(mem, ind->addr, ind->len))
		return fail(why, WHY_IND_RAM);

	for (;;) {
		/* Bound: at most n descriptors; a longer walk revisits one. */
		if (++count > n)
			return fail(why, WHY_IND_LOOP);
		err = desc_load(mem, ind->addr, i, &d, why);
		if (err)
			return err;
		if (d.flags & VIRTQ_DESC_F_INDIRECT)
			return fail(why, WHY_IND_NESTED);
		err = add_buf(out, mem, &d, (d.flags & VIRTQ_DESC_F_WRITE) != 0, why);
		if (err)
			return err;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (d.next >= n)
			return fail(why, WHY_IND_NEXT_RANGE);
		i = d.next;
	}
}

/*
 * Walks the chain starting at head (already < size) into out.
 * Direct part: at most size descriptors (a longer walk must revisit one, so
 * that bound is also the loop detector), then optionally one indirect
 * descriptor that ends it.
 */
static int walk_chain(const struct virtq *q, uint16_t head, struct virtq_chain *out, const char **why)
{
	const uint32_t size = q->size;
	struct virtq_desc d;
	uint32_t i = head, count = 0;
	int err;

	for (;;) {
		if (++count > size)
			return fail(why, WHY_LOOP);
		err = desc_load(q->mem, q->desc_gpa, i, &d, why);
		if (err)
			return err;
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			if (!q->indirect)
				return fail(why, WHY_IND_FEATURE);
			if (d.flags & VIRTQ_DESC_F_NEXT)
				return fail(why, WHY_IND_NEXT);
			/* Its WRITE flag is ignored (virtio 1.2 2.7.5.3.2). */
			return walk_indirect(out, q->mem, &d, why);
		}
		err = add_buf(out, q->mem, &d, (d.flags & VIRTQ_DESC_F_WRITE) != 0, why);
		if (err)
			return err;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (d.next >= size)
			return fail(why, WHY_NEXT);
		i = d.next;
	}
}

static void chain_clear(struct virtq_chain *out)
{
	out->head = 0;
	out->nbufs = 0;
	out->readable_bytes = 0;
	out->writable_bytes = 0;
}

/*
 * Rules, each with its reason (-EINVAL, nothing consumed):
 *   q not (or no longer) validly configured           WHY_NOT_READY
 *   avail->idx - last_avail_idx > size                WHY_AVAIL_IDX
 *   size chains popped and not pushed, and one more   WHY_IN_FLIGHT
 *   head index from the avail ring >= size            WHY_HEAD
 *   direct next index >= size                         WHY_NEXT
 *   more direct descriptors than size (a loop)        WHY_LOOP
 *   more than VIRTQ_MAX_CHAIN buffers in all          WHY_MAX_CHAIN
 *   a descriptor of length 0                          WHY_ZERO_LEN
 *   addr + len wraps past 2^64                        WHY_BUF_WRAPS
 *   [addr, addr + len) not inside guest RAM           WHY_BUF_RAM
 *   a readable descriptor after a writable one        WHY_ORDER
 *   readable + writable bytes > 4 GiB - 1             WHY_TOTAL
 *   INDIRECT without the feature                      WHY_IND_FEATURE
 *   INDIRECT together with NEXT                       WHY_IND_NEXT
 *   indirect len 0                                    WHY_IND_LEN_ZERO
 *   indirect len not a multiple of 16                 WHY_IND_LEN_MUL
 *   indirect len > 16 * VIRTQ_MAX_CHAIN               WHY_IND_LEN_MAX
 *   indirect table not inside guest RAM (or wraps)    WHY_IND_RAM
 *   INDIRECT inside an indirect table                 WHY_IND_NESTED
 *   indirect next index >= len / 16                   WHY_IND_NEXT_RANGE
 *   more indirect descriptors than len / 16 (a loop)  WHY_IND_LOOP
 */
/* A checked head (from guest memory, or a predecessor's in-flight bitmap) walked into *out: 1 or -EINVAL. */
static int walk_from(const struct virtq *q, uint16_t head, struct virtq_chain *out, const char **why)
{
	int err;

	if (head >= q->size)
		return fail(why, WHY_HEAD);
	err = walk_chain(q, head, out, why);
	if (err) {
		chain_clear(out);
		return err;
	}
	out->head = head;
	return 1;
}

int virtq_pop(struct virtq *q, struct virtq_chain *out, const char **why)
{
	uint16_t avail_idx, pending, head, last;
	int err;

	chain_clear(out);
	if (!ready(q))
		return fail(why, WHY_NOT_READY);

	last = q->last_avail_idx;
	avail_idx = avail_idx_load(q); /* read once, acquire */
	pending = (uint16_t)(avail_idx - last);
	if (pending > q->size)
		return fail(why, WHY_AVAIL_IDX);
	if (pending == 0)
		return 0;
	/*
	 * Every chain holds at least one descriptor of the table, so a driver
	 * never has more than size chains outstanding; one more means it reused
	 * descriptors the device still owns. Checked here, as guest state, so
	 * that virtq_push of a popped chain cannot fail.
	 */
	if ((uint16_t)(last - q->used_idx) >= q->size)
		return fail(why, WHY_IN_FLIGHT);

	/* The slot index is masked; the entry is read once and then checked. */
	head = ring_load16(q, q->avail_gpa + VIRTQ_AVAIL_RING_OFF + 2ULL * (last & (q->size - 1u)), __ATOMIC_RELAXED);
	err = walk_from(q, head, out, why);
	if (err < 0)
		return err;
	q->last_avail_idx = (uint16_t)(last + 1);
	return 1;
}

int virtq_chain_at(const struct virtq *q, uint16_t head, struct virtq_chain *out, const char **why)
{
	chain_clear(out);
	if (!ready(q))
		return fail(why, WHY_NOT_READY);
	return walk_from(q, head, out, why);
}

/* ---- completion and notification ----------------------------------------- */

int virtq_push(struct virtq *q, uint16_t head, uint32_t written)
{
	struct virtq_used_elem elem = { .id = head, .len = written };
	uint16_t outstanding, slot;
	uint16_t *idx;

	if (!ready(q) || head >= q->size)
		return -EINVAL;
	outstanding = (uint16_t)(q->last_avail_idx - q->used_idx);
	if (outstanding == 0 || outstanding > q->size)
		return -EINVAL;

	idx = guest_mem_ptr(q->mem, q->used_gpa + VIRTQ_USED_IDX_OFF, sizeof(*idx));
	if (!idx)
		return -EINVAL;
	slot = (uint16_t)(q->used_idx & (q->size - 1u));
	if (guest_mem_write(q->mem, q->used_gpa + VIRTQ_USED_RING_OFF + 8ULL * slot, &elem, sizeof(elem)) != 0)
		return -EINVAL;
	q->used_idx = (uint16_t)(q->used_idx + 1);
	/* Release: the element is visible before the index that publishes it. */
	__atomic_store_n(idx, q->used_idx, __ATOMIC_RELEASE);
	return 0;
}

bool virtq_needs_notify(struct virtq *q, uint16_t old_used_idx)
{
	uint16_t used_event, flags;

	if (!ready(q) || old_used_idx == q->used_idx)
		return false;
	/*
	 * Store-load barrier: our used->idx store must be visible before we
	 * read the driver's used_event / flags, or the driver may have gone to
	 * sleep on a value we miss (the pairing barrier is in the driver).
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (q->event_idx) {
		used_event = ring_load16(q, q->avail_gpa + virtq_used_event_off(q->size), __ATOMIC_RELAXED);
		return virtq_need_event(used_event, q->used_idx, old_used_idx);
	}
	flags = ring_load16(q, q->avail_gpa + VIRTQ_AVAIL_FLAGS_OFF, __ATOMIC_RELAXED);
	return !(flags & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

void virtq_set_avail_event(struct virtq *q)
{
	uint16_t *p;

	if (!ready(q) || !q->event_idx)
		return;
	p = guest_mem_ptr(q->mem, q->used_gpa + virtq_avail_event_off(q->size), sizeof(*p));
	if (!p)
		return;
	__atomic_store_n(p, q->last_avail_idx, __ATOMIC_RELAXED);
	/* Full barrier: the store is visible before the caller re-reads avail->idx. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

uint16_t virtq_pending(const struct virtq *q)
{
	uint16_t pending;

	if (!ready(q))
		return 0;
	pending = (uint16_t)(avail_idx_load(q) - q->last_avail_idx);
	return pending > q->size ? 0 : pending;
}
