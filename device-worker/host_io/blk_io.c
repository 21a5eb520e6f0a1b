/* SPDX-License-Identifier: MIT */
/*
 * The virtio-blk I/O engine (blk_io.h): a restricted io_uring, or the
 * plain syscalls where io_uring is not available.
 *
 * One operation per tag is in flight at a time. A short READV/WRITEV (the
 * kernel may transfer less than asked, e.g. past 2 GiB) or an -EAGAIN is
 * continued here, so a completion the caller sees means "all of it" or an
 * error. Continuing never rewrites the caller's iovecs: the partly done
 * entry is copied into the slot (slot->part) and sent alone, then the rest
 * of the array follows.
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

/* Interrupted waits (or refused submits) tolerated while draining before giving up. */
#define BLK_IO_DRAIN_EINTR_MAX 1000u

const char *blk_io_engine_name(const struct blk_io *io)
{
	return io->engine == BLK_IO_ENGINE_URING ? "io_uring" : "sync";
}

int blk_io_pollfd(const struct blk_io *io)
{
	return io->engine == BLK_IO_ENGINE_URING ? io->ring.ring_fd : -1;
}

/* ---- one operation, both engines -------------------------------------------- */

/* The iovecs still to transfer for slot s: the partly done entry alone, or the rest. */
static void slot_vec(const struct blk_io_slot *s, const struct iovec **vec, unsigned *n)
{
	if (s->cut) {
		*vec = &s->part;
		*n = 1;
	} else {
		*vec = &s->op.iov[s->iov_first];
		*n = s->op.niov - s->iov_first;
	}
}

/* Accounts n bytes transferred by the last step (n <= what slot_vec offered). */
static void slot_advance(struct blk_io_slot *s, uint64_t n)
{
	s->done += n;
	while (n > 0 && s->iov_first < s->op.niov) {
		uint64_t rest = s->op.iov[s->iov_first].iov_len - s->cut;

		if (n < rest) {
			s->cut += n;
			n = 0;
		} else {
			n -= rest;
			s->iov_first++;
			s->cut = 0;
		}
	}
	if (s->cut) {
		const struct iovec *v = &s->op.iov[s->iov_first];

		s->part.iov_base = (uint8_t *)v->iov_base + s->cut;
		s->part.iov_len = v->iov_len - s->cut;
	}
}

/*
 * What a step's result means for slot s: 1 when the operation is over
 * (*final = 0 or -errno), 0 when another step must follow (the rest of a
 * short transfer, or a retry).
 */
static int slot_result(struct blk_io_slot *s, int res, int *final)
{
	bool rw = s->op.kind == BLK_IO_READV || s->op.kind == BLK_IO_WRITEV;

	if (res == -EAGAIN || res == -EINTR || (rw && res == 0 && s->op.kind == BLK_IO_WRITEV)) {
		if (++s->retries <= BLK_IO_MAX_RETRIES)
			return 0;
		*final = res < 0 ? res : -EIO;
		return 1;
	}
	if (res < 0) {
		*final = res;
		return 1;
	}
	if (!rw) {
		*final = 0;
		return 1;
	}
	if (res == 0) {
		*final = -EIO; /* end of file inside the image: it shrank under us */
		return 1;
	}
	if ((uint64_t)res > s->op.len - s->done) {
		*final = -EIO; /* the kernel never does this */
		return 1;
	}
	slot_advance(s, (uint64_t)res);
	if (s->done == s->op.len) {
		*final = 0;
		return 1;
	}
	return 0;
}

/*
 * One synchronous step of slot s. Preconditions (all four calls): io->fd
 * is the backend, open for reading (and writing, for WRITEV, DATASYNC,
 * FALLOCATE: the caller checks the access mode before starting those);
 * iovecs point at memory valid for their length (guest RAM proven by the
 * chain walker, or the engine's own buffers); at most BLK_IO_MAX_IOV (<
 * IOV_MAX) of them; offset + len <= INT64_MAX (blk_io_start checks).
 * Returns bytes transferred (READV/WRITEV), 0, or -errno.
 */
static int sync_step(struct blk_io *io, struct blk_io_slot *s)
{
	const struct iovec *vec;
	unsigned n;
	ssize_t r;

	switch (s->op.kind) {
	case BLK_IO_READV:
		slot_vec(s, &vec, &n);
		r = preadv(io->fd, vec, (int)n, (off_t)(s->op.offset + s->done));
		break;
	case BLK_IO_WRITEV:
		slot_vec(s, &vec, &n);
		r = pwritev(io->fd, vec, (int)n, (off_t)(s->op.offset + s->done));
		break;
	case BLK_IO_DATASYNC:
		r = fdatasync(io->fd);
		break;
	case BLK_IO_FALLOCATE:
		r = fallocate(io->fd, s->op.mode, (off_t)s->op.offset, (off_t)s->op.len);
		break;
	default:
		return -EINVAL;
	}
	if (r < 0)
		return -errno;
	return r > INT_MAX ? INT_MAX : (int)r; /* preadv caps one call near 2 GiB anyway */
}

/*
 * Prepares the next step of slot tag as an SQE on the fixed file 0.
 * Preconditions: io_uring engine; slot busy. The SQ has room: it has
 * depth entries and each busy slot holds at most one unsubmitted SQE.
 */
static int uring_prep(struct blk_io *io, unsigned tag)
{
	struct blk_io_slot *s = &io->slot[tag];
	struct io_uring_sqe *sqe = io_uring_get_sqe(&io->ring);
	const struct iovec *vec;
	unsigned n;

	if (!sqe)
		return -EBUSY;
	switch (s->op.kind) {
	case BLK_IO_READV:
		slot_vec(s, &vec, &n);
		io_uring_prep_readv(sqe, 0, vec, n, s->op.offset + s->done);
		break;
	case BLK_IO_WRITEV:
		slot_vec(s, &vec, &n);
		io_uring_prep_writev(sqe, 0, vec, n, s->op.offset + s->done);
		break;
	case BLK_IO_DATASYNC:
		io_uring_prep_fsync(sqe, 0, IORING_FSYNC_DATASYNC);
		break;
	case BLK_IO_FALLOCATE:
		io_uring_prep_fallocate(sqe, 0, s->op.mode, (off_t)s->op.offset, (off_t)s->op.len);
		break;
	}
	sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data64(sqe, tag);
	io->unsubmitted++;
	return 0;
}

/* Queues a finished sync operation for blk_io_reap. */
static void sync_finish(struct blk_io *io, unsigned tag, int res)
{
	unsigned i = (io->sync_head + io->sync_count) % BLK_IO_MAX_DEPTH;

	/* sync_count <= busy <= depth: there is room. */
	io->sync_done[i] = (struct blk_io_done){ .tag = tag, .res = res };
	io->sync_count++;
}

int blk_io_start(struct blk_io *io, unsigned tag, const struct blk_io_op *op)
{
	struct blk_io_slot *s;
	uint64_t len = 0;
	int r, final = 0;

	if (tag >= io->depth)
		return -EINVAL;
	if (io->broken)
		return -EIO;
	s = &io->slot[tag];
	if (s->busy)
		return -EBUSY;
	switch (op->kind) {
	case BLK_IO_READV:
	case BLK_IO_WRITEV:
		if (!op->iov || op->niov < 1 || op->niov > BLK_IO_MAX_IOV)
			return -EINVAL;
		for (unsigned i = 0; i < op->niov; i++) {
			if (op->iov[i].iov_len == 0)
				return -EINVAL; /* slot_advance relies on non-empty entries */
			len += op->iov[i].iov_len;
		}
		break;
	case BLK_IO_DATASYNC:
		break;
	case BLK_IO_FALLOCATE:
		len = op->len;
		if (len == 0)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	if (op->offset > INT64_MAX || len > INT64_MAX - op->offset)
		return -EINVAL;
	memset(s, 0, sizeof(*s));
	s->op = *op;
	s->op.len = len;
	s->busy = true;
	io->busy++;
	io->stats.started++;
	/* FALLOCATE always runs here: the ring does not take it (blk_io_setup.c, uring_setup). */
	if (io->engine == BLK_IO_ENGINE_SYNC || op->kind == BLK_IO_FALLOCATE) {
		/* Bounded: each step transfers bytes or uses up one of BLK_IO_MAX_RETRIES. */
		while (!slot_result(s, sync_step(io, s), &final))
			io->stats.resubmits++;
		sync_finish(io, tag, final);
		return 0;
	}
	r = uring_prep(io, tag);
	if (r < 0) {
		s->busy = false;
		io->busy--;
		return r;
	}
	return 0;
}

int blk_io_submit(struct blk_io *io)
{
	int r;

	if (io->engine != BLK_IO_ENGINE_URING || io->unsubmitted == 0 || io->broken)
		return 0;
	if (io->busy > io->stats.max_inflight)
		io->stats.max_inflight = io->busy;
	/* Precondition: the ring is enabled; io_uring_enter is allowed on its fd. */
	r = io_uring_submit(&io->ring);
	if (r < 0) {
		io->stats.submit_errors++;
		return r;
	}
	io->stats.submits++;
	/* What the kernel has not consumed yet (normally nothing). */
	io->unsubmitted = io_uring_sq_ready(&io->ring);
	return 0;
}

unsigned blk_io_reap(struct blk_io *io, struct blk_io_done *out, unsigned max)
{
	unsigned n = 0;

	/* Finished synchronous operations: every one with the sync engine, FALLOCATE with either. */
	{
		while (n < max && io->sync_count > 0) {
			struct blk_io_done d = io->sync_done[io->sync_head];

			io->sync_head = (io->sync_head + 1) % BLK_IO_MAX_DEPTH;
			io->sync_count--;
			if (d.tag < io->depth && io->slot[d.tag].busy) {
				io->slot[d.tag].busy = false;
				io->busy--;
			}
			io->stats.completed++;
			out[n++] = d;
		}
		if (io->engine == BLK_IO_ENGINE_SYNC)
			return n;
	}
	/* Bounded by max and by the CQEs present (at most depth operations in flight). */
	while (n < max && !io->broken) {
		struct io_uring_cqe *cqe = NULL;
		struct blk_io_slot *s;
		uint64_t tag;
		int res, final = 0;

		/* Reads the CQ ring in memory; io_uring_enter only to flush an overflow. */
		if (io_uring_peek_cqe(&io->ring, &cqe) != 0 || !cqe)
			break;
		tag = io_uring_cqe_get_data64(cqe);
		res = cqe->res;
		io_uring_cqe_seen(&io->ring, cqe);
		if (tag >= io->depth || !io->slot[tag].busy)
			continue; /* not ours: cannot happen, and nothing to do */
		s = &io->slot[tag];
		if (!slot_result(s, res, &final)) {
			io->stats.resubmits++;
			if (uring_prep(io, (unsigned)tag) == 0)
				continue;
			final = -EIO;
		}
		s->busy = false;
		io->busy--;
		io->stats.completed++;
		out[n++] = (struct blk_io_done){ .tag = (unsigned)tag, .res = final };
	}
	return n;
}

void blk_io_drain(struct blk_io *io)
{
	unsigned interrupted = 0;

	if (io->engine == BLK_IO_ENGINE_SYNC) {
		/* Everything already happened: forget the queued completions. */
		for (unsigned t = 0; t < io->depth; t++)
			io->slot[t].busy = false;
		io->busy = 0;
		io->sync_head = io->sync_count = 0;
		return;
	}
	/* FALLOCATEs finished synchronously: already done, nothing of them is in the kernel. */
	while (io->sync_count > 0) {
		unsigned tag = io->sync_done[io->sync_head].tag;

		io->sync_head = (io->sync_head + 1) % BLK_IO_MAX_DEPTH;
		io->sync_count--;
		if (tag < io->depth && io->slot[tag].busy) {
			io->slot[tag].busy = false;
			io->busy--;
		}
	}
	/*
	 * Prepared SQEs cannot be taken back: hand them over too, and wait for
	 * them like the rest. Each loop either consumes a CQE (at most busy of
	 * them) or counts an interruption.
	 */
	while (io->busy > 0 && !io->broken) {
		struct io_uring_cqe *cqe = NULL;
		uint64_t tag;
		int r;

		if (io->unsubmitted) {
			r = blk_io_submit(io);
			if (io->unsubmitted >= io->busy) {
				/* Nothing is in the kernel to wait for: try again, a bounded number of times. */
				if (++interrupted > BLK_IO_DRAIN_EINTR_MAX || (r < 0 && r != -EAGAIN && r != -EINTR &&
									      r != -EBUSY))
					io->broken = true;
				continue;
			}
		}
		/* Precondition: at least one operation is in the kernel (busy > unsubmitted). */
		r = io_uring_wait_cqe(&io->ring, &cqe);
		if (r == -EINTR || r == -EAGAIN) {
			if (++interrupted > BLK_IO_DRAIN_EINTR_MAX)
				io->broken = true;
			continue;
		}
		if (r < 0 || !cqe) {
			io->broken = true;
			break;
		}
		tag = io_uring_cqe_get_data64(cqe);
		io_uring_cqe_seen(&io->ring, cqe);
		if (tag < io->depth && io->slot[tag].busy) {
			io->slot[tag].busy = false;
			io->busy--;
		}
	}
	/*
	 * Broken: the kernel may still own some operations. The engine never
	 * enters the ring again, so none is re-submitted; every later start
	 * fails with -EIO.
	 */
}

void blk_io_destroy(struct blk_io *io)
{
	blk_io_drain(io);
	if (io->engine == BLK_IO_ENGINE_URING)
		io_uring_queue_exit(&io->ring);
	/* A broken ring may still own operations on the buffers: leak them rather. */
	if (!io->broken) {
		free(io->bounce);
		free(io->zeroes);
	}
	io->bounce = io->zeroes = NULL;
	io->bounce_chunks = io->bounce_free = 0;
	io->engine = BLK_IO_ENGINE_SYNC;
	io->fd = -1;
}
