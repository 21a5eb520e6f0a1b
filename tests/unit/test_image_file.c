// SPDX-License-Identifier: MIT
/* Unit tests for monitor/boot/image_file.c: each refusal names the file and the problem. */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "monitor/boot/image_file.h"

static char dir[64];
static char path[128];
static char err[512];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/squib-image-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/kernel", dir);
}

static void teardown(void)
{
	unlink(path);
	rmdir(dir);
}

TestSuite(image_file, .init = setup, .fini = teardown);

static void write_file(size_t len)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	for (size_t i = 0; i < len; i++)
		fputc((int)(i * 7 & 0xff), f);
	cr_assert_eq(fclose(f), 0);
}

Test(image_file, reads_whole_file)
{
	struct image_file img;

	write_file(10000);
	cr_assert_eq(image_file_map(path, "kernel", 10000, "the limit", &img, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(img.len, 10000u);
	for (size_t i = 0; i < img.len; i++)
		cr_assert_eq(img.data[i], (uint8_t)(i * 7), "byte %zu", i);
	image_file_release(&img);
	cr_assert_null(img.data);
}

Test(image_file, refusals)
{
	struct image_file img;

	cr_assert_eq(image_file_map(path, "kernel", 100, "x", &img, err, sizeof(err)), -ENOENT);
	cr_assert(strstr(err, "cannot open kernel") && strstr(err, path), "%s", err);
	write_file(0);
	cr_assert_eq(image_file_map(path, "initrd", 100, "x", &img, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "initrd") && strstr(err, "is empty"), "%s", err);
	write_file(101);
	cr_assert_eq(image_file_map(path, "kernel", 100, "the 1 MiB of guest RAM", &img, err, sizeof(err)), -EFBIG);
	cr_assert(strstr(err, "(101 bytes) is larger than the 1 MiB of guest RAM"), "%s", err);
	cr_assert_eq(image_file_map(dir, "kernel", 100, "x", &img, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "is not a regular file"), "%s", err);
	cr_assert_null(img.data);
}
