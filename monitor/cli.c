/* SPDX-License-Identifier: MIT */
#include "monitor/cli.h"

#include "common/spin.h"
#include "monitor/devices/device_args.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char cli_usage_text[] =
	"usage: squib-monitor start [options]\n"
	"       squib-monitor --help | --version\n"
	"\n"
	"start options:\n"
	"  --kernel FILE       a Linux bzImage (detected by its setup header) or a raw guest image\n"
	"                      loaded at 0x100000 (default: the built-in demo guest)\n"
	"  --initrd FILE       initial ramdisk for a bzImage kernel\n"
	"  --on-reboot exit|restart\n"
	"                      what a guest reboot does: end the VM with status 0 (default) or\n"
	"                      boot it again from the same configuration\n"
	"  --cpus N            number of vCPUs, each in its own worker process (default 1, max 48)\n"
	"  --memory MIB        guest RAM in MiB (default 128, 2..3072)\n"
	"  --testdev           attach testdev (exit port 0x501, scratch MMIO 0xfe000000, hypercalls)\n"
	"  --console FILE      write the serial console to FILE instead of stdout (created 0600;\n"
	"                      never through a symlink)\n"
	"  --console-max BYTES stop writing the console file at BYTES (suffix K, M or G; default\n"
	"                      256M; 0: no limit); the guest runs on, the rest is counted and dropped\n"
	"  --single-step N     single-step vCPU 0 for its first N instructions, logging each pc\n"
	"  --cmdline STRING    the kernel command line (default for a bzImage: console=ttyS0);\n"
	"                      raw guests find it through rcx\n"
	"  --inline-testdev    benchmark baseline: emulate testdev inside the vCPU workers\n"
	"  --poll-us N         poll rings for up to N us before sleeping (default 200, 0..10000):\n"
	"                      lower saves CPU, higher lowers exit latency\n"
	"  --verbose           print per-vCPU exit statistics and per-device restarts when the VM ends\n"
	"  --device-restart always|never\n"
	"                      a device worker that dies is restarted and the VM keeps running\n"
	"                      (always, the default), or the VM ends with status 4 (never)\n"
	"  --restart-budget N/S at most N restarts of one device within S seconds (default 5/10;\n"
	"                      N 1..64, S 1..3600); past it the device reads as removed hardware\n"
	"  --uid UID --gid GID run every process of the VM as UID:GID (not 0) in its own user,\n"
	"                      pid, mount, ipc, uts and net namespaces; as root, without them,\n"
	"                      a free uid is taken from --uid-range and gid = uid; as another\n"
	"                      user, the VM runs as that user (default)\n"
	"  --cgroup-parent DIR every process of the VM in the cgroup v2 leaf DIR/squib-PID, with\n"
	"                      cpu.max (its vCPUs + 1 CPU), memory.max (guest RAM + 256 MiB) and\n"
	"                      pids.max (64 + vCPUs) set; removed when the VM ends\n"
	"  --cgroup FILE=VALUE set a controller file of that leaf (repeatable; e.g.\n"
	"                      cpu.max=\"50000 100000\", io.max=\"8:0 wbps=10485760\")\n"
	"  --uid-range FIRST:COUNT\n"
	"                      the uids a root monitor allocates from, one per running VM\n"
	"                      (default 1879048192:65536; locks in /run/squib/uids)\n"
	"  --fault DEVICE:after=N[,every=M][,how=KIND]\n"
	"                      make DEVICE's worker (blk0, net0, rng0, uart, testdev: see --verbose)\n"
	"                      fail after N requests, and each successor after M (repeatable).\n"
	"                      KIND: kill (default), segv, abort, syscall, garbage-ring,\n"
	"                      scribble-state\n"
	"\n"
	"virtio devices (--disk, --net and --rng together: at most 8):\n"
	"  --disk PATH[,ro][,id=NAME][,cache=none|writeback]\n"
	"                      virtio-blk on a raw image or block device (repeatable); PATH\n"
	"                      ends at the first ',' and its size must be a multiple of 512.\n"
	"                      ro: read-only; id: the serial the guest sees (1..20 printable\n"
	"                      ASCII, default squib-diskN); cache=none: O_DIRECT, bypassing\n"
	"                      the host page cache; cache=writeback: through it (default).\n"
	"                      Images are locked: a read-write disk is never shared with\n"
	"                      another VM\n"
	"  --net tap=NAME[,mac=XX:XX:XX:XX:XX:XX]\n"
	"                      virtio-net on host tap NAME (repeatable), e.g. made with\n"
	"                      'ip tuntap add NAME mode tap user $USER' (otherwise opening\n"
	"                      it needs CAP_NET_ADMIN); default mac 52:54:00:12:34:56 for\n"
	"                      the first --net, :57 for the second, and so on\n"
	"  --rng               virtio-rng fed from the host's getrandom()\n"
	"\n"
	"exit status: 0 guest shut down or reset; with --testdev, the status the guest wrote\n"
	"to port 0x501; 1 set-up failed; 2 usage error; 3 a vCPU failed; 4 a device worker\n"
	"failed; 128+N stopped by signal N.\n";

/* A whole option value as a decimal number in [min, max] (device_args.h). */
static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	return arg_u64_parse(s, s ? strlen(s) : 0, min, max, out);
}

/* N/S: at most N restarts within S seconds. 0 or -EINVAL. */
static int parse_restart_budget(const char *arg, struct vm_config *cfg)
{
	const char *slash = strchr(arg, '/');
	uint64_t n, secs;

	if (!slash || arg_u64_parse(arg, (size_t)(slash - arg), 1, DEVICE_RESTART_BUDGET_MAX, &n) ||
	    parse_u64(slash + 1, 1, 3600, &secs))
		return -EINVAL;
	cfg->restart_budget = (uint32_t)n;
	cfg->restart_window_s = (uint32_t)secs;
	return 0;
}

enum {
	OPT_KERNEL = 1000,
	OPT_CPUS,
	OPT_MEMORY,
	OPT_TESTDEV,
	OPT_CONSOLE,
	OPT_SINGLE_STEP,
	OPT_CMDLINE,
	OPT_INLINE_TESTDEV,
	OPT_VERBOSE,
	OPT_POLL_US,
	OPT_DISK,
	OPT_NET,
	OPT_RNG,
	OPT_INITRD,
	OPT_ON_REBOOT,
	OPT_DEVICE_RESTART,
	OPT_RESTART_BUDGET,
	OPT_FAULT,
	OPT_CONSOLE_MAX,
	OPT_UID,
	OPT_GID,
	OPT_UID_RANGE,
	OPT_CGROUP_PARENT,
	OPT_CGROUP,
	OPT_HELP,
};

static const struct option start_options[] = {
	{ "kernel", required_argument, NULL, OPT_KERNEL },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "memory", required_argument, NULL, OPT_MEMORY },
	{ "testdev", no_argument, NULL, OPT_TESTDEV },
	{ "console", required_argument, NULL, OPT_CONSOLE },
	{ "single-step", required_argument, NULL, OPT_SINGLE_STEP },
	{ "cmdline", required_argument, NULL, OPT_CMDLINE },
	{ "inline-testdev", no_argument, NULL, OPT_INLINE_TESTDEV },
	{ "verbose", no_argument, NULL, OPT_VERBOSE },
	{ "poll-us", required_argument, NULL, OPT_POLL_US },
	{ "disk", required_argument, NULL, OPT_DISK },
	{ "net", required_argument, NULL, OPT_NET },
	{ "rng", no_argument, NULL, OPT_RNG },
	{ "initrd", required_argument, NULL, OPT_INITRD },
	{ "on-reboot", required_argument, NULL, OPT_ON_REBOOT },
	{ "device-restart", required_argument, NULL, OPT_DEVICE_RESTART },
	{ "restart-budget", required_argument, NULL, OPT_RESTART_BUDGET },
	{ "fault", required_argument, NULL, OPT_FAULT },
	{ "console-max", required_argument, NULL, OPT_CONSOLE_MAX },
	{ "uid", required_argument, NULL, OPT_UID },
	{ "gid", required_argument, NULL, OPT_GID },
	{ "uid-range", required_argument, NULL, OPT_UID_RANGE },
	{ "cgroup-parent", required_argument, NULL, OPT_CGROUP_PARENT },
	{ "cgroup", required_argument, NULL, OPT_CGROUP },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

__attribute__((format(printf, 3, 4))) static int usage_error(char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Room for one more virtio device? (--disk, --net and --rng share the virtio-mmio slots.) */
static int virtio_slot_free(const struct vm_config *cfg, const char *opt, char *err, size_t err_len)
{
	unsigned used = cfg->ndisks + cfg->nnets + (cfg->rng ? 1u : 0u);

	if (used >= CLI_MAX_VIRTIO_DEVICES)
		return usage_error(err, err_len,
				   "too many virtio devices (at most %d: --disk, --net and --rng together); %s is "
				   "one too many",
				   CLI_MAX_VIRTIO_DEVICES, opt);
	return 0;
}

static int add_disk(struct vm_config *cfg, char *arg, char *err, size_t err_len)
{
	struct disk_config d;
	int r;

	r = virtio_slot_free(cfg, "--disk", err, err_len);
	if (r)
		return r;
	r = disk_arg_parse(arg, &d, err, err_len);
	if (r)
		return r;
	for (unsigned i = 0; d.id[0] && i < cfg->ndisks; i++) {
		char q1[ARG_QUOTE_MAX], q2[ARG_QUOTE_MAX];

		if (strcmp(cfg->disks[i].id, d.id))
			continue;
		/* Failing after disk_arg_parse cut PATH at its ',' is fine: argv is not parsed again. */
		return usage_error(err, err_len, "--disk '%s': id=%s is already used by --disk '%s'",
				   arg_escape(q1, sizeof(q1), d.path, strlen(d.path)), d.id,
				   arg_escape(q2, sizeof(q2), cfg->disks[i].path, strlen(cfg->disks[i].path)));
	}
	cfg->disks[cfg->ndisks++] = d;
	return 0;
}

static int add_net(struct vm_config *cfg, const char *arg, char *err, size_t err_len)
{
	struct net_config n;
	int r;

	r = virtio_slot_free(cfg, "--net", err, err_len);
	if (r)
		return r;
	r = net_arg_parse(arg, cfg->nnets, &n, err, err_len);
	if (r)
		return r;
	for (unsigned i = 0; i < cfg->nnets; i++) {
		const uint8_t *m = cfg->nets[i].mac;
		char qa[ARG_QUOTE_MAX];

		/* Tap names are validated: plain [A-Za-z0-9_.-]. */
		if (!strcmp(cfg->nets[i].tap, n.tap))
			return usage_error(err, err_len, "--net '%s': tap %s is already used by another --net",
					   arg_escape(qa, sizeof(qa), arg, strlen(arg)), n.tap);
		if (!memcmp(m, n.mac, sizeof(n.mac)))
			return usage_error(err, err_len,
					   "--net '%s': mac %02x:%02x:%02x:%02x:%02x:%02x is already used by --net "
					   "tap=%s",
					   arg_escape(qa, sizeof(qa), arg, strlen(arg)), m[0], m[1], m[2], m[3], m[4],
					   m[5], cfg->nets[i].tap);
	}
	cfg->nets[cfg->nnets++] = n;
	return 0;
}

static int parse_start(int argc, char *const argv[], enum cli_command *cmd, struct vm_config *cfg,
		       char *err, size_t err_len)
{
	uint64_t v;
	int opt, r;

	optind = 0; /* 0, not 1: glibc also forgets its place inside a -xy cluster */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":", start_options, NULL)) != -1) {
		const char *name = argv[optind - 1];

		switch (opt) {
		case OPT_KERNEL:
			if (!*optarg)
				return usage_error(err, err_len, "--kernel needs a file name");
			cfg->kernel_path = optarg;
			break;
		case OPT_INITRD:
			if (!*optarg)
				return usage_error(err, err_len, "--initrd needs a file name");
			cfg->initrd_path = optarg;
			break;
		case OPT_ON_REBOOT:
			if (!strcmp(optarg, "exit"))
				cfg->on_reboot = REBOOT_EXIT;
			else if (!strcmp(optarg, "restart"))
				cfg->on_reboot = REBOOT_RESTART;
			else
				return usage_error(err, err_len, "--on-reboot expects exit or restart, not '%s'", optarg);
			break;
		case OPT_DEVICE_RESTART:
			if (!strcmp(optarg, "always"))
				cfg->device_restart = DEVICE_RESTART_ALWAYS;
			else if (!strcmp(optarg, "never"))
				cfg->device_restart = DEVICE_RESTART_NEVER;
			else
				return usage_error(err, err_len, "--device-restart expects always or never, not '%s'",
						   optarg);
			break;
		case OPT_RESTART_BUDGET:
			r = parse_restart_budget(optarg, cfg);
			if (r)
				return usage_error(err, err_len,
						   "--restart-budget expects N/S (N 1..%d restarts within S 1..3600 seconds), "
						   "not '%s'", DEVICE_RESTART_BUDGET_MAX, optarg);
			break;
		case OPT_FAULT:
			if (cfg->nfaults >= CLI_MAX_FAULTS)
				return usage_error(err, err_len, "too many --fault options (at most %d)", CLI_MAX_FAULTS);
			r = fault_arg_parse(optarg, &cfg->faults[cfg->nfaults], err, err_len);
			if (r)
				return r;
			cfg->nfaults++;
			break;
		case OPT_CPUS:
			r = parse_u64(optarg, 1, CLI_MAX_CPUS, &v);
			if (r == -ERANGE)
				return usage_error(err, err_len, "--cpus %s is out of range (1..48)", optarg);
			if (r)
				return usage_error(err, err_len, "--cpus expects a number, not '%s'", optarg);
			cfg->cpus = (unsigned)v;
			break;
		case OPT_MEMORY:
			r = parse_u64(optarg, CLI_MIN_MEMORY_MIB, CLI_MAX_MEMORY_MIB, &v);
			if (r == -ERANGE)
				return usage_error(err, err_len, "--memory %s MiB is out of range (2..3072)", optarg);
			if (r)
				return usage_error(err, err_len, "--memory expects a number of MiB, not '%s'", optarg);
			cfg->memory_mib = v;
			break;
		case OPT_TESTDEV:
			cfg->testdev = true;
			break;
		case OPT_INLINE_TESTDEV:
			cfg->inline_testdev = true;
			break;
		case OPT_CONSOLE:
			if (!*optarg)
				return usage_error(err, err_len, "--console needs a file name");
			cfg->console_path = optarg;
			break;
		case OPT_SINGLE_STEP:
			r = parse_u64(optarg, 1, 1000000, &v);
			if (r)
				return usage_error(err, err_len, "--single-step expects 1..1000000, not '%s'", optarg);
			cfg->single_step = (uint32_t)v;
			break;
		case OPT_CMDLINE:
			if (strlen(optarg) > CLI_MAX_CMDLINE)
				return usage_error(err, err_len, "--cmdline is longer than 4095 bytes");
			cfg->cmdline = optarg;
			break;
		case OPT_VERBOSE:
			cfg->verbose = true;
			break;
		case OPT_POLL_US:
			r = parse_u64(optarg, 0, SPIN_MAX_POLL_US, &v);
			if (r)
				return usage_error(err, err_len, "--poll-us expects 0..%d microseconds, not '%s'",
						   SPIN_MAX_POLL_US, optarg);
			cfg->poll_us = (uint32_t)v;
			break;
		case OPT_DISK:
			r = add_disk(cfg, optarg, err, err_len);
			if (r)
				return r;
			break;
		case OPT_NET:
			r = add_net(cfg, optarg, err, err_len);
			if (r)
				return r;
			break;
		case OPT_RNG:
			if (cfg->rng)
				return usage_error(err, err_len, "--rng given twice");
			r = virtio_slot_free(cfg, "--rng", err, err_len);
			if (r)
				return r;
			cfg->rng = true;
			break;
		case OPT_CONSOLE_MAX: {
			size_t len = strlen(optarg), shift = 0;

			if (len > 1 && strchr("KMG", optarg[len - 1])) {
				shift = optarg[len - 1] == 'K' ? 10 : optarg[len - 1] == 'M' ? 20 : 30;
				len--;
			}
			if (arg_u64_parse(optarg, len, 0, (1ull << 50) >> shift, &v))
				return usage_error(err, err_len, "--console-max expects bytes (K, M or G; 0 for no limit), "
						   "not '%s'", optarg);
			cfg->console_max = v << shift;
			break;
		}
		case OPT_UID:
		case OPT_GID:
			/* 0 is root; (uint32_t)-1 is "no change" to setresuid; 65534 is nobody's, shared by everyone. */
			if (parse_u64(optarg, 1, 0xfffffffeu, &v) || v == 65534)
				return usage_error(err, err_len, "%s expects 1..4294967294 (not 0 or 65534), not '%s'",
						   opt == OPT_UID ? "--uid" : "--gid", optarg);
			if (opt == OPT_UID)
				cfg->uid = (uint32_t)v;
			else
				cfg->gid = (uint32_t)v;
			break;
		case OPT_CGROUP_PARENT:
			if (optarg[0] != '/' || strstr(optarg, "/../") || strlen(optarg) > 3000)
				return usage_error(err, err_len, "--cgroup-parent expects an absolute cgroup v2 directory, "
						   "not '%s'", optarg);
			cfg->cgroup_parent = optarg;
			break;
		case OPT_CGROUP: {
			const char *eq = strchr(optarg, '=');
			struct cgroup_setting *c = &cfg->cgroup_settings[cfg->ncgroup_settings];
			size_t flen = eq ? (size_t)(eq - optarg) : 0;

			if (cfg->ncgroup_settings == CLI_MAX_CGROUP_SETTINGS)
				return usage_error(err, err_len, "--cgroup given more than %d times", CLI_MAX_CGROUP_SETTINGS);
			if (!eq || flen == 0 || flen >= sizeof(c->file) || strspn(optarg, "abcdefghijklmnopqrstuvwxyz.") != flen ||
			    strlen(eq + 1) >= sizeof(c->value) || strchr(eq + 1, '\n'))
				return usage_error(err, err_len, "--cgroup expects FILE=VALUE (a controller file such as "
						   "cpu.max, memory.max or io.max), not '%s'", optarg);
			memcpy(c->file, optarg, flen);
			c->file[flen] = '\0';
			snprintf(c->value, sizeof(c->value), "%s", eq + 1);
			cfg->ncgroup_settings++;
			break;
		}
		case OPT_UID_RANGE: {
			const char *colon = strchr(optarg, ':');
			uint64_t first, count;

			if (!colon || arg_u64_parse(optarg, (size_t)(colon - optarg), 1, 0xfffffffeu, &first) ||
			    parse_u64(colon + 1, 1, 0xfffffffeu - first + 1, &count))
				return usage_error(err, err_len,
						   "--uid-range expects FIRST:COUNT (uids FIRST..FIRST+COUNT-1, none 0 or "
						   "past 4294967294), not '%s'", optarg);
			cfg->uid_first = (uint32_t)first;
			cfg->uid_count = (uint32_t)count;
			break;
		}
		case OPT_HELP:
			*cmd = CLI_HELP;
			return 0;
		case ':':
			return usage_error(err, err_len, "option %s needs a value", name);
		default:
			/* glibc sets optopt to the character of an unknown short option. */
			if (optopt > 0 && optopt < 0x100)
				return usage_error(err, err_len, "unknown option '-%c'", optopt);
			return usage_error(err, err_len, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error(err, err_len, "unexpected argument '%s'", argv[optind]);
	if (cfg->inline_testdev)
		cfg->testdev = true;
	if (cfg->initrd_path && !cfg->kernel_path)
		return usage_error(err, err_len, "--initrd needs --kernel (a bzImage)");
	if (!cfg->uid != !cfg->gid)
		return usage_error(err, err_len, "--uid and --gid go together");
	if (cfg->ncgroup_settings && !cfg->cgroup_parent)
		return usage_error(err, err_len, "--cgroup needs --cgroup-parent");
	*cmd = CLI_START;
	return 0;
}

int cli_parse(int argc, char *const argv[], enum cli_command *cmd, struct vm_config *cfg, char *err,
	      size_t err_len)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->cpus = CLI_DEFAULT_CPUS;
	cfg->memory_mib = CLI_DEFAULT_MEMORY_MIB;
	cfg->poll_us = SPIN_DEFAULT_POLL_US;
	cfg->restart_budget = CLI_DEFAULT_RESTART_BUDGET;
	cfg->restart_window_s = CLI_DEFAULT_RESTART_WINDOW_S;
	cfg->console_max = CLI_DEFAULT_CONSOLE_MAX;
	cfg->uid_first = CLI_DEFAULT_UID_FIRST;
	cfg->uid_count = CLI_DEFAULT_UID_COUNT;
	if (err_len)
		err[0] = '\0';
	if (argc < 2)
		return usage_error(err, err_len, "missing command (try 'squib-monitor --help')");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		*cmd = CLI_HELP;
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		*cmd = CLI_VERSION;
		return 0;
	}
	if (strcmp(argv[1], "start"))
		return usage_error(err, err_len, "unknown command '%s' (try 'squib-monitor --help')", argv[1]);
	return parse_start(argc - 1, argv + 1, cmd, cfg, err, err_len);
}
