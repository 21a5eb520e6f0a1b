/* SPDX-License-Identifier: MIT */
/*
 * squib-monitor's command line. The parser is pure (no I/O besides the
 * message buffer), so unit tests feed it hostile argument vectors.
 */
#ifndef SQUIB_MONITOR_CLI_H
#define SQUIB_MONITOR_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"
#include "common/platform.h"

#define CLI_DEFAULT_CPUS 1
#define CLI_DEFAULT_MEMORY_MIB 128
#define CLI_MIN_MEMORY_MIB 2
#define CLI_MAX_MEMORY_MIB 3072 /* one RAM slot below the 3 GiB device hole for now */
#define CLI_MAX_CPUS 48         /* raw-guest stacks below 1 MiB limit this; KVM may limit further */
#define CLI_MAX_CMDLINE 4095 /* a bzImage's own limit (cmdline_size) is checked when it loads */

/* virtio devices: --disk, --net and --rng share the VIRTIO_MMIO_SLOTS windows. */
#define CLI_MAX_VIRTIO_DEVICES VIRTIO_MMIO_SLOTS
#define CLI_DISK_ID_MAX 20  /* virtio-blk GET_ID: 20 bytes, NUL-padded */
#define CLI_TAP_NAME_MAX 15 /* IFNAMSIZ - 1 */

enum disk_cache {
	DISK_CACHE_WRITEBACK = 0, /* page cache; flush = fdatasync (the default) */
	DISK_CACHE_NONE = 1,      /* O_DIRECT; flush = fdatasync */
};

/* --disk PATH[,ro][,id=NAME][,cache=none|writeback] */
struct disk_config {
	const char *path;               /* points into argv */
	bool read_only;
	char id[CLI_DISK_ID_MAX + 1];   /* "" when not given: the device then reports "squib-disk<N>" */
	enum disk_cache cache;
};

/* --net tap=NAME[,mac=XX:XX:XX:XX:XX:XX] */
struct net_config {
	char tap[CLI_TAP_NAME_MAX + 1];
	uint8_t mac[6];                 /* a default is filled in when mac= is absent */
};

/* --fault DEVICE:after=N[,every=M][,how=KIND] (monitor/devices/device_args.c) */
#define CLI_MAX_FAULTS 16
#define CLI_DEVICE_NAME_MAX 31
struct fault_config {
	char device[CLI_DEVICE_NAME_MAX + 1]; /* blk0, net0, rng0, uart, testdev: checked when the VM is built */
	uint32_t how;                          /* enum device_fault_how (proto/device_config.h) */
	uint32_t after;                        /* requests before the first worker fails */
	uint32_t every;                        /* and each successor after this many (when repeat) */
	bool repeat;                           /* every= given: successors fail too */
};

/* --cgroup FILE=VALUE: one controller file of the VM's cgroup leaf. */
#define CLI_MAX_CGROUP_SETTINGS 8
struct cgroup_setting {
	char file[32];   /* e.g. cpu.max, memory.max, io.max: [a-z.]+, no slash */
	char value[128]; /* written as is */
};

/* What a guest reboot does (--on-reboot). */
enum reboot_action {
	REBOOT_EXIT = 0,    /* the monitor exits 0, as after a poweroff (the default) */
	REBOOT_RESTART = 1, /* the VM is built again from the same configuration and boots anew */
};

/* What a device worker's death does (--device-restart). */
enum device_restart_policy {
	DEVICE_RESTART_ALWAYS = 0, /* start a successor, within the restart budget (the default) */
	DEVICE_RESTART_NEVER = 1,  /* end the VM with status 4 (fail-stop) */
};

#define DEVICE_RESTART_BUDGET_MAX 64      /* == DEVICE_RESTART_HISTORY (monitor/vm.h) */
#define CLI_DEFAULT_RESTART_BUDGET 5      /* restarts ... */
#define CLI_DEFAULT_RESTART_WINDOW_S 10   /* ... within this many seconds */

enum cli_command {
	CLI_HELP = 1,
	CLI_VERSION = 2,
	CLI_START = 3,
};

struct vm_config {
	const char *kernel_path;  /* NULL: the embedded demo guest; a bzImage or a raw image */
	const char *initrd_path;  /* NULL: none (bzImage kernels only) */
	enum reboot_action on_reboot;
	unsigned cpus;
	uint64_t memory_mib;
	bool testdev;
	bool inline_testdev;      /* benchmark baseline: testdev inside the vCPU workers */
	const char *console_path; /* NULL: stdout */
	uint64_t console_max;     /* the most bytes written to the console file; 0: no limit */
	bool console_append;      /* not a CLI option: boots after a --on-reboot restart keep the file */
	uint32_t single_step;     /* vCPU 0 single-steps this many instructions */
	const char *cmdline;      /* NULL: none */
	bool verbose;             /* statistics at exit */
	uint32_t poll_us;         /* busy-poll window of rings before sleeping */
	struct disk_config disks[CLI_MAX_VIRTIO_DEVICES];
	unsigned ndisks;
	struct net_config nets[CLI_MAX_VIRTIO_DEVICES];
	unsigned nnets;
	bool rng;                 /* --rng: virtio-rng fed from getrandom() */
	enum device_restart_policy device_restart;
	uint32_t restart_budget;   /* at most this many restarts of one device ... */
	uint32_t restart_window_s; /* ... within this many seconds; past it the device is failed */
	struct fault_config faults[CLI_MAX_FAULTS];
	unsigned nfaults;
	/*
	 * The VM's identity (monitor/supervise/vm_identity.c): every process of
	 * the VM runs as uid/gid in its own namespaces (sandbox/jail.h). 0: not
	 * given; started as root, the monitor then takes a free uid from
	 * [uid_first, uid_first + uid_count) (gid = uid); otherwise the caller's.
	 */
	uint32_t uid;
	uint32_t gid;
	uint32_t uid_first;
	uint32_t uid_count;
	/* --cgroup-parent DIR and --cgroup FILE=VALUE (monitor/supervise/vm_cgroup.h). */
	const char *cgroup_parent; /* NULL: no cgroup of its own */
	struct cgroup_setting cgroup_settings[CLI_MAX_CGROUP_SETTINGS];
	unsigned ncgroup_settings;
};

#define CLI_DEFAULT_CONSOLE_MAX (256ull << 20) /* --console-max: a console file stops growing here */
#define CLI_DEFAULT_UID_FIRST 1879048192u /* 0x70000000: far above login users and subuid ranges */
#define CLI_DEFAULT_UID_COUNT 65536u

/*
 * Parses argv into *cmd and *cfg. 0 on success; -EINVAL on a usage error
 * with a one-line explanation in err (naming the offending option/value).
 * Each accepted --disk has the ',' after its PATH overwritten with a NUL in
 * its argv string (as getsubopt(3) does), so disks[i].path points into argv:
 * argv must stay alive and unchanged as long as cfg is used.
 */
int cli_parse(int argc, char *const argv[], enum cli_command *cmd, struct vm_config *cfg,
	      char *err, size_t err_len) MUST_USE;

/* The --help text. */
extern const char cli_usage_text[];

#endif
