/* SPDX-License-Identifier: MIT */
/*
 * The routing table: which worker owns each port and guest-physical range.
 *
 * The monitor fills it before any vCPU runs (route_table_add refuses
 * overlaps, as bhyve's inout.c does); vCPU workers only look up. Lookups are
 * by the access's first byte: a device receives absolute addresses and
 * checks the rest of the access against its own window.
 *
 * Freestanding: used inside vCPU workers.
 */
#ifndef SQUIB_VCPU_ROUTES_H
#define SQUIB_VCPU_ROUTES_H

#include <stdint.h>

#include "common/compiler.h"

enum route_space {
	ROUTE_SPACE_PIO = 0,
	ROUTE_SPACE_MMIO = 1,
};

enum route_target {
	ROUTE_TARGET_DEVICE = 1,         /* a device worker's ring: `device` indexes it */
	ROUTE_TARGET_PLATFORM_POWER = 2, /* PM1a control: SLP_EN write -> Shutdown */
	ROUTE_TARGET_PLATFORM_RESET = 3, /* i8042 command port: 0xfe write -> Reset */
	ROUTE_TARGET_INLINE_TESTDEV = 4, /* benchmark baseline: testdev inside the vCPU worker */
	ROUTE_TARGET_PLATFORM_PM1_EVT = 5, /* ACPI PM1a event block: status reads 0, enable is a plain register */
	ROUTE_TARGET_PLATFORM_PCI_CONFIG = 7, /* PCI configuration mechanism #1 with an empty bus */
	ROUTE_TARGET_PLATFORM_ABSENT = 6, /* a PC port squib does not have: reads all ones, writes
					    ignored, not logged (POST code 0x80, CMOS, COM2-4, ...) */
};

/* The port is a hypercall doorbell: a write becomes VmExit::Hypercall. */
#define ROUTE_FLAG_HYPERCALL 1u

struct route {
	enum route_space space;
	uint64_t base;
	uint64_t len; /* >= 1; base + len must not wrap, ports stay below 0x10000 */
	enum route_target target;
	uint32_t device; /* ROUTE_TARGET_DEVICE: index of the device worker */
	uint32_t flags;
	const char *owner; /* for logs: the device's name */
};

#define ROUTE_TABLE_MAX 64

struct route_table {
	uint32_t count;
	struct route entries[ROUTE_TABLE_MAX]; /* sorted by (space, base) */
};

void route_table_init(struct route_table *t);

/*
 * Adds r. 0; -EINVAL for len 0, a wrapping range or a port range past 0xffff;
 * -EEXIST when it overlaps an existing entry of the same space; -ENOSPC.
 */
int route_table_add(struct route_table *t, const struct route *r) MUST_USE;

/* The entry containing addr in space, or NULL (unclaimed). */
const struct route *route_lookup(const struct route_table *t, enum route_space space, uint64_t addr);

#endif
