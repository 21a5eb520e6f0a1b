/* SPDX-License-Identifier: MIT */
/*
 * virtio-net (device-worker/models/virtio_net.c) through the fake virtio driver.
 * The backend is a socketpair(AF_UNIX, SOCK_SEQPACKET) instead of a tap:
 * each message is one frame with its 12-byte header, as on a tap with
 * IFF_VNET_HDR. The test plays the host network on the peer end.
 *
 * The driver negotiates EVENT_IDX and kicks only when avail_event asks for
 * it (as Linux does), so a device that forgets to re-arm shows up as a
 * stall, not as a pass.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "device-worker/virtio/virtio_mmio.h"
#include "device-worker/models/virtio_net.h"
#include "tests/unit/virtio_fake_driver.h"

#define RXQ VIRTIO_NET_RXQ
#define TXQ VIRTIO_NET_TXQ
#define HDR VIRTIO_NET_HDR_LEN
#define MAC "52:54:00:12:34:56"
#define FEATURES (VIRTIO_FEAT_EVENT_IDX | VIRTIO_NET_FEAT_MAC | VIRTIO_NET_FEAT_STATUS | VIRTIO_NET_FEAT_MTU)
/* Poll set of the glue: one notify fd per queue, the resample fd, then ours. */
#define BACKEND_SLOT 3

static struct fake_virtio f;
static int sv[2] = { -1, -1 }; /* sv[0]: the device's backend; sv[1]: the "host network" */
static uint8_t msg[HDR + VIRTIO_NET_MAX_FRAME + 64];

static void setup(void)
{
	const char *params[] = { "mac=" MAC, NULL };

	signal(SIGPIPE, SIG_IGN);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0); /* blocking: init fixes that */
	cr_assert_eq(fake_virtio_setup(&f, &virtio_net_device_model, 2, sv[0], params), 0);
}

static void teardown(void)
{
	fake_virtio_teardown(&f);
	for (int i = 0; i < 2; i++) {
		if (sv[i] >= 0)
			close(sv[i]);
		sv[i] = -1;
	}
}

TestSuite(virtio_net, .init = setup, .fini = teardown);

/* ---- helpers -------------------------------------------------------------- */

static struct virtio_net *net(void)
{
	return f.vd.ms;
}

static uint32_t status(void)
{
	return fake_mmio_read(&f, VIRTIO_MMIO_REG_STATUS, 4);
}

static void start(void)
{
	cr_assert(fake_virtio_start(&f, FEATURES));
}

static uint16_t avail_event(unsigned q)
{
	uint16_t v;

	memcpy(&v, (uint8_t *)fake_ptr(&f, f.q[q].used) + virtq_avail_event_off(FAKE_QSIZE), 2);
	return v;
}

/* Posts a chain and kicks only when the device asked for it (EVENT_IDX, like Linux). */
static uint16_t post(unsigned q, const struct fake_buf *bufs, unsigned n)
{
	uint16_t old = f.q[q].avail_idx, head = fake_post(&f, q, bufs, n);

	if (virtq_need_event(avail_event(q), f.q[q].avail_idx, old))
		fake_kick(&f, q);
	return head;
}

/* A one-buffer receive chain of len bytes; returns its head, *gpa its buffer. */
static uint16_t post_rx(uint32_t len, uint64_t *gpa)
{
	struct fake_buf b = { fake_alloc(&f, len), len, true };

	if (gpa)
		*gpa = b.gpa;
	return post(RXQ, &b, 1);
}

static void fill_frame(uint8_t *p, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed * 31 + i * 7 + (i >> 8));
}

/* A transmit chain: header (hdr, or zeros) + frame of len bytes, cut into pieces of the given sizes. */
static uint16_t post_tx(const struct virtio_net_header *hdr, size_t len, unsigned seed, const uint32_t *pieces,
			unsigned npieces)
{
	struct virtio_net_header zero = { 0 };
	struct fake_buf bufs[8];
	uint64_t gpa = fake_alloc(&f, HDR + len), off = 0;
	uint8_t *p = fake_ptr(&f, gpa);

	memcpy(p, hdr ? hdr : &zero, HDR);
	fill_frame(p + HDR, len, seed);
	cr_assert(npieces <= 8);
	for (unsigned i = 0; i < npieces; i++) {
		bufs[i] = (struct fake_buf){ gpa + off, pieces[i], false };
		off += pieces[i];
	}
	cr_assert_eq(off, HDR + len, "pieces cover the chain");
	return post(TXQ, bufs, npieces);
}

static uint16_t post_tx1(size_t len, unsigned seed)
{
	uint32_t whole = (uint32_t)(HDR + len);

	return post_tx(NULL, len, seed, &whole, 1);
}

/* The host network sends one frame (with hdr, or a zero header). */
static void host_send(const struct virtio_net_header *hdr, size_t len, unsigned seed)
{
	struct virtio_net_header zero = { 0 };

	memcpy(msg, hdr ? hdr : &zero, HDR);
	fill_frame(msg + HDR, len, seed);
	cr_assert_eq(send(sv[1], msg, HDR + len, 0), (ssize_t)(HDR + len), "send: %s", strerror(errno));
}

/* The host network receives one frame: its length with header, or -1 when none waits. */
static ssize_t host_recv(void)
{
	return recv(sv[1], msg, sizeof(msg), MSG_DONTWAIT);
}

static void expect_tx_frame(size_t len, unsigned seed)
{
	static uint8_t want[VIRTIO_NET_MAX_FRAME];
	ssize_t n = host_recv();

	cr_assert_eq(n, (ssize_t)(HDR + len), "frame %u: got %zd bytes, want %zu", seed, n, HDR + len);
	for (unsigned i = 0; i < HDR; i++)
		cr_assert_eq(msg[i], 0, "frame %u: header byte %u is %#x", seed, i, msg[i]);
	fill_frame(want, len, seed);
	cr_assert(memcmp(msg + HDR, want, len) == 0, "frame %u: content differs", seed);
}

static void expect_used(unsigned q, uint16_t head, uint32_t len)
{
	uint32_t id, l;

	cr_assert(fake_used(&f, q, &id, &l), "queue %u: no used element for head %u", q, head);
	cr_assert_eq(id, head, "queue %u: used id %u, want %u", q, id, head);
	cr_assert_eq(l, len, "queue %u head %u: used len %u, want %u", q, head, l, len);
}

static void expect_no_used(unsigned q)
{
	uint32_t id, len;

	cr_assert(!fake_used(&f, q, &id, &len), "queue %u: unexpected used element %u (len %u)", q, id, len);
}

/* A received frame in guest memory: clean header, num_buffers 1, then the frame. */
static void expect_rx_frame(uint64_t gpa, size_t len, unsigned seed)
{
	static uint8_t want[VIRTIO_NET_MAX_FRAME];
	const struct virtio_net_header clean = { .num_buffers = 1 };
	const uint8_t *p = fake_ptr(&f, gpa);

	cr_assert(memcmp(p, &clean, HDR) == 0, "header not clean: flags %#x gso %u num_buffers %u", p[0], p[1],
		  p[10] | p[11] << 8);
	fill_frame(want, len, seed);
	cr_assert(memcmp(p + HDR, want, len) == 0, "frame %u: content differs", seed);
}

/* The backend's poll request as the worker would see it now. */
static struct pollfd backend_pollfd(void)
{
	struct pollfd pfd[16];
	unsigned n = virtio_dev_pollfds(&f.vd, pfd, 16);

	cr_assert_eq(n, BACKEND_SLOT + 1);
	return pfd[BACKEND_SLOT];
}

/*
 * Takes (and counts) the frames waiting in the device's end of the backend,
 * as the device would have read them: for checking that it did not.
 */
static unsigned backend_take_queued(void)
{
	unsigned n = 0;

	while (n < 1000 && recv(sv[0], msg, sizeof(msg), MSG_DONTWAIT) >= 0)
		n++;
	return n;
}

/* ---- identity and parameters ---------------------------------------------- */

Test(virtio_net, identity_features_and_config)
{
	uint32_t lo, hi;

	cr_assert_eq(fake_mmio_read(&f, VIRTIO_MMIO_REG_DEVICE_ID, 4), VIRTIO_ID_NET);
	fake_mmio_write(&f, VIRTIO_MMIO_REG_DEVICE_FEATURES_SEL, 4, 0);
	lo = fake_mmio_read(&f, VIRTIO_MMIO_REG_DEVICE_FEATURES, 4);
	fake_mmio_write(&f, VIRTIO_MMIO_REG_DEVICE_FEATURES_SEL, 4, 1);
	hi = fake_mmio_read(&f, VIRTIO_MMIO_REG_DEVICE_FEATURES, 4);
	cr_assert_eq(lo, (1u << 3) | (1u << 5) | (1u << 16) | (1u << 28) | (1u << 29),
		     "MTU, MAC, STATUS, INDIRECT_DESC, EVENT_IDX; no MRG_RXBUF, no offloads: %#x", lo);
	cr_assert_eq(hi, 1, "VERSION_1 only: %#x", hi);
	for (unsigned q = 0; q < 2; q++) {
		fake_mmio_write(&f, VIRTIO_MMIO_REG_QUEUE_SEL, 4, q);
		cr_assert_eq(fake_mmio_read(&f, VIRTIO_MMIO_REG_QUEUE_NUM_MAX, 4), 256);
	}
	fake_mmio_write(&f, VIRTIO_MMIO_REG_QUEUE_SEL, 4, 2);
	cr_assert_eq(fake_mmio_read(&f, VIRTIO_MMIO_REG_QUEUE_NUM_MAX, 4), 0, "two queues only");

	start();
	{
		const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

		for (unsigned i = 0; i < 6; i++)
			cr_assert_eq(fake_mmio_read(&f, VIRTIO_MMIO_REG_CONFIG + i, 1), mac[i], "mac[%u]", i);
	}
	cr_assert_eq(fake_mmio_read(&f, VIRTIO_MMIO_REG_CONFIG + VIRTIO_NET_CFG_STATUS, 2), VIRTIO_NET_S_LINK_UP);
	cr_assert_eq(fake_mmio_read(&f, VIRTIO_MMIO_REG_CONFIG + VIRTIO_NET_CFG_MAX_VQ_PAIRS, 2), 1);
	cr_assert_eq(fake_mmio_read(&f, VIRTIO_MMIO_REG_CONFIG + VIRTIO_NET_CFG_MTU, 2), 1500);
	cr_assert_eq(fake_mmio_read(&f, VIRTIO_MMIO_REG_CONFIG + 0, 4), 0x12005452);
	/* Config writes are ignored. */
	fake_mmio_write(&f, VIRTIO_MMIO_REG_CONFIG + 0, 1, 0xff);
	fake_mmio_write(&f, VIRTIO_MMIO_REG_CONFIG + VIRTIO_NET_CFG_STATUS, 2, 0);
	cr_assert_eq(fake_mmio_read(&f, VIRTIO_MMIO_REG_CONFIG + 0, 1), 0x52);
	cr_assert_eq(fake_mmio_read(&f, VIRTIO_MMIO_REG_CONFIG + VIRTIO_NET_CFG_STATUS, 2), VIRTIO_NET_S_LINK_UP);
}

Test(virtio_net, init_makes_the_backend_nonblocking)
{
	int fl = fcntl(sv[0], F_GETFL);

	cr_assert(fl >= 0 && (fl & O_NONBLOCK), "flags %#x", fl);
}

Test(virtio_net, params_accepted)
{
	const char *params[] = { "mtu=9000", "mac=02:aB:Cd:eF:00:01", NULL };

	fake_virtio_teardown(&f);
	cr_assert_eq(fake_virtio_setup(&f, &virtio_net_device_model, 2, sv[0], params), 0);
	cr_assert_eq(net()->mac[1], 0xab);
	cr_assert_eq(net()->mac[5], 0x01);
	cr_assert_eq(fake_mmio_read(&f, VIRTIO_MMIO_REG_CONFIG + VIRTIO_NET_CFG_MTU, 2), 9000);
}

Test(virtio_net, bad_params_refused)
{
	static const char *const bad[][4] = {
		{ NULL },
		{ "mac=", NULL },
		{ "mac", NULL },
		{ "mac=52:54:00:12:34", NULL },
		{ "mac=52:54:00:12:34:56:", NULL },
		{ "mac=52:54:00:12:34:567", NULL },
		{ "mac=52-54-00-12-34-56", NULL },
		{ "mac=5:54:00:12:34:56:7", NULL },
		{ "mac=g2:54:00:12:34:56", NULL },
		{ "mac= 2:54:00:12:34:56", NULL },
		{ "mac=01:00:5e:00:00:01", NULL }, /* multicast */
		{ "mac=ff:ff:ff:ff:ff:ff", NULL }, /* broadcast */
		{ "mac=00:00:00:00:00:00", NULL },
		{ "mac=" MAC, "mac=" MAC, NULL },
		{ "mac=" MAC, "speed=10", NULL },
		{ "mac=" MAC, "macaddr=1", NULL },
		{ "mac=" MAC, "mtu=67", NULL },
		{ "mac=" MAC, "mtu=65536", NULL },
		{ "mac=" MAC, "mtu=01500", NULL },
		{ "mac=" MAC, "mtu=15x0", NULL },
		{ "mac=" MAC, "mtu=", NULL },
		{ "mac=" MAC, "mtu=1500", "mtu=1500", NULL },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fake_virtio_teardown(&f);
		cr_assert_lt(fake_virtio_setup(&f, &virtio_net_device_model, 2, sv[0], bad[i]), 0,
			     "case %zu (%s) accepted", i, bad[i][0] ? bad[i][0] : "no params");
	}
}

Test(virtio_net, backend_must_be_a_tap_or_packet_socket)
{
	const char *params[] = { "mac=" MAC, NULL };
	int p[2], st[2];

	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, st), 0);
	fake_virtio_teardown(&f);
	cr_assert_lt(fake_virtio_setup(&f, &virtio_net_device_model, 2, -1, params), 0, "no backend");
	fake_virtio_teardown(&f);
	cr_assert_lt(fake_virtio_setup(&f, &virtio_net_device_model, 2, p[0], params), 0, "a pipe");
	fake_virtio_teardown(&f);
	cr_assert_lt(fake_virtio_setup(&f, &virtio_net_device_model, 2, st[0], params), 0, "a stream socket");
	fake_virtio_teardown(&f);
	cr_assert_eq(fake_virtio_setup(&f, &virtio_net_device_model, 2, sv[0], params), 0);
	close(p[0]), close(p[1]), close(st[0]), close(st[1]);
}

Test(virtio_net, sandbox_rules_are_readv_and_writev_on_the_backend)
{
	struct sandbox_fd_rule rules[16];
	unsigned n = virtio_dev_sandbox_rules(&f.vd, rules, 16);
	bool rd = false, wr = false;

	for (unsigned i = 0; i < n; i++) {
		rd |= rules[i].nr == SYS_readv && rules[i].fd == sv[0];
		wr |= rules[i].nr == SYS_writev && rules[i].fd == sv[0];
		cr_assert(rules[i].why && *rules[i].why);
		cr_assert(rules[i].fd >= 0, "rule %u (%s) not bound to an fd", i, rules[i].why);
	}
	cr_assert(rd && wr, "rules: %u", n);
}

/* ---- transmit --------------------------------------------------------------- */

Test(virtio_net, tx_frames_arrive_byte_for_byte)
{
	const uint32_t split_hdr[] = { 5, 7, 20, 1, 33 };     /* header in two pieces */
	const uint32_t own_hdr[] = { HDR, 1000, 500, 14 };   /* header alone, frame in three */
	uint16_t h0, h1, h2, h3;

	start();
	h0 = post_tx1(60, 0);
	h1 = post_tx(NULL, 54, 1, split_hdr, 5);
	h2 = post_tx(NULL, 1514, 2, own_hdr, 4);
	h3 = post_tx1(VIRTIO_NET_MAX_FRAME, 3);
	expect_tx_frame(60, 0);
	expect_tx_frame(54, 1);
	expect_tx_frame(1514, 2);
	expect_tx_frame(VIRTIO_NET_MAX_FRAME, 3);
	cr_assert_lt(host_recv(), 0, "exactly four frames");
	expect_used(TXQ, h0, 0);
	expect_used(TXQ, h1, 0);
	expect_used(TXQ, h2, 0);
	expect_used(TXQ, h3, 0);
	cr_assert_eq(net()->stats.tx_frames, 4);
	cr_assert_eq(net()->stats.tx_bytes, 60 + 54 + 1514 + VIRTIO_NET_MAX_FRAME);
	cr_assert_geq(fake_irqs(&f), 1);
}

Test(virtio_net, tx_bad_header_dropped_not_reset)
{
	struct virtio_net_header gso = { .gso_type = 1 /* TCPV4 */, .gso_size = 1448, .hdr_len = 54 };
	struct virtio_net_header csum = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 34, .csum_offset = 16 };
	struct virtio_net_header valid = { .flags = VIRTIO_NET_HDR_F_DATA_VALID };
	struct virtio_net_header noise = { .hdr_len = 0xffff, .csum_start = 7, .num_buffers = 3 };
	uint32_t len = HDR + 100;
	uint16_t h[4];

	start();
	h[0] = post_tx(&gso, 100, 0, &len, 1);
	h[1] = post_tx(&csum, 100, 1, &len, 1);
	h[2] = post_tx(&valid, 100, 2, &len, 1);
	h[3] = post_tx(&noise, 100, 3, &len, 1);
	for (unsigned i = 0; i < 4; i++)
		expect_used(TXQ, h[i], 0);
	cr_assert_eq(net()->stats.tx_bad_hdr, 3);
	cr_assert_eq(status() & VIRTIO_STATUS_NEEDS_RESET, 0, "a bad header is not a broken ring");
	/* Fields that mean nothing without offloads are not forwarded: the tap sees a zero header. */
	expect_tx_frame(100, 3);
	cr_assert_lt(host_recv(), 0, "the three bad frames never reached the backend");
	(void)post_tx1(200, 4);
	expect_tx_frame(200, 4);
}

Test(virtio_net, tx_bad_sizes_dropped_not_reset)
{
	uint16_t runt, giant;

	start();
	runt = post_tx1(VIRTIO_NET_MIN_FRAME - 1, 0);
	giant = post_tx1(VIRTIO_NET_MAX_FRAME + 1, 1);
	expect_used(TXQ, runt, 0);
	expect_used(TXQ, giant, 0);
	cr_assert_eq(net()->stats.tx_bad_size, 2);
	cr_assert_lt(host_recv(), 0);
	cr_assert_eq(status() & VIRTIO_STATUS_NEEDS_RESET, 0);
	(void)post_tx1(VIRTIO_NET_MIN_FRAME, 2);
	expect_tx_frame(VIRTIO_NET_MIN_FRAME, 2);
}

/* Malformed chains: DEVICE_NEEDS_RESET; a reset brings the device back. */
static void expect_needs_reset_then_recover(void)
{
	uint64_t gpa;
	uint16_t head;

	cr_assert(status() & VIRTIO_STATUS_NEEDS_RESET, "status %#x", status());
	cr_assert(fake_mmio_read(&f, VIRTIO_MMIO_REG_INTERRUPT_STATUS, 4) & VIRTIO_MMIO_IRQ_CONFIG);
	cr_assert_lt(host_recv(), 0, "nothing transmitted");
	start(); /* Status 0, then a fresh set-up with new rings */
	cr_assert_eq(status() & VIRTIO_STATUS_NEEDS_RESET, 0);
	(void)post_tx1(80, 9);
	expect_tx_frame(80, 9);
	head = post_rx(1526, &gpa);
	host_send(NULL, 90, 10);
	fake_poll(&f, 0);
	expect_used(RXQ, head, HDR + 90);
	expect_rx_frame(gpa, 90, 10);
}

Test(virtio_net, tx_chain_with_writable_part_needs_reset)
{
	uint64_t a = fake_alloc(&f, HDR + 100), w = fake_alloc(&f, 64);
	struct fake_buf bufs[2] = { { a, HDR + 100, false }, { w, 64, true } };

	start();
	memset(fake_ptr(&f, a), 0, HDR + 100);
	(void)post(TXQ, bufs, 2);
	expect_no_used(TXQ);
	expect_needs_reset_then_recover();
}

Test(virtio_net, tx_chain_without_frame_needs_reset)
{
	uint64_t a = fake_alloc(&f, HDR);
	struct fake_buf b = { a, HDR, false };

	start();
	memset(fake_ptr(&f, a), 0, HDR);
	(void)post(TXQ, &b, 1);
	expect_no_used(TXQ);
	expect_needs_reset_then_recover();
}

Test(virtio_net, rx_chain_with_readable_part_needs_reset)
{
	uint64_t a = fake_alloc(&f, 64), b = fake_alloc(&f, 1526);
	struct fake_buf bufs[2] = { { a, 64, false }, { b, 1526, true } };

	start();
	(void)post(RXQ, bufs, 2);
	host_send(NULL, 60, 0);
	fake_poll(&f, 0);
	expect_no_used(RXQ);
	cr_assert_eq(backend_take_queued(), 1, "the frame was not consumed");
	expect_needs_reset_then_recover();
}

Test(virtio_net, rx_chain_shorter_than_header_needs_reset)
{
	start();
	(void)post_rx(HDR - 1, NULL);
	expect_no_used(RXQ);
	expect_needs_reset_then_recover();
}

Test(virtio_net, tx_eagain_waits_for_pollout_then_retries)
{
	enum { N = 48, LEN = 1500 };
	int small = 4096;
	uint16_t heads[N];
	unsigned got = 0, used = 0, rounds = 0;
	uint32_t id, len;

	cr_assert_eq(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	start();
	for (unsigned i = 0; i < N; i++)
		heads[i] = post_tx1(LEN, i);
	cr_assert_gt(net()->stats.tx_blocked, 0, "the backend never pushed back: raise N");
	cr_assert(net()->tx_held && net()->tx_blocked);
	cr_assert(backend_pollfd().events & POLLOUT, "blocked transmit must wait for POLLOUT");
	cr_assert_eq(backend_pollfd().fd, sv[0]);
	/* Only the frames written were returned; the blocked one was not. */
	while (fake_used(&f, TXQ, &id, &len)) {
		cr_assert_eq(id, heads[used]);
		used++;
	}
	cr_assert_eq(used, net()->stats.tx_frames);
	cr_assert_lt(used, N);
	/* Nothing moves while the backend stays full: no busy retry, no drop. */
	fake_poll(&f, 0);
	cr_assert_eq(net()->stats.tx_frames, used);
	/* The host drains; every POLLOUT lets more through, in order, none lost. */
	while (got < N && rounds++ < 10000) {
		while (got < N && host_recv() >= 0) {
			static uint8_t want[LEN];

			fill_frame(want, LEN, got);
			cr_assert(memcmp(msg + HDR, want, LEN) == 0, "frame %u out of order or damaged", got);
			got++;
		}
		fake_poll(&f, 0);
	}
	cr_assert_eq(got, N);
	while (fake_used(&f, TXQ, &id, &len)) {
		cr_assert_eq(id, heads[used]);
		cr_assert_eq(len, 0);
		used++;
	}
	cr_assert_eq(used, N);
	cr_assert_eq(net()->stats.tx_frames, N);
	cr_assert_eq(net()->stats.tx_errors + net()->stats.tx_bad_size + net()->stats.tx_bad_hdr, 0);
	cr_assert_eq(backend_pollfd().events & POLLOUT, 0, "no POLLOUT once transmit is idle");
}

Test(virtio_net, reset_abandons_a_blocked_tx_chain)
{
	int small = 4096;

	cr_assert_eq(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	start();
	for (unsigned i = 0; i < 32 && !net()->tx_blocked; i++)
		(void)post_tx1(1500, i);
	cr_assert(net()->tx_blocked);
	fake_mmio_write(&f, VIRTIO_MMIO_REG_STATUS, 4, 0);
	cr_assert_eq(net()->stats.tx_abandoned, 1);
	cr_assert(!net()->tx_held && !net()->tx_blocked);
	cr_assert_eq(backend_pollfd().fd, -1, "nothing to poll after a reset");
	while (host_recv() >= 0)
		;
	start();
	(void)post_tx1(100, 77);
	expect_tx_frame(100, 77);
}

Test(virtio_net, tx_full_batch_drains_and_rearms)
{
	uint32_t whole = HDR + 100, id, len;
	unsigned used = 0;

	start();
	cr_assert_eq(FAKE_QSIZE, VIRTIO_NET_BATCH, "this test fills exactly one batch");
	for (unsigned i = 0; i < VIRTIO_NET_BATCH; i++) {
		uint64_t gpa = fake_alloc(&f, whole);
		struct fake_buf b = { gpa, whole, false };

		memset(fake_ptr(&f, gpa), 0, HDR);
		fill_frame((uint8_t *)fake_ptr(&f, gpa) + HDR, 100, i);
		(void)fake_post(&f, TXQ, &b, 1); /* no kicks: one for the lot below */
	}
	fake_kick(&f, TXQ);
	/* The glue runs the model again after a full batch, so the queue drains and is re-armed. */
	cr_assert_eq(net()->stats.tx_frames, VIRTIO_NET_BATCH);
	cr_assert_eq(avail_event(TXQ), f.q[TXQ].avail_idx, "drained queue re-armed for the next kick");
	for (unsigned i = 0; i < 10; i++) {
		uint64_t gpa = fake_alloc(&f, whole);
		struct fake_buf b = { gpa, whole, false };

		memset(fake_ptr(&f, gpa), 0, HDR);
		fill_frame((uint8_t *)fake_ptr(&f, gpa) + HDR, 100, VIRTIO_NET_BATCH + i);
		(void)fake_post(&f, TXQ, &b, 1);
	}
	fake_kick(&f, TXQ);
	cr_assert_eq(net()->stats.tx_frames, VIRTIO_NET_BATCH + 10);
	for (unsigned i = 0; i < VIRTIO_NET_BATCH + 10; i++)
		expect_tx_frame(100, i);
	while (fake_used(&f, TXQ, &id, &len))
		used++;
	cr_assert_eq(used, VIRTIO_NET_BATCH + 10);
	cr_assert(!net()->tx_more);
	cr_assert_eq(backend_pollfd().events & POLLOUT, 0, "idle transmit does not poll for POLLOUT");
	cr_assert_eq(avail_event(TXQ), f.q[TXQ].avail_idx, "and it asked for a kick at the next chain");
}

/* ---- receive ------------------------------------------------------------------ */

Test(virtio_net, rx_frames_land_with_num_buffers_1)
{
	struct virtio_net_header from_tap = { .flags = VIRTIO_NET_HDR_F_DATA_VALID, .csum_start = 5, .num_buffers = 9 };
	uint64_t a, hb = fake_alloc(&f, HDR), b1 = fake_alloc(&f, 1000), b2 = fake_alloc(&f, 1000);
	struct fake_buf split[3] = { { hb, HDR, true }, { b1, 1000, true }, { b2, 1000, true } };
	uint16_t ha, hs;

	start();
	ha = post_rx(1526, &a);
	hs = post(RXQ, split, 3);
	host_send(&from_tap, 60, 0);
	host_send(NULL, 1514, 1);
	fake_poll(&f, 0);
	expect_used(RXQ, ha, HDR + 60);
	expect_rx_frame(a, 60, 0);
	expect_used(RXQ, hs, HDR + 1514);
	{
		static uint8_t want[1514];
		const struct virtio_net_header clean = { .num_buffers = 1 };

		cr_assert(memcmp(fake_ptr(&f, hb), &clean, HDR) == 0);
		fill_frame(want, 1514, 1);
		cr_assert(memcmp(fake_ptr(&f, b1), want, 1000) == 0);
		cr_assert(memcmp(fake_ptr(&f, b2), want + 1000, 514) == 0);
	}
	cr_assert_eq(net()->stats.rx_frames, 2);
	cr_assert_eq(net()->stats.rx_bytes, 60 + 1514);
	cr_assert_geq(fake_irqs(&f), 1);
}

Test(virtio_net, rx_without_buffers_leaves_frames_queued)
{
	uint64_t gpa[3];
	uint16_t h[3];

	start();
	for (unsigned i = 0; i < 3; i++)
		host_send(NULL, 100 + i, i);
	fake_poll(&f, 0);
	expect_no_used(RXQ);
	cr_assert(!net()->rx_enabled);
	cr_assert_eq(backend_pollfd().events & POLLIN, 0, "no POLLIN without receive buffers");
	cr_assert_eq(avail_event(RXQ), f.q[RXQ].avail_idx, "the device asked for a kick at the next buffer");
	/* The driver posts buffers: the (EVENT_IDX) kick resumes receive and the queued frames arrive. */
	for (unsigned i = 0; i < 3; i++)
		h[i] = post_rx(1526, &gpa[i]);
	fake_poll(&f, 0);
	for (unsigned i = 0; i < 3; i++) {
		expect_used(RXQ, h[i], HDR + 100 + i);
		expect_rx_frame(gpa[i], 100 + i, i);
	}
	cr_assert_eq(net()->stats.rx_too_big + net()->stats.rx_runt + net()->stats.rx_bad_hdr, 0);
}

Test(virtio_net, rx_pressure_pauses_and_resumes_without_loss)
{
	enum { FRAMES = 7 };
	uint64_t gpa[FRAMES];
	uint16_t h[FRAMES];
	unsigned delivered = 0;

	start();
	h[0] = post_rx(1526, &gpa[0]);
	h[1] = post_rx(1526, &gpa[1]);
	for (unsigned i = 0; i < FRAMES; i++)
		host_send(NULL, 200 + i, i);
	/* Two buffers, seven frames: two delivered, five wait in the backend. */
	fake_poll(&f, 0);
	for (; delivered < 2; delivered++) {
		expect_used(RXQ, h[delivered], HDR + 200 + delivered);
		expect_rx_frame(gpa[delivered], 200 + delivered, delivered);
	}
	expect_no_used(RXQ);
	cr_assert_eq(backend_pollfd().events & POLLIN, 0);
	cr_assert_geq(net()->stats.rx_no_buffers, 1);
	/* The ring ran dry inside a backend event: the device must still have asked for a kick. */
	cr_assert_eq(avail_event(RXQ), f.q[RXQ].avail_idx);
	/* One buffer at a time, then the rest. */
	h[2] = post_rx(1526, &gpa[2]);
	fake_poll(&f, 0);
	expect_used(RXQ, h[2], HDR + 202);
	expect_rx_frame(gpa[2], 202, 2);
	delivered = 3;
	for (unsigned i = 3; i < FRAMES; i++)
		h[i] = post_rx(1526, &gpa[i]);
	for (unsigned r = 0; r < 4; r++)
		fake_poll(&f, 0);
	for (; delivered < FRAMES; delivered++) {
		expect_used(RXQ, h[delivered], HDR + 200 + delivered);
		expect_rx_frame(gpa[delivered], 200 + delivered, delivered);
	}
	cr_assert_eq(net()->stats.rx_frames, FRAMES);
	cr_assert_eq(net()->stats.rx_too_big + net()->stats.rx_runt + net()->stats.rx_bad_hdr, 0);
}

Test(virtio_net, rx_buffer_waits_for_the_next_frame)
{
	uint64_t gpa;
	uint16_t h;

	start();
	h = post_rx(1526, &gpa);
	fake_poll(&f, 0);
	expect_no_used(RXQ);
	cr_assert(backend_pollfd().events & POLLIN, "a posted buffer makes the device poll for frames");
	host_send(NULL, 64, 5);
	fake_poll(&f, 0);
	expect_used(RXQ, h, HDR + 64);
	expect_rx_frame(gpa, 64, 5);
}

Test(virtio_net, rx_frame_too_big_dropped_and_counted)
{
	struct virtio_net_header gso = { .gso_type = 1, .gso_size = 1448 };
	struct virtio_net_header partial = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM };
	uint64_t gpa;
	uint16_t h;

	start();
	h = post_rx(HDR + 100, &gpa);
	host_send(NULL, 101, 0);      /* one byte too many */
	host_send(NULL, 2000, 1);     /* far too big */
	host_send(&gso, 60, 2);       /* offloads the device never negotiated */
	host_send(&partial, 60, 3);
	cr_assert_eq(send(sv[1], msg, HDR, 0), HDR); /* a header and no frame */
	host_send(NULL, 100, 4);      /* fits exactly */
	fake_poll(&f, 0);
	expect_used(RXQ, h, HDR + 100);
	expect_rx_frame(gpa, 100, 4);
	expect_no_used(RXQ);
	cr_assert_eq(net()->stats.rx_too_big, 2);
	cr_assert_eq(net()->stats.rx_bad_hdr, 2);
	cr_assert_eq(net()->stats.rx_runt, 1);
	cr_assert_eq(net()->stats.rx_frames, 1);
	cr_assert_eq(status() & VIRTIO_STATUS_NEEDS_RESET, 0);
}

Test(virtio_net, rx_largest_frame)
{
	uint64_t gpa;
	uint16_t h;

	start();
	h = post_rx(HDR + VIRTIO_NET_MAX_FRAME + 100, &gpa);
	host_send(NULL, VIRTIO_NET_MAX_FRAME, 6);
	fake_poll(&f, 0);
	expect_used(RXQ, h, HDR + VIRTIO_NET_MAX_FRAME);
	expect_rx_frame(gpa, VIRTIO_NET_MAX_FRAME, 6);
}

Test(virtio_net, rx_and_tx_in_one_round)
{
	uint64_t gpa;
	uint16_t hr, ht;

	start();
	hr = post_rx(1526, &gpa);
	host_send(NULL, 300, 1);
	ht = post_tx1(400, 2);
	fake_poll(&f, 0);
	expect_used(RXQ, hr, HDR + 300);
	expect_used(TXQ, ht, 0);
	expect_tx_frame(400, 2);
}

Test(virtio_net, reset_forgets_a_held_rx_buffer)
{
	uint64_t gpa;

	start();
	(void)post_rx(1526, NULL);
	cr_assert(net()->rx_held && net()->rx_enabled);
	fake_mmio_write(&f, VIRTIO_MMIO_REG_STATUS, 4, 0);
	cr_assert(!net()->rx_held && !net()->rx_enabled);
	cr_assert_eq(backend_pollfd().fd, -1);
	host_send(NULL, 70, 3);
	fake_poll(&f, 0);
	cr_assert_eq(backend_take_queued(), 1, "no receive while reset");
	start();
	host_send(NULL, 71, 4);
	(void)post_rx(1526, &gpa);
	fake_poll(&f, 0);
	expect_rx_frame(gpa, 71, 4);
}

Test(virtio_net, backend_hangup_stops_polling_and_returns_tx_buffers)
{
	uint16_t h;

	start();
	(void)post_rx(1526, NULL); /* receive polls the backend */
	close(sv[1]);
	sv[1] = -1;
	fake_poll(&f, 0);
	cr_assert(net()->dead);
	cr_assert_eq(net()->stats.backend_failures, 1);
	cr_assert_eq(backend_pollfd().fd, -1, "a failed backend is not polled (it would report POLLHUP forever)");
	h = post_tx1(100, 0);
	expect_used(TXQ, h, 0);
	cr_assert_eq(net()->stats.tx_dead, 1);
	cr_assert_eq(status() & VIRTIO_STATUS_NEEDS_RESET, 0);
}
