/* SPDX-License-Identifier: MIT */
/*
 * The virtio-mmio transport, version 2 register layout (virtio 1.2 section
 * 4.2), as a register model over a struct virtio_state (virtio_state.h).
 * Device models (block, net, ...) use it for their MMIO window: they route
 * each guest access at (offset, size) here and then carry out the effects
 * it reports. Only split virtqueues are supported.
 *
 * Pure logic: no I/O, no allocation, no libc beyond memset/memcpy; the state
 * is the only thing it touches. Usable in a unit test without a guest.
 *
 * Threat note: offset, size and value come from the guest (relayed by a vCPU
 * worker that may be compromised). Every access is checked; a malformed one
 * reads 0 and writes nothing. The state struct is trusted only once the
 * owning worker initialised or validated it, but no contents of it can make
 * these functions index outside it (every index is bounded by the array
 * sizes as well as by nqueues / config_len).
 *
 * Register policy, beyond what the spec fixes:
 * - Window: VIRTIO_MMIO_WINDOW_SIZE (0x200) bytes. Offsets 0x000-0x0ff are
 *   32-bit registers: any access that is not 4 bytes wide and 4-aligned is
 *   a bad width (reads 0, writes ignored, FX_BAD_WIDTH, -EINVAL). Offsets at
 *   or past the window read 0 and ignore writes (FX_OUT_OF_RANGE, -ERANGE).
 * - VendorID reads VIRTIO_MMIO_VENDOR_ID, 0x53515542: "SQUB" read as a
 *   big-endian word, the way QEMU's 0x554d4551 reads "QEMU".
 * - Write-only registers and unknown offsets read 0; writes to read-only
 *   registers and unknown offsets are ignored (diagnostic FX_IGNORED).
 *   There are no shared memory regions: SHMLen/SHMBase read all ones
 *   ("non-existent region"), SHMSel writes are accepted and have no effect.
 *   QueueReset (0x0c0) does not exist (RING_RESET is never offered).
 * - DeviceFeatures returns feature bits 0-31 for selector 0, 32-63 for 1,
 *   and 0 for any other selector. DriverFeatures writes with a selector
 *   other than 0 or 1, and every DriverFeatures write once FEATURES_OK is
 *   set, are ignored; otherwise the 32 bits are stored as written, even bits
 *   that were not offered (so that FEATURES_OK can be refused).
 * - Status: writing 0 resets the device (FX_RESET always; FX_LOWER_IRQ too
 *   when an interrupt was pending). A non-zero write sets the driver bits it
 *   carries (ACKNOWLEDGE, DRIVER, FEATURES_OK, DRIVER_OK, FAILED); bits are
 *   sticky until reset: a write that omits a set bit does not clear it, and
 *   DEVICE_NEEDS_RESET and undefined bits are not writable (FX_IGNORED for
 *   either violation). FEATURES_OK is refused (stays clear on read-back,
 *   FX_FEATURES_REFUSED) unless ACKNOWLEDGE and DRIVER are set, the driver
 *   features are a subset of the device features and include VERSION_1.
 *   DRIVER_OK is refused (FX_IGNORED) unless FEATURES_OK is set; when it is
 *   newly set, FX_DRIVER_OK: the model starts, and first processes every
 *   ready queue (notifications before DRIVER_OK were dropped, see below).
 *   While DEVICE_NEEDS_RESET is set, every non-zero Status write is ignored:
 *   only a reset leaves that state.
 * - Reset clears status, driver features, both feature selectors, QueueSel,
 *   InterruptStatus, and per queue: QueueNum (to 0: the driver must write
 *   it), QueueReady, the three ring addresses, the indices and the inflight
 *   bitmap. It keeps the device's identity (DeviceID, offered features,
 *   QueueNumMax, config space contents: the model re-fills config if its
 *   reset needs that) and ConfigGeneration.
 * - Queue registers act on the queue QueueSel selects. QueueSel takes any
 *   value; for a queue that does not exist (QueueSel >= nqueues) QueueNumMax
 *   and QueueReady read 0 and writes are ignored. While a queue is ready,
 *   writes to its QueueNum and ring address registers are ignored.
 *   QueueNum is stored as written (any 32-bit value); its validity is
 *   checked when the driver writes QueueReady = 1.
 * - QueueReady = 1 on a queue that is not ready makes it ready iff:
 *   FEATURES_OK is set, DEVICE_NEEDS_RESET is clear, QueueNum is a power of
 *   two in [1, QueueNumMax], the descriptor table is 16-aligned, the driver
 *   (available) ring 2-aligned and the device (used) ring 4-aligned, and all
 *   three (16*num, 6+2*num and 6+8*num bytes) lie inside guest RAM
 *   [0, ram_size) as set by virtio_mmio_set_ram_size(). It then zeroes the
 *   queue's last_avail_idx, used_idx and inflight bitmap and reports
 *   FX_QUEUE_READY. Otherwise ready stays 0 (FX_QUEUE_REFUSED). Writing 1 to
 *   a ready queue changes nothing.
 *   QueueReady = 0 on a ready queue stops it: ready, indices and inflight
 *   bitmap are zeroed and FX_QUEUE_STOP tells the model to abandon the
 *   queue's in-flight requests without touching its rings again. Other
 *   values are ignored.
 * - QueueNotify (normally an ioeventfd; a write that still arrives here is
 *   served the same way): the value is the queue index. FX_NOTIFY for a
 *   live queue (virtio_mmio_queue_live()), otherwise ignored.
 * - InterruptACK clears the bits it carries; FX_LOWER_IRQ when that cleared
 *   a pending bit and none remains.
 * - Config space (0x100 + [0, config_len)): 1-, 2- or 4-byte accesses,
 *   naturally aligned (spec 4.2.2.2), little-endian; other widths are bad
 *   widths. An access not wholly inside config_len reads 0 and ignores
 *   writes (FX_OUT_OF_RANGE, -ERANGE). Reads return config[]. Writes are not
 *   stored: FX_CONFIG_WRITE hands (offset, size, value) to the model, which
 *   updates config[] for the fields the device type makes writable.
 */
#ifndef SQUIB_DEVICE_VIRTIO_MMIO_H
#define SQUIB_DEVICE_VIRTIO_MMIO_H

#include <stdbool.h>
#include <stdint.h>

#include "common/compiler.h"
#include "common/platform.h"
#include "device-worker/virtio/virtio_state.h"
#include "proto/virtio_devices.h"

#define VIRTIO_MMIO_MAGIC 0x74726976u /* "virt" */
#define VIRTIO_MMIO_VERSION 2u
#define VIRTIO_MMIO_VENDOR_ID 0x53515542u /* "SQUB" */
#define VIRTIO_MMIO_WINDOW_SIZE ((unsigned)VIRTIO_MMIO_WINDOW) /* common/platform.h */

/* Register offsets (virtio 1.2 section 4.2.2; Linux uapi virtio_mmio.h). */
#define VIRTIO_MMIO_REG_MAGIC 0x000           /* R */
#define VIRTIO_MMIO_REG_VERSION 0x004         /* R */
#define VIRTIO_MMIO_REG_DEVICE_ID 0x008       /* R */
#define VIRTIO_MMIO_REG_VENDOR_ID 0x00c       /* R */
#define VIRTIO_MMIO_REG_DEVICE_FEATURES 0x010 /* R */
#define VIRTIO_MMIO_REG_DEVICE_FEATURES_SEL 0x014 /* W */
#define VIRTIO_MMIO_REG_DRIVER_FEATURES 0x020 /* W */
#define VIRTIO_MMIO_REG_DRIVER_FEATURES_SEL 0x024 /* W */
#define VIRTIO_MMIO_REG_QUEUE_SEL 0x030       /* W */
#define VIRTIO_MMIO_REG_QUEUE_NUM_MAX 0x034   /* R */
#define VIRTIO_MMIO_REG_QUEUE_NUM 0x038       /* W */
#define VIRTIO_MMIO_REG_QUEUE_READY 0x044     /* RW */
#define VIRTIO_MMIO_REG_QUEUE_NOTIFY VIRTIO_QUEUE_NOTIFY_OFFSET /* W (0x050; proto/virtio_devices.h) */
#define VIRTIO_MMIO_REG_INTERRUPT_STATUS 0x060 /* R */
#define VIRTIO_MMIO_REG_INTERRUPT_ACK 0x064   /* W */
#define VIRTIO_MMIO_REG_STATUS 0x070          /* RW */
#define VIRTIO_MMIO_REG_QUEUE_DESC_LOW 0x080  /* W */
#define VIRTIO_MMIO_REG_QUEUE_DESC_HIGH 0x084 /* W */
#define VIRTIO_MMIO_REG_QUEUE_DRIVER_LOW 0x090  /* W */
#define VIRTIO_MMIO_REG_QUEUE_DRIVER_HIGH 0x094 /* W */
#define VIRTIO_MMIO_REG_QUEUE_DEVICE_LOW 0x0a0  /* W */
#define VIRTIO_MMIO_REG_QUEUE_DEVICE_HIGH 0x0a4 /* W */
#define VIRTIO_MMIO_REG_SHM_SEL 0x0ac         /* W */
#define VIRTIO_MMIO_REG_SHM_LEN_LOW 0x0b0     /* R */
#define VIRTIO_MMIO_REG_SHM_LEN_HIGH 0x0b4    /* R */
#define VIRTIO_MMIO_REG_SHM_BASE_LOW 0x0b8    /* R */
#define VIRTIO_MMIO_REG_SHM_BASE_HIGH 0x0bc   /* R */
#define VIRTIO_MMIO_REG_QUEUE_RESET 0x0c0     /* RW, only with RING_RESET: absent here */
#define VIRTIO_MMIO_REG_CONFIG_GENERATION 0x0fc /* R */
#define VIRTIO_MMIO_REG_CONFIG 0x100          /* device-specific config space */

/*
 * Effects: what the device model must do after an access. The first group
 * asks for action; the second is diagnostics only (guest errors the model
 * may log, rate-limited: none of them changed any state).
 */
#define VIRTIO_MMIO_FX_RESET (1u << 0)        /* device reset: drop all device work */
#define VIRTIO_MMIO_FX_DRIVER_OK (1u << 1)    /* driver is live: start, scan ready queues */
#define VIRTIO_MMIO_FX_QUEUE_READY (1u << 2)  /* queue fx.queue became ready */
#define VIRTIO_MMIO_FX_QUEUE_STOP (1u << 3)   /* queue fx.queue stopped (QueueReady = 0) */
#define VIRTIO_MMIO_FX_NOTIFY (1u << 4)       /* available buffers on live queue fx.queue */
#define VIRTIO_MMIO_FX_CONFIG_WRITE (1u << 5) /* guest wrote config: see config_* fields */
#define VIRTIO_MMIO_FX_RAISE_IRQ (1u << 6)    /* interrupt_status has bits: assert the line */
#define VIRTIO_MMIO_FX_LOWER_IRQ (1u << 7)    /* interrupt_status became 0: the line may drop */
#define VIRTIO_MMIO_FX_NEEDS_RESET (1u << 8)  /* DEVICE_NEEDS_RESET newly set: stop all queues */
#define VIRTIO_MMIO_FX_BAD_WIDTH (1u << 16)   /* wrong width or misaligned: ignored */
#define VIRTIO_MMIO_FX_OUT_OF_RANGE (1u << 17) /* past the window or config_len: ignored */
#define VIRTIO_MMIO_FX_IGNORED (1u << 18)     /* spec/policy says this has no effect */
#define VIRTIO_MMIO_FX_FEATURES_REFUSED (1u << 19) /* FEATURES_OK refused */
#define VIRTIO_MMIO_FX_QUEUE_REFUSED (1u << 20)    /* QueueReady = 1 refused for fx.queue */
#define VIRTIO_MMIO_FX_DIAGNOSTICS                                                            \
	(VIRTIO_MMIO_FX_BAD_WIDTH | VIRTIO_MMIO_FX_OUT_OF_RANGE | VIRTIO_MMIO_FX_IGNORED |      \
	 VIRTIO_MMIO_FX_FEATURES_REFUSED | VIRTIO_MMIO_FX_QUEUE_REFUSED)

struct virtio_mmio_effects {
	uint32_t flags;         /* VIRTIO_MMIO_FX_* */
	uint32_t queue;         /* QUEUE_READY / QUEUE_STOP / QUEUE_REFUSED / NOTIFY */
	uint32_t config_offset; /* CONFIG_WRITE: offset into config space */
	uint32_t config_size;   /* CONFIG_WRITE: 1, 2 or 4 */
	uint32_t config_value;  /* CONFIG_WRITE: the value, little-endian, width-masked */
};

/*
 * Initialises *st for a device with no driver: magic, layout version,
 * device_id, and everything else at reset values. Offers
 * device_features | VERSION_1, minus VIRTIO_FEAT_TRANSPORT_UNSUPPORTED.
 * Arguments are the model's (trusted) but clamped: nqueues to
 * VIRTIO_STATE_MAX_QUEUES, config_len to VIRTIO_STATE_CONFIG_SIZE,
 * queue_num_max to the largest power of two <= min(queue_num_max,
 * VIRTIO_STATE_QUEUE_SIZE_MAX), at least 1. ram_size is 0 (no queue can
 * become ready) until virtio_mmio_set_ram_size(). The model then fills
 * st->config.
 */
void virtio_mmio_init(struct virtio_state *st, uint32_t device_id, uint64_t device_features,
		      unsigned nqueues, uint16_t queue_num_max, uint32_t config_len);

/* Guest RAM is [0, ram_size): rings must lie inside it to become ready. */
void virtio_mmio_set_ram_size(struct virtio_state *st, uint64_t ram_size);

/*
 * A guest read of size bytes at offset (relative to the window base).
 * No side effects. Returns the value (zero-extended); 0 for a malformed
 * access. virtio_mmio_read_diag() also stores the diagnostic FX_* flags the
 * read earned into *diag (when diag is not NULL), for a model that logs.
 */
uint32_t virtio_mmio_read(const struct virtio_state *st, uint64_t offset, unsigned size);
uint32_t virtio_mmio_read_diag(const struct virtio_state *st, uint64_t offset, unsigned size,
			       uint32_t *diag);

/*
 * A guest write of the low size bytes of value at offset. *fx is cleared,
 * then describes what the model must do (fx may be NULL in tests).
 * 0 for a well-formed access (even one the policy ignored: see fx->flags),
 * -EINVAL for a bad width, -ERANGE for an offset outside the window or the
 * config space.
 */
int virtio_mmio_write(struct virtio_state *st, uint64_t offset, unsigned size, uint32_t value,
		      struct virtio_mmio_effects *fx) MUST_USE;

/*
 * The helpers below are for the device model. They add flags to *fx (they
 * never clear it; fx may be NULL).
 */

/*
 * The device hit an error only a reset fixes (a malformed chain, an
 * inconsistent state): sets DEVICE_NEEDS_RESET and reports FX_NEEDS_RESET.
 * If DRIVER_OK is set, also sends a configuration change notification as
 * the spec requires (2.1.2): interrupt_status |= IRQ_CONFIG, FX_RAISE_IRQ.
 * ConfigGeneration is not bumped, nothing else changes. Queues stay
 * ready but are no longer live. A second call before a reset does nothing.
 */
void virtio_mmio_needs_reset(struct virtio_state *st, struct virtio_mmio_effects *fx);

/* Sets bits (VIRTIO_MMIO_IRQ_*) in interrupt_status; FX_RAISE_IRQ if any. */
void virtio_mmio_interrupt(struct virtio_state *st, uint32_t bits, struct virtio_mmio_effects *fx);

/*
 * The model changed config[]: bumps ConfigGeneration and, once DRIVER_OK is
 * set, sends a configuration change notification.
 */
void virtio_mmio_config_changed(struct virtio_state *st, struct virtio_mmio_effects *fx);

/*
 * May the device process queue q now? Ready, DRIVER_OK set and
 * DEVICE_NEEDS_RESET clear. The model checks this on every ioeventfd kick.
 */
bool virtio_mmio_queue_live(const struct virtio_state *st, unsigned q);

/*
 * For a successor worker: is the region (hostile) internally consistent?
 * Copies it to a local first, then checks: magic, layout version, nqueues,
 * config_len, reserved fields zero, offered features (VERSION_1, nothing
 * the transport cannot honour), status bits and their combinations,
 * accepted features once FEATURES_OK is set, interrupt bits, ram_size equal
 * to the caller's, every queue's num_max, and for a ready queue its size,
 * ring alignment and bounds inside RAM, index distance and in-flight heads;
 * a queue that is not ready has zero indices and no in-flight heads, and
 * entries past nqueues are all zero. Every state the functions above can
 * produce from a valid one passes.
 * 0, or -EINVAL with *why (when why is not NULL) a static reason string.
 */
int virtio_state_validate(const struct virtio_state *st, uint64_t ram_size, const char **why) MUST_USE;

/*
 * Is the region (hostile) the device the successor is? Compares the
 * identity fields (device_id, nqueues, config_len, device_features,
 * ram_size, each queue's num_max) with those of expected, which the
 * successor built itself with virtio_mmio_init() and
 * virtio_mmio_set_ram_size(). 0, or -EINVAL with *why.
 */
int virtio_state_same_device(const struct virtio_state *st, const struct virtio_state *expected,
			     const char **why) MUST_USE;

#endif
