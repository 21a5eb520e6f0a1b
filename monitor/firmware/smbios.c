/* SPDX-License-Identifier: MIT */
#include "monitor/firmware/smbios.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#define EP3_LEN 24
#define TYPE_BIOS 0
#define TYPE_SYSTEM 1
#define TYPE_END 127
/* BIOS characteristics (type 0, offset 0x0a): "not supported" (bit 3) is honest for no firmware. */
#define BIOS_CHARACTERISTICS_NOT_SUPPORTED (1ull << 3)
/* Extension byte 2 (offset 0x13): bit 4, this is a virtual machine. */
#define BIOS_EXT2_VIRTUAL_MACHINE (1u << 4)

struct out {
	uint8_t buf[SMBIOS_MAX_SIZE];
	size_t len;
};

static void put(struct out *o, const void *p, size_t n)
{
	memcpy(o->buf + o->len, p, n);
	o->len += n;
}

static void put8(struct out *o, uint8_t v)
{
	put(o, &v, 1);
}

static void put16(struct out *o, uint16_t v)
{
	put8(o, (uint8_t)v);
	put8(o, (uint8_t)(v >> 8));
}

/* A structure's string set: each string NUL-terminated, then one more NUL. */
static void put_strings(struct out *o, const char *const *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put(o, s[i], strlen(s[i]) + 1);
	put8(o, 0);
}

static void bios_information(struct out *o, uint16_t handle)
{
	static const char *const strings[] = { SMBIOS_BIOS_VENDOR, SMBIOS_BIOS_VERSION, SMBIOS_BIOS_DATE };
	uint64_t characteristics = BIOS_CHARACTERISTICS_NOT_SUPPORTED;

	put8(o, TYPE_BIOS);
	put8(o, 0x1a); /* formatted length: through the extended ROM size (3.1) */
	put16(o, handle);
	put8(o, 1);       /* vendor: string 1 */
	put8(o, 2);       /* version: string 2 */
	put16(o, 0xe800); /* starting segment */
	put8(o, 3);       /* release date: string 3 */
	put8(o, 0);       /* ROM size: 64 KiB */
	put(o, &characteristics, 8);
	put8(o, 0);                         /* extension byte 1 */
	put8(o, BIOS_EXT2_VIRTUAL_MACHINE); /* extension byte 2 */
	put8(o, 0);                         /* system BIOS major release */
	put8(o, 0);                         /* minor */
	put8(o, 0xff);                      /* no embedded controller */
	put8(o, 0xff);
	put16(o, 0); /* extended ROM size */
	put_strings(o, strings, sizeof(strings) / sizeof(strings[0]));
}

static void system_information(struct out *o, uint16_t handle)
{
	static const char *const strings[] = { SMBIOS_SYSTEM_MANUFACTURER, SMBIOS_SYSTEM_PRODUCT };
	static const uint8_t uuid[16]; /* all zero: "not present" is all ones, unset is zero */

	put8(o, TYPE_SYSTEM);
	put8(o, 0x1b); /* formatted length (2.4+) */
	put16(o, handle);
	put8(o, 1); /* manufacturer */
	put8(o, 2); /* product name */
	put8(o, 0); /* version: none */
	put8(o, 0); /* serial number: none */
	put(o, uuid, sizeof(uuid));
	put8(o, 6); /* wake-up type: power switch */
	put8(o, 0); /* SKU: none */
	put8(o, 0); /* family: none */
	put_strings(o, strings, sizeof(strings) / sizeof(strings[0]));
}

static void end_of_table(struct out *o, uint16_t handle)
{
	put8(o, TYPE_END);
	put8(o, 4);
	put16(o, handle);
	put8(o, 0);
	put8(o, 0);
}

static uint8_t checksum(const uint8_t *p, size_t n)
{
	uint8_t sum = 0;

	for (size_t i = 0; i < n; i++)
		sum = (uint8_t)(sum + p[i]);
	return (uint8_t)-sum;
}

int smbios_build(const struct guest_mem *mem, uint64_t base)
{
	struct out o;
	uint64_t table = base + EP3_LEN;
	uint32_t table_len;
	uint8_t *ep;

	if (!mem || base % 16 != 0 || base > UINT64_MAX - SMBIOS_MAX_SIZE)
		return -EINVAL;
	memset(&o, 0, sizeof(o));
	o.len = EP3_LEN;
	bios_information(&o, 0);
	system_information(&o, 1);
	end_of_table(&o, 2);
	table_len = (uint32_t)(o.len - EP3_LEN);

	ep = o.buf;
	memcpy(ep, "_SM3_", 5);
	ep[6] = EP3_LEN;
	ep[7] = 3; /* SMBIOS 3.0 */
	ep[8] = 0;
	ep[9] = 0;
	ep[10] = 1; /* entry point revision */
	memcpy(ep + 12, &table_len, 4); /* structure table maximum size */
	memcpy(ep + 16, &table, 8);
	ep[5] = checksum(ep, EP3_LEN);
	return guest_mem_write(mem, base, o.buf, o.len);
}
