/* SPDX-License-Identifier: MIT */
/*
 * int3: a #BP handler counts its calls and records the saved rip; vCPU 0
 * runs int3_trigger (int3 followed by the label int3_resume) once.
 * Checks: int3-count (1), int3-rip (== int3_resume, i.e. the instruction
 * right after the 1-byte int3), int3-resumed (execution went on), int3-cs.
 * Needs --testdev. One `ok <name>` per check, then PASS/FAILED.
 *
 * int3-emulated: the same int3 behind KVM's forced-emulation prefix (ud2 "kvm";
 * honoured when kvm.force_emulation_prefix=1). KVM's emulator cannot deliver
 * int3 in 64-bit mode and reports an emulation failure, as the PVM backend
 * does for every int3: the VMM must inject #BP itself for these checks to pass.
 */
#include "check.h"
#include "guest.h"
#include "idt.h"
#include "testdev.h"
#include "workloads.h"

void int3_trigger(void);
extern char int3_resume[];
void int3_emulated_trigger(void);
extern char int3_emulated_resume[];

/* A separate function so the label exists exactly once. */
__asm__(".pushsection .text\n"
	".globl int3_trigger\n"
	".type int3_trigger, @function\n"
	"int3_trigger:\n"
	"\tint3\n"
	".globl int3_resume\n"
	"int3_resume:\n"
	"\tret\n"
	".size int3_trigger, . - int3_trigger\n"
	".globl int3_emulated_trigger\n"
	".type int3_emulated_trigger, @function\n"
	"int3_emulated_trigger:\n"
	"\t.byte 0x0f, 0x0b, 0x6b, 0x76, 0x6d\n" /* ud2; "kvm": KVM's forced-emulation prefix */
	"\tint3\n"
	".globl int3_emulated_resume\n"
	"int3_emulated_resume:\n"
	"\tret\n"
	".size int3_emulated_trigger, . - int3_emulated_trigger\n"
	".popsection\n");

static uint32_t bp_count;
static uint64_t bp_rip;
static uint64_t bp_cs;

static void bp_handler(struct isr_frame *frame)
{
	bp_count++;
	bp_rip = frame->rip; /* #BP is a trap: rip is past the int3 */
	bp_cs = frame->cs;
}

static void run_int3(void (*trigger)(void), const char *resume)
{
	uint16_t cs;
	uint32_t resumed = 0;

	idt_set_handler(EXC_BP, bp_handler);
	trigger();
	__atomic_store_n(&resumed, 1, __ATOMIC_SEQ_CST);
	idt_set_handler(EXC_BP, 0);

	__asm__ __volatile__("mov %%cs, %0" : "=r"(cs));
	check_eq("int3-count", 1, __atomic_load_n(&bp_count, __ATOMIC_SEQ_CST));
	check_eq("int3-rip", (uint64_t)(uintptr_t)resume, bp_rip);
	check_eq("int3-resumed", 1, resumed);
	check_eq("int3-cs", cs, bp_cs);
	finish();
}

void wl_int3(unsigned cpu)
{
	if (cpu == 0)
		run_int3(int3_trigger, int3_resume);
}

void wl_int3_emulated(unsigned cpu)
{
	if (cpu == 0)
		run_int3(int3_emulated_trigger, int3_emulated_resume);
}
