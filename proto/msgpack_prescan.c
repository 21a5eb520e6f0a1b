/* SPDX-License-Identifier: MIT */
/* msgpack_prescan (msgpack_prescan.h). Freestanding. */
#include "proto/msgpack_prescan.h"

#include <errno.h>

static uint32_t be_read(const uint8_t *p, unsigned n)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

int msgpack_prescan(const uint8_t *buf, size_t len, unsigned max_depth)
{
	uint64_t left[MSGPACK_PRESCAN_MAX_DEPTH]; /* elements still to come in each open container */
	unsigned depth = 0;
	uint64_t pending = 1; /* objects still to come at all levels (the root first) */
	size_t pos = 0;

	if (len == 0 || max_depth > MSGPACK_PRESCAN_MAX_DEPTH)
		return -EBADMSG;
	do {
		const uint8_t b = buf[pos]; /* pos < len: pending <= len - pos, pending >= 1 */
		size_t hdr = 1;           /* bytes of type and length fields */
		unsigned lenbytes = 0;    /* big-endian length field size, after b */
		unsigned extra = 0;       /* fixed bytes after the length field (ext type) */
		uint64_t body = 0;        /* payload bytes */
		uint64_t children = 0;    /* objects contained */
		unsigned per_item = 0;    /* with lenbytes: 1 array (n items), 2 map (n pairs) */

		if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
			/* fixint, nil, bool */
		} else if (b <= 0x8f) {
			children = 2u * (b & 0x0fu);
		} else if (b <= 0x9f) {
			children = b & 0x0fu;
		} else if (b <= 0xbf) {
			body = b & 0x1fu;
		} else {
			switch (b) {
			case 0xc4: case 0xd9: lenbytes = 1; break; /* bin8, str8 */
			case 0xc5: case 0xda: lenbytes = 2; break; /* bin16, str16 */
			case 0xc6: case 0xdb: lenbytes = 4; break; /* bin32, str32 */
			case 0xc7: lenbytes = 1; extra = 1; break; /* ext8 */
			case 0xc8: lenbytes = 2; extra = 1; break; /* ext16 */
			case 0xc9: lenbytes = 4; extra = 1; break; /* ext32 */
			case 0xca: body = 4; break;                /* float32 */
			case 0xcb: body = 8; break;                /* float64 */
			case 0xcc: case 0xd0: body = 1; break;     /* uint8, int8 */
			case 0xcd: case 0xd1: body = 2; break;
			case 0xce: case 0xd2: body = 4; break;
			case 0xcf: case 0xd3: body = 8; break;
			case 0xd4: body = 2; break;                /* fixext1: type + 1 */
			case 0xd5: body = 3; break;
			case 0xd6: body = 5; break;
			case 0xd7: body = 9; break;
			case 0xd8: body = 17; break;
			case 0xdc: lenbytes = 2; per_item = 1; break; /* array16 */
			case 0xdd: lenbytes = 4; per_item = 1; break; /* array32 */
			case 0xde: lenbytes = 2; per_item = 2; break; /* map16 */
			case 0xdf: lenbytes = 4; per_item = 2; break; /* map32 */
			default: return -EBADMSG;                    /* 0xc1, never used */
			}
		}
		if (lenbytes) {
			uint64_t n;

			if (len - pos - 1 < lenbytes)
				return -EBADMSG;
			n = be_read(buf + pos + 1, lenbytes);
			hdr += lenbytes;
			if (per_item)
				children = per_item * n;
			else
				body = n + extra;
		}
		if (body > len - pos - hdr)
			return -EBADMSG;
		pos += hdr + (size_t)body;
		/* Each pending object needs at least one more byte. */
		pending = pending - 1 + children;
		if (pending > len - pos)
			return -EBADMSG;
		if (children) {
			if (depth == max_depth)
				return -EBADMSG;
			left[depth++] = children;
		} else {
			/* A complete object: close every container it completes. */
			while (depth > 0 && --left[depth - 1] == 0)
				depth--;
		}
	} while (depth > 0);
	return pos == len ? 0 : -EBADMSG;
}
