/* SPDX-License-Identifier: MIT */
#include "vcpu-worker/routes.h"

#include <errno.h>
#include <stddef.h>

void route_table_init(struct route_table *t)
{
	t->count = 0;
}

static int route_cmp(const struct route *a, enum route_space space, uint64_t base)
{
	if (a->space != space)
		return a->space < space ? -1 : 1;
	if (a->base != base)
		return a->base < base ? -1 : 1;
	return 0;
}

int route_table_add(struct route_table *t, const struct route *r)
{
	uint32_t pos = 0;

	if (r->len == 0 || r->base + r->len < r->base)
		return -EINVAL;
	if (r->space == ROUTE_SPACE_PIO && r->base + r->len > 0x10000)
		return -EINVAL;
	if (r->space != ROUTE_SPACE_PIO && r->space != ROUTE_SPACE_MMIO)
		return -EINVAL;
	for (uint32_t i = 0; i < t->count; i++) {
		const struct route *e = &t->entries[i];

		if (e->space == r->space && r->base < e->base + e->len && e->base < r->base + r->len)
			return -EEXIST;
	}
	if (t->count >= ROUTE_TABLE_MAX)
		return -ENOSPC;
	while (pos < t->count && route_cmp(&t->entries[pos], r->space, r->base) < 0)
		pos++;
	for (uint32_t i = t->count; i > pos; i--)
		t->entries[i] = t->entries[i - 1];
	t->entries[pos] = *r;
	t->count++;
	return 0;
}

const struct route *route_lookup(const struct route_table *t, enum route_space space, uint64_t addr)
{
	uint32_t lo = 0, hi = t->count;

	/* Binary search for the last entry with (space, base) <= (space, addr). */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (route_cmp(&t->entries[mid], space, addr) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	const struct route *e = &t->entries[lo - 1];
	if (e->space != space || addr - e->base >= e->len)
		return NULL;
	return e;
}
