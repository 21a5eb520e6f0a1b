/* SPDX-License-Identifier: MIT */
/*
 * Host backends of the virtio devices, opened by the monitor before any
 * worker exists (and before the monitor's own sandbox): a device worker
 * only ever receives the resulting fds.
 *
 *   disk: a raw image file or block device, locked with an OFD lock
 *   net:  a tap device with 12-byte virtio-net headers, no offloads yet
 *
 * Errors: -errno with a one-line message in err naming the disk or tap.
 * Every fd is O_CLOEXEC: pass it to a worker explicitly.
 */
#ifndef SQUIB_MONITOR_VIRTIO_BACKENDS_H
#define SQUIB_MONITOR_VIRTIO_BACKENDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"
#include "monitor/cli.h"

#define DISK_SECTOR_SIZE 512u
#define TAP_VNET_HDR_SIZE 12 /* struct virtio_net_hdr_v1: VERSION_1 always uses it */

struct disk_backend {
	int fd;              /* -1 when closed; blocking, O_CLOEXEC, OFD-locked */
	uint64_t size_bytes; /* a non-zero multiple of DISK_SECTOR_SIZE */
	uint64_t sectors;    /* size_bytes / 512: virtio-blk capacity */
	bool read_only;      /* opened O_RDONLY (read lock), else O_RDWR (write lock) */
	bool direct;         /* cache=none: opened O_DIRECT */
	/*
	 * direct only (0 otherwise): the alignment O_DIRECT needs of buffer
	 * addresses and of file offsets and lengths (statx STATX_DIOALIGN,
	 * else conservative 4096). A request that is not aligned must be
	 * bounced by the device worker.
	 */
	uint32_t dio_mem_align;
	uint32_t dio_offset_align;
};

struct tap_backend {
	int fd;          /* -1 when closed; O_NONBLOCK, O_CLOEXEC */
	char ifname[16]; /* the tap's name, NUL-terminated */
};

/*
 * Opens and locks cfg->path. Refuses anything but a regular file or a
 * block device, an empty image, a size that is not a multiple of 512, and
 * an image another open file description has locked ("in use by another
 * process"): read-write takes a write lock, ro a read lock, both on the
 * whole file, held as long as any copy of the fd (e.g. the worker's) is
 * open. A read-write block device is also opened O_EXCL, so one that is
 * mounted is refused. *out is {fd = -1} on failure; no fd is left open.
 */
int disk_backend_open(const struct disk_config *cfg, struct disk_backend *out, char *err,
		      size_t err_len) MUST_USE;
void disk_backend_close(struct disk_backend *b);

/*
 * Opens /dev/net/tun and attaches tap cfg->tap (creating a non-persistent
 * one when it does not exist) with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR,
 * vnet header size 12 and no offloads. *out is {fd = -1} on failure.
 */
int tap_backend_open(const struct net_config *cfg, struct tap_backend *out, char *err, size_t err_len) MUST_USE;
void tap_backend_close(struct tap_backend *b);

#endif
