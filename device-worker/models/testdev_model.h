/* SPDX-License-Identifier: MIT */
/* The "testdev" device model's state (exposed for tests). */
#ifndef SQUIB_DEVICE_TESTDEV_MODEL_H
#define SQUIB_DEVICE_TESTDEV_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "device-worker/device.h"
#include "common/testdev.h"

struct testdev_model {
	/*
	 * The register state: in the device-state region when the worker has
	 * one (host->persist: scratch slots, the read counter and the PIO
	 * scratch survive a restart), else own_td.
	 */
	struct testdev *td;
	struct testdev own_td;
	struct device_host *host;
	bool exit_requested; /* CONTROL_VM_EXIT sent (only the first write counts) */
	int exit_status;
	uint64_t unowned; /* exits testdev does not serve */
};

#endif
