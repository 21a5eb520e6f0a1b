/* SPDX-License-Identifier: MIT */
/*
 * Core declarations of the raw test guest: boot information, per-vCPU data,
 * atomics, halting, the console printf, checks and the freestanding string
 * helpers. Built with GUEST_CFLAGS (freestanding, no SSE, no red zone).
 */
#ifndef SQUIB_GUEST_GUEST_H
#define SQUIB_GUEST_GUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NORETURN __attribute__((noreturn))
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* vCPUs with a higher index park at once (they never run a workload). */
#define GUEST_MAX_CPUS 64

/* What the entry registers said, filled by vCPU 0 before the others run. */
struct boot_info {
	uint64_t ncpus;      /* rsi: number of vCPUs of the VM */
	uint64_t ncpus_used; /* min(ncpus, GUEST_MAX_CPUS): the ones that take part */
	uint64_t ram_size;   /* rdx: guest RAM in bytes */
	uint64_t cmdline_gpa;/* rcx: 0 when none */
};
extern struct boot_info boot;

/* Per-vCPU data, reached through the GS base (set by percpu_init). */
struct percpu {
	uint32_t cpu;
	uint32_t irq_nesting;
};
void percpu_init(unsigned cpu);

static inline unsigned this_cpu(void)
{
	uint32_t cpu;
	__asm__ __volatile__("movl %%gs:0, %0" : "=r"(cpu));
	return cpu;
}

static inline void cpu_relax(void)
{
	__asm__ __volatile__("pause" ::: "memory");
}

static inline void irq_enable(void)
{
	__asm__ __volatile__("sti" ::: "memory");
}

static inline void irq_disable(void)
{
	__asm__ __volatile__("cli" ::: "memory");
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ __volatile__("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

static inline uint64_t read_cr2(void)
{
	uint64_t v;
	__asm__ __volatile__("mov %%cr2, %0" : "=r"(v));
	return v;
}

/* `cli; hlt` forever: what a vCPU with nothing (more) to do runs. */
NORETURN void park(void);

/* Atomics (x86: plain loads/stores are acquire/release; RMW are locked). */
static inline uint32_t atomic_load32(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void atomic_store32(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static inline uint32_t atomic_inc32(uint32_t *p)
{
	return __atomic_add_fetch(p, 1, __ATOMIC_SEQ_CST);
}

/* Spins until *p >= v. */
static inline void wait_until_at_least(const uint32_t *p, uint32_t v)
{
	while (atomic_load32(p) < v)
		cpu_relax();
}

/* Console (COM1). Every call prints whole under a lock: lines of several
 * vCPUs never interleave. Formats: %s %c %d %i %u %x %X %p %%, with l/ll/z
 * length modifiers, the 0 and - flags and a width. */
void kprintf(const char *fmt, ...) PRINTF_LIKE(1, 2);
void kvprintf(const char *fmt, va_list ap) PRINTF_LIKE(1, 0);
void kputs(const char *s); /* s followed by a newline */
bool console_input_waiting(void); /* a byte typed on the console (COM1 LSR DR); never consumes it */
int ksnprintf(char *buf, size_t size, const char *fmt, ...) PRINTF_LIKE(3, 4);
int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap) PRINTF_LIKE(3, 0);

/* Freestanding string helpers (lib.c); gcc may also call the mem* ones. */
void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

#endif
