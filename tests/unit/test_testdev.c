/* SPDX-License-Identifier: MIT */
/* testdev (common/testdev.c) and the testdev device model. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <time.h>

#include "common/platform.h"
#include "common/testdev.h"
#include "device-worker/models/testdev_model.h"

static struct testdev td;

static void td_setup(void)
{
	memset(&td, 0xaa, sizeof(td)); /* testdev_init must clear everything */
	testdev_init(&td);
}

static uint64_t mmio_read(uint64_t offset, uint8_t len)
{
	uint8_t data[8];
	uint64_t v = 0;

	memset(data, 0x5c, sizeof(data));
	cr_assert_eq(testdev_mmio(&td, offset, false, len, data), 0);
	for (unsigned i = len; i < 8; i++)
		cr_assert_eq(data[i], 0, "bytes past the width are zero");
	for (unsigned i = 0; i < len; i++)
		v |= (uint64_t)data[i] << (8 * i);
	return v;
}

static void mmio_write(uint64_t offset, uint8_t len, uint64_t v)
{
	uint8_t data[8];

	for (unsigned i = 0; i < 8; i++)
		data[i] = (uint8_t)(v >> (8 * i));
	cr_assert_eq(testdev_mmio(&td, offset, true, len, data), 0);
}

static uint64_t ones(uint8_t len)
{
	return len == 8 ? ~0ull : (1ull << (8 * len)) - 1;
}

Test(testdev, reset_state_is_zero, .init = td_setup)
{
	cr_assert_eq(mmio_read(0, 8), 0);
	cr_assert_eq(mmio_read(0xff8, 8), 0);
	cr_assert_eq(td.read_counter, 0);
}

Test(testdev, every_width_round_trips, .init = td_setup)
{
	static const uint8_t widths[] = { 1, 2, 4, 8 };

	for (unsigned w = 0; w < 4; w++) {
		uint8_t len = widths[w];
		uint64_t off = 0x100 + 0x10 * w;
		uint64_t v = 0x8877665544332211ull & ones(len);

		mmio_write(off, len, 0x8877665544332211ull);
		cr_assert_eq(mmio_read(off, len), v, "width %u", len);
		cr_assert_eq(mmio_read(off + len, 1), 0, "width %u wrote only %u bytes", len, len);
	}
}

Test(testdev, little_endian_bytes, .init = td_setup)
{
	mmio_write(0x20, 8, 0x0807060504030201ull);
	for (unsigned i = 0; i < 8; i++)
		cr_assert_eq(mmio_read(0x20 + i, 1), i + 1);
	cr_assert_eq(mmio_read(0x22, 4), 0x06050403);
	cr_assert_eq(mmio_read(0x26, 2), 0x0807);
}

Test(testdev, unaligned_access_spans_slots, .init = td_setup)
{
	mmio_write(0x7, 8, 0x1122334455667788ull);
	cr_assert_eq(mmio_read(0x7, 8), 0x1122334455667788ull);
	cr_assert_eq(mmio_read(0x0, 8), 0x8800000000000000ull);
	cr_assert_eq(mmio_read(0x8, 8), 0x0011223344556677ull);
	mmio_write(0x3, 4, 0xdeadbeef);
	cr_assert_eq(mmio_read(0x1, 8), 0x7788deadbeef0000ull);
	cr_assert_eq(mmio_read(0xfff, 1), 0);
	mmio_write(0xffe, 2, 0xabcd);
	cr_assert_eq(mmio_read(0xffe, 2), 0xabcd, "the last bytes of the window are usable");
	mmio_write(0xff8, 8, 0x0102030405060708ull);
	cr_assert_eq(mmio_read(0xff8, 8), 0x0102030405060708ull);
}

Test(testdev, access_crossing_the_window, .init = td_setup)
{
	static const uint8_t widths[] = { 2, 4, 8 };

	mmio_write(0xff8, 8, 0x1111111111111111ull);
	for (unsigned w = 0; w < 3; w++) {
		uint8_t len = widths[w];
		uint64_t off = TESTDEV_MMIO_SIZE - len + 1;

		cr_assert_eq(mmio_read(off, len), ones(len), "width %u at %#llx", len, (unsigned long long)off);
		mmio_write(off, len, 0);
	}
	cr_assert_eq(mmio_read(0xff8, 8), 0x1111111111111111ull, "crossing writes are ignored");
	cr_assert_eq(mmio_read(TESTDEV_MMIO_SIZE, 1), 0xff);
	cr_assert_eq(mmio_read(~0ull, 1), 0xff);
	cr_assert_eq(mmio_read(~0ull - 2, 8), ~0ull, "offset + len wraps");
	mmio_write(~0ull - 2, 8, 0);
	cr_assert_eq(td.read_counter, 0);
}

Test(testdev, bad_width_is_einval, .init = td_setup)
{
	static const uint8_t bad[] = { 0, 3, 5, 6, 7, 9, 16, 255 };
	uint8_t data[8];

	for (unsigned i = 0; i < sizeof(bad); i++) {
		memset(data, 0, sizeof(data));
		cr_assert_eq(testdev_mmio(&td, 0, false, bad[i], data), -EINVAL, "width %u", bad[i]);
		for (unsigned j = 0; j < 8; j++)
			cr_assert_eq(data[j], 0xff);
		memset(data, 0x42, sizeof(data));
		cr_assert_eq(testdev_mmio(&td, 0, true, bad[i], data), -EINVAL);
	}
	cr_assert_eq(mmio_read(0, 8), 0, "bad-width writes change nothing");
	cr_assert_eq(testdev_mmio(&td, TESTDEV_COUNTER_OFFSET, false, 3, data), -EINVAL);
	cr_assert_eq(td.read_counter, 0, "a refused read is not counted");
}

Test(testdev, counter_counts_reads_of_itself, .init = td_setup)
{
	cr_assert_eq(mmio_read(TESTDEV_COUNTER_OFFSET, 8), 1);
	cr_assert_eq(mmio_read(TESTDEV_COUNTER_OFFSET, 8), 2);
	mmio_read(0x10, 8);
	mmio_read(TESTDEV_COUNTER_OFFSET + 8, 8);
	mmio_read(TESTDEV_COUNTER_OFFSET - 8, 8);
	cr_assert_eq(mmio_read(TESTDEV_COUNTER_OFFSET, 8), 3, "other reads are not counted");
}

Test(testdev, counter_ignores_writes, .init = td_setup)
{
	mmio_write(TESTDEV_COUNTER_OFFSET, 8, 0x123456789abcdef0ull);
	mmio_write(TESTDEV_COUNTER_OFFSET + 3, 1, 0xff);
	cr_assert_eq(td.read_counter, 0, "writes are not counted");
	cr_assert_eq(mmio_read(TESTDEV_COUNTER_OFFSET, 8), 1, "and do not change it");
}

Test(testdev, counter_narrow_reads, .init = td_setup)
{
	td.read_counter = 0x0102030405060707ull; /* the next read makes it ...0708 */
	cr_assert_eq(mmio_read(TESTDEV_COUNTER_OFFSET, 1), 0x08);
	cr_assert_eq(mmio_read(TESTDEV_COUNTER_OFFSET + 1, 1), 0x07);
	cr_assert_eq(mmio_read(TESTDEV_COUNTER_OFFSET + 7, 1), 0x01);
	cr_assert_eq(mmio_read(TESTDEV_COUNTER_OFFSET, 2), 0x070b);
	cr_assert_eq(mmio_read(TESTDEV_COUNTER_OFFSET + 2, 2), 0x0506);
	cr_assert_eq(mmio_read(TESTDEV_COUNTER_OFFSET, 4), 0x0506070d);
	cr_assert_eq(mmio_read(TESTDEV_COUNTER_OFFSET + 4, 4), 0x01020304);
	cr_assert_eq(td.read_counter, 0x0102030405060707ull + 7);
}

Test(testdev, counter_partial_overlap, .init = td_setup)
{
	/* Read 0x7fc..0x803: four scratch bytes, then counter bytes 0..3. */
	mmio_write(TESTDEV_COUNTER_OFFSET - 8, 8, 0xaabbccdd00000000ull);
	cr_assert_eq(mmio_read(TESTDEV_COUNTER_OFFSET - 4, 8), 0x00000001aabbccddull);
	/* Read 0x806..0x809: counter bytes 6, 7 then scratch. */
	mmio_write(TESTDEV_COUNTER_OFFSET + 8, 2, 0x9988);
	cr_assert_eq(mmio_read(TESTDEV_COUNTER_OFFSET + 6, 4), 0x99880000);
	cr_assert_eq(td.read_counter, 2);
	/* A straddling write stores only its scratch bytes. */
	mmio_write(TESTDEV_COUNTER_OFFSET - 2, 4, 0x44332211);
	cr_assert_eq(mmio_read(TESTDEV_COUNTER_OFFSET - 2, 2), 0x2211);
	cr_assert_eq(mmio_read(TESTDEV_COUNTER_OFFSET, 8), 3);
}

static int pio(uint16_t port, bool write, uint8_t len, uint32_t *v, int *status)
{
	uint8_t data[4];
	int r;

	for (unsigned i = 0; i < 4; i++)
		data[i] = write ? (uint8_t)(*v >> (8 * i)) : 0x5c;
	r = testdev_pio(&td, port, write, len, data, status);
	if (!write) {
		*v = 0;
		for (unsigned i = 0; i < 4; i++) {
			if (i >= len && r == 0)
				cr_assert_eq(data[i], 0, "bytes past the width are zero");
			if (i < len)
				*v |= (uint32_t)data[i] << (8 * i);
		}
	}
	return r;
}

Test(testdev, exit_port_takes_one_byte_writes, .init = td_setup)
{
	int status = -1;
	uint32_t v;

	v = 0x1ff;
	cr_assert_eq(pio(TESTDEV_EXIT_PORT, true, 2, &v, &status), 0);
	v = 0x12345678;
	cr_assert_eq(pio(TESTDEV_EXIT_PORT, true, 4, &v, &status), 0);
	cr_assert_eq(status, -1, "only 1-byte writes end the VM");
	cr_assert_eq(pio(TESTDEV_EXIT_PORT, false, 1, &v, &status), 0);
	cr_assert_eq(v, 0xff);
	cr_assert_eq(pio(TESTDEV_EXIT_PORT, false, 4, &v, &status), 0);
	cr_assert_eq(v, 0xffffffff);
	cr_assert_eq(status, -1);
	v = 0;
	cr_assert_eq(pio(TESTDEV_EXIT_PORT, true, 1, &v, &status), 0);
	cr_assert_eq(status, 0);
	v = 0xfe;
	cr_assert_eq(pio(TESTDEV_EXIT_PORT, true, 1, &v, &status), 0);
	cr_assert_eq(status, 254);
}

Test(testdev, pio_scratch_widths, .init = td_setup)
{
	int status = -1;
	uint32_t v;

	v = 0xa1b2c3d4;
	cr_assert_eq(pio(TESTDEV_PIO_SCRATCH_PORT, true, 4, &v, &status), 0);
	cr_assert_eq(pio(TESTDEV_PIO_SCRATCH_PORT, false, 4, &v, &status), 0);
	cr_assert_eq(v, 0xa1b2c3d4);
	cr_assert_eq(pio(TESTDEV_PIO_SCRATCH_PORT + 1, false, 2, &v, &status), 0);
	cr_assert_eq(v, 0xb2c3);
	cr_assert_eq(pio(TESTDEV_PIO_SCRATCH_PORT + 3, false, 1, &v, &status), 0);
	cr_assert_eq(v, 0xa1);
	v = 0x55;
	cr_assert_eq(pio(TESTDEV_PIO_SCRATCH_PORT + 2, true, 1, &v, &status), 0);
	v = 0x6677;
	cr_assert_eq(pio(TESTDEV_PIO_SCRATCH_PORT, true, 2, &v, &status), 0);
	cr_assert_eq(pio(TESTDEV_PIO_SCRATCH_PORT, false, 4, &v, &status), 0);
	cr_assert_eq(v, 0xa1556677);
	cr_assert_eq(status, -1);
}

Test(testdev, pio_scratch_bytes_past_the_end, .init = td_setup)
{
	int status = -1;
	uint32_t v;

	v = 0x44332211;
	cr_assert_eq(pio(TESTDEV_PIO_SCRATCH_PORT, true, 4, &v, &status), 0);
	v = 0xddccbbaa;
	cr_assert_eq(pio(TESTDEV_PIO_SCRATCH_PORT + 2, true, 4, &v, &status), 0);
	cr_assert_eq(pio(TESTDEV_PIO_SCRATCH_PORT + 2, false, 4, &v, &status), 0);
	cr_assert_eq(v, 0xffffbbaa);
	cr_assert_eq(pio(TESTDEV_PIO_SCRATCH_PORT + 3, false, 2, &v, &status), 0);
	cr_assert_eq(v, 0xffbb);
	cr_assert_eq(pio(TESTDEV_PIO_SCRATCH_PORT, false, 4, &v, &status), 0);
	cr_assert_eq(v, 0xbbaa2211);
}

Test(testdev, pio_unowned_and_bad_width, .init = td_setup)
{
	int status = -1;
	uint32_t v = 0;

	cr_assert_not(testdev_owns_port(TESTDEV_HYPERCALL_PORT));
	cr_assert_not(testdev_owns_port(0x500));
	cr_assert_not(testdev_owns_port(TESTDEV_PIO_SCRATCH_PORT + 4));
	cr_assert(testdev_owns_port(TESTDEV_EXIT_PORT));
	cr_assert(testdev_owns_port(TESTDEV_PIO_SCRATCH_PORT + 3));
	cr_assert_eq(pio(0x500, false, 2, &v, &status), -ENOENT);
	cr_assert_eq(v, 0xffff);
	cr_assert_eq(pio(TESTDEV_HYPERCALL_PORT, true, 1, &v, &status), -ENOENT);
	cr_assert_eq(pio(0xffff, false, 4, &v, &status), -ENOENT);
	cr_assert_eq(pio(TESTDEV_PIO_SCRATCH_PORT, false, 3, &v, &status), -EINVAL);
	cr_assert_eq(v, 0xffffff);
	v = 7;
	cr_assert_eq(pio(TESTDEV_EXIT_PORT, true, 8, &v, &status), -EINVAL);
	cr_assert_eq(pio(TESTDEV_EXIT_PORT, true, 0, &v, &status), -EINVAL);
	cr_assert_eq(status, -1);
}

Test(testdev, hypercalls, .init = td_setup)
{
	const uint64_t args[6] = { 1, 2, 3, 4, 5, 6 };
	const uint64_t wrap[6] = { ~0ull, 2, 0, 0, 0, ~0ull };
	struct timespec a, b;
	uint64_t t, ta, tb;

	cr_assert_eq(testdev_hypercall(&td, TESTDEV_HC_SIGNATURE, args), TESTDEV_SIGNATURE);
	cr_assert_eq(testdev_hypercall(&td, TESTDEV_HC_SUM, args), 21);
	cr_assert_eq(testdev_hypercall(&td, TESTDEV_HC_SUM, wrap), 0ull - 1 + 2 - 1, "sum wraps");
	cr_assert_eq(testdev_hypercall(&td, 3, args), TESTDEV_HC_UNKNOWN_RESULT);
	cr_assert_eq(testdev_hypercall(&td, ~0ull, args), TESTDEV_HC_UNKNOWN_RESULT);

	clock_gettime(CLOCK_MONOTONIC, &a);
	t = testdev_hypercall(&td, TESTDEV_HC_CLOCK, args);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ta = (uint64_t)a.tv_sec * 1000000000ull + (uint64_t)a.tv_nsec;
	tb = (uint64_t)b.tv_sec * 1000000000ull + (uint64_t)b.tv_nsec;
	cr_assert(ta <= t && t <= tb, "%llu in [%llu, %llu]", (unsigned long long)t, (unsigned long long)ta,
		  (unsigned long long)tb);
}

/* ---- the testdev device model ---------------------------------------------- */

struct exit_capture {
	int calls;
	uint8_t status;
};

static struct exit_capture exits;

static int capture_vm_exit(struct device_host *host, uint8_t status)
{
	(void)host;
	exits.calls++;
	exits.status = status;
	return 0;
}

static void model_setup(struct device_host *host, struct testdev_model *m)
{
	memset(&exits, 0, sizeof(exits));
	memset(m, 0, sizeof(*m));
	device_host_init(host, "test-testdev", -1, 2);
	host->request_vm_exit = capture_vm_exit;
	cr_assert_eq(testdev_device_model.init(m, host), 0);
}

static void handle(struct testdev_model *m, const struct vm_exit *e, struct vm_reply *r)
{
	memset(r, 0, sizeof(*r));
	testdev_device_model.handle(m, e, r);
}

Test(testdev, model_mmio_uses_absolute_addresses)
{
	struct device_host host;
	struct testdev_model m;
	struct vm_exit e = { .kind = VM_EXIT_MMIO };
	struct vm_reply r;

	model_setup(&host, &m);
	e.u.mmio.addr = TESTDEV_MMIO_BASE + 0x40;
	e.u.mmio.write = true;
	e.u.mmio.len = 4;
	memcpy(e.u.mmio.data, "\x01\x02\x03\x04", 4);
	handle(&m, &e, &r);
	e.u.mmio.write = false;
	memset(e.u.mmio.data, 0, 8);
	handle(&m, &e, &r);
	cr_assert_eq(r.status, VM_REPLY_OK);
	cr_assert_eq(r.len, 4);
	cr_assert_arr_eq(r.data, "\x01\x02\x03\x04", 4);

	/* Starts in the window, ends past it: all ones, but the device owns it. */
	e.u.mmio.addr = TESTDEV_MMIO_BASE + TESTDEV_MMIO_SIZE - 2;
	handle(&m, &e, &r);
	cr_assert_eq(r.status, VM_REPLY_OK);
	cr_assert_arr_eq(r.data, "\xff\xff\xff\xff", 4);
}

Test(testdev, model_rejects_unowned)
{
	struct device_host host;
	struct testdev_model m;
	struct vm_exit e = { .kind = VM_EXIT_MMIO };
	struct vm_reply r;

	model_setup(&host, &m);
	e.u.mmio.addr = TESTDEV_MMIO_BASE - 1;
	e.u.mmio.len = 2;
	handle(&m, &e, &r);
	cr_assert_eq(r.status, VM_REPLY_ERROR);
	cr_assert_eq(r.len, 2);
	cr_assert_arr_eq(r.data, "\xff\xff", 2);
	e.u.mmio.addr = TESTDEV_MMIO_BASE + TESTDEV_MMIO_SIZE;
	handle(&m, &e, &r);
	cr_assert_eq(r.status, VM_REPLY_ERROR);
	e.u.mmio.addr = 0;
	handle(&m, &e, &r);
	cr_assert_eq(r.status, VM_REPLY_ERROR);
	e.u.mmio.addr = TESTDEV_MMIO_BASE;
	e.u.mmio.len = 3;
	handle(&m, &e, &r);
	cr_assert_eq(r.status, VM_REPLY_ERROR, "bad width");
	cr_assert_eq(r.len, 3);

	memset(&e, 0, sizeof(e));
	e.kind = VM_EXIT_PIO;
	e.u.pio.port = COM1_PORT_BASE;
	e.u.pio.len = 1;
	handle(&m, &e, &r);
	cr_assert_eq(r.status, VM_REPLY_ERROR);
	cr_assert_eq(r.len, 1);
	cr_assert_eq(r.data[0], 0xff);

	memset(&e, 0, sizeof(e));
	e.kind = VM_EXIT_HLT;
	handle(&m, &e, &r);
	cr_assert_eq(r.status, VM_REPLY_ERROR);
	cr_assert_eq(exits.calls, 0);
}

Test(testdev, model_exit_port_requests_vm_exit_once)
{
	struct device_host host;
	struct testdev_model m;
	struct vm_exit e = { .kind = VM_EXIT_PIO };
	struct vm_reply r;

	model_setup(&host, &m);
	e.u.pio.port = TESTDEV_EXIT_PORT;
	e.u.pio.write = true;
	e.u.pio.len = 2;
	e.u.pio.data[0] = 9;
	handle(&m, &e, &r);
	cr_assert_eq(exits.calls, 0, "2-byte writes do not end the VM");
	e.u.pio.len = 1;
	handle(&m, &e, &r);
	cr_assert_eq(exits.calls, 1);
	cr_assert_eq(exits.status, 9);
	e.u.pio.data[0] = 3;
	handle(&m, &e, &r);
	cr_assert_eq(exits.calls, 1, "only the first request is sent");
	cr_assert_eq(m.exit_status, 9);
}

Test(testdev, model_hypercall_reply)
{
	struct device_host host;
	struct testdev_model m;
	struct vm_exit e = { .kind = VM_EXIT_HYPERCALL };
	struct vm_reply r;
	uint64_t v = 0;

	model_setup(&host, &m);
	e.u.hypercall.func = TESTDEV_HC_SUM;
	for (unsigned i = 0; i < 6; i++)
		e.u.hypercall.args[i] = 0x0101010101010101ull << i;
	handle(&m, &e, &r);
	cr_assert_eq(r.status, VM_REPLY_OK);
	cr_assert_eq(r.len, 8);
	for (unsigned i = 0; i < 8; i++)
		v |= (uint64_t)r.data[i] << (8 * i);
	cr_assert_eq(v, 0x0101010101010101ull * 63);
}
