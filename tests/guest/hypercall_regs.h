/* SPDX-License-Identifier: MIT */
/*
 * Register patterns of hypercall_regs_snapshot (hypercall_regs.S); included
 * by the assembly file too, so plain #defines only. The six argument
 * patterns sum (mod 2^64) to HC_PAT_SUM, which the hypercall must return.
 */
#ifndef SQUIB_GUEST_HYPERCALL_REGS_H
#define SQUIB_GUEST_HYPERCALL_REGS_H

#define HC_SNAP_COUNT 15

#define HC_PAT_RBX 0xb0b1b2b3b4b5b6b7
#define HC_PAT_RBP 0xb8b9babbbcbdbebf
#define HC_PAT_R12 0xc0c1c2c3c4c5c6c7
#define HC_PAT_R13 0xc8c9cacbcccdcecf
#define HC_PAT_R14 0xd0d1d2d3d4d5d6d7
#define HC_PAT_R15 0xd8d9dadbdcdddedf
#define HC_PAT_RDI 0x1000000000000001
#define HC_PAT_RSI 0x2000000000000002
#define HC_PAT_RDX 0x3000000000000003
#define HC_PAT_R10 0x4000000000000004
#define HC_PAT_R8 0x5000000000000005
#define HC_PAT_R9 0x6000000000000006
#define HC_PAT_RCX 0xe0e1e2e3e4e5e6e7
#define HC_PAT_R11 0xe8e9eaebecedeeef
/* 0x1+0x2+...+0x6 = 0x15 (high nibbles 1..6 sum to 0x15 too: 0x5 survives) */
#define HC_PAT_SUM 0x5000000000000015

#ifndef __ASSEMBLER__
#include <stdint.h>
void hypercall_regs_snapshot(uint64_t out[HC_SNAP_COUNT]);
#endif

#endif
