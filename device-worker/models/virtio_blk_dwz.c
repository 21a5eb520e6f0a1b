/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk's DISCARD and WRITE_ZEROES requests (virtio_blk_req.h): the
 * segment list copied out and checked, then each range punched, zeroed in
 * place or written with zeroes, falling back in that order as the backend
 * answers EOPNOTSUPP.
 */
#include "device-worker/models/virtio_blk_req.h"

#include <errno.h>
#include <linux/falloc.h>
#include <stdbool.h>

static enum blk_wz_method wz_first(const struct virtio_blk *b, const struct blk_range *rg)
{
	if ((rg->flags & VIRTIO_BLK_WZ_F_UNMAP) && !b->no_punch)
		return WZ_PUNCH;
	return b->no_zero_range ? WZ_WRITE : WZ_ZERO_RANGE;
}

static enum blk_wz_method wz_next(const struct virtio_blk *b, enum blk_wz_method m)
{
	if (m == WZ_PUNCH && !b->no_zero_range)
		return WZ_ZERO_RANGE;
	return WZ_WRITE;
}

static void blk_start_fallocate(struct virtio_blk *b, struct blk_req *r, enum blk_step step, int mode,
				const struct blk_range *rg)
{
	struct blk_io_op op = { .kind = BLK_IO_FALLOCATE, .mode = mode, .offset = rg->offset, .len = rg->len };

	blk_start(b, r, step, &op);
}

/*
 * Starts the next operation of a DISCARD / WRITE_ZEROES request, or finishes
 * it. Bounded by the ranges (each skipped or started once per method) and,
 * for zero-writes, by each range's length.
 */
void blk_dwz_continue(struct virtio_blk *b, struct blk_req *r)
{
	for (; r->range < r->nrange; r->range++, r->wz_method = WZ_NONE, r->range_done = 0) {
		const struct blk_range *rg = &r->ranges[r->range];

		if (r->type == VIRTIO_BLK_T_DISCARD) {
			if (b->no_punch)
				continue; /* a hint the backend cannot take */
			blk_start_fallocate(b, r, STEP_DISCARD, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, rg);
			return;
		}
		if (r->wz_method == WZ_NONE)
			r->wz_method = (uint8_t)wz_first(b, rg);
		if (r->wz_method == WZ_PUNCH) {
			blk_start_fallocate(b, r, STEP_ZERO, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, rg);
			return;
		}
		if (r->wz_method == WZ_ZERO_RANGE) {
			/*
			 * Without KEEP_SIZE: inside the image it is the same, and past its
			 * end it would grow the file, which RLIMIT_FSIZE (the jail's) refuses;
			 * with KEEP_SIZE it could allocate blocks past the end unchecked.
			 * The device filter admits only this mode and PUNCH_HOLE|KEEP_SIZE.
			 */
			blk_start_fallocate(b, r, STEP_ZERO, FALLOC_FL_ZERO_RANGE, rg);
			return;
		}
		if (r->range_done < rg->len) {
			struct blk_io_op op = { .kind = BLK_IO_WRITEV, .iov = r->iov,
						.offset = rg->offset + r->range_done };

			if (r->range_done == 0)
				b->stats.zero_writes++;
			op.niov = blk_io_zero_iov(&b->io, rg->len - r->range_done, r->iov, BLK_ZERO_IOVS, &r->step_len);
			r->niov = op.niov;
			blk_start(b, r, STEP_ZERO, &op);
			return;
		}
	}
	blk_finish_ok(b, r, 0);
}

/*
 * DISCARD / WRITE_ZEROES: the readable part after the header holds 1 to
 * VIRTIO_BLK_DWZ_SEG_MAX segments of 16 bytes, each copied out before it
 * is checked.
 */
void blk_begin_dwz(struct virtio_blk *b, struct blk_req *r)
{
	bool discard = r->type == VIRTIO_BLK_T_DISCARD;
	uint64_t bytes = virtio_chain_readable(&b->chain) - sizeof(struct virtio_blk_req_hdr);
	uint32_t allowed_flags = discard ? 0 : VIRTIO_BLK_WZ_F_UNMAP;
	uint64_t nseg = bytes / sizeof(struct virtio_blk_dwz_seg);

	if (discard)
		b->stats.discards++;
	else
		b->stats.write_zeroes++;
	if (b->ro) {
		blk_refuse(b, r, VIRTIO_BLK_S_IOERR, "discard or write-zeroes on a read-only disk");
		return;
	}
	if (bytes % sizeof(struct virtio_blk_dwz_seg) || nseg == 0 || nseg > VIRTIO_BLK_DWZ_SEG_MAX) {
		blk_refuse(b, r, VIRTIO_BLK_S_IOERR, "discard or write-zeroes segment list of a bad size");
		return;
	}
	r->nrange = (unsigned)nseg;
	r->range = 0;
	r->wz_method = WZ_NONE;
	r->range_done = 0;
	for (unsigned i = 0; i < r->nrange; i++) {
		struct virtio_blk_dwz_seg seg;
		uint64_t off = sizeof(struct virtio_blk_req_hdr) + (uint64_t)i * sizeof(seg);

		if (virtio_chain_copy_from(b->vd, &b->chain, off, &seg, sizeof(seg)) != sizeof(seg)) {
			blk_refuse(b, r, VIRTIO_BLK_S_IOERR, "discard or write-zeroes segment unreadable");
			return;
		}
		if (seg.flags & ~allowed_flags) {
			blk_refuse(b, r, VIRTIO_BLK_S_UNSUPP, "discard or write-zeroes segment with unknown flags");
			return;
		}
		if (seg.num_sectors == 0 || seg.num_sectors > VIRTIO_BLK_DWZ_SECTORS_MAX || seg.sector > b->capacity ||
		    seg.num_sectors > b->capacity - seg.sector) {
			blk_refuse(b, r, VIRTIO_BLK_S_IOERR, "discard or write-zeroes range out of bounds");
			return;
		}
		r->ranges[i] = (struct blk_range){ .offset = seg.sector * VIRTIO_BLK_SECTOR,
						   .len = (uint64_t)seg.num_sectors * VIRTIO_BLK_SECTOR,
						   .flags = seg.flags };
	}
	r->offset = r->ranges[0].offset;
	r->write_through = !(b->vd->st->driver_features & (1ull << VIRTIO_BLK_F_FLUSH));
	blk_dwz_continue(b, r);
}

void blk_dwz_fallback(struct virtio_blk *b, struct blk_req *r, int res)
{
	if (res == -EOPNOTSUPP && r->wz_method == WZ_PUNCH)
		b->no_punch = true;
	if (res == -EOPNOTSUPP && r->wz_method == WZ_ZERO_RANGE)
		b->no_zero_range = true;
	r->wz_method = (uint8_t)wz_next(b, (enum blk_wz_method)r->wz_method);
	blk_dwz_continue(b, r);
}
