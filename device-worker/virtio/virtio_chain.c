/* SPDX-License-Identifier: MIT */
/*
 * Moving bytes between a popped chain's buffers and the model (virtio_device.h):
 * copies at an offset into the chain and iovecs over its guest buffers, all
 * through the checked guest-memory accessor.
 */
#include "device-worker/virtio/virtio_device.h"

#include <string.h>
#include <sys/uio.h>

uint64_t virtio_chain_copy_from(const struct virtio_dev *vd, const struct virtq_chain *chain, uint64_t offset,
				void *dst, uint64_t len)
{
	uint8_t *out = dst;
	uint64_t done = 0;

	for (uint32_t i = 0; i < chain->nbufs && done < len; i++) {
		const struct virtq_buf *b = &chain->bufs[i];
		uint64_t take;
		const void *src;

		if (b->device_writable)
			break; /* readable buffers come first */
		if (offset >= b->len) {
			offset -= b->len;
			continue;
		}
		take = b->len - offset < len - done ? b->len - offset : len - done;
		src = guest_mem_ptr(&vd->host->mem, b->gpa + offset, take);
		if (!src)
			break; /* cannot happen: virtq_pop proved every buffer inside RAM */
		memcpy(out + done, src, take);
		done += take;
		offset = 0;
	}
	return done;
}

uint64_t virtio_chain_copy_to(const struct virtio_dev *vd, const struct virtq_chain *chain, uint64_t offset,
			      const void *src, uint64_t len)
{
	const uint8_t *in = src;
	uint64_t done = 0;

	for (uint32_t i = 0; i < chain->nbufs && done < len; i++) {
		const struct virtq_buf *b = &chain->bufs[i];
		uint64_t take;
		void *dst;

		if (!b->device_writable)
			continue;
		if (offset >= b->len) {
			offset -= b->len;
			continue;
		}
		take = b->len - offset < len - done ? b->len - offset : len - done;
		dst = guest_mem_ptr(&vd->host->mem, b->gpa + offset, take);
		if (!dst)
			break;
		memcpy(dst, in + done, take);
		done += take;
		offset = 0;
	}
	return done;
}

unsigned virtio_chain_iov(const struct virtio_dev *vd, const struct virtq_chain *chain, bool writable,
			  uint64_t offset, uint64_t len, struct iovec *iov, unsigned max, uint64_t *covered)
{
	unsigned n = 0;
	uint64_t done = 0;

	for (uint32_t i = 0; i < chain->nbufs && done < len && n < max; i++) {
		const struct virtq_buf *b = &chain->bufs[i];
		uint64_t take;
		void *p;

		if (b->device_writable != writable)
			continue;
		if (offset >= b->len) {
			offset -= b->len;
			continue;
		}
		take = b->len - offset < len - done ? b->len - offset : len - done;
		p = guest_mem_ptr(&vd->host->mem, b->gpa + offset, take);
		if (!p)
			break;
		iov[n].iov_base = p;
		iov[n].iov_len = (size_t)take;
		n++;
		done += take;
		offset = 0;
	}
	if (covered)
		*covered = done;
	return n;
}
