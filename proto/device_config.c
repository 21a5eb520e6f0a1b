/* SPDX-License-Identifier: MIT */
/*
 * The device worker's configuration record (device_config.h): one table of
 * keys drives the encoder, the decoder and the "missing key" check, so a
 * field is added in one place.
 *
 * Hosted code only (the monitor before its sandbox, squib-device before
 * its): msgpack-c allocates here, which the vCPU workers' copy of proto/
 * must never do, so the Makefile keeps this file out of the freestanding
 * objects.
 */
#include "proto/device_config.h"

#include <errno.h>
#include <limits.h>
#include <msgpack.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/spin.h"
#include "proto/msgpack_prescan.h"

enum key_kind {
	KEY_VERSION,    /* uint32_t, must be DEVICE_CONFIG_VERSION */
	KEY_MODEL,      /* char[DEVICE_CONFIG_MODEL_MAX + 1] */
	KEY_NAME,       /* char[DEVICE_CONFIG_NAME_MAX + 1] */
	KEY_FD,         /* int */
	KEY_SIZE,       /* uint64_t */
	KEY_U32,        /* uint32_t */
	KEY_MMIO_BASE,  /* uint64_t, with has_mmio_base */
	KEY_FD_ARRAY,   /* int[], with its count */
	KEY_PARAMS,     /* the params strings, with nparams */
};

struct key {
	const char *name;
	enum key_kind kind;
	bool required;
	size_t off;       /* of the field in struct device_config */
	size_t count_off; /* KEY_FD_ARRAY: of its unsigned count */
	unsigned max;     /* KEY_FD_ARRAY: capacity */
};

#define F(field) offsetof(struct device_config, field)
static const struct key keys[] = {
	{ "version", KEY_VERSION, true, F(version), 0, 0 },
	{ "model", KEY_MODEL, true, F(model), 0, 0 },
	{ "name", KEY_NAME, true, F(name), 0, 0 },
	{ "ram_fd", KEY_FD, false, F(ram_fd), 0, 0 },     /* virtio devices only: the rest never see guest RAM */
	{ "ram_size", KEY_SIZE, false, F(ram_size), 0, 0 },
	{ "control_fd", KEY_FD, true, F(control_fd), 0, 0 },
	{ "status_fd", KEY_FD, true, F(status_fd), 0, 0 },
	{ "doorbell_fd", KEY_FD, true, F(doorbell_fd), 0, 0 },
	{ "ring_fds", KEY_FD_ARRAY, true, F(ring_fds), F(nrings), DEVICE_CONFIG_MAX_RINGS },
	{ "ring_size", KEY_SIZE, true, F(ring_size), 0, 0 },
	{ "poll_us", KEY_U32, false, F(poll_us), 0, 0 },
	{ "restart", KEY_U32, false, F(restart), 0, 0 },
	{ "fault_how", KEY_U32, false, F(fault_how), 0, 0 },
	{ "fault_after", KEY_U32, false, F(fault_after), 0, 0 },
	{ "fault_every", KEY_U32, false, F(fault_every), 0, 0 },
	{ "fault_repeat", KEY_U32, false, F(fault_repeat), 0, 0 },
	{ "console_fd", KEY_FD, false, F(console_fd), 0, 0 },
	{ "console_kick_fd", KEY_FD, false, F(console_kick_fd), 0, 0 },
	{ "irq_fd", KEY_FD, false, F(irq_fd), 0, 0 },
	{ "state_fd", KEY_FD, false, F(state_fd), 0, 0 },
	{ "mmio_base", KEY_MMIO_BASE, false, F(mmio_base), 0, 0 },
	{ "notify_fds", KEY_FD_ARRAY, false, F(notify_fds), F(nnotify), DEVICE_CONFIG_MAX_NOTIFY },
	{ "resample_fd", KEY_FD, false, F(resample_fd), 0, 0 },
	{ "backend_fd", KEY_FD, false, F(backend_fd), 0, 0 },
	{ "params", KEY_PARAMS, false, F(params), F(nparams), DEVICE_CONFIG_MAX_PARAMS },
};
#undef F
#define NKEYS ARRAY_SIZE(keys)
_Static_assert(ARRAY_SIZE(keys) <= 32, "seen-keys bitmask is 32 bits");

static int fail(int r, char *err, size_t err_len, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(int r, char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;

	if (err && err_len) {
		int n = snprintf(err, err_len, "device config: ");

		va_start(ap, fmt);
		if (n > 0 && (size_t)n < err_len)
			vsnprintf(err + n, err_len - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return r;
}

static const char *const fault_names[DEVICE_FAULT_COUNT] = {
	[DEVICE_FAULT_NONE] = "none",
	[DEVICE_FAULT_KILL] = "kill",
	[DEVICE_FAULT_SEGV] = "segv",
	[DEVICE_FAULT_ABORT] = "abort",
	[DEVICE_FAULT_SYSCALL] = "syscall",
	[DEVICE_FAULT_GARBAGE_RING] = "garbage-ring",
	[DEVICE_FAULT_SCRIBBLE_STATE] = "scribble-state",
};

const char *device_fault_how_name(enum device_fault_how how)
{
	return (unsigned)how < DEVICE_FAULT_COUNT ? fault_names[how] : NULL;
}

int device_fault_how_parse(const char *name, enum device_fault_how *how)
{
	for (unsigned i = DEVICE_FAULT_NONE + 1; i < DEVICE_FAULT_COUNT; i++) {
		if (!strcmp(name, fault_names[i])) {
			*how = (enum device_fault_how)i;
			return 0;
		}
	}
	return -EINVAL;
}

void device_config_init(struct device_config *c)
{
	memset(c, 0, sizeof(*c));
	c->version = DEVICE_CONFIG_VERSION;
	c->poll_us = SPIN_DEFAULT_POLL_US;
	c->ram_fd = c->control_fd = c->status_fd = c->doorbell_fd = -1;
	c->console_fd = c->console_kick_fd = c->irq_fd = c->state_fd = c->resample_fd = c->backend_fd = -1;
}

/* ---- checks ---------------------------------------------------------------- */

static bool model_valid(const char *s)
{
	size_t n = strnlen(s, DEVICE_CONFIG_MODEL_MAX + 1);

	if (n == 0 || n > DEVICE_CONFIG_MODEL_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

static bool name_valid(const char *s)
{
	size_t n = strnlen(s, DEVICE_CONFIG_NAME_MAX + 1);

	if (n == 0 || n > DEVICE_CONFIG_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
		      c == '_' || c == '.'))
			return false;
	}
	return true;
}

/* KEY or KEY=VALUE: printable ASCII without commas; spaces only in a value. */
static bool param_valid(const char *s)
{
	size_t n = strnlen(s, DEVICE_CONFIG_PARAM_MAX + 1);
	bool has_value = memchr(s, '=', n) != NULL;

	if (n == 0 || n > DEVICE_CONFIG_PARAM_MAX || s[0] == '=')
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < ' ' || s[i] > '~' || s[i] == ',' || (s[i] == ' ' && !has_value))
			return false;
	return true;
}

/* The lowest fd a key may name: 0, 1 and 2 are the worker's own stdio. */
static int lowest_fd(const struct key *k)
{
	(void)k;
	return 3;
}

int device_config_check(const struct device_config *c, char *err, size_t err_len)
{
	int fds[NKEYS + DEVICE_CONFIG_MAX_RINGS + DEVICE_CONFIG_MAX_NOTIFY];
	const char *fd_keys[ARRAY_SIZE(fds)];
	unsigned nfds = 0;

	if (c->version != DEVICE_CONFIG_VERSION)
		return fail(-EPROTONOSUPPORT, err, err_len, "version %u, this squib-device speaks %u", c->version,
			    DEVICE_CONFIG_VERSION);
	if (!model_valid(c->model))
		return fail(-EINVAL, err, err_len, "model is not 1-%u characters of [a-z0-9-]", DEVICE_CONFIG_MODEL_MAX);
	if (!name_valid(c->name))
		return fail(-EINVAL, err, err_len, "name is not 1-%u characters of [A-Za-z0-9._-]", DEVICE_CONFIG_NAME_MAX);
	if ((c->ram_fd >= 0) != (c->ram_size != 0) || c->ram_size > SIZE_MAX)
		return fail(-EINVAL, err, err_len, "ram_size %llu with ram_fd %d (both or neither)",
			    (unsigned long long)c->ram_size, c->ram_fd);
	if (c->ring_size == 0 || c->ring_size > SIZE_MAX)
		return fail(-EINVAL, err, err_len, "ring_size %llu", (unsigned long long)c->ring_size);
	if (c->nrings == 0 || c->nrings > DEVICE_CONFIG_MAX_RINGS)
		return fail(-EINVAL, err, err_len, "%u ring_fds, needs 1 to %u", c->nrings, DEVICE_CONFIG_MAX_RINGS);
	if (c->nnotify > DEVICE_CONFIG_MAX_NOTIFY)
		return fail(-EINVAL, err, err_len, "%u notify_fds, at most %u", c->nnotify, DEVICE_CONFIG_MAX_NOTIFY);
	if (c->nparams > DEVICE_CONFIG_MAX_PARAMS)
		return fail(-EINVAL, err, err_len, "%u params, at most %u", c->nparams, DEVICE_CONFIG_MAX_PARAMS);
	if (c->poll_us > SPIN_MAX_POLL_US)
		return fail(-EINVAL, err, err_len, "poll_us %u, at most %d", c->poll_us, SPIN_MAX_POLL_US);
	if (c->fault_repeat > 1)
		return fail(-EINVAL, err, err_len, "fault_repeat %u, expected 0 or 1", c->fault_repeat);
	if (c->fault_how >= DEVICE_FAULT_COUNT)
		return fail(-EINVAL, err, err_len, "fault_how %u, at most %d", c->fault_how, DEVICE_FAULT_COUNT - 1);
	if (c->has_mmio_base && c->mmio_base % 8 != 0)
		return fail(-EINVAL, err, err_len, "mmio_base %#llx is not 8-aligned", (unsigned long long)c->mmio_base);
	for (unsigned i = 0; i < c->nparams; i++)
		if (!param_valid(c->params[i]))
			return fail(-EINVAL, err, err_len, "params[%u] is not KEY or KEY=VALUE (printable, no commas, 1-%u)",
				    i, DEVICE_CONFIG_PARAM_MAX);

	/* Every fd, each in its range, none given twice. */
	for (size_t k = 0; k < NKEYS; k++) {
		const struct key *key = &keys[k];
		const int *p = (const int *)((const char *)c + key->off);
		unsigned n = 1;

		if (key->kind == KEY_FD_ARRAY)
			n = *(const unsigned *)((const char *)c + key->count_off);
		else if (key->kind != KEY_FD)
			continue;
		for (unsigned i = 0; i < n; i++) {
			if (p[i] < 0 && key->kind == KEY_FD && !key->required)
				continue; /* absent */
			if (p[i] < lowest_fd(key))
				return fail(-EINVAL, err, err_len, "%s %d: fds below %d are reserved", key->name, p[i],
					    lowest_fd(key));
			for (unsigned j = 0; j < nfds; j++)
				if (fds[j] == p[i])
					return fail(-EINVAL, err, err_len, "fd %d is both %s and %s", p[i], fd_keys[j],
						    key->name);
			fds[nfds] = p[i];
			fd_keys[nfds++] = key->name;
		}
	}
	return 0;
}

/* ---- encoding -------------------------------------------------------------- */

static bool present(const struct device_config *c, const struct key *k)
{
	const char *f = (const char *)c + k->off;

	switch (k->kind) {
	case KEY_FD:
		return *(const int *)f >= 0;
	case KEY_MMIO_BASE:
		return c->has_mmio_base;
	case KEY_FD_ARRAY:
	case KEY_PARAMS:
		return *(const unsigned *)((const char *)c + k->count_off) > 0;
	default:
		return true;
	}
}

static int pack_str(msgpack_packer *pk, const char *s)
{
	size_t n = strlen(s);

	return msgpack_pack_str(pk, n) || msgpack_pack_str_body(pk, s, n);
}

static int pack_value(msgpack_packer *pk, const struct device_config *c, const struct key *k)
{
	const char *f = (const char *)c + k->off;
	int r = 0;

	switch (k->kind) {
	case KEY_VERSION:
	case KEY_U32:
		return msgpack_pack_uint32(pk, *(const uint32_t *)f);
	case KEY_MODEL:
	case KEY_NAME:
		return pack_str(pk, f);
	case KEY_FD:
		return msgpack_pack_uint32(pk, (uint32_t) * (const int *)f);
	case KEY_SIZE:
	case KEY_MMIO_BASE:
		return msgpack_pack_uint64(pk, *(const uint64_t *)f);
	case KEY_FD_ARRAY: {
		unsigned n = *(const unsigned *)((const char *)c + k->count_off);

		r = msgpack_pack_array(pk, n);
		for (unsigned i = 0; i < n && r == 0; i++)
			r = msgpack_pack_uint32(pk, (uint32_t)((const int *)f)[i]);
		return r;
	}
	case KEY_PARAMS:
		r = msgpack_pack_array(pk, c->nparams);
		for (unsigned i = 0; i < c->nparams && r == 0; i++)
			r = pack_str(pk, c->params[i]);
		return r;
	}
	return -1;
}

int device_config_encode(const struct device_config *c, uint8_t *buf, size_t cap, size_t *len, char *err,
			 size_t err_len)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	size_t n = 0;
	int r;

	r = device_config_check(c, err, err_len);
	if (r < 0)
		return r == -EPROTONOSUPPORT ? -EINVAL : r;
	for (size_t k = 0; k < NKEYS; k++)
		n += present(c, &keys[k]);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	r = msgpack_pack_map(&pk, n);
	for (size_t k = 0; k < NKEYS && r == 0; k++) {
		if (!present(c, &keys[k]))
			continue;
		r = pack_str(&pk, keys[k].name);
		if (r == 0)
			r = pack_value(&pk, c, &keys[k]);
	}
	if (r != 0) {
		msgpack_sbuffer_destroy(&sb);
		return fail(-ENOMEM, err, err_len, "out of memory while encoding");
	}
	if (sb.size > cap) {
		r = fail(-E2BIG, err, err_len, "%zu bytes encoded, room for %zu", sb.size, cap);
	} else {
		memcpy(buf, sb.data, sb.size);
		*len = sb.size;
	}
	msgpack_sbuffer_destroy(&sb);
	return r;
}

/* ---- decoding -------------------------------------------------------------- */

static bool get_uint(const msgpack_object *o, uint64_t max, uint64_t *out)
{
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > max)
		return false;
	*out = o->via.u64;
	return true;
}

/* A str of 1..max bytes, no NUL inside, copied NUL-terminated into dst[max + 1]. */
static bool get_str(const msgpack_object *o, char *dst, size_t max)
{
	if (o->type != MSGPACK_OBJECT_STR || o->via.str.size == 0 || o->via.str.size > max ||
	    memchr(o->via.str.ptr, '\0', o->via.str.size))
		return false;
	memcpy(dst, o->via.str.ptr, o->via.str.size);
	dst[o->via.str.size] = '\0';
	return true;
}

static int decode_value(const msgpack_object *v, const struct key *k, struct device_config *c, char *err,
			size_t err_len)
{
	char *f = (char *)c + k->off;
	uint64_t u;

	switch (k->kind) {
	case KEY_VERSION:
		if (!get_uint(v, UINT32_MAX, &u))
			return fail(-EBADMSG, err, err_len, "version is not an unsigned 32-bit integer");
		*(uint32_t *)f = (uint32_t)u;
		return 0;
	case KEY_MODEL:
		if (!get_str(v, f, DEVICE_CONFIG_MODEL_MAX))
			return fail(-EBADMSG, err, err_len, "model is not a string of 1-%u bytes", DEVICE_CONFIG_MODEL_MAX);
		return 0;
	case KEY_NAME:
		if (!get_str(v, f, DEVICE_CONFIG_NAME_MAX))
			return fail(-EBADMSG, err, err_len, "name is not a string of 1-%u bytes", DEVICE_CONFIG_NAME_MAX);
		return 0;
	case KEY_FD:
		if (!get_uint(v, INT_MAX, &u))
			return fail(-EBADMSG, err, err_len, "%s is not a file descriptor number", k->name);
		*(int *)f = (int)u;
		return 0;
	case KEY_SIZE:
	case KEY_MMIO_BASE:
		if (!get_uint(v, UINT64_MAX, &u))
			return fail(-EBADMSG, err, err_len, "%s is not an unsigned integer", k->name);
		*(uint64_t *)f = u;
		c->has_mmio_base |= k->kind == KEY_MMIO_BASE;
		return 0;
	case KEY_U32:
		if (!get_uint(v, UINT32_MAX, &u))
			return fail(-EBADMSG, err, err_len, "%s is not an unsigned 32-bit integer", k->name);
		*(uint32_t *)f = (uint32_t)u;
		return 0;
	case KEY_FD_ARRAY:
		if (v->type != MSGPACK_OBJECT_ARRAY || v->via.array.size > k->max)
			return fail(-EBADMSG, err, err_len, "%s is not an array of at most %u fds", k->name, k->max);
		for (uint32_t i = 0; i < v->via.array.size; i++) {
			if (!get_uint(&v->via.array.ptr[i], INT_MAX, &u))
				return fail(-EBADMSG, err, err_len, "%s[%u] is not a file descriptor number", k->name, i);
			((int *)f)[i] = (int)u;
		}
		*(unsigned *)((char *)c + k->count_off) = v->via.array.size;
		return 0;
	case KEY_PARAMS:
		if (v->type != MSGPACK_OBJECT_ARRAY || v->via.array.size > DEVICE_CONFIG_MAX_PARAMS)
			return fail(-EBADMSG, err, err_len, "params is not an array of at most %u strings",
				    DEVICE_CONFIG_MAX_PARAMS);
		for (uint32_t i = 0; i < v->via.array.size; i++)
			if (!get_str(&v->via.array.ptr[i], c->params[i], DEVICE_CONFIG_PARAM_MAX))
				return fail(-EBADMSG, err, err_len, "params[%u] is not a string of 1-%u bytes", i,
					    DEVICE_CONFIG_PARAM_MAX);
		c->nparams = v->via.array.size;
		return 0;
	}
	return fail(-EBADMSG, err, err_len, "%s: unknown kind", k->name);
}

static int decode_map(const msgpack_object *root, struct device_config *c, char *err, size_t err_len)
{
	uint32_t seen = 0;

	if (root->type != MSGPACK_OBJECT_MAP)
		return fail(-EBADMSG, err, err_len, "not a msgpack map");
	if (root->via.map.size > NKEYS)
		return fail(-EBADMSG, err, err_len, "%u keys, at most %zu exist", root->via.map.size, NKEYS);
	for (uint32_t i = 0; i < root->via.map.size; i++) {
		const msgpack_object *key = &root->via.map.ptr[i].key;
		size_t k;
		int r;

		if (key->type != MSGPACK_OBJECT_STR)
			return fail(-EBADMSG, err, err_len, "key %u is not a string", i);
		for (k = 0; k < NKEYS; k++)
			if (strlen(keys[k].name) == key->via.str.size &&
			    memcmp(keys[k].name, key->via.str.ptr, key->via.str.size) == 0)
				break;
		if (k == NKEYS)
			return fail(-EBADMSG, err, err_len, "unknown key '%.*s'", (int)(key->via.str.size > 32 ? 32 : key->via.str.size),
				    key->via.str.ptr);
		if (seen & (1u << k))
			return fail(-EBADMSG, err, err_len, "key '%s' given twice", keys[k].name);
		seen |= 1u << k;
		r = decode_value(&root->via.map.ptr[i].val, &keys[k], c, err, err_len);
		if (r < 0)
			return r;
	}
	for (size_t k = 0; k < NKEYS; k++)
		if (keys[k].required && !(seen & (1u << k)))
			return fail(-EINVAL, err, err_len, "key '%s' is missing", keys[k].name);
	return 0;
}

int device_config_decode(const uint8_t *buf, size_t len, struct device_config *out, char *err, size_t err_len)
{
	struct device_config c;
	msgpack_unpacked u;
	size_t off = 0;
	int r;

	if (len == 0 || len > DEVICE_CONFIG_MAX_BYTES)
		return fail(-EBADMSG, err, err_len, "%zu bytes, needs 1 to %u", len, DEVICE_CONFIG_MAX_BYTES);
	/* Before msgpack-c allocates anything from declared counts. Depth 2: map, arrays. */
	if (msgpack_prescan(buf, len, 2) < 0)
		return fail(-EBADMSG, err, err_len, "not one well-formed msgpack object of %zu bytes (or nested too deeply)",
			    len);
	device_config_init(&c);
	c.version = 0; /* a record without a version is missing it, not version 1 */
	msgpack_unpacked_init(&u);
	/*
	 * The prescan proved one complete object spanning all len bytes, at most
	 * 2 deep: unpacking consumes exactly it, and NOMEM can only be a real
	 * allocation failure (at most one object per input byte).
	 */
	switch (msgpack_unpack_next(&u, (const char *)buf, len, &off)) {
	case MSGPACK_UNPACK_SUCCESS:
		r = decode_map(&u.data, &c, err, err_len);
		break;
	case MSGPACK_UNPACK_NOMEM_ERROR:
		r = fail(-ENOMEM, err, err_len, "out of memory while decoding");
		break;
	default:
		r = fail(-EBADMSG, err, err_len, "not valid msgpack");
		break;
	}
	msgpack_unpacked_destroy(&u);
	if (r == 0)
		r = device_config_check(&c, err, err_len);
	if (r == 0)
		*out = c;
	return r;
}
