/* SPDX-License-Identifier: MIT */
/*
 * Closing every fd of a freshly forked helper but the ones it keeps (the
 * spawner, the VM process): what a fork inherits is the whole table.
 */
#ifndef SQUIB_MONITOR_CLOSE_FDS_H
#define SQUIB_MONITOR_CLOSE_FDS_H

#include "common/compiler.h"

/*
 * Closes every fd not in keep[0..n) (negative entries are ignored; keep is
 * sorted in place) with close_range(2) over each gap. 0 or -errno.
 */
int close_fds_except(int *keep, int n) MUST_USE;

#endif
