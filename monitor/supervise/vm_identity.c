/* SPDX-License-Identifier: MIT */
/* Choosing and locking a VM's uid and gid (vm_identity.h). */
#include "monitor/supervise/vm_identity.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "monitor/log.h"

/* mkdir -p of VM_IDENTITY_LOCK_DIR's two levels, root-only. */
static int make_lock_dir(const char *dir)
{
	char parent[256];
	char *slash;

	snprintf(parent, sizeof(parent), "%s", dir);
	slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		*slash = '\0';
		if (mkdir(parent, 0755) < 0 && errno != EEXIST)
			return -errno;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Locks uid under dir (exclusive, non-blocking): 0, -EBUSY (a running VM holds it) or -errno. */
static int vm_identity_lock(const char *dir, uid_t uid, int *lock_fd)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%u", dir, (unsigned)uid);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int r = errno == EWOULDBLOCK ? -EBUSY : -errno;

		close(fd);
		return r;
	}
	*lock_fd = fd;
	return 0;
}

int vm_identity_choose(const struct vm_config *cfg, struct vm_identity *id)
{
	int r;

	id->lock_fd = -1;
	if (geteuid() != 0) {
		id->uid = cfg->uid ? cfg->uid : getuid();
		id->gid = cfg->gid ? cfg->gid : getgid();
		if (id->uid == 0 || id->gid == 0) {
			mlog("cannot run a VM as uid %u gid %u: give --uid and --gid", (unsigned)id->uid, (unsigned)id->gid);
			return -EPERM;
		}
		return 0; /* jail.c refuses ids that are not the caller's */
	}
	r = make_lock_dir(VM_IDENTITY_LOCK_DIR);
	if (r < 0) {
		mlog("cannot create %s (uid locks): %s", VM_IDENTITY_LOCK_DIR, strerror(-r));
		return r;
	}
	if (cfg->uid) {
		id->uid = cfg->uid;
		id->gid = cfg->gid;
		r = vm_identity_lock(VM_IDENTITY_LOCK_DIR, id->uid, &id->lock_fd);
		if (r == -EBUSY)
			mlog("--uid %u: another running VM has this uid (%s/%u is locked)", (unsigned)id->uid,
			     VM_IDENTITY_LOCK_DIR, (unsigned)id->uid);
		else if (r < 0)
			mlog("--uid %u: cannot lock %s/%u: %s", (unsigned)id->uid, VM_IDENTITY_LOCK_DIR, (unsigned)id->uid,
			     strerror(-r));
		return r;
	}
	for (uint64_t i = 0; i < cfg->uid_count; i++) {
		uid_t uid = (uid_t)(cfg->uid_first + i);

		r = vm_identity_lock(VM_IDENTITY_LOCK_DIR, uid, &id->lock_fd);
		if (r == 0) {
			id->uid = uid;
			id->gid = (gid_t)uid;
			return 0;
		}
		if (r != -EBUSY) {
			mlog("cannot lock %s/%u: %s", VM_IDENTITY_LOCK_DIR, (unsigned)uid, strerror(-r));
			return r;
		}
	}
	mlog("every uid of --uid-range %u:%u is taken by a running VM", (unsigned)cfg->uid_first,
	     (unsigned)cfg->uid_count);
	return -EUSERS;
}
