/* SPDX-License-Identifier: MIT */
/*
 * Workloads, chosen by the first word of the command line. Every vCPU
 * below GUEST_MAX_CPUS calls the workload's run(cpu); a vCPU whose run
 * returns parks. Each workload decides what vCPUs other than 0 do.
 */
#ifndef SQUIB_GUEST_WORKLOADS_H
#define SQUIB_GUEST_WORKLOADS_H

struct workload {
	const char *name;
	void (*run)(unsigned cpu);
};

/* Looks a workload up by name; NULL when unknown. "" is demo. */
const struct workload *workload_find(const char *name);

void wl_demo(unsigned cpu);
void wl_serial(unsigned cpu);
void wl_pio(unsigned cpu);
void wl_mmio(unsigned cpu);
void wl_scratch_verify(unsigned cpu);
void wl_hypercall(unsigned cpu);
void wl_int3(unsigned cpu);
void wl_int3_emulated(unsigned cpu);
void wl_timer(unsigned cpu);
void wl_triple(unsigned cpu);
void wl_fault(unsigned cpu);
void wl_stack_fault(unsigned cpu);
void wl_reset(unsigned cpu);
void wl_poweroff(unsigned cpu);
void wl_exit(unsigned cpu);
void wl_smp(unsigned cpu);
void wl_spin(unsigned cpu);
void wl_step(unsigned cpu);
void wl_bench_pio(unsigned cpu);
void wl_bench_pio_read(unsigned cpu);
void wl_bench_mmio_read(unsigned cpu);
void wl_bench_mmio_counter(unsigned cpu);
void wl_bench_hypercall(unsigned cpu);
void wl_rng(unsigned cpu);
void wl_blk_verify(unsigned cpu);
void wl_blk_ro(unsigned cpu);
void wl_blk_bench(unsigned cpu);
void wl_net_send(unsigned cpu);
void wl_net_echo(unsigned cpu);
void wl_net_bench(unsigned cpu);
void wl_virtio_smp(unsigned cpu);
void wl_hostile(unsigned cpu);
void wl_uart_irq(unsigned cpu);

#endif
