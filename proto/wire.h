/* SPDX-License-Identifier: MIT */
/*
 * The msgpack wire format of VmExit (schema: proto/SCHEMA.md); its reply is a
 * fixed record (proto/reply.h). vm_exit_encode is proto/wire_encode.c (it
 * runs in vCPU workers), the decoder proto/wire.c (hosted only).
 *
 * Encoding writes into a caller buffer through msgpack-c's inline packer and
 * allocates nothing. Decoding uses msgpack-c's unpacker with a zone owned by
 * a vm_wire_decoder, created once and cleared per message, so the steady
 * state allocates nothing either. The decoder is the only code that walks a
 * msgpack object; everything else sees plain structs.
 *
 * Threat note: decoder input comes from another worker, which may be
 * compromised. Every off-schema input is rejected with a negative errno and
 * the output struct is left zeroed; no input makes the decoder read outside
 * [buf, buf + len).
 */
#ifndef SQUIB_PROTO_WIRE_H
#define SQUIB_PROTO_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "common/compiler.h"
#include "proto/vmexit.h"

/* Bumped whenever the encoding of any message changes incompatibly. */
#define VM_WIRE_VERSION 1
/* No encoded exit is longer than this; longer input is refused. */
#define VM_WIRE_MAX 112

struct vm_wire_decoder {
	msgpack_zone zone;
	int initialized;
};

/* Creates the decoder's zone (the one allocation). 0 or -ENOMEM. */
int vm_wire_decoder_init(struct vm_wire_decoder *d) MUST_USE;
void vm_wire_decoder_fini(struct vm_wire_decoder *d);

/*
 * Encodes e into buf. On success stores the length in *out_len and returns 0.
 * -EINVAL when e itself is invalid (unknown kind, bad width),
 * -EMSGSIZE when cap is too small.
 */
int vm_exit_encode(const struct vm_exit *e, uint8_t *buf, size_t cap, size_t *out_len) MUST_USE;

/*
 * Decodes exactly len bytes into *out. Errors:
 *  -EMSGSIZE        len > VM_WIRE_MAX, or a data field longer than allowed
 *  -EBADMSG         truncated input, trailing bytes, not msgpack, wrong types,
 *                   wrong array length, width the variant forbids
 *  -EPROTONOSUPPORT version field is not VM_WIRE_VERSION
 *  -ENOMSG          unknown variant tag
 */
int vm_exit_decode(struct vm_wire_decoder *d, const uint8_t *buf, size_t len, struct vm_exit *out) MUST_USE;

/* A short static name for a kind ("mmio", "pio", ...), "unknown" otherwise. */
const char *vm_exit_kind_name(enum vm_exit_kind kind);

#endif
