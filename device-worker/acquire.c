/* SPDX-License-Identifier: MIT */
/* The device worker's acquire phase (acquire.h). */
#include "device-worker/acquire.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(int r, char *err, size_t err_len, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(int r, char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
	return r;
}

int acquire_config(int fd, struct device_config *c, char *err, size_t err_len)
{
	uint8_t buf[DEVICE_CONFIG_MAX_BYTES];
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st) < 0)
		return fail(-errno, err, err_len, "--config-fd %d: %s", fd, strerror(errno));
	if (!S_ISREG(st.st_mode) || fcntl(fd, F_GET_SEALS) < 0)
		return fail(-EINVAL, err, err_len, "--config-fd %d is not a memfd", fd);
	if (st.st_size <= 0 || st.st_size > (off_t)sizeof(buf))
		return fail(-EINVAL, err, err_len, "--config-fd %d holds %lld bytes, not 1 to %zu", fd,
			    (long long)st.st_size, sizeof(buf));
	n = pread(fd, buf, (size_t)st.st_size, 0);
	if (n != st.st_size)
		return fail(n < 0 ? -errno : -EIO, err, err_len, "--config-fd %d: short read", fd);
	return device_config_decode(buf, (size_t)n, c, err, err_len);
}

int acquire_check_model(const struct device_config *c, const struct device_model *m, char *err, size_t err_len)
{
	const bool console = m->uses & DEVICE_USES_CONSOLE, virtio = m->uses & DEVICE_USES_VIRTIO;
	const bool persist = m->uses & DEVICE_USES_PERSIST;

	if (!console && (c->console_fd >= 0 || c->console_kick_fd >= 0))
		return fail(-EINVAL, err, err_len, "%s takes no console (console_fd, console_kick_fd)", m->name);
	if ((c->console_fd >= 0) != (c->console_kick_fd >= 0))
		return fail(-EINVAL, err, err_len, "%s: console_fd and console_kick_fd come together", m->name);
	if (!console && !virtio && c->irq_fd >= 0)
		return fail(-EINVAL, err, err_len, "%s takes no irq_fd", m->name);
	if (virtio && (c->state_fd < 0 || !c->has_mmio_base || c->nnotify == 0 || c->irq_fd < 0 || c->resample_fd < 0))
		return fail(-EINVAL, err, err_len, "%s needs state_fd, mmio_base, notify_fds, irq_fd and resample_fd",
			    m->name);
	if (persist && c->state_fd < 0)
		return fail(-EINVAL, err, err_len, "%s needs state_fd", m->name);
	if (!virtio && !persist && c->state_fd >= 0)
		return fail(-EINVAL, err, err_len, "%s takes no state_fd", m->name);
	if (!virtio && (c->has_mmio_base || c->nnotify || c->resample_fd >= 0 || c->backend_fd >= 0 || c->nparams))
		return fail(-EINVAL, err, err_len, "%s takes no virtio resources", m->name);
	if (c->nnotify > DEVICE_MAX_NOTIFY_FDS || c->nparams > DEVICE_MAX_PARAMS)
		return fail(-EINVAL, err, err_len, "%s: too many notify_fds or params", m->name);
	/* Guest RAM: the virtio models read and write it; no other is given it, or may take it. */
	if (virtio != (c->ram_fd >= 0))
		return fail(-EINVAL, err, err_len, virtio ? "%s needs ram_fd" : "%s takes no ram_fd (guest RAM)", m->name);
	return 0;
}

/* An eventfd (doorbell, ioeventfd, irqfd): /proc names it, else (no /proc) at least not a file. */
static int check_eventfd(const char *what, int fd, char *err, size_t err_len)
{
	char path[64], target[64];
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st) < 0)
		return fail(-errno, err, err_len, "%s %d: %s", what, fd, strerror(errno));
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, target, sizeof(target) - 1);
	if (n >= 0) {
		target[n] = '\0';
		if (strcmp(target, "anon_inode:[eventfd]") != 0)
			return fail(-EINVAL, err, err_len, "%s %d is %s, not an eventfd", what, fd, target);
		return 0;
	}
	if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) || S_ISSOCK(st.st_mode) || S_ISFIFO(st.st_mode))
		return fail(-EINVAL, err, err_len, "%s %d is not an eventfd", what, fd);
	return 0;
}

static int check_control(int fd, char *err, size_t err_len)
{
	struct stat st;
	int type = 0;
	socklen_t len = sizeof(type);

	if (fstat(fd, &st) < 0)
		return fail(-errno, err, err_len, "control_fd %d: %s", fd, strerror(errno));
	if (!S_ISSOCK(st.st_mode))
		return fail(-ENOTSOCK, err, err_len, "control_fd %d is not a socket", fd);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
		return fail(-errno, err, err_len, "control_fd %d: SO_TYPE: %s", fd, strerror(errno));
	if (type != SOCK_SEQPACKET)
		return fail(-EPROTOTYPE, err, err_len, "control_fd %d is not SOCK_SEQPACKET", fd);
	return 0;
}

int acquire_check_fds(const struct device_config *c, char *err, size_t err_len)
{
	int r = check_control(c->control_fd, err, err_len);

	if (r == 0)
		r = check_eventfd("doorbell_fd", c->doorbell_fd, err, err_len);
	for (unsigned i = 0; i < c->nnotify && r == 0; i++)
		r = check_eventfd("notify_fds", c->notify_fds[i], err, err_len);
	if (r == 0 && c->irq_fd >= 0)
		r = check_eventfd("irq_fd", c->irq_fd, err, err_len);
	if (r == 0 && c->resample_fd >= 0)
		r = check_eventfd("resample_fd", c->resample_fd, err, err_len);
	if (r == 0 && c->console_kick_fd >= 0)
		r = check_eventfd("console_kick_fd", c->console_kick_fd, err, err_len);
	return r;
}

/* F_GET_SEALS succeeds only on memfds (shmem files). */
int acquire_map_memfd(int fd, const char *what, uint64_t min_size, uint64_t map_size, void **out, char *err,
		      size_t err_len)
{
	struct stat st;
	void *p;

	if (fstat(fd, &st) < 0)
		return fail(-errno, err, err_len, "%s %d: %s", what, fd, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return fail(-EINVAL, err, err_len, "%s %d is not a regular file", what, fd);
	if (fcntl(fd, F_GET_SEALS) < 0)
		return fail(-errno, err, err_len, "%s %d is not a memfd", what, fd);
	if (st.st_size < 0 || (uint64_t)st.st_size < min_size)
		return fail(-EINVAL, err, err_len, "%s %d holds %lld bytes, fewer than %llu", what, fd,
			    (long long)st.st_size, (unsigned long long)min_size);
	if (map_size > SIZE_MAX)
		return fail(-EINVAL, err, err_len, "%s %d: %llu bytes cannot be mapped", what, fd,
			    (unsigned long long)map_size);
	p = mmap(NULL, (size_t)map_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return fail(-errno, err, err_len, "mmap of %s %d (%llu bytes): %s", what, fd,
			    (unsigned long long)map_size, strerror(errno));
	*out = p;
	return 0;
}

int acquire_status(int fd, struct worker_status **out, char *err, size_t err_len)
{
	void *p;
	int r = acquire_map_memfd(fd, "status_fd", DEVICE_STATUS_PAGE_SIZE, DEVICE_STATUS_PAGE_SIZE, &p, err, err_len);
	struct worker_status *st = p;

	if (r < 0)
		return r;
	st->magic = WORKER_STATUS_MAGIC;
	atomic_store(&st->denied_syscall, -1);
	atomic_store(&st->records, 0);
	*out = st;
	return 0;
}

static int int_cmp(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

int acquire_close_others(int *keep, unsigned n, char *err, size_t err_len)
{
	unsigned first = 0;

	qsort(keep, n, sizeof(*keep), int_cmp);
	for (unsigned i = 0; i < n; i++) {
		if (keep[i] < 0)
			continue;
		if ((unsigned)keep[i] > first && close_range(first, (unsigned)keep[i] - 1, 0) < 0)
			return fail(-errno, err, err_len, "close_range: %s", strerror(errno));
		first = (unsigned)keep[i] + 1;
	}
	if (close_range(first, ~0u, 0) < 0)
		return fail(-errno, err, err_len, "close_range: %s", strerror(errno));
	return 0;
}

int acquire_ignore_signals(char *err, size_t err_len)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGPIPE };
	struct sigaction sa;
	int pdeath = 0;

	if (prctl(PR_GET_PDEATHSIG, &pdeath) < 0)
		pdeath = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++) {
		if (sigs[i] == pdeath)
			continue; /* ignoring it would defeat it */
		if (sigaction(sigs[i], &sa, NULL) < 0)
			return fail(-errno, err, err_len, "sigaction(SIG%s): %s", sigabbrev_np(sigs[i]), strerror(errno));
	}
	return 0;
}
