/* SPDX-License-Identifier: MIT */
/*
 * Syscalls squib-device makes after sandbox_enter (x86-64, glibc 2.36;
 * checked with strace -f on build/squib-device, including a SIGSTOP/SIGCONT
 * while asleep). The device role's seccomp allowlist is built from this:
 *
 *   read            read(2) of the doorbell eventfd (8 bytes) after poll
 *                   says it is readable, to reset it. Only fd: doorbell_fd.
 *   write           write(2): device_log() one-line logs on stderr (fd 2),
 *                   and the model's eventfds (sandbox rules): the uart's
 *                   irq_fd (one 8-byte write per IRQ 4 edge) and its
 *                   console_kick_fd; a virtio device's irqfd.
 *   poll            glibc 2.36's poll() is the poll syscall (nr 7) on x86-64,
 *                   not ppoll: the sleep here (doorbell + control fd + the
 *                   model's fds).
 *   futex           FUTEX_WAKE only (op 1 exactly: shared, no PRIVATE flag),
 *                   from ring_pop (producer waiting for space) and
 *                   ring_reply (producer waiting for a reply). The device
 *                   never waits on a futex.
 *   sendto          glibc send(): control_send() on control_fd, flags
 *                   MSG_NOSIGNAL, NULL address (CONTROL_READY, CONTROL_VM_EXIT,
 *                   CONTROL_RING_ERROR, CONTROL_SERVED).
 *   recvfrom        glibc recv(): control_recv() on control_fd, flags
 *                   MSG_DONTWAIT|MSG_TRUNC, NULL address.
 *   clock_gettime   testdev hypercall 2 (TESTDEV_HC_CLOCK), a raw syscall
 *                   (not the vDSO), CLOCK_MONOTONIC. testdev only.
 *   exit_group      _exit() after CONTROL_STOP (0) or a fatal loop error
 *                   (1). main() never returns or calls exit() once
 *                   sandboxed, so no atexit/stdio work runs.
 *   restart_syscall the kernel resumes an interrupted poll() with it after
 *                   SIGSTOP/SIGCONT or a ptrace attach (seen in strace).
 *   rt_sigreturn    only if a signal handler returns: the sandbox's SIGSYS
 *                   reporter is the only handler installed (SIGINT, SIGTERM,
 *                   SIGQUIT, SIGHUP, SIGPIPE are SIG_IGN; SIGPIPE can not
 *                   fire anyway, send uses MSG_NOSIGNAL).
 *
 * Not needed: ppoll, close, mmap/munmap/brk (nothing is allocated after
 * sandbox_enter: the decoder's zone and the model state are allocated
 * before, and vm_exit_decode never grows the zone), openat, getpid. Text
 * formatting uses vsnprintf and strerrordesc_np (no locale, no syscall).
 */
#include "device-worker/worker_loop.h"

#include <errno.h>
#include <poll.h>
#include <time.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "device-worker/control_io.h"
#include "proto/reply.h"

int worker_loop_init(struct worker_loop *wl, const struct device_model *model, void *state,
		     const struct device_host *host, int doorbell_fd)
{
	int err;

	memset(wl, 0, sizeof(*wl));
	err = vm_wire_decoder_init(&wl->decoder);
	if (err)
		return err;
	wl->model = model;
	wl->state = state;
	wl->host = host;
	wl->doorbell_fd = doorbell_fd;
	wl->control_fd = host->control_fd;
	wl->spin_iters = WORKER_LOOP_DEFAULT_SPIN_ITERS;
	wl->drain_budget = WORKER_LOOP_DEFAULT_DRAIN_BUDGET;
	return 0;
}

int worker_loop_add_ring(struct worker_loop *wl, void *mem, size_t size)
{
	struct worker_ring *r;
	int err;

	if (wl->nrings >= WORKER_LOOP_MAX_RINGS)
		return -ENOSPC;
	r = &wl->rings[wl->nrings];
	memset(r, 0, sizeof(*r));
	err = ring_consumer_attach(&r->c, mem, size);
	if (err)
		return err;
	wl->nrings++;
	return 0;
}

void worker_loop_fini(struct worker_loop *wl)
{
	vm_wire_decoder_fini(&wl->decoder);
}

/* vCPU idx broke the protocol: report, log, abandon its ring. */
static void ring_fault(struct worker_loop *wl, unsigned idx, int err, const char *what)
{
	int serr;

	wl->rings[idx].dead = true;
	device_log(wl->host, "vCPU %u ring: %s (%s); ring abandoned", idx, what, strerrordesc_np(-err));
	serr = control_send(wl->control_fd, CONTROL_RING_ERROR, idx, err);
	if (serr)
		device_log(wl->host, "cannot report the ring error: %s", strerrordesc_np(-serr));
}

/*
 * A model hook that may change persisted state between records (idle,
 * poll_events, stop) runs under a local journal entry (persist.h), so a
 * worker that dies inside it leaves no half-made change; committed then
 * lets the model show the change.
 */
static void local_begin(struct worker_loop *wl)
{
	size_t off = 0, n;

	if (!wl->persist)
		return;
	n = wl->persist->size;
	if (wl->model->journal_range)
		wl->model->journal_range(wl->state, NULL, &off, &n);
	if (n)
		persist_begin_local(wl->persist, off, n);
}

static void local_end(struct worker_loop *wl)
{
	if (wl->persist)
		persist_end(wl->persist);
	if (wl->model->committed)
		wl->model->committed(wl->state);
}

static void model_idle(struct worker_loop *wl)
{
	local_begin(wl);
	wl->model->idle(wl->state);
	local_end(wl);
}

static void model_poll_events(struct worker_loop *wl, const struct pollfd *pfd, unsigned n)
{
	local_begin(wl);
	wl->model->poll_events(wl->state, pfd, n);
	local_end(wl);
}

/* Requests served, for --fault: ring records handled and virtio chains taken. */
static uint64_t requests(const struct worker_loop *wl)
{
	return wl->records + wl->host->chains_taken;
}

/* Decodes and serves one record of ring idx. 0, or -errno on a fatal (our own) error. */
static int handle_record(struct worker_loop *wl, unsigned idx, const uint8_t *rec, uint32_t len, uint32_t seq)
{
	struct worker_ring *r = &wl->rings[idx];
	uint8_t out[VM_WIRE_MAX];
	struct vm_reply reply;
	struct vm_exit exit;
	size_t out_len;
	int err;

	err = vm_exit_decode(&wl->decoder, rec, len, &exit);
	if (err) {
		ring_fault(wl, idx, err, "undecodable record");
		return 0;
	}
	if (wl->fault && vm_exit_needs_reply(&exit) && device_fault_reply_due(wl->fault, requests(wl)))
		device_fault_garbage_reply(wl->fault, wl, idx, seq); /* --fault garbage-ring: does not return */
	if (wl->persist) {
		/* Exactly once (persist.h): the bytes it may change are saved before it is applied. */
		size_t off = 0, n = wl->persist->size;

		if (wl->model->journal_range)
			wl->model->journal_range(wl->state, &exit, &off, &n);
		persist_begin(wl->persist, idx, seq, off, n);
	}
	memset(&reply, 0, sizeof(reply));
	reply.status = VM_REPLY_OK;
	wl->model->handle(wl->state, &exit, &reply);
	if (vm_exit_needs_reply(&exit)) {
		err = vm_reply_pack(&reply, out, sizeof(out), &out_len);
		if (err) {
			device_log(wl->host, "cannot encode the reply to a %s exit: %s",
				   vm_exit_kind_name(exit.kind), strerrordesc_np(-err));
			return err;
		}
		err = ring_reply(&r->c, seq, out, (uint32_t)out_len);
		if (err) {
			device_log(wl->host, "cannot post a reply: %s", strerrordesc_np(-err));
			return err;
		}
	}
	wl->records++;
	wl->since_control++;
	if (wl->status)
		atomic_fetch_add_explicit(&wl->status->records, 1, memory_order_relaxed);
	return 0;
}

/*
 * Pops and serves up to max records of ring idx. Adds the count to
 * *handled. 0 or a fatal -errno.
 */
static int drain_ring(struct worker_loop *wl, unsigned idx, uint32_t max, uint32_t *handled)
{
	struct worker_ring *r = &wl->rings[idx];
	uint8_t rec[RING_RECORD_MAX];
	uint32_t len, seq;
	int err;

	for (uint32_t k = 0; k < max && !r->dead; k++) {
		/* Take, apply, complete (docs/DESIGN.md): head moves only once the record is done. */
		err = ring_peek(&r->c, rec, sizeof(rec), &len, &seq);
		if (err == -EAGAIN)
			return 0;
		if (err) {
			ring_fault(wl, idx, err, "malformed ring");
			return 0;
		}
		err = handle_record(wl, idx, rec, len, seq);
		if (err)
			return err;
		if (!r->dead)
			ring_advance(&r->c);
		if (wl->persist)
			persist_end(wl->persist); /* after head moved: the record is done */
		if (wl->model->committed)
			wl->model->committed(wl->state);
		(*handled)++;
	}
	return 0;
}

/* Round-robin passes over every live ring until all are empty or budget records were handled. */
/*
 * The ring whose oldest record has the earliest order stamp, or -1 when all
 * are empty. Stamps come from one counter per device (ring_producer's
 * order_counter), so serving the earliest first keeps a write one vCPU
 * posted before another vCPU's access (ordered by a guest lock) in front of
 * it, as on hardware. Stamps are compared modulo 2^32: records in flight
 * are far fewer than 2^31.
 */
static int earliest_ring(const struct worker_loop *wl)
{
	int best = -1;
	uint32_t best_order = 0, order;

	for (unsigned i = 0; i < wl->nrings; i++) {
		if (wl->rings[i].dead || ring_peek_order(&wl->rings[i].c, &order) < 0)
			continue;
		if (best < 0 || (int32_t)(order - best_order) < 0) {
			best = (int)i;
			best_order = order;
		}
	}
	return best;
}

static int drain(struct worker_loop *wl, uint32_t budget, uint32_t *handled)
{
	int idx, err;

	*handled = 0;
	if (wl->nrings == 1)
		return wl->rings[0].dead ? 0 : drain_ring(wl, 0, budget, handled);
	while (*handled < budget && (idx = earliest_ring(wl)) >= 0) {
		err = drain_ring(wl, (unsigned)idx, 1, handled);
		if (err)
			return err;
	}
	return 0;
}

static bool any_pending(const struct worker_loop *wl)
{
	for (unsigned i = 0; i < wl->nrings; i++) {
		if (!wl->rings[i].dead && ring_pending(&wl->rings[i].c))
			return true;
	}
	return false;
}

/*
 * CONTROL_STOP: serves exactly what each ring held when the stop arrived
 * (no vCPU runs any more, so that is everything; a vCPU worker that kept
 * pushing could not keep the device alive), then flushes the model.
 */
static int stop(struct worker_loop *wl)
{
	uint32_t handled = 0, pending = 0;
	int err;

	for (unsigned i = 0; i < wl->nrings; i++) {
		struct worker_ring *r = &wl->rings[i];

		if (r->dead)
			continue;
		/* +1 so an impossible tail is popped (and reported) rather than ignored. */
		pending += ring_pending(&r->c) + 1;
	}
	/* In order stamps across rings (as drain does), bounded by what was queued. */
	err = drain(wl, pending, &handled);
	if (err)
		return err;
	local_begin(wl);
	if (wl->model->stop)
		wl->model->stop(wl->state);
	else
		wl->model->idle(wl->state);
	local_end(wl);
	wl->stopped = true;
	return WORKER_LOOP_STOP;
}

/* CONTROL_DUMP: the loop's own view (rings, wake-ups), then the model's. */
static void dump(struct worker_loop *wl)
{
	device_log(wl->host, "state dump: %u rings, %llu sleeps, %llu doorbells, spin %u of %u", wl->nrings,
		   (unsigned long long)wl->sleeps, (unsigned long long)wl->doorbells, wl->spin_iters, wl->spin_max);
	for (unsigned i = 0; i < wl->nrings; i++) {
		bool waiting = ring_pending(&wl->rings[i].c) != 0;

		if (wl->rings[i].dead || waiting)
			device_log(wl->host, "state dump: ring %u (vcpu%u)%s%s", i, i,
				   wl->rings[i].dead ? " broke the protocol" : "", waiting ? " has records waiting" : "");
	}
	if (wl->model->dump)
		wl->model->dump(wl->state);
}

/* Reads every queued control message. CONTINUE, STOP or a fatal -errno. */
static int handle_control(struct worker_loop *wl)
{
	struct control_msg m;
	int err;

	wl->since_control = 0;
	for (;;) {
		err = control_recv(wl->control_fd, &m);
		if (err == -EAGAIN)
			return WORKER_LOOP_CONTINUE;
		if (err == -EBADMSG) {
			device_log(wl->host, "control message of the wrong size ignored");
			continue;
		}
		if (err == -EPIPE) {
			device_log(wl->host, "the monitor closed the control socket");
			return err;
		}
		if (err) {
			device_log(wl->host, "control socket: %s", strerrordesc_np(-err));
			return err;
		}
		if (m.type == CONTROL_STOP)
			return stop(wl);
		if (m.type == CONTROL_DUMP) {
			dump(wl);
			continue;
		}
		device_log(wl->host, "unexpected control message type %u ignored", m.type);
	}
}

/* Withdraws the sleep announcement of every ring that made one. */
static void end_sleep(struct worker_loop *wl)
{
	for (unsigned i = 0; i < wl->nrings; i++) {
		if (wl->rings[i].sleeping) {
			ring_consumer_end_sleep(&wl->rings[i].c);
			wl->rings[i].sleeping = false;
		}
	}
}

/*
 * Announces sleep on every live ring. False (announcements withdrawn) when
 * a record arrived meanwhile and the caller should drain again.
 */
static bool prepare_sleep(struct worker_loop *wl)
{
	for (unsigned i = 0; i < wl->nrings; i++) {
		struct worker_ring *r = &wl->rings[i];

		if (r->dead)
			continue;
		if (!ring_consumer_prepare_sleep(&r->c)) {
			end_sleep(wl);
			return false;
		}
		r->sleeping = true;
	}
	return true;
}

/* Polls the doorbell and the control socket. CONTINUE, STOP or -errno. */
static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts); /* vDSO: no syscall */
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void adapt_polling(struct worker_loop *wl, uint64_t slept_ns)
{
	if (slept_ns < wl->poll_max_ns) {
		uint64_t grown = wl->spin_iters ? (uint64_t)wl->spin_iters * 2 : wl->spin_max / 16 + 1;

		wl->spin_iters = grown > wl->spin_max ? wl->spin_max : (uint32_t)grown;
	} else {
		wl->spin_iters /= 2;
	}
}

static int sleep_and_wake(struct worker_loop *wl, int timeout_ms)
{
	struct pollfd pfd[2 + WORKER_LOOP_MAX_MODEL_FDS] = {
		{ .fd = wl->doorbell_fd, .events = POLLIN },
		{ .fd = wl->control_fd, .events = POLLIN },
	};
	unsigned nmodel = 0;
	uint64_t count;
	ssize_t n;
	int r;

	if (wl->model->pollfds) {
		nmodel = wl->model->pollfds(wl->state, &pfd[2], WORKER_LOOP_MAX_MODEL_FDS);
		if (nmodel > WORKER_LOOP_MAX_MODEL_FDS)
			nmodel = WORKER_LOOP_MAX_MODEL_FDS;
	}
	if (timeout_ms != 0)
		wl->sleeps++; /* a zero-timeout look (the busy path) is no sleep */
	r = poll(pfd, 2 + nmodel, timeout_ms);
	if (r < 0 && errno != EINTR) {
		r = -errno;
		end_sleep(wl);
		device_log(wl->host, "poll: %s", strerrordesc_np(-r));
		return r;
	}
	if (r > 0 && (pfd[0].revents & (POLLERR | POLLNVAL | POLLHUP))) {
		end_sleep(wl);
		device_log(wl->host, "doorbell fd failed (revents %#x)", (unsigned)pfd[0].revents);
		return -EBADF;
	}
	if (r > 0 && (pfd[0].revents & POLLIN)) {
		/* Resets the eventfd counter; only this process reads it. */
		do {
			n = read(wl->doorbell_fd, &count, sizeof(count));
		} while (n < 0 && errno == EINTR);
		if (n < 0 && errno != EAGAIN) {
			r = -errno;
			end_sleep(wl);
			device_log(wl->host, "doorbell read: %s", strerrordesc_np(-r));
			return r;
		}
		wl->doorbells++;
	}
	end_sleep(wl);
	/* Also after a timeout (revents all 0): a model with timeout_ms has a deadline to check. */
	if (r >= 0 && nmodel)
		model_poll_events(wl, &pfd[2], nmodel);
	else if (r == 0 && wl->model->poll_events && wl->model->timeout_ms)
		model_poll_events(wl, &pfd[2], 0);
	if (r > 0 && pfd[1].revents)
		return handle_control(wl);
	return WORKER_LOOP_CONTINUE;
}

/*
 * A successor's first completed request (a record; for virtio, a chain in
 * the used ring): CONTROL_SERVED, once, so the monitor can log the gap a
 * guest saw from the predecessor's death.
 */
static void note_served(struct worker_loop *wl)
{
	uint64_t done;
	int err;

	if (wl->served_sent || wl->host->restart == 0)
		return; /* the common case, on every pass of the loop: nothing to compute */
	done = wl->host->chains_completed;
	if (!(wl->model->uses & DEVICE_USES_VIRTIO))
		done += wl->records;
	if (done == 0)
		return;
	wl->served_sent = true;
	err = control_send(wl->control_fd, CONTROL_SERVED, 0, 0);
	if (err)
		device_log(wl->host, "cannot report its first completed request: %s", strerrordesc_np(-err));
}

int worker_loop_run_once(struct worker_loop *wl, int timeout_ms)
{
	uint64_t slept;
	int r;
	uint32_t handled;
	int err;

	if (wl->stopped)
		return WORKER_LOOP_STOP;
	err = drain(wl, wl->drain_budget, &handled);
	if (err)
		return err;
	note_served(wl);
	if (wl->fault)
		device_fault_check(wl->fault, wl, requests(wl));
	/*
	 * Busy for a long time: flush the model (console latency stays bounded
	 * while a guest prints without pause) and look at the control socket,
	 * both without sleeping.
	 */
	if (wl->since_control >= wl->drain_budget) {
		model_idle(wl);
		if (wl->model->pollfds) {
			wl->since_control = 0;
			return sleep_and_wake(wl, 0); /* the model's eventfds and the control socket */
		}
		return handle_control(wl);
	}
	for (uint32_t i = 0; i < wl->spin_iters; i++) {
		if (any_pending(wl))
			return WORKER_LOOP_CONTINUE;
		cpu_relax();
	}
	if (!prepare_sleep(wl))
		return WORKER_LOOP_CONTINUE;
	model_idle(wl);
	if (wl->model->timeout_ms) {
		int t = wl->model->timeout_ms(wl->state);

		if (t >= 0 && (timeout_ms < 0 || t < timeout_ms))
			timeout_ms = t;
	}
	if (wl->spin_max == 0)
		return sleep_and_wake(wl, timeout_ms);
	slept = monotonic_ns();
	r = sleep_and_wake(wl, timeout_ms);
	slept = monotonic_ns() - slept;
	adapt_polling(wl, slept);
	return r;
}

int worker_loop_run(struct worker_loop *wl)
{
	for (;;) {
		int r = worker_loop_run_once(wl, -1);

		if (r == WORKER_LOOP_STOP)
			return 0;
		if (r < 0)
			return r;
	}
}
