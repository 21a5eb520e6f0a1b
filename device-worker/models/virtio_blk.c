/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk (virtio_blk.h): request parsing and validation, and each
 * request's small state machine over the I/O engine (blk_io.h). Its set-up
 * (parameters, backend checks, config space) is virtio_blk_setup.c, and
 * DISCARD / WRITE_ZEROES requests are virtio_blk_dwz.c.
 *
 * A request's life: queue_notify pops its chain, blk_begin parses and
 * checks it and either answers at once (GET_ID, every error) or starts its
 * first engine operation with the chain's head as the tag. Each completion
 * (blk_on_done) starts the next operation (the fdatasync of a write-through
 * write, the next discard range, the next zero-write) or completes the
 * request: status byte, then virtio_dev_push. At most one engine operation
 * per request is in flight, so the engine's depth is the queue size.
 */
#include "device-worker/models/virtio_blk.h"
#include "device-worker/models/virtio_blk_req.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

/* ---- logging ---------------------------------------------------------------- */

/* Backend errors: the first 8, then every power of two, so a failing disk cannot flood the log. */
static void log_backend_error(struct virtio_blk *b, const struct blk_req *r, const char *what, int err)
{
	uint64_t n = ++b->errors_seen;

	b->stats.backend_errors++;
	if (n > 8 && (n & (n - 1)) != 0)
		return;
	device_log(b->host, "virtio-blk: %s at byte %llu failed: %s (backend error #%llu)", what,
		   (unsigned long long)r->offset, strerrordesc_np(-err), (unsigned long long)n);
}

/* Guest mistakes answered on the request: the first 16, then quiet. */
static void log_guest_error(struct virtio_blk *b, const char *what)
{
	uint64_t n = b->stats.ioerr + b->stats.unsupp; /* refusals before this one */

	if (n < 16)
		device_log(b->host, "virtio-blk: request refused: %s%s", what,
			   n == 15 ? " (further refusals not logged)" : "");
}

/* ---- completing --------------------------------------------------------------- */

/*
 * Writes the status byte, returns the chain to the driver with written
 * bytes (data + status) and frees the request. Bounce buffers go back to
 * the engine.
 */
void blk_complete(struct virtio_blk *b, struct blk_req *r, uint8_t status, uint32_t data_written)
{
	if (status == VIRTIO_BLK_S_IOERR)
		b->stats.ioerr++;
	else if (status == VIRTIO_BLK_S_UNSUPP)
		b->stats.unsupp++;
	if (status != VIRTIO_BLK_S_OK)
		data_written = 0;
	/* status_gpa lies in a buffer virtq_pop proved inside guest RAM: cannot fail. */
	if (guest_mem_write(&b->host->mem, r->status_gpa, &status, 1) < 0)
		device_log(b->host, "virtio-blk: status byte at %#llx outside guest RAM",
			   (unsigned long long)r->status_gpa);
	if (r->nbounce) {
		blk_io_bounce_put(&b->io, r->biov, r->nbounce);
		r->nbounce = 0;
	}
	r->state = BLK_REQ_FREE;
	r->step = STEP_NONE;
	/* -ESTALE after a reset is harmless (and cannot happen: reset drains first). */
	(void)virtio_dev_push(b->vd, r->q, r->head, data_written + 1);
}

void blk_refuse(struct virtio_blk *b, struct blk_req *r, uint8_t status, const char *why)
{
	log_guest_error(b, why);
	blk_complete(b, r, status, 0);
}

/* Starts an engine operation for r; a failure to start completes it with IOERR. */
void blk_start(struct virtio_blk *b, struct blk_req *r, enum blk_step step, const struct blk_io_op *op)
{
	int e;

	r->step = (uint8_t)step;
	r->state = BLK_REQ_RUNNING;
	e = blk_io_start(&b->io, r->head, op);
	if (e < 0) {
		log_backend_error(b, r, "starting an operation", e);
		blk_complete(b, r, VIRTIO_BLK_S_IOERR, 0);
	}
}

static void blk_start_sync(struct virtio_blk *b, struct blk_req *r)
{
	struct blk_io_op op = { .kind = BLK_IO_DATASYNC };

	r->write_through = false;
	blk_start(b, r, STEP_SYNC, &op);
}

/* The request's work is done: a write-through fdatasync if due, else OK. */
void blk_finish_ok(struct virtio_blk *b, struct blk_req *r, uint32_t data_written)
{
	if (r->write_through) {
		blk_start_sync(b, r);
		return;
	}
	blk_complete(b, r, VIRTIO_BLK_S_OK, data_written);
}

/* ---- reads and writes --------------------------------------------------------- */

static void defer_push(struct virtio_blk *b, struct blk_req *r)
{
	r->state = BLK_REQ_DEFERRED;
	b->deferred[(b->defer_head + b->defer_count) % VIRTIO_BLK_QUEUE_SIZE] = r->head;
	b->defer_count++; /* at most one entry per head: fits */
	b->stats.deferred++;
}

/* Starts the transfer of an IN / OUT request straight from its guest iovecs. */
static void blk_launch_rw(struct virtio_blk *b, struct blk_req *r)
{
	bool write = r->type == VIRTIO_BLK_T_OUT;
	struct blk_io_op op = {
		.kind = write ? BLK_IO_WRITEV : BLK_IO_READV,
		.iov = r->iov,
		.niov = r->niov,
		.offset = r->offset,
	};

	blk_start(b, r, write ? STEP_WRITE : STEP_READ, &op);
}

/* Does any segment break the direct-I/O alignment (address or length)? */
static bool needs_bounce(const struct virtio_blk *b, const struct blk_req *r)
{
	if (!b->direct)
		return false;
	for (unsigned i = 0; i < r->niov; i++) {
		if (((uintptr_t)r->iov[i].iov_base | r->iov[i].iov_len) & (b->dio_align - 1))
			return true;
	}
	return false;
}

/*
 * Takes bounce buffers for r and starts it through them. -EAGAIN when
 * they are busy now; any other failure completes r with IOERR.
 */
static int blk_launch_bounced(struct virtio_blk *b, struct blk_req *r)
{
	bool write = r->type == VIRTIO_BLK_T_OUT;
	struct blk_io_op op = { .kind = write ? BLK_IO_WRITEV : BLK_IO_READV, .offset = r->offset };
	int n = blk_io_bounce_get(&b->io, r->len, r->biov, ARRAY_SIZE(r->biov));

	if (n == -EAGAIN)
		return -EAGAIN;
	if (n <= 0) {
		blk_refuse(b, r, VIRTIO_BLK_S_IOERR, "an unaligned cache=none request larger than the bounce buffers");
		return 0;
	}
	r->nbounce = (unsigned)n;
	/* The guest's data, as it is now: later changes by the guest do not reach the disk. */
	if (write)
		blk_io_copy(r->biov, r->nbounce, r->iov, r->niov, r->len);
	op.iov = r->biov;
	op.niov = r->nbounce;
	blk_start(b, r, write ? STEP_WRITE : STEP_READ, &op);
	return 0;
}

/* Starts the deferred requests that fit now, in order. */
static void blk_run_deferred(struct virtio_blk *b)
{
	while (b->defer_count > 0) {
		struct blk_req *r = &b->req[b->deferred[b->defer_head]];

		if (r->state == BLK_REQ_DEFERRED && blk_launch_bounced(b, r) == -EAGAIN)
			return;
		b->defer_head = (b->defer_head + 1) % VIRTIO_BLK_QUEUE_SIZE;
		b->defer_count--;
	}
}

/*
 * IN / OUT: data of len bytes at sector. Guest buffers: the writable part
 * (IN, before the status byte) or the readable part after the header (OUT).
 */
static void blk_begin_rw(struct virtio_blk *b, struct blk_req *r, uint64_t sector, uint64_t len)
{
	bool write = r->type == VIRTIO_BLK_T_OUT;
	uint64_t covered = 0;

	if (write && b->ro) {
		blk_refuse(b, r, VIRTIO_BLK_S_IOERR, "write to a read-only disk");
		return;
	}
	if (len % VIRTIO_BLK_SECTOR) {
		blk_refuse(b, r, VIRTIO_BLK_S_IOERR, "data length not a multiple of 512");
		return;
	}
	/* Overflow-safe: capacity < 2^55, and nothing is added to a guest value. */
	if (sector > b->capacity || len / VIRTIO_BLK_SECTOR > b->capacity - sector) {
		blk_refuse(b, r, VIRTIO_BLK_S_IOERR, "sector range past the capacity");
		return;
	}
	r->offset = sector * VIRTIO_BLK_SECTOR;
	r->len = len;
	if (len == 0) {
		blk_complete(b, r, VIRTIO_BLK_S_OK, 0);
		return;
	}
	r->niov = virtio_chain_iov(b->vd, &b->chain, !write, write ? sizeof(struct virtio_blk_req_hdr) : 0, len,
				   r->iov, BLK_IO_MAX_IOV, &covered);
	if (covered != len) {
		blk_refuse(b, r, VIRTIO_BLK_S_IOERR, "more data segments than one request takes");
		return;
	}
	r->write_through = write && !(b->vd->st->driver_features & (1ull << VIRTIO_BLK_F_FLUSH));
	if (write) {
		b->stats.writes++;
		b->stats.bytes_written += len;
	} else {
		b->stats.reads++;
		b->stats.bytes_read += len;
	}
	if (!needs_bounce(b, r)) {
		blk_launch_rw(b, r);
		return;
	}
	b->stats.bounced++;
	/* First come, first served: behind any request already waiting. */
	if (b->defer_count > 0 || blk_launch_bounced(b, r) == -EAGAIN)
		defer_push(b, r);
}

/* ---- one request ------------------------------------------------------------ */

/*
 * Parses the chain in b->chain (just popped from queue q) and starts or
 * answers it. -EINVAL when the chain is malformed: the device is then in
 * DEVICE_NEEDS_RESET (and this model was reset), so the caller stops.
 */
static int blk_begin(struct virtio_blk *b, unsigned q)
{
	const struct virtq_chain *c = &b->chain;
	struct virtio_blk_req_hdr hdr;
	const struct virtq_buf *last;
	struct blk_req *r;

	if (virtio_chain_writable(c) < 1) {
		virtio_dev_fail(b->vd, q, "virtio-blk request without a writable status byte");
		return -EINVAL;
	}
	if (virtio_chain_readable(c) < sizeof(hdr) ||
	    virtio_chain_copy_from(b->vd, c, 0, &hdr, sizeof(hdr)) != sizeof(hdr)) {
		virtio_dev_fail(b->vd, q, "virtio-blk request header shorter than 16 bytes");
		return -EINVAL;
	}
	if (c->head >= VIRTIO_BLK_QUEUE_SIZE || b->req[c->head].state != BLK_REQ_FREE) {
		/* The glue refuses a head already in flight; this is belt and braces. */
		virtio_dev_fail(b->vd, q, "virtio-blk request head already in flight");
		return -EINVAL;
	}
	/* Writable buffers come last (virtq_pop), so the last buffer holds the status byte. */
	last = &c->bufs[c->nbufs - 1];
	r = &b->req[c->head];
	r->state = BLK_REQ_RUNNING;
	r->step = STEP_NONE;
	r->head = c->head;
	r->q = q;
	r->type = hdr.type;
	r->status_gpa = last->gpa + last->len - 1;
	r->offset = r->len = 0;
	r->niov = r->nbounce = 0;
	r->write_through = false;

	switch (hdr.type) {
	case VIRTIO_BLK_T_IN:
		blk_begin_rw(b, r, hdr.sector, virtio_chain_writable(c) - 1);
		break;
	case VIRTIO_BLK_T_OUT:
		blk_begin_rw(b, r, hdr.sector, virtio_chain_readable(c) - sizeof(hdr));
		break;
	case VIRTIO_BLK_T_FLUSH:
		b->stats.flushes++;
		if (b->ro)
			blk_complete(b, r, VIRTIO_BLK_S_OK, 0); /* nothing was written */
		else
			blk_start_sync(b, r);
		break;
	case VIRTIO_BLK_T_GET_ID: {
		uint64_t room = virtio_chain_writable(c) - 1;
		uint64_t n = room < VIRTIO_BLK_ID_BYTES ? room : VIRTIO_BLK_ID_BYTES;

		b->stats.get_ids++;
		/* A shorter buffer gets the first bytes of the ID (as QEMU does). */
		n = virtio_chain_copy_to(b->vd, c, 0, b->id, n);
		blk_complete(b, r, VIRTIO_BLK_S_OK, (uint32_t)n);
		break;
	}
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		blk_begin_dwz(b, r);
		break;
	default:
		blk_refuse(b, r, VIRTIO_BLK_S_UNSUPP, "unknown request type");
		break;
	}
	return 0;
}

/* ---- completions -------------------------------------------------------------- */

/* Engine operation of request tag finished with res (0 or -errno). */
static void blk_on_done(struct virtio_blk *b, unsigned tag, int res)
{
	struct blk_req *r;

	if (tag >= VIRTIO_BLK_QUEUE_SIZE || b->req[tag].state != BLK_REQ_RUNNING)
		return;
	r = &b->req[tag];
	switch (r->step) {
	case STEP_READ:
	case STEP_WRITE:
		if (res < 0) {
			log_backend_error(b, r, r->step == STEP_READ ? "read" : "write", res);
			blk_complete(b, r, VIRTIO_BLK_S_IOERR, 0);
			return;
		}
		if (r->step == STEP_READ && r->nbounce)
			blk_io_copy(r->iov, r->niov, r->biov, r->nbounce, r->len);
		if (r->nbounce) {
			blk_io_bounce_put(&b->io, r->biov, r->nbounce);
			r->nbounce = 0;
		}
		blk_finish_ok(b, r, r->step == STEP_READ ? (uint32_t)r->len : 0);
		return;
	case STEP_SYNC:
		if (res < 0) {
			log_backend_error(b, r, "fdatasync", res);
			blk_complete(b, r, VIRTIO_BLK_S_IOERR, 0);
			return;
		}
		blk_complete(b, r, VIRTIO_BLK_S_OK, 0);
		return;
	case STEP_DISCARD:
		if (res == -EOPNOTSUPP)
			b->no_punch = true;
		if (res < 0 && res != -EOPNOTSUPP && res != -EINVAL) {
			log_backend_error(b, r, "discard", res);
			blk_complete(b, r, VIRTIO_BLK_S_IOERR, 0);
			return;
		}
		r->range++; /* done, or a hint the backend could not take */
		blk_dwz_continue(b, r);
		return;
	case STEP_ZERO:
		if (res == 0) {
			if (r->wz_method == WZ_WRITE) {
				r->range_done += r->step_len;
			} else {
				r->range++;
				r->wz_method = WZ_NONE;
				r->range_done = 0;
			}
			blk_dwz_continue(b, r);
			return;
		}
		if (r->wz_method != WZ_WRITE && (res == -EOPNOTSUPP || res == -EINVAL)) {
			/* EINVAL: e.g. a block device whose logical blocks are larger than the range's alignment. */
			blk_dwz_fallback(b, r, res);
			return;
		}
		log_backend_error(b, r, "write zeroes", res);
		blk_complete(b, r, VIRTIO_BLK_S_IOERR, 0);
		return;
	default:
		return;
	}
}

/*
 * Hands prepared operations to the kernel, takes every finished one and
 * starts what they make possible (next steps, deferred requests). Ends when
 * nothing more has finished: with io_uring that is at once; with the sync
 * engine every started operation has already finished, so it ends when the
 * requests have nothing left to do.
 */
static void blk_submit(struct virtio_blk *b)
{
	int e = blk_io_submit(&b->io);

	/* Prepared operations stay queued: the next pump (idle at the latest) retries. */
	if (e < 0 && e != -EAGAIN && e != -EBUSY && e != -EINTR && b->io.stats.submit_errors <= 8)
		device_log(b->host, "virtio-blk: io_uring submit: %s (will retry)", strerrordesc_np(-e));
}

static void blk_pump(struct virtio_blk *b)
{
	struct blk_io_done done[32];
	unsigned n;

	do {
		blk_submit(b);
		n = blk_io_reap(&b->io, done, ARRAY_SIZE(done));
		for (unsigned i = 0; i < n; i++)
			blk_on_done(b, done[i].tag, done[i].res);
		blk_run_deferred(b);
	} while (n > 0);
	blk_submit(b); /* what the last round started */
}

/* ---- the model callbacks ------------------------------------------------------ */

/*
 * Pops and starts up to VIRTIO_BLK_BATCH_MAX chains, so that a driver
 * adding requests as fast as they are answered (only a polling or hostile
 * one can: nothing is interrupted before this returns) cannot hold the
 * loop. Stopping there leaves vd->drained clear: the glue then calls again,
 * and after its last round kicks the queue's own eventfd, so the rest is
 * taken on the next loop round (virtio_device.c, run_queue).
 */
static void blk_queue_notify(struct virtio_dev *vd, void *ms, unsigned q)
{
	struct virtio_blk *b = ms;
	unsigned n;

	for (n = 0; n < VIRTIO_BLK_BATCH_MAX; n++) {
		int r = virtio_dev_pop(vd, q, &b->chain);

		if (r <= 0)
			break; /* empty, or DEVICE_NEEDS_RESET (we were reset) */
		if (blk_begin(b, q) < 0)
			break; /* malformed: DEVICE_NEEDS_RESET, we were reset */
	}
	if (n == VIRTIO_BLK_BATCH_MAX)
		b->stats.yields++;
	blk_pump(b);
}

/* Poll set: the ring fd (POLLIN when completions wait) with io_uring; nothing for the sync engine. */
static unsigned blk_pollfds(void *ms, struct pollfd *pfd, unsigned max)
{
	struct virtio_blk *b = ms;

	if (blk_io_pollfd(&b->io) < 0 || max == 0)
		return 0;
	pfd[0] = (struct pollfd){ .fd = blk_io_pollfd(&b->io), .events = POLLIN };
	return 1;
}

static void blk_backend_event(struct virtio_dev *vd, void *ms, unsigned i, short revents)
{
	(void)vd;
	if (i == 0 && revents)
		blk_pump(ms);
}

static void blk_idle(struct virtio_dev *vd, void *ms)
{
	struct virtio_blk *b = ms;

	(void)vd;
	/* Retries a submit that failed, and reaps what finished meanwhile. */
	blk_pump(b);
}

/*
 * Reset, queue stop or DEVICE_NEEDS_RESET: waits until the kernel is done
 * with every operation in flight (so nothing lands in guest memory that the
 * driver may already reuse, nor in a bounce buffer given to another
 * request), then forgets every request without touching the rings.
 * Bounded by the operations in flight, at most the queue size.
 */
static void blk_reset(struct virtio_dev *vd, void *ms, int queue)
{
	struct virtio_blk *b = ms;

	(void)vd;
	(void)queue; /* one queue */
	blk_io_drain(&b->io);
	for (unsigned h = 0; h < VIRTIO_BLK_QUEUE_SIZE; h++) {
		struct blk_req *r = &b->req[h];

		if (r->nbounce)
			blk_io_bounce_put(&b->io, r->biov, r->nbounce);
		r->nbounce = 0;
		r->state = BLK_REQ_FREE;
		r->step = STEP_NONE;
	}
	b->defer_head = b->defer_count = 0;
}

/* The config space is read-only (no CONFIG_WCE): guest writes change nothing. */
static void blk_config_write(struct virtio_dev *vd, void *ms, uint32_t offset, uint32_t size, uint32_t value)
{
	(void)vd;
	(void)ms;
	(void)offset;
	(void)size;
	(void)value;
}

static unsigned blk_sandbox_rules(void *ms, struct sandbox_fd_rule *out, unsigned max)
{
	const struct virtio_blk *b = ms;

	return blk_io_sandbox_rules(&b->io, out, max);
}

const struct virtio_model virtio_blk_model = {
	.name = "virtio-blk",
	.device_id = VIRTIO_BLK_DEVICE_ID,
	.nqueues = VIRTIO_BLK_QUEUES,
	.queue_size_max = VIRTIO_BLK_QUEUE_SIZE,
	.config_len = VIRTIO_BLK_CONFIG_LEN,
	.state_size = sizeof(struct virtio_blk),
	.init = virtio_blk_init, /* virtio_blk_setup.c */
	.reset = blk_reset,
	.queue_notify = blk_queue_notify,
	.config_write = blk_config_write,
	.backend_pollfds = blk_pollfds,
	.backend_event = blk_backend_event,
	.sandbox_rules = blk_sandbox_rules,
	.idle = blk_idle,
};

static int virtio_blk_device_init(void *state, struct device_host *host)
{
	return virtio_dev_init(state, host, &virtio_blk_model);
}

const struct device_model virtio_blk_device_model = VIRTIO_DEVICE_MODEL("virtio-blk", virtio_blk_device_init);
