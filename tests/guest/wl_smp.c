/* SPDX-License-Identifier: MIT */
/*
 * smp: every vCPU (up to GUEST_MAX_CPUS) at once:
 *   - writes its own testdev MMIO slot (offset 8 * cpu) and reads it back,
 *   - makes hypercall 1 with arguments depending on its index,
 *   - after all have written, reads the slot of vCPU (cpu + 1) % n,
 *   - prints `vcpu <i> ok` (or its FAIL lines).
 * vCPU 0 waits for all, then prints PASS (exit 0) or FAILED <n> (exit 1).
 * Needs --testdev.
 */
#include "check.h"
#include "common/platform.h"
#include "guest.h"
#include "io.h"
#include "testdev.h"
#include "workloads.h"

static uint32_t written; /* vCPUs whose slot holds its value */
static uint32_t done;    /* vCPUs finished */

static uint64_t slot_value(unsigned cpu)
{
	return 0x5a5a000000000000ull | (uint64_t)cpu << 16 | 0xa5;
}

void wl_smp(unsigned cpu)
{
	const uint32_t n = (uint32_t)boot.ncpus_used;
	const unsigned peer = (cpu + 1) % n;
	char name[32];
	bool ok = true;
	uint64_t got;

	mmio_write64(TESTDEV_MMIO(8 * cpu), slot_value(cpu));
	ksnprintf(name, sizeof(name), "smp-mmio-%u", cpu);
	ok &= check_eq_quiet(name, slot_value(cpu), mmio_read64(TESTDEV_MMIO(8 * cpu)));

	got = hypercall6(TESTDEV_HC_SUM, cpu, 1, 2, 3, 4, (uint64_t)cpu << 32);
	ksnprintf(name, sizeof(name), "smp-hc-%u", cpu);
	ok &= check_eq_quiet(name, (uint64_t)cpu + 10 + ((uint64_t)cpu << 32), got);

	atomic_inc32(&written);
	wait_until_at_least(&written, n);
	ksnprintf(name, sizeof(name), "smp-peer-%u", cpu);
	ok &= check_eq_quiet(name, slot_value(peer), mmio_read64(TESTDEV_MMIO(8 * peer)));

	if (ok)
		kprintf("vcpu %u ok\n", cpu);
	atomic_inc32(&done);
	if (cpu != 0)
		return;
	wait_until_at_least(&done, n);
	finish();
}
