// SPDX-License-Identifier: MIT
/*
 * Every role's exported filter, read back as BPF: no syscall is allowed
 * with no argument condition unless it is on the short list below, each
 * entry with its reason.
 *
 * The check runs the compiled program (sandbox_compile, the bytes
 * seccomp(2) loads) in a small classic-BPF interpreter for every x86-64
 * syscall number, with five argument vectors: all zero, all ones, and three
 * random ones. A syscall the program allows for all five takes any
 * arguments ("unconditioned"); one it allows for some has an argument check;
 * one it never allows is not in the role's list. So a rule that loses its
 * check in sandbox.c fails here, whatever profiles.c says.
 */
#include <criterion/criterion.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "sandbox/sandbox.h"

#define MAX_NR 512

/* ---- a classic-BPF interpreter for seccomp programs ------------------------ */

static uint32_t load_data(const struct seccomp_data *d, uint32_t off)
{
	uint32_t v = 0;

	cr_assert(off % 4 == 0 && off + 4 <= sizeof(*d), "BPF load at offset %u", off);
	memcpy(&v, (const uint8_t *)d + off, 4);
	return v;
}

static uint32_t alu(uint16_t op, uint32_t a, uint32_t x)
{
	switch (op) {
	case BPF_ADD: return a + x;
	case BPF_SUB: return a - x;
	case BPF_MUL: return a * x;
	case BPF_AND: return a & x;
	case BPF_OR: return a | x;
	case BPF_XOR: return a ^ x;
	case BPF_LSH: return x < 32 ? a << x : 0;
	case BPF_RSH: return x < 32 ? a >> x : 0;
	case BPF_NEG: return -a;
	}
	cr_assert_fail("BPF alu op %#x", op);
	return 0;
}

/* The action the program returns for d (SECCOMP_RET_ACTION_FULL bits). */
static uint32_t run_bpf(const struct sandbox_filter *f, const struct seccomp_data *d)
{
	uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = { 0 };

	for (unsigned pc = 0, steps = 0; pc < f->prog.len && steps < 100000; pc++, steps++) {
		const struct sock_filter *i = &f->prog.filter[pc];
		uint32_t src = BPF_SRC(i->code) == BPF_X ? x : i->k;
		bool taken;

		switch (BPF_CLASS(i->code)) {
		case BPF_LD:
			if (BPF_MODE(i->code) == BPF_ABS)
				a = load_data(d, i->k);
			else if (BPF_MODE(i->code) == BPF_IMM)
				a = i->k;
			else if (BPF_MODE(i->code) == BPF_MEM)
				a = mem[i->k % BPF_MEMWORDS];
			else
				cr_assert_fail("BPF ld mode %#x", i->code);
			break;
		case BPF_LDX:
			x = BPF_MODE(i->code) == BPF_IMM ? i->k : mem[i->k % BPF_MEMWORDS];
			break;
		case BPF_ST:
			mem[i->k % BPF_MEMWORDS] = a;
			break;
		case BPF_STX:
			mem[i->k % BPF_MEMWORDS] = x;
			break;
		case BPF_ALU:
			a = alu(BPF_OP(i->code), a, src);
			break;
		case BPF_JMP:
			if (BPF_OP(i->code) == BPF_JA) {
				pc += i->k;
				break;
			}
			switch (BPF_OP(i->code)) {
			case BPF_JEQ: taken = a == src; break;
			case BPF_JGT: taken = a > src; break;
			case BPF_JGE: taken = a >= src; break;
			case BPF_JSET: taken = (a & src) != 0; break;
			default: cr_assert_fail("BPF jump op %#x", i->code); taken = false;
			}
			pc += taken ? i->jt : i->jf;
			break;
		case BPF_RET:
			return (BPF_RVAL(i->code) == BPF_A ? a : i->k) & SECCOMP_RET_ACTION_FULL;
		case BPF_MISC:
			if (BPF_MISCOP(i->code) == BPF_TAX)
				x = a;
			else
				a = x;
			break;
		}
	}
	cr_assert_fail("the BPF program ran off its end or looped");
	return 0;
}

/* ---- the check ------------------------------------------------------------ */

static uint64_t rnd_state = 0x243f6a8885a308d3ull;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

enum verdict { DENIED, CHECKED, UNCONDITIONED };

/*
 * Five base vectors decide "any arguments"; hint vectors (the fd numbers
 * role_params uses, with a few second arguments: FUTEX_WAKE, KVM_RUN,
 * SIGKILL) only show that a checked syscall is allowed at all.
 */
static enum verdict judge(const struct sandbox_filter *f, int nr)
{
	static const uint64_t hint_a0[] = { 0, 1, 2, 5, 6, 7, 8, 9 };
	static const uint64_t hint_a1[] = { 0, 1, 0xae80 /* KVM_RUN */, 9 /* SIGKILL */ };
	struct seccomp_data d = { .nr = nr, .arch = AUDIT_ARCH_X86_64, .instruction_pointer = 0x401000 };
	unsigned allowed = 0;
	bool hinted = false;

	for (int v = 0; v < 5; v++) {
		for (int a = 0; a < 6; a++)
			d.args[a] = v == 0 ? 0 : v == 1 ? UINT64_MAX : rnd();
		allowed += run_bpf(f, &d) == SECCOMP_RET_ALLOW;
	}
	if (allowed == 5)
		return UNCONDITIONED;
	memset(d.args, 0, sizeof(d.args));
	for (size_t i = 0; i < ARRAY_SIZE(hint_a0) && !hinted; i++)
		for (size_t j = 0; j < ARRAY_SIZE(hint_a1) && !hinted; j++) {
			d.args[0] = hint_a0[i];
			d.args[1] = hint_a1[j];
			hinted = run_bpf(f, &d) == SECCOMP_RET_ALLOW;
		}
	return allowed || hinted ? CHECKED : DENIED;
}

/* A syscall a role may take with any arguments, and why that is safe. */
struct unconditioned {
	int nr;
	const char *why;
};

static const struct unconditioned vcpu_ok[] = {
	{ SYS_rt_sigreturn, "returns from its own handler; no argument" },
	{ SYS_exit_group, "ends the worker; the status is its own to choose" },
};

static const struct unconditioned device_ok[] = {
	{ SYS_poll, "waits on fds it already holds; poll opens and changes nothing" },
	{ SYS_clock_gettime, "reads a clock into its own memory" },
	{ SYS_rt_sigreturn, "returns from its own handler" },
	{ SYS_restart_syscall, "resumes the interrupted poll, nothing else" },
	{ SYS_exit_group, "ends the worker" },
	{ SYS_getrandom, "virtio-rng's entropy into its own buffer (the model's extra rule, no fd)" },
};

static const struct unconditioned monitor_ok[] = {
	{ SYS_epoll_wait, "libevent waits on its own epoll instance" },
	{ SYS_epoll_pwait, "the same, newer glibc" },
	{ SYS_epoll_ctl, "libevent adds fds it already holds; epoll reads none of them" },
	{ SYS_poll, "waits on fds it already holds" },
	{ SYS_waitid, "only its own children can be waited for" },
	{ SYS_munmap, "its own memory" },
	{ SYS_brk, "its own heap" },
	{ SYS_madvise, "its own memory (free() trimming)" },
	{ SYS_clock_gettime, "reads a clock" },
	{ SYS_gettimeofday, "reads a clock" },
	{ SYS_rt_sigaction, "its own handlers" },
	{ SYS_rt_sigprocmask, "its own mask" },
	{ SYS_rt_sigreturn, "returns from its own handler" },
	{ SYS_restart_syscall, "resumes an interrupted wait" },
	{ SYS_getpid, "its own pid" },
	{ SYS_exit_group, "ends the monitor" },
};

static const struct unconditioned pidns_init_ok[] = {
	{ SYS_poll, "waits on the one fd it holds" },
	{ SYS_restart_syscall, "resumes that poll" },
	{ SYS_rt_sigreturn, "returns from its own handler" },
	{ SYS_exit_group, "ends it, and its namespace" },
};

static bool listed(const struct unconditioned *ok, size_t n, int nr)
{
	for (size_t i = 0; i < n; i++)
		if (ok[i].nr == nr)
			return true;
	return false;
}

static struct sandbox_params role_params(enum sandbox_role role)
{
	static const int held[] = { 0, 1, 2, 5, 6, 7, 9 }, sockets[] = { 6, 7 }, pidfds[] = { 9 };
	struct sandbox_params p;

	memset(&p, 0, sizeof(p));
	p.log_fd = 2;
	for (size_t i = 0; i < ARRAY_SIZE(p.doorbell_fds); i++)
		p.doorbell_fds[i] = -1;
	switch (role) {
	case SANDBOX_ROLE_VCPU:
		p.vcpu_fd = 5;
		p.doorbell_fds[0] = 6;
		p.doorbell_fds[1] = 7;
		break;
	case SANDBOX_ROLE_DEVICE:
		p.control_fd = 5;
		p.doorbell_fd = 6;
		p.extra[p.nextra++] = (struct sandbox_fd_rule){ SYS_write, 7, "an irqfd" };
		p.extra[p.nextra++] = (struct sandbox_fd_rule){ SYS_io_uring_enter, 8, "a ring" };
		p.extra[p.nextra++] = (struct sandbox_fd_rule){ SYS_getrandom, -1, "virtio-rng" };
		break;
	default:
		p.held_fds = held;
		p.nheld_fds = ARRAY_SIZE(held);
		p.socket_fds = sockets;
		p.nsocket_fds = ARRAY_SIZE(sockets);
		p.signal_fds = pidfds;
		p.nsignal_fds = ARRAY_SIZE(pidfds);
		break;
	}
	return p;
}

static void check_role(enum sandbox_role role, const struct unconditioned *ok, size_t nok)
{
	struct sandbox_params p = role_params(role);
	struct sandbox_filter *f = calloc(1, sizeof(*f));
	unsigned checked = 0, free_ = 0;

	cr_assert_not_null(f);
	cr_assert_eq(sandbox_compile(role, &p, f), 0);
	for (int nr = 0; nr < MAX_NR; nr++) {
		enum verdict v = judge(f, nr);

		if (v == UNCONDITIONED) {
			free_++;
			cr_expect(listed(ok, nok, nr), "%s: %s (%d) is allowed with any arguments and is not on the list",
				  sandbox_role_name(role), sandbox_syscall_name(nr), nr);
		} else if (v == CHECKED) {
			checked++;
		}
	}
	/* Nothing else: a foreign architecture is refused whatever the number. */
	{
		struct seccomp_data d = { .nr = SYS_exit_group, .arch = AUDIT_ARCH_I386 };

		cr_expect_neq(run_bpf(f, &d), SECCOMP_RET_ALLOW, "%s: an i386 syscall is allowed",
			      sandbox_role_name(role));
	}
	cr_log_info("%s: %u syscalls with argument checks, %u with any arguments (all listed)",
		    sandbox_role_name(role), checked, free_);
	cr_assert_gt(checked, 0, "%s: no argument check at all", sandbox_role_name(role));
	free(f);
}

Test(filter_args, vcpu_filter_checks_its_arguments)
{
	check_role(SANDBOX_ROLE_VCPU, vcpu_ok, ARRAY_SIZE(vcpu_ok));
}

#ifndef SQUIB_SANITIZED
/*
 * Nothing of it takes arguments worth checking: the test is that nothing
 * else is allowed (release builds: the ASan build adds its runtime's calls).
 */
Test(filter_args, pidns_init_filter_is_four_syscalls)
{
	struct sandbox_params p = role_params(SANDBOX_ROLE_PIDNS_INIT);
	struct sandbox_filter *f = calloc(1, sizeof(*f));
	unsigned allowed = 0;

	cr_assert_eq(sandbox_compile(SANDBOX_ROLE_PIDNS_INIT, &p, f), 0);
	for (int nr = 0; nr < MAX_NR; nr++)
		if (judge(f, nr) != DENIED) {
			allowed++;
			cr_expect(listed(pidns_init_ok, ARRAY_SIZE(pidns_init_ok), nr), "pidns-init: %s (%d) is allowed",
				  sandbox_syscall_name(nr), nr);
		}
	cr_assert_eq(allowed, ARRAY_SIZE(pidns_init_ok));
	free(f);
}
#endif

#ifndef SQUIB_SANITIZED
Test(filter_args, device_filter_checks_its_arguments)
{
	check_role(SANDBOX_ROLE_DEVICE, device_ok, ARRAY_SIZE(device_ok));
}

Test(filter_args, monitor_filter_checks_its_arguments)
{
	check_role(SANDBOX_ROLE_MONITOR, monitor_ok, ARRAY_SIZE(monitor_ok));
}
#else
/* The ASan build admits its runtime's syscalls with any arguments (sandbox.c, san_rules). */
Test(filter_args, device_and_monitor_release_builds_only)
{
	cr_log_info("device and monitor filters: checked in release builds (the sanitizer runtime needs any arguments)");
	(void)device_ok;
	(void)monitor_ok;
	(void)pidns_init_ok;
}
#endif

/* The interpreter itself: a filter that checks an argument is seen to, one that does not is seen not to. */
Test(filter_args, interpreter_tells_checked_from_unconditioned)
{
	struct sandbox_params p = role_params(SANDBOX_ROLE_VCPU);
	struct sandbox_filter *f = calloc(1, sizeof(*f));

	cr_assert_eq(sandbox_compile(SANDBOX_ROLE_VCPU, &p, f), 0);
	cr_assert_eq(judge(f, SYS_ioctl), CHECKED, "ioctl is pinned to the vCPU fd");
	cr_assert_eq(judge(f, SYS_exit_group), UNCONDITIONED);
	cr_assert_eq(judge(f, SYS_openat), DENIED);
#ifndef SQUIB_SANITIZED
	p = role_params(SANDBOX_ROLE_MONITOR);
	cr_assert_eq(sandbox_compile(SANDBOX_ROLE_MONITOR, &p, f), 0);
	cr_assert_eq(judge(f, SYS_mmap), CHECKED, "mmap without PROT_EXEC only");
	cr_assert_eq(judge(f, SYS_kill), DENIED, "the monitor has no kill(2)");
	cr_assert_eq(judge(f, SYS_newfstatat), DENIED, "the monitor stats nothing");
#endif
	free(f);
}
