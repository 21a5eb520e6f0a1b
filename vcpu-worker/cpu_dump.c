/* SPDX-License-Identifier: MIT */
/* The vCPU's state as log lines. Freestanding: see cpu_dump.h. */
#include "vcpu-worker/cpu_dump.h"

#include "common/fmt.h"
#include "common/log_prefix.h"
#include "common/raw_syscall.h"
#include "vcpu-worker/kvm_vcpu.h"

struct dump_line {
	char text[256];
	struct fmt_buf f;
	int log_fd;
};

/* Whose lines these are, and why they are written. */
struct dump_who {
	int log_fd;
	uint32_t index;
	int32_t pid;
	const char *why;
};

static void line_start(struct dump_line *l, const struct dump_who *who)
{
	l->log_fd = who->log_fd;
	fmt_init(&l->f, l->text, sizeof(l->text));
	fmt_log_prefix(&l->f, "vcpu", who->index, who->pid);
	fmt_str(&l->f, who->why);
	fmt_str(&l->f, ":");
}

static void line_end(struct dump_line *l)
{
	fmt_char(&l->f, '\n');
	(void)raw_write(l->log_fd, l->text, l->f.len);
}

/* Starts a line; when err < 0 the line says the ioctl what failed, ends, and this returns false. */
static bool line_start_ok(struct dump_line *l, const struct dump_who *who, const char *what,
			  long err)
{
	line_start(l, who);
	if (err >= 0)
		return true;
	fmt_char(&l->f, ' ');
	fmt_str(&l->f, what);
	fmt_str(&l->f, " failed: errno ");
	fmt_dec(&l->f, -err);
	line_end(l);
	return false;
}

static void field(struct dump_line *l, const char *name, uint64_t v)
{
	fmt_char(&l->f, ' ');
	fmt_str(&l->f, name);
	fmt_char(&l->f, '=');
	fmt_hex(&l->f, v);
}

/* name=selector/base/limit/type, plus the present bit when it is clear. */
static void segment(struct dump_line *l, const char *name, const struct kvm_segment *s)
{
	fmt_char(&l->f, ' ');
	fmt_str(&l->f, name);
	fmt_char(&l->f, '=');
	fmt_hex(&l->f, s->selector);
	fmt_char(&l->f, '/');
	fmt_hex(&l->f, s->base);
	fmt_char(&l->f, '/');
	fmt_hex(&l->f, s->limit);
	fmt_char(&l->f, '/');
	fmt_hex(&l->f, s->type);
	if (!s->present)
		fmt_str(&l->f, "/np");
	if (s->l)
		fmt_str(&l->f, "/L");
}

static void dump_regs(int vcpu_fd, const struct dump_who *who)
{
	struct kvm_regs r;
	struct dump_line l;
	long err = kvm_vcpu_get_regs(vcpu_fd, &r);

	if (!line_start_ok(&l, who, "KVM_GET_REGS", err))
		return;
	field(&l, "rip", r.rip);
	field(&l, "rsp", r.rsp);
	field(&l, "rflags", r.rflags);
	field(&l, "rax", r.rax);
	field(&l, "rbx", r.rbx);
	field(&l, "rcx", r.rcx);
	field(&l, "rdx", r.rdx);
	field(&l, "rsi", r.rsi);
	field(&l, "rdi", r.rdi);
	field(&l, "rbp", r.rbp);
	line_end(&l);
	line_start(&l, who);
	field(&l, "r8", r.r8);
	field(&l, "r9", r.r9);
	field(&l, "r10", r.r10);
	field(&l, "r11", r.r11);
	field(&l, "r12", r.r12);
	field(&l, "r13", r.r13);
	field(&l, "r14", r.r14);
	field(&l, "r15", r.r15);
	line_end(&l);
}

/* Returns true when CS is the reset vector's (see cpu_dump.h). */
static bool dump_sregs(int vcpu_fd, const struct dump_who *who)
{
	struct kvm_sregs s;
	struct dump_line l;
	long err = kvm_vcpu_get_sregs(vcpu_fd, &s);

	if (!line_start_ok(&l, who, "KVM_GET_SREGS", err))
		return false;
	field(&l, "cr0", s.cr0);
	field(&l, "cr2", s.cr2);
	field(&l, "cr3", s.cr3);
	field(&l, "cr4", s.cr4);
	field(&l, "cr8", s.cr8);
	field(&l, "efer", s.efer);
	field(&l, "apic_base", s.apic_base);
	field(&l, "idt", s.idt.base);
	field(&l, "idt_limit", s.idt.limit);
	field(&l, "gdt", s.gdt.base);
	field(&l, "gdt_limit", s.gdt.limit);
	line_end(&l);
	line_start(&l, who);
	segment(&l, "cs", &s.cs);
	segment(&l, "ss", &s.ss);
	segment(&l, "ds", &s.ds);
	segment(&l, "fs", &s.fs);
	segment(&l, "gs", &s.gs);
	segment(&l, "tr", &s.tr);
	line_end(&l);
	return s.cs.selector == 0xf000 && s.cs.base == 0xffff0000;
}

static void dump_events(int vcpu_fd, const struct dump_who *who)
{
	struct kvm_vcpu_events ev;
	struct dump_line l;
	long err = kvm_vcpu_get_events(vcpu_fd, &ev);

	if (!line_start_ok(&l, who, "KVM_GET_VCPU_EVENTS", err))
		return;
	fmt_str(&l.f, " exception");
	field(&l, "injected", ev.exception.injected);
	field(&l, "pending", ev.exception.pending);
	field(&l, "nr", ev.exception.nr);
	field(&l, "error_code", ev.exception.has_error_code ? ev.exception.error_code : 0);
	fmt_str(&l.f, " interrupt");
	field(&l, "injected", ev.interrupt.injected);
	field(&l, "nr", ev.interrupt.nr);
	field(&l, "shadow", ev.interrupt.shadow);
	fmt_str(&l.f, " nmi");
	field(&l, "injected", ev.nmi.injected);
	field(&l, "pending", ev.nmi.pending);
	field(&l, "masked", ev.nmi.masked);
	field(&l, "sipi_vector", ev.sipi_vector);
	field(&l, "flags", ev.flags);
	line_end(&l);
}

bool vcpu_dump_cpu(int vcpu_fd, int log_fd, uint32_t index, int32_t pid, const char *why)
{
	const struct dump_who who = { log_fd, index, pid, why };
	bool reset_state;

	dump_regs(vcpu_fd, &who);
	reset_state = dump_sregs(vcpu_fd, &who);
	dump_events(vcpu_fd, &who);
	return reset_state;
}
