/* SPDX-License-Identifier: MIT */
/* squib-monitor: one process per VM. See README.md. */
#include <stdio.h>

#include "monitor/cli.h"
#include "monitor/exit_status.h"
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

int main(int argc, char **argv)
{
	enum cli_command cmd;
	struct vm_config cfg;
	static struct vm vm;
	char err[256];
	int status;

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
	if (vm_build(&vm, &cfg) < 0) {
		vm_destroy(&vm);
		return EXIT_SETUP_FAILED;
	}
	status = vm_run(&vm);
	vm_destroy(&vm);
	return status;
}
