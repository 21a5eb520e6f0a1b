/* SPDX-License-Identifier: MIT */
/*
 * virtio-net (virtio 1.2 section 5.1) over a tap: DeviceID 1, queue 0 the
 * receiveq, queue 1 the transmitq, QueueNumMax 256, one queue pair.
 *
 * Backend: backend_fd is a tap the monitor opened with IFF_TAP |
 * IFF_NO_PI | IFF_VNET_HDR, TUNSETVNETHDRSZ 12 and TUNSETOFFLOAD 0, so
 * every frame read from or written to it is preceded by a 12-byte
 * virtio_net_hdr_v1, the same header the driver puts before each frame
 * (VIRTIO_F_VERSION_1). Frames therefore move between guest buffers and
 * the tap with one readv/writev each and no copy of the frame. init checks
 * what it can (a tap, IFF_VNET_HDR, 12-byte headers, an attached queue, and
 * makes the fd O_NONBLOCK); IFF_NO_PI and TUNSETOFFLOAD 0 are not readable
 * back, so they are the monitor's duty. For unit
 * tests (and a userspace switch) the backend may instead be a SOCK_SEQPACKET
 * or SOCK_DGRAM socket carrying the same messages (header + frame each).
 *
 * Parameters: mac=XX:XX:XX:XX:XX:XX (required: a unicast, non-zero MAC,
 * two hex digits per octet, ':' between them), mtu=N (optional, 68..65535,
 * default 1500). Unknown or repeated parameters are refused.
 *
 * Features offered: MAC (bit 5), STATUS (bit 16; the link is always up) and
 * MTU (bit 3). Deliberately NOT offered, for now:
 *   - MRG_RXBUF (bit 15): so each receive chain must hold the 12-byte
 *     header and a whole frame; a frame that does not fit the chain at the
 *     head of the receiveq is dropped and counted (as a NIC with too small
 *     a buffer does), and that chain is kept for the next frame;
 *   - every offload (CSUM, GUEST_CSUM, *_TSO*, *_UFO, *_USO, ...): so the
 *     driver's header must say "no offload" (flags 0, gso_type NONE) and
 *     the device writes a header with flags 0 (virtio 1.2 5.1.6.4.1);
 *   - CTRL_VQ, MQ and the rest: one queue pair, no control queue.
 *
 * Threat notes.
 *   - Transmit: the driver's header is hostile. It is copied out of guest
 *     memory once, checked (flags must be 0 and gso_type NONE, else the
 *     frame is dropped and counted, and the device stays usable), and the
 *     tap is handed a canonical all-zero header from the device's own
 *     memory, never the guest's: the guest cannot flip the header to a GSO
 *     request between the check and the writev. The frame itself goes from
 *     guest memory straight to the tap (its content is opaque to the host
 *     kernel without offloads).
 *   - Receive: the tap's header is read into device memory, not into the
 *     guest's buffer; a frame the tap marks as GSO or partially
 *     checksummed (the tap was not set up with TUNSETOFFLOAD 0) is dropped
 *     and counted. The guest then gets a clean header: all zero except
 *     num_buffers = 1.
 *   - Malformed chains (a transmit chain with a device-writable buffer or
 *     no frame after the header; a receive chain with a device-readable
 *     buffer or a writable part shorter than the header) put the device in
 *     DEVICE_NEEDS_RESET through virtio_dev_fail. Bad headers and bad frame
 *     sizes do not: they are the frame's problem, not the ring's.
 *   - Every guest-driven loop is bounded by VIRTIO_NET_BATCH frames per
 *     event and direction, so one busy direction cannot starve the other,
 *     the other devices' rings or the control socket.
 *
 * Flow control, without busy loops and without silent drops:
 *   - transmit: a writev that meets EAGAIN (the tap's queue is full) keeps
 *     its chain; the device polls the tap for POLLOUT and retries it, then
 *     carries on with the transmitq;
 *   - receive: while the receiveq has buffers, the device polls the tap for
 *     POLLIN. When it runs out, the device stops polling for POLLIN (frames
 *     wait in the tap's own queue, where the host kernel applies its
 *     txqueuelen policy) until the driver kicks queue 0 again; with
 *     EVENT_IDX the device re-arms avail_event first so that kick comes.
 */
#ifndef SQUIB_DEVICE_VIRTIO_NET_H
#define SQUIB_DEVICE_VIRTIO_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "device-worker/device.h"
#include "device-worker/virtio/virtio_device.h"

#define VIRTIO_ID_NET 1
#define VIRTIO_NET_RXQ 0
#define VIRTIO_NET_TXQ 1
#define VIRTIO_NET_QUEUE_SIZE 256

/*
 * Feature bits (virtio 1.2 5.1.3) as masks. Names differ from the kernel's
 * <linux/virtio_net.h> (bit numbers there) so both headers may be included.
 */
#define VIRTIO_NET_FEAT_MTU (1ull << 3)
#define VIRTIO_NET_FEAT_MAC (1ull << 5)
#define VIRTIO_NET_FEAT_STATUS (1ull << 16)

/* Config space (5.1.4): mac[6], le16 status, le16 max_virtqueue_pairs, le16 mtu. */
#define VIRTIO_NET_CFG_MAC 0
#define VIRTIO_NET_CFG_STATUS 6
#define VIRTIO_NET_CFG_MAX_VQ_PAIRS 8
#define VIRTIO_NET_CFG_MTU 10
#define VIRTIO_NET_CONFIG_LEN 12
#define VIRTIO_NET_S_LINK_UP 1

#define VIRTIO_NET_DEFAULT_MTU 1500
#define VIRTIO_NET_MIN_MTU 68

/* virtio_net_hdr flags and gso_type (5.1.6). */
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_F_DATA_VALID 2
#define VIRTIO_NET_HDR_GSO_NONE 0

/* The header before every frame with VERSION_1 (5.1.6: virtio_net_hdr_v1), little-endian. */
struct virtio_net_header {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;
};
#define VIRTIO_NET_HDR_LEN 12u
_Static_assert(sizeof(struct virtio_net_header) == VIRTIO_NET_HDR_LEN, "virtio_net_header is 12 bytes");
_Static_assert(__builtin_offsetof(struct virtio_net_header, num_buffers) == 10, "num_buffers at 10");

/* Frame sizes after the header (no offloads: no frame is larger). */
#define VIRTIO_NET_MIN_FRAME 14u    /* an Ethernet header; the tap refuses less */
#define VIRTIO_NET_MAX_FRAME 65535u

/* Frames handled per event and direction before the worker looks at other work. */
#define VIRTIO_NET_BATCH 64

/* iovecs of one readv/writev: UIO_MAXIOV (1024), the kernel's limit. */
#define VIRTIO_NET_MAX_IOV 1024

struct virtio_net_stats {
	uint64_t tx_frames, tx_bytes;  /* frames the backend took (bytes without header) */
	uint64_t tx_bad_hdr;       /* dropped: the driver's header asked for an offload */
	uint64_t tx_bad_size;      /* dropped: runt, oversize, or too many buffers for one writev */
	uint64_t tx_errors;        /* dropped: the backend refused the frame (not EAGAIN) */
	uint64_t tx_blocked;       /* writev met EAGAIN: the chain waited for POLLOUT */
	uint64_t tx_abandoned;     /* a waiting chain dropped by a reset */
	uint64_t tx_dead;          /* dropped: the backend had failed */
	uint64_t rx_frames, rx_bytes;  /* frames delivered (bytes without header) */
	uint64_t rx_too_big;       /* dropped: the frame did not fit the receive chain */
	uint64_t rx_runt;          /* dropped: no frame after the backend's header */
	uint64_t rx_bad_hdr;       /* dropped: the backend's header had GSO or NEEDS_CSUM */
	uint64_t rx_no_buffers;    /* times receive paused for lack of buffers */
	uint64_t backend_failures; /* the backend failed (POLLERR/HUP/NVAL, read error) */
};

/* The model's context (vd->ms). Large: allocated by the glue, never on a stack. */
struct virtio_net {
	int fd;                 /* the backend (tap), O_NONBLOCK */
	bool dead;              /* the backend failed: no more polling, transmit drops */
	uint8_t mac[6];
	uint16_t mtu;

	/* receive */
	bool rx_enabled;        /* poll for POLLIN: the receiveq may have buffers */
	bool rx_held;           /* rx_chain popped, waiting for a frame that fits */
	struct virtq_chain rx_chain;
	struct virtio_net_header rx_hdr; /* the backend's header lands here, not in the guest */
	uint8_t rx_scratch;     /* one byte past the chain: detects a frame too big */

	/* transmit */
	bool tx_held;           /* tx_chain popped and checked, tx_iov ready, not yet written */
	bool tx_blocked;        /* EAGAIN: wait for POLLOUT before retrying tx_chain */
	bool tx_more;           /* the batch ended with chains left: resume on POLLOUT */
	struct virtq_chain tx_chain;
	struct virtio_net_header tx_hdr; /* the canonical header the backend gets */
	unsigned tx_niov;
	uint32_t tx_len;        /* frame bytes after the header */

	struct iovec iov[VIRTIO_NET_MAX_IOV]; /* rx iovecs (built per read) */
	struct iovec tx_iov[VIRTIO_NET_MAX_IOV];
	struct virtio_net_stats stats;
};

extern const struct virtio_model virtio_net_model;
extern const struct device_model virtio_net_device_model;

#endif
