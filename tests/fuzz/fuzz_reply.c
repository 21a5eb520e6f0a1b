// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for vm_reply_unpack (proto/reply.c), the one parser of
 * device-written bytes that runs in vCPU memory. Built and run by
 * `make fuzz` with clang -fsanitize=fuzzer,address,undefined. Checks, for
 * every input: no out-of-bounds read (ASan), a refusal zeroes the output,
 * and an accepted record packs back to the very same bytes (the layout has
 * one encoding).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct vm_reply zero;
	struct vm_reply r;
	uint8_t again[VM_REPLY_RECORD_SIZE];
	size_t len;

	memset(&r, 0xa5, sizeof(r));
	if (vm_reply_unpack(data, size, &r) < 0) {
		if (memcmp(&r, &zero, sizeof(r)))
			abort();
		return 0;
	}
	if (r.len > VM_MMIO_DATA_MAX || vm_reply_pack(&r, again, sizeof(again), &len) < 0 ||
	    len != size || memcmp(again, data, size))
		abort();
	return 0;
}
