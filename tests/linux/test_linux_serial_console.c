/* SPDX-License-Identifier: MIT */
/*
 * 1 MiB printed by Debian's kernel's userland reaches squib's console
 * without a lost byte, through the interrupt-driven 16550A. Its own suite,
 * named to run after the others: it is by far the longest Linux test.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/linux/linux_guest.h"

TestSuite(linux_serial_console, .fini = squib_teardown);

/*
 * The guest's `seq 1 170000` (1,078,895 bytes) through the interrupt-driven
 * UART, byte for byte. Kernel warnings (with `quiet`, only those) are not
 * the program's output: they are taken out before comparing.
 */
Test(linux_serial_console, one_mib_of_output_arrives_byte_for_byte)
{
	static struct squib_run runs[LINUX_ATTEMPTS];
	const unsigned long n = 170000;
	const struct linux_boot b = { .cpus = 1, .memory_mib = 256, .run = "seq 1 170000", .timeout_s = 900 };
	struct squib_run *r = linux_run(runs, &b);
	size_t len;
	char *want = seq_text(n, &len);
	const char *start, *got;
	unsigned kernel_lines;

	linux_assert_ran(r, 1);
	cr_assert_geq(len, 1u << 20, "the pattern must be at least 1 MiB");
	kernel_lines = linux_console_strip_kernel_log(r->console);
	if (kernel_lines)
		cr_log_info("%u kernel log lines taken out of the console text", kernel_lines);
	start = strstr(r->console, "\n1\n2\n3\n");
	cr_assert_not_null(start, "no '1' line on the console\n%s", linux_describe(r));
	got = start + 1;
	cr_assert_geq(strlen(got), len, "the console has %zu bytes after '1', expected %zu", strlen(got), len);
	for (size_t i = 0; i < len; i++)
		cr_assert_eq(got[i], want[i], "byte %zu of the output differs ('%.16s' vs '%.16s')", i, got + i, want + i);
	free(want);
}

