/* SPDX-License-Identifier: MIT */
/* The escape probe (escape_probe.h). */
#include "tests/fake-device/escape_probe.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

struct probe_ctx {
	pid_t monitor, other;
};

/* Each probe: 0 when it got through, else the errno that stopped it. */
typedef int (*probe_fn)(const struct probe_ctx *c);

static int errno_or_ok(long r)
{
	return r < 0 ? errno : 0;
}

static int try_open(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static int probe_passwd(const struct probe_ctx *c)
{
	(void)c;
	return try_open("/etc/passwd", O_RDONLY);
}

static int probe_kvm(const struct probe_ctx *c)
{
	(void)c;
	return try_open("/dev/kvm", O_RDWR);
}

static int probe_proc_mem(const struct probe_ctx *c)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/mem", (int)(c->monitor ? c->monitor : 1));
	return try_open(path, O_RDONLY);
}

static int probe_connect(const struct probe_ctx *c)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(22), .sin_addr = { htonl(0x7f000001) } };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), r;

	(void)c;
	if (fd < 0)
		return errno;
	r = errno_or_ok(connect(fd, (struct sockaddr *)&sin, sizeof(sin)));
	close(fd);
	return r;
}

static int probe_kill_monitor(const struct probe_ctx *c)
{
	return c->monitor ? errno_or_ok(kill(c->monitor, 0)) : ESRCH; /* signal 0: a check, no harm */
}

static int probe_kill_other(const struct probe_ctx *c)
{
	return c->other ? errno_or_ok(kill(c->other, 0)) : ESRCH;
}

static int probe_ptrace(const struct probe_ctx *c)
{
	if (!c->monitor)
		return ESRCH;
	if (ptrace(PTRACE_ATTACH, c->monitor, NULL, NULL) < 0)
		return errno;
	(void)ptrace(PTRACE_DETACH, c->monitor, NULL, NULL);
	return 0;
}

static int probe_vm_readv(const struct probe_ctx *c)
{
	char buf[8];
	struct iovec local = { buf, sizeof(buf) }, remote = { (void *)0x400000, sizeof(buf) };

	if (!c->other)
		return ESRCH;
	return errno_or_ok(process_vm_readv(c->other, &local, 1, &remote, 1, 0));
}

static int probe_mount(const struct probe_ctx *c)
{
	(void)c;
	return errno_or_ok(mount("none", "/", "tmpfs", 0, NULL));
}

static int probe_setuid(const struct probe_ctx *c)
{
	(void)c;
	return errno_or_ok(setuid(0));
}

static int probe_rlimit(const struct probe_ctx *c)
{
	struct rlimit rl;

	(void)c;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return errno;
	rl.rlim_max += 1;
	rl.rlim_cur = rl.rlim_max;
	return errno_or_ok(setrlimit(RLIMIT_NOFILE, &rl));
}

static int probe_tun(const struct probe_ctx *c)
{
	(void)c;
	return try_open("/dev/net/tun", O_RDWR); /* TUNSETIFF needs this node first */
}

static int probe_mknod(const struct probe_ctx *c)
{
	(void)c;
	return errno_or_ok(mknod("/probe-null", S_IFCHR | 0600, makedev(1, 3)));
}

static int probe_mmap_exec(const struct probe_ctx *c)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	(void)c;
	if (p == MAP_FAILED)
		return errno;
	munmap(p, 4096);
	return 0;
}

static const struct {
	const char *name;
	probe_fn fn;
} probes[] = {
	{ "open /etc/passwd", probe_passwd },
	{ "open /dev/kvm", probe_kvm },
	{ "open /proc/PID/mem of another VM's monitor", probe_proc_mem },
	{ "socket and connect 127.0.0.1:22", probe_connect },
	{ "kill another VM's monitor", probe_kill_monitor },
	{ "kill another VM's worker", probe_kill_other },
	{ "ptrace another VM's monitor", probe_ptrace },
	{ "process_vm_readv another VM's worker", probe_vm_readv },
	{ "mount", probe_mount },
	{ "setuid 0", probe_setuid },
	{ "raise RLIMIT_NOFILE", probe_rlimit },
	{ "TUNSETIFF (open /dev/net/tun)", probe_tun },
	{ "mknod", probe_mknod },
	{ "mmap PROT_EXEC", probe_mmap_exec },
};

/* Under the filter: each probe in a child of its own, which the first denied syscall kills. */
static void run_filtered(const struct sandbox_params *p, const struct probe_ctx *c, size_t i)
{
	int status = 0;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		struct sandbox_params params = *p;

		if (sandbox_enter(SANDBOX_ROLE_DEVICE, &params, NULL) < 0)
			_exit(125);
		_exit(probes[i].fn(c) == 0 ? 0 : 1);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0) {
		fprintf(stderr, "escape-probe: filter: %s: cannot run (%s)\n", probes[i].name, strerror(errno));
		return;
	}
	if (WIFSIGNALED(status))
		fprintf(stderr, "escape-probe: filter: %s: blocked (killed by signal %d)\n", probes[i].name,
			WTERMSIG(status));
	else if (WEXITSTATUS(status) == 1)
		fprintf(stderr, "escape-probe: filter: %s: blocked (refused)\n", probes[i].name);
	else if (WEXITSTATUS(status) == 0)
		fprintf(stderr, "escape-probe: filter: %s: ESCAPED\n", probes[i].name);
	else
		fprintf(stderr, "escape-probe: filter: %s: cannot run (status %d)\n", probes[i].name,
			WEXITSTATUS(status));
}

static void report_identity(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2];
	unsigned long long eff = ~0ull, prm = ~0ull, bnd = 0;

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data) == 0) {
		eff = data[0].effective | (unsigned long long)data[1].effective << 32;
		prm = data[0].permitted | (unsigned long long)data[1].permitted << 32;
	}
	for (int cap = 0; cap < 64; cap++) {
		int r = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);

		if (r < 0)
			break;
		if (r > 0)
			bnd |= 1ull << cap;
	}
	fprintf(stderr, "escape-probe: identity: uid %u gid %u groups %d CapEff %llx CapPrm %llx CapBnd %llx env %s dumpable %d\n",
		(unsigned)getuid(), (unsigned)getgid(), getgroups(0, NULL), eff, prm, bnd,
		environ && environ[0] ? "non-empty" : "empty", prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
}

void escape_probe_run(const struct sandbox_params *device_filter, pid_t monitor, pid_t other)
{
	const struct probe_ctx c = { .monitor = monitor, .other = other };

	report_identity();
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		int r = probes[i].fn(&c);

		if (r == 0)
			fprintf(stderr, "escape-probe: jail: %s: ESCAPED\n", probes[i].name);
		else
			fprintf(stderr, "escape-probe: jail: %s: blocked (%s)\n", probes[i].name, strerrorname_np(r));
	}
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
		run_filtered(device_filter, &c, i);
	fprintf(stderr, "escape-probe: done\n");
}
