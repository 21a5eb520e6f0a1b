/* SPDX-License-Identifier: MIT */
/*
 * A 16550A UART register model (the eight registers at COM1_PORT_BASE).
 *
 * Pure state machine: no I/O, no allocation. Transmitted bytes go to a sink
 * callback (the uart model batches them to the console fd; tests capture
 * them). Transmission is instantaneous unless the owner says the line is
 * busy (uart_set_tx_busy: its console cannot take output): then LSR THRE
 * and TEMT read 0 and no THR-empty interrupt is pending; when the line
 * frees up, THR is empty again and the THRE interrupt is raised, as a
 * 16550A does when its transmitter drains. Received bytes (loopback, host
 * input) go through a 16-byte receive FIFO, or a single RBR when FIFOs are
 * disabled.
 *
 * Interrupt state is fully computed (uart_interrupt_id / uart_irq_pending);
 * the owner samples it after each access or event and drives the IRQ line
 * (uart_model.c: an edge on IRQ 4 through a KVM irqfd).
 *
 * Threat note: offsets and values come from the guest. Any offset is
 * accepted (unknown offsets read 0xff and ignore writes).
 */
#ifndef SQUIB_DEVICE_UART_H
#define SQUIB_DEVICE_UART_H

#include <stdbool.h>
#include <stdint.h>

/* Register offsets from the base port. */
#define UART_RBR 0 /* read, DLAB=0: receive buffer */
#define UART_THR 0 /* write, DLAB=0: transmit holding */
#define UART_DLL 0 /* DLAB=1: divisor latch low */
#define UART_IER 1 /* DLAB=0: interrupt enable */
#define UART_DLM 1 /* DLAB=1: divisor latch high */
#define UART_IIR 2 /* read: interrupt identification */
#define UART_FCR 2 /* write: FIFO control */
#define UART_LCR 3 /* line control */
#define UART_MCR 4 /* modem control */
#define UART_LSR 5 /* line status (writes ignored) */
#define UART_MSR 6 /* modem status (writes ignored) */
#define UART_SCR 7 /* scratch */
#define UART_REG_COUNT 8

#define UART_IER_RDI 0x01  /* received data available */
#define UART_IER_THRI 0x02 /* THR empty */
#define UART_IER_RLSI 0x04 /* receiver line status */
#define UART_IER_MSI 0x08  /* modem status */
#define UART_IER_MASK 0x0f

#define UART_IIR_NO_INT 0x01
#define UART_IIR_MSI 0x00
#define UART_IIR_THRI 0x02
#define UART_IIR_RDI 0x04
#define UART_IIR_RLSI 0x06
#define UART_IIR_FIFO_ENABLED 0xc0

#define UART_FCR_ENABLE_FIFO 0x01
#define UART_FCR_CLEAR_RCVR 0x02
#define UART_FCR_CLEAR_XMIT 0x04
#define UART_FCR_TRIGGER_MASK 0xc0

#define UART_LCR_DLAB 0x80

#define UART_MCR_DTR 0x01
#define UART_MCR_RTS 0x02
#define UART_MCR_OUT1 0x04
#define UART_MCR_OUT2 0x08
#define UART_MCR_LOOP 0x10
#define UART_MCR_MASK 0x1f

#define UART_LSR_DR 0x01   /* data ready */
#define UART_LSR_OE 0x02   /* overrun error */
#define UART_LSR_PE 0x04   /* parity error */
#define UART_LSR_FE 0x08   /* framing error */
#define UART_LSR_BI 0x10   /* break interrupt */
#define UART_LSR_THRE 0x20 /* THR empty */
#define UART_LSR_TEMT 0x40 /* transmitter empty */
#define UART_LSR_FIFOE 0x80 /* error in receive FIFO */
#define UART_LSR_ERRORS (UART_LSR_OE | UART_LSR_PE | UART_LSR_FE | UART_LSR_BI)

#define UART_MSR_DCTS 0x01
#define UART_MSR_DDSR 0x02
#define UART_MSR_TERI 0x04
#define UART_MSR_DDCD 0x08
#define UART_MSR_CTS 0x10
#define UART_MSR_DSR 0x20
#define UART_MSR_RI 0x40
#define UART_MSR_DCD 0x80
#define UART_MSR_DELTAS 0x0f

#define UART_FIFO_SIZE 16
/* Divisor after reset: 9600 baud from the PC's 1.8432 MHz clock. */
#define UART_RESET_DIVISOR 12

/* Where transmitted bytes go. put is called once per byte, in order. */
struct uart_sink {
	void (*put)(void *ctx, uint8_t byte);
	void *ctx;
};

struct uart {
	struct uart_sink sink;
	uint8_t dll, dlm;
	uint8_t ier;
	uint8_t fcr; /* last FCR value, without the self-clearing bits */
	uint8_t lcr;
	uint8_t mcr;
	uint8_t lsr_errors; /* sticky error bits, cleared by reading LSR */
	uint8_t msr;        /* status bits (high nibble) and deltas (low nibble) */
	uint8_t scr;
	bool thri_pending; /* THR-empty interrupt latched, cleared by IIR read/THR write */
	bool tx_busy;      /* the line cannot send: THR reads full (uart_set_tx_busy) */
	/* Receive FIFO (depth 1 when FIFOs are disabled). */
	uint8_t rx[UART_FIFO_SIZE];
	uint8_t rx_head;
	uint8_t rx_count;
	/* Statistics. */
	uint64_t tx_bytes;
	uint64_t rx_overruns;
};

/*
 * The UART's state as kept in a device-state region (device-worker/persist.h):
 * plain bytes, no pointers, fixed layout, so a successor worker can check
 * it before trusting it (uart_regs_valid).
 */
struct uart_regs {
	uint8_t dll, dlm, ier, fcr, lcr, mcr, lsr_errors, msr;
	uint8_t scr, thri_pending, tx_busy, rx_head, rx_count, pad[3];
	uint8_t rx[UART_FIFO_SIZE];
	uint64_t tx_bytes;
	uint64_t rx_overruns;
};

_Static_assert(sizeof(struct uart_regs) == 48, "uart_regs layout is fixed");

/* Copies u's state into *r. */
void uart_save(const struct uart *u, struct uart_regs *r);

/*
 * Is *r a state uart_save can produce? Threat note: r was written by
 * another process (a predecessor worker, maybe compromised); every field
 * is checked as a byte, never read as a bool first.
 */
bool uart_regs_valid(const struct uart_regs *r);

/* Takes u's state from *r (which must be valid); u keeps its sink. */
void uart_load(struct uart *u, const struct uart_regs *r);

/* Puts the UART in its reset state, sending output to *sink (copied). */
void uart_init(struct uart *u, const struct uart_sink *sink);

/* A guest read of the register at offset (0..7). Reads may change state. */
uint8_t uart_read(struct uart *u, unsigned offset);

/* A guest write of value to the register at offset (0..7). */
void uart_write(struct uart *u, unsigned offset, uint8_t value);

/*
 * A byte arrives on the serial line (the receive shift register). Returns
 * false when it was lost to an overrun (LSR OE is then set). Loopback uses
 * this internally; the uart model feeds typed input through it (never more
 * than uart_rx_room, so typed input does not overrun).
 */
bool uart_receive(struct uart *u, uint8_t byte);

/*
 * The line behind THR is busy (true) or free again (false). Busy: LSR THRE
 * and TEMT read 0 and a pending THRE interrupt is withdrawn; bytes written
 * to THR meanwhile still reach the sink (a guest that ignores THRE is the
 * owner's problem). Busy -> free: THR is empty, so the THRE interrupt is
 * latched again (it fires if IER.THRI is set).
 */
void uart_set_tx_busy(struct uart *u, bool busy);

/* Bytes the receive FIFO (or the RBR without FIFOs) can still take. */
unsigned uart_rx_room(const struct uart *u);

/* IIR bits 0-3 for the highest-priority pending interrupt (UART_IIR_NO_INT if none). */
uint8_t uart_interrupt_id(const struct uart *u);

/* Is an enabled interrupt pending? (The INTR pin, before any OUT2 gating.) */
bool uart_irq_pending(const struct uart *u);

#endif
