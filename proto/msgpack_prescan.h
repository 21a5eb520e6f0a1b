/* SPDX-License-Identifier: MIT */
/*
 * Checking a msgpack buffer's shape before msgpack-c sees it.
 *
 * msgpack-c allocates a container's element array from its declared count
 * before it has read a single element: a 5-byte array32 header can make it
 * malloc 100 GB (a failure in release builds, an abort under ASan). Every
 * decoder of hostile msgpack in squib (proto/wire.c, proto/device_config.c)
 * runs msgpack_prescan first. Freestanding: no libc, no allocation (it runs
 * in vCPU workers too).
 */
#ifndef SQUIB_PROTO_MSGPACK_PRESCAN_H
#define SQUIB_PROTO_MSGPACK_PRESCAN_H

#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"

#define MSGPACK_PRESCAN_MAX_DEPTH 8u

/*
 * Checks, without msgpack-c, that [buf, buf + len) holds exactly one
 * complete msgpack object nested at most max_depth deep (at most
 * MSGPACK_PRESCAN_MAX_DEPTH), with no reserved byte (0xc1). Along the way it
 * refuses any container that declares more elements than there are bytes
 * left, so msgpack_unpack afterwards allocates at most one object per input
 * byte. Reads only inside the buffer. 0 or -EBADMSG (len 0 included).
 */
int msgpack_prescan(const uint8_t *buf, size_t len, unsigned max_depth) MUST_USE;

#endif
