/* SPDX-License-Identifier: MIT */
/*
 * Who a VM runs as (--uid/--gid, --uid-range): every process of the VM is
 * jailed as this uid and gid (sandbox/jail.h), so one tenant's processes
 * can neither signal, trace nor read another's.
 *
 *   - --uid U --gid G: those ids;
 *   - started as root without them: the first uid of --uid-range that no
 *     running VM holds, gid = uid. "Holds" is an flock on
 *     /run/squib/uids/<uid>, kept by the monitor for the VM's life, so a
 *     crashed monitor frees its uid with its last fd;
 *   - started as another user: that user's ids.
 * An explicit uid is locked the same way: two running VMs never share one.
 */
#ifndef SQUIB_MONITOR_VM_IDENTITY_H
#define SQUIB_MONITOR_VM_IDENTITY_H

#include <sys/types.h>

#include "common/compiler.h"
#include "monitor/cli.h"

#define VM_IDENTITY_LOCK_DIR "/run/squib/uids"

struct vm_identity {
	uid_t uid;
	gid_t gid;
	int lock_fd; /* the flock that holds uid (root only), or -1 */
};

/* Chooses and, as root, locks the VM's ids. 0 or -errno with a log line. */
int vm_identity_choose(const struct vm_config *cfg, struct vm_identity *id) MUST_USE;

#endif
