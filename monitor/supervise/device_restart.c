/* SPDX-License-Identifier: MIT */
/* A device worker's death, its restart, and a failed device (device_restart.h). */
#include "monitor/supervise/device_restart.h"

#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/raw_syscall.h"
#include "monitor/exit_status.h"
#include "monitor/log.h"
#include "monitor/supervise/device_workers.h"
#include "monitor/supervise/ring_drain.h"
#include "monitor/supervise/spawner.h"
#include "monitor/supervise/supervisor.h"
#include "monitor/supervise/worker_signal.h"
#include "proto/reply.h"
#include "monitor/vm.h"

#define RESTART_FIRST_DELAY_NS 10000000ull /* 10 ms: a worker that died young is replaced after this */
#define RESTART_MAX_DELAY_NS 1000000000ull /* 1 s */
#define RESTART_STABLE_NS 1000000000ull    /* a worker that served this long did not die young */
#define RESTART_READY_TIMEOUT_S 30          /* a successor's time to say READY (as the first worker's) */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

bool device_restart_budget_ok(const uint64_t *times, unsigned n, uint64_t now, uint32_t budget, uint64_t window_ns)
{
	unsigned recent = 0;

	for (unsigned i = 0; i < n; i++)
		if (times[i] && now - times[i] < window_ns)
			recent++;
	return recent < budget;
}

uint64_t device_restart_delay(unsigned quick_deaths)
{
	uint64_t delay = RESTART_FIRST_DELAY_NS;

	if (quick_deaths == 0)
		return 0;
	for (unsigned i = 1; i < quick_deaths && delay < RESTART_MAX_DELAY_NS; i++)
		delay *= 2;
	return delay > RESTART_MAX_DELAY_NS ? RESTART_MAX_DELAY_NS : delay;
}

/* ---- a failed device: removed hardware ------------------------------------ */

/*
 * Answers every record waiting in the failed device's rings as removed
 * hardware would (reads all ones, writes dropped), so no vCPU waits for a
 * worker that will not come; at most a budget's worth per ring and wake-up
 * (ring_drain.h), then the doorbell brings the monitor back. Trust
 * boundary: the records come from vCPU workers (which share this memory
 * anyway); a malformed one ends the service of that ring, never the monitor.
 */
static void serve_removed(struct vm *vm, struct device_instance *dev)
{
	bool more = false;

	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct ring_consumer *c = &dev->removed_rings[i];
		uint8_t out[VM_WIRE_MAX];
		struct vm_reply reply;
		struct vm_exit e;
		size_t out_len;
		uint32_t seq, n;
		int r = 0;

		for (n = 0; c->hdr && n < MONITOR_RING_BUDGET; n++) {
			r = monitor_ring_next(c, &vm->decoder, &e, &seq);
			if (r <= 0)
				break;
			if (vm_exit_needs_reply(&e)) {
				vm_reply_unclaimed(&e, &reply);
				if (vm_reply_pack(&reply, out, sizeof(out), &out_len) == 0 &&
				    ring_reply(c, seq, out, (uint32_t)out_len) < 0)
					mlog("device %s (removed): cannot answer vcpu%u", dev->spec->name, i);
			}
			ring_advance(c);
		}
		if (r < 0) {
			mlog("device %s (removed): vcpu%u's ring is malformed (%s); not served any more", dev->spec->name,
			     i, strerror(-r));
			c->hdr = NULL;
		}
		more |= n == MONITOR_RING_BUDGET;
	}
	if (more)
		(void)raw_eventfd_signal(dev->doorbell_fd);
}

static void on_removed_doorbell(evutil_socket_t fd, short what, void *arg)
{
	struct device_instance *dev = arg;
	uint64_t count;

	(void)what;
	(void)!read(fd, &count, sizeof(count));
	serve_removed(dev->vm, dev);
}

/* Past the budget: the device is gone for the rest of the VM's life; the VM keeps running. */
static void fail_device(struct vm *vm, struct device_instance *dev, const char *why)
{
	uint32_t bit = 1u << dev->index;

	dev->state = DEVICE_FAILED;
	mlog("device %s failed: %s; it now reads as removed hardware (all ones) and the VM keeps running",
	     dev->spec->name, why);
	for (unsigned i = 0; i < vm->ncpus; i++) {
		atomic_fetch_or(&vm->vcpus[i].worker->device_removed, bit);
		if (ring_consumer_attach(&dev->removed_rings[i], dev->ring_maps[i], dev->ring_size) < 0)
			dev->removed_rings[i].hdr = NULL;
	}
	dev->ev_removed = event_new(vm->base, dev->doorbell_fd, EV_READ | EV_PERSIST, on_removed_doorbell, dev);
	if (!dev->ev_removed || event_add(dev->ev_removed, NULL) < 0)
		mlog("device %s: cannot watch its doorbell; a vCPU that raced its removal may wait", dev->spec->name);
	serve_removed(vm, dev);
}

/* ---- restarting ------------------------------------------------------------ */

static void request_restart(struct vm *vm, struct device_instance *dev)
{
	int r = spawner_request(vm, SPAWNER_SPAWN, dev->index);

	if (r < 0) {
		fail_device(vm, dev, "the spawner is gone");
		return;
	}
	dev->state = DEVICE_STARTING;
	dev->respawn_ns = now_ns();
}

static void on_restart_timer(evutil_socket_t fd, short what, void *arg)
{
	struct device_instance *dev = arg;

	(void)fd;
	(void)what;
	if (!dev->vm->ending && dev->state == DEVICE_BACKOFF)
		request_restart(dev->vm, dev);
}

/* The worker is gone (died, or never started): restart within the budget, or fail the device. */
static void after_death(struct vm *vm, struct device_instance *dev)
{
	uint64_t delay = 0, now = now_ns();
	struct timeval tv;
	char why[96];

	dev->died_ns = now;
	/* Back-off for a crash loop only: a worker that served a while is replaced at once. */
	if (dev->state == DEVICE_RUNNING && now - dev->ready_ns >= RESTART_STABLE_NS)
		dev->quick_deaths = 0;
	else
		dev->quick_deaths++;
	delay = device_restart_delay(dev->quick_deaths);
	if (!device_restart_budget_ok(dev->restart_times_ns, DEVICE_RESTART_HISTORY, now, vm->cfg.restart_budget,
				      (uint64_t)vm->cfg.restart_window_s * 1000000000ull)) {
		snprintf(why, sizeof(why), "%u restarts within %u s (--restart-budget %u/%u)", vm->cfg.restart_budget,
			 vm->cfg.restart_window_s, vm->cfg.restart_budget, vm->cfg.restart_window_s);
		fail_device(vm, dev, why);
		return;
	}
	/* Every attempt counts against the budget, also one whose worker dies before READY. */
	dev->restart_times_ns[dev->restart_attempts++ % DEVICE_RESTART_HISTORY] = now;
	dev->state = DEVICE_BACKOFF;
	if (delay == 0) {
		request_restart(vm, dev);
		return;
	}
	if (!dev->ev_restart)
		dev->ev_restart = evtimer_new(vm->base, on_restart_timer, dev);
	tv.tv_sec = (time_t)(delay / 1000000000ull);
	tv.tv_usec = (suseconds_t)(delay % 1000000000ull / 1000);
	if (!dev->ev_restart || evtimer_add(dev->ev_restart, &tv) < 0) {
		request_restart(vm, dev);
		return;
	}
	mlog("device %s: restarting in %llu ms (its worker died %u times in a row within 1 s of starting)",
	     dev->spec->name, (unsigned long long)(delay / 1000000), dev->quick_deaths);
}

static void died(struct vm *vm, struct device_instance *dev, const struct spawner_msg *m)
{
	char how[160];

	dev->alive = false;
	worker_describe_death(m->code, m->status, dev->status, how, sizeof(how));
	if (vm->ending) {
		if (!(m->code == CLD_EXITED && m->status == 0))
			mlog("device worker %s (pid %d) %s while stopping", dev->spec->name, (int)m->pid, how);
		supervisor_check_all_stopped(vm);
		return;
	}
	if (vm->cfg.device_restart == DEVICE_RESTART_NEVER) {
		vm_end(vm, EXIT_DEVICE_FAILED, "device worker %s (pid %d) %s", dev->spec->name, (int)m->pid, how);
		return;
	}
	if (!dev->spec->resumable) {
		vm_end(vm, EXIT_DEVICE_FAILED, "device worker %s (pid %d) %s; %s keeps its state in its worker, so it "
		       "is not restarted", dev->spec->name, (int)m->pid, how, dev->spec->name);
		return;
	}
	mlog("device worker %s (pid %d) %s", dev->spec->name, (int)m->pid, how);
	/* The next worker's denied syscall, if any, is its own. */
	atomic_store(&dev->status->denied_syscall, -1);
	after_death(vm, dev);
}

/* A successor that neither says READY nor dies in time is killed (and its death handled as any other). */
static void on_ready_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct device_instance *dev = arg;

	(void)fd;
	(void)what;
	if (dev->vm->ending || dev->state != DEVICE_STARTING || !dev->alive)
		return;
	mlog("device worker %s (pid %d) did not get ready in %d s; killing it", dev->spec->name, (int)dev->pid,
	     RESTART_READY_TIMEOUT_S);
	device_worker_kill(dev->vm, dev);
}

static void arm_ready_timeout(struct vm *vm, struct device_instance *dev)
{
	struct timeval tv = { .tv_sec = RESTART_READY_TIMEOUT_S };

	if (!dev->ev_ready)
		dev->ev_ready = evtimer_new(vm->base, on_ready_timeout, dev);
	if (!dev->ev_ready || evtimer_add(dev->ev_ready, &tv) < 0)
		mlog("device %s: cannot time its restart; a successor that hangs at start will not be killed",
		     dev->spec->name);
}

void device_spawner_event(struct vm *vm, const struct spawner_msg *m)
{
	struct device_instance *dev = &vm->devices[m->device];

	switch (m->type) {
	case SPAWNER_SPAWNED:
		dev->pid = m->pid;
		dev->alive = true;
		if (vm->ending)
			device_worker_kill(vm, dev);
		else
			arm_ready_timeout(vm, dev);
		return;
	case SPAWNER_SPAWN_FAILED:
		if (vm->ending) {
			supervisor_check_all_stopped(vm);
			return;
		}
		mlog("device %s: the spawner cannot start a worker: %s", dev->spec->name, strerror(-m->status));
		if (vm->cfg.device_restart == DEVICE_RESTART_NEVER)
			vm_end(vm, EXIT_DEVICE_FAILED, "device %s has no worker", dev->spec->name);
		else
			after_death(vm, dev);
		return;
	case SPAWNER_DIED:
		if (m->pid != dev->pid)
			return; /* not the worker we know of (cannot happen: one at a time) */
		died(vm, dev, m);
		return;
	default:
		return;
	}
}

void device_ready(struct vm *vm, struct device_instance *dev)
{
	uint64_t gap, backoff;

	if (dev->state != DEVICE_STARTING)
		return;
	if (dev->ev_ready)
		evtimer_del(dev->ev_ready);
	dev->state = DEVICE_RUNNING;
	dev->restarts++;
	dev->served_logged = false;
	dev->ready_ns = now_ns();
	gap = dev->ready_ns - dev->died_ns;
	backoff = dev->respawn_ns - dev->died_ns;
	mlog("device %s restarted: worker pid %d ready %llu.%03llu ms after its predecessor died (restart %u; "
	     "%llu.%03llu ms of it back-off)",
	     dev->spec->name, (int)dev->pid, (unsigned long long)(gap / 1000000),
	     (unsigned long long)(gap / 1000 % 1000), dev->restarts, (unsigned long long)(backoff / 1000000),
	     (unsigned long long)(backoff / 1000 % 1000));
	(void)vm;
}

void device_served(struct vm *vm, struct device_instance *dev)
{
	uint64_t gap;

	/* Trust boundary: the worker may send it any time, any number of times; only the first after READY counts. */
	if (dev->state != DEVICE_RUNNING || dev->restarts == 0 || dev->served_logged)
		return;
	dev->served_logged = true;
	gap = now_ns() - dev->died_ns;
	mlog("device %s served its first request %llu.%03llu ms after its predecessor died (restart %u)",
	     dev->spec->name, (unsigned long long)(gap / 1000000), (unsigned long long)(gap / 1000 % 1000),
	     dev->restarts);
	(void)vm;
}

void device_broke_protocol(struct vm *vm, struct device_instance *dev, unsigned vcpu, int err)
{
	if (vm->cfg.device_restart == DEVICE_RESTART_NEVER) {
		vm_end(vm, EXIT_DEVICE_FAILED, "device worker %s (pid %d) broke the ring protocol with vcpu%u",
		       dev->spec->name, (int)dev->pid, vcpu);
		return;
	}
	if (!dev->alive || dev->state == DEVICE_FAILED)
		return;
	mlog("device worker %s (pid %d) broke the ring protocol with vcpu%u (%s); killing it", dev->spec->name,
	     (int)dev->pid, vcpu, strerror(-err));
	device_worker_kill(vm, dev);
}

void device_missed_deadline(struct vm *vm, struct device_instance *dev, unsigned vcpu)
{
	if (vm->cfg.device_restart == DEVICE_RESTART_NEVER) {
		vm_end(vm, EXIT_DEVICE_FAILED, "device worker %s (pid %d) did not answer vcpu%u's read in %u s",
		       dev->spec->name, (int)dev->pid, vcpu, VCPU_REPLY_DEADLINE_S);
		return;
	}
	if (!dev->alive || dev->state == DEVICE_FAILED)
		return;
	mlog("device worker %s (pid %d) did not answer vcpu%u's read in %u s; treating it as failed: killing it",
	     dev->spec->name, (int)dev->pid, vcpu, VCPU_REPLY_DEADLINE_S);
	device_worker_kill(vm, dev);
}

void device_restarts_cancel(struct vm *vm)
{
	for (unsigned d = 0; d < vm->ndevices; d++) {
		struct device_instance *dev = &vm->devices[d];

		if (dev->ev_restart)
			evtimer_del(dev->ev_restart);
		if (dev->ev_ready)
			evtimer_del(dev->ev_ready);
		if (dev->ev_removed)
			event_del(dev->ev_removed);
	}
}

void device_restarts_report(const struct vm *vm)
{
	for (unsigned d = 0; d < vm->ndevices; d++) {
		const struct device_instance *dev = &vm->devices[d];

		mlog("device %s: %u restarts%s", dev->spec->name, dev->restarts,
		     dev->state == DEVICE_FAILED ? ", failed (past its restart budget)" : "");
	}
}
