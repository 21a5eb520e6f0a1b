/* SPDX-License-Identifier: MIT */
/* The blk-verify sector pattern (blk_pattern.h has the definition). */
#include "blk_pattern.h"
#include "guest.h"
#include "xorshift.h"

#define XS_START 32u
#define SUM_AT 504u

static void put_le64(uint8_t *p, uint64_t v)
{
	for (unsigned i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

void blk_pattern_fill(uint8_t *sector, uint64_t s, uint64_t pass, uint64_t seed)
{
	uint64_t x = (s * 0x9E3779B97F4A7C15ull) ^ (pass << 32) ^ seed ^ 1;

	put_le64(sector + 0, BLK_PATTERN_MAGIC);
	put_le64(sector + 8, s);
	put_le64(sector + 16, pass);
	put_le64(sector + 24, seed);
	for (unsigned off = XS_START; off < SUM_AT; off += 8)
		put_le64(sector + off, xorshift64(&x)); /* 472 bytes: exactly 59 outputs */
	put_le64(sector + SUM_AT, fnv1a64(sector, SUM_AT));
}

int blk_pattern_check(const uint8_t *sector, uint64_t s, uint64_t pass, uint64_t seed)
{
	uint8_t want[BLK_PATTERN_SECTOR];

	blk_pattern_fill(want, s, pass, seed);
	for (unsigned i = 0; i < BLK_PATTERN_SECTOR; i++) {
		if (sector[i] != want[i])
			return (int)i;
	}
	return -1;
}
