/* SPDX-License-Identifier: MIT */
/*
 * net-send [net=0] [count=16] [size=64]: sends count frames of exactly size
 * bytes (60..1514, the layout of net_frame.h: broadcast, from the device's
 * MAC, ethertype 0x88b5, le32 sequence 0..count-1, byte i = (seq + i) & 0xff)
 * on virtio-net device `net`, waits until the device used every one, and
 * prints
 *   ok net-send-open      the device initialised
 *   net-send: mac=<xx:xx:xx:xx:xx:xx> link=<up|down>
 *   ok net-send-tx        every frame was used by the device
 *   net-send: sent <n> frames
 * then PASS/FAILED. Driver parameters: virtio.h.
 */
#include "check.h"
#include "cmdline.h"
#include "guest.h"
#include "net_frame.h"
#include "virtio_net.h"
#include "workloads.h"

void wl_net_send(unsigned cpu)
{
	static struct net_dev n;
	static uint8_t frame[ETH_FRAME_MAX];
	uint64_t count, size;

	if (cpu != 0)
		return;
	count = cmdline_get_u64("count", 16);
	size = net_frame_workload_open(&n, "net-send-open");
	check_eq("net-send-open", 0, 0);
	kprintf("net-send: mac=%02x:%02x:%02x:%02x:%02x:%02x link=%s\n", n.mac[0], n.mac[1], n.mac[2],
		n.mac[3], n.mac[4], n.mac[5], net_link_up(&n) ? "up" : "down");
	for (uint64_t seq = 0; seq < count; seq++) {
		net_frame_build(frame, (uint32_t)size, n.mac, (uint32_t)seq);
		net_send_wait(&n, frame, (uint32_t)size);
	}
	net_tx_drain(&n);
	check_eq("net-send-tx", count, n.tx_frames);
	kprintf("net-send: sent %lu frames\n", n.tx_frames);
	finish();
}
