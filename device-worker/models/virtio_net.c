/* SPDX-License-Identifier: MIT */
/*
 * virtio-net over a tap (virtio_net.h says what and why): parameters and
 * backend checks, then the transmit and receive paths.
 *
 * Inside the sandbox this file makes two syscalls: readv and writev on the
 * backend fd (net_sandbox_rules). fcntl and ioctl run in net_init only,
 * before the sandbox.
 */
#include "device-worker/models/virtio_net.h"
#include "common/mac_addr.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

/* When the dead backend makes transmit a pure drop, chains handled per event. */
#define VIRTIO_NET_DEAD_BATCH (4 * VIRTIO_NET_QUEUE_SIZE)

/* ---- small helpers -------------------------------------------------------- */

/* Log the 1st, 2nd, 4th, 8th, ... occurrence: bounded, yet never silent for good. */
static bool log_due(uint64_t count)
{
	return count != 0 && (count & (count - 1)) == 0;
}

/* Counts a dropped frame (or other event) in *counter and logs it, rate-limited. */
static void __attribute__((format(printf, 3, 4))) count_event(struct virtio_dev *vd, uint64_t *counter,
							       const char *fmt, ...)
{
	char what[160];
	va_list ap;

	(*counter)++;
	if (!log_due(*counter))
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	device_log(vd->host, "%s (%llu so far)", what, (unsigned long long)*counter);
}

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

/*
 * Queue q was found empty. With EVENT_IDX, publish avail_event so the
 * driver kicks when it adds the next buffer, then look again: a buffer
 * published between the empty pop and that store gets no kick
 * (virtq_set_avail_event). True when the queue is still empty. The glue
 * does this after queue_notify but not after backend_event, and this model
 * drains queues from both; doing it twice is harmless.
 */
static bool queue_empty_rearmed(struct virtio_dev *vd, unsigned q)
{
	if (!virtio_dev_queue_live(vd, q))
		return true;
	virtq_set_avail_event(&vd->vq[q]);
	return virtq_pending(&vd->vq[q]) == 0;
}

/* The backend failed for good (a tap detached from its interface, a closed socket). */
static void backend_failed(struct virtio_dev *vd, struct virtio_net *n, const char *why, int err)
{
	if (n->dead)
		return;
	n->dead = true;
	n->stats.backend_failures++;
	device_log(vd->host, "backend fd %d %s%s%s: no more receive, transmit drops from now on", n->fd, why,
		   err ? ": " : "", err ? strerrordesc_np(err) : "");
}

/* ---- parameters and backend (before the sandbox) --------------------------- */

/* "XX:XX:XX:XX:XX:XX", exactly; a unicast, non-zero address. */
static int parse_mac(const char *s, uint8_t mac[6])
{
	if (mac_addr_parse(s, mac) < 0 || !mac_addr_is_station(mac))
		return -EINVAL; /* multicast/broadcast, or all zero: not a station address */
	return 0;
}

/* Decimal, no sign, no leading zero, VIRTIO_NET_MIN_MTU..65535. */
static int parse_mtu(const char *s, uint16_t *mtu)
{
	uint32_t v = 0;
	size_t len = strnlen(s, 6);

	if (len == 0 || len > 5 || s[0] == '0')
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint32_t)(s[i] - '0');
	}
	if (v < VIRTIO_NET_MIN_MTU || v > 65535)
		return -EINVAL;
	*mtu = (uint16_t)v;
	return 0;
}

static int parse_params(struct virtio_dev *vd, struct virtio_net *n)
{
	const struct device_host *host = vd->host;
	unsigned seen_mac = 0, seen_mtu = 0;
	const char *v;

	for (unsigned i = 0; i < host->nparams && i < DEVICE_MAX_PARAMS; i++) {
		const char *p = host->params[i];
		size_t klen = p ? strcspn(p, "=") : 0;

		if (p && klen == 3 && strncmp(p, "mac", 3) == 0) {
			seen_mac++;
		} else if (p && klen == 3 && strncmp(p, "mtu", 3) == 0) {
			seen_mtu++;
		} else {
			device_log(host, "virtio-net: unknown parameter '%s' (takes mac= and mtu=)", p ? p : "");
			return -EINVAL;
		}
	}
	if (seen_mac > 1 || seen_mtu > 1) {
		device_log(host, "virtio-net: %s given twice", seen_mac > 1 ? "mac=" : "mtu=");
		return -EINVAL;
	}
	v = virtio_dev_param(vd, "mac");
	if (!v) {
		device_log(host, "virtio-net needs mac=XX:XX:XX:XX:XX:XX");
		return -EINVAL;
	}
	if (parse_mac(v, n->mac) < 0) {
		device_log(host, "virtio-net: mac='%s' is not a unicast XX:XX:XX:XX:XX:XX address", v);
		return -EINVAL;
	}
	n->mtu = VIRTIO_NET_DEFAULT_MTU;
	v = virtio_dev_param(vd, "mtu");
	if (v && parse_mtu(v, &n->mtu) < 0) {
		device_log(host, "virtio-net: mtu='%s' is not %d..65535", v, VIRTIO_NET_MIN_MTU);
		return -EINVAL;
	}
	return 0;
}

/*
 * Is the backend what the monitor promised? A tap (not a tun) with
 * IFF_VNET_HDR and 12-byte headers, on an attached queue. IFF_NO_PI cannot
 * be checked: TUNGETIFF reports IFF_NOFILTER ("no socket filter") in the
 * same bit, 0x1000; the monitor must set it. Otherwise a SOCK_SEQPACKET or
 * SOCK_DGRAM socket (unit tests; message boundaries like a tap's). Either
 * way it is made O_NONBLOCK (the flag lives in the open file description,
 * which only this worker and the monitor share; the monitor never reads it).
 * Precondition: fd is an open descriptor this worker owns (backend_fd).
 */
static int check_backend(struct virtio_dev *vd, struct virtio_net *n)
{
	const struct device_host *host = vd->host;
	struct ifreq ifr;
	int fl, r;

	if (n->fd < 0) {
		device_log(host, "virtio-net needs backend_fd (a tap)");
		return -EINVAL;
	}
	fl = fcntl(n->fd, F_GETFL);
	if (fl < 0 || (!(fl & O_NONBLOCK) && fcntl(n->fd, F_SETFL, fl | O_NONBLOCK) < 0)) {
		r = -errno;
		device_log(host, "virtio-net: backend fd %d: fcntl: %s", n->fd, strerrordesc_np(-r));
		return r;
	}
	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(n->fd, TUNGETIFF, &ifr) == 0) {
		const int want = IFF_TAP | IFF_VNET_HDR;
		int hdrsz = 0;

		if ((ifr.ifr_flags & (IFF_TUN | IFF_TAP | IFF_VNET_HDR | IFF_DETACH_QUEUE)) != want) {
			device_log(host, "virtio-net: tap %.*s has flags %#x: needs IFF_TAP|IFF_VNET_HDR, attached",
				   IFNAMSIZ, ifr.ifr_name, (unsigned)ifr.ifr_flags & 0xffff);
			return -EINVAL;
		}
		if (ioctl(n->fd, TUNGETVNETHDRSZ, &hdrsz) == 0 && hdrsz != (int)VIRTIO_NET_HDR_LEN) {
			device_log(host, "virtio-net: tap %.*s has %d-byte vnet headers, needs %u", IFNAMSIZ,
				   ifr.ifr_name, hdrsz, VIRTIO_NET_HDR_LEN);
			return -EINVAL;
		}
		return 0;
	}
	if (errno == EBADFD) {
		device_log(host, "virtio-net: backend fd %d is a tap attached to no interface", n->fd);
		return -EINVAL;
	}
	{
		int type = 0;
		socklen_t len = sizeof(type);

		if (getsockopt(n->fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 &&
		    (type == SOCK_SEQPACKET || type == SOCK_DGRAM))
			return 0;
	}
	device_log(host, "virtio-net: backend fd %d is neither a tap nor a packet socket", n->fd);
	return -EINVAL;
}

static int net_init(struct virtio_dev *vd, void *ms, uint64_t *features)
{
	struct virtio_net *n = ms;
	uint8_t *cfg = vd->st->config;
	int r;

	n->fd = vd->host->backend_fd;
	r = parse_params(vd, n);
	if (r < 0)
		return r;
	r = check_backend(vd, n);
	if (r < 0)
		return r;
	memcpy(cfg + VIRTIO_NET_CFG_MAC, n->mac, sizeof(n->mac));
	put_le16(cfg + VIRTIO_NET_CFG_STATUS, VIRTIO_NET_S_LINK_UP);
	put_le16(cfg + VIRTIO_NET_CFG_MAX_VQ_PAIRS, 1); /* meaningful only with MQ: one pair */
	put_le16(cfg + VIRTIO_NET_CFG_MTU, n->mtu);
	/* No MRG_RXBUF, no offloads, no control queue: see virtio_net.h. */
	*features = VIRTIO_NET_FEAT_MAC | VIRTIO_NET_FEAT_STATUS | VIRTIO_NET_FEAT_MTU;
	return 0;
}

/* ---- transmit ---------------------------------------------------------------- */

enum tx_verdict { TX_SEND, TX_DROP, TX_FAILED };

/*
 * Checks the popped tx_chain and, for a frame to send, builds tx_iov:
 * the canonical header from device memory, then the frame's buffers in
 * guest RAM. TX_FAILED: the chain was malformed and the device is now in
 * DEVICE_NEEDS_RESET (our state already reset). TX_DROP: counted; the
 * chain goes back empty.
 */
static enum tx_verdict tx_check(struct virtio_dev *vd, struct virtio_net *n)
{
	const struct virtq_chain *c = &n->tx_chain;
	struct virtio_net_header hdr;
	uint64_t frame, covered;
	unsigned niov;

	if (virtio_chain_writable(c) != 0) {
		virtio_dev_fail(vd, VIRTIO_NET_TXQ, "virtio-net transmit chain with a device-writable buffer");
		return TX_FAILED;
	}
	if (virtio_chain_readable(c) <= VIRTIO_NET_HDR_LEN) {
		virtio_dev_fail(vd, VIRTIO_NET_TXQ, "virtio-net transmit chain without a frame after its header");
		return TX_FAILED;
	}
	frame = virtio_chain_readable(c) - VIRTIO_NET_HDR_LEN;
	/* One copy of the header; only the copy is checked and nothing of it is forwarded. */
	if (virtio_chain_copy_from(vd, c, 0, &hdr, sizeof(hdr)) != sizeof(hdr)) {
		virtio_dev_fail(vd, VIRTIO_NET_TXQ, "virtio-net transmit header not readable");
		return TX_FAILED;
	}
	if (hdr.flags != 0 || hdr.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		count_event(vd, &n->stats.tx_bad_hdr,
			    "transmit: dropped a frame whose header asks for an offload (flags %#x, gso_type %u)",
			    hdr.flags, hdr.gso_type);
		return TX_DROP;
	}
	if (frame < VIRTIO_NET_MIN_FRAME || frame > VIRTIO_NET_MAX_FRAME) {
		count_event(vd, &n->stats.tx_bad_size, "transmit: dropped a %llu-byte frame (%u..%u)",
			    (unsigned long long)frame, VIRTIO_NET_MIN_FRAME, VIRTIO_NET_MAX_FRAME);
		return TX_DROP;
	}
	memset(&n->tx_hdr, 0, sizeof(n->tx_hdr));
	n->tx_iov[0] = (struct iovec){ .iov_base = &n->tx_hdr, .iov_len = sizeof(n->tx_hdr) };
	niov = virtio_chain_iov(vd, c, false, VIRTIO_NET_HDR_LEN, frame, &n->tx_iov[1], VIRTIO_NET_MAX_IOV - 1,
				&covered);
	if (covered != frame) {
		count_event(vd, &n->stats.tx_bad_size, "transmit: dropped a frame in more than %d buffers",
			    VIRTIO_NET_MAX_IOV - 1);
		return TX_DROP;
	}
	n->tx_niov = 1 + niov;
	n->tx_len = (uint32_t)frame;
	return TX_SEND;
}

/*
 * Writes the held frame: one writev of header + frame, which a tap (and a
 * packet socket) takes whole or not at all. Preconditions: tx_held, so
 * tx_iov holds at most UIO_MAXIOV entries pointing at tx_hdr and at guest
 * buffers virtq_pop proved inside guest RAM (mapped for the worker's life);
 * n->fd is O_NONBLOCK, so writev never sleeps. (A socket backend whose peer
 * closed would raise SIGPIPE; a tap never does.)
 * 0 when the chain is done (sent, or refused and counted), -EAGAIN when
 * the backend is full and the chain must wait for POLLOUT.
 */
static int tx_write(struct virtio_dev *vd, struct virtio_net *n)
{
	ssize_t w;
	int err;

	do {
		w = writev(n->fd, n->tx_iov, (int)n->tx_niov);
	} while (w < 0 && errno == EINTR);
	if (w >= 0) {
		n->stats.tx_frames++;
		n->stats.tx_bytes += n->tx_len;
		return 0;
	}
	err = errno;
	if (err == EAGAIN || err == EWOULDBLOCK)
		return -EAGAIN;
	count_event(vd, &n->stats.tx_errors, "transmit: the backend refused a %u-byte frame: %s", n->tx_len,
		    strerrordesc_np(err));
	return 0;
}

/*
 * Sends what the transmitq holds, a batch at a time: a chain the backend
 * could not take stays held (tx_blocked: retry on POLLOUT); a full batch
 * with chains left sets tx_more (resume on POLLOUT, which a backend with
 * room reports at once, after the worker's other work).
 */
static void tx_run(struct virtio_dev *vd, struct virtio_net *n)
{
	unsigned budget = n->dead ? VIRTIO_NET_DEAD_BATCH : VIRTIO_NET_BATCH;

	n->tx_more = false;
	for (unsigned i = 0; i < budget; i++) {
		if (!n->tx_held) {
			int r = virtio_dev_pop(vd, VIRTIO_NET_TXQ, &n->tx_chain);

			if (r < 0)
				return; /* DEVICE_NEEDS_RESET: reset() cleared our state */
			if (r == 0) {
				if (queue_empty_rearmed(vd, VIRTIO_NET_TXQ))
					return;
				continue;
			}
			switch (tx_check(vd, n)) {
			case TX_FAILED:
				return;
			case TX_DROP:
				(void)virtio_dev_push(vd, VIRTIO_NET_TXQ, n->tx_chain.head, 0);
				continue;
			case TX_SEND:
				n->tx_held = true;
				break;
			}
		}
		if (n->dead) {
			count_event(vd, &n->stats.tx_dead, "transmit: dropped a frame: the backend has failed");
		} else if (tx_write(vd, n) == -EAGAIN) {
			n->tx_blocked = true;
			n->stats.tx_blocked++;
			return;
		}
		n->tx_held = false;
		(void)virtio_dev_push(vd, VIRTIO_NET_TXQ, n->tx_chain.head, 0);
	}
	n->tx_more = true;
}

/* ---- receive ----------------------------------------------------------------- */

/* A receive chain must be all device-writable and hold at least the header. */
static bool rx_chain_ok(struct virtio_dev *vd, const struct virtq_chain *c)
{
	if (virtio_chain_readable(c) != 0) {
		virtio_dev_fail(vd, VIRTIO_NET_RXQ, "virtio-net receive chain with a device-readable buffer");
		return false;
	}
	if (virtio_chain_writable(c) < VIRTIO_NET_HDR_LEN) {
		virtio_dev_fail(vd, VIRTIO_NET_RXQ, "virtio-net receive chain shorter than the 12-byte header");
		return false;
	}
	return true;
}

/*
 * Reads one frame for the held rx_chain: the backend's header into rx_hdr
 * (device memory), the frame straight into the chain's writable buffers
 * after the header, and one spare byte (rx_scratch) past them. A frame that
 * reached the spare byte did not fit (a socket truncates it there; a tap
 * returns the whole frame's length, larger still): dropped, and the chain
 * stays held for the next frame.
 * Preconditions: rx_held and rx_chain_ok; the iovecs (at most UIO_MAXIOV)
 * point at rx_hdr, rx_scratch and guest buffers virtq_pop proved inside
 * guest RAM; n->fd is O_NONBLOCK, so readv never sleeps.
 * -EAGAIN when the backend has no frame; 0 otherwise (delivered, dropped,
 * or the backend failed).
 */
static int rx_read(struct virtio_dev *vd, struct virtio_net *n)
{
	struct virtq_chain *c = &n->rx_chain;
	uint64_t room = virtio_chain_writable(c) - VIRTIO_NET_HDR_LEN, covered;
	struct virtio_net_header clean = { .num_buffers = 1 };
	unsigned niov;
	ssize_t got;
	int err;

	if (room > VIRTIO_NET_MAX_FRAME)
		room = VIRTIO_NET_MAX_FRAME;
	n->iov[0] = (struct iovec){ .iov_base = &n->rx_hdr, .iov_len = sizeof(n->rx_hdr) };
	niov = 1 + virtio_chain_iov(vd, c, true, VIRTIO_NET_HDR_LEN, room, &n->iov[1], VIRTIO_NET_MAX_IOV - 2,
				    &covered);
	n->iov[niov++] = (struct iovec){ .iov_base = &n->rx_scratch, .iov_len = 1 };
	do {
		got = readv(n->fd, n->iov, (int)niov);
	} while (got < 0 && errno == EINTR);
	if (got < 0) {
		err = errno;
		if (err == EAGAIN || err == EWOULDBLOCK)
			return -EAGAIN;
		backend_failed(vd, n, "read failed", err);
		return 0;
	}
	if ((uint64_t)got > VIRTIO_NET_HDR_LEN + covered) {
		count_event(vd, &n->stats.rx_too_big, "receive: dropped a frame larger than the %llu-byte buffer",
			    (unsigned long long)covered);
		return 0;
	}
	if ((uint64_t)got < VIRTIO_NET_HDR_LEN + VIRTIO_NET_MIN_FRAME) {
		count_event(vd, &n->stats.rx_runt, "receive: dropped a %zd-byte message from the backend", got);
		return 0;
	}
	if (n->rx_hdr.gso_type != VIRTIO_NET_HDR_GSO_NONE || (n->rx_hdr.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)) {
		count_event(vd, &n->stats.rx_bad_hdr,
			    "receive: dropped a frame with offloads (flags %#x, gso_type %u): is TUNSETOFFLOAD 0 set?",
			    n->rx_hdr.flags, n->rx_hdr.gso_type);
		return 0;
	}
	/* flags 0 (no GUEST_CSUM: not even DATA_VALID), GSO_NONE, one buffer. */
	(void)virtio_chain_copy_to(vd, c, 0, &clean, sizeof(clean));
	n->rx_held = false;
	n->stats.rx_frames++;
	n->stats.rx_bytes += (uint64_t)got - VIRTIO_NET_HDR_LEN;
	(void)virtio_dev_push(vd, VIRTIO_NET_RXQ, c->head, (uint32_t)got);
	return 0;
}

/*
 * Moves frames from the backend into receive chains, a batch at a time.
 * When the receiveq is empty, receive pauses (rx_enabled false: no POLLIN)
 * until the driver kicks queue 0: the frames wait in the tap's queue.
 */
static void rx_run(struct virtio_dev *vd, struct virtio_net *n)
{
	for (unsigned i = 0; i < VIRTIO_NET_BATCH && n->rx_enabled && !n->dead; i++) {
		if (!n->rx_held) {
			int r = virtio_dev_pop(vd, VIRTIO_NET_RXQ, &n->rx_chain);

			if (r < 0)
				return; /* DEVICE_NEEDS_RESET: reset() cleared our state */
			if (r == 0) {
				if (queue_empty_rearmed(vd, VIRTIO_NET_RXQ)) {
					n->rx_enabled = false;
					n->stats.rx_no_buffers++;
					return;
				}
				continue;
			}
			if (!rx_chain_ok(vd, &n->rx_chain))
				return;
			n->rx_held = true;
		}
		if (rx_read(vd, n) == -EAGAIN)
			return;
	}
}

/* ---- the model's callbacks --------------------------------------------------- */

static void net_reset(struct virtio_dev *vd, void *ms, int queue)
{
	struct virtio_net *n = ms;

	(void)vd;
	if (queue < 0 || queue == VIRTIO_NET_RXQ) {
		n->rx_enabled = false;
		n->rx_held = false;
	}
	if (queue < 0 || queue == VIRTIO_NET_TXQ) {
		if (n->tx_held)
			n->stats.tx_abandoned++;
		n->tx_held = n->tx_blocked = n->tx_more = false;
	}
}

static void net_queue_notify(struct virtio_dev *vd, void *ms, unsigned q)
{
	struct virtio_net *n = ms;

	if (q == VIRTIO_NET_RXQ) {
		n->rx_enabled = true; /* new buffers: receive resumes */
		rx_run(vd, n);
	} else if (q == VIRTIO_NET_TXQ && !n->tx_blocked) {
		tx_run(vd, n); /* while blocked, POLLOUT resumes it: no write bound to fail */
	}
}

static unsigned net_backend_pollfds(void *ms, struct pollfd *pfd, unsigned max)
{
	struct virtio_net *n = ms;
	short events = 0;

	if (max < 1)
		return 0;
	if (!n->dead) {
		if (n->rx_enabled)
			events |= POLLIN;
		if (n->tx_blocked || n->tx_more)
			events |= POLLOUT;
	}
	/* Not polled at all when nothing is wanted: a failed fd would report POLLERR forever. */
	pfd[0].fd = events ? n->fd : -1;
	pfd[0].events = events;
	return 1;
}

static void net_backend_event(struct virtio_dev *vd, void *ms, unsigned i, short revents)
{
	struct virtio_net *n = ms;

	if (i != 0 || n->dead)
		return;
	if (revents & (POLLERR | POLLHUP | POLLNVAL)) {
		backend_failed(vd, n,
			       revents & POLLNVAL ? "is not open" : revents & POLLHUP ? "hung up" : "reports an error",
			       0);
		/* Give the driver its transmit buffers back (dropped, counted). */
		n->tx_blocked = false;
		tx_run(vd, n);
		return;
	}
	if ((revents & POLLOUT) && (n->tx_blocked || n->tx_more)) {
		n->tx_blocked = false;
		tx_run(vd, n);
	}
	if (revents & POLLIN)
		rx_run(vd, n);
}

static unsigned net_sandbox_rules(void *ms, struct sandbox_fd_rule *out, unsigned max)
{
	const struct virtio_net *n = ms;

	if (max < 2)
		return 0;
	out[0] = (struct sandbox_fd_rule){ SYS_readv, n->fd, "virtio-net: a received frame, header and all, from the tap" };
	out[1] = (struct sandbox_fd_rule){ SYS_writev, n->fd, "virtio-net: a frame to transmit, header and all, to the tap" };
	return 2;
}

static void net_dump(struct virtio_dev *vd, void *ms)
{
	const struct virtio_net *n = ms;
	const struct virtio_net_stats *st = &n->stats;

	device_log(vd->host,
		   "state dump: net%s rx %s%s, tx%s%s%s; tx %llu frames %llu bytes (blocked %llu, dropped %llu) "
		   "rx %llu frames %llu bytes (no buffers %llu, dropped %llu)",
		   n->dead ? " backend dead," : "", n->rx_enabled ? "polling the tap" : "not polling the tap",
		   n->rx_held ? ", a chain held" : "", n->tx_held ? " a chain held" : "",
		   n->tx_blocked ? " waiting for POLLOUT" : "", n->tx_more ? " more to send" : "",
		   (unsigned long long)st->tx_frames, (unsigned long long)st->tx_bytes,
		   (unsigned long long)st->tx_blocked,
		   (unsigned long long)(st->tx_bad_hdr + st->tx_bad_size + st->tx_errors + st->tx_abandoned + st->tx_dead),
		   (unsigned long long)st->rx_frames, (unsigned long long)st->rx_bytes,
		   (unsigned long long)st->rx_no_buffers,
		   (unsigned long long)(st->rx_too_big + st->rx_runt + st->rx_bad_hdr));
}

const struct virtio_model virtio_net_model = {
	.name = "virtio-net",
	.device_id = VIRTIO_ID_NET,
	.nqueues = VIRTIO_NET_QUEUES,
	.queue_size_max = VIRTIO_NET_QUEUE_SIZE,
	.config_len = VIRTIO_NET_CONFIG_LEN,
	.state_size = sizeof(struct virtio_net),
	.init = net_init,
	.reset = net_reset,
	.queue_notify = net_queue_notify,
	.backend_pollfds = net_backend_pollfds,
	.backend_event = net_backend_event,
	.sandbox_rules = net_sandbox_rules,
	.dump = net_dump,
};

static int net_device_init(void *state, struct device_host *host)
{
	return virtio_dev_init(state, host, &virtio_net_model);
}

const struct device_model virtio_net_device_model = VIRTIO_DEVICE_MODEL("virtio-net", net_device_init);
