/* SPDX-License-Identifier: MIT */
/*
 * squib-device: one emulated device in its own sandboxed process, fork+exec'd
 * by the monitor with every resource already open:
 *
 *   squib-device --device uart|testdev --name NAME --ram-fd N --ram-size BYTES
 *                --control-fd N --status-fd N --doorbell-fd N
 *                --ring-fd N [--ring-fd N ...] --ring-size BYTES [--output-fd N] [--poll-us N]
 *                [--state-fd N --mmio-base ADDR --notify-fd N... --irq-fd N --resample-fd N]
 *                [--backend-fd N] [--param KEY[=VALUE]]...
 *                uart only: [--input-fd N] [--irq-fd N]
 *
 * Order (sandbox.h): acquire (check and map every fd, allocate the model
 * and decoder, close every fd not needed), narrow (sandbox_enter), then
 * parse untrusted bytes (CONTROL_READY, the loop). Exit 0 after CONTROL_STOP,
 * 1 on a fatal error ("squib-device[<name>]: <what failed>: <strerror>"),
 * 2 on a bad command line.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/compiler.h"
#include "device-worker/control_io.h"
#include "device-worker/device.h"
#include "common/spin.h"
#include "device-worker/virtio/virtio_device.h"
#include "device-worker/worker_loop.h"
#include "proto/control.h"
#include "sandbox/sandbox.h"

#define NAME_MAX_LEN 32
#define STATUS_PAGE_SIZE 4096u

struct args {
	const char *device;
	const char *name;
	int ram_fd;
	uint64_t ram_size;
	int control_fd;
	int status_fd;
	int doorbell_fd;
	int ring_fds[WORKER_LOOP_MAX_RINGS];
	unsigned nrings;
	uint64_t ring_size;
	uint64_t poll_us; /* busy-poll window before sleeping */
	int output_fd;
	int input_fd; /* uart: typed input */
	/* virtio devices */
	int state_fd;
	uint64_t mmio_base;
	bool mmio_base_set;
	int notify_fds[DEVICE_MAX_NOTIFY_FDS];
	unsigned nnotify;
	int irq_fd;
	int resample_fd;
	int backend_fd;
	const char *params[DEVICE_MAX_PARAMS];
	unsigned nparams;
};

static NORETURN void usage(const char *why)
{
	fprintf(stderr, "squib-device: %s\n", why);
	fprintf(stderr,
		"usage: squib-device --device DEVICE --name NAME --ram-fd N --ram-size BYTES\n"
		"                    --control-fd N --status-fd N --doorbell-fd N\n"
		"                    --ring-fd N [--ring-fd N ...] --ring-size BYTES [--output-fd N]\n"
		"                    [--state-fd N --mmio-base ADDR --notify-fd N... --irq-fd N --resample-fd N]\n"
		"                    [--backend-fd N] [--param KEY[=VALUE]]...\n"
		"                    uart: [--input-fd N] [--irq-fd N]\n"
		"DEVICE is one of:");
	for (size_t i = 0; i < device_model_count; i++)
		fprintf(stderr, " %s", device_models[i]->name);
	fprintf(stderr, "\nfds must be >= 3 (--output-fd may be 1 or 2); 1 to %d --ring-fd.\n",
		WORKER_LOOP_MAX_RINGS);
	exit(2);
}

static NORETURN void usagef(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void usagef(const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	usage(why);
}

/* A decimal number: digits only (no sign, space or base prefix), the whole string, no overflow. */
static int parse_u64(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end != '\0')
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_fd(const char *opt, const char *s, int lowest)
{
	uint64_t v;

	if (parse_u64(s, &v) || v > INT_MAX)
		usagef("%s: '%s' is not a file descriptor number", opt, s);
	if (v < (uint64_t)lowest)
		usagef("%s: fd %s is reserved (stdin/stdout/stderr)", opt, s);
	return (int)v;
}

static uint64_t parse_size(const char *opt, const char *s)
{
	uint64_t v;

	if (parse_u64(s, &v) || v == 0 || v > SIZE_MAX)
		usagef("%s: '%s' is not a size in bytes", opt, s);
	return v;
}

static bool name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > NAME_MAX_LEN)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return false;
	}
	return true;
}

enum opt_id {
	OPT_DEVICE, OPT_NAME, OPT_RAM_FD, OPT_RAM_SIZE, OPT_CONTROL_FD, OPT_STATUS_FD,
	OPT_DOORBELL_FD, OPT_RING_FD, OPT_RING_SIZE, OPT_OUTPUT_FD, OPT_POLL_US, OPT_STATE_FD,
	OPT_MMIO_BASE, OPT_NOTIFY_FD, OPT_IRQ_FD, OPT_RESAMPLE_FD, OPT_BACKEND_FD, OPT_PARAM, OPT_INPUT_FD,
	OPT_COUNT
};

static const struct {
	const char *name;
	bool required;
} options[OPT_COUNT] = {
	[OPT_DEVICE] = { "--device", true },
	[OPT_NAME] = { "--name", true },
	[OPT_RAM_FD] = { "--ram-fd", true },
	[OPT_RAM_SIZE] = { "--ram-size", true },
	[OPT_CONTROL_FD] = { "--control-fd", true },
	[OPT_STATUS_FD] = { "--status-fd", true },
	[OPT_DOORBELL_FD] = { "--doorbell-fd", true },
	[OPT_RING_FD] = { "--ring-fd", true },
	[OPT_RING_SIZE] = { "--ring-size", true },
	[OPT_OUTPUT_FD] = { "--output-fd", false },
	[OPT_POLL_US] = { "--poll-us", false },
	[OPT_STATE_FD] = { "--state-fd", false },
	[OPT_MMIO_BASE] = { "--mmio-base", false },
	[OPT_NOTIFY_FD] = { "--notify-fd", false },
	[OPT_IRQ_FD] = { "--irq-fd", false },
	[OPT_RESAMPLE_FD] = { "--resample-fd", false },
	[OPT_BACKEND_FD] = { "--backend-fd", false },
	[OPT_PARAM] = { "--param", false },
	[OPT_INPUT_FD] = { "--input-fd", false },
};

static bool repeatable(int id)
{
	return id == OPT_RING_FD || id == OPT_NOTIFY_FD || id == OPT_PARAM;
}

/* A --param: KEY or KEY=VALUE, printable ASCII (spaces allowed in the value) without commas, at most 64 bytes. */
static bool param_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64 || s[0] == '=')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < ' ' || s[i] > '~' || s[i] == ',' || (s[i] == ' ' && !strchr(s, '=')))
			return false;
	}
	return true;
}

/* Every fd given must be distinct. */
static void check_distinct(const struct args *a)
{
	int fds[WORKER_LOOP_MAX_RINGS + DEVICE_MAX_NOTIFY_FDS + 10];
	unsigned n = 0;

	fds[n++] = a->ram_fd;
	fds[n++] = a->control_fd;
	fds[n++] = a->status_fd;
	fds[n++] = a->doorbell_fd;
	if (a->output_fd >= 0)
		fds[n++] = a->output_fd;
	if (a->input_fd >= 0)
		fds[n++] = a->input_fd;
	for (unsigned i = 0; i < a->nrings; i++)
		fds[n++] = a->ring_fds[i];
	for (unsigned i = 0; i < a->nnotify; i++)
		fds[n++] = a->notify_fds[i];
	if (a->state_fd >= 0)
		fds[n++] = a->state_fd;
	if (a->irq_fd >= 0)
		fds[n++] = a->irq_fd;
	if (a->resample_fd >= 0)
		fds[n++] = a->resample_fd;
	if (a->backend_fd >= 0)
		fds[n++] = a->backend_fd;
	for (unsigned i = 0; i < n; i++) {
		for (unsigned j = i + 1; j < n; j++) {
			if (fds[i] == fds[j])
				usagef("fd %d is given for two purposes", fds[i]);
		}
	}
}

static void parse_args(int argc, char **argv, struct args *a)
{
	bool seen[OPT_COUNT] = { false };

	memset(a, 0, sizeof(*a));
	a->output_fd = a->input_fd = -1;
	a->state_fd = a->irq_fd = a->resample_fd = a->backend_fd = -1;
	a->poll_us = SPIN_DEFAULT_POLL_US;
	for (int i = 1; i < argc; i += 2) {
		const char *opt = argv[i], *val;
		int id;

		for (id = 0; id < OPT_COUNT; id++) {
			if (strcmp(opt, options[id].name) == 0)
				break;
		}
		if (id == OPT_COUNT)
			usagef("unknown argument '%s'", opt);
		if (i + 1 >= argc)
			usagef("%s needs a value", opt);
		val = argv[i + 1];
		if (seen[id] && !repeatable(id))
			usagef("%s given twice", opt);
		seen[id] = true;
		switch (id) {
		case OPT_DEVICE:
			if (!device_model_find(val))
				usagef("%s: unknown device '%s'", opt, val);
			a->device = val;
			break;
		case OPT_NAME:
			if (!name_valid(val))
				usagef("%s: '%s' is not 1-32 characters of [A-Za-z0-9._-]", opt, val);
			a->name = val;
			break;
		case OPT_RAM_FD:
			a->ram_fd = parse_fd(opt, val, 3);
			break;
		case OPT_RAM_SIZE:
			a->ram_size = parse_size(opt, val);
			break;
		case OPT_CONTROL_FD:
			a->control_fd = parse_fd(opt, val, 3);
			break;
		case OPT_STATUS_FD:
			a->status_fd = parse_fd(opt, val, 3);
			break;
		case OPT_DOORBELL_FD:
			a->doorbell_fd = parse_fd(opt, val, 3);
			break;
		case OPT_RING_FD:
			if (a->nrings >= WORKER_LOOP_MAX_RINGS)
				usagef("%s: more than %d rings", opt, WORKER_LOOP_MAX_RINGS);
			a->ring_fds[a->nrings++] = parse_fd(opt, val, 3);
			break;
		case OPT_RING_SIZE:
			a->ring_size = parse_size(opt, val);
			break;
		case OPT_OUTPUT_FD:
			a->output_fd = parse_fd(opt, val, 1);
			break;
		case OPT_POLL_US:
			if (parse_u64(val, &a->poll_us) || a->poll_us > SPIN_MAX_POLL_US)
				usagef("%s: '%s' is not 0..%d microseconds", opt, val, SPIN_MAX_POLL_US);
			break;
		case OPT_STATE_FD:
			a->state_fd = parse_fd(opt, val, 3);
			break;
		case OPT_MMIO_BASE:
			if (parse_u64(val, &a->mmio_base) || a->mmio_base % 8 != 0)
				usagef("%s: '%s' is not an 8-aligned decimal address", opt, val);
			a->mmio_base_set = true;
			break;
		case OPT_NOTIFY_FD:
			if (a->nnotify >= DEVICE_MAX_NOTIFY_FDS)
				usagef("%s: more than %d queues", opt, DEVICE_MAX_NOTIFY_FDS);
			a->notify_fds[a->nnotify++] = parse_fd(opt, val, 3);
			break;
		case OPT_IRQ_FD:
			a->irq_fd = parse_fd(opt, val, 3);
			break;
		case OPT_RESAMPLE_FD:
			a->resample_fd = parse_fd(opt, val, 3);
			break;
		case OPT_BACKEND_FD:
			a->backend_fd = parse_fd(opt, val, 3);
			break;
		case OPT_INPUT_FD:
			a->input_fd = parse_fd(opt, val, 3);
			break;
		case OPT_PARAM:
			if (a->nparams >= DEVICE_MAX_PARAMS)
				usagef("%s: more than %d parameters", opt, DEVICE_MAX_PARAMS);
			if (!param_valid(val))
				usagef("%s: '%s' is not KEY or KEY=VALUE (printable ASCII, no commas)", opt, val);
			a->params[a->nparams++] = val;
			break;
		default:
			break;
		}
	}
	for (int id = 0; id < OPT_COUNT; id++) {
		if (options[id].required && !seen[id])
			usagef("%s is required", options[id].name);
	}
	check_distinct(a);
	if (strncmp(a->device, "virtio-", 7) == 0) {
		if (a->state_fd < 0 || !a->mmio_base_set || a->irq_fd < 0 || a->resample_fd < 0 || a->nnotify == 0)
			usagef("%s needs --state-fd, --mmio-base, --notify-fd, --irq-fd and --resample-fd", a->device);
		if (a->input_fd >= 0)
			usagef("%s takes no --input-fd", a->device);
	} else if (a->state_fd >= 0 || a->nnotify || (a->irq_fd >= 0 && strcmp(a->device, "uart") != 0) ||
		   a->resample_fd >= 0 || a->backend_fd >= 0 || a->nparams || a->mmio_base_set) {
		usagef("%s takes no virtio options", a->device);
	} else if (a->input_fd >= 0 && strcmp(a->device, "uart") != 0) {
		usagef("%s takes no --input-fd", a->device);
	}
}

/* ---- acquiring resources --------------------------------------------------- */

static NORETURN void fatal(const char *name, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fatal(const char *name, int err, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	fprintf(stderr, "squib-device[%s]: %s: %s\n", name, what, strerror(err));
	exit(1);
}

/*
 * A regular memfd of at least min_size bytes, mapped MAP_SHARED read-write.
 * F_GET_SEALS succeeds only on memfds (shmem files).
 */
static void *map_memfd(const char *name, const char *opt, int fd, uint64_t min_size, uint64_t map_size)
{
	struct stat st;
	void *p;

	if (fstat(fd, &st) < 0)
		fatal(name, errno, "%s %d", opt, fd);
	if (!S_ISREG(st.st_mode))
		fatal(name, EINVAL, "%s %d is not a regular file", opt, fd);
	if (fcntl(fd, F_GET_SEALS) < 0)
		fatal(name, errno, "%s %d is not a memfd", opt, fd);
	if (st.st_size < 0 || (uint64_t)st.st_size < min_size)
		fatal(name, EINVAL, "%s %d holds %lld bytes, fewer than %llu", opt, fd, (long long)st.st_size,
		      (unsigned long long)min_size);
	p = mmap(NULL, (size_t)map_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		fatal(name, errno, "mmap of %s %d (%llu bytes)", opt, fd, (unsigned long long)map_size);
	return p;
}

/* An eventfd (doorbell, ioeventfd, irqfd): /proc names it, else (no /proc) at least not a file. */
static void check_eventfd(const char *name, const char *opt, int fd)
{
	char path[64], target[64];
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st) < 0)
		fatal(name, errno, "%s %d", opt, fd);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, target, sizeof(target) - 1);
	if (n >= 0) {
		target[n] = '\0';
		if (strcmp(target, "anon_inode:[eventfd]") != 0)
			fatal(name, EINVAL, "%s %d is %s, not an eventfd", opt, fd, target);
		return;
	}
	if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) || S_ISSOCK(st.st_mode) || S_ISFIFO(st.st_mode))
		fatal(name, EINVAL, "%s %d is not an eventfd", opt, fd);
}

static void check_control(const char *name, int fd)
{
	struct stat st;
	int type = 0;
	socklen_t len = sizeof(type);

	if (fstat(fd, &st) < 0)
		fatal(name, errno, "--control-fd %d", fd);
	if (!S_ISSOCK(st.st_mode))
		fatal(name, ENOTSOCK, "--control-fd %d", fd);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
		fatal(name, errno, "--control-fd %d: SO_TYPE", fd);
	if (type != SOCK_SEQPACKET)
		fatal(name, EPROTOTYPE, "--control-fd %d is not SOCK_SEQPACKET", fd);
}

static void check_output(const char *name, int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		fatal(name, errno, "--output-fd %d", fd);
	if ((fl & O_ACCMODE) != O_WRONLY && (fl & O_ACCMODE) != O_RDWR)
		fatal(name, EBADF, "--output-fd %d is not open for writing", fd);
}

static void check_input(const char *name, int fd)
{
	int fl = fcntl(fd, F_GETFL);
	struct stat st;

	if (fl < 0 || fstat(fd, &st) < 0)
		fatal(name, errno, "--input-fd %d", fd);
	if (!S_ISFIFO(st.st_mode))
		fatal(name, EINVAL, "--input-fd %d is not a pipe", fd);
	if ((fl & O_ACCMODE) != O_RDONLY && (fl & O_ACCMODE) != O_RDWR)
		fatal(name, EBADF, "--input-fd %d is not open for reading", fd);
}

static struct worker_status *map_status(const char *name, int fd)
{
	struct worker_status *st = map_memfd(name, "--status-fd", fd, STATUS_PAGE_SIZE, STATUS_PAGE_SIZE);

	st->magic = WORKER_STATUS_MAGIC;
	atomic_store(&st->denied_syscall, -1);
	atomic_store(&st->records, 0);
	return st;
}

static int int_cmp(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* Closes every fd but keep[0..n) (which may hold -1s). */
static void close_others(const char *name, int *keep, unsigned n)
{
	unsigned first = 0;

	qsort(keep, n, sizeof(*keep), int_cmp);
	for (unsigned i = 0; i < n; i++) {
		if (keep[i] < 0)
			continue;
		if ((unsigned)keep[i] > first && close_range(first, (unsigned)keep[i] - 1, 0) < 0)
			fatal(name, errno, "close_range");
		first = (unsigned)keep[i] + 1;
	}
	if (close_range(first, ~0u, 0) < 0)
		fatal(name, errno, "close_range");
}

/*
 * The monitor owns the terminal: its signals are not ours. The parent-death
 * signal the monitor chose is left alone, or ignoring it would defeat it.
 */
static void ignore_signals(const char *name)
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
			continue;
		if (sigaction(sigs[i], &sa, NULL) < 0)
			fatal(name, errno, "sigaction");
	}
}

#ifdef SQUIB_SANITIZED
/* LeakSanitizer's exit check needs clone+ptrace, which the sandbox denies. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "detect_leaks=0";
}
#endif

int main(int argc, char **argv)
{
	struct sandbox_params params;
	struct worker_status *status;
	const struct device_model *model;
	struct device_host host;
	struct worker_loop wl;
	struct args a;
	char comm[16];
	int keep[9 + DEVICE_MAX_NOTIFY_FDS];
	unsigned nkeep = 0;
	void *ram, *state;
	int err;

	parse_args(argc, argv, &a);
	ignore_signals(a.name);
	model = device_model_find(a.device);

	/* Acquire. */
	check_control(a.name, a.control_fd);
	check_eventfd(a.name, "--doorbell-fd", a.doorbell_fd);
	for (unsigned i = 0; i < a.nnotify; i++)
		check_eventfd(a.name, "--notify-fd", a.notify_fds[i]);
	if (a.irq_fd >= 0)
		check_eventfd(a.name, "--irq-fd", a.irq_fd);
	if (a.resample_fd >= 0)
		check_eventfd(a.name, "--resample-fd", a.resample_fd);
	if (a.output_fd >= 0)
		check_output(a.name, a.output_fd);
	if (a.input_fd >= 0)
		check_input(a.name, a.input_fd);
	status = map_status(a.name, a.status_fd);
	ram = map_memfd(a.name, "--ram-fd", a.ram_fd, a.ram_size, a.ram_size);

	device_host_init(&host, a.name, a.control_fd, STDERR_FILENO);
	host.output_fd = a.output_fd;
	host.input_fd = a.input_fd;
	host.mem.host_base = ram;
	host.mem.size = a.ram_size;
	if (a.state_fd >= 0) {
		host.state = map_memfd(a.name, "--state-fd", a.state_fd, VIRTIO_DEVICE_STATE_SIZE, VIRTIO_DEVICE_STATE_SIZE);
		host.state_size = VIRTIO_DEVICE_STATE_SIZE;
	}
	host.mmio_base = a.mmio_base;
	for (unsigned i = 0; i < a.nnotify; i++)
		host.notify_fds[i] = a.notify_fds[i];
	host.nnotify = a.nnotify;
	host.irq_fd = a.irq_fd;
	host.resample_fd = a.resample_fd;
	host.backend_fd = a.backend_fd;
	for (unsigned i = 0; i < a.nparams; i++)
		host.params[i] = a.params[i];
	host.nparams = a.nparams;
	state = calloc(1, model->state_size);
	if (!state)
		fatal(a.name, ENOMEM, "%s state", model->name);
	err = model->init(state, &host);
	if (err)
		fatal(a.name, -err, "%s init", model->name);
	err = worker_loop_init(&wl, model, state, &host, a.doorbell_fd);
	wl.spin_max = spin_iters_for_us((uint32_t)a.poll_us);
	wl.spin_iters = wl.spin_max / 4;
	wl.poll_max_ns = a.poll_us * 1000u;
	if (model->pollfds && strncmp(model->name, "virtio-", 7) == 0)
		wl.spin_max = wl.spin_iters = 0; /* its data path is eventfds: sleep in poll at once */
	if (err)
		fatal(a.name, -err, "decoder init");
	wl.status = status;
	for (unsigned i = 0; i < a.nrings; i++) {
		void *mem = map_memfd(a.name, "--ring-fd", a.ring_fds[i], a.ring_size, a.ring_size);

		err = worker_loop_add_ring(&wl, mem, (size_t)a.ring_size);
		if (err)
			fatal(a.name, -err, "ring of --ring-fd %d (vCPU %u)", a.ring_fds[i], i);
	}

	/*
	 * Only stderr, the control socket, the doorbell, the console and a
	 * virtio device's eventfds and backend stay open (plus what the model
	 * opened itself in init, e.g. an io_uring: it reports those as sandbox
	 * rules, so they are kept too).
	 */
	keep[nkeep++] = STDERR_FILENO;
	keep[nkeep++] = a.control_fd;
	keep[nkeep++] = a.doorbell_fd;
	keep[nkeep++] = a.output_fd;
	keep[nkeep++] = a.input_fd;
	keep[nkeep++] = a.irq_fd;
	keep[nkeep++] = a.resample_fd;
	keep[nkeep++] = a.backend_fd;
	for (unsigned i = 0; i < a.nnotify; i++)
		keep[nkeep++] = a.notify_fds[i];

	memset(&params, 0, sizeof(params));
	if (model->sandbox_rules) {
		params.nextra = model->sandbox_rules(state, params.extra, SANDBOX_MAX_EXTRA_RULES);
		if (params.nextra > SANDBOX_MAX_EXTRA_RULES)
			params.nextra = SANDBOX_MAX_EXTRA_RULES;
		for (unsigned i = 0; i < params.nextra && nkeep < ARRAY_SIZE(keep); i++) {
			bool known = false;

			for (unsigned k = 0; k < nkeep; k++)
				known |= keep[k] == params.extra[i].fd;
			if (!known && params.extra[i].fd >= 0)
				keep[nkeep++] = params.extra[i].fd;
		}
	}
	close_others(a.name, keep, nkeep);

	snprintf(comm, sizeof(comm), "squib-dev-%s", a.name);
	if (prctl(PR_SET_NAME, comm) < 0)
		fatal(a.name, errno, "prctl(PR_SET_NAME)");

	/*
	 * No core dumps: this process maps all of guest RAM, and a tenant's
	 * memory must never land in a core file. Also makes the worker
	 * non-dumpable, so processes of the same uid cannot ptrace it.
	 */
	{
		const struct rlimit no_core = { 0, 0 };

		if (setrlimit(RLIMIT_CORE, &no_core) < 0 || prctl(PR_SET_DUMPABLE, 0) < 0)
			fatal(a.name, errno, "disabling core dumps");
	}

	/* Narrow. */
	params.vcpu_fd = -1;
	params.log_fd = STDERR_FILENO;
	params.output_fd = a.output_fd;
	params.control_fd = a.control_fd;
	params.doorbell_fd = a.doorbell_fd;
	for (size_t i = 0; i < ARRAY_SIZE(params.doorbell_fds); i++)
		params.doorbell_fds[i] = -1;
	err = sandbox_enter(SANDBOX_ROLE_DEVICE, &params, status);
	if (err)
		fatal(a.name, -err, "sandbox_enter");

	/*
	 * Serve. From here on only the syscalls listed in worker_loop.c: no
	 * stdio, no allocation, and _exit (exit_group) rather than exit.
	 */
	err = control_send(a.control_fd, CONTROL_READY, 0, 0);
	if (err) {
		device_log(&host, "sending CONTROL_READY: %s", strerrordesc_np(-err));
		_exit(1);
	}
	err = worker_loop_run(&wl);
	if (err) {
		device_log(&host, "device loop: %s", strerrordesc_np(-err));
		_exit(1);
	}
	_exit(0);
}
