// SPDX-License-Identifier: MIT
/* The fixed-layout reply record (proto/reply.h). Freestanding: plain loops, no libc. */
#include "proto/reply.h"

#include <errno.h>

#define REPLY_OFF_MARK 0
#define REPLY_OFF_VERSION 1
#define REPLY_OFF_STATUS 2
#define REPLY_OFF_LEN 3
#define REPLY_OFF_DATA 8
_Static_assert(REPLY_OFF_DATA + VM_MMIO_DATA_MAX == VM_REPLY_RECORD_SIZE, "data ends the record");

static void reply_zero(struct vm_reply *out)
{
	volatile uint8_t *p = (volatile uint8_t *)out;

	for (size_t i = 0; i < sizeof(*out); i++)
		p[i] = 0;
}

int vm_reply_pack(const struct vm_reply *r, uint8_t *buf, size_t cap, size_t *out_len)
{
	*out_len = 0;
	if ((r->status != VM_REPLY_OK && r->status != VM_REPLY_ERROR) || r->len > VM_MMIO_DATA_MAX)
		return -EINVAL;
	if (cap < VM_REPLY_RECORD_SIZE)
		return -EMSGSIZE;
	for (size_t i = 0; i < VM_REPLY_RECORD_SIZE; i++)
		buf[i] = 0;
	buf[REPLY_OFF_MARK] = VM_REPLY_MARK;
	buf[REPLY_OFF_VERSION] = VM_REPLY_VERSION;
	buf[REPLY_OFF_STATUS] = (uint8_t)r->status;
	buf[REPLY_OFF_LEN] = r->len;
	for (uint8_t i = 0; i < r->len; i++)
		buf[REPLY_OFF_DATA + i] = r->data[i];
	*out_len = VM_REPLY_RECORD_SIZE;
	return 0;
}

int vm_reply_unpack(const uint8_t *buf, size_t len, struct vm_reply *out)
{
	uint8_t status, n;

	reply_zero(out);
	if (len != VM_REPLY_RECORD_SIZE)
		return -EMSGSIZE;
	if (buf[REPLY_OFF_MARK] != VM_REPLY_MARK)
		return -EBADMSG;
	if (buf[REPLY_OFF_VERSION] != VM_REPLY_VERSION)
		return -EPROTONOSUPPORT;
	status = buf[REPLY_OFF_STATUS];
	n = buf[REPLY_OFF_LEN];
	if ((status != VM_REPLY_OK && status != VM_REPLY_ERROR) || n > VM_MMIO_DATA_MAX)
		return -EBADMSG;
	for (size_t i = REPLY_OFF_LEN + 1; i < REPLY_OFF_DATA; i++)
		if (buf[i])
			return -EBADMSG;
	for (size_t i = REPLY_OFF_DATA + n; i < VM_REPLY_RECORD_SIZE; i++)
		if (buf[i])
			return -EBADMSG;
	out->status = (enum vm_reply_status)status;
	out->len = n;
	for (uint8_t i = 0; i < n; i++)
		out->data[i] = buf[REPLY_OFF_DATA + i];
	return 0;
}
