/* SPDX-License-Identifier: MIT */
/*
 * The I/O engine of virtio-blk: reads, writes, data syncs and fallocates on
 * one backend fd (a raw image file or a block device), without blocking the
 * device worker's loop.
 *
 * Two engines behind one interface:
 *   - io_uring (liburing): operations are prepared with blk_io_start,
 *     handed to the kernel by blk_io_submit, and come back through
 *     blk_io_reap once the ring fd (blk_io_pollfd) polls readable.
 *   - sync: where the kernel refuses io_uring (not built in, or disabled by
 *     the kernel.io_uring_disabled sysctl), or when the caller asks for it,
 *     blk_io_start performs the operation at once with preadv / pwritev /
 *     fdatasync / fallocate and queues its completion for blk_io_reap. The
 *     queue loop then blocks for the duration of each operation.
 * The caller sees the same thing either way: one completion per started
 * operation, carrying the caller's tag.
 *
 * Threat note: the iovecs the caller hands in point into guest RAM (from
 * virtio_chain_iov) or into this engine's own bounce buffers. The guest may
 * rewrite its buffers while the kernel copies them: that only corrupts the
 * guest's own data. The engine never dereferences a guest pointer itself,
 * except to copy to or from bounce buffers on the caller's behalf.
 *
 * Sandbox: io_uring operations are not syscalls, so seccomp never sees
 * them. A compromised worker allowed io_uring_enter could otherwise have
 * the kernel openat, connect or unlinkat for it through the ring. The ring
 * is therefore created disabled (IORING_SETUP_R_DISABLED), restricted with
 * IORING_REGISTER_RESTRICTIONS to the four opcodes used here (READV, WRITEV,
 * FSYNC, FALLOCATE) and to SQEs that must name a registered file
 * (IOSQE_FIXED_FILE required, no other SQE flag allowed), where the only
 * registered file is the backend; only then is it enabled. Restrictions also
 * forbid every io_uring_register opcode from then on. The worker's seccomp
 * filter admits io_uring_enter on the ring fd only (blk_io_sandbox_rules),
 * and neither io_uring_setup nor io_uring_register.
 *
 * Threading: one engine is used by one thread.
 */
#ifndef SQUIB_DEVICE_BLK_IO_H
#define SQUIB_DEVICE_BLK_IO_H

#include <liburing.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "common/compiler.h"
#include "sandbox/sandbox.h"

/* Most operations in flight at once (one per tag); the ring's SQ size. */
#define BLK_IO_MAX_DEPTH 256u
/* Most iovecs in one READV/WRITEV. */
#define BLK_IO_MAX_IOV 256u
/* Bounce buffers come in chunks of this size, page-aligned; at most this many. */
#define BLK_IO_BOUNCE_CHUNK (64u * 1024u)
#define BLK_IO_MAX_BOUNCE_CHUNKS 256u
/* Bytes of the all-zero buffer blk_io_zero_iov hands out (page-aligned). */
#define BLK_IO_ZERO_BYTES (64u * 1024u)
/* Retries of an operation the kernel answered -EAGAIN / -EINTR or 0 bytes. */
#define BLK_IO_MAX_RETRIES 8u

enum blk_io_kind {
	BLK_IO_READV = 1,    /* preadv: iov, niov, offset */
	BLK_IO_WRITEV = 2,   /* pwritev: iov, niov, offset */
	BLK_IO_DATASYNC = 3, /* fdatasync */
	BLK_IO_FALLOCATE = 4 /* fallocate: mode, offset, len */
};

enum blk_io_engine {
	BLK_IO_ENGINE_URING = 1,
	BLK_IO_ENGINE_SYNC = 2,
};

struct blk_io_op {
	enum blk_io_kind kind;
	/*
	 * READV/WRITEV: the caller's array, valid and unchanged until the
	 * completion is reaped. The engine only reads it (a short transfer is
	 * continued from a private copy of the partly done entry).
	 */
	const struct iovec *iov;
	unsigned niov;     /* 1..BLK_IO_MAX_IOV */
	uint64_t offset;   /* byte offset in the backend */
	uint64_t len;      /* FALLOCATE: bytes; READV/WRITEV: set by blk_io_start (sum of iov) */
	int mode;          /* FALLOCATE: FALLOC_FL_* */
};

/* One finished operation: res 0 when it transferred or did everything, else -errno. */
struct blk_io_done {
	unsigned tag;
	int res;
};

struct blk_io_slot {
	bool busy;          /* started, completion not yet reaped */
	unsigned iov_first; /* READV/WRITEV: first iovec not yet fully transferred */
	uint64_t cut;       /* bytes of iov[iov_first] already transferred */
	struct iovec part;  /* the rest of iov[iov_first] when cut > 0 */
	unsigned retries;
	uint64_t done;      /* READV/WRITEV: bytes transferred so far */
	struct blk_io_op op;
};

struct blk_io_stats {
	uint64_t started;       /* operations started */
	uint64_t completed;     /* completions reaped */
	uint64_t submits;       /* io_uring_submit calls that handed SQEs over */
	uint64_t resubmits;     /* short transfers and retries continued */
	uint64_t submit_errors; /* io_uring_submit failures (retried later) */
	unsigned max_inflight;  /* most operations in flight at a submit */
};

struct blk_io {
	enum blk_io_engine engine;
	int fd;                   /* the backend; not owned */
	unsigned depth;           /* tags are 0..depth-1 */
	bool broken;              /* the ring failed in a way that loses completions: refuse all */
	struct io_uring ring;     /* engine URING */
	unsigned unsubmitted;     /* SQEs prepared, not yet taken by the kernel */
	unsigned busy;            /* slots in use */
	/* engine SYNC: finished operations waiting for blk_io_reap (FIFO). */
	struct blk_io_done sync_done[BLK_IO_MAX_DEPTH];
	unsigned sync_head, sync_count;
	/* Bounce buffers for O_DIRECT (bounce_chunks == 0: none). */
	uint8_t *bounce;
	unsigned bounce_chunks;
	uint64_t bounce_used[BLK_IO_MAX_BOUNCE_CHUNKS / 64u]; /* bit c: chunk c allocated */
	unsigned bounce_free;
	uint8_t *zeroes;          /* BLK_IO_ZERO_BYTES of zeroes, never written */
	struct blk_io_stats stats;
	struct blk_io_slot slot[BLK_IO_MAX_DEPTH];
};

/*
 * Before the sandbox. Sets up *io for fd (which the caller keeps open for
 * the engine's lifetime) with tags 0..depth-1 (depth clamped to
 * 1..BLK_IO_MAX_DEPTH) and bounce_bytes of bounce buffers (rounded up to
 * whole chunks, at most BLK_IO_MAX_BOUNCE_CHUNKS of them; 0 for none). With
 * want_uring it tries io_uring first; if any step of the ring's set-up
 * fails it falls back to the sync engine, with *uring_err = that step's
 * -errno and *uring_step naming it (both untouched when io_uring worked or
 * was not wanted). The caller logs the fallback. 0, or -errno (no memory)
 * with nothing to release.
 */
int blk_io_init(struct blk_io *io, int fd, unsigned depth, bool want_uring, size_t bounce_bytes,
		int *uring_err, const char **uring_step) MUST_USE;

/* Waits for every operation in flight, then releases the ring and buffers. */
void blk_io_destroy(struct blk_io *io);

/*
 * Starts op under tag (< depth, not busy). READV/WRITEV: niov in
 * 1..BLK_IO_MAX_IOV; op->len is computed here. The operation's completion
 * arrives through blk_io_reap, also for the sync engine (which has already
 * done it). With io_uring the operation is only prepared: blk_io_submit
 * hands it over. 0, or -EINVAL (bad tag or op, nothing started), -EBUSY
 * (tag busy), -EIO (engine broken).
 */
int blk_io_start(struct blk_io *io, unsigned tag, const struct blk_io_op *op) MUST_USE;

/*
 * io_uring: hands every prepared operation to the kernel. 0, or -errno
 * from io_uring_enter (the operations stay prepared: call again later,
 * e.g. from idle). Sync engine: 0.
 */
int blk_io_submit(struct blk_io *io) MUST_USE;

/*
 * Takes up to max finished operations into out, without blocking. A short
 * transfer or an -EAGAIN is continued (prepared again; blk_io_submit sends
 * it), not reported. Returns how many were taken.
 */
unsigned blk_io_reap(struct blk_io *io, struct blk_io_done *out, unsigned max) MUST_USE;

/*
 * Blocks until every operation in flight has finished and drops their
 * completions (the caller forgets what they were for). Used by a device
 * reset: once it returns, the kernel writes no more into guest RAM or the
 * bounce buffers. Bounded by the operations in flight (at most depth), each
 * bounded by the backend's latency. If the ring fails meanwhile, the engine
 * is marked broken and refuses every later operation.
 */
void blk_io_drain(struct blk_io *io);

/* The fd to poll for completions (POLLIN), or -1 (sync engine). */
int blk_io_pollfd(const struct blk_io *io);

/* Operations started and not yet reaped. */
static inline unsigned blk_io_busy(const struct blk_io *io)
{
	return io->busy;
}

/*
 * Bounce buffers: len bytes (> 0) as page-aligned chunks in iov[0..n).
 * Returns n, -EAGAIN when not enough chunks are free now, or -E2BIG when
 * len exceeds all chunks together (or max entries).
 */
int blk_io_bounce_get(struct blk_io *io, uint64_t len, struct iovec *iov, unsigned max) MUST_USE;

/* Returns chunks from blk_io_bounce_get; iov entries not from it are ignored. */
void blk_io_bounce_put(struct blk_io *io, const struct iovec *iov, unsigned n);

/*
 * Fills iov[0..n) with the zero buffer to cover up to len bytes (len a
 * multiple of 512); returns n (0 when max is 0) and the bytes covered in
 * *covered. The kernel only reads these buffers.
 */
unsigned blk_io_zero_iov(const struct blk_io *io, uint64_t len, struct iovec *iov, unsigned max,
			 uint64_t *covered);

/* Copies len bytes between two iovec lists (both covering at least len bytes). */
void blk_io_copy(const struct iovec *dst, unsigned ndst, const struct iovec *src, unsigned nsrc, uint64_t len);

/* What a backend fd is (blk_io_probe). */
struct blk_backend {
	uint64_t size;             /* bytes */
	bool blkdev;               /* a block device (else a regular file) */
	int accmode;               /* O_RDONLY, O_WRONLY or O_RDWR */
	bool direct;               /* O_DIRECT is set */
	bool direct_set_here;      /* ... because blk_io_probe set it */
	uint32_t lbs;              /* logical block size (BLKSSZGET); 512 for a file */
	uint32_t fs_block;         /* a file's st_blksize; 0 for a device */
	uint32_t dio_mem_align;    /* statx STATX_DIOALIGN (O_DIRECT only); 0: not reported */
	uint32_t dio_offset_align;
	bool dio_reported;         /* the two above are the file system's answer */
};

/*
 * Before the sandbox: size, kind and access mode of fd, which must be a
 * regular file or a block device. With want_direct, sets O_DIRECT on it
 * (F_SETFL: this changes the open file description, which the monitor
 * shares) when it is not set yet. 0, or -errno with *why naming what
 * failed. Preconditions: fd is the monitor's backend fd (trusted);
 * fstat, fcntl, statx and ioctl(BLKGETSIZE64, BLKSSZGET) are allowed.
 */
int blk_io_probe(int fd, bool want_direct, struct blk_backend *out, const char **why) MUST_USE;

/* The syscalls the engine needs inside the sandbox, each tied to its fd. */
unsigned blk_io_sandbox_rules(const struct blk_io *io, struct sandbox_fd_rule *out, unsigned max);

const char *blk_io_engine_name(const struct blk_io *io);

#endif
