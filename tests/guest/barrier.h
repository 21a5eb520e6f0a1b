/* SPDX-License-Identifier: MIT */
/*
 * Memory barriers for memory shared with a device (virtqueues). x86 keeps
 * stores in order with stores and loads with loads, so the write and read
 * barriers only have to stop the compiler; a store followed by a load of
 * another location needs a real fence (mfence), e.g. between publishing
 * avail->idx and reading avail_event, or writing used_event and re-reading
 * used->idx.
 */
#ifndef SQUIB_GUEST_BARRIER_H
#define SQUIB_GUEST_BARRIER_H

#include <stdint.h>

static inline void barrier(void)
{
	__asm__ __volatile__("" ::: "memory");
}

/* Earlier stores become visible before later stores. */
static inline void wmb(void)
{
	barrier();
}

/* Earlier loads complete before later loads. */
static inline void rmb(void)
{
	barrier();
}

/* Full fence: also orders earlier stores before later loads. */
static inline void mb(void)
{
	__asm__ __volatile__("mfence" ::: "memory");
}

/* Single accesses of shared memory the compiler may not merge, split or cache. */
static inline uint16_t read_once16(const uint16_t *p)
{
	return *(const volatile uint16_t *)p;
}

static inline uint32_t read_once32(const uint32_t *p)
{
	return *(const volatile uint32_t *)p;
}

static inline void write_once16(uint16_t *p, uint16_t v)
{
	*(volatile uint16_t *)p = v;
}

#endif
