/* SPDX-License-Identifier: MIT */
/* virtio-rng requests. */
#include "check.h"
#include "dma.h"
#include "guest.h"
#include "virtio_rng.h"

#define RNG_EMPTY_LIMIT 1000 /* zero-length completions in a row before giving up */

/* What a request's token points at: filled in by whoever takes it from the ring. */
struct rng_token {
	uint32_t done;
	uint32_t len;
};

const char *rng_open(struct rng_dev *r, unsigned nth, const struct virtio_opts *o)
{
	struct virtio_dev *d = virtio_find(VIRTIO_ID_RNG, nth);
	const char *err;

	memset(r, 0, sizeof(*r));
	if (!d)
		return "no such virtio-rng device";
	err = virtio_start(d, 0, 1, o);
	if (err)
		return err;
	r->vd = d;
	r->vq = &d->vq[0];
	r->opts = *o;
	r->buf = dma_alloc(RNG_CHUNK);
	if (!r->buf)
		return "DMA arena too small";
	virtio_driver_ok(d);
	return 0;
}

/* Takes every used element; marks its token done. Returns whether any. */
static bool reap(struct rng_dev *r)
{
	uint64_t flags = spin_lock_irqsave(&r->vq->lock);
	struct rng_token *t;
	uint32_t len;
	bool any = false;

	while ((t = virtq_get_used(r->vq, &len))) {
		t->len = len;
		__atomic_store_n(&t->done, 1, __ATOMIC_RELEASE);
		any = true;
	}
	spin_unlock_irqrestore(&r->vq->lock, flags);
	if (r->vq->broken)
		virtio_fatal(r->vd, "rng-used-ring");
	return any;
}

/*
 * Waits a little for the device; false when it needs a reset, which is
 * then done (the request in flight is gone with the old queue).
 */
static bool wait_or_reset(struct rng_dev *r, struct virtio_wait *w)
{
	bool waiting = virtio_wait_idle(w, r->vd);
	const char *err;

	if (!virtio_needs_reset(r->vd, &r->config_seen, !waiting)) {
		if (!waiting)
			virtio_fatal(r->vd, "rng-timeout");
		return true;
	}
	err = virtio_start(r->vd, 0, 1, &r->opts);
	if (err)
		virtio_fatal(r->vd, err);
	r->vq = &r->vd->vq[0];
	virtio_driver_ok(r->vd);
	r->resets++;
	kprintf("rng: device needed a reset: reset it\n");
	return false;
}

uint32_t rng_request(struct rng_dev *r, void *dma_buf, uint32_t len)
{
	struct virtq_buf b = { dma_addr(dma_buf), len, true };
	struct rng_token t = { 0, 0 };
	struct virtio_wait w;
	uint64_t flags;
	int head;

	virtio_wait_begin(&w, r->vd);
	for (;;) {
		flags = spin_lock_irqsave(&r->vq->lock);
		head = virtq_add(r->vq, &b, 1, &t);
		if (head >= 0) {
			r->requests++;
			virtq_kick(r->vq);
		}
		spin_unlock_irqrestore(&r->vq->lock, flags);
		if (head >= 0)
			break;
		if (!reap(r) && !wait_or_reset(r, &w))
			return 0;
	}
	while (!__atomic_load_n(&t.done, __ATOMIC_ACQUIRE)) {
		if (!reap(r) && !wait_or_reset(r, &w))
			return 0;
	}
	if (t.len > len) {
		char why[96];

		ksnprintf(why, sizeof(why), "used length %u for a %u-byte buffer", t.len, len);
		check_fail("rng-used-len", why);
		finish();
	}
	return t.len;
}

void rng_read(struct rng_dev *r, void *out, uint32_t len)
{
	uint8_t *o = out;
	unsigned empty = 0;

	while (len) {
		uint32_t want = len < RNG_CHUNK ? len : RNG_CHUNK;
		uint32_t got = rng_request(r, r->buf, want);

		if (got == 0 && ++empty == RNG_EMPTY_LIMIT)
			virtio_fatal(r->vd, "rng-no-bytes");
		memcpy(o, r->buf, got);
		o += got;
		len -= got;
	}
}
