/* SPDX-License-Identifier: MIT */
/*
 * The blk-verify pattern, defined per 512-byte sector s of pass p with a
 * 64-bit seed, so a host test can regenerate it (all integers little-endian):
 *
 *   bytes   0..7    0x5441504b4c425153 ("SQBLKPAT" as bytes)
 *   bytes   8..15   s
 *   bytes  16..23   p
 *   bytes  24..31   seed
 *   bytes  32..503  59 outputs of xorshift64 (x ^= x << 13; x ^= x >> 7;
 *                   x ^= x << 17; output x), 8 bytes each, the state
 *                   starting at (s * 0x9E3779B97F4A7C15) ^ (p << 32) ^ seed ^ 1
 *                   (all mod 2^64; a state of 0 stays 0)
 *   bytes 504..511  FNV-1a-64 (offset 0xcbf29ce484222325, prime
 *                   0x100000001b3) of bytes 0..503
 */
#ifndef SQUIB_GUEST_BLK_PATTERN_H
#define SQUIB_GUEST_BLK_PATTERN_H

#include <stdint.h>

#define BLK_PATTERN_MAGIC 0x5441504b4c425153ull
#define BLK_PATTERN_SECTOR 512u

/* Writes the 512 bytes of sector s, pass p. */
void blk_pattern_fill(uint8_t *sector, uint64_t s, uint64_t pass, uint64_t seed);
/* -1 when the 512 bytes match, else the offset of the first wrong byte. */
int blk_pattern_check(const uint8_t *sector, uint64_t s, uint64_t pass, uint64_t seed);

#endif
