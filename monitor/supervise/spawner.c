/* SPDX-License-Identifier: MIT */
/*
 * The device-worker spawner (spawner.h): the monitor's side of the socket,
 * and the spawner process's loop.
 */
#include "monitor/supervise/spawner.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "monitor/log.h"
#include "monitor/supervise/close_fds.h"
#include "sandbox/jail.h"
#include "monitor/supervise/device_workers.h"
#include "monitor/vm.h"

/* ---- the spawner process ------------------------------------------------ */

struct spawner {
	struct vm *vm;  /* the monitor's VM as it was at the fork: a copy, read-only here */
	int sock;
	pid_t pid[VCPU_MAX_DEVICES];   /* live worker of device d, or 0 */
	int pidfd[VCPU_MAX_DEVICES];   /* its pidfd, or -1 */
	uint32_t spawns[VCPU_MAX_DEVICES];
	int holder_pidfd;  /* the init of the device workers' pid namespace (start_pid_namespace) */
	int holder_pipe;   /* the write end of its pipe: closing it tells it to go */
	/*
	 * The device workers' stderr: a pipe whose lines the spawner copies to
	 * its own stderr (the monitor's), so no worker writes a file there.
	 */
	int log_read, log_write;
};

/* What the spawner keeps: stdin/stdout/stderr, the request socket and the devices' own fds. */
static int spawner_fds(const struct spawner *s, int *keep)
{
	int n = 0;

	keep[n++] = 0;
	keep[n++] = 1;
	keep[n++] = 2;
	keep[n++] = s->sock;
	for (unsigned d = 0; d < s->vm->ndevices; d++)
		n += device_worker_fds(s->vm, &s->vm->devices[d], keep + n, DEVICE_WORKER_MAX_FDS);
	return n;
}

static void send_event(struct spawner *s, const struct spawner_msg *m)
{
	if (send(s->sock, m, sizeof(*m), MSG_NOSIGNAL) != (ssize_t)sizeof(*m))
		mlog("cannot report to the monitor: %s", strerror(errno));
}

static void spawn(struct spawner *s, unsigned d)
{
	struct spawner_msg m = { .type = SPAWNER_SPAWN_FAILED, .device = d };
	pid_t pid;
	int pidfd;

	if (s->pid[d] > 0) {
		mlog("device %s: a worker (pid %d) is alive; spawn request ignored", s->vm->devices[d].spec->name,
		     (int)s->pid[d]);
		m.status = -EBUSY;
		send_event(s, &m);
		return;
	}
	pid = device_worker_exec(s->vm, &s->vm->devices[d], s->spawns[d], s->log_write);
	if (pid < 0) {
		m.status = (int32_t)pid;
		send_event(s, &m);
		return;
	}
	/* SAFETY: pidfd_open(2) (Linux 5.3) of our own unreaped child: the pid cannot have been reused. */
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		m.status = -errno;
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		send_event(s, &m);
		return;
	}
	s->pid[d] = pid;
	s->pidfd[d] = pidfd;
	m.type = SPAWNER_SPAWNED;
	m.pid = pid;
	m.restart = s->spawns[d]++;
	send_event(s, &m);
}

static void reap(struct spawner *s, unsigned d)
{
	struct spawner_msg m = { .type = SPAWNER_DIED, .device = d, .pid = s->pid[d] };
	siginfo_t info;

	memset(&info, 0, sizeof(info));
	while (waitid(P_PIDFD, (id_t)s->pidfd[d], &info, WEXITED) < 0) {
		if (errno != EINTR) {
			mlog("device %s: waitid: %s", s->vm->devices[d].spec->name, strerror(errno));
			break;
		}
	}
	close(s->pidfd[d]);
	s->pidfd[d] = -1;
	s->pid[d] = 0;
	m.code = info.si_code;
	m.status = info.si_status;
	send_event(s, &m);
}

/* Trust boundary: requests come from the monitor, whose memory vCPU workers share (spawner.h). */
static bool handle_request(struct spawner *s)
{
	struct spawner_msg m;
	ssize_t n = recv(s->sock, &m, sizeof(m), MSG_TRUNC);

	if (n == 0)
		return false; /* the monitor is done (or gone) */
	if (n < 0)
		return errno == EINTR || errno == EAGAIN;
	if (n != (ssize_t)sizeof(m) || m.device >= s->vm->ndevices ||
	    (m.type != SPAWNER_SPAWN && m.type != SPAWNER_KILL)) {
		mlog("malformed request (%zd bytes, type %u, device %u) ignored", n, n >= 8 ? m.type : 0,
		     n >= 8 ? m.device : 0);
		return true;
	}
	if (m.type == SPAWNER_SPAWN)
		spawn(s, m.device);
	else if (s->pidfd[m.device] >= 0 && syscall(SYS_pidfd_send_signal, s->pidfd[m.device], SIGKILL, NULL, 0) < 0)
		mlog("device %s: cannot kill its worker: %s", s->vm->devices[m.device].spec->name, strerror(errno));
	return true;
}

/*
 * The init of the device workers' pid namespace: jailed like them, it waits
 * for the spawner to go (its end of a pipe hangs up) and then exits, which
 * takes every process of the namespace with it. An init ignores every
 * signal it has no handler for that comes from inside its namespace,
 * SIGKILL included, so no device worker can kill it. (Its parent is outside
 * its namespace, so getppid() cannot tell it whether the spawner lives: the
 * pipe can.)
 */
static NORETURN void holder_main(const struct vm *vm, int spawner_gone)
{
	struct jail_config jail = { .uid = vm->identity.uid, .gid = vm->identity.gid, .nofile = 4 };
	char err[256] = "closing its fds";
	int keep[2] = { 2, spawner_gone };
	struct pollfd pfd = { .fd = spawner_gone, .events = POLLIN };

	(void)prctl(PR_SET_NAME, "squib-pidns-init");
	if (close_fds_except(keep, 2) < 0 || jail_enter(&jail, err, sizeof(err)) < 0) {
		mlog("the device workers' pid namespace init cannot jail itself: %s", err);
		_exit(1);
	}
	{
		struct sandbox_params params;

		memset(&params, 0, sizeof(params));
		params.log_fd = 2;
		params.log_who = "pidns-init";
		if (sandbox_enter(SANDBOX_ROLE_PIDNS_INIT, &params, NULL) < 0) {
			mlog("the device workers' pid namespace init cannot enter its filter");
			_exit(1);
		}
	}
	while (poll(&pfd, 1, -1) < 0 && errno == EINTR)
		;
	_exit(0);
}

/*
 * Device workers get a pid namespace of their own, shared by this VM's
 * devices: they see no process of the host, the monitor or another VM by
 * pid, so none can kill, trace or read one even past its filter. Its init
 * is a holder process, not a worker: a worker must be able to die by a
 * signal it sends itself (--fault kill, abort), which an init cannot.
 */
static int start_pid_namespace(struct spawner *s)
{
	int gone[2];
	pid_t pid;

	if (unshare(CLONE_NEWPID) < 0 || pipe2(gone, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		holder_main(s->vm, gone[0]);
	close(gone[0]);
	s->holder_pipe = gone[1];
	/* SAFETY: pidfd_open(2) (Linux 5.3) of our own unreaped child. */
	s->holder_pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	return s->holder_pidfd < 0 ? -errno : 0;
}

/*
 * Copies what the device workers wrote to their stderr to ours. Each of
 * their lines is one write of at most PIPE_BUF bytes, so it arrives whole
 * and is copied whole. Trust: the bytes are the workers' (maybe
 * compromised); they only ever reach a log, as they did before.
 */
static void forward_logs(struct spawner *s)
{
	char buf[16384];
	ssize_t n = read(s->log_read, buf, sizeof(buf));

	for (ssize_t off = 0, w; n > 0 && off < n; off += w) {
		w = write(2, buf + off, (size_t)(n - off));
		if (w <= 0)
			break;
	}
}

static NORETURN void spawner_main(struct vm *vm, int sock, pid_t monitor)
{
	static struct spawner s;
	struct pollfd pfd[3 + VCPU_MAX_DEVICES];
	unsigned map[3 + VCPU_MAX_DEVICES];
	int keep[4 + VCPU_MAX_DEVICES * DEVICE_WORKER_MAX_FDS];

	memset(&s, 0, sizeof(s));
	s.vm = vm;
	s.sock = sock;
	for (unsigned d = 0; d < VCPU_MAX_DEVICES; d++)
		s.pidfd[d] = -1;
	forked_helper_start("spawner", "squib-spawner", monitor, keep, spawner_fds(&s, keep), 1);
	/* Guest RAM stays reachable through its memfd (which workers map); the spawner never touches it. */
	if (vm->ram.mem.host_base)
		(void)munmap(vm->ram.mem.host_base, vm->ram.mem.size);
	if (start_pid_namespace(&s) < 0) {
		mlog("cannot give the device workers a pid namespace: %s", strerror(errno));
		_exit(1);
	}
	{
		int lp[2];

		/* The read end non-blocking (the spawner never waits on it); the workers' end blocks as stderr would. */
		if (pipe2(lp, O_CLOEXEC) < 0 || fcntl(lp[0], F_SETFL, O_NONBLOCK) < 0) {
			mlog("cannot make the device workers' log pipe: %s", strerror(errno));
			_exit(1);
		}
		s.log_read = lp[0];
		s.log_write = lp[1];
	}
	for (;;) {
		nfds_t n = 0;
		int r;

		pfd[n] = (struct pollfd){ .fd = sock, .events = POLLIN };
		map[n++] = ~0u;
		pfd[n] = (struct pollfd){ .fd = s.holder_pidfd, .events = POLLIN };
		map[n++] = ~0u;
		pfd[n] = (struct pollfd){ .fd = s.log_read, .events = POLLIN };
		map[n++] = ~0u;
		for (unsigned d = 0; d < vm->ndevices; d++) {
			if (s.pidfd[d] < 0)
				continue;
			pfd[n] = (struct pollfd){ .fd = s.pidfd[d], .events = POLLIN };
			map[n++] = d;
		}
		r = poll(pfd, n, -1);
		if (r < 0 && errno != EINTR) {
			mlog("poll: %s", strerror(errno));
			break;
		}
		if (r > 0 && pfd[1].revents) {
			/* Its namespace is gone, and every worker with it: nothing can be started again. */
			mlog("the device workers' pid namespace init died; stopping");
			break;
		}
		if (r > 0 && pfd[2].revents)
			forward_logs(&s);
		for (nfds_t i = 3; r > 0 && i < n; i++)
			if (pfd[i].revents)
				reap(&s, map[i]);
		if (r > 0 && pfd[0].revents && !handle_request(&s))
			break;
	}
	/* The monitor is done: no worker outlives it. */
	for (unsigned d = 0; d < vm->ndevices; d++) {
		if (s.pidfd[d] < 0)
			continue;
		(void)syscall(SYS_pidfd_send_signal, s.pidfd[d], SIGKILL, NULL, 0);
		while (waitid(P_PIDFD, (id_t)s.pidfd[d], &(siginfo_t){ 0 }, WEXITED) < 0 && errno == EINTR)
			;
	}
	forward_logs(&s); /* what the last workers said */
	/* Then the namespace's init, reaped so nothing is left, not even a zombie. */
	close(s.holder_pipe);
	while (waitid(P_PIDFD, (id_t)s.holder_pidfd, &(siginfo_t){ 0 }, WEXITED) < 0 && errno == EINTR)
		;
	_exit(0);
}

/* ---- the monitor's side -------------------------------------------------- */

int spawner_start(struct vm *vm)
{
	int sv[2];
	pid_t pid, self = getpid();

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		mlog("cannot start the device spawner: socketpair: %s", strerror(errno));
		return -errno;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		int r = -errno;

		mlog("cannot start the device spawner: fork: %s", strerror(-r));
		close(sv[0]);
		close(sv[1]);
		return r;
	}
	if (pid == 0) {
		close(sv[0]);
		spawner_main(vm, sv[1], self);
	}
	close(sv[1]);
	vm->spawner_fd = sv[0];
	vm->spawner_pid = pid;
	/* SAFETY: pidfd_open(2) of our own unreaped child. */
	vm->spawner_pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (vm->spawner_pidfd < 0) {
		int r = -errno;

		mlog("cannot watch the device spawner: pidfd_open: %s", strerror(-r));
		spawner_stop(vm);
		return r;
	}
	return 0;
}

int spawner_request(struct vm *vm, enum spawner_msg_type type, unsigned device)
{
	struct spawner_msg m = { .type = type, .device = device };

	if (vm->spawner_fd < 0)
		return -EPIPE;
	if (send(vm->spawner_fd, &m, sizeof(m), MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)sizeof(m))
		return errno ? -errno : -EIO;
	return 0;
}

int spawner_receive(struct vm *vm, struct spawner_msg *msg, int wait_ms)
{
	ssize_t n;

	if (vm->spawner_fd < 0)
		return -EPIPE;
	if (wait_ms >= 0) {
		struct pollfd pfd = { .fd = vm->spawner_fd, .events = POLLIN };
		int r;

		do {
			r = poll(&pfd, 1, wait_ms);
		} while (r < 0 && errno == EINTR);
		if (r == 0)
			return -ETIMEDOUT;
		if (r < 0)
			return -errno;
	}
	n = recv(vm->spawner_fd, msg, sizeof(*msg), MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if (n == 0)
		return -EPIPE;
	/* Trust: the spawner has its own address space and reads no guest data; checked all the same. */
	if (n != (ssize_t)sizeof(*msg) || msg->device >= vm->ndevices ||
	    (msg->type != SPAWNER_SPAWNED && msg->type != SPAWNER_SPAWN_FAILED && msg->type != SPAWNER_DIED))
		return -EPROTO;
	return 0;
}

void spawner_stop(struct vm *vm)
{
	if (vm->spawner_fd >= 0) {
		close(vm->spawner_fd);
		vm->spawner_fd = -1;
	}
	if (vm->spawner_pid > 0) {
		siginfo_t info;

		/* waitid, not waitpid: the monitor's filter admits waitid only. */
		while (waitid(P_PID, (id_t)vm->spawner_pid, &info, WEXITED) < 0 && errno == EINTR)
			;
		vm->spawner_pid = 0;
	}
	if (vm->spawner_pidfd >= 0) {
		close(vm->spawner_pidfd);
		vm->spawner_pidfd = -1;
	}
}
