/* SPDX-License-Identifier: MIT */
/* The monitor as a ring consumer (ring_drain.h). */
#include "monitor/supervise/ring_drain.h"

#include <errno.h>

int monitor_ring_next(struct ring_consumer *c, struct vm_wire_decoder *d, struct vm_exit *e, uint32_t *seq)
{
	uint8_t buf[RING_RECORD_MAX];
	uint32_t len;
	int r;

	for (;;) {
		r = ring_peek(c, buf, sizeof(buf), &len, seq);
		if (r != -EAGAIN)
			break;
		/* Empty: announce the sleep; a record that slipped in meanwhile is taken now. */
		if (ring_consumer_prepare_sleep(c))
			return 0;
	}
	if (r == 0)
		r = vm_exit_decode(d, buf, len, e);
	return r < 0 ? r : 1;
}
