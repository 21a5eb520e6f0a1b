/* SPDX-License-Identifier: MIT */
/*
 * Every process of a VM, in one table: its role, how it is spawned, its
 * entry point, the fds it inherits and its sandbox profile (the syscall
 * allowlist, sandbox/profiles.c). The spawners read it: vcpu_workers.c clones
 * the vCPU role's entry, device_workers.c execs the device role's binary, so
 * the table is what runs, not a description of it.
 */
#ifndef SQUIB_MONITOR_ROLES_H
#define SQUIB_MONITOR_ROLES_H

#include "sandbox/sandbox.h"

enum process_spawn {
	SPAWN_NONE,      /* the monitor itself: started by the user */
	SPAWN_CLONE_VM,  /* clone(CLONE_VM | CLONE_PIDFD | SIGCHLD): KVM's one-mm rule (docs/DESIGN.md) */
	SPAWN_FORK_EXEC, /* fork + exec of a separate binary: a fresh address space and ASLR layout */
	SPAWN_FORK,      /* fork of the monitor before it narrows: its own address space, same binary */
};

struct process_role {
	const char *name;           /* "monitor", "vcpu", "device" */
	enum sandbox_role profile;  /* its seccomp allowlist (SANDBOX_ROLE_COUNT: none, see unfiltered) */
	const char *unfiltered;     /* why a role has no seccomp filter of its own, or NULL */
	enum process_spawn spawn;
	int (*clone_entry)(void *); /* SPAWN_CLONE_VM: the function the clone runs */
	const char *exec_binary;    /* SPAWN_FORK_EXEC: the binary's file name (found by vm.c) */
	const char *entry;          /* where its code starts, for people */
	const char *spawned_by;     /* the function that spawns it */
	const char *fds;            /* what it inherits, all it ever holds */
};

enum process_role_id {
	ROLE_MONITOR,
	ROLE_VCPU,
	ROLE_DEVICE,
	ROLE_SPAWNER,
	ROLE_VM,
	ROLE_PIDNS_INIT,
	ROLE_COUNT
};

extern const struct process_role process_roles[ROLE_COUNT];

#endif
