/* SPDX-License-Identifier: MIT */
/* Local APIC access (in-kernel xAPIC at LAPIC_BASE, 32-bit registers). */
#include "common/platform.h"
#include "guest.h"
#include "idt.h"
#include "io.h"
#include "lapic.h"

uint32_t lapic_read(uint32_t reg)
{
	return mmio_read32(LAPIC_BASE + reg);
}

void lapic_write(uint32_t reg, uint32_t v)
{
	mmio_write32(LAPIC_BASE + reg, v);
}

static void spurious_isr(struct isr_frame *frame)
{
	(void)frame; /* spurious interrupts take no EOI */
}

void lapic_enable(void)
{
	idt_set_handler(VECTOR_SPURIOUS, spurious_isr);
	lapic_write(LAPIC_REG_TPR, 0);
	lapic_write(LAPIC_REG_SVR, LAPIC_SVR_ENABLE | VECTOR_SPURIOUS);
}

void lapic_eoi(void)
{
	lapic_write(LAPIC_REG_EOI, 0);
}

void lapic_timer_periodic(uint8_t vector, uint32_t count)
{
	lapic_write(LAPIC_REG_TIMER_DIVIDE, LAPIC_TIMER_DIVIDE_16);
	lapic_write(LAPIC_REG_LVT_TIMER, LAPIC_LVT_TIMER_PERIODIC | vector);
	lapic_write(LAPIC_REG_TIMER_INITIAL, count); /* starts the timer */
}

void lapic_timer_stop(void)
{
	lapic_write(LAPIC_REG_LVT_TIMER, LAPIC_LVT_MASKED);
	lapic_write(LAPIC_REG_TIMER_INITIAL, 0);
}
