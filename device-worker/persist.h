/* SPDX-License-Identifier: MIT */
/*
 * Persistent model state with exactly-once register accesses, for device
 * models that are not virtio (testdev): the model's state lives in the
 * device-state region the monitor keeps (proto/device_state.h), and every
 * ring record is applied under an undo journal, so a record is applied
 * exactly once however the worker dies (docs/DESIGN.md, "Take, apply,
 * complete"):
 *
 *   begin:    copy the bytes the record may change into undo[], then
 *             journal = {VALID | ring, seq} (the entry is open)
 *   apply:    model->handle, and publish the reply of a read
 *   complete: ring_advance (head is the commit point), then journal = 0
 *
 * A successor (persist_resume) finds an open entry for ring r and record
 * seq: if r's head still equals seq, the record did not complete: the undo
 * bytes go back and the record is applied again from the same state, so it
 * gives the same result; if head moved past it, it completed. A side
 * effect a read has (testdev's read counter) therefore happens once.
 *
 * Changes a model makes between records (the uart taking typed input or
 * seeing console room in idle) go under a local entry (persist_begin_local):
 * its commit point is persist_end itself, so a successor that finds one
 * open always undoes it. Whatever a model shows another process (the uart's
 * published console indexes) it shows only after the entry closed
 * (device_model.committed), so an undo never takes back something seen.
 *
 * Layout (fixed, little-endian, pinned by _Static_assert):
 *   0x00 magic "SQPS", version, model_id (the model's name hash), size
 *   0x10 journal (0, or PERSIST_JOURNAL_VALID | ring), journal_seq,
 *        undo_off, undo_len
 *   0x20 data[PERSIST_DATA_MAX]   the model's state
 *        undo[PERSIST_DATA_MAX]   the journal's pre-image
 *
 * Threat note: the region is written by every worker of the device; a
 * successor treats it as hostile (its predecessor may have been
 * compromised): persist_resume checks every header field and range before
 * it uses one, and the model checks its own data (persist_valid). A region
 * that fails either is started afresh (the device's power-on state), with a
 * log line saying why.
 */
#ifndef SQUIB_DEVICE_PERSIST_H
#define SQUIB_DEVICE_PERSIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"
#include "proto/device_state.h"
#include "proto/ring.h"

#define PERSIST_MAGIC 0x53505153u /* "SQPS" */
#define PERSIST_VERSION 1u
#define PERSIST_JOURNAL_VALID 0x80000000u
#define PERSIST_JOURNAL_LOCAL 0x40000000u /* with VALID: a change between records (persist_begin_local) */
#define PERSIST_HEADER_SIZE 0x20u
#define PERSIST_DATA_MAX ((DEVICE_PERSIST_REGION_SIZE - PERSIST_HEADER_SIZE) / 2u)

struct persist_region {
	uint32_t magic;
	uint32_t version;
	uint32_t model_id;
	uint32_t size;        /* bytes of data[] the model uses */
	uint32_t journal;     /* 0, PERSIST_JOURNAL_VALID | ring index, or VALID | LOCAL */
	uint32_t journal_seq; /* the record being applied */
	uint32_t undo_off;    /* undo[0, undo_len) is data[undo_off, undo_off + undo_len) as it was */
	uint32_t undo_len;
	uint8_t data[PERSIST_DATA_MAX];
	uint8_t undo[PERSIST_DATA_MAX];
};

_Static_assert(sizeof(struct persist_region) <= DEVICE_PERSIST_REGION_SIZE, "persist region fits");
_Static_assert(offsetof(struct persist_region, data) == PERSIST_HEADER_SIZE, "persist header size");

/* A stable id for a model name (FNV-1a): a region written by another model is not resumed. */
uint32_t persist_model_id(const char *model);

/*
 * Opens region (size bytes, the mapped memfd) for a model of data_size
 * bytes. restart 0 (the first worker) or a region that fails the checks:
 * the header is written afresh, data zeroed, *fresh true (the model
 * initialises its state), *why says why a successor could not resume (or
 * NULL). Otherwise the journal is resolved against rings[0..nrings) (their
 * shared heads) and *fresh is false; the model must still check its data.
 * 0, or -EINVAL when region is too small or data_size > PERSIST_DATA_MAX.
 */
int persist_open(struct persist_region *region, size_t size, const char *model, size_t data_size, uint32_t restart,
		 const struct ring_consumer *rings, unsigned nrings, bool *fresh, const char **why) MUST_USE;

/* Starts afresh after the model found its data unusable: header kept, data zeroed, journal closed. */
void persist_reset(struct persist_region *region);

/* Opens the journal for record seq of ring, saving data[off, off + len) (clamped to the model's size). */
void persist_begin(struct persist_region *region, unsigned ring, uint32_t seq, size_t off, size_t len);

/* Opens a local entry (a change between records), saving data[off, off + len) (clamped). */
void persist_begin_local(struct persist_region *region, size_t off, size_t len);

/* The record completed (its ring's head moved past it), or the local change is done: closes the journal. */
void persist_end(struct persist_region *region);

#endif
