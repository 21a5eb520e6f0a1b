/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk (virtio 1.2 section 5.2): a raw disk image or block device
 * behind one request queue, served through the virtio glue
 * (virtio_device.h) and the I/O engine (blk_io.h).
 *
 * Parameters (params):
 *   ro                   read-only (also ro=1/on/yes; ro=0 is read-write):
 *                        the backend fd must then be O_RDONLY, otherwise
 *                        it must be O_RDWR.
 *   id=NAME              the GET_ID string, at most 20 bytes (default
 *                        "squib-disk"), NUL-padded to 20.
 *   cache=none|writeback none: direct I/O. The fd should be opened with
 *                        O_DIRECT (the model sets it with F_SETFL if not);
 *                        guest buffers that are not aligned are bounced.
 *                        writeback (default): the host page cache.
 *   direct=1             the same as cache=none (from the monitor).
 *   dio-align=N          cache=none: the monitor's direct-I/O alignment (a
 *                        power of two up to 4096); guest buffers are bounced
 *                        unless aligned to the larger of N and the model's
 *                        own statx(STATX_DIOALIGN) figure (at least 512).
 *   io=uring|sync        the I/O engine (default uring, falling back to
 *                        sync where io_uring is unavailable); sync is for
 *                        tests and comparisons.
 * FLUSH is always a real fdatasync, also with cache=none (O_DIRECT does not
 * flush the device's own write cache, nor file system metadata).
 *
 * Requests: the 16-byte header (type, reserved, sector) at the start of the
 * readable part, OUT / DISCARD / WRITE_ZEROES data after it, IN / GET_ID
 * data at the start of the writable part, and the status as its last byte.
 * Decisions where the spec leaves room:
 *   - Malformed chains, which the device cannot even answer, put the device
 *     in DEVICE_NEEDS_RESET: no writable byte for the status, or fewer than
 *     16 readable bytes for the header.
 *   - Everything else the driver gets wrong is answered on the request:
 *     IOERR for a range past the capacity (overflow-safe), a data length
 *     that is not a multiple of 512, more data segments than fit one
 *     request (BLK_IO_MAX_IOV), a write to a read-only disk, a malformed
 *     discard / write-zeroes segment list; UNSUPP for an unknown type or an
 *     unknown segment flag (and UNMAP on a discard), as 5.2.6.2 requires.
 *   - Extra readable bytes after the header of IN / FLUSH / GET_ID, and
 *     extra writable bytes before the status of OUT / FLUSH / DISCARD /
 *     WRITE_ZEROES, are ignored.
 *   - If the driver did not negotiate FLUSH, writes are write-through: each
 *     OUT, DISCARD and WRITE_ZEROES is followed by an fdatasync before it
 *     completes (the driver has no other way to make data durable).
 *   - DISCARD is a hint: fallocate(PUNCH_HOLE | KEEP_SIZE) on the backend,
 *     which for files frees the blocks and for block devices asks for
 *     zeroing with unmap allowed; a backend that cannot do it (EOPNOTSUPP,
 *     EINVAL for misalignment) completes the discard without effect. Not
 *     the BLKDISCARD ioctl: it would block the queue loop, and allowing
 *     ioctl on the backend fd in the sandbox would admit every other ioctl
 *     on it too (SG_IO among them): seccomp can match the fd but squib's
 *     fd rules do not match the request number.
 *   - WRITE_ZEROES: with UNMAP, PUNCH_HOLE | KEEP_SIZE first; then
 *     ZERO_RANGE | KEEP_SIZE; then plain writes from a zero buffer. Each
 *     step is tried when the one before is unsupported; EOPNOTSUPP is
 *     remembered so later requests skip it.
 *   - The used length is what was written into the writable part: data
 *     (IN, GET_ID) plus the status byte on success, the status byte alone
 *     on failure (a driver may trust no more than that, 2.7.8.1).
 *   - cache=none: a request whose guest buffers are not all aligned to the
 *     backend's direct-I/O memory alignment (at least 512, in address and
 *     length) goes through the engine's bounce buffers
 *     (VIRTIO_BLK_BOUNCE_BYTES in all); one larger than that gets IOERR,
 *     and one that finds them busy waits its turn, in order, without
 *     holding up other requests.
 *
 * Threat note: the header, segment lists and data are guest memory, read
 * once into locals (virtio_chain_copy_from) before they are checked; the
 * data buffers reach the kernel as iovecs from virtio_chain_iov, inside
 * guest RAM by construction. The status byte's address is the last byte of
 * the chain's last (writable) buffer, which the chain walker proved inside
 * guest RAM; it is written through guest_mem_write.
 */
#ifndef SQUIB_DEVICE_VIRTIO_BLK_H
#define SQUIB_DEVICE_VIRTIO_BLK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "device-worker/host_io/blk_io.h"
#include "device-worker/device.h"
#include "device-worker/virtio/virtio_device.h"

#define VIRTIO_BLK_DEVICE_ID 2u
#define VIRTIO_BLK_QUEUE_SIZE 256u
#define VIRTIO_BLK_SECTOR 512u
/* Data segments per request: the ring minus header and status descriptors. */
#define VIRTIO_BLK_SEG_MAX 254u
/* Largest single segment. */
#define VIRTIO_BLK_SIZE_MAX (1u << 20)
#define VIRTIO_BLK_ID_BYTES 20u
/* Discard / write-zeroes: segments per request and sectors per segment. */
#define VIRTIO_BLK_DWZ_SEG_MAX 32u
#define VIRTIO_BLK_DWZ_SECTORS_MAX (1u << 22) /* 2 GiB */
/* Bounce buffers for cache=none (blk_io.h). */
#define VIRTIO_BLK_BOUNCE_BYTES (4u << 20)
/* Chains one queue_notify takes before it yields to the rest of the loop. */
#define VIRTIO_BLK_BATCH_MAX (4u * VIRTIO_BLK_QUEUE_SIZE)
/* Bytes of config space the device exposes (up to write_zeroes_may_unmap + padding). */
#define VIRTIO_BLK_CONFIG_LEN 60u

/* Feature bits (virtio 1.2 5.2.3). */
#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* Request types and status values (5.2.6). */
#define VIRTIO_BLK_T_IN 0u
#define VIRTIO_BLK_T_OUT 1u
#define VIRTIO_BLK_T_FLUSH 4u
#define VIRTIO_BLK_T_GET_ID 8u
#define VIRTIO_BLK_T_DISCARD 11u
#define VIRTIO_BLK_T_WRITE_ZEROES 13u
#define VIRTIO_BLK_S_OK 0u
#define VIRTIO_BLK_S_IOERR 1u
#define VIRTIO_BLK_S_UNSUPP 2u
#define VIRTIO_BLK_WZ_F_UNMAP 1u

/* ---- guest-visible layouts (little-endian, x86-64 host) --------------------- */

struct virtio_blk_config {
	uint64_t capacity;          /* 0x00 in 512-byte sectors */
	uint32_t size_max;          /* 0x08 */
	uint32_t seg_max;           /* 0x0c */
	uint16_t cylinders;         /* 0x10 geometry: not offered */
	uint8_t heads;              /* 0x12 */
	uint8_t sectors;            /* 0x13 */
	uint32_t blk_size;          /* 0x14 */
	uint8_t physical_block_exp; /* 0x18 topology: not offered */
	uint8_t alignment_offset;   /* 0x19 */
	uint16_t min_io_size;       /* 0x1a */
	uint32_t opt_io_size;       /* 0x1c */
	uint8_t writeback;          /* 0x20 CONFIG_WCE: not offered */
	uint8_t unused0;            /* 0x21 */
	uint16_t num_queues;        /* 0x22 MQ: not offered */
	uint32_t max_discard_sectors;      /* 0x24 */
	uint32_t max_discard_seg;          /* 0x28 */
	uint32_t discard_sector_alignment; /* 0x2c */
	uint32_t max_write_zeroes_sectors; /* 0x30 */
	uint32_t max_write_zeroes_seg;     /* 0x34 */
	uint8_t write_zeroes_may_unmap;    /* 0x38 */
	uint8_t unused1[3];                /* 0x39 */
};

struct virtio_blk_req_hdr {
	uint32_t type;
	uint32_t reserved; /* ioprio in legacy drivers: ignored */
	uint64_t sector;
};

struct virtio_blk_dwz_seg {
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags;
};

_Static_assert(offsetof(struct virtio_blk_config, blk_size) == 0x14, "virtio_blk_config layout");
_Static_assert(offsetof(struct virtio_blk_config, writeback) == 0x20, "virtio_blk_config layout");
_Static_assert(offsetof(struct virtio_blk_config, max_discard_sectors) == 0x24, "virtio_blk_config layout");
_Static_assert(offsetof(struct virtio_blk_config, write_zeroes_may_unmap) == 0x38, "virtio_blk_config layout");
_Static_assert(offsetof(struct virtio_blk_config, unused1) + 3 == VIRTIO_BLK_CONFIG_LEN, "config_len");
_Static_assert(VIRTIO_BLK_CONFIG_LEN <= VIRTIO_STATE_CONFIG_SIZE, "config fits the state region");
_Static_assert(sizeof(struct virtio_blk_req_hdr) == 16, "virtio_blk_req_hdr is 16 bytes");
_Static_assert(sizeof(struct virtio_blk_dwz_seg) == 16, "virtio_blk_dwz_seg is 16 bytes");
_Static_assert(VIRTIO_BLK_QUEUE_SIZE <= BLK_IO_MAX_DEPTH, "one engine tag per head");
_Static_assert(VIRTIO_BLK_QUEUE_SIZE <= VIRTIO_STATE_QUEUE_SIZE_MAX, "queue size");
_Static_assert(VIRTIO_BLK_SEG_MAX + 2 <= BLK_IO_MAX_IOV, "a request's data fits one READV/WRITEV");

/* ---- the model's state ---------------------------------------------------- */

enum blk_req_state {
	BLK_REQ_FREE = 0,
	BLK_REQ_RUNNING,  /* an engine operation is in flight for it */
	BLK_REQ_DEFERRED, /* waiting for bounce buffers */
};

struct blk_range {
	uint64_t offset, len; /* bytes */
	uint32_t flags;
};

/* One request, indexed by its chain's head (distinct while in flight). */
struct blk_req {
	uint8_t state;        /* enum blk_req_state */
	uint8_t step;         /* what the engine operation in flight does */
	uint8_t wz_method;    /* WRITE_ZEROES: how the current range is being zeroed */
	bool write_through;   /* an fdatasync is still due before completion */
	uint32_t type;        /* VIRTIO_BLK_T_* */
	uint16_t head;
	unsigned q;
	uint64_t status_gpa;  /* the status byte: last byte of the chain */
	uint64_t offset, len; /* IN / OUT: bytes */
	unsigned niov;        /* iov entries in use */
	unsigned nbounce;     /* biov entries in use (bounce chunks held) */
	unsigned nrange, range;   /* DISCARD / WRITE_ZEROES: ranges, the current one */
	uint64_t range_done;  /* zero-writing: bytes of the current range written */
	uint64_t step_len;    /* zero-writing: bytes of the write in flight */
	struct blk_range ranges[VIRTIO_BLK_DWZ_SEG_MAX];
	struct iovec iov[BLK_IO_MAX_IOV]; /* guest data (or the zero buffer) */
	struct iovec biov[VIRTIO_BLK_BOUNCE_BYTES / BLK_IO_BOUNCE_CHUNK]; /* bounce chunks */
};

struct virtio_blk_stats {
	uint64_t reads, writes, flushes, get_ids, discards, write_zeroes;
	uint64_t bytes_read, bytes_written;
	uint64_t ioerr;       /* requests answered IOERR */
	uint64_t unsupp;      /* requests answered UNSUPP */
	uint64_t backend_errors; /* of which the backend failed */
	uint64_t bounced;     /* requests that went through bounce buffers */
	uint64_t deferred;    /* of which had to wait for them */
	uint64_t zero_writes; /* WRITE_ZEROES ranges written with plain writes */
	uint64_t yields;      /* queue_notify stopped at VIRTIO_BLK_BATCH_MAX */
};

struct virtio_blk {
	struct virtio_dev *vd;
	struct device_host *host;
	int fd;                 /* the backend (host->backend_fd) */
	bool ro;
	bool direct;            /* the fd has O_DIRECT: alignment rules apply */
	bool blkdev;            /* a block device (else a regular file) */
	bool no_punch, no_zero_range; /* learned: the backend answers EOPNOTSUPP */
	uint64_t capacity;      /* sectors */
	uint32_t dio_align;     /* cache=none: required buffer alignment (address, length) */
	char id[VIRTIO_BLK_ID_BYTES];
	uint64_t errors_seen;   /* backend errors, for the log's rate limit */
	struct virtio_blk_stats stats;
	/* Requests waiting for bounce buffers, in arrival order. */
	uint16_t deferred[VIRTIO_BLK_QUEUE_SIZE];
	unsigned defer_head, defer_count;
	struct virtq_chain chain; /* the chain being parsed (16 KiB) */
	struct blk_io io;
	struct blk_req req[VIRTIO_BLK_QUEUE_SIZE];
};

extern const struct virtio_model virtio_blk_model;

/*
 * The model's init (virtio_blk_setup.c): parameters, backend checks, the I/O
 * engine, features and config space. 0 or -errno, with a log line.
 */
int virtio_blk_init(struct virtio_dev *vd, void *ms, uint64_t *features) MUST_USE;
/* For the model table in devices.c (VIRTIO_DEVICE_MODEL("virtio-blk", ...)). */
extern const struct device_model virtio_blk_device_model;

#endif
