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
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/log_prefix.h"
#include "monitor/log.h"
#include "monitor/supervise/device_workers.h"
#include "monitor/supervise/spawner.h"
#include "monitor/supervise/worker_signal.h"
#include "monitor/vm.h"
#include "proto/device_config.h"
#include "proto/device_state.h"
#include "sandbox/jail.h"

/* File descriptors a device worker may open beyond those it inherits (its io_uring, its SIGSYS report). */
#define DEVICE_WORKER_SPARE_FDS 8

/*
 * ASan cannot link statically, so a sanitized squib-device needs the host's
 * dynamic loader and libraries: its jail keeps the host's root (read-only
 * is not enforced either). Release builds link squib-device statically and
 * exec it into an empty root.
 */
#ifdef SQUIB_SANITIZED
#define SQUIB_JAIL_KEEP_ROOT true
#else
#define SQUIB_JAIL_KEEP_ROOT false
#endif

/* How long a new worker may take to exec, map and enter its sandbox. */
#define DEVICE_READY_TIMEOUT_MS 30000

/* The worker's configuration record (proto/device_config.h): everything it is given. */
static int fill_config(const struct vm *vm, const struct device_instance *dev, uint32_t restart,
		       struct device_config *c)
{
	device_config_init(c);
	if (snprintf(c->model, sizeof(c->model), "%s", dev->spec->model) >= (int)sizeof(c->model) ||
	    snprintf(c->name, sizeof(c->name), "%s", dev->spec->name) >= (int)sizeof(c->name))
		return -ENAMETOOLONG;
	/* Guest RAM for virtio devices only: the uart and testdev never touch it, so never map it. */
	c->ram_fd = dev->is_virtio ? vm->ram.fd : -1;
	c->ram_size = dev->is_virtio ? vm->ram.mem.size : 0;
	c->control_fd = dev->control_child;
	c->restart = restart;
	if (dev->fault) {
		c->fault_how = dev->fault->how;
		c->fault_after = dev->fault->after;
		c->fault_every = dev->fault->every;
		c->fault_repeat = dev->fault->repeat;
	}
	c->status_fd = dev->status_fd;
	c->doorbell_fd = dev->doorbell_fd;
	if (vm->ncpus > DEVICE_CONFIG_MAX_RINGS)
		return -E2BIG;
	for (unsigned i = 0; i < vm->ncpus; i++)
		c->ring_fds[i] = dev->ring_fds[i];
	c->nrings = vm->ncpus;
	c->ring_size = dev->ring_size;
	c->poll_us = vm->cfg.poll_us;
	if (dev->spec->console) {
		c->console_fd = vm->console.ring_fd;
		c->console_kick_fd = vm->console.kick_fd;
		c->irq_fd = vm->console.irq_fd;
	}
	c->state_fd = dev->persist_fd; /* -1 unless resumable and not virtio */
	if (dev->is_virtio) {
		const struct virtio_instance *v = &dev->virtio;

		if (v->nqueues > DEVICE_CONFIG_MAX_NOTIFY || v->nparams > DEVICE_CONFIG_MAX_PARAMS)
			return -E2BIG;
		c->state_fd = v->state_fd;
		c->has_mmio_base = true;
		c->mmio_base = dev->spec->routes[0].base;
		for (unsigned q = 0; q < v->nqueues; q++)
			c->notify_fds[q] = v->notify_fds[q];
		c->nnotify = v->nqueues;
		c->irq_fd = v->irq_fd;
		c->resample_fd = v->resample_fd;
		c->backend_fd = v->backend_fd;
		for (unsigned i = 0; i < v->nparams; i++)
			if (snprintf(c->params[i], sizeof(c->params[i]), "%s", v->params[i]) >= (int)sizeof(c->params[i]))
				return -ENAMETOOLONG;
		c->nparams = v->nparams;
	}
	return 0;
}

/*
 * Encodes c into a sealed memfd (*fd): the worker reads it once, and no one
 * can change it afterwards. 0 or -errno with err filled.
 */
static int config_memfd(const struct device_config *c, int *fd, char *err, size_t err_len)
{
	uint8_t buf[DEVICE_CONFIG_MAX_BYTES];
	size_t len = 0;
	int r = device_config_encode(c, buf, sizeof(buf), &len, err, err_len);

	if (r < 0)
		return r;
	*fd = memfd_create("squib-device-config", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (*fd < 0) {
		r = -errno;
		snprintf(err, err_len, "memfd_create: %s", strerror(-r));
		return r;
	}
	errno = 0; /* a short write sets none */
	if (write(*fd, buf, len) != (ssize_t)len ||
	    fcntl(*fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) {
		r = errno ? -errno : -EIO;
		snprintf(err, err_len, "writing and sealing its configuration: %s", strerror(-r));
		close(*fd);
		*fd = -1;
		return r;
	}
	return 0;
}

/*
 * In the child, between fork and exec (the spawner is single-threaded, so
 * the libc calls of jail_enter are safe here): jail, tie to the spawner,
 * unblock signals, exec the binary through its fd (the jail's root is
 * empty) with an empty environment.
 */
static void NORETURN exec_child(const struct vm *vm, unsigned device, char *const *argv, int binary_fd, int log_fd,
				const int *pass, int npass, const char *name)
{
	static char *const no_env[] = { NULL };
	struct jail_config jail = {
		.uid = vm->identity.uid,
		.gid = vm->identity.gid,
		.keep_root = SQUIB_JAIL_KEEP_ROOT,
	};
	char err[256];
	sigset_t none;
	int top = binary_fd;

	/*
	 * Its stderr is the spawner's log pipe, not the monitor's stderr: that
	 * may be a file, which RLIMIT_FSIZE (below) would stop it writing.
	 */
	if (log_fd >= 0 && dup2(log_fd, 2) < 0)
		_exit(127);

	for (int i = 0; i < npass; i++) {
		if (pass[i] > top)
			top = pass[i];
		if (pass[i] >= 0 && fcntl(pass[i], F_SETFD, 0) < 0) {
			dprintf(2, LOG_PREFIX_DEVICE_FMT "cannot inherit fd %d: %s\n", name, (int)getpid(), pass[i],
				strerror(errno));
			_exit(127);
		}
	}
	/* What it inherits, and a few for io_uring and the like: it opens nothing by path. */
	jail.nofile = (unsigned long)top + 1 + DEVICE_WORKER_SPARE_FDS;
	/*
	 * No file it writes may grow: a disk image stops at its size, whatever
	 * its worker (compromised or not) asks of io_uring or pwritev; every
	 * other device writes no file at all. A block device cannot grow anyway.
	 * SIGXFSZ ignored: a write past the limit fails with EFBIG instead.
	 */
	{
		const struct device_instance *dev = &vm->devices[device];
		struct stat st;

		jail.limit_fsize = true;
		jail.fsize = 0;
		if (dev->is_virtio && dev->virtio.backend_fd >= 0 && fstat(dev->virtio.backend_fd, &st) == 0) {
			if (S_ISREG(st.st_mode))
				jail.fsize = (unsigned long long)st.st_size;
			else
				jail.limit_fsize = false;
		}
		signal(SIGXFSZ, SIG_IGN);
	}
	if (jail_enter(&jail, err, sizeof(err)) < 0) {
		dprintf(2, LOG_PREFIX_DEVICE_FMT "cannot enter its jail: %s\n", name, (int)getpid(), err);
		_exit(127);
	}
	/* A forked child starts without a parent-death signal: set it, jailed. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) {
		dprintf(2, LOG_PREFIX_DEVICE_FMT "cannot tie itself to the spawner (PR_SET_PDEATHSIG): %s\n", name,
			(int)getpid(), strerror(errno));
		_exit(127);
	}
	/*
	 * The spawner is outside this pid namespace, so getppid() says 0 while
	 * it lives; had it died before the prctl, the namespace's init (pid 1)
	 * would be the parent now.
	 */
	if (getppid() != 0)
		_exit(127);
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* SAFETY: execveat(2) of the binary the spawner opened before the jail; AT_EMPTY_PATH: the fd itself. */
	syscall(SYS_execveat, binary_fd, "", argv, no_env, AT_EMPTY_PATH);
	dprintf(2, LOG_PREFIX_DEVICE_FMT "cannot exec %s: %s\n", name, (int)getpid(), argv[0], strerror(errno));
	_exit(127);
}

int device_worker_fds(const struct vm *vm, const struct device_instance *dev, int *fds, int max)
{
	int all[DEVICE_WORKER_MAX_FDS], n = 0;

	all[n++] = dev->is_virtio ? vm->ram.fd : -1;
	all[n++] = dev->control_child;
	all[n++] = dev->status_fd;
	all[n++] = dev->doorbell_fd;
	all[n++] = dev->persist_fd;
	for (unsigned i = 0; i < vm->ncpus; i++)
		all[n++] = dev->ring_fds[i];
	if (dev->is_virtio) {
		all[n++] = dev->virtio.state_fd;
		all[n++] = dev->virtio.irq_fd;
		all[n++] = dev->virtio.resample_fd;
		all[n++] = dev->virtio.backend_fd;
		for (unsigned q = 0; q < dev->virtio.nqueues; q++)
			all[n++] = dev->virtio.notify_fds[q];
	}
	if (dev->spec->console) {
		all[n++] = vm->console.ring_fd;
		all[n++] = vm->console.kick_fd;
		all[n++] = vm->console.irq_fd;
	}
	if (n > max)
		n = max;
	memcpy(fds, all, (size_t)n * sizeof(fds[0]));
	return n;
}

pid_t device_worker_exec(const struct vm *vm, const struct device_instance *dev, uint32_t restart, int log_fd)
{
	int pass[DEVICE_WORKER_MAX_FDS + 1], npass, r, config_fd = -1, binary_fd;
	char config_arg[16], err[256], binary[sizeof(vm->device_binary)];
	char *argv[] = { binary, "--config-fd", config_arg, NULL };
	struct device_config cfg;
	pid_t pid;

	r = fill_config(vm, dev, restart, &cfg);
	if (r < 0) {
		mlog("cannot start device worker %s: its configuration: %s", dev->spec->name, strerror(-r));
		return r;
	}
	r = config_memfd(&cfg, &config_fd, err, sizeof(err));
	if (r < 0) {
		mlog("cannot start device worker %s: %s", dev->spec->name, err);
		return r;
	}
	snprintf(binary, sizeof(binary), "%s", vm->device_binary);
	snprintf(config_arg, sizeof(config_arg), "%d", config_fd);
	binary_fd = open(binary, O_RDONLY | O_CLOEXEC);
	if (binary_fd < 0) {
		r = -errno;
		close(config_fd);
		mlog("cannot start device worker %s: %s: %s", dev->spec->name, binary, strerror(-r));
		return r;
	}
	pass[0] = config_fd;
	npass = 1 + device_worker_fds(vm, dev, pass + 1, DEVICE_WORKER_MAX_FDS);
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(config_fd);
		close(binary_fd);
		mlog("cannot start device worker %s: fork: %s", dev->spec->name, strerror(-r));
		return r;
	}
	if (pid == 0)
		exec_child(vm, dev->index, argv, binary_fd, log_fd, pass, npass, dev->spec->name);
	close(config_fd);
	close(binary_fd);
	return pid;
}

/*
 * Waits for dev's first worker to say CONTROL_READY, or for the spawner to
 * report it dead (the spawner holds the other end of the control socket, so
 * a dead worker closes nothing): 0, -ETIMEDOUT, -ECONNRESET (it died; *m
 * says how), -EPROTO or -errno.
 */
static int wait_ready(struct vm *vm, struct device_instance *dev, struct spawner_msg *m)
{
	struct pollfd pfd[2] = {
		{ .fd = dev->control_fd, .events = POLLIN },
		{ .fd = vm->spawner_fd, .events = POLLIN },
	};
	struct control_msg msg;
	ssize_t n;
	int r;

	do {
		r = poll(pfd, 2, DEVICE_READY_TIMEOUT_MS);
	} while (r < 0 && errno == EINTR);
	if (r == 0)
		return -ETIMEDOUT;
	if (r < 0)
		return -errno;
	if (pfd[0].revents) {
		n = recv(dev->control_fd, &msg, sizeof(msg), 0);
		if (n != (ssize_t)sizeof(msg) || msg.type != CONTROL_READY)
			return -EPROTO;
		return 0;
	}
	r = spawner_receive(vm, m, 0);
	if (r < 0)
		return r;
	return m->type == SPAWNER_DIED && m->device == dev->index ? -ECONNRESET : -EPROTO;
}

/* One line naming the device and the step that failed; returns r. */
static int prepare_failed(const struct device_instance *dev, int r, const char *what)
{
	mlog("cannot start device worker %s: %s: %s", dev->spec->name, what, strerror(-r));
	return r;
}

/* Everything a worker of dev is given, created once and kept for its successors. */
static int prepare_one(struct vm *vm, struct device_instance *dev)
{
	int sv[2], r;
	void *status_map = NULL;

	dev->vm = vm;
	dev->doorbell_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (dev->doorbell_fd < 0)
		return prepare_failed(dev, -errno, "its doorbell eventfd");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return prepare_failed(dev, -errno, "its control socket");
	dev->control_fd = sv[0];
	dev->control_child = sv[1];
	r = shared_memfd_create("squib-worker-status", 4096, &dev->status_fd, &status_map);
	if (r < 0)
		return prepare_failed(dev, r, "its status page");
	dev->status = status_map;
	dev->status->magic = WORKER_STATUS_MAGIC;
	atomic_store(&dev->status->denied_syscall, -1);
	if (dev->spec->resumable && !dev->is_virtio) {
		void *map = NULL;

		/* Zeroed: its first worker starts afresh; the monitor never reads it. */
		r = shared_memfd_create("squib-device-state", DEVICE_PERSIST_REGION_SIZE, &dev->persist_fd, &map);
		if (r < 0)
			return prepare_failed(dev, r, "its state region");
		munmap(map, DEVICE_PERSIST_REGION_SIZE);
	}
	dev->ring_size = ring_region_size(RING_DEFAULT_SLOTS);
	for (unsigned i = 0; i < vm->ncpus; i++) {
		dev->ring_fds[i] = -1;
		r = shared_memfd_create("squib-ring", dev->ring_size, &dev->ring_fds[i], &dev->ring_maps[i]);
		if (r == 0)
			r = ring_region_init(dev->ring_maps[i], dev->ring_size, RING_DEFAULT_SLOTS);
		if (r < 0)
			return prepare_failed(dev, r, "its rings");
	}
	return 0;
}

/* Asks the spawner for dev's first worker and waits until it is ready. */
static int start_first(struct vm *vm, struct device_instance *dev)
{
	struct timespec now;
	struct spawner_msg m;
	int r = spawner_request(vm, SPAWNER_SPAWN, dev->index);

	if (r == 0)
		r = spawner_receive(vm, &m, DEVICE_READY_TIMEOUT_MS);
	if (r < 0)
		return prepare_failed(dev, r, "the spawner does not answer");
	if (m.device != dev->index || m.type != SPAWNER_SPAWNED) {
		mlog("cannot start device worker %s: %s", dev->spec->name,
		     m.type == SPAWNER_SPAWN_FAILED ? strerror(-m.status) : "the spawner answered out of turn");
		return m.type == SPAWNER_SPAWN_FAILED && m.status < 0 ? m.status : -EPROTO;
	}
	dev->pid = m.pid;
	dev->alive = true;
	r = wait_ready(vm, dev, &m);
	if (r == -ECONNRESET) {
		char how[160];

		dev->alive = false;
		worker_describe_death(m.code, m.status, dev->status, how, sizeof(how));
		mlog("device worker %s (pid %d) did not get ready: it %s", dev->spec->name, (int)dev->pid, how);
		return r;
	}
	if (r < 0) {
		mlog("device worker %s (pid %d) did not get ready: %s", dev->spec->name, (int)dev->pid, strerror(-r));
		return r;
	}
	dev->state = DEVICE_RUNNING;
	clock_gettime(CLOCK_MONOTONIC, &now);
	dev->ready_ns = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
	return 0;
}

int device_workers_spawn(struct vm *vm)
{
	int r;

	for (unsigned d = 0; d < vm->ndevices; d++) {
		r = prepare_one(vm, &vm->devices[d]); /* it says what failed */
		if (r < 0)
			return r;
	}
	r = spawner_start(vm);
	if (r < 0)
		return r;
	/* The spawner holds the workers' ends of the control sockets now. */
	for (unsigned d = 0; d < vm->ndevices; d++) {
		close(vm->devices[d].control_child);
		vm->devices[d].control_child = -1;
	}
	for (unsigned d = 0; d < vm->ndevices; d++) {
		r = start_first(vm, &vm->devices[d]);
		if (r < 0)
			return r;
	}
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void device_workers_release_fds(struct vm *vm)
{
	for (unsigned d = 0; d < vm->ndevices; d++) {
		struct device_instance *dev = &vm->devices[d];
		struct virtio_instance *v = &dev->virtio;

		close_fd(&dev->status_fd);
		close_fd(&dev->persist_fd);
		for (unsigned i = 0; i < vm->ncpus; i++)
			close_fd(&dev->ring_fds[i]);
		if (!dev->is_virtio)
			continue;
		close_fd(&v->state_fd);
		close_fd(&v->irq_fd);
		close_fd(&v->resample_fd);
		close_fd(&v->backend_fd);
		for (unsigned q = 0; q < v->nqueues; q++)
			close_fd(&v->notify_fds[q]);
		if (v->state_map)
			munmap(v->state_map, VIRTIO_DEVICE_STATE_SIZE);
		v->state_map = NULL;
	}
	close_fd(&vm->console.ring_fd);
	close_fd(&vm->console.irq_fd);
}

void device_worker_stop(struct device_instance *dev)
{
	struct control_msg msg = { .type = CONTROL_STOP };

	if (!dev->alive)
		return;
	if (send(dev->control_fd, &msg, sizeof(msg), MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)sizeof(msg))
		device_worker_kill(dev->vm, dev);
}

void device_worker_request_dump(struct device_instance *dev)
{
	struct control_msg msg = { .type = CONTROL_DUMP };

	if (!dev->alive)
		return;
	if (send(dev->control_fd, &msg, sizeof(msg), MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)sizeof(msg))
		mlog("device worker %s: cannot ask it for a state dump: %s", dev->spec->name, strerror(errno));
}

/* SIGKILL through the spawner; its SPAWNER_DIED says when it is gone. */
void device_worker_kill(struct vm *vm, struct device_instance *dev)
{
	int r;

	if (!dev->alive)
		return;
	r = spawner_request(vm, SPAWNER_KILL, dev->index);
	if (r < 0)
		mlog("device worker %s (pid %d): cannot ask the spawner to kill it: %s", dev->spec->name,
		     (int)dev->pid, strerror(-r));
}
