/* SPDX-License-Identifier: MIT */
/* Writing a kernel control file (/proc/self/uid_map, a cgroup's cpu.max, ...). */
#ifndef SQUIB_COMMON_CONTROL_FILE_H
#define SQUIB_COMMON_CONTROL_FILE_H

#include "common/compiler.h"

/*
 * Writes text to path in one write(2), never through a symlink: the kernel
 * takes such a file's value whole or refuses it. 0 or -errno (-EIO for a
 * short write). Hosted code only (libc).
 */
int control_file_write(const char *path, const char *text) MUST_USE;

#endif
