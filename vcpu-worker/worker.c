/* SPDX-License-Identifier: MIT */
/*
 * The vCPU worker's KVM_RUN loop. Freestanding: see worker.h.
 *
 * Syscalls after the seccomp filter is loaded (sandbox/roles.c lists them):
 * ioctl on the vCPU fd (KVM_RUN, KVM_GET/SET_REGS, KVM_GET_SREGS,
 * KVM_GET/SET_VCPU_EVENTS, KVM_SET_GUEST_DEBUG, KVM_TRANSLATE), write (log fd, doorbell eventfds),
 * futex (ring waits), exit_group, clock_gettime (inline testdev only).
 */
#include "vcpu-worker/worker.h"

#include <errno.h>
#include <linux/prctl.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>

#include "common/fmt.h"
#include "common/platform.h"
#include "common/raw_syscall.h"
#include "common/testdev.h"
#include "vcpu-worker/cpu_dump.h"
#include "vcpu-worker/decode.h"
#include "vcpu-worker/kvm_vcpu.h"

_Static_assert(TESTDEV_MMIO_DATA_MAX == VM_MMIO_DATA_MAX, "testdev MMIO buffer = a VmExit's");
_Static_assert(TESTDEV_PIO_DATA_MAX == VM_PIO_DATA_MAX, "testdev PIO buffer = a VmExit's");

/* ---- logging ------------------------------------------------------------ */

static void vlog_line(struct vcpu_worker *w, const char *text)
{
	char line[192];
	struct fmt_buf f;

	fmt_init(&f, line, sizeof(line));
	fmt_str(&f, "squib: vcpu");
	fmt_dec(&f, w->index);
	fmt_str(&f, ": ");
	fmt_str(&f, text);
	fmt_char(&f, '\n');
	(void)raw_write(w->log_fd, line, f.len);
}

/* ---- the SIGSYS reporter -------------------------------------------------- */

void squib_vcpu_sigreturn(void);
__asm__(".text\n"
	".globl squib_vcpu_sigreturn\n"
	".type squib_vcpu_sigreturn,@function\n"
	"squib_vcpu_sigreturn:\n"
	"\tmov $15, %eax\n" /* rt_sigreturn */
	"\tsyscall\n"
	"\thlt\n");

static struct vcpu_worker *worker_from_stack(void)
{
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);

	return (struct vcpu_worker *)(sp & ~((uintptr_t)VCPU_WORKER_REGION_SIZE - 1));
}

/*
 * Runs on the worker's own stack when seccomp denies a syscall: records the
 * number for the monitor, then issues the denied syscall again. SIGSYS is
 * blocked inside its own handler, so the kernel resets it to the default
 * action and the worker dies by SIGSYS, which the monitor reports.
 */
static void vcpu_sigsys_handler(int sig, siginfo_t *info, void *uctx)
{
	struct vcpu_worker *w = worker_from_stack();
	int nr = info->si_syscall;

	(void)sig;
	(void)uctx;
	if (w->magic == VCPU_WORKER_MAGIC)
		atomic_store(&w->status.denied_syscall, nr);
	/*
	 * SAFETY: re-issues the denied syscall with every argument -1, so the
	 * filter denies it again (no rule admits fd -1 or futex op -1) and the
	 * kernel never dereferences an argument; it exists so a tracer sees
	 * the number. nr came from the kernel's siginfo, not from the guest.
	 */
	raw_syscall6(nr, -1, -1, -1, -1, -1, -1);
	raw_exit_group(128 + SIGSYS);
}

struct kernel_sigaction {
	void *handler;
	unsigned long flags;
	void *restorer;
	uint64_t mask;
};

/* rt_sigaction(2) with the kernel's struct. Precondition: sig is valid. */
static long raw_sigaction(int sig, void *handler, unsigned long flags)
{
	struct kernel_sigaction ka = {
		.handler = handler,
		.flags = flags | 0x04000000 /* SA_RESTORER */,
		.restorer = (void *)squib_vcpu_sigreturn,
		.mask = 0,
	};

	/*
	 * SAFETY: rt_sigaction(2) with the kernel's struct (not glibc's) on
	 * this stack, no old-action pointer, sigsetsize 8 (the kernel's
	 * sigset_t on x86-64). The restorer is this file's asm stub, which
	 * issues rt_sigreturn; dispositions are per task here (no CLONE_SIGHAND).
	 */
	return raw_syscall6(SYS_rt_sigaction, sig, (long)&ka, 0, 8, 0, 0);
}

/*
 * VCPU_DUMP_SIGNAL's handler: nothing. Its only job is to interrupt KVM_RUN
 * (or a futex wait, which simply waits again); the loop then looks at
 * dump_requested.
 */
static void vcpu_kick_handler(int sig)
{
	(void)sig;
}

/* ---- set-up ------------------------------------------------------------- */

static int worker_setup_signals(struct vcpu_worker *w)
{
	/* The monitor owns the terminal: keyboard and job-control signals are its. */
	static const int ignored[] = { SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGPIPE, SIGTSTP,
				       SIGTTIN, SIGTTOU, SIGUSR2, SIGALRM, SIGCHLD, SIGWINCH };
	uint64_t none = 0;
	long r;

	for (size_t i = 0; i < ARRAY_SIZE(ignored); i++) {
		r = raw_sigaction(ignored[i], SIG_IGN, 0);
		if (r < 0)
			return (int)r;
	}
	r = raw_sigaction(SIGSYS, (void *)vcpu_sigsys_handler, SA_SIGINFO);
	if (r < 0)
		return (int)r;
	/* No SA_RESTART: KVM_RUN must come back with -EINTR. */
	r = raw_sigaction(VCPU_DUMP_SIGNAL, (void *)vcpu_kick_handler, 0);
	if (r < 0)
		return (int)r;
	/* Die with the monitor. SAFETY: prctl(2) with scalar arguments only. */
	r = raw_syscall6(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0, 0);
	if (r < 0)
		return (int)r;
	(void)w;
	/*
	 * The monitor blocked every signal around clone(); unblock them here.
	 * SAFETY: rt_sigprocmask(2) reads the 8-byte kernel sigset `none` on
	 * this stack; no old-mask pointer. The mask is this task's alone.
	 */
	return (int)raw_syscall6(SYS_rt_sigprocmask, SIG_SETMASK, (long)&none, 0, 8, 0, 0);
}

/* Closes every fd but the ones this worker uses (its fd table is a copy of the monitor's). */
static int worker_close_fds(struct vcpu_worker *w)
{
	int keep[2 + VCPU_MAX_DEVICES + 1];
	int nkeep = 0, lo = 0;
	long r;

	keep[nkeep++] = w->vcpu_fd;
	keep[nkeep++] = w->log_fd;
	keep[nkeep++] = w->monitor_doorbell_fd;
	for (uint32_t d = 0; d < w->ndevices; d++)
		keep[nkeep++] = w->device_rings[d].doorbell_fd;
	/* Sort (insertion sort: at most a dozen entries). */
	for (int i = 1; i < nkeep; i++)
		for (int j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
			int t = keep[j];
			keep[j] = keep[j - 1];
			keep[j - 1] = t;
		}
	for (int i = 0; i < nkeep; i++) {
		if (keep[i] < 0 || keep[i] < lo)
			continue;
		if (keep[i] > lo) {
			/*
			 * SAFETY: close_range(2) (Linux 5.9) on this task's own fd
			 * table, a copy made by clone without CLONE_FILES: the
			 * monitor's fds stay open. Scalars only.
			 */
			r = raw_syscall3(SYS_close_range, lo, keep[i] - 1, 0);
			if (r < 0)
				return (int)r;
		}
		lo = keep[i] + 1;
	}
	r = raw_syscall3(SYS_close_range, lo, ~0U, 0); /* SAFETY: as above, up to the last fd */
	return (int)r;
}

static int worker_enter_sandbox(struct vcpu_worker *w)
{
	char name[16] = "squib-vcpu";
	struct fmt_buf f;
	long r;

	fmt_init(&f, name + 10, sizeof(name) - 10);
	fmt_dec(&f, w->index);
	/* SAFETY: prctl(2) reads at most 16 bytes of name, NUL-terminated (fmt keeps it so). */
	r = raw_syscall6(SYS_prctl, PR_SET_NAME, (long)name, 0, 0, 0, 0);
	if (r < 0)
		return (int)r;
	/* SAFETY: scalar arguments; required before an unprivileged seccomp filter. */
	r = raw_syscall6(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0);
	if (r < 0)
		return (int)r;
	/*
	 * SAFETY: seccomp(2) reads the sock_fprog and its instructions, which
	 * the monitor compiled into w->filter before the clone and never
	 * changes afterwards. No TSYNC: the filter applies to this task only
	 * (the monitor enters its own).
	 */
	return (int)raw_syscall3(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, (long)&w->filter->prog);
}

/* ---- talking to the monitor -------------------------------------------- */

static void post_to_monitor(struct vcpu_worker *w, const struct vm_exit *e)
{
	uint8_t buf[VM_WIRE_MAX];
	size_t len = 0;
	uint32_t seq;

	if (vm_exit_encode(e, buf, sizeof(buf), &len) < 0 ||
	    ring_push(&w->monitor_ring, buf, (uint32_t)len, &seq) < 0)
		vlog_line(w, "cannot post an exit to the monitor ring");
}

static NORETURN void stop_with(struct vcpu_worker *w, const struct vm_exit *e)
{
	post_to_monitor(w, e);
	raw_exit_group(VCPU_EXIT_STOPPED);
}

static NORETURN void stop_with_error(struct vcpu_worker *w, const char *what, long err)
{
	struct vm_exit e;
	struct fmt_buf f;

	vcpu_internal_error_fmt(&e, &f, what);
	fmt_str(&f, " failed: errno ");
	fmt_dec(&f, -err);
	stop_with(w, &e);
}

static void device_fault(struct vcpu_worker *w, uint32_t dev, int err)
{
	char text[128];
	struct fmt_buf f;
	uint32_t bit = 1u << dev;

	if (atomic_fetch_or(&w->device_faults, bit) & bit)
		return;
	fmt_init(&f, text, sizeof(text));
	fmt_str(&f, "device ");
	fmt_str(&f, w->device_names[dev]);
	fmt_str(&f, " broke the ring protocol (errno ");
	fmt_dec(&f, -err);
	fmt_str(&f, "); treating its range as unclaimed");
	vlog_line(w, text);
	(void)raw_eventfd_signal(w->monitor_doorbell_fd);
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
			vlog_line(w, "more unclaimed addresses than the log remembers; no longer logging them");
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
	vlog_line(w, text);
}

static void fill_ones(uint8_t *data, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		data[i] = 0xff;
}

/* ---- sending an exit to a device worker --------------------------------- */

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

	if (dev >= w->ndevices || (atomic_load(&w->device_faults) & (1u << dev)))
		return false;
	err = vm_exit_encode(e, buf, sizeof(buf), &len);
	if (err < 0) {
		vlog_line(w, "cannot encode an exit (bug)");
		return false;
	}
	err = ring_push(&w->device_rings[dev], buf, (uint32_t)len, &seq);
	if (err < 0) {
		device_fault(w, dev, err);
		return false;
	}
	if (!vm_exit_needs_reply(e))
		return true;
	atomic_store(&w->waiting_for_device, (int32_t)dev);
	err = ring_wait_reply(&w->device_rings[dev], seq, buf, sizeof(buf), &rlen);
	atomic_store(&w->waiting_for_device, -1);
	if (err == 0)
		err = vm_reply_decode(&w->decoder, buf, rlen, &reply);
	if (err == 0 && reply.len != reply_len)
		err = -EBADMSG;
	if (err < 0) {
		device_fault(w, dev, err);
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
		stop_with_error(w, "KVM_GET_REGS", r);
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
		stop_with_error(w, "KVM_SET_REGS", r);
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
			stop_with_error(w, "KVM_SET_GUEST_DEBUG", r);
	}
}

static void handle_exit(struct vcpu_worker *w)
{
	struct vm_exit e;

	w->stats.exits++;
	switch (w->run->exit_reason) {
	case KVM_EXIT_IO:
		handle_io(w);
		return;
	case KVM_EXIT_MMIO:
		handle_mmio(w);
		return;
	case KVM_EXIT_DEBUG:
		handle_debug(w);
		return;
	case KVM_EXIT_HLT:
		/* Only without an in-kernel LAPIC; tell the monitor and resume. */
		vcpu_decode_exit(w->run, w->run_size, 0, &e);
		post_to_monitor(w, &e);
		return;
	case KVM_EXIT_INTERNAL_ERROR:
		if (try_inject_int3(w))
			return;
		break;
	case KVM_EXIT_SHUTDOWN:
		/*
		 * A triple fault: leave the evidence before the VM goes away. KVM
		 * on AMD reinitialises the vCPU at a shutdown intercept (the VMCB
		 * is undefined after one): the registers are then the reset state,
		 * and only the last exception number is the guest's.
		 */
		if (vcpu_dump_cpu(w->vcpu_fd, w->log_fd, w->index, "triple fault"))
			vlog_line(w, "triple fault: KVM reinitialised the registers at the shutdown (AMD); only the "
				     "exception nr above is the guest's");
		break;
	default:
		break;
	}
	/* Shutdown, Reset, InternalError and anything unknown end this vCPU. */
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

/* ---- entry -------------------------------------------------------------- */

static void wait_for_gate(struct vcpu_worker *w)
{
	uint32_t v;

	while ((v = atomic_load(w->start_gate)) == VCPU_GATE_WAIT)
		(void)raw_futex_wait((volatile uint32_t *)w->start_gate, VCPU_GATE_WAIT);
	if (v != VCPU_GATE_GO)
		raw_exit_group(VCPU_EXIT_ABORTED);
}

int vcpu_worker_main(void *arg)
{
	struct vcpu_worker *w = arg;
	int err;

	err = worker_setup_signals(w);
	if (err == 0)
		err = worker_close_fds(w);
	if (err == 0 && w->single_step > 0) {
		struct kvm_guest_debug dbg = { .control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP };

		err = (int)kvm_vcpu_set_guest_debug(w->vcpu_fd, &dbg);
	}
	if (err == 0)
		err = worker_enter_sandbox(w);
	if (err < 0) {
		char text[96];
		struct fmt_buf f;

		fmt_init(&f, text, sizeof(text));
		fmt_str(&f, "set-up failed: errno ");
		fmt_dec(&f, -err);
		vlog_line(w, text);
		raw_exit_group(VCPU_EXIT_SETUP);
	}
	wait_for_gate(w);
	for (;;) {
		long r = kvm_vcpu_run(w->vcpu_fd);

		if (r == -EINTR && atomic_exchange(&w->dump_requested, 0)) {
			/* No exit is half-done here: KVM completes one before it returns -EINTR. */
			w->run->immediate_exit = 0;
			vcpu_dump_cpu(w->vcpu_fd, w->log_fd, w->index, "state dump");
		}
		if (r == -EINTR || r == -EAGAIN)
			continue;
		if (r < 0)
			stop_with_error(w, "KVM_RUN", r);
		handle_exit(w);
		/*
		 * The kick landed while the exit was handled: re-enter with
		 * immediate_exit, which completes the exit without running the
		 * guest and returns -EINTR, so the registers read are consistent.
		 */
		if (atomic_load(&w->dump_requested))
			w->run->immediate_exit = 1;
	}
}
