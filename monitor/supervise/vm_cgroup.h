/* SPDX-License-Identifier: MIT */
/*
 * A cgroup v2 leaf per VM (--cgroup-parent DIR, --cgroup FILE=VALUE): every
 * process of the VM runs in DIR/squib-<monitor pid>, with cpu.max,
 * memory.max and pids.max set (defaults from the VM's size, each
 * overridable, io.max and any other controller file on request). The
 * monitor joins the leaf before it forks anything, so every worker is born
 * in it. The leaf is removed by the process that waits for the monitor
 * (main.c: with --cgroup-parent the boot loop runs, as for --on-reboot
 * restart), since a jailed monitor cannot reach the cgroup tree any more.
 */
#ifndef SQUIB_MONITOR_VM_CGROUP_H
#define SQUIB_MONITOR_VM_CGROUP_H

#include <sys/types.h>

#include "common/compiler.h"
#include "monitor/cli.h"

/* Creates DIR/squib-<getpid()>, sets its limits and moves the caller into it. 0 or -errno (logged). */
int vm_cgroup_enter(const struct vm_config *cfg) MUST_USE;

/* Removes DIR/squib-<monitor>, once every process in it is gone (logged when it cannot). */
void vm_cgroup_remove(const struct vm_config *cfg, pid_t monitor);

#endif
