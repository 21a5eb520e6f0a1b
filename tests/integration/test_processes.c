/* SPDX-License-Identifier: MIT */
/*
 * The process model, seen from /proc: one vCPU worker per vCPU (a
 * clone(CLONE_VM | CLONE_PARENT) of the short-lived VM process, so a child
 * of the monitor that does not share its memory) and one squib-device worker per
 * device, every one of them under a seccomp filter (Seccomp: 2); SIGTERM /
 * SIGINT stop everything with 128 + signal; a device worker that cannot be
 * restarted (the uart, for now) killed with SIGKILL ends the VM with status
 * 4; no worker outlives the monitor.
 *
 * Worker identification is loose on purpose (harness.h): a device worker
 * has "squib-device" in its comm or command line; a vCPU worker has a comm
 * starting with "squib-vcpu", or shares the monitor's executable.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <linux/kcmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "tests/lib/harness.h"

TestSuite(processes, .fini = squib_teardown);

#define MAX_KIDS 64

struct workers {
	struct proc_entry monitor;
	struct proc_entry spawner; /* pid 0 until seen */
	struct proc_entry kids[MAX_KIDS];
	int nkids;
	int vcpus;
	int devices;
	int sandboxed; /* kids with Seccomp: 2 */
	bool uart, testdev;
};

static void classify(struct squib_run *r, struct workers *w)
{
	memset(w, 0, sizeof(*w));
	if (!proc_read(r->pid, &w->monitor))
		return;
	w->nkids = proc_workers(r->pid, w->kids, MAX_KIDS, &w->spawner);
	for (int i = 0; i < w->nkids; i++) {
		const struct proc_entry *k = &w->kids[i];

		if (k->seccomp == 2)
			w->sandboxed++;
		if (proc_is_device_worker(k)) {
			w->devices++;
			if (proc_device_is(k, "testdev"))
				w->testdev = true;
			else if (proc_device_is(k, "uart"))
				w->uart = true;
		} else if (proc_is_vcpu_worker(k, &w->monitor)) {
			w->vcpus++;
		}
	}
}

static const char *describe_workers(const struct workers *w)
{
	static char buf[8192];
	size_t len = 0;

	len += (size_t)snprintf(buf, sizeof(buf), "monitor pid %d exe '%s'; spawner pid %d; %d workers:\n",
				(int)w->monitor.pid, w->monitor.exe, (int)w->spawner.pid, w->nkids);
	for (int i = 0; i < w->nkids && len < sizeof(buf); i++) {
		const struct proc_entry *k = &w->kids[i];

		len += (size_t)snprintf(buf + len, sizeof(buf) - len,
					"  pid %d state %c comm '%s' seccomp %d exe '%s' cmdline '%s'\n", (int)k->pid,
					k->state, k->comm, k->seccomp, k->exe, k->cmdline);
	}
	return buf;
}

/*
 * Waits (up to the test timeout) until the monitor shows the expected
 * workers, all sandboxed. Returns with w filled from the last look.
 */
static bool wait_for_workers(struct squib_run *r, struct workers *w, int vcpus, int devices)
{
	double deadline = now_s() + squib_timeout();

	for (;;) {
		classify(r, w);
		if (w->vcpus == vcpus && w->devices == devices && w->sandboxed == w->nkids && w->spawner.pid > 0)
			return true;
		if (now_s() >= deadline)
			return false;
		sleep_s(0.1);
	}
}

/* After the monitor has been reaped: none of its children may remain (zombies included). */
static void assert_no_leftovers(struct squib_run *r, const struct workers *w)
{
	double deadline = now_s() + 2.0;
	char state = '?';
	int left;

	for (;;) {
		left = -1;
		for (int i = 0; i < w->nkids; i++) {
			if (proc_still_exists(&w->kids[i], &state)) {
				left = i;
				break;
			}
		}
		if (left < 0 && w->spawner.pid > 0 && proc_still_exists(&w->spawner, &state))
			left = MAX_KIDS;
		if (left < 0 || now_s() >= deadline)
			break;
		sleep_s(0.05);
	}
	cr_assert(left < 0, "worker pid %d (comm '%s') still exists in state %c after the monitor exited\n%s",
		  left == MAX_KIDS ? (int)w->spawner.pid : left >= 0 ? (int)w->kids[left].pid : 0,
		  left == MAX_KIDS ? w->spawner.comm : left >= 0 ? w->kids[left].comm : "", state, squib_describe(r));
}

static void start_spinning(struct squib_run *r, unsigned cpus)
{
	squib_start_guest(r, cpus, true, "spin", NULL);
	cr_assert(squib_wait_console(r, "spinning\n", squib_timeout()), "guest did not start spinning\n%s",
		  squib_describe(r));
}

Test(processes, workers_sandboxed_and_sigterm_stops_all)
{
	static struct squib_run r; /* outlives the test: squib_teardown runs after it */
	static struct workers w;

	squib_run_init(&r);
	start_spinning(&r, 4);
	cr_assert(wait_for_workers(&r, &w, 4, 2),
		  "expected 4 vCPU workers and 2 device workers, all with Seccomp: 2; found %d vCPU, "
		  "%d device, %d of %d sandboxed\n%s\n%s",
		  w.vcpus, w.devices, w.sandboxed, w.nkids, describe_workers(&w), squib_describe(&r));
	cr_log_info("%s", describe_workers(&w));
	cr_assert(w.testdev, "no testdev device worker\n%s", describe_workers(&w));
	cr_assert(w.uart, "no uart device worker\n%s", describe_workers(&w));
	for (int i = 0; i < w.nkids; i++) {
		cr_assert_neq(w.kids[i].pid, r.pid, "a worker has the monitor's pid");
		for (int j = i + 1; j < w.nkids; j++)
			cr_assert_neq(w.kids[i].pid, w.kids[j].pid, "two workers share pid %d", (int)w.kids[i].pid);
	}

	cr_assert_eq(kill(r.pid, SIGTERM), 0, "kill: monitor already gone\n%s", squib_describe(&r));
	squib_finish(&r);
	cr_assert_eq(r.status, 128 + SIGTERM, "expected status 143 after SIGTERM\n%s", squib_describe(&r));
	assert_no_leftovers(&r, &w);
}

Test(processes, sigint_stops_all)
{
	static struct squib_run r; /* outlives the test: squib_teardown runs after it */
	static struct workers w;

	squib_run_init(&r);
	start_spinning(&r, 2);
	cr_assert(wait_for_workers(&r, &w, 2, 2), "workers did not appear\n%s\n%s", describe_workers(&w),
		  squib_describe(&r));
	cr_assert_eq(kill(r.pid, SIGINT), 0, "kill: monitor already gone\n%s", squib_describe(&r));
	squib_finish(&r);
	cr_assert_eq(r.status, 128 + SIGINT, "expected status 130 after SIGINT\n%s", squib_describe(&r));
	assert_no_leftovers(&r, &w);
}

/* With --device-restart never, a device worker's death is the old fail-stop: status 4, cause named. */
Test(processes, killed_device_worker_ends_vm_without_restarts)
{
	static struct squib_run r; /* outlives the test: squib_teardown runs after it */
	static struct workers w;
	const struct proc_entry *victim = NULL;
	char pid_str[16];

	squib_run_init(&r);
	squib_start_guest(&r, 1, true, "spin", "--device-restart", "never", NULL);
	cr_assert(squib_wait_console(&r, "spinning\n", squib_timeout()), "guest did not start spinning\n%s",
		  squib_describe(&r));
	cr_assert(wait_for_workers(&r, &w, 1, 2), "workers did not appear\n%s\n%s", describe_workers(&w),
		  squib_describe(&r));
	for (int i = 0; i < w.nkids; i++) {
		if (proc_is_device_worker(&w.kids[i]) && proc_device_is(&w.kids[i], "uart"))
			victim = &w.kids[i];
	}
	cr_assert(victim, "no squib-device child named squib-dev-uart\n%s", describe_workers(&w));
	cr_assert_eq(kill(victim->pid, SIGKILL), 0, "kill uart worker %d", (int)victim->pid);

	squib_finish(&r);
	cr_assert_eq(r.status, SQUIB_EXIT_DEVICE_DIED, "expected status 4\n%s", squib_describe(&r));
	snprintf(pid_str, sizeof(pid_str), "%d", (int)victim->pid);
	cr_assert(contains_ci(r.err, "uart") || strstr(r.err, pid_str),
		  "stderr names neither 'uart' nor pid %s\n%s", pid_str, squib_describe(&r));
	cr_assert(contains_ci(r.err, "SIGKILL") || contains_ci(r.err, "signal 9") || contains_ci(r.err, "killed"),
		  "stderr does not name the signal (SIGKILL / signal 9 / killed)\n%s", squib_describe(&r));
	assert_no_leftovers(&r, &w);
}

/*
 * A device worker that breaks its seccomp filter: the monitor names the
 * worker, its pid and the denied syscall, ends the VM with status 4 and
 * leaves no process behind. tests/fake-device enters the real device
 * sandbox, says READY, then calls getppid().
 */
/*
 * Runs a spinning guest whose device workers are all tests/fake-device in
 * mode ("" for the SIGSYS one), to its end.
 */
static void run_with_fake_devices(struct squib_run *r, const char *mode)
{
	static char fake[PATH_MAX], link[PATH_MAX + 64];

	snprintf(fake, sizeof(fake), "%s/tests/fake-device", squib_build_dir());
	cr_assert_eq(access(fake, X_OK), 0, "%s is missing: make %s", fake, fake);
	squib_run_init(r);
	if (*mode) {
		/* The mode travels in the name: device workers get an empty environment (sandbox/jail.h). */
		if (fake[0] != '/') {
			char cwd[PATH_MAX], rel[PATH_MAX];

			cr_assert_not_null(getcwd(cwd, sizeof(cwd)));
			snprintf(rel, sizeof(rel), "%s", fake);
			cr_assert_lt(snprintf(fake, sizeof(fake), "%s/%s", cwd, rel), (int)sizeof(fake));
		}
		snprintf(link, sizeof(link), "%s/fake-device-%s", r->dir, mode);
		cr_assert_eq(symlink(fake, link), 0, "symlink %s: %s", link, strerror(errno));
		cr_assert_eq(setenv("SQUIB_DEVICE_BINARY", link, 1), 0);
	} else {
		cr_assert_eq(setenv("SQUIB_DEVICE_BINARY", fake, 1), 0);
	}
	/* Fail-stop: every fake worker breaks the same way, so restarting it would only use up the budget. */
	squib_start_guest(r, 1, false, "spin", "--device-restart", "never", NULL);
	squib_finish(r);
}

Test(processes, seccomp_violation_names_the_syscall)
{
	static struct squib_run r; /* outlives the test: squib_teardown runs after it */

	run_with_fake_devices(&r, "");
	cr_assert_eq(r.status, SQUIB_EXIT_DEVICE_DIED, "expected status 4\n%s", squib_describe(&r));
	cr_assert(strstr(r.err, "device worker uart (pid "), "stderr names the worker\n%s", squib_describe(&r));
	cr_assert(strstr(r.err, "killed by SIGSYS: seccomp denied syscall getppid"),
		  "stderr names the signal and the syscall\n%s", squib_describe(&r));
}

/*
 * Only testdev may end the VM with a status: a uart worker that forges a
 * clean exit (CONTROL_VM_EXIT, status 0) ends it as a device failure
 * (status 4), named, never as the guest's exit 0.
 */
Test(processes, forged_vm_exit_from_a_device_is_a_device_failure)
{
	static struct squib_run r; /* outlives the test: squib_teardown runs after it */

	run_with_fake_devices(&r, "forge-exit");
	cr_assert_eq(r.status, SQUIB_EXIT_DEVICE_DIED, "expected status 4\n%s", squib_describe(&r));
	cr_assert(strstr(r.err, "device worker uart (pid ") &&
			  strstr(r.err, "sent CONTROL_VM_EXIT, which only testdev may send"),
		  "stderr names the worker and what it forged\n%s", squib_describe(&r));
}

/*
 * No silent wedge: device workers that say READY and then answer nothing.
 * The vCPU's first read of the uart waits VCPU_REPLY_DEADLINE_S (10 s),
 * says so, and the monitor treats the device as failed (here, with
 * --device-restart never, the VM ends with status 4).
 */
Test(processes, a_device_that_stops_answering_misses_the_deadline)
{
	static struct squib_run r; /* outlives the test: squib_teardown runs after it */

	run_with_fake_devices(&r, "hang");
	cr_assert_eq(r.status, SQUIB_EXIT_DEVICE_DIED, "expected status 4\n%s", squib_describe(&r));
	cr_assert(strstr(r.err, "has not answered a read in 10 s"), "the vCPU says it waited\n%s", squib_describe(&r));
	cr_assert(strstr(r.err, "did not answer vcpu0's read in 10 s"), "the monitor names the device\n%s",
		  squib_describe(&r));
}

/* ---- what the vCPU workers' memory holds (monitor/vm_process.h) ---------- */

/* Does pid's fd table hold a file whose link contains what? */
static bool holds_fd(pid_t pid, const char *what)
{
	char dir[64], path[PATH_MAX], link[PATH_MAX];
	struct dirent *e;
	bool found = false;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	d = opendir(dir);
	cr_assert_not_null(d, "cannot list %s", dir);
	while (!found && (e = readdir(d))) {
		ssize_t n;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		found = strstr(link, what) != NULL;
	}
	closedir(d);
	return found;
}

/* Does pid map a file (a memfd included) whose name contains what? */
static bool maps_file(pid_t pid, const char *what)
{
	char path[64], line[1024];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "r");
	cr_assert_not_null(f, "cannot read %s", path);
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, what) != NULL;
	fclose(f);
	return found;
}

/* kcmp(KCMP_VM): 0 when a and b share one mm. */
static long same_mm(pid_t a, pid_t b)
{
	return syscall(SYS_kcmp, a, b, KCMP_VM, 0, 0);
}

/*
 * The monitor creates no KVM object: the VM process does, and exits once
 * its vCPU workers run. The vCPU workers share one mm, which is not the
 * monitor's; the monitor holds no KVM fd and no longer maps guest RAM; the
 * disk image is held by the spawner and its blk worker only.
 */
Test(processes, vcpu_memory_is_not_the_monitors)
{
	static struct squib_run r; /* outlives the test: squib_teardown runs after it */
	static struct workers w;
	char disk[PATH_MAX];
	pid_t vcpu[2];
	int nv = 0;

	squib_run_init(&r);
	snprintf(disk, sizeof(disk), "%s/tenant-disk.img", r.dir);
	make_file(disk, 1u << 20);
	squib_start_guest(&r, 2, true, "spin", "--disk", disk, NULL);
	cr_assert(squib_wait_console(&r, "spinning\n", squib_timeout()), "guest did not start spinning\n%s",
		  squib_describe(&r));
	cr_assert(wait_for_workers(&r, &w, 2, 3), "workers did not appear\n%s\n%s", describe_workers(&w),
		  squib_describe(&r));
	for (int i = 0; i < w.nkids && nv < 2; i++)
		if (!proc_is_device_worker(&w.kids[i]) && proc_is_vcpu_worker(&w.kids[i], &w.monitor))
			vcpu[nv++] = w.kids[i].pid;
	cr_assert_eq(nv, 2, "%s", describe_workers(&w));
	for (int i = 0; i < w.nkids; i++)
		cr_assert(strcmp(w.kids[i].comm, "squib-vm"), "the VM process (pid %d) outlived its set-up\n%s",
			  (int)w.kids[i].pid, describe_workers(&w));

	cr_assert_eq(same_mm(vcpu[0], vcpu[1]), 0, "the vCPU workers do not share one mm: %s", strerror(errno));
	cr_assert_gt(same_mm(r.pid, vcpu[0]), 0, "vCPU worker %d shares the monitor's memory", (int)vcpu[0]);
	cr_assert_gt(same_mm(w.spawner.pid, vcpu[0]), 0, "vCPU worker %d shares the spawner's memory", (int)vcpu[0]);
	cr_assert(maps_file(vcpu[0], "squib-guest-ram"), "vCPU worker %d does not map guest RAM", (int)vcpu[0]);
	cr_assert_not(maps_file(r.pid, "squib-guest-ram"), "the monitor still maps guest RAM");
	cr_assert_not(holds_fd(r.pid, "kvm"), "the monitor holds a KVM fd");
	cr_assert(holds_fd(vcpu[0], "kvm-vcpu"), "vCPU worker %d holds no vCPU fd", (int)vcpu[0]);
	/* Held so KVM keeps the VM's irqfds once the VM process is gone (vcpu-worker/worker.h); never used. */
	cr_assert(holds_fd(vcpu[0], "kvm-vm"), "vCPU worker %d does not hold the VM fd", (int)vcpu[0]);
	cr_assert_not(holds_fd(vcpu[0], "/dev/kvm"), "vCPU worker %d holds /dev/kvm", (int)vcpu[0]);
	cr_assert_not(holds_fd(vcpu[0], "tenant-disk.img"), "vCPU worker %d holds the disk image", (int)vcpu[0]);
	cr_assert_not(holds_fd(r.pid, "tenant-disk.img"), "the monitor holds the disk image");
	cr_assert(holds_fd(w.spawner.pid, "tenant-disk.img"), "the spawner does not hold the disk image");

	cr_assert_eq(kill(r.pid, SIGTERM), 0, "kill: monitor already gone\n%s", squib_describe(&r));
	squib_finish(&r);
	cr_assert_eq(r.status, 128 + SIGTERM, "expected status 143 after SIGTERM\n%s", squib_describe(&r));
	assert_no_leftovers(&r, &w);
}
