/* SPDX-License-Identifier: MIT */
/*
 * The console rings: the bytes between the uart worker and the monitor's
 * terminal, in a memfd the monitor creates and keeps for the VM's life and
 * hands to every uart worker, first and successors.
 *
 * Two byte rings, each with one writer per index (free-running 32-bit
 * counts, compared modulo 2^32):
 *   out  guest -> console. The uart worker writes transmitted bytes at
 *        out_tail and publishes out_tail; the monitor writes them to its
 *        console fd and publishes out_head.
 *   in   console -> guest. The monitor writes typed bytes at in_tail and
 *        publishes in_tail; the uart worker moves them into its receive
 *        FIFO and publishes in_head.
 *
 * Why a ring and not the worker writing stdout itself: a worker that dies
 * between write(2) and recording that it wrote would make its successor
 * write the bytes again, or skip them. Here the uart worker only publishes
 * out_tail (and in_head) after the register access that moved it has
 * completed (device-worker/persist.h: the journal is closed), so what the
 * monitor sees is never undone; the successor resumes from the same counts
 * in its device-state region. Output is written once by the monitor, which
 * outlives every uart worker, and typed input is taken once.
 *
 * Wake-ups: the uart worker writes its kick eventfd after publishing (at
 * most once per idle pass, and when it runs out of room); the monitor
 * writes the uart's doorbell after publishing input, and after freeing
 * room while out_blocked is set. out_blocked and out_head form a Dekker
 * pair (seq_cst on both sides): the worker sets out_blocked and then
 * re-reads out_head; the monitor stores out_head and then reads
 * out_blocked, so one of them always sees the other.
 *
 * Threat note: either side may be compromised. Each reads the other's
 * index once, with acquire, and checks the distance against the ring's
 * size before using it (console_ring_pending); bytes are copied out before
 * use. A uart worker can only make the console print garbage or stop
 * printing; a monitor can only feed the guest typed bytes.
 */
#ifndef SQUIB_PROTO_CONSOLE_RING_H
#define SQUIB_PROTO_CONSOLE_RING_H

#include <stdbool.h>
#include <stdint.h>

#define CONSOLE_OUT_SIZE 65536u /* power of two */
#define CONSOLE_IN_SIZE 4096u   /* power of two */

struct console_ring {
	/* Written by the uart worker. */
	uint32_t out_tail;    /* output bytes published */
	uint32_t out_blocked; /* 1 while it waits for room (its THR reads full) */
	uint32_t in_head;     /* typed bytes taken into its receive FIFO */
	uint32_t worker_pad[13];
	/* Written by the monitor (its own cache line). */
	uint32_t out_head; /* output bytes written to the console, or dropped */
	uint32_t in_tail;  /* typed bytes published */
	uint32_t monitor_pad[14];
	uint8_t out[CONSOLE_OUT_SIZE];
	uint8_t in[CONSOLE_IN_SIZE];
};

/* The memfd's size: the struct, rounded up to whole pages. */
#define CONSOLE_RING_REGION_SIZE ((sizeof(struct console_ring) + 4095u) & ~(uint64_t)4095u)

_Static_assert((CONSOLE_OUT_SIZE & (CONSOLE_OUT_SIZE - 1)) == 0, "out ring size is a power of two");
_Static_assert((CONSOLE_IN_SIZE & (CONSOLE_IN_SIZE - 1)) == 0, "in ring size is a power of two");
_Static_assert(__builtin_offsetof(struct console_ring, out_head) == 64, "monitor indexes on their own line");

/*
 * Reads an index the other side writes: at least acquire (the bytes before
 * it are visible); seq_cst for the Dekker pairs above (a plain load on x86).
 */
static inline uint32_t console_ring_load(const uint32_t *index)
{
	return __atomic_load_n(index, __ATOMIC_SEQ_CST);
}

/* Publishes an index this side owns; seq_cst, for the Dekker pairs above. */
static inline void console_ring_store(uint32_t *index, uint32_t value)
{
	__atomic_store_n(index, value, __ATOMIC_SEQ_CST);
}

/*
 * Bytes between head and tail of a ring of size bytes. False when the
 * distance is impossible (more than size: a peer wrote a bad index).
 */
static inline bool console_ring_pending(uint32_t head, uint32_t tail, uint32_t size, uint32_t *pending)
{
	uint32_t n = tail - head;

	if (n > size)
		return false;
	*pending = n;
	return true;
}

#endif
