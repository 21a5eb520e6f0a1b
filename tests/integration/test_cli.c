/* SPDX-License-Identifier: MIT */
/*
 * Command-line and kernel-file errors: status 1 (set-up failure, naming
 * the file) or 2 (usage error), and no guest runs. None of these need a
 * working /dev/kvm if the monitor validates its input first.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "tests/integration/harness.h"

TestSuite(cli, .fini = squib_teardown);

static void expect_kernel_rejected(const char *file_name, size_t size, bool create, const char *memory)
{
	static struct squib_run r; /* outlives the test: squib_teardown runs after it */
	char path[PATH_MAX + 64];
	const char *args[] = { "start", "--kernel", path, "--console", NULL, "--testdev", NULL, NULL, NULL };

	squib_run_init(&r);
	snprintf(path, sizeof(path), "%s/%s", r.dir, file_name);
	if (create)
		make_file(path, size);
	args[4] = r.console_path;
	if (memory) {
		args[6] = "--memory";
		args[7] = memory;
	}
	squib_start(&r, args);
	squib_finish(&r);
	cr_assert_eq(r.status, SQUIB_EXIT_SETUP, "expected status 1\n%s", squib_describe(&r));
	cr_assert(strstr(r.err, file_name), "stderr does not name %s\n%s", file_name, squib_describe(&r));
	if (create)
		remove(path);
}

Test(cli, missing_kernel_file)
{
	expect_kernel_rejected("no-such-kernel.bin", 0, false, NULL);
}

Test(cli, empty_kernel_file)
{
	expect_kernel_rejected("empty-kernel.bin", 0, true, NULL);
}

Test(cli, kernel_bigger_than_ram)
{
	expect_kernel_rejected("big-kernel.bin", 3u << 20, true, "2");
}

static void expect_usage_error(const char *const *extra, const char *mention)
{
	static struct squib_run r; /* outlives the test: squib_teardown runs after it */
	const char *args[16] = { "start", "--kernel", squib_guest_path(), "--console", NULL };
	size_t n = 5;

	squib_run_init(&r);
	args[4] = r.console_path;
	for (; *extra; extra++)
		args[n++] = *extra;
	args[n] = NULL;
	squib_start(&r, args);
	squib_finish(&r);
	cr_assert_eq(r.status, SQUIB_EXIT_USAGE, "expected status 2\n%s", squib_describe(&r));
	cr_assert(contains_ci(r.err, mention), "stderr does not mention '%s'\n%s", mention, squib_describe(&r));
	cr_assert(!strstr(r.console, "hello from vCPU"), "the guest ran\n%s", squib_describe(&r));
}

Test(cli, unknown_option)
{
	const char *extra[] = { "--bogus-option", NULL };

	expect_usage_error(extra, "bogus-option");
}

Test(cli, zero_cpus)
{
	const char *extra[] = { "--cpus", "0", NULL };

	expect_usage_error(extra, "cpus");
}

Test(cli, non_numeric_memory)
{
	const char *extra[] = { "--memory", "abc", NULL };

	expect_usage_error(extra, "memory");
}
