/* SPDX-License-Identifier: MIT */
/*
 * One VM: the monitor's whole state, in one context struct.
 *
 * Phases (acquire, narrow, parse): vm_build loads guest RAM, creates the
 * rings and every device worker, then forks the VM process
 * (monitor/vm_process.h), which creates the KVM objects and the vCPU
 * workers in an address space of its own; vm_run enters the monitor's
 * seccomp filter, opens the vCPU start gate and runs the libevent loop until
 * the VM ends; vm_destroy releases what is left. Nothing here is global.
 * The VM process gets a copy of this struct at the fork; its KVM fields
 * (kvm, each vcpu's kvm handle) are set only there.
 */
#ifndef SQUIB_MONITOR_VM_H
#define SQUIB_MONITOR_VM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>

#include "common/testdev.h"
#include "monitor/boot/bzimage.h"
#include "monitor/cli.h"
#include "monitor/console/console.h"
#include "monitor/kvm/guest_ram.h"
#include "monitor/kvm/kvm_vm.h"
#include "monitor/supervise/vm_identity.h"
#include "proto/control.h"
#include "proto/virtio_devices.h"
#include "proto/ring.h"
#include "proto/wire.h"
#include "sandbox/sandbox.h"
#include "vcpu-worker/routes.h"
#include "vcpu-worker/worker.h"

struct event;
struct event_base;
struct vm_shared;

/* A device model the monitor can attach, and the ranges it owns. */
struct device_route_spec {
	enum route_space space;
	uint64_t base;
	uint64_t len;
	uint32_t flags;
};

struct device_spec {
	const char *name;  /* the worker's name (logs, /proc comm) */
	const char *model; /* its model in squib-device (proto/device_config.h) */
	/*
	 * May its worker end the VM with CONTROL_VM_EXIT? Only testdev's exit
	 * port is a guest's way to end the VM with a status; from any other
	 * device the message is a forged clean exit and ends the VM as a
	 * device failure instead (supervisor.c).
	 */
	bool may_end_vm;
	bool console; /* the guest console's device: gets the console's output, input and IRQ 4 fds */
	/*
	 * Does everything the guest can see of it live outside its worker (a
	 * device-state region a successor resumes from)? Only then is its
	 * worker restarted after a death; otherwise the death ends the VM.
	 */
	bool resumable;
	unsigned nroutes;
	struct device_route_spec routes[4];
};

/* What a virtio device's worker gets beyond every worker's fds (monitor/devices/virtio_devices.c). */
#define VIRTIO_INSTANCE_MAX_PARAMS 8
struct virtio_instance {
	unsigned slot;         /* window and IOAPIC pin (common/platform.h) */
	unsigned nqueues;
	int state_fd;          /* the device-state memfd, kept for restarts */
	void *state_map;
	int notify_fds[VIRTIO_MAX_QUEUES];     /* ioeventfd per queue (datamatch = queue index) */
	int irq_fd;
	int resample_fd;
	int backend_fd;        /* disk image, tap, or -1 */
	char params[VIRTIO_INSTANCE_MAX_PARAMS][80];
	unsigned nparams;
};

/* Where a device's worker is in its life (monitor/supervise/device_restart.c). */
enum device_state {
	DEVICE_STARTING,   /* asked the spawner for a worker; not ready yet */
	DEVICE_RUNNING,    /* its worker said CONTROL_READY */
	DEVICE_BACKOFF,    /* its worker died; a restart is scheduled */
	DEVICE_FAILED,     /* past its restart budget: reads as removed hardware */
};

/* Lines about a device's ignored control messages, at most (its workers could send them without end). */
#define DEVICE_IGNORED_LOG_MAX 10

/* How many restarts the budget remembers (--restart-budget COUNT is at most this). */
#define DEVICE_RESTART_HISTORY DEVICE_RESTART_BUDGET_MAX

struct device_instance {
	const struct device_spec *spec;
	struct device_spec own_spec;     /* for devices built at run time (virtio) */
	char own_name[32];
	bool is_virtio;
	struct virtio_instance virtio;
	unsigned index;
	pid_t pid;              /* its current worker (the spawner's child) */
	int control_fd;
	int control_child;  /* the worker's end; held by the spawner once it runs (-1 here) */
	int persist_fd;     /* a resumable device that is not virtio: its state region (proto/device_state.h), or -1 */
	int doorbell_fd;
	int status_fd;
	struct worker_status *status;
	int ring_fds[CLI_MAX_CPUS];
	void *ring_maps[CLI_MAX_CPUS];
	size_t ring_size;
	const struct fault_config *fault; /* --fault for this device, or NULL */
	bool alive;             /* a worker process exists (started, not yet reported dead) */
	enum device_state state;
	uint32_t restarts;      /* successful restarts so far */
	uint32_t restart_attempts; /* successors asked for (restart_times_ns is indexed by it) */
	uint64_t restart_times_ns[DEVICE_RESTART_HISTORY]; /* CLOCK_MONOTONIC of recent restarts, a ring */
	uint64_t died_ns;       /* when the last worker was reported dead */
	uint64_t respawn_ns;    /* when the spawner was asked for the current worker */
	uint64_t ready_ns;      /* when the current worker said READY after a restart (0: the first worker) */
	bool served_logged;     /* the current successor's CONTROL_SERVED was logged */
	uint32_t ignored_logged; /* control messages ignored so far (logged up to DEVICE_IGNORED_LOG_MAX) */
	unsigned quick_deaths;  /* workers in a row that died within 1 s of starting (back-off) */
	struct event *ev_restart; /* the back-off timer */
	struct event *ev_ready;   /* a successor's time to say READY */
	/* DEVICE_FAILED: the monitor answers its rings as removed hardware (device_restart.c). */
	struct ring_consumer removed_rings[CLI_MAX_CPUS];
	struct event *ev_removed;
	_Atomic uint32_t order; /* order stamps of records to it (monitor memory: the device cannot touch it) */
	struct event *ev_control;
	struct vm *vm;
};

struct vcpu_instance {
	unsigned index;
	struct kvm_vcpu_handle kvm;
	struct vcpu_worker *worker;     /* its VCPU_WORKER_REGION_SIZE region */
	struct sandbox_filter *filter;  /* compiled before the clone */
	void *monitor_ring_mem;
	size_t monitor_ring_size;
	struct ring_consumer monitor_ring;
	pid_t pid;
	int pidfd;
	bool alive;
	struct event *ev_pid;
	struct vm *vm;
};

struct vm {
	struct vm_config cfg;
	struct vm_identity identity; /* the uid and gid every process of the VM is jailed as */
	bool linux_guest;          /* --kernel is a bzImage (else a raw image) */
	struct bzimage_boot boot;  /* where the Linux loader put things */
	struct kvm_vm kvm;
	struct guest_ram ram;
	struct route_table routes;
	struct device_instance devices[VCPU_MAX_DEVICES];
	unsigned ndevices;
	struct vcpu_instance *vcpus;
	unsigned ncpus;
	int console_fd;
	struct console console; /* IRQ 4 and typed input (monitor/console/console.c) */
	int monitor_doorbell_fd;
	struct vm_shared *shared;   /* the start gate and the vCPU workers' pids (monitor/vm_process.h) */
	_Atomic uint32_t pm1_enable;  /* ACPI PM1a enable register (vCPU workers) */
	_Atomic uint32_t pci_address; /* PCI CONFIG_ADDRESS latch (vCPU workers) */
	struct testdev *inline_testdev;
	struct vm_wire_decoder decoder;
	char device_binary[4096];
	int spawner_fd;      /* requests to the spawner (monitor/supervise/spawner.h) */
	pid_t spawner_pid;
	int spawner_pidfd;
	struct event *ev_spawner;
	struct event *ev_spawner_pid;
	struct worker_status monitor_status;

	/* The event loop and how the VM ends. */
	struct event_base *base;
	struct event *ev_doorbell;
	struct event *ev_signals[4];
	struct event *ev_stop_timeout;
	bool ending;
	bool reset_requested; /* the guest rebooted (--on-reboot decides what follows) */
	int exit_status;
};

/* Builds everything; on failure prints one error line and returns -errno. */
int vm_build(struct vm *vm, const struct vm_config *cfg) MUST_USE;

/* Runs the VM to its end; returns the monitor's exit status. */
int vm_run(struct vm *vm) MUST_USE;

void vm_destroy(struct vm *vm);

#endif
