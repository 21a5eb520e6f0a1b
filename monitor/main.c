/* SPDX-License-Identifier: MIT */
/* squib-monitor: one process per VM. See README.md. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "monitor/cli.h"
#include "monitor/exit_status.h"
#include "monitor/log.h"
#include "monitor/supervise/vm_cgroup.h"
#include "monitor/vm.h"

#ifndef SQUIB_VERSION
#define SQUIB_VERSION "0.1.0"
#endif

#ifdef SQUIB_SANITIZED
/*
 * LeakSanitizer's exit-time check stops the world with clone() and ptrace(),
 * which the monitor's seccomp filter rightly denies. Sandboxed processes run
 * without it; the unit tests (unsandboxed) keep leak checking.
 */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "detect_leaks=0";
}
#endif

/* Builds, runs and releases one VM; *reset tells whether the guest rebooted. */
static int run_vm(const struct vm_config *cfg, volatile int *reset)
{
	static struct vm vm;
	int status;

	if (vm_build(&vm, cfg) < 0) {
		vm_destroy(&vm);
		return EXIT_SETUP_FAILED;
	}
	status = vm_run(&vm);
	*reset = vm.reset_requested;
	vm_destroy(&vm);
	return status;
}

/*
 * --on-reboot restart. A monitor narrows itself to its seccomp filter once
 * its VM runs, so it can never build a second VM: each boot is a fresh
 * child process, and this parent (which only waits) starts another when a
 * child's guest rebooted. The flag travels through a shared page, not the
 * exit status, which a testdev guest chooses freely. The globals are the
 * child's pid and the stop signal, for the handler that forwards
 * SIGINT/SIGTERM/SIGHUP (a signal between two boots stops the loop).
 */
static volatile pid_t restart_child = -1;
static volatile sig_atomic_t restart_stop_signal;

static void forward_signal(int sig)
{
	restart_stop_signal = sig;
	if (restart_child > 0)
		kill(restart_child, sig);
}

/*
 * After a boot's monitor is gone: its workers (PR_SET_PDEATHSIG) die with
 * it and, this process being their subreaper, are reaped here, so nothing
 * of any boot outlives the command.
 */
static void reap_orphans(void)
{
	while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
		;
}

static int run_restarting(const struct vm_config *first)
{
	struct vm_config again = *first;
	const struct vm_config *cfg = first;
	static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa;
	volatile int *reset;

	/* Orphaned workers of a boot are reparented here and reaped (reap_orphans). */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
		mlog("cannot become the subreaper of every boot's workers: %s", strerror(errno));
		return EXIT_SETUP_FAILED;
	}
	reset = mmap(NULL, sizeof(*reset), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (reset == MAP_FAILED) {
		mlog("cannot map the restart flag: %s", strerror(errno));
		return EXIT_SETUP_FAILED;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = forward_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++) {
		if (sigaction(forwarded[i], &sa, NULL) < 0) {
			mlog("cannot forward SIG%s to each boot: %s", sigabbrev_np(forwarded[i]), strerror(errno));
			return EXIT_SETUP_FAILED;
		}
	}
	for (unsigned boot = 1;; boot++) {
		int wstatus;
		pid_t pid;

		*reset = 0;
		if (restart_stop_signal)
			return EXIT_SIGNAL_BASE + restart_stop_signal;
		fflush(NULL);
		pid = fork();
		if (pid < 0) {
			mlog("cannot fork boot %u: %s", boot, strerror(errno));
			return EXIT_SETUP_FAILED;
		}
		if (pid == 0) {
			signal(SIGINT, SIG_DFL);
			signal(SIGTERM, SIG_DFL);
			signal(SIGHUP, SIG_DFL);
			if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) {
				mlog("boot %u: cannot tie its life to the monitor's (PR_SET_PDEATHSIG): %s", boot,
				     strerror(errno));
				_exit(EXIT_SETUP_FAILED);
			}
			if (getppid() == 1)
				_exit(EXIT_SETUP_FAILED);
			_exit(run_vm(cfg, reset));
		}
		restart_child = pid;
		while (waitpid(pid, &wstatus, 0) < 0)
			if (errno != EINTR)
				return EXIT_SETUP_FAILED;
		restart_child = -1;
		reap_orphans();
		vm_cgroup_remove(cfg, pid); /* the boot's leaf, now empty (a jailed monitor cannot reach it) */
		if (WIFSIGNALED(wstatus))
			return EXIT_SIGNAL_BASE + WTERMSIG(wstatus);
		if (!*reset || cfg->on_reboot != REBOOT_RESTART)
			return WEXITSTATUS(wstatus);
		/* Later boots add to the console file instead of truncating it. */
		again.console_append = true;
		cfg = &again;
	}
}

int main(int argc, char **argv)
{
	enum cli_command cmd;
	struct vm_config cfg;
	volatile int reset = 0;
	char err[256];

	if (cli_parse(argc, argv, &cmd, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "squib-monitor: %s\n", err);
		return EXIT_USAGE;
	}
	if (cmd == CLI_HELP) {
		fputs(cli_usage_text, stdout);
		return 0;
	}
	if (cmd == CLI_VERSION) {
		printf("squib-monitor %s\n", SQUIB_VERSION);
		return 0;
	}
	/* A VM with a cgroup leaf runs under this waiting parent too: it removes the leaf afterwards. */
	if (cfg.on_reboot == REBOOT_RESTART || cfg.cgroup_parent)
		return run_restarting(&cfg);
	return run_vm(&cfg, &reset);
}
