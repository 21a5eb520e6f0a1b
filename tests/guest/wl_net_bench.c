/* SPDX-License-Identifier: MIT */
/*
 * net-bench [net=0] [count=4096] [size=64]: transmit rate of virtio-net
 * device `net`: count frames of size bytes (60..1514, net_frame.h), the
 * transmit queue kept full (one notification decision per batch of
 * free buffers), timed with hypercall 2 from the first frame made
 * available to the last one used:
 *   bench net-tx frames=<n> ns=<T> fps=<frames per second, integer>
 *   net-bench: irqs=<interrupts> kicks=<QueueNotify writes> kicks_skipped=<suppressed>
 * and exit 0. Driver parameters: virtio.h.
 */
#include "bench_rate.h"
#include "check.h"
#include "cmdline.h"
#include "guest.h"
#include "net_frame.h"
#include "testdev.h"
#include "virtio_net.h"
#include "workloads.h"

void wl_net_bench(unsigned cpu)
{
	static struct net_dev n;
	static uint8_t frame[ETH_FRAME_MAX];
	struct virtio_wait w;
	uint64_t count, size, sent = 0, t0, t1;

	if (cpu != 0)
		return;
	count = cmdline_get_u64("count", 4096);
	size = net_frame_workload_open(&n, "net-bench");
	t0 = testdev_clock_ns();
	virtio_wait_begin(&w, n.vd);
	while (sent < count) {
		bool any = false;

		while (sent < count) {
			net_frame_build(frame, (uint32_t)size, n.mac, (uint32_t)sent);
			if (!net_send(&n, frame, (uint32_t)size, false))
				break;
			sent++;
			any = true;
		}
		if (any) {
			net_tx_kick(&n);
			virtio_wait_begin(&w, n.vd);
		}
		if (sent < count && !net_tx_reap(&n) && !virtio_wait_idle(&w, n.vd))
			virtio_fatal(n.vd, "net-tx-timeout");
	}
	net_tx_drain(&n);
	t1 = testdev_clock_ns();
	kprintf("bench net-tx frames=%lu ns=%lu fps=%lu\n", sent, t1 - t0, rate_per_s(sent, t1 - t0));
	kprintf("net-bench: irqs=%u kicks=%lu kicks_skipped=%lu\n", n.vd->irqs, n.txq->kicks, n.txq->kicks_skipped);
	testdev_exit(0);
}
