// SPDX-License-Identifier: MIT
/*
 * Unit tests for monitor/cli.c, squib-monitor's command-line parser.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/cli.h"

/* Every parse result lives until the end of its test (getopt may keep pointers into argv). */
struct parsed;
static struct parsed *all_parsed;
static void cli_teardown(void);

TestSuite(cli, .fini = cli_teardown);

/* ---- helpers ------------------------------------------------------------ */

#define MAX_ARGS 32

struct parsed {
	int r;
	enum cli_command cmd;
	struct vm_config cfg;
	char err[256];
	char *argv[MAX_ARGS + 1];
	struct parsed *next;
};

static void cli_teardown(void)
{
	while (all_parsed) {
		struct parsed *p = all_parsed;

		all_parsed = p->next;
		for (int i = 0; p->argv[i]; i++)
			free(p->argv[i]);
		free(p);
	}
}

/*
 * Parses a NULL-terminated list of arguments (argv[0] is supplied). The
 * strings are copied so getopt's permutation and any retained pointers are
 * exercised on writable memory that lives as long as the result.
 */
static struct parsed *parse_v(const char *const *args)
{
	struct parsed *p = calloc(1, sizeof(*p));
	int argc = 0;

	cr_assert_not_null(p);
	p->next = all_parsed;
	all_parsed = p;
	p->argv[argc++] = strdup("squib-monitor");
	for (; *args; args++) {
		cr_assert_lt(argc, MAX_ARGS);
		p->argv[argc++] = strdup(*args);
	}
	p->argv[argc] = NULL;
	p->cmd = (enum cli_command)0;
	memset(&p->cfg, 0xa5, sizeof(p->cfg)); /* cli_parse must set every field */
	memset(p->err, 'Z', sizeof(p->err));
	p->r = cli_parse(argc, p->argv, &p->cmd, &p->cfg, p->err, sizeof(p->err));
	cr_assert(memchr(p->err, '\0', sizeof(p->err)) != NULL, "err is not NUL-terminated");
	return p;
}

#define PARSE(...) parse_v((const char *const[]){ __VA_ARGS__, NULL })

static void expect_start(const struct parsed *p)
{
	cr_assert_eq(p->r, 0, "cli_parse: %d (%s)", p->r, p->err);
	cr_assert_eq(p->cmd, CLI_START, "command %d, expected start", p->cmd);
}

/* A usage error whose message contains every needle (NULL-terminated list). */
static void expect_usage_error_v(const struct parsed *p, const char *const *needles)
{
	cr_assert_eq(p->r, -EINVAL, "cli_parse: %d, expected -EINVAL (message '%s')", p->r, p->err);
	cr_assert_neq(p->err[0], '\0', "a usage error without a message");
	for (; *needles; needles++)
		cr_assert_not_null(strstr(p->err, *needles), "message '%s' does not mention '%s'", p->err, *needles);
}

#define EXPECT_USAGE_ERROR(p, ...) expect_usage_error_v((p), (const char *const[]){ __VA_ARGS__, NULL })

/* ---- commands ----------------------------------------------------------- */

Test(cli, defaults)
{
	struct parsed *p = PARSE("start");

	expect_start(p);
	cr_assert_eq(p->cfg.cpus, 1u, "cpus %u", p->cfg.cpus);
	cr_assert_eq(p->cfg.cpus, (unsigned)CLI_DEFAULT_CPUS);
	cr_assert_eq(p->cfg.memory_mib, 128u, "memory %llu", (unsigned long long)p->cfg.memory_mib);
	cr_assert_eq(p->cfg.memory_mib, (uint64_t)CLI_DEFAULT_MEMORY_MIB);
	cr_assert_eq(p->cfg.testdev, false);
	cr_assert_eq(p->cfg.inline_testdev, false);
	cr_assert_null(p->cfg.kernel_path);
	cr_assert_null(p->cfg.console_path);
	cr_assert_null(p->cfg.cmdline);
	cr_assert_eq(p->cfg.single_step, 0u);
	cr_assert_eq(p->cfg.verbose, false);
	cr_assert_eq(p->cfg.ndisks, 0u);
	cr_assert_eq(p->cfg.nnets, 0u);
	cr_assert_eq(p->cfg.rng, false);
	cr_assert_str_eq(p->err, "", "no message on success");
}

Test(cli, every_option)
{
	struct parsed *p = PARSE("start", "--kernel", "/tmp/guest.bin", "--cpus", "4", "--memory", "512", "--testdev",
				 "--console", "/tmp/console.log", "--single-step", "100", "--cmdline", "a b=c",
				 "--verbose");

	expect_start(p);
	cr_assert_str_eq(p->cfg.kernel_path, "/tmp/guest.bin");
	cr_assert_eq(p->cfg.cpus, 4u);
	cr_assert_eq(p->cfg.memory_mib, 512u);
	cr_assert_eq(p->cfg.testdev, true);
	cr_assert_eq(p->cfg.inline_testdev, false);
	cr_assert_str_eq(p->cfg.console_path, "/tmp/console.log");
	cr_assert_eq(p->cfg.single_step, 100u);
	cr_assert_str_eq(p->cfg.cmdline, "a b=c");
	cr_assert_eq(p->cfg.verbose, true);
}

Test(cli, equals_form)
{
	struct parsed *p = PARSE("start", "--cpus=3", "--memory=2", "--kernel=k", "--cmdline=", "--single-step=1000000");

	expect_start(p);
	cr_assert_eq(p->cfg.cpus, 3u);
	cr_assert_eq(p->cfg.memory_mib, 2u);
	cr_assert_str_eq(p->cfg.kernel_path, "k");
	cr_assert_str_eq(p->cfg.cmdline, "", "an empty --cmdline is allowed");
	cr_assert_eq(p->cfg.single_step, 1000000u);
}

Test(cli, limits_accepted)
{
	struct parsed *p = PARSE("start", "--cpus", "48", "--memory", "3072");

	expect_start(p);
	cr_assert_eq(p->cfg.cpus, 48u);
	cr_assert_eq(p->cfg.memory_mib, 3072u);
	p = PARSE("start", "--cpus", "1", "--memory", "2");
	expect_start(p);
	cr_assert_eq(p->cfg.cpus, 1u);
	cr_assert_eq(p->cfg.memory_mib, 2u);
	p = PARSE("start", "--cpus", "007");
	expect_start(p);
	cr_assert_eq(p->cfg.cpus, 7u, "leading zeros are decimal");
}

Test(cli, last_option_wins)
{
	struct parsed *p = PARSE("start", "--cpus", "2", "--cpus", "5");

	expect_start(p);
	cr_assert_eq(p->cfg.cpus, 5u);
}

Test(cli, inline_testdev_implies_testdev)
{
	struct parsed *p = PARSE("start", "--inline-testdev");

	expect_start(p);
	cr_assert_eq(p->cfg.inline_testdev, true);
	cr_assert_eq(p->cfg.testdev, true, "--inline-testdev implies --testdev");
}

Test(cli, help)
{
	struct parsed *p = PARSE("--help");

	cr_assert_eq(p->r, 0);
	cr_assert_eq(p->cmd, CLI_HELP);
	p = PARSE("-h");
	cr_assert_eq(p->r, 0);
	cr_assert_eq(p->cmd, CLI_HELP);
	p = PARSE("help");
	cr_assert_eq(p->r, 0);
	cr_assert_eq(p->cmd, CLI_HELP);
	cr_assert_not_null(strstr(cli_usage_text, "usage: squib-monitor start"));
	cr_assert_not_null(strstr(cli_usage_text, "--cpus"));
	cr_assert_not_null(strstr(cli_usage_text, "--inline-testdev"));
	cr_assert_not_null(strstr(cli_usage_text, "--disk PATH[,ro][,id=NAME][,cache=none|writeback]"));
	cr_assert_not_null(strstr(cli_usage_text, "--net tap=NAME[,mac=XX:XX:XX:XX:XX:XX]"));
	cr_assert_not_null(strstr(cli_usage_text, "--rng"));
	cr_assert_not_null(strstr(cli_usage_text, "52:54:00:12:34:56"), "the default MAC is documented");
	cr_assert_not_null(strstr(cli_usage_text, "at most 8"));
}

Test(cli, version)
{
	struct parsed *p = PARSE("--version");

	cr_assert_eq(p->r, 0);
	cr_assert_eq(p->cmd, CLI_VERSION);
}

Test(cli, start_help)
{
	struct parsed *p = PARSE("start", "--help");

	cr_assert_eq(p->r, 0, "%d (%s)", p->r, p->err);
	cr_assert_eq(p->cmd, CLI_HELP);
	p = PARSE("start", "--cpus", "2", "--help");
	cr_assert_eq(p->r, 0, "%d (%s)", p->r, p->err);
	cr_assert_eq(p->cmd, CLI_HELP);
}

/* ---- usage errors ------------------------------------------------------- */

Test(cli, no_command)
{
	char *argv[] = { (char *)"squib-monitor", NULL };
	enum cli_command cmd = (enum cli_command)0;
	struct vm_config cfg;
	char err[128];
	int r = cli_parse(1, argv, &cmd, &cfg, err, sizeof(err));

	cr_assert_eq(r, -EINVAL);
	cr_assert_not_null(strstr(err, "missing command"), "message '%s'", err);
	r = cli_parse(0, argv, &cmd, &cfg, err, sizeof(err));
	cr_assert_eq(r, -EINVAL, "argc 0");
	cr_assert_not_null(strstr(err, "missing command"), "message '%s'", err);
}

Test(cli, unknown_command)
{
	EXPECT_USAGE_ERROR(PARSE("stop"), "unknown command", "'stop'");
	EXPECT_USAGE_ERROR(PARSE("--cpus", "2"), "unknown command", "'--cpus'");
	EXPECT_USAGE_ERROR(PARSE(""), "unknown command");
	EXPECT_USAGE_ERROR(PARSE("Start"), "unknown command", "'Start'");
}

Test(cli, unknown_option)
{
	EXPECT_USAGE_ERROR(PARSE("start", "--bogus"), "unknown option", "--bogus");
	EXPECT_USAGE_ERROR(PARSE("start", "--cpus", "2", "--bogus=1"), "unknown option", "--bogus");
	EXPECT_USAGE_ERROR(PARSE("start", "--testdev=yes"), "--testdev");
}

Test(cli, short_option_is_unknown)
{
	EXPECT_USAGE_ERROR(PARSE("start", "-x"), "-x");
	EXPECT_USAGE_ERROR(PARSE("start", "-c", "2"), "-c");
}

Test(cli, missing_value)
{
	static const char *const opts[] = { "--cpus", "--memory", "--kernel", "--console", "--single-step",
					    "--cmdline" };

	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		struct parsed *p = PARSE("start", opts[i]);

		EXPECT_USAGE_ERROR(p, "needs a value", opts[i]);
	}
}

Test(cli, empty_file_names)
{
	EXPECT_USAGE_ERROR(PARSE("start", "--kernel", ""), "--kernel");
	EXPECT_USAGE_ERROR(PARSE("start", "--console="), "--console");
}

Test(cli, cpus_out_of_range)
{
	EXPECT_USAGE_ERROR(PARSE("start", "--cpus", "0"), "--cpus", "0", "out of range");
	EXPECT_USAGE_ERROR(PARSE("start", "--cpus", "49"), "--cpus", "49", "out of range");
	EXPECT_USAGE_ERROR(PARSE("start", "--cpus", "4294967297"), "--cpus", "4294967297", "out of range");
}

Test(cli, cpus_not_a_number)
{
	EXPECT_USAGE_ERROR(PARSE("start", "--cpus", "abc"), "--cpus", "'abc'");
	EXPECT_USAGE_ERROR(PARSE("start", "--cpus", "-1"), "--cpus", "'-1'");
	EXPECT_USAGE_ERROR(PARSE("start", "--cpus", "1x"), "--cpus", "'1x'");
	EXPECT_USAGE_ERROR(PARSE("start", "--cpus", "+2"), "--cpus", "'+2'");
	EXPECT_USAGE_ERROR(PARSE("start", "--cpus", " 2"), "--cpus");
	EXPECT_USAGE_ERROR(PARSE("start", "--cpus", "0x2"), "--cpus", "'0x2'");
	EXPECT_USAGE_ERROR(PARSE("start", "--cpus="), "--cpus");
	EXPECT_USAGE_ERROR(PARSE("start", "--cpus", "2 "), "--cpus");
}

Test(cli, memory_out_of_range)
{
	EXPECT_USAGE_ERROR(PARSE("start", "--memory", "1"), "--memory", "1", "out of range");
	EXPECT_USAGE_ERROR(PARSE("start", "--memory", "0"), "--memory", "out of range");
	EXPECT_USAGE_ERROR(PARSE("start", "--memory", "3073"), "--memory", "3073", "out of range");
	EXPECT_USAGE_ERROR(PARSE("start", "--memory", "18446744073709551615"), "--memory", "18446744073709551615");
}

Test(cli, memory_overflow)
{
	EXPECT_USAGE_ERROR(PARSE("start", "--memory", "99999999999999999999"), "--memory", "99999999999999999999");
	EXPECT_USAGE_ERROR(PARSE("start", "--memory", "18446744073709551616"), "--memory");
	EXPECT_USAGE_ERROR(PARSE("start", "--memory", "-0"), "--memory");
	EXPECT_USAGE_ERROR(PARSE("start", "--memory", "128M"), "--memory", "128M");
}

Test(cli, single_step_range)
{
	EXPECT_USAGE_ERROR(PARSE("start", "--single-step", "0"), "--single-step", "'0'");
	EXPECT_USAGE_ERROR(PARSE("start", "--single-step", "1000001"), "--single-step", "1000001");
	EXPECT_USAGE_ERROR(PARSE("start", "--single-step", "x"), "--single-step");
	expect_start(PARSE("start", "--single-step", "1"));
}

Test(cli, extra_positional_argument)
{
	EXPECT_USAGE_ERROR(PARSE("start", "extra"), "unexpected argument", "'extra'");
	EXPECT_USAGE_ERROR(PARSE("start", "--cpus", "2", "extra"), "unexpected argument", "'extra'");
	/* GNU getopt permutes: a positional before the options is still found. */
	EXPECT_USAGE_ERROR(PARSE("start", "extra", "--cpus", "2"), "unexpected argument", "'extra'");
	EXPECT_USAGE_ERROR(PARSE("start", "--", "extra"), "unexpected argument", "'extra'");
}

Test(cli, cmdline_length)
{
	char *s = malloc(4097);
	struct parsed *p;

	cr_assert_not_null(s);
	memset(s, 'c', 4096);
	s[4096] = '\0';
	p = PARSE("start", "--cmdline", s);
	EXPECT_USAGE_ERROR(p, "--cmdline", "4095");
	s[4095] = '\0';
	p = PARSE("start", "--cmdline", s);
	expect_start(p);
	cr_assert_eq(strlen(p->cfg.cmdline), 4095u, "4095 bytes are allowed");
	cr_assert_eq(CLI_MAX_CMDLINE, 4095);
	free(s);
}

Test(cli, error_message_truncated_to_buffer)
{
	char *argv[] = { (char *)"squib-monitor", (char *)"start", (char *)"--cpus", (char *)"999999999", NULL };
	enum cli_command cmd;
	struct vm_config cfg;
	char err[12];
	int r;

	memset(err, 'Z', sizeof(err));
	r = cli_parse(4, argv, &cmd, &cfg, err, sizeof(err));
	cr_assert_eq(r, -EINVAL);
	cr_assert_eq(strlen(err), sizeof(err) - 1, "message '%s' not truncated to the buffer", err);
	cr_assert_eq(strncmp(err, "--cpus 9999", 11), 0, "message '%s'", err);
}

/* cli_parse resets getopt itself: consecutive parses in one process are independent. */
Test(cli, consecutive_parses_are_independent)
{
	struct parsed *p;

	EXPECT_USAGE_ERROR(PARSE("start", "--bogus"), "--bogus");
	p = PARSE("start", "--cpus", "2");
	expect_start(p);
	cr_assert_eq(p->cfg.cpus, 2u);
	EXPECT_USAGE_ERROR(PARSE("start", "--cpus"), "needs a value");
	p = PARSE("start", "--testdev");
	expect_start(p);
	cr_assert_eq(p->cfg.testdev, true);
	cr_assert_eq(p->cfg.cpus, 1u, "defaults are restored");
	p = PARSE("start", "--help");
	cr_assert_eq(p->cmd, CLI_HELP);
	p = PARSE("start");
	expect_start(p);
}

/*
 * A parse that stops inside a cluster of short options ("-xy") must not
 * leave getopt's scan position behind for the next parse.
 */
Test(cli, parse_after_short_option_cluster)
{
	struct parsed *p;

	cr_assert_eq(PARSE("start", "-xy")->r, -EINVAL);
	p = PARSE("start", "--cpus", "2");
	expect_start(p);
	cr_assert_eq(p->cfg.cpus, 2u);
}

/* The message names the offending short option, not a neighbouring argument. */
Test(cli, short_option_cluster_is_named)
{
	EXPECT_USAGE_ERROR(PARSE("start", "-xy"), "unknown option", "-x");
}

/* ---- virtio devices: --disk, --net, --rng ------------------------------- */

Test(cli, disk_forms)
{
	struct parsed *p = PARSE("start", "--disk", "root.img", "--disk=/data/b.raw,ro,id=data,cache=none", "--disk",
				 "c.img,cache=writeback");

	expect_start(p);
	cr_assert_eq(p->cfg.ndisks, 3u);
	cr_assert_str_eq(p->cfg.disks[0].path, "root.img");
	cr_assert_eq(p->cfg.disks[0].path, p->argv[3], "path points into argv");
	cr_assert_eq(p->cfg.disks[0].read_only, false);
	cr_assert_str_eq(p->cfg.disks[0].id, "");
	cr_assert_eq(p->cfg.disks[0].cache, DISK_CACHE_WRITEBACK);
	cr_assert_str_eq(p->cfg.disks[1].path, "/data/b.raw");
	cr_assert_eq(p->cfg.disks[1].read_only, true);
	cr_assert_str_eq(p->cfg.disks[1].id, "data");
	cr_assert_eq(p->cfg.disks[1].cache, DISK_CACHE_NONE);
	cr_assert_str_eq(p->cfg.disks[2].path, "c.img");
	cr_assert_eq(p->cfg.disks[2].cache, DISK_CACHE_WRITEBACK);
	cr_assert_eq(p->cfg.nnets, 0u);
	cr_assert_eq(p->cfg.rng, false);
}

Test(cli, net_forms_and_default_macs)
{
	static const uint8_t mac0[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
	static const uint8_t mac1[6] = { 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee };
	static const uint8_t mac2[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x58 };
	struct parsed *p = PARSE("start", "--net", "tap=tap0", "--net=tap=vm.1,mac=02:AA:bb:CC:dd:EE", "--net",
				 "tap=t-2");

	expect_start(p);
	cr_assert_eq(p->cfg.nnets, 3u);
	cr_assert_str_eq(p->cfg.nets[0].tap, "tap0");
	cr_assert_arr_eq(p->cfg.nets[0].mac, mac0, 6, "the first --net defaults to 52:54:00:12:34:56");
	cr_assert_str_eq(p->cfg.nets[1].tap, "vm.1");
	cr_assert_arr_eq(p->cfg.nets[1].mac, mac1, 6);
	cr_assert_str_eq(p->cfg.nets[2].tap, "t-2");
	cr_assert_arr_eq(p->cfg.nets[2].mac, mac2, 6, "the third --net defaults to ...:58");
}

Test(cli, rng)
{
	struct parsed *p = PARSE("start", "--rng");

	expect_start(p);
	cr_assert_eq(p->cfg.rng, true);
	EXPECT_USAGE_ERROR(PARSE("start", "--rng", "--rng"), "--rng given twice");
	EXPECT_USAGE_ERROR(PARSE("start", "--rng=1"), "--rng");
}

Test(cli, devices_mixed_with_other_options)
{
	struct parsed *p = PARSE("start", "--cpus", "2", "--disk", "a.img", "--rng", "--net", "tap=t0", "--memory",
				 "256", "--disk", "b.img,ro");

	expect_start(p);
	cr_assert_eq(p->cfg.cpus, 2u);
	cr_assert_eq(p->cfg.memory_mib, 256u);
	cr_assert_eq(p->cfg.ndisks, 2u);
	cr_assert_str_eq(p->cfg.disks[1].path, "b.img");
	cr_assert_eq(p->cfg.disks[1].read_only, true);
	cr_assert_eq(p->cfg.nnets, 1u);
	cr_assert_eq(p->cfg.rng, true);
}

Test(cli, eight_virtio_devices_accepted)
{
	struct parsed *p = PARSE("start", "--disk=d0", "--disk=d1", "--disk=d2", "--disk=d3", "--net=tap=t0",
				 "--net=tap=t1", "--net=tap=t2", "--rng");

	expect_start(p);
	cr_assert_eq(p->cfg.ndisks + p->cfg.nnets + (p->cfg.rng ? 1u : 0u), 8u);
	cr_assert_eq(CLI_MAX_VIRTIO_DEVICES, 8);
	p = PARSE("start", "--disk=d0", "--disk=d1", "--disk=d2", "--disk=d3", "--disk=d4", "--disk=d5", "--disk=d6",
		  "--disk=d7");
	expect_start(p);
	cr_assert_eq(p->cfg.ndisks, 8u);
	p = PARSE("start", "--net=tap=t0", "--net=tap=t1", "--net=tap=t2", "--net=tap=t3", "--net=tap=t4",
		  "--net=tap=t5", "--net=tap=t6", "--net=tap=t7");
	expect_start(p);
	cr_assert_eq(p->cfg.nnets, 8u);
	cr_assert_eq(p->cfg.nets[7].mac[5], 0x5d, "the eighth default MAC ends in 0x5d");
}

Test(cli, too_many_virtio_devices)
{
	EXPECT_USAGE_ERROR(PARSE("start", "--disk=d0", "--disk=d1", "--disk=d2", "--disk=d3", "--disk=d4",
				 "--disk=d5", "--disk=d6", "--disk=d7", "--disk=d8"),
			   "too many virtio devices (at most 8", "--disk");
	EXPECT_USAGE_ERROR(PARSE("start", "--net=tap=t0", "--net=tap=t1", "--net=tap=t2", "--net=tap=t3",
				 "--net=tap=t4", "--net=tap=t5", "--net=tap=t6", "--net=tap=t7", "--net=tap=t8"),
			   "too many virtio devices (at most 8", "--net");
	EXPECT_USAGE_ERROR(PARSE("start", "--disk=d0", "--disk=d1", "--disk=d2", "--disk=d3", "--net=tap=t0",
				 "--net=tap=t1", "--net=tap=t2", "--net=tap=t3", "--rng"),
			   "too many virtio devices (at most 8", "--rng");
	EXPECT_USAGE_ERROR(PARSE("start", "--rng", "--disk=d0", "--disk=d1", "--disk=d2", "--disk=d3", "--net=tap=t0",
				 "--net=tap=t1", "--net=tap=t2", "--disk=d4"),
			   "too many virtio devices (at most 8", "--disk");
}

Test(cli, device_options_need_values)
{
	EXPECT_USAGE_ERROR(PARSE("start", "--disk"), "needs a value", "--disk");
	EXPECT_USAGE_ERROR(PARSE("start", "--net"), "needs a value", "--net");
	EXPECT_USAGE_ERROR(PARSE("start", "--disk="), "--disk", "PATH");
	EXPECT_USAGE_ERROR(PARSE("start", "--net="), "--net", "tap=NAME");
}

/* Every --disk/--net rejection of the parsers reaches the command line with the option named. */
Test(cli, disk_rejections)
{
	EXPECT_USAGE_ERROR(PARSE("start", "--disk", ",ro"), "--disk", "empty PATH");
	EXPECT_USAGE_ERROR(PARSE("start", "--disk", "a,b.img"), "--disk 'a,b.img'", "unknown option 'b.img'",
			   "paths containing ',' are not supported");
	EXPECT_USAGE_ERROR(PARSE("start", "--disk", "a.img,ro,ro"), "--disk", "ro given twice");
	EXPECT_USAGE_ERROR(PARSE("start", "--disk", "a.img,id="), "--disk", "id needs a value");
	EXPECT_USAGE_ERROR(PARSE("start", "--disk", "a.img,id=123456789012345678901"), "--disk",
			   "longer than 20 bytes");
	EXPECT_USAGE_ERROR(PARSE("start", "--disk", "a.img,cache=directsync"), "--disk", "cache=directsync");
	EXPECT_USAGE_ERROR(PARSE("start", "--disk", "a.img,"), "--disk", "empty option");
}

Test(cli, net_rejections)
{
	EXPECT_USAGE_ERROR(PARSE("start", "--net", "mac=52:54:00:12:34:99"), "--net", "tap=NAME is required");
	EXPECT_USAGE_ERROR(PARSE("start", "--net", "tap=a/b"), "--net", "'a/b' is not valid");
	EXPECT_USAGE_ERROR(PARSE("start", "--net", "tap=0123456789abcdef"), "--net", "longer than 15");
	EXPECT_USAGE_ERROR(PARSE("start", "--net", "tap=t,mac=33:33:00:00:00:01"), "--net", "multicast");
	EXPECT_USAGE_ERROR(PARSE("start", "--net", "tap=t,mac=00:00:00:00:00:00"), "--net", "all zero");
	EXPECT_USAGE_ERROR(PARSE("start", "--net", "tap=t,mac=52:54:00:12:34"), "--net", "'52:54:00:12:34'");
	EXPECT_USAGE_ERROR(PARSE("start", "--net", "tap=t,vhost=on"), "--net", "unknown option 'vhost'");
}

Test(cli, duplicate_devices)
{
	EXPECT_USAGE_ERROR(PARSE("start", "--disk", "a.img,id=x", "--disk", "b.img,id=x"), "--disk 'b.img'", "id=x",
			   "already used by --disk 'a.img'");
	expect_start(PARSE("start", "--disk", "a.img", "--disk", "b.img"));
	expect_start(PARSE("start", "--disk", "a.img,ro", "--disk", "a.img,ro"));
	EXPECT_USAGE_ERROR(PARSE("start", "--net", "tap=t0", "--net", "tap=t0,mac=02:00:00:00:00:01"), "--net",
			   "tap t0 is already used");
	EXPECT_USAGE_ERROR(PARSE("start", "--net", "tap=t0,mac=52:54:00:12:34:57", "--net", "tap=t1"), "--net",
			   "52:54:00:12:34:57 is already used by --net tap=t0");
}

/* A rejected --disk leaves its argv string as it was. */
Test(cli, rejected_disk_leaves_argv)
{
	struct parsed *p = PARSE("start", "--disk", "a.img,ro,bogus");

	cr_assert_eq(p->r, -EINVAL);
	cr_assert_str_eq(p->argv[3], "a.img,ro,bogus");
}

/* ---- Linux boot options ------------------------------------------------- */

Test(cli, initrd_and_on_reboot)
{
	struct parsed *p = PARSE("start", "--kernel", "/boot/vmlinuz", "--initrd", "/boot/initrd.img", "--on-reboot",
				 "restart");

	expect_start(p);
	cr_assert_str_eq(p->cfg.kernel_path, "/boot/vmlinuz");
	cr_assert_str_eq(p->cfg.initrd_path, "/boot/initrd.img");
	cr_assert_eq(p->cfg.on_reboot, REBOOT_RESTART);
	p = PARSE("start", "--on-reboot", "exit");
	expect_start(p);
	cr_assert_eq(p->cfg.on_reboot, REBOOT_EXIT);
	p = PARSE("start");
	cr_assert_eq(p->cfg.on_reboot, REBOOT_EXIT, "exit is the default");
	cr_assert_null(p->cfg.initrd_path);
}

Test(cli, linux_boot_option_errors)
{
	EXPECT_USAGE_ERROR(PARSE("start", "--initrd", "/boot/initrd.img"), "--initrd needs --kernel");
	EXPECT_USAGE_ERROR(PARSE("start", "--kernel", "k", "--initrd", ""), "--initrd needs a file name");
	EXPECT_USAGE_ERROR(PARSE("start", "--on-reboot", "halt"), "--on-reboot expects exit or restart", "'halt'");
	EXPECT_USAGE_ERROR(PARSE("start", "--on-reboot"), "--on-reboot needs a value");
	EXPECT_USAGE_ERROR(PARSE("start", "--cpus", "0"), "--cpus 0 is out of range");
}

Test(cli, device_restart_and_budget)
{
	const struct parsed *p = PARSE("start", "--device-restart", "never", "--restart-budget", "20/60");

	expect_start(p);
	cr_assert_eq(p->cfg.device_restart, DEVICE_RESTART_NEVER);
	cr_assert_eq(p->cfg.restart_budget, 20);
	cr_assert_eq(p->cfg.restart_window_s, 60);
	p = PARSE("start");
	expect_start(p);
	cr_assert_eq(p->cfg.device_restart, DEVICE_RESTART_ALWAYS, "restart is the default");
	cr_assert_eq(p->cfg.restart_budget, 5);
	cr_assert_eq(p->cfg.restart_window_s, 10);
	EXPECT_USAGE_ERROR(PARSE("start", "--device-restart", "sometimes"), "--device-restart", "sometimes");
	EXPECT_USAGE_ERROR(PARSE("start", "--restart-budget", "5"), "--restart-budget", "N/S");
	EXPECT_USAGE_ERROR(PARSE("start", "--restart-budget", "0/10"), "--restart-budget");
	EXPECT_USAGE_ERROR(PARSE("start", "--restart-budget", "65/10"), "--restart-budget");
	EXPECT_USAGE_ERROR(PARSE("start", "--restart-budget", "5/0"), "--restart-budget");
	EXPECT_USAGE_ERROR(PARSE("start", "--restart-budget", "5/x"), "--restart-budget");
	EXPECT_USAGE_ERROR(PARSE("start", "--restart-budget", "12345678901234567890/1"), "--restart-budget");
}
