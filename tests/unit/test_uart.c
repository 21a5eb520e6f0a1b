/* SPDX-License-Identifier: MIT */
/* 16550A register semantics (device-worker/models/uart.c) and the uart model's output batching. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "common/platform.h"
#include "device-worker/models/uart.h"
#include "device-worker/models/uart_model.h"
#include "tests/unit/console_peer.h"

struct capture {
	uint8_t bytes[256];
	size_t len;
};

static void capture_put(void *ctx, uint8_t byte)
{
	struct capture *c = ctx;

	if (c->len < sizeof(c->bytes))
		c->bytes[c->len++] = byte;
}

static void setup(struct uart *u, struct capture *c)
{
	struct uart_sink sink = { .put = capture_put, .ctx = c };

	memset(c, 0, sizeof(*c));
	uart_init(u, &sink);
}

Test(uart, reset_state)
{
	struct uart u;
	struct capture c;

	setup(&u, &c);
	cr_assert_eq(uart_read(&u, UART_IER), 0);
	cr_assert_eq(uart_read(&u, UART_IIR), UART_IIR_NO_INT);
	cr_assert_eq(uart_read(&u, UART_LCR), 0);
	cr_assert_eq(uart_read(&u, UART_MCR), 0);
	cr_assert_eq(uart_read(&u, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
	cr_assert_eq(uart_read(&u, UART_MSR), UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS);
	cr_assert_eq(uart_read(&u, UART_SCR), 0);
	cr_assert_eq(uart_read(&u, UART_RBR), 0, "empty RBR reads 0");
	cr_assert_not(uart_irq_pending(&u));
}

Test(uart, scratch_register)
{
	struct uart u;
	struct capture c;

	setup(&u, &c);
	for (unsigned v = 0; v < 256; v += 0x33) {
		uart_write(&u, UART_SCR, (uint8_t)v);
		cr_assert_eq(uart_read(&u, UART_SCR), v);
	}
	cr_assert_eq(c.len, 0);
}

Test(uart, dlab_selects_divisor_latch)
{
	struct uart u;
	struct capture c;

	setup(&u, &c);
	uart_write(&u, UART_LCR, UART_LCR_DLAB | 0x03);
	cr_assert_eq(uart_read(&u, UART_DLL), UART_RESET_DIVISOR);
	cr_assert_eq(uart_read(&u, UART_DLM), 0);
	uart_write(&u, UART_DLL, 0x01);
	uart_write(&u, UART_DLM, 0x02);
	cr_assert_eq(uart_read(&u, UART_DLL), 0x01);
	cr_assert_eq(uart_read(&u, UART_DLM), 0x02);
	cr_assert_eq(c.len, 0, "a DLL write is not a THR write");
	cr_assert_eq(uart_read(&u, UART_LCR), UART_LCR_DLAB | 0x03);

	uart_write(&u, UART_LCR, 0x03);
	cr_assert_eq(uart_read(&u, UART_IER), 0, "DLM write did not reach IER");
	uart_write(&u, UART_IER, 0x05);
	cr_assert_eq(uart_read(&u, UART_IER), 0x05);
	uart_write(&u, UART_THR, 'x');
	cr_assert_eq(c.len, 1);

	uart_write(&u, UART_LCR, UART_LCR_DLAB);
	cr_assert_eq(uart_read(&u, UART_DLL), 0x01, "latch kept across DLAB toggles");
	cr_assert_eq(uart_read(&u, UART_DLM), 0x02);
}

Test(uart, ier_keeps_low_nibble)
{
	struct uart u;
	struct capture c;

	setup(&u, &c);
	uart_write(&u, UART_IER, 0xff);
	cr_assert_eq(uart_read(&u, UART_IER), 0x0f);
}

Test(uart, output_goes_to_sink_in_order)
{
	struct uart u;
	struct capture c;
	const char *msg = "Hello, 16550A!\r\n";

	setup(&u, &c);
	for (const char *p = msg; *p; p++) {
		uart_write(&u, UART_THR, (uint8_t)*p);
		cr_assert_eq(uart_read(&u, UART_LSR) & (UART_LSR_THRE | UART_LSR_TEMT),
			     UART_LSR_THRE | UART_LSR_TEMT);
	}
	cr_assert_eq(c.len, strlen(msg));
	cr_assert_arr_eq(c.bytes, msg, strlen(msg));
	cr_assert_eq(u.tx_bytes, strlen(msg));
}

Test(uart, lsr_and_msr_writes_ignored)
{
	struct uart u;
	struct capture c;

	setup(&u, &c);
	uart_write(&u, UART_LSR, 0xff);
	uart_write(&u, UART_MSR, 0x00);
	cr_assert_eq(uart_read(&u, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
	cr_assert_eq(uart_read(&u, UART_MSR), 0xb0);
}

Test(uart, fcr_sets_iir_fifo_bits)
{
	struct uart u;
	struct capture c;

	setup(&u, &c);
	cr_assert_eq(uart_read(&u, UART_IIR) & 0xc0, 0);
	uart_write(&u, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR | UART_FCR_CLEAR_XMIT | 0xc0);
	cr_assert_eq(uart_read(&u, UART_IIR), UART_IIR_FIFO_ENABLED | UART_IIR_NO_INT);
	/* Trigger bits without the enable bit do not enable FIFOs. */
	uart_write(&u, UART_FCR, 0xc0);
	cr_assert_eq(uart_read(&u, UART_IIR), UART_IIR_NO_INT);
}

Test(uart, loopback_routes_thr_to_rbr)
{
	struct uart u;
	struct capture c;

	setup(&u, &c);
	uart_write(&u, UART_MCR, UART_MCR_LOOP);
	cr_assert_eq(uart_read(&u, UART_MCR), UART_MCR_LOOP);
	cr_assert_eq(uart_read(&u, UART_LSR) & UART_LSR_DR, 0);
	uart_write(&u, UART_THR, 0xa5);
	cr_assert_eq(c.len, 0, "loopback output never leaves the chip");
	cr_assert_eq(uart_read(&u, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT | UART_LSR_DR);
	cr_assert_eq(uart_read(&u, UART_RBR), 0xa5);
	cr_assert_eq(uart_read(&u, UART_LSR) & UART_LSR_DR, 0, "reading RBR clears DR");

	uart_write(&u, UART_MCR, 0);
	uart_write(&u, UART_THR, 'z');
	cr_assert_eq(c.len, 1);
	cr_assert_eq(c.bytes[0], 'z');
	cr_assert_eq(uart_read(&u, UART_LSR) & UART_LSR_DR, 0);
}

Test(uart, loopback_fifo_order_and_overrun)
{
	struct uart u;
	struct capture c;

	setup(&u, &c);
	uart_write(&u, UART_FCR, UART_FCR_ENABLE_FIFO);
	uart_write(&u, UART_MCR, UART_MCR_LOOP);
	for (unsigned i = 0; i < UART_FIFO_SIZE + 1; i++)
		uart_write(&u, UART_THR, (uint8_t)(0x40 + i));
	cr_assert_eq(uart_read(&u, UART_LSR) & (UART_LSR_OE | UART_LSR_DR), UART_LSR_OE | UART_LSR_DR);
	cr_assert_eq(uart_read(&u, UART_LSR) & UART_LSR_OE, 0, "reading LSR clears OE");
	for (unsigned i = 0; i < UART_FIFO_SIZE; i++)
		cr_assert_eq(uart_read(&u, UART_RBR), 0x40 + i, "FIFO keeps the first 16 bytes");
	cr_assert_eq(uart_read(&u, UART_LSR) & UART_LSR_DR, 0);
	cr_assert_eq(u.rx_overruns, 1);
}

Test(uart, loopback_without_fifo_overwrites_rbr)
{
	struct uart u;
	struct capture c;

	setup(&u, &c);
	uart_write(&u, UART_MCR, UART_MCR_LOOP);
	uart_write(&u, UART_THR, 1);
	uart_write(&u, UART_THR, 2);
	cr_assert_eq(uart_read(&u, UART_LSR) & (UART_LSR_OE | UART_LSR_DR), UART_LSR_OE | UART_LSR_DR);
	cr_assert_eq(uart_read(&u, UART_RBR), 2);
	cr_assert_eq(uart_read(&u, UART_LSR) & UART_LSR_DR, 0);
}

Test(uart, fcr_clear_and_mode_change_empty_the_fifo)
{
	struct uart u;
	struct capture c;

	setup(&u, &c);
	uart_write(&u, UART_FCR, UART_FCR_ENABLE_FIFO);
	uart_write(&u, UART_MCR, UART_MCR_LOOP);
	uart_write(&u, UART_THR, 1);
	uart_write(&u, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR);
	cr_assert_eq(uart_read(&u, UART_LSR) & UART_LSR_DR, 0);
	uart_write(&u, UART_THR, 2);
	uart_write(&u, UART_FCR, 0);
	cr_assert_eq(uart_read(&u, UART_LSR) & UART_LSR_DR, 0);
}

Test(uart, loopback_msr_mirrors_mcr)
{
	struct uart u;
	struct capture c;

	setup(&u, &c);
	/* What Linux's 8250 autoconfig checks: LOOP|OUT2|RTS reads back DCD|CTS. */
	uart_write(&u, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2 | UART_MCR_RTS);
	cr_assert_eq(uart_read(&u, UART_MSR) & 0xf0, UART_MSR_DCD | UART_MSR_CTS);
	uart_write(&u, UART_MCR, UART_MCR_LOOP | UART_MCR_DTR | UART_MCR_OUT1);
	cr_assert_eq(uart_read(&u, UART_MSR) & 0xf0, UART_MSR_DSR | UART_MSR_RI);
}

Test(uart, msr_deltas_and_msi)
{
	struct uart u;
	struct capture c;

	setup(&u, &c);
	uart_write(&u, UART_IER, UART_IER_MSI);
	cr_assert_eq(uart_read(&u, UART_IIR), UART_IIR_NO_INT);
	/* Loopback with all outputs low: CTS, DSR and DCD drop. */
	uart_write(&u, UART_MCR, UART_MCR_LOOP);
	cr_assert_eq(uart_read(&u, UART_IIR), UART_IIR_MSI);
	cr_assert_eq(uart_read(&u, UART_MSR), UART_MSR_DCTS | UART_MSR_DDSR | UART_MSR_DDCD);
	cr_assert_eq(uart_read(&u, UART_MSR), 0, "reading MSR clears the deltas");
	cr_assert_eq(uart_read(&u, UART_IIR), UART_IIR_NO_INT);
	/* RI: only its trailing edge sets TERI. */
	uart_write(&u, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT1);
	cr_assert_eq(uart_read(&u, UART_MSR), UART_MSR_RI);
	uart_write(&u, UART_MCR, UART_MCR_LOOP);
	cr_assert_eq(uart_read(&u, UART_MSR), UART_MSR_TERI);
}

Test(uart, iir_thre_interrupt)
{
	struct uart u;
	struct capture c;

	setup(&u, &c);
	uart_write(&u, UART_IER, UART_IER_THRI);
	cr_assert(uart_irq_pending(&u), "enabling THRI with THR empty raises it");
	cr_assert_eq(uart_read(&u, UART_IIR), UART_IIR_THRI);
	cr_assert_eq(uart_read(&u, UART_IIR), UART_IIR_NO_INT, "reading IIR acknowledges THRE");
	uart_write(&u, UART_THR, 'a');
	cr_assert_eq(uart_interrupt_id(&u), UART_IIR_THRI, "THR empties again at once");
	uart_write(&u, UART_IER, 0);
	cr_assert_eq(uart_read(&u, UART_IIR), UART_IIR_NO_INT);
}

Test(uart, iir_priorities)
{
	struct uart u;
	struct capture c;

	setup(&u, &c);
	uart_write(&u, UART_MCR, UART_MCR_LOOP);
	(void)uart_read(&u, UART_MSR);
	uart_write(&u, UART_IER, UART_IER_RDI | UART_IER_THRI | UART_IER_RLSI);
	uart_write(&u, UART_THR, 1);
	cr_assert_eq(uart_read(&u, UART_IIR), UART_IIR_RDI, "data available beats THRE");
	uart_write(&u, UART_THR, 2); /* overrun without FIFOs */
	cr_assert_eq(uart_read(&u, UART_IIR), UART_IIR_RLSI, "line status beats data");
	(void)uart_read(&u, UART_LSR);
	cr_assert_eq(uart_read(&u, UART_IIR), UART_IIR_RDI);
	(void)uart_read(&u, UART_RBR);
	cr_assert_eq(uart_read(&u, UART_IIR), UART_IIR_THRI);
	cr_assert_eq(uart_read(&u, UART_IIR), UART_IIR_NO_INT);
}

Test(uart, out_of_range_offsets)
{
	struct uart u;
	struct capture c;

	setup(&u, &c);
	cr_assert_eq(uart_read(&u, 8), 0xff);
	cr_assert_eq(uart_read(&u, 0xffffffffu), 0xff);
	uart_write(&u, 8, 'x');
	uart_write(&u, 100, 'x');
	cr_assert_eq(c.len, 0);
}

/* ---- the uart device model ------------------------------------------------ */

struct model_fixture {
	struct device_host host;
	struct uart_model m;
	struct console_peer console;
};

static void model_setup(struct model_fixture *f, bool with_console)
{
	memset(f, 0, sizeof(*f));
	console_peer_init(&f->console);
	device_host_init(&f->host, "test-uart", -1, STDERR_FILENO);
	if (with_console) {
		f->host.console = f->console.ring;
		f->host.console_kick_fd = f->console.kick;
	}
	cr_assert_eq(uart_device_model.init(&f->m, &f->host), 0);
}

static void model_teardown(struct model_fixture *f)
{
	console_peer_fini(&f->console);
}

static void pio_exit(struct vm_exit *e, uint16_t port, bool write, uint8_t len, uint32_t value)
{
	memset(e, 0, sizeof(*e));
	e->kind = VM_EXIT_PIO;
	e->u.pio.port = port;
	e->u.pio.write = write;
	e->u.pio.len = len;
	for (unsigned i = 0; write && i < len; i++)
		e->u.pio.data[i] = (uint8_t)(value >> (8 * i));
}

static void model_io(struct model_fixture *f, uint16_t port, bool write, uint8_t len, uint32_t value,
		     struct vm_reply *r)
{
	struct vm_exit e;

	pio_exit(&e, port, write, len, value);
	memset(r, 0, sizeof(*r));
	uart_device_model.handle(&f->m, &e, r);
	uart_device_model.committed(&f->m);
}

Test(uart, model_register_reads_and_wide_access)
{
	struct model_fixture f;
	struct vm_reply r;

	model_setup(&f, true);
	model_io(&f, COM1_PORT_BASE + UART_SCR, true, 1, 0x77, &r);
	model_io(&f, COM1_PORT_BASE + UART_LSR, false, 1, 0, &r);
	cr_assert_eq(r.status, VM_REPLY_OK);
	cr_assert_eq(r.len, 1);
	cr_assert_eq(r.data[0], UART_LSR_THRE | UART_LSR_TEMT);
	/* A 2-byte read at LSR covers LSR and MSR. */
	model_io(&f, COM1_PORT_BASE + UART_LSR, false, 2, 0, &r);
	cr_assert_eq(r.len, 2);
	cr_assert_eq(r.data[0], 0x60);
	cr_assert_eq(r.data[1], 0xb0);
	/* A 4-byte read at SCR: SCR, then three bytes past COM1 read as ones. */
	model_io(&f, COM1_PORT_BASE + UART_SCR, false, 4, 0, &r);
	cr_assert_eq(r.status, VM_REPLY_OK);
	cr_assert_eq(r.data[0], 0x77);
	cr_assert_eq(r.data[1], 0xff);
	cr_assert_eq(r.data[3], 0xff);
	/* A 2-byte write at THR: THR then IER. */
	model_io(&f, COM1_PORT_BASE, true, 2, 0x0f00 | 'Q', &r);
	cr_assert_eq(console_peer_pending(&f.console), 1);
	cr_assert_eq(f.console.ring->out[0], 'Q');
	cr_assert_eq(f.m.uart.ier, 0x0f);
	model_teardown(&f);
}

Test(uart, model_rejects_unowned_exits)
{
	struct model_fixture f;
	struct vm_reply r;
	struct vm_exit e;

	model_setup(&f, true);
	model_io(&f, COM1_PORT_BASE - 1, false, 2, 0, &r);
	cr_assert_eq(r.status, VM_REPLY_ERROR);
	cr_assert_eq(r.len, 2);
	cr_assert_eq(r.data[0], 0xff);
	cr_assert_eq(r.data[1], 0xff);
	model_io(&f, COM1_PORT_BASE + COM1_PORT_COUNT, false, 1, 0, &r);
	cr_assert_eq(r.status, VM_REPLY_ERROR);
	model_io(&f, 0x2f8, true, 1, 'x', &r);
	cr_assert_eq(console_peer_pending(&f.console), 0);

	memset(&e, 0, sizeof(e));
	e.kind = VM_EXIT_MMIO;
	e.u.mmio.addr = COM1_PORT_BASE;
	e.u.mmio.len = 4;
	uart_device_model.handle(&f.m, &e, &r);
	cr_assert_eq(r.status, VM_REPLY_ERROR);
	cr_assert_eq(r.len, 4);
	cr_assert_eq(r.data[3], 0xff);

	memset(&e, 0, sizeof(e));
	e.kind = VM_EXIT_HYPERCALL;
	uart_device_model.handle(&f.m, &e, &r);
	cr_assert_eq(r.status, VM_REPLY_ERROR);
	cr_assert_eq(r.len, 8);
	cr_assert_eq(f.m.unowned, 5);
	model_teardown(&f);
}

Test(uart, model_without_a_console_discards)
{
	struct model_fixture f;
	struct vm_reply r;

	model_setup(&f, false);
	model_io(&f, COM1_PORT_BASE, true, 1, 'x', &r);
	uart_device_model.idle(&f.m);
	cr_assert_eq(f.m.dropped, 1);
	cr_assert_eq(console_peer_pending(&f.console), 0);
	model_teardown(&f);
}
