/* SPDX-License-Identifier: MIT */
/*
 * Compiler helpers shared by every squib component.
 *
 * Error convention, project-wide: a fallible function returns 0 (or a
 * non-negative count) on success and -errno on failure, and is marked
 * MUST_USE so a caller cannot silently drop the result.
 */
#ifndef SQUIB_COMMON_COMPILER_H
#define SQUIB_COMMON_COMPILER_H

#define MUST_USE __attribute__((warn_unused_result))
#define NORETURN __attribute__((noreturn))
#define UNUSED __attribute__((unused))
#define ALIGNED(n) __attribute__((aligned(n)))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define CACHELINE 64

/* Spin-wait hint for busy loops on shared memory. */
static inline void cpu_relax(void)
{
	__asm__ __volatile__("pause" ::: "memory");
}

#endif
