/* SPDX-License-Identifier: MIT */
/*
 * The "uart" device model: COM1 (COM1_PORT_BASE, COM1_PORT_COUNT ports) on
 * top of the 16550A register model, with console output batching.
 *
 * Transmitted bytes collect in a buffer and reach the output fd in one
 * write(2) per burst: when the device goes idle, or when the buffer fills.
 * The console is shared and slow consumers must not stall the guest: before
 * writing, the model waits at most UART_MODEL_WRITE_TIMEOUT_MS for the fd to
 * be writable (poll POLLOUT), and drops (and counts) whatever it could not
 * write, logging the first loss. While it stays stuck, later flushes do
 * not wait at all until a write succeeds again. The fd is never made O_NONBLOCK because
 * its open file description may be shared with the monitor's terminal.
 * Batches are at most PIPE_BUF bytes, so a write to a pipe that polled
 * writable does not block.
 */
#ifndef SQUIB_DEVICE_UART_MODEL_H
#define SQUIB_DEVICE_UART_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "device-worker/device.h"
#include "device-worker/uart.h"

#define UART_MODEL_BUF_SIZE 4096 /* == PIPE_BUF on Linux */
#define UART_MODEL_WRITE_TIMEOUT_MS 10

struct uart_model {
	struct uart uart;
	struct device_host *host;
	size_t len; /* bytes waiting in buf */
	uint64_t written;  /* bytes that reached the output fd */
	uint64_t dropped;  /* bytes lost: no output fd, not writable, or write error */
	uint64_t flushes;  /* write(2) calls that wrote something */
	uint64_t unowned;  /* exits outside COM1 */
	bool drop_logged;
	bool congested; /* the last flush found the fd not writable */
	uint8_t buf[UART_MODEL_BUF_SIZE];
};

/* Writes out the batch now (what idle does). */
void uart_model_flush(struct uart_model *m);

#endif
