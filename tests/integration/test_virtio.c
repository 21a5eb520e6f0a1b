/* SPDX-License-Identifier: MIT */
/*
 * virtio devices end to end: the test guest's own drivers (tests/guest/)
 * against squib's device workers, and what /proc shows of those workers.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tests/integration/harness.h"

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

/* Each virtio device is a process of its own, under seccomp, with no KVM fd. */
Test(virtio, each_device_in_its_own_sandboxed_process)
{
	static struct squib_run r;
	struct proc_entry kids[MAX_KIDS];
	int nkids, rng = 0;

	squib_run_init(&r);
	squib_start_guest(&r, 1, true, "spin", "--rng", NULL);
	cr_assert(squib_wait_console(&r, "spinning", squib_timeout()), "%s", squib_describe(&r));
	nkids = proc_children(r.pid, kids, MAX_KIDS);
	for (int i = 0; i < nkids; i++) {
		char what[PATH_MAX + 64];

		if (!proc_is_device_worker(&kids[i]))
			continue;
		cr_assert_eq(kids[i].seccomp, 2, "device worker %s (pid %d) has Seccomp: %d", kids[i].comm,
			     (int)kids[i].pid, kids[i].seccomp);
		cr_assert(!holds_kvm_fd(kids[i].pid, what, sizeof(what)), "device worker %s (pid %d) holds %s",
			  kids[i].comm, (int)kids[i].pid, what);
		if (proc_device_is(&kids[i], "virtio-rng"))
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
