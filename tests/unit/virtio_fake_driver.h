/* SPDX-License-Identifier: MIT */
/*
 * A fake virtio driver for unit tests of device models: guest RAM in a
 * heap buffer, split rings laid out in it, register accesses delivered as
 * VmExit::Mmio records through virtio_dev_handle, kicks through the notify
 * eventfds and virtio_dev_poll_events, and the irqfd / resample fd as real
 * eventfds the test can read and write. No KVM involved.
 */
#ifndef SQUIB_TESTS_UNIT_VIRTIO_FAKE_DRIVER_H
#define SQUIB_TESTS_UNIT_VIRTIO_FAKE_DRIVER_H

#include <stdbool.h>
#include <stdint.h>

#include "device-worker/device.h"
#include "device-worker/models/virtio_blk.h"
#include "device-worker/virtio/virtio_device.h"

#define FAKE_RAM_SIZE (4ull << 20)
#define FAKE_MMIO_BASE 0xd0000000ull
#define FAKE_QSIZE 64u
#define FAKE_MAX_QUEUES 4u

struct fake_queue {
	uint64_t desc, avail, used; /* guest-physical */
	uint16_t size;
	uint16_t next_desc;         /* next free descriptor (no reuse tracking: tests are short) */
	uint16_t avail_idx;
	uint16_t used_seen;
};

struct fake_virtio {
	uint8_t *ram;
	void *state;                /* VIRTIO_DEVICE_STATE_SIZE bytes */
	struct device_host host;
	struct virtio_dev vd;
	int notify_fds[FAKE_MAX_QUEUES];
	int irq_fd, resample_fd;
	unsigned nqueues;
	struct fake_queue q[FAKE_MAX_QUEUES];
	uint64_t heap;              /* bump allocator for buffers in guest RAM */
};

/*
 * Sets up RAM, the state region, eventfds and host, with params (NULL-
 * terminated, may be NULL) and backend_fd, then virtio_dev_init(model).
 * Returns virtio_dev_init's result.
 */
int fake_virtio_setup(struct fake_virtio *f, const struct device_model *model, unsigned nqueues,
		      int backend_fd, const char *const *params);
void fake_virtio_teardown(struct fake_virtio *f);
/*
 * The worker died and a successor starts: the model context is freed (the
 * guest RAM, state region and eventfds stay, as the monitor keeps them),
 * host.restart counts up, model->init resumes from the state region, and
 * the successor's first idle runs. Returns model->init's result.
 */
int fake_virtio_restart(struct fake_virtio *f, const struct device_model *model);

/* Does dir's file system take O_DIRECT? (tmpfs before Linux 6.6 does not.) For cache=none. */
bool fake_dir_takes_direct_io(const char *dir);

uint32_t fake_mmio_read(struct fake_virtio *f, uint64_t off, unsigned len);
void fake_mmio_write(struct fake_virtio *f, uint64_t off, unsigned len, uint32_t value);

/*
 * Every virtio-blk feature a driver may take (those the Linux driver uses);
 * fake_virtio_start accepts only what the device offers of them.
 */
#define FAKE_BLK_FEATURES                                                                               \
	((1ull << VIRTIO_BLK_F_SIZE_MAX) | (1ull << VIRTIO_BLK_F_SEG_MAX) | (1ull << VIRTIO_BLK_F_RO) |       \
	 (1ull << VIRTIO_BLK_F_BLK_SIZE) | (1ull << VIRTIO_BLK_F_FLUSH) | (1ull << VIRTIO_BLK_F_DISCARD) |     \
	 (1ull << VIRTIO_BLK_F_WRITE_ZEROES) | VIRTIO_FEAT_INDIRECT_DESC | VIRTIO_FEAT_EVENT_IDX)

/* Reset, ACK, DRIVER, accept features & offered, FEATURES_OK, queues, DRIVER_OK. True on success. */
bool fake_virtio_start(struct fake_virtio *f, uint64_t features);

/* Guest RAM allocation (16-aligned), and a host pointer to it. */
uint64_t fake_alloc(struct fake_virtio *f, uint64_t len);
void *fake_ptr(struct fake_virtio *f, uint64_t gpa);

/* Writes a descriptor directly (for malformed chains). */
void fake_desc(struct fake_virtio *f, unsigned q, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
	       uint16_t next);

/*
 * Posts a chain of n buffers (gpa, len, writable) as new descriptors and
 * makes it available; returns the head.
 */
struct fake_buf {
	uint64_t gpa;
	uint32_t len;
	bool writable;
};
uint16_t fake_post(struct fake_virtio *f, unsigned q, const struct fake_buf *bufs, unsigned n);
/* Makes head available (avail ring entry + idx), without touching descriptors. */
void fake_make_available(struct fake_virtio *f, unsigned q, uint16_t head);

/* Kicks queue q through its ioeventfd and runs the device's poll handling. */
void fake_kick(struct fake_virtio *f, unsigned q);
/* Runs one round of the device's poll handling (backend fds, resample) without blocking. */
void fake_poll(struct fake_virtio *f, int timeout_ms);

/* Next used element of q, if any: true with *id and *len. */
bool fake_used(struct fake_virtio *f, unsigned q, uint32_t *id, uint32_t *len);
/* Interrupts asserted since the last call (the irqfd's counter). */
uint64_t fake_irqs(struct fake_virtio *f);
/* The guest EOIs: KVM would signal the resample fd. */
void fake_eoi(struct fake_virtio *f);

#endif
