/* SPDX-License-Identifier: MIT */
/* The table of device models (the only global table in squib-device). */
#include "device-worker/device.h"

#include <string.h>

const struct device_model *const device_models[] = {
	&uart_device_model,
	&testdev_device_model,
	&virtio_rng_device_model,
	&virtio_net_device_model,
	&virtio_blk_device_model,
};
const size_t device_model_count = ARRAY_SIZE(device_models);

const struct device_model *device_model_find(const char *name)
{
	for (size_t i = 0; i < device_model_count; i++) {
		if (strcmp(device_models[i]->name, name) == 0)
			return device_models[i];
	}
	return NULL;
}

void device_reply_unowned(const struct vm_exit *exit, struct vm_reply *reply)
{
	vm_reply_unclaimed(exit, reply);
}
