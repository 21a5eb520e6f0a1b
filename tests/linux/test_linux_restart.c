/* SPDX-License-Identifier: MIT */
/*
 * Crash isolation with Linux as the client: Debian's fio runs a verifying
 * random-write job on virtio-blk (crc32c, queue depth 16, 2 vCPUs) while
 * the test SIGKILLs the blk worker 10 times. fio finishes with no error and
 * no verify failure, and the kernel logs no I/O error: the guest saw
 * pauses only. The same with an ext4 file system being written across 5
 * kills: e2fsck -fn on the host finds it clean, and the last file reads
 * back byte for byte.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/linux/linux_guest.h"

TestSuite(linux_restart, .fini = squib_teardown);

#define FIO_JOB                                                                                                 \
	"fio --name=verify --filename=/dev/vda --ioengine=libaio --direct=1 --rw=randwrite --bs=4k --iodepth=16 " \
	"--size=32M --verify=crc32c --do_verify=1"
#define FIO_TIMEOUT_S 900.0
#define KILLS 10

/*
 * Kills device name's worker kills times, 0.5 to 1.5 s apart (10 kills fit
 * well inside the fio job even under the sanitizers; 1 to 3 s apart did
 * not always). 0, or the kill that found no worker.
 */
static unsigned kill_worker(struct squib_run *r, const char *name, unsigned kills)
{
	pid_t victim = 0;

	for (unsigned k = 0; k < kills; k++) {
		sleep_s(0.5 + (double)(rand() % 1000) / 1000.0);
		victim = squib_wait_device_worker(r, name, victim, 60.0);
		if (victim <= 0 || kill(victim, SIGKILL) < 0)
			return k + 1;
	}
	return 0;
}

Test(linux_restart, fio_verify_survives_10_kills_of_the_blk_worker)
{
	static struct squib_run runs[LINUX_ATTEMPTS];
	static char img[PATH_MAX];
	const char *extra[] = { "--disk", img, "--restart-budget", "64/60", NULL };
	const struct linux_boot b = {
		.cpus = 2,
		.memory_mib = 512,
		.run = FIO_JOB,
		.extra = extra,
		.timeout_s = FIO_TIMEOUT_S,
		.initrd = "initramfs-fio.cpio.gz",
	};
	const char *scratch = linux_scratch_dir();
	struct squib_run *r = NULL;
	unsigned missed = 0;

	srand((unsigned)getpid());
	snprintf(img, sizeof(img), "%s/fio.img", scratch);
	make_file(img, 96u << 20); /* sparse */
	for (int attempt = 0; attempt < LINUX_ATTEMPTS; attempt++) {
		r = &runs[attempt];
		linux_start(r, &b);
		if (squib_wait_console(r, "\nfio-", linux_timeout()))
			missed = kill_worker(r, "blk0", KILLS);
		squib_wait(r, FIO_TIMEOUT_S);
		linux_console_strip_cr(r);
		if (!linux_retry_emulator_fault(r, &b, attempt))
			break;
	}
	cr_assert_eq(missed, 0, "kill %u found no blk0 worker\n%s", missed, linux_describe(r));
	cr_assert(!strstr(r->console, "I/O error"), "the kernel logged an I/O error\n%s", linux_describe(r));
	/* 32 MiB in 4 KiB blocks (half the linux_fio job: the kills need it running for ~20 s, not longer). */
	linux_assert_fio_verified(r, 8192);
	linux_assert_ran(r, 2);
	cr_assert_eq(count_lines_containing(r->err, "device blk0 restarted"), KILLS, "%s", linux_describe(r));
	squib_log_restart_gaps(r, "blk0");
	linux_scratch_remove(scratch);
}

#define EXT4_FILES 8
#define EXT4_KILLS 5
#define SEQ_N 300000

Test(linux_restart, ext4_written_across_5_kills_checks_clean)
{
	static struct squib_run runs[LINUX_ATTEMPTS];
	static char img[PATH_MAX], out[PATH_MAX];
	const char *extra[] = { "--disk", img, "--restart-budget", "64/60", NULL };
	const struct linux_boot b = {
		.cpus = 2,
		.memory_mib = 256,
		.run = "mkfs.ext4 -q -F -L squib /dev/vda && mount -t ext4 /dev/vda /mnt && echo ext4-writing && "
		       "for i in $(seq 1 8); do seq 1 300000 > /mnt/seq$i.txt && sync || exit 1; done && umount /mnt",
		.extra = extra,
	};
	const char *scratch = linux_scratch_dir();
	struct squib_run *r = NULL;
	unsigned missed = 0;
	size_t len;
	char *want, *got;

	srand((unsigned)getpid() ^ 0xe4);
	snprintf(img, sizeof(img), "%s/ext4.img", scratch);
	make_file(img, 64u << 20);
	for (int attempt = 0; attempt < LINUX_ATTEMPTS; attempt++) {
		r = &runs[attempt];
		linux_start(r, &b);
		if (squib_wait_console(r, "ext4-writing", linux_timeout()))
			missed = kill_worker(r, "blk0", EXT4_KILLS);
		squib_wait(r, linux_timeout() * 3);
		linux_console_strip_cr(r);
		if (!linux_retry_emulator_fault(r, &b, attempt))
			break;
	}
	cr_assert_eq(missed, 0, "kill %u found no blk0 worker\n%s", missed, linux_describe(r));
	cr_assert(!strstr(r->console, "I/O error"), "the kernel logged an I/O error\n%s", linux_describe(r));
	cr_assert(!strstr(r->console, "EXT4-fs error"), "ext4 logged an error\n%s", linux_describe(r));
	linux_assert_ran(r, 2);
	cr_assert_eq(count_lines_containing(r->err, "device blk0 restarted"), EXT4_KILLS, "%s", linux_describe(r));
	cr_assert_eq(host_sh("e2fsck -fn %s >%s/e2fsck.out 2>&1", img, r->dir), 0, "e2fsck -fn finds errors (see %s)",
		     r->dir);
	snprintf(out, sizeof(out), "%s/seq.txt", r->dir);
	cr_assert_eq(host_sh("debugfs -R 'dump /seq%d.txt %s' %s >/dev/null 2>&1", EXT4_FILES, out, img), 0,
		     "debugfs failed");
	want = seq_text(SEQ_N, &len);
	got = slurp(out);
	cr_assert_not_null(got, "debugfs wrote no %s", out);
	cr_assert_eq(strlen(got), len, "seq%d.txt is %zu bytes, expected %zu", EXT4_FILES, strlen(got), len);
	cr_assert(!memcmp(got, want, len), "seq%d.txt differs from what the guest wrote", EXT4_FILES);
	free(want);
	free(got);
	squib_log_restart_gaps(r, "blk0");
	linux_scratch_remove(scratch);
}

/*
 * The serial console across 5 SIGKILLs of the uart worker: the guest's
 * `seq` output (interrupt-driven 8250 driver) arrives with no line lost or
 * doubled, since output goes through the console rings the monitor drains
 * and the uart's registers and counts resume from its state region.
 */
#define SEQ_LINES 12000ul
#define UART_KILLS 5

Test(linux_restart, seq_on_the_console_survives_5_kills_of_the_uart_worker)
{
	static struct squib_run runs[LINUX_ATTEMPTS];
	const char *extra[] = { "--restart-budget", "64/60", NULL };
	const struct linux_boot b = {
		.cpus = 1,
		.memory_mib = 256,
		.run = "seq 1 12000",
		.extra = extra,
		.timeout_s = 900,
	};
	struct squib_run *r = NULL;
	unsigned missed = 0, kernel_lines;
	size_t len;
	char *want = seq_text(SEQ_LINES, &len);
	const char *start;

	srand((unsigned)getpid());
	for (int attempt = 0; attempt < LINUX_ATTEMPTS; attempt++) {
		r = &runs[attempt];
		linux_start(r, &b);
		if (squib_wait_console(r, "\n1\r\n2\r\n3\r\n", linux_timeout())) /* raw: the tty's \r\n */
			missed = kill_worker(r, "uart", UART_KILLS);
		squib_wait(r, 900);
		linux_console_strip_cr(r);
		if (!linux_retry_emulator_fault(r, &b, attempt))
			break;
	}
	cr_assert_eq(missed, 0, "kill %u found no uart worker\n%s", missed, linux_describe(r));
	linux_assert_ran(r, 1);
	cr_assert_eq(count_lines_containing(r->err, "device uart restarted"), UART_KILLS, "%s", linux_describe(r));
	kernel_lines = linux_console_strip_kernel_log(r->console);
	if (kernel_lines)
		cr_log_info("%u kernel log lines taken out of the console text", kernel_lines);
	start = strstr(r->console, "\n1\n2\n3\n");
	cr_assert_not_null(start, "no '1' line on the console\n%s", linux_describe(r));
	start++;
	cr_assert_geq(strlen(start), len, "the console has %zu bytes after '1', expected %zu (lines lost)\n%s",
		      strlen(start), len, linux_describe(r));
	for (size_t i = 0; i < len; i++)
		cr_assert_eq(start[i], want[i], "byte %zu differs ('%.24s' vs '%.24s'): a line lost or doubled", i,
			     start + i, want + i);
	squib_log_restart_gaps(r, "uart");
	free(want);
}
