/* SPDX-License-Identifier: MIT */
/*
 * The device worker's first phase (acquire, then narrow, then serve): read
 * its configuration record, check that every fd it names is what it claims
 * to be, map the memfds, and close everything else. All of it before the
 * sandbox; none of it reads a guest byte.
 *
 * Each function returns 0 or -errno and fills err with one line naming the
 * fd and what was wrong; main.c, the boundary, prints it.
 *
 * Trust: the configuration and the fds come from the monitor, which
 * squib-device trusts to have meant well but checks anyway (a confused or
 * mismatched monitor must get a clear error, not a worker serving garbage).
 */
#ifndef SQUIB_DEVICE_ACQUIRE_H
#define SQUIB_DEVICE_ACQUIRE_H

#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"
#include "device-worker/device.h"
#include "proto/control.h"
#include "proto/device_config.h"

#define DEVICE_STATUS_PAGE_SIZE 4096u

/* Reads and decodes the record in fd (a memfd of at most DEVICE_CONFIG_MAX_BYTES). */
int acquire_config(int fd, struct device_config *c, char *err, size_t err_len) MUST_USE;

/* Does c give model exactly what it uses (enum device_uses)? */
int acquire_check_model(const struct device_config *c, const struct device_model *model, char *err,
			size_t err_len) MUST_USE;

/*
 * Checks every fd c names by kind (memfd, eventfd, SOCK_SEQPACKET, pipe,
 * writable output) without mapping anything.
 */
int acquire_check_fds(const struct device_config *c, char *err, size_t err_len) MUST_USE;

/*
 * Maps a memfd of at least min_size bytes, map_size bytes, shared
 * read-write. what names it in messages ("ram_fd 5").
 */
int acquire_map_memfd(int fd, const char *what, uint64_t min_size, uint64_t map_size, void **out, char *err,
		      size_t err_len) MUST_USE;

/* Maps the status page and resets it (magic, no denied syscall, no records). */
int acquire_status(int fd, struct worker_status **out, char *err, size_t err_len) MUST_USE;

/* Closes every fd but keep[0..n) (which may hold -1s; keep is sorted in place). */
int acquire_close_others(int *keep, unsigned n, char *err, size_t err_len) MUST_USE;

/*
 * The monitor owns the terminal: SIGINT, SIGTERM, SIGQUIT, SIGHUP and SIGPIPE
 * are ignored, except the parent-death signal the monitor chose.
 */
int acquire_ignore_signals(char *err, size_t err_len) MUST_USE;

#endif
