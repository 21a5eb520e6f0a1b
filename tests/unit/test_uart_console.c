/* SPDX-License-Identifier: MIT */
/*
 * The uart model as a console (device-worker/models/uart_model.c): IRQ 4 edges on
 * an irqfd, typed input from a pipe with FIFO back-pressure, output
 * back-pressure through LSR.THRE and the stuck-console fallback.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "common/platform.h"
#include "device-worker/models/uart.h"
#include "device-worker/models/uart_model.h"

struct fixture {
	struct device_host host;
	struct uart_model m;
	int out_r, out_w; /* console output pipe */
	int in_r, in_w;   /* typed input pipe */
	int irq;          /* eventfd standing in for the KVM irqfd */
};

static struct fixture *fx_new(void)
{
	static struct fixture f; /* uart_model holds a 64 KiB buffer: not on the stack */
	int p[2], q[2];

	memset(&f, 0, sizeof(f));
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(q, O_CLOEXEC | O_NONBLOCK), 0);
	f.out_r = p[0];
	f.out_w = p[1];
	f.in_r = q[0];
	f.in_w = q[1];
	f.irq = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	cr_assert_geq(f.irq, 0);
	device_host_init(&f.host, "test-uart", -1, STDERR_FILENO);
	f.host.output_fd = f.out_w;
	f.host.input_fd = f.in_r;
	f.host.irq_fd = f.irq;
	cr_assert_eq(uart_device_model.init(&f.m, &f.host), 0);
	return &f;
}

static void fx_free(struct fixture *f)
{
	close(f->out_r);
	close(f->out_w);
	close(f->in_r);
	close(f->in_w);
	close(f->irq);
}

/* Edges raised since the last call (the eventfd counter, reset by the read). */
static uint64_t edges(struct fixture *f)
{
	uint64_t n = 0;

	if (read(f->irq, &n, sizeof(n)) != (ssize_t)sizeof(n))
		return 0;
	return n;
}

static uint8_t io(struct fixture *f, unsigned reg, bool write, uint8_t value)
{
	struct vm_exit e;
	struct vm_reply r;

	memset(&e, 0, sizeof(e));
	memset(&r, 0, sizeof(r));
	e.kind = VM_EXIT_PIO;
	e.u.pio.port = (uint16_t)(COM1_PORT_BASE + reg);
	e.u.pio.write = write;
	e.u.pio.len = 1;
	e.u.pio.data[0] = value;
	uart_device_model.handle(&f->m, &e, &r);
	return r.data[0];
}

/* What the worker loop does when poll reports events on the model's fds. */
static void loop_events(struct fixture *f)
{
	struct pollfd pfd[4];
	unsigned n = uart_device_model.pollfds(&f->m, pfd, 4);

	cr_assert_geq(poll(pfd, n, 0), 0);
	uart_device_model.poll_events(&f->m, pfd, n);
}

static void fill_pipe(int fd)
{
	static char junk[65536];
	int fl = fcntl(fd, F_GETFL);

	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	while (write(fd, junk, sizeof(junk)) > 0)
		;
	fcntl(fd, F_SETFL, fl);
}

static size_t drain_pipe(int fd, uint8_t *out, size_t cap)
{
	size_t got = 0;
	int fl = fcntl(fd, F_GETFL);
	ssize_t n;

	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	for (;;) {
		static uint8_t scratch[65536];

		n = read(fd, out ? out + got : scratch, out ? cap - got : sizeof(scratch));
		if (n <= 0)
			break;
		if (out)
			got += (size_t)n;
		if (out && got == cap)
			break;
	}
	fcntl(fd, F_SETFL, fl);
	return got;
}

Test(uart_irq, thri_edges_gated_by_out2)
{
	struct fixture *f = fx_new();

	io(f, UART_IER, true, UART_IER_THRI);
	cr_assert_eq(edges(f), 0, "OUT2 clear: the IRQ line is not driven");
	io(f, UART_MCR, true, UART_MCR_OUT2 | UART_MCR_DTR | UART_MCR_RTS);
	cr_assert_eq(edges(f), 1, "OUT2 set with THRE pending: one edge");
	io(f, UART_LSR, false, 0);
	cr_assert_eq(edges(f), 0, "a level that stays high gives no second edge");
	cr_assert_eq(io(f, UART_IIR, false, 0) & 0x0f, UART_IIR_THRI);
	cr_assert_eq(edges(f), 0, "reading IIR lowers the line");
	io(f, UART_THR, true, 'a');
	cr_assert_eq(edges(f), 1, "THR empties again: a new edge");
	io(f, UART_THR, true, 'b');
	cr_assert_eq(edges(f), 0, "still pending: no edge");
	io(f, UART_IER, true, 0);
	io(f, UART_IER, true, UART_IER_THRI);
	cr_assert_eq(edges(f), 1, "re-enabling THRI with THR empty re-arms it");
	cr_assert_eq(f->m.irqs, 3);
	fx_free(f);
}

/* serial8250_do_startup's THRE test: two THRI enables must both show in IIR (else UART_BUG_THRE). */
Test(uart_irq, linux_thre_probe_sees_no_bug)
{
	struct fixture *f = fx_new();

	io(f, UART_IER, true, UART_IER_THRI);
	cr_assert_eq(io(f, UART_IIR, false, 0) & 0x0f, UART_IIR_THRI);
	io(f, UART_IER, true, 0);
	io(f, UART_IER, true, UART_IER_THRI);
	cr_assert_eq(io(f, UART_IIR, false, 0) & 0x0f, UART_IIR_THRI, "IIR shows THRI again");
	io(f, UART_IER, true, 0);
	cr_assert_eq(io(f, UART_IIR, false, 0) & 0x0f, UART_IIR_NO_INT);
	fx_free(f);
}

Test(uart_irq, rdi_edge_and_fifo_backpressure_on_input)
{
	struct fixture *f = fx_new();
	uint8_t typed[40], got[40];
	unsigned n = 0;
	struct pollfd pfd[4];

	for (unsigned i = 0; i < sizeof(typed); i++)
		typed[i] = (uint8_t)('A' + i);
	io(f, UART_FCR, true, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR);
	io(f, UART_MCR, true, UART_MCR_OUT2);
	io(f, UART_IER, true, UART_IER_RDI);
	cr_assert_eq(edges(f), 0);
	cr_assert_eq(write(f->in_w, typed, sizeof(typed)), (ssize_t)sizeof(typed));
	loop_events(f);
	cr_assert_eq(f->m.input_bytes, UART_FIFO_SIZE, "only what the FIFO takes is read");
	cr_assert_eq(f->m.uart.rx_count, UART_FIFO_SIZE);
	cr_assert_eq(edges(f), 1, "data arrived: one RDI edge");
	cr_assert_eq(uart_device_model.pollfds(&f->m, pfd, 4), 0, "full FIFO: the input pipe is not polled");
	loop_events(f);
	cr_assert_eq(f->m.input_bytes, UART_FIFO_SIZE, "the rest waits in the pipe");
	cr_assert_eq(io(f, UART_IIR, false, 0) & 0x0f, UART_IIR_RDI);
	while (n < sizeof(got) && (io(f, UART_LSR, false, 0) & UART_LSR_DR))
		got[n++] = io(f, UART_RBR, false, 0);
	cr_assert_eq(n, sizeof(typed), "every typed byte arrives (%u)", n);
	cr_assert_arr_eq(got, typed, sizeof(typed), "in order");
	cr_assert_eq(f->m.uart.rx_overruns, 0);
	cr_assert_eq(io(f, UART_IIR, false, 0) & 0x0f, UART_IIR_NO_INT);
	cr_assert_eq(write(f->in_w, "z", 1), 1);
	loop_events(f);
	cr_assert_eq(edges(f), 1, "new data after the line went low: a new edge");
	cr_assert_eq(io(f, UART_RBR, false, 0), 'z');
	fx_free(f);
}

Test(uart_irq, input_eof_stops_polling)
{
	struct fixture *f = fx_new();
	struct pollfd pfd[4];

	close(f->in_w);
	f->in_w = -1;
	loop_events(f);
	cr_assert(f->m.input_eof);
	cr_assert_eq(uart_device_model.pollfds(&f->m, pfd, 4), 0);
	fx_free(f);
}

Test(uart_backpressure, thre_low_while_console_full_and_nothing_lost)
{
	struct fixture *f = fx_new();
	static uint8_t got[1000];
	struct pollfd pfd[4];
	unsigned n;

	io(f, UART_MCR, true, UART_MCR_OUT2);
	fill_pipe(f->out_w);
	for (unsigned i = 0; i < 100; i++)
		io(f, UART_THR, true, (uint8_t)('0' + i % 10));
	uart_device_model.idle(&f->m);
	cr_assert(f->m.busy);
	cr_assert_eq(io(f, UART_LSR, false, 0) & (UART_LSR_THRE | UART_LSR_TEMT), 0, "transmitter busy");
	io(f, UART_IER, true, UART_IER_THRI);
	cr_assert_eq(io(f, UART_IIR, false, 0) & 0x0f, UART_IIR_NO_INT, "no THRE interrupt while busy");
	(void)edges(f);
	n = uart_device_model.pollfds(&f->m, pfd, 4);
	cr_assert_eq(n, 2, "the input pipe and the console");
	cr_assert_eq(pfd[1].fd, f->out_w);
	cr_assert_eq(pfd[1].events, POLLOUT);
	cr_assert_geq(uart_device_model.timeout_ms(&f->m), 0, "the loop wakes by the stuck deadline");

	/* The reader catches up: everything goes out, THRE comes back with an edge. */
	drain_pipe(f->out_r, NULL, 0);
	loop_events(f);
	cr_assert_not(f->m.busy);
	cr_assert_eq(edges(f), 1, "THRE interrupt when the console drained");
	cr_assert_eq(io(f, UART_IIR, false, 0) & 0x0f, UART_IIR_THRI);
	cr_assert_eq(io(f, UART_LSR, false, 0) & UART_LSR_THRE, UART_LSR_THRE);
	cr_assert_eq(drain_pipe(f->out_r, got, sizeof(got)), 100);
	for (unsigned i = 0; i < 100; i++)
		cr_assert_eq(got[i], '0' + i % 10, "byte %u", i);
	cr_assert_eq(f->m.dropped, 0);
	cr_assert_eq(uart_device_model.timeout_ms(&f->m), -1);
	fx_free(f);
}

Test(uart_backpressure, guest_ignoring_thre_is_buffered_then_dropped)
{
	struct fixture *f = fx_new();
	static uint8_t got[UART_MODEL_OUT_MAX + 4096];
	size_t total = 0;
	const unsigned extra = 10;

	fill_pipe(f->out_w);
	uart_device_model.idle(&f->m);
	for (unsigned i = 0; i < UART_MODEL_OUT_MAX + extra; i++)
		io(f, UART_THR, true, (uint8_t)(i * 7));
	cr_assert(f->m.busy);
	cr_assert_eq(f->m.dropped, extra, "only what exceeds the bound is lost (%llu)",
		     (unsigned long long)f->m.dropped);
	drain_pipe(f->out_r, NULL, 0);
	for (int round = 0; round < 1000 && total < UART_MODEL_OUT_MAX; round++) {
		loop_events(f);
		total += drain_pipe(f->out_r, got + total, sizeof(got) - total);
	}
	cr_assert_eq(total, UART_MODEL_OUT_MAX);
	for (size_t i = 0; i < total; i++)
		cr_assert_eq(got[i], (uint8_t)(i * 7), "byte %zu", i);
	fx_free(f);
}

Test(uart_backpressure, stuck_console_falls_back_to_dropping)
{
	struct fixture *f = fx_new();
	struct timespec ts = { 0, 80 * 1000 * 1000 };
	uint8_t c;

	f->m.stuck_ms = 50;
	fill_pipe(f->out_w);
	for (unsigned i = 0; i < 10; i++)
		io(f, UART_THR, true, 'x');
	uart_device_model.idle(&f->m);
	cr_assert(f->m.busy);
	cr_assert_eq(io(f, UART_LSR, false, 0) & UART_LSR_THRE, 0);
	nanosleep(&ts, NULL);
	/* The printk path polls LSR: past the deadline THRE comes back and the bytes are counted as lost. */
	cr_assert_eq(io(f, UART_LSR, false, 0) & UART_LSR_THRE, UART_LSR_THRE);
	cr_assert(f->m.stuck);
	cr_assert_eq(f->m.dropped, 10);
	io(f, UART_THR, true, 'y');
	uart_device_model.idle(&f->m);
	cr_assert_not(f->m.busy, "no more waiting while stuck");
	cr_assert_eq(f->m.dropped, 11);
	cr_assert_eq(io(f, UART_LSR, false, 0) & UART_LSR_THRE, UART_LSR_THRE);

	/* The console takes output again: back to lossless. */
	drain_pipe(f->out_r, NULL, 0);
	io(f, UART_THR, true, 'z');
	uart_device_model.idle(&f->m);
	cr_assert_not(f->m.stuck);
	cr_assert_eq(f->m.dropped, 11);
	cr_assert_eq(read(f->out_r, &c, 1), 1);
	cr_assert_eq(c, 'z');
	fx_free(f);
}

Test(uart_backpressure, stuck_deadline_reached_by_timeout_alone)
{
	struct fixture *f = fx_new();
	struct timespec ts = { 0, 30 * 1000 * 1000 };
	int t;

	f->m.stuck_ms = 20;
	io(f, UART_MCR, true, UART_MCR_OUT2);
	io(f, UART_IER, true, UART_IER_THRI);
	(void)io(f, UART_IIR, false, 0);
	fill_pipe(f->out_w);
	io(f, UART_THR, true, 'x');
	uart_device_model.idle(&f->m);
	(void)edges(f);
	t = uart_device_model.timeout_ms(&f->m);
	cr_assert(t >= 0 && t <= 21, "timeout %d ms", t);
	nanosleep(&ts, NULL);
	/* The worker loop's poll timed out: poll_events with nothing reported. */
	uart_device_model.poll_events(&f->m, NULL, 0);
	cr_assert(f->m.stuck);
	cr_assert_not(f->m.busy);
	cr_assert_eq(edges(f), 1, "an interrupt-driven guest gets its THRE interrupt back");
	fx_free(f);
}

Test(uart_backpressure, stop_waits_for_a_slow_reader)
{
	struct fixture *f = fx_new();
	static uint8_t got[200];
	size_t total;

	fill_pipe(f->out_w);
	for (unsigned i = 0; i < 200; i++)
		io(f, UART_THR, true, (uint8_t)i);
	uart_device_model.idle(&f->m);
	cr_assert(f->m.busy);
	drain_pipe(f->out_r, NULL, 0);
	uart_device_model.stop(&f->m);
	total = drain_pipe(f->out_r, got, sizeof(got));
	cr_assert_eq(total, 200);
	for (unsigned i = 0; i < 200; i++)
		cr_assert_eq(got[i], (uint8_t)i);
	fx_free(f);
}

Test(uart_backpressure, stop_gives_up_on_a_stuck_console)
{
	struct fixture *f = fx_new();
	struct timespec t0, t1;
	double ms;

	f->m.stuck_ms = 50;
	fill_pipe(f->out_w);
	for (unsigned i = 0; i < 20; i++)
		io(f, UART_THR, true, 'q');
	uart_device_model.idle(&f->m);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	uart_device_model.stop(&f->m);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	cr_assert_lt(ms, 1000.0, "stop waited %.0f ms", ms);
	cr_assert_eq(f->m.dropped, 20);
	fx_free(f);
}
