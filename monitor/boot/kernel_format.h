/* SPDX-License-Identifier: MIT */
/*
 * Which kind of --kernel file this is. A bzImage announces itself (setup
 * header, monitor/boot/bzimage.h); a raw guest image has no header at all, so
 * anything else is raw, except files that are recognisably something else
 * which someone could pass by mistake: an ELF vmlinux, a compressed file,
 * an initramfs, a text file. Those are refused with a line naming what
 * they look like, instead of being run as code.
 */
#ifndef SQUIB_MONITOR_KERNEL_FORMAT_H
#define SQUIB_MONITOR_KERNEL_FORMAT_H

#include <stddef.h>
#include <stdint.h>

enum kernel_format {
	KERNEL_FORMAT_RAW = 0,
	KERNEL_FORMAT_BZIMAGE = 1,
	KERNEL_FORMAT_OTHER = 2, /* not a kernel squib boots; *what names it */
};

/* Classifies img (len > 0). For KERNEL_FORMAT_OTHER, *what describes the file. */
enum kernel_format kernel_format_detect(const uint8_t *img, size_t len, const char **what);

#endif
