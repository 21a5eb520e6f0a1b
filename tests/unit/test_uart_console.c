/* SPDX-License-Identifier: MIT */
/*
 * The uart model as a console (device-worker/models/uart_model.c): IRQ 4
 * edges on an irqfd, typed input from the console rings with FIFO
 * back-pressure, output back-pressure through LSR.THRE when the out ring is
 * full, and a successor worker resuming from the device-state region with
 * no output byte written twice or lost and no typed byte lost or taken
 * twice. The monitor's end is tests/unit/console_peer.h.
 */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/platform.h"
#include "device-worker/models/uart.h"
#include "device-worker/models/uart_model.h"
#include "device-worker/persist.h"
#include "tests/unit/console_peer.h"

struct fixture {
	struct device_host host;
	struct uart_model m;
	struct console_peer console;
	struct persist_region *region; /* NULL: no device-state region */
	int irq;          /* eventfd standing in for the KVM irqfd */
};

static struct fixture fx;

/* Starts worker number restart of the uart (0: the first), on fx's rings and region. */
static void worker_start(uint32_t restart)
{
	const char *why = NULL;
	bool fresh = true;

	device_host_init(&fx.host, "test-uart", -1, STDERR_FILENO);
	fx.host.irq_fd = fx.irq;
	fx.host.console = fx.console.ring;
	fx.host.console_kick_fd = fx.console.kick;
	fx.host.restart = restart;
	if (fx.region) {
		cr_assert_eq(persist_open(fx.region, DEVICE_PERSIST_REGION_SIZE, "uart", sizeof(struct uart_persist),
					  restart, NULL, 0, &fresh, &why),
			     0);
		if (!fresh && !uart_device_model.persist_valid(fx.region->data)) {
			persist_reset(fx.region);
			fresh = true;
		}
		fx.host.persist = fx.region->data;
		fx.host.persist_fresh = fresh;
	}
	memset(&fx.m, 0, sizeof(fx.m));
	cr_assert_eq(uart_device_model.init(&fx.m, &fx.host), 0);
}

static void setup(void)
{
	memset(&fx, 0, sizeof(fx));
	console_peer_init(&fx.console);
	fx.irq = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	cr_assert_geq(fx.irq, 0);
	worker_start(0);
}

static void setup_persistent(void)
{
	memset(&fx, 0, sizeof(fx));
	console_peer_init(&fx.console);
	fx.irq = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	cr_assert_geq(fx.irq, 0);
	fx.region = aligned_alloc(4096, DEVICE_PERSIST_REGION_SIZE);
	cr_assert_not_null(fx.region);
	memset(fx.region, 0, DEVICE_PERSIST_REGION_SIZE);
	worker_start(0);
}

static void teardown(void)
{
	console_peer_fini(&fx.console);
	close(fx.irq);
	free(fx.region);
}

TestSuite(uart_irq, .init = setup, .fini = teardown);
TestSuite(uart_backpressure, .init = setup, .fini = teardown);
TestSuite(uart_resume, .init = setup_persistent, .fini = teardown);

/* Edges raised since the last call (the eventfd counter, reset by the read). */
static uint64_t edges(void)
{
	uint64_t n = 0;

	if (read(fx.irq, &n, sizeof(n)) != (ssize_t)sizeof(n))
		return 0;
	return n;
}

/* A one-byte access to COM1 register reg. */
static struct vm_exit com1_exit(unsigned reg, bool write, uint8_t value)
{
	struct vm_exit e;

	memset(&e, 0, sizeof(e));
	e.kind = VM_EXIT_PIO;
	e.u.pio.port = (uint16_t)(COM1_PORT_BASE + reg);
	e.u.pio.write = write;
	e.u.pio.len = 1;
	e.u.pio.data[0] = value;
	return e;
}

/* One register access, applied and committed as the worker loop does (without a journal). */
static uint8_t io(unsigned reg, bool write, uint8_t value)
{
	struct vm_exit e = com1_exit(reg, write, value);
	struct vm_reply r;

	memset(&r, 0, sizeof(r));
	uart_device_model.handle(&fx.m, &e, &r);
	uart_device_model.committed(&fx.m);
	return r.data[0];
}

/* The loop between records: idle, then its change commits. */
static void idle(void)
{
	uart_device_model.idle(&fx.m);
	uart_device_model.committed(&fx.m);
}

Test(uart_irq, thri_edges_gated_by_out2)
{
	io(UART_IER, true, UART_IER_THRI);
	cr_assert_eq(edges(), 0, "OUT2 clear: the IRQ line is not driven");
	io(UART_MCR, true, UART_MCR_OUT2 | UART_MCR_DTR | UART_MCR_RTS);
	cr_assert_eq(edges(), 1, "OUT2 set with THRE pending: one edge");
	io(UART_LSR, false, 0);
	cr_assert_eq(edges(), 0, "a level that stays high gives no second edge");
	cr_assert_eq(io(UART_IIR, false, 0) & 0x0f, UART_IIR_THRI);
	cr_assert_eq(edges(), 0, "reading IIR lowers the line");
	io(UART_THR, true, 'a');
	cr_assert_eq(edges(), 1, "THR empties again: a new edge");
	io(UART_THR, true, 'b');
	cr_assert_eq(edges(), 0, "still pending: no edge");
	io(UART_IER, true, 0);
	io(UART_IER, true, UART_IER_THRI);
	cr_assert_eq(edges(), 1, "re-enabling THRI with THR empty re-arms it");
	cr_assert_eq(fx.m.irqs, 3);
}

/* serial8250_do_startup's THRE test: two THRI enables must both show in IIR (else UART_BUG_THRE). */
Test(uart_irq, linux_thre_probe_sees_no_bug)
{
	io(UART_IER, true, UART_IER_THRI);
	cr_assert_eq(io(UART_IIR, false, 0) & 0x0f, UART_IIR_THRI);
	io(UART_IER, true, 0);
	io(UART_IER, true, UART_IER_THRI);
	cr_assert_eq(io(UART_IIR, false, 0) & 0x0f, UART_IIR_THRI, "IIR shows THRI again");
	io(UART_IER, true, 0);
	cr_assert_eq(io(UART_IIR, false, 0) & 0x0f, UART_IIR_NO_INT);
}

Test(uart_irq, rdi_edge_and_fifo_backpressure_on_input)
{
	uint8_t typed[40], got[40];
	unsigned n = 0;

	for (unsigned i = 0; i < sizeof(typed); i++)
		typed[i] = (uint8_t)('A' + i);
	io(UART_FCR, true, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR);
	io(UART_MCR, true, UART_MCR_OUT2);
	io(UART_IER, true, UART_IER_RDI);
	cr_assert_eq(edges(), 0);
	console_peer_type(&fx.console, typed, sizeof(typed));
	idle(); /* the monitor rang the doorbell */
	cr_assert_eq(fx.m.input_bytes, UART_FIFO_SIZE, "only what the FIFO takes is taken");
	cr_assert_eq(fx.m.uart.rx_count, UART_FIFO_SIZE);
	cr_assert_eq(fx.console.ring->in_head, UART_FIFO_SIZE, "and published");
	cr_assert_eq(console_peer_kicks(&fx.console), 1, "the monitor hears of the room it has");
	cr_assert_eq(edges(), 1, "data arrived: one RDI edge");
	idle();
	cr_assert_eq(fx.m.input_bytes, UART_FIFO_SIZE, "the rest waits in the ring");
	cr_assert_eq(io(UART_IIR, false, 0) & 0x0f, UART_IIR_RDI);
	while (n < sizeof(got) && (io(UART_LSR, false, 0) & UART_LSR_DR))
		got[n++] = io(UART_RBR, false, 0);
	cr_assert_eq(n, sizeof(typed), "every typed byte arrives (%u)", n);
	cr_assert_arr_eq(got, typed, sizeof(typed), "in order");
	cr_assert_eq(fx.m.uart.rx_overruns, 0);
	cr_assert_eq(io(UART_IIR, false, 0) & 0x0f, UART_IIR_NO_INT);
	console_peer_type(&fx.console, "z", 1);
	idle();
	cr_assert_eq(edges(), 1, "new data after the line went low: a new edge");
	cr_assert_eq(io(UART_RBR, false, 0), 'z');
}

Test(uart_irq, impossible_input_index_is_ignored)
{
	console_ring_store(&fx.console.ring->in_tail, CONSOLE_IN_SIZE + 5);
	idle();
	cr_assert_eq(fx.m.input_bytes, 0);
	cr_assert_eq(fx.m.uart.rx_count, 0);
	cr_assert(fx.m.bad_ring_logged);
}

Test(uart_backpressure, output_is_published_after_commit_and_kicked_once_per_idle)
{
	struct vm_exit e = com1_exit(UART_THR, true, 'h');
	struct vm_reply r;
	char buf[8];

	uart_device_model.handle(&fx.m, &e, &r);
	cr_assert_eq(console_peer_pending(&fx.console), 0, "not published before the record completes");
	uart_device_model.committed(&fx.m);
	cr_assert_eq(console_peer_pending(&fx.console), 1);
	io(UART_THR, true, 'i');
	cr_assert_eq(console_peer_kicks(&fx.console), 0, "no wake-up per byte");
	idle();
	cr_assert_eq(console_peer_kicks(&fx.console), 1, "one per pass of the loop");
	idle();
	cr_assert_eq(console_peer_kicks(&fx.console), 0, "and none when nothing is new");
	cr_assert_eq(console_peer_take(&fx.console, buf, sizeof(buf)), 2);
	cr_assert_arr_eq(buf, "hi", 2);
}

Test(uart_backpressure, thre_low_while_the_ring_is_full_and_nothing_lost)
{
	static uint8_t got[CONSOLE_OUT_SIZE];
	const unsigned fits = CONSOLE_OUT_SIZE - UART_FIFO_SIZE + 1; /* then less than a FIFO load is left */
	size_t n;

	io(UART_MCR, true, UART_MCR_OUT2);
	for (unsigned i = 0; i < fits; i++) {
		cr_assert_eq(io(UART_LSR, false, 0) & UART_LSR_THRE, UART_LSR_THRE, "room at byte %u", i);
		io(UART_THR, true, (uint8_t)(i * 7));
	}
	cr_assert(fx.m.uart.tx_busy);
	cr_assert_eq(fx.console.ring->out_blocked, 1, "the monitor is told it waits for room");
	cr_assert_geq(console_peer_kicks(&fx.console), 1, "and woken to make some");
	cr_assert_eq(io(UART_LSR, false, 0) & (UART_LSR_THRE | UART_LSR_TEMT), 0, "transmitter busy");
	io(UART_IER, true, UART_IER_THRI);
	cr_assert_eq(io(UART_IIR, false, 0) & 0x0f, UART_IIR_NO_INT, "no THRE interrupt while busy");
	(void)edges();

	/* The monitor writes some out and rings the doorbell: THRE comes back with an edge. */
	n = console_peer_take(&fx.console, got, 4096);
	cr_assert_eq(n, 4096);
	idle();
	cr_assert_not(fx.m.uart.tx_busy);
	cr_assert_eq(fx.console.ring->out_blocked, 0);
	cr_assert_eq(edges(), 1, "THRE interrupt when room came back");
	cr_assert_eq(io(UART_IIR, false, 0) & 0x0f, UART_IIR_THRI);
	n += console_peer_take(&fx.console, got + n, sizeof(got) - n);
	cr_assert_eq(n, fits);
	for (unsigned i = 0; i < fits; i++)
		cr_assert_eq(got[i], (uint8_t)(i * 7), "byte %u", i);
	cr_assert_eq(fx.m.dropped, 0);
}

Test(uart_backpressure, a_busy_line_sees_room_when_the_guest_polls_lsr)
{
	static uint8_t got[CONSOLE_OUT_SIZE];

	for (unsigned i = 0; i < CONSOLE_OUT_SIZE; i++)
		io(UART_THR, true, 'x');
	cr_assert(fx.m.uart.tx_busy);
	(void)console_peer_take(&fx.console, got, sizeof(got));
	/* Linux's printk polls LSR for THRE with interrupts off: no idle in between. */
	cr_assert_eq(io(UART_LSR, false, 0) & UART_LSR_THRE, UART_LSR_THRE);
	cr_assert_not(fx.m.uart.tx_busy);
}

Test(uart_backpressure, guest_ignoring_thre_overruns_the_ring_counted)
{
	static uint8_t got[CONSOLE_OUT_SIZE];
	const unsigned extra = 10;

	for (unsigned i = 0; i < CONSOLE_OUT_SIZE + extra; i++)
		io(UART_THR, true, (uint8_t)i);
	cr_assert_eq(fx.m.dropped, extra, "only what the ring cannot hold is lost (%llu)",
		     (unsigned long long)fx.m.dropped);
	cr_assert_eq(console_peer_take(&fx.console, got, sizeof(got)), CONSOLE_OUT_SIZE);
	for (unsigned i = 0; i < CONSOLE_OUT_SIZE; i++)
		cr_assert_eq(got[i], (uint8_t)i, "byte %u", i);
}

Test(uart_backpressure, an_impossible_monitor_index_stops_output_without_harm)
{
	console_ring_store(&fx.console.ring->out_head, 12345);
	io(UART_THR, true, 'x');
	cr_assert_eq(fx.m.dropped, 1);
	cr_assert(fx.m.bad_ring_logged);
	cr_assert(fx.m.uart.tx_busy, "no room: THR reads full");
}

Test(uart_backpressure, without_a_console_output_is_discarded)
{
	fx.host.console = NULL;
	fx.host.console_kick_fd = -1;
	memset(&fx.m, 0, sizeof(fx.m));
	cr_assert_eq(uart_device_model.init(&fx.m, &fx.host), 0);
	io(UART_THR, true, 'x');
	idle();
	cr_assert_eq(fx.m.dropped, 1);
	cr_assert_eq(io(UART_LSR, false, 0) & UART_LSR_THRE, UART_LSR_THRE);
}

/* ---- a successor worker resumes (persist.h) --------------------------------- */

/* A THR write under the journal, as worker_loop applies a record; commit=false: the worker dies before head moves. */
static void journaled_thr(uint8_t value, bool commit)
{
	struct vm_exit e = com1_exit(UART_THR, true, value);
	struct vm_reply r;

	memset(&r, 0, sizeof(r));
	persist_begin_local(fx.region, 0, sizeof(struct uart_persist)); /* stands in for the record's entry */
	uart_device_model.handle(&fx.m, &e, &r);
	if (!commit)
		return;
	persist_end(fx.region);
	uart_device_model.committed(&fx.m);
}

Test(uart_resume, registers_and_output_continue_with_no_byte_twice_or_lost)
{
	char buf[16];
	size_t n;

	io(UART_LCR, true, 0x03);
	io(UART_MCR, true, UART_MCR_OUT2 | UART_MCR_DTR);
	io(UART_IER, true, UART_IER_RDI);
	io(UART_SCR, true, 0x5a);
	journaled_thr('a', true);
	journaled_thr('b', true);
	journaled_thr('c', false); /* killed while applying it */
	cr_assert_eq(console_peer_pending(&fx.console), 2, "the monitor never saw 'c'");

	worker_start(1);
	cr_assert_eq(fx.m.uart.lcr, 0x03);
	cr_assert_eq(fx.m.uart.mcr, UART_MCR_OUT2 | UART_MCR_DTR);
	cr_assert_eq(fx.m.uart.ier, UART_IER_RDI);
	cr_assert_eq(fx.m.uart.scr, 0x5a);
	cr_assert_eq(fx.m.out_tail, 2, "the record that did not complete is undone");
	/* The vCPU's record is still at head: the successor applies it again. */
	journaled_thr('c', true);
	journaled_thr('d', true);
	n = console_peer_take(&fx.console, buf, sizeof(buf));
	cr_assert_eq(n, 4);
	cr_assert_arr_eq(buf, "abcd", 4, "each byte once, in order");
}

Test(uart_resume, typed_input_is_taken_once_across_a_death)
{
	uint8_t got[8];
	unsigned n = 0;

	io(UART_FCR, true, UART_FCR_ENABLE_FIFO);
	console_peer_type(&fx.console, "ls\r", 3);
	/* idle takes the input into the FIFO under a local entry, and the worker dies before it closes. */
	persist_begin_local(fx.region, 0, sizeof(struct uart_persist));
	uart_device_model.idle(&fx.m);
	cr_assert_eq(fx.m.uart.rx_count, 3);
	cr_assert_eq(fx.console.ring->in_head, 0, "not published: the monitor keeps the bytes");

	worker_start(1);
	cr_assert_eq(fx.m.uart.rx_count, 0, "undone");
	idle();
	cr_assert_eq(fx.m.uart.rx_count, 3, "taken again, once");
	while (n < sizeof(got) && (io(UART_LSR, false, 0) & UART_LSR_DR))
		got[n++] = io(UART_RBR, false, 0);
	cr_assert_eq(n, 3);
	cr_assert_arr_eq(got, "ls\r", 3);

	/* Bytes already in the FIFO when a worker dies are the successor's too. */
	console_peer_type(&fx.console, "q", 1);
	idle();
	worker_start(2);
	cr_assert_eq(io(UART_RBR, false, 0), 'q');
	cr_assert_eq(fx.console.ring->in_head, 4);
}

Test(uart_resume, a_scribbled_region_restarts_at_the_published_counts)
{
	char buf[8];

	io(UART_THR, true, 'o');
	io(UART_THR, true, 'k');
	memset(fx.region->data, 0xff, sizeof(struct uart_persist)); /* a compromised worker's parting gift */
	worker_start(1);
	cr_assert_eq(fx.m.uart.ier, 0, "reset state");
	cr_assert_eq(fx.m.out_tail, 2, "at the count the monitor saw");
	io(UART_THR, true, '!');
	cr_assert_eq(console_peer_take(&fx.console, buf, sizeof(buf)), 3);
	cr_assert_arr_eq(buf, "ok!", 3);
}

Test(uart_resume, impossible_counts_in_a_valid_region_are_not_trusted)
{
	struct uart_persist *p = (struct uart_persist *)fx.region->data;

	io(UART_THR, true, 'x');
	p->out_tail = 0x80000000u; /* registers fine, count impossible against the monitor's head */
	worker_start(1);
	cr_assert_eq(fx.m.out_tail, 1, "the published count");
}

Test(uart_resume, regs_check_refuses_what_a_16550_cannot_hold)
{
	struct uart_regs r;

	uart_save(&fx.m.uart, &r);
	cr_assert(uart_regs_valid(&r));
	r.thri_pending = 2;
	cr_assert_not(uart_regs_valid(&r), "a bool that is neither 0 nor 1");
	uart_save(&fx.m.uart, &r);
	r.rx_head = UART_FIFO_SIZE;
	cr_assert_not(uart_regs_valid(&r));
	uart_save(&fx.m.uart, &r);
	r.rx_count = 2; /* FIFOs off: one byte at most */
	cr_assert_not(uart_regs_valid(&r));
	uart_save(&fx.m.uart, &r);
	r.ier = 0x10;
	cr_assert_not(uart_regs_valid(&r));
}
