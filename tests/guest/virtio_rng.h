/* SPDX-License-Identifier: MIT */
/*
 * virtio-rng (entropy device, virtio 1.2 section 5.4): one queue of
 * device-writable buffers; the used length says how many bytes the device
 * wrote. Requests take the queue's lock, so vCPUs can share it.
 */
#ifndef SQUIB_GUEST_VIRTIO_RNG_H
#define SQUIB_GUEST_VIRTIO_RNG_H

#include <stdint.h>

#include "virtio.h"

#define RNG_CHUNK 4096 /* largest single request of rng_read */

struct rng_dev {
	struct virtio_dev *vd;
	struct virtq *vq;
	uint8_t *buf; /* RNG_CHUNK bytes of DMA memory for rng_read */
	uint64_t requests;
	struct virtio_opts opts; /* rng_open's, to start the device again */
	uint32_t config_seen;    /* vd->config_irqs when last checked for DEVICE_NEEDS_RESET */
	uint32_t resets;         /* DEVICE_NEEDS_RESET recoveries */
};

/* Starts the nth virtio-rng device. NULL or why not. */
const char *rng_open(struct rng_dev *r, unsigned nth, const struct virtio_opts *o);
/*
 * One request for len bytes into dma_buf (DMA memory); waits for it and
 * returns the used length (0..len; more than len fails the workload). A
 * device that reports DEVICE_NEEDS_RESET meanwhile is reset and started
 * again, and the request counts as answered with 0 bytes.
 */
uint32_t rng_request(struct rng_dev *r, void *dma_buf, uint32_t len);
/* Fills out (any memory) with len device bytes, in requests of up to RNG_CHUNK. One vCPU. */
void rng_read(struct rng_dev *r, void *out, uint32_t len);

#endif
