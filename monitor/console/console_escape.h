/* SPDX-License-Identifier: MIT */
/*
 * The console's escape sequences (QEMU's convention), as a pure filter
 * over the bytes typed on the monitor's stdin:
 *   Ctrl-A x       ends the VM (nothing after it is consumed)
 *   Ctrl-A Ctrl-A  one literal Ctrl-A for the guest
 *   Ctrl-A other   both bytes for the guest
 * A Ctrl-A at the end of one read waits for the next byte (state in e).
 */
#ifndef SQUIB_MONITOR_CONSOLE_ESCAPE_H
#define SQUIB_MONITOR_CONSOLE_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONSOLE_ESCAPE_CHAR 0x01 /* Ctrl-A */
#define CONSOLE_ESCAPE_QUIT 'x'

struct console_escape {
	bool armed; /* the last byte was an unpaired Ctrl-A */
};

/*
 * Filters in[0..n) into out, which must have room for n + 1 bytes (a
 * Ctrl-A held from the previous call may come out with the first byte).
 * Sets *out_len. Returns the bytes consumed: n, or fewer when Ctrl-A x was
 * seen (then *quit is true and the x is the last byte consumed).
 */
size_t console_escape_feed(struct console_escape *e, const uint8_t *in, size_t n, uint8_t *out, size_t *out_len,
			   bool *quit);

#endif
