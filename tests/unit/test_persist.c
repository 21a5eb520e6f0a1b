/* SPDX-License-Identifier: MIT */
/*
 * Persistent model state with exactly-once register accesses
 * (device-worker/persist.c): a record whose journal entry is open is undone
 * and applied again when its ring's head did not move, kept when it did; a
 * hostile region starts afresh.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "device-worker/persist.h"

#define DATA 64

static struct persist_region *region;
static void *ring_mem;
static struct ring_consumer ring;

static void setup(void)
{
	size_t size = ring_region_size(8);
	size_t alloc = (size + 4095) & ~(size_t)4095; /* aligned_alloc: a multiple of the alignment */

	region = aligned_alloc(4096, DEVICE_PERSIST_REGION_SIZE);
	ring_mem = aligned_alloc(4096, alloc);
	cr_assert(region && ring_mem);
	memset(region, 0xa5, DEVICE_PERSIST_REGION_SIZE); /* the first worker must not trust it */
	memset(ring_mem, 0, size);
	cr_assert_eq(ring_region_init(ring_mem, size, 8), 0);
	cr_assert_eq(ring_consumer_attach(&ring, ring_mem, size), 0);
}

static void teardown(void)
{
	free(region);
	free(ring_mem);
}

TestSuite(persist, .init = setup, .fini = teardown);

static bool open_region(uint32_t restart, const char **why)
{
	bool fresh = false;

	cr_assert_eq(persist_open(region, DEVICE_PERSIST_REGION_SIZE, "testdev", DATA, restart, &ring, 1, &fresh, why),
		     0);
	return fresh;
}

Test(persist, first_worker_starts_afresh)
{
	const char *why = "x";

	cr_assert(open_region(0, &why));
	cr_assert_null(why);
	for (unsigned i = 0; i < DATA; i++)
		cr_assert_eq(region->data[i], 0);
}

Test(persist, a_record_that_did_not_complete_is_undone)
{
	const char *why = NULL;

	cr_assert(open_region(0, &why));
	region->data[8] = 1;
	/* Record 0 of ring 0 changes byte 8 from 1 to 2, and the worker dies before head moves. */
	persist_begin(region, 0, 0, 8, 1);
	region->data[8] = 2;
	cr_assert_not(open_region(1, &why), "resumed");
	cr_assert_null(why, "%s", why);
	cr_assert_eq(region->data[8], 1, "undone: the successor applies the record again from here");
	cr_assert_eq(region->journal, 0);
}

Test(persist, a_record_that_completed_is_kept)
{
	const char *why = NULL;

	cr_assert(open_region(0, &why));
	persist_begin(region, 0, 0, 8, 1);
	region->data[8] = 2;
	atomic_store(&ring.hdr->tail, 1);
	atomic_store(&ring.hdr->head, 1); /* completed; the worker died before closing the entry */
	cr_assert_not(open_region(1, &why));
	cr_assert_eq(region->data[8], 2, "kept: applied once");
	cr_assert_eq(region->journal, 0);
}

Test(persist, hostile_regions_start_afresh)
{
	const char *why = NULL;

	cr_assert(open_region(0, &why));
	region->data[3] = 7;
	region->magic = 0;
	cr_assert(open_region(1, &why));
	cr_assert_str_eq(why, "no state header");
	cr_assert_eq(region->data[3], 0);

	region->data[3] = 7;
	region->size = DATA + 1;
	cr_assert(open_region(1, &why));
	cr_assert_str_eq(why, "state of another model");

	region->journal = PERSIST_JOURNAL_VALID | 5; /* no ring 5 */
	cr_assert(open_region(1, &why));
	cr_assert_str_eq(why, "journal entry out of range");

	region->journal = PERSIST_JOURNAL_VALID;
	region->undo_off = DATA - 2;
	region->undo_len = 4; /* past the data */
	cr_assert(open_region(1, &why));
	cr_assert_str_eq(why, "journal entry out of range");

	region->journal = PERSIST_JOURNAL_VALID;
	region->journal_seq = 40; /* head is 0 */
	cr_assert(open_region(1, &why));
	cr_assert_str_eq(why, "journal entry for a record that is not at its ring's head");
}

Test(persist, begin_clamps_the_range_to_the_model)
{
	const char *why = NULL;

	cr_assert(open_region(0, &why));
	persist_begin(region, 0, 0, DATA - 4, 100);
	cr_assert_eq(region->undo_off, DATA - 4);
	cr_assert_eq(region->undo_len, 4);
	persist_begin(region, 0, 0, 1000, 8);
	cr_assert_eq(region->undo_off, DATA);
	cr_assert_eq(region->undo_len, 0);
	persist_end(region);
	cr_assert_eq(region->journal, 0);
}

Test(persist, a_local_change_that_did_not_close_is_undone)
{
	const char *why = NULL;

	cr_assert(open_region(0, &why));
	region->data[3] = 7;
	/* Between records (idle) the model changes byte 3, and dies before the entry closes. */
	persist_begin_local(region, 3, 1);
	region->data[3] = 9;
	cr_assert_not(open_region(1, &why), "resumed");
	cr_assert_null(why, "%s", why);
	cr_assert_eq(region->data[3], 7, "a local entry's commit point is its close: undone");
	cr_assert_eq(region->journal, 0);

	persist_begin_local(region, 3, 1);
	region->data[3] = 9;
	persist_end(region);
	cr_assert_not(open_region(2, &why));
	cr_assert_eq(region->data[3], 9, "closed: kept");
}

Test(persist, a_local_entry_naming_a_ring_is_refused)
{
	const char *why = NULL;

	cr_assert(open_region(0, &why));
	region->journal = PERSIST_JOURNAL_VALID | PERSIST_JOURNAL_LOCAL | 1;
	cr_assert(open_region(1, &why), "started afresh");
	cr_assert_str_eq(why, "journal entry out of range");
}
