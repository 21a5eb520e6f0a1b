// SPDX-License-Identifier: MIT
/*
 * Unit tests for monitor/firmware/smbios.c: the SMBIOS 3.0 entry point and the
 * structures, parsed here the way Linux's dmi_scan.c walks them.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/firmware/smbios.h"

#define RAM_SIZE (1024 * 1024)

static uint8_t *ram;
static struct guest_mem mem;

static void setup(void)
{
	ram = calloc(1, RAM_SIZE);
	cr_assert_not_null(ram);
	mem = (struct guest_mem){ .host_base = ram, .size = RAM_SIZE };
}

static void teardown(void)
{
	free(ram);
}

TestSuite(smbios, .init = setup, .fini = teardown);

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

/* The n-th (1-based) string of the structure at s. */
static const char *string_of(const uint8_t *s, unsigned n)
{
	const char *p = (const char *)s + s[1];

	while (--n && *p)
		p += strlen(p) + 1;
	return p;
}

/* The structure after s: past the formatted area and the double NUL. */
static const uint8_t *next_structure(const uint8_t *s)
{
	const uint8_t *p = s + s[1];

	while (p[0] || p[1])
		p++;
	return p + 2;
}

Test(smbios, entry_point_and_structures)
{
	const uint8_t *ep = ram + SMBIOS_DEFAULT_BASE, *s;
	uint64_t table;
	uint32_t max;

	cr_assert_eq(smbios_build(&mem, SMBIOS_DEFAULT_BASE), 0);
	cr_assert_eq(memcmp(ep, "_SM3_", 5), 0);
	cr_assert_eq(ep[6], 24, "entry point length");
	cr_assert_eq(ep[7], 3, "SMBIOS major version");
	cr_assert_eq(sum(ep, ep[6]), 0, "entry point checksum");
	memcpy(&max, ep + 12, 4);
	memcpy(&table, ep + 16, 8);
	cr_assert_eq(table, SMBIOS_DEFAULT_BASE + 24);
	cr_assert_lt(max, SMBIOS_MAX_SIZE);

	s = ram + table;
	cr_assert_eq(s[0], 0, "type 0 first");
	cr_assert_eq(s[1], 0x1a);
	cr_assert_str_eq(string_of(s, s[4]), SMBIOS_BIOS_VENDOR);
	cr_assert_str_eq(string_of(s, s[5]), SMBIOS_BIOS_VERSION);
	cr_assert_str_eq(string_of(s, s[8]), SMBIOS_BIOS_DATE);
	cr_assert(s[0x13] & (1u << 4), "virtual machine bit");
	/* Linux's dmi_get_bios_year parses the year after the last '/'. */
	cr_assert_geq(atoi(strrchr(SMBIOS_BIOS_DATE, '/') + 1), 2001);

	s = next_structure(s);
	cr_assert_eq(s[0], 1, "type 1 second");
	cr_assert_eq(s[1], 0x1b);
	cr_assert_str_eq(string_of(s, s[4]), SMBIOS_SYSTEM_MANUFACTURER);
	cr_assert_str_eq(string_of(s, s[5]), SMBIOS_SYSTEM_PRODUCT);
	cr_assert_eq(s[6], 0, "no version string");

	s = next_structure(s);
	cr_assert_eq(s[0], 127, "end of table");
	cr_assert_eq((size_t)(next_structure(s) - (ram + table)), max, "the table is exactly max bytes");
}

Test(smbios, refuses_bad_places)
{
	cr_assert_eq(smbios_build(&mem, SMBIOS_DEFAULT_BASE + 8), -EINVAL, "unaligned");
	cr_assert_lt(smbios_build(&mem, RAM_SIZE - 16), 0, "past the end of RAM");
}
