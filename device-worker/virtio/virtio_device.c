/* SPDX-License-Identifier: MIT */
/*
 * The virtio glue (virtio_device.h): register accesses from the rings,
 * kicks from ioeventfds, interrupts through a resampling irqfd, and the
 * in-flight bookkeeping in the device-state region.
 *
 * Runs inside the device worker's sandbox after virtio_dev_init: it only
 * reads its notify and resample eventfds, writes its irqfd and logs.
 */
#include "device-worker/virtio/virtio_device.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

/* Diagnostics (bad widths, refused features, ...) logged per device before going quiet. */
#define VIRTIO_DEV_DIAG_LOG_MAX 16
/* Times the glue re-runs a queue whose driver added buffers during the EVENT_IDX re-arm. */
#define VIRTIO_DEV_REARM_ROUNDS 16

static bool negotiated(const struct virtio_dev *vd, uint64_t feature)
{
	return (vd->st->driver_features & feature) != 0;
}

bool virtio_dev_queue_live(const struct virtio_dev *vd, unsigned q)
{
	return q < vd->model->nqueues && vd->vq[q].size != 0 && virtio_mmio_queue_live(vd->st, q);
}

/*
 * Asserts the interrupt line. Precondition: irq_fd is a KVM irqfd (or -1 in
 * unit tests). write(2) of 8 bytes to an eventfd cannot block for a value
 * of 1 unless the counter is near overflow, which KVM's reads prevent.
 */
static void assert_line(struct virtio_dev *vd)
{
	const uint64_t one = 1;
	ssize_t n;

	vd->stats.interrupts++;
	if (vd->irq_fd < 0)
		return;
	do {
		n = write(vd->irq_fd, &one, sizeof(one));
	} while (n < 0 && errno == EINTR);
	if (n < 0 && vd->diag_logged < VIRTIO_DEV_DIAG_LOG_MAX) {
		vd->diag_logged++;
		device_log(vd->host, "irqfd write: %s", strerrordesc_np(errno));
	}
}

/* Forgets the device's work: every queue's driver-side view and the model's requests. */
static void drop_queues(struct virtio_dev *vd, int queue)
{
	for (unsigned q = 0; q < VIRTIO_STATE_MAX_QUEUES; q++) {
		if (queue >= 0 && (unsigned)queue != q)
			continue;
		memset(&vd->vq[q], 0, sizeof(vd->vq[q]));
		memset(vd->replay[q], 0, sizeof(vd->replay[q]));
		vd->replay_next[q] = 0;
		vd->drained[q] = vd->pushed[q] = false;
	}
	vd->model->reset(vd, vd->ms, queue);
}

static void enter_needs_reset(struct virtio_dev *vd, unsigned q, const char *why)
{
	struct virtio_mmio_effects fx = { 0 };

	if (vd->st->status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	vd->stats.needs_reset++;
	device_log(vd->host, "queue %u: %s: device needs reset", q, why);
	virtio_mmio_needs_reset(vd->st, &fx);
	drop_queues(vd, -1);
	if (fx.flags & VIRTIO_MMIO_FX_RAISE_IRQ)
		assert_line(vd);
}

void virtio_dev_fail(struct virtio_dev *vd, unsigned q, const char *why)
{
	enter_needs_reset(vd, q, why);
}

/*
 * The next chain the predecessor left in flight on queue q, walked again
 * from its head: 1, or 0 when none is left, or -EINVAL (needs reset).
 */
static int pop_replay(struct virtio_dev *vd, unsigned q, struct virtq_chain *chain)
{
	const char *why = NULL;
	int r;

	while (vd->replay_next[q] < vd->vq[q].size) {
		uint16_t h = vd->replay_next[q]++;

		if (!((vd->replay[q][h / 64u] >> (h % 64u)) & 1u) || !virtio_state_inflight_test(vd->st, q, h))
			continue;
		r = virtq_chain_at(&vd->vq[q], h, chain, &why);
		if (r < 0) {
			enter_needs_reset(vd, q, why ? why : "a resubmitted chain is malformed");
			return -EINVAL;
		}
		vd->stats.chains++;
		vd->stats.replayed++;
		vd->host->chains_taken++;
		return 1;
	}
	return 0;
}

int virtio_dev_pop(struct virtio_dev *vd, unsigned q, struct virtq_chain *chain)
{
	struct virtio_queue_state *qs;
	const char *why = NULL;
	uint16_t taken;
	int r;

	if (!virtio_dev_queue_live(vd, q)) {
		chain->nbufs = 0;
		return 0;
	}
	r = pop_replay(vd, q, chain);
	if (r != 0)
		return r;
	taken = vd->vq[q].last_avail_idx;
	r = virtq_pop(&vd->vq[q], chain, &why);
	if (r == 0) {
		vd->drained[q] = true;
		return 0;
	}
	if (r < 0) {
		enter_needs_reset(vd, q, why ? why : "malformed chain");
		return -EINVAL;
	}
	qs = &vd->st->queues[q];
	/* Take order (virtio_state.h): journal, bit, index, journal closed. */
	__atomic_store_n(&qs->take_journal, virtio_journal_make(chain->head, taken), __ATOMIC_RELEASE);
	if (!virtio_state_inflight_set(vd->st, q, chain->head)) {
		vd->vq[q].last_avail_idx--;
		__atomic_store_n(&qs->take_journal, 0, __ATOMIC_RELEASE);
		enter_needs_reset(vd, q, "a chain head that is already in flight");
		return -EINVAL;
	}
	__atomic_store_n(&qs->last_avail_idx, vd->vq[q].last_avail_idx, __ATOMIC_RELEASE);
	__atomic_store_n(&qs->take_journal, 0, __ATOMIC_RELEASE);
	vd->stats.chains++;
	vd->host->chains_taken++;
	return 1;
}

int virtio_dev_push(struct virtio_dev *vd, unsigned q, uint16_t head, uint32_t written)
{
	struct virtio_queue_state *qs;
	int r;

	if (!virtio_dev_queue_live(vd, q) || !virtio_state_inflight_test(vd->st, q, head))
		return -ESTALE;
	qs = &vd->st->queues[q];
	if (!vd->pushed[q]) {
		vd->pushed[q] = true;
		vd->batch_used[q] = vd->vq[q].used_idx;
	}
	/* Complete order (virtio_state.h): journal, publish, index, bit, journal closed. */
	__atomic_store_n(&qs->push_journal, virtio_journal_make(head, (uint16_t)(vd->vq[q].used_idx + 1)),
			 __ATOMIC_RELEASE);
	r = virtq_push(&vd->vq[q], head, written);
	if (r < 0) {
		__atomic_store_n(&qs->push_journal, 0, __ATOMIC_RELEASE);
		return r;
	}
	vd->pushes_since_isr_read++;
	vd->host->chains_completed++;
	__atomic_store_n(&qs->used_idx, vd->vq[q].used_idx, __ATOMIC_RELEASE);
	(void)virtio_state_inflight_clear(vd->st, q, head);
	__atomic_store_n(&qs->push_journal, 0, __ATOMIC_RELEASE);
	return 0;
}

/* Interrupts the driver once for every queue that completed work, if it wants that. */
static void notify_used(struct virtio_dev *vd)
{
	bool raise = false;

	for (unsigned q = 0; q < vd->model->nqueues && q < VIRTIO_STATE_MAX_QUEUES; q++) {
		if (!vd->pushed[q])
			continue;
		vd->pushed[q] = false;
		if (virtio_dev_queue_live(vd, q) && virtq_needs_notify(&vd->vq[q], vd->batch_used[q]))
			raise = true;
	}
	if (raise) {
		struct virtio_mmio_effects fx = { 0 };

		virtio_mmio_interrupt(vd->st, VIRTIO_MMIO_IRQ_USED, &fx);
		if (fx.flags & VIRTIO_MMIO_FX_RAISE_IRQ)
			assert_line(vd);
	}
}

/*
 * Signals queue q's own ioeventfd, so the loop comes back to it after
 * serving everything else: used when a queue still has chains after
 * VIRTIO_DEV_REARM_ROUNDS batches. Without it a model's batch limit would
 * stall the queue: EVENT_IDX is not re-armed while chains are pending, so
 * the driver does not kick again.
 */
static void self_kick(struct virtio_dev *vd, unsigned q)
{
	const uint64_t one = 1;
	ssize_t n;

	if (vd->notify_fds[q] < 0)
		return;
	do {
		n = write(vd->notify_fds[q], &one, sizeof(one));
	} while (n < 0 && errno == EINTR);
}

/*
 * Runs the model on queue q until it drains the queue, then re-arms
 * EVENT_IDX and runs it again while the driver slipped buffers in
 * meanwhile. A round in which the model took no chain and left the queue
 * non-empty means it waits for its backend (a full tap, a full I/O ring):
 * its backend event resumes it. A queue still busy after the last round is
 * kicked again through its own eventfd.
 */
static void run_queue(struct virtio_dev *vd, unsigned q)
{
	bool again = false;

	for (unsigned round = 0; round < VIRTIO_DEV_REARM_ROUNDS; round++) {
		uint64_t before = vd->stats.chains;

		again = false;
		if (!virtio_dev_queue_live(vd, q))
			break;
		vd->drained[q] = false;
		vd->model->queue_notify(vd, vd->ms, q);
		if (!virtio_dev_queue_live(vd, q))
			break;
		if (!vd->drained[q]) {
			if (vd->stats.chains == before)
				break; /* waiting for its backend */
			again = true;
			continue;  /* stopped at its batch limit */
		}
		vd->drained[q] = false;
		virtq_set_avail_event(&vd->vq[q]);
		if (virtq_pending(&vd->vq[q]) == 0)
			break;
		again = true;
	}
	if (again)
		self_kick(vd, q);
	notify_used(vd);
}

/*
 * After a backend event: a queue the model found empty is re-armed the same
 * way (a receive queue that ran out of buffers must get its next kick).
 */
static void rearm_drained(struct virtio_dev *vd)
{
	for (unsigned q = 0; q < vd->model->nqueues && q < VIRTIO_STATE_MAX_QUEUES; q++) {
		if (!vd->drained[q] || !virtio_dev_queue_live(vd, q))
			continue;
		vd->drained[q] = false;
		virtq_set_avail_event(&vd->vq[q]);
		if (virtq_pending(&vd->vq[q]) != 0)
			run_queue(vd, q);
	}
}

static void start_queue(struct virtio_dev *vd, unsigned q)
{
	const struct virtio_queue_state *qs = &vd->st->queues[q];
	const char *why = NULL;
	int r;

	r = virtq_init(&vd->vq[q], &vd->host->mem, (uint16_t)qs->num, qs->desc_addr, qs->driver_addr,
		       qs->device_addr, negotiated(vd, VIRTIO_FEAT_EVENT_IDX),
		       negotiated(vd, VIRTIO_FEAT_INDIRECT_DESC), &why);
	if (r < 0)
		enter_needs_reset(vd, q, why ? why : "queue set-up refused");
}

static void log_diagnostics(struct virtio_dev *vd, uint32_t flags, uint64_t offset, bool write)
{
	if (!(flags & VIRTIO_MMIO_FX_DIAGNOSTICS) || vd->diag_logged >= VIRTIO_DEV_DIAG_LOG_MAX)
		return;
	vd->diag_logged++;
	device_log(vd->host, "guest %s at window offset %#llx%s%s%s%s%s%s", write ? "write" : "read",
		   (unsigned long long)offset, flags & VIRTIO_MMIO_FX_BAD_WIDTH ? ": bad width" : "",
		   flags & VIRTIO_MMIO_FX_OUT_OF_RANGE ? ": out of range" : "",
		   flags & VIRTIO_MMIO_FX_IGNORED ? ": ignored" : "",
		   flags & VIRTIO_MMIO_FX_FEATURES_REFUSED ? ": FEATURES_OK refused" : "",
		   flags & VIRTIO_MMIO_FX_QUEUE_REFUSED ? ": QueueReady refused" : "",
		   vd->diag_logged == VIRTIO_DEV_DIAG_LOG_MAX ? " (further diagnostics not logged)" : "");
}

/* Carries out what a register write asked for (virtio_mmio.h, "Effects"). */
static void apply_effects(struct virtio_dev *vd, const struct virtio_mmio_effects *fx)
{
	unsigned q = fx->queue;

	if (fx->flags & (VIRTIO_MMIO_FX_RESET | VIRTIO_MMIO_FX_NEEDS_RESET))
		drop_queues(vd, -1);
	if ((fx->flags & VIRTIO_MMIO_FX_QUEUE_STOP) && q < VIRTIO_STATE_MAX_QUEUES)
		drop_queues(vd, (int)q);
	if ((fx->flags & VIRTIO_MMIO_FX_QUEUE_READY) && q < VIRTIO_STATE_MAX_QUEUES)
		start_queue(vd, q);
	if (fx->flags & VIRTIO_MMIO_FX_CONFIG_WRITE && vd->model->config_write)
		vd->model->config_write(vd, vd->ms, fx->config_offset, fx->config_size, fx->config_value);
	if (fx->flags & VIRTIO_MMIO_FX_RAISE_IRQ)
		assert_line(vd);
	if (fx->flags & VIRTIO_MMIO_FX_DRIVER_OK) {
		/* Kicks before DRIVER_OK were dropped: look at every ready queue now. */
		for (unsigned i = 0; i < vd->model->nqueues; i++)
			run_queue(vd, i);
	}
	if ((fx->flags & VIRTIO_MMIO_FX_NOTIFY) && q < vd->model->nqueues)
		run_queue(vd, q);
}

void virtio_dev_handle(void *state, const struct vm_exit *exit, struct vm_reply *reply)
{
	struct virtio_dev *vd = state;
	const struct vm_exit_mmio *mmio = &exit->u.mmio;
	uint64_t offset;
	uint32_t value = 0, diag = 0;

	if (exit->kind != VM_EXIT_MMIO || mmio->addr < vd->mmio_base ||
	    mmio->addr - vd->mmio_base >= VIRTIO_MMIO_WINDOW_SIZE || mmio->len == 0 ||
	    mmio->len > sizeof(value)) {
		device_reply_unowned(exit, reply);
		return;
	}
	offset = mmio->addr - vd->mmio_base;
	if (!mmio->write) {
		vd->stats.mmio_reads++;
		if (offset == VIRTIO_MMIO_REG_INTERRUPT_STATUS)
			vd->pushes_since_isr_read = 0;
		value = virtio_mmio_read_diag(vd->st, offset, mmio->len, &diag);
		log_diagnostics(vd, diag, offset, false);
		reply->len = mmio->len;
		memcpy(reply->data, &value, mmio->len); /* little-endian host */
		return;
	}
	vd->stats.mmio_writes++;
	{
		struct virtio_mmio_effects fx;

		memcpy(&value, mmio->data, mmio->len);
		/* A malformed access already read as a diagnostic in fx: nothing more to do. */
		if (virtio_mmio_write(vd->st, offset, mmio->len, value, &fx) < 0)
			fx.flags &= VIRTIO_MMIO_FX_DIAGNOSTICS;
		log_diagnostics(vd, fx.flags, offset, true);
		apply_effects(vd, &fx);
		if (offset == VIRTIO_MMIO_REG_INTERRUPT_ACK && (value & VIRTIO_MMIO_IRQ_USED) &&
		    vd->pushes_since_isr_read) {
			/* Completions the driver had not seen when it read the status (see virtio_device.h). */
			memset(&fx, 0, sizeof(fx));
			virtio_mmio_interrupt(vd->st, VIRTIO_MMIO_IRQ_USED, &fx);
			if (fx.flags & VIRTIO_MMIO_FX_RAISE_IRQ)
				assert_line(vd);
		}
	}
}

/* A successor's first idle: interrupts the driver once and runs every queue (resubmissions first). */
static void finish_resume(struct virtio_dev *vd)
{
	struct virtio_mmio_effects fx = { 0 };

	vd->resume_pending = false;
	if (!(vd->st->status & VIRTIO_STATUS_NEEDS_RESET)) {
		for (unsigned q = 0; q < vd->model->nqueues; q++)
			run_queue(vd, q);
		virtio_mmio_interrupt(vd->st, VIRTIO_MMIO_IRQ_USED, &fx);
	} else {
		virtio_mmio_interrupt(vd->st, VIRTIO_MMIO_IRQ_CONFIG, &fx);
	}
	if (fx.flags & VIRTIO_MMIO_FX_RAISE_IRQ)
		assert_line(vd);
}

void virtio_dev_idle(void *state)
{
	struct virtio_dev *vd = state;

	if (vd->resume_pending)
		finish_resume(vd);
	if (vd->model->idle) {
		vd->model->idle(vd, vd->ms);
		rearm_drained(vd);
		notify_used(vd);
	}
}

/* Poll set: [notify fds of each queue] [resample fd] [model backend fds]. */
unsigned virtio_dev_pollfds(void *state, struct pollfd *pfd, unsigned max)
{
	struct virtio_dev *vd = state;
	unsigned n = 0;

	for (unsigned q = 0; q < vd->model->nqueues && n < max; q++) {
		pfd[n].fd = vd->notify_fds[q];
		pfd[n].events = vd->notify_fds[q] >= 0 ? POLLIN : 0;
		pfd[n++].revents = 0;
	}
	if (n < max) {
		pfd[n].fd = vd->resample_fd;
		pfd[n].events = vd->resample_fd >= 0 ? POLLIN : 0;
		pfd[n++].revents = 0;
	}
	vd->nbackend = 0;
	if (vd->model->backend_pollfds && n < max) {
		unsigned room = max - n < VIRTIO_DEVICE_MAX_BACKEND_FDS ? max - n : VIRTIO_DEVICE_MAX_BACKEND_FDS;

		vd->nbackend = vd->model->backend_pollfds(vd->ms, &pfd[n], room);
		if (vd->nbackend > room)
			vd->nbackend = room;
		for (unsigned i = 0; i < vd->nbackend; i++)
			pfd[n + i].revents = 0;
		n += vd->nbackend;
	}
	return n;
}

/* Empties an eventfd. True when it had been signalled. */
static bool drain_eventfd(struct virtio_dev *vd, int fd, const char *what)
{
	uint64_t count;
	ssize_t n;

	do {
		n = read(fd, &count, sizeof(count));
	} while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(count))
		return true;
	if (n < 0 && errno != EAGAIN && vd->diag_logged < VIRTIO_DEV_DIAG_LOG_MAX) {
		vd->diag_logged++;
		device_log(vd->host, "%s read: %s", what, strerrordesc_np(errno));
	}
	return false;
}

void virtio_dev_poll_events(void *state, const struct pollfd *pfd, unsigned n)
{
	struct virtio_dev *vd = state;
	unsigned i = 0, nq = vd->model->nqueues;

	for (unsigned q = 0; q < nq && i < n; q++, i++) {
		if (!(pfd[i].revents & POLLIN) || !drain_eventfd(vd, pfd[i].fd, "notify eventfd"))
			continue;
		vd->stats.kicks++;
		run_queue(vd, q);
	}
	if (i < n) {
		if ((pfd[i].revents & POLLIN) && drain_eventfd(vd, pfd[i].fd, "resample eventfd")) {
			/* The guest EOIed and KVM lowered the line: raise it again if still pending. */
			vd->stats.resamples++;
			if (__atomic_load_n(&vd->st->interrupt_status, __ATOMIC_ACQUIRE) & VIRTIO_MMIO_IRQ_MASK)
				assert_line(vd);
		}
		i++;
	}
	for (unsigned b = 0; b < vd->nbackend && i < n; b++, i++) {
		if (pfd[i].revents && vd->model->backend_event) {
			vd->model->backend_event(vd, vd->ms, b, pfd[i].revents);
			rearm_drained(vd);
			notify_used(vd);
		}
	}
}

/* A 16-bit ring field from guest RAM (through the checked accessor), -1 when unreadable. */
static int32_t ring_u16(const struct virtio_dev *vd, uint64_t gpa)
{
	uint16_t v;

	return guest_mem_read(&vd->host->mem, gpa, &v, sizeof(v)) == 0 ? v : -1;
}

static unsigned inflight_count(const struct virtio_queue_state *qs)
{
	unsigned n = 0;

	for (unsigned w = 0; w < VIRTIO_STATE_INFLIGHT_WORDS; w++)
		n += (unsigned)__builtin_popcountll(qs->inflight[w]);
	return n;
}

void virtio_dev_dump(void *state)
{
	struct virtio_dev *vd = state;
	const struct virtio_state *st = vd->st;

	device_log(vd->host,
		   "state dump: status %#x features %#llx isr %#x pushes since isr read %llu; kicks %llu chains %llu "
		   "interrupts %llu resamples %llu needs-reset %llu",
		   st->status, (unsigned long long)st->driver_features,
		   __atomic_load_n(&st->interrupt_status, __ATOMIC_ACQUIRE), (unsigned long long)vd->pushes_since_isr_read,
		   (unsigned long long)vd->stats.kicks, (unsigned long long)vd->stats.chains,
		   (unsigned long long)vd->stats.interrupts, (unsigned long long)vd->stats.resamples,
		   (unsigned long long)vd->stats.needs_reset);
	for (unsigned q = 0; q < vd->model->nqueues; q++) {
		const struct virtq *vq = &vd->vq[q];

		if (vq->size == 0) {
			device_log(vd->host, "state dump: queue %u not ready", q);
			continue;
		}
		device_log(vd->host,
			   "state dump: queue %u size %u device last_avail %u used %u in flight %u | driver avail.idx %d "
			   "avail.flags %d used_event %d | used.idx %d used.flags %d avail_event %d",
			   q, vq->size, vq->last_avail_idx, vq->used_idx, inflight_count(&st->queues[q]),
			   ring_u16(vd, vq->avail_gpa + VIRTQ_AVAIL_IDX_OFF), ring_u16(vd, vq->avail_gpa + VIRTQ_AVAIL_FLAGS_OFF),
			   ring_u16(vd, vq->avail_gpa + virtq_used_event_off(vq->size)),
			   ring_u16(vd, vq->used_gpa + VIRTQ_USED_IDX_OFF), ring_u16(vd, vq->used_gpa + VIRTQ_USED_FLAGS_OFF),
			   ring_u16(vd, vq->used_gpa + virtq_avail_event_off(vq->size)));
	}
	if (vd->model->dump)
		vd->model->dump(vd, vd->ms);
}

unsigned virtio_dev_sandbox_rules(void *state, struct sandbox_fd_rule *out, unsigned max)
{
	struct virtio_dev *vd = state;
	unsigned n = 0;

	for (unsigned q = 0; q < vd->model->nqueues && n + 1 < max; q++) {
		if (vd->notify_fds[q] < 0)
			continue;
		out[n++] = (struct sandbox_fd_rule){ SYS_read, vd->notify_fds[q], "draining a queue's ioeventfd" };
		out[n++] = (struct sandbox_fd_rule){ SYS_write, vd->notify_fds[q],
						     "re-kicking its own queue after a batch limit" };
	}
	if (vd->resample_fd >= 0 && n < max)
		out[n++] = (struct sandbox_fd_rule){ SYS_read, vd->resample_fd, "draining the irqfd resample eventfd" };
	if (vd->irq_fd >= 0 && n < max)
		out[n++] = (struct sandbox_fd_rule){ SYS_write, vd->irq_fd, "asserting the interrupt line (irqfd)" };
	if (vd->model->sandbox_rules && n < max)
		n += vd->model->sandbox_rules(vd->ms, out + n, max - n);
	return n;
}

const char *virtio_dev_param(const struct virtio_dev *vd, const char *key)
{
	size_t klen = strlen(key);

	for (unsigned i = 0; i < vd->host->nparams && i < DEVICE_MAX_PARAMS; i++) {
		const char *p = vd->host->params[i];

		if (!p || strncmp(p, key, klen) != 0)
			continue;
		if (p[klen] == '=')
			return p + klen + 1;
		if (p[klen] == '\0')
			return "";
	}
	return NULL;
}

/*
 * Closes queue q's journal entries (virtio_state.h, "In-flight tracking"):
 * after this the bitmap says exactly which chains are in flight. st is the
 * validated region, the predecessor dead: nobody else writes it.
 */
static void resolve_journals(struct virtio_dev *vd, unsigned q)
{
	struct virtio_queue_state *qs = &vd->st->queues[q];
	uint32_t j = qs->take_journal;

	if (j & VIRTIO_JOURNAL_VALID) {
		/* Index not advanced: the take never happened; the chain is still available. */
		if (qs->last_avail_idx == virtio_journal_idx(j))
			(void)virtio_state_inflight_clear(vd->st, q, virtio_journal_head(j));
		qs->take_journal = 0;
	}
	j = qs->push_journal;
	if (j & VIRTIO_JOURNAL_VALID) {
		uint16_t target = virtio_journal_idx(j);
		uint16_t guest_used = 0;
		bool published = qs->used_idx == target;

		/* Trust boundary: used->idx is guest memory; a guest that rewrites it only misleads itself. */
		if (!published && guest_mem_read(&vd->host->mem, qs->device_addr + VIRTQ_USED_IDX_OFF, &guest_used,
						 sizeof(guest_used)) == 0 &&
		    guest_used == target && (uint16_t)(target - 1) == qs->used_idx) {
			qs->used_idx = target;
			published = true;
		}
		if (published)
			(void)virtio_state_inflight_clear(vd->st, q, virtio_journal_head(j));
		qs->push_journal = 0;
	}
}

/*
 * Re-readies every ready queue of the validated region at its saved indices,
 * with its in-flight heads to resubmit; says per queue how many there are
 * in text (for the log: for virtio-net, receive buffers in flight are frames
 * that may have been lost, transmit chains are frames that may go twice).
 */
static int resume_queues(struct virtio_dev *vd, unsigned *inflight, char *text, size_t cap)
{
	size_t len = 0;

	*inflight = 0;
	text[0] = '\0';
	for (unsigned q = 0; q < vd->model->nqueues; q++) {
		struct virtio_queue_state *qs = &vd->st->queues[q];
		const char *why = NULL;
		unsigned count;

		if (!qs->ready)
			continue;
		resolve_journals(vd, q);
		if (virtq_init(&vd->vq[q], &vd->host->mem, (uint16_t)qs->num, qs->desc_addr, qs->driver_addr,
			       qs->device_addr, negotiated(vd, VIRTIO_FEAT_EVENT_IDX),
			       negotiated(vd, VIRTIO_FEAT_INDIRECT_DESC), &why) < 0) {
			device_log(vd->host, "queue %u cannot resume: %s", q, why ? why : "refused");
			return -EINVAL;
		}
		vd->vq[q].last_avail_idx = qs->last_avail_idx;
		vd->vq[q].used_idx = qs->used_idx;
		memcpy(vd->replay[q], qs->inflight, sizeof(vd->replay[q]));
		vd->replay_next[q] = 0;
		count = inflight_count(qs);
		*inflight += count;
		if (len < cap) {
			int n = snprintf(text + len, cap - len, "%squeue %u: %u", len ? ", " : "", q, count);

			len += n > 0 ? (size_t)n : 0;
		}
	}
	return 0;
}

/*
 * A successor's start: fresh is what a first worker would have written
 * (model->init's features and config), the region is the predecessor's.
 * 0 when resumed; -EINVAL (with *why) when the region must be re-initialised.
 */
static int resume(struct virtio_dev *vd, const struct virtio_state *fresh, const char **why)
{
	unsigned inflight;
	char per_queue[128];

	if (virtio_state_validate(vd->st, vd->host->mem.size, why) < 0 ||
	    virtio_state_same_device(vd->st, fresh, why) < 0)
		return -EINVAL;
	if (resume_queues(vd, &inflight, per_queue, sizeof(per_queue)) < 0) {
		*why = "a ready queue's rings no longer check out";
		return -EINVAL;
	}
	vd->resume_pending = true;
	device_log(vd->host, "resumed: status %#x, %u chains in flight to resubmit%s%s%s", vd->st->status, inflight,
		   per_queue[0] ? " (" : "", per_queue, per_queue[0] ? ")" : "");
	return 0;
}

int virtio_dev_init(struct virtio_dev *vd, struct device_host *host, const struct virtio_model *model)
{
	struct virtio_state *fresh;
	const char *why = NULL;
	uint64_t features = 0;
	int r;

	memset(vd, 0, sizeof(*vd));
	vd->model = model;
	vd->host = host;
	vd->irq_fd = host->irq_fd;
	vd->resample_fd = host->resample_fd;
	vd->mmio_base = host->mmio_base;
	for (unsigned q = 0; q < VIRTIO_STATE_MAX_QUEUES; q++)
		vd->notify_fds[q] = q < host->nnotify && q < DEVICE_MAX_NOTIFY_FDS ? host->notify_fds[q] : -1;
	if (!host->state || host->state_size < sizeof(struct virtio_state)) {
		device_log(host, "%s needs a device-state region of at least %zu bytes", model->name,
			   sizeof(struct virtio_state));
		return -EINVAL;
	}
	if (model->nqueues == 0 || model->nqueues > VIRTIO_STATE_MAX_QUEUES || host->nnotify > model->nqueues) {
		device_log(host, "%s: %u notify fds for %u queues", model->name, host->nnotify, model->nqueues);
		return -EINVAL;
	}
	vd->ms = calloc(1, model->state_size ? model->state_size : 1);
	fresh = calloc(1, sizeof(*fresh));
	if (!vd->ms || !fresh) {
		free(fresh);
		return -ENOMEM;
	}
	/* What a first worker writes, built aside: the model's init fills its config. */
	vd->st = fresh;
	virtio_mmio_init(fresh, model->device_id, 0, model->nqueues, model->queue_size_max, model->config_len);
	virtio_mmio_set_ram_size(fresh, host->mem.size);
	r = model->init(vd, vd->ms, &features);
	if (r < 0) {
		free(fresh);
		return r;
	}
	/* The offer is the model's plus the glue's; virtio_mmio_init drops what the transport cannot do. */
	{
		uint32_t gen = fresh->config_generation;
		uint8_t config[VIRTIO_STATE_CONFIG_SIZE];

		memcpy(config, fresh->config, sizeof(config));
		virtio_mmio_init(fresh, model->device_id, features | VIRTIO_DEVICE_COMMON_FEATURES, model->nqueues,
				 model->queue_size_max, model->config_len);
		virtio_mmio_set_ram_size(fresh, host->mem.size);
		memcpy(fresh->config, config, sizeof(config));
		fresh->config_generation = gen;
	}
	vd->st = host->state;
	if (host->restart && resume(vd, fresh, &why) == 0) {
		free(fresh);
		return 0;
	}
	for (unsigned q = 0; q < VIRTIO_STATE_MAX_QUEUES; q++) {
		memset(&vd->vq[q], 0, sizeof(vd->vq[q]));
		memset(vd->replay[q], 0, sizeof(vd->replay[q]));
	}
	memcpy(vd->st, fresh, sizeof(*fresh));
	free(fresh);
	if (host->restart) {
		struct virtio_mmio_effects fx = { 0 };

		/* The driver believes the device is running: tell it, through NEEDS_RESET, that it is not. */
		device_log(host, "the device state left by the previous worker is not usable (%s): device needs reset",
			   why ? why : "?");
		vd->stats.needs_reset++;
		virtio_mmio_needs_reset(vd->st, &fx);
		vd->resume_pending = true; /* a configuration change interrupt once sandboxed */
	}
	return 0;
}
