/* SPDX-License-Identifier: MIT */
/*
 * The "uart" device model: COM1 (COM1_PORT_BASE, COM1_PORT_COUNT ports) on
 * top of the 16550A register model, with IRQ 4, typed input and console
 * output through the console rings (proto/console_ring.h), and state a
 * successor worker resumes (device-worker/persist.h).
 *
 * Interrupts: with irq_fd (a KVM irqfd on GSI 4, no resample), every
 * change of the INTR line from low to high writes 1 to the eventfd: an edge,
 * as ISA IRQ 4 is edge-triggered, active high. The line is sampled after
 * every register access and every event (input arrived, room freed). It is
 * uart_irq_pending() gated by MCR.OUT2, as on a PC, where OUT2 enables the
 * 8250's IRQ driver: Linux sets OUT2 whenever it uses the IRQ
 * (serial8250_do_startup), and a guest that polls with IER set but OUT2
 * clear gets no stray interrupts. (QEMU ignores OUT2.) A successor starts
 * with the line low, so it raises an edge if one is due: at worst one
 * spurious interrupt, which the 8250 driver ignores (IIR says none).
 *
 * Output: a byte written to THR goes into the out ring at out_tail. While
 * the ring has less room than a transmit FIFO load (UART_FIFO_SIZE bytes:
 * what Linux writes per THRE interrupt without looking at LSR), the line is
 * busy (uart_set_tx_busy: LSR THRE/TEMT read 0, no THRE interrupt) and the
 * worker sets out_blocked; when the monitor frees room it rings the uart's
 * doorbell and the THRE interrupt fires. A slow console slows the guest;
 * nothing is lost. Only a guest that ignores THRE and overruns the whole
 * ring loses bytes (counted, logged once). How long the monitor waits for a
 * stuck terminal is its business (monitor/console/console_output.h).
 *
 * Input: typed bytes wait in the in ring; the model takes only as many as
 * the receive FIFO has room for, so typed input is never dropped.
 *
 * Crashes: the registers, the receive FIFO and the two ring counts
 * (out_tail, in_head) live in the device-state region (struct
 * uart_persist), changed only under the journal, and published to the
 * monitor only once committed. A successor therefore continues with the
 * same registers and the same counts: no output byte twice or lost, no
 * typed byte lost or taken twice.
 */
#ifndef SQUIB_DEVICE_UART_MODEL_H
#define SQUIB_DEVICE_UART_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "device-worker/device.h"
#include "device-worker/models/uart.h"

/* What the device-state region keeps (persist.h; little-endian, fixed). */
struct uart_persist {
	struct uart_regs regs;
	uint32_t out_tail; /* output bytes written into the out ring */
	uint32_t in_head;  /* typed bytes taken from the in ring */
};

struct uart_model {
	struct uart uart;
	struct device_host *host;
	struct console_ring *ring; /* host->console, or NULL: output discarded, no input */
	uint32_t out_tail, in_head; /* working copies of struct uart_persist's */
	bool irq_line;     /* the INTR line as last driven */
	bool bad_ring_logged;
	bool drop_logged;
	bool kick_due;     /* idle ran: kick the monitor once its change is committed */
	uint32_t kicked_out_tail, kicked_in_head; /* published counts the monitor was last kicked for */
	uint64_t dropped;  /* bytes lost: no console, or a guest that ignored THRE */
	uint64_t unowned;  /* exits outside COM1 */
	uint64_t irqs;     /* edges raised on the irqfd */
	uint64_t kicks;    /* writes to console_kick_fd */
	uint64_t input_bytes; /* bytes taken from the in ring */
};

#endif
