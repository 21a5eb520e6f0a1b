// SPDX-License-Identifier: MIT
/*
 * Decoding a VmExit from msgpack. The schema, its error codes and their
 * precedence are documented in proto/SCHEMA.md, the one place; keep the two
 * in step. The encoder is proto/wire_encode.c.
 *
 * Hosted code: device workers and the monitor decode exits; vCPU workers
 * never do (they take fixed-layout replies, proto/reply.h), so no msgpack-c
 * parser runs in memory the vCPU workers share. Decoding calls msgpack_unpack
 * with the decoder's zone, created by vm_wire_decoder_init and cleared per
 * message; msgpack_prescan() bounds what msgpack_unpack may ask of that
 * zone, so that no input, however hostile, makes it grow -- see
 * WIRE_ZONE_CHUNK.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "proto/wire.h"
#include "proto/msgpack_prescan.h"

/* ---- sizes ---------------------------------------------------------------- */

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
	if (o->via.bin.size) /* msgpack-c leaves ptr NULL for an empty bin */
		memcpy(dst, o->via.bin.ptr, o->via.bin.size);
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
		if (!vm_pio_width_ok(p->len) || (!p->write && !all_zero(p->data, p->len)))
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
		if (s->via.str.size) /* msgpack-c leaves ptr NULL for an empty str */
			memcpy(out->u.internal_error.message, p, s->via.str.size);
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

	memset(out, 0, sizeof(*out));
	rc = wire_parse(d, buf, len, &top);
	if (!rc)
		rc = decode_exit_fields(&top, out);
	if (rc)
		memset(out, 0, sizeof(*out));
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
