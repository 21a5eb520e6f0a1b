// SPDX-License-Identifier: MIT
/*
 * Unit tests for proto/reply.c, the fixed-layout reply record a device
 * worker writes and a vCPU worker reads (layout in proto/reply.h and
 * proto/SCHEMA.md, "Reply"). The libFuzzer target is tests/fuzz/fuzz_reply.c.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "proto/reply.h"

/* A copy of src that ends at a PROT_NONE page: a read past len faults. */
static const uint8_t *at_page_end(const uint8_t *src, size_t len)
{
	static uint8_t *area;
	static size_t page;

	if (!area) {
		page = (size_t)sysconf(_SC_PAGESIZE);
		area = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		cr_assert_neq(area, MAP_FAILED);
		cr_assert_eq(mprotect(area + page, page, PROT_NONE), 0);
	}
	cr_assert_leq(len, page);
	if (len)
		memcpy(area + page - len, src, len);
	return area + page - len;
}

static bool zeroed(const struct vm_reply *r)
{
	static const struct vm_reply zero;

	return memcmp(r, &zero, sizeof(zero)) == 0;
}

Test(reply, round_trip_every_status_and_width)
{
	for (int st = VM_REPLY_OK; st <= VM_REPLY_ERROR; st++)
		for (uint8_t n = 0; n <= VM_MMIO_DATA_MAX; n++) {
			struct vm_reply in, out;
			uint8_t buf[VM_REPLY_RECORD_SIZE + 4];
			size_t len = 99;

			memset(&in, 0, sizeof(in));
			in.status = (enum vm_reply_status)st;
			in.len = n;
			memset(in.data, 0xff, sizeof(in.data)); /* bytes past len are not sent */
			cr_assert_eq(vm_reply_pack(&in, buf, sizeof(buf), &len), 0);
			cr_assert_eq(len, VM_REPLY_RECORD_SIZE);
			memset(&out, 0xa5, sizeof(out));
			cr_assert_eq(vm_reply_unpack(at_page_end(buf, len), len, &out), 0);
			cr_assert_eq(out.status, in.status);
			cr_assert_eq(out.len, n);
			for (unsigned i = 0; i < VM_MMIO_DATA_MAX; i++)
				cr_assert_eq(out.data[i], i < n ? 0xff : 0, "status %d len %u byte %u", st, n, i);
		}
}

/* The bytes, pinned (proto/SCHEMA.md shows the same example). */
Test(reply, golden_bytes)
{
	static const uint8_t want[VM_REPLY_RECORD_SIZE] = { 0xc1, 0x01, 0x00, 0x02, 0, 0, 0, 0,
							    0x34, 0x12, 0, 0, 0, 0, 0, 0 };
	struct vm_reply r = { .status = VM_REPLY_OK, .len = 2, .data = { 0x34, 0x12 } };
	uint8_t buf[VM_REPLY_RECORD_SIZE];
	size_t len;

	cr_assert_eq(vm_reply_pack(&r, buf, sizeof(buf), &len), 0);
	cr_assert_arr_eq(buf, want, sizeof(want));
}

Test(reply, pack_refuses_what_it_cannot_carry)
{
	struct vm_reply r = { .status = VM_REPLY_OK, .len = 1 };
	uint8_t buf[VM_REPLY_RECORD_SIZE];
	size_t len = 7;

	cr_assert_eq(vm_reply_pack(&r, buf, sizeof(buf) - 1, &len), -EMSGSIZE);
	cr_assert_eq(len, 0);
	r.len = VM_MMIO_DATA_MAX + 1;
	cr_assert_eq(vm_reply_pack(&r, buf, sizeof(buf), &len), -EINVAL);
	r.len = 0;
	r.status = (enum vm_reply_status)2;
	cr_assert_eq(vm_reply_pack(&r, buf, sizeof(buf), &len), -EINVAL);
	r.status = (enum vm_reply_status)-1;
	cr_assert_eq(vm_reply_pack(&r, buf, sizeof(buf), &len), -EINVAL);
	/* Invalid beats too small. */
	cr_assert_eq(vm_reply_pack(&r, NULL, 0, &len), -EINVAL);
}

/* Every single-byte change of a valid record, and every length: accepted only where the layout allows. */
Test(reply, unpack_checks_every_byte)
{
	struct vm_reply in = { .status = VM_REPLY_OK, .len = 3, .data = { 1, 2, 3 } }, out;
	uint8_t good[VM_REPLY_RECORD_SIZE], bad[VM_REPLY_RECORD_SIZE + 1];
	size_t len;
	unsigned rejected = 0;

	cr_assert_eq(vm_reply_pack(&in, good, sizeof(good), &len), 0);
	for (size_t cut = 0; cut <= sizeof(bad); cut++) {
		if (cut == VM_REPLY_RECORD_SIZE)
			continue;
		memset(bad, 0, sizeof(bad));
		memcpy(bad, good, cut < sizeof(good) ? cut : sizeof(good));
		memset(&out, 0xa5, sizeof(out));
		cr_assert_eq(vm_reply_unpack(at_page_end(bad, cut), cut, &out), -EMSGSIZE, "length %zu", cut);
		cr_assert(zeroed(&out));
	}
	for (size_t at = 0; at < VM_REPLY_RECORD_SIZE; at++)
		for (unsigned v = 0; v < 256; v++) {
			int want, rc;

			if (v == good[at])
				continue;
			memcpy(bad, good, sizeof(good));
			bad[at] = (uint8_t)v;
			if (at == 0)
				want = -EBADMSG;
			else if (at == 1)
				want = -EPROTONOSUPPORT;
			else if (at == 2)
				want = v <= VM_REPLY_ERROR ? 0 : -EBADMSG;
			else if (at == 3)
				want = v >= 3 && v <= VM_MMIO_DATA_MAX ? 0 : -EBADMSG; /* a shorter len leaves data past it */
			else if (at >= 8 && at < 8 + 3)
				want = 0; /* data bytes are the device's to choose */
			else
				want = -EBADMSG;
			memset(&out, 0xa5, sizeof(out));
			rc = vm_reply_unpack(at_page_end(bad, sizeof(good)), sizeof(good), &out);
			cr_assert_eq(rc, want, "byte %zu = %#x: got %d, want %d", at, v, rc, want);
			if (rc < 0) {
				cr_assert(zeroed(&out));
				rejected++;
			}
		}
	cr_assert_gt(rejected, 3000);
}

/* msgpack is not a reply: the old reply encoding and an exit are refused. */
Test(reply, msgpack_is_refused)
{
	static const uint8_t old_reply[VM_REPLY_RECORD_SIZE] = { 0x93, 0x01, 0x00, 0xc4, 0x02, 0x34, 0x12 };
	struct vm_reply out;

	cr_assert_eq(vm_reply_unpack(old_reply, sizeof(old_reply), &out), -EBADMSG);
	cr_assert(zeroed(&out));
}
