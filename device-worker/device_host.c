/* SPDX-License-Identifier: MIT */
/*
 * The services struct device_host offers a model. Everything here runs
 * inside the sandbox: vsnprintf (no syscall), write(2), send(2) (sendto).
 */
#include "device-worker/device.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/log_prefix.h"
#include "device-worker/control_io.h"

int device_host_send_vm_exit(struct device_host *host, uint8_t status)
{
	return control_send(host->control_fd, CONTROL_VM_EXIT, status, 0);
}

void device_host_init(struct device_host *host, const char *name, int control_fd, int log_fd)
{
	memset(host, 0, sizeof(*host));
	host->name = name;
	host->console_kick_fd = -1;
	host->control_fd = control_fd;
	host->log_fd = log_fd;
	host->pid = (int)getpid();
	host->request_vm_exit = device_host_send_vm_exit;
	host->irq_fd = host->resample_fd = host->backend_fd = -1;
	for (unsigned i = 0; i < DEVICE_MAX_NOTIFY_FDS; i++)
		host->notify_fds[i] = -1;
}

void device_log(const struct device_host *host, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n, m;
	ssize_t w;

	n = snprintf(line, sizeof(line), LOG_PREFIX_DEVICE_FMT, host->name ? host->name : "?", host->pid);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	n += m;
	if ((size_t)n >= sizeof(line) - 1)
		n = (int)sizeof(line) - 2; /* truncated: keep room for the newline */
	line[n++] = '\n';
	do {
		w = write(host->log_fd, line, (size_t)n);
	} while (w < 0 && errno == EINTR);
	/* Nothing to do if the log itself fails. */
}
