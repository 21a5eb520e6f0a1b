/* SPDX-License-Identifier: MIT */
/*
 * A stand-in for squib-device that breaks its sandbox on purpose, so the
 * integration tests can check, end to end, how the monitor reports a
 * seccomp violation: role, pid and the denied syscall's name.
 *
 * It takes squib-device's command line (--config-fd N: the configuration
 * record of proto/device_config.h), maps its status page, enters the
 * real device sandbox (sandbox_enter), reports CONTROL_READY and then calls
 * getppid(), which no device role allows. Used only through
 * SQUIB_DEVICE_BINARY by tests/integration/test_processes.c.
 *
 * Started as a name ending in escape-probe-<pid>-<pid> (a symlink), it first
 * runs the escape probe (escape_probe.h) against those pids.
 *
 * Started as a name ending in hang, it says READY and then serves nothing
 * (a wedged device).
 *
 * Started as a name ending in forge-exit, it instead forges a clean guest exit
 * (CONTROL_VM_EXIT, status 0), which only testdev may send, and then waits
 * for CONTROL_STOP like a well-behaved worker.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "device-worker/acquire.h"
#include "proto/control.h"
#include "proto/device_config.h"
#include "sandbox/sandbox.h"
#include "tests/fake-device/escape_probe.h"

/* The record in the --config-fd memfd, read as squib-device reads it (device-worker/acquire.c). */
static int read_config(int argc, char **argv, struct device_config *c)
{
	char err[256];

	if (argc != 3 || strcmp(argv[1], "--config-fd") != 0)
		return -1;
	if (acquire_config(atoi(argv[2]), c, err, sizeof(err)) < 0) {
		fprintf(stderr, "fake-device: %s\n", err);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct device_config cfg;
	int control_fd, status_fd;
	struct control_msg ready = { .type = CONTROL_READY };
	/*
	 * The mode is the end of the name it was started as (a symlink the test
	 * makes): the jail execs every device worker with an empty environment.
	 */
	const char *name = argc > 0 && argv[0] ? argv[0] : "";
	const size_t name_len = strlen(name);
	const bool forge_exit = name_len >= 10 && !strcmp(name + name_len - 10, "forge-exit");
	const char *probe = strstr(name, "escape-probe-");
	const bool hang = name_len >= 4 && !strcmp(name + name_len - 4, "hang");
	struct sandbox_params params;
	struct worker_status *status;

	if (read_config(argc, argv, &cfg) < 0)
		return 2;
	control_fd = cfg.control_fd;
	status_fd = cfg.status_fd;
	status = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, status_fd, 0);
	if (status == MAP_FAILED) {
		perror("fake-device: mmap status");
		return 1;
	}
	{
		/* As squib-device does: no core file of a process mapping guest RAM. */
		const struct rlimit no_core = { 0, 0 };

		if (setrlimit(RLIMIT_CORE, &no_core) < 0 || prctl(PR_SET_DUMPABLE, 0) < 0) {
			perror("fake-device: disabling core dumps");
			return 1;
		}
	}
	memset(&params, 0, sizeof(params));
	params.vcpu_fd = -1;
	params.log_fd = 2;
	params.control_fd = control_fd;
	params.doorbell_fd = -1;
	for (size_t i = 0; i < sizeof(params.doorbell_fds) / sizeof(params.doorbell_fds[0]); i++)
		params.doorbell_fds[i] = -1;
	if (probe) {
		/* escape-probe-<monitor pid>-<worker pid>: another VM's processes to reach for. */
		long monitor = 0, other = 0;

		sscanf(probe, "escape-probe-%ld-%ld", &monitor, &other);
		escape_probe_run(&params, (pid_t)monitor, (pid_t)other);
	}
	if (sandbox_enter(SANDBOX_ROLE_DEVICE, &params, status) < 0) {
		fprintf(stderr, "fake-device: sandbox_enter failed\n");
		return 1;
	}
	if (send(control_fd, &ready, sizeof(ready), MSG_NOSIGNAL) != (ssize_t)sizeof(ready))
		_exit(1);
	if (hang) {
		/* READY, then never serve a record: what the vCPUs' reply deadline is for. */
		struct control_msg in;

		while (recv(control_fd, &in, sizeof(in), 0) == (ssize_t)sizeof(in))
			if (in.type == CONTROL_STOP)
				_exit(0);
		_exit(1);
	}
	if (forge_exit) {
		struct control_msg forged = { .type = CONTROL_VM_EXIT, .arg = 0 };
		struct control_msg in;

		if (send(control_fd, &forged, sizeof(forged), MSG_NOSIGNAL) != (ssize_t)sizeof(forged))
			_exit(1);
		while (recv(control_fd, &in, sizeof(in), 0) == (ssize_t)sizeof(in))
			if (in.type == CONTROL_STOP)
				_exit(0);
		_exit(1);
	}
	syscall(SYS_getppid); /* denied: SIGSYS */
	_exit(3);
}
