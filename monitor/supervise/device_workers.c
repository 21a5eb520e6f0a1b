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

/* How long a new worker may take to exec, map and enter its sandbox. */
#define DEVICE_READY_TIMEOUT_MS 30000

static int add_arg(char **argv, int *argc, int max, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int add_arg(char **argv, int *argc, int max, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	if (*argc >= max - 1)
		return -E2BIG;
	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	argv[(*argc)++] = s;
	argv[*argc] = NULL;
	return 0;
}

static void free_args(char **argv)
{
	for (int i = 0; argv[i]; i++)
		free(argv[i]);
}

static int build_argv(struct vm *vm, struct device_instance *dev, int control_child, char **argv, int max)
{
	int argc = 0, r = 0;

	argv[0] = NULL;
	r |= add_arg(argv, &argc, max, "%s", vm->device_binary);
	r |= add_arg(argv, &argc, max, "--device");
	r |= add_arg(argv, &argc, max, "%s", dev->spec->model);
	r |= add_arg(argv, &argc, max, "--name");
	r |= add_arg(argv, &argc, max, "%s", dev->spec->name);
	r |= add_arg(argv, &argc, max, "--ram-fd");
	r |= add_arg(argv, &argc, max, "%d", vm->ram.fd);
	r |= add_arg(argv, &argc, max, "--ram-size");
	r |= add_arg(argv, &argc, max, "%llu", (unsigned long long)vm->ram.mem.size);
	r |= add_arg(argv, &argc, max, "--control-fd");
	r |= add_arg(argv, &argc, max, "%d", control_child);
	r |= add_arg(argv, &argc, max, "--status-fd");
	r |= add_arg(argv, &argc, max, "%d", dev->status_fd);
	r |= add_arg(argv, &argc, max, "--doorbell-fd");
	r |= add_arg(argv, &argc, max, "%d", dev->doorbell_fd);
	for (unsigned i = 0; i < vm->ncpus; i++) {
		r |= add_arg(argv, &argc, max, "--ring-fd");
		r |= add_arg(argv, &argc, max, "%d", dev->ring_fds[i]);
	}
	r |= add_arg(argv, &argc, max, "--poll-us");
	r |= add_arg(argv, &argc, max, "%u", vm->cfg.poll_us);
	r |= add_arg(argv, &argc, max, "--ring-size");
	r |= add_arg(argv, &argc, max, "%zu", dev->ring_size);
	if (!strcmp(dev->spec->model, "uart")) {
		r |= add_arg(argv, &argc, max, "--output-fd");
		r |= add_arg(argv, &argc, max, "%d", vm->console_fd);
		if (vm->console.input_r >= 0) {
			r |= add_arg(argv, &argc, max, "--input-fd");
			r |= add_arg(argv, &argc, max, "%d", vm->console.input_r);
		}
		if (vm->console.irq_fd >= 0) {
			r |= add_arg(argv, &argc, max, "--irq-fd");
			r |= add_arg(argv, &argc, max, "%d", vm->console.irq_fd);
		}
	}
	if (dev->is_virtio) {
		const struct virtio_instance *v = &dev->virtio;

		r |= add_arg(argv, &argc, max, "--state-fd");
		r |= add_arg(argv, &argc, max, "%d", v->state_fd);
		r |= add_arg(argv, &argc, max, "--mmio-base");
		r |= add_arg(argv, &argc, max, "%llu", (unsigned long long)dev->spec->routes[0].base);
		for (unsigned q = 0; q < v->nqueues; q++) {
			r |= add_arg(argv, &argc, max, "--notify-fd");
			r |= add_arg(argv, &argc, max, "%d", v->notify_fds[q]);
		}
		r |= add_arg(argv, &argc, max, "--irq-fd");
		r |= add_arg(argv, &argc, max, "%d", v->irq_fd);
		r |= add_arg(argv, &argc, max, "--resample-fd");
		r |= add_arg(argv, &argc, max, "%d", v->resample_fd);
		if (v->backend_fd >= 0) {
			r |= add_arg(argv, &argc, max, "--backend-fd");
			r |= add_arg(argv, &argc, max, "%d", v->backend_fd);
		}
		for (unsigned i = 0; i < v->nparams; i++) {
			r |= add_arg(argv, &argc, max, "--param");
			r |= add_arg(argv, &argc, max, "%s", v->params[i]);
		}
	}
	return r ? -ENOMEM : 0;
}

/* In the child, between fork and exec: only async-signal-safe calls. */
static void NORETURN exec_child(char **argv, const int *pass, int npass, pid_t monitor_pid)
{
	sigset_t none;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != monitor_pid)
		_exit(127);
	for (int i = 0; i < npass; i++)
		if (pass[i] >= 0)
			fcntl(pass[i], F_SETFD, 0);
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

static int spawn_one(struct vm *vm, struct device_instance *dev)
{
	int sv[2], pass[4 + CLI_MAX_CPUS + 16], npass = 0, r;
	char *argv[256];
	void *status_map = NULL;
	pid_t pid, self = getpid();

	dev->doorbell_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (dev->doorbell_fd < 0)
		return -errno;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	dev->control_fd = sv[0];
	r = shared_memfd_create("squib-worker-status", 4096, &dev->status_fd, &status_map);
	if (r < 0) {
		close(sv[1]);
		return r;
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
			return r;
		}
	}
	r = build_argv(vm, dev, sv[1], argv, (int)(sizeof(argv) / sizeof(argv[0])));
	if (r < 0) {
		free_args(argv);
		close(sv[1]);
		return r;
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
		return r;
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
	dev->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (dev->pidfd < 0) {
		r = -errno;
		device_worker_kill(dev);
		return r;
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
		int r = spawn_one(vm, &vm->devices[d]);

		if (r < 0) {
			mlog("cannot start device worker %s: %s", vm->devices[d].spec->name, strerror(-r));
			return r;
		}
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

	if (!dev->alive)
		return;
	if (dev->pidfd >= 0)
		syscall(SYS_pidfd_send_signal, dev->pidfd, SIGKILL, NULL, 0);
	else
		kill(dev->pid, SIGKILL);
	while (waitid(P_PID, (id_t)dev->pid, &info, WEXITED) < 0 && errno == EINTR)
		;
	dev->alive = false;
}
