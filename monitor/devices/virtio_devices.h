/* SPDX-License-Identifier: MIT */
/*
 * virtio devices on the monitor side (virtio_devices.c): one window slot each
 * (common/platform.h), a device-state memfd, an ioeventfd per queue, a
 * resampling irqfd, and the backend the monitor opens for the worker.
 */
#ifndef SQUIB_MONITOR_VIRTIO_DEVICES_H
#define SQUIB_MONITOR_VIRTIO_DEVICES_H

#include "common/compiler.h"

struct vm;

/* Adds cfg's disks, nets and rng to vm->devices. 0 or -errno (with a log line). */
int virtio_devices_add(struct vm *vm) MUST_USE;
/* KVM ioeventfds and irqfds of every virtio device. Precondition: the irqchip exists. */
int virtio_devices_wire(struct vm *vm) MUST_USE;

#endif
