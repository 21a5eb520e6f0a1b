/* SPDX-License-Identifier: MIT */
/*
 * virtio devices on the monitor side: one slot of the window table
 * (common/platform.h) each, a device-state memfd, an ioeventfd per queue,
 * a resampling irqfd, and the backend the monitor opens for the worker.
 * Slots are filled in order: --disk..., --net..., --rng.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/platform.h"
#include "monitor/devices/virtio_backends.h"
#include "monitor/vm.h"
#include "monitor/devices/virtio_devices.h"
#include "monitor/log.h"
#include "proto/virtio_devices.h"


static int add_param(struct virtio_instance *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int add_param(struct virtio_instance *v, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (v->nparams >= VIRTIO_INSTANCE_MAX_PARAMS)
		return -E2BIG;
	va_start(ap, fmt);
	n = vsnprintf(v->params[v->nparams], sizeof(v->params[0]), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(v->params[0]))
		return -E2BIG;
	v->nparams++;
	return 0;
}

/* Claims the next device and slot for a virtio model with nqueues queues. */
static int new_virtio(struct vm *vm, const char *model, const char *name, unsigned nqueues,
		      struct device_instance **out)
{
	unsigned slot = 0;
	struct device_instance *dev;
	struct virtio_instance *v;
	int r;

	for (unsigned d = 0; d < vm->ndevices; d++)
		slot += vm->devices[d].is_virtio;
	if (slot >= VIRTIO_MMIO_SLOTS || vm->ndevices >= VCPU_MAX_DEVICES) {
		mlog("too many virtio devices (at most %d)", VIRTIO_MMIO_SLOTS);
		return -ENOSPC;
	}
	dev = &vm->devices[vm->ndevices];
	memset(dev, 0, sizeof(*dev));
	dev->index = vm->ndevices;
	dev->control_fd = dev->control_child = dev->status_fd = dev->doorbell_fd = dev->persist_fd = -1;
	dev->is_virtio = true;
	snprintf(dev->own_name, sizeof(dev->own_name), "%s", name);
	dev->own_spec.name = dev->own_name;
	dev->own_spec.model = model;
	dev->own_spec.resumable = true; /* virtio_state.h: the transport and every queue's progress */
	dev->own_spec.nroutes = 1;
	dev->own_spec.routes[0] = (struct device_route_spec){ ROUTE_SPACE_MMIO, VIRTIO_MMIO_SLOT_BASE(slot),
							      VIRTIO_MMIO_WINDOW, 0 };
	dev->spec = &dev->own_spec;
	v = &dev->virtio;
	v->slot = slot;
	v->nqueues = nqueues;
	v->state_fd = v->irq_fd = v->resample_fd = v->backend_fd = -1;
	for (unsigned q = 0; q < ARRAY_SIZE(v->notify_fds); q++)
		v->notify_fds[q] = -1;
	r = shared_memfd_create("squib-virtio-state", VIRTIO_DEVICE_STATE_SIZE, &v->state_fd, &v->state_map);
	if (r < 0) {
		mlog("%s: cannot create its device-state memfd: %s", name, strerror(-r));
		return r;
	}
	for (unsigned q = 0; q < nqueues; q++) {
		v->notify_fds[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (v->notify_fds[q] < 0) {
			r = -errno;
			mlog("%s: cannot create the eventfd of queue %u: %s", name, q, strerror(-r));
			return r;
		}
	}
	v->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	v->resample_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (v->irq_fd < 0 || v->resample_fd < 0) {
		r = -errno;
		mlog("%s: cannot create its irqfd and resample eventfds: %s", name, strerror(-r));
		return r;
	}
	vm->ndevices++;
	*out = dev;
	return 0;
}

static int add_disk(struct vm *vm, unsigned i)
{
	const struct disk_config *cfg = &vm->cfg.disks[i];
	struct disk_backend disk;
	struct device_instance *dev;
	char name[16], err[512];
	int r;

	r = disk_backend_open(cfg, &disk, err, sizeof(err));
	if (r < 0) {
		mlog("%s", err);
		return r;
	}
	snprintf(name, sizeof(name), "blk%u", i);
	r = new_virtio(vm, "virtio-blk", name, VIRTIO_BLK_QUEUES, &dev);
	if (r < 0) {
		disk_backend_close(&disk);
		return r;
	}
	/* The worker's copy keeps the image's OFD lock; the monitor's keeps it across restarts. */
	dev->virtio.backend_fd = disk.fd;
	if (cfg->id[0])
		r = add_param(&dev->virtio, "id=%s", cfg->id);
	else
		r = add_param(&dev->virtio, "id=squib-disk%u", i);
	if (r == 0 && disk.read_only)
		r = add_param(&dev->virtio, "ro");
	if (r == 0)
		r = add_param(&dev->virtio, "cache=%s", disk.direct ? "none" : "writeback");
	if (r < 0)
		mlog("%s: parameters too long", name);
	return r;
}

static int add_net(struct vm *vm, unsigned i)
{
	const struct net_config *cfg = &vm->cfg.nets[i];
	struct tap_backend tap;
	struct device_instance *dev;
	char name[16], err[512];
	const uint8_t *m = cfg->mac;
	int r;

	r = tap_backend_open(cfg, &tap, err, sizeof(err));
	if (r < 0) {
		mlog("%s", err);
		return r;
	}
	snprintf(name, sizeof(name), "net%u", i);
	r = new_virtio(vm, "virtio-net", name, VIRTIO_NET_QUEUES, &dev);
	if (r < 0) {
		tap_backend_close(&tap);
		return r;
	}
	dev->virtio.backend_fd = tap.fd;
	r = add_param(&dev->virtio, "mac=%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	if (r < 0)
		mlog("%s: parameters too long", name);
	return r;
}

int virtio_devices_add(struct vm *vm)
{
	struct device_instance *dev;
	int r;

	for (unsigned i = 0; i < vm->cfg.ndisks; i++) {
		r = add_disk(vm, i);
		if (r < 0)
			return r;
	}
	for (unsigned i = 0; i < vm->cfg.nnets; i++) {
		r = add_net(vm, i);
		if (r < 0)
			return r;
	}
	if (vm->cfg.rng) {
		r = new_virtio(vm, "virtio-rng", "rng0", VIRTIO_RNG_QUEUES, &dev);
		if (r < 0)
			return r;
	}
	return 0;
}

int virtio_devices_wire(struct vm *vm)
{
	for (unsigned d = 0; d < vm->ndevices; d++) {
		struct device_instance *dev = &vm->devices[d];
		struct virtio_instance *v = &dev->virtio;
		uint64_t notify = dev->spec->routes[0].base + VIRTIO_QUEUE_NOTIFY_OFFSET;
		int r = 0;

		if (!dev->is_virtio)
			continue;
		for (unsigned q = 0; q < v->nqueues && r == 0; q++)
			r = kvm_vm_add_ioeventfd(&vm->kvm, notify, 4, q, v->notify_fds[q]);
		if (r < 0) {
			mlog("%s: cannot register its QueueNotify ioeventfds: %s", dev->spec->name, strerror(-r));
			return r;
		}
		r = kvm_vm_add_irqfd_resample(&vm->kvm, VIRTIO_MMIO_SLOT_GSI(v->slot), v->irq_fd, v->resample_fd);
		if (r < 0) {
			mlog("%s: cannot register its irqfd on GSI %d: %s", dev->spec->name,
			     VIRTIO_MMIO_SLOT_GSI(v->slot), strerror(-r));
			return r;
		}
	}
	return 0;
}
