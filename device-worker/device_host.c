/* SPDX-License-Identifier: MIT */
/*
 * The services struct device_host offers a model. Everything here runs
 * inside the sandbox: vsnprintf (no syscall), write(2), send(2) (sendto).
 */
#include "device-worker/device.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>
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
	host->log_budget = &host->log_budget_store;
	host->log_budget_store.tokens = DEVICE_LOG_BURST;
	host->request_vm_exit = device_host_send_vm_exit;
	host->irq_fd = host->resample_fd = host->backend_fd = -1;
	for (unsigned i = 0; i < DEVICE_MAX_NOTIFY_FDS; i++)
		host->notify_fds[i] = -1;
}

/* Takes a token for one line (refilling first); false when the line must be dropped. */
static bool log_budget_take(struct device_log_budget *b)
{
	struct timespec ts;
	uint64_t now, add;

	if (!b)
		return true;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	if (b->refilled_ns == 0)
		b->refilled_ns = now;
	add = (now - b->refilled_ns) / (1000000000ull / DEVICE_LOG_PER_S);
	if (add > 0) {
		b->tokens = b->tokens + add > DEVICE_LOG_BURST ? DEVICE_LOG_BURST : b->tokens + (uint32_t)add;
		b->refilled_ns += add * (1000000000ull / DEVICE_LOG_PER_S);
	}
	if (b->tokens == 0) {
		b->dropped++;
		return false;
	}
	b->tokens--;
	return true;
}

void device_log(const struct device_host *host, const char *fmt, ...)
{
	struct device_log_budget *b = host->log_budget;
	char line[256];
	va_list ap;
	int n, m;
	ssize_t w;

	if (!log_budget_take(b))
		return;
	if (b && b->dropped) {
		char note[128];
		int k = snprintf(note, sizeof(note), LOG_PREFIX_DEVICE_FMT "%llu lines not logged (more than %d a second)\n",
				 host->name ? host->name : "?", host->pid, (unsigned long long)b->dropped, DEVICE_LOG_PER_S);

		b->dropped = 0;
		if (k > 0 && (size_t)k < sizeof(note))
			(void)!write(host->log_fd, note, (size_t)k);
	}

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
