/* SPDX-License-Identifier: MIT */
/*
 * Debian's fio in the guest (the fio layer, initramfs-fio.cpio.gz; see
 * guest/linux/README.md): 64 MiB of 4 KiB random writes at queue depth 16
 * through Linux's virtio-blk driver on 2 vCPUs, each block carrying a crc32c
 * header, then read back and verified by fio.
 *
 * Slow under nested emulation: 16384 writes and 16384 verifying reads took
 * 65 s to 3 minutes in the nested test host; hence its own deadline.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "tests/linux/linux_guest.h"

TestSuite(linux_fio, .fini = squib_teardown);

#define FIO_JOB                                                                                                 \
	"fio --name=verify --filename=/dev/vda --ioengine=libaio --direct=1 --rw=randwrite --bs=4k --iodepth=16 " \
	"--size=64M --verify=crc32c --do_verify=1"
#define FIO_TIMEOUT_S 600.0 /* the other boots get 120 s */

/*
 * fio's verify errors: "verify: bad magic header ...", "verify: bad header
 * ...", "crc32c: verify failed at file ...", "fio: pid=N, err=84/file:verify.c".
 * The job is named verify, so its own lines start "verify: (g=0)" and
 * "verify: (groupid=0": any other "verify: " is an error.
 */
static void assert_no_verify_error(struct squib_run *r)
{
	for (const char *p = strstr(r->console, "verify: "); p; p = strstr(p + 1, "verify: "))
		cr_assert(p[8] == '(', "fio reports a verify error: %.120s\n%s", p, linux_describe(r));
	cr_assert(!strstr(r->console, "bad magic"), "fio reports a bad magic header\n%s", linux_describe(r));
	cr_assert(!strstr(r->console, "crc32c:"), "fio reports a crc32c mismatch\n%s", linux_describe(r));
	cr_assert(!strstr(r->console, "verify failed"), "fio reports a failed verify\n%s", linux_describe(r));
}

Test(linux_fio, randwrite_verify_two_vcpus)
{
	static struct squib_run runs[LINUX_ATTEMPTS];
	static char img[PATH_MAX];
	const char *extra[] = { "--disk", img, NULL };
	const struct linux_boot b = {
		.cpus = 2,
		.memory_mib = 512,
		.run = FIO_JOB,
		.extra = extra,
		.timeout_s = FIO_TIMEOUT_S,
		.initrd = "initramfs-fio.cpio.gz",
	};
	const char *scratch = linux_scratch_dir();
	struct squib_run *r;

	snprintf(img, sizeof(img), "%s/fio.img", scratch);
	make_file(img, 96u << 20); /* sparse */
	r = linux_run(runs, &b);
	cr_assert(strstr(r->console, "\nfio-"), "fio did not start (no version line)\n%s", linux_describe(r));
	assert_no_verify_error(r);
	linux_assert_ran(r, 2);
	cr_assert(strstr(r->console, "verify: (groupid=0, jobs=1): err= 0:"), "fio's job ended with an error\n%s",
		  linux_describe(r));
	/* 64 MiB in 4 KiB blocks: every block written once and read back once by the verify pass. */
	cr_assert(strstr(r->console, "issued rwts: total=16384,16384,"), "fio did not write and verify every block\n%s",
		  linux_describe(r));
	linux_scratch_remove(scratch);
}
