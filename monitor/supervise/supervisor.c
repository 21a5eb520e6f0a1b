/* SPDX-License-Identifier: MIT */
/*
 * The monitor's event loop: signals, worker pidfds, device control sockets
 * and the vCPU workers' monitor rings; and the one way a VM ends (vm_end).
 *
 * Ending: the first reason wins and fixes the exit status. vCPU workers are
 * killed and reaped first (so no new record enters a ring), then each device
 * worker is told to drain its rings and exit, so console output the guest
 * wrote before it ended is never lost; a device that does not stop in time
 * is killed. The loop ends when no worker is left.
 */
#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/raw_syscall.h"
#include "monitor/exit_status.h"
#include "monitor/vm.h"
#include "monitor/log.h"
#include "monitor/supervise/device_restart.h"
#include "monitor/supervise/device_workers.h"
#include "monitor/supervise/ring_drain.h"
#include "monitor/supervise/spawner.h"
#include "monitor/supervise/supervisor.h"
#include "monitor/supervise/vcpu_workers.h"
#include "monitor/supervise/worker_signal.h"

#define DEVICE_STOP_TIMEOUT_SEC 10

/* Copies untrusted text, replacing anything unprintable. */
static void sanitize(char *dst, size_t cap, const char *src)
{
	size_t i = 0;

	for (; src[i] && i + 1 < cap; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
	dst[i] = '\0';
}

static bool any_device_alive(const struct vm *vm)
{
	for (unsigned d = 0; d < vm->ndevices; d++)
		if (vm->devices[d].alive)
			return true;
	return false;
}

void supervisor_check_all_stopped(struct vm *vm)
{
	if (vm->ending && !any_device_alive(vm))
		event_base_loopbreak(vm->base);
}

static void on_stop_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct vm *vm = arg;

	(void)fd;
	(void)what;
	for (unsigned d = 0; d < vm->ndevices; d++) {
		if (vm->devices[d].alive) {
			mlog("device worker %s (pid %d) did not stop in %d s; killing it", vm->devices[d].spec->name,
			     (int)vm->devices[d].pid, DEVICE_STOP_TIMEOUT_SEC);
			device_worker_kill(vm, &vm->devices[d]);
		}
	}
	supervisor_check_all_stopped(vm);
}

static void drain_monitor_rings(struct vm *vm);

void vm_end(struct vm *vm, int status, const char *fmt, ...)
{
	struct timeval tv = { .tv_sec = DEVICE_STOP_TIMEOUT_SEC };
	char reason[512];
	va_list ap;

	if (vm->ending)
		return;
	vm->ending = true;
	vm->exit_status = status;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	mlog("%s", reason);

	console_stop(&vm->console); /* the terminal is the user's again, at once */
	vcpu_workers_kill_all(vm);
	drain_monitor_rings(vm); /* debug records posted just before the end */
	device_restarts_cancel(vm);
	for (unsigned d = 0; d < vm->ndevices; d++)
		device_worker_stop(&vm->devices[d]);
	vm->ev_stop_timeout = evtimer_new(vm->base, on_stop_timeout, vm);
	if (vm->ev_stop_timeout)
		evtimer_add(vm->ev_stop_timeout, &tv);
	supervisor_check_all_stopped(vm);
}

static void handle_monitor_exit(struct vm *vm, struct vcpu_instance *v, const struct vm_exit *e)
{
	char msg[VM_EXIT_MESSAGE_MAX + 1];
	int32_t inline_status;

	switch (e->kind) {
	case VM_EXIT_DEBUG:
		mlog("vcpu%u: step pc=0x%llx dr6=0x%llx", v->index, (unsigned long long)e->u.debug.pc,
		     (unsigned long long)e->u.debug.syndrome);
		return;
	case VM_EXIT_HLT:
		return;
	case VM_EXIT_SHUTDOWN:
		inline_status = atomic_load(&v->worker->inline_exit_status);
		if (inline_status > 0 && inline_status <= 256)
			vm_end(vm, inline_status - 1, "guest exited through testdev with status %d (vcpu%u)",
			       inline_status - 1, v->index);
		else
			vm_end(vm, EXIT_GUEST_DONE, "guest shutdown (vcpu%u)", v->index);
		return;
	case VM_EXIT_RESET:
		vm->reset_requested = true;
		vm_end(vm, EXIT_GUEST_DONE, "guest reset (vcpu%u); %s", v->index,
		       vm->cfg.on_reboot == REBOOT_RESTART ? "booting it again" : "the VM ends (--on-reboot exit)");
		return;
	case VM_EXIT_TRIPLE_FAULT:
		/* Not a reset the guest asked for: its registers are logged just above. */
		if (vm->cfg.on_reboot == REBOOT_RESTART) {
			vm->reset_requested = true;
			vm_end(vm, EXIT_GUEST_DONE, "guest triple fault (vcpu%u); booting it again", v->index);
		} else {
			vm_end(vm, EXIT_GUEST_FAULT, "guest triple fault (vcpu%u): the CPU faulted while delivering "
			       "a double fault; the VM ends with status %d", v->index, EXIT_GUEST_FAULT);
		}
		return;
	case VM_EXIT_INTERNAL_ERROR:
		sanitize(msg, sizeof(msg), e->u.internal_error.message);
		vm_end(vm, EXIT_VCPU_FAILED, "vcpu%u stopped: %s", v->index, msg);
		return;
	default:
		mlog("vcpu%u: unexpected %s exit on the monitor ring; ignored", v->index, vm_exit_kind_name(e->kind));
		return;
	}
}

static void drain_one(struct vm *vm, struct vcpu_instance *v)
{
	struct vm_exit e;
	uint32_t seq;
	int r;

	/* Bounded: at most a budget's worth per call (ring_drain.h). */
	for (uint32_t n = 0; n < MONITOR_RING_BUDGET; n++) {
		r = monitor_ring_next(&v->monitor_ring, &vm->decoder, &e, &seq);
		if (r == 0)
			return;
		if (r < 0) {
			vm_end(vm, EXIT_VCPU_FAILED, "vcpu%u's monitor ring is corrupt (%s)", v->index, strerror(-r));
			return;
		}
		ring_advance(&v->monitor_ring);
		handle_monitor_exit(vm, v, &e);
	}
	/* A full budget handled: come back on the next loop iteration. */
	(void)raw_eventfd_signal(vm->monitor_doorbell_fd);
}

static void drain_monitor_rings(struct vm *vm)
{
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct vcpu_instance *v = &vm->vcpus[i];
		uint32_t faults = atomic_exchange(&v->worker->device_faults, 0);
		uint32_t timeouts = atomic_exchange(&v->worker->device_timeouts, 0);

		drain_one(vm, v);
		for (unsigned d = 0; (faults | timeouts) && d < vm->ndevices; d++) {
			if (faults & (1u << d))
				device_broke_protocol(vm, &vm->devices[d], v->index, -EPROTO);
			else if (timeouts & (1u << d))
				device_missed_deadline(vm, &vm->devices[d], v->index);
		}
	}
}

static void on_doorbell(evutil_socket_t fd, short what, void *arg)
{
	struct vm *vm = arg;
	uint64_t count;

	(void)what;
	(void)!read(fd, &count, sizeof(count));
	drain_monitor_rings(vm);
}

/*
 * A worker's pidfd became readable: stop watching it and reap the worker.
 * false when there is nothing to reap (already reaped at teardown).
 */
static bool reap_worker(struct event *ev, int pidfd, bool *alive, siginfo_t *info)
{
	event_del(ev);
	if (!*alive)
		return false;
	memset(info, 0, sizeof(*info));
	if (waitid(P_PIDFD, (id_t)pidfd, info, WEXITED) < 0)
		return false;
	*alive = false;
	return true;
}

static void on_vcpu_exit(evutil_socket_t fd, short what, void *arg)
{
	struct vcpu_instance *v = arg;
	struct vm *vm = v->vm;
	siginfo_t info;
	char how[160];

	(void)what;
	if (!reap_worker(v->ev_pid, fd, &v->alive, &info))
		return;
	drain_one(vm, v); /* the reason it stopped, if it said one */
	if (vm->ending)
		return;
	if (info.si_code == CLD_EXITED && info.si_status == VCPU_EXIT_STOPPED) {
		vm_end(vm, EXIT_VCPU_FAILED, "vCPU worker %u (pid %d) stopped without a reason", v->index, (int)v->pid);
		return;
	}
	worker_describe_death(info.si_code, info.si_status, &v->worker->status, how, sizeof(how));
	vm_end(vm, EXIT_VCPU_FAILED, "vCPU worker %u (pid %d) %s", v->index, (int)v->pid, how);
}

/* Events from the device spawner: a worker started, could not start, or died. */
static void on_spawner(evutil_socket_t fd, short what, void *arg)
{
	struct vm *vm = arg;
	struct spawner_msg m;
	int r;

	(void)fd;
	(void)what;
	while ((r = spawner_receive(vm, &m, -1)) == 0)
		device_spawner_event(vm, &m);
	if (r == -EAGAIN)
		return;
	event_del(vm->ev_spawner);
	if (r == -EPROTO)
		mlog("the device spawner sent a malformed event; it is not listened to any more");
}

/* The spawner died: its workers die with it (PR_SET_PDEATHSIG), and nothing can restart them. */
static void on_spawner_exit(evutil_socket_t fd, short what, void *arg)
{
	struct vm *vm = arg;
	siginfo_t info;
	char how[160];

	(void)what;
	event_del(vm->ev_spawner_pid);
	memset(&info, 0, sizeof(info));
	if (waitid(P_PIDFD, (id_t)fd, &info, WEXITED) < 0)
		return;
	vm->spawner_pid = 0;
	for (unsigned d = 0; d < vm->ndevices; d++)
		vm->devices[d].alive = false;
	worker_describe_death(info.si_code, info.si_status, NULL, how, sizeof(how));
	if (!vm->ending)
		vm_end(vm, EXIT_DEVICE_FAILED, "the device spawner (pid %d) %s; its device workers died with it",
		       (int)info.si_pid, how);
	supervisor_check_all_stopped(vm);
}

static void on_device_control(evutil_socket_t fd, short what, void *arg)
{
	struct device_instance *dev = arg;
	struct vm *vm = dev->vm;
	struct control_msg msg;
	ssize_t n;

	(void)what;
	n = recv(fd, &msg, sizeof(msg), MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0)
		return;
	if (n == 0) {
		event_del(dev->ev_control); /* it is exiting; its pidfd says how */
		return;
	}
	if (n != (ssize_t)sizeof(msg)) {
		if (dev->ignored_logged++ < DEVICE_IGNORED_LOG_MAX) /* a worker could send these without end */
			mlog("device worker %s sent a %zd-byte control message; ignored%s", dev->spec->name, n,
			     dev->ignored_logged == DEVICE_IGNORED_LOG_MAX ? " (the last such line)" : "");
		return;
	}
	switch (msg.type) {
	case CONTROL_VM_EXIT:
		if (!dev->spec->may_end_vm) {
			/* A forged clean exit: a worker that sends it is not doing its device's job. */
			vm_end(vm, EXIT_DEVICE_FAILED,
			       "device worker %s (pid %d) sent CONTROL_VM_EXIT, which only testdev may send",
			       dev->spec->name, (int)dev->pid);
			return;
		}
		vm_end(vm, (int)(msg.arg & 0xff), "guest exited through testdev with status %u", msg.arg & 0xff);
		return;
	case CONTROL_RING_ERROR:
		vm_end(vm, EXIT_VCPU_FAILED, "device worker %s reports that vcpu%u broke the ring protocol (%s)",
		       dev->spec->name, msg.arg, strerror((int)-msg.value));
		return;
	case CONTROL_READY:
		device_ready(vm, dev);
		return;
	case CONTROL_SERVED:
		device_served(vm, dev);
		return;
	default:
		if (dev->ignored_logged++ < DEVICE_IGNORED_LOG_MAX)
			mlog("device worker %s sent unknown control message type %u; ignored%s", dev->spec->name, msg.type,
			     dev->ignored_logged == DEVICE_IGNORED_LOG_MAX ? " (the last such line)" : "");
		return;
	}
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct vm *vm = arg;

	(void)what;
	vm_end(vm, EXIT_SIGNAL_BASE + (int)sig, "stopped by SIG%s", sigabbrev_np((int)sig) ?: "?");
}

/*
 * SIGUSR1: log the state of every vCPU and device and keep running. The test
 * harness sends it to a VM that missed its deadline, before it kills it;
 * an operator can send it to a guest that seems stuck.
 */
static void on_dump_signal(evutil_socket_t sig, short what, void *arg)
{
	struct vm *vm = arg;

	(void)sig;
	(void)what;
	if (vm->ending)
		return;
	mlog("state dump requested (SIGUSR1)");
	vcpu_workers_request_dump(vm);
	for (unsigned d = 0; d < vm->ndevices; d++)
		device_worker_request_dump(&vm->devices[d]);
}

/* Ctrl-A x on the console (console_start). */
static void on_console_quit(void *ctx)
{
	vm_end(ctx, EXIT_GUEST_DONE, "Ctrl-A x: ending the VM");
}

int supervisor_setup(struct vm *vm)
{
	static const int sigs[3] = { SIGINT, SIGTERM, SIGHUP };
	int wake_fd = -1;

	vm->base = event_base_new();
	if (!vm->base)
		return -ENOMEM;
	for (unsigned i = 0; i < 3; i++) {
		vm->ev_signals[i] = evsignal_new(vm->base, sigs[i], on_signal, vm);
		if (!vm->ev_signals[i] || evsignal_add(vm->ev_signals[i], NULL) < 0)
			return -ENOMEM;
	}
	vm->ev_signals[3] = evsignal_new(vm->base, SIGUSR1, on_dump_signal, vm);
	if (!vm->ev_signals[3] || evsignal_add(vm->ev_signals[3], NULL) < 0)
		return -ENOMEM;
	vm->ev_doorbell = event_new(vm->base, vm->monitor_doorbell_fd, EV_READ | EV_PERSIST, on_doorbell, vm);
	if (!vm->ev_doorbell || event_add(vm->ev_doorbell, NULL) < 0)
		return -ENOMEM;
	for (unsigned d = 0; d < vm->ndevices; d++) {
		struct device_instance *dev = &vm->devices[d];

		dev->vm = vm;
		dev->ev_control = event_new(vm->base, dev->control_fd, EV_READ | EV_PERSIST, on_device_control, dev);
		if (!dev->ev_control || event_add(dev->ev_control, NULL) < 0)
			return -ENOMEM;
	}
	vm->ev_spawner = event_new(vm->base, vm->spawner_fd, EV_READ | EV_PERSIST, on_spawner, vm);
	vm->ev_spawner_pid = event_new(vm->base, vm->spawner_pidfd, EV_READ | EV_PERSIST, on_spawner_exit, vm);
	if (!vm->ev_spawner || !vm->ev_spawner_pid || event_add(vm->ev_spawner, NULL) < 0 ||
	    event_add(vm->ev_spawner_pid, NULL) < 0)
		return -ENOMEM;
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct vcpu_instance *v = &vm->vcpus[i];

		v->vm = vm;
		v->ev_pid = event_new(vm->base, v->pidfd, EV_READ | EV_PERSIST, on_vcpu_exit, v);
		if (!v->ev_pid || event_add(v->ev_pid, NULL) < 0)
			return -ENOMEM;
	}
	for (unsigned d = 0; d < vm->ndevices; d++)
		if (vm->devices[d].spec->console)
			wake_fd = vm->devices[d].doorbell_fd;
	return console_start(&vm->console, vm->base, wake_fd, on_console_quit, vm);
}

void supervisor_teardown(struct vm *vm)
{
	console_teardown(&vm->console);
	for (unsigned d = 0; d < vm->ndevices; d++) {
		if (vm->devices[d].ev_control)
			event_free(vm->devices[d].ev_control);
		if (vm->devices[d].ev_restart)
			event_free(vm->devices[d].ev_restart);
		if (vm->devices[d].ev_ready)
			event_free(vm->devices[d].ev_ready);
		if (vm->devices[d].ev_removed)
			event_free(vm->devices[d].ev_removed);
	}
	if (vm->ev_spawner)
		event_free(vm->ev_spawner);
	if (vm->ev_spawner_pid)
		event_free(vm->ev_spawner_pid);
	for (unsigned i = 0; vm->vcpus && i < vm->ncpus; i++)
		if (vm->vcpus[i].ev_pid)
			event_free(vm->vcpus[i].ev_pid);
	for (unsigned i = 0; i < ARRAY_SIZE(vm->ev_signals); i++)
		if (vm->ev_signals[i])
			event_free(vm->ev_signals[i]);
	if (vm->ev_doorbell)
		event_free(vm->ev_doorbell);
	if (vm->ev_stop_timeout)
		event_free(vm->ev_stop_timeout);
	if (vm->base)
		event_base_free(vm->base);
	vm->base = NULL;
}
