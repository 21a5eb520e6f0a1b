/* SPDX-License-Identifier: MIT */
/*
 * The device worker's event loop: one ring consumer per vCPU, a doorbell
 * eventfd shared by all of them, and the control socket.
 *
 * run_once: drain every ring (pop -> vm_exit_decode -> model->handle -> for
 * reads and hypercalls vm_reply_encode + ring_reply), spin briefly, then
 * announce sleep on every ring (re-draining if a record slipped in), let the
 * model flush (idle), and poll the doorbell and the control socket.
 *
 * Ring i is vCPU i's ring (the order of ring_fds in its configuration).
 *
 * Threat note: ring records come from vCPU workers, which may be
 * compromised. A record that breaks the ring protocol or the wire schema is
 * that vCPU worker's fault: the loop reports CONTROL_RING_ERROR (arg = the
 * vCPU index, value = -errno), logs one line and never touches that ring
 * again; a read waiting on it gets no reply (the monitor tears the VM down).
 * A flooding vCPU cannot starve the others (rings are served round-robin in
 * batches) nor the control socket (checked at least every drain_budget
 * records).
 */
#ifndef SQUIB_DEVICE_WORKER_LOOP_H
#define SQUIB_DEVICE_WORKER_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"
#include "device-worker/device.h"
#include "device-worker/fault.h"
#include "device-worker/persist.h"
#include "proto/control.h"
#include "proto/ring.h"
#include "proto/wire.h"

#define WORKER_LOOP_MAX_RINGS 64
/* Extra fds a model may have polled (device_model.pollfds). */
#define WORKER_LOOP_MAX_MODEL_FDS 16
/*
 * Spin iterations (ring checks + pause) before sleeping: PAUSE costs 10 to
 * 140 cycles depending on the core, so 200 iterations are roughly 1-10 us.
 */
#define WORKER_LOOP_DEFAULT_SPIN_ITERS 200
/* Records per ring per round-robin pass. */
#define WORKER_LOOP_BATCH 32
/* Records handled between two looks at the control socket while busy. */
#define WORKER_LOOP_DEFAULT_DRAIN_BUDGET 4096

/* worker_loop_run_once results besides -errno. */
#define WORKER_LOOP_CONTINUE 0
#define WORKER_LOOP_STOP 1

struct worker_ring {
	struct ring_consumer c;
	bool dead;     /* broke the protocol: never consumed again */
	bool sleeping; /* prepare_sleep announced, end_sleep owed */
};

struct worker_loop {
	struct worker_ring rings[WORKER_LOOP_MAX_RINGS];
	unsigned nrings;
	int doorbell_fd;
	int control_fd;
	struct vm_wire_decoder decoder;
	const struct device_model *model;
	void *state;
	const struct device_host *host; /* name and log_fd for log lines */
	struct worker_status *status;   /* records counter, or NULL */
	struct device_fault *fault;     /* --fault to carry out, or NULL */
	struct persist_region *persist; /* a DEVICE_USES_PERSIST model's region: records applied under its journal */
	/*
	 * Adaptive polling (the idea of KVM's halt_poll_ns): the loop spins up to
	 * spin_iters before sleeping. A sleep that ends sooner than the longest
	 * window (poll_max_ns) means a longer spin would have caught the record:
	 * the window doubles, up to spin_max. A longer sleep halves it, so an
	 * idle device soon stops burning CPU. spin_max == 0 disables polling.
	 */
	uint32_t spin_iters;
	uint32_t spin_max;
	uint64_t poll_max_ns;
	uint32_t drain_budget;
	uint32_t since_control; /* records handled since the control socket was last checked */
	bool stopped;
	bool served_sent; /* a successor's CONTROL_SERVED went out (or it is the first worker) */
	/* Statistics. */
	uint64_t records;
	uint64_t sleeps;
	uint64_t doorbells;
};

/*
 * Prepares an empty loop for model/state (already initialized with host).
 * control_fd is host->control_fd. Allocates the decoder's zone, so it runs
 * before the sandbox. 0 or -errno.
 */
int worker_loop_init(struct worker_loop *wl, const struct device_model *model, void *state,
		     const struct device_host *host, int doorbell_fd) MUST_USE;

/* Attaches the next vCPU's ring (size bytes at mem). 0, -EINVAL (bad region), -ENOSPC. */
int worker_loop_add_ring(struct worker_loop *wl, void *mem, size_t size) MUST_USE;

/* Frees the decoder. The rings' memory belongs to the caller. */
void worker_loop_fini(struct worker_loop *wl);

/*
 * One iteration; timeout_ms bounds the sleep (-1: until woken, 0: never
 * sleep). WORKER_LOOP_CONTINUE, WORKER_LOOP_STOP after CONTROL_STOP (every
 * record pending at that moment was handled and the model flushed), or
 * -errno on a fatal error (poll/doorbell failure, control socket closed,
 * reply encoding failure).
 */
int worker_loop_run_once(struct worker_loop *wl, int timeout_ms) MUST_USE;

/* Runs until CONTROL_STOP (0) or a fatal error (-errno). */
int worker_loop_run(struct worker_loop *wl) MUST_USE;

#endif
