// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for vm_exit_decode (proto/wire.c), which device workers
 * and the monitor run on exits a vCPU worker wrote. Built and run by
 * `make fuzz`. Checks, for every input: no out-of-bounds read or
 * allocation past the decoder's zone (ASan), a refusal zeroes the output,
 * and an accepted exit re-encodes to a message that decodes to it again.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vm_wire_decoder dec;
	static const struct vm_exit zero;
	struct vm_exit e, again;
	uint8_t buf[VM_WIRE_MAX];
	size_t len;

	if (!dec.initialized && vm_wire_decoder_init(&dec) < 0)
		abort();
	memset(&e, 0xa5, sizeof(e));
	if (vm_exit_decode(&dec, data, size, &e) < 0) {
		if (memcmp(&e, &zero, sizeof(e)))
			abort();
		return 0;
	}
	if (vm_exit_encode(&e, buf, sizeof(buf), &len) < 0 || vm_exit_decode(&dec, buf, len, &again) < 0 ||
	    memcmp(&e, &again, sizeof(e)))
		abort();
	return 0;
}
