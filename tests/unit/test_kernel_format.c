// SPDX-License-Identifier: MIT
/* Unit tests for monitor/boot/kernel_format.c: what --kernel files are taken for. */
#include <criterion/criterion.h>

#include <string.h>

#include "monitor/boot/kernel_format.h"

static enum kernel_format detect(const void *p, size_t len, const char **what)
{
	return kernel_format_detect(p, len, what);
}

Test(kernel_format, bzimage)
{
	static uint8_t img[0x400];
	const char *what;

	img[0x1fe] = 0x55;
	img[0x1ff] = 0xaa;
	memcpy(img + 0x202, "HdrS", 4);
	cr_assert_eq(detect(img, sizeof(img), &what), KERNEL_FORMAT_BZIMAGE);
	cr_assert_null(what);
}

Test(kernel_format, raw_code)
{
	/* A typical raw guest start: mov, jmp, zero padding. */
	static const uint8_t code[] = { 0x48, 0xc7, 0xc4, 0x00, 0x00, 0x10, 0x00, 0xe9, 0x00, 0x00, 0x00, 0x00, 0 };
	const char *what;

	cr_assert_eq(detect(code, sizeof(code), &what), KERNEL_FORMAT_RAW);
	cr_assert_null(what);
}

Test(kernel_format, foreign_files_named)
{
	static const struct {
		const char *bytes;
		size_t len;
		const char *needle;
	} cases[] = {
		{ "\x7f" "ELF\x02\x01\x01", 7, "ELF" },
		{ "\x1f\x8b\x08\x00", 4, "gzip" },
		{ "\xfd" "7zXZ\x00", 6, "xz" },
		{ "\x28\xb5\x2f\xfd\x00", 5, "zstd" },
		{ "BZh91AY", 7, "bzip2" },
		{ "07070100000001", 14, "--initrd" },
		{ "root:x:0:0:root:/root:/bin/bash\n", 32, "text" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *what = NULL;

		cr_assert_eq(detect(cases[i].bytes, cases[i].len, &what), KERNEL_FORMAT_OTHER, "case %zu", i);
		cr_assert_not_null(what);
		cr_assert_not_null(strstr(what, cases[i].needle), "case %zu: '%s'", i, what);
	}
}
