/* SPDX-License-Identifier: MIT */
/* The net-send / net-bench test frame (net_frame.h). */
#include "check.h"
#include "cmdline.h"
#include "guest.h"
#include "net_frame.h"
#include "virtio_net.h"

void net_frame_build(uint8_t *frame, uint32_t size, const uint8_t *src_mac, uint32_t seq)
{
	memset(frame, 0xff, 6);
	memcpy(frame + 6, src_mac, 6);
	frame[12] = NET_FRAME_ETHERTYPE >> 8;
	frame[13] = NET_FRAME_ETHERTYPE & 0xff;
	for (unsigned i = 0; i < 4; i++)
		frame[14 + i] = (uint8_t)(seq >> (8 * i));
	for (uint32_t i = NET_FRAME_PAYLOAD_AT; i < size; i++)
		frame[i] = (uint8_t)(seq + i);
}

uint32_t net_frame_workload_open(struct net_dev *n, const char *what)
{
	struct virtio_opts o;
	uint64_t size = cmdline_get_u64("size", 64);
	const char *err;

	if (size < ETH_FRAME_MIN || size > ETH_FRAME_MAX) {
		check_fail("size", "must be 60..1514");
		finish();
	}
	virtio_opts_from_cmdline(&o);
	virtio_cpu_init();
	err = net_open(n, (unsigned)cmdline_get_u64("net", 0), &o);
	if (err) {
		check_fail(what, err);
		finish();
	}
	return (uint32_t)size;
}
