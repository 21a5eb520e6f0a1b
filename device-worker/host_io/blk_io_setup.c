/* SPDX-License-Identifier: MIT */
/*
 * The virtio-blk I/O engine's set-up, all before the sandbox (blk_io.h):
 * the restricted io_uring (or the synchronous fallback), the backend probe,
 * and the syscalls the engine needs inside the sandbox. Operations are
 * blk_io.c, buffers blk_io_buffers.c.
 */
#include "device-worker/host_io/blk_io.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ---- ring set-up ---------------------------------------------------------- */

/*
 * Creates the ring disabled, registers io->fd as fixed file 0, restricts
 * the ring and enables it (blk_io.h, "Sandbox", says why). Preconditions:
 * before the sandbox (io_uring_setup, io_uring_register and mmap are
 * needed); io->fd open; io->depth in 1..BLK_IO_MAX_DEPTH. On failure the
 * ring is released, *step names the step and -errno is returned.
 */
static int uring_setup(struct blk_io *io, const char **step)
{
	/*
	 * Only these opcodes, and only on fixed files. Not FALLOCATE: its mode
	 * is beyond what restrictions can check, so the worker calls
	 * fallocate(2) itself, under a filter that checks the mode (blk_io.c).
	 * Only these opcodes, and only on fixed files: FSYNC carries
	 * IORING_FSYNC_DATASYNC in its own flags, which restrictions cannot
	 * narrow (a full fsync is harmless). No register opcode is allowed, so
	 * nothing can be registered or unregistered once the ring is enabled.
	 */
	struct io_uring_restriction res[] = {
		{ .opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_READV },
		{ .opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_WRITEV },
		{ .opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_FSYNC },
		{ .opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED, .sqe_flags = IOSQE_FIXED_FILE },
		{ .opcode = IORING_RESTRICTION_SQE_FLAGS_REQUIRED, .sqe_flags = IOSQE_FIXED_FILE },
	};
	struct io_uring_params p;
	int r;

	memset(&p, 0, sizeof(p));
	/* CQ twice the SQ: at most depth operations are in flight, so it never overflows. */
	p.flags = IORING_SETUP_R_DISABLED | IORING_SETUP_CQSIZE;
	p.cq_entries = 2 * io->depth;
	r = io_uring_queue_init_params(io->depth, &io->ring, &p);
	if (r < 0) {
		*step = "io_uring_setup";
		return r;
	}
	if (!(p.features & IORING_FEAT_NODROP) || !(p.features & IORING_FEAT_SUBMIT_STABLE)) {
		/* Kernels before 5.5/5.7: no completion-drop guarantee, iovecs read late. */
		*step = "checking ring features (NODROP, SUBMIT_STABLE)";
		r = -EOPNOTSUPP;
		goto fail;
	}
	r = io_uring_register_files(&io->ring, &io->fd, 1);
	if (r < 0) {
		*step = "registering the backend as fixed file 0";
		goto fail;
	}
	/*
	 * liburing 2.3 (Debian 12) declares io_uring_register_restrictions and
	 * io_uring_enable_rings but its shared library does not export them
	 * (missing from its symbol map until 2.4): the raw register call
	 * instead, which 2.3 does export. Same syscall, same arguments.
	 */
	r = io_uring_register((unsigned)io->ring.ring_fd, IORING_REGISTER_RESTRICTIONS, res, ARRAY_SIZE(res));
	if (r < 0) {
		*step = "registering the ring's restrictions";
		goto fail;
	}
	r = io_uring_register((unsigned)io->ring.ring_fd, IORING_REGISTER_ENABLE_RINGS, NULL, 0);
	if (r < 0) {
		*step = "enabling the ring";
		goto fail;
	}
	return 0;
fail:
	io_uring_queue_exit(&io->ring);
	memset(&io->ring, 0, sizeof(io->ring));
	return r;
}

int blk_io_init(struct blk_io *io, int fd, unsigned depth, bool want_uring, size_t bounce_bytes,
		int *uring_err, const char **uring_step)
{
	uint64_t chunks = (bounce_bytes + BLK_IO_BOUNCE_CHUNK - 1) / BLK_IO_BOUNCE_CHUNK;

	memset(io, 0, sizeof(*io));
	io->fd = fd;
	io->depth = depth < 1 ? 1 : depth > BLK_IO_MAX_DEPTH ? BLK_IO_MAX_DEPTH : depth;
	io->engine = BLK_IO_ENGINE_SYNC;
	if (chunks > BLK_IO_MAX_BOUNCE_CHUNKS)
		chunks = BLK_IO_MAX_BOUNCE_CHUNKS;
	io->zeroes = aligned_alloc(4096, BLK_IO_ZERO_BYTES);
	if (!io->zeroes)
		return -ENOMEM;
	memset(io->zeroes, 0, BLK_IO_ZERO_BYTES);
	if (chunks) {
		io->bounce = aligned_alloc(4096, chunks * BLK_IO_BOUNCE_CHUNK);
		if (!io->bounce) {
			free(io->zeroes);
			io->zeroes = NULL;
			return -ENOMEM;
		}
		io->bounce_chunks = io->bounce_free = (unsigned)chunks;
	}
	if (want_uring) {
		const char *step = NULL;
		int r = uring_setup(io, &step);

		if (r == 0) {
			io->engine = BLK_IO_ENGINE_URING;
		} else {
			*uring_err = r;
			*uring_step = step;
		}
	}
	return 0;
}

/* ---- the backend ---------------------------------------------------------------- */

int blk_io_probe(int fd, bool want_direct, struct blk_backend *out, const char **why)
{
	struct stat st;
	int fl;

	memset(out, 0, sizeof(*out));
	if (fstat(fd, &st) < 0) {
		*why = "fstat";
		return -errno;
	}
	out->lbs = 512;
	if (S_ISREG(st.st_mode)) {
		out->size = st.st_size < 0 ? 0 : (uint64_t)st.st_size;
		if (st.st_blksize > 0 && st.st_blksize <= (1 << 20))
			out->fs_block = (uint32_t)st.st_blksize;
	} else if (S_ISBLK(st.st_mode)) {
		int ssz = 0;

		out->blkdev = true;
		if (ioctl(fd, BLKGETSIZE64, &out->size) < 0 || ioctl(fd, BLKSSZGET, &ssz) < 0) {
			*why = "block device size";
			return -errno;
		}
		if (ssz > 0)
			out->lbs = (uint32_t)ssz;
	} else {
		*why = "neither a regular file nor a block device";
		return -EINVAL;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0) {
		*why = "F_GETFL";
		return -errno;
	}
	out->accmode = fl & O_ACCMODE;
	if (want_direct && !(fl & O_DIRECT)) {
		if (fcntl(fd, F_SETFL, fl | O_DIRECT) < 0) {
			*why = "setting O_DIRECT";
			return -errno;
		}
		fl |= O_DIRECT;
		out->direct_set_here = true;
	}
	out->direct = (fl & O_DIRECT) != 0;
	if (out->direct) {
		struct statx stx;

		memset(&stx, 0, sizeof(stx));
		if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0 && (stx.stx_mask & STATX_DIOALIGN)) {
			out->dio_reported = true;
			out->dio_mem_align = stx.stx_dio_mem_align;
			out->dio_offset_align = stx.stx_dio_offset_align;
		}
	}
	return 0;
}

/* ---- sandbox ------------------------------------------------------------------ */

unsigned blk_io_sandbox_rules(const struct blk_io *io, struct sandbox_fd_rule *out, unsigned max)
{
	const struct sandbox_fd_rule sync_rules[] = {
		{ SYS_preadv, io->fd, "virtio-blk reads (sync engine: io_uring unavailable)" },
		{ SYS_pwritev, io->fd, "virtio-blk writes (sync engine)" },
		{ SYS_fdatasync, io->fd, "virtio-blk flushes (sync engine)" },
		{ SYS_fallocate, io->fd, "virtio-blk discard and write-zeroes (sync engine)" },
	};
	unsigned n = 0;

	if (io->engine == BLK_IO_ENGINE_URING) {
		if (max > 0)
			out[n++] = (struct sandbox_fd_rule){
				SYS_io_uring_enter, io->ring.ring_fd,
				"virtio-blk I/O: submit and reap on its ring (restricted to 3 opcodes on the backend)"
			};
		if (n < max)
			out[n++] = sync_rules[3]; /* discard and write-zeroes never go through the ring */
		return n;
	}
	for (unsigned i = 0; i < ARRAY_SIZE(sync_rules) && n < max; i++)
		out[n++] = sync_rules[i];
	return n;
}
