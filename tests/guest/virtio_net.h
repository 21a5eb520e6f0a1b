/* SPDX-License-Identifier: MIT */
/*
 * virtio-net driver (virtio 1.2 section 5.1), no offloads and no
 * MRG_RXBUF: queue 0 receives, queue 1 transmits. Every frame is preceded
 * by the 12-byte struct virtio_net_hdr (all zero on transmit; num_buffers
 * is 1 on receive). Receive buffers are 2048 bytes, one descriptor each,
 * all posted at start; a transmitted frame is a 2-buffer chain (header,
 * frame) copied into one of qsize transmit buffers. One vCPU drives it.
 */
#ifndef SQUIB_GUEST_VIRTIO_NET_H
#define SQUIB_GUEST_VIRTIO_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "virtio.h"

#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_STATUS 16
#define VIRTIO_NET_CFG_MAC 0    /* 6 bytes */
#define VIRTIO_NET_CFG_STATUS 6 /* le16 */
#define VIRTIO_NET_S_LINK_UP 1

#define NET_RX_QUEUE 0
#define NET_TX_QUEUE 1
#define NET_HDR_LEN 12
#define NET_BUF_SIZE 2048
#define ETH_ALEN 6
#define ETH_FRAME_MIN 60   /* without FCS */
#define ETH_FRAME_MAX 1514 /* without FCS */

struct virtio_net_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;
};
_Static_assert(sizeof(struct virtio_net_hdr) == NET_HDR_LEN, "virtio_net_hdr_v1 is 12 bytes");

struct net_dev {
	struct virtio_dev *vd;
	struct virtq *rxq, *txq;
	uint8_t mac[ETH_ALEN];
	bool has_mac;
	bool has_status;
	uint16_t status;     /* config status at open */
	uint8_t *rx_bufs;    /* rxq->size buffers of NET_BUF_SIZE */
	uint8_t *tx_bufs;    /* txq->size buffers of NET_BUF_SIZE */
	uint16_t tx_free[VIRTQ_MAX_SIZE];
	unsigned tx_nfree;
	uint64_t rx_frames, tx_frames;
	uint32_t rx_bad_hdr; /* receive headers with num_buffers != 1 or nonzero flags */
	struct virtio_opts opts; /* net_open's, to start the device again */
	uint32_t config_seen;    /* vd->config_irqs when last checked for DEVICE_NEEDS_RESET */
	uint32_t resets;         /* DEVICE_NEEDS_RESET recoveries */
	uint32_t rx_gen[VIRTQ_MAX_SIZE]; /* resets when receive buffer i was handed out */
};

#define NET_WANTED_FEATURES (VIRTIO_BIT(VIRTIO_NET_F_MAC) | VIRTIO_BIT(VIRTIO_NET_F_STATUS))

/*
 * Starts the nth virtio-net device, fills the receive queue, sets
 * DRIVER_OK and notifies the receive queue. NULL or why not.
 */
const char *net_open(struct net_dev *n, unsigned nth, const struct virtio_opts *o);
/* Link status from the configuration space (true when STATUS was not negotiated). */
bool net_link_up(const struct net_dev *n);
/*
 * A received frame (after its header) and its length, or NULL when none is
 * waiting. Give the buffer back with net_rx_recycle once done with it.
 */
uint8_t *net_recv(struct net_dev *n, uint32_t *len);
void net_rx_recycle(struct net_dev *n, uint8_t *frame);
/*
 * Waits for a received frame; with forever, no deadline. Every wait here
 * and in net_send_wait / net_tx_drain resets the device when it reports
 * DEVICE_NEEDS_RESET: all receive buffers are posted again, frames in
 * flight are lost (a frame handed out before the reset is not recycled).
 */
uint8_t *net_recv_wait(struct net_dev *n, uint32_t *len, bool forever);
/*
 * Copies the frame (len <= ETH_FRAME_MAX) behind a zero header and makes it
 * available; notify: decide about QueueNotify now (else call net_tx_kick).
 * Returns false when no transmit buffer is free (reap first).
 */
bool net_send(struct net_dev *n, const void *frame, uint32_t len, bool notify);
void net_tx_kick(struct net_dev *n);
/* Sends, waiting for a free transmit buffer first. */
void net_send_wait(struct net_dev *n, const void *frame, uint32_t len);
/* Takes back completed transmit buffers; returns how many. */
unsigned net_tx_reap(struct net_dev *n);
/* Waits until every transmitted frame was used. */
void net_tx_drain(struct net_dev *n);

#endif
