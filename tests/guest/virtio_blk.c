/* SPDX-License-Identifier: MIT */
/* virtio-blk requests over the transport and split virtqueue. */
#include "dma.h"
#include "guest.h"
#include "spinlock.h"
#include "virtio_blk.h"

const char *blk_open(struct blk_dev *b, unsigned nth, const struct virtio_opts *o)
{
	struct virtio_dev *d = virtio_find(VIRTIO_ID_BLOCK, nth);
	const char *err;

	memset(b, 0, sizeof(*b));
	if (!d)
		return "no such virtio-blk device";
	b->opts = *o;
	err = virtio_start(d, BLK_WANTED_FEATURES, 1, o);
	if (err)
		return err;
	b->vd = d;
	b->vq = &d->vq[0];
	b->capacity = virtio_cfg64(d, VIRTIO_BLK_CFG_CAPACITY);
	b->size_max = virtio_has(d, VIRTIO_BLK_F_SIZE_MAX) ? virtio_cfg32(d, VIRTIO_BLK_CFG_SIZE_MAX) : 0;
	b->seg_max = virtio_has(d, VIRTIO_BLK_F_SEG_MAX) ? virtio_cfg32(d, VIRTIO_BLK_CFG_SEG_MAX) : BLK_MAX_SEGS;
	if (b->seg_max == 0 || b->seg_max > BLK_MAX_SEGS)
		b->seg_max = BLK_MAX_SEGS;
	b->blk_size = virtio_has(d, VIRTIO_BLK_F_BLK_SIZE) ? virtio_cfg32(d, VIRTIO_BLK_CFG_BLK_SIZE) : BLK_SECTOR_SIZE;
	if (virtio_has(d, VIRTIO_BLK_F_DISCARD)) {
		b->max_discard_sectors = virtio_cfg32(d, VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS);
		b->max_discard_seg = virtio_cfg32(d, VIRTIO_BLK_CFG_MAX_DISCARD_SEG);
		b->discard_alignment = virtio_cfg32(d, VIRTIO_BLK_CFG_DISCARD_ALIGNMENT);
	}
	if (virtio_has(d, VIRTIO_BLK_F_WRITE_ZEROES)) {
		b->max_wz_sectors = virtio_cfg32(d, VIRTIO_BLK_CFG_MAX_WZ_SECTORS);
		b->max_wz_seg = virtio_cfg32(d, VIRTIO_BLK_CFG_MAX_WZ_SEG);
		b->wz_may_unmap = virtio_cfg8(d, VIRTIO_BLK_CFG_WZ_MAY_UNMAP);
	}
	b->ro = virtio_has(d, VIRTIO_BLK_F_RO);
	virtio_driver_ok(d);
	return 0;
}

const char *blk_reopen(struct blk_dev *b)
{
	const char *err = virtio_start(b->vd, BLK_WANTED_FEATURES, 1, &b->opts);

	if (err)
		return err;
	virtio_driver_ok(b->vd);
	b->resets++;
	return 0;
}

struct blk_req *blk_reqs_alloc(unsigned n)
{
	return dma_alloc((size_t)n * sizeof(struct blk_req));
}

static uint32_t segs_needed(const struct blk_dev *b, uint32_t len)
{
	if (len == 0)
		return 0;
	if (!b->size_max)
		return 1;
	return (len + b->size_max - 1) / b->size_max;
}

uint32_t blk_max_transfer(const struct blk_dev *b)
{
	uint32_t segs = b->seg_max;
	uint64_t max;

	/* Without indirect tables every segment takes a descriptor of the queue. */
	if (!b->vq->indirect && segs + 2 > b->vq->size)
		segs = b->vq->size - 2;
	max = b->size_max ? (uint64_t)segs * b->size_max : 0xffffffffull;
	if (max > 0x7fffffffull)
		max = 0x7fffffffull;
	return (uint32_t)(max & ~(uint64_t)(BLK_SECTOR_SIZE - 1));
}

void blk_prep(struct blk_req *r, uint32_t type, uint64_t sector, void *data, uint32_t len)
{
	r->hdr.type = type;
	r->hdr.reserved = 0;
	r->hdr.sector = sector;
	r->status = BLK_STATUS_UNSET;
	r->data = data;
	r->data_len = data ? len : 0;
	r->used_len = 0;
	__atomic_store_n(&r->done, 0, __ATOMIC_RELAXED);
}

static bool device_writes_data(uint32_t type)
{
	return type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;
}

int blk_submit(struct blk_dev *b, struct blk_req *r)
{
	struct virtq_buf bufs[BLK_MAX_SEGS + 2];
	uint32_t segs = segs_needed(b, r->data_len), n = 0, off = 0;
	bool writes = device_writes_data(r->hdr.type);
	uint64_t flags;
	int head;

	if (segs > b->seg_max || segs + 2 > b->vq->size)
		return -2;
	bufs[n++] = (struct virtq_buf){ dma_addr(&r->hdr), sizeof(r->hdr), false };
	for (uint32_t i = 0; i < segs; i++) {
		uint32_t len = r->data_len - off;

		if (b->size_max && len > b->size_max)
			len = b->size_max;
		bufs[n++] = (struct virtq_buf){ dma_addr((uint8_t *)r->data + off), len, writes };
		off += len;
	}
	bufs[n++] = (struct virtq_buf){ dma_addr(&r->status), 1, true };

	flags = spin_lock_irqsave(&b->vq->lock);
	head = virtq_add(b->vq, bufs, n, r);
	if (head >= 0) {
		b->requests++;
		virtq_kick(b->vq);
	}
	spin_unlock_irqrestore(&b->vq->lock, flags);
	return head >= 0 ? 0 : -1;
}

struct blk_req *blk_reap(struct blk_dev *b)
{
	uint64_t flags = spin_lock_irqsave(&b->vq->lock);
	uint32_t len = 0;
	struct blk_req *r = virtq_get_used(b->vq, &len);

	if (r) {
		r->used_len = len;
		__atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
	}
	spin_unlock_irqrestore(&b->vq->lock, flags);
	if (b->vq->broken)
		virtio_fatal(b->vd, "blk-used-ring");
	return r;
}

struct blk_req *blk_wait_any(struct blk_dev *b)
{
	struct virtio_wait w;
	struct blk_req *r;

	virtio_wait_begin(&w, b->vd);
	while (!(r = blk_reap(b))) {
		bool waiting = virtio_wait_idle(&w, b->vd);

		if (virtio_needs_reset(b->vd, &b->config_seen, !waiting))
			return 0;
		if (!waiting)
			virtio_fatal(b->vd, "blk-timeout");
	}
	return r;
}

void blk_wait(struct blk_dev *b, struct blk_req *r)
{
	struct virtio_wait w;

	virtio_wait_begin(&w, b->vd);
	while (!__atomic_load_n(&r->done, __ATOMIC_ACQUIRE)) {
		if (blk_reap(b))
			continue;
		if (!virtio_wait_idle(&w, b->vd))
			virtio_fatal(b->vd, "blk-timeout");
	}
}

uint8_t blk_do(struct blk_dev *b, struct blk_req *r, uint32_t type, uint64_t sector, void *data,
	       uint32_t len)
{
	struct virtio_wait w;
	int rc;

	blk_prep(r, type, sector, data, len);
	virtio_wait_begin(&w, b->vd);
	while ((rc = blk_submit(b, r)) == -1) {
		if (blk_reap(b))
			continue;
		if (!virtio_wait_idle(&w, b->vd))
			virtio_fatal(b->vd, "blk-timeout");
	}
	if (rc < 0)
		virtio_fatal(b->vd, "blk-request-too-large");
	blk_wait(b, r);
	return __atomic_load_n(&r->status, __ATOMIC_ACQUIRE);
}
