/* SPDX-License-Identifier: MIT */
/* Persistent model state with exactly-once register accesses (persist.h). */
#include "device-worker/persist.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>

uint32_t persist_model_id(const char *model)
{
	uint32_t h = 0x811c9dc5u;

	for (; *model; model++)
		h = (h ^ (uint8_t)*model) * 0x01000193u;
	return h;
}

static void start_afresh(struct persist_region *region, uint32_t id, size_t data_size)
{
	memset(region, 0, sizeof(*region));
	region->version = PERSIST_VERSION;
	region->model_id = id;
	region->size = (uint32_t)data_size;
	/* Magic last: a region cut short mid-write never looks resumable. */
	atomic_thread_fence(memory_order_release);
	region->magic = PERSIST_MAGIC;
}

/*
 * Trust boundary: every header field was written by a predecessor, maybe a
 * compromised one. Each is read once into a local and checked before use.
 */
static const char *resolve(struct persist_region *region, uint32_t id, size_t data_size,
			   const struct ring_consumer *rings, unsigned nrings)
{
	uint32_t journal, seq, off, len, ring, head;

	if (region->magic != PERSIST_MAGIC || region->version != PERSIST_VERSION)
		return "no state header";
	if (region->model_id != id || region->size != data_size)
		return "state of another model";
	journal = region->journal;
	if (journal == 0)
		return NULL;
	ring = journal & ~(PERSIST_JOURNAL_VALID | PERSIST_JOURNAL_LOCAL);
	seq = region->journal_seq;
	off = region->undo_off;
	len = region->undo_len;
	if (!(journal & PERSIST_JOURNAL_VALID) || off > data_size || len > data_size - off)
		return "journal entry out of range";
	if (journal & PERSIST_JOURNAL_LOCAL) {
		if (ring != 0)
			return "journal entry out of range";
		memcpy(region->data + off, region->undo, len); /* never committed: undone */
		region->journal = 0;
		return NULL;
	}
	if (ring >= nrings)
		return "journal entry out of range";
	head = atomic_load_explicit(&rings[ring].hdr->head, memory_order_acquire);
	if (head == seq)
		memcpy(region->data + off, region->undo, len); /* not completed: undone, applied again */
	else if (head != seq + 1)
		return "journal entry for a record that is not at its ring's head";
	region->journal = 0;
	return NULL;
}

int persist_open(struct persist_region *region, size_t size, const char *model, size_t data_size, uint32_t restart,
		 const struct ring_consumer *rings, unsigned nrings, bool *fresh, const char **why)
{
	uint32_t id = persist_model_id(model);
	const char *problem = NULL;

	*why = NULL;
	if (!region || size < sizeof(*region) || data_size > PERSIST_DATA_MAX)
		return -EINVAL;
	if (restart) {
		problem = resolve(region, id, data_size, rings, nrings);
		if (!problem) {
			*fresh = false;
			return 0;
		}
		*why = problem;
	}
	start_afresh(region, id, data_size);
	*fresh = true;
	return 0;
}

void persist_reset(struct persist_region *region)
{
	region->journal = 0;
	memset(region->data, 0, sizeof(region->data));
}

static void open_entry(struct persist_region *region, uint32_t journal, uint32_t seq, size_t off, size_t len)
{
	size_t size = region->size;

	if (off > size)
		off = size;
	if (len > size - off)
		len = size - off;
	memcpy(region->undo, region->data + off, len);
	region->undo_off = (uint32_t)off;
	region->undo_len = (uint32_t)len;
	region->journal_seq = seq;
	/* Release: the pre-image and its range are in place before the entry opens. */
	__atomic_store_n(&region->journal, journal, __ATOMIC_RELEASE);
}

void persist_begin(struct persist_region *region, unsigned ring, uint32_t seq, size_t off, size_t len)
{
	open_entry(region, PERSIST_JOURNAL_VALID | ring, seq, off, len);
}

void persist_begin_local(struct persist_region *region, size_t off, size_t len)
{
	open_entry(region, PERSIST_JOURNAL_VALID | PERSIST_JOURNAL_LOCAL, 0, off, len);
}

void persist_end(struct persist_region *region)
{
	__atomic_store_n(&region->journal, 0, __ATOMIC_RELEASE);
}
