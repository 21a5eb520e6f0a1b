/* SPDX-License-Identifier: MIT */
/*
 * Command-line and kernel-file errors: status 1 (set-up failure, naming
 * the file) or 2 (usage error), and no guest runs. None of these need a
 * working /dev/kvm if the monitor validates its input first.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tests/lib/harness.h"

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

/* ---- Linux boot inputs (issue 4) ------------------------------------------ */

#define BZ_SETUP_SIZE 0x1000
#define BZ_PAYLOAD_SIZE 0x3000

static void put(uint8_t *img, size_t off, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		img[off + i] = (uint8_t)(v >> (8 * i));
}

/*
 * Writes a small bzImage that parses (protocol 2.15, 64-bit entry,
 * relocatable): payload_len bytes after the setup sectors, whatever its
 * header claims; init_size and cmdline_size as given.
 */
static void make_bzimage(const char *path, size_t payload_len, uint32_t init_size, uint32_t cmdline_size)
{
	static uint8_t img[BZ_SETUP_SIZE + BZ_PAYLOAD_SIZE];
	FILE *f;

	memset(img, 0, sizeof(img));
	put(img, 0x1f1, BZ_SETUP_SIZE / 512 - 1, 1); /* setup_sects */
	put(img, 0x1f4, BZ_PAYLOAD_SIZE / 16, 4);     /* syssize */
	put(img, 0x1fe, 0xaa55, 2);
	put(img, 0x200, 0x6aeb, 2);                   /* jump: header ends at 0x26c */
	memcpy(img + 0x202, "HdrS", 4);
	put(img, 0x206, 0x020f, 2);
	put(img, 0x211, 0x01, 1);                     /* LOADED_HIGH */
	put(img, 0x22c, 0x7fffffff, 4);               /* initrd_addr_max */
	put(img, 0x230, 0x200000, 4);                 /* kernel_alignment */
	put(img, 0x234, 1, 1);                        /* relocatable */
	put(img, 0x236, 0x3, 2);                      /* XLF_KERNEL_64 */
	put(img, 0x238, cmdline_size, 4);
	put(img, 0x258, 0x1000000, 8);                /* pref_address */
	put(img, 0x260, init_size, 4);
	for (size_t i = BZ_SETUP_SIZE; i < sizeof(img); i++)
		img[i] = 0xf4; /* hlt: never run by these tests */
	f = fopen(path, "w");
	cr_assert_not_null(f, "cannot create %s", path);
	cr_assert_eq(fwrite(img, 1, BZ_SETUP_SIZE + payload_len, f), BZ_SETUP_SIZE + payload_len);
	cr_assert_eq(fclose(f), 0);
}

static void write_text(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "cannot create %s", path);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

/* Runs `start` with extra (NULL-terminated); expects status 1, stderr mentioning every needle, nothing left. */
static void expect_setup_error(struct squib_run *r, const char *const *extra, const char *const *needles)
{
	const char *args[24] = { "start", "--console", r->console_path };
	size_t n = 3;

	for (; *extra; extra++)
		args[n++] = *extra;
	args[n] = NULL;
	squib_start(r, args);
	squib_finish(r);
	cr_assert_eq(r->status, SQUIB_EXIT_SETUP, "expected status 1\n%s", squib_describe(r));
	for (; *needles; needles++)
		cr_assert(contains_ci(r->err, *needles), "stderr does not mention '%s'\n%s", *needles, squib_describe(r));
	/* One error line (sanitizer reports aside). */
	cr_assert(strchr(r->err, '\n') == NULL || strchr(r->err, '\n')[1] == '\0' || strstr(r->err, "Sanitizer"),
		  "more than one error line\n%s", squib_describe(r));
	/* The monitor led its own process group: nothing of it may remain. */
	cr_assert(kill(-r->pid, 0) < 0 && errno == ESRCH, "processes left behind\n%s", squib_describe(r));
}

#define SETUP_ERROR(r, extra, ...) \
	expect_setup_error((r), (extra), (const char *const[]){ __VA_ARGS__, NULL })

/* A --kernel file with these bytes is refused: status 1 naming the file and what it is. */
static void expect_foreign_kernel(struct squib_run *r, const char *name, const void *bytes, size_t len,
				  const char *what)
{
	char path[PATH_MAX];
	const char *extra[] = { "--kernel", path, NULL };

	squib_run_init(r);
	snprintf(path, sizeof(path), "%s/%s", r->dir, name);
	write_text(path, bytes, len);
	SETUP_ERROR(r, extra, name, what);
}

Test(cli, kernel_elf_vmlinux_refused)
{
	static struct squib_run r;

	expect_foreign_kernel(&r, "vmlinux", "\x7f" "ELF\x02\x01\x01\x00\x00\x00", 10, "ELF");
}

Test(cli, kernel_text_file_refused)
{
	static struct squib_run r;
	const char text[] = "#!/bin/sh\necho this is not a kernel\n";

	expect_foreign_kernel(&r, "notes.txt", text, sizeof(text) - 1, "text file");
}

Test(cli, kernel_truncated_bzimage)
{
	static struct squib_run r;
	char path[PATH_MAX];
	const char *extra[] = { "--kernel", path, NULL };

	squib_run_init(&r);
	snprintf(path, sizeof(path), "%s/vmlinuz-cut", r.dir);
	make_bzimage(path, BZ_PAYLOAD_SIZE / 2, 0x800000, 2047);
	SETUP_ERROR(&r, extra, "vmlinuz-cut", "truncated");
}

Test(cli, bzimage_needs_more_memory)
{
	static struct squib_run r;
	char path[PATH_MAX];
	const char *extra[] = { "--kernel", path, "--memory", "16", NULL };

	squib_run_init(&r);
	snprintf(path, sizeof(path), "%s/vmlinuz", r.dir);
	make_bzimage(path, BZ_PAYLOAD_SIZE, 32u << 20, 2047);
	SETUP_ERROR(&r, extra, "vmlinuz", "too small", "init_size");
}

Test(cli, cmdline_longer_than_the_kernel_accepts)
{
	static struct squib_run r;
	static char cmdline[301];
	char path[PATH_MAX];
	const char *extra[] = { "--kernel", path, "--cmdline", cmdline, NULL };

	squib_run_init(&r);
	snprintf(path, sizeof(path), "%s/vmlinuz", r.dir);
	make_bzimage(path, BZ_PAYLOAD_SIZE, 0x800000, 255);
	memset(cmdline, 'x', sizeof(cmdline) - 1);
	SETUP_ERROR(&r, extra, "command line is 300 bytes", "at most 255");
}

Test(cli, initrd_missing_empty_or_too_big)
{
	static struct squib_run r1, r2, r3;
	char kernel[PATH_MAX], initrd[PATH_MAX];
	const char *extra[] = { "--kernel", kernel, "--initrd", initrd, "--memory", "16", NULL };

	squib_run_init(&r1);
	snprintf(kernel, sizeof(kernel), "%s/vmlinuz", r1.dir);
	make_bzimage(kernel, BZ_PAYLOAD_SIZE, 0x800000, 2047);
	snprintf(initrd, sizeof(initrd), "%s/no-such-initrd.img", r1.dir);
	SETUP_ERROR(&r1, extra, "initrd", "no-such-initrd.img", "No such file");

	squib_run_init(&r2);
	snprintf(initrd, sizeof(initrd), "%s/empty-initrd.img", r1.dir);
	make_file(initrd, 0);
	SETUP_ERROR(&r2, extra, "initrd", "empty-initrd.img", "empty");

	squib_run_init(&r3);
	snprintf(initrd, sizeof(initrd), "%s/huge-initrd.img", r1.dir);
	make_file(initrd, 17u << 20);
	SETUP_ERROR(&r3, extra, "initrd", "huge-initrd.img", "larger than the 16 MiB of guest RAM");
}

Test(cli, initrd_that_does_not_fit_beside_the_kernel)
{
	static struct squib_run r;
	char kernel[PATH_MAX], initrd[PATH_MAX];
	const char *extra[] = { "--kernel", kernel, "--initrd", initrd, "--memory", "16", NULL };

	squib_run_init(&r);
	snprintf(kernel, sizeof(kernel), "%s/vmlinuz", r.dir);
	make_bzimage(kernel, BZ_PAYLOAD_SIZE, 0x800000, 2047);
	snprintf(initrd, sizeof(initrd), "%s/initrd.img", r.dir);
	make_file(initrd, 12u << 20);
	SETUP_ERROR(&r, extra, "too small", "initrd");
}

Test(cli, initrd_with_a_raw_kernel)
{
	static struct squib_run r;
	char initrd[PATH_MAX];
	const char *extra[] = { "--kernel", squib_guest_path(), "--initrd", initrd, NULL };

	squib_run_init(&r);
	snprintf(initrd, sizeof(initrd), "%s/initrd.img", r.dir);
	make_file(initrd, 4096);
	SETUP_ERROR(&r, extra, "--initrd needs a Linux bzImage");
}
