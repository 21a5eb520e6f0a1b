/* SPDX-License-Identifier: MIT */
/*
 * A vCPU worker: one process per vCPU, created with
 * clone(CLONE_VM | CLONE_PIDFD | SIGCHLD) because KVM refuses vCPU ioctls
 * from any mm but the VM creator's (docs/DESIGN.md). It shares the monitor's
 * memory but has its own pid, fd table, signal handlers and seccomp filter.
 *
 * Everything the worker needs is prepared by the monitor in a struct
 * vcpu_worker before the clone; the worker itself is freestanding (raw
 * syscalls, no errno/TLS/malloc/stdio) and parses nothing but kvm_run.
 *
 * Layout: each worker lives in its own VCPU_WORKER_REGION_SIZE region,
 * aligned to that size: the struct at the start, the stack at the end. A
 * signal handler finds its worker by rounding its stack pointer down.
 */
#ifndef SQUIB_VCPU_WORKER_H
#define SQUIB_VCPU_WORKER_H

#include <linux/kvm.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/guest_mem.h"
#include "proto/control.h"
#include "proto/ring.h"
#include "proto/wire.h" /* vm_exit_encode only: replies are fixed records (proto/reply.h) */
#include "sandbox/sandbox.h"
#include "vcpu-worker/routes.h"

_Static_assert(VM_WIRE_MAX == RING_RECORD_MAX, "a ring slot holds exactly one encoded exit");

#define VCPU_WORKER_REGION_SIZE (256u * 1024u)
#define VCPU_WORKER_MAGIC 0x55504356u /* "VCPU" */
#define VCPU_MAX_DEVICES 12 /* uart, testdev and VIRTIO_MMIO_SLOTS virtio devices, with room */
#define VCPU_UNCLAIMED_LOG_SLOTS 32
/*
 * How long a vCPU waits for a device's reply to one read before it reports
 * the device as failed (the monitor then replaces its worker, and the vCPU
 * waits for the successor's answer): no silent wedge. Register reads are
 * answered at once by a working device; 10 s is far past any of them.
 */
#define VCPU_REPLY_DEADLINE_S 10

/* Start gate values (a futex word the monitor owns). */
#define VCPU_GATE_WAIT 0u
#define VCPU_GATE_GO 1u
#define VCPU_GATE_ABORT 2u

struct vcpu_stats {
	uint64_t exits;
	uint64_t pio;
	uint64_t mmio;
	uint64_t hypercalls;
	uint64_t unclaimed_reads;
	uint64_t unclaimed_writes;
	uint64_t debug_exits;
	uint64_t int3_injected;
};

struct vcpu_unclaimed_log {
	uint64_t keys[VCPU_UNCLAIMED_LOG_SLOTS];
	uint32_t count;
	bool overflow_logged;
};

struct testdev;

struct vcpu_worker {
	/*
	 * Its pid as the host sees it, for its log lines: written by the VM
	 * process right after the clone (getpid would say its pid in the
	 * workers' own pid namespace). 0 in a line logged before that.
	 */
	_Atomic int32_t pid;
	uint32_t magic;

	/* Prepared by the monitor before the clone; read-only afterwards. */
	uint32_t index;
	int vcpu_fd;
	/*
	 * The VM fd, held and never used: KVM drops every irqfd of a VM when
	 * the last reference to its VM fd closes (kvm_vm_release), and the VM
	 * process that created it exits once the workers run. The filter admits
	 * no syscall on it.
	 */
	int vm_fd;
	int log_fd; /* stderr, for rare one-line logs */
	struct kvm_run *run;
	size_t run_size;
	const struct route_table *routes;
	uint32_t ndevices;
	struct ring_producer device_rings[VCPU_MAX_DEVICES];
	const char *device_names[VCPU_MAX_DEVICES];
	struct ring_producer monitor_ring; /* Debug/Shutdown/Reset/InternalError for the monitor */
	int monitor_doorbell_fd;
	struct guest_mem mem;
	const struct sandbox_filter *filter;
	uint32_t single_step; /* instructions left to single-step */
	/*
	 * KVM delivers an injected #BP with rip unchanged (PVM): the worker
	 * moves rip past the int3 itself before injecting (try_inject_int3).
	 */
	bool int3_advance_rip;
	struct testdev *inline_testdev; /* benchmark baseline, else NULL */
	_Atomic uint32_t *start_gate;
	_Atomic uint32_t *pm1_enable; /* the ACPI PM1a enable register, shared by every vCPU (monitor memory) */
	_Atomic uint32_t *pci_address; /* the PCI CONFIG_ADDRESS latch (0xcf8), likewise */

	/* Written by the worker, read by the monitor. */
	struct worker_status status;
	struct vcpu_stats stats;
	_Atomic uint32_t device_faults;     /* bit d: device d broke the ring protocol (a report to the monitor) */
	_Atomic uint32_t device_timeouts;   /* bit d: device d missed VCPU_REPLY_DEADLINE_S (a report to the monitor) */
	_Atomic uint32_t device_removed;    /* bit d: device d failed for good (monitor-written): unclaimed */
	_Atomic int32_t inline_exit_status; /* inline testdev exit port: status + 1, 0 if none */
	/* The device whose reply this vCPU waits for, -1 when it waits for none. */
	_Atomic int32_t waiting_for_device;
	struct vcpu_unclaimed_log unclaimed;

	/*
	 * Written by the monitor: set before it sends VCPU_DUMP_SIGNAL; the
	 * worker logs its registers (cpu_dump.h) at its next KVM_RUN return
	 * and clears it.
	 */
	_Atomic uint32_t dump_requested;
};
_Static_assert(sizeof(struct vcpu_worker) < VCPU_WORKER_REGION_SIZE / 2, "room for the stack");

/*
 * The signal that makes a worker's KVM_RUN return (-EINTR) so it can honour
 * dump_requested. The worker handles it with an empty handler; every other
 * signal but SIGKILL and SIGSYS is ignored.
 */
#define VCPU_DUMP_SIGNAL SIGUSR1

/* Worker exit statuses (the monitor reads them from waitid). */
#define VCPU_EXIT_STOPPED 0  /* a terminal VmExit was posted to the monitor ring */
#define VCPU_EXIT_SETUP 1    /* set-up failed before the guest ran; see the log */
#define VCPU_EXIT_ABORTED 2  /* the monitor aborted the start gate */

/* The clone entry point; arg is the struct vcpu_worker. Never returns. */
int vcpu_worker_main(void *arg);

#endif
