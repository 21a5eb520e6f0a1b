/* SPDX-License-Identifier: MIT */
/*
 * Pure parsers of the virtio device options of squib-monitor's command line:
 *
 *   --disk PATH[,ro][,id=NAME][,cache=none|writeback]
 *   --net tap=NAME[,mac=XX:XX:XX:XX:XX:XX]
 *   --fault DEVICE:after=N[,every=M][,how=kill|segv|abort|syscall|garbage-ring|scribble-state]
 *
 * No I/O: every failure is -EINVAL with a one-line message in err that
 * names the option and the offending value (err is "" on success). cli_parse
 * calls these.
 */
#ifndef SQUIB_MONITOR_DEVICE_ARGS_H
#define SQUIB_MONITOR_DEVICE_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"
#include "monitor/cli.h"

/* The default MAC of the index-th --net (0-based): 52:54:00:12:34:(0x56 + index). */
#define NET_DEFAULT_MAC_LAST_BASE 0x56

/*
 * Parses the value of one --disk into *out (fully overwritten on success).
 * PATH is everything before the first ','. On success that ',' is
 * overwritten with a NUL, so out->path points into arg (the argv string,
 * as getsubopt(3) does); on failure arg and *out are left untouched.
 */
int disk_arg_parse(char *arg, struct disk_config *out, char *err, size_t err_len) MUST_USE;

/*
 * Parses the value of the index-th --net (0-based; picks the default MAC)
 * into *out (fully overwritten on success; untouched on failure).
 */
int net_arg_parse(const char *arg, unsigned index, struct net_config *out, char *err, size_t err_len) MUST_USE;

/*
 * The len bytes at s as a decimal number in [min, max]: digits only (no
 * sign, no space, no base prefix). 0; -EINVAL for anything else, an empty
 * string or one past UINT64_MAX; -ERANGE for a number outside the range.
 */
int arg_u64_parse(const char *s, size_t len, uint64_t min, uint64_t max, uint64_t *out) MUST_USE;

/*
 * Parses the value of one --fault into *out (fully overwritten on success;
 * untouched on failure). DEVICE is 1..31 characters of [a-z0-9]; whether
 * such a device exists is checked when the VM is built. after= is required
 * (0..2^32-1 requests); every= (0 too: each successor fails at once) makes
 * successors fail as well; how= defaults to kill.
 */
int fault_arg_parse(const char *arg, struct fault_config *out, char *err, size_t err_len) MUST_USE;

/*
 * "XX:XX:XX:XX:XX:XX", hex digits in either case, exactly two per group.
 * 0, or -EINVAL for bad syntax; the multicast/zero policy is the caller's.
 */
int mac_parse(const char *s, uint8_t mac[6]) MUST_USE;

/* Buffer size for arg_escape() in messages: long values are cut with "...". */
#define ARG_QUOTE_MAX 128

/*
 * Hostile text made safe to quote in a one-line message: the first len bytes
 * of s as printable ASCII, '\\' doubled and any other byte as \xHH,
 * cut with "..." to fit buf_len. Returns buf.
 */
const char *arg_escape(char *buf, size_t buf_len, const char *s, size_t len);

/* 52:54:00:12:34:(0x56 + index). */
void net_default_mac(unsigned index, uint8_t mac[6]);

/* A tap name: 1..15 characters of [A-Za-z0-9_.-], and not "." or "..". */
bool tap_name_valid(const char *name);

#endif
