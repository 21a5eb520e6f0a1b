/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk driver (virtio 1.2 section 5.2) on one shared virtqueue:
 * requests are {le32 type, le32 reserved, le64 sector} (device-readable),
 * data (readable for OUT, DISCARD, WRITE_ZEROES; writable for IN, GET_ID),
 * then a 1-byte status (writable). Data is split into segments of at most
 * size_max bytes when SIZE_MAX was negotiated. Submit and reap take the
 * queue's lock, so vCPUs can share a device.
 */
#ifndef SQUIB_GUEST_VIRTIO_BLK_H
#define SQUIB_GUEST_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include "virtio.h"

/* Feature bits. */
#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* Configuration space offsets (struct virtio_blk_config). */
#define VIRTIO_BLK_CFG_CAPACITY 0            /* le64, 512-byte sectors */
#define VIRTIO_BLK_CFG_SIZE_MAX 8            /* le32 */
#define VIRTIO_BLK_CFG_SEG_MAX 12            /* le32 */
#define VIRTIO_BLK_CFG_BLK_SIZE 20           /* le32 */
#define VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS 36
#define VIRTIO_BLK_CFG_MAX_DISCARD_SEG 40
#define VIRTIO_BLK_CFG_DISCARD_ALIGNMENT 44
#define VIRTIO_BLK_CFG_MAX_WZ_SECTORS 48
#define VIRTIO_BLK_CFG_MAX_WZ_SEG 52
#define VIRTIO_BLK_CFG_WZ_MAY_UNMAP 56       /* u8 */

/* Request types. */
#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

/* Status byte. */
#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2
#define BLK_STATUS_UNSET 0xff /* what the driver writes before submitting */

#define VIRTIO_BLK_ID_BYTES 20
#define BLK_SECTOR_SIZE 512u
#define BLK_MAX_SEGS (VIRTQ_INDIRECT_MAX - 2) /* data segments per request */

struct virtio_blk_req_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

/* DISCARD / WRITE_ZEROES payload: one per range. */
struct virtio_blk_range {
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags; /* bit 0: unmap (WRITE_ZEROES) */
};

/* One request; lives in DMA memory (blk_reqs_alloc). */
struct blk_req {
	struct virtio_blk_req_hdr hdr; /* device-readable */
	uint8_t status;                /* device-writable */
	uint8_t pad[7];
	void *data;                    /* DMA memory, or NULL */
	uint32_t data_len;
	uint32_t used_len;             /* from the used ring */
	uint32_t done;                 /* set (release) when taken from the used ring */
	uint32_t tag;                  /* the caller's */
	uint64_t user;                 /* the caller's */
};

struct blk_dev {
	struct virtio_dev *vd;
	struct virtq *vq;
	uint64_t capacity;   /* sectors */
	uint32_t size_max;   /* bytes per segment (0: no limit) */
	uint32_t seg_max;    /* segments per request (BLK_MAX_SEGS when not offered) */
	uint32_t blk_size;   /* 512 when not offered */
	uint32_t max_discard_sectors, max_discard_seg, discard_alignment;
	uint32_t max_wz_sectors, max_wz_seg;
	uint8_t wz_may_unmap;
	bool ro;
	uint64_t requests;   /* submitted */
	struct virtio_opts opts;  /* as opened, for blk_reopen */
	uint32_t config_seen;     /* vd->config_irqs when last checked for DEVICE_NEEDS_RESET */
	uint32_t resets;          /* DEVICE_NEEDS_RESET recoveries */
};

/* Every feature this driver knows; what the device offers of them is negotiated. */
#define BLK_WANTED_FEATURES                                                                         \
	(VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) |                     \
	 VIRTIO_BIT(VIRTIO_BLK_F_RO) | VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) |                           \
	 VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) | VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) |                         \
	 VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES))

/* Starts the nth virtio-blk device (one queue) and reads its configuration. NULL or why not. */
const char *blk_open(struct blk_dev *b, unsigned nth, const struct virtio_opts *o);
/*
 * The device reported DEVICE_NEEDS_RESET (its state was lost): resets it
 * and starts it again with the same features and queue; requests that were
 * in flight are gone, and the caller submits them again. NULL or why not.
 */
const char *blk_reopen(struct blk_dev *b);

/* n zeroed requests in DMA memory, or NULL. */
struct blk_req *blk_reqs_alloc(unsigned n);
/* Largest data length one request can carry (segment limits and queue size). */
uint32_t blk_max_transfer(const struct blk_dev *b);

/* Fills in a request (status BLK_STATUS_UNSET, done 0). */
void blk_prep(struct blk_req *r, uint32_t type, uint64_t sector, void *data, uint32_t len);
/*
 * Adds the request and notifies the device (if it wants that). Returns 0,
 * -1 when the queue has no room now, -2 when the request can never fit.
 */
int blk_submit(struct blk_dev *b, struct blk_req *r);
/* One completed request (marked done), or NULL when none is waiting. */
struct blk_req *blk_reap(struct blk_dev *b);
/*
 * Waits for any completion and returns it; fails the workload on timeout.
 * NULL when the device reports DEVICE_NEEDS_RESET instead (a configuration
 * change interrupt, or a wait that ran out): the caller blk_reopens it and
 * submits its requests in flight again.
 */
struct blk_req *blk_wait_any(struct blk_dev *b);
/* Waits until r is done (reaping others too); fails the workload on timeout. */
void blk_wait(struct blk_dev *b, struct blk_req *r);
/* Submit (waiting for room) and wait: returns the status byte. */
uint8_t blk_do(struct blk_dev *b, struct blk_req *r, uint32_t type, uint64_t sector, void *data,
	       uint32_t len);

#endif
