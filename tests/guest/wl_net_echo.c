/* SPDX-License-Identifier: MIT */
/*
 * net-echo [net=0] [count=0]: on virtio-net device `net`, sends every
 * received frame back unchanged, byte for byte, until count frames were
 * echoed (0: forever). Prints
 *   ok net-echo-open      the device initialised
 *   ok net-echo-link      link up (config status bit 0, when STATUS was negotiated)
 *   net-echo: ready mac=<xx:xx:xx:xx:xx:xx>    (receive buffers posted)
 * and once count frames were echoed and their transmission used:
 *   ok net-echo-rx-hdr    every receive header had num_buffers 1, flags 0, gso_type 0
 *   net-echo: echoed <n> frames
 * then PASS/FAILED. Driver parameters: virtio.h; receiving has no timeout.
 */
#include "check.h"
#include "cmdline.h"
#include "guest.h"
#include "virtio_net.h"
#include "workloads.h"

void wl_net_echo(unsigned cpu)
{
	static struct net_dev n;
	struct virtio_opts o;
	const char *err;
	uint64_t count, echoed = 0;

	if (cpu != 0)
		return;
	count = cmdline_get_u64("count", 0);
	virtio_opts_from_cmdline(&o);
	virtio_cpu_init();
	err = net_open(&n, (unsigned)cmdline_get_u64("net", 0), &o);
	if (err) {
		check_fail("net-echo-open", err);
		finish();
	}
	check_eq("net-echo-open", 0, 0);
	check_eq("net-echo-link", 1, net_link_up(&n));
	kprintf("net-echo: ready mac=%02x:%02x:%02x:%02x:%02x:%02x\n", n.mac[0], n.mac[1], n.mac[2], n.mac[3],
		n.mac[4], n.mac[5]);
	while (count == 0 || echoed < count) {
		uint32_t len;
		uint8_t *f = net_recv_wait(&n, &len, true);

		if (len > ETH_FRAME_MAX) {
			kprintf("net-echo: dropping a %u-byte frame (more than %u)\n", len, ETH_FRAME_MAX);
		} else {
			net_tx_reap(&n);
			net_send_wait(&n, f, len);
			echoed++;
		}
		net_rx_recycle(&n, f);
	}
	net_tx_drain(&n);
	check_eq("net-echo-rx-hdr", 0, n.rx_bad_hdr);
	kprintf("net-echo: echoed %lu frames\n", echoed);
	finish();
}
