/* SPDX-License-Identifier: MIT */
/*
 * The guest command line (--cmdline): `<workload> [key=value ...]`, words
 * separated by blanks. Parsed once by vCPU 0 before the others start.
 */
#ifndef SQUIB_GUEST_CMDLINE_H
#define SQUIB_GUEST_CMDLINE_H

#include <stdbool.h>
#include <stdint.h>

#define CMDLINE_MAX 256 /* longer command lines are cut */
#define CMDLINE_MAX_WORDS 16

/* Copies and splits the NUL-terminated string at guest-physical gpa (0: none). */
void cmdline_init(uint64_t gpa);
/* First word, "" when the command line is absent or blank. */
const char *cmdline_workload(void);
/* Value of key=value, "" for a bare `key`, NULL when absent. */
const char *cmdline_get(const char *key);
/*
 * Numeric parameter (decimal, or hex with 0x). Returns def when absent;
 * when present but malformed, prints a FAIL line and returns def.
 */
uint64_t cmdline_get_u64(const char *key, uint64_t def);
/* Parses a whole decimal or 0x-hex string. */
bool parse_u64(const char *s, uint64_t *out);

#endif
