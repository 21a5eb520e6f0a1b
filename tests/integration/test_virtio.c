/* SPDX-License-Identifier: MIT */
/*
 * virtio devices end to end: the test guest's own drivers (tests/guest/)
 * against squib's device workers, and what /proc shows of those workers.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tests/lib/harness.h"

TestSuite(virtio, .fini = squib_teardown);

#define MAX_KIDS 64

/* Does process pid hold an fd on /dev/kvm (or a KVM vm/vcpu fd)? */
static bool holds_kvm_fd(pid_t pid, char *what, size_t what_len)
{
	char dir[64], link[384], target[PATH_MAX];
	struct dirent *de;
	bool found = false;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	d = opendir(dir);
	cr_assert(d, "cannot list %s", dir);
	while (!found && (de = readdir(d))) {
		ssize_t n;

		if (de->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "%s/%.256s", dir, de->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = '\0';
		if (strstr(target, "/dev/kvm") || strstr(target, "kvm-vm") || strstr(target, "kvm-vcpu")) {
			snprintf(what, what_len, "fd %.32s -> %.200s", de->d_name, target);
			found = true;
		}
	}
	closedir(d);
	return found;
}

Test(virtio, rng_reads_entropy)
{
	static struct squib_run r;

	squib_run_init(&r);
	squib_start_guest(&r, 1, true, "rng", "--rng", NULL);
	squib_finish(&r);
	squib_assert_pass(&r);
}

/* Each virtio device is a process of its own, under seccomp, with no KVM fd; nor does the spawner hold one. */
Test(virtio, each_device_in_its_own_sandboxed_process)
{
	static struct squib_run r;
	struct proc_entry kids[MAX_KIDS], spawner;
	char held[PATH_MAX + 64];
	int nkids, rng = 0;

	squib_run_init(&r);
	squib_start_guest(&r, 1, true, "spin", "--rng", NULL);
	cr_assert(squib_wait_console(&r, "spinning", squib_timeout()), "%s", squib_describe(&r));
	nkids = proc_workers(r.pid, kids, MAX_KIDS, &spawner);
	cr_assert_gt(spawner.pid, 0, "no squib-spawner child\n%s", squib_describe(&r));
	cr_assert(!holds_kvm_fd(spawner.pid, held, sizeof(held)), "the spawner (pid %d) holds %s", (int)spawner.pid,
		  held);
	for (int i = 0; i < nkids; i++) {
		char what[PATH_MAX + 64];

		if (!proc_is_device_worker(&kids[i]))
			continue;
		cr_assert_eq(kids[i].seccomp, 2, "device worker %s (pid %d) has Seccomp: %d", kids[i].comm,
			     (int)kids[i].pid, kids[i].seccomp);
		cr_assert(!holds_kvm_fd(kids[i].pid, what, sizeof(what)), "device worker %s (pid %d) holds %s",
			  kids[i].comm, (int)kids[i].pid, what);
		if (proc_device_is(&kids[i], "rng0"))
			rng++;
	}
	cr_assert_eq(rng, 1, "expected one virtio-rng worker among %d children\n%s", nkids, squib_describe(&r));
	squib_run_cleanup(&r);
}

/* Malformed chains put the device in DEVICE_NEEDS_RESET; a reset brings it back. */
Test(virtio, hostile_chains_rng)
{
	static struct squib_run r;

	squib_run_init(&r);
	squib_start_guest(&r, 1, true, "hostile dev=rng", "--rng", NULL);
	squib_finish(&r);
	squib_assert_pass(&r);
	cr_assert(strstr(r.err, "device needs reset"), "the worker logged no reason\n%s", squib_describe(&r));
}

/* ---- virtio-blk ----------------------------------------------------------- */



static void disk_path(struct squib_run *r, const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", r->dir, name);
}

/*
 * Reads the whole image into buf (static storage: a failed assertion must
 * not leak it); asserts.
 */
static uint8_t *read_image(const char *path, uint8_t *buf, size_t size)
{
	FILE *f = fopen(path, "rb");

	cr_assert(f, "cannot read %s", path);
	cr_assert_eq(fread(buf, 1, size, f), size, "short read of %s", path);
	fclose(f);
	return buf;
}

/* The guest writes a pattern across the disk; the host checks every sector of the last pass. */
Test(virtio, blk_verify_and_host_checks_the_image)
{
	static struct squib_run r;
	const size_t size = 4u << 20;
	char path[PATH_MAX], arg[PATH_MAX + 32];
	static uint8_t img[4u << 20];
	uint8_t expect[BLK_SECTOR];

	squib_run_init(&r);
	disk_path(&r, "disk.img", path, sizeof(path));
	make_file(path, size);
	snprintf(arg, sizeof(arg), "%s,id=verify-disk", path);
	squib_start_guest(&r, 1, true, "blk-verify passes=2 seed=7 qd=8 bs=8192", "--disk", arg, NULL);
	squib_finish(&r);
	squib_assert_pass(&r);
	cr_assert(strstr(r.console, "blk-verify: id=verify-disk\n"), "%s", squib_describe(&r));
	cr_assert(strstr(r.console, "blk-verify: 8192 sectors verified in 2 passes"), "%s", squib_describe(&r));
	read_image(path, img, size);
	for (uint64_t s = 0; s < size / BLK_SECTOR; s++) {
		blk_pattern(s, 1, 7, expect);
		cr_assert(memcmp(img + s * BLK_SECTOR, expect, BLK_SECTOR) == 0,
			  "sector %llu of the image does not hold pass 1's pattern", (unsigned long long)s);
	}
}

/* Writes to a read-only disk fail with IOERR and leave the image byte-identical. */
Test(virtio, blk_read_only_image_unchanged)
{
	static struct squib_run r;
	const size_t size = 1u << 20;
	char path[PATH_MAX], arg[PATH_MAX + 32];
	static uint8_t before[1u << 20], after[1u << 20];
	FILE *f;

	squib_run_init(&r);
	disk_path(&r, "ro.img", path, sizeof(path));
	f = fopen(path, "wb");
	cr_assert(f);
	for (size_t i = 0; i < size; i++)
		fputc((int)((i * 7 + 3) & 0xff), f);
	fclose(f);
	read_image(path, before, size);
	snprintf(arg, sizeof(arg), "%s,ro", path);
	squib_start_guest(&r, 1, true, "blk-ro", "--disk", arg, NULL);
	squib_finish(&r);
	squib_assert_pass(&r);
	read_image(path, after, size);
	cr_assert(memcmp(before, after, size) == 0, "the read-only image changed");
}

Test(virtio, hostile_chains_blk)
{
	static struct squib_run r;
	char path[PATH_MAX];

	squib_run_init(&r);
	disk_path(&r, "hostile.img", path, sizeof(path));
	make_file(path, 1u << 20);
	squib_start_guest(&r, 1, true, "hostile dev=blk", "--disk", path, NULL);
	squib_finish(&r);
	squib_assert_pass(&r);
}

/* Every vCPU does block and entropy I/O at once through shared queues. */
Test(virtio, smp_io_from_every_vcpu)
{
	static struct squib_run r;
	char path[PATH_MAX];

	squib_run_init(&r);
	disk_path(&r, "smp.img", path, sizeof(path));
	make_file(path, 1u << 20);
	squib_start_guest(&r, 4, true, "virtio-smp sectors=64 iters=4", "--disk", path, "--rng", NULL);
	squib_finish(&r);
	squib_assert_pass(&r);
	for (int i = 0; i < 4; i++) {
		char line[32];

		snprintf(line, sizeof(line), "vcpu %d ok\n", i);
		cr_assert(strstr(r.console, line), "missing 'vcpu %d ok'\n%s", i, squib_describe(&r));
	}
}

/* A disk image another VM holds read-write is refused with a clear message, and left alone. */
Test(virtio, blk_locked_image_refused)
{
	static struct squib_run a, b;
	char path[PATH_MAX];

	squib_run_init(&a);
	squib_run_init(&b);
	disk_path(&a, "shared.img", path, sizeof(path));
	make_file(path, 1u << 20);
	squib_start_guest(&a, 1, true, "spin", "--disk", path, NULL);
	cr_assert(squib_wait_console(&a, "spinning", squib_timeout()), "%s", squib_describe(&a));
	squib_start_guest(&b, 1, true, "exit", "--disk", path, NULL);
	squib_finish(&b);
	cr_assert_eq(b.status, SQUIB_EXIT_SETUP, "%s", squib_describe(&b));
	cr_assert(contains_ci(b.err, "in use"), "%s", squib_describe(&b));
	squib_run_cleanup(&a);
}
