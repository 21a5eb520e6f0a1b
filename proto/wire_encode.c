// SPDX-License-Identifier: MIT
/*
 * Encoding a VmExit into msgpack (schema: proto/SCHEMA.md). The decoder is
 * proto/wire.c; replies are not msgpack but a fixed record (proto/reply.h).
 *
 * This file runs in vCPU workers (clone(CLONE_VM) tasks without TLS) and is
 * compiled freestanding with -fno-builtin: it calls nothing from libc (no
 * memcpy/memset/strlen: the small loop below does the copying), never
 * touches errno, never allocates. It uses msgpack-c's header-inline packer
 * writing into the caller's buffer; the packer's multi-byte stores use
 * memcpy, which is redirected to __builtin_memcpy below so that it is always
 * expanded inline. `nm -u` of its object shows no msgpack symbol
 * (tests/check-vcpu-objects.sh).
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>

/*
 * msgpack-c's inline packer stores 16/32/64-bit big-endian values with
 * memcpy(to, &val, n), byte-swapped with ntohs/ntohl. Under -fno-builtin the
 * memcpy is a call into libc (and so are ntohs/ntohl without optimization);
 * the builtins below are always expanded inline. Defined after the libc
 * headers declare the functions and before <msgpack.h> (which wire.h
 * includes), so they apply to the packer's inline functions. This file
 * itself never calls any of them.
 */
#undef memcpy
#define memcpy(dst, src, n) __builtin_memcpy((dst), (src), (n))
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#undef ntohs
#undef ntohl
#define ntohs(x) __builtin_bswap16(x)
#define ntohl(x) __builtin_bswap32(x)
#endif

#include "proto/wire.h"


/* ---- sizes ---------------------------------------------------------------- */

/*
 * Worst-case encoded sizes (bytes). Every message is a fixarray (1 byte);
 * the version and the tag are positive fixints (1 byte each); a uint64 takes
 * at most 9 bytes, a bool 1; bin/str of n bytes take a 1-byte (fixstr, up to
 * 31) or 2-byte (bin8/str8, up to 255) header plus n.
 */
#define WIRE_HDR 3 /* fixarray, version, tag */
#define WIRE_U64_MAX 9
#define WIRE_MAX_MMIO (WIRE_HDR + WIRE_U64_MAX + 1 + 2 + VM_MMIO_DATA_MAX)      /* 23 */
#define WIRE_MAX_PIO (WIRE_HDR + 3 + 1 + 2 + VM_PIO_DATA_MAX)                  /* 13 */
#define WIRE_MAX_HYPERCALL (WIRE_HDR + WIRE_U64_MAX + 1 + VM_HYPERCALL_ARGS * WIRE_U64_MAX) /* 67 */
#define WIRE_MAX_NOARGS WIRE_HDR                                               /* 3 */
#define WIRE_MAX_DEBUG (WIRE_HDR + 2 * WIRE_U64_MAX)                          /* 21 */
#define WIRE_MAX_INTERNAL_ERROR (WIRE_HDR + 2 + VM_EXIT_MESSAGE_MAX)           /* 100 */

_Static_assert(WIRE_MAX_MMIO <= VM_WIRE_MAX, "mmio exit fits VM_WIRE_MAX");
_Static_assert(WIRE_MAX_PIO <= VM_WIRE_MAX, "pio exit fits VM_WIRE_MAX");
_Static_assert(WIRE_MAX_HYPERCALL <= VM_WIRE_MAX, "hypercall exit fits VM_WIRE_MAX");
_Static_assert(WIRE_MAX_NOARGS <= VM_WIRE_MAX, "argument-less exits fit VM_WIRE_MAX");
_Static_assert(WIRE_MAX_DEBUG <= VM_WIRE_MAX, "debug exit fits VM_WIRE_MAX");
_Static_assert(WIRE_MAX_INTERNAL_ERROR <= VM_WIRE_MAX, "internal-error exit fits VM_WIRE_MAX");
_Static_assert(VM_EXIT_MESSAGE_MAX <= 255, "message uses at most a str8 header");

/* ---- a freestanding copy ------------------------------------------------ */

static void wire_copy(uint8_t *dst, const uint8_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		dst[i] = src[i];
		__asm__("" ::: "memory"); /* keeps the loop a loop, not a memcpy call */
	}
}

/* ---- encoding ----------------------------------------------------------- */

struct wire_out {
	uint8_t *buf;
	size_t cap;
	size_t len;
};

static int wire_write(void *data, const char *p, size_t n)
{
	struct wire_out *o = data;

	if (n > o->cap - o->len)
		return -1;
	wire_copy(o->buf + o->len, (const uint8_t *)p, n);
	o->len += n;
	return 0;
}

static int pack_head(msgpack_packer *pk, size_t n, unsigned tag)
{
	if (msgpack_pack_array(pk, n) || msgpack_pack_uint32(pk, VM_WIRE_VERSION))
		return -1;
	return msgpack_pack_uint32(pk, tag);
}

static int pack_bool(msgpack_packer *pk, bool v)
{
	return v ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
}

/* bin of n bytes: p's bytes, or n zero bytes when p is NULL (reads). */
static int pack_data(msgpack_packer *pk, const uint8_t *p, size_t n)
{
	static const uint8_t zeros[VM_MMIO_DATA_MAX];

	if (msgpack_pack_bin(pk, n))
		return -1;
	return msgpack_pack_bin_body(pk, p ? p : zeros, n);
}

/* Length of the message, or -1 when there is no NUL in the buffer. */
static int message_len(const char *m)
{
	for (int i = 0; i <= VM_EXIT_MESSAGE_MAX; i++)
		if (m[i] == '\0')
			return i;
	return -1;
}

static int validate_exit(const struct vm_exit *e)
{
	switch (e->kind) {
	case VM_EXIT_MMIO:
		return e->u.mmio.len >= 1 && e->u.mmio.len <= VM_MMIO_DATA_MAX ? 0 : -EINVAL;
	case VM_EXIT_PIO:
		return vm_pio_width_ok(e->u.pio.len) ? 0 : -EINVAL;
	case VM_EXIT_INTERNAL_ERROR:
		return message_len(e->u.internal_error.message) >= 0 ? 0 : -EINVAL;
	case VM_EXIT_HYPERCALL:
	case VM_EXIT_WFI:
	case VM_EXIT_WFE:
	case VM_EXIT_HLT:
	case VM_EXIT_RESET:
	case VM_EXIT_SHUTDOWN:
	case VM_EXIT_DEBUG:
	case VM_EXIT_TRIPLE_FAULT:
		return 0;
	}
	return -EINVAL;
}

static int pack_exit(msgpack_packer *pk, const struct vm_exit *e)
{
	const unsigned tag = (unsigned)e->kind;

	switch (e->kind) {
	case VM_EXIT_MMIO: {
		const struct vm_exit_mmio *m = &e->u.mmio;

		if (pack_head(pk, 5, tag) || msgpack_pack_uint64(pk, m->addr) ||
		    pack_bool(pk, m->write))
			return -1;
		return pack_data(pk, m->write ? m->data : NULL, m->len);
	}
	case VM_EXIT_PIO: {
		const struct vm_exit_pio *p = &e->u.pio;

		if (pack_head(pk, 5, tag) || msgpack_pack_uint16(pk, p->port) ||
		    pack_bool(pk, p->write))
			return -1;
		return pack_data(pk, p->write ? p->data : NULL, p->len);
	}
	case VM_EXIT_HYPERCALL: {
		const struct vm_exit_hypercall *h = &e->u.hypercall;

		if (pack_head(pk, 4, tag) || msgpack_pack_uint64(pk, h->func) ||
		    msgpack_pack_array(pk, VM_HYPERCALL_ARGS))
			return -1;
		for (int i = 0; i < VM_HYPERCALL_ARGS; i++)
			if (msgpack_pack_uint64(pk, h->args[i]))
				return -1;
		return 0;
	}
	case VM_EXIT_DEBUG:
		if (pack_head(pk, 4, tag) || msgpack_pack_uint64(pk, e->u.debug.pc))
			return -1;
		return msgpack_pack_uint64(pk, e->u.debug.syndrome);
	case VM_EXIT_INTERNAL_ERROR: {
		const char *msg = e->u.internal_error.message;
		size_t n = (size_t)message_len(msg); /* validated: >= 0 */

		if (pack_head(pk, 3, tag) || msgpack_pack_str(pk, n))
			return -1;
		return msgpack_pack_str_body(pk, msg, n);
	}
	case VM_EXIT_WFI:
	case VM_EXIT_WFE:
	case VM_EXIT_HLT:
	case VM_EXIT_RESET:
	case VM_EXIT_SHUTDOWN:
	case VM_EXIT_TRIPLE_FAULT:
		return pack_head(pk, 2, tag);
	}
	return -1; /* unreachable: validated */
}

int vm_exit_encode(const struct vm_exit *e, uint8_t *buf, size_t cap, size_t *out_len)
{
	struct wire_out o = { .buf = buf, .cap = cap, .len = 0 };
	msgpack_packer pk;
	int rc;

	*out_len = 0;
	rc = validate_exit(e);
	if (rc)
		return rc;
	msgpack_packer_init(&pk, &o, wire_write);
	if (pack_exit(&pk, e))
		return -EMSGSIZE; /* the only way the packer fails: wire_write is full */
	*out_len = o.len;
	return 0;
}
