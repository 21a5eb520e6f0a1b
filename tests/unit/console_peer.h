/* SPDX-License-Identifier: MIT */
/*
 * The monitor's end of the console rings (proto/console_ring.h), for unit
 * tests of the uart model: takes published output, types input, counts
 * kicks. The real monitor side is monitor/console/ (test_console_output.c).
 */
#ifndef SQUIB_TESTS_CONSOLE_PEER_H
#define SQUIB_TESTS_CONSOLE_PEER_H

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "proto/console_ring.h"

struct console_peer {
	struct console_ring *ring;
	int kick; /* the uart's console_kick_fd */
};

static inline void console_peer_init(struct console_peer *p)
{
	p->ring = aligned_alloc(4096, CONSOLE_RING_REGION_SIZE);
	cr_assert_not_null(p->ring);
	memset(p->ring, 0, CONSOLE_RING_REGION_SIZE);
	p->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	cr_assert_geq(p->kick, 0);
}

static inline void console_peer_fini(struct console_peer *p)
{
	free(p->ring);
	close(p->kick);
}

/* Output published and not yet taken. */
static inline uint32_t console_peer_pending(const struct console_peer *p)
{
	return __atomic_load_n(&p->ring->out_tail, __ATOMIC_ACQUIRE) - p->ring->out_head;
}

/* Takes up to cap bytes of published output (the monitor writing them out). */
static inline size_t console_peer_take(struct console_peer *p, void *buf, size_t cap)
{
	uint32_t n = console_peer_pending(p);
	size_t i;

	for (i = 0; i < n && i < cap; i++)
		((uint8_t *)buf)[i] = p->ring->out[(p->ring->out_head + i) & (CONSOLE_OUT_SIZE - 1)];
	console_ring_store(&p->ring->out_head, p->ring->out_head + (uint32_t)i);
	return i;
}

/* Types n bytes into the in ring (no room check: tests type little). */
static inline void console_peer_type(struct console_peer *p, const void *bytes, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p->ring->in[(p->ring->in_tail + i) & (CONSOLE_IN_SIZE - 1)] = ((const uint8_t *)bytes)[i];
	console_ring_store(&p->ring->in_tail, p->ring->in_tail + (uint32_t)n);
}

/* Kicks since the last call (the eventfd counter). */
static inline uint64_t console_peer_kicks(struct console_peer *p)
{
	uint64_t v = 0;

	return read(p->kick, &v, sizeof(v)) == (ssize_t)sizeof(v) ? v : 0;
}

#endif
