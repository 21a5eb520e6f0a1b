/* SPDX-License-Identifier: MIT */
/* The local APIC (xAPIC MMIO at LAPIC_BASE) of the calling vCPU. */
#ifndef SQUIB_GUEST_LAPIC_H
#define SQUIB_GUEST_LAPIC_H

#include <stdint.h>

#define LAPIC_REG_ID 0x20
#define LAPIC_REG_TPR 0x80
#define LAPIC_REG_EOI 0xb0
#define LAPIC_REG_SVR 0xf0
#define LAPIC_REG_LVT_TIMER 0x320
#define LAPIC_REG_TIMER_INITIAL 0x380
#define LAPIC_REG_TIMER_CURRENT 0x390
#define LAPIC_REG_TIMER_DIVIDE 0x3e0

#define LAPIC_SVR_ENABLE (1u << 8)
#define LAPIC_LVT_MASKED (1u << 16)
#define LAPIC_LVT_TIMER_PERIODIC (1u << 17)
#define LAPIC_TIMER_DIVIDE_16 0x3

uint32_t lapic_read(uint32_t reg);
void lapic_write(uint32_t reg, uint32_t v);
/* Software-enables the APIC (spurious vector 0xff, ignored) with TPR 0. */
void lapic_enable(void);
void lapic_eoi(void);
/* Periodic timer: `vector` every count * 16 bus cycles. */
void lapic_timer_periodic(uint8_t vector, uint32_t count);
/* Masks the timer and stops it. */
void lapic_timer_stop(void);

#endif
