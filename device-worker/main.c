/* SPDX-License-Identifier: MIT */
/*
 * squib-device: one emulated device in its own sandboxed process, fork+exec'd
 * by the monitor with every resource already open:
 *
 *   squib-device --config-fd N
 *
 * fd N is a sealed memfd holding the worker's whole configuration, one typed
 * record (proto/device_config.h): its model and name, and every fd it
 * inherits (guest RAM, rings, doorbell, control socket, status page, and a
 * virtio device's state region, eventfds and backend).
 *
 * Order (sandbox.h): acquire (acquire.c: decode and check the record, check
 * and map every fd, allocate and init the model, close every fd not
 * needed), narrow (sandbox_enter), then serve untrusted bytes
 * (CONTROL_READY, the loop). Exit 0 after CONTROL_STOP, 1 on a fatal error
 * ("squib[dev-<name> <pid>]: <what failed>", common/log_prefix.h), 2 on a bad command line.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/compiler.h"
#include "common/log_prefix.h"
#include "common/spin.h"
#include "device-worker/acquire.h"
#include "device-worker/fault.h"
#include "device-worker/persist.h"
#include "device-worker/control_io.h"
#include "device-worker/device.h"
#include "device-worker/virtio/virtio_device.h"
#include "device-worker/worker_loop.h"
#include "proto/control.h"
#include "proto/device_config.h"
#include "sandbox/sandbox.h"

/* One worker's state through its three phases. */
struct device_worker {
	struct device_config cfg;
	const struct device_model *model;
	struct device_host host;
	struct worker_loop wl;
	struct worker_status *status;
	void *state;
	struct sandbox_params params;
	struct device_fault fault;
	int keep[9 + DEVICE_MAX_NOTIFY_FDS]; /* fds that stay open into the sandbox */
	unsigned nkeep;
};

static NORETURN void usage(const char *why)
{
	fprintf(stderr, "squib-device: %s\n", why);
	fprintf(stderr, "usage: squib-device --config-fd N\n"
			"  N: a memfd holding the worker's configuration record (proto/device_config.h),\n"
			"  written by squib-monitor. Models:");
	for (size_t i = 0; i < device_model_count; i++)
		fprintf(stderr, " %s", device_models[i]->name);
	fprintf(stderr, "\n");
	exit(2);
}

/* The one place squib-device reports a fatal error: one line, then exit 1. */
static NORETURN void fatal(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fatal(const char *name, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	fprintf(stderr, LOG_PREFIX_DEVICE_FMT "%s\n", name, (int)getpid(), what);
	exit(1);
}

/* `--config-fd N`: the whole command line. */
static int parse_command_line(int argc, char **argv)
{
	unsigned long long v;
	char *end;

	if (argc != 3 || strcmp(argv[1], "--config-fd") != 0)
		usage(argc > 1 ? "expected exactly --config-fd N" : "no --config-fd");
	if (argv[2][0] < '0' || argv[2][0] > '9')
		usage("--config-fd: not a file descriptor number");
	errno = 0;
	v = strtoull(argv[2], &end, 10);
	if (errno || *end != '\0' || v > INT_MAX)
		usage("--config-fd: not a file descriptor number");
	if (v < 3)
		usage("--config-fd: fds 0-2 are stdin, stdout and stderr");
	return (int)v;
}

/* ---- acquire ---------------------------------------------------------------- */

static void acquire_rings(struct device_worker *w)
{
	const struct device_config *c = &w->cfg;
	char err[256], what[32];

	for (unsigned i = 0; i < c->nrings; i++) {
		void *mem;
		int r;

		snprintf(what, sizeof(what), "ring_fds[%u]", i);
		r = acquire_map_memfd(c->ring_fds[i], what, c->ring_size, c->ring_size, &mem, err, sizeof(err));
		if (r < 0)
			fatal(c->name, "%s", err);
		r = worker_loop_add_ring(&w->wl, mem, (size_t)c->ring_size);
		if (r < 0)
			fatal(c->name, "ring of ring_fds[%u] (fd %d, vCPU %u): %s", i, c->ring_fds[i], i, strerror(-r));
		if (c->restart) {
			struct ring_consumer *rc = &w->wl.rings[w->wl.nrings - 1].c;
			uint32_t was;

			if (ring_consumer_repair_head(rc, &was))
				device_log(&w->host, "vCPU %u ring: the head its predecessor left (%u) is impossible; "
					   "resuming at %u (records between not applied)", i, was, rc->head);
		}
	}
}

/* Maps what the model is handed (struct device_host) and runs its init. */
static void acquire_model(struct device_worker *w)
{
	const struct device_config *c = &w->cfg;
	struct device_host *host = &w->host;
	char err[256];
	void *ram = NULL;
	int r;

	/* Only a model that reads and writes guest memory (virtio) is given it (device_config.h). */
	if (c->ram_fd >= 0) {
		r = acquire_map_memfd(c->ram_fd, "ram_fd", c->ram_size, c->ram_size, &ram, err, sizeof(err));
		if (r < 0)
			fatal(c->name, "%s", err);
	}
	device_host_init(host, c->name, c->control_fd, STDERR_FILENO);
	host->console_kick_fd = c->console_kick_fd;
	if (c->console_fd >= 0) {
		void *console;

		r = acquire_map_memfd(c->console_fd, "console_fd", CONSOLE_RING_REGION_SIZE, CONSOLE_RING_REGION_SIZE,
				      &console, err, sizeof(err));
		if (r < 0)
			fatal(c->name, "%s", err);
		host->console = console;
	}
	host->restart = c->restart;
	host->mem.host_base = ram;
	host->mem.size = c->ram_size;
	if (c->state_fd >= 0) {
		size_t size = w->model->uses & DEVICE_USES_PERSIST ? DEVICE_PERSIST_REGION_SIZE : VIRTIO_DEVICE_STATE_SIZE;

		r = acquire_map_memfd(c->state_fd, "state_fd", size, size, &host->state, err, sizeof(err));
		if (r < 0)
			fatal(c->name, "%s", err);
		host->state_size = size;
	}
	host->mmio_base = c->mmio_base;
	for (unsigned i = 0; i < c->nnotify; i++)
		host->notify_fds[i] = c->notify_fds[i];
	host->nnotify = c->nnotify;
	host->irq_fd = c->irq_fd;
	host->resample_fd = c->resample_fd;
	host->backend_fd = c->backend_fd;
	for (unsigned i = 0; i < c->nparams; i++)
		host->params[i] = c->params[i];
	host->nparams = c->nparams;

	w->state = calloc(1, w->model->state_size);
	if (!w->state)
		fatal(c->name, "%s state: %s", w->model->name, strerror(ENOMEM));
}

/*
 * A DEVICE_USES_PERSIST model's state: its predecessor's, with the journal
 * resolved against the rings (persist.h), or fresh. Then the model's init.
 */
static void acquire_model_init(struct device_worker *w)
{
	const struct device_config *c = &w->cfg;
	struct device_host *host = &w->host;
	const char *why = NULL;
	bool fresh = true;
	int r;

	if (w->model->uses & DEVICE_USES_PERSIST) {
		struct persist_region *region = host->state;
		struct ring_consumer rings[WORKER_LOOP_MAX_RINGS];

		for (unsigned i = 0; i < w->wl.nrings; i++)
			rings[i] = w->wl.rings[i].c;
		r = persist_open(region, host->state_size, w->model->name, w->model->persist_size, c->restart, rings,
				 w->wl.nrings, &fresh, &why);
		if (r < 0)
			fatal(c->name, "%s: a state region of %zu bytes cannot hold %zu", w->model->name,
			      host->state_size, w->model->persist_size);
		if (!fresh && w->model->persist_valid && !w->model->persist_valid(region->data)) {
			why = "the model's state does not check out";
			persist_reset(region);
			fresh = true;
		}
		if (why)
			device_log(host, "the state left by the previous worker is not usable (%s): starting afresh", why);
		else if (!fresh)
			device_log(host, "resumed its predecessor's state");
		host->persist = region->data;
		host->persist_fresh = fresh;
		w->wl.persist = region;
	}
	r = w->model->init(w->state, host);
	if (r < 0)
		fatal(c->name, "%s init: %s", w->model->name, strerror(-r));
}

static void acquire_loop(struct device_worker *w)
{
	const struct device_config *c = &w->cfg;
	int r = worker_loop_init(&w->wl, w->model, w->state, &w->host, c->doorbell_fd);

	if (r < 0)
		fatal(c->name, "decoder init: %s", strerror(-r));
	w->wl.spin_max = spin_iters_for_us(c->poll_us);
	w->wl.spin_iters = w->wl.spin_max / 4;
	w->wl.poll_max_ns = (uint64_t)c->poll_us * 1000u;
	if (w->model->uses & DEVICE_USES_VIRTIO)
		w->wl.spin_max = w->wl.spin_iters = 0; /* its data path is eventfds: sleep in poll at once */
	w->wl.status = w->status;
	device_fault_init(&w->fault, c, w->host.pid, w->host.state, w->host.state_size);
	if (w->fault.how != DEVICE_FAULT_NONE)
		w->wl.fault = &w->fault;
	acquire_rings(w);
}

/*
 * Only stderr, the control socket, the doorbell, the console and a virtio
 * device's eventfds and backend stay open, plus what the model opened
 * itself in init (an io_uring, say): it reports those as sandbox rules, so
 * they are kept too. The config memfd, guest RAM, the rings and the state
 * region are mapped and their fds closed here.
 */
static void acquire_close_the_rest(struct device_worker *w)
{
	const struct device_config *c = &w->cfg;
	struct sandbox_params *p = &w->params;
	char err[256];

	w->keep[w->nkeep++] = STDERR_FILENO;
	w->keep[w->nkeep++] = c->control_fd;
	w->keep[w->nkeep++] = c->doorbell_fd;
	w->keep[w->nkeep++] = c->console_kick_fd;
	w->keep[w->nkeep++] = c->irq_fd;
	w->keep[w->nkeep++] = c->resample_fd;
	w->keep[w->nkeep++] = c->backend_fd;
	for (unsigned i = 0; i < c->nnotify; i++)
		w->keep[w->nkeep++] = c->notify_fds[i];

	memset(p, 0, sizeof(*p));
	if (w->model->sandbox_rules) {
		p->nextra = w->model->sandbox_rules(w->state, p->extra, SANDBOX_MAX_EXTRA_RULES);
		if (p->nextra > SANDBOX_MAX_EXTRA_RULES)
			p->nextra = SANDBOX_MAX_EXTRA_RULES;
		for (unsigned i = 0; i < p->nextra && w->nkeep < ARRAY_SIZE(w->keep); i++) {
			bool known = false;

			for (unsigned k = 0; k < w->nkeep; k++)
				known |= w->keep[k] == p->extra[i].fd;
			if (!known && p->extra[i].fd >= 0)
				w->keep[w->nkeep++] = p->extra[i].fd;
		}
	}
	if (acquire_close_others(w->keep, w->nkeep, err, sizeof(err)) < 0)
		fatal(c->name, "%s", err);
}

static void acquire(struct device_worker *w, int config_fd)
{
	struct device_config *c = &w->cfg;
	char err[256], comm[16 + DEVICE_CONFIG_NAME_MAX]; /* the kernel keeps the first 15 bytes */
	int r;

	r = acquire_config(config_fd, c, err, sizeof(err));
	if (r < 0)
		fatal("?", "%s", err);
	w->model = device_model_find(c->model);
	if (!w->model)
		fatal(c->name, "unknown device model '%s'", c->model);
	r = acquire_check_model(c, w->model, err, sizeof(err));
	if (r == 0)
		r = acquire_ignore_signals(err, sizeof(err));
	if (r == 0)
		r = acquire_check_fds(c, err, sizeof(err));
	if (r == 0)
		r = acquire_status(c->status_fd, &w->status, err, sizeof(err));
	if (r < 0)
		fatal(c->name, "%s", err);
	acquire_model(w);
	acquire_loop(w);
	acquire_model_init(w);
	acquire_close_the_rest(w);

	snprintf(comm, sizeof(comm), "squib-dev-%s", c->name);
	if (prctl(PR_SET_NAME, comm) < 0)
		fatal(c->name, "prctl(PR_SET_NAME): %s", strerror(errno));
	/*
	 * No core dumps: this process maps all of guest RAM, and a tenant's
	 * memory must never land in a core file. Also makes the worker
	 * non-dumpable, so processes of the same uid cannot ptrace it.
	 */
	{
		const struct rlimit no_core = { 0, 0 };

		if (setrlimit(RLIMIT_CORE, &no_core) < 0 || prctl(PR_SET_DUMPABLE, 0) < 0)
			fatal(c->name, "disabling core dumps: %s", strerror(errno));
	}
}

/* ---- narrow ----------------------------------------------------------------- */

static void narrow(struct device_worker *w)
{
	const struct device_config *c = &w->cfg;
	struct sandbox_params *p = &w->params; /* extra rules filled by acquire_close_the_rest */
	char who[8 + DEVICE_CONFIG_NAME_MAX];
	int r;

	p->vcpu_fd = -1;
	p->log_fd = STDERR_FILENO;
	snprintf(who, sizeof(who), "dev-%s", c->name);
	p->log_who = who;
	p->control_fd = c->control_fd;
	p->doorbell_fd = c->doorbell_fd;
	for (size_t i = 0; i < ARRAY_SIZE(p->doorbell_fds); i++)
		p->doorbell_fds[i] = -1;
	device_fault_prepare(&w->fault, p); /* --fault: the one signal it may send itself */
	p->fault_pid = w->host.pid;
	r = sandbox_enter(SANDBOX_ROLE_DEVICE, p, w->status);
	if (r < 0)
		fatal(c->name, "sandbox_enter: %s", strerror(-r));
}

/* ---- serve ------------------------------------------------------------------ */

/*
 * From here on only the syscalls listed in worker_loop.c: no stdio, no
 * allocation, and _exit (exit_group) rather than exit.
 */
static NORETURN void serve(struct device_worker *w)
{
	int r = control_send(w->cfg.control_fd, CONTROL_READY, 0, 0);

	if (r < 0) {
		device_log(&w->host, "sending CONTROL_READY: %s", strerrordesc_np(-r));
		_exit(1);
	}
	r = worker_loop_run(&w->wl);
	if (r < 0) {
		device_log(&w->host, "device loop: %s", strerrordesc_np(-r));
		_exit(1);
	}
	_exit(0);
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
	static struct device_worker w; /* one per process; static keeps the large loop off the stack */
	int config_fd = parse_command_line(argc, argv);

	acquire(&w, config_fd);
	narrow(&w);
	serve(&w);
}
