/* SPDX-License-Identifier: MIT */
/* Failing on purpose (fault.h). */
#include "device-worker/fault.h"

#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "device-worker/worker_loop.h"

void device_fault_init(struct device_fault *f, const struct device_config *c, int pid, void *state,
		       size_t state_size)
{
	memset(f, 0, sizeof(*f));
	f->how = (enum device_fault_how)c->fault_how;
	f->pid = pid;
	f->state = state;
	f->state_size = state_size;
	if (c->restart == 0)
		f->at = c->fault_after;
	else if (c->fault_repeat)
		f->at = c->fault_every;
	else
		f->how = DEVICE_FAULT_NONE;
}

void device_fault_prepare(const struct device_fault *f, struct sandbox_params *p)
{
	switch (f->how) {
	case DEVICE_FAULT_KILL:
	case DEVICE_FAULT_SCRIBBLE_STATE:
	case DEVICE_FAULT_GARBAGE_RING: /* it kills itself if the monitor does not */
		p->fault_signal = SIGKILL;
		break;
	case DEVICE_FAULT_ABORT:
		p->fault_signal = SIGABRT;
		break;
	case DEVICE_FAULT_SEGV:
		/* A sanitizer runtime catches SIGSEGV to print a report and exit 1: the fault is the signal itself. */
		signal(SIGSEGV, SIG_DFL);
		break;
	default:
		break;
	}
}

/* SIGKILL to itself: kill(own pid, SIGKILL), which the filter admits for this fault only. */
static NORETURN void kill_self(const struct device_fault *f)
{
	syscall(SYS_kill, f->pid, SIGKILL);
	_exit(125); /* not reached */
}

void device_fault_garbage_reply(struct device_fault *f, struct worker_loop *wl, unsigned ring, uint32_t seq)
{
	struct ring_consumer *c = &wl->rings[ring].c;
	static const uint8_t junk[RING_RECORD_MAX] = { 0xc1, 0xc1, 0xc1 }; /* 112 bytes: no reply record (16) is that long */

	f->fired = true;
	device_log(wl->host, "--fault garbage-ring: answering vcpu%u's read with garbage, then serving nothing", ring);
	/* What a compromised device can write: the reply area is its own. */
	if (ring_reply(c, seq, junk, sizeof(junk)) == 0)
		*(volatile uint32_t *)&c->hdr->reply_len = 0xfffffff0u; /* and a length no reply has */
	/* The vCPU reports it and the monitor kills this worker; if that takes a second, it dies anyway. */
	(void)poll(NULL, 0, 1000);
	kill_self(f);
}

static void scribble_state(const struct device_fault *f)
{
	uint64_t x = (uint64_t)f->pid * 0x9E3779B97F4A7C15ull | 1;

	for (size_t i = 0; f->state && i < f->state_size; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		((volatile uint8_t *)f->state)[i] = (uint8_t)x;
	}
}

bool device_fault_reply_due(const struct device_fault *f, uint64_t requests)
{
	return f->how == DEVICE_FAULT_GARBAGE_RING && !f->fired && requests >= f->at;
}

void device_fault_check(struct device_fault *f, struct worker_loop *wl, uint64_t requests)
{
	volatile uintptr_t unmapped = 0x10;

	/* garbage-ring waits for a read instead: device_fault_reply_due. */
	if (f->how == DEVICE_FAULT_NONE || f->how == DEVICE_FAULT_GARBAGE_RING || f->fired || requests < f->at)
		return;
	f->fired = true;
	device_log(wl->host, "--fault %s after %llu requests: failing on purpose", device_fault_how_name(f->how),
		   (unsigned long long)requests);
	switch (f->how) {
	case DEVICE_FAULT_KILL:
		kill_self(f);
		break;
	case DEVICE_FAULT_SEGV:
		*(volatile int *)unmapped = 1; /* page 0 is never mapped */
		break;
	case DEVICE_FAULT_ABORT:
		abort();
	case DEVICE_FAULT_SYSCALL:
		syscall(SYS_getppid); /* not in the device filter: SIGSYS */
		break;
	case DEVICE_FAULT_SCRIBBLE_STATE:
		scribble_state(f);
		kill_self(f);
		break;
	default:
		return;
	}
	_exit(125); /* a fault that did not take: never pretend to go on */
}
