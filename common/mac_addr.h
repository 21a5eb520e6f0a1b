/* SPDX-License-Identifier: MIT */
/*
 * Ethernet MAC addresses as text, "XX:XX:XX:XX:XX:XX": the one parser the
 * monitor (--net mac=) and the virtio-net device (--param mac=) share.
 * Freestanding: no libc.
 */
#ifndef SQUIB_COMMON_MAC_ADDR_H
#define SQUIB_COMMON_MAC_ADDR_H

#include <stdbool.h>
#include <stdint.h>

#include "common/compiler.h"

static inline int mac_addr_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Syntax only: exactly six two-digit hex groups (either case) joined by
 * ':', and the string ends there. 0 with mac filled, or -EINVAL (-22) with
 * mac untouched. s may be NULL.
 */
static inline MUST_USE int mac_addr_parse(const char *s, uint8_t mac[6])
{
	uint8_t m[6];

	if (!s)
		return -22;
	for (unsigned i = 0; i < 6; i++) {
		int hi = mac_addr_hex_digit(s[3 * i]), lo;

		if (hi < 0)
			return -22;
		lo = mac_addr_hex_digit(s[3 * i + 1]);
		if (lo < 0 || s[3 * i + 2] != (i < 5 ? ':' : '\0'))
			return -22;
		m[i] = (uint8_t)(hi << 4 | lo);
	}
	for (unsigned i = 0; i < 6; i++)
		mac[i] = m[i];
	return 0;
}

/* A station's address: not multicast/broadcast (low bit of the first octet) and not all zero. */
static inline bool mac_addr_is_station(const uint8_t mac[6])
{
	return !(mac[0] & 1) && (mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]) != 0;
}

#endif
