/* SPDX-License-Identifier: MIT */
/*
 * The device-state region of a device that is not virtio (testdev; the uart
 * next): a memfd the monitor creates and keeps for the device's life and
 * hands to each of its workers, so that a successor resumes what its
 * predecessor left (device-worker/persist.h has the layout). The monitor
 * only needs its size; a virtio device's region is VIRTIO_DEVICE_STATE_SIZE
 * (proto/virtio_devices.h).
 */
#ifndef SQUIB_PROTO_DEVICE_STATE_H
#define SQUIB_PROTO_DEVICE_STATE_H

#define DEVICE_PERSIST_REGION_SIZE 16384u

#endif
