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
	uint8_t len = 0;

	memset(reply, 0, sizeof(*reply));
	reply->status = VM_REPLY_ERROR;
	switch (exit->kind) {
	case VM_EXIT_MMIO:
		len = exit->u.mmio.write ? 0 : exit->u.mmio.len;
		break;
	case VM_EXIT_PIO:
		len = exit->u.pio.write ? 0 : exit->u.pio.len;
		if (len > VM_PIO_DATA_MAX)
			len = VM_PIO_DATA_MAX;
		break;
	case VM_EXIT_HYPERCALL:
		len = 8;
		break;
	default:
		break;
	}
	if (len > VM_MMIO_DATA_MAX)
		len = VM_MMIO_DATA_MAX;
	reply->len = len;
	memset(reply->data, 0xff, len);
}
