/* SPDX-License-Identifier: MIT */
/*
 * Closing every fd of a freshly forked helper but the ones it keeps (the
 * spawner, the VM process): what a fork inherits is the whole table.
 */
#ifndef SQUIB_MONITOR_CLOSE_FDS_H
#define SQUIB_MONITOR_CLOSE_FDS_H

#include <sys/types.h>

#include "common/compiler.h"

/*
 * Closes every fd not in keep[0..n) (negative entries are ignored; keep is
 * sorted in place) with close_range(2) over each gap. 0 or -errno.
 */
int close_fds_except(int *keep, int n) MUST_USE;

/*
 * The first steps of a helper just forked from the monitor (the spawner,
 * the VM process): its log lines say who, ps shows comm, it dies with
 * parent (PR_SET_PDEATHSIG; it exits at once if parent is already gone),
 * and it closes every fd but keep[0..n). On failure it logs one line and
 * exits with status.
 */
void forked_helper_start(const char *who, const char *comm, pid_t parent, int *keep, int n, int status);

#endif
