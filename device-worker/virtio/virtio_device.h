/* SPDX-License-Identifier: MIT */
/*
 * A virtio device in a squib-device worker: the glue between one
 * virtio-mmio window, its virtqueues, its eventfds and a device model
 * (virtio_blk.c, virtio_net.c, virtio_rng.c).
 *
 * What reaches the worker, and from whom:
 *   - register accesses in [mmio_base, mmio_base + VIRTIO_MMIO_WINDOW) as
 *     VmExit::Mmio records on the rings (virtio_mmio.c decodes them);
 *   - QueueNotify writes as KVM ioeventfds, one eventfd per queue (the
 *     monitor registers them with datamatch = the queue index): notify_fds;
 *   - interrupts leave through a KVM irqfd (irq_fd) registered with
 *     KVM_IRQFD_FLAG_RESAMPLE: a write asserts the level-triggered IOAPIC
 *     pin; KVM lowers it when the guest EOIs and then signals the resample
 *     eventfd (resample_fd), on which the device re-asserts the line if
 *     InterruptStatus still has bits. That is level semantics done right: an
 *     interrupt the guest has not acknowledged is never lost, and an
 *     acknowledged one is not re-delivered.
 *   - the device-state region (state_fd): struct virtio_state at offset 0
 *     of a memfd the monitor keeps (virtio_state.h), so that a restarted
 *     worker can resume.
 *   - the model's backend (backend_fd: disk image, tap) and parameters
 *     (param key=value).
 * Bulk data moves through guest RAM only, through the checked accessor.
 *
 * Processing: a kick (or DRIVER_OK, or a backend event) calls the model,
 * which pops chains with virtio_dev_pop and returns them with
 * virtio_dev_push. After every model callback the glue
 *   1. re-arms EVENT_IDX (avail_event) for each queue the model drained, and
 *      calls the model again if buffers arrived meanwhile (the race at
 *      virtq_set_avail_event);
 *   2. interrupts the driver once per batch when virtq_needs_notify says so.
 * A malformed chain (virtq_pop's -EINVAL) or a request the model finds
 * malformed (virtio_dev_fail) puts the device in DEVICE_NEEDS_RESET with one
 * log line naming the reason; nothing is processed until the driver resets
 * the device. The worker never exits because of what a guest wrote.
 */
#ifndef SQUIB_DEVICE_VIRTIO_DEVICE_H
#define SQUIB_DEVICE_VIRTIO_DEVICE_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"
#include "device-worker/device.h"
#include "device-worker/virtio/virtio_mmio.h"
#include "device-worker/virtio/virtio_state.h"
#include "device-worker/virtio/virtqueue.h"
#include "proto/virtio_devices.h" /* VIRTIO_DEVICE_STATE_SIZE, the queue counts */
#include "sandbox/sandbox.h"

/* Features the glue offers for every model (the model adds its own). */
#define VIRTIO_DEVICE_COMMON_FEATURES (VIRTIO_FEAT_INDIRECT_DESC | VIRTIO_FEAT_EVENT_IDX)

/* Poll slots a model may ask for (tap rx, io_uring completions, ...). */
#define VIRTIO_DEVICE_MAX_BACKEND_FDS 4

struct virtio_dev;

struct virtio_model {
	const char *name;        /* for logs: "virtio-blk" */
	uint32_t device_id;      /* virtio DeviceID */
	unsigned nqueues;        /* 1..VIRTIO_STATE_MAX_QUEUES */
	uint16_t queue_size_max; /* QueueNumMax, <= VIRTIO_STATE_QUEUE_SIZE_MAX */
	uint32_t config_len;     /* bytes of config space, <= VIRTIO_STATE_CONFIG_SIZE */
	size_t state_size;       /* the model's context: zeroed, allocated before the sandbox */

	/*
	 * Before the sandbox. Checks the backend (vd->host->backend_fd) and the
	 * parameters (virtio_dev_param), sets up I/O, and fills *features (the
	 * model's feature bits; the glue adds VERSION_1 and
	 * VIRTIO_DEVICE_COMMON_FEATURES) and config[0..config_len) (called with
	 * vd->st already initialised, so it writes vd->st->config). 0 or -errno,
	 * after logging the reason with device_log.
	 */
	int (*init)(struct virtio_dev *vd, void *ms, uint64_t *features);
	/*
	 * The device was reset (Status 0), stopped a queue, or entered
	 * DEVICE_NEEDS_RESET: forget every in-flight request without touching
	 * the rings again (completions still arriving from the backend are
	 * dropped). queue is the stopped queue, or -1 for all of them.
	 */
	void (*reset)(struct virtio_dev *vd, void *ms, int queue);
	/* Queue q (live) may have new available chains: pop and process them. */
	void (*queue_notify)(struct virtio_dev *vd, void *ms, unsigned q);
	/* Optional: the guest wrote config space (already width-checked). */
	void (*config_write)(struct virtio_dev *vd, void *ms, uint32_t offset, uint32_t size, uint32_t value);
	/*
	 * Optional: fds to poll besides the glue's own. Fills pfd[i].fd and
	 * .events (events 0 = not now) and returns how many, at most max.
	 */
	unsigned (*backend_pollfds)(void *ms, struct pollfd *pfd, unsigned max);
	/* Optional: backend fd i (as returned above) has revents. */
	void (*backend_event)(struct virtio_dev *vd, void *ms, unsigned i, short revents);
	/*
	 * Optional: the syscalls the model needs inside the sandbox, beyond the
	 * device role's and the glue's (sandbox.h). Returns how many it wrote.
	 */
	unsigned (*sandbox_rules)(void *ms, struct sandbox_fd_rule *out, unsigned max);
	/* Optional: nothing is pending; flush batched work. */
	void (*idle)(struct virtio_dev *vd, void *ms);
	/* Optional: log the model's own state for a state dump (after the glue's). */
	void (*dump)(struct virtio_dev *vd, void *ms);
};

struct virtio_dev_stats {
	uint64_t kicks;         /* notify eventfd wake-ups */
	uint64_t mmio_reads, mmio_writes;
	uint64_t chains;        /* chains popped */
	uint64_t interrupts;    /* irqfd writes */
	uint64_t resamples;     /* resample eventfd wake-ups */
	uint64_t needs_reset;   /* times the device entered DEVICE_NEEDS_RESET */
	uint64_t replayed;      /* chains a predecessor left in flight, resubmitted */
};

struct virtio_dev {
	const struct virtio_model *model;
	void *ms;                    /* the model's context */
	struct device_host *host;
	struct virtio_state *st;     /* the device-state region (shared memfd) */
	uint64_t mmio_base;
	struct virtq vq[VIRTIO_STATE_MAX_QUEUES];
	bool drained[VIRTIO_STATE_MAX_QUEUES];  /* a pop found the queue empty */
	bool pushed[VIRTIO_STATE_MAX_QUEUES];   /* pushes since the last notification check */
	/*
	 * Used-ring pushes since the driver last read InterruptStatus. Register
	 * writes are posted: a driver's InterruptACK reaches the device some
	 * time after the driver read InterruptStatus and already scanned its
	 * rings, and an ACK applied blindly would also clear the bit of a
	 * completion pushed in between, which the driver never saw: a lost
	 * interrupt (Linux's mkfs.ext4 on 2 vCPUs stalled on it). So an ACK of
	 * the used-buffer bit keeps the bit, and the line, when this is not 0.
	 */
	uint64_t pushes_since_isr_read;
	uint16_t batch_used[VIRTIO_STATE_MAX_QUEUES]; /* used_idx when the batch began */
	int notify_fds[VIRTIO_STATE_MAX_QUEUES];
	int irq_fd;
	int resample_fd;
	unsigned nbackend;           /* backend fds in the last poll set */
	unsigned diag_logged;        /* diagnostics logged (rate limit) */
	struct virtio_dev_stats stats;
	/*
	 * A restarted worker's resubmissions: the in-flight bitmap as the
	 * predecessor left it (journals resolved), scanned by virtio_dev_pop
	 * before anything new is taken from queue q.
	 */
	uint64_t replay[VIRTIO_STATE_MAX_QUEUES][VIRTIO_STATE_INFLIGHT_WORDS];
	uint16_t replay_next[VIRTIO_STATE_MAX_QUEUES];
	/* Resumed: the first idle runs every queue and interrupts the driver once. */
	bool resume_pending;
};

/*
 * Before the sandbox: maps nothing itself (host->state is the mapped
 * device-state region), allocates the model context and calls model->init.
 * A first worker (host->restart 0) initialises the region for model. A
 * successor resumes from it: it validates a copy as hostile
 * (virtio_state_validate, and virtio_state_same_device against what a fresh
 * init of this model gives), resolves the take/complete journals, re-readies
 * every ready queue at its saved indices and schedules every in-flight chain
 * for resubmission; the first idle then runs every queue and raises one
 * used-buffer interrupt (one the predecessor may have owed). A region that
 * fails validation is re-initialised and the device reports
 * DEVICE_NEEDS_RESET (one log line with the reason): the driver's reset
 * brings it back. 0 or -errno (logged).
 */
int virtio_dev_init(struct virtio_dev *vd, struct device_host *host, const struct virtio_model *model) MUST_USE;

/*
 * The model's parameter key (from param key=value), or NULL. A parameter
 * given without '=' is returned as "".
 */
const char *virtio_dev_param(const struct virtio_dev *vd, const char *key);

/*
 * Takes the next available chain of queue q into *chain and marks its head
 * in flight. 1 with *chain filled, 0 when the queue is empty (or not live),
 * -EINVAL when the chain is malformed: the device is then in
 * DEVICE_NEEDS_RESET (logged) and the model must stop processing.
 */
int virtio_dev_pop(struct virtio_dev *vd, unsigned q, struct virtq_chain *chain) MUST_USE;

/*
 * Returns chain head of queue q to the driver with written bytes and
 * clears its in-flight bit. A completion for a queue that was reset or
 * stopped since the pop is dropped (returns -ESTALE): the model may call
 * this blindly from its backend completions. 0 or -errno.
 */
int virtio_dev_push(struct virtio_dev *vd, unsigned q, uint16_t head, uint32_t written);

/*
 * The model found a request malformed (a header too short, a status byte
 * that is not writable, ...): DEVICE_NEEDS_RESET, one log line with why.
 */
void virtio_dev_fail(struct virtio_dev *vd, unsigned q, const char *why);

/* Is queue q live (ready, DRIVER_OK, not DEVICE_NEEDS_RESET)? */
bool virtio_dev_queue_live(const struct virtio_dev *vd, unsigned q);

/*
 * Chain data helpers (virtio_chain.c). Copy between the chain's readable (from) or writable
 * (to) buffers, starting offset bytes into that part, and a local buffer.
 * Return the bytes copied (less than len when the part is shorter).
 * Every access goes through guest_mem_ptr.
 */
uint64_t virtio_chain_copy_from(const struct virtio_dev *vd, const struct virtq_chain *chain, uint64_t offset,
				void *dst, uint64_t len);
uint64_t virtio_chain_copy_to(const struct virtio_dev *vd, const struct virtq_chain *chain, uint64_t offset,
			      const void *src, uint64_t len);

/* Bytes of the readable / writable part. */
static inline uint64_t virtio_chain_readable(const struct virtq_chain *c)
{
	return c->readable_bytes;
}

static inline uint64_t virtio_chain_writable(const struct virtq_chain *c)
{
	return c->writable_bytes;
}

/*
 * Host iovecs for [offset, offset + len) of the readable (writable false)
 * or writable part, for readv/writev/io_uring. Fills at most max entries;
 * returns how many, and the bytes they cover in *covered (less than len
 * when the part is shorter or max is too small).
 */
struct iovec;
unsigned virtio_chain_iov(const struct virtio_dev *vd, const struct virtq_chain *chain, bool writable,
			  uint64_t offset, uint64_t len, struct iovec *iov, unsigned max, uint64_t *covered);

/* The device_model callbacks every virtio model shares (virtio_device.c). */
void virtio_dev_handle(void *state, const struct vm_exit *exit, struct vm_reply *reply);
void virtio_dev_idle(void *state);
unsigned virtio_dev_pollfds(void *state, struct pollfd *pfd, unsigned max);
void virtio_dev_poll_events(void *state, const struct pollfd *pfd, unsigned n);
unsigned virtio_dev_sandbox_rules(void *state, struct sandbox_fd_rule *out, unsigned max);
/*
 * Logs the transport and every queue: the device's indices beside the
 * driver's (avail->idx, used->idx and the event indices read from guest
 * RAM), in-flight chains, InterruptStatus, counters; then the model's dump.
 */
void virtio_dev_dump(void *state);

/*
 * A struct device_model for a virtio model: init_fn is a one-line wrapper
 * calling virtio_dev_init with the model (device.h's init has no model
 * argument).
 */
#define VIRTIO_DEVICE_MODEL(dev_name, init_fn)                                                  \
	{                                                                                      \
		.name = (dev_name), .uses = DEVICE_USES_VIRTIO,                                     \
		.state_size = sizeof(struct virtio_dev), .init = (init_fn),                        \
		.handle = virtio_dev_handle, .idle = virtio_dev_idle,                               \
		.pollfds = virtio_dev_pollfds, .poll_events = virtio_dev_poll_events,              \
		.sandbox_rules = virtio_dev_sandbox_rules, .dump = virtio_dev_dump,                 \
	}

#endif
