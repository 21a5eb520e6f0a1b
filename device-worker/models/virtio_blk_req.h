/* SPDX-License-Identifier: MIT */
/*
 * Inside virtio-blk's request path, shared by virtio_blk.c (parsing, reads,
 * writes, flushes, completions) and virtio_blk_dwz.c (DISCARD and
 * WRITE_ZEROES). Not an interface: only these two files include it.
 */
#ifndef SQUIB_DEVICE_VIRTIO_BLK_REQ_H
#define SQUIB_DEVICE_VIRTIO_BLK_REQ_H

#include <stdint.h>

#include "device-worker/models/virtio_blk.h"

/* What the engine operation in flight for a request does. */
enum blk_step {
	STEP_NONE = 0,
	STEP_READ,
	STEP_WRITE,
	STEP_SYNC,    /* FLUSH, or the fdatasync of a write-through write */
	STEP_DISCARD, /* one range */
	STEP_ZERO,    /* one range, or one zero-write of it */
};

/* How a WRITE_ZEROES range is being zeroed, in the order they are tried. */
enum blk_wz_method {
	WZ_NONE = 0,
	WZ_PUNCH,      /* fallocate PUNCH_HOLE | KEEP_SIZE (UNMAP only) */
	WZ_ZERO_RANGE, /* fallocate ZERO_RANGE | KEEP_SIZE */
	WZ_WRITE,      /* writes from the zero buffer */
};

/* Zero-write iovecs per operation (of BLK_IO_ZERO_BYTES each). */
#define BLK_ZERO_IOVS 16u

/*
 * Writes the status byte, returns the chain to the driver with written
 * bytes (data + status) and frees the request (bounce buffers go back).
 */
void blk_complete(struct virtio_blk *b, struct blk_req *r, uint8_t status, uint32_t data_written);
/* Logs the guest's mistake (rate-limited) and completes r with status. */
void blk_refuse(struct virtio_blk *b, struct blk_req *r, uint8_t status, const char *why);
/* Starts an engine operation for r; a failure to start completes it with IOERR. */
void blk_start(struct virtio_blk *b, struct blk_req *r, enum blk_step step, const struct blk_io_op *op);
/* The request's work is done: a write-through fdatasync if due, else OK. */
void blk_finish_ok(struct virtio_blk *b, struct blk_req *r, uint32_t data_written);

/* DISCARD / WRITE_ZEROES: checks the segment list and starts the first range (virtio_blk_dwz.c). */
void blk_begin_dwz(struct virtio_blk *b, struct blk_req *r);
/* Starts the next operation of a DISCARD / WRITE_ZEROES request, or finishes it. */
void blk_dwz_continue(struct virtio_blk *b, struct blk_req *r);
/*
 * The backend refused a zeroing method with res (-EOPNOTSUPP: remembered for
 * the disk; -EINVAL: this range only): the range goes on with the next method.
 */
void blk_dwz_fallback(struct virtio_blk *b, struct blk_req *r, int res);

#endif
