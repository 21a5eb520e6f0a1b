/* SPDX-License-Identifier: MIT */
/*
 * virtio-rng (virtio 1.2 section 5.4): DeviceID 4, one queue of
 * device-writable buffers filled from getrandom(2). No features, no config.
 *
 * Threat note: a chain comes from the guest. One with a readable part is
 * malformed (the driver only offers writable buffers): DEVICE_NEEDS_RESET.
 * Each chain gets at most VIRTIO_RNG_MAX_PER_CHAIN bytes, so a guest asking
 * for gigabytes cannot pin the worker in one call (the spec lets the
 * device fill less than offered).
 */
#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>

#include "device-worker/virtio/virtio_device.h"

#define VIRTIO_ID_RNG 4
#define VIRTIO_RNG_QUEUE_SIZE 256
#define VIRTIO_RNG_MAX_PER_CHAIN 65536u
/* Chains handled per kick before the loop looks at other work. */
#define VIRTIO_RNG_BATCH 64

struct virtio_rng {
	struct virtq_chain chain; /* 16 KiB: kept here, not on the stack */
	uint8_t buf[4096];
	uint64_t bytes;           /* statistics */
};

static int rng_init(struct virtio_dev *vd, void *ms, uint64_t *features)
{
	(void)ms;
	*features = 0;
	if (vd->host->backend_fd >= 0) {
		device_log(vd->host, "virtio-rng takes no backend fd");
		return -EINVAL;
	}
	return 0;
}

static void rng_reset(struct virtio_dev *vd, void *ms, int queue)
{
	(void)vd, (void)ms, (void)queue; /* requests complete synchronously: nothing in flight */
}

/* Fills the chain's writable part; returns the bytes written, or -errno. */
static int64_t fill_chain(struct virtio_dev *vd, struct virtio_rng *rng)
{
	uint64_t want = virtio_chain_writable(&rng->chain), done = 0;

	if (want > VIRTIO_RNG_MAX_PER_CHAIN)
		want = VIRTIO_RNG_MAX_PER_CHAIN;
	while (done < want) {
		size_t chunk = want - done < sizeof(rng->buf) ? (size_t)(want - done) : sizeof(rng->buf);
		/* Precondition: none; getrandom of <= 256 bytes never returns short, larger may. */
		ssize_t n = getrandom(rng->buf, chunk, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		done += virtio_chain_copy_to(vd, &rng->chain, done, rng->buf, (uint64_t)n);
	}
	rng->bytes += done;
	return (int64_t)done;
}

static void rng_queue_notify(struct virtio_dev *vd, void *ms, unsigned q)
{
	struct virtio_rng *rng = ms;

	for (unsigned i = 0; i < VIRTIO_RNG_BATCH; i++) {
		int64_t n;
		int r = virtio_dev_pop(vd, q, &rng->chain);

		if (r <= 0)
			return;
		if (virtio_chain_readable(&rng->chain) != 0) {
			virtio_dev_fail(vd, q, "virtio-rng chain with a device-readable buffer");
			return;
		}
		n = fill_chain(vd, rng);
		if (n < 0) {
			device_log(vd->host, "getrandom: %s", strerrordesc_np((int)-n));
			n = 0;
		}
		(void)virtio_dev_push(vd, q, rng->chain.head, (uint32_t)n);
	}
}

static unsigned rng_sandbox_rules(void *ms, struct sandbox_fd_rule *out, unsigned max)
{
	(void)ms;
	if (max < 1)
		return 0;
	out[0] = (struct sandbox_fd_rule){ SYS_getrandom, -1, "virtio-rng's entropy source" };
	return 1;
}

static const struct virtio_model virtio_rng_model = {
	.name = "virtio-rng",
	.device_id = VIRTIO_ID_RNG,
	.nqueues = VIRTIO_RNG_QUEUES,
	.queue_size_max = VIRTIO_RNG_QUEUE_SIZE,
	.config_len = 0,
	.state_size = sizeof(struct virtio_rng),
	.init = rng_init,
	.reset = rng_reset,
	.queue_notify = rng_queue_notify,
	.sandbox_rules = rng_sandbox_rules,
};

static int rng_device_init(void *state, struct device_host *host)
{
	return virtio_dev_init(state, host, &virtio_rng_model);
}

const struct device_model virtio_rng_device_model = VIRTIO_DEVICE_MODEL("virtio-rng", rng_device_init);
