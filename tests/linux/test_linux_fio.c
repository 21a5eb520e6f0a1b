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
	/* 64 MiB in 4 KiB blocks: every block written once and read back once by the verify pass. */
	linux_assert_fio_verified(r, 16384);
	linux_assert_ran(r, 2);
	linux_scratch_remove(scratch);
}
