/* SPDX-License-Identifier: MIT */
/*
 * timer: the LAPIC timer in periodic mode on vector 0x40 (divide 16,
 * initial count `count=N`, default 62500: 1 ms with KVM's 1 GHz APIC bus).
 * vCPU 0 waits with `sti; hlt` until the handler (which EOIs) ran 5 times,
 * then `cli` and stops the timer. Needs --testdev. Prints
 *   ok timer-lvt, ok timer-ticks, ok timer-vector,
 *   timer: <ticks> ticks in <us> us      (informational, from hypercall 2)
 * then PASS/FAILED.
 */
#include "check.h"
#include "cmdline.h"
#include "guest.h"
#include "idt.h"
#include "lapic.h"
#include "testdev.h"
#include "workloads.h"

#define WANTED_TICKS 5

static uint32_t ticks;
static uint64_t last_vector;

static void timer_isr(struct isr_frame *frame)
{
	last_vector = frame->vector;
	__atomic_add_fetch(&ticks, 1, __ATOMIC_SEQ_CST);
	lapic_eoi();
}

void wl_timer(unsigned cpu)
{
	uint32_t count, n;
	uint64_t t0, t1;

	if (cpu != 0)
		return;
	count = (uint32_t)cmdline_get_u64("count", 62500);
	idt_set_handler(VECTOR_TIMER, timer_isr);
	lapic_enable();
	t0 = testdev_clock_ns();
	lapic_timer_periodic(VECTOR_TIMER, count ? count : 1);
	check_eq("timer-lvt", LAPIC_LVT_TIMER_PERIODIC | VECTOR_TIMER,
		 lapic_read(LAPIC_REG_LVT_TIMER) & (LAPIC_LVT_TIMER_PERIODIC | LAPIC_LVT_MASKED | 0xff));
	/* sti's one-instruction shadow: no interrupt slips in before hlt. */
	while (__atomic_load_n(&ticks, __ATOMIC_SEQ_CST) < WANTED_TICKS)
		__asm__ __volatile__("sti\n\thlt\n\tcli" ::: "memory");
	lapic_timer_stop();
	t1 = testdev_clock_ns();
	n = __atomic_load_n(&ticks, __ATOMIC_SEQ_CST);

	check_ge("timer-ticks", WANTED_TICKS, n);
	check_eq("timer-vector", VECTOR_TIMER, last_vector);
	kprintf("timer: %u ticks in %lu us\n", n, (t1 - t0) / 1000);
	finish();
}
