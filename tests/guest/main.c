/* SPDX-License-Identifier: MIT */
/*
 * guest_main: per-vCPU set-up, then the workload named by the command line.
 *
 * entry.S has already zeroed .bss (vCPU 0) and released the others. Here
 * vCPU 0 records the boot information, parses the command line and fills
 * the IDT, then sets init_done; the others wait for it. Every vCPU then
 * loads the IDT and runs the workload.
 */
#include "check.h"
#include "cmdline.h"
#include "gdt.h"
#include "guest.h"
#include "idt.h"
#include "testdev.h"
#include "workloads.h"

#define MSR_GS_BASE 0xc0000101

struct boot_info boot;
static struct percpu percpu[GUEST_MAX_CPUS];
static uint32_t init_done;
static const struct workload *workload;

void guest_main(uint64_t cpu, uint64_t ncpus, uint64_t ram_size, uint64_t cmdline_gpa);

void percpu_init(unsigned cpu)
{
	percpu[cpu].cpu = cpu;
	wrmsr(MSR_GS_BASE, (uint64_t)(uintptr_t)&percpu[cpu]);
}

void park(void)
{
	for (;;)
		__asm__ __volatile__("cli\n\thlt" ::: "memory");
}

void guest_main(uint64_t cpu, uint64_t ncpus, uint64_t ram_size, uint64_t cmdline_gpa)
{
	gdt_load();
	if (cpu >= GUEST_MAX_CPUS)
		park(); /* no per-vCPU data for it: stays out of everything */
	percpu_init((unsigned)cpu);
	gdt_load_tss((unsigned)cpu);

	if (cpu == 0) {
		boot.ncpus = ncpus;
		boot.ncpus_used = ncpus < GUEST_MAX_CPUS ? ncpus : GUEST_MAX_CPUS;
		if (boot.ncpus_used == 0)
			boot.ncpus_used = 1;
		boot.ram_size = ram_size;
		boot.cmdline_gpa = cmdline_gpa;
		cmdline_init(cmdline_gpa);
		idt_init();
		workload = workload_find(cmdline_workload());
		atomic_store32(&init_done, 1);
	} else {
		wait_until_at_least(&init_done, 1);
	}
	idt_load();

	if (!workload) {
		if (cpu == 0) {
			kprintf("FAIL workload: unknown '%s'\n", cmdline_workload());
			testdev_exit(1);
		}
		park();
	}
	workload->run((unsigned)cpu);
	park();
}
