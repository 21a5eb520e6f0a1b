/* SPDX-License-Identifier: MIT */
/*
 * xorshift64 (Marsaglia 2003, shifts 13, 7, 17) and FNV-1a-64: the two
 * primitives of the blk test pattern (blk_pattern.h), also used for random
 * block numbers. A zero state stays zero.
 */
#ifndef SQUIB_GUEST_XORSHIFT_H
#define SQUIB_GUEST_XORSHIFT_H

#include <stddef.h>
#include <stdint.h>

/* Advances *x one step and returns the new state. */
static inline uint64_t xorshift64(uint64_t *x)
{
	uint64_t v = *x;

	v ^= v << 13;
	v ^= v >> 7;
	v ^= v << 17;
	*x = v;
	return v;
}

#define FNV1A64_OFFSET 0xcbf29ce484222325ull
#define FNV1A64_PRIME 0x100000001b3ull

static inline uint64_t fnv1a64(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = FNV1A64_OFFSET;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= FNV1A64_PRIME;
	}
	return h;
}

#endif
