/* SPDX-License-Identifier: MIT */
/*
 * The vCPU worker's exit handling (exits.h): one handler per KVM exit
 * reason, in a bounds-checked table; PIO and MMIO routed to the platform's
 * own ports, the inline testdev, or a device worker's ring; hypercalls;
 * debug exits. Freestanding like the rest of the worker (worker.h).
 */
#include "vcpu-worker/exits.h"

#include <errno.h>
#include <stddef.h>

#include "common/fmt.h"
#include "common/platform.h"
#include "common/raw_syscall.h"
#include "common/testdev.h"
#include "proto/reply.h"
#include "vcpu-worker/cpu_dump.h"
#include "vcpu-worker/decode.h"
#include "vcpu-worker/kvm_vcpu.h"

_Static_assert(TESTDEV_MMIO_DATA_MAX == VM_MMIO_DATA_MAX, "testdev MMIO buffer = a VmExit's");
_Static_assert(TESTDEV_PIO_DATA_MAX == VM_PIO_DATA_MAX, "testdev PIO buffer = a VmExit's");

/* ---- talking to the monitor -------------------------------------------- */

static void post_to_monitor(struct vcpu_worker *w, const struct vm_exit *e)
{
	uint8_t buf[VM_WIRE_MAX];
	size_t len = 0;
	uint32_t seq;

	if (vm_exit_encode(e, buf, sizeof(buf), &len) < 0 ||
	    ring_push(&w->monitor_ring, buf, (uint32_t)len, &seq) < 0)
		vcpu_log_line(w, "cannot post an exit to the monitor ring");
}

static NORETURN void stop_with(struct vcpu_worker *w, const struct vm_exit *e)
{
	post_to_monitor(w, e);
	raw_exit_group(VCPU_EXIT_STOPPED);
}

NORETURN void vcpu_stop_with_error(struct vcpu_worker *w, const char *what, long err)
{
	struct vm_exit e;
	struct fmt_buf f;

	vcpu_internal_error_fmt(&e, &f, what);
	fmt_str(&f, " failed: errno ");
	fmt_dec(&f, -err);
	stop_with(w, &e);
}

/*
 * Reports device dev to the monitor in bits (device_faults or
 * device_timeouts): the first report since the monitor last took them logs
 * "device <name> <what>" and rings its doorbell; the monitor then acts.
 */
static void report_device(struct vcpu_worker *w, _Atomic uint32_t *bits, uint32_t dev, const char *what,
			  long number, const char *rest)
{
	char text[160];
	struct fmt_buf f;
	uint32_t bit = 1u << dev;

	if (atomic_fetch_or(bits, bit) & bit)
		return;
	fmt_init(&f, text, sizeof(text));
	fmt_str(&f, "device ");
	fmt_str(&f, w->device_names[dev]);
	fmt_str(&f, what);
	fmt_dec(&f, number);
	fmt_str(&f, rest);
	vcpu_log_line(w, text);
	(void)raw_eventfd_signal(w->monitor_doorbell_fd);
}

static void device_fault(struct vcpu_worker *w, uint32_t dev, int err)
{
	report_device(w, &w->device_faults, dev, " broke the ring protocol (errno ", -err,
		      "); the monitor replaces its worker");
}

/* Device dev left a read unanswered for VCPU_REPLY_DEADLINE_S. */
static void device_timeout(struct vcpu_worker *w, uint32_t dev)
{
	report_device(w, &w->device_timeouts, dev, " has not answered a read in ", VCPU_REPLY_DEADLINE_S,
		      " s; the monitor treats it as failed");
}

/* ---- unclaimed accesses ------------------------------------------------- */

static void note_unclaimed(struct vcpu_worker *w, enum route_space space, uint64_t addr, bool write,
			   uint32_t len)
{
	struct vcpu_unclaimed_log *log = &w->unclaimed;
	uint64_t key = ((uint64_t)space << 63) | ((uint64_t)write << 62) | addr;
	char text[160];
	struct fmt_buf f;

	if (write)
		w->stats.unclaimed_writes++;
	else
		w->stats.unclaimed_reads++;
	for (uint32_t i = 0; i < log->count; i++)
		if (log->keys[i] == key)
			return;
	if (log->count == VCPU_UNCLAIMED_LOG_SLOTS) {
		if (!log->overflow_logged)
			vcpu_log_line(w, "more unclaimed addresses than the log remembers; no longer logging them");
		log->overflow_logged = true;
		return;
	}
	log->keys[log->count++] = key;
	fmt_init(&f, text, sizeof(text));
	fmt_str(&f, "unclaimed ");
	fmt_str(&f, space == ROUTE_SPACE_PIO ? "pio " : "mmio ");
	fmt_str(&f, write ? "write " : "read ");
	fmt_hex(&f, addr);
	fmt_str(&f, " (");
	fmt_dec(&f, len);
	fmt_str(&f, write ? " bytes): dropped" : " bytes): all ones");
	fmt_str(&f, "; logged once per address");
	vcpu_log_line(w, text);
}

static void fill_ones(uint8_t *data, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		data[i] = 0xff;
}

/* ---- sending an exit to a device worker --------------------------------- */

/* Malformed replies to one read before it reads as all ones (a device answering garbage on and on). */
#define VCPU_REPLY_ATTEMPTS 8

/*
 * Sends e to device dev. For exits that need a reply, waits for it and copies
 * up to reply_len bytes of its data into reply_data (all ones on failure).
 * Returns false when the device is broken (the caller treats it as unclaimed).
 */
static bool send_to_device(struct vcpu_worker *w, uint32_t dev, const struct vm_exit *e,
			   uint8_t *reply_data, uint32_t reply_len)
{
	uint8_t buf[VM_WIRE_MAX];
	size_t len = 0;
	uint32_t seq, rlen = 0;
	struct vm_reply reply;
	int err;

	/*
	 * A device that broke the protocol (device_faults) is still sent its
	 * accesses: the monitor replaces its worker, and the successor serves
	 * them from the ring. Only a removed device (past its restart budget)
	 * is unclaimed.
	 */
	if (dev >= w->ndevices || (atomic_load(&w->device_removed) & (1u << dev)))
		return false;
	err = vm_exit_encode(e, buf, sizeof(buf), &len);
	if (err < 0) {
		vcpu_log_line(w, "cannot encode an exit (bug)");
		return false;
	}
	err = ring_push(&w->device_rings[dev], buf, (uint32_t)len, &seq);
	if (err < 0) {
		device_fault(w, dev, err);
		return false;
	}
	if (!vm_exit_needs_reply(e))
		return true;
	/*
	 * A malformed reply is the device's fault: report it (the monitor
	 * replaces the worker), take the reply back and wait again: the
	 * request is still at the head of the ring, and the successor answers
	 * it. A device that keeps answering garbage gets all ones after
	 * VCPU_REPLY_ATTEMPTS tries; a removed one is answered by the monitor.
	 */
	atomic_store(&w->waiting_for_device, (int32_t)dev);
	for (unsigned attempt = 1;; attempt++) {
		err = ring_wait_reply(&w->device_rings[dev], seq, buf, sizeof(buf), &rlen);
		if (err == -ETIMEDOUT) {
			/* Still outstanding: the successor the monitor starts answers it, unless the device is removed. */
			device_timeout(w, dev);
			if (atomic_load(&w->device_removed) & (1u << dev))
				break;
			attempt--;
			continue;
		}
		if (err == 0)
			err = vm_reply_unpack(buf, rlen, &reply);
		if (err == 0 && reply.len != reply_len)
			err = -EBADMSG;
		if (err == 0 || err == -EINVAL)
			break;
		device_fault(w, dev, err);
		if (attempt >= VCPU_REPLY_ATTEMPTS || (atomic_load(&w->device_removed) & (1u << dev)) ||
		    !ring_reject_reply(&w->device_rings[dev], seq))
			break;
	}
	atomic_store(&w->waiting_for_device, -1);
	if (err < 0) {
		fill_ones(reply_data, reply_len);
		return true;
	}
	if (reply.status != VM_REPLY_OK) {
		fill_ones(reply_data, reply_len);
		return true;
	}
	for (uint32_t i = 0; i < reply_len; i++)
		reply_data[i] = reply.data[i];
	return true;
}

/* ---- platform ports handled in the worker ------------------------------- */

static void platform_pio(struct vcpu_worker *w, const struct route *r, struct vm_exit_pio *pio,
			 uint8_t *data)
{
	uint32_t value = 0;
	struct vm_exit e = { 0 };

	if (!pio->write) {
		/* PM1a control and the i8042 status read as zero: no sleep, no keyboard. */
		for (uint32_t i = 0; i < pio->len; i++)
			data[i] = 0;
		return;
	}
	for (uint32_t i = 0; i < pio->len; i++)
		value |= (uint32_t)pio->data[i] << (8 * i);
	if (r->target == ROUTE_TARGET_PLATFORM_POWER && (value & PM1A_SLP_EN)) {
		e.kind = VM_EXIT_SHUTDOWN;
		stop_with(w, &e);
	}
	if (r->target == ROUTE_TARGET_PLATFORM_RESET && pio->len == 1 && value == I8042_CMD_RESET) {
		e.kind = VM_EXIT_RESET;
		stop_with(w, &e);
	}
}

/*
 * The PM1a event block: PM1_STS (2 bytes) then PM1_EN (2 bytes). No event
 * ever fires (no SCI), so status reads 0; enable keeps what was written,
 * because ACPICA checks that GBL_EN sticks before it trusts the global
 * lock. One register for the whole VM, in the monitor's memory.
 */
static void pm1_event_pio(struct vcpu_worker *w, const struct route *r, const struct vm_exit_pio *pio,
			  uint8_t *data)
{
	for (uint32_t i = 0; i < pio->len; i++) {
		uint64_t off = pio->port - r->base + i;
		uint32_t shift = (uint32_t)(off - 2) * 8;

		if (off < 2 || off >= 4) {
			if (!pio->write)
				data[i] = off < 2 ? 0 : 0xff;
			continue;
		}
		if (pio->write) {
			uint32_t old = atomic_load(w->pm1_enable), val;

			do {
				val = (old & ~(0xffu << shift)) | ((uint32_t)pio->data[i] << shift);
			} while (!atomic_compare_exchange_weak(w->pm1_enable, &old, val));
		} else {
			data[i] = (uint8_t)(atomic_load(w->pm1_enable) >> shift);
		}
	}
}

/*
 * PCI configuration mechanism #1 on a bus with no devices: CONFIG_ADDRESS
 * (0xcf8, 32-bit) keeps what is written, so a kernel's probe finds the
 * mechanism, and every CONFIG_DATA read (0xcfc-0xcff) is all ones: no
 * device at any address. Without it Linux logs "PCI: Fatal: No config
 * space access function found" on every boot.
 */
static void pci_config_pio(struct vcpu_worker *w, const struct route *r, const struct vm_exit_pio *pio,
			   uint8_t *data)
{
	uint64_t off = pio->port - r->base;

	if (off == 0 && pio->len == 4) {
		if (pio->write) {
			uint32_t v = 0;

			for (uint32_t i = 0; i < 4; i++)
				v |= (uint32_t)pio->data[i] << (8 * i);
			atomic_store(w->pci_address, v);
		} else {
			uint32_t v = atomic_load(w->pci_address);

			for (uint32_t i = 0; i < 4; i++)
				data[i] = (uint8_t)(v >> (8 * i));
		}
		return;
	}
	/* Byte accesses to 0xcf8-0xcfb (mechanism #2 probes) and CONFIG_DATA. */
	if (!pio->write)
		fill_ones(data, pio->len);
}

static void inline_testdev_pio(struct vcpu_worker *w, struct vm_exit_pio *pio, uint8_t *data)
{
	int exit_status = -1;
	uint8_t buf[VM_PIO_DATA_MAX];
	struct vm_exit e = { 0 };

	for (uint32_t i = 0; i < pio->len; i++)
		buf[i] = pio->data[i];
	if (testdev_pio(w->inline_testdev, pio->port, pio->write, pio->len, buf, &exit_status) < 0)
		fill_ones(buf, pio->len);
	if (!pio->write)
		for (uint32_t i = 0; i < pio->len; i++)
			data[i] = buf[i];
	if (exit_status >= 0) {
		atomic_store(&w->inline_exit_status, exit_status + 1);
		e.kind = VM_EXIT_SHUTDOWN;
		stop_with(w, &e);
	}
}

/* ---- exit handlers ------------------------------------------------------ */

static void handle_hypercall(struct vcpu_worker *w, uint32_t dev, bool inline_dev)
{
	struct kvm_regs regs;
	struct vm_exit e;
	uint8_t result[8];
	uint64_t value = 0;
	long r;

	r = kvm_vcpu_get_regs(w->vcpu_fd, &regs);
	if (r < 0)
		vcpu_stop_with_error(w, "KVM_GET_REGS", r);
	vcpu_make_hypercall(&regs, &e);
	w->stats.hypercalls++;
	if (inline_dev) {
		value = testdev_hypercall(w->inline_testdev, e.u.hypercall.func, e.u.hypercall.args);
	} else {
		if (!send_to_device(w, dev, &e, result, sizeof(result)))
			fill_ones(result, sizeof(result));
		for (int i = 7; i >= 0; i--)
			value = (value << 8) | result[i];
	}
	regs.rax = value;
	/* rip is unchanged: KVM completes the OUT (and skips it) on the next KVM_RUN. */
	r = kvm_vcpu_set_regs(w->vcpu_fd, &regs);
	if (r < 0)
		vcpu_stop_with_error(w, "KVM_SET_REGS", r);
}

static void handle_io(struct vcpu_worker *w)
{
	uint32_t reps = vcpu_exit_repeats(w->run, w->run_size);
	struct vm_exit e;

	if (reps == 0) {
		vcpu_decode_exit(w->run, w->run_size, 0, &e);
		stop_with(w, &e);
	}
	for (uint32_t rep = 0; rep < reps; rep++) {
		uint8_t *data = vcpu_io_data(w->run, w->run_size, rep);
		const struct route *r;

		vcpu_decode_exit(w->run, w->run_size, rep, &e);
		w->stats.pio++;
		r = route_lookup(w->routes, ROUTE_SPACE_PIO, e.u.pio.port);
		if (!r) {
			note_unclaimed(w, ROUTE_SPACE_PIO, e.u.pio.port, e.u.pio.write, e.u.pio.len);
			if (!e.u.pio.write)
				fill_ones(data, e.u.pio.len);
			continue;
		}
		if ((r->flags & ROUTE_FLAG_HYPERCALL) && e.u.pio.write) {
			/* A doorbell: one hypercall per instruction, whatever its count. */
			handle_hypercall(w, r->device, r->target == ROUTE_TARGET_INLINE_TESTDEV);
			return;
		}
		switch (r->target) {
		case ROUTE_TARGET_DEVICE:
			if (!send_to_device(w, r->device, &e, data, e.u.pio.len)) {
				note_unclaimed(w, ROUTE_SPACE_PIO, e.u.pio.port, e.u.pio.write, e.u.pio.len);
				if (!e.u.pio.write)
					fill_ones(data, e.u.pio.len);
			}
			break;
		case ROUTE_TARGET_PLATFORM_POWER:
		case ROUTE_TARGET_PLATFORM_RESET:
			platform_pio(w, r, &e.u.pio, data);
			break;
		case ROUTE_TARGET_INLINE_TESTDEV:
			inline_testdev_pio(w, &e.u.pio, data);
			break;
		case ROUTE_TARGET_PLATFORM_PM1_EVT:
			pm1_event_pio(w, r, &e.u.pio, data);
			break;
		case ROUTE_TARGET_PLATFORM_PCI_CONFIG:
			pci_config_pio(w, r, &e.u.pio, data);
			break;
		case ROUTE_TARGET_PLATFORM_ABSENT:
			if (!e.u.pio.write)
				fill_ones(data, e.u.pio.len);
			break;
		}
	}
}

static void handle_mmio(struct vcpu_worker *w)
{
	struct kvm_run *run = w->run;
	struct vm_exit e;
	const struct route *r;

	vcpu_decode_exit(run, w->run_size, 0, &e);
	if (e.kind != VM_EXIT_MMIO)
		stop_with(w, &e);
	w->stats.mmio++;
	r = route_lookup(w->routes, ROUTE_SPACE_MMIO, e.u.mmio.addr);
	if (r && r->target == ROUTE_TARGET_INLINE_TESTDEV) {
		uint8_t buf[VM_MMIO_DATA_MAX];

		for (uint32_t i = 0; i < e.u.mmio.len; i++)
			buf[i] = e.u.mmio.data[i];
		if (testdev_mmio(w->inline_testdev, e.u.mmio.addr - r->base, e.u.mmio.write,
				 e.u.mmio.len, buf) < 0)
			fill_ones(buf, e.u.mmio.len);
		if (!e.u.mmio.write)
			for (uint32_t i = 0; i < e.u.mmio.len; i++)
				run->mmio.data[i] = buf[i];
		return;
	}
	if (r && r->target == ROUTE_TARGET_DEVICE && send_to_device(w, r->device, &e, run->mmio.data, e.u.mmio.len))
		return;
	note_unclaimed(w, ROUTE_SPACE_MMIO, e.u.mmio.addr, e.u.mmio.write, e.u.mmio.len);
	if (!e.u.mmio.write)
		fill_ones(run->mmio.data, e.u.mmio.len);
}

/*
 * Some KVM backends (the PVM backend among them) cannot emulate int3 and
 * report an emulation failure instead. When the faulting instruction is
 * int3 (0xcc), do what hardware does: deliver #BP to the guest's own
 * handler, which returns to the next instruction.
 *
 * On VMX and SVM rip stays AT the int3: KVM treats #BP as a soft
 * exception and advances past the instruction itself when it delivers one
 * (SVM decodes it to fill next_rip). Advancing rip here first, as a first
 * version did, made SVM skip the following instruction instead and drop
 * the event; the forced-emulation integration test caught it. PVM does not
 * advance: there the handler returned to the int3 and the guest looped
 * forever (53,000 injections a minute, seen in a state dump), so on PVM
 * (int3_advance_rip, decided by the monitor) the worker moves rip first.
 * Returns false when the error is something else.
 */
static bool try_inject_int3(struct vcpu_worker *w)
{
	struct kvm_regs regs;
	struct kvm_translation tr = { 0 };
	struct kvm_vcpu_events ev;
	uint8_t insn = 0;

	if (w->run->internal.suberror != KVM_INTERNAL_ERROR_EMULATION)
		return false;
	if (kvm_vcpu_get_regs(w->vcpu_fd, &regs) < 0)
		return false;
	tr.linear_address = regs.rip;
	if (kvm_vcpu_translate(w->vcpu_fd, &tr) < 0 || !tr.valid)
		return false;
	if (guest_mem_read(&w->mem, tr.physical_address, &insn, 1) < 0 || insn != 0xcc)
		return false;
	if (kvm_vcpu_get_events(w->vcpu_fd, &ev) < 0)
		return false;
	if (w->int3_advance_rip) {
		/* PVM delivers the event at rip as it stands: the handler must see the next instruction. */
		regs.rip += 1;
		if (kvm_vcpu_set_regs(w->vcpu_fd, &regs) < 0)
			return false;
	}
	/* Replaces whatever KVM queued for the failure (a #UD at CPL 0). */
	ev.exception.injected = 1;
	ev.exception.nr = 3; /* #BP */
	ev.exception.has_error_code = 0;
	ev.exception.error_code = 0;
	ev.flags = 0;
	if (kvm_vcpu_set_events(w->vcpu_fd, &ev) < 0)
		return false;
	w->stats.int3_injected++;
	return true;
}

static void handle_debug(struct vcpu_worker *w)
{
	struct vm_exit e;

	vcpu_decode_exit(w->run, w->run_size, 0, &e);
	w->stats.debug_exits++;
	post_to_monitor(w, &e);
	if (w->single_step > 0 && --w->single_step == 0) {
		struct kvm_guest_debug dbg = { 0 };
		long r = kvm_vcpu_set_guest_debug(w->vcpu_fd, &dbg);

		if (r < 0)
			vcpu_stop_with_error(w, "KVM_SET_GUEST_DEBUG", r);
	}
}

/* The exits that end this vCPU: Shutdown, Reset, InternalError and anything unknown. */
static NORETURN void stop_on_exit(struct vcpu_worker *w)
{
	struct vm_exit e;

	vcpu_decode_exit(w->run, w->run_size, 0, &e);
	if (e.kind == VM_EXIT_INTERNAL_ERROR) {
		struct kvm_regs regs;
		struct fmt_buf f;

		if (kvm_vcpu_get_regs(w->vcpu_fd, &regs) == 0) {
			fmt_resume(&f, e.u.internal_error.message, sizeof(e.u.internal_error.message));
			fmt_str(&f, " at rip ");
			fmt_hex(&f, regs.rip);
		}
	}
	stop_with(w, &e);
}

/* Only without an in-kernel LAPIC: tell the monitor and resume. */
static void handle_hlt(struct vcpu_worker *w)
{
	struct vm_exit e;

	vcpu_decode_exit(w->run, w->run_size, 0, &e);
	post_to_monitor(w, &e);
}

/* An emulation failure at an int3 on backends that cannot intercept #BP is injected; else it ends the vCPU. */
static void handle_internal_error(struct vcpu_worker *w)
{
	if (!try_inject_int3(w))
		stop_on_exit(w);
}

/*
 * A triple fault: leave the evidence before the VM goes away. KVM on AMD
 * reinitialises the vCPU at a shutdown intercept (the VMCB is undefined
 * after one): the registers are then the reset state, and only the last
 * exception number is the guest's.
 */
static void handle_shutdown(struct vcpu_worker *w)
{
	if (vcpu_dump_cpu(w->vcpu_fd, w->log_fd, w->index, w->pid, "triple fault"))
		vcpu_log_line(w, "triple fault: KVM reinitialised the registers at the shutdown (AMD); only the "
				 "exception nr above is the guest's");
	stop_on_exit(w);
}

/* What each KVM exit reason does; a reason without an entry ends the vCPU. */
static void (*const exit_handlers[])(struct vcpu_worker *w) = {
	[KVM_EXIT_IO] = handle_io,
	[KVM_EXIT_MMIO] = handle_mmio,
	[KVM_EXIT_DEBUG] = handle_debug,
	[KVM_EXIT_HLT] = handle_hlt,
	[KVM_EXIT_INTERNAL_ERROR] = handle_internal_error,
	[KVM_EXIT_SHUTDOWN] = handle_shutdown,
};

void vcpu_handle_exit(struct vcpu_worker *w)
{
	/*
	 * exit_reason is written by KVM in the kvm_run page; the monitor's
	 * memory (which this task shares) cannot reach it, the guest cannot
	 * write it. Bounds-checked all the same: any number KVM adds later
	 * lands on stop_on_exit, never outside the table.
	 */
	uint32_t reason = w->run->exit_reason;

	w->stats.exits++;
	if (reason < ARRAY_SIZE(exit_handlers) && exit_handlers[reason])
		exit_handlers[reason](w);
	else
		stop_on_exit(w);
}

