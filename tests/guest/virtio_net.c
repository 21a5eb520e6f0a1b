/* SPDX-License-Identifier: MIT */
/* virtio-net receive and transmit (one vCPU). */
#include "dma.h"
#include "guest.h"
#include "virtio_net.h"

static bool post_rx(struct net_dev *n, uint8_t *buf)
{
	struct virtq_buf b = { dma_addr(buf), NET_BUF_SIZE, true };

	return virtq_add(n->rxq, &b, 1, buf) >= 0;
}

/* Negotiates, fills the receive queue, frees every transmit buffer, DRIVER_OK. NULL or why not. */
static const char *start(struct net_dev *n)
{
	const char *err = virtio_start(n->vd, NET_WANTED_FEATURES, 2, &n->opts);

	if (err)
		return err;
	n->rxq = &n->vd->vq[NET_RX_QUEUE];
	n->txq = &n->vd->vq[NET_TX_QUEUE];
	if (!n->rx_bufs) {
		n->rx_bufs = dma_alloc((size_t)n->rxq->size * NET_BUF_SIZE);
		n->tx_bufs = dma_alloc((size_t)n->txq->size * NET_BUF_SIZE);
		if (!n->rx_bufs || !n->tx_bufs)
			return "DMA arena too small for the frame buffers";
	}
	for (unsigned i = 0; i < n->rxq->size; i++) {
		if (!post_rx(n, n->rx_bufs + (size_t)i * NET_BUF_SIZE))
			return "could not post a receive buffer";
	}
	n->tx_nfree = 0;
	for (unsigned i = 0; i < n->txq->size; i++)
		n->tx_free[n->tx_nfree++] = (uint16_t)i;
	virtio_driver_ok(n->vd);
	virtq_kick(n->rxq); /* buffer notifications only after DRIVER_OK */
	return 0;
}

const char *net_open(struct net_dev *n, unsigned nth, const struct virtio_opts *o)
{
	struct virtio_dev *d = virtio_find(VIRTIO_ID_NET, nth);
	const char *err;

	memset(n, 0, sizeof(*n));
	if (!d)
		return "no such virtio-net device";
	n->vd = d;
	n->opts = *o;
	err = start(n);
	if (err)
		return err;
	n->has_mac = virtio_has(d, VIRTIO_NET_F_MAC);
	if (n->has_mac)
		virtio_cfg_bytes(d, VIRTIO_NET_CFG_MAC, n->mac, ETH_ALEN);
	else
		memcpy(n->mac, "\x02\x00\x00\x00\x00\x01", ETH_ALEN); /* locally administered */
	n->has_status = virtio_has(d, VIRTIO_NET_F_STATUS);
	if (n->has_status)
		n->status = virtio_cfg16(d, VIRTIO_NET_CFG_STATUS);
	return 0;
}

/*
 * After a wait (timed_out: it ran out): a device that reports
 * DEVICE_NEEDS_RESET is started again. True when it was.
 */
static bool reset_if_needed(struct net_dev *n, bool timed_out)
{
	const char *err;

	if (!virtio_needs_reset(n->vd, &n->config_seen, timed_out))
		return false;
	err = start(n);
	if (err)
		virtio_fatal(n->vd, err);
	n->resets++;
	kprintf("net: device needed a reset: reset it (frames in flight are lost)\n");
	return true;
}

bool net_link_up(const struct net_dev *n)
{
	if (!n->has_status)
		return true;
	return virtio_cfg16(n->vd, VIRTIO_NET_CFG_STATUS) & VIRTIO_NET_S_LINK_UP;
}

uint8_t *net_recv(struct net_dev *n, uint32_t *len)
{
	uint32_t used = 0;
	uint8_t *buf = virtq_get_used(n->rxq, &used);
	const struct virtio_net_hdr *h;

	if (n->rxq->broken)
		virtio_fatal(n->vd, "net-rx-used-ring");
	if (!buf)
		return 0;
	if (used < NET_HDR_LEN || used > NET_BUF_SIZE) {
		kprintf("FAIL net-rx-len: used length %u outside %u..%u\n", used, NET_HDR_LEN, NET_BUF_SIZE);
		virtio_fatal(n->vd, "net-rx-len");
	}
	n->rx_gen[(size_t)(buf - n->rx_bufs) / NET_BUF_SIZE] = n->resets;
	h = (const struct virtio_net_hdr *)(const void *)buf;
	if (h->num_buffers != 1 || h->flags != 0 || h->gso_type != 0)
		n->rx_bad_hdr++;
	n->rx_frames++;
	*len = used - NET_HDR_LEN;
	return buf + NET_HDR_LEN;
}

void net_rx_recycle(struct net_dev *n, uint8_t *frame)
{
	if (n->rx_gen[(size_t)(frame - NET_HDR_LEN - n->rx_bufs) / NET_BUF_SIZE] != n->resets)
		return; /* handed out before a reset, which posted it again */
	if (!post_rx(n, frame - NET_HDR_LEN))
		virtio_fatal(n->vd, "net-rx-repost");
	virtq_kick(n->rxq);
}

uint8_t *net_recv_wait(struct net_dev *n, uint32_t *len, bool forever)
{
	struct virtio_wait w;
	uint8_t *f;

	virtio_wait_begin(&w, n->vd);
	while (!(f = net_recv(n, len))) {
		bool waiting = virtio_wait_idle(&w, n->vd);

		if (reset_if_needed(n, !waiting))
			continue;
		if (!waiting) {
			if (!forever)
				virtio_fatal(n->vd, "net-rx-timeout");
			virtio_wait_begin(&w, n->vd);
		}
	}
	return f;
}

unsigned net_tx_reap(struct net_dev *n)
{
	unsigned k = 0;
	uint32_t len;
	uint8_t *buf;

	while ((buf = virtq_get_used(n->txq, &len))) {
		n->tx_free[n->tx_nfree++] = (uint16_t)((size_t)(buf - n->tx_bufs) / NET_BUF_SIZE);
		k++;
	}
	if (n->txq->broken)
		virtio_fatal(n->vd, "net-tx-used-ring");
	return k;
}

bool net_send(struct net_dev *n, const void *frame, uint32_t len, bool notify)
{
	struct virtq_buf b[2];
	uint8_t *buf;

	if (len > ETH_FRAME_MAX || !n->tx_nfree ||
	    virtq_descs_needed(n->txq, 2) > n->txq->num_free)
		return false;
	buf = n->tx_bufs + (size_t)n->tx_free[--n->tx_nfree] * NET_BUF_SIZE;
	memset(buf, 0, NET_HDR_LEN);
	memcpy(buf + NET_HDR_LEN, frame, len);
	b[0] = (struct virtq_buf){ dma_addr(buf), NET_HDR_LEN, false };
	b[1] = (struct virtq_buf){ dma_addr(buf + NET_HDR_LEN), len, false };
	if (virtq_add(n->txq, b, 2, buf) < 0)
		virtio_fatal(n->vd, "net-tx-add");
	n->tx_frames++;
	if (notify)
		virtq_kick(n->txq);
	return true;
}

void net_tx_kick(struct net_dev *n)
{
	virtq_kick(n->txq);
}

void net_send_wait(struct net_dev *n, const void *frame, uint32_t len)
{
	struct virtio_wait w;

	virtio_wait_begin(&w, n->vd);
	while (!net_send(n, frame, len, true)) {
		bool waiting;

		if (net_tx_reap(n))
			continue;
		waiting = virtio_wait_idle(&w, n->vd);
		if (!reset_if_needed(n, !waiting) && !waiting)
			virtio_fatal(n->vd, "net-tx-timeout");
	}
}

void net_tx_drain(struct net_dev *n)
{
	struct virtio_wait w;

	virtio_wait_begin(&w, n->vd);
	while (virtq_in_flight(n->txq)) {
		bool waiting;

		if (net_tx_reap(n))
			continue;
		waiting = virtio_wait_idle(&w, n->vd);
		if (!reset_if_needed(n, !waiting) && !waiting)
			virtio_fatal(n->vd, "net-tx-timeout");
	}
}
