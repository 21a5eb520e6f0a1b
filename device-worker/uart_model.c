/* SPDX-License-Identifier: MIT */
#include "device-worker/uart_model.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "common/platform.h"

/*
 * Waits (bounded) until fd takes output. True when a write may proceed.
 * While the console is known to be stuck it does not wait at all, so a
 * stopped terminal costs the device one timeout, not one per burst.
 */
static bool wait_writable(const struct uart_model *m, int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	int r;

	do {
		r = poll(&p, 1, m->congested ? 0 : UART_MODEL_WRITE_TIMEOUT_MS);
	} while (r < 0 && errno == EINTR);
	return r > 0 && (p.revents & POLLOUT) && !(p.revents & (POLLERR | POLLNVAL));
}

static void note_drop(struct uart_model *m, size_t n, const char *why, int err)
{
	if (n == 0)
		return;
	m->dropped += n;
	if (!m->drop_logged) {
		m->drop_logged = true;
		device_log(m->host, "console output fd %d %s%s%s: dropping output (counted)",
			   m->host->output_fd, why, err ? ": " : "", err ? strerrordesc_np(err) : "");
	}
}

void uart_model_flush(struct uart_model *m)
{
	int fd = m->host->output_fd;
	size_t off = 0;

	if (m->len == 0)
		return;
	if (fd < 0) {
		/* No console: output is discarded by design, not worth a log line. */
		m->dropped += m->len;
		m->len = 0;
		return;
	}
	while (off < m->len) {
		ssize_t n;

		if (!wait_writable(m, fd)) {
			m->congested = true;
			note_drop(m, m->len - off, "is not writable", 0);
			break;
		}
		n = write(fd, m->buf + off, m->len - off);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue; /* wait_writable bounds the retries */
		if (n <= 0) {
			note_drop(m, m->len - off, "failed", n < 0 ? errno : EIO);
			break;
		}
		m->congested = false;
		off += (size_t)n;
		m->written += (uint64_t)n;
		m->flushes++;
	}
	m->len = 0;
}

static void sink_put(void *ctx, uint8_t byte)
{
	struct uart_model *m = ctx;

	if (m->len == sizeof(m->buf))
		uart_model_flush(m);
	m->buf[m->len++] = byte;
}

static int uart_model_init(void *state, struct device_host *host)
{
	struct uart_model *m = state;
	struct uart_sink sink = { .put = sink_put, .ctx = m };

	m->host = host;
	uart_init(&m->uart, &sink);
	return 0;
}

static bool owns_port(uint16_t port)
{
	return port >= COM1_PORT_BASE && port - COM1_PORT_BASE < COM1_PORT_COUNT;
}

/*
 * A wider-than-byte access is split into byte accesses to consecutive
 * registers, as the ISA bus does for an 8-bit device; bytes past the last
 * register read as ones and are not written.
 */
static void uart_model_handle(void *state, const struct vm_exit *exit, struct vm_reply *reply)
{
	struct uart_model *m = state;
	const struct vm_exit_pio *pio = &exit->u.pio;

	if (exit->kind != VM_EXIT_PIO || !owns_port(pio->port) || pio->len < 1 ||
	    pio->len > VM_PIO_DATA_MAX) {
		m->unowned++;
		device_reply_unowned(exit, reply);
		return;
	}
	for (unsigned i = 0; i < pio->len; i++) {
		unsigned offset = pio->port - COM1_PORT_BASE + i;

		if (pio->write) {
			if (offset < COM1_PORT_COUNT)
				uart_write(&m->uart, offset, pio->data[i]);
		} else {
			reply->data[i] = offset < COM1_PORT_COUNT ? uart_read(&m->uart, offset) : 0xff;
		}
	}
	if (!pio->write)
		reply->len = pio->len;
}

static void uart_model_idle(void *state)
{
	uart_model_flush(state);
}

const struct device_model uart_device_model = {
	.name = "uart",
	.state_size = sizeof(struct uart_model),
	.init = uart_model_init,
	.handle = uart_model_handle,
	.idle = uart_model_idle,
};
