/* SPDX-License-Identifier: MIT */
#include "device-worker/models/uart_model.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/platform.h"

/*
 * Room in the out ring. The monitor's out_head is read once and checked: a
 * count the monitor could not have published (behind what it already had
 * room for, or ahead of what we wrote) is "no room", logged once.
 */
static uint32_t out_room(struct uart_model *m)
{
	uint32_t head = console_ring_load(&m->ring->out_head), used;

	if (!console_ring_pending(head, m->out_tail, CONSOLE_OUT_SIZE, &used)) {
		if (!m->bad_ring_logged)
			device_log(m->host, "console ring: output index %u impossible against %u; output waits", head,
				   m->out_tail);
		m->bad_ring_logged = true;
		return 0;
	}
	return CONSOLE_OUT_SIZE - used;
}

/* Writes the kick eventfd: the monitor has new output, or room in the in ring. */
static void kick_monitor(struct uart_model *m)
{
	const uint64_t one = 1;

	if (m->host->console_kick_fd < 0)
		return;
	/* Fails only when the counter would overflow: a wake-up is pending anyway. */
	if (write(m->host->console_kick_fd, &one, sizeof(one)) == (ssize_t)sizeof(one))
		m->kicks++;
}

/*
 * Busy while the out ring cannot take a FIFO load. Going busy sets
 * out_blocked and then looks at the room again (the Dekker pair of
 * proto/console_ring.h), so the monitor's wake-up cannot be missed.
 */
static void update_busy(struct uart_model *m)
{
	bool busy;

	if (!m->ring)
		return;
	busy = out_room(m) < UART_FIFO_SIZE;
	if (busy && !m->uart.tx_busy) {
		console_ring_store(&m->ring->out_blocked, 1);
		kick_monitor(m); /* it has a full ring to write out */
		busy = out_room(m) < UART_FIFO_SIZE;
	}
	if (!busy)
		console_ring_store(&m->ring->out_blocked, 0);
	uart_set_tx_busy(&m->uart, busy);
}

/* Copies the working state into the device-state region (the journal covers it). */
static void save(struct uart_model *m)
{
	struct uart_persist *p = m->host->persist;

	if (!p)
		return;
	uart_save(&m->uart, &p->regs);
	p->out_tail = m->out_tail;
	p->in_head = m->in_head;
}

/* Shows the monitor the committed counts. */
static void publish(struct uart_model *m)
{
	if (!m->ring)
		return;
	console_ring_store(&m->ring->out_tail, m->out_tail);
	console_ring_store(&m->ring->in_head, m->in_head);
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

static void sink_put(void *ctx, uint8_t byte)
{
	struct uart_model *m = ctx;

	if (!m->ring) {
		m->dropped++; /* no console: discarded by design, not worth a log line */
		return;
	}
	if (out_room(m) == 0) {
		/* A guest that ignores THRE and overruns the whole ring. */
		m->dropped++;
		if (!m->drop_logged)
			device_log(m->host, "console output ring full: the guest ignores THRE; dropping output (counted)");
		m->drop_logged = true;
		update_busy(m);
		return;
	}
	m->ring->out[m->out_tail & (CONSOLE_OUT_SIZE - 1)] = byte;
	m->out_tail++;
	update_busy(m);
}

/* Moves typed bytes from the in ring into the receive FIFO while it has room (never more). */
static void input_refill(struct uart_model *m)
{
	unsigned room = uart_rx_room(&m->uart);
	uint32_t tail, avail;

	if (!m->ring || room == 0)
		return;
	/* Trust boundary: in_tail is the monitor's; checked against the ring's size. */
	tail = console_ring_load(&m->ring->in_tail);
	if (!console_ring_pending(m->in_head, tail, CONSOLE_IN_SIZE, &avail)) {
		if (!m->bad_ring_logged)
			device_log(m->host, "console ring: input index %u impossible against %u; input ignored", tail,
				   m->in_head);
		m->bad_ring_logged = true;
		return;
	}
	for (; avail > 0 && room > 0; avail--, room--) {
		(void)uart_receive(&m->uart, m->ring->in[m->in_head & (CONSOLE_IN_SIZE - 1)]);
		m->in_head++;
		m->input_bytes++;
	}
}

/*
 * Makes each count possible against the monitor's side of its ring: one
 * that is not (a predecessor's scribble) becomes the monitor's. True when
 * both already were.
 */
static bool settle_counts(struct uart_model *m)
{
	uint32_t out_head = console_ring_load(&m->ring->out_head), in_tail = console_ring_load(&m->ring->in_tail);
	uint32_t pending;
	bool possible = true;

	if (!console_ring_pending(out_head, m->out_tail, CONSOLE_OUT_SIZE, &pending)) {
		m->out_tail = out_head;
		possible = false;
	}
	if (!console_ring_pending(m->in_head, in_tail, CONSOLE_IN_SIZE, &pending)) {
		m->in_head = in_tail;
		possible = false;
	}
	return possible;
}

/* Trust boundary: the counts the monitor last saw, published by a predecessor (maybe compromised). */
static void take_published_counts(struct uart_model *m)
{
	m->out_tail = console_ring_load(&m->ring->out_tail);
	m->in_head = console_ring_load(&m->ring->in_head);
	(void)settle_counts(m);
}

/*
 * A predecessor's state (persist_valid passed): its registers, and its
 * counts if they are possible against the rings' other ends. Counts that
 * are not (a scribbled region) restart from the published ones.
 */
static void resume(struct uart_model *m, const struct uart_persist *p)
{
	uart_load(&m->uart, &p->regs);
	m->out_tail = p->out_tail;
	m->in_head = p->in_head;
	if (m->ring && !settle_counts(m)) {
		device_log(m->host, "console counts in the state region are impossible: taking the published ones");
		take_published_counts(m);
	}
}

static bool uart_model_persist_valid(const void *data)
{
	const struct uart_persist *p = data;

	return uart_regs_valid(&p->regs);
}

static int uart_model_init(void *state, struct device_host *host)
{
	struct uart_model *m = state;
	struct uart_sink sink = { .put = sink_put, .ctx = m };

	m->host = host;
	m->ring = host->console;
	uart_init(&m->uart, &sink);
	if (host->persist && !host->persist_fresh)
		resume(m, host->persist);
	else if (m->ring)
		take_published_counts(m); /* the chip's reset state, at the counts the monitor last saw (0 at first) */
	update_busy(m);
	save(m);
	publish(m);
	m->kicked_out_tail = m->out_tail;
	m->kicked_in_head = m->in_head;
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
	/* A guest polling LSR while the console is busy: see whether the monitor made room. */
	if (m->uart.tx_busy && !pio->write)
		update_busy(m);
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
	/* The guest emptied the FIFO: more typed input may be waiting. */
	if (!pio->write && m->uart.rx_count == 0)
		input_refill(m);
	save(m);
	update_irq(m);
}

/*
 * Between records (the doorbell rang, or the loop is about to sleep):
 * typed input that arrived, room the monitor freed. Then the monitor hears
 * of what was published since its last kick.
 */
static void uart_model_idle(void *state)
{
	struct uart_model *m = state;

	input_refill(m);
	update_busy(m);
	save(m);
	update_irq(m);
	m->kick_due = true; /* for uart_model_committed, once this change is committed */
}

/*
 * After each change committed (device_model.committed): publish; and after
 * idle's, kick the monitor when it has something new. So a guest printing
 * a line costs one wake-up of the monitor, not one per byte.
 */
static void uart_model_committed(void *state)
{
	struct uart_model *m = state;

	publish(m);
	if (!m->kick_due || !m->ring)
		return;
	m->kick_due = false;
	if (m->out_tail != m->kicked_out_tail || m->in_head != m->kicked_in_head) {
		m->kicked_out_tail = m->out_tail;
		m->kicked_in_head = m->in_head;
		kick_monitor(m);
	}
}

static unsigned uart_model_sandbox_rules(void *state, struct sandbox_fd_rule *out, unsigned max)
{
	const struct uart_model *m = state;
	unsigned n = 0;

	if (n < max && m->host->console_kick_fd >= 0)
		out[n++] = (struct sandbox_fd_rule){ SYS_write, m->host->console_kick_fd,
						     "waking the monitor for console output (its console_kick_fd)" };
	if (n < max && m->host->irq_fd >= 0)
		out[n++] = (struct sandbox_fd_rule){ SYS_write, m->host->irq_fd, "IRQ 4 edges (its irq_fd)" };
	return n;
}

static void uart_model_dump(void *state)
{
	const struct uart_model *m = state;
	const struct uart *u = &m->uart;

	device_log(m->host,
		   "state dump: uart ier %#x lcr %#x mcr %#x thri %s%s rx fifo %u; line %s; console out %u in %u%s; "
		   "dropped %llu edges %llu kicks %llu input %llu",
		   u->ier, u->lcr, u->mcr, u->thri_pending ? "pending" : "clear", u->tx_busy ? " tx busy" : "",
		   u->rx_count, m->irq_line ? "high" : "low", m->out_tail, m->in_head, u->tx_busy ? ", ring full" : "",
		   (unsigned long long)m->dropped, (unsigned long long)m->irqs, (unsigned long long)m->kicks,
		   (unsigned long long)m->input_bytes);
}

const struct device_model uart_device_model = {
	.name = "uart",
	.uses = DEVICE_USES_CONSOLE | DEVICE_USES_PERSIST,
	.state_size = sizeof(struct uart_model),
	.init = uart_model_init,
	.handle = uart_model_handle,
	.idle = uart_model_idle,
	.committed = uart_model_committed,
	.dump = uart_model_dump,
	.persist_size = sizeof(struct uart_persist),
	.persist_valid = uart_model_persist_valid,
	.sandbox_rules = uart_model_sandbox_rules,
};
