/* SPDX-License-Identifier: MIT */
/*
 * Spawning device workers: one fork+exec'd squib-device per device, so each
 * gets a fresh address space with its own ASLR layout. The monitor opens
 * every resource and passes fds, never paths (vmd's config.c habit).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "monitor/vm.h"
#include "monitor/log.h"
#include "monitor/supervise/device_workers.h"
#include "monitor/supervise/worker_signal.h"

/* How long a new worker may take to exec, map and enter its sandbox. */
#define DEVICE_READY_TIMEOUT_MS 30000

/* An argv being built: the first error sticks, and later add_arg calls do nothing. */
struct argv_builder {
	char **argv;
	int argc;
	int max;
	int err; /* 0, or the first -errno */
};

static void add_arg(struct argv_builder *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_arg(struct argv_builder *b, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	if (b->err)
		return;
	if (b->argc >= b->max - 1) {
		b->err = -E2BIG;
		return;
	}
	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->err = -ENOMEM;
		return;
	}
	b->argv[b->argc++] = s;
	b->argv[b->argc] = NULL;
}

static void free_args(char **argv)
{
	for (int i = 0; argv[i]; i++)
		free(argv[i]);
}

/* 0, -E2BIG (more than max - 1 arguments) or -ENOMEM; argv is NULL-terminated either way. */
static int build_argv(struct vm *vm, struct device_instance *dev, int control_child, char **argv, int max)
{
	struct argv_builder ab = { .argv = argv, .max = max };
	struct argv_builder *b = &ab;

	argv[0] = NULL;
	add_arg(b, "%s", vm->device_binary);
	add_arg(b, "--device");
	add_arg(b, "%s", dev->spec->model);
	add_arg(b, "--name");
	add_arg(b, "%s", dev->spec->name);
	add_arg(b, "--ram-fd");
	add_arg(b, "%d", vm->ram.fd);
	add_arg(b, "--ram-size");
	add_arg(b, "%llu", (unsigned long long)vm->ram.mem.size);
	add_arg(b, "--control-fd");
	add_arg(b, "%d", control_child);
	add_arg(b, "--status-fd");
	add_arg(b, "%d", dev->status_fd);
	add_arg(b, "--doorbell-fd");
	add_arg(b, "%d", dev->doorbell_fd);
	for (unsigned i = 0; i < vm->ncpus; i++) {
		add_arg(b, "--ring-fd");
		add_arg(b, "%d", dev->ring_fds[i]);
	}
	add_arg(b, "--poll-us");
	add_arg(b, "%u", vm->cfg.poll_us);
	add_arg(b, "--ring-size");
	add_arg(b, "%zu", dev->ring_size);
	if (!strcmp(dev->spec->model, "uart")) {
		add_arg(b, "--output-fd");
		add_arg(b, "%d", vm->console_fd);
		if (vm->console.input_r >= 0) {
			add_arg(b, "--input-fd");
			add_arg(b, "%d", vm->console.input_r);
		}
		if (vm->console.irq_fd >= 0) {
			add_arg(b, "--irq-fd");
			add_arg(b, "%d", vm->console.irq_fd);
		}
	}
	if (dev->is_virtio) {
		const struct virtio_instance *v = &dev->virtio;

		add_arg(b, "--state-fd");
		add_arg(b, "%d", v->state_fd);
		add_arg(b, "--mmio-base");
		add_arg(b, "%llu", (unsigned long long)dev->spec->routes[0].base);
		for (unsigned q = 0; q < v->nqueues; q++) {
			add_arg(b, "--notify-fd");
			add_arg(b, "%d", v->notify_fds[q]);
		}
		add_arg(b, "--irq-fd");
		add_arg(b, "%d", v->irq_fd);
		add_arg(b, "--resample-fd");
		add_arg(b, "%d", v->resample_fd);
		if (v->backend_fd >= 0) {
			add_arg(b, "--backend-fd");
			add_arg(b, "%d", v->backend_fd);
		}
		for (unsigned i = 0; i < v->nparams; i++) {
			add_arg(b, "--param");
			add_arg(b, "%s", v->params[i]);
		}
	}
	return ab.err;
}

/* In the child, between fork and exec: only async-signal-safe calls. */
static void NORETURN exec_child(char **argv, const int *pass, int npass, pid_t monitor_pid)
{
	sigset_t none;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) {
		dprintf(2, "squib: cannot tie device worker %s to the monitor (PR_SET_PDEATHSIG): %s\n", argv[0],
			strerror(errno));
		_exit(127);
	}
	if (getppid() != monitor_pid)
		_exit(127);
	for (int i = 0; i < npass; i++) {
		if (pass[i] >= 0 && fcntl(pass[i], F_SETFD, 0) < 0) {
			dprintf(2, "squib: cannot pass fd %d to %s: %s\n", pass[i], argv[0], strerror(errno));
			_exit(127);
		}
	}
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execv(argv[0], argv);
	dprintf(2, "squib: cannot exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

static int wait_ready(struct device_instance *dev)
{
	struct pollfd pfd = { .fd = dev->control_fd, .events = POLLIN };
	struct control_msg msg;
	ssize_t n;
	int r;

	do {
		r = poll(&pfd, 1, DEVICE_READY_TIMEOUT_MS);
	} while (r < 0 && errno == EINTR);
	if (r == 0)
		return -ETIMEDOUT;
	if (r < 0)
		return -errno;
	n = recv(dev->control_fd, &msg, sizeof(msg), 0);
	if (n == 0)
		return -ECONNRESET; /* it died before getting ready */
	if (n != (ssize_t)sizeof(msg) || msg.type != CONTROL_READY)
		return -EPROTO;
	return 0;
}

/* One line naming the device and the step that failed; returns r. */
static int spawn_failed(const struct device_instance *dev, int r, const char *what)
{
	mlog("cannot start device worker %s: %s: %s", dev->spec->name, what, strerror(-r));
	return r;
}

static int spawn_one(struct vm *vm, struct device_instance *dev)
{
	int sv[2], pass[4 + CLI_MAX_CPUS + 16], npass = 0, r;
	char *argv[256];
	void *status_map = NULL;
	pid_t pid, self = getpid();

	dev->doorbell_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (dev->doorbell_fd < 0)
		return spawn_failed(dev, -errno, "its doorbell eventfd");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return spawn_failed(dev, -errno, "its control socket");
	dev->control_fd = sv[0];
	r = shared_memfd_create("squib-worker-status", 4096, &dev->status_fd, &status_map);
	if (r < 0) {
		close(sv[1]);
		return spawn_failed(dev, r, "its status page");
	}
	dev->status = status_map;
	dev->status->magic = WORKER_STATUS_MAGIC;
	atomic_store(&dev->status->denied_syscall, -1);
	dev->ring_size = ring_region_size(RING_DEFAULT_SLOTS);
	for (unsigned i = 0; i < vm->ncpus; i++) {
		dev->ring_fds[i] = -1;
		r = shared_memfd_create("squib-ring", dev->ring_size, &dev->ring_fds[i], &dev->ring_maps[i]);
		if (r == 0)
			r = ring_region_init(dev->ring_maps[i], dev->ring_size, RING_DEFAULT_SLOTS);
		if (r < 0) {
			close(sv[1]);
			return spawn_failed(dev, r, "its rings");
		}
	}
	r = build_argv(vm, dev, sv[1], argv, (int)(sizeof(argv) / sizeof(argv[0])));
	if (r < 0) {
		free_args(argv);
		close(sv[1]);
		return spawn_failed(dev, r, "its command line");
	}
	pass[npass++] = vm->ram.fd;
	pass[npass++] = sv[1];
	pass[npass++] = dev->status_fd;
	pass[npass++] = dev->doorbell_fd;
	for (unsigned i = 0; i < vm->ncpus; i++)
		pass[npass++] = dev->ring_fds[i];
	if (dev->is_virtio) {
		pass[npass++] = dev->virtio.state_fd;
		pass[npass++] = dev->virtio.irq_fd;
		pass[npass++] = dev->virtio.resample_fd;
		pass[npass++] = dev->virtio.backend_fd;
		for (unsigned q = 0; q < dev->virtio.nqueues; q++)
			pass[npass++] = dev->virtio.notify_fds[q];
	}

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		r = -errno;
		free_args(argv);
		close(sv[1]);
		return spawn_failed(dev, r, "fork");
	}
	if (pid == 0) {
		if (!strcmp(dev->spec->model, "uart")) {
			pass[npass++] = vm->console_fd;
			pass[npass++] = vm->console.input_r;
			pass[npass++] = vm->console.irq_fd;
		}
		exec_child(argv, pass, npass, self);
	}
	free_args(argv);
	close(sv[1]);
	dev->pid = pid;
	dev->alive = true;
	/*
	 * SAFETY: pidfd_open(2) (Linux 5.3): pid is our own child, not yet
	 * reaped (only device_worker_kill and the supervisor reap it), so the
	 * number cannot have been reused. Flags 0: a blocking pidfd, which
	 * libevent polls for readability (the child's exit).
	 */
	dev->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (dev->pidfd < 0) {
		r = -errno;
		device_worker_kill(dev);
		return spawn_failed(dev, r, "pidfd_open");
	}
	r = wait_ready(dev);
	if (r < 0) {
		mlog("device worker %s (pid %d) did not get ready: %s", dev->spec->name, (int)pid,
		     r == -ECONNRESET ? "it exited" : strerror(-r));
		device_worker_kill(dev);
		return r;
	}
	return 0;
}

int device_workers_spawn(struct vm *vm)
{
	for (unsigned d = 0; d < vm->ndevices; d++) {
		int r = spawn_one(vm, &vm->devices[d]); /* it says what failed */

		if (r < 0)
			return r;
	}
	return 0;
}

void device_worker_stop(struct device_instance *dev)
{
	struct control_msg msg = { .type = CONTROL_STOP };

	if (!dev->alive)
		return;
	if (send(dev->control_fd, &msg, sizeof(msg), MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)sizeof(msg))
		device_worker_kill(dev);
}

void device_worker_request_dump(struct device_instance *dev)
{
	struct control_msg msg = { .type = CONTROL_DUMP };

	if (!dev->alive)
		return;
	if (send(dev->control_fd, &msg, sizeof(msg), MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)sizeof(msg))
		mlog("device worker %s: cannot ask it for a state dump: %s", dev->spec->name, strerror(errno));
}

/* SIGKILL and reap synchronously (used on set-up failure and stop time-outs). */
void device_worker_kill(struct device_instance *dev)
{
	siginfo_t info;
	char who[64];

	if (!dev->alive)
		return;
	snprintf(who, sizeof(who), "device worker %s", dev->spec->name);
	worker_sigkill(dev->pidfd, dev->pid, who);
	while (waitid(P_PID, (id_t)dev->pid, &info, WEXITED) < 0 && errno == EINTR)
		;
	dev->alive = false;
}
