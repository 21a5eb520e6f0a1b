/* SPDX-License-Identifier: MIT */
/*
 * Control messages between the monitor and a device worker, over a
 * SOCK_SEQPACKET socketpair the monitor creates. Fixed size, one typed
 * struct (vmd's viodev_msg idea): a receiver rejects any message whose size
 * or type is wrong, and treats it as the peer's fault.
 */
#ifndef SQUIB_PROTO_CONTROL_H
#define SQUIB_PROTO_CONTROL_H

#include <stdatomic.h>
#include <stdint.h>

enum control_type {
	/* device -> monitor: sandbox entered, serving rings. arg = 0. */
	CONTROL_READY = 1,
	/*
	 * device -> monitor: the guest asked to end the VM; arg = exit status
	 * (0..255). testdev's only: from any other device the monitor treats
	 * it as a forged exit and ends the VM as that device's failure.
	 */
	CONTROL_VM_EXIT = 2,
	/* device -> monitor: vCPU arg's ring broke the protocol (value = -errno). */
	CONTROL_RING_ERROR = 3,
	/* monitor -> device: no vCPU runs any more; drain every ring, flush, exit 0. */
	CONTROL_STOP = 4,
	/* monitor -> device: log the device's state (queues, interrupt, model) and carry on. arg = 0. */
	CONTROL_DUMP = 5,
	/*
	 * device -> monitor, from a successor only (restart > 0), once: it
	 * completed its first request (a ring record; for virtio, a chain
	 * put in the used ring). The monitor logs how long after the
	 * predecessor's death that was. arg = 0.
	 */
	CONTROL_SERVED = 6,
};

struct control_msg {
	uint32_t type;  /* enum control_type */
	uint32_t arg;
	int64_t value;
};
_Static_assert(sizeof(struct control_msg) == 16, "control message is 16 bytes");

/*
 * One page shared between the monitor and each worker (a memfd for device
 * workers, monitor memory for vCPU workers). The worker's SIGSYS reporter
 * writes the denied syscall number here before the worker dies, so the
 * monitor can name it. Trust: the worker may write anything here at any
 * time; the monitor treats the content as an untrusted claim (a number it
 * prints, never an index), read only after the kernel reports a SIGSYS death.
 */
#define WORKER_STATUS_MAGIC 0x54535153u /* "SQST" */
struct worker_status {
	uint32_t magic;
	_Atomic int32_t denied_syscall; /* -1 until a seccomp violation */
	_Atomic uint64_t records;       /* records handled, for statistics */
};

#endif
