/* SPDX-License-Identifier: MIT */
/*
 * Failing on purpose (squib-monitor start --fault; README "Fault
 * injection"): after a number of requests (ring records handled plus virtio
 * chains taken) the worker fails the way its configuration says, so people
 * can watch crash isolation work. The first worker fails after fault_after
 * requests, each successor after fault_every (with fault_repeat; 0: at once).
 *
 * Each kind is what it says: SIGKILL sent to itself, a store to an unmapped
 * address (a real SIGSEGV: the sanitizer's handler is taken off first), a
 * real abort(), a syscall the device filter denies (getppid: SIGSYS), an
 * invalid reply to the first read after that many requests (a compromised
 * device; the read stays at the head of its ring for the successor), or
 * random bytes over the device-state region followed by SIGKILL.
 */
#ifndef SQUIB_DEVICE_FAULT_H
#define SQUIB_DEVICE_FAULT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/compiler.h"
#include "proto/device_config.h"
#include "sandbox/sandbox.h"

struct worker_loop;

struct device_fault {
	enum device_fault_how how; /* DEVICE_FAULT_NONE: never */
	uint64_t at;               /* fire once this many requests were served */
	int pid;                   /* the worker's own, for kill(2) */
	void *state;               /* the device-state region (scribble-state), or NULL */
	size_t state_size;
	bool fired;
};

/* From the configuration: which fault, after how many requests for this worker (restart n). */
void device_fault_init(struct device_fault *f, const struct device_config *c, int pid, void *state,
		       size_t state_size);

/*
 * Before the sandbox: what the fault needs from the filter (sandbox_params'
 * fault_signal) and from the process (SIGSEGV back to its default action).
 */
void device_fault_prepare(const struct device_fault *f, struct sandbox_params *p);

/* Called by the loop with its request count: fails when due (may not return). garbage-ring waits for a read. */
void device_fault_check(struct device_fault *f, struct worker_loop *wl, uint64_t requests);

/* garbage-ring: is the read about to be served the one to answer with garbage? */
bool device_fault_reply_due(const struct device_fault *f, uint64_t requests);

/* garbage-ring: answers read seq of ring with garbage, serves nothing more, and dies. Never returns. */
NORETURN void device_fault_garbage_reply(struct device_fault *f, struct worker_loop *wl, unsigned ring, uint32_t seq);

#endif
