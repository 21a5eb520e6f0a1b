// SPDX-License-Identifier: MIT
/*
 * Unit tests for vcpu-worker/decode.c: struct kvm_run -> VmExit.
 *
 * Every test builds a synthetic kvm_run at the start of a heap buffer of
 * RUN_SIZE bytes (the "run mapping"); I/O data lives inside that buffer,
 * after struct kvm_run, as the decoder requires.
 */
#include <criterion/criterion.h>

#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vcpu-worker/decode.h"

#define RUN_SIZE 4096u
/* The first data offset the decoder accepts. */
#define DATA_OFF ((uint64_t)sizeof(struct kvm_run))

static struct kvm_run *run;

static void decode_setup(void)
{
	cr_assert_leq(sizeof(struct kvm_run) + 64, RUN_SIZE, "struct kvm_run (%zu bytes) leaves no room for data",
		      sizeof(struct kvm_run));
	run = calloc(1, RUN_SIZE);
	cr_assert_not_null(run);
}

static void decode_teardown(void)
{
	free(run);
	run = NULL;
}

TestSuite(decode, .init = decode_setup, .fini = decode_teardown);

/* ---- helpers ------------------------------------------------------------ */

static uint8_t *run_bytes(void)
{
	return (uint8_t *)run;
}

/* Decodes repetition rep into a buffer pre-filled with garbage. */
static struct vm_exit decode(uint32_t rep)
{
	struct vm_exit e;

	memset(&e, 0xa5, sizeof(e));
	vcpu_decode_exit(run, RUN_SIZE, rep, &e);
	return e;
}

static void set_io(uint8_t direction, uint8_t size, uint16_t port, uint32_t count, uint64_t data_offset)
{
	run->exit_reason = KVM_EXIT_IO;
	run->io.direction = direction;
	run->io.size = size;
	run->io.port = port;
	run->io.count = count;
	run->io.data_offset = data_offset;
}

static void assert_internal_error(const struct vm_exit *e, const char *needle, const char *what)
{
	cr_assert_eq(e->kind, VM_EXIT_INTERNAL_ERROR, "%s: kind %d, expected InternalError (%d)", what, e->kind,
		     VM_EXIT_INTERNAL_ERROR);
	cr_assert_leq(strnlen(e->u.internal_error.message, sizeof(e->u.internal_error.message)),
		      (size_t)VM_EXIT_MESSAGE_MAX, "%s: message not NUL-terminated", what);
	if (needle)
		cr_assert_not_null(strstr(e->u.internal_error.message, needle), "%s: message '%s' lacks '%s'", what,
				   e->u.internal_error.message, needle);
}

/* Checks that an invalid KVM_EXIT_IO has no repetitions and decodes to InternalError. */
static void assert_invalid_io(const char *what)
{
	struct vm_exit e;

	cr_assert_eq(vcpu_exit_repeats(run, RUN_SIZE), 0u, "%s: repeats %u, expected 0", what,
		     vcpu_exit_repeats(run, RUN_SIZE));
	cr_assert_null(vcpu_io_data(run, RUN_SIZE, 0), "%s: io data pointer for an invalid exit", what);
	e = decode(0);
	assert_internal_error(&e, "invalid KVM_EXIT_IO", what);
}

/* ---- port I/O ----------------------------------------------------------- */

Test(decode, io_out_sizes)
{
	static const uint8_t sizes[] = { 1, 2, 4 };

	for (size_t s = 0; s < sizeof(sizes); s++) {
		uint8_t size = sizes[s];
		uint64_t off = DATA_OFF + 16 * s;
		struct vm_exit e;

		memset(run, 0, RUN_SIZE);
		set_io(KVM_EXIT_IO_OUT, size, 0x3f8, 1, off);
		for (uint8_t i = 0; i < 4; i++)
			run_bytes()[off + i] = (uint8_t)(0x11 * (i + 1));
		cr_assert_eq(vcpu_exit_repeats(run, RUN_SIZE), 1u, "size %u: repeats", size);
		cr_assert_eq(vcpu_io_data(run, RUN_SIZE, 0), run_bytes() + off, "size %u: data pointer", size);
		e = decode(0);
		cr_assert_eq(e.kind, VM_EXIT_PIO, "size %u: kind %d", size, e.kind);
		cr_assert_eq(e.u.pio.port, 0x3f8, "size %u: port %#x", size, e.u.pio.port);
		cr_assert_eq(e.u.pio.write, true, "size %u: an OUT is a write", size);
		cr_assert_eq(e.u.pio.len, size, "size %u: len %u", size, e.u.pio.len);
		for (uint8_t i = 0; i < VM_PIO_DATA_MAX; i++) {
			uint8_t want = i < size ? (uint8_t)(0x11 * (i + 1)) : 0;

			cr_assert_eq(e.u.pio.data[i], want, "size %u: data[%u] = %#x, expected %#x", size, i,
				     e.u.pio.data[i], want);
		}
	}
}

Test(decode, io_in_sizes)
{
	static const uint8_t sizes[] = { 1, 2, 4 };

	for (size_t s = 0; s < sizeof(sizes); s++) {
		uint8_t size = sizes[s];
		struct vm_exit e;

		memset(run, 0, RUN_SIZE);
		set_io(KVM_EXIT_IO_IN, size, 0x501, 1, DATA_OFF);
		/* Stale bytes in the data area must not leak into a read. */
		memset(run_bytes() + DATA_OFF, 0xee, 8);
		cr_assert_eq(vcpu_exit_repeats(run, RUN_SIZE), 1u, "size %u: repeats", size);
		e = decode(0);
		cr_assert_eq(e.kind, VM_EXIT_PIO, "size %u: kind %d", size, e.kind);
		cr_assert_eq(e.u.pio.port, 0x501, "size %u: port %#x", size, e.u.pio.port);
		cr_assert_eq(e.u.pio.write, false, "size %u: an IN is a read", size);
		cr_assert_eq(e.u.pio.len, size, "size %u: len %u", size, e.u.pio.len);
		for (uint8_t i = 0; i < VM_PIO_DATA_MAX; i++)
			cr_assert_eq(e.u.pio.data[i], 0, "size %u: read data[%u] = %#x, expected 0", size, i,
				     e.u.pio.data[i]);
	}
}

Test(decode, io_port_extremes)
{
	struct vm_exit e;

	set_io(KVM_EXIT_IO_OUT, 1, 0xffff, 1, DATA_OFF);
	e = decode(0);
	cr_assert_eq(e.kind, VM_EXIT_PIO);
	cr_assert_eq(e.u.pio.port, 0xffff, "port %#x", e.u.pio.port);
	set_io(KVM_EXIT_IO_OUT, 1, 0, 1, DATA_OFF);
	e = decode(0);
	cr_assert_eq(e.kind, VM_EXIT_PIO);
	cr_assert_eq(e.u.pio.port, 0, "port %#x", e.u.pio.port);
}

Test(decode, io_string_out_count_3)
{
	static const uint8_t sizes[] = { 1, 2, 4 };

	for (size_t s = 0; s < sizeof(sizes); s++) {
		uint8_t size = sizes[s];
		uint64_t off = DATA_OFF + 8;

		memset(run, 0, RUN_SIZE);
		set_io(KVM_EXIT_IO_OUT, size, 0x510, 3, off);
		for (uint32_t i = 0; i < 3u * size; i++)
			run_bytes()[off + i] = (uint8_t)(0x40 + i);
		cr_assert_eq(vcpu_exit_repeats(run, RUN_SIZE), 3u, "size %u: repeats %u", size,
			     vcpu_exit_repeats(run, RUN_SIZE));
		for (uint32_t rep = 0; rep < 3; rep++) {
			struct vm_exit e;
			uint8_t *p = vcpu_io_data(run, RUN_SIZE, rep);

			cr_assert_eq(p, run_bytes() + off + rep * size, "size %u rep %u: data pointer off by %td", size,
				     rep, p ? p - (run_bytes() + off + rep * size) : 0);
			e = decode(rep);
			cr_assert_eq(e.kind, VM_EXIT_PIO, "size %u rep %u: kind %d", size, rep, e.kind);
			cr_assert_eq(e.u.pio.port, 0x510);
			cr_assert_eq(e.u.pio.write, true);
			cr_assert_eq(e.u.pio.len, size);
			for (uint32_t i = 0; i < size; i++) {
				uint8_t want = (uint8_t)(0x40 + rep * size + i);

				cr_assert_eq(e.u.pio.data[i], want, "size %u rep %u: data[%u] = %#x, expected %#x",
					     size, rep, i, e.u.pio.data[i], want);
			}
		}
		cr_assert_null(vcpu_io_data(run, RUN_SIZE, 3), "size %u: rep 3 of 3 has no data", size);
		{
			struct vm_exit e = decode(3);

			assert_internal_error(&e, "invalid KVM_EXIT_IO", "rep past count");
		}
	}
}

Test(decode, io_string_in_count_3)
{
	uint64_t off = DATA_OFF;

	set_io(KVM_EXIT_IO_IN, 2, 0x60, 3, off);
	cr_assert_eq(vcpu_exit_repeats(run, RUN_SIZE), 3u);
	for (uint32_t rep = 0; rep < 3; rep++) {
		uint8_t *p = vcpu_io_data(run, RUN_SIZE, rep);
		struct vm_exit e;

		cr_assert_eq(p, run_bytes() + off + rep * 2, "rep %u: data pointer", rep);
		/* The worker stores each repetition's reply here. */
		p[0] = (uint8_t)rep;
		p[1] = (uint8_t)(0x80 | rep);
		e = decode(rep);
		cr_assert_eq(e.kind, VM_EXIT_PIO, "rep %u: kind %d", rep, e.kind);
		cr_assert_eq(e.u.pio.write, false);
		cr_assert_eq(e.u.pio.len, 2);
		cr_assert_eq(e.u.pio.data[0], 0, "rep %u: read carries no data", rep);
		cr_assert_eq(e.u.pio.data[1], 0, "rep %u: read carries no data", rep);
	}
	for (uint32_t rep = 0; rep < 3; rep++) {
		cr_assert_eq(run_bytes()[off + rep * 2], rep, "rep %u reply byte 0", rep);
		cr_assert_eq(run_bytes()[off + rep * 2 + 1], 0x80 | rep, "rep %u reply byte 1", rep);
	}
}

Test(decode, io_data_exactly_at_end_of_mapping)
{
	set_io(KVM_EXIT_IO_OUT, 4, 0x80, 3, RUN_SIZE - 12);
	cr_assert_eq(vcpu_exit_repeats(run, RUN_SIZE), 3u, "data ending exactly at run_size is valid");
	cr_assert_eq(vcpu_io_data(run, RUN_SIZE, 2), run_bytes() + RUN_SIZE - 4);
	set_io(KVM_EXIT_IO_OUT, 4, 0x80, 3, RUN_SIZE - 11);
	assert_invalid_io("one byte past run_size");
}

Test(decode, io_invalid_size)
{
	static const uint8_t bad[] = { 0, 3, 5, 8, 255 };

	for (size_t i = 0; i < sizeof(bad); i++) {
		char what[32];

		set_io(KVM_EXIT_IO_OUT, bad[i], 0x80, 1, DATA_OFF);
		snprintf(what, sizeof(what), "size %u", bad[i]);
		assert_invalid_io(what);
	}
}

Test(decode, io_invalid_count_0)
{
	set_io(KVM_EXIT_IO_OUT, 1, 0x80, 0, DATA_OFF);
	assert_invalid_io("count 0");
}

Test(decode, io_invalid_offset_beyond_run_size)
{
	set_io(KVM_EXIT_IO_OUT, 1, 0x80, 1, RUN_SIZE);
	assert_invalid_io("data_offset == run_size");
	set_io(KVM_EXIT_IO_OUT, 1, 0x80, 1, RUN_SIZE + 4096);
	assert_invalid_io("data_offset one page beyond run_size");
	set_io(KVM_EXIT_IO_OUT, 1, 0x80, 1, 1ULL << 40);
	assert_invalid_io("data_offset 1 TiB");
}

/*
 * data_offset is a 64-bit field: data_offset + size * count must not wrap
 * around to a small value and pass the end check.
 */
Test(decode, io_invalid_offset_wraps)
{
	set_io(KVM_EXIT_IO_OUT, 4, 0x80, 1, UINT64_MAX);
	assert_invalid_io("data_offset UINT64_MAX");
	set_io(KVM_EXIT_IO_OUT, 4, 0x80, 2, UINT64_MAX - 3);
	assert_invalid_io("data_offset UINT64_MAX - 3, 8 bytes");
	set_io(KVM_EXIT_IO_OUT, 1, 0x80, 0x1000, (uint64_t)0 - 0x1000 + DATA_OFF);
	assert_invalid_io("data_offset -0x1000 + sizeof(kvm_run), 4 KiB");
}

Test(decode, io_invalid_data_past_run_size)
{
	/* Starts inside the mapping, ends past it. */
	set_io(KVM_EXIT_IO_OUT, 4, 0x80, 1, RUN_SIZE - 2);
	assert_invalid_io("4 bytes at run_size - 2");
	set_io(KVM_EXIT_IO_OUT, 2, 0x80, 3, RUN_SIZE - 5);
	assert_invalid_io("3x2 bytes at run_size - 5");
	set_io(KVM_EXIT_IO_OUT, 1, 0x80, UINT32_MAX, DATA_OFF);
	assert_invalid_io("count UINT32_MAX");
	set_io(KVM_EXIT_IO_OUT, 4, 0x80, UINT32_MAX, DATA_OFF);
	assert_invalid_io("count UINT32_MAX, size 4");
}

Test(decode, io_invalid_offset_inside_kvm_run)
{
	set_io(KVM_EXIT_IO_OUT, 1, 0x80, 1, 0);
	assert_invalid_io("data_offset 0");
	set_io(KVM_EXIT_IO_OUT, 1, 0x80, 1, DATA_OFF - 1);
	assert_invalid_io("data_offset sizeof(kvm_run) - 1");
	set_io(KVM_EXIT_IO_OUT, 1, 0x80, 1, DATA_OFF);
	cr_assert_eq(vcpu_exit_repeats(run, RUN_SIZE), 1u, "data_offset == sizeof(kvm_run) is valid");
}

Test(decode, io_invalid_message_names_fields)
{
	struct vm_exit e;

	set_io(KVM_EXIT_IO_OUT, 3, 0x80, 7, 0x1234);
	e = decode(0);
	assert_internal_error(&e, "size 3", "size 3");
	assert_internal_error(&e, "count 7", "count 7");
	assert_internal_error(&e, "0x1234", "data_offset");
}

Test(decode, repeats_is_1_for_other_exits)
{
	static const uint32_t reasons[] = { KVM_EXIT_MMIO, KVM_EXIT_HLT, KVM_EXIT_SHUTDOWN, KVM_EXIT_DEBUG,
					    KVM_EXIT_SYSTEM_EVENT, KVM_EXIT_INTERNAL_ERROR, KVM_EXIT_FAIL_ENTRY,
					    12345 };

	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		memset(run, 0, RUN_SIZE);
		run->exit_reason = reasons[i];
		cr_assert_eq(vcpu_exit_repeats(run, RUN_SIZE), 1u, "exit reason %u", reasons[i]);
	}
}

/* ---- MMIO --------------------------------------------------------------- */

Test(decode, mmio_writes)
{
	static const uint32_t lens[] = { 1, 2, 4, 8 };

	for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
		uint32_t len = lens[l];
		struct vm_exit e;

		memset(run, 0, RUN_SIZE);
		run->exit_reason = KVM_EXIT_MMIO;
		run->mmio.phys_addr = 0xfe000000ULL + 8 * l;
		run->mmio.len = len;
		run->mmio.is_write = 1;
		for (uint8_t i = 0; i < 8; i++)
			run->mmio.data[i] = (uint8_t)(0xa0 + i);
		e = decode(0);
		cr_assert_eq(e.kind, VM_EXIT_MMIO, "len %u: kind %d", len, e.kind);
		cr_assert_eq(e.u.mmio.addr, 0xfe000000ULL + 8 * l, "len %u: addr %#llx", len,
			     (unsigned long long)e.u.mmio.addr);
		cr_assert_eq(e.u.mmio.write, true, "len %u: write", len);
		cr_assert_eq(e.u.mmio.len, len, "len %u: len %u", len, e.u.mmio.len);
		for (uint8_t i = 0; i < VM_MMIO_DATA_MAX; i++) {
			uint8_t want = i < len ? (uint8_t)(0xa0 + i) : 0;

			cr_assert_eq(e.u.mmio.data[i], want, "len %u: data[%u] = %#x, expected %#x", len, i,
				     e.u.mmio.data[i], want);
		}
	}
}

Test(decode, mmio_reads)
{
	static const uint32_t lens[] = { 1, 2, 4, 8 };

	for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
		uint32_t len = lens[l];
		struct vm_exit e;

		memset(run, 0, RUN_SIZE);
		run->exit_reason = KVM_EXIT_MMIO;
		run->mmio.phys_addr = 0xffffffffffffff00ULL;
		run->mmio.len = len;
		run->mmio.is_write = 0;
		memset(run->mmio.data, 0xcc, sizeof(run->mmio.data)); /* stale bytes */
		e = decode(0);
		cr_assert_eq(e.kind, VM_EXIT_MMIO, "len %u: kind %d", len, e.kind);
		cr_assert_eq(e.u.mmio.addr, 0xffffffffffffff00ULL, "len %u: addr", len);
		cr_assert_eq(e.u.mmio.write, false, "len %u: read", len);
		cr_assert_eq(e.u.mmio.len, len, "len %u: len %u", len, e.u.mmio.len);
		for (uint8_t i = 0; i < VM_MMIO_DATA_MAX; i++)
			cr_assert_eq(e.u.mmio.data[i], 0, "len %u: read data[%u] = %#x, expected 0", len, i,
				     e.u.mmio.data[i]);
	}
}

Test(decode, mmio_is_write_nonzero_is_write)
{
	struct vm_exit e;

	run->exit_reason = KVM_EXIT_MMIO;
	run->mmio.len = 1;
	run->mmio.is_write = 0x80;
	e = decode(0);
	cr_assert_eq(e.kind, VM_EXIT_MMIO);
	cr_assert_eq(e.u.mmio.write, true, "is_write 0x80 is a write");
}

Test(decode, mmio_invalid_len)
{
	static const uint32_t bad[] = { 0, 9, 16, UINT32_MAX };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct vm_exit e;
		char needle[48];

		memset(run, 0, RUN_SIZE);
		run->exit_reason = KVM_EXIT_MMIO;
		run->mmio.len = bad[i];
		run->mmio.is_write = 1;
		e = decode(0);
		snprintf(needle, sizeof(needle), "invalid KVM_EXIT_MMIO length %u", bad[i]);
		assert_internal_error(&e, needle, "bad MMIO length");
	}
}

/* ---- simple exits ------------------------------------------------------- */

Test(decode, hlt)
{
	struct vm_exit e;

	run->exit_reason = KVM_EXIT_HLT;
	e = decode(0);
	cr_assert_eq(e.kind, VM_EXIT_HLT, "kind %d, expected Hlt", e.kind);
}

Test(decode, shutdown_is_a_triple_fault)
{
	struct vm_exit e;

	run->exit_reason = KVM_EXIT_SHUTDOWN;
	e = decode(0);
	cr_assert_eq(e.kind, VM_EXIT_TRIPLE_FAULT, "a triple fault (KVM_EXIT_SHUTDOWN) is a TripleFault, got kind %d",
		     e.kind);
}

Test(decode, system_event_shutdown)
{
	struct vm_exit e;

	run->exit_reason = KVM_EXIT_SYSTEM_EVENT;
	run->system_event.type = KVM_SYSTEM_EVENT_SHUTDOWN;
	e = decode(0);
	cr_assert_eq(e.kind, VM_EXIT_SHUTDOWN, "kind %d, expected Shutdown", e.kind);
}

Test(decode, system_event_reset)
{
	struct vm_exit e;

	run->exit_reason = KVM_EXIT_SYSTEM_EVENT;
	run->system_event.type = KVM_SYSTEM_EVENT_RESET;
	e = decode(0);
	cr_assert_eq(e.kind, VM_EXIT_RESET, "kind %d, expected Reset", e.kind);
}

Test(decode, system_event_crash)
{
	struct vm_exit e;

	run->exit_reason = KVM_EXIT_SYSTEM_EVENT;
	run->system_event.type = KVM_SYSTEM_EVENT_CRASH;
	e = decode(0);
	assert_internal_error(&e, "crash", "system event crash");
}

Test(decode, system_event_unknown_type)
{
	struct vm_exit e;

	run->exit_reason = KVM_EXIT_SYSTEM_EVENT;
	run->system_event.type = 77;
	e = decode(0);
	assert_internal_error(&e, "unknown KVM system event type 77", "system event 77");
}

Test(decode, debug)
{
	struct vm_exit e;

	run->exit_reason = KVM_EXIT_DEBUG;
	run->debug.arch.pc = 0xffffffff81000123ULL;
	run->debug.arch.dr6 = 0xffff4ff1ULL;
	run->debug.arch.exception = 1;
	e = decode(0);
	cr_assert_eq(e.kind, VM_EXIT_DEBUG, "kind %d, expected Debug", e.kind);
	cr_assert_eq(e.u.debug.pc, 0xffffffff81000123ULL, "pc %#llx", (unsigned long long)e.u.debug.pc);
	cr_assert_eq(e.u.debug.syndrome, 0xffff4ff1ULL, "syndrome %#llx, expected dr6",
		     (unsigned long long)e.u.debug.syndrome);
}

/* ---- errors ------------------------------------------------------------- */

Test(decode, internal_error_suberrors)
{
	static const struct {
		uint32_t suberror;
		const char *needle;
	} cases[] = {
		{ KVM_INTERNAL_ERROR_EMULATION, "suberror 1 (instruction emulation failed)" },
		{ KVM_INTERNAL_ERROR_SIMUL_EX, "suberror 2 (exception while delivering an exception)" },
		{ KVM_INTERNAL_ERROR_DELIVERY_EV, "suberror 3 (event delivery failed)" },
		{ 99, "suberror 99" },
		{ UINT32_MAX, "suberror 4294967295" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vm_exit e;

		memset(run, 0, RUN_SIZE);
		run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
		run->internal.suberror = cases[i].suberror;
		e = decode(0);
		assert_internal_error(&e, cases[i].needle, "internal error");
		assert_internal_error(&e, "KVM internal error", "internal error");
	}
}

Test(decode, fail_entry_names_hardware_reason)
{
	struct vm_exit e;

	run->exit_reason = KVM_EXIT_FAIL_ENTRY;
	run->fail_entry.hardware_entry_failure_reason = 0x80000021ULL;
	run->fail_entry.cpu = 3;
	e = decode(0);
	assert_internal_error(&e, "0x80000021", "fail entry");
	assert_internal_error(&e, "cpu 3", "fail entry");

	run->fail_entry.hardware_entry_failure_reason = UINT64_MAX;
	e = decode(0);
	assert_internal_error(&e, "0xffffffffffffffff", "fail entry, all-ones reason");
}

Test(decode, unknown_exit_reason)
{
	struct vm_exit e;

	run->exit_reason = 12345;
	e = decode(0);
	assert_internal_error(&e, "12345", "exit reason 12345");
	assert_internal_error(&e, "unknown KVM exit reason", "exit reason 12345");

	/* Exits squib does not expect are unknown too. */
	run->exit_reason = KVM_EXIT_UNKNOWN;
	e = decode(0);
	assert_internal_error(&e, "unknown KVM exit reason 0", "KVM_EXIT_UNKNOWN");
	run->exit_reason = UINT32_MAX;
	e = decode(0);
	assert_internal_error(&e, "4294967295", "exit reason UINT32_MAX");
}

Test(decode, decode_zeroes_the_union)
{
	struct vm_exit e;

	run->exit_reason = KVM_EXIT_HLT;
	memset(&e, 0xff, sizeof(e));
	vcpu_decode_exit(run, RUN_SIZE, 0, &e);
	cr_assert_eq(e.kind, VM_EXIT_HLT);
	for (size_t i = 0; i < sizeof(e.u); i++)
		cr_assert_eq(((const uint8_t *)&e.u)[i], 0, "union byte %zu = %#x, not cleared", i,
			     ((const uint8_t *)&e.u)[i]);
}

/* ---- helpers of the worker ---------------------------------------------- */

Test(decode, make_hypercall_maps_registers)
{
	struct kvm_regs regs;
	struct vm_exit e;

	memset(&regs, 0, sizeof(regs));
	regs.rax = 0x1000000000000001ULL;
	regs.rdi = 0x2000000000000002ULL;
	regs.rsi = 0x3000000000000003ULL;
	regs.rdx = 0x4000000000000004ULL;
	regs.r10 = 0x5000000000000005ULL;
	regs.r8 = 0x6000000000000006ULL;
	regs.r9 = 0x7000000000000007ULL;
	/* Registers that are not part of the ABI must not leak in. */
	regs.rcx = 0xdead;
	regs.rbx = 0xbeef;
	regs.r11 = 0xcafe;
	memset(&e, 0xa5, sizeof(e));
	vcpu_make_hypercall(&regs, &e);
	cr_assert_eq(e.kind, VM_EXIT_HYPERCALL, "kind %d", e.kind);
	cr_assert_eq(e.u.hypercall.func, 0x1000000000000001ULL, "func is rax");
	cr_assert_eq(e.u.hypercall.args[0], 0x2000000000000002ULL, "args[0] is rdi");
	cr_assert_eq(e.u.hypercall.args[1], 0x3000000000000003ULL, "args[1] is rsi");
	cr_assert_eq(e.u.hypercall.args[2], 0x4000000000000004ULL, "args[2] is rdx");
	cr_assert_eq(e.u.hypercall.args[3], 0x5000000000000005ULL, "args[3] is r10");
	cr_assert_eq(e.u.hypercall.args[4], 0x6000000000000006ULL, "args[4] is r8");
	cr_assert_eq(e.u.hypercall.args[5], 0x7000000000000007ULL, "args[5] is r9");
}

Test(decode, internal_error_truncates)
{
	char msg[301];
	struct vm_exit e;

	for (int i = 0; i < 300; i++)
		msg[i] = (char)('a' + i % 26);
	msg[300] = '\0';
	memset(&e, 0xa5, sizeof(e));
	vcpu_internal_error(&e, msg);
	cr_assert_eq(e.kind, VM_EXIT_INTERNAL_ERROR);
	cr_assert_eq(strlen(e.u.internal_error.message), (size_t)VM_EXIT_MESSAGE_MAX, "length %zu, expected %d",
		     strlen(e.u.internal_error.message), VM_EXIT_MESSAGE_MAX);
	cr_assert_eq(VM_EXIT_MESSAGE_MAX, 95);
	cr_assert_eq(e.u.internal_error.message[95], '\0', "NUL at byte 95");
	cr_assert_eq(memcmp(e.u.internal_error.message, msg, 95), 0, "the first 95 bytes are kept");
}

Test(decode, internal_error_short_and_empty)
{
	struct vm_exit e;

	memset(&e, 0xa5, sizeof(e));
	vcpu_internal_error(&e, "boom");
	cr_assert_eq(e.kind, VM_EXIT_INTERNAL_ERROR);
	cr_assert_str_eq(e.u.internal_error.message, "boom");
	for (size_t i = 5; i < sizeof(e.u.internal_error.message); i++)
		cr_assert_eq(e.u.internal_error.message[i], '\0', "byte %zu after the message is %#x", i,
			     (unsigned char)e.u.internal_error.message[i]);
	vcpu_internal_error(&e, "");
	cr_assert_str_eq(e.u.internal_error.message, "");

	/* Exactly 95 characters fit unchanged. */
	{
		char msg[96];

		memset(msg, 'x', 95);
		msg[95] = '\0';
		vcpu_internal_error(&e, msg);
		cr_assert_str_eq(e.u.internal_error.message, msg);
	}
}
