/* SPDX-License-Identifier: MIT */
/* The VM's cgroup v2 leaf (vm_cgroup.h). */
#include "monitor/supervise/vm_cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/control_file.h"
#include "monitor/log.h"

/* The leaf's path for monitor into out. 0 or -ENAMETOOLONG. */
static int vm_cgroup_path(const struct vm_config *cfg, pid_t monitor, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s/squib-%d", cfg->cgroup_parent, (int)monitor);

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/* dir/file = text (control_file.h). */
static int write_text(const char *dir, const char *file, const char *text)
{
	char path[4096];

	if (snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	return control_file_write(path, text);
}

/* The limits: the VM's defaults first, then each --cgroup FILE=VALUE (which wins). */
static int set_limits(const struct vm_config *cfg, const char *leaf)
{
	char cpu[64], mem[32], pids[32];
	const char *defaults[][2] = {
		{ "cpu.max", cpu },
		{ "memory.max", mem },
		{ "pids.max", pids },
	};
	int r;

	/* Its vCPUs and one more CPU for its device workers; guest RAM and 256 MiB for the rest. */
	snprintf(cpu, sizeof(cpu), "%u 100000", (cfg->cpus + 1) * 100000u);
	snprintf(mem, sizeof(mem), "%llu", (unsigned long long)((cfg->memory_mib + 256) << 20));
	snprintf(pids, sizeof(pids), "%u", 64 + cfg->cpus);
	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
		r = write_text(leaf, defaults[i][0], defaults[i][1]);
		if (r < 0) {
			mlog("--cgroup-parent: cannot set %s/%s to %s: %s", leaf, defaults[i][0], defaults[i][1],
			     strerror(-r));
			return r;
		}
	}
	for (unsigned i = 0; i < cfg->ncgroup_settings; i++) {
		const struct cgroup_setting *c = &cfg->cgroup_settings[i];

		r = write_text(leaf, c->file, c->value);
		if (r < 0) {
			mlog("--cgroup %s=%s: cannot write %s/%s: %s", c->file, c->value, leaf, c->file, strerror(-r));
			return r;
		}
	}
	return 0;
}

int vm_cgroup_enter(const struct vm_config *cfg)
{
	char leaf[4096], probe[4096];
	int r;

	if (!cfg->cgroup_parent)
		return 0;
	snprintf(probe, sizeof(probe), "%s/cgroup.controllers", cfg->cgroup_parent);
	if (access(probe, R_OK) < 0) {
		mlog("--cgroup-parent %s is not a cgroup v2 directory (no cgroup.controllers): mount cgroup2 "
		     "(mount -t cgroup2 none /sys/fs/cgroup) and name a directory in it",
		     cfg->cgroup_parent);
		return -ENOTDIR;
	}
	/* The controllers the limits need; a parent that already delegates them says so, or this adds them. */
	r = write_text(cfg->cgroup_parent, "cgroup.subtree_control", "+cpu +memory +pids");
	if (r < 0) {
		mlog("--cgroup-parent %s: cannot enable the cpu, memory and pids controllers for its children "
		     "(cgroup.subtree_control): %s",
		     cfg->cgroup_parent, strerror(-r));
		return r;
	}
	(void)write_text(cfg->cgroup_parent, "cgroup.subtree_control", "+io"); /* only io.max needs it */
	r = vm_cgroup_path(cfg, getpid(), leaf, sizeof(leaf));
	if (r == 0 && mkdir(leaf, 0755) < 0)
		r = -errno;
	if (r < 0) {
		mlog("--cgroup-parent: cannot create %s: %s", leaf, strerror(-r));
		return r;
	}
	r = set_limits(cfg, leaf);
	if (r == 0) {
		r = write_text(leaf, "cgroup.procs", "0");
		if (r < 0)
			mlog("--cgroup-parent: cannot move the monitor into %s: %s", leaf, strerror(-r));
	}
	if (r < 0)
		(void)rmdir(leaf);
	return r;
}

void vm_cgroup_remove(const struct vm_config *cfg, pid_t monitor)
{
	char leaf[4096];

	if (!cfg->cgroup_parent || vm_cgroup_path(cfg, monitor, leaf, sizeof(leaf)) < 0)
		return;
	/* Its last process may still be on its way out: a few tries. */
	for (int i = 0; i < 50; i++) {
		if (rmdir(leaf) == 0 || errno == ENOENT)
			return;
		if (errno != EBUSY)
			break;
		usleep(20000);
	}
	mlog("cannot remove the VM's cgroup %s: %s", leaf, strerror(errno));
}
