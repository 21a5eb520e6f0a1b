// SPDX-License-Identifier: MIT
/*
 * The msgpack wire format of VmExit and vm_reply. The schema, its error
 * codes and their precedence are documented in proto/SCHEMA.md, the one
 * place; keep the two in step.
 *
 * This file is compiled twice: hosted (instrumented, for device workers and
 * the unit tests) and freestanding with -fno-builtin (for vCPU workers,
 * which run in clone(CLONE_VM) tasks without TLS). vm_exit_encode and
 * vm_reply_decode run in those tasks, so the encode and decode paths call
 * nothing from libc (no memcpy/memset/strlen: the small loops below do the
 * copying), never touch errno, and never allocate:
 *  - encoding uses msgpack-c's header-inline packer writing into the caller's
 *    buffer; the packer's multi-byte stores use memcpy, which is redirected
 *    to __builtin_memcpy below so that it is always expanded inline;
 *  - decoding calls msgpack_unpack (libmsgpackc, which calls no libc on this
 *    path) with the decoder's zone, created by vm_wire_decoder_init and
 *    cleared per message. msgpack_prescan() bounds what msgpack_unpack may ask
 *    of that zone, so that no input, however hostile, makes it grow (and so
 *    call malloc) -- see WIRE_ZONE_CHUNK.
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
#include "proto/msgpack_prescan.h"

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
#define WIRE_MAX_REPLY (1 + 1 + 1 + 2 + VM_MMIO_DATA_MAX)                      /* 13 */

_Static_assert(WIRE_MAX_MMIO <= VM_WIRE_MAX, "mmio exit fits VM_WIRE_MAX");
_Static_assert(WIRE_MAX_PIO <= VM_WIRE_MAX, "pio exit fits VM_WIRE_MAX");
_Static_assert(WIRE_MAX_HYPERCALL <= VM_WIRE_MAX, "hypercall exit fits VM_WIRE_MAX");
_Static_assert(WIRE_MAX_NOARGS <= VM_WIRE_MAX, "argument-less exits fit VM_WIRE_MAX");
_Static_assert(WIRE_MAX_DEBUG <= VM_WIRE_MAX, "debug exit fits VM_WIRE_MAX");
_Static_assert(WIRE_MAX_INTERNAL_ERROR <= VM_WIRE_MAX, "internal-error exit fits VM_WIRE_MAX");
_Static_assert(WIRE_MAX_REPLY <= VM_WIRE_MAX, "reply fits VM_WIRE_MAX");
_Static_assert(VM_EXIT_MESSAGE_MAX <= 255, "message uses at most a str8 header");

/*
 * The decoder's zone. After msgpack_prescan() has accepted an input of len
 * bytes, msgpack_unpack allocates from the zone only the element arrays of
 * containers: sizeof(msgpack_object) per array element, sizeof(msgpack_object_kv)
 * (two objects) per map entry. The prescan has proved every declared element
 * is present in the input, each at least one byte, so there are at most
 * len - 1 <= VM_WIRE_MAX element objects in all: the chunk below always
 * suffices and msgpack_zone_malloc_expand (malloc) is never reached.
 */
#define WIRE_ZONE_CHUNK 4096
_Static_assert(VM_WIRE_MAX * sizeof(msgpack_object) <= WIRE_ZONE_CHUNK,
	       "a maximal message's objects fit the zone's first chunk");
_Static_assert(sizeof(msgpack_object_kv) == 2 * sizeof(msgpack_object), "map entry is two objects");
_Static_assert(sizeof(msgpack_object) % sizeof(void *) == 0,
	       "zone allocations need no alignment padding");

/*
 * Deepest container nesting accepted (the schema needs 2). msgpack-c's own
 * limit is 32 (MSGPACK_EMBED_STACK_SIZE) and it reports overflow as
 * MSGPACK_UNPACK_NOMEM_ERROR; the prescan rejects deep input first, as
 * -EBADMSG, so a nomem result can only mean a real allocation failure.
 */
#define WIRE_MAX_DEPTH 8
_Static_assert(WIRE_MAX_DEPTH <= MSGPACK_PRESCAN_MAX_DEPTH, "the prescan tracks the wire's depth");

/* ---- small freestanding helpers ----------------------------------------- */

/* A word that may alias anything and sit anywhere (x86 allows unaligned stores). */
typedef uint64_t __attribute__((may_alias, aligned(1))) wire_word;

/* Zeroes n bytes, padding included. volatile: never turned into a memset call. */
static void wire_zero(void *p, size_t n)
{
	volatile wire_word *w = p;
	volatile uint8_t *b = p;
	size_t i;

	for (i = 0; i < n / sizeof(wire_word); i++)
		w[i] = 0;
	for (i *= sizeof(wire_word); i < n; i++)
		b[i] = 0;
}

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

static bool pio_width_ok(unsigned len)
{
	return len == 1 || len == 2 || len == 4;
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
		return pio_width_ok(e->u.pio.len) ? 0 : -EINVAL;
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

int vm_reply_encode(const struct vm_reply *r, uint8_t *buf, size_t cap, size_t *out_len)
{
	struct wire_out o = { .buf = buf, .cap = cap, .len = 0 };
	msgpack_packer pk;

	*out_len = 0;
	if ((r->status != VM_REPLY_OK && r->status != VM_REPLY_ERROR) || r->len > VM_MMIO_DATA_MAX)
		return -EINVAL;
	msgpack_packer_init(&pk, &o, wire_write);
	if (msgpack_pack_array(&pk, 3) || msgpack_pack_uint32(&pk, VM_WIRE_VERSION) ||
	    msgpack_pack_uint32(&pk, (uint32_t)r->status) || pack_data(&pk, r->data, r->len))
		return -EMSGSIZE;
	*out_len = o.len;
	return 0;
}

/* ---- decoding ----------------------------------------------------------- */

int vm_wire_decoder_init(struct vm_wire_decoder *d)
{
	d->initialized = 0;
	if (!msgpack_zone_init(&d->zone, WIRE_ZONE_CHUNK))
		return -ENOMEM;
	d->initialized = 1;
	return 0;
}

void vm_wire_decoder_fini(struct vm_wire_decoder *d)
{
	if (d->initialized) {
		msgpack_zone_destroy(&d->zone);
		d->initialized = 0;
	}
}

/*
 * Parses buf into *top (in the decoder's zone) and checks the envelope
 * shared by all messages: an array whose first element is the version.
 */
static int wire_parse(struct vm_wire_decoder *d, const uint8_t *buf, size_t len,
		      msgpack_object *top)
{
	size_t off = 0;
	int rc;

	if (!d->initialized)
		return -EINVAL;
	if (len > VM_WIRE_MAX)
		return -EMSGSIZE;
	if (len == 0)
		return -EBADMSG;
	rc = msgpack_prescan(buf, len, WIRE_MAX_DEPTH);
	if (rc)
		return rc;
	msgpack_zone_clear(&d->zone);
	switch (msgpack_unpack((const char *)buf, len, &off, &d->zone, top)) {
	case MSGPACK_UNPACK_SUCCESS:
		break;
	case MSGPACK_UNPACK_NOMEM_ERROR:
		return -ENOMEM;
	case MSGPACK_UNPACK_CONTINUE:    /* truncated */
	case MSGPACK_UNPACK_EXTRA_BYTES: /* trailing bytes */
	case MSGPACK_UNPACK_PARSE_ERROR:
	default:
		return -EBADMSG;
	}
	if (top->type != MSGPACK_OBJECT_ARRAY || top->via.array.size < 1 ||
	    top->via.array.ptr[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return -EBADMSG;
	if (top->via.array.ptr[0].via.u64 != VM_WIRE_VERSION)
		return -EPROTONOSUPPORT;
	return 0;
}

static int get_uint(const msgpack_object *o, uint64_t max, uint64_t *v)
{
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > max)
		return -EBADMSG;
	*v = o->via.u64;
	return 0;
}

static int get_bool(const msgpack_object *o, bool *v)
{
	if (o->type != MSGPACK_OBJECT_BOOLEAN)
		return -EBADMSG;
	*v = o->via.boolean;
	return 0;
}

/* A bin of at most max bytes (else -EMSGSIZE), copied into dst. */
static int get_bin(const msgpack_object *o, uint8_t *dst, size_t max, uint8_t *len)
{
	if (o->type != MSGPACK_OBJECT_BIN)
		return -EBADMSG;
	if (o->via.bin.size > max)
		return -EMSGSIZE;
	wire_copy(dst, (const uint8_t *)o->via.bin.ptr, o->via.bin.size);
	*len = (uint8_t)o->via.bin.size;
	return 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* Number of elements of each variant's array, indexed by tag. */
static const uint8_t exit_fields[VM_EXIT_KIND_MAX + 1] = {
	[VM_EXIT_MMIO] = 5,
	[VM_EXIT_PIO] = 5,
	[VM_EXIT_HYPERCALL] = 4,
	[VM_EXIT_WFI] = 2,
	[VM_EXIT_WFE] = 2,
	[VM_EXIT_HLT] = 2,
	[VM_EXIT_RESET] = 2,
	[VM_EXIT_SHUTDOWN] = 2,
	[VM_EXIT_DEBUG] = 4,
	[VM_EXIT_INTERNAL_ERROR] = 3,
	[VM_EXIT_TRIPLE_FAULT] = 2,
};

static int decode_exit_fields(const msgpack_object *top, struct vm_exit *out)
{
	const msgpack_object *f = top->via.array.ptr;
	uint64_t v;
	int rc;

	if (top->via.array.size < 2 || f[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return -EBADMSG;
	if (f[1].via.u64 < 1 || f[1].via.u64 > VM_EXIT_KIND_MAX)
		return -ENOMSG;
	out->kind = (enum vm_exit_kind)f[1].via.u64;
	if (top->via.array.size != exit_fields[out->kind])
		return -EBADMSG;

	switch (out->kind) {
	case VM_EXIT_MMIO: {
		struct vm_exit_mmio *m = &out->u.mmio;

		if ((rc = get_uint(&f[2], UINT64_MAX, &m->addr)) || (rc = get_bool(&f[3], &m->write)) ||
		    (rc = get_bin(&f[4], m->data, VM_MMIO_DATA_MAX, &m->len)))
			return rc;
		if (m->len == 0 || (!m->write && !all_zero(m->data, m->len)))
			return -EBADMSG;
		return 0;
	}
	case VM_EXIT_PIO: {
		struct vm_exit_pio *p = &out->u.pio;

		if ((rc = get_uint(&f[2], UINT16_MAX, &v)))
			return rc;
		p->port = (uint16_t)v;
		if ((rc = get_bool(&f[3], &p->write)) ||
		    (rc = get_bin(&f[4], p->data, VM_PIO_DATA_MAX, &p->len)))
			return rc;
		if (!pio_width_ok(p->len) || (!p->write && !all_zero(p->data, p->len)))
			return -EBADMSG;
		return 0;
	}
	case VM_EXIT_HYPERCALL: {
		struct vm_exit_hypercall *h = &out->u.hypercall;

		if ((rc = get_uint(&f[2], UINT64_MAX, &h->func)))
			return rc;
		if (f[3].type != MSGPACK_OBJECT_ARRAY || f[3].via.array.size != VM_HYPERCALL_ARGS)
			return -EBADMSG;
		for (int i = 0; i < VM_HYPERCALL_ARGS; i++)
			if ((rc = get_uint(&f[3].via.array.ptr[i], UINT64_MAX, &h->args[i])))
				return rc;
		return 0;
	}
	case VM_EXIT_DEBUG:
		if ((rc = get_uint(&f[2], UINT64_MAX, &out->u.debug.pc)) ||
		    (rc = get_uint(&f[3], UINT64_MAX, &out->u.debug.syndrome)))
			return rc;
		return 0;
	case VM_EXIT_INTERNAL_ERROR: {
		const msgpack_object *s = &f[2];
		const uint8_t *p = (const uint8_t *)s->via.str.ptr;

		if (s->type != MSGPACK_OBJECT_STR)
			return -EBADMSG;
		if (s->via.str.size > VM_EXIT_MESSAGE_MAX)
			return -EMSGSIZE;
		for (uint32_t i = 0; i < s->via.str.size; i++)
			if (p[i] == 0)
				return -EBADMSG;
		/* The terminating NUL is already there: *out was zeroed. */
		wire_copy((uint8_t *)out->u.internal_error.message, p, s->via.str.size);
		return 0;
	}
	case VM_EXIT_WFI:
	case VM_EXIT_WFE:
	case VM_EXIT_HLT:
	case VM_EXIT_RESET:
	case VM_EXIT_SHUTDOWN:
	case VM_EXIT_TRIPLE_FAULT:
		return 0;
	}
	return -ENOMSG; /* unreachable: the tag was range-checked */
}

int vm_exit_decode(struct vm_wire_decoder *d, const uint8_t *buf, size_t len, struct vm_exit *out)
{
	msgpack_object top;
	int rc;

	wire_zero(out, sizeof(*out));
	rc = wire_parse(d, buf, len, &top);
	if (!rc)
		rc = decode_exit_fields(&top, out);
	if (rc)
		wire_zero(out, sizeof(*out));
	return rc;
}

int vm_reply_decode(struct vm_wire_decoder *d, const uint8_t *buf, size_t len, struct vm_reply *out)
{
	msgpack_object top;
	uint64_t status;
	int rc;

	wire_zero(out, sizeof(*out));
	rc = wire_parse(d, buf, len, &top);
	if (!rc && top.via.array.size != 3)
		rc = -EBADMSG;
	if (!rc)
		rc = get_uint(&top.via.array.ptr[1], VM_REPLY_ERROR, &status);
	if (!rc) {
		out->status = (enum vm_reply_status)status;
		rc = get_bin(&top.via.array.ptr[2], out->data, VM_MMIO_DATA_MAX, &out->len);
	}
	if (rc)
		wire_zero(out, sizeof(*out));
	return rc;
}

const char *vm_exit_kind_name(enum vm_exit_kind kind)
{
	switch (kind) {
	case VM_EXIT_MMIO: return "mmio";
	case VM_EXIT_PIO: return "pio";
	case VM_EXIT_HYPERCALL: return "hypercall";
	case VM_EXIT_WFI: return "wfi";
	case VM_EXIT_WFE: return "wfe";
	case VM_EXIT_HLT: return "hlt";
	case VM_EXIT_RESET: return "reset";
	case VM_EXIT_SHUTDOWN: return "shutdown";
	case VM_EXIT_DEBUG: return "debug";
	case VM_EXIT_INTERNAL_ERROR: return "internal-error";
	case VM_EXIT_TRIPLE_FAULT: return "triple-fault";
	}
	return "unknown";
}
