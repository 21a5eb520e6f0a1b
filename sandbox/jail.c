/* SPDX-License-Identifier: MIT */
/* The jail (jail.h): identity, namespaces, an empty root, no capabilities, limits. */
#include "sandbox/jail.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/control_file.h"

#ifndef CAP_LAST_CAP
#define CAP_LAST_CAP 40
#endif
/* Past the kernel's last capability PR_CAPBSET_DROP says EINVAL: drop up to the first one it does not know. */
#define JAIL_CAP_PROBE_MAX 63

static int fail(int r, char *err, size_t err_len, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(int r, char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
	n = strlen(err);
	snprintf(err + n, err_len - n, ": %s", strerror(-r));
	return r;
}

/* Every capability out of this user namespace's bounding set (needs CAP_SETPCAP there). */
static int drop_bounding_set(void)
{
	for (int cap = 0; cap <= JAIL_CAP_PROBE_MAX; cap++) {
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0)
			break; /* past the kernel's last capability */
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			return -errno;
	}
	return 0;
}

/* Permitted, effective and inheritable sets to zero (always allowed: it only drops). */
static int drop_all_caps(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	/* SAFETY: capset(2) on this process (pid 0) with the v3 header and its two data words. */
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -errno;
	return 0;
}

/* Steps 1-2 of jail.h. */
static int enter_identity_and_namespaces(const struct jail_config *j, char *err, size_t err_len)
{
	char map[64];
	int r, flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET;

	if (j->uid == 0 || j->gid == 0)
		return fail(-EINVAL, err, err_len, "a VM never runs as uid or gid 0");
	if (geteuid() == 0) {
		r = drop_bounding_set();
		if (r < 0)
			return fail(r, err, err_len, "dropping the capability bounding set");
		if (setgroups(0, NULL) < 0)
			return fail(-errno, err, err_len, "dropping supplementary groups");
		if (setresgid(j->gid, j->gid, j->gid) < 0)
			return fail(-errno, err, err_len, "setresgid(%u)", (unsigned)j->gid);
		if (setresuid(j->uid, j->uid, j->uid) < 0)
			return fail(-errno, err, err_len, "setresuid(%u)", (unsigned)j->uid);
	} else if (geteuid() != j->uid || getegid() != j->gid) {
		return fail(-EPERM, err, err_len, "running as uid %u gid %u, the VM's ids are %u %u (start as root to switch)",
			    (unsigned)geteuid(), (unsigned)getegid(), (unsigned)j->uid, (unsigned)j->gid);
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return fail(-errno, err, err_len, "clearing ambient capabilities");
	if (j->new_pid_ns)
		flags |= CLONE_NEWPID;
	if (unshare(flags) < 0)
		return fail(-errno, err, err_len,
			    "unshare(user, mount, ipc, uts, net%s namespaces) as uid %u (user namespaces must be "
			    "allowed: sysctl user.max_user_namespaces > 0)",
			    j->new_pid_ns ? ", pid" : "", (unsigned)j->uid);
	/*
	 * setresuid made this process non-dumpable, which gives /proc/self to
	 * root: dumpable again while it writes its own maps (jail_enter makes
	 * it non-dumpable for good at the end).
	 */
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
		return fail(-errno, err, err_len, "PR_SET_DUMPABLE 1 for the id maps");
	r = control_file_write("/proc/self/setgroups", "deny");
	snprintf(map, sizeof(map), "%u %u 1", (unsigned)j->uid, (unsigned)j->uid);
	if (r == 0)
		r = control_file_write("/proc/self/uid_map", map);
	snprintf(map, sizeof(map), "%u %u 1", (unsigned)j->gid, (unsigned)j->gid);
	if (r == 0)
		r = control_file_write("/proc/self/gid_map", map);
	if (r < 0)
		return fail(r, err, err_len, "mapping uid %u and gid %u in the new user namespace", (unsigned)j->uid,
			    (unsigned)j->gid);
	return 0;
}

/* Step 3: an empty read-only tmpfs as /, the host's tree detached. */
static int enter_empty_root(char *err, size_t err_len)
{
	static const char *const mountpoint = "/tmp";

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return fail(-errno, err, err_len, "making the mount namespace private");
	if (mount("squib-jail", mountpoint, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,nr_inodes=4,mode=0555") < 0)
		return fail(-errno, err, err_len, "mounting the empty root (tmpfs on %s)", mountpoint);
	if (chdir(mountpoint) < 0)
		return fail(-errno, err, err_len, "chdir into the empty root");
	/* SAFETY: pivot_root(2) with new_root == put_old == "." (the old root is stacked under the new one). */
	if (syscall(SYS_pivot_root, ".", ".") == 0) {
		if (umount2(".", MNT_DETACH) < 0)
			return fail(-errno, err, err_len, "detaching the old root");
	} else if (errno == EINVAL) {
		/*
		 * The host runs from its initramfs (rootfs), which pivot_root
		 * refuses: move the empty root over / and chroot into it, as
		 * runc does there. The old tree stays mounted below, out of
		 * reach: no fd to it is open and no capability (CAP_SYS_CHROOT
		 * included) survives step 4.
		 */
		if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
			return fail(-errno, err, err_len, "moving the empty root over / (rootfs host)");
		if (chroot(".") < 0)
			return fail(-errno, err, err_len, "chroot into the empty root (rootfs host)");
	} else {
		return fail(-errno, err, err_len, "pivot_root into the empty root");
	}
	if (chdir("/") < 0)
		return fail(-errno, err, err_len, "chdir /");
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return fail(-errno, err, err_len, "making the empty root read-only");
	return 0;
}

int jail_enter(const struct jail_config *j, char *err, size_t err_len)
{
	struct rlimit no_core = { 0, 0 };
	int pdeath = 0, r;

	/* The credential change of step 1 clears the parent-death signal: read it first, set it again last. */
	(void)prctl(PR_GET_PDEATHSIG, &pdeath);
	r = enter_identity_and_namespaces(j, err, err_len);

	if (r == 0 && !j->keep_root)
		r = enter_empty_root(err, err_len);
	if (r < 0)
		return r;
	(void)sethostname("squib", 5); /* its own UTS namespace: nothing of the host's name */
	/* Step 4: root inside the user namespace (which it is not) could never regain a capability. */
	if (prctl(PR_SET_SECUREBITS, SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED |
					     SECBIT_NOROOT | SECBIT_NOROOT_LOCKED,
		  0, 0, 0) < 0)
		return fail(-errno, err, err_len, "locking the securebits");
	r = drop_bounding_set();
	if (r == 0)
		r = drop_all_caps();
	if (r < 0)
		return fail(r, err, err_len, "dropping capabilities in the new user namespace");
	/* Step 5. */
	if (setrlimit(RLIMIT_CORE, &no_core) < 0)
		return fail(-errno, err, err_len, "RLIMIT_CORE 0");
	if (j->nofile) {
		struct rlimit nofile = { j->nofile, j->nofile };

		if (setrlimit(RLIMIT_NOFILE, &nofile) < 0)
			return fail(-errno, err, err_len, "RLIMIT_NOFILE %lu", j->nofile);
	}
	if (j->limit_fsize) {
		struct rlimit fsize = { j->fsize, j->fsize };

		if (setrlimit(RLIMIT_FSIZE, &fsize) < 0)
			return fail(-errno, err, err_len, "RLIMIT_FSIZE %llu", j->fsize);
	}
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return fail(-errno, err, err_len, "PR_SET_DUMPABLE 0");
	if (pdeath && prctl(PR_SET_PDEATHSIG, pdeath, 0, 0, 0) < 0)
		return fail(-errno, err, err_len, "PR_SET_PDEATHSIG %d", pdeath);
	return 0;
}

int jail_probe(const struct jail_config *j, char *err, size_t err_len)
{
	int pipefd[2], status = 0;
	pid_t pid;
	ssize_t n;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return fail(-errno, err, err_len, "pipe");
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		int r = -errno;

		close(pipefd[0]);
		close(pipefd[1]);
		return fail(r, err, err_len, "fork");
	}
	if (pid == 0) {
		char msg[256];
		int r = enter_identity_and_namespaces(j, msg, sizeof(msg));

		close(pipefd[0]);
		if (r < 0)
			(void)!write(pipefd[1], msg, strlen(msg));
		_exit(r < 0 ? 1 : 0);
	}
	close(pipefd[1]);
	n = read(pipefd[0], err, err_len - 1);
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	err[n > 0 ? n : 0] = '\0';
	if (n <= 0)
		snprintf(err, err_len, "the jail probe (pid %d) failed with wait status %#x", (int)pid, status);
	return -EPERM;
}
