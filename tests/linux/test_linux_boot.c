/* SPDX-License-Identifier: MIT */
/*
 * Debian's cloud kernel boots on squib with 1, 2 and 4 vCPUs: it sees them
 * all (ACPI MADT), runs its command, and its poweroff (ACPI S5) ends the
 * monitor with 0 and nothing left running. Also: 1 MiB printed by the guest
 * reaches the console without a lost byte, and a guest reboot follows
 * --on-reboot.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/linux/linux_guest.h"

TestSuite(linux_boot, .fini = squib_teardown);

static void boot_with_cpus(unsigned cpus)
{
	static struct squib_run runs[3][2];
	const struct linux_boot b = { .cpus = cpus, .memory_mib = 256, .run = "grep -c ^processor /proc/cpuinfo" };
	struct squib_run *r = linux_run(runs[cpus / 2], &b);
	char want[32];

	linux_assert_ran(r, cpus);
	snprintf(want, sizeof(want), "\n%u\nSQUIB-RUN-EXIT 0", cpus);
	cr_assert(strstr(r->console, want), "/proc/cpuinfo does not list %u processors\n%s", cpus,
		  squib_describe(r));
}

Test(linux_boot, one_vcpu)
{
	boot_with_cpus(1);
}

Test(linux_boot, two_vcpus)
{
	boot_with_cpus(2);
}

Test(linux_boot, four_vcpus)
{
	boot_with_cpus(4);
}

/*
 * Removes the kernel's own log records ("[  74.408674] ...\n") from the
 * console text in place, wherever they start: printk writes straight to the
 * UART and may land in the middle of a line the guest's program is
 * writing. Returns how many it removed.
 */
static unsigned strip_kernel_log(char *text)
{
	char *w = text;
	unsigned n = 0;

	for (const char *r = text; *r;) {
		const char *p = r + 1;

		if (*r == '[') {
			while (*p == ' ')
				p++;
			while (*p >= '0' && *p <= '9')
				p++;
			if (*p == '.' && p[1] >= '0' && p[1] <= '9') {
				p++;
				while (*p >= '0' && *p <= '9')
					p++;
				if (p[0] == ']' && p[1] == ' ') {
					const char *end = strchr(p, '\n');

					r = end ? end + 1 : p + strlen(p);
					n++;
					continue;
				}
			}
		}
		*w++ = *r++;
	}
	*w = '\0';
	return n;
}

/*
 * The guest's `seq 1 170000` (1,078,895 bytes) through the interrupt-driven
 * UART, byte for byte. Kernel warnings (with `quiet`, only those) are not
 * the program's output: they are taken out before comparing.
 */
Test(linux_boot, one_mib_of_console_output)
{
	static struct squib_run runs[2];
	const unsigned long n = 170000;
	const struct linux_boot b = { .cpus = 1, .memory_mib = 256, .run = "seq 1 170000", .timeout_s = 900 };
	struct squib_run *r = linux_run(runs, &b);
	size_t len;
	char *want = seq_text(n, &len);
	const char *start, *got;
	unsigned kernel_lines;

	linux_assert_ran(r, 1);
	cr_assert_geq(len, 1u << 20, "the pattern must be at least 1 MiB");
	kernel_lines = strip_kernel_log(r->console);
	if (kernel_lines)
		cr_log_info("%u kernel log lines taken out of the console text", kernel_lines);
	start = strstr(r->console, "\n1\n2\n3\n");
	cr_assert_not_null(start, "no '1' line on the console\n%s", squib_describe(r));
	got = start + 1;
	cr_assert_geq(strlen(got), len, "the console has %zu bytes after '1', expected %zu", strlen(got), len);
	for (size_t i = 0; i < len; i++)
		cr_assert_eq(got[i], want[i], "byte %zu of the output differs ('%.16s' vs '%.16s')", i, got + i, want + i);
	free(want);
}

/* reboot in the guest: the ACPI reset register (port 0x64, 0xFE) ends the VM with 0 by default. */
Test(linux_boot, reboot_ends_the_vm)
{
	static struct squib_run runs[2];
	const struct linux_boot b = { .cpus = 1, .memory_mib = 256, .run = "reboot -f" };
	struct squib_run *r = linux_run(runs, &b);

	cr_assert(strstr(r->console, "SQUIB-LINUX-READY"), "%s", squib_describe(r));
	cr_assert_eq(r->status, SQUIB_EXIT_OK, "%s", squib_describe(r));
	cr_assert(contains_ci(r->err, "guest reset"), "the monitor did not see a reset\n%s", squib_describe(r));
}
