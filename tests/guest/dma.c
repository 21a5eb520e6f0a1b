/* SPDX-License-Identifier: MIT */
/* The DMA arena: a bump allocator over static page-aligned .bss (any vCPU). */
#include "dma.h"
#include "guest.h"

static uint8_t arena[DMA_ARENA_SIZE] __attribute__((aligned(DMA_ALIGN)));
static size_t used;

void *dma_alloc(size_t size)
{
	size_t n = (size + DMA_ALIGN - 1) & ~(size_t)(DMA_ALIGN - 1);
	size_t old = __atomic_load_n(&used, __ATOMIC_RELAXED);

	do {
		if (n > DMA_ARENA_SIZE - old)
			return 0;
	} while (!__atomic_compare_exchange_n(&used, &old, old + n, false, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
	/* .bss starts zeroed and nothing is handed out twice. */
	return &arena[old];
}

size_t dma_free_bytes(void)
{
	return DMA_ARENA_SIZE - __atomic_load_n(&used, __ATOMIC_RELAXED);
}
