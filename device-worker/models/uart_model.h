/* SPDX-License-Identifier: MIT */
/*
 * The "uart" device model: COM1 (COM1_PORT_BASE, COM1_PORT_COUNT ports) on
 * top of the 16550A register model, with IRQ 4, typed input and lossless,
 * back-pressured console output.
 *
 * Interrupts: with irq_fd (a KVM irqfd on GSI 4, no resample), every
 * change of the INTR line from low to high writes 1 to the eventfd: an edge,
 * as ISA IRQ 4 is edge-triggered, active high. The line is sampled after
 * every register access and every event (input arrived, output drained).
 * It is uart_irq_pending() gated by MCR.OUT2, as on a PC, where OUT2
 * enables the 8250's IRQ driver: Linux sets OUT2 whenever it uses the IRQ
 * (serial8250_do_startup), and a guest that polls with IER set but OUT2
 * clear gets no stray interrupts. (QEMU ignores OUT2.)
 *
 * Input: with input_fd (the read end of a pipe the monitor fills from its
 * terminal), the model reads only as many bytes as the receive FIFO has
 * room for; the rest waits in the pipe (the monitor stops reading its stdin
 * when the pipe is full), so typed input is never dropped.
 *
 * Output: transmitted bytes collect in a buffer and reach the output fd in
 * write(2)s of at most UART_MODEL_BATCH (== PIPE_BUF) bytes, each after a
 * poll(POLLOUT, 0) said the fd takes output, so no write blocks on a pipe;
 * the fd is never made O_NONBLOCK because its open file description may be
 * shared with the monitor's terminal. When the fd does not take the bytes,
 * the line is busy (uart_set_tx_busy: LSR THRE/TEMT 0, no THRE interrupt)
 * and the worker loop polls the fd for POLLOUT; when everything is written,
 * THR is empty again and the THRE interrupt fires. A slow console slows the
 * guest; nothing is lost. A guest that writes THR while it is busy is
 * buffered up to UART_MODEL_OUT_MAX bytes; only beyond that are bytes
 * dropped (counted, logged once). When the fd has taken nothing for
 * stuck_ms (a terminal stopped with Ctrl-S, a reader that went away), the
 * model gives up waiting: it drops what is buffered and, until a write
 * succeeds again, never reports busy and drops what the fd does not take at
 * once, so a polling guest (Linux's printk waits up to 10 ms per character
 * for THRE) is not slowed forever.
 */
#ifndef SQUIB_DEVICE_UART_MODEL_H
#define SQUIB_DEVICE_UART_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "device-worker/device.h"
#include "device-worker/models/uart.h"

#define UART_MODEL_BATCH 4096          /* bytes per write(2): PIPE_BUF on Linux */
#define UART_MODEL_OUT_MAX (64 * 1024) /* output buffered while the console is busy */
#define UART_MODEL_STUCK_MS 2000       /* no progress for this long: drop instead of wait */

struct uart_model {
	struct uart uart;
	struct device_host *host;
	/* Output bytes waiting: buf[head, tail). */
	size_t head, tail;
	bool busy;        /* the fd did not take everything: THR reads full */
	bool stuck;       /* gave up waiting: drop what the fd does not take at once */
	uint64_t busy_since_ns; /* when the fd last made progress while busy */
	uint32_t stuck_ms;      /* UART_MODEL_STUCK_MS; tests shorten it */
	bool irq_line;    /* the INTR line as last driven */
	bool input_eof;   /* the input pipe hit EOF or failed: not polled any more */
	uint64_t written;  /* bytes that reached the output fd */
	uint64_t dropped;  /* bytes lost: no output fd, stuck, overflow or write error */
	uint64_t flushes;  /* write(2) calls that wrote something */
	uint64_t unowned;  /* exits outside COM1 */
	uint64_t irqs;     /* edges raised on the irqfd */
	uint64_t input_bytes; /* bytes read from the input fd */
	bool drop_logged;
	uint8_t buf[UART_MODEL_OUT_MAX];
};

/* Writes out what the fd takes now (what idle does); never waits. */
void uart_model_flush(struct uart_model *m);

#endif
