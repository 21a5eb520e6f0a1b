/* SPDX-License-Identifier: MIT */
/*
 * Raw Linux x86-64 system calls, for code that must not touch libc state.
 *
 * vCPU workers are clone(CLONE_VM) tasks that share the monitor's memory but
 * not its thread: they may not use errno, TLS, malloc, stdio or lazy PLT
 * binding. Every wrapper here is a single `syscall` instruction and returns
 * the kernel's result: >= 0 on success, -errno on failure. Nothing here
 * allocates or reads thread-local state, so it is safe in any task.
 */
#ifndef SQUIB_COMMON_RAW_SYSCALL_H
#define SQUIB_COMMON_RAW_SYSCALL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <linux/futex.h>

#include "common/compiler.h"

/*
 * One `syscall` instruction: nr in rax, arguments in rdi, rsi, rdx, r10, r8,
 * r9 (the x86-64 Linux ABI); returns rax, >= 0 or -errno.
 *
 * SAFETY: the kernel checks nothing about what pointer arguments mean to
 * this program. Each call site is the one that must know the syscall's
 * contract: every pointer argument points to live memory of the size and
 * layout the kernel expects for nr (kernel structs, not glibc's: see
 * rt_sigaction's 8-byte mask in vcpu-worker/worker.c), and the call has no
 * effect the caller's task may not have (in a vCPU worker, nothing that
 * touches the memory it shares with the monitor behind the monitor's back).
 * The "memory" clobber makes the compiler assume the kernel read and wrote
 * any memory, so no store is kept in a register across the call. rcx and
 * r11 are clobbered by the instruction itself.
 */
static inline long raw_syscall6(long nr, long a, long b, long c, long d, long e, long f)
{
	long ret;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	__asm__ __volatile__("syscall"
			     : "=a"(ret)
			     : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			     : "rcx", "r11", "memory");
	return ret;
}

/* raw_syscall6 with three arguments; the same SAFETY contract. */
static inline long raw_syscall3(long nr, long a, long b, long c)
{
	return raw_syscall6(nr, a, b, c, 0, 0, 0);
}

/* write(2). Precondition: buf holds len readable bytes. May be partial. */
static inline long raw_write(int fd, const void *buf, size_t len)
{
	return raw_syscall3(SYS_write, fd, (long)buf, (long)len);
}

/* read(2). Precondition: buf has room for len bytes. */
static inline long raw_read(int fd, void *buf, size_t len)
{
	return raw_syscall3(SYS_read, fd, (long)buf, (long)len);
}

/*
 * ioctl(2). Precondition: arg points to the structure the request number
 * encodes (or is the scalar it expects); the caller documents which.
 */
static inline long raw_ioctl(int fd, unsigned long req, unsigned long arg)
{
	return raw_syscall3(SYS_ioctl, fd, (long)req, (long)arg);
}

/*
 * futex(FUTEX_WAIT) on a word in MAP_SHARED memory (no FUTEX_PRIVATE_FLAG:
 * the waker may be another process). Sleeps only while *uaddr == expected;
 * returns 0 when woken, -EAGAIN if the word already differed, -EINTR on a
 * signal. Spurious wake-ups are possible: callers re-check their condition.
 */
static inline long raw_futex_wait(const volatile uint32_t *uaddr, uint32_t expected)
{
	return raw_syscall6(SYS_futex, (long)uaddr, FUTEX_WAIT, expected, 0, 0, 0);
}

/* raw_futex_wait for at most seconds (relative, CLOCK_MONOTONIC): also -ETIMEDOUT. */
static inline long raw_futex_wait_for(const volatile uint32_t *uaddr, uint32_t expected, uint32_t seconds)
{
	struct {
		long tv_sec, tv_nsec;
	} timeout = { (long)seconds, 0 };

	/* SAFETY: futex(2) reads the timespec on this stack; FUTEX_WAIT takes a relative timeout. */
	return raw_syscall6(SYS_futex, (long)uaddr, FUTEX_WAIT, expected, (long)&timeout, 0, 0);
}

/* futex(FUTEX_WAKE): wakes up to n waiters on a shared word. */
static inline long raw_futex_wake(const volatile uint32_t *uaddr, int n)
{
	return raw_syscall6(SYS_futex, (long)uaddr, FUTEX_WAKE, n, 0, 0, 0);
}

/* Adds 1 to an eventfd counter. Precondition: fd is an eventfd. */
static inline long raw_eventfd_signal(int fd)
{
	uint64_t one = 1;
	return raw_write(fd, &one, sizeof(one));
}

/* Ends the whole thread group (the calling task, for a clone child). */
static inline NORETURN void raw_exit_group(int status)
{
	for (;;)
		raw_syscall3(SYS_exit_group, status, 0, 0);
}

static inline long raw_getpid(void)
{
	return raw_syscall3(SYS_getpid, 0, 0, 0);
}

#endif
