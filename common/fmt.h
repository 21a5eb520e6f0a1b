/* SPDX-License-Identifier: MIT */
/*
 * Freestanding text building for code that may not call stdio (vCPU
 * workers, signal handlers). A struct fmt_buf never overflows: appends past
 * the end are truncated and the buffer stays NUL-terminated.
 */
#ifndef SQUIB_COMMON_FMT_H
#define SQUIB_COMMON_FMT_H

#include <stddef.h>
#include <stdint.h>

struct fmt_buf {
	char *buf;
	size_t cap; /* including the NUL */
	size_t len;
};

static inline void fmt_init(struct fmt_buf *f, char *buf, size_t cap)
{
	f->buf = buf;
	f->cap = cap;
	f->len = 0;
	if (cap)
		buf[0] = '\0';
}

/* Continues a NUL-terminated string already in buf (cap bytes). */
static inline void fmt_resume(struct fmt_buf *f, char *buf, size_t cap)
{
	f->buf = buf;
	f->cap = cap;
	f->len = 0;
	while (f->len + 1 < cap && buf[f->len])
		f->len++;
	if (cap)
		buf[f->len] = '\0';
}

static inline void fmt_char(struct fmt_buf *f, char c)
{
	if (f->cap == 0 || f->len + 1 >= f->cap)
		return;
	f->buf[f->len++] = c;
	f->buf[f->len] = '\0';
}

static inline void fmt_str(struct fmt_buf *f, const char *s)
{
	while (*s)
		fmt_char(f, *s++);
}

static inline void fmt_hex(struct fmt_buf *f, uint64_t v)
{
	char tmp[16];
	int n = 0;

	fmt_str(f, "0x");
	do {
		tmp[n++] = "0123456789abcdef"[v & 0xf];
		v >>= 4;
	} while (v);
	while (n)
		fmt_char(f, tmp[--n]);
}

static inline void fmt_dec(struct fmt_buf *f, int64_t sv)
{
	char tmp[20];
	int n = 0;
	uint64_t v = (uint64_t)sv;

	if (sv < 0) {
		fmt_char(f, '-');
		v = 0 - v;
	}
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		fmt_char(f, tmp[--n]);
}

#endif
