/* SPDX-License-Identifier: MIT */
/*
 * VmExit: the portable description of why a vCPU stopped, and the reply a
 * device sends back for accesses that need one.
 *
 * This is the one C definition of the portable enum. The x86 decoder never
 * produces Wfi/Wfe (they are ARM exits) but they exist so the wire schema is
 * the same on every architecture. The wire encoding is in proto/wire.h and
 * documented in proto/SCHEMA.md.
 *
 * Freestanding: plain data, no libc.
 */
#ifndef SQUIB_PROTO_VMEXIT_H
#define SQUIB_PROTO_VMEXIT_H

#include <stdbool.h>
#include <stdint.h>

enum vm_exit_kind {
	VM_EXIT_MMIO = 1,
	VM_EXIT_PIO = 2,
	VM_EXIT_HYPERCALL = 3,
	VM_EXIT_WFI = 4,
	VM_EXIT_WFE = 5,
	VM_EXIT_HLT = 6,
	VM_EXIT_RESET = 7,
	VM_EXIT_SHUTDOWN = 8,
	VM_EXIT_DEBUG = 9,
	VM_EXIT_INTERNAL_ERROR = 10,
	/*
	 * The CPU met a fault while delivering a double fault (x86: triple
	 * fault, KVM_EXIT_SHUTDOWN). A PC resets on it; squib reports it apart
	 * from a reset the guest asked for, because it is almost always a bug.
	 */
	VM_EXIT_TRIPLE_FAULT = 11,
};
#define VM_EXIT_KIND_MAX VM_EXIT_TRIPLE_FAULT

#define VM_MMIO_DATA_MAX 8
#define VM_PIO_DATA_MAX 4
#define VM_HYPERCALL_ARGS 6
/* Longest InternalError message in bytes, not counting the NUL. */
#define VM_EXIT_MESSAGE_MAX 95

/* Guest-physical memory access. len is 1..8; data is little-endian. */
struct vm_exit_mmio {
	uint64_t addr;
	bool write;
	uint8_t len;
	uint8_t data[VM_MMIO_DATA_MAX]; /* write: the bytes written; read: zero */
};

/* Port access. len is 1, 2 or 4. */
struct vm_exit_pio {
	uint16_t port;
	bool write;
	uint8_t len;
	uint8_t data[VM_PIO_DATA_MAX];
};

struct vm_exit_hypercall {
	uint64_t func;
	uint64_t args[VM_HYPERCALL_ARGS];
};

/* A debug exit: pc is the guest rip, syndrome the architecture's status (DR6 on x86). */
struct vm_exit_debug {
	uint64_t pc;
	uint64_t syndrome;
};

struct vm_exit_internal_error {
	char message[VM_EXIT_MESSAGE_MAX + 1]; /* always NUL-terminated */
};

struct vm_exit {
	enum vm_exit_kind kind;
	union {
		struct vm_exit_mmio mmio;
		struct vm_exit_pio pio;
		struct vm_exit_hypercall hypercall;
		struct vm_exit_debug debug;
		struct vm_exit_internal_error internal_error;
	} u;
};

enum vm_reply_status {
	VM_REPLY_OK = 0,
	/* The device could not serve the access (it is broken or resetting). */
	VM_REPLY_ERROR = 1,
};

/*
 * The answer to an access that waits: an MMIO or PIO read (len = access
 * width, data the bytes read) or a hypercall (len 8, data the little-endian
 * value for the guest's rax).
 */
struct vm_reply {
	enum vm_reply_status status;
	uint8_t len;
	uint8_t data[VM_MMIO_DATA_MAX];
};

/* The PIO access widths an exit may carry: 1, 2 or 4 bytes. */
static inline bool vm_pio_width_ok(unsigned len)
{
	return len == 1 || len == 2 || len == 4;
}

/* Does this exit wait for a vm_reply? (Reads and hypercalls do; writes are posted.) */
static inline bool vm_exit_needs_reply(const struct vm_exit *e)
{
	switch (e->kind) {
	case VM_EXIT_MMIO:
		return !e->u.mmio.write;
	case VM_EXIT_PIO:
		return !e->u.pio.write;
	case VM_EXIT_HYPERCALL:
		return true;
	default:
		return false;
	}
}

/*
 * The reply for an access nobody serves (an address no device owns, or a
 * device that is gone): VM_REPLY_ERROR, and for a read all-ones data of the
 * access width (8 bytes for a hypercall), as removed hardware reads.
 */
static inline void vm_reply_unclaimed(const struct vm_exit *exit, struct vm_reply *reply)
{
	uint8_t len = 0;

	*reply = (struct vm_reply){ .status = VM_REPLY_ERROR };
	switch (exit->kind) {
	case VM_EXIT_MMIO:
		len = exit->u.mmio.write ? 0 : exit->u.mmio.len;
		break;
	case VM_EXIT_PIO:
		len = exit->u.pio.write ? 0 : exit->u.pio.len;
		if (len > VM_PIO_DATA_MAX)
			len = VM_PIO_DATA_MAX;
		break;
	case VM_EXIT_HYPERCALL:
		len = 8;
		break;
	default:
		break;
	}
	if (len > VM_MMIO_DATA_MAX)
		len = VM_MMIO_DATA_MAX;
	reply->len = len;
	for (uint8_t i = 0; i < len; i++)
		reply->data[i] = 0xff;
}

#endif
