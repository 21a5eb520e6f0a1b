/* SPDX-License-Identifier: MIT */
/*
 * Memory that devices read or write (request headers, data buffers, frames):
 * handed out page-aligned from one static, page-aligned arena in .bss.
 * Nothing is ever freed: a workload allocates what it needs once. The guest
 * is identity-mapped, so a pointer is its guest-physical address.
 */
#ifndef SQUIB_GUEST_DMA_H
#define SQUIB_GUEST_DMA_H

#include <stddef.h>
#include <stdint.h>

#define DMA_ARENA_SIZE (6u << 20)
#define DMA_ALIGN 4096u

/* size bytes rounded up to whole pages, zeroed; NULL when the arena is spent. */
void *dma_alloc(size_t size);
/* Bytes still free. */
size_t dma_free_bytes(void);

static inline uint64_t dma_addr(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

#endif
