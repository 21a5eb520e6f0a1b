/* SPDX-License-Identifier: MIT */
#include "tests/unit/virtio_fake_driver.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "device-worker/virtio/virtio_mmio.h"
#include "device-worker/virtio/virtqueue.h"

int fake_virtio_setup(struct fake_virtio *f, const struct device_model *model, unsigned nqueues,
		      int backend_fd, const char *const *params)
{
	memset(f, 0, sizeof(*f));
	cr_assert(nqueues <= FAKE_MAX_QUEUES);
	f->ram = aligned_alloc(4096, FAKE_RAM_SIZE);
	f->state = aligned_alloc(4096, VIRTIO_DEVICE_STATE_SIZE);
	cr_assert(f->ram && f->state);
	memset(f->ram, 0, FAKE_RAM_SIZE);
	memset(f->state, 0xa5, VIRTIO_DEVICE_STATE_SIZE); /* init must not trust it */
	f->nqueues = nqueues;
	device_host_init(&f->host, "test-virtio", -1, 2);
	f->host.mem.host_base = f->ram;
	f->host.mem.size = FAKE_RAM_SIZE;
	f->host.state = f->state;
	f->host.state_size = VIRTIO_DEVICE_STATE_SIZE;
	f->host.mmio_base = FAKE_MMIO_BASE;
	for (unsigned q = 0; q < nqueues; q++) {
		f->notify_fds[q] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		cr_assert(f->notify_fds[q] >= 0);
		f->host.notify_fds[q] = f->notify_fds[q];
	}
	f->host.nnotify = nqueues;
	f->irq_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	f->resample_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	cr_assert(f->irq_fd >= 0 && f->resample_fd >= 0);
	f->host.irq_fd = f->irq_fd;
	f->host.resample_fd = f->resample_fd;
	f->host.backend_fd = backend_fd;
	for (unsigned i = 0; params && params[i] && i < DEVICE_MAX_PARAMS; i++)
		f->host.params[f->host.nparams++] = params[i];
	f->heap = 0x100000;
	return model->init(&f->vd, &f->host);
}

int fake_virtio_restart(struct fake_virtio *f, const struct device_model *model)
{
	int r;

	free(f->vd.ms); /* the predecessor's heap dies with it */
	f->vd.ms = NULL;
	f->host.restart++;
	r = model->init(&f->vd, &f->host);
	if (r == 0)
		virtio_dev_idle(&f->vd); /* the successor's first idle finishes the resume */
	return r;
}

void fake_virtio_teardown(struct fake_virtio *f)
{
	for (unsigned q = 0; q < f->nqueues; q++)
		close(f->notify_fds[q]);
	close(f->irq_fd);
	close(f->resample_fd);
	free(f->vd.ms);
	free(f->ram);
	free(f->state);
}

uint32_t fake_mmio_read(struct fake_virtio *f, uint64_t off, unsigned len)
{
	struct vm_exit e = { .kind = VM_EXIT_MMIO };
	struct vm_reply reply = { .status = VM_REPLY_OK };
	uint32_t v = 0;

	e.u.mmio.addr = FAKE_MMIO_BASE + off;
	e.u.mmio.len = (uint8_t)len;
	virtio_dev_handle(&f->vd, &e, &reply);
	cr_assert_eq(reply.len, len);
	memcpy(&v, reply.data, len);
	return v;
}

void fake_mmio_write(struct fake_virtio *f, uint64_t off, unsigned len, uint32_t value)
{
	struct vm_exit e = { .kind = VM_EXIT_MMIO };
	struct vm_reply reply = { .status = VM_REPLY_OK };

	e.u.mmio.addr = FAKE_MMIO_BASE + off;
	e.u.mmio.write = true;
	e.u.mmio.len = (uint8_t)len;
	memcpy(e.u.mmio.data, &value, len);
	virtio_dev_handle(&f->vd, &e, &reply);
}

uint64_t fake_alloc(struct fake_virtio *f, uint64_t len)
{
	uint64_t gpa = (f->heap + 15) & ~15ull;

	cr_assert(gpa + len <= FAKE_RAM_SIZE, "fake guest RAM exhausted");
	f->heap = gpa + len;
	return gpa;
}

void *fake_ptr(struct fake_virtio *f, uint64_t gpa)
{
	return f->ram + gpa;
}

bool fake_virtio_start(struct fake_virtio *f, uint64_t features)
{
	uint64_t offered;

	fake_mmio_write(f, VIRTIO_MMIO_REG_STATUS, 4, 0);
	fake_mmio_write(f, VIRTIO_MMIO_REG_STATUS, 4, VIRTIO_STATUS_ACKNOWLEDGE);
	fake_mmio_write(f, VIRTIO_MMIO_REG_STATUS, 4, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	fake_mmio_write(f, VIRTIO_MMIO_REG_DEVICE_FEATURES_SEL, 4, 0);
	offered = fake_mmio_read(f, VIRTIO_MMIO_REG_DEVICE_FEATURES, 4);
	fake_mmio_write(f, VIRTIO_MMIO_REG_DEVICE_FEATURES_SEL, 4, 1);
	offered |= (uint64_t)fake_mmio_read(f, VIRTIO_MMIO_REG_DEVICE_FEATURES, 4) << 32;
	features = (features | VIRTIO_FEAT_VERSION_1) & offered;
	fake_mmio_write(f, VIRTIO_MMIO_REG_DRIVER_FEATURES_SEL, 4, 0);
	fake_mmio_write(f, VIRTIO_MMIO_REG_DRIVER_FEATURES, 4, (uint32_t)features);
	fake_mmio_write(f, VIRTIO_MMIO_REG_DRIVER_FEATURES_SEL, 4, 1);
	fake_mmio_write(f, VIRTIO_MMIO_REG_DRIVER_FEATURES, 4, (uint32_t)(features >> 32));
	fake_mmio_write(f, VIRTIO_MMIO_REG_STATUS, 4,
			VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	if (!(fake_mmio_read(f, VIRTIO_MMIO_REG_STATUS, 4) & VIRTIO_STATUS_FEATURES_OK))
		return false;
	for (unsigned q = 0; q < f->nqueues; q++) {
		struct fake_queue *fq = &f->q[q];

		memset(fq, 0, sizeof(*fq));
		fq->size = FAKE_QSIZE;
		fq->desc = fake_alloc(f, virtq_desc_bytes(FAKE_QSIZE));
		fq->avail = fake_alloc(f, virtq_avail_bytes(FAKE_QSIZE));
		fq->used = fake_alloc(f, virtq_used_bytes(FAKE_QSIZE));
		fake_mmio_write(f, VIRTIO_MMIO_REG_QUEUE_SEL, 4, q);
		if (fake_mmio_read(f, VIRTIO_MMIO_REG_QUEUE_NUM_MAX, 4) < FAKE_QSIZE)
			return false;
		fake_mmio_write(f, VIRTIO_MMIO_REG_QUEUE_NUM, 4, FAKE_QSIZE);
		fake_mmio_write(f, VIRTIO_MMIO_REG_QUEUE_DESC_LOW, 4, (uint32_t)fq->desc);
		fake_mmio_write(f, VIRTIO_MMIO_REG_QUEUE_DESC_HIGH, 4, (uint32_t)(fq->desc >> 32));
		fake_mmio_write(f, VIRTIO_MMIO_REG_QUEUE_DRIVER_LOW, 4, (uint32_t)fq->avail);
		fake_mmio_write(f, VIRTIO_MMIO_REG_QUEUE_DRIVER_HIGH, 4, (uint32_t)(fq->avail >> 32));
		fake_mmio_write(f, VIRTIO_MMIO_REG_QUEUE_DEVICE_LOW, 4, (uint32_t)fq->used);
		fake_mmio_write(f, VIRTIO_MMIO_REG_QUEUE_DEVICE_HIGH, 4, (uint32_t)(fq->used >> 32));
		fake_mmio_write(f, VIRTIO_MMIO_REG_QUEUE_READY, 4, 1);
		if (fake_mmio_read(f, VIRTIO_MMIO_REG_QUEUE_READY, 4) != 1)
			return false;
	}
	fake_mmio_write(f, VIRTIO_MMIO_REG_STATUS, 4,
			VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
				VIRTIO_STATUS_DRIVER_OK);
	return (fake_mmio_read(f, VIRTIO_MMIO_REG_STATUS, 4) & VIRTIO_STATUS_DRIVER_OK) != 0;
}

void fake_desc(struct fake_virtio *f, unsigned q, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
	       uint16_t next)
{
	struct virtq_desc d = { .addr = addr, .len = len, .flags = flags, .next = next };

	memcpy(f->ram + f->q[q].desc + 16ull * (i % f->q[q].size), &d, sizeof(d));
}

void fake_make_available(struct fake_virtio *f, unsigned q, uint16_t head)
{
	struct fake_queue *fq = &f->q[q];
	uint16_t idx;

	memcpy(f->ram + fq->avail + VIRTQ_AVAIL_RING_OFF + 2u * (fq->avail_idx % fq->size), &head, 2);
	idx = ++fq->avail_idx;
	__atomic_store_n((uint16_t *)(void *)(f->ram + fq->avail + VIRTQ_AVAIL_IDX_OFF), idx, __ATOMIC_RELEASE);
}

uint16_t fake_post(struct fake_virtio *f, unsigned q, const struct fake_buf *bufs, unsigned n)
{
	struct fake_queue *fq = &f->q[q];
	uint16_t head = fq->next_desc % fq->size;

	for (unsigned i = 0; i < n; i++) {
		uint16_t idx = (uint16_t)((fq->next_desc + i) % fq->size);
		uint16_t flags = (uint16_t)((bufs[i].writable ? VIRTQ_DESC_F_WRITE : 0) |
					    (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0));

		fake_desc(f, q, idx, bufs[i].gpa, bufs[i].len, flags, (uint16_t)((idx + 1) % fq->size));
	}
	fq->next_desc = (uint16_t)(fq->next_desc + n);
	fake_make_available(f, q, head);
	return head;
}

void fake_poll(struct fake_virtio *f, int timeout_ms)
{
	struct pollfd pfd[16];
	unsigned n = virtio_dev_pollfds(&f->vd, pfd, 16);

	if (poll(pfd, n, timeout_ms) > 0)
		virtio_dev_poll_events(&f->vd, pfd, n);
}

void fake_kick(struct fake_virtio *f, unsigned q)
{
	uint64_t one = 1;

	cr_assert_eq(write(f->notify_fds[q], &one, sizeof(one)), (ssize_t)sizeof(one));
	fake_poll(f, 0);
}

bool fake_used(struct fake_virtio *f, unsigned q, uint32_t *id, uint32_t *len)
{
	struct fake_queue *fq = &f->q[q];
	uint16_t idx = __atomic_load_n((uint16_t *)(void *)(f->ram + fq->used + VIRTQ_USED_IDX_OFF), __ATOMIC_ACQUIRE);
	struct virtq_used_elem e;

	if (idx == fq->used_seen)
		return false;
	memcpy(&e, f->ram + fq->used + VIRTQ_USED_RING_OFF + 8u * (fq->used_seen % fq->size), sizeof(e));
	fq->used_seen++;
	*id = e.id;
	*len = e.len;
	return true;
}

uint64_t fake_irqs(struct fake_virtio *f)
{
	uint64_t n = 0;

	if (read(f->irq_fd, &n, sizeof(n)) != (ssize_t)sizeof(n))
		return 0;
	return n;
}

void fake_eoi(struct fake_virtio *f)
{
	uint64_t one = 1;

	cr_assert_eq(write(f->resample_fd, &one, sizeof(one)), (ssize_t)sizeof(one));
	fake_poll(f, 0);
}

bool fake_dir_takes_direct_io(const char *dir)
{
	char path[256];
	int fd, dfd;

	snprintf(path, sizeof(path), "%s/squib-dio-probe-XXXXXX", dir);
	fd = mkstemp(path);
	cr_assert(fd >= 0, "mkstemp in %s: %s", dir, strerror(errno));
	dfd = open(path, O_RDWR | O_DIRECT | O_CLOEXEC);
	if (dfd >= 0)
		close(dfd);
	close(fd);
	unlink(path);
	return dfd >= 0;
}
