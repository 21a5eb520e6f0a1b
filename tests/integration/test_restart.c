/* SPDX-License-Identifier: MIT */
/*
 * Crash isolation (docs/DESIGN.md, "Device workers, and surviving their
 * crash"): a device worker that dies is restarted by the spawner with the
 * same fds and state; the guest sees a pause, never an error.
 */
#include <criterion/criterion.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/lib/harness.h"
#include "tests/lib/tap_netns.h"

TestSuite(restart, .fini = squib_teardown);



/*
 * The guest writes, flushes and verifies a pattern over the disk, pass after
 * pass, while the test SIGKILLs the blk worker 20 times at random moments:
 * the guest sees no I/O error and no wrong byte, the monitor logs 20
 * restarts, and the image holds the last pass's pattern.
 */
Test(restart, blk_verify_survives_20_kills_of_its_worker)
{
	static struct squib_run r;
	static uint8_t img[2u << 20];
	const size_t size = sizeof(img);
	const unsigned kills = 20;
	char path[PATH_MAX], arg[PATH_MAX + 32], expect[64];
	uint8_t sector[BLK_SECTOR];
	unsigned long passes = 0;
	const char *p;
	pid_t victim = 0;
	int in[2];
	FILE *f;

	srand((unsigned)getpid());
	squib_run_init(&r);
	snprintf(path, sizeof(path), "%s/disk.img", r.dir);
	make_file(path, size);
	snprintf(arg, sizeof(arg), "%s,id=restart-disk", path);
	cr_assert_eq(pipe(in), 0);
	squib_set_stdio(&r, in[0], -1); /* a byte typed on the console ends the guest's loop of passes */
	squib_start_guest(&r, 1, true, "blk-verify passes=0 seed=3 qd=8 bs=4096", "--disk", arg, "--restart-budget",
			  "64/60", NULL);
	close(in[0]);
	cr_assert(squib_wait_console(&r, "blk-verify: capacity=", squib_timeout()), "%s", squib_describe(&r));
	for (unsigned k = 0; k < kills; k++) {
		victim = squib_wait_device_worker(&r, "blk0", victim, squib_timeout());
		cr_assert_gt(victim, 0, "no blk0 worker to kill (kill %u)\n%s", k + 1, squib_describe(&r));
		sleep_s(0.02 + (double)(rand() % 200) / 1000.0);
		cr_assert_eq(kill(victim, SIGKILL), 0, "kill %u: blk0 worker %d is gone\n%s", k + 1, (int)victim,
			     squib_describe(&r));
	}
	cr_assert(squib_wait_device_worker(&r, "blk0", victim, squib_timeout()) > 0, "no blk0 worker after the last kill\n%s",
		  squib_describe(&r));
	cr_assert_eq(write(in[1], "x", 1), 1);
	squib_finish(&r);
	close(in[1]);
	squib_assert_pass(&r);
	cr_assert_eq(count_lines_containing(r.err, "device blk0 restarted"), kills, "expected %u restarts\n%s", kills,
		     squib_describe(&r));
	cr_assert_eq(count_lines_containing(r.err, "was killed by signal 9 (SIGKILL)"), kills, "%s",
		     squib_describe(&r));
	snprintf(expect, sizeof(expect), "blk-verify: %zu sectors verified in ", size / BLK_SECTOR);
	p = strstr(r.console, expect);
	cr_assert(p && sscanf(p + strlen(expect), "%lu", &passes) == 1 && passes > 0, "%s", squib_describe(&r));
	cr_log_info("blk-verify: %lu passes across %u kills of the blk worker", passes, kills);
	squib_log_restart_gaps(&r, "blk0");

	f = fopen(path, "rb");
	cr_assert(f, "cannot read %s", path);
	cr_assert_eq(fread(img, 1, size, f), size, "short read of %s", path);
	fclose(f);
	/* Every acknowledged write is on the image: each sector holds the last pass's pattern. */
	for (uint64_t s = 0; s < size / BLK_SECTOR; s++) {
		blk_pattern(s, passes - 1, 3, sector);
		cr_assert(memcmp(img + s * BLK_SECTOR, sector, BLK_SECTOR) == 0,
			  "sector %llu of the image does not hold pass %lu's pattern", (unsigned long long)s, passes - 1);
	}
}

/* ---- --fault: each way a worker can fail, recovered and reported -------- */

/*
 * blk-verify on a 1 MiB disk while blk0's worker fails its own way after
 * 40 requests: the guest passes, the log names the cause and the restart.
 */
static void blk_fault(const char *how, const char *cause)
{
	static struct squib_run r;
	char path[PATH_MAX], disk[PATH_MAX + 8], fault[64];

	squib_run_init(&r);
	snprintf(path, sizeof(path), "%s/disk.img", r.dir);
	make_file(path, 1u << 20);
	snprintf(disk, sizeof(disk), "%s", path);
	snprintf(fault, sizeof(fault), "blk0:after=40,how=%s", how);
	squib_start_guest(&r, 1, true, "blk-verify passes=2 seed=5 qd=8 bs=4096", "--disk", disk, "--fault", fault,
			  NULL);
	squib_finish(&r);
	squib_assert_pass(&r);
	cr_assert(log_has(r.err, "dev-blk0", "--fault "), "the worker does not say it fails on purpose\n%s",
		  squib_describe(&r));
	cr_assert(strstr(r.err, cause), "the cause '%s' is not logged\n%s", cause, squib_describe(&r));
	cr_assert(log_has(r.err, "monitor", "device blk0 restarted"), "%s", squib_describe(&r));
}

Test(restart, fault_kill)
{
	blk_fault("kill", "was killed by signal 9 (SIGKILL)");
}

Test(restart, fault_segv)
{
	blk_fault("segv", "was killed by signal 11 (SIGSEGV)");
}

Test(restart, fault_abort)
{
	blk_fault("abort", "was killed by signal 6 (SIGABRT)");
}

Test(restart, fault_denied_syscall)
{
	blk_fault("syscall", "was killed by SIGSYS: seccomp denied syscall getppid");
}

/* A worker that writes garbage where a vCPU waits for its reply: the vCPU never crashes, the worker is replaced. */
Test(restart, fault_garbage_ring)
{
	blk_fault("garbage-ring", "device worker blk0 (pid ");
}

/*
 * A worker that scribbles over its device state before dying: the successor
 * refuses the state, re-initialises it and reports DEVICE_NEEDS_RESET; the
 * guest's driver resets the device, submits its requests again, and
 * verifies every sector. (After 300 requests: well past the driver's set-up.)
 */
Test(restart, fault_scribble_state_needs_reset_and_the_driver_recovers)
{
	static struct squib_run r;
	char path[PATH_MAX];

	squib_run_init(&r);
	snprintf(path, sizeof(path), "%s/disk.img", r.dir);
	make_file(path, 1u << 20);
	squib_start_guest(&r, 1, true, "blk-verify passes=2 seed=5 qd=8 bs=4096", "--disk", path, "--fault",
			  "blk0:after=300,how=scribble-state", NULL);
	squib_finish(&r);
	squib_assert_pass(&r);
	cr_assert(strstr(r.err, "the device state left by the previous worker is not usable"), "%s",
		  squib_describe(&r));
	cr_assert(strstr(r.err, "device needs reset"), "%s", squib_describe(&r));
	cr_assert(strstr(r.console, "blk: device needed a reset: reset it and submitted "), "%s", squib_describe(&r));
	cr_assert(strstr(r.console, "blk-verify: 2048 sectors verified in 2 passes"), "%s", squib_describe(&r));
}

/* every=M: each successor fails again; virtio-rng reads carry on across the restarts. */
Test(restart, rng_survives_a_worker_that_keeps_dying)
{
	static struct squib_run r;

	squib_run_init(&r);
	squib_start_guest(&r, 1, true, "rng bytes=32768", "--rng", "--fault", "rng0:after=5,every=6,how=segv",
			  "--restart-budget", "20/60", NULL);
	squib_finish(&r);
	squib_assert_pass(&r);
	cr_assert_geq(count_lines_containing(r.err, "device rng0 restarted"), 3, "%s", squib_describe(&r));
}

/*
 * Past the budget the device is failed, the VM keeps running and the other
 * devices keep working: rng0 dies at once every time, blk0 verifies.
 */
Test(restart, budget_exceeded_fails_the_device_not_the_vm)
{
	static struct squib_run r;
	char path[PATH_MAX];

	squib_run_init(&r);
	snprintf(path, sizeof(path), "%s/disk.img", r.dir);
	make_file(path, 1u << 20);
	squib_start_guest(&r, 1, true, "blk-verify passes=3 seed=9", "--disk", path, "--rng", "--fault",
			  "rng0:after=0,every=0", "--restart-budget", "3/60", "--verbose", NULL);
	squib_finish(&r);
	squib_assert_pass(&r);
	cr_assert_eq(count_lines_containing(r.err, "device rng0 restarted"), 3, "%s", squib_describe(&r));
	cr_assert_eq(count_lines_containing(r.err, "device rng0 failed: 3 restarts within 60 s"), 1,
		     "said once\n%s", squib_describe(&r));
	cr_assert(strstr(r.err, "reads as removed hardware"), "%s", squib_describe(&r));
	cr_assert(log_has(r.err, "monitor", "device rng0: 3 restarts, failed"), "--verbose counts them\n%s",
		  squib_describe(&r));
	cr_assert(log_has(r.err, "monitor", "device blk0: 0 restarts"), "%s", squib_describe(&r));
}

/* --device-restart never: today's fail-stop, status 4. */
Test(restart, never_is_fail_stop)
{
	static struct squib_run r;

	squib_run_init(&r);
	squib_start_guest(&r, 1, true, "rng", "--rng", "--fault", "rng0:after=2", "--device-restart", "never", NULL);
	squib_finish(&r);
	cr_assert_eq(r.status, SQUIB_EXIT_DEVICE_DIED, "%s", squib_describe(&r));
	cr_assert(log_has(r.err, "monitor", "device worker rng0 (pid "), "%s", squib_describe(&r));
	cr_assert_eq(count_lines_containing(r.err, "restarted"), 0, "%s", squib_describe(&r));
}

/* A vCPU worker's registers die with it: the VM stops cleanly, naming it. */
Test(restart, killed_vcpu_worker_stops_the_vm)
{
	static struct squib_run r;
	struct proc_entry kids[32], monitor;
	pid_t victim = 0;
	char expect[96];
	int n;

	squib_run_init(&r);
	squib_start_guest(&r, 2, true, "spin", NULL);
	cr_assert(squib_wait_console(&r, "spinning\n", squib_timeout()), "%s", squib_describe(&r));
	cr_assert(proc_read(r.pid, &monitor));
	n = proc_workers(r.pid, kids, 32, NULL);
	for (int i = 0; i < n && !victim; i++)
		if (proc_is_vcpu_worker(&kids[i], &monitor) && !strcmp(kids[i].comm, "squib-vcpu1"))
			victim = kids[i].pid;
	cr_assert_gt(victim, 0, "no squib-vcpu1\n%s", squib_describe(&r));
	cr_assert_eq(kill(victim, SIGKILL), 0);
	squib_finish(&r);
	cr_assert_eq(r.status, SQUIB_EXIT_VCPU_DIED, "%s", squib_describe(&r));
	snprintf(expect, sizeof(expect), "vCPU worker 1 (pid %d) was killed by signal 9 (SIGKILL)", (int)victim);
	cr_assert(strstr(r.err, expect), "'%s' not logged\n%s", expect, squib_describe(&r));
}

/*
 * virtio-net across 5 kills of its worker: frames sent from the host are
 * echoed by the guest byte for byte; a frame in flight when the worker died
 * may be lost (the test sends it again), never corrupted.
 */
Test(restart, net_echo_survives_5_kills_of_its_worker)
{
	static struct squib_run r;
	const unsigned frames = 40, kills = 5;
	unsigned resent = 0, killed = 0;
	pid_t victim = 0;
	char why[256];
	int sock;

	if (!tap_netns_setup("sqtap1", why, sizeof(why)))
		cr_skip_test("no tap in a private network namespace here: %s", why);
	sock = tap_packet_socket("sqtap1");
	squib_run_init(&r);
	squib_start_guest(&r, 1, true, "net-echo count=1000", "--net", "tap=sqtap1,mac=52:54:00:aa:bb:02",
			  "--restart-budget", "20/60", NULL);
	cr_assert(squib_wait_console(&r, "net-echo: ready", squib_timeout()), "%s", squib_describe(&r));
	for (unsigned i = 0; i < frames; i++) {
		uint8_t frame[1514], back[2048];
		size_t size = 60 + (i * 97) % (1514 - 60);
		ssize_t n = -1;

		tap_make_frame(frame, i, size);
		if (i % 7 == 3 && killed < kills) {
			victim = squib_wait_device_worker(&r, "net0", victim, squib_timeout());
			cr_assert_gt(victim, 0, "no net0 worker\n%s", squib_describe(&r));
			cr_assert_eq(kill(victim, SIGKILL), 0);
			killed++;
		}
		for (unsigned attempt = 0; attempt < 20 && n < 0; attempt++) {
			tap_send(sock, frame, size);
			n = tap_recv(sock, back, sizeof(back), 1.0);
			if (n < 0)
				resent++;
		}
		cr_assert_eq(n, (ssize_t)size, "frame %u: echo of %zu bytes came back as %zd\n%s", i, size, n,
			     squib_describe(&r));
		cr_assert(memcmp(frame, back, size) == 0, "frame %u: echo differs", i);
	}
	cr_assert_eq(killed, kills);
	cr_assert_eq(kill(r.pid, SIGTERM), 0);
	squib_finish(&r);
	cr_assert_eq(r.status, 128 + SIGTERM, "%s", squib_describe(&r));
	cr_log_info("net0: %u frames echoed across %u kills, %u sent again", frames, kills, resent);
	squib_log_restart_gaps(&r, "net0");
	cr_assert_eq(count_lines_containing(r.err, "device net0 restarted"), kills, "%s", squib_describe(&r));
	close(sock);
}

/*
 * testdev across 10 kills of its worker: its scratch slots keep what the
 * guest wrote, and every read of its read counter is applied exactly once
 * (the guest sees it grow by 1 per read), whenever the kill lands.
 */
Test(restart, testdev_state_survives_10_kills_exactly_once)
{
	static struct squib_run r;
	const unsigned kills = 10;
	pid_t victim = 0;
	int in[2];

	srand((unsigned)getpid() ^ 0x5eed);
	squib_run_init(&r);
	cr_assert_eq(pipe(in), 0);
	squib_set_stdio(&r, in[0], -1);
	squib_start_guest(&r, 1, true, "scratch-verify passes=0", "--restart-budget", "64/60", NULL);
	close(in[0]);
	for (unsigned k = 0; k < kills; k++) {
		victim = squib_wait_device_worker(&r, "testdev", victim, squib_timeout());
		cr_assert_gt(victim, 0, "no testdev worker to kill (kill %u)\n%s", k + 1, squib_describe(&r));
		sleep_s(0.02 + (double)(rand() % 200) / 1000.0);
		cr_assert_eq(kill(victim, SIGKILL), 0, "kill %u\n%s", k + 1, squib_describe(&r));
	}
	cr_assert(squib_wait_device_worker(&r, "testdev", victim, squib_timeout()) > 0, "%s", squib_describe(&r));
	cr_assert_eq(write(in[1], "x", 1), 1);
	squib_finish(&r);
	close(in[1]);
	squib_assert_pass(&r);
	cr_assert_eq(count_lines_containing(r.err, "device testdev restarted"), kills, "%s", squib_describe(&r));
	cr_assert_eq(count_lines_containing(r.err, "resumed its predecessor's state"), kills, "%s", squib_describe(&r));
	squib_log_restart_gaps(&r, "testdev");
}

/* ---- the uart: output and typed input across its worker's deaths --------- */

#define UART_BYTES 65536u

/*
 * 64 KiB printed from THRE interrupts (16 bytes per interrupt, as Linux's
 * 8250 driver does) while the test SIGKILLs the uart worker 5 times: every
 * pattern byte arrives once, in order.
 */
Test(restart, uart_output_survives_5_kills_byte_for_byte)
{
	static struct squib_run r;
	const unsigned kills = 5;
	pid_t victim = 0;

	srand((unsigned)getpid() ^ 0x0a27);
	squib_run_init(&r);
	squib_start_guest(&r, 1, true, "uart-irq echo=0 bytes=65536", "--restart-budget", "64/60", NULL);
	cr_assert(squib_wait_console(&r, "uart-irq: pattern", squib_timeout()), "%s", squib_describe(&r));
	for (unsigned k = 0; k < kills; k++) {
		victim = squib_wait_device_worker(&r, "uart", victim, squib_timeout());
		cr_assert_gt(victim, 0, "no uart worker to kill (kill %u)\n%s", k + 1, squib_describe(&r));
		sleep_s(0.05 + (double)(rand() % 300) / 1000.0);
		cr_assert_eq(kill(victim, SIGKILL), 0, "kill %u: the run ended early\n%s", k + 1, squib_describe(&r));
	}
	squib_finish(&r);
	squib_assert_pass(&r);
	cr_assert_eq(count_lines_containing(r.err, "device uart restarted"), kills, "%s", squib_describe(&r));
	squib_assert_uart_pattern(&r, UART_BYTES);
	squib_log_restart_gaps(&r, "uart");
}

/*
 * Typed input across 3 kills of the uart worker, some before the successor
 * is even ready: the guest echoes every typed byte upper-cased, none lost,
 * none twice, whether it waited in the monitor's ring or in the dead
 * worker's receive FIFO.
 */
Test(restart, uart_typed_input_survives_kills)
{
	static struct squib_run r;
	const char *pieces[] = { "typed ", "across ", "three deaths ", "of the uart\n" };
	pid_t victim = 0;
	int typing = squib_start_echo_guest(&r);

	for (unsigned k = 0; k < 4; k++) {
		size_t n = strlen(pieces[k]);

		cr_assert_eq(write(typing, pieces[k], n), (ssize_t)n);
		if (k == 3)
			break;
		sleep_s(0.02 * k);
		victim = squib_wait_device_worker(&r, "uart", victim, squib_timeout());
		cr_assert_gt(victim, 0, "%s", squib_describe(&r));
		cr_assert_eq(kill(victim, SIGKILL), 0, "%s", squib_describe(&r));
	}
	close(typing);
	squib_finish(&r);
	squib_assert_pass(&r);
	cr_assert(strstr(r.console, "TYPED ACROSS THREE DEATHS OF THE UART\n"), "%s", squib_describe(&r));
	cr_assert(strstr(r.console, "uart-irq: echoed 37 bytes"), "%s", squib_describe(&r));
	/*
	 * Three workers died; a successor killed before it said READY is
	 * replaced without a "restarted" line, so those count only the ones
	 * that got to serve (the kills come 0 to 40 ms apart, on purpose).
	 */
	cr_assert_eq(count_lines_containing(r.err, "device worker uart (pid "), 3, "%s", squib_describe(&r));
	cr_assert_geq(count_lines_containing(r.err, "device uart restarted"), 1, "%s", squib_describe(&r));
}

/*
 * Each --fault kind on the uart, after 300 register accesses, while the
 * guest prints 4 KiB by polling THRE: the worker is replaced, the cause is
 * logged, and the pattern arrives whole. scribble-state: the successor
 * refuses the region and starts at the 16550's power-on state, at the
 * output count the monitor last saw; a polling driver carries on.
 */
static void uart_fault(const char *how, const char *cause)
{
	static struct squib_run r;
	char fault[64];

	squib_run_init(&r);
	snprintf(fault, sizeof(fault), "uart:after=300,how=%s", how);
	squib_start_guest(&r, 1, true, "uart-irq poll=1 echo=0 bytes=4096", "--fault", fault, NULL);
	squib_finish(&r);
	squib_assert_pass(&r);
	cr_assert(strstr(r.err, cause), "the cause '%s' is not logged\n%s", cause, squib_describe(&r));
	cr_assert(log_has(r.err, "monitor", "device uart restarted"), "%s", squib_describe(&r));
	squib_assert_uart_pattern(&r, 4096);
}

Test(restart, uart_fault_kill)
{
	uart_fault("kill", "was killed by signal 9 (SIGKILL)");
}

Test(restart, uart_fault_segv)
{
	uart_fault("segv", "was killed by signal 11 (SIGSEGV)");
}

Test(restart, uart_fault_abort)
{
	uart_fault("abort", "was killed by signal 6 (SIGABRT)");
}

Test(restart, uart_fault_denied_syscall)
{
	uart_fault("syscall", "was killed by SIGSYS: seccomp denied syscall getppid");
}

Test(restart, uart_fault_garbage_ring)
{
	uart_fault("garbage-ring", "device worker uart (pid ");
}

Test(restart, uart_fault_scribble_state)
{
	uart_fault("scribble-state", "the state left by the previous worker is not usable");
}

/* ---- every --fault kind on virtio-rng, testdev and virtio-net ------------- */

/* The log line of each kind's cause, as the monitor words it. */
static const char *const fault_causes[][2] = {
	{ "kill", "was killed by signal 9 (SIGKILL)" },
	{ "segv", "was killed by signal 11 (SIGSEGV)" },
	{ "abort", "was killed by signal 6 (SIGABRT)" },
	{ "syscall", "was killed by SIGSYS: seccomp denied syscall getppid" },
	{ "garbage-ring", "broke the ring protocol" },
	{ "scribble-state", "is not usable" },
};

/*
 * device's worker fails each way in turn, after `after` requests, under
 * workload (with flag, if any): the guest passes, the cause and the
 * restart are logged. scribble-state is left to the caller (what the
 * guest sees differs by device).
 */
static void fault_each_kind(const char *device, const char *workload, const char *flag, unsigned after)
{
	for (unsigned k = 0; k < 5; k++) {
		static struct squib_run r;
		char fault[64], restarted[64];

		squib_run_init(&r);
		snprintf(fault, sizeof(fault), "%s:after=%u,how=%s", device, after, fault_causes[k][0]);
		snprintf(restarted, sizeof(restarted), "device %s restarted", device);
		if (flag)
			squib_start_guest(&r, 1, true, workload, flag, "--fault", fault, NULL);
		else
			squib_start_guest(&r, 1, true, workload, "--fault", fault, NULL);
		squib_finish(&r);
		squib_assert_pass(&r);
		cr_assert(strstr(r.err, fault_causes[k][1]), "--fault %s: the cause '%s' is not logged\n%s", fault,
			  fault_causes[k][1], squib_describe(&r));
		cr_assert(log_has(r.err, "monitor", restarted), "--fault %s\n%s", fault, squib_describe(&r));
		squib_run_cleanup(&r);
	}
}

Test(restart, rng_recovers_from_each_fault_kind)
{
	fault_each_kind("rng0", "rng bytes=65536", "--rng", 30); /* 32 requests: reads go on past 30 (garbage-ring needs one) */
}

/* scribble-state on virtio-rng: DEVICE_NEEDS_RESET, and the guest's driver resets it and reads on. */
Test(restart, rng_scribble_state_needs_reset_and_the_driver_recovers)
{
	static struct squib_run r;

	squib_run_init(&r);
	squib_start_guest(&r, 1, true, "rng bytes=32768", "--rng", "--fault", "rng0:after=40,how=scribble-state", NULL);
	squib_finish(&r);
	squib_assert_pass(&r);
	cr_assert(strstr(r.err, "device needs reset"), "%s", squib_describe(&r));
	cr_assert(strstr(r.console, "rng: device needed a reset: reset it"), "%s", squib_describe(&r));
}

Test(restart, testdev_recovers_from_each_fault_kind)
{
	fault_each_kind("testdev", "scratch-verify passes=2", NULL, 200);
}

/*
 * scribble-state on testdev: its successor refuses the region and starts
 * at testdev's power-on state, so the slots the guest wrote are gone (the
 * guest sees it and says so); the VM runs on and ends through testdev.
 */
Test(restart, testdev_scribble_state_restarts_at_power_on)
{
	static struct squib_run r;

	squib_run_init(&r);
	squib_start_guest(&r, 1, true, "scratch-verify passes=2", "--fault", "testdev:after=200,how=scribble-state",
			  NULL);
	squib_finish(&r);
	cr_assert(strstr(r.err, "the state left by the previous worker is not usable"), "%s", squib_describe(&r));
	cr_assert(log_has(r.err, "monitor", "device testdev restarted"), "%s", squib_describe(&r));
	cr_assert(strstr(r.console, "FAIL scratch-verify"), "the guest did not see the slots reset\n%s",
		  squib_describe(&r));
	cr_assert_eq(r.status, 1, "the guest's own verdict (FAILED), through testdev\n%s", squib_describe(&r));
}

/*
 * net-echo while net0's worker fails each way after 60 requests: 20
 * frames come back byte for byte (a frame lost in the gap is sent again).
 * scribble-state: DEVICE_NEEDS_RESET, the guest's driver resets the device
 * (losing the frames in flight) and echoes on.
 */
Test(restart, net_recovers_from_each_fault_kind)
{
	char why[256];
	int sock;

	if (!tap_netns_setup("sqtap2", why, sizeof(why)))
		cr_skip_test("no tap in a private network namespace here: %s", why);
	sock = tap_packet_socket("sqtap2");
	for (unsigned k = 0; k < 6; k++) {
		static struct squib_run r;
		char fault[64];

		squib_run_init(&r);
		snprintf(fault, sizeof(fault), "net0:after=60,how=%s", fault_causes[k][0]);
		squib_start_guest(&r, 1, true, "net-echo count=1000", "--net", "tap=sqtap2,mac=52:54:00:aa:bb:03",
				  "--fault", fault, NULL);
		cr_assert(squib_wait_console(&r, "net-echo: ready", squib_timeout()), "%s", squib_describe(&r));
		for (unsigned i = 0; i < 20; i++) {
			uint8_t frame[1514], back[2048];
			size_t size = 60 + (i * 131) % (1514 - 60);
			ssize_t n = -1;

			tap_make_frame(frame, i, size);
			for (unsigned attempt = 0; attempt < 20 && n < 0; attempt++) {
				tap_send(sock, frame, size);
				n = tap_recv(sock, back, sizeof(back), 1.0);
			}
			cr_assert_eq(n, (ssize_t)size, "--fault %s: frame %u came back as %zd\n%s", fault, i, n,
				     squib_describe(&r));
			cr_assert(memcmp(frame, back, size) == 0, "--fault %s: frame %u differs", fault, i);
		}
		cr_assert_eq(kill(r.pid, SIGTERM), 0);
		squib_finish(&r);
		cr_assert(strstr(r.err, fault_causes[k][1]), "--fault %s: the cause '%s' is not logged\n%s", fault,
			  fault_causes[k][1], squib_describe(&r));
		cr_assert(log_has(r.err, "monitor", "device net0 restarted"), "--fault %s\n%s", fault,
			  squib_describe(&r));
		if (!strcmp(fault_causes[k][0], "scribble-state"))
			cr_assert(strstr(r.console, "net: device needed a reset: reset it"), "%s", squib_describe(&r));
		squib_run_cleanup(&r);
	}
	close(sock);
}
