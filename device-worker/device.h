/* SPDX-License-Identifier: MIT */
/*
 * The device model interface of squib-device, and the table of models.
 *
 * A model is a context struct (state_size bytes, zeroed by the caller) plus
 * three functions. squib-device allocates and inits the state before it
 * enters its sandbox, so init may allocate and fstat; handle and idle run
 * inside the sandbox and may only use what struct device_host offers (the
 * syscalls worker_loop.c lists).
 *
 * Threat note: every exit handed to a model comes from a vCPU worker, which
 * may be compromised. A model checks that it owns the exit (absolute port or
 * address inside its range, a kind it serves); anything else gets
 * device_reply_unowned().
 */
#ifndef SQUIB_DEVICE_DEVICE_H
#define SQUIB_DEVICE_DEVICE_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"
#include "common/guest_mem.h"
#include "proto/console_ring.h"
#include "proto/vmexit.h"
#include "sandbox/sandbox.h"

#define DEVICE_MAX_NOTIFY_FDS 8
#define DEVICE_MAX_PARAMS 8

/*
 * Which resources of the worker's configuration (proto/device_config.h) a
 * model uses. A configuration that gives a model something it does not use,
 * or lacks something it needs, is refused before anything is mapped.
 */
enum device_uses {
	/*
	 * console_fd and console_kick_fd (both or neither), irq_fd, each
	 * optional (the uart): the console rings of proto/console_ring.h.
	 */
	DEVICE_USES_CONSOLE = 1u << 0,
	/*
	 * state_fd, mmio_base, notify_fds (at least one), irq_fd and
	 * resample_fd, all required; backend_fd and params optional.
	 */
	DEVICE_USES_VIRTIO = 1u << 1,
	/*
	 * state_fd (required), a DEVICE_PERSIST_REGION_SIZE region the model
	 * keeps its state in (persist.h): a model that is not virtio and whose
	 * worker a successor replaces.
	 */
	DEVICE_USES_PERSIST = 1u << 2,
};

/* What a model may use. Filled by squib-device (or a test) before init. */
/*
 * A token bucket for device_log: most of what a device logs is driven by
 * the guest (a refused request, a malformed chain), so a guest could flood
 * the host's log. DEVICE_LOG_BURST lines at once, DEVICE_LOG_PER_S after
 * that; what is dropped is counted and said when lines flow again.
 */
#define DEVICE_LOG_BURST 20
#define DEVICE_LOG_PER_S 10
struct device_log_budget {
	uint64_t refilled_ns; /* CLOCK_MONOTONIC of the last refill */
	uint32_t tokens;
	uint64_t dropped;     /* lines not written since the last one that was */
};

struct device_host {
	const char *name;    /* the device's --name, for logs */
	/* device_log's bucket (it lives in log_budget_store; a pointer so a const host can still log). */
	struct device_log_budget *log_budget;
	struct device_log_budget log_budget_store;
	/*
	 * The uart's console (proto/console_ring.h): the mapped console_fd
	 * (NULL: no console, output is discarded) and console_kick_fd, the
	 * eventfd that wakes the monitor.
	 */
	struct console_ring *console;
	int console_kick_fd;
	int control_fd;      /* SOCK_SEQPACKET to the monitor */
	int log_fd;          /* one-line diagnostics (2) */
	int pid;             /* this worker's, for the log prefix (device_host_init) */
	/*
	 * 0 for the device's first worker; n for its n-th successor after a
	 * crash, which resumes from the device-state region (and treats it as
	 * hostile: the predecessor may have scribbled on it).
	 */
	uint32_t restart;
	uint64_t chains_taken; /* virtio chains taken (virtio_dev_pop): requests, for --fault */
	uint64_t chains_completed; /* virtio chains put in the used ring: completed requests */
	/*
	 * DEVICE_USES_PERSIST: the model's persist_size bytes in the
	 * device-state region (persist.h), or NULL (unit tests: the model keeps
	 * its state in its own context). persist_fresh: the model initialises
	 * them (first worker, or a region a successor could not resume);
	 * otherwise they are its predecessor's, to be checked (persist_valid).
	 */
	void *persist;
	bool persist_fresh;
	struct guest_mem mem;/* guest RAM (MAP_SHARED); not used by uart/testdev yet */
	/* virtio devices (virtio_device.h); unused (-1 / 0 / NULL) for the others. */
	void *state;         /* the mapped device-state memfd (state_fd) */
	size_t state_size;
	uint64_t mmio_base;  /* mmio_base: the virtio-mmio window */
	int notify_fds[DEVICE_MAX_NOTIFY_FDS]; /* notify_fds, queue i's ioeventfd */
	unsigned nnotify;
	int irq_fd;          /* irq_fd: KVM irqfd (write 1: assert the line; uart: an edge on IRQ 4) */
	int resample_fd;     /* resample_fd: KVM signals it when the guest EOIs */
	int backend_fd;      /* backend_fd: disk image or tap */
	const char *params[DEVICE_MAX_PARAMS]; /* param key=value, in order */
	unsigned nparams;
	/*
	 * Asks the monitor to end the VM with status (0..255): sends
	 * CONTROL_VM_EXIT on control_fd. 0 or -errno. device_host_init points it
	 * at device_host_send_vm_exit; tests may replace it.
	 */
	int (*request_vm_exit)(struct device_host *host, uint8_t status);
};

struct device_model {
	const char *name;  /* the configuration's model */
	unsigned uses;     /* enum device_uses: the resources it may be given */
	size_t state_size; /* bytes of state, zeroed before init */
	/* Before the sandbox. host outlives the state. 0 or -errno. */
	int (*init)(void *state, struct device_host *host);
	/*
	 * One exit, with absolute ports/addresses. reply arrives zeroed with
	 * status VM_REPLY_OK; for an exit that needs one (vm_exit_needs_reply)
	 * the model sets len and data. It is ignored for posted writes.
	 */
	void (*handle)(void *state, const struct vm_exit *exit, struct vm_reply *reply);
	/* Nothing is pending: flush batched work (may block briefly, never forever). */
	void (*idle)(void *state);
	/*
	 * Optional, DEVICE_USES_PERSIST: a change to the persisted state
	 * completed (a record, or idle / poll_events / stop under a local
	 * journal entry): now the model may show it to other processes.
	 */
	void (*committed)(void *state);
	/*
	 * Optional: more fds for the loop to poll (eventfds, backends): fills at
	 * most max entries (events 0 = not now) and returns how many. Asked
	 * before every sleep.
	 */
	unsigned (*pollfds)(void *state, struct pollfd *pfd, unsigned max);
	/* Optional: the poll results for those n fds (revents may be 0). */
	void (*poll_events)(void *state, const struct pollfd *pfd, unsigned n);
	/*
	 * Optional: the longest the loop may sleep before poll_events must run
	 * again (with revents 0 if nothing happened), in ms; -1 for no limit.
	 * Asked before every sleep.
	 */
	int (*timeout_ms)(void *state);
	/*
	 * Optional: CONTROL_STOP, the VM is ending: finish batched work. May
	 * wait a bounded time (well under the monitor's stop timeout). Without
	 * it the loop calls idle.
	 */
	void (*stop)(void *state);
	/*
	 * Optional: CONTROL_DUMP, log the device's state with device_log (the
	 * evidence for a stall; the loop logs its own counters first). Must not
	 * change any state a guest can see.
	 */
	void (*dump)(void *state);
	/*
	 * DEVICE_USES_PERSIST: bytes of state kept in the device-state region
	 * (at most PERSIST_DATA_MAX); persist_valid checks a predecessor's as
	 * hostile (NULL: any bytes are a valid state); journal_range (NULL: all
	 * of them) says which bytes an exit may change, so the journal saves
	 * only those before applying it (persist.h); for exit NULL, the bytes
	 * idle, poll_events and stop may change (len 0: none, no local entry).
	 */
	size_t persist_size;
	bool (*persist_valid)(const void *data);
	void (*journal_range)(const void *state, const struct vm_exit *exit, size_t *off, size_t *len);
	/* Optional: syscalls (with their fd) the model needs inside the sandbox. */
	unsigned (*sandbox_rules)(void *state, struct sandbox_fd_rule *out, unsigned max);
};

/* Fills *host with no output, guest memory absent and the default request_vm_exit. */
void device_host_init(struct device_host *host, const char *name, int control_fd, int log_fd);

/* The default request_vm_exit: CONTROL_VM_EXIT with arg = status on host->control_fd. */
int device_host_send_vm_exit(struct device_host *host, uint8_t status) MUST_USE;

/*
 * One line "squib[dev-<name> <pid>]: <message>\n" (common/log_prefix.h) on
 * host->log_fd, in one write(2), within the host's log budget (struct
 * device_log_budget): past it lines are counted, not written.
 */
void device_log(const struct device_host *host, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * The reply for an exit the model does not own: VM_REPLY_ERROR, and for a
 * read all-ones data of the access width (8 bytes for a hypercall).
 */
void device_reply_unowned(const struct vm_exit *exit, struct vm_reply *reply);

/* The model called name, or NULL. */
const struct device_model *device_model_find(const char *name);

/* The models, for device_model_find and usage messages. */
extern const struct device_model *const device_models[];
extern const size_t device_model_count;

/* Defined by the model files; referenced only by the table in devices.c. */
extern const struct device_model uart_device_model;
extern const struct device_model testdev_device_model;
extern const struct device_model virtio_rng_device_model;
extern const struct device_model virtio_net_device_model;
extern const struct device_model virtio_blk_device_model;

#endif
