/* SPDX-License-Identifier: MIT */
/*
 * What the monitor and a virtio device worker must agree on, across the
 * process boundary, without either including the other: how many queues each
 * model has (one ioeventfd per queue, made by the monitor), the size of the
 * device-state memfd (created by the monitor, mapped by every successive
 * worker), and the register whose writes the monitor turns into ioeventfd
 * signals instead of exits.
 *
 * The device models (device-worker/models/) use these same numbers for
 * their tables; the monitor (monitor/devices/virtio_devices.c) sizes what it
 * hands each worker from them.
 */
#ifndef SQUIB_PROTO_VIRTIO_DEVICES_H
#define SQUIB_PROTO_VIRTIO_DEVICES_H

/* Queues per model (virtio 1.2 sections 5.2, 5.1, 5.4). */
#define VIRTIO_BLK_QUEUES 1u
#define VIRTIO_NET_QUEUES 2u /* receiveq1, transmitq1 */
#define VIRTIO_RNG_QUEUES 1u

/* No model has more; bounds the monitor's ioeventfds and the state region's queue array. */
#define VIRTIO_MAX_QUEUES 8u

/* Size of the device-state memfd: struct virtio_state, then room to grow. */
#define VIRTIO_DEVICE_STATE_SIZE 4096u

/*
 * QueueNotify's offset in a virtio-mmio window (virtio 1.2 section 4.2.2):
 * a 4-byte write of the queue index there signals that queue's ioeventfd
 * (datamatch = the index) and never reaches the vCPU worker.
 */
#define VIRTIO_QUEUE_NOTIFY_OFFSET 0x050u

#endif
