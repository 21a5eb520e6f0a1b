/* SPDX-License-Identifier: MIT */
/*
 * 16550A register semantics, after the National Semiconductor PC16550D data
 * sheet (the behaviour Linux's 8250 driver probes for in autoconfig()).
 */
#include "device-worker/models/uart.h"

#include <string.h>

#define UART_MSR_CONNECTED (UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS)

static bool dlab(const struct uart *u)
{
	return (u->lcr & UART_LCR_DLAB) != 0;
}

static bool fifo_enabled(const struct uart *u)
{
	return (u->fcr & UART_FCR_ENABLE_FIFO) != 0;
}

static void rx_clear(struct uart *u)
{
	u->rx_head = 0;
	u->rx_count = 0;
}

/*
 * Modem status inputs: in loopback the outputs are wired back (RTS->CTS,
 * DTR->DSR, OUT1->RI, OUT2->DCD); otherwise the host side always looks
 * connected. A change sets the matching delta bit (RI only on its trailing
 * edge), as the chip does.
 */
static void msr_update(struct uart *u)
{
	uint8_t old = u->msr & ~UART_MSR_DELTAS;
	uint8_t now = UART_MSR_CONNECTED;
	uint8_t changed;
	uint8_t deltas = u->msr & UART_MSR_DELTAS;

	if (u->mcr & UART_MCR_LOOP) {
		now = 0;
		if (u->mcr & UART_MCR_RTS)
			now |= UART_MSR_CTS;
		if (u->mcr & UART_MCR_DTR)
			now |= UART_MSR_DSR;
		if (u->mcr & UART_MCR_OUT1)
			now |= UART_MSR_RI;
		if (u->mcr & UART_MCR_OUT2)
			now |= UART_MSR_DCD;
	}
	changed = old ^ now;
	if (changed & UART_MSR_CTS)
		deltas |= UART_MSR_DCTS;
	if (changed & UART_MSR_DSR)
		deltas |= UART_MSR_DDSR;
	if ((old & UART_MSR_RI) && !(now & UART_MSR_RI))
		deltas |= UART_MSR_TERI;
	if (changed & UART_MSR_DCD)
		deltas |= UART_MSR_DDCD;
	u->msr = now | deltas;
}

void uart_init(struct uart *u, const struct uart_sink *sink)
{
	memset(u, 0, sizeof(*u));
	u->sink = *sink;
	u->dll = UART_RESET_DIVISOR & 0xff;
	u->dlm = UART_RESET_DIVISOR >> 8;
	u->msr = UART_MSR_CONNECTED;
}

void uart_save(const struct uart *u, struct uart_regs *r)
{
	memset(r, 0, sizeof(*r));
	r->dll = u->dll;
	r->dlm = u->dlm;
	r->ier = u->ier;
	r->fcr = u->fcr;
	r->lcr = u->lcr;
	r->mcr = u->mcr;
	r->lsr_errors = u->lsr_errors;
	r->msr = u->msr;
	r->scr = u->scr;
	r->thri_pending = u->thri_pending;
	r->tx_busy = u->tx_busy;
	r->rx_head = u->rx_head;
	r->rx_count = u->rx_count;
	memcpy(r->rx, u->rx, sizeof(r->rx));
	r->tx_bytes = u->tx_bytes;
	r->rx_overruns = u->rx_overruns;
}

bool uart_regs_valid(const struct uart_regs *r)
{
	const uint8_t fcr_bits = UART_FCR_ENABLE_FIFO | UART_FCR_TRIGGER_MASK;

	if (r->ier & ~UART_IER_MASK || r->mcr & ~UART_MCR_MASK || r->lsr_errors & ~UART_LSR_ERRORS)
		return false;
	if (r->fcr & ~fcr_bits || (r->fcr && !(r->fcr & UART_FCR_ENABLE_FIFO)))
		return false;
	if (r->thri_pending > 1 || r->tx_busy > 1 || r->rx_head >= UART_FIFO_SIZE)
		return false;
	/* Without FIFOs the receiver holds one byte (uart_receive). */
	return r->rx_count <= ((r->fcr & UART_FCR_ENABLE_FIFO) ? UART_FIFO_SIZE : 1);
}

void uart_load(struct uart *u, const struct uart_regs *r)
{
	u->dll = r->dll;
	u->dlm = r->dlm;
	u->ier = r->ier;
	u->fcr = r->fcr;
	u->lcr = r->lcr;
	u->mcr = r->mcr;
	u->lsr_errors = r->lsr_errors;
	u->msr = r->msr;
	u->scr = r->scr;
	u->thri_pending = r->thri_pending != 0;
	u->tx_busy = r->tx_busy != 0;
	u->rx_head = r->rx_head;
	u->rx_count = r->rx_count;
	memcpy(u->rx, r->rx, sizeof(u->rx));
	u->tx_bytes = r->tx_bytes;
	u->rx_overruns = r->rx_overruns;
}

bool uart_receive(struct uart *u, uint8_t byte)
{
	unsigned depth = fifo_enabled(u) ? UART_FIFO_SIZE : 1;

	if (u->rx_count < depth) {
		u->rx[(u->rx_head + u->rx_count) % UART_FIFO_SIZE] = byte;
		u->rx_count++;
		return true;
	}
	/*
	 * Overrun. With FIFOs the byte in the shift register is lost; without,
	 * it overwrites the unread RBR.
	 */
	u->lsr_errors |= UART_LSR_OE;
	u->rx_overruns++;
	if (!fifo_enabled(u))
		u->rx[u->rx_head] = byte;
	return false;
}

unsigned uart_rx_room(const struct uart *u)
{
	unsigned depth = fifo_enabled(u) ? UART_FIFO_SIZE : 1;

	return u->rx_count < depth ? depth - u->rx_count : 0;
}

void uart_set_tx_busy(struct uart *u, bool busy)
{
	if (busy) {
		u->tx_busy = true;
		u->thri_pending = false;
	} else if (u->tx_busy) {
		u->tx_busy = false;
		u->thri_pending = true; /* the transmitter drained: THR empty */
	}
}

static uint8_t rx_pop(struct uart *u)
{
	uint8_t byte;

	if (u->rx_count == 0)
		return 0;
	byte = u->rx[u->rx_head];
	u->rx_head = (u->rx_head + 1) % UART_FIFO_SIZE;
	u->rx_count--;
	return byte;
}

uint8_t uart_interrupt_id(const struct uart *u)
{
	if ((u->ier & UART_IER_RLSI) && (u->lsr_errors & UART_LSR_ERRORS))
		return UART_IIR_RLSI;
	/*
	 * Data available. The real chip waits for the FIFO trigger level or a
	 * four-character timeout (IIR 0x0c); without a timer, any data counts.
	 */
	if ((u->ier & UART_IER_RDI) && u->rx_count)
		return UART_IIR_RDI;
	if ((u->ier & UART_IER_THRI) && u->thri_pending)
		return UART_IIR_THRI;
	if ((u->ier & UART_IER_MSI) && (u->msr & UART_MSR_DELTAS))
		return UART_IIR_MSI;
	return UART_IIR_NO_INT;
}

bool uart_irq_pending(const struct uart *u)
{
	return uart_interrupt_id(u) != UART_IIR_NO_INT;
}

static uint8_t lsr_value(const struct uart *u)
{
	uint8_t lsr = u->lsr_errors;

	if (!u->tx_busy)
		lsr |= UART_LSR_THRE | UART_LSR_TEMT;

	if (u->rx_count)
		lsr |= UART_LSR_DR;
	return lsr;
}

uint8_t uart_read(struct uart *u, unsigned offset)
{
	uint8_t v;

	switch (offset) {
	case UART_RBR: /* == UART_DLL */
		return dlab(u) ? u->dll : rx_pop(u);
	case UART_IER: /* == UART_DLM */
		return dlab(u) ? u->dlm : u->ier;
	case UART_IIR:
		v = uart_interrupt_id(u);
		/* Reading IIR acknowledges a THR-empty interrupt it reports. */
		if (v == UART_IIR_THRI)
			u->thri_pending = false;
		if (fifo_enabled(u))
			v |= UART_IIR_FIFO_ENABLED;
		return v;
	case UART_LCR:
		return u->lcr;
	case UART_MCR:
		return u->mcr;
	case UART_LSR:
		v = lsr_value(u);
		u->lsr_errors = 0;
		return v;
	case UART_MSR:
		v = u->msr;
		u->msr &= ~UART_MSR_DELTAS;
		return v;
	case UART_SCR:
		return u->scr;
	default:
		return 0xff;
	}
}

static void transmit(struct uart *u, uint8_t byte)
{
	u->thri_pending = false;
	if (u->mcr & UART_MCR_LOOP)
		(void)uart_receive(u, byte);
	else
		u->sink.put(u->sink.ctx, byte);
	u->tx_bytes++;
	/* The byte left at once (THR is empty again) unless the sink made the line busy. */
	u->thri_pending = !u->tx_busy;
}

static void write_fcr(struct uart *u, uint8_t value)
{
	/* Toggling FIFO mode resets both FIFOs. */
	if ((value ^ u->fcr) & UART_FCR_ENABLE_FIFO)
		rx_clear(u);
	if (value & UART_FCR_CLEAR_RCVR)
		rx_clear(u);
	/* UART_FCR_CLEAR_XMIT: the transmitter is always empty. */
	/* Other bits are only programmed together with the enable bit. */
	if (value & UART_FCR_ENABLE_FIFO)
		u->fcr = value & (UART_FCR_ENABLE_FIFO | UART_FCR_TRIGGER_MASK);
	else
		u->fcr = 0;
}

static void write_ier(struct uart *u, uint8_t value)
{
	uint8_t old = u->ier;

	u->ier = value & UART_IER_MASK;
	/*
	 * Setting IER.THRI while THR is empty raises the THRE interrupt, also
	 * when an earlier one was acknowledged by an IIR read: Linux's 8250
	 * driver relies on it to start transmitting (__start_tx) and probes it
	 * at start-up (serial8250_do_startup: IER=THRI, IIR must show THRI;
	 * IER=0, IER=THRI again, IIR must show THRI again, else UART_BUG_THRE).
	 * Clearing THRI drops the latch (QEMU's serial.c does the same).
	 */
	if ((old ^ u->ier) & UART_IER_THRI)
		u->thri_pending = (u->ier & UART_IER_THRI) && !u->tx_busy;
}

void uart_write(struct uart *u, unsigned offset, uint8_t value)
{
	switch (offset) {
	case UART_THR: /* == UART_DLL */
		if (dlab(u))
			u->dll = value;
		else
			transmit(u, value);
		return;
	case UART_IER: /* == UART_DLM */
		if (dlab(u))
			u->dlm = value;
		else
			write_ier(u, value);
		return;
	case UART_FCR:
		write_fcr(u, value);
		return;
	case UART_LCR:
		u->lcr = value;
		return;
	case UART_MCR:
		u->mcr = value & UART_MCR_MASK;
		msr_update(u);
		return;
	case UART_SCR:
		u->scr = value;
		return;
	default:
		/* LSR and MSR are read-only (factory test writes are ignored). */
		return;
	}
}
