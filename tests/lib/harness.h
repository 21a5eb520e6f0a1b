/* SPDX-License-Identifier: MIT */
/*
 * Integration-test harness: runs squib-monitor as a child process with a
 * timeout, captures its stdout, stderr and guest console in private temp
 * files, and inspects its worker processes through /proc.
 *
 * Environment:
 *   SQUIB_BUILD         build directory (default "build"); the monitor is
 *                       $SQUIB_BUILD/squib-monitor
 *   SQUIB_GUEST         raw test guest (default "build/test-guest.bin",
 *                       whatever SQUIB_BUILD is: the guest is never sanitized)
 *   SQUIB_TEST_TIMEOUT  seconds a monitor run (or a wait for guest output)
 *                       may take before it is killed and the test fails
 *                       (default 120: nested, emulated hosts are slow)
 *   SQUIB_KEEP_TEMP     when set to 1, temp directories are kept and logged
 * Relative paths are relative to the current directory (the repo root).
 *
 * Every test suite registers squib_teardown as its .fini, so monitors that
 * are still running (a failed assertion aborts the test body) are killed
 * with their process group and reaped, and temp files removed.
 */
#ifndef SQUIB_TESTS_INTEGRATION_HARNESS_H
#define SQUIB_TESTS_INTEGRATION_HARNESS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Exit statuses of squib-monitor (README "Exit status"). */
#define SQUIB_EXIT_OK 0
#define SQUIB_EXIT_SETUP 1
#define SQUIB_EXIT_USAGE 2
#define SQUIB_EXIT_VCPU_DIED 3
#define SQUIB_EXIT_DEVICE_DIED 4
#define SQUIB_EXIT_GUEST_FAULT 5

struct squib_run {
	pid_t pid;      /* monitor pid (also its process group); -1 before start */
	bool started;
	bool done;      /* reaped */
	bool timed_out; /* killed by the harness */
	int status;     /* exit status, or 128 + signal when killed by a signal */
	int signal;     /* the signal that ended it, 0 when it exited */
	char dir[PATH_MAX - 64]; /* leaves room for the file names */
	char out_path[PATH_MAX];
	char err_path[PATH_MAX];
	char console_path[PATH_MAX];
	char *out, *err, *console; /* contents once done ("" when missing) */
	bool custom_stdio;         /* squib_set_stdio was called */
	int stdin_fd, stdout_fd;   /* its fds (-1: the default) */
	char cmd[2048];            /* the command, for messages */
	char desc[16384];           /* squib_describe's buffer */
};

const char *squib_build_dir(void);
const char *squib_monitor_path(void);
const char *squib_guest_path(void);
/* SQUIB_TEST_TIMEOUT in seconds (> 0). */
double squib_timeout(void);

/*
 * Creates the run's temp directory; registers it for squib_teardown.
 * r must have static storage: squib_teardown (the suites' .fini) runs after
 * the test function has returned (or aborted on a failed assertion).
 */
void squib_run_init(struct squib_run *r);

/*
 * Before squib_start: the monitor's stdin becomes in_fd and its stdout
 * out_fd instead of /dev/null and the run's stdout file (-1 keeps the
 * default). The caller keeps (and closes) its fds.
 */
void squib_set_stdio(struct squib_run *r, int in_fd, int out_fd);

/*
 * Starts `squib-monitor ARGS...` (NULL-terminated, without argv[0]) with
 * stdin /dev/null, stdout/stderr to the run's files, in its own process
 * group. Asserts that the monitor binary exists.
 */
void squib_start(struct squib_run *r, const char *const *args);

/*
 * Starts `squib-monitor start --kernel <guest> --console <run console>
 * [--testdev] [--cpus N] [--cmdline CMDLINE] [EXTRA...]`; cpus 0 leaves
 * --cpus out, cmdline NULL leaves --cmdline out; the variadic EXTRA
 * arguments end with NULL. Asserts that /dev/kvm is usable.
 */
void squib_start_guest(struct squib_run *r, unsigned cpus, bool testdev, const char *cmdline, ...)
	__attribute__((sentinel));

/*
 * Waits up to timeout_s for the monitor to end; on timeout kills its
 * process group (SIGKILL), reaps it and sets timed_out. Then loads out,
 * err and console. Returns !timed_out.
 */
bool squib_wait(struct squib_run *r, double timeout_s);

/*
 * Asks a running monitor for its state dump (SIGUSR1: every vCPU's
 * registers, every device's queues, on its stderr) and gives it a few
 * seconds to write it; squib_describe then shows it. squib_wait does this
 * itself before it kills a monitor that missed its deadline; a test that
 * detects a stall on its own (a transfer that stops) calls it before failing.
 */
void squib_dump_state(struct squib_run *r);

/* squib_wait with squib_timeout(), asserting that it did not time out. */
void squib_finish(struct squib_run *r);

/*
 * While the monitor runs: polls the console until it contains needle
 * (true), the monitor ends (false, the run is then done) or timeout_s
 * passes (false).
 */
bool squib_wait_console(struct squib_run *r, const char *needle, double timeout_s);

/* Starts a guest, waits for it with squib_finish. */
void squib_run_guest(struct squib_run *r, unsigned cpus, bool testdev, const char *cmdline);

/*
 * Asserts a self-checking workload passed: status 0, a `PASS` line on the
 * console and no `FAIL` line.
 */
void squib_assert_pass(struct squib_run *r);

/*
 * One row of a table of guest runs: what the test guest runs and what must
 * come out. Most integration tests are exactly this; SQUIB_CASE turns a row
 * into a criterion test, so a file of them reads as a table.
 */
#define SQUIB_CASE_LINES 6
#define SQUIB_EXPECT_PASS (-1) /* status 0, a PASS line and no FAIL line (squib_assert_pass) */
struct squib_case {
	const char *cmdline;                     /* the test guest's workload */
	unsigned cpus;
	bool testdev;
	int status;                              /* the exit status, or SQUIB_EXPECT_PASS */
	const char *console[SQUIB_CASE_LINES];   /* each must be on the console */
	const char *err[SQUIB_CASE_LINES];       /* each must be in stderr (case-insensitive) */
};

/* Runs c's guest to its end and checks every expectation of the row. */
void squib_check_case(const struct squib_case *c);

/* Test(suite, name) running one row: SQUIB_CASE(guest_io, pio, { "pio", 1, true, ... }). */
#define SQUIB_CASE(suite, name, ...)                                                                   \
	Test(suite, name)                                                                              \
	{                                                                                              \
		static const struct squib_case row = __VA_ARGS__;                                       \
		squib_check_case(&row);                                                                 \
	}

/* One-paragraph description (command, status, output tails) for messages. */
const char *squib_describe(struct squib_run *r);

/*
 * True when the ended run r is a guest triple fault (status 5) inside the
 * nested test host (run-kvm.sh sets SQUIB_TEST_HOST=svm-tcg), where KVM runs
 * on QEMU's emulated SVM and such faults are the emulator's
 * (README "Linux tests" has the evidence). Never true on a real KVM host.
 * A test that retries on it must print a SQUIB-RETRY line.
 */
bool squib_emulator_triple_fault(const struct squib_run *r);

/*
 * The one way a test retries such a fault: when squib_emulator_triple_fault(r)
 * and attempt + 1 < attempts, prints "SQUIB-RETRY: <what> attempt N of M:
 * guest triple fault in the nested test host (...); <again>" and then dump
 * (make test's summary lists it), and returns true. Otherwise returns false
 * and prints nothing.
 */
bool squib_retry_emulator_fault(const struct squib_run *r, const char *what, int attempt, int attempts,
				const char *again, const char *dump);

/* Kills (process group) and reaps a run still going; removes its files. */
void squib_run_cleanup(struct squib_run *r);

/* Criterion .fini of every suite: cleans up every run of the test. */
void squib_teardown(void);

/* ---- text helpers -------------------------------------------------------- */

/* Whole file, NUL-terminated, malloc'd; NULL when it cannot be read. */
char *slurp(const char *path);
/* Number of lines of text that contain needle. */
size_t count_lines_containing(const char *text, const char *needle);
/*
 * Does text hold a log line of who ("monitor", "vcpu0", "dev-uart") whose
 * message starts with msg? Lines are "squib[<who> <pid>]: <message>"
 * (common/log_prefix.h).
 */
bool log_has(const char *text, const char *who, const char *msg);
/* Case-insensitive substring test; NULL text never matches. */
bool contains_ci(const char *text, const char *needle);
/* Creates path with size bytes (zeroes). Asserts on failure. */
void make_file(const char *path, size_t size);
/* Sleeps for seconds (fractional). */
void sleep_s(double seconds);
/* CLOCK_MONOTONIC in seconds. */
double now_s(void);

/* ---- virtio-blk ----------------------------------------------------------- */

#define BLK_SECTOR 512
#define BLK_PATTERN_MAGIC 0x5441504b4c425153ull

/*
 * The blk-verify sector pattern of sector s in pass p (tests/guest/README.md),
 * written independently of the guest's code, so the host can check an image.
 */
void blk_pattern(uint64_t s, uint64_t p, uint64_t seed, uint8_t out[BLK_SECTOR]);

/* ---- processes ----------------------------------------------------------- */

struct proc_entry {
	pid_t pid;
	pid_t ppid;
	unsigned long long start; /* start time in clock ticks since boot (stat field 22) */
	char state;               /* stat field 3: R, S, Z, ... */
	char comm[64];
	char cmdline[1024];       /* arguments joined with spaces */
	char exe[PATH_MAX];       /* readlink /proc/<pid>/exe, "" when unreadable */
	int seccomp;              /* /proc/<pid>/status "Seccomp:", -1 when unknown */
};

/* Fills e from /proc/<pid>. false when the process does not exist. */
bool proc_read(pid_t pid, struct proc_entry *e);
/* The children of parent (scanning /proc/<pid>/stat ppid), up to max. */
int proc_children(pid_t parent, struct proc_entry *out, int max);
/* Is e the device spawner (monitor/supervise/spawner.h: comm "squib-spawner")? */
bool proc_is_spawner(const struct proc_entry *e);
/*
 * The workers of a running monitor, up to max: its children other than the
 * spawner (the vCPU workers), then the spawner's children (the device
 * workers). *spawner (may be NULL) gets the spawner, pid 0 when none.
 */
int proc_workers(pid_t monitor, struct proc_entry *out, int max, struct proc_entry *spawner);
/*
 * Starts the test guest's echo workload (`uart-irq echo=1 bytes=0`, with
 * --testdev) on r, a fresh run, with its stdin a pipe, and waits for
 * `uart-irq: ready`. Returns the pipe's write end: what the test types.
 */
int squib_start_echo_guest(struct squib_run *r);
/* The test guest's uart-irq pattern byte k (tests/guest/wl_uart_irq.c). */
char guest_uart_pattern(size_t k);
/*
 * Checks that the console of an ended uart-irq bytes=N run holds the whole
 * pattern after its marker, byte for byte (cr_assert).
 */
void squib_assert_uart_pattern(struct squib_run *r, size_t bytes);
/* The live worker of device name ("blk0", "uart"), or 0. */
pid_t proc_device_worker_pid(pid_t monitor, const char *name);
/*
 * Waits until device name of the running monitor has a live worker other
 * than not_pid and returns its pid (0 when the run ended or timeout_s passed).
 */
pid_t squib_wait_device_worker(struct squib_run *r, const char *name, pid_t not_pid, double timeout_s);
/*
 * Logs (cr_log_info) the median and worst "ready N ms after its predecessor
 * died" of device name's restarts in the ended run's stderr, with and
 * without the back-off.
 */
void squib_log_restart_gaps(const struct squib_run *r, const char *name);
/* Does the process of e (same pid and start time) still exist? state_out may be NULL. */
bool proc_still_exists(const struct proc_entry *e, char *state_out);

/*
 * Worker classification, deliberately loose (the monitor may set comm):
 *   device worker: comm starts with "squib-device", or the command line
 *                  mentions "squib-device";
 *   vCPU worker:   comm starts with "squib-vcpu", or any other child whose
 *                  /proc/<pid>/exe is the monitor's own (a clone(CLONE_VM)
 *                  child), or, when exe cannot be read, any non-device child.
 */
bool proc_is_device_worker(const struct proc_entry *e);
bool proc_is_vcpu_worker(const struct proc_entry *e, const struct proc_entry *monitor);
/*
 * Is e the worker of the device called name ("uart", "testdev", "rng0",
 * "disk0")? Its comm is "squib-dev-<name>", cut to 15 bytes by the kernel.
 */
bool proc_device_is(const struct proc_entry *e, const char *name);

#endif
