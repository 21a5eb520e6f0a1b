/* SPDX-License-Identifier: MIT */
/*
 * Linux's own virtio-blk and virtio-rng drivers against squib's devices:
 * mkfs.ext4 in the guest, checked by e2fsck and read back with debugfs on
 * the host side; a read-only disk stays byte-identical; /dev/hwrng gives
 * bytes from virtio-rng.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/linux/linux_guest.h"

TestSuite(linux_disk, .fini = squib_teardown);

#define SEQ_N 300000UL /* `seq 1 300000`: about 2 MiB */

static char *file_text(const char *dir, const char *name)
{
	char path[PATH_MAX + 64];
	char *t;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	t = slurp(path);
	return t ? t : "(nothing)";
}

Test(linux_disk, ext4_made_by_the_guest_checks_clean_on_the_host)
{
	static struct squib_run runs[LINUX_ATTEMPTS];
	static char img[PATH_MAX], disk[PATH_MAX + 8], out[PATH_MAX];
	const char *extra[] = { "--disk", disk, NULL };
	const struct linux_boot b = {
		.cpus = 2,
		.memory_mib = 256,
		.run = "mkfs.ext4 -q -F -L squib /dev/vda && mount -t ext4 /dev/vda /mnt && seq 1 300000 > /mnt/seq.txt "
		       "&& mkdir /mnt/dir && echo hello from the guest > /mnt/dir/hello && sync && umount /mnt",
		.extra = extra,
	};
	struct squib_run *r;
	size_t len;
	char *want, *got;

	const char *scratch = linux_scratch_dir();

	snprintf(img, sizeof(img), "%s/ext4.img", scratch);
	make_file(img, 64u << 20);
	snprintf(disk, sizeof(disk), "%s", img);
	r = linux_run(runs, &b);
	linux_assert_ran(r, 2);
	cr_assert_eq(host_sh("e2fsck -fn %s >%s/e2fsck.out 2>&1", img, r->dir), 0, "e2fsck -fn finds errors:\n%s",
		     file_text(r->dir, "e2fsck.out"));
	snprintf(out, sizeof(out), "%s/seq.txt", r->dir);
	cr_assert_eq(host_sh("debugfs -R 'dump /seq.txt %s' %s >/dev/null 2>&1", out, img), 0, "debugfs failed");
	want = seq_text(SEQ_N, &len);
	got = slurp(out);
	cr_assert_not_null(got, "debugfs wrote no %s", out);
	cr_assert_eq(strlen(got), len, "seq.txt is %zu bytes, expected %zu", strlen(got), len);
	cr_assert(!memcmp(got, want, len), "seq.txt differs from what the guest wrote");
	cr_assert_eq(host_sh("debugfs -R 'cat /dir/hello' %s 2>/dev/null | grep -qx 'hello from the guest'", img), 0,
		     "/dir/hello is not there");
	free(want);
	free(got);
	linux_scratch_remove(scratch);
}

Test(linux_disk, read_only_disk_stays_byte_identical)
{
	static struct squib_run runs[LINUX_ATTEMPTS];
	static char img[PATH_MAX], disk[PATH_MAX + 8];
	const char *extra[] = { "--disk", disk, NULL };
	/* The writes must fail; the command succeeds only if they all did and a read worked. */
	const struct linux_boot b = {
		.cpus = 1,
		.memory_mib = 256,
		.run = "cat /sys/block/vda/ro; ! dd if=/dev/zero of=/dev/vda bs=4096 count=16 conv=fsync 2>/dev/null "
		       "&& ! mkfs.ext4 -q -F /dev/vda 2>/dev/null && test $(head -c 65536 /dev/vda | wc -c) = 65536",
		.extra = extra,
	};
	struct squib_run *r;
	unsigned long long before;
	FILE *f;

	const char *scratch = linux_scratch_dir();

	snprintf(img, sizeof(img), "%s/ro.img", scratch);
	f = fopen(img, "w");
	cr_assert_not_null(f);
	for (unsigned i = 0; i < (8u << 20) / 4; i++)
		fwrite(&i, 4, 1, f);
	cr_assert_eq(fclose(f), 0);
	snprintf(disk, sizeof(disk), "%s,ro", img);
	before = file_hash(img);
	r = linux_run(runs, &b);
	linux_assert_ran(r, 1);
	cr_assert(strstr(r->console, "\n1\n"), "the guest does not see /dev/vda as read-only\n%s", linux_describe(r));
	cr_assert_eq(file_hash(img), before, "the read-only image changed");
	linux_scratch_remove(scratch);
}

Test(linux_disk, hwrng_gives_bytes)
{
	static struct squib_run runs[LINUX_ATTEMPTS];
	const char *extra[] = { "--rng", NULL };
	/* 64-byte reads: each is one virtio-rng request (Linux's buffer is 64 bytes). */
	const struct linux_boot b = {
		.cpus = 1,
		.memory_mib = 256,
		.run = "cat /sys/class/misc/hw_random/rng_current; dd if=/dev/hwrng bs=64 count=4 2>/dev/null | wc -c",
		.extra = extra,
	};
	struct squib_run *r = linux_run(runs, &b);

	linux_assert_ran(r, 1);
	cr_assert(strstr(r->console, "virtio_rng"), "hw_random does not use virtio-rng\n%s", linux_describe(r));
	cr_assert(strstr(r->console, "\n256\n"), "/dev/hwrng did not give 256 bytes\n%s", linux_describe(r));
}
