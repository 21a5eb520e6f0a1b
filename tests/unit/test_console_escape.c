/* SPDX-License-Identifier: MIT */
/* The console's Ctrl-A escape filter (monitor/console/console_escape.c). */
#include <criterion/criterion.h>
#include <string.h>

#include "monitor/console/console_escape.h"

static size_t feed(struct console_escape *e, const char *in, char *out, size_t *out_len, bool *quit)
{
	return console_escape_feed(e, (const uint8_t *)in, strlen(in), (uint8_t *)out, out_len, quit);
}

Test(console_escape, plain_bytes_pass_through)
{
	struct console_escape e = { 0 };
	char out[64];
	size_t n;
	bool quit;

	cr_assert_eq(feed(&e, "hello\r\x03", out, &n, &quit), 7);
	cr_assert_not(quit);
	cr_assert_eq(n, 7);
	cr_assert_arr_eq(out, "hello\r\x03", 7, "Ctrl-C is just a byte for the guest");
}

Test(console_escape, ctrl_a_x_quits_after_earlier_bytes)
{
	struct console_escape e = { 0 };
	char out[64];
	size_t n, used;
	bool quit;

	used = feed(&e, "ab\x01xcd", out, &n, &quit);
	cr_assert(quit);
	cr_assert_eq(used, 4, "nothing after the x is consumed");
	cr_assert_eq(n, 2);
	cr_assert_arr_eq(out, "ab", 2);
}

Test(console_escape, ctrl_a_ctrl_a_sends_one)
{
	struct console_escape e = { 0 };
	char out[64];
	size_t n;
	bool quit;

	feed(&e, "\x01\x01q", out, &n, &quit);
	cr_assert_not(quit);
	cr_assert_eq(n, 2);
	cr_assert_arr_eq(out, "\x01q", 2);
}

Test(console_escape, ctrl_a_other_sends_both)
{
	struct console_escape e = { 0 };
	char out[64];
	size_t n;
	bool quit;

	feed(&e, "\x01" "b\x01X", out, &n, &quit);
	cr_assert_not(quit, "only a lower-case x quits");
	cr_assert_eq(n, 4);
	cr_assert_arr_eq(out, "\x01" "b\x01X", 4);
}

Test(console_escape, escape_split_across_reads)
{
	struct console_escape e = { 0 };
	char out[64];
	size_t n;
	bool quit;

	feed(&e, "a\x01", out, &n, &quit);
	cr_assert_eq(n, 1, "a trailing Ctrl-A is held");
	cr_assert(e.armed);
	feed(&e, "x", out, &n, &quit);
	cr_assert(quit);
	cr_assert_eq(n, 0);

	memset(&e, 0, sizeof(e));
	feed(&e, "\x01", out, &n, &quit);
	feed(&e, "z", out, &n, &quit);
	cr_assert_not(quit);
	cr_assert_eq(n, 2, "held Ctrl-A comes out with the next byte (n + 1 bytes)");
	cr_assert_arr_eq(out, "\x01z", 2);
}
