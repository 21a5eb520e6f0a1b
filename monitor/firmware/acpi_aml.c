/* SPDX-License-Identifier: MIT */
#include "monitor/firmware/acpi_aml.h"

#include <string.h>

/* Opcodes (ACPI 6.3 section 20.3). */
#define AML_ZERO_OP 0x00
#define AML_ONE_OP 0x01
#define AML_NAME_OP 0x08
#define AML_BYTE_PREFIX 0x0a
#define AML_WORD_PREFIX 0x0b
#define AML_DWORD_PREFIX 0x0c
#define AML_STRING_PREFIX 0x0d
#define AML_QWORD_PREFIX 0x0e
#define AML_SCOPE_OP 0x10
#define AML_BUFFER_OP 0x11
#define AML_PACKAGE_OP 0x12
#define AML_DUAL_NAME_PREFIX 0x2e
#define AML_MULTI_NAME_PREFIX 0x2f
#define AML_EXT_OP_PREFIX 0x5b
#define AML_DEVICE_OP 0x82 /* after the ExtOpPrefix */
#define AML_ROOT_CHAR 0x5c

/* Resource descriptor tags (ACPI 6.3 section 6.4). */
#define RES_IRQ_NOFLAGS 0x22 /* small item 0x04, length 2 */
#define RES_IO 0x47          /* small item 0x08, length 7 */
#define RES_END_TAG 0x79     /* small item 0x0f, length 1 */
#define RES_MEM32_FIXED 0x86 /* large item 0x06 */
#define RES_EXT_IRQ 0x89     /* large item 0x09 */

void aml_init(struct aml *a, uint8_t *buf, size_t cap)
{
	a->buf = buf;
	a->cap = cap;
	a->len = 0;
	a->overflow = false;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (a->overflow || n > a->cap - a->len) {
		a->overflow = true;
		return;
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

static void put_le(struct aml *a, uint64_t v, unsigned n)
{
	uint8_t b[8];

	for (unsigned i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	aml_bytes(a, b, n);
}

static bool name_char_ok(char c, bool lead)
{
	if (c == '_' || (c >= 'A' && c <= 'Z'))
		return true;
	return !lead && c >= '0' && c <= '9';
}

bool aml_name_string(struct aml *a, const char *path)
{
	const char *p = path;
	size_t nseg = 1;
	uint8_t segs[255][4];

	if (*p == '\\') {
		aml_byte(a, AML_ROOT_CHAR);
		p++;
	}
	for (const char *q = p; *q; q++)
		nseg += *q == '.';
	if (nseg > 255)
		goto bad;
	for (size_t s = 0; s < nseg; s++) {
		size_t n = 0;

		for (; *p && *p != '.'; p++, n++) {
			if (n >= 4 || !name_char_ok(*p, n == 0))
				goto bad;
			segs[s][n] = (uint8_t)*p;
		}
		if (n == 0)
			goto bad;
		for (; n < 4; n++)
			segs[s][n] = '_';
		if (*p == '.')
			p++;
	}
	if (nseg == 2) {
		aml_byte(a, AML_DUAL_NAME_PREFIX);
	} else if (nseg > 2) {
		aml_byte(a, AML_MULTI_NAME_PREFIX);
		aml_byte(a, (uint8_t)nseg);
	}
	aml_bytes(a, segs, nseg * 4);
	return true;
bad:
	a->overflow = true;
	return false;
}

void aml_integer(struct aml *a, uint64_t v)
{
	if (v == 0) {
		aml_byte(a, AML_ZERO_OP);
	} else if (v == 1) {
		aml_byte(a, AML_ONE_OP);
	} else if (v <= 0xff) {
		aml_byte(a, AML_BYTE_PREFIX);
		put_le(a, v, 1);
	} else if (v <= 0xffff) {
		aml_byte(a, AML_WORD_PREFIX);
		put_le(a, v, 2);
	} else if (v <= 0xffffffffu) {
		aml_byte(a, AML_DWORD_PREFIX);
		put_le(a, v, 4);
	} else {
		/* QWordConst needs a revision 2 DSDT (64-bit integers). */
		aml_byte(a, AML_QWORD_PREFIX);
		put_le(a, v, 8);
	}
}

void aml_string(struct aml *a, const char *s)
{
	aml_byte(a, AML_STRING_PREFIX);
	aml_bytes(a, s, strlen(s) + 1);
}

static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool aml_eisaid(struct aml *a, const char *id)
{
	/* Three letters in 5 bits each ('A' = 1), then four hex digits, big-endian. */
	uint32_t v = 0;

	if (strlen(id) != 7) {
		a->overflow = true;
		return false;
	}
	for (int i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z') {
			a->overflow = true;
			return false;
		}
		v = (v << 5) | (uint32_t)(id[i] - 0x40);
	}
	for (int i = 3; i < 7; i++) {
		int h = hex_val(id[i]);

		if (h < 0) {
			a->overflow = true;
			return false;
		}
		v = (v << 4) | (uint32_t)h;
	}
	aml_byte(a, AML_DWORD_PREFIX);
	/* The compressed id is stored as its four bytes in big-endian order. */
	aml_byte(a, (uint8_t)(v >> 24));
	aml_byte(a, (uint8_t)(v >> 16));
	aml_byte(a, (uint8_t)(v >> 8));
	aml_byte(a, (uint8_t)v);
	return true;
}

void aml_name_op(struct aml *a, const char *name)
{
	aml_byte(a, AML_NAME_OP);
	aml_name_string(a, name);
}

size_t aml_scope_open(struct aml *a, const char *name)
{
	size_t mark;

	aml_byte(a, AML_SCOPE_OP);
	mark = a->len;
	aml_name_string(a, name);
	return mark;
}

size_t aml_device_open(struct aml *a, const char *name)
{
	size_t mark;

	aml_byte(a, AML_EXT_OP_PREFIX);
	aml_byte(a, AML_DEVICE_OP);
	mark = a->len;
	aml_name_string(a, name);
	return mark;
}

size_t aml_package_open(struct aml *a, uint8_t nelems)
{
	size_t mark;

	aml_byte(a, AML_PACKAGE_OP);
	mark = a->len;
	aml_byte(a, nelems);
	return mark;
}

/*
 * BufferSize precedes the bytes but is only known after them: a WordConst
 * placeholder is written first and aml_buffer_close() fills it in, so the
 * rewrite moves nothing (resource templates are far below 64 KiB).
 */
size_t aml_buffer_open(struct aml *a)
{
	size_t mark;

	aml_byte(a, AML_BUFFER_OP);
	mark = a->len;
	aml_byte(a, AML_WORD_PREFIX);
	put_le(a, 0, 2);
	return mark;
}

void aml_buffer_close(struct aml *a, size_t mark)
{
	size_t bytes;

	if (a->overflow)
		return;
	bytes = a->len - mark - 3;
	if (bytes > 0xffff) {
		a->overflow = true;
		return;
	}
	a->buf[mark + 1] = (uint8_t)bytes;
	a->buf[mark + 2] = (uint8_t)(bytes >> 8);
	aml_close(a, mark);
}

void aml_close(struct aml *a, size_t mark)
{
	size_t body, total = 0;
	unsigned n;
	uint8_t enc[4];

	if (a->overflow)
		return;
	body = a->len - mark;
	/* The PkgLength counts its own bytes: pick the shortest that fits. */
	for (n = 1; n <= 4; n++) {
		total = body + n;
		if (n == 1 ? total <= 0x3f : total < (1ull << (4 + 8 * (n - 1))))
			break;
	}
	if (n > 4 || n > a->cap - a->len) {
		a->overflow = true;
		return;
	}
	if (n == 1) {
		enc[0] = (uint8_t)total;
	} else {
		enc[0] = (uint8_t)(((n - 1) << 6) | (total & 0x0f));
		for (unsigned i = 1; i < n; i++)
			enc[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	}
	memmove(a->buf + mark + n, a->buf + mark, body);
	memcpy(a->buf + mark, enc, n);
	a->len += n;
}

void aml_res_mem32_fixed(struct aml *a, bool writable, uint32_t base, uint32_t size)
{
	aml_byte(a, RES_MEM32_FIXED);
	put_le(a, 9, 2); /* bytes after the length field */
	aml_byte(a, writable ? 1 : 0);
	put_le(a, base, 4);
	put_le(a, size, 4);
}

void aml_res_ext_irq(struct aml *a, bool edge, bool active_low, uint32_t gsi)
{
	/* Flags: bit 0 consumer, bit 1 edge, bit 2 active-low, bit 3 shared (no). */
	uint8_t flags = (uint8_t)(1u | (edge ? 2u : 0u) | (active_low ? 4u : 0u));

	aml_byte(a, RES_EXT_IRQ);
	put_le(a, 6, 2); /* flags, count, one 32-bit interrupt number */
	aml_byte(a, flags);
	aml_byte(a, 1);
	put_le(a, gsi, 4);
}

void aml_res_io16(struct aml *a, uint16_t min, uint16_t max, uint8_t align, uint8_t len)
{
	aml_byte(a, RES_IO);
	aml_byte(a, 1); /* decodes 16 address bits */
	put_le(a, min, 2);
	put_le(a, max, 2);
	aml_byte(a, align);
	aml_byte(a, len);
}

void aml_res_irq_noflags(struct aml *a, uint16_t irq_mask)
{
	aml_byte(a, RES_IRQ_NOFLAGS);
	put_le(a, irq_mask, 2);
}

void aml_res_end(struct aml *a)
{
	/* Checksum 0 means "the template is not checksummed" (section 6.4.2.9). */
	aml_byte(a, RES_END_TAG);
	aml_byte(a, 0);
}
