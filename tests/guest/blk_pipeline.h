/* SPDX-License-Identifier: MIT */
/*
 * Keeps up to qd virtio-blk requests in flight over a numbered series of
 * operations (one vCPU): each slot has a request and a bs-byte DMA buffer;
 * prepare() says what operation `op` is (type, sector, length, and fills
 * the buffer for writes), complete() looks at a finished one.
 */
#ifndef SQUIB_GUEST_BLK_PIPELINE_H
#define SQUIB_GUEST_BLK_PIPELINE_H

#include <stdint.h>

#include "virtio_blk.h"

#define BLK_PIPELINE_MAX_QD 128

struct blk_pipeline;
struct blk_op {
	uint32_t type;
	uint64_t sector;
	uint32_t len;
};
typedef void (*blk_prepare_fn)(struct blk_pipeline *p, uint64_t op, struct blk_op *o, uint8_t *buf);
/* r: status, used_len, user = op number. */
typedef void (*blk_complete_fn)(struct blk_pipeline *p, const struct blk_op *o, const struct blk_req *r,
				const uint8_t *buf);

struct blk_pipeline {
	struct blk_dev *b;
	unsigned qd;
	uint32_t bs;
	struct blk_req *reqs;     /* qd requests */
	uint8_t *bufs;            /* qd * bs bytes */
	struct blk_op ops[BLK_PIPELINE_MAX_QD];
	void *ctx;                /* the caller's */
	/*
	 * stall_ns > 0 (needs --testdev: its clock hypercall): the longest
	 * time between two completions (or from the start to the first) is
	 * kept in longest_ns, and each one of at least stall_ns is printed as
	 * `blk: stall <us> us` and counted: the pause a guest sees while a
	 * device worker is replaced.
	 */
	uint64_t stall_ns;
	uint64_t longest_ns;
	uint64_t stalls;
};

/* Allocates the slots; NULL or why not. */
const char *blk_pipeline_init(struct blk_pipeline *p, struct blk_dev *b, unsigned qd, uint32_t bs);
/* Runs operations 0..nops-1, at most qd at a time; returns when all completed. */
void blk_pipeline_run(struct blk_pipeline *p, uint64_t nops, blk_prepare_fn prepare,
		      blk_complete_fn complete);

#endif
