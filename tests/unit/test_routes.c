// SPDX-License-Identifier: MIT
/*
 * Unit tests for vcpu-worker/routes.c, the routing table of ports and
 * guest-physical ranges.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "vcpu-worker/routes.h"

static struct route_table table;

static void routes_setup(void)
{
	memset(&table, 0xa5, sizeof(table)); /* init must not rely on zeroed memory */
	route_table_init(&table);
}

TestSuite(routes, .init = routes_setup);

/* ---- helpers ------------------------------------------------------------ */

static struct route mk(enum route_space space, uint64_t base, uint64_t len, uint32_t device)
{
	struct route r;

	memset(&r, 0, sizeof(r));
	r.space = space;
	r.base = base;
	r.len = len;
	r.target = ROUTE_TARGET_DEVICE;
	r.device = device;
	r.owner = "test";
	return r;
}

static int add(enum route_space space, uint64_t base, uint64_t len, uint32_t device)
{
	struct route r = mk(space, base, len, device);

	return route_table_add(&table, &r);
}

static void assert_hit(enum route_space space, uint64_t addr, uint32_t device)
{
	const struct route *r = route_lookup(&table, space, addr);

	cr_assert_not_null(r, "space %d addr %#llx: no route, expected device %u", space, (unsigned long long)addr,
			   device);
	cr_assert_eq(r->device, device, "space %d addr %#llx: device %u, expected %u", space,
		     (unsigned long long)addr, r->device, device);
	cr_assert_eq(r->space, space, "space %d addr %#llx: route of space %d", space, (unsigned long long)addr,
		     r->space);
}

static void assert_miss(enum route_space space, uint64_t addr)
{
	const struct route *r = route_lookup(&table, space, addr);

	cr_assert_null(r, "space %d addr %#llx: expected no route, got device %u [%#llx, +%#llx)", space,
		       (unsigned long long)addr, r ? r->device : 0, r ? (unsigned long long)r->base : 0,
		       r ? (unsigned long long)r->len : 0);
}

static void assert_sorted(void)
{
	for (uint32_t i = 1; i < table.count; i++) {
		const struct route *a = &table.entries[i - 1], *b = &table.entries[i];

		cr_assert(a->space < b->space || (a->space == b->space && a->base < b->base),
			  "entries %u (space %d base %#llx) and %u (space %d base %#llx) are out of order", i - 1,
			  a->space, (unsigned long long)a->base, i, b->space, (unsigned long long)b->base);
	}
}

/* ---- basics ------------------------------------------------------------- */

Test(routes, empty_table_misses)
{
	cr_assert_eq(table.count, 0u, "count %u after init", table.count);
	assert_miss(ROUTE_SPACE_PIO, 0);
	assert_miss(ROUTE_SPACE_PIO, 0x3f8);
	assert_miss(ROUTE_SPACE_MMIO, 0);
	assert_miss(ROUTE_SPACE_MMIO, UINT64_MAX);
}

Test(routes, add_and_lookup_pio)
{
	struct route r = mk(ROUTE_SPACE_PIO, 0x3f8, 8, 7);

	r.flags = ROUTE_FLAG_HYPERCALL;
	r.owner = "uart";
	cr_assert_eq(route_table_add(&table, &r), 0);
	cr_assert_eq(table.count, 1u);
	assert_hit(ROUTE_SPACE_PIO, 0x3f8, 7);
	assert_hit(ROUTE_SPACE_PIO, 0x3fc, 7);
	assert_hit(ROUTE_SPACE_PIO, 0x3ff, 7);
	assert_miss(ROUTE_SPACE_PIO, 0x3f7);
	assert_miss(ROUTE_SPACE_PIO, 0x400);
	{
		const struct route *got = route_lookup(&table, ROUTE_SPACE_PIO, 0x3f9);

		cr_assert_not_null(got);
		cr_assert_eq(got->base, 0x3f8);
		cr_assert_eq(got->len, 8);
		cr_assert_eq(got->target, ROUTE_TARGET_DEVICE);
		cr_assert_eq(got->flags, ROUTE_FLAG_HYPERCALL);
		cr_assert_str_eq(got->owner, "uart");
	}
}

Test(routes, add_and_lookup_mmio)
{
	cr_assert_eq(add(ROUTE_SPACE_MMIO, 0xfe000000ULL, 0x1000, 3), 0);
	assert_hit(ROUTE_SPACE_MMIO, 0xfe000000ULL, 3);  /* first byte */
	assert_hit(ROUTE_SPACE_MMIO, 0xfe000fffULL, 3);  /* last byte */
	assert_miss(ROUTE_SPACE_MMIO, 0xfe001000ULL);    /* one past the end */
	assert_miss(ROUTE_SPACE_MMIO, 0xfdffffffULL);    /* one before */
	assert_miss(ROUTE_SPACE_MMIO, 0);
	assert_miss(ROUTE_SPACE_MMIO, UINT64_MAX);
}

Test(routes, other_space_misses)
{
	cr_assert_eq(add(ROUTE_SPACE_PIO, 0x500, 0x10, 1), 0);
	cr_assert_eq(add(ROUTE_SPACE_MMIO, 0x2000, 0x10, 2), 0);
	assert_miss(ROUTE_SPACE_MMIO, 0x500);
	assert_miss(ROUTE_SPACE_MMIO, 0x50f);
	assert_miss(ROUTE_SPACE_PIO, 0x2000);
	assert_miss(ROUTE_SPACE_PIO, 0x200f);
	assert_hit(ROUTE_SPACE_PIO, 0x500, 1);
	assert_hit(ROUTE_SPACE_MMIO, 0x2000, 2);
}

Test(routes, same_range_in_both_spaces)
{
	cr_assert_eq(add(ROUTE_SPACE_PIO, 0x100, 0x10, 1), 0);
	cr_assert_eq(add(ROUTE_SPACE_MMIO, 0x100, 0x10, 2), 0, "spaces do not overlap each other");
	assert_hit(ROUTE_SPACE_PIO, 0x108, 1);
	assert_hit(ROUTE_SPACE_MMIO, 0x108, 2);
	assert_sorted();
}

Test(routes, single_byte_and_top_of_space)
{
	cr_assert_eq(add(ROUTE_SPACE_PIO, 0xffff, 1, 1), 0, "the last port");
	cr_assert_eq(add(ROUTE_SPACE_PIO, 0, 1, 2), 0, "port 0");
	cr_assert_eq(add(ROUTE_SPACE_MMIO, UINT64_MAX - 0xfff, 0xfff, 3), 0,
		     "[UINT64_MAX - 0xfff, UINT64_MAX) does not wrap");
	assert_hit(ROUTE_SPACE_PIO, 0xffff, 1);
	assert_miss(ROUTE_SPACE_PIO, 0xfffe);
	assert_miss(ROUTE_SPACE_PIO, 0x10000);
	assert_hit(ROUTE_SPACE_PIO, 0, 2);
	assert_miss(ROUTE_SPACE_PIO, 1);
	assert_hit(ROUTE_SPACE_MMIO, UINT64_MAX - 1, 3);
	assert_miss(ROUTE_SPACE_MMIO, UINT64_MAX);
}

Test(routes, whole_port_space)
{
	cr_assert_eq(add(ROUTE_SPACE_PIO, 0, 0x10000, 9), 0, "all 65536 ports");
	assert_hit(ROUTE_SPACE_PIO, 0, 9);
	assert_hit(ROUTE_SPACE_PIO, 0xffff, 9);
	cr_assert_eq(add(ROUTE_SPACE_PIO, 0x80, 1, 1), -EEXIST);
}

/* ---- overlaps ----------------------------------------------------------- */

static void check_overlaps(enum route_space space)
{
	/* Existing: [0x100, 0x110). */
	static const struct {
		uint64_t base, len;
		const char *what;
	} cases[] = {
		{ 0x100, 0x10, "identical" },
		{ 0xf8, 0x10, "partial left" },
		{ 0xff, 2, "partial left by one byte" },
		{ 0x108, 0x10, "partial right" },
		{ 0x10f, 1, "last byte" },
		{ 0x10f, 0x100, "partial right by one byte" },
		{ 0x80, 0x100, "containing" },
		{ 0x100, 0x11, "containing, same base" },
		{ 0xff, 0x11, "containing, same end" },
		{ 0x104, 4, "contained" },
		{ 0x100, 1, "contained, first byte" },
	};

	cr_assert_eq(add(space, 0x100, 0x10, 1), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = add(space, cases[i].base, cases[i].len, 2);

		cr_assert_eq(r, -EEXIST, "space %d, %s [%#llx, +%#llx): %d, expected -EEXIST", space, cases[i].what,
			     (unsigned long long)cases[i].base, (unsigned long long)cases[i].len, r);
	}
	cr_assert_eq(table.count, 1u, "a refused route was added");
	assert_hit(space, 0x100, 1);
	assert_hit(space, 0x10f, 1);
}

Test(routes, overlap_refused_pio)
{
	check_overlaps(ROUTE_SPACE_PIO);
}

Test(routes, overlap_refused_mmio)
{
	check_overlaps(ROUTE_SPACE_MMIO);
}

Test(routes, overlap_with_a_later_entry)
{
	/* The overlap check must look at every entry, not just the neighbour below. */
	cr_assert_eq(add(ROUTE_SPACE_MMIO, 0x1000, 0x10, 1), 0);
	cr_assert_eq(add(ROUTE_SPACE_MMIO, 0x2000, 0x10, 2), 0);
	cr_assert_eq(add(ROUTE_SPACE_MMIO, 0x3000, 0x10, 3), 0);
	cr_assert_eq(add(ROUTE_SPACE_MMIO, 0x0, 0x2001, 4), -EEXIST, "spans two entries");
	cr_assert_eq(add(ROUTE_SPACE_MMIO, 0x1010, 0x1ff1, 4), -EEXIST, "touches the third's first byte");
	cr_assert_eq(add(ROUTE_SPACE_MMIO, 0x0, UINT64_MAX, 4), -EEXIST, "covers everything");
	cr_assert_eq(table.count, 3u);
}

Test(routes, adjacent_accepted)
{
	cr_assert_eq(add(ROUTE_SPACE_PIO, 0x100, 0x10, 1), 0);
	cr_assert_eq(add(ROUTE_SPACE_PIO, 0x110, 0x10, 2), 0, "right neighbour");
	cr_assert_eq(add(ROUTE_SPACE_PIO, 0xf0, 0x10, 3), 0, "left neighbour");
	cr_assert_eq(add(ROUTE_SPACE_PIO, 0xef, 1, 4), 0, "one-byte left neighbour");
	cr_assert_eq(table.count, 4u);
	assert_hit(ROUTE_SPACE_PIO, 0xef, 4);
	assert_hit(ROUTE_SPACE_PIO, 0xf0, 3);
	assert_hit(ROUTE_SPACE_PIO, 0xff, 3);
	assert_hit(ROUTE_SPACE_PIO, 0x100, 1);
	assert_hit(ROUTE_SPACE_PIO, 0x10f, 1);
	assert_hit(ROUTE_SPACE_PIO, 0x110, 2);
	assert_hit(ROUTE_SPACE_PIO, 0x11f, 2);
	assert_miss(ROUTE_SPACE_PIO, 0xee);
	assert_miss(ROUTE_SPACE_PIO, 0x120);
	assert_sorted();
}

/* ---- invalid routes ----------------------------------------------------- */

Test(routes, len_zero_is_einval)
{
	cr_assert_eq(add(ROUTE_SPACE_PIO, 0x100, 0, 1), -EINVAL);
	cr_assert_eq(add(ROUTE_SPACE_MMIO, 0x100, 0, 1), -EINVAL);
	cr_assert_eq(table.count, 0u);
}

Test(routes, wrapping_range_is_einval)
{
	cr_assert_eq(add(ROUTE_SPACE_MMIO, UINT64_MAX - 1, 4, 1), -EINVAL, "base UINT64_MAX-1 len 4 wraps");
	cr_assert_eq(add(ROUTE_SPACE_MMIO, 1, UINT64_MAX, 1), -EINVAL, "base 1 len UINT64_MAX wraps");
	cr_assert_eq(add(ROUTE_SPACE_MMIO, UINT64_MAX, UINT64_MAX, 1), -EINVAL);
	cr_assert_eq(add(ROUTE_SPACE_PIO, UINT64_MAX - 1, 4, 1), -EINVAL, "wrapping PIO range");
	cr_assert_eq(table.count, 0u);
}

Test(routes, pio_past_0xffff_is_einval)
{
	cr_assert_eq(add(ROUTE_SPACE_PIO, 0xfff8, 9, 1), -EINVAL, "[0xfff8, 0x10001)");
	cr_assert_eq(add(ROUTE_SPACE_PIO, 0x10000, 1, 1), -EINVAL, "port 0x10000");
	cr_assert_eq(add(ROUTE_SPACE_PIO, 0, 0x10001, 1), -EINVAL, "65537 ports");
	cr_assert_eq(add(ROUTE_SPACE_PIO, 0xffffffffULL, 1, 1), -EINVAL);
	cr_assert_eq(table.count, 0u);
	/* The same ranges are fine as MMIO. */
	cr_assert_eq(add(ROUTE_SPACE_MMIO, 0xfff8, 9, 1), 0);
	cr_assert_eq(add(ROUTE_SPACE_MMIO, 0x10001, 1, 1), 0);
}

Test(routes, bad_space_is_einval)
{
	struct route r = mk(ROUTE_SPACE_MMIO, 0x1000, 0x10, 1);

	r.space = (enum route_space)2;
	cr_assert_eq(route_table_add(&table, &r), -EINVAL);
	r.space = (enum route_space)-1;
	cr_assert_eq(route_table_add(&table, &r), -EINVAL);
	cr_assert_eq(table.count, 0u);
}

Test(routes, table_full_is_enospc)
{
	for (uint32_t i = 0; i < ROUTE_TABLE_MAX; i++) {
		int r = add(i % 2 ? ROUTE_SPACE_PIO : ROUTE_SPACE_MMIO, 0x100ULL * i, 0x10, i);

		cr_assert_eq(r, 0, "entry %u: %d", i, r);
	}
	cr_assert_eq(table.count, (uint32_t)ROUTE_TABLE_MAX);
	cr_assert_eq(add(ROUTE_SPACE_MMIO, 0x100000, 1, 99), -ENOSPC, "65th entry");
	cr_assert_eq(add(ROUTE_SPACE_PIO, 0xff00, 1, 99), -ENOSPC, "65th entry (PIO)");
	cr_assert_eq(table.count, (uint32_t)ROUTE_TABLE_MAX);
	/* Everything that was added is still found. */
	for (uint32_t i = 0; i < ROUTE_TABLE_MAX; i++) {
		assert_hit(i % 2 ? ROUTE_SPACE_PIO : ROUTE_SPACE_MMIO, 0x100ULL * i, i);
		assert_hit(i % 2 ? ROUTE_SPACE_PIO : ROUTE_SPACE_MMIO, 0x100ULL * i + 0xf, i);
		assert_miss(i % 2 ? ROUTE_SPACE_PIO : ROUTE_SPACE_MMIO, 0x100ULL * i + 0x10);
	}
	assert_sorted();
}

Test(routes, sorted_after_out_of_order_inserts)
{
	static const struct {
		enum route_space space;
		uint64_t base;
	} order[] = {
		{ ROUTE_SPACE_MMIO, 0xfe000000 }, { ROUTE_SPACE_PIO, 0x3f8 }, { ROUTE_SPACE_MMIO, 0x1000 },
		{ ROUTE_SPACE_PIO, 0x64 },        { ROUTE_SPACE_PIO, 0x604 }, { ROUTE_SPACE_MMIO, 0xfec00000 },
		{ ROUTE_SPACE_PIO, 0x0 },         { ROUTE_SPACE_MMIO, 0x0 },  { ROUTE_SPACE_PIO, 0xfff0 },
		{ ROUTE_SPACE_MMIO, 0x2000 },
	};
	const size_t n = sizeof(order) / sizeof(order[0]);

	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(add(order[i].space, order[i].base, 4, (uint32_t)i), 0, "insert %zu", i);
		assert_sorted();
	}
	cr_assert_eq(table.count, (uint32_t)n);
	/* PIO entries come first, each space sorted by base. */
	cr_assert_eq(table.entries[0].space, ROUTE_SPACE_PIO);
	cr_assert_eq(table.entries[0].base, 0x0);
	cr_assert_eq(table.entries[4].base, 0xfff0);
	cr_assert_eq(table.entries[5].space, ROUTE_SPACE_MMIO);
	cr_assert_eq(table.entries[5].base, 0x0);
	cr_assert_eq(table.entries[9].base, 0xfec00000);
	for (size_t i = 0; i < n; i++) {
		assert_hit(order[i].space, order[i].base, (uint32_t)i);
		assert_hit(order[i].space, order[i].base + 3, (uint32_t)i);
	}
}

/* ---- randomized against a brute-force model ------------------------------ */

/* xorshift64*: deterministic, so a failure can be replayed. */
static uint64_t rng_state = 0x243f6a8885a308d3ULL;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

struct model {
	uint32_t count;
	struct route r[ROUTE_TABLE_MAX];
};

static int model_add(struct model *m, const struct route *r)
{
	if (r->len == 0 || r->base + r->len < r->base)
		return -EINVAL;
	if (r->space == ROUTE_SPACE_PIO && r->base + r->len > 0x10000)
		return -EINVAL;
	for (uint32_t i = 0; i < m->count; i++) {
		const struct route *e = &m->r[i];

		/* Brute force: do the two ranges share a byte? (No wrap: both are valid.) */
		uint64_t lo = e->base > r->base ? e->base : r->base;
		uint64_t hi_e = e->base + e->len - 1, hi_r = r->base + r->len - 1;
		uint64_t hi = hi_e < hi_r ? hi_e : hi_r;

		if (e->space == r->space && lo <= hi)
			return -EEXIST;
	}
	if (m->count == ROUTE_TABLE_MAX)
		return -ENOSPC;
	m->r[m->count++] = *r;
	return 0;
}

static const struct route *model_lookup(const struct model *m, enum route_space space, uint64_t addr)
{
	for (uint32_t i = 0; i < m->count; i++)
		if (m->r[i].space == space && addr >= m->r[i].base && addr <= m->r[i].base + (m->r[i].len - 1))
			return &m->r[i];
	return NULL;
}

static void check_against_model(const struct model *m, enum route_space space, uint64_t addr)
{
	const struct route *want = model_lookup(m, space, addr);
	const struct route *got = route_lookup(&table, space, addr);

	if (!want) {
		cr_assert_null(got, "space %d addr %#llx: table has device %u, model has none", space,
			       (unsigned long long)addr, got ? got->device : 0);
		return;
	}
	cr_assert_not_null(got, "space %d addr %#llx: table misses, model has device %u", space,
			   (unsigned long long)addr, want->device);
	cr_assert_eq(got->device, want->device, "space %d addr %#llx: device %u, model %u", space,
		     (unsigned long long)addr, got->device, want->device);
}

static uint64_t random_base(enum route_space space)
{
	switch (rnd() % 4) {
	case 0:
		return rnd() % 0x1000; /* dense: many overlaps */
	case 1:
		return space == ROUTE_SPACE_PIO ? 0xff00 + rnd() % 0x100 : UINT64_MAX - rnd() % 0x1000;
	case 2:
		return space == ROUTE_SPACE_PIO ? rnd() % 0x10000 : rnd();
	default:
		return rnd() % 0x10400; /* around the top of the port space */
	}
}

static uint64_t random_len(void)
{
	switch (rnd() % 5) {
	case 0:
		return 0;
	case 1:
		return 1 + rnd() % 8;
	case 2:
		return 1 + rnd() % 0x100;
	case 3:
		return rnd() % 0x2000;
	default:
		return rnd() >> (rnd() % 64); /* sometimes huge */
	}
}

Test(routes, randomized_against_model)
{
	for (int round = 0; round < 10; round++) {
		struct model m = { 0 };
		int added = 0;

		route_table_init(&table);
		for (int i = 0; i < 1000; i++) {
			enum route_space space = rnd() % 2 ? ROUTE_SPACE_PIO : ROUTE_SPACE_MMIO;
			struct route r = mk(space, random_base(space), random_len(), (uint32_t)(round * 1000 + i));
			int want = model_add(&m, &r);
			int got = route_table_add(&table, &r);

			cr_assert_eq(got, want,
				     "round %d insert %d: space %d [%#llx, +%#llx): route_table_add %d, model %d", round,
				     i, space, (unsigned long long)r.base, (unsigned long long)r.len, got, want);
			cr_assert_eq(table.count, m.count, "round %d insert %d: count %u, model %u", round, i,
				     table.count, m.count);
			added += got == 0;
			if (i % 50 == 0)
				assert_sorted();
		}
		assert_sorted();
		cr_assert_gt(added, 10, "round %d: only %d inserts succeeded, the test is too weak", round, added);
		/* Every edge of every entry, its neighbours, and random probes. */
		for (uint32_t i = 0; i < m.count; i++) {
			const struct route *e = &m.r[i];
			uint64_t last = e->base + e->len - 1;

			check_against_model(&m, e->space, e->base);
			check_against_model(&m, e->space, last);
			check_against_model(&m, e->space, e->base - 1);
			check_against_model(&m, e->space, last + 1);
			check_against_model(&m, e->space, e->base + (last - e->base) / 2);
			check_against_model(&m, e->space == ROUTE_SPACE_PIO ? ROUTE_SPACE_MMIO : ROUTE_SPACE_PIO,
					    e->base);
		}
		for (int i = 0; i < 2000; i++) {
			enum route_space space = rnd() % 2 ? ROUTE_SPACE_PIO : ROUTE_SPACE_MMIO;

			check_against_model(&m, space, random_base(space));
		}
	}
}
