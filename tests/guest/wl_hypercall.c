/* SPDX-License-Identifier: MIT */
/*
 * hypercall: the testdev hypercall doorbell (outb %al, $0xf5).
 * vCPU 0 only; needs --testdev. One `ok <name>` per check, then PASS/FAILED.
 *   hc-signature   func 0 returns TESTDEV_SIGNATURE
 *   hc-sum         func 1 with six distinct small arguments
 *   hc-sum-wrap    func 1 whose sum overflows 64 bits
 *   hc-unknown     func 7 returns ~0
 *   hc-clock       func 2 twice: non-decreasing, not ~0
 *   hc-reg-<r>     hypercall_regs.S: every register but rax preserved
 */
#include "check.h"
#include "guest.h"
#include "hypercall_regs.h"
#include "testdev.h"
#include "workloads.h"

static void registers_preserved(void)
{
	static const char *const names[HC_SNAP_COUNT] = {
		"hc-reg-rax", "hc-reg-rbx", "hc-reg-rbp", "hc-reg-r12", "hc-reg-r13",
		"hc-reg-r14", "hc-reg-r15", "hc-reg-rdi", "hc-reg-rsi", "hc-reg-rdx",
		"hc-reg-r10", "hc-reg-r8",  "hc-reg-r9",  "hc-reg-rcx", "hc-reg-r11",
	};
	static const uint64_t expected[HC_SNAP_COUNT] = {
		HC_PAT_SUM, HC_PAT_RBX, HC_PAT_RBP, HC_PAT_R12, HC_PAT_R13,
		HC_PAT_R14, HC_PAT_R15, HC_PAT_RDI, HC_PAT_RSI, HC_PAT_RDX,
		HC_PAT_R10, HC_PAT_R8,  HC_PAT_R9,  HC_PAT_RCX, HC_PAT_R11,
	};
	uint64_t got[HC_SNAP_COUNT];
	unsigned bad = 0;

	hypercall_regs_snapshot(got);
	for (unsigned i = 0; i < HC_SNAP_COUNT; i++) {
		if (!check_eq_quiet(names[i], expected[i], got[i]))
			bad++;
	}
	if (!bad)
		kputs("ok hc-regs");
}

void wl_hypercall(unsigned cpu)
{
	uint64_t t0, t1;

	if (cpu != 0)
		return;
	check_eq("hc-signature", TESTDEV_SIGNATURE, hypercall0(TESTDEV_HC_SIGNATURE));
	check_eq("hc-sum", 1 + 20 + 300 + 4000 + 50000 + 600000,
		 hypercall6(TESTDEV_HC_SUM, 1, 20, 300, 4000, 50000, 600000));
	check_eq("hc-sum-wrap", 0x8000000000001233ull /* mod 2^64 */,
		 hypercall6(TESTDEV_HC_SUM, 0xffffffffffffffffull, 0x8000000000000000ull,
			    0x7fffffffffffffffull, 0x1000, 0x234, 0x8000000000000001ull));
	check_eq("hc-unknown", TESTDEV_HC_UNKNOWN_RESULT, hypercall0(7));
	t0 = testdev_clock_ns();
	t1 = testdev_clock_ns();
	check_ge("hc-clock", t0, t1);
	if (t0 == ~0ull)
		check_fail("hc-clock-valid", "func 2 returned ~0");
	registers_preserved();
	finish();
}
