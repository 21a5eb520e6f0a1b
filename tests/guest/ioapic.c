/* SPDX-License-Identifier: MIT */
/* IOAPIC redirection entries (select/window pairs under one lock). */
#include "common/platform.h"
#include "guest.h"
#include "io.h"
#include "ioapic.h"
#include "spinlock.h"

#define IOAPIC_IOREGSEL 0x00
#define IOAPIC_IOWIN 0x10

static struct spinlock ioapic_lock;

static uint32_t read_locked(uint32_t reg)
{
	mmio_write32(IOAPIC_BASE + IOAPIC_IOREGSEL, reg);
	return mmio_read32(IOAPIC_BASE + IOAPIC_IOWIN);
}

static void write_locked(uint32_t reg, uint32_t v)
{
	mmio_write32(IOAPIC_BASE + IOAPIC_IOREGSEL, reg);
	mmio_write32(IOAPIC_BASE + IOAPIC_IOWIN, v);
}

uint32_t ioapic_read(uint32_t reg)
{
	uint64_t flags = spin_lock_irqsave(&ioapic_lock);
	uint32_t v = read_locked(reg);

	spin_unlock_irqrestore(&ioapic_lock, flags);
	return v;
}

void ioapic_write(uint32_t reg, uint32_t v)
{
	uint64_t flags = spin_lock_irqsave(&ioapic_lock);

	write_locked(reg, v);
	spin_unlock_irqrestore(&ioapic_lock, flags);
}

unsigned ioapic_pins(void)
{
	return ((ioapic_read(IOAPIC_REG_VERSION) >> 16) & 0xff) + 1;
}

void ioapic_route_level(unsigned pin, uint8_t vector, uint8_t apic_id)
{
	uint64_t flags = spin_lock_irqsave(&ioapic_lock);

	/* Mask first, set the destination, then unmask with the new vector. */
	write_locked(IOAPIC_REG_REDTBL(pin), IOAPIC_RTE_MASKED);
	write_locked(IOAPIC_REG_REDTBL(pin) + 1, (uint32_t)apic_id << 24);
	write_locked(IOAPIC_REG_REDTBL(pin), IOAPIC_RTE_LEVEL | vector);
	spin_unlock_irqrestore(&ioapic_lock, flags);
}

void ioapic_mask(unsigned pin)
{
	uint64_t flags = spin_lock_irqsave(&ioapic_lock);
	uint32_t low = read_locked(IOAPIC_REG_REDTBL(pin));

	write_locked(IOAPIC_REG_REDTBL(pin), (low & ~IOAPIC_RTE_REMOTE_IRR) | IOAPIC_RTE_MASKED);
	spin_unlock_irqrestore(&ioapic_lock, flags);
}

uint32_t ioapic_entry_low(unsigned pin)
{
	return ioapic_read(IOAPIC_REG_REDTBL(pin));
}

void ioapic_route_edge(unsigned pin, uint8_t vector, uint8_t apic_id)
{
	uint64_t flags = spin_lock_irqsave(&ioapic_lock);

	/* ISA IRQs: edge-triggered, active high (no MADT override). */
	write_locked(IOAPIC_REG_REDTBL(pin), IOAPIC_RTE_MASKED);
	write_locked(IOAPIC_REG_REDTBL(pin) + 1, (uint32_t)apic_id << 24);
	write_locked(IOAPIC_REG_REDTBL(pin), vector);
	spin_unlock_irqrestore(&ioapic_lock, flags);
}
