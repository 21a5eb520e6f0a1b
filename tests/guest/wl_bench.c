/* SPDX-License-Identifier: MIT */
/*
 * Benchmarks (vCPU 0; need --testdev): n=N operations (default 10000)
 * timed with hypercall 2 (host CLOCK_MONOTONIC) before and after, then
 *   bench <name> n=<N> ns=<total> ns_per_op=<total / N, integer>
 * and exit 0. Names:
 *   bench-pio           pio            1-byte writes to port 0x510
 *   bench-pio-read      pio-read       1-byte reads of port 0x510
 *   bench-mmio-read     mmio-read      8-byte reads of scratch slot 0
 *   bench-mmio-counter  mmio-counter   8-byte reads of the counter slot
 *   bench-hypercall     hypercall      hypercall 0
 * Every operation is an asm volatile access: none can be optimised away.
 */
#include "cmdline.h"
#include "common/platform.h"
#include "guest.h"
#include "io.h"
#include "testdev.h"
#include "workloads.h"

#define BENCH_DEFAULT_N 10000

static uint64_t sink;

typedef void (*bench_op_t)(uint64_t n);

static void op_pio(uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		outb(TESTDEV_PIO_SCRATCH_PORT, (uint8_t)i);
}

static void op_pio_read(uint64_t n)
{
	uint64_t acc = 0;

	for (uint64_t i = 0; i < n; i++)
		acc += inb(TESTDEV_PIO_SCRATCH_PORT);
	__atomic_store_n(&sink, acc, __ATOMIC_RELAXED);
}

static void op_mmio_read(uint64_t n)
{
	uint64_t acc = 0;

	for (uint64_t i = 0; i < n; i++)
		acc += mmio_read64(TESTDEV_MMIO(0));
	__atomic_store_n(&sink, acc, __ATOMIC_RELAXED);
}

static void op_mmio_counter(uint64_t n)
{
	uint64_t acc = 0;

	for (uint64_t i = 0; i < n; i++)
		acc += mmio_read64(TESTDEV_MMIO(TESTDEV_COUNTER_OFFSET));
	__atomic_store_n(&sink, acc, __ATOMIC_RELAXED);
}

static void op_hypercall(uint64_t n)
{
	uint64_t acc = 0;

	for (uint64_t i = 0; i < n; i++)
		acc += hypercall0(TESTDEV_HC_SIGNATURE);
	__atomic_store_n(&sink, acc, __ATOMIC_RELAXED);
}

static void bench(unsigned cpu, const char *name, bench_op_t op)
{
	uint64_t n, t0, t1, ns;

	if (cpu != 0)
		return;
	n = cmdline_get_u64("n", BENCH_DEFAULT_N);
	t0 = testdev_clock_ns();
	op(n);
	t1 = testdev_clock_ns();
	ns = t1 - t0;
	kprintf("bench %s n=%lu ns=%lu ns_per_op=%lu\n", name, n, ns, n ? ns / n : 0);
	testdev_exit(0);
}

void wl_bench_pio(unsigned cpu)
{
	bench(cpu, "pio", op_pio);
}

void wl_bench_pio_read(unsigned cpu)
{
	bench(cpu, "pio-read", op_pio_read);
}

void wl_bench_mmio_read(unsigned cpu)
{
	bench(cpu, "mmio-read", op_mmio_read);
}

void wl_bench_mmio_counter(unsigned cpu)
{
	bench(cpu, "mmio-counter", op_mmio_counter);
}

void wl_bench_hypercall(unsigned cpu)
{
	bench(cpu, "hypercall", op_hypercall);
}
