/* SPDX-License-Identifier: MIT */
#include "vcpu-worker/decode.h"

#include "common/fmt.h"

static void zero_exit(struct vm_exit *out)
{
	volatile uint8_t *p = (volatile uint8_t *)out;

	for (size_t i = 0; i < sizeof(*out); i++)
		p[i] = 0;
}

void vcpu_internal_error_fmt(struct vm_exit *out, struct fmt_buf *f, const char *message)
{
	zero_exit(out);
	out->kind = VM_EXIT_INTERNAL_ERROR;
	fmt_init(f, out->u.internal_error.message, sizeof(out->u.internal_error.message));
	fmt_str(f, message);
}

void vcpu_internal_error(struct vm_exit *out, const char *message)
{
	struct fmt_buf f;

	vcpu_internal_error_fmt(out, &f, message);
}

uint32_t vcpu_exit_repeats(const struct kvm_run *run, size_t run_size)
{
	uint64_t size, count;

	if (run->exit_reason != KVM_EXIT_IO)
		return 1;
	size = run->io.size;
	count = run->io.count;
	if (size != 1 && size != 2 && size != 4)
		return 0;
	if (count == 0)
		return 0;
	/* size * count cannot wrap (both are small); data_offset is 64-bit and can. */
	if (run->io.data_offset < sizeof(*run) || run->io.data_offset > run_size ||
	    size * count > run_size - run->io.data_offset)
		return 0;
	return (uint32_t)count;
}

uint8_t *vcpu_io_data(struct kvm_run *run, size_t run_size, uint32_t rep)
{
	if (run->exit_reason != KVM_EXIT_IO || rep >= vcpu_exit_repeats(run, run_size))
		return NULL;
	return (uint8_t *)run + run->io.data_offset + (uint64_t)rep * run->io.size;
}

static void decode_io(const struct kvm_run *run, size_t run_size, uint32_t rep, struct vm_exit *out)
{
	struct vm_exit_pio *pio = &out->u.pio;
	const uint8_t *data;
	struct fmt_buf f;

	if (rep >= vcpu_exit_repeats(run, run_size)) {
		vcpu_internal_error_fmt(out, &f, "invalid KVM_EXIT_IO: size ");
		fmt_dec(&f, run->io.size);
		fmt_str(&f, " count ");
		fmt_dec(&f, run->io.count);
		fmt_str(&f, " data_offset ");
		fmt_hex(&f, run->io.data_offset);
		return;
	}
	data = (const uint8_t *)run + run->io.data_offset + (uint64_t)rep * run->io.size;
	out->kind = VM_EXIT_PIO;
	pio->port = run->io.port;
	pio->write = run->io.direction == KVM_EXIT_IO_OUT;
	pio->len = run->io.size;
	for (uint32_t i = 0; i < pio->len; i++)
		pio->data[i] = pio->write ? data[i] : 0;
}

static void decode_mmio(const struct kvm_run *run, struct vm_exit *out)
{
	struct vm_exit_mmio *mmio = &out->u.mmio;
	uint32_t len = run->mmio.len;
	struct fmt_buf f;

	if (len < 1 || len > VM_MMIO_DATA_MAX) {
		vcpu_internal_error_fmt(out, &f, "invalid KVM_EXIT_MMIO length ");
		fmt_dec(&f, len);
		return;
	}
	out->kind = VM_EXIT_MMIO;
	mmio->addr = run->mmio.phys_addr;
	mmio->write = run->mmio.is_write != 0;
	mmio->len = (uint8_t)len;
	for (uint32_t i = 0; i < len; i++)
		mmio->data[i] = mmio->write ? run->mmio.data[i] : 0;
}

static void decode_system_event(const struct kvm_run *run, struct vm_exit *out)
{
	struct fmt_buf f;

	switch (run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		out->kind = VM_EXIT_SHUTDOWN;
		return;
	case KVM_SYSTEM_EVENT_RESET:
		out->kind = VM_EXIT_RESET;
		return;
	case KVM_SYSTEM_EVENT_CRASH:
		vcpu_internal_error(out, "guest reported a crash (KVM_SYSTEM_EVENT_CRASH)");
		return;
	default:
		vcpu_internal_error_fmt(out, &f, "unknown KVM system event type ");
		fmt_dec(&f, run->system_event.type);
		return;
	}
}

static void decode_internal(const struct kvm_run *run, struct vm_exit *out)
{
	struct fmt_buf f;

	vcpu_internal_error_fmt(out, &f, "KVM internal error, suberror ");
	fmt_dec(&f, run->internal.suberror);
	switch (run->internal.suberror) {
	case KVM_INTERNAL_ERROR_EMULATION:
		fmt_str(&f, " (instruction emulation failed)");
		break;
	case KVM_INTERNAL_ERROR_SIMUL_EX:
		fmt_str(&f, " (exception while delivering an exception)");
		break;
	case KVM_INTERNAL_ERROR_DELIVERY_EV:
		fmt_str(&f, " (event delivery failed)");
		break;
	default:
		break;
	}
}

void vcpu_decode_exit(const struct kvm_run *run, size_t run_size, uint32_t rep, struct vm_exit *out)
{
	struct fmt_buf f;

	zero_exit(out);
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		decode_io(run, run_size, rep, out);
		return;
	case KVM_EXIT_MMIO:
		decode_mmio(run, out);
		return;
	case KVM_EXIT_HLT:
		out->kind = VM_EXIT_HLT;
		return;
	case KVM_EXIT_SHUTDOWN:
		/* A triple fault (a PC would reset; squib reports it as a fault). */
		out->kind = VM_EXIT_TRIPLE_FAULT;
		return;
	case KVM_EXIT_SYSTEM_EVENT:
		decode_system_event(run, out);
		return;
	case KVM_EXIT_DEBUG:
		out->kind = VM_EXIT_DEBUG;
		out->u.debug.pc = run->debug.arch.pc;
		out->u.debug.syndrome = run->debug.arch.dr6;
		return;
	case KVM_EXIT_INTERNAL_ERROR:
		decode_internal(run, out);
		return;
	case KVM_EXIT_FAIL_ENTRY:
		vcpu_internal_error_fmt(out, &f, "VM entry failed, hardware reason ");
		fmt_hex(&f, run->fail_entry.hardware_entry_failure_reason);
		fmt_str(&f, " on cpu ");
		fmt_dec(&f, run->fail_entry.cpu);
		return;
	default:
		vcpu_internal_error_fmt(out, &f, "unknown KVM exit reason ");
		fmt_dec(&f, run->exit_reason);
		return;
	}
}

void vcpu_make_hypercall(const struct kvm_regs *regs, struct vm_exit *out)
{
	zero_exit(out);
	out->kind = VM_EXIT_HYPERCALL;
	out->u.hypercall.func = regs->rax;
	out->u.hypercall.args[0] = regs->rdi;
	out->u.hypercall.args[1] = regs->rsi;
	out->u.hypercall.args[2] = regs->rdx;
	out->u.hypercall.args[3] = regs->r10;
	out->u.hypercall.args[4] = regs->r8;
	out->u.hypercall.args[5] = regs->r9;
}
