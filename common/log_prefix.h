/* SPDX-License-Identifier: MIT */
/*
 * The one log-line prefix of every squib process:
 *
 *   squib[<who> <pid>]: <message>
 *
 * who is "monitor", "vcpu<N>" or "dev-<name>" (the processes' comm names
 * are squib-monitor, squib-vcpuN and squib-dev-<name>, so ps and the log
 * agree); pid is the writer's. Every line is one write(2) on stderr, which
 * all processes of a VM share, so lines never interleave. The command
 * line's own usage errors, before any VM exists, keep the Unix convention
 * "squib-monitor: <message>".
 *
 * Freestanding (vCPU workers): fmt_log_prefix appends the prefix to a
 * struct fmt_buf. Hosted code uses LOG_PREFIX_FMT with snprintf.
 */
#ifndef SQUIB_COMMON_LOG_PREFIX_H
#define SQUIB_COMMON_LOG_PREFIX_H

#include <stdint.h>

#include "common/fmt.h"

/* snprintf(buf, n, LOG_PREFIX_FMT, who, pid). */
#define LOG_PREFIX_FMT "squib[%s %d]: "
/* A device worker's: printf(LOG_PREFIX_DEVICE_FMT "...", device name, pid, ...). */
#define LOG_PREFIX_DEVICE_FMT "squib[dev-%s %d]: "

/* "squib[<who><index> <pid>]: "; index < 0: none (who alone). */
static inline void fmt_log_prefix(struct fmt_buf *f, const char *who, int64_t index, int64_t pid)
{
	fmt_str(f, "squib[");
	fmt_str(f, who);
	if (index >= 0)
		fmt_dec(f, index);
	fmt_char(f, ' ');
	fmt_dec(f, pid);
	fmt_str(f, "]: ");
}

#endif
