/* SPDX-License-Identifier: MIT */
#include "monitor/console/console_escape.h"

size_t console_escape_feed(struct console_escape *e, const uint8_t *in, size_t n, uint8_t *out, size_t *out_len,
			   bool *quit)
{
	size_t o = 0, i;

	*quit = false;
	for (i = 0; i < n; i++) {
		uint8_t c = in[i];

		if (!e->armed) {
			if (c == CONSOLE_ESCAPE_CHAR)
				e->armed = true;
			else
				out[o++] = c;
			continue;
		}
		e->armed = false;
		if (c == CONSOLE_ESCAPE_QUIT) {
			*quit = true;
			i++;
			break;
		}
		out[o++] = CONSOLE_ESCAPE_CHAR;
		if (c != CONSOLE_ESCAPE_CHAR)
			out[o++] = c;
	}
	*out_len = o;
	return i;
}
