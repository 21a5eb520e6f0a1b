/* SPDX-License-Identifier: MIT */
/*
 * Copies of the files a VM boots from (--kernel, --initrd).
 * Each refusal is one line naming the file and what is wrong with it.
 */
#ifndef SQUIB_MONITOR_IMAGE_FILE_H
#define SQUIB_MONITOR_IMAGE_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"

struct image_file {
	const uint8_t *data;
	size_t len;
	bool owned; /* malloc'd, freed on release (false: data points at something static) */
};

/*
 * Reads path (what: "kernel", "initrd", for messages) read-only. Refuses a
 * file that cannot be opened, is not a regular file, is empty, or is larger
 * than max_len bytes (-EFBIG; max_len_what says why, e.g. "the 128 MiB of
 * guest RAM"). 0 or -errno with err filled.
 */
int image_file_map(const char *path, const char *what, uint64_t max_len, const char *max_len_what,
		   struct image_file *out, char *err, size_t err_len) MUST_USE;

void image_file_release(struct image_file *img);

#endif
