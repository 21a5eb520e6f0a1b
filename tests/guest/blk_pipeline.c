/* SPDX-License-Identifier: MIT */
/* Up to qd virtio-blk requests in flight, refilled as they complete. */
#include "blk_pipeline.h"
#include "dma.h"
#include "guest.h"
#include "testdev.h"

const char *blk_pipeline_init(struct blk_pipeline *p, struct blk_dev *b, unsigned qd, uint32_t bs)
{
	memset(p, 0, sizeof(*p));
	if (qd == 0 || qd > BLK_PIPELINE_MAX_QD)
		return "qd must be 1..128";
	if (bs == 0 || bs % BLK_SECTOR_SIZE)
		return "bs must be a positive multiple of 512";
	if (bs > blk_max_transfer(b))
		return "bs larger than one request can carry (size_max * seg_max)";
	if ((uint64_t)qd * bs > dma_free_bytes())
		return "qd * bs larger than the DMA arena";
	p->b = b;
	p->qd = qd;
	p->bs = bs;
	p->reqs = blk_reqs_alloc(qd);
	p->bufs = dma_alloc((size_t)qd * bs);
	if (!p->reqs || !p->bufs)
		return "DMA arena too small";
	return 0;
}

/*
 * The device needed a reset: it forgot every request in flight. Resets it
 * and submits each of them again, unchanged (a write's data is still in its
 * buffer; a read reads again).
 */
static void resubmit_after_reset(struct blk_pipeline *p, const unsigned *free_slots, unsigned nfree)
{
	const char *err = blk_reopen(p->b);
	unsigned again = 0;

	if (err)
		virtio_fatal(p->b->vd, err);
	for (unsigned s = 0; s < p->qd; s++) {
		bool is_free = false;

		for (unsigned i = 0; i < nfree; i++)
			is_free |= free_slots[i] == s;
		if (is_free)
			continue;
		blk_prep(&p->reqs[s], p->ops[s].type, p->ops[s].sector, p->ops[s].len ? p->bufs + (size_t)s * p->bs : 0,
			 p->ops[s].len);
		if (blk_submit(p->b, &p->reqs[s]) != 0)
			virtio_fatal(p->b->vd, "blk-resubmit");
		again++;
	}
	kprintf("blk: device needed a reset: reset it and submitted %u requests again\n", again);
}

/* A completion: the time since the previous one (blk_pipeline.stall_ns). */
static void note_gap(struct blk_pipeline *p, uint64_t *last_ns)
{
	uint64_t now = testdev_clock_ns(), gap = now - *last_ns;

	*last_ns = now;
	if (gap > p->longest_ns)
		p->longest_ns = gap;
	if (gap >= p->stall_ns) {
		p->stalls++;
		kprintf("blk: stall %lu us\n", gap / 1000);
	}
}

void blk_pipeline_run(struct blk_pipeline *p, uint64_t nops, blk_prepare_fn prepare,
		      blk_complete_fn complete)
{
	unsigned free_slots[BLK_PIPELINE_MAX_QD], nfree = 0, inflight = 0;
	uint64_t next = 0, last_ns = p->stall_ns ? testdev_clock_ns() : 0;

	for (unsigned i = 0; i < p->qd; i++)
		free_slots[nfree++] = p->qd - 1 - i;
	while (next < nops || inflight) {
		while (next < nops && nfree) {
			unsigned s = free_slots[nfree - 1];
			struct blk_req *r = &p->reqs[s];
			uint8_t *buf = p->bufs + (size_t)s * p->bs;
			struct blk_op *o = &p->ops[s];
			int rc;

			prepare(p, next, o, buf);
			blk_prep(r, o->type, o->sector, o->len ? buf : 0, o->len);
			r->tag = s;
			r->user = next;
			rc = blk_submit(p->b, r);
			if (rc == -1)
				break; /* no room in the queue: wait for a completion */
			if (rc < 0)
				virtio_fatal(p->b->vd, "blk-request-too-large");
			nfree--;
			inflight++;
			next++;
		}
		if (!inflight)
			virtio_fatal(p->b->vd, "blk-queue-full-while-idle");
		{
			struct blk_req *r = blk_wait_any(p->b);
			unsigned s;

			if (!r) {
				resubmit_after_reset(p, free_slots, nfree);
				continue;
			}
			s = r->tag;
			if (p->stall_ns)
				note_gap(p, &last_ns);

			complete(p, &p->ops[s], r, p->bufs + (size_t)s * p->bs);
			free_slots[nfree++] = s;
			inflight--;
		}
	}
}
