/* SPDX-License-Identifier: MIT */
/*
 * The monitor's log: one line per message on stderr,
 * "squib[monitor <pid>]: <message>" (common/log_prefix.h),
 * written with one write(2) so lines from the monitor and its workers (which
 * share stderr) never interleave mid-line. Safe after the monitor's seccomp
 * filter is loaded (write on fd 2 only).
 *
 * The rule (docs/DESIGN.md, "Errors and logging"): library code returns
 * -errno and fills a message; the boundary that called it logs one line.
 * mlog_lines() lets a boundary check that a failure it is about to return
 * was said: vm_build prints a line of its own only when nothing below it did.
 */
#ifndef SQUIB_MONITOR_LOG_H
#define SQUIB_MONITOR_LOG_H

void mlog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The process mlog speaks for (a static string): "monitor" unless a forked helper says otherwise. */
void mlog_set_who(const char *who);

/* How many lines mlog has written so far (the process's only logging state). */
unsigned long mlog_lines(void);

#endif
