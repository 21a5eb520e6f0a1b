/* SPDX-License-Identifier: MIT */
/*
 * The jail: identity and an empty world for one process of a VM, applied
 * by whoever spawns it (the spawner before it execs a device worker, the VM
 * process before it clones the vCPU workers, the monitor before it narrows),
 * so a replaced or compromised binary starts jailed.
 *
 * jail_enter, in this order:
 *   1. started as root: every capability out of the bounding set,
 *      supplementary groups dropped, setresgid/setresuid to the VM's ids
 *      (which drops every capability); otherwise it runs as the caller;
 *      ambient capabilities cleared;
 *   2. new user, mount, IPC, UTS and network namespaces (and a new pid
 *      namespace for the children to come, where asked), the VM's ids
 *      mapped to themselves, setgroups denied;
 *   3. pivot_root into an empty read-only tmpfs (no /proc, no /dev, nothing
 *      to open by path), the old root detached; on a host that runs from
 *      its initramfs, where pivot_root cannot work, the tmpfs is moved
 *      over / and chrooted into instead;
 *   4. every capability dropped in the new user namespace too (bounding
 *      set, permitted, effective, inheritable; securebits locked so root
 *      inside could never regain them);
 *   5. RLIMIT_CORE 0, RLIMIT_NOFILE and RLIMIT_FSIZE as asked, not dumpable;
 *      a parent-death signal the caller had is set again (step 1's
 *      credential change cleared it).
 * The environment is the exec's business: callers exec with an empty one.
 */
#ifndef SQUIB_SANDBOX_JAIL_H
#define SQUIB_SANDBOX_JAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/compiler.h"

struct jail_config {
	uid_t uid;             /* the VM's uid and gid: 0 is refused */
	gid_t gid;
	unsigned long nofile;  /* RLIMIT_NOFILE (soft and hard), 0: leave it */
	bool new_pid_ns;       /* children are born in a new pid namespace (the caller stays in its own) */
	bool keep_root;        /* skip step 3 (ASan builds' dynamically linked device workers only) */
	bool limit_fsize;      /* RLIMIT_FSIZE to fsize: no file it writes grows past that */
	unsigned long long fsize;
};

/*
 * Jails the calling process (single-threaded, not sharing its mm). 0, or
 * -errno with err naming the step that failed; on failure the process is
 * half-jailed and must not go on.
 */
int jail_enter(const struct jail_config *j, char *err, size_t err_len) MUST_USE;

/*
 * Can this host jail (user namespaces allowed for the VM's uid)? Forks a
 * child that tries steps 1-2. 0, or -errno with err saying what to change.
 */
int jail_probe(const struct jail_config *j, char *err, size_t err_len) MUST_USE;

#endif
