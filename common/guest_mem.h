/* SPDX-License-Identifier: MIT */
/*
 * The one checked accessor for guest-physical memory.
 *
 * Threat note: every guest-physical address and length reaching this file
 * is chosen by the guest (or by a peer worker relaying it) and is hostile.
 * All range checks are overflow-safe: gpa + len may wrap, len may be huge.
 * No other code in squib computes a host pointer from a guest address.
 *
 * Freestanding: no libc calls, usable from vCPU workers.
 */
#ifndef SQUIB_COMMON_GUEST_MEM_H
#define SQUIB_COMMON_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"

struct guest_mem {
	uint8_t *host_base; /* mapping of guest-physical 0 */
	uint64_t size;      /* bytes of guest RAM mapped at host_base */
};

/* True when [gpa, gpa + len) lies inside guest RAM. len 0 is allowed. */
static inline bool guest_mem_range_ok(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	if (gpa > gm->size)
		return false;
	return len <= gm->size - gpa;
}

/*
 * Host pointer for [gpa, gpa + len), or NULL when any byte of it lies
 * outside guest RAM. The pointer aliases memory the guest (and other
 * workers) may change at any moment: copy values out before checking them.
 */
static inline MUST_USE void *guest_mem_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	if (!guest_mem_range_ok(gm, gpa, len))
		return NULL;
	return gm->host_base + gpa;
}

/* Copies len bytes out of guest RAM. 0, or -EFAULT when out of range. */
static inline MUST_USE int guest_mem_read(const struct guest_mem *gm, uint64_t gpa, void *dst, uint64_t len)
{
	const volatile uint8_t *src = guest_mem_ptr(gm, gpa, len);
	uint8_t *d = dst;

	if (!src)
		return -14; /* -EFAULT; errno.h is not freestanding */
	for (uint64_t i = 0; i < len; i++)
		d[i] = src[i];
	return 0;
}

/* Copies len bytes into guest RAM. 0, or -EFAULT when out of range. */
static inline MUST_USE int guest_mem_write(const struct guest_mem *gm, uint64_t gpa, const void *src, uint64_t len)
{
	volatile uint8_t *dst = guest_mem_ptr(gm, gpa, len);
	const uint8_t *s = src;

	if (!dst)
		return -14; /* -EFAULT */
	for (uint64_t i = 0; i < len; i++)
		dst[i] = s[i];
	return 0;
}

#endif
