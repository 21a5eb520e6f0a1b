/* SPDX-License-Identifier: MIT */
/* The benchmark workloads run and print their result line (figures are not asserted). */
#include <criterion/criterion.h>
#include <string.h>

#include "tests/lib/harness.h"

TestSuite(bench, .fini = squib_teardown);

static void bench_smoke(const char *cmdline, const char *line_prefix)
{
	static struct squib_run r; /* outlives the test: squib_teardown runs after it */

	squib_run_init(&r);
	squib_run_guest(&r, 1, true, cmdline);
	cr_assert_eq(r.status, SQUIB_EXIT_OK, "%s", squib_describe(&r));
	cr_assert(strstr(r.console, line_prefix), "no '%s' line\n%s", line_prefix, squib_describe(&r));
	cr_assert(strstr(r.console, " ns_per_op="), "%s", squib_describe(&r));
}

Test(bench, pio_write)
{
	bench_smoke("bench-pio n=200", "bench pio n=200 ns=");
}

Test(bench, pio_read)
{
	bench_smoke("bench-pio-read n=200", "bench pio-read n=200 ns=");
}

Test(bench, mmio_read)
{
	bench_smoke("bench-mmio-read n=200", "bench mmio-read n=200 ns=");
}

Test(bench, mmio_counter)
{
	bench_smoke("bench-mmio-counter n=200", "bench mmio-counter n=200 ns=");
}
