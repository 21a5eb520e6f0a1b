/* SPDX-License-Identifier: MIT */
/*
 * Checks: every check prints `ok <name>` or
 * `FAIL <name>: expected 0x<e> got 0x<g>`. finish() prints `PASS` and exits
 * through testdev with 0, or prints `FAILED <n>` and exits with 1.
 * Safe to use from several vCPUs at once.
 */
#ifndef SQUIB_GUEST_CHECK_H
#define SQUIB_GUEST_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "guest.h"

/* Prints ok/FAIL; returns whether got == expected. */
bool check_eq(const char *name, uint64_t expected, uint64_t got);
/* Same, printing only on failure (for checks repeated many times). */
bool check_eq_quiet(const char *name, uint64_t expected, uint64_t got);
/* got >= min: ok, else `FAIL <name>: expected >=0x<min> got 0x<got>`. */
bool check_ge(const char *name, uint64_t min, uint64_t got);
/* Records a failure with a free-form reason: `FAIL <name>: <reason>`. */
void check_fail(const char *name, const char *reason);
/* Number of failed checks so far. */
uint32_t check_failures(void);
/* PASS + exit 0, or FAILED <n> + exit 1 (testdev). */
NORETURN void finish(void);

#endif
