/* SPDX-License-Identifier: MIT */
/* Integration-test harness: see harness.h. */
#include "tests/lib/harness.h"

#include <criterion/criterion.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_TIMEOUT_S 120.0
#define MAX_RUNS 8
#define MAX_ARGS 64
#define POLL_S 0.02
/* How long a monitor that missed its deadline gets to write its state dump. */
#define DUMP_WAIT_S 3.0

/* Runs of the current test (each test runs in its own process). */
static struct squib_run *runs[MAX_RUNS];

/* ---- configuration ------------------------------------------------------- */

const char *squib_build_dir(void)
{
	const char *b = getenv("SQUIB_BUILD");

	return b && *b ? b : "build";
}

const char *squib_monitor_path(void)
{
	static char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/squib-monitor", squib_build_dir());
	return path;
}

const char *squib_guest_path(void)
{
	const char *g = getenv("SQUIB_GUEST");

	return g && *g ? g : "build/test-guest.bin";
}

double squib_timeout(void)
{
	const char *t = getenv("SQUIB_TEST_TIMEOUT");
	char *end;
	double v;

	if (!t || !*t)
		return DEFAULT_TIMEOUT_S;
	v = strtod(t, &end);
	if (end == t || *end || !(v > 0))
		return DEFAULT_TIMEOUT_S;
	return v;
}

/* ---- small helpers ------------------------------------------------------- */

double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void sleep_s(double seconds)
{
	struct timespec ts;

	if (seconds <= 0)
		return;
	ts.tv_sec = (time_t)seconds;
	ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0;

	if (!f)
		return NULL;
	for (;;) {
		size_t n;

		if (cap - len < 4096) {
			char *nb = realloc(buf, cap ? cap * 2 : 8192);
			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
			cap = cap ? cap * 2 : 8192;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
		if (n == 0)
			break;
	}
	fclose(f);
	buf[len] = '\0';
	/* Guest output may hold NUL bytes: keep the text searchable. */
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '\0')
			buf[i] = '?';
	}
	return buf;
}

size_t count_lines_containing(const char *text, const char *needle)
{
	size_t count = 0;
	size_t nlen = strlen(needle);

	if (!text)
		return 0;
	while (*text) {
		const char *eol = strchr(text, '\n');
		size_t len = eol ? (size_t)(eol - text) : strlen(text);

		if (len >= nlen && memmem(text, len, needle, nlen))
			count++;
		text += len + (eol ? 1 : 0);
	}
	return count;
}

bool log_has(const char *text, const char *who, const char *msg)
{
	char head[64];
	int n = snprintf(head, sizeof(head), "squib[%s ", who);

	if (!text || n < 0 || (size_t)n >= sizeof(head))
		return false;
	for (const char *line = text; *line;) {
		const char *eol = strchr(line, '\n');
		size_t len = eol ? (size_t)(eol - line) : strlen(line);
		const char *end = memmem(line, len, "]: ", 3);

		if (len > (size_t)n && !memcmp(line, head, (size_t)n) && end &&
		    (size_t)(line + len - (end + 3)) >= strlen(msg) && !memcmp(end + 3, msg, strlen(msg)))
			return true;
		line += len + (eol ? 1 : 0);
	}
	return false;
}

bool contains_ci(const char *text, const char *needle)
{
	size_t nlen = strlen(needle);

	if (!text)
		return false;
	for (; *text; text++) {
		if (!strncasecmp(text, needle, nlen))
			return true;
	}
	return nlen == 0;
}

void make_file(const char *path, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	cr_assert(fd >= 0, "cannot create %s: %s", path, strerror(errno));
	if (size)
		cr_assert(ftruncate(fd, (off_t)size) == 0, "ftruncate %s: %s", path, strerror(errno));
	close(fd);
}

/* Last n bytes of s, starting at a line boundary when there is one. */
static const char *tail_of(const char *s, size_t n)
{
	size_t len;
	const char *t;

	if (!s)
		return "(none)";
	len = strlen(s);
	if (len <= n)
		return s;
	t = s + len - n;
	if (strchr(t, '\n') && strchr(t, '\n')[1])
		t = strchr(t, '\n') + 1;
	return t;
}

/* ---- runs ---------------------------------------------------------------- */

static void register_run(struct squib_run *r)
{
	for (int i = 0; i < MAX_RUNS; i++) {
		if (!runs[i]) {
			runs[i] = r;
			return;
		}
	}
	cr_assert_fail("more than %d monitor runs in one test", MAX_RUNS);
}

void squib_run_init(struct squib_run *r)
{
	const char *tmp = getenv("TMPDIR");

	memset(r, 0, sizeof(*r));
	r->pid = -1;
	snprintf(r->dir, sizeof(r->dir), "%s/squib-it.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	cr_assert(mkdtemp(r->dir), "mkdtemp %s: %s", r->dir, strerror(errno));
	snprintf(r->out_path, sizeof(r->out_path), "%s/stdout", r->dir);
	snprintf(r->err_path, sizeof(r->err_path), "%s/stderr", r->dir);
	snprintf(r->console_path, sizeof(r->console_path), "%s/console", r->dir);
	register_run(r);
	/*
	 * Orphans of the monitor (workers it failed to reap) are re-parented to
	 * this process instead of init: they stay visible (zombies included) to
	 * the leftover checks, and squib_run_cleanup can kill and reap them.
	 */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}

/* In the child, between fork and exec: only async-signal-safe calls. */
static void exec_child(const struct squib_run *r, char *const argv[])
{
	sigset_t none;
	int in, out, err;

	setpgid(0, 0);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	in = r->custom_stdio && r->stdin_fd >= 0 ? r->stdin_fd : open("/dev/null", O_RDONLY);
	out = r->custom_stdio && r->stdout_fd >= 0 ? r->stdout_fd : open(r->out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	err = open(r->err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (in < 0 || out < 0 || err < 0)
		_exit(126);
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
		_exit(126);
	if (close_range(3, ~0u, 0) < 0) {
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
	}
	execv(argv[0], argv);
	_exit(127);
}

void squib_set_stdio(struct squib_run *r, int in_fd, int out_fd)
{
	r->custom_stdio = true;
	r->stdin_fd = in_fd;
	r->stdout_fd = out_fd;
}

void squib_start(struct squib_run *r, const char *const *args)
{
	char *argv[MAX_ARGS + 2];
	const char *monitor = squib_monitor_path();
	size_t n = 0, len = 0;
	pid_t pid;

	cr_assert(!r->started, "a run starts once");
	cr_assert(access(monitor, X_OK) == 0,
		  "%s is missing or not executable (%s): build it, or set SQUIB_BUILD", monitor,
		  strerror(errno));
	argv[n++] = (char *)monitor;
	for (; args[n - 1]; n++) {
		cr_assert(n <= MAX_ARGS, "too many arguments");
		argv[n] = (char *)args[n - 1];
	}
	argv[n] = NULL;
	for (size_t i = 0; argv[i] && len < sizeof(r->cmd) - 1; i++) {
		int w = snprintf(r->cmd + len, sizeof(r->cmd) - len, "%s%s", i ? " " : "", argv[i]);
		if (w < 0)
			break;
		len += (size_t)w;
	}

	fflush(NULL);
	pid = fork();
	cr_assert(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0)
		exec_child(r, argv);
	setpgid(pid, pid); /* also done by the child: no race either way */
	r->pid = pid;
	r->started = true;
}

void squib_start_guest(struct squib_run *r, unsigned cpus, bool testdev, const char *cmdline, ...)
{
	const char *args[MAX_ARGS + 1];
	static char cpus_buf[MAX_RUNS][16];
	static unsigned next_buf;
	char *cpus_str = cpus_buf[next_buf++ % MAX_RUNS];
	size_t n = 0;
	va_list ap;
	const char *a;

	cr_assert(access("/dev/kvm", R_OK | W_OK) == 0,
		  "/dev/kvm is not usable (%s): run the integration tests through tests/run-kvm.sh",
		  strerror(errno));
	cr_assert(access(squib_guest_path(), R_OK) == 0,
		  "test guest %s is missing (%s): make build/test-guest.bin, or set SQUIB_GUEST",
		  squib_guest_path(), strerror(errno));
	args[n++] = "start";
	args[n++] = "--kernel";
	args[n++] = squib_guest_path();
	args[n++] = "--console";
	args[n++] = r->console_path;
	if (testdev)
		args[n++] = "--testdev";
	if (cpus) {
		snprintf(cpus_str, 16, "%u", cpus);
		args[n++] = "--cpus";
		args[n++] = cpus_str;
	}
	if (cmdline) {
		args[n++] = "--cmdline";
		args[n++] = cmdline;
	}
	va_start(ap, cmdline);
	while ((a = va_arg(ap, const char *))) {
		cr_assert(n < MAX_ARGS, "too many arguments");
		args[n++] = a;
	}
	va_end(ap);
	args[n] = NULL;
	squib_start(r, args);
}

static void load_outputs(struct squib_run *r)
{
	free(r->out);
	free(r->err);
	free(r->console);
	r->out = slurp(r->out_path);
	r->err = slurp(r->err_path);
	r->console = slurp(r->console_path);
	if (!r->out)
		r->out = strdup("");
	if (!r->err)
		r->err = strdup("");
	if (!r->console)
		r->console = strdup("");
}

static void record_status(struct squib_run *r, int wstatus)
{
	r->done = true;
	if (WIFEXITED(wstatus)) {
		r->status = WEXITSTATUS(wstatus);
		r->signal = 0;
	} else if (WIFSIGNALED(wstatus)) {
		r->signal = WTERMSIG(wstatus);
		r->status = 128 + r->signal;
	}
}

/* Non-blocking reap of the monitor; true when it has ended. */
static bool try_reap(struct squib_run *r)
{
	int wstatus;
	pid_t p;

	if (r->done)
		return true;
	if (!r->started)
		return false;
	p = waitpid(r->pid, &wstatus, WNOHANG);
	if (p == r->pid) {
		record_status(r, wstatus);
		return true;
	}
	if (p < 0 && errno == ECHILD) {
		/* Somebody else reaped it: should not happen; report it loudly. */
		r->done = true;
		r->status = -1;
	}
	return r->done;
}

static void kill_and_reap(struct squib_run *r)
{
	int wstatus;

	if (!r->started || r->done)
		return;
	kill(-r->pid, SIGKILL);
	kill(r->pid, SIGKILL);
	while (waitpid(r->pid, &wstatus, 0) < 0 && errno == EINTR)
		;
	record_status(r, wstatus);
}

/*
 * A monitor that missed its deadline is asked for a state dump first
 * (SIGUSR1: every vCPU's registers, every device's queues and interrupt
 * state, on its stderr), so the failure report shows where the guest was.
 */
void squib_dump_state(struct squib_run *r)
{
	double until = now_s() + DUMP_WAIT_S;

	if (!r->started || r->done || kill(r->pid, SIGUSR1) < 0)
		return;
	while (!try_reap(r) && now_s() < until)
		sleep_s(POLL_S);
	if (r->done)
		load_outputs(r); /* it ended meanwhile (the stall was its end): describe reads these */
}

bool squib_emulator_triple_fault(const struct squib_run *r)
{
	const char *host = getenv("SQUIB_TEST_HOST");

	return r->done && r->status == SQUIB_EXIT_GUEST_FAULT && host && strcmp(host, "svm-tcg") == 0;
}

bool squib_retry_emulator_fault(const struct squib_run *r, const char *what, int attempt, int attempts,
				const char *again, const char *dump)
{
	if (!squib_emulator_triple_fault(r) || attempt + 1 >= attempts)
		return false;
	cr_log_warn("SQUIB-RETRY: %s attempt %d of %d: guest triple fault in the nested test host (emulated SVM, "
		    "tests/svm-host/README.md); %s\n%s",
		    what, attempt + 1, attempts, again, dump);
	return true;
}

bool squib_wait(struct squib_run *r, double timeout_s)
{
	double deadline = now_s() + timeout_s;

	cr_assert(r->started, "squib_wait before squib_start");
	while (!try_reap(r)) {
		if (now_s() >= deadline) {
			r->timed_out = true;
			squib_dump_state(r);
			kill_and_reap(r);
			break;
		}
		sleep_s(POLL_S);
	}
	load_outputs(r);
	return !r->timed_out;
}

void squib_finish(struct squib_run *r)
{
	double t = squib_timeout();

	if (!squib_wait(r, t))
		cr_assert_fail("monitor did not end within %.0f s (SQUIB_TEST_TIMEOUT); killed.\n%s", t,
			       squib_describe(r));
	cr_assert(r->status >= 0, "monitor pid %d was reaped by someone else", (int)r->pid);
}

bool squib_wait_console(struct squib_run *r, const char *needle, double timeout_s)
{
	double deadline = now_s() + timeout_s;

	for (;;) {
		char *c = slurp(r->console_path);
		bool found = c && strstr(c, needle);

		free(c);
		if (found)
			return true;
		if (try_reap(r)) {
			load_outputs(r);
			return false;
		}
		if (now_s() >= deadline)
			return false;
		sleep_s(POLL_S * 2);
	}
}

void squib_run_guest(struct squib_run *r, unsigned cpus, bool testdev, const char *cmdline)
{
	squib_start_guest(r, cpus, testdev, cmdline, NULL);
	squib_finish(r);
}

void squib_assert_pass(struct squib_run *r)
{
	cr_assert(r->done, "run not finished");
	cr_assert_eq(r->status, SQUIB_EXIT_OK, "guest did not pass (status %d)\n%s", r->status,
		     squib_describe(r));
	cr_assert(count_lines_containing(r->console, "FAIL") == 0, "a guest check failed\n%s",
		  squib_describe(r));
	cr_assert(strstr(r->console, "\nPASS\n") || !strncmp(r->console, "PASS\n", 5),
		  "no PASS line on the console\n%s", squib_describe(r));
}

void squib_check_case(const struct squib_case *c)
{
	static struct squib_run r; /* outlives the test: squib_teardown runs after it */

	squib_run_init(&r);
	squib_run_guest(&r, c->cpus, c->testdev, c->cmdline);
	if (c->status == SQUIB_EXPECT_PASS)
		squib_assert_pass(&r);
	else
		cr_assert(r.status == c->status && r.signal == 0, "expected exit status %d\n%s", c->status,
			  squib_describe(&r));
	for (unsigned i = 0; i < SQUIB_CASE_LINES && c->console[i]; i++)
		cr_assert(strstr(r.console, c->console[i]), "the console lacks '%s'\n%s", c->console[i],
			  squib_describe(&r));
	for (unsigned i = 0; i < SQUIB_CASE_LINES && c->err[i]; i++)
		cr_assert(contains_ci(r.err, c->err[i]), "stderr lacks '%s'\n%s", c->err[i], squib_describe(&r));
}

const char *squib_describe(struct squib_run *r)
{
	char *c = r->console, *e = r->err, *o = r->out;
	char *fc = NULL, *fe = NULL, *fo = NULL;
	char status[96];

	if (!r->done) { /* still running: read what there is */
		c = fc = slurp(r->console_path);
		e = fe = slurp(r->err_path);
		o = fo = slurp(r->out_path);
	}
	if (!r->done)
		snprintf(status, sizeof(status), "still running");
	else if (r->timed_out)
		snprintf(status, sizeof(status), "killed by the harness after the timeout");
	else if (r->signal)
		snprintf(status, sizeof(status), "%d (killed by signal %d)", r->status, r->signal);
	else
		snprintf(status, sizeof(status), "%d", r->status);
	snprintf(r->desc, sizeof(r->desc),
		 "command: %s\nstatus: %s\n--- stderr (tail) ---\n%s\n--- stdout (tail) ---\n%s\n"
		 "--- console (tail) ---\n%s\n--- end ---",
		 r->cmd, status, tail_of(e, 6000), tail_of(o, 600), tail_of(c, 2500));
	free(fc);
	free(fe);
	free(fo);
	return r->desc;
}

/*
 * Kills and reaps every child of this test process: once the monitor has
 * been reaped, those can only be its workers re-parented to us (we are a
 * child subreaper).
 */
static bool is_running_monitor(pid_t pid)
{
	for (int i = 0; i < MAX_RUNS; i++) {
		if (runs[i] && runs[i]->started && !runs[i]->done && runs[i]->pid == pid)
			return true;
	}
	return false;
}

static void reap_orphans(void)
{
	static struct proc_entry kids[64];
	int n = proc_children(getpid(), kids, 64);

	for (int i = 0; i < n; i++) {
		if (is_running_monitor(kids[i].pid))
			kids[i].pid = -1; /* another run of this test, still going */
		else
			kill(kids[i].pid, SIGKILL);
	}
	/*
	 * Reaped in whatever order they finish, not one pid at a time: vCPU 0's
	 * worker is the init of the vCPU workers' pid namespace, and an init
	 * does not finish dying until its namespace's other processes (our
	 * children now) have been reaped.
	 */
	for (int left = 1, round = 0; left && round < 2000; round++) {
		left = 0;
		for (int i = 0; i < n; i++) {
			pid_t w;

			if (kids[i].pid <= 0)
				continue;
			w = waitpid(kids[i].pid, NULL, __WALL | WNOHANG);
			if (w == kids[i].pid || (w < 0 && errno == ECHILD))
				kids[i].pid = -1;
			else
				left++;
		}
		if (left)
			usleep(5000);
	}
}

void squib_run_cleanup(struct squib_run *r)
{
	const char *keep = getenv("SQUIB_KEEP_TEMP");

	if (r->started && !r->done) {
		kill_and_reap(r);
		load_outputs(r);
	}
	reap_orphans();
	if (keep && !strcmp(keep, "1")) {
		cr_log_info("kept %s (%s)", r->dir, r->cmd);
	} else if (r->dir[0]) {
		unlink(r->out_path);
		unlink(r->err_path);
		unlink(r->console_path);
		rmdir(r->dir); /* fails harmlessly if a test left other files */
	}
	free(r->out);
	free(r->err);
	free(r->console);
	r->out = r->err = r->console = NULL;
	for (int i = 0; i < MAX_RUNS; i++) {
		if (runs[i] == r)
			runs[i] = NULL;
	}
}

void squib_teardown(void)
{
	for (int i = 0; i < MAX_RUNS; i++) {
		if (runs[i])
			squib_run_cleanup(runs[i]);
	}
}

/* ---- /proc --------------------------------------------------------------- */

static bool read_small(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return false;
	buf[n] = '\0';
	return true;
}

/* Parses /proc/<pid>/stat: comm may hold spaces and parentheses. */
static bool read_stat(pid_t pid, struct proc_entry *e)
{
	char path[64], buf[2048];
	char *open_paren, *close_paren, *p;
	int field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!read_small(path, buf, sizeof(buf)))
		return false;
	open_paren = strchr(buf, '(');
	close_paren = strrchr(buf, ')');
	if (!open_paren || !close_paren || close_paren < open_paren)
		return false;
	snprintf(e->comm, sizeof(e->comm), "%.*s", (int)(close_paren - open_paren - 1), open_paren + 1);
	p = close_paren + 2; /* field 3: state */
	e->state = *p;
	for (field = 3; *p && field < 22; field++) {
		if (field == 4)
			e->ppid = (pid_t)strtol(p, NULL, 10);
		p = strchr(p, ' ');
		if (!p)
			return false;
		p++;
	}
	e->start = strtoull(p, NULL, 10);
	return true;
}

bool proc_read(pid_t pid, struct proc_entry *e)
{
	char path[64], buf[4096];
	int fd;
	ssize_t n;

	memset(e, 0, sizeof(*e));
	e->pid = pid;
	e->seccomp = -1;
	if (!read_stat(pid, e))
		return false;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, e->cmdline, sizeof(e->cmdline) - 1);
		close(fd);
		if (n > 0) {
			for (ssize_t i = 0; i < n; i++) {
				if (e->cmdline[i] == '\0')
					e->cmdline[i] = ' ';
			}
			e->cmdline[n] = '\0';
			while (n > 0 && e->cmdline[n - 1] == ' ')
				e->cmdline[--n] = '\0';
		}
	}

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	n = readlink(path, e->exe, sizeof(e->exe) - 1);
	e->exe[n > 0 ? n : 0] = '\0';

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (read_small(path, buf, sizeof(buf))) {
		char *s = strstr(buf, "\nSeccomp:");
		if (s)
			e->seccomp = (int)strtol(s + strlen("\nSeccomp:"), NULL, 10);
	}
	return true;
}

int proc_children(pid_t parent, struct proc_entry *out, int max)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;

	cr_assert(d, "opendir /proc: %s", strerror(errno));
	while ((de = readdir(d)) && n < max) {
		struct proc_entry e;
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0)
			continue;
		if (!proc_read((pid_t)pid, &e) || e.ppid != parent)
			continue;
		out[n++] = e;
	}
	closedir(d);
	return n;
}

bool proc_is_spawner(const struct proc_entry *e)
{
	return !strcmp(e->comm, "squib-spawner");
}

int proc_workers(pid_t monitor, struct proc_entry *out, int max, struct proc_entry *spawner)
{
	int n = proc_children(monitor, out, max), kept = 0;
	pid_t spawner_pid = 0;

	if (spawner)
		memset(spawner, 0, sizeof(*spawner));
	for (int i = 0; i < n; i++) {
		if (proc_is_spawner(&out[i])) {
			spawner_pid = out[i].pid;
			if (spawner)
				*spawner = out[i];
			continue;
		}
		out[kept++] = out[i];
	}
	if (spawner_pid > 0 && kept < max)
		kept += proc_children(spawner_pid, out + kept, max - kept);
	return kept;
}

pid_t proc_device_worker_pid(pid_t monitor, const char *name)
{
	struct proc_entry kids[64];
	int n = proc_workers(monitor, kids, 64, NULL);

	for (int i = 0; i < n; i++)
		if (proc_is_device_worker(&kids[i]) && proc_device_is(&kids[i], name) && kids[i].state != 'Z')
			return kids[i].pid;
	return 0;
}

bool proc_still_exists(const struct proc_entry *e, char *state_out)
{
	struct proc_entry now;

	if (!read_stat(e->pid, &now) || now.start != e->start)
		return false;
	if (state_out)
		*state_out = now.state;
	return true;
}

bool proc_is_device_worker(const struct proc_entry *e)
{
	return !strncmp(e->comm, "squib-dev-", strlen("squib-dev-")) ||
	       strstr(e->cmdline, "squib-device") != NULL;
}

bool proc_is_vcpu_worker(const struct proc_entry *e, const struct proc_entry *monitor)
{
	if (!strncmp(e->comm, "squib-vcpu", strlen("squib-vcpu")))
		return true;
	if (proc_is_device_worker(e) || proc_is_spawner(e) || !strcmp(e->comm, "squib-pidns-ini"))
		return false;
	if (e->exe[0] && monitor->exe[0])
		return !strcmp(e->exe, monitor->exe);
	return true;
}

bool proc_device_is(const struct proc_entry *e, const char *name)
{
	char comm[64];

	snprintf(comm, sizeof(comm), "squib-dev-%s", name);
	comm[15] = '\0'; /* TASK_COMM_LEN - 1 */
	return strcmp(e->comm, comm) == 0;
}

void blk_pattern(uint64_t s, uint64_t p, uint64_t seed, uint8_t out[BLK_SECTOR])
{
	uint64_t head[4] = { BLK_PATTERN_MAGIC, s, p, seed };
	uint64_t x = (s * 0x9E3779B97F4A7C15ull) ^ (p << 32) ^ seed ^ 1, h = 0xcbf29ce484222325ull;

	memcpy(out, head, sizeof(head));
	for (int i = 0; i < 59; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(out + 32 + 8 * i, &x, 8);
	}
	for (int i = 0; i < 504; i++)
		h = (h ^ out[i]) * 0x100000001b3ull;
	memcpy(out + 504, &h, 8);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/*
 * Logs the median and worst "ready N ms after its predecessor died" of
 * device name's restarts, and the same without the back-off.
 */
void squib_log_restart_gaps(const struct squib_run *r, const char *name)
{
	char needle[64];
	double gaps[64], work[64];
	size_t n = 0;

	snprintf(needle, sizeof(needle), "device %s restarted: worker pid ", name);
	for (const char *p = strstr(r->err, needle); p && n < 64; p = strstr(p + 1, needle)) {
		const char *ready = strstr(p, " ready ");
		const char *eol = strchr(p, '\n');

		const char *of = ready ? strstr(ready, "; ") : NULL;
		double backoff = 0;

		if (ready && (!eol || ready < eol) && sscanf(ready, " ready %lf ms", &gaps[n]) == 1) {
			if (of && (!eol || of < eol))
				(void)sscanf(of, "; %lf ms of it back-off", &backoff);
			work[n] = gaps[n] - backoff;
			n++;
		}
	}
	if (n == 0)
		return;
	qsort(gaps, n, sizeof(gaps[0]), cmp_double);
	qsort(work, n, sizeof(work[0]), cmp_double);
	cr_log_info("%s: %zu restarts, death to ready: median %.3f ms, worst %.3f ms; without the back-off: median "
		    "%.3f ms, worst %.3f ms", name, n, gaps[n / 2], gaps[n - 1], work[n / 2], work[n - 1]);
	/* Death to the successor's first completed request (CONTROL_SERVED), where it served one. */
	snprintf(needle, sizeof(needle), "device %s served its first request ", name);
	n = 0;
	for (const char *p = strstr(r->err, needle); p && n < 64; p = strstr(p + 1, needle))
		if (sscanf(p + strlen(needle), "%lf ms", &gaps[n]) == 1)
			n++;
	if (n == 0)
		return;
	qsort(gaps, n, sizeof(gaps[0]), cmp_double);
	cr_log_info("%s: death to the first completed request: median %.3f ms, worst %.3f ms (%zu restarts)", name,
		    gaps[n / 2], gaps[n - 1], n);
}

/*
 * Waits until device name has a live worker other than not_pid and returns
 * its pid (0 when the run ended or the timeout passed).
 */
pid_t squib_wait_device_worker(struct squib_run *r, const char *name, pid_t not_pid, double timeout_s)
{
	double deadline = now_s() + timeout_s;

	while (now_s() < deadline) {
		pid_t pid = proc_device_worker_pid(r->pid, name);

		if (pid > 0 && pid != not_pid)
			return pid;
		if (kill(r->pid, 0) < 0)
			return 0;
		sleep_s(0.005);
	}
	return 0;
}

int squib_start_echo_guest(struct squib_run *r)
{
	int p[2];

	squib_run_init(r);
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	squib_set_stdio(r, p[0], -1);
	squib_start_guest(r, 1, true, "uart-irq echo=1 bytes=0", NULL);
	close(p[0]);
	cr_assert(squib_wait_console(r, "uart-irq: ready", squib_timeout()), "%s", squib_describe(r));
	return p[1];
}

char guest_uart_pattern(size_t k)
{
	static const char alnum[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

	return k % 64 == 63 ? '\n' : alnum[(k + k / 64) % 62];
}

void squib_assert_uart_pattern(struct squib_run *r, size_t bytes)
{
	char marker[64];
	const char *start;

	snprintf(marker, sizeof(marker), "uart-irq: pattern %zu bytes\n", bytes);
	start = r->console ? strstr(r->console, marker) : NULL;
	cr_assert(start, "no pattern marker on the console\n%s", squib_describe(r));
	start += strlen(marker);
	cr_assert_geq(strlen(start), bytes, "only %zu of %zu pattern bytes arrived\n%s", strlen(start), bytes,
		      squib_describe(r));
	for (size_t k = 0; k < bytes; k++)
		cr_assert_eq(start[k], guest_uart_pattern(k), "pattern byte %zu: expected '%c', got '%c' (lost or doubled)",
			     k, guest_uart_pattern(k), start[k]);
	cr_assert(!strncmp(start + bytes, "\nuart-irq: sent ", strlen("\nuart-irq: sent ")), "after the pattern: %.60s",
		  start + bytes);
}
