/* SPDX-License-Identifier: MIT */
/* The workload table. */
#include "guest.h"
#include "workloads.h"

static const struct workload table[] = {
	{ "demo", wl_demo },
	{ "serial", wl_serial },
	{ "pio", wl_pio },
	{ "mmio", wl_mmio },
	{ "scratch-verify", wl_scratch_verify },
	{ "hypercall", wl_hypercall },
	{ "int3", wl_int3 },
	{ "int3-emulated", wl_int3_emulated },
	{ "timer", wl_timer },
	{ "triple", wl_triple },
	{ "fault", wl_fault },
	{ "stack-fault", wl_stack_fault },
	{ "reset", wl_reset },
	{ "poweroff", wl_poweroff },
	{ "exit", wl_exit },
	{ "smp", wl_smp },
	{ "spin", wl_spin },
	{ "step", wl_step },
	{ "bench-pio", wl_bench_pio },
	{ "bench-pio-read", wl_bench_pio_read },
	{ "bench-mmio-read", wl_bench_mmio_read },
	{ "bench-mmio-counter", wl_bench_mmio_counter },
	{ "bench-hypercall", wl_bench_hypercall },
	{ "rng", wl_rng },
	{ "blk-verify", wl_blk_verify },
	{ "blk-ro", wl_blk_ro },
	{ "blk-bench", wl_blk_bench },
	{ "net-send", wl_net_send },
	{ "net-echo", wl_net_echo },
	{ "net-bench", wl_net_bench },
	{ "virtio-smp", wl_virtio_smp },
	{ "hostile", wl_hostile },
	{ "uart-irq", wl_uart_irq },
};

const struct workload *workload_find(const char *name)
{
	if (!name[0])
		return &table[0]; /* no command line: demo */
	for (size_t i = 0; i < ARRAY_SIZE(table); i++) {
		if (!strcmp(table[i].name, name))
			return &table[i];
	}
	return 0;
}
