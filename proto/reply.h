/* SPDX-License-Identifier: MIT */
/*
 * A device's reply to a vCPU's read or hypercall, as it sits in a ring's
 * reply area: a fixed 16-byte record, not msgpack.
 *
 * Trust boundary: the bytes are written by a device worker (or by the
 * monitor answering for a removed device) and read by a vCPU worker, whose
 * memory holds the KVM fds. A compromised device worker may write anything
 * there, so the reader is squib's own fixed-layout check (vm_reply_unpack),
 * small enough to read whole and fuzzed (make fuzz), and no third-party
 * parser runs in vCPU memory (VmExits still travel as msgpack, the other way:
 * proto/wire.h).
 *
 * Layout (every byte checked; docs in proto/SCHEMA.md, "Reply"):
 *   [0]     VM_REPLY_MARK (0xc1, a byte msgpack never uses: no msgpack
 *           decoder can take a record for a message, nor this one a message)
 *   [1]     VM_REPLY_VERSION
 *   [2]     status: VM_REPLY_OK or VM_REPLY_ERROR
 *   [3]     len: 0..8, the data bytes that count
 *   [4..8)  zero
 *   [8..16) data; bytes from len on are zero
 *
 * Freestanding: no libc, no errno, no allocation (it runs in vCPU workers).
 */
#ifndef SQUIB_PROTO_REPLY_H
#define SQUIB_PROTO_REPLY_H

#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"
#include "proto/vmexit.h"

#define VM_REPLY_MARK 0xc1u
#define VM_REPLY_VERSION 1u
#define VM_REPLY_RECORD_SIZE 16u

/*
 * Writes r as a record into buf (cap bytes) and its length into *out_len.
 * -EINVAL when r cannot be carried (status not OK/ERROR, len > 8),
 * -EMSGSIZE when cap < VM_REPLY_RECORD_SIZE.
 */
int vm_reply_pack(const struct vm_reply *r, uint8_t *buf, size_t cap, size_t *out_len) MUST_USE;

/*
 * Reads the record of len bytes at buf into *out (zeroed on error):
 *  -EMSGSIZE        len is not VM_REPLY_RECORD_SIZE
 *  -EBADMSG         the mark is wrong, a reserved or unused byte is not
 *                   zero, status is unknown or len > 8
 *  -EPROTONOSUPPORT the version is not VM_REPLY_VERSION
 * Reads only [buf, buf + len). The caller still checks len against the
 * access width it asked for.
 */
int vm_reply_unpack(const uint8_t *buf, size_t len, struct vm_reply *out) MUST_USE;

#endif
