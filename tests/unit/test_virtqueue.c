// SPDX-License-Identifier: MIT
/*
 * Unit tests of device-worker/virtio/virtqueue.c, the split-virtqueue walker.
 *
 * A fake guest RAM buffer (exactly RAM_SIZE bytes from the heap, so ASan
 * sees any access past it) holds a queue; a tiny test-side "driver" below
 * writes descriptors, publishes heads and reads the used ring. Every
 * malformation must return -EINVAL with its own reason and consume nothing.
 * The randomized tests fill the ring areas with random bytes (and, in one,
 * keep scribbling on them from a second thread while the device pops).
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common/guest_mem.h"
#include "device-worker/virtio/virtqueue.h"

#define RAM_SIZE 0x100000ULL /* 1 MiB */
#define DESC_GPA 0x1000ULL   /* up to 2048 descriptors: ends at 0x9000 */
#define AVAIL_GPA 0x10000ULL
#define USED_GPA 0x20000ULL
#define IND_GPA 0x30000ULL   /* indirect tables */
#define BUF_GPA 0x40000ULL   /* data buffers */

#define R 0 /* device-readable */
#define W VIRTQ_DESC_F_WRITE
#define N VIRTQ_DESC_F_NEXT
#define I VIRTQ_DESC_F_INDIRECT

static struct guest_mem gm;
static struct virtq q;
static struct virtq_chain chain; /* 16 KiB: not on the stack */
static uint16_t drv_avail_idx;   /* the test driver's avail index */

static void vq_setup(void)
{
	gm.host_base = aligned_alloc(4096, RAM_SIZE);
	cr_assert_not_null(gm.host_base);
	memset(gm.host_base, 0, RAM_SIZE);
	gm.size = RAM_SIZE;
}

static void vq_teardown(void)
{
	free(gm.host_base);
	gm.host_base = NULL;
}

TestSuite(virtqueue, .init = vq_setup, .fini = vq_teardown);

/* ---- the test driver ------------------------------------------------------ */

static void *ram(uint64_t gpa)
{
	return gm.host_base + gpa;
}

static void put16(uint64_t gpa, uint16_t v)
{
	memcpy(ram(gpa), &v, sizeof(v));
}

static uint16_t get16(uint64_t gpa)
{
	uint16_t v;

	memcpy(&v, ram(gpa), sizeof(v));
	return v;
}

static void set_desc_at(uint64_t table, uint32_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	struct virtq_desc d = { .addr = addr, .len = len, .flags = flags, .next = next };

	memcpy(ram(table + 16ULL * i), &d, sizeof(d));
}

static void set_desc(uint32_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	set_desc_at(DESC_GPA, i, addr, len, flags, next);
}

static void avail_set_idx(uint16_t idx)
{
	drv_avail_idx = idx;
	__atomic_store_n((uint16_t *)ram(AVAIL_GPA + VIRTQ_AVAIL_IDX_OFF), idx, __ATOMIC_RELEASE);
}

/* Puts head in the next avail slot and publishes it. */
static void publish(uint16_t head)
{
	put16(AVAIL_GPA + VIRTQ_AVAIL_RING_OFF + 2ULL * (drv_avail_idx & (q.size - 1u)), head);
	avail_set_idx((uint16_t)(drv_avail_idx + 1));
}

static uint16_t used_idx(void)
{
	return get16(USED_GPA + VIRTQ_USED_IDX_OFF);
}

static struct virtq_used_elem used_elem(uint16_t slot)
{
	struct virtq_used_elem e;

	memcpy(&e, ram(USED_GPA + VIRTQ_USED_RING_OFF + 8ULL * slot), sizeof(e));
	return e;
}

/* A fresh queue of size entries whose indices all start at start. */
static void queue_setup(uint16_t size, bool event_idx, bool indirect, uint16_t start)
{
	const char *why = NULL;

	memset(gm.host_base, 0, RAM_SIZE);
	cr_assert_eq(virtq_init(&q, &gm, size, DESC_GPA, AVAIL_GPA, USED_GPA, event_idx, indirect, &why), 0,
		     "virtq_init: %s", why ? why : "?");
	q.last_avail_idx = start;
	q.used_idx = start;
	put16(USED_GPA + VIRTQ_USED_IDX_OFF, start);
	avail_set_idx(start);
}

static void expect_pop_ok(uint16_t head, uint32_t nbufs)
{
	const char *why = NULL;
	uint16_t last = q.last_avail_idx;
	int r = virtq_pop(&q, &chain, &why);

	cr_assert_eq(r, 1, "pop returned %d (%s)", r, why ? why : "no reason");
	cr_assert_eq(chain.head, head);
	cr_assert_eq(chain.nbufs, nbufs);
	cr_assert_eq(q.last_avail_idx, (uint16_t)(last + 1));
}

static void expect_buf(uint32_t i, uint64_t gpa, uint32_t len, bool writable)
{
	cr_assert_lt(i, chain.nbufs);
	cr_assert_eq(chain.bufs[i].gpa, gpa, "buf %u gpa %#lx", i, (unsigned long)chain.bufs[i].gpa);
	cr_assert_eq(chain.bufs[i].len, len, "buf %u len %u", i, chain.bufs[i].len);
	cr_assert_eq(chain.bufs[i].device_writable, writable, "buf %u writable", i);
}

/* Pops twice: both times -EINVAL with reason, nothing consumed. */
static void expect_malformed(const char *reason)
{
	uint16_t last = q.last_avail_idx;

	for (int k = 0; k < 2; k++) {
		const char *why = NULL;
		int r = virtq_pop(&q, &chain, &why);

		cr_assert_eq(r, -EINVAL, "pop returned %d, expected -EINVAL (%s)", r, reason);
		cr_assert_not_null(why);
		cr_assert_str_eq(why, reason);
		cr_assert_eq(q.last_avail_idx, last, "a malformed chain is not consumed");
		cr_assert_eq(chain.nbufs, 0);
		cr_assert_eq(chain.readable_bytes + chain.writable_bytes, 0);
	}
}

static void expect_init_fails(uint16_t size, uint64_t desc, uint64_t avail, uint64_t used, const char *reason)
{
	const char *why = NULL;

	cr_assert_eq(virtq_init(&q, &gm, size, desc, avail, used, false, false, &why), -EINVAL,
		     "init accepted size %u desc %#lx avail %#lx used %#lx", size, (unsigned long)desc,
		     (unsigned long)avail, (unsigned long)used);
	cr_assert_not_null(why);
	cr_assert_str_eq(why, reason);
	cr_assert_eq(q.size, 0, "a failed init leaves the queue not ready");
}

/* ---- virtq_init --------------------------------------------------------- */

Test(virtqueue, init_ok)
{
	const char *why = NULL;

	for (uint32_t size = 1; size <= VIRTQ_MAX_SIZE; size *= 2) {
		cr_assert_eq(virtq_init(&q, &gm, (uint16_t)size, 0, 0x80000, 0xa0000, true, true, &why), 0,
			     "size %u: %s", size, why ? why : "?");
		cr_assert_eq(q.size, size);
		cr_assert_eq(q.last_avail_idx, 0);
		cr_assert_eq(q.used_idx, 0);
		cr_assert(q.event_idx && q.indirect);
	}
	/* Rings ending exactly at the end of RAM are inside it. */
	cr_assert_eq(virtq_init(&q, &gm, 8, RAM_SIZE - 128, RAM_SIZE - 22, RAM_SIZE - 72, false, false, &why), 0,
		     "%s", why ? why : "?");
	cr_assert_eq(virtq_init(&q, &gm, 8, DESC_GPA, AVAIL_GPA, USED_GPA, false, false, NULL), 0, "why may be NULL");
}

Test(virtqueue, init_size_zero)
{
	expect_init_fails(0, DESC_GPA, AVAIL_GPA, USED_GPA, "queue size is 0");
}

Test(virtqueue, init_size_not_power_of_two)
{
	static const uint16_t bad[] = { 3, 6, 7, 100, 255, 257, 1000, 32767, 24576 };

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		expect_init_fails(bad[i], DESC_GPA, AVAIL_GPA, USED_GPA, "queue size is not a power of 2");
}

Test(virtqueue, init_size_above_max)
{
	expect_init_fails(32769, DESC_GPA, AVAIL_GPA, USED_GPA, "queue size above 32768");
	expect_init_fails(65535, DESC_GPA, AVAIL_GPA, USED_GPA, "queue size above 32768");
}

Test(virtqueue, init_misaligned)
{
	for (uint64_t off = 1; off < 16; off++)
		expect_init_fails(8, DESC_GPA + off, AVAIL_GPA, USED_GPA, "descriptor table not 16-byte aligned");
	expect_init_fails(8, DESC_GPA, AVAIL_GPA + 1, USED_GPA, "avail ring not 2-byte aligned");
	expect_init_fails(8, DESC_GPA, AVAIL_GPA + 3, USED_GPA, "avail ring not 2-byte aligned");
	expect_init_fails(8, DESC_GPA, AVAIL_GPA, USED_GPA + 1, "used ring not 4-byte aligned");
	expect_init_fails(8, DESC_GPA, AVAIL_GPA, USED_GPA + 2, "used ring not 4-byte aligned");
	expect_init_fails(8, DESC_GPA, AVAIL_GPA, USED_GPA + 3, "used ring not 4-byte aligned");
}

Test(virtqueue, init_rings_past_ram)
{
	/* One entry (or alignment step) more than fits at the end of RAM. */
	expect_init_fails(8, RAM_SIZE - 112, AVAIL_GPA, USED_GPA, "descriptor table outside guest RAM");
	expect_init_fails(8, RAM_SIZE, AVAIL_GPA, USED_GPA, "descriptor table outside guest RAM");
	expect_init_fails(8, DESC_GPA, RAM_SIZE - 20, USED_GPA, "avail ring outside guest RAM");
	expect_init_fails(8, DESC_GPA, AVAIL_GPA, RAM_SIZE - 68, "used ring outside guest RAM");
	expect_init_fails(32768, RAM_SIZE - 0x40000, AVAIL_GPA, USED_GPA, "descriptor table outside guest RAM");
	expect_init_fails(8, 1ULL << 40, AVAIL_GPA, USED_GPA, "descriptor table outside guest RAM");
}

Test(virtqueue, init_rings_wrap)
{
	expect_init_fails(8, UINT64_MAX - 15, AVAIL_GPA, USED_GPA, "descriptor table outside guest RAM");
	expect_init_fails(8, DESC_GPA, UINT64_MAX - 1, USED_GPA, "avail ring outside guest RAM");
	expect_init_fails(8, DESC_GPA, AVAIL_GPA, UINT64_MAX - 3, "used ring outside guest RAM");
	expect_init_fails(1024, UINT64_MAX - 16383, AVAIL_GPA, USED_GPA, "descriptor table outside guest RAM");
}

Test(virtqueue, init_misaligned_host_mapping)
{
	struct guest_mem odd = { gm.host_base + 8, RAM_SIZE - 16 };
	const char *why = NULL;

	cr_assert_eq(virtq_init(&q, &odd, 8, DESC_GPA, AVAIL_GPA, USED_GPA, false, false, &why), -EINVAL);
	cr_assert_str_eq(why, "guest RAM mapping not 16-byte aligned");
}

Test(virtqueue, not_ready_queue_does_nothing)
{
	const char *why = NULL;

	expect_init_fails(3, DESC_GPA, AVAIL_GPA, USED_GPA, "queue size is not a power of 2");
	cr_assert_eq(virtq_pop(&q, &chain, &why), -EINVAL);
	cr_assert_str_eq(why, "queue not ready");
	cr_assert_eq(virtq_push(&q, 0, 0), -EINVAL);
	cr_assert_eq(virtq_pending(&q), 0);
	cr_assert_not(virtq_needs_notify(&q, 1));
	virtq_set_avail_event(&q);

	/* A ready queue whose layout is later corrupted stops working too. */
	queue_setup(8, false, false, 0);
	q.size = 12;
	cr_assert_eq(virtq_pop(&q, &chain, &why), -EINVAL);
	cr_assert_str_eq(why, "queue not ready");
	queue_setup(8, false, false, 0);
	q.desc_gpa = RAM_SIZE - 16;
	cr_assert_eq(virtq_pop(&q, &chain, &why), -EINVAL);
	cr_assert_str_eq(why, "queue not ready");
}

/* ---- popping well-formed chains ------------------------------------------- */

Test(virtqueue, empty_queue)
{
	const char *why = NULL;

	queue_setup(8, false, false, 0);
	cr_assert_eq(virtq_pending(&q), 0);
	cr_assert_eq(virtq_pop(&q, &chain, &why), 0);
	cr_assert_eq(q.last_avail_idx, 0);
	cr_assert_eq(chain.nbufs, 0);
}

Test(virtqueue, single_readable_buffer)
{
	queue_setup(8, false, false, 0);
	set_desc(5, BUF_GPA, 100, R, 0);
	publish(5);
	cr_assert_eq(virtq_pending(&q), 1);
	expect_pop_ok(5, 1);
	expect_buf(0, BUF_GPA, 100, false);
	cr_assert_eq(chain.readable_bytes, 100);
	cr_assert_eq(chain.writable_bytes, 0);
	cr_assert_eq(virtq_pending(&q), 0);
	cr_assert_eq(virtq_pop(&q, &chain, NULL), 0, "nothing more");
}

Test(virtqueue, read_write_chain)
{
	queue_setup(8, false, false, 0);
	/* Head 2 -> 7 -> 0 -> 4: two readable, two writable, out of index order. */
	set_desc(2, BUF_GPA, 16, R | N, 7);
	set_desc(7, BUF_GPA + 0x100, 32, R | N, 0);
	set_desc(0, BUF_GPA + 0x1000, 4096, W | N, 4);
	set_desc(4, RAM_SIZE - 1, 1, W, 6); /* next ignored without NEXT; last byte of RAM */
	publish(2);
	expect_pop_ok(2, 4);
	expect_buf(0, BUF_GPA, 16, false);
	expect_buf(1, BUF_GPA + 0x100, 32, false);
	expect_buf(2, BUF_GPA + 0x1000, 4096, true);
	expect_buf(3, RAM_SIZE - 1, 1, true);
	cr_assert_eq(chain.readable_bytes, 48);
	cr_assert_eq(chain.writable_bytes, 4097);
}

Test(virtqueue, write_only_chain)
{
	queue_setup(8, false, false, 0);
	set_desc(0, BUF_GPA, 512, W | N, 1);
	set_desc(1, BUF_GPA + 512, 512, W, 0);
	publish(0);
	expect_pop_ok(0, 2);
	cr_assert_eq(chain.readable_bytes, 0);
	cr_assert_eq(chain.writable_bytes, 1024);
}

Test(virtqueue, chain_of_whole_queue)
{
	/* A chain through every descriptor of the queue is the longest allowed. */
	queue_setup(8, false, false, 0);
	for (uint16_t i = 0; i < 8; i++)
		set_desc(i, BUF_GPA + 64ULL * i, 64, (i < 7 ? N : 0) | (i >= 4 ? W : R), (uint16_t)(i + 1));
	publish(0);
	expect_pop_ok(0, 8);
	cr_assert_eq(chain.readable_bytes, 256);
	cr_assert_eq(chain.writable_bytes, 256);
}

Test(virtqueue, avail_index_wraps)
{
	queue_setup(8, false, false, 65530);
	/* 12 chains, published and consumed across 65535 -> 0, pushed back too. */
	for (uint16_t round = 0; round < 12; round++) {
		uint16_t head = (uint16_t)(round % 8);
		uint16_t old_used = q.used_idx;

		set_desc(head, BUF_GPA + 0x100ULL * round, 10u + round, W, 0);
		publish(head);
		cr_assert_eq(virtq_pending(&q), 1);
		expect_pop_ok(head, 1);
		expect_buf(0, BUF_GPA + 0x100ULL * round, 10u + round, true);
		cr_assert_eq(virtq_push(&q, head, round), 0);
		cr_assert_eq(used_idx(), (uint16_t)(old_used + 1));
		struct virtq_used_elem e = used_elem((uint16_t)(old_used & 7));
		cr_assert_eq(e.id, head);
		cr_assert_eq(e.len, round);
	}
	cr_assert_eq(q.last_avail_idx, 6, "65530 + 12 wraps to 6");
	cr_assert_eq(q.used_idx, 6);
	cr_assert_eq(used_idx(), 6);
}

Test(virtqueue, full_queue)
{
	const char *why = NULL;

	queue_setup(8, false, false, 65532);
	for (uint16_t i = 0; i < 8; i++) {
		set_desc(i, BUF_GPA + 0x10ULL * i, 16, R, 0);
		publish((uint16_t)(7 - i));
	}
	cr_assert_eq(virtq_pending(&q), 8, "avail idx exactly size ahead is allowed");
	for (uint16_t i = 0; i < 8; i++) {
		expect_pop_ok((uint16_t)(7 - i), 1);
		expect_buf(0, BUF_GPA + 0x10ULL * (7 - i), 16, false);
	}
	cr_assert_eq(virtq_pending(&q), 0);
	cr_assert_eq(virtq_pop(&q, &chain, &why), 0);
	cr_assert_eq(q.last_avail_idx, 4);
}

Test(virtqueue, large_queue_long_chain)
{
	/* size 2048: a direct chain of exactly VIRTQ_MAX_CHAIN descriptors. */
	queue_setup(2048, false, false, 0);
	for (uint32_t i = 0; i < VIRTQ_MAX_CHAIN; i++)
		set_desc(2047 - i, BUF_GPA + i, 1, (i + 1 < VIRTQ_MAX_CHAIN) ? N : 0, (uint16_t)(2046 - i));
	publish(2047);
	expect_pop_ok(2047, VIRTQ_MAX_CHAIN);
	cr_assert_eq(chain.readable_bytes, VIRTQ_MAX_CHAIN);
}

/* ---- indirect descriptors ------------------------------------------------- */

Test(virtqueue, indirect_three_descriptors)
{
	queue_setup(8, false, true, 0);
	set_desc(3, IND_GPA, 48, I, 0);
	set_desc_at(IND_GPA, 0, BUF_GPA, 16, R | N, 2);
	set_desc_at(IND_GPA, 2, BUF_GPA + 0x100, 200, W | N, 1);
	set_desc_at(IND_GPA, 1, BUF_GPA + 0x1000, 1, W, 0);
	publish(3);
	expect_pop_ok(3, 3);
	expect_buf(0, BUF_GPA, 16, false);
	expect_buf(1, BUF_GPA + 0x100, 200, true);
	expect_buf(2, BUF_GPA + 0x1000, 1, true);
	cr_assert_eq(chain.readable_bytes, 16);
	cr_assert_eq(chain.writable_bytes, 201);
}

Test(virtqueue, indirect_write_flag_ignored_and_unaligned_table)
{
	/* virtio 1.2 2.7.5.3.2: the WRITE flag of the indirect descriptor is ignored. */
	queue_setup(8, false, true, 0);
	set_desc(0, IND_GPA + 4, 32, I | W, 0);
	set_desc_at(IND_GPA + 4, 0, BUF_GPA, 8, R | N, 1);
	set_desc_at(IND_GPA + 4, 1, BUF_GPA + 8, 8, W, 0);
	publish(0);
	expect_pop_ok(0, 2);
	expect_buf(0, BUF_GPA, 8, false);
	expect_buf(1, BUF_GPA + 8, 8, true);
}

Test(virtqueue, direct_then_indirect)
{
	/* Zero or more direct descriptors followed by one indirect one (2.7.5.3.2). */
	queue_setup(8, false, true, 0);
	set_desc(1, BUF_GPA, 12, R | N, 6);
	set_desc(6, IND_GPA, 32, I, 0);
	set_desc_at(IND_GPA, 0, BUF_GPA + 0x20, 20, R | N, 1);
	set_desc_at(IND_GPA, 1, BUF_GPA + 0x40, 30, W, 0);
	publish(1);
	expect_pop_ok(1, 3);
	expect_buf(0, BUF_GPA, 12, false);
	expect_buf(1, BUF_GPA + 0x20, 20, false);
	expect_buf(2, BUF_GPA + 0x40, 30, true);
}

Test(virtqueue, indirect_full_table)
{
	/* An indirect table of VIRTQ_MAX_CHAIN entries in a queue of 2. */
	queue_setup(2, false, true, 0);
	set_desc(1, IND_GPA, 16 * VIRTQ_MAX_CHAIN, I, 0);
	for (uint32_t i = 0; i < VIRTQ_MAX_CHAIN; i++)
		set_desc_at(IND_GPA, i, BUF_GPA + i, 1, (i + 1 < VIRTQ_MAX_CHAIN) ? N : 0, (uint16_t)(i + 1));
	publish(1);
	expect_pop_ok(1, VIRTQ_MAX_CHAIN);
}

/* ---- malformed chains ------------------------------------------------------ */

Test(virtqueue, bad_loop)
{
	queue_setup(8, false, false, 0);
	set_desc(0, BUF_GPA, 16, R | N, 1);
	set_desc(1, BUF_GPA, 16, R | N, 0);
	publish(0);
	expect_malformed("descriptor chain longer than the queue (loop)");
}

Test(virtqueue, bad_self_loop)
{
	queue_setup(1, false, false, 0);
	set_desc(0, BUF_GPA, 16, W | N, 0);
	publish(0);
	expect_malformed("descriptor chain longer than the queue (loop)");
}

Test(virtqueue, bad_chain_longer_than_queue)
{
	/* Every descriptor in one ring: the 9th step revisits the head. */
	queue_setup(8, false, false, 0);
	for (uint16_t i = 0; i < 8; i++)
		set_desc(i, BUF_GPA, 16, R | N, (uint16_t)((i + 1) % 8));
	publish(3);
	expect_malformed("descriptor chain longer than the queue (loop)");
}

Test(virtqueue, bad_chain_longer_than_max_chain)
{
	queue_setup(2048, false, false, 0);
	for (uint32_t i = 0; i <= VIRTQ_MAX_CHAIN; i++)
		set_desc(i, BUF_GPA + i, 1, (i < VIRTQ_MAX_CHAIN) ? N : 0, (uint16_t)(i + 1));
	publish(0);
	expect_malformed("descriptor chain longer than VIRTQ_MAX_CHAIN");

	/* Same with a loop in a queue larger than VIRTQ_MAX_CHAIN. */
	queue_setup(2048, false, false, 0);
	for (uint32_t i = 0; i < 2048; i++)
		set_desc(i, BUF_GPA, 1, N, (uint16_t)((i + 1) % 2048));
	publish(0);
	expect_malformed("descriptor chain longer than VIRTQ_MAX_CHAIN");

	/* And direct + indirect together. */
	queue_setup(8, false, true, 0);
	set_desc(0, BUF_GPA, 1, R | N, 1);
	set_desc(1, IND_GPA, 16 * VIRTQ_MAX_CHAIN, I, 0);
	for (uint32_t i = 0; i < VIRTQ_MAX_CHAIN; i++)
		set_desc_at(IND_GPA, i, BUF_GPA + i, 1, (i + 1 < VIRTQ_MAX_CHAIN) ? N : 0, (uint16_t)(i + 1));
	publish(0);
	expect_malformed("descriptor chain longer than VIRTQ_MAX_CHAIN");
}

Test(virtqueue, bad_next_index)
{
	queue_setup(8, false, false, 0);
	set_desc(0, BUF_GPA, 16, R | N, 8);
	publish(0);
	expect_malformed("next descriptor index >= queue size");
	set_desc(0, BUF_GPA, 16, R | N, 0xffff);
	expect_malformed("next descriptor index >= queue size");
}

Test(virtqueue, bad_head_index)
{
	queue_setup(8, false, false, 0);
	publish(8);
	expect_malformed("head descriptor index >= queue size");
	queue_setup(8, false, false, 0);
	publish(0xffff);
	expect_malformed("head descriptor index >= queue size");
}

Test(virtqueue, bad_address_past_ram)
{
	queue_setup(8, false, false, 0);
	set_desc(0, RAM_SIZE - 8, 16, R, 0);
	publish(0);
	expect_malformed("descriptor buffer outside guest RAM");
	set_desc(0, RAM_SIZE, 1, W, 0);
	expect_malformed("descriptor buffer outside guest RAM");
	set_desc(0, 1ULL << 63, 1, W, 0);
	expect_malformed("descriptor buffer outside guest RAM");
}

Test(virtqueue, bad_address_wraps)
{
	queue_setup(8, false, false, 0);
	set_desc(0, UINT64_MAX - 4, 16, R, 0);
	publish(0);
	expect_malformed("descriptor buffer address wraps");
	/* In the second descriptor of a chain, too. */
	set_desc(0, BUF_GPA, 16, R | N, 1);
	set_desc(1, UINT64_MAX, 1, W, 0);
	expect_malformed("descriptor buffer address wraps");
}

Test(virtqueue, bad_zero_length)
{
	queue_setup(8, false, false, 0);
	set_desc(0, BUF_GPA, 0, R, 0);
	publish(0);
	expect_malformed("zero-length descriptor");
	set_desc(0, BUF_GPA, 16, R | N, 1);
	set_desc(1, BUF_GPA, 0, W, 0);
	expect_malformed("zero-length descriptor");
}

Test(virtqueue, bad_huge_length)
{
	queue_setup(8, false, false, 0);
	set_desc(0, BUF_GPA, 0xffffffffu, W, 0);
	publish(0);
	expect_malformed("descriptor buffer outside guest RAM");
	set_desc(0, 0, 0xffffffffu, R, 0);
	expect_malformed("descriptor buffer outside guest RAM");
}

Test(virtqueue, bad_readable_after_writable)
{
	queue_setup(8, false, false, 0);
	set_desc(0, BUF_GPA, 16, R | N, 1);
	set_desc(1, BUF_GPA, 16, W | N, 2);
	set_desc(2, BUF_GPA, 16, R, 0);
	publish(0);
	expect_malformed("readable descriptor after a writable one");
}

Test(virtqueue, bad_readable_after_writable_across_indirect)
{
	queue_setup(8, false, true, 0);
	set_desc(0, BUF_GPA, 16, W | N, 1);
	set_desc(1, IND_GPA, 16, I, 0);
	set_desc_at(IND_GPA, 0, BUF_GPA, 16, R, 0);
	publish(0);
	expect_malformed("readable descriptor after a writable one");

	/* Inside the table. */
	set_desc(0, IND_GPA, 32, I, 0);
	set_desc_at(IND_GPA, 0, BUF_GPA, 16, W | N, 1);
	set_desc_at(IND_GPA, 1, BUF_GPA, 16, R, 0);
	expect_malformed("readable descriptor after a writable one");
}

/*
 * The 4 GiB total needs more than 4 GiB of "guest RAM": reserve 9 GiB with
 * PROT_NONE and make only the first MiB (the rings) accessible. The walker
 * never touches buffers, so it must not fault on the rest.
 */
Test(virtqueue, bad_total_over_4gib)
{
	const uint64_t big = 9ULL << 30;
	struct guest_mem huge;
	const char *why = NULL;
	void *base = mmap(NULL, big, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (base == MAP_FAILED)
		cr_skip_test("cannot reserve 9 GiB of address space");
	cr_assert_eq(mprotect(base, RAM_SIZE, PROT_READ | PROT_WRITE), 0);
	huge = (struct guest_mem){ base, big };
	free(gm.host_base);
	gm.host_base = NULL;

	cr_assert_eq(virtq_init(&q, &huge, 8, DESC_GPA, AVAIL_GPA, USED_GPA, false, false, &why), 0);
	struct virtq_desc *d = (struct virtq_desc *)((uint8_t *)base + DESC_GPA);
	uint16_t *avail = (uint16_t *)((uint8_t *)base + AVAIL_GPA);

	/* Exactly 4 GiB - 1 in two buffers: accepted. */
	d[0] = (struct virtq_desc){ .addr = 1ULL << 30, .len = 0x80000000u, .flags = R | N, .next = 1 };
	d[1] = (struct virtq_desc){ .addr = 5ULL << 30, .len = 0x7fffffffu, .flags = W, .next = 0 };
	avail[2] = 0; /* ring[0] = head 0 */
	__atomic_store_n(&avail[1], 1, __ATOMIC_RELEASE);
	cr_assert_eq(virtq_pop(&q, &chain, &why), 1, "%s", why ? why : "?");
	cr_assert_eq(chain.readable_bytes + chain.writable_bytes, 0xffffffffULL);

	/* One byte more: rejected, not consumed. */
	d[1].len = 0x80000000u;
	avail[3] = 0;
	__atomic_store_n(&avail[1], 2, __ATOMIC_RELEASE);
	for (int k = 0; k < 2; k++) {
		cr_assert_eq(virtq_pop(&q, &chain, &why), -EINVAL);
		cr_assert_str_eq(why, "chain carries 4 GiB or more");
		cr_assert_eq(q.last_avail_idx, 1);
	}

	/* Two 4 GiB - 4 KiB buffers. */
	d[0].len = 0xfffff000u;
	d[1].len = 0xfffff000u;
	cr_assert_eq(virtq_pop(&q, &chain, &why), -EINVAL);
	cr_assert_str_eq(why, "chain carries 4 GiB or more");
	cr_assert_eq(munmap(base, big), 0);
}

Test(virtqueue, bad_indirect_not_negotiated)
{
	queue_setup(8, false, false, 0);
	set_desc(0, IND_GPA, 16, I, 0);
	set_desc_at(IND_GPA, 0, BUF_GPA, 16, R, 0);
	publish(0);
	expect_malformed("indirect descriptor without VIRTIO_RING_F_INDIRECT_DESC");
}

Test(virtqueue, bad_indirect_with_next)
{
	queue_setup(8, false, true, 0);
	set_desc(0, IND_GPA, 16, I | N, 1);
	set_desc(1, BUF_GPA, 16, W, 0);
	set_desc_at(IND_GPA, 0, BUF_GPA, 16, R, 0);
	publish(0);
	expect_malformed("indirect descriptor with NEXT set");
}

Test(virtqueue, bad_indirect_len_not_multiple_of_16)
{
	queue_setup(8, false, true, 0);
	set_desc(0, IND_GPA, 40, I, 0);
	set_desc_at(IND_GPA, 0, BUF_GPA, 16, R, 0);
	publish(0);
	expect_malformed("indirect table length not a multiple of 16");
	set_desc(0, IND_GPA, 15, I, 0);
	expect_malformed("indirect table length not a multiple of 16");
}

Test(virtqueue, bad_indirect_len_zero)
{
	queue_setup(8, false, true, 0);
	set_desc(0, IND_GPA, 0, I, 0);
	publish(0);
	expect_malformed("indirect table length is 0");
}

Test(virtqueue, bad_indirect_len_too_long)
{
	queue_setup(8, false, true, 0);
	set_desc(0, IND_GPA, 16 * (VIRTQ_MAX_CHAIN + 1), I, 0);
	publish(0);
	expect_malformed("indirect table longer than VIRTQ_MAX_CHAIN descriptors");
	set_desc(0, IND_GPA, 0xfffffff0u, I, 0);
	expect_malformed("indirect table longer than VIRTQ_MAX_CHAIN descriptors");
}

Test(virtqueue, bad_indirect_table_outside_ram)
{
	queue_setup(8, false, true, 0);
	set_desc(0, RAM_SIZE - 32, 48, I, 0);
	publish(0);
	expect_malformed("indirect table outside guest RAM");
	set_desc(0, UINT64_MAX - 15, 32, I, 0);
	expect_malformed("indirect table outside guest RAM");
	set_desc(0, RAM_SIZE, 16, I, 0);
	expect_malformed("indirect table outside guest RAM");
}

Test(virtqueue, bad_nested_indirect)
{
	queue_setup(8, false, true, 0);
	set_desc(0, IND_GPA, 32, I, 0);
	set_desc_at(IND_GPA, 0, BUF_GPA, 16, R | N, 1);
	set_desc_at(IND_GPA, 1, IND_GPA + 0x100, 16, I, 0);
	set_desc_at(IND_GPA + 0x100, 0, BUF_GPA, 16, R, 0);
	publish(0);
	expect_malformed("indirect descriptor inside an indirect table");
}

Test(virtqueue, bad_indirect_loop)
{
	queue_setup(8, false, true, 0);
	set_desc(0, IND_GPA, 48, I, 0);
	set_desc_at(IND_GPA, 0, BUF_GPA, 16, R | N, 1);
	set_desc_at(IND_GPA, 1, BUF_GPA, 16, R | N, 0);
	publish(0);
	expect_malformed("indirect chain longer than its table (loop)");
	set_desc(0, IND_GPA, 16, I, 0);
	set_desc_at(IND_GPA, 0, BUF_GPA, 16, R | N, 0);
	expect_malformed("indirect chain longer than its table (loop)");
}

Test(virtqueue, bad_indirect_next_outside_table)
{
	queue_setup(8, false, true, 0);
	set_desc(0, IND_GPA, 32, I, 0);
	set_desc_at(IND_GPA, 0, BUF_GPA, 16, R | N, 1);
	set_desc_at(IND_GPA, 1, BUF_GPA, 16, R | N, 2); /* entry 2 exists in RAM, not in the table */
	set_desc_at(IND_GPA, 2, BUF_GPA, 16, R, 0);
	publish(0);
	expect_malformed("next index outside the indirect table");
}

Test(virtqueue, bad_indirect_buffer)
{
	/* The per-buffer rules apply inside the table too. */
	queue_setup(8, false, true, 0);
	set_desc(0, IND_GPA, 16, I, 0);
	publish(0);
	set_desc_at(IND_GPA, 0, BUF_GPA, 0, R, 0);
	expect_malformed("zero-length descriptor");
	set_desc_at(IND_GPA, 0, RAM_SIZE - 1, 2, R, 0);
	expect_malformed("descriptor buffer outside guest RAM");
	set_desc_at(IND_GPA, 0, UINT64_MAX - 4, 16, R, 0);
	expect_malformed("descriptor buffer address wraps");
}

Test(virtqueue, bad_avail_index_too_far)
{
	queue_setup(8, false, false, 0);
	set_desc(0, BUF_GPA, 16, R, 0);
	avail_set_idx(9);
	expect_malformed("avail index moved more than the queue size");
	cr_assert_eq(virtq_pending(&q), 0);
	/* Across the wrap, and backwards. */
	queue_setup(8, false, false, 65533);
	avail_set_idx(6); /* 65533 + 9 */
	expect_malformed("avail index moved more than the queue size");
	avail_set_idx(65532);
	expect_malformed("avail index moved more than the queue size");
	avail_set_idx(5); /* 65533 + 8: fine */
	cr_assert_eq(virtq_pending(&q), 8);
}

Test(virtqueue, bad_too_many_in_flight)
{
	/* size 8: eight chains popped and not pushed; a ninth cannot exist. */
	queue_setup(8, false, false, 65530);
	for (uint16_t i = 0; i < 8; i++) {
		set_desc(i, BUF_GPA, 16, R, 0);
		publish(i);
		expect_pop_ok(i, 1);
	}
	publish(0); /* descriptor 0 is still the device's */
	expect_malformed("more chains in flight than the queue size");
	/* Once one completes, the driver may reuse its descriptor. */
	cr_assert_eq(virtq_push(&q, 0, 0), 0);
	expect_pop_ok(0, 1);
}

Test(virtqueue, error_after_good_chain)
{
	queue_setup(8, false, false, 0);
	set_desc(0, BUF_GPA, 16, R, 0);
	set_desc(1, BUF_GPA, 0, R, 0);
	publish(0);
	publish(1);
	publish(0);
	expect_pop_ok(0, 1);
	expect_malformed("zero-length descriptor");
	cr_assert_eq(q.last_avail_idx, 1);
	/* The driver repairs it (a test can; a device would reset). */
	set_desc(1, BUF_GPA, 4, W, 0);
	expect_pop_ok(1, 1);
	expect_pop_ok(0, 1);
}

/* ---- used ring and notification --------------------------------------------- */

Test(virtqueue, push_writes_used_ring)
{
	queue_setup(8, false, false, 0);
	set_desc(3, BUF_GPA, 16, R | N, 6);
	set_desc(6, BUF_GPA + 16, 64, W, 0);
	set_desc(1, BUF_GPA + 128, 8, W, 0);
	publish(3);
	publish(1);
	expect_pop_ok(3, 2);
	expect_pop_ok(1, 1);

	/* Completed out of order. */
	cr_assert_eq(virtq_push(&q, 1, 8), 0);
	cr_assert_eq(used_idx(), 1);
	cr_assert_eq(used_elem(0).id, 1);
	cr_assert_eq(used_elem(0).len, 8);
	cr_assert_eq(virtq_push(&q, 3, 64), 0);
	cr_assert_eq(used_idx(), 2);
	cr_assert_eq(used_elem(1).id, 3);
	cr_assert_eq(used_elem(1).len, 64);
	cr_assert_eq(q.used_idx, 2);

	/* Nothing outstanding: a further push would invent a completion. */
	cr_assert_eq(virtq_push(&q, 3, 1), -EINVAL);
	cr_assert_eq(used_idx(), 2);
	cr_assert_eq(used_elem(2).id, 0, "nothing written");
}

Test(virtqueue, push_bad_head)
{
	queue_setup(8, false, false, 0);
	set_desc(0, BUF_GPA, 16, R, 0);
	publish(0);
	expect_pop_ok(0, 1);
	cr_assert_eq(virtq_push(&q, 8, 0), -EINVAL);
	cr_assert_eq(virtq_push(&q, 0xffff, 0), -EINVAL);
	cr_assert_eq(used_idx(), 0);
	cr_assert_eq(q.used_idx, 0);
	cr_assert_eq(virtq_push(&q, 0, 0), 0);
}

Test(virtqueue, push_never_reads_guest_used_idx)
{
	/* The guest scribbling on used->idx does not move the device's index. */
	queue_setup(8, false, false, 100);
	set_desc(0, BUF_GPA, 16, R, 0);
	publish(0);
	expect_pop_ok(0, 1);
	put16(USED_GPA + VIRTQ_USED_IDX_OFF, 5000);
	cr_assert_eq(virtq_push(&q, 0, 0), 0);
	cr_assert_eq(used_idx(), 101);
	cr_assert_eq(used_elem(100 & 7).id, 0);
}

Test(virtqueue, notify_no_interrupt_flag)
{
	queue_setup(8, false, false, 0);
	for (uint16_t i = 0; i < 3; i++) {
		set_desc(i, BUF_GPA, 16, R, 0);
		publish(i);
		expect_pop_ok(i, 1);
	}
	cr_assert_not(virtq_needs_notify(&q, q.used_idx), "nothing pushed");
	uint16_t old = q.used_idx;
	cr_assert_eq(virtq_push(&q, 0, 0), 0);
	cr_assert(virtq_needs_notify(&q, old), "flags 0: interrupt");
	put16(AVAIL_GPA + VIRTQ_AVAIL_FLAGS_OFF, VIRTQ_AVAIL_F_NO_INTERRUPT);
	cr_assert_not(virtq_needs_notify(&q, old), "NO_INTERRUPT");
	put16(AVAIL_GPA + VIRTQ_AVAIL_FLAGS_OFF, 0xfffe);
	cr_assert(virtq_needs_notify(&q, old), "other bits do not matter");
	/* used_event is ignored without EVENT_IDX. */
	put16(AVAIL_GPA + virtq_used_event_off(8), 1000);
	put16(AVAIL_GPA + VIRTQ_AVAIL_FLAGS_OFF, 0);
	cr_assert(virtq_needs_notify(&q, old));
}

Test(virtqueue, need_event_math)
{
	/* Published entries old..new-1 = 10, 11, 12: an event at one of them fires. */
	cr_assert(virtq_need_event(10, 13, 10));
	cr_assert(virtq_need_event(11, 13, 10));
	cr_assert(virtq_need_event(12, 13, 10));
	cr_assert_not(virtq_need_event(13, 13, 10), "not written yet");
	cr_assert_not(virtq_need_event(14, 13, 10));
	cr_assert_not(virtq_need_event(9, 13, 10), "already passed");
	/* Across the wrap: entries 65534, 65535, 0. */
	cr_assert(virtq_need_event(65534, 1, 65534));
	cr_assert(virtq_need_event(65535, 1, 65534));
	cr_assert(virtq_need_event(0, 1, 65534));
	cr_assert_not(virtq_need_event(1, 1, 65534));
	cr_assert_not(virtq_need_event(65533, 1, 65534));
	/* Nothing published: never. */
	cr_assert_not(virtq_need_event(5, 5, 5));
	/* The widest window, 65535 entries: everything but new itself. */
	cr_assert(virtq_need_event(6, 5, 6));
	cr_assert(virtq_need_event(4, 5, 6));
	cr_assert_not(virtq_need_event(5, 5, 6));
}

static void set_used_event(uint16_t v)
{
	put16(AVAIL_GPA + virtq_used_event_off(q.size), v);
}

Test(virtqueue, notify_event_idx)
{
	uint16_t old;

	queue_setup(8, true, false, 65533);
	for (uint16_t i = 0; i < 6; i++) {
		set_desc(i, BUF_GPA, 16, R, 0);
		publish(i);
		expect_pop_ok(i, 1);
	}
	put16(AVAIL_GPA + VIRTQ_AVAIL_FLAGS_OFF, VIRTQ_AVAIL_F_NO_INTERRUPT); /* ignored with EVENT_IDX */
	cr_assert_not(virtq_needs_notify(&q, q.used_idx), "nothing pushed");

	/* Three pushes write used entries 65533, 65534, 65535; used->idx becomes 0. */
	old = q.used_idx;
	for (uint16_t i = 0; i < 3; i++)
		cr_assert_eq(virtq_push(&q, i, 0), 0);
	cr_assert_eq(q.used_idx, 0);
	cr_assert_eq(used_idx(), 0);
	set_used_event(65533);
	cr_assert(virtq_needs_notify(&q, old));
	set_used_event(65534);
	cr_assert(virtq_needs_notify(&q, old));
	set_used_event(65535);
	cr_assert(virtq_needs_notify(&q, old));
	set_used_event(0);
	cr_assert_not(virtq_needs_notify(&q, old), "driver wants the next entry");
	set_used_event(65532);
	cr_assert_not(virtq_needs_notify(&q, old), "already passed: driver not waiting");

	/* The next push writes entry 0. */
	old = q.used_idx;
	cr_assert_eq(virtq_push(&q, 3, 0), 0);
	cr_assert_not(virtq_needs_notify(&q, old), "used_event still 65532");
	set_used_event(0);
	cr_assert(virtq_needs_notify(&q, old));
	set_used_event(1);
	cr_assert_not(virtq_needs_notify(&q, old));
}

Test(virtqueue, set_avail_event)
{
	const uint64_t avail_event = USED_GPA + virtq_avail_event_off(8);

	queue_setup(8, true, false, 65534);
	put16(avail_event, 0x5555);
	virtq_set_avail_event(&q);
	cr_assert_eq(get16(avail_event), 65534);
	for (uint16_t i = 0; i < 3; i++) {
		set_desc(i, BUF_GPA, 16, R, 0);
		publish(i);
		expect_pop_ok(i, 1);
	}
	virtq_set_avail_event(&q);
	cr_assert_eq(get16(avail_event), 1, "65534 + 3 wraps to 1");
	/* The race the header describes: a buffer published after the last pop is
	 * found by the re-check, whatever the driver saw. */
	set_desc(3, BUF_GPA, 16, R, 0);
	publish(3);
	virtq_set_avail_event(&q);
	cr_assert_eq(virtq_pending(&q), 1);
	cr_assert_eq(get16(USED_GPA + virtq_used_event_off(8)), 0, "the device never writes used_event");

	/* Without EVENT_IDX nothing is written. */
	queue_setup(8, false, false, 7);
	put16(avail_event, 0x5555);
	virtq_set_avail_event(&q);
	cr_assert_eq(get16(avail_event), 0x5555);
}

Test(virtqueue, pending_counts)
{
	queue_setup(16, false, false, 65530);
	cr_assert_eq(virtq_pending(&q), 0);
	avail_set_idx(65535);
	cr_assert_eq(virtq_pending(&q), 5);
	avail_set_idx(10);
	cr_assert_eq(virtq_pending(&q), 16);
	avail_set_idx(11);
	cr_assert_eq(virtq_pending(&q), 0, "17 ahead: malformed, reported by pop");
	avail_set_idx(65529);
	cr_assert_eq(virtq_pending(&q), 0, "behind: malformed");
}

/* ---- randomized ------------------------------------------------------------ */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64*: reproducible, seeded per test. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static void fill_random(uint64_t gpa, uint64_t len)
{
	for (uint64_t i = 0; i < len; i++)
		((uint8_t *)ram(gpa))[i] = (uint8_t)rnd();
}

/* A descriptor that is often almost valid: the interesting edge cases. */
static void random_desc(uint64_t table, uint32_t i, uint32_t n)
{
	static const uint64_t addrs[] = { BUF_GPA, RAM_SIZE - 0x100, RAM_SIZE - 1, RAM_SIZE, IND_GPA, 0,
					  UINT64_MAX - 8 };
	uint64_t r = rnd();
	uint64_t addr = addrs[r % ARRAY_SIZE(addrs)] + ((r >> 8) & 0xff);
	uint32_t len = (uint32_t)((r >> 16) & 0x3f);
	uint16_t flags = (uint16_t)((r >> 24) & (N | W));
	uint16_t next = (uint16_t)((r >> 32) % (n + 2));

	if (((r >> 40) & 0xf) == 0) {
		flags |= I;
		addr = IND_GPA + ((r >> 44) & 0x30);
		len = (uint32_t)(16 * ((r >> 48) % 20)) + (((r >> 56) & 7) == 0 ? 8 : 0);
	}
	if (((r >> 60) & 7) == 0)
		len = (uint32_t)rnd();
	set_desc_at(table, i, addr, len, flags, next);
}

/* Checks a successful pop's chain against the guarantees of virtqueue.h. */
static void check_chain(unsigned iter)
{
	uint64_t rd = 0, wr = 0;
	bool seen_writable = false;

	cr_assert_lt(chain.head, q.size, "iter %u", iter);
	cr_assert(chain.nbufs >= 1 && chain.nbufs <= VIRTQ_MAX_CHAIN, "iter %u nbufs %u", iter, chain.nbufs);
	for (uint32_t b = 0; b < chain.nbufs; b++) {
		const struct virtq_buf *vb = &chain.bufs[b];

		cr_assert_gt(vb->len, 0, "iter %u", iter);
		cr_assert(guest_mem_range_ok(&gm, vb->gpa, vb->len), "iter %u buf %u %#lx+%u outside RAM", iter, b,
			  (unsigned long)vb->gpa, vb->len);
		cr_assert(vb->device_writable || !seen_writable, "iter %u readable after writable", iter);
		seen_writable |= vb->device_writable;
		if (vb->device_writable)
			wr += vb->len;
		else
			rd += vb->len;
	}
	cr_assert_eq(rd, chain.readable_bytes, "iter %u", iter);
	cr_assert_eq(wr, chain.writable_bytes, "iter %u", iter);
	cr_assert_leq(rd + wr, VIRTQ_MAX_CHAIN_BYTES, "iter %u", iter);
}

/*
 * Pops until empty or an error; every outcome consumes exactly one chain
 * (1) or nothing (0, -EINVAL). Returns the number of chains popped.
 */
static unsigned pop_all(unsigned iter)
{
	unsigned popped = 0;

	for (unsigned k = 0; k < (unsigned)q.size + 2; k++) {
		const char *why = NULL;
		uint16_t last = q.last_avail_idx;
		int r = virtq_pop(&q, &chain, &why);

		if (r == 1) {
			cr_assert_eq(q.last_avail_idx, (uint16_t)(last + 1), "iter %u", iter);
			check_chain(iter);
			if (rnd() & 1) {
				uint16_t old = q.used_idx;

				cr_assert_eq(virtq_push(&q, chain.head, (uint32_t)chain.writable_bytes), 0, "iter %u",
					     iter);
				cr_assert_eq(used_idx(), (uint16_t)(old + 1), "iter %u", iter);
				(void)virtq_needs_notify(&q, old);
			}
			popped++;
			continue;
		}
		cr_assert_eq(q.last_avail_idx, last, "iter %u: consumed on %d", iter, r);
		cr_assert_eq(chain.nbufs, 0, "iter %u", iter);
		if (r == 0) {
			cr_assert_eq(virtq_pending(&q), 0, "iter %u", iter);
			break;
		}
		cr_assert_eq(r, -EINVAL, "iter %u: pop returned %d", iter, r);
		cr_assert(why && why[0], "iter %u: no reason", iter);
		break;
	}
	virtq_set_avail_event(&q);
	return popped;
}

Test(virtqueue, random_rings, .timeout = 300)
{
	static const uint16_t sizes[] = { 1, 2, 4, 8, 16, 32, 64 };
	unsigned ok_chains = 0, structured = 0;

	rng_state = 0x9e3779b97f4a7c15ULL;
	for (unsigned iter = 0; iter < 100000; iter++) {
		uint16_t size = sizes[rnd() % ARRAY_SIZE(sizes)];
		uint64_t r = rnd();
		uint16_t start = (uint16_t)(r & 3 ? r >> 16 : 65535 - (r >> 16) % 8);
		const char *why = NULL;

		cr_assert_eq(virtq_init(&q, &gm, size, DESC_GPA, AVAIL_GPA, USED_GPA, (r >> 32) & 1, (r >> 33) & 1,
					&why), 0);
		q.last_avail_idx = start;
		q.used_idx = (uint16_t)(start - (uint16_t)((r >> 40) % (size + 1u)));
		if ((r >> 34) & 1) {
			/* Pure noise in every ring area and the indirect tables. */
			fill_random(DESC_GPA, virtq_desc_bytes(size));
			fill_random(AVAIL_GPA, virtq_avail_bytes(size));
			fill_random(USED_GPA, virtq_used_bytes(size));
			fill_random(IND_GPA, 0x200);
			if ((r >> 35) & 1)
				avail_set_idx((uint16_t)(start + (r >> 48) % (size + 2u)));
		} else {
			/* Near-valid descriptors and heads: more chains get through. */
			structured++;
			for (uint32_t i = 0; i < size; i++)
				random_desc(DESC_GPA, i, size);
			for (uint32_t i = 0; i < 32; i++)
				random_desc(IND_GPA, i, 20);
			for (uint32_t i = 0; i < size; i++) {
				uint64_t h = rnd();

				/* Mostly < size; sometimes == size (bad head). */
				put16(AVAIL_GPA + VIRTQ_AVAIL_RING_OFF + 2ULL * i, (uint16_t)(h % (size + (h >> 63))));
			}
			avail_set_idx((uint16_t)(start + (r >> 48) % (size + 2u)));
		}
		ok_chains += pop_all(iter);
	}
	cr_log_info("random_rings: %u chains accepted, %u structured iterations", ok_chains, structured);
	cr_assert_gt(ok_chains, 1000, "the generator should produce valid chains too");
}

/*
 * The guest changes the rings while the device walks them: a second thread
 * scribbles near-valid and random values over the descriptor table, the
 * avail ring and the indirect tables. The walker's guarantees must hold for
 * whatever snapshot of each field it read.
 */
static volatile bool scribbling;

static void *scribbler(void *arg)
{
	uint64_t s = (uint64_t)(uintptr_t)arg;

	while (__atomic_load_n(&scribbling, __ATOMIC_RELAXED)) {
		s ^= s >> 12;
		s ^= s << 25;
		s ^= s >> 27;
		uint64_t v = s * 0x2545F4914F6CDD1DULL;
		uint64_t *w;

		switch (v & 7) {
		case 0: /* any descriptor word */
			w = (uint64_t *)ram(DESC_GPA + 8ULL * ((v >> 8) % (2 * 16)));
			break;
		case 1: /* the avail ring, index included */
			w = (uint64_t *)ram(AVAIL_GPA + 8ULL * ((v >> 8) % 5));
			break;
		case 2: /* the indirect table */
			w = (uint64_t *)ram(IND_GPA + 8ULL * ((v >> 8) % 64));
			break;
		case 3: /* a plausible address, some near the end of RAM */
			w = (uint64_t *)ram(DESC_GPA + 16ULL * ((v >> 8) % 16));
			v = (v >> 63) ? RAM_SIZE - ((v >> 16) & 0x7f) : BUF_GPA + ((v >> 16) & 0xfff0);
			break;
		default: /* plausible len/flags/next: 1..63 bytes, NEXT|WRITE, next < 16 */
			w = (uint64_t *)ram(DESC_GPA + 16ULL * ((v >> 8) % 16) + 8);
			v = (v & 0x000f00030000003fULL) | 1;
			break;
		}
		__atomic_store_n(w, v, __ATOMIC_RELAXED);
	}
	return NULL;
}

Test(virtqueue, concurrent_scribbler, .timeout = 300)
{
	pthread_t t;
	unsigned ok_chains = 0;

	rng_state = 0x1234567887654321ULL;
	cr_assert_eq(virtq_init(&q, &gm, 16, DESC_GPA, AVAIL_GPA, USED_GPA, true, true, NULL), 0);
	for (uint32_t i = 0; i < 16; i++)
		set_desc(i, BUF_GPA + 0x100ULL * i, 0x40, (i & 1) ? W : R, 0);
	scribbling = true;
	cr_assert_eq(pthread_create(&t, NULL, scribbler, (void *)(uintptr_t)0xdeadbeefcafeULL), 0);
	for (unsigned iter = 0; iter < 200000; iter++) {
		if ((iter & 63) == 0) {
			/* Resync the device with whatever index the guest now shows. */
			q.last_avail_idx = get16(AVAIL_GPA + VIRTQ_AVAIL_IDX_OFF);
			q.used_idx = q.last_avail_idx;
			avail_set_idx((uint16_t)(q.last_avail_idx + rnd() % 17));
		}
		ok_chains += pop_all(iter);
	}
	__atomic_store_n(&scribbling, false, __ATOMIC_RELAXED);
	cr_assert_eq(pthread_join(t, NULL), 0);
	cr_log_info("concurrent_scribbler: %u chains accepted", ok_chains);
}
