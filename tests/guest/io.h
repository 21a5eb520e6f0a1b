/* SPDX-License-Identifier: MIT */
/*
 * Port and memory-mapped I/O for the raw test guest. Every access is one
 * instruction of exactly the named width (inline asm, volatile), so the
 * compiler can neither merge, split, reorder nor drop it. String variants
 * rely on DF = 0 (entry.S and the interrupt stubs clear it).
 */
#ifndef SQUIB_GUEST_IO_H
#define SQUIB_GUEST_IO_H

#include <stddef.h>
#include <stdint.h>

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ __volatile__("outb %0, %w1" : : "a"(v), "Nd"(port) : "memory");
}

static inline void outw(uint16_t port, uint16_t v)
{
	__asm__ __volatile__("outw %0, %w1" : : "a"(v), "Nd"(port) : "memory");
}

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ __volatile__("outl %0, %w1" : : "a"(v), "Nd"(port) : "memory");
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ __volatile__("inb %w1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}

static inline uint16_t inw(uint16_t port)
{
	uint16_t v;
	__asm__ __volatile__("inw %w1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;
	__asm__ __volatile__("inl %w1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}

/* rep outs / rep ins: count elements of the given width. */
static inline void outsb(uint16_t port, const void *buf, size_t count)
{
	__asm__ __volatile__("rep outsb" : "+S"(buf), "+c"(count) : "d"(port) : "memory");
}

static inline void outsw(uint16_t port, const void *buf, size_t count)
{
	__asm__ __volatile__("rep outsw" : "+S"(buf), "+c"(count) : "d"(port) : "memory");
}

static inline void outsl(uint16_t port, const void *buf, size_t count)
{
	__asm__ __volatile__("rep outsl" : "+S"(buf), "+c"(count) : "d"(port) : "memory");
}

static inline void insb(uint16_t port, void *buf, size_t count)
{
	__asm__ __volatile__("rep insb" : "+D"(buf), "+c"(count) : "d"(port) : "memory");
}

static inline void insw(uint16_t port, void *buf, size_t count)
{
	__asm__ __volatile__("rep insw" : "+D"(buf), "+c"(count) : "d"(port) : "memory");
}

static inline void insl(uint16_t port, void *buf, size_t count)
{
	__asm__ __volatile__("rep insl" : "+D"(buf), "+c"(count) : "d"(port) : "memory");
}

/* MMIO: one mov of the given width to/from the guest-physical address. */
static inline void mmio_write8(uint64_t addr, uint8_t v)
{
	__asm__ __volatile__("movb %1, %0" : "=m"(*(volatile uint8_t *)addr) : "q"(v) : "memory");
}

static inline void mmio_write16(uint64_t addr, uint16_t v)
{
	__asm__ __volatile__("movw %1, %0" : "=m"(*(volatile uint16_t *)addr) : "r"(v) : "memory");
}

static inline void mmio_write32(uint64_t addr, uint32_t v)
{
	__asm__ __volatile__("movl %1, %0" : "=m"(*(volatile uint32_t *)addr) : "r"(v) : "memory");
}

static inline void mmio_write64(uint64_t addr, uint64_t v)
{
	__asm__ __volatile__("movq %1, %0" : "=m"(*(volatile uint64_t *)addr) : "r"(v) : "memory");
}

static inline uint8_t mmio_read8(uint64_t addr)
{
	uint8_t v;
	__asm__ __volatile__("movb %1, %0" : "=q"(v) : "m"(*(volatile uint8_t *)addr) : "memory");
	return v;
}

static inline uint16_t mmio_read16(uint64_t addr)
{
	uint16_t v;
	__asm__ __volatile__("movw %1, %0" : "=r"(v) : "m"(*(volatile uint16_t *)addr) : "memory");
	return v;
}

static inline uint32_t mmio_read32(uint64_t addr)
{
	uint32_t v;
	__asm__ __volatile__("movl %1, %0" : "=r"(v) : "m"(*(volatile uint32_t *)addr) : "memory");
	return v;
}

static inline uint64_t mmio_read64(uint64_t addr)
{
	uint64_t v;
	__asm__ __volatile__("movq %1, %0" : "=r"(v) : "m"(*(volatile uint64_t *)addr) : "memory");
	return v;
}

#endif
