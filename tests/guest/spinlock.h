/* SPDX-License-Identifier: MIT */
/*
 * A test-and-set spin lock that also disables interrupts while held, so an
 * interrupt handler on the holder's vCPU can never spin on it. Used to share
 * a virtqueue (and the IOAPIC's select/window pair) between vCPUs.
 */
#ifndef SQUIB_GUEST_SPINLOCK_H
#define SQUIB_GUEST_SPINLOCK_H

#include <stdint.h>

#include "guest.h"

struct spinlock {
	uint32_t taken;
};

static inline uint64_t irq_save(void)
{
	uint64_t flags;

	__asm__ __volatile__("pushfq\n\tpopq %0\n\tcli" : "=r"(flags) : : "memory");
	return flags;
}

static inline void irq_restore(uint64_t flags)
{
	if (flags & (1u << 9)) /* IF */
		irq_enable();
}

/* Returns the caller's interrupt flag state for spin_unlock_irqrestore. */
static inline uint64_t spin_lock_irqsave(struct spinlock *l)
{
	uint64_t flags = irq_save();

	while (__atomic_exchange_n(&l->taken, 1, __ATOMIC_ACQUIRE)) {
		while (__atomic_load_n(&l->taken, __ATOMIC_RELAXED))
			cpu_relax();
	}
	return flags;
}

static inline void spin_unlock_irqrestore(struct spinlock *l, uint64_t flags)
{
	__atomic_store_n(&l->taken, 0, __ATOMIC_RELEASE);
	irq_restore(flags);
}

#endif
