/* SPDX-License-Identifier: MIT */
/*
 * The guest console on the monitor's side: the console rings shared with
 * the uart worker (proto/console_ring.h), the uart's IRQ 4 irqfd, guest
 * output to the console fd (console_output.h), and typed input from the
 * monitor's stdin.
 *
 * The monitor owns the terminal. If stdin is a terminal (and the monitor is
 * not in a background process group), it goes raw: no echo, no line
 * editing, no signals from Ctrl-C/Ctrl-Z/Ctrl-\, no XON/XOFF, so every key
 * reaches the guest; output processing (c_oflag) is left alone. The
 * original termios comes back on every way out: the VM ending (console_stop),
 * SIGTERM/SIGINT/SIGHUP (they end the VM through the event loop), set-up
 * errors and exit (an atexit handler).
 *
 * Typed bytes pass through the escape filter (console_escape.h: Ctrl-A x
 * ends the VM with status 0) into the in ring, and the uart's doorbell
 * rings. When the ring is full, the monitor stops reading stdin until the
 * uart worker has taken bytes (its kick), so input waits in the terminal
 * (or the pipe feeding stdin) and is never dropped; a uart worker that dies
 * and comes back finds it still there. At EOF stdin is no longer watched.
 * Only a terminal, a pipe or a socket is watched: a closed stdin, /dev/null
 * or a regular file gives no input.
 */
#ifndef SQUIB_MONITOR_CONSOLE_H
#define SQUIB_MONITOR_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <termios.h>

#include "common/compiler.h"
#include "monitor/console/console_escape.h"
#include "monitor/console/console_output.h"
#include "proto/console_ring.h"

#define CONSOLE_IRQ 4 /* COM1: ISA IRQ 4, edge-triggered, active high (no MADT override) */

struct event;
struct event_base;
struct kvm_vm;

struct console {
	int irq_fd;     /* eventfd registered as KVM irqfd on GSI CONSOLE_IRQ, or -1 */
	int ring_fd;    /* memfd of the console rings: the uart worker's console_fd, or -1 */
	struct console_ring *ring; /* ring_fd mapped, or NULL */
	int kick_fd;    /* eventfd the uart worker writes (its console_kick_fd), or -1 */
	struct console_output out; /* out.wake_fd: the uart worker's doorbell (console_start), or -1 */
	bool input;     /* stdin is a source of input */
	bool input_waits; /* the in ring was full: stdin waits for the uart to take bytes */
	bool raw;       /* stdin's termios were changed and must be restored */
	struct termios saved;
	struct console_escape esc;
	uint8_t pending[512]; /* filtered input not yet in the ring */
	size_t pending_off, pending_len;
	struct event *ev_stdin;
	struct event *ev_kick;
	void (*quit)(void *ctx); /* Ctrl-A x: how to end the VM (console_start) */
	void *quit_ctx;
};

/*
 * Before the device workers: the IRQ 4 eventfd, the console rings and their
 * kick eventfd, the output fd (output_fd: stdout or the --console file) and
 * raw mode. 0 or -errno (with a log line).
 */
int console_setup(struct console *c, int output_fd) MUST_USE;

/*
 * In the VM process (monitor/vm_process.h), once the VM has its irqchip:
 * registers the IRQ 4 eventfd as an irqfd. 0 or -errno (with a log line).
 */
int console_register_irq(const struct console *c, struct kvm_vm *kvm) MUST_USE;

/*
 * With the event loop: starts watching stdin and the uart worker's kicks;
 * wake_fd is the uart worker's doorbell. Ctrl-A x calls quit(quit_ctx)
 * (the console does not know how a VM ends; the supervisor does). 0 or -errno.
 */
int console_start(struct console *c, struct event_base *base, int wake_fd, void (*quit)(void *ctx),
		  void *quit_ctx) MUST_USE;

/* Stops reading stdin and restores the terminal; output goes on. Idempotent. */
void console_stop(struct console *c);

/*
 * console_stop, writes out what the guest printed (a bounded wait), frees
 * the events (before the event base goes) and unmaps the rings.
 */
void console_teardown(struct console *c);

#endif
