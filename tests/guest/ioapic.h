/* SPDX-License-Identifier: MIT */
/*
 * The in-kernel IOAPIC at IOAPIC_BASE: indirect registers through IOREGSEL
 * (+0x00) and IOWIN (+0x10). Redirection entry of pin p: low dword at
 * register 0x10 + 2p, high dword at 0x11 + 2p.
 */
#ifndef SQUIB_GUEST_IOAPIC_H
#define SQUIB_GUEST_IOAPIC_H

#include <stdint.h>

#define IOAPIC_REG_ID 0x00
#define IOAPIC_REG_VERSION 0x01 /* bits 16..23: highest redirection entry */
#define IOAPIC_REG_REDTBL(pin) (0x10u + 2u * (pin))

/* Redirection entry, low dword. */
#define IOAPIC_RTE_LEVEL (1u << 15)      /* trigger mode: 1 level, 0 edge */
#define IOAPIC_RTE_ACTIVE_LOW (1u << 13) /* polarity: 0 active high */
#define IOAPIC_RTE_MASKED (1u << 16)
#define IOAPIC_RTE_REMOTE_IRR (1u << 14) /* read-only */
/* Delivery mode fixed (bits 8..10 = 0), destination mode physical (bit 11 = 0). */

uint32_t ioapic_read(uint32_t reg);
void ioapic_write(uint32_t reg, uint32_t v);
/* Number of redirection entries (pins). */
unsigned ioapic_pins(void);
/*
 * Routes `pin` to `vector` on the local APIC with id `apic_id`: fixed
 * delivery, physical destination, level-triggered, active high, unmasked.
 */
void ioapic_route_level(unsigned pin, uint8_t vector, uint8_t apic_id);
/* The same, edge-triggered, active high (an ISA IRQ such as COM1's IRQ 4). */
void ioapic_route_edge(unsigned pin, uint8_t vector, uint8_t apic_id);

/* Masks `pin` (the rest of its entry is kept). */
void ioapic_mask(unsigned pin);
/* The low dword of pin's entry (vector, flags, remote IRR). */
uint32_t ioapic_entry_low(unsigned pin);

#endif
