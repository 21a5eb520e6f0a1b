/* SPDX-License-Identifier: MIT */
/*
 * Console output on COM1 and a small printf.
 *
 * A line is formatted into a stack buffer first, then written under a spin
 * lock, so output of several vCPUs never interleaves. The lock remembers its
 * owner: an exception raised while this vCPU holds it (e.g. inside the
 * output loop) still prints instead of deadlocking.
 *
 * squib posts port writes: a vCPU resumes as soon as its write is queued on
 * its own ring to the UART worker, and rings of different vCPUs are drained
 * in no particular order, while a read waits until every earlier write of
 * the same vCPU was handled (README "Architecture", rings). So before
 * releasing the lock the writer reads LSR once: its line has then reached
 * the UART before the next holder's first access. Without this flush, lines
 * of different vCPUs interleave on the console despite the lock.
 */
#include "common/platform.h"
#include "guest.h"
#include "io.h"

#define UART_THR 0 /* transmit holding register */
#define UART_LSR 5 /* line status register */
#define UART_LSR_THRE 0x20
#define UART_LSR_DR 0x01 /* a received byte is waiting */
#define LSR_POLL_LIMIT 1000000 /* give up waiting for THRE, write anyway */

static uint32_t console_lock;  /* 0 free, 1 taken */
static uint32_t console_owner; /* cpu + 1 of the holder, 0 when free */

static void uart_putc(char c)
{
	for (unsigned i = 0; i < LSR_POLL_LIMIT; i++) {
		if (inb(COM1_PORT_BASE + UART_LSR) & UART_LSR_THRE)
			break;
		cpu_relax();
	}
	outb(COM1_PORT_BASE + UART_THR, (uint8_t)c);
}

bool console_input_waiting(void)
{
	return (inb(COM1_PORT_BASE + UART_LSR) & UART_LSR_DR) != 0;
}

/* Returns whether the lock was taken (false: this vCPU already holds it). */
static bool console_acquire(void)
{
	uint32_t me = this_cpu() + 1;

	if (__atomic_load_n(&console_owner, __ATOMIC_RELAXED) == me)
		return false;
	while (__atomic_exchange_n(&console_lock, 1, __ATOMIC_ACQUIRE))
		cpu_relax();
	__atomic_store_n(&console_owner, me, __ATOMIC_RELAXED);
	return true;
}

/* A read completes after this vCPU's earlier (posted) writes were handled. */
static void uart_flush(void)
{
	(void)inb(COM1_PORT_BASE + UART_LSR);
}

static void console_release(bool taken)
{
	if (!taken)
		return;
	uart_flush();
	__atomic_store_n(&console_owner, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&console_lock, 0, __ATOMIC_RELEASE);
}

static void console_write(const char *s, size_t n)
{
	bool taken = console_acquire();

	for (size_t i = 0; i < n; i++)
		uart_putc(s[i]);
	console_release(taken);
}

void kputs(const char *s)
{
	char buf[160];
	size_t n = strlen(s);

	if (n > sizeof(buf) - 1) {
		bool taken = console_acquire();
		for (size_t i = 0; i < n; i++)
			uart_putc(s[i]);
		uart_putc('\n');
		console_release(taken);
		return;
	}
	memcpy(buf, s, n);
	buf[n] = '\n';
	console_write(buf, n + 1);
}

void kvprintf(const char *fmt, va_list ap)
{
	char buf[256];
	int n = kvsnprintf(buf, sizeof(buf), fmt, ap);

	if (n > (int)sizeof(buf) - 1)
		n = sizeof(buf) - 1;
	console_write(buf, (size_t)n);
}

void kprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
}

/* ---- formatting ---------------------------------------------------------- */

struct out {
	char *buf;
	size_t size;
	size_t len; /* characters produced, even past size */
};

static void emit(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void emit_padded(struct out *o, const char *s, size_t n, unsigned width, bool left, char pad)
{
	size_t fill = width > n ? width - n : 0;

	if (!left) {
		for (size_t i = 0; i < fill; i++)
			emit(o, pad);
	}
	for (size_t i = 0; i < n; i++)
		emit(o, s[i]);
	if (left) {
		for (size_t i = 0; i < fill; i++)
			emit(o, ' ');
	}
}

static void emit_number(struct out *o, uint64_t v, bool negative, unsigned base, bool upper,
			const char *prefix, unsigned width, bool left, bool zero)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	char num[32];
	size_t n = 0, k = 0;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	if (negative)
		num[k++] = '-';
	for (const char *p = prefix; *p; p++)
		num[k++] = *p;
	if (zero && !left) {
		/* zero padding goes between sign/prefix and digits */
		size_t total = k + n;
		while (total < width && k < sizeof(num) - n) {
			num[k++] = '0';
			total++;
		}
	}
	while (n)
		num[k++] = tmp[--n];
	emit_padded(o, num, k, width, left, ' ');
}

int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { .buf = buf, .size = size, .len = 0 };

	for (const char *p = fmt; *p; p++) {
		bool left = false, zero = false, upper = false;
		unsigned width = 0, lng = 0;
		uint64_t u;
		int64_t s;

		if (*p != '%') {
			emit(&o, *p);
			continue;
		}
		p++;
		for (;; p++) {
			if (*p == '-')
				left = true;
			else if (*p == '0')
				zero = true;
			else
				break;
		}
		while (*p >= '0' && *p <= '9')
			width = width * 10 + (unsigned)(*p++ - '0');
		for (;; p++) {
			if (*p == 'l')
				lng++;
			else if (*p == 'z')
				lng = 2;
			else
				break;
		}
		switch (*p) {
		case 'd':
		case 'i':
			s = lng ? va_arg(ap, long) : va_arg(ap, int);
			u = s < 0 ? (uint64_t)0 - (uint64_t)s : (uint64_t)s;
			emit_number(&o, u, s < 0, 10, false, "", width, left, zero);
			break;
		case 'u':
			u = lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned int);
			emit_number(&o, u, false, 10, false, "", width, left, zero);
			break;
		case 'X':
			upper = true;
			/* fall through */
		case 'x':
			u = lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned int);
			emit_number(&o, u, false, 16, upper, "", width, left, zero);
			break;
		case 'p':
			u = (uint64_t)(uintptr_t)va_arg(ap, void *);
			emit_number(&o, u, false, 16, false, "0x", width, left, zero);
			break;
		case 'c': {
			char c = (char)va_arg(ap, int);
			emit_padded(&o, &c, 1, width, left, ' ');
			break;
		}
		case 's': {
			const char *str = va_arg(ap, const char *);
			if (!str)
				str = "(null)";
			emit_padded(&o, str, strlen(str), width, left, ' ');
			break;
		}
		case '%':
			emit(&o, '%');
			break;
		case '\0':
			p--; /* lone '%' at the end */
			break;
		default:
			emit(&o, '%');
			emit(&o, *p);
			break;
		}
	}
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return (int)o.len;
}

int ksnprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = kvsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
