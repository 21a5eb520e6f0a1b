/* SPDX-License-Identifier: MIT */
/*
 * The virtio-blk I/O engine's buffers (blk_io.h): bounce buffers for
 * cache=none requests whose guest buffers are not aligned, the shared zero
 * buffer for WRITE_ZEROES, and copies between iovec arrays.
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

/* ---- buffers ------------------------------------------------------------------ */

int blk_io_bounce_get(struct blk_io *io, uint64_t len, struct iovec *iov, unsigned max)
{
	uint64_t need = (len + BLK_IO_BOUNCE_CHUNK - 1) / BLK_IO_BOUNCE_CHUNK;
	unsigned n = 0;

	if (len == 0 || need > io->bounce_chunks || need > max)
		return -E2BIG;
	if (need > io->bounce_free)
		return -EAGAIN;
	for (unsigned c = 0; c < io->bounce_chunks && n < need; c++) {
		uint64_t bit = 1ull << (c % 64u);

		if (io->bounce_used[c / 64u] & bit)
			continue;
		io->bounce_used[c / 64u] |= bit;
		iov[n].iov_base = io->bounce + (size_t)c * BLK_IO_BOUNCE_CHUNK;
		iov[n].iov_len = len - (uint64_t)n * BLK_IO_BOUNCE_CHUNK < BLK_IO_BOUNCE_CHUNK
					 ? (size_t)(len - (uint64_t)n * BLK_IO_BOUNCE_CHUNK)
					 : BLK_IO_BOUNCE_CHUNK;
		n++;
	}
	io->bounce_free -= n;
	return (int)n;
}

void blk_io_bounce_put(struct blk_io *io, const struct iovec *iov, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uintptr_t p = (uintptr_t)iov[i].iov_base, base = (uintptr_t)io->bounce;
		uint64_t c, bit;

		if (!io->bounce || p < base || p - base >= (uint64_t)io->bounce_chunks * BLK_IO_BOUNCE_CHUNK)
			continue;
		c = (p - base) / BLK_IO_BOUNCE_CHUNK;
		bit = 1ull << (c % 64u);
		if (!(io->bounce_used[c / 64u] & bit))
			continue;
		io->bounce_used[c / 64u] &= ~bit;
		io->bounce_free++;
	}
}

unsigned blk_io_zero_iov(const struct blk_io *io, uint64_t len, struct iovec *iov, unsigned max,
			 uint64_t *covered)
{
	uint64_t done = 0;
	unsigned n = 0;

	while (done < len && n < max) {
		uint64_t take = len - done < BLK_IO_ZERO_BYTES ? len - done : BLK_IO_ZERO_BYTES;

		iov[n].iov_base = io->zeroes;
		iov[n].iov_len = (size_t)take;
		n++;
		done += take;
	}
	*covered = done;
	return n;
}

void blk_io_copy(const struct iovec *dst, unsigned ndst, const struct iovec *src, unsigned nsrc, uint64_t len)
{
	unsigned di = 0, si = 0;
	size_t doff = 0, soff = 0;

	while (len > 0 && di < ndst && si < nsrc) {
		size_t take = dst[di].iov_len - doff;

		if (src[si].iov_len - soff < take)
			take = src[si].iov_len - soff;
		if (len < take)
			take = (size_t)len;
		memcpy((uint8_t *)dst[di].iov_base + doff, (const uint8_t *)src[si].iov_base + soff, take);
		len -= take;
		doff += take;
		soff += take;
		if (doff == dst[di].iov_len) {
			di++;
			doff = 0;
		}
		if (soff == src[si].iov_len) {
			si++;
			soff = 0;
		}
	}
}
