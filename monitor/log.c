/* SPDX-License-Identifier: MIT */
/* The monitor's log (log.h). */
#include "monitor/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "common/log_prefix.h"

/* Lines written: process-wide because stderr is; read by mlog_lines(). */
static unsigned long lines_written;
/* The prefix's who: "monitor", or "spawner" in the process forked off it (spawner.c). */
static const char *log_who = "monitor";

void mlog_set_who(const char *who)
{
	log_who = who;
}

void mlog(const char *fmt, ...)
{
	char line[1024];
	size_t prefix;
	va_list ap;
	int n;

	/* getpid each time: the monitor forks one process per boot (--on-reboot restart). */
	n = snprintf(line, sizeof(line), LOG_PREFIX_FMT, log_who, (int)getpid());
	if (n < 0 || (size_t)n >= sizeof(line) / 2)
		return;
	prefix = (size_t)n;
	va_start(ap, fmt);
	n = vsnprintf(line + prefix, sizeof(line) - prefix - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - prefix - 2)
		n = (int)(sizeof(line) - prefix - 2); /* truncated: keep room for the newline */
	line[prefix + (size_t)n] = '\n';
	/* One write per line: lines from the monitor and workers do not interleave. */
	(void)!write(2, line, prefix + (size_t)n + 1);
	lines_written++;
}

unsigned long mlog_lines(void)
{
	return lines_written;
}
