/* SPDX-License-Identifier: MIT */
#include "monitor/boot/kernel_format.h"

#include <stdbool.h>
#include <string.h>

#include "monitor/boot/bzimage.h"

#define TEXT_PROBE_BYTES 512

static const struct {
	const char *magic;
	size_t len;
	const char *what;
} foreign[] = {
	{ "\x7f" "ELF", 4, "an ELF file (a vmlinux? boot the bzImage, arch/x86/boot/bzImage or /boot/vmlinuz-*)" },
	{ "\x1f\x8b", 2, "a gzip-compressed file" },
	{ "\xfd" "7zXZ", 5, "an xz-compressed file" },
	{ "\x28\xb5\x2f\xfd", 4, "a zstd-compressed file" },
	{ "BZh", 3, "a bzip2-compressed file" },
	{ "\x89LZO", 4, "an lzop-compressed file" },
	{ "070701", 6, "a cpio archive (an initramfs? pass it with --initrd)" },
	{ "070702", 6, "a cpio archive (an initramfs? pass it with --initrd)" },
};

static bool looks_like_text(const uint8_t *img, size_t len)
{
	size_t n = len < TEXT_PROBE_BYTES ? len : TEXT_PROBE_BYTES;

	for (size_t i = 0; i < n; i++) {
		uint8_t c = img[i];

		if (!(c == '\n' || c == '\r' || c == '\t' || (c >= 0x20 && c < 0x7f)))
			return false;
	}
	return true;
}

enum kernel_format kernel_format_detect(const uint8_t *img, size_t len, const char **what)
{
	*what = NULL;
	if (bzimage_detect(img, len))
		return KERNEL_FORMAT_BZIMAGE;
	for (size_t i = 0; i < sizeof(foreign) / sizeof(foreign[0]); i++) {
		if (len >= foreign[i].len && !memcmp(img, foreign[i].magic, foreign[i].len)) {
			*what = foreign[i].what;
			return KERNEL_FORMAT_OTHER;
		}
	}
	/* Real code is never pure printable ASCII over its first 512 bytes. */
	if (looks_like_text(img, len)) {
		*what = "a text file";
		return KERNEL_FORMAT_OTHER;
	}
	return KERNEL_FORMAT_RAW;
}
