/* SPDX-License-Identifier: MIT */
/*
 * Guest console output on the monitor's side: the out ring of the console
 * rings (proto/console_ring.h) written to the console fd (stdout, or
 * --console FILE). The monitor writes it, not the uart worker, so output
 * survives the uart worker dying with no byte written twice or lost.
 *
 * The monitor must never block on a slow terminal (its event loop
 * supervises the whole VM), and must not make the user's stdout
 * non-blocking (the shell shares that open file description). So:
 *   - a terminal or a pipe is reopened through /proc/self/fd/N: a private
 *     open file description, made O_NONBLOCK;
 *   - a socket is written with send(MSG_DONTWAIT);
 *   - a regular file or /dev/null never blocks, and is written as is;
 *   - anything else that could block (no /proc) is written only after
 *     poll(POLLOUT, 0), at most PIPE_BUF bytes at a time.
 * When the fd takes nothing, the monitor waits for it to become writable
 * (libevent) while the uart's line reads busy to the guest (the out ring
 * fills up; uart_model.h). When it has taken nothing for stuck_ms (a
 * terminal stopped with Ctrl-S, a reader that went away), the monitor gives
 * up waiting: it drops what is in the ring and, until a write succeeds
 * again, drops whatever the fd does not take at once (counted, logged
 * once), so a guest is not slowed forever. At the VM's end it gives the fd
 * CONSOLE_OUTPUT_FINISH_MS to take the rest.
 */
#ifndef SQUIB_MONITOR_CONSOLE_OUTPUT_H
#define SQUIB_MONITOR_CONSOLE_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/compiler.h"
#include "proto/console_ring.h"

#define CONSOLE_OUTPUT_STUCK_MS 2000   /* no progress for this long: drop instead of wait */
#define CONSOLE_OUTPUT_FINISH_MS 5000  /* the last drain at the VM's end */

struct event;
struct event_base;

enum console_output_kind {
	CONSOLE_OUTPUT_PLAIN,    /* regular file, /dev/null: never blocks */
	CONSOLE_OUTPUT_PRIVATE,  /* terminal or pipe reopened O_NONBLOCK (fd is ours) */
	CONSOLE_OUTPUT_SOCKET,   /* send(MSG_DONTWAIT) */
	CONSOLE_OUTPUT_POLLED,   /* could block: poll(POLLOUT, 0) before each write */
};

struct console_output {
	int fd;                  /* where guest output goes */
	enum console_output_kind kind;
	struct console_ring *ring;
	int wake_fd;             /* the uart worker's doorbell, or -1 */
	uint32_t head;           /* our out_head */
	uint32_t stuck_ms;       /* CONSOLE_OUTPUT_STUCK_MS; tests shorten it */
	bool waiting;            /* the fd took nothing: waiting for it to be writable */
	bool stuck;              /* gave up waiting: drop what the fd does not take at once */
	bool bad_logged, drop_logged, full_logged;
	uint64_t max_bytes;      /* --console-max: the most a console file holds, 0 for no limit */
	uint64_t file_bytes;     /* what the file held before (a later boot appends) */
	uint64_t written, dropped, wakes;
	struct event *ev_writable, *ev_stuck;
};

/*
 * Sets o up to write ring's output to fd (reopening it privately where
 * that is how it can be made non-blocking; before the monitor's filter).
 * 0 or -errno (with a log line).
 */
int console_output_setup(struct console_output *o, int fd, struct console_ring *ring) MUST_USE;

/* With the event loop: the writable and stuck events. 0 or -ENOMEM. */
int console_output_start(struct console_output *o, struct event_base *base) MUST_USE;

/* Rings the uart worker's doorbell (wake_fd), if it has one. */
void console_output_wake_uart(struct console_output *o);

/* Writes what the fd takes now; never blocks. */
void console_output_drain(struct console_output *o);

/* The VM ended: gives the fd up to CONSOLE_OUTPUT_FINISH_MS to take the rest. */
void console_output_finish(struct console_output *o);

/* Frees the events and closes a private fd. Idempotent. */
void console_output_teardown(struct console_output *o);

#endif
