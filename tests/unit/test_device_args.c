// SPDX-License-Identifier: MIT
/*
 * Unit tests for monitor/devices/device_args.c: the pure parsers of --disk and --net.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/devices/device_args.h"
#include "proto/device_config.h"

TestSuite(device_args);

/* ---- helpers ------------------------------------------------------------ */

struct disk_result {
	int r;
	char arg[512]; /* the parser may write into it */
	struct disk_config d;
	char err[256];
};

static struct disk_result *disk(const char *arg)
{
	static struct disk_result res; /* one test process per Test: no sharing */

	memset(&res, 0, sizeof(res));
	cr_assert_lt(strlen(arg), sizeof(res.arg));
	strcpy(res.arg, arg);
	memset(&res.d, 0xa5, sizeof(res.d));
	memset(res.err, 'Z', sizeof(res.err));
	res.r = disk_arg_parse(res.arg, &res.d, res.err, sizeof(res.err));
	cr_assert(memchr(res.err, '\0', sizeof(res.err)) != NULL, "err is not NUL-terminated");
	return &res;
}

static void expect_disk(const struct disk_result *res, const char *path, bool ro, const char *id,
			enum disk_cache cache)
{
	cr_assert_eq(res->r, 0, "disk_arg_parse: %d (%s)", res->r, res->err);
	cr_assert_str_eq(res->d.path, path);
	cr_assert_eq(res->d.path, res->arg, "path points into the argument");
	cr_assert_eq(res->d.read_only, ro, "read_only %d", res->d.read_only);
	cr_assert_str_eq(res->d.id, id);
	cr_assert_eq(res->d.cache, cache, "cache %d", res->d.cache);
}

static void expect_error_v(int r, const char *err, const char *const *needles)
{
	cr_assert_eq(r, -EINVAL, "%d, expected -EINVAL (message '%s')", r, err);
	cr_assert_neq(err[0], '\0', "an error without a message");
	cr_assert_null(strchr(err, '\n'), "message '%s' is not one line", err);
	for (; *needles; needles++)
		cr_assert_not_null(strstr(err, *needles), "message '%s' does not mention '%s'", err, *needles);
}

/* A rejected --disk: the message names --disk and every needle, the argument is untouched. */
#define EXPECT_DISK_ERROR(arg_, ...)                                                                          \
	do {                                                                                                 \
		const struct disk_result *res_ = disk(arg_);                                                  \
		expect_error_v(res_->r, res_->err, (const char *const[]){ "--disk", __VA_ARGS__, NULL });    \
		cr_assert_str_eq(res_->arg, (arg_), "a rejected argument was modified");                     \
		for (size_t i_ = 0; i_ < sizeof(res_->d); i_++)                                              \
			cr_assert_eq(((const unsigned char *)&res_->d)[i_], 0xa5, "*out written on failure"); \
	} while (0)

struct net_result {
	int r;
	struct net_config n;
	char err[256];
};

static struct net_result *net(const char *arg, unsigned index)
{
	static struct net_result res;

	memset(&res.n, 0xa5, sizeof(res.n));
	memset(res.err, 'Z', sizeof(res.err));
	res.r = net_arg_parse(arg, index, &res.n, res.err, sizeof(res.err));
	cr_assert(memchr(res.err, '\0', sizeof(res.err)) != NULL, "err is not NUL-terminated");
	return &res;
}

static void expect_mac(const uint8_t *mac, uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint8_t e, uint8_t f)
{
	const uint8_t want[6] = { a, b, c, d, e, f };

	cr_assert_arr_eq(mac, want, 6, "mac %02x:%02x:%02x:%02x:%02x:%02x, expected %02x:%02x:%02x:%02x:%02x:%02x",
			 mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], a, b, c, d, e, f);
}

#define EXPECT_NET_ERROR(arg_, ...)                                                                           \
	do {                                                                                                 \
		const struct net_result *res_ = net((arg_), 0);                                               \
		expect_error_v(res_->r, res_->err, (const char *const[]){ "--net", __VA_ARGS__, NULL });     \
		for (size_t i_ = 0; i_ < sizeof(res_->n); i_++)                                              \
			cr_assert_eq(((const unsigned char *)&res_->n)[i_], 0xa5, "*out written on failure"); \
	} while (0)

/* ---- --disk: accepted forms --------------------------------------------- */

Test(device_args, disk_path_only)
{
	expect_disk(disk("disk.img"), "disk.img", false, "", DISK_CACHE_WRITEBACK);
	expect_disk(disk("/var/lib/vm/a b.img"), "/var/lib/vm/a b.img", false, "", DISK_CACHE_WRITEBACK);
	expect_disk(disk("a=b.img"), "a=b.img", false, "", DISK_CACHE_WRITEBACK);
	expect_disk(disk("/dev/vdb"), "/dev/vdb", false, "", DISK_CACHE_WRITEBACK);
	cr_assert_eq(DISK_CACHE_WRITEBACK, 0, "writeback is the zero default");
}

Test(device_args, disk_ro)
{
	struct disk_result *res = disk("disk.img,ro");

	expect_disk(res, "disk.img", true, "", DISK_CACHE_WRITEBACK);
	cr_assert_eq(memcmp(res->arg, "disk.img\0ro", 12), 0, "the ',' after PATH becomes a NUL");
}

Test(device_args, disk_id)
{
	expect_disk(disk("d,id=root"), "d", false, "root", DISK_CACHE_WRITEBACK);
	expect_disk(disk("d,id=12345678901234567890"), "d", false, "12345678901234567890", DISK_CACHE_WRITEBACK);
	expect_disk(disk("d,id= ~!x=y"), "d", false, " ~!x=y", DISK_CACHE_WRITEBACK);
	expect_disk(disk("d,id=a"), "d", false, "a", DISK_CACHE_WRITEBACK);
}

Test(device_args, disk_cache)
{
	expect_disk(disk("d,cache=none"), "d", false, "", DISK_CACHE_NONE);
	expect_disk(disk("d,cache=writeback"), "d", false, "", DISK_CACHE_WRITEBACK);
}

Test(device_args, disk_every_key_any_order)
{
	expect_disk(disk("/x/y.raw,ro,id=data,cache=none"), "/x/y.raw", true, "data", DISK_CACHE_NONE);
	expect_disk(disk("/x/y.raw,cache=none,id=data,ro"), "/x/y.raw", true, "data", DISK_CACHE_NONE);
	expect_disk(disk("/x/y.raw,id=data,cache=writeback"), "/x/y.raw", false, "data", DISK_CACHE_WRITEBACK);
}

/* ---- --disk: rejections ------------------------------------------------- */

Test(device_args, disk_empty_path)
{
	EXPECT_DISK_ERROR("", "PATH");
	EXPECT_DISK_ERROR(",ro", "empty PATH");
	EXPECT_DISK_ERROR(",", "empty PATH");
	cr_assert_eq(disk_arg_parse(NULL, &disk("x")->d, NULL, 0), -EINVAL, "NULL argument, no message buffer");
}

Test(device_args, disk_unknown_key_mentions_comma_limit)
{
	EXPECT_DISK_ERROR("d,rw", "unknown option 'rw'", "paths containing ',' are not supported");
	EXPECT_DISK_ERROR("my,disk.img", "unknown option 'disk.img'", "paths containing ','");
	EXPECT_DISK_ERROR("d,ro,format=raw", "unknown option 'format'", "'d,ro,format=raw'");
	EXPECT_DISK_ERROR("d,RO", "unknown option 'RO'");
	EXPECT_DISK_ERROR("d,=x", "unknown option ''");
}

Test(device_args, disk_empty_option)
{
	EXPECT_DISK_ERROR("d,", "empty option", "paths containing ','");
	EXPECT_DISK_ERROR("d,,ro", "empty option");
	EXPECT_DISK_ERROR("d,ro,", "empty option");
}

Test(device_args, disk_key_twice)
{
	EXPECT_DISK_ERROR("d,ro,ro", "ro given twice");
	EXPECT_DISK_ERROR("d,id=a,id=b", "id given twice");
	EXPECT_DISK_ERROR("d,id=a,id=a", "id given twice");
	EXPECT_DISK_ERROR("d,cache=none,cache=writeback", "cache given twice");
}

Test(device_args, disk_empty_value)
{
	EXPECT_DISK_ERROR("d,id=", "id needs a value");
	EXPECT_DISK_ERROR("d,id", "id needs a value");
	EXPECT_DISK_ERROR("d,cache=", "cache needs a value");
	EXPECT_DISK_ERROR("d,cache", "cache needs a value");
}

Test(device_args, disk_ro_takes_no_value)
{
	EXPECT_DISK_ERROR("d,ro=1", "ro takes no value");
	EXPECT_DISK_ERROR("d,ro=", "ro takes no value");
}

Test(device_args, disk_bad_cache)
{
	EXPECT_DISK_ERROR("d,cache=unsafe", "cache=unsafe", "none or writeback");
	EXPECT_DISK_ERROR("d,cache=None", "cache=None");
	EXPECT_DISK_ERROR("d,cache=writethrough", "cache=writethrough");
}

Test(device_args, disk_id_too_long)
{
	EXPECT_DISK_ERROR("d,id=123456789012345678901", "'123456789012345678901'", "longer than 20 bytes");
}

Test(device_args, disk_id_not_printable)
{
	EXPECT_DISK_ERROR("d,id=a\tb", "0x09", "printable ASCII");
	EXPECT_DISK_ERROR("d,id=\x1f", "0x1f");
	EXPECT_DISK_ERROR("d,id=x\x7f", "0x7f", "offset 1");
	EXPECT_DISK_ERROR("d,id=caf\xc3\xa9", "0xc3", "offset 3");
	EXPECT_DISK_ERROR("d,id=\x1b[31m", "0x1b");
}

/* The id is copied out and NUL-terminated even when a previous value was longer. */
Test(device_args, disk_output_fully_written)
{
	struct disk_config d;
	char a[] = "x,id=abc";
	char err[64];

	memset(&d, 'Q', sizeof(d));
	cr_assert_eq(disk_arg_parse(a, &d, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(d.id, "abc");
	cr_assert_eq(d.read_only, false);
	cr_assert_eq(d.cache, DISK_CACHE_WRITEBACK);
	for (size_t i = strlen(d.id); i < sizeof(d.id); i++)
		cr_assert_eq(d.id[i], '\0', "id byte %zu not zeroed", i);
}

Test(device_args, disk_message_truncated_to_buffer)
{
	char a[] = "d,bogus";
	char err[8];
	struct disk_config d;

	memset(err, 'Z', sizeof(err));
	cr_assert_eq(disk_arg_parse(a, &d, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "--disk ");
	cr_assert_eq(disk_arg_parse(a, &d, NULL, 0), -EINVAL, "no message buffer");
}

/* ---- --net: accepted forms ---------------------------------------------- */

Test(device_args, net_tap_only_default_mac)
{
	struct net_result *res = net("tap=tap0", 0);

	cr_assert_eq(res->r, 0, "%d (%s)", res->r, res->err);
	cr_assert_str_eq(res->n.tap, "tap0");
	expect_mac(res->n.mac, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56);
	res = net("tap=tap1", 1);
	cr_assert_eq(res->r, 0, "%d (%s)", res->r, res->err);
	expect_mac(res->n.mac, 0x52, 0x54, 0x00, 0x12, 0x34, 0x57);
	res = net("tap=tap7", 7);
	cr_assert_eq(res->r, 0, "%d (%s)", res->r, res->err);
	expect_mac(res->n.mac, 0x52, 0x54, 0x00, 0x12, 0x34, 0x5d);
}

Test(device_args, net_mac)
{
	struct net_result *res = net("tap=t,mac=02:00:ab:CD:eF:09", 3);

	cr_assert_eq(res->r, 0, "%d (%s)", res->r, res->err);
	cr_assert_str_eq(res->n.tap, "t");
	expect_mac(res->n.mac, 0x02, 0x00, 0xab, 0xcd, 0xef, 0x09);
	res = net("mac=fe:ff:ff:ff:ff:ff,tap=t", 0);
	cr_assert_eq(res->r, 0, "mac before tap: %d (%s)", res->r, res->err);
	expect_mac(res->n.mac, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff);
	res = net("tap=t,mac=00:00:00:00:00:01", 0);
	cr_assert_eq(res->r, 0, "%d (%s)", res->r, res->err);
	expect_mac(res->n.mac, 0, 0, 0, 0, 0, 1);
}

Test(device_args, net_tap_names)
{
	static const char *const ok[] = { "a", "tap0", "vm-1_net.0", "A.B-C_D", "123456789012345", "...", ".a", "-" };

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char arg[64];
		struct net_result *res;

		snprintf(arg, sizeof(arg), "tap=%s", ok[i]);
		res = net(arg, 0);
		cr_assert_eq(res->r, 0, "tap '%s': %d (%s)", ok[i], res->r, res->err);
		cr_assert_str_eq(res->n.tap, ok[i]);
	}
}

/* ---- --net: rejections -------------------------------------------------- */

Test(device_args, net_tap_required)
{
	EXPECT_NET_ERROR("", "tap=NAME");
	EXPECT_NET_ERROR("mac=52:54:00:00:00:01", "tap=NAME is required");
	EXPECT_NET_ERROR("tap0", "unknown option 'tap0'");
	cr_assert_eq(net_arg_parse(NULL, 0, &net("tap=x", 0)->n, NULL, 0), -EINVAL, "NULL argument");
}

Test(device_args, net_bad_tap_name)
{
	EXPECT_NET_ERROR("tap=", "tap needs a value");
	EXPECT_NET_ERROR("tap", "tap needs a value");
	EXPECT_NET_ERROR("tap=1234567890123456", "'1234567890123456'", "longer than 15");
	EXPECT_NET_ERROR("tap=a/b", "tap name 'a/b' is not valid");
	EXPECT_NET_ERROR("tap=../x", "'../x' is not valid");
	EXPECT_NET_ERROR("tap=a:1", "'a:1' is not valid");
	EXPECT_NET_ERROR("tap=a b", "'a b' is not valid");
	EXPECT_NET_ERROR("tap=tap%d", "'tap%d' is not valid");
	EXPECT_NET_ERROR("tap=.", "tap name '.' is not valid");
	EXPECT_NET_ERROR("tap=..", "tap name '..' is not valid");
	EXPECT_NET_ERROR("tap=t\xc3\xa4p", "is not valid");
	EXPECT_NET_ERROR("tap=t\n", "is not valid");
}

Test(device_args, net_bad_mac_syntax)
{
	static const char *const bad[] = {
		"52:54:00:12:34",       "52:54:00:12:34:56:78", "52-54-00-12-34-56", "52:54:00:12:34:5g",
		"5:54:00:12:34:567",    "52:54:00:12:34:5",     "525400123456",      "52:54:00:12:34:56:",
		" 52:54:00:12:34:56",   "52:54:00:12:34: 6",    "0x52:54:00:12:34:5", "52:54:00:12:34:+6",
		"52::54:00:12:34:56",   "52:54.00:12:34:56",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char arg[80];

		snprintf(arg, sizeof(arg), "tap=t,mac=%s", bad[i]);
		EXPECT_NET_ERROR(arg, bad[i], "six two-digit hex groups");
	}
	EXPECT_NET_ERROR("tap=t,mac=", "mac needs a value");
	EXPECT_NET_ERROR("tap=t,mac", "mac needs a value");
}

Test(device_args, net_multicast_mac)
{
	EXPECT_NET_ERROR("tap=t,mac=01:00:5e:00:00:01", "01:00:5e:00:00:01", "multicast");
	EXPECT_NET_ERROR("tap=t,mac=ff:ff:ff:ff:ff:ff", "ff:ff:ff:ff:ff:ff", "multicast");
	EXPECT_NET_ERROR("tap=t,mac=53:54:00:12:34:56", "53:54:00:12:34:56", "multicast");
	EXPECT_NET_ERROR("tap=t,mac=0F:00:00:00:00:00", "multicast");
}

Test(device_args, net_zero_mac)
{
	EXPECT_NET_ERROR("tap=t,mac=00:00:00:00:00:00", "00:00:00:00:00:00", "all zero");
}

Test(device_args, net_unknown_key_twice_empty)
{
	EXPECT_NET_ERROR("tap=t,model=virtio", "unknown option 'model'");
	EXPECT_NET_ERROR("tap=t,TAP=u", "unknown option 'TAP'");
	EXPECT_NET_ERROR("tap=t,tap=u", "tap given twice");
	EXPECT_NET_ERROR("tap=t,mac=52:54:00:00:00:01,mac=52:54:00:00:00:02", "mac given twice");
	EXPECT_NET_ERROR("tap=t,", "empty option");
	EXPECT_NET_ERROR(",tap=t", "empty option");
	EXPECT_NET_ERROR("tap=t,,mac=52:54:00:00:00:01", "empty option");
}

/* ---- helpers ------------------------------------------------------------ */

Test(device_args, mac_parse_direct)
{
	uint8_t mac[6] = { 9, 9, 9, 9, 9, 9 };

	cr_assert_eq(mac_parse("aA:bB:cC:dD:eE:fF", mac), 0);
	expect_mac(mac, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff);
	cr_assert_eq(mac_parse("01:23:45:67:89:0g", mac), -EINVAL);
	expect_mac(mac, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff); /* untouched on failure */
	cr_assert_eq(mac_parse(NULL, mac), -EINVAL);
	cr_assert_eq(mac_parse("", mac), -EINVAL);
	cr_assert_eq(mac_parse("01:00:5e:00:00:01", mac), 0, "syntax only: multicast parses");
}

Test(device_args, default_mac)
{
	uint8_t mac[6];

	for (unsigned i = 0; i < CLI_MAX_VIRTIO_DEVICES; i++) {
		net_default_mac(i, mac);
		expect_mac(mac, 0x52, 0x54, 0x00, 0x12, 0x34, (uint8_t)(0x56 + i));
		cr_assert_eq(mac[0] & 1, 0, "unicast");
	}
}

Test(device_args, tap_name_valid_direct)
{
	cr_assert(tap_name_valid("tap0"));
	cr_assert(tap_name_valid("123456789012345"));
	cr_assert_not(tap_name_valid("1234567890123456"));
	cr_assert_not(tap_name_valid(""));
	cr_assert_not(tap_name_valid("."));
	cr_assert_not(tap_name_valid(".."));
	cr_assert_not(tap_name_valid("a/b"));
	cr_assert_not(tap_name_valid("a:b"));
	cr_assert_not(tap_name_valid("a,b"));
	cr_assert_not(tap_name_valid("a=b"));
}

/* ---- hostile bytes are never echoed raw --------------------------------- */

Test(device_args, messages_escape_hostile_bytes)
{
	EXPECT_DISK_ERROR("a\nb.img,bogus", "'a\\x0ab.img,bogus'", "unknown option 'bogus'");
	EXPECT_DISK_ERROR("d,bo\x1b[2Jgus", "'bo\\x1b[2Jgus'");
	EXPECT_DISK_ERROR("d,cache=\r", "cache=\\x0d");
	EXPECT_NET_ERROR("tap=a\nb", "'a\\x0ab'");
	EXPECT_NET_ERROR("tap=t,mac=52:54:00:12:34:5\x07", "'52:54:00:12:34:5\\x07'");
	EXPECT_NET_ERROR("tap=t,\xff=1", "unknown option '\\xff'");
}

Test(device_args, arg_escape_direct)
{
	char buf[16];
	char tiny[1];

	cr_assert_str_eq(arg_escape(buf, sizeof(buf), "plain text", 10), "plain text");
	cr_assert_str_eq(arg_escape(buf, sizeof(buf), "a\x01z", 3), "a\\x01z");
	cr_assert_str_eq(arg_escape(buf, sizeof(buf), "a\\b", 3), "a\\\\b");
	cr_assert_str_eq(arg_escape(buf, sizeof(buf), "abcdef", 3), "abc", "only len bytes");
	cr_assert_str_eq(arg_escape(buf, sizeof(buf), "0123456789abcdef", 16), "0123456789ab...");
	cr_assert_str_eq(arg_escape(buf, sizeof(buf), "012345678901234", 15), "012345678901234", "exactly fits");
	cr_assert_str_eq(arg_escape(buf, sizeof(buf), "0123456789a\x01", 12), "0123456789a\\x01", "fits");
	cr_assert_str_eq(arg_escape(buf, sizeof(buf), "0123456789a\x01z", 13), "0123456789a...",
			 "an escape is never cut in half");
	cr_assert_str_eq(arg_escape(tiny, sizeof(tiny), "abc", 3), "");
	cr_assert_eq(arg_escape(buf, 0, "abc", 3), buf, "no room: untouched");
}

/* ---- --fault ---------------------------------------------------------------- */

Test(device_args, fault_full_and_default_kind)
{
	struct fault_config f;
	char err[256];

	cr_assert_eq(fault_arg_parse("blk0:after=100,every=7,how=scribble-state", &f, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(f.device, "blk0");
	cr_assert_eq(f.after, 100);
	cr_assert_eq(f.every, 7);
	cr_assert_eq(f.how, DEVICE_FAULT_SCRIBBLE_STATE);
	cr_assert(f.repeat);
	cr_assert_eq(fault_arg_parse("uart:after=0", &f, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(f.how, DEVICE_FAULT_KILL, "kill is the default");
	cr_assert_not(f.repeat, "without every=, only the first worker fails");
	cr_assert_eq(fault_arg_parse("rng0:after=0,every=0", &f, err, sizeof(err)), 0, "%s", err);
	cr_assert(f.repeat && f.every == 0, "every=0: each successor fails at once");
	cr_assert_eq(fault_arg_parse("testdev:how=garbage-ring,after=4294967295", &f, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(f.after, 4294967295u);
}

Test(device_args, fault_errors_name_what_is_wrong)
{
	static const struct {
		const char *arg, *needle;
	} bad[] = {
		{ "blk0", "DEVICE:after=N" },
		{ ":after=1", "DEVICE:after=N" },
		{ "Blk0:after=1", "not a device id" },
		{ "blk0:every=2", "after=N is required" },
		{ "blk0:after=x", "after= expects" },
		{ "blk0:after=4294967296", "after= expects" },
		{ "blk0:after=-1", "after= expects" },
		{ "blk0:after=1,every=", "every= expects" },
		{ "blk0:after=1,how=explode", "how= expects" },
		{ "blk0:after=1,when=now", "unknown key" },
		{ "blk0:after", "not KEY=VALUE" },
		{ "averyveryveryveryverylongdevicename0:after=1", "DEVICE:after=N" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct fault_config f;
		char err[256];

		memset(&f, 0xa5, sizeof(f));
		expect_error_v(fault_arg_parse(bad[i].arg, &f, err, sizeof(err)), err,
			       (const char *const[]){ "--fault", bad[i].needle, NULL });
		for (size_t b = 0; b < sizeof(f); b++)
			cr_assert_eq(((const unsigned char *)&f)[b], 0xa5, "%s: *out written on failure", bad[i].arg);
	}
}
