/* SPDX-License-Identifier: MIT */
#include "device-worker/models/uart_model.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/platform.h"

/* How long the final flush at CONTROL_STOP may wait for a slow console. */
#define UART_MODEL_STOP_FLUSH_MS 5000

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts); /* vDSO */
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static size_t pending(const struct uart_model *m)
{
	return m->tail - m->head;
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

static void drop_pending(struct uart_model *m, const char *why, int err)
{
	note_drop(m, pending(m), why, err);
	m->head = m->tail = 0;
}

/* The INTR line (IER-enabled condition pending, gated by OUT2); a rising edge pulses the irqfd. */
static void update_irq(struct uart_model *m)
{
	bool line = uart_irq_pending(&m->uart) && (m->uart.mcr & UART_MCR_OUT2);
	const uint64_t one = 1;

	if (line && !m->irq_line && m->host->irq_fd >= 0) {
		/* An eventfd write fails only when the counter would overflow: the edge is pending anyway. */
		if (write(m->host->irq_fd, &one, sizeof(one)) == (ssize_t)sizeof(one))
			m->irqs++;
	}
	m->irq_line = line;
}

static void set_busy(struct uart_model *m, bool busy)
{
	if (busy && !m->busy)
		m->busy_since_ns = now_ns();
	m->busy = busy;
	uart_set_tx_busy(&m->uart, busy);
}

/*
 * poll(2) fd for events with timeout_ms. 1: ready, 0: not ready, -1: the fd
 * failed (POLLERR, POLLNVAL, or POLLHUP without the event).
 */
static int wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r;

	do {
		r = poll(&p, 1, timeout_ms);
	} while (r < 0 && errno == EINTR);
	if (r < 0 || (p.revents & (POLLERR | POLLNVAL)))
		return -1;
	if (p.revents & events)
		return 1;
	return (p.revents & POLLHUP) ? -1 : 0;
}

/* Writes what the fd takes within timeout_ms per batch. True when it made progress. */
static bool write_out(struct uart_model *m, int timeout_ms)
{
	int fd = m->host->output_fd;
	bool progress = false;

	while (pending(m)) {
		size_t chunk = pending(m) < UART_MODEL_BATCH ? pending(m) : UART_MODEL_BATCH;
		int ready = wait_fd(fd, POLLOUT, timeout_ms);
		ssize_t n;

		if (ready == 0)
			break;
		if (ready < 0) {
			m->stuck = true;
			drop_pending(m, "failed", 0);
			break;
		}
		n = write(fd, m->buf + m->head, chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break; /* someone made the shared fd non-blocking: not ready after all */
		if (n <= 0) {
			m->stuck = true;
			drop_pending(m, "failed", n < 0 ? errno : EIO);
			break;
		}
		m->head += (size_t)n;
		m->written += (uint64_t)n;
		m->flushes++;
		progress = true;
	}
	if (pending(m) == 0)
		m->head = m->tail = 0;
	return progress;
}

void uart_model_flush(struct uart_model *m)
{
	uint64_t now;

	if (m->host->output_fd < 0) {
		/* No console: output is discarded by design, not worth a log line. */
		m->dropped += pending(m);
		m->head = m->tail = 0;
		return;
	}
	if (pending(m) && write_out(m, 0)) {
		m->stuck = false;
		m->busy_since_ns = now_ns();
	}
	if (pending(m) && m->stuck)
		drop_pending(m, "is stuck", 0);
	if (pending(m) && m->busy) {
		now = now_ns();
		if (now - m->busy_since_ns >= (uint64_t)m->stuck_ms * 1000000u) {
			m->stuck = true;
			drop_pending(m, "took nothing for too long", 0);
		}
	}
	set_busy(m, pending(m) > 0);
}

static void sink_put(void *ctx, uint8_t byte)
{
	struct uart_model *m = ctx;

	if (m->tail == sizeof(m->buf) && m->head > 0) {
		memmove(m->buf, m->buf + m->head, pending(m));
		m->tail -= m->head;
		m->head = 0;
	}
	if (m->tail == sizeof(m->buf)) {
		/* A guest that ignores THRE: bounded buffering, then loss. */
		note_drop(m, 1, "is too slow for a guest that ignores THRE", 0);
		return;
	}
	m->buf[m->tail++] = byte;
	if (pending(m) >= UART_MODEL_BATCH && !m->busy)
		uart_model_flush(m);
}

/* Moves input bytes into the receive FIFO while it has room (never more: the rest waits in the pipe). */
static void input_refill(struct uart_model *m)
{
	int fd = m->host->input_fd;
	uint8_t in[UART_FIFO_SIZE];
	unsigned room = uart_rx_room(&m->uart);
	ssize_t n;
	int ready;

	if (fd < 0 || m->input_eof || room == 0)
		return;
	ready = wait_fd(fd, POLLIN, 0);
	if (ready == 0)
		return;
	do {
		n = ready > 0 ? read(fd, in, room < sizeof(in) ? room : sizeof(in)) : 0;
	} while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0) {
		/* EOF or a failed pipe: no more input, and no poll spinning on POLLHUP. */
		m->input_eof = true;
		return;
	}
	m->input_bytes += (uint64_t)n;
	for (ssize_t i = 0; i < n; i++)
		(void)uart_receive(&m->uart, in[i]);
}

static int uart_model_init(void *state, struct device_host *host)
{
	struct uart_model *m = state;
	struct uart_sink sink = { .put = sink_put, .ctx = m };

	m->host = host;
	m->stuck_ms = UART_MODEL_STUCK_MS;
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
	/* A guest polling LSR while the console is busy: see whether it took more. */
	if (m->busy && !pio->write)
		uart_model_flush(m);
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
	/* The guest emptied the FIFO: more typed input may be waiting in the pipe. */
	if (!pio->write && m->uart.rx_count == 0)
		input_refill(m);
	update_irq(m);
}

static void uart_model_idle(void *state)
{
	struct uart_model *m = state;

	uart_model_flush(m);
	update_irq(m);
}

static unsigned uart_model_pollfds(void *state, struct pollfd *pfd, unsigned max)
{
	struct uart_model *m = state;
	unsigned n = 0;

	if (n < max && m->host->input_fd >= 0 && !m->input_eof && uart_rx_room(&m->uart) > 0)
		pfd[n++] = (struct pollfd){ .fd = m->host->input_fd, .events = POLLIN };
	if (n < max && m->busy && m->host->output_fd >= 0)
		pfd[n++] = (struct pollfd){ .fd = m->host->output_fd, .events = POLLOUT };
	return n;
}

static void uart_model_poll_events(void *state, const struct pollfd *pfd, unsigned n)
{
	struct uart_model *m = state;

	for (unsigned i = 0; i < n; i++) {
		if (pfd[i].fd == m->host->input_fd && pfd[i].revents)
			input_refill(m);
	}
	/* Output that drained, or the stuck deadline passing (a timeout gives revents 0). */
	if (m->busy)
		uart_model_flush(m);
	update_irq(m);
}

/* While busy, the loop must wake by the stuck deadline even if nothing happens. */
static int uart_model_timeout_ms(void *state)
{
	const struct uart_model *m = state;
	uint64_t elapsed_ms;

	if (!m->busy)
		return -1;
	elapsed_ms = (now_ns() - m->busy_since_ns) / 1000000u;
	return elapsed_ms >= m->stuck_ms ? 1 : (int)(m->stuck_ms - elapsed_ms) + 1;
}

/*
 * The VM ends: give a slow console a bounded time to take the rest. A
 * console that takes nothing for stuck_ms is given up on, as while running.
 */
static void uart_model_stop(void *state)
{
	struct uart_model *m = state;
	uint64_t deadline = now_ns() + UART_MODEL_STOP_FLUSH_MS * 1000000ull;
	uint64_t last = now_ns();

	while (pending(m) && m->host->output_fd >= 0 && !m->stuck) {
		uint64_t now = now_ns(), until = last + (uint64_t)m->stuck_ms * 1000000u;

		if (until > deadline)
			until = deadline;
		if (now >= until)
			break;
		if (write_out(m, (int)((until - now) / 1000000u) + 1))
			last = now_ns();
	}
	uart_model_flush(m);
}

static unsigned uart_model_sandbox_rules(void *state, struct sandbox_fd_rule *out, unsigned max)
{
	const struct uart_model *m = state;
	unsigned n = 0;

	if (n < max && m->host->input_fd >= 0)
		out[n++] = (struct sandbox_fd_rule){ SYS_read, m->host->input_fd, "typed input (its input_fd pipe)" };
	if (n < max && m->host->irq_fd >= 0)
		out[n++] = (struct sandbox_fd_rule){ SYS_write, m->host->irq_fd, "IRQ 4 edges (its irq_fd)" };
	return n;
}

static void uart_model_dump(void *state)
{
	const struct uart_model *m = state;
	const struct uart *u = &m->uart;

	device_log(m->host,
		   "state dump: uart ier %#x lcr %#x mcr %#x thri %s%s rx fifo %u; line %s; %zu bytes waiting%s%s; "
		   "written %llu dropped %llu edges %llu input %llu",
		   u->ier, u->lcr, u->mcr, u->thri_pending ? "pending" : "clear", u->tx_busy ? " tx busy" : "",
		   u->rx_count, m->irq_line ? "high" : "low", m->tail - m->head, m->busy ? ", output fd busy" : "",
		   m->stuck ? ", stuck" : "", (unsigned long long)m->written, (unsigned long long)m->dropped,
		   (unsigned long long)m->irqs, (unsigned long long)m->input_bytes);
}

const struct device_model uart_device_model = {
	.name = "uart",
	.uses = DEVICE_USES_CONSOLE,
	.state_size = sizeof(struct uart_model),
	.init = uart_model_init,
	.handle = uart_model_handle,
	.idle = uart_model_idle,
	.pollfds = uart_model_pollfds,
	.poll_events = uart_model_poll_events,
	.timeout_ms = uart_model_timeout_ms,
	.stop = uart_model_stop,
	.sandbox_rules = uart_model_sandbox_rules,
	.dump = uart_model_dump,
};
