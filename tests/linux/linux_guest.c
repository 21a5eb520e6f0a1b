/* SPDX-License-Identifier: MIT */
#include "tests/linux/linux_guest.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEFAULT_LINUX_TIMEOUT_S 120.0
#define MAX_EXTRA 16

const char *linux_guest_dir(void)
{
	const char *d = getenv("SQUIB_LINUX_GUEST");

	return d && *d ? d : "build/linux-guest";
}

double linux_timeout(void)
{
	const char *t = getenv("SQUIB_LINUX_TIMEOUT");
	double v = t ? strtod(t, NULL) : 0;

	return v > 0 ? v : DEFAULT_LINUX_TIMEOUT_S;
}

void linux_start(struct squib_run *run, const struct linux_boot *b)
{
	static char kernel[PATH_MAX], initrd[PATH_MAX], cmdline[2048], cpus[16], memory[16];
	const char *args[8 + 10 + MAX_EXTRA + 1] = {
		"start", "--kernel", kernel, "--initrd", initrd, "--cpus", cpus, "--memory", memory, "--cmdline", cmdline,
		"--console", run->console_path,
	};
	size_t n = 13;

	squib_run_init(run);
	args[12] = run->console_path;
	cr_assert(access("/dev/kvm", R_OK | W_OK) == 0, "/dev/kvm is not usable: run through tests/run-kvm.sh");
	snprintf(kernel, sizeof(kernel), "%s/vmlinuz", linux_guest_dir());
	if (b->initrd && strchr(b->initrd, '/'))
		snprintf(initrd, sizeof(initrd), "%s", b->initrd);
	else
		snprintf(initrd, sizeof(initrd), "%s/%s", linux_guest_dir(), b->initrd ? b->initrd : "initramfs.cpio");
	cr_assert(access(kernel, R_OK) == 0, "the Linux guest is missing in %s: make guest, or set SQUIB_LINUX_GUEST",
		  linux_guest_dir());
	cr_assert(access(initrd, R_OK) == 0, "no initrd %s: make guest, or set SQUIB_LINUX_GUEST", initrd);
	cr_assert(b->run && !strchr(b->run, '"'), "squib.run commands cannot hold '\"'");
	snprintf(cpus, sizeof(cpus), "%u", b->cpus);
	snprintf(memory, sizeof(memory), "%u", b->memory_mib);
	/* nokaslr: a rip in a state dump is found in /proc/kallsyms of another boot (linux_describe). */
	snprintf(cmdline, sizeof(cmdline), "console=ttyS0 quiet nokaslr squib.run=\"%s\"", b->run);
	for (const char *const *e = b->extra; e && *e; e++) {
		cr_assert(n < sizeof(args) / sizeof(args[0]) - 1, "too many extra arguments");
		args[n++] = *e;
	}
	args[n] = NULL;
	squib_start(run, args);
}

void linux_console_strip_cr(struct squib_run *r)
{
	char *w = r->console;

	for (const char *c = r->console; *c; c++)
		if (*c != '\r')
			*w++ = *c;
	*w = '\0';
}

bool linux_retry_emulator_fault(struct squib_run *r, const struct linux_boot *b, int attempt)
{
	/*
	 * A triple fault is a failure on a real KVM host. In the nested test
	 * host it is the emulator's (README "Linux tests" and
	 * tests/svm-host/README.md "One host CPU" give the evidence): the boot
	 * is tried again, and the SQUIB-RETRY line puts it in make test's
	 * summary.
	 */
	char what[512];

	if (!squib_emulator_triple_fault(r))
		return false;
	snprintf(what, sizeof(what), "Linux boot (--cpus %u, squib.run=%s)", b->cpus, b->run ? b->run : "(none)");
	return squib_retry_emulator_fault(r, what, attempt, LINUX_ATTEMPTS, "booting again (its dump is below)",
					  linux_describe(r));
}

struct squib_run *linux_run(struct squib_run runs[LINUX_ATTEMPTS], const struct linux_boot *b)
{
	double t = b->timeout_s > 0 ? b->timeout_s : linux_timeout();

	for (int attempt = 0; attempt < LINUX_ATTEMPTS; attempt++) {
		struct squib_run *r = &runs[attempt];
		bool last = attempt + 1 == LINUX_ATTEMPTS;

		linux_start(r, b);
		if (squib_wait(r, t)) {
			if (linux_retry_emulator_fault(r, b, attempt))
				continue;
			linux_console_strip_cr(r);
			return r;
		}
		/* The SQUIB-RETRY line goes into make test's summary (tests/suites.sh). */
		cr_log_warn("SQUIB-RETRY: Linux boot (--cpus %u, squib.run=%s) attempt %d of %d did not end within %.0f s; %s "
			    "(its state dump is below)\n%s", b->cpus, b->run ? b->run : "(none)",
			    attempt + 1, LINUX_ATTEMPTS, t, last ? "giving up" : "booting again",
			    linux_describe(r));
	}
	cr_assert_fail("the Linux guest hung or triple-faulted %d times (see the warnings above)", LINUX_ATTEMPTS);
	return NULL;
}

void linux_assert_ran(struct squib_run *r, unsigned cpus)
{
	char marker[64];

	cr_assert(strstr(r->console, "SQUIB-LINUX-READY uptime="), "no readiness marker\n%s", linux_describe(r));
	snprintf(marker, sizeof(marker), " nproc=%u\n", cpus);
	cr_assert(strstr(r->console, marker), "the guest does not see %u CPUs\n%s", cpus, linux_describe(r));
	cr_assert(strstr(r->console, "SQUIB-RUN-EXIT 0\n"), "the guest's command failed\n%s", linux_describe(r));
	cr_assert_eq(r->status, SQUIB_EXIT_OK, "poweroff must end the monitor with 0\n%s", linux_describe(r));
	cr_assert(kill(-r->pid, 0) < 0 && errno == ESRCH, "processes left behind\n%s", linux_describe(r));
}

const char *linux_scratch_dir(void)
{
	static char dir[64];

	snprintf(dir, sizeof(dir), "/tmp/squib-linux-XXXXXX");
	cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
	return dir;
}

void linux_scratch_remove(const char *dir)
{
	(void)host_sh("rm -rf '%s'", dir);
}

char *seq_text(unsigned long n, size_t *len)
{
	size_t cap = n * 8 + 16, used = 0;
	char *s = malloc(cap);

	cr_assert_not_null(s);
	for (unsigned long i = 1; i <= n; i++)
		used += (size_t)snprintf(s + used, cap - used, "%lu\n", i);
	*len = used;
	return s;
}

unsigned long long file_hash(const char *path)
{
	unsigned long long h = 1469598103934665603ULL;
	FILE *f = fopen(path, "rb");
	int c;

	cr_assert_not_null(f, "cannot read %s: %s", path, strerror(errno));
	while ((c = getc(f)) != EOF)
		h = (h ^ (unsigned char)c) * 1099511628211ULL;
	fclose(f);
	return h;
}

int host_sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	fflush(NULL);
	st = system(cmd);
	if (st < 0 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/*
 * The guest kernel's text symbols, "addr t name" lines (booted for once, on
 * the first failure that needs them): Debian's packages carry no real
 * System.map, and the tests boot with nokaslr, so /proc/kallsyms of any
 * boot of the same kernel holds. The guest writes them to a scratch disk,
 * which is much faster than the console. NULL when that boot fails.
 */
static const char *kallsyms_text(void)
{
	static struct squib_run run; /* static: squib_teardown */
	static char *text;
	static bool tried;
	char img[PATH_MAX];
	const char *extra[] = { "--disk", img, NULL };
	struct linux_boot b = { .cpus = 1, .memory_mib = 256, .extra = extra,
				.run = "grep -i ' t ' /proc/kallsyms > /dev/vda && sync" };

	if (tried)
		return text;
	tried = true;
	snprintf(img, sizeof(img), "/tmp/squib-kallsyms-%d.img", (int)getpid());
	make_file(img, 16u << 20);
	linux_start(&run, &b);
	if (squib_wait(&run, DEFAULT_LINUX_TIMEOUT_S) && run.status == 0)
		text = slurp(img); /* the symbols, then zeros: the string ends at the first */
	unlink(img);
	return text;
}

/* The text symbol at or below addr in syms, as "name+0xoff", into out; false when there is none near. */
static bool symbol_of(const char *syms, unsigned long long addr, char *out, size_t cap)
{
	char name[256], best[256] = "";
	unsigned long long a, best_a = 0;
	char type;

	for (const char *line = syms, *next; *line; line = next) {
		next = strchr(line, '\n');
		next = next ? next + 1 : line + strlen(line);
		if (sscanf(line, "%llx %c %255s", &a, &type, name) != 3)
			continue;
		if ((type != 't' && type != 'T') || a > addr || a < best_a)
			continue;
		best_a = a;
		snprintf(best, sizeof(best), "%s", name);
	}
	if (!best[0] || addr - best_a > 0x100000)
		return false;
	snprintf(out, cap, "%s+0x%llx", best, addr - best_a);
	return true;
}

const char *linux_describe(struct squib_run *r)
{
	static char buf[sizeof(r->desc) + 2048];
	char sym[300];
	const char *d = squib_describe(r), *syms;
	char *err = slurp(r->err_path);
	size_t used;

	snprintf(buf, sizeof(buf), "%s", d);
	/* Kernel addresses only: "squib[vcpuN PID]: <why>: rip=0xffffffff..." from a dump or a triple fault. */
	if (!err || !strstr(err, ": rip=0xffffffff") || !(syms = kallsyms_text())) {
		free(err);
		return buf;
	}
	used = strlen(buf);
	for (char *p = strstr(err, ": rip=0x"); p && used < sizeof(buf) - 1; p = strstr(p + 1, ": rip=0x")) {
		unsigned long long rip = strtoull(p + 8, NULL, 16);
		char *line = p;

		while (line > err && line[-1] != '\n')
			line--;
		if (!symbol_of(syms, rip, sym, sizeof(sym)))
			continue;
		used += (size_t)snprintf(buf + used, sizeof(buf) - used, "\n%.*s rip 0x%llx is %s", (int)(p - line), line,
					rip, sym);
	}
	free(err);
	return buf;
}

void linux_assert_fio_verified(struct squib_run *r, unsigned blocks)
{
	char issued[64];

	cr_assert(strstr(r->console, "\nfio-"), "fio did not start (no version line)\n%s", linux_describe(r));
	for (const char *p = strstr(r->console, "verify: "); p; p = strstr(p + 1, "verify: "))
		cr_assert(p[8] == '(', "fio reports a verify error: %.120s\n%s", p, linux_describe(r));
	cr_assert(!strstr(r->console, "bad magic"), "fio reports a bad magic header\n%s", linux_describe(r));
	cr_assert(!strstr(r->console, "crc32c:"), "fio reports a crc32c mismatch\n%s", linux_describe(r));
	cr_assert(!strstr(r->console, "verify failed"), "fio reports a failed verify\n%s", linux_describe(r));
	cr_assert(strstr(r->console, "verify: (groupid=0, jobs=1): err= 0:"), "fio's job ended with an error\n%s",
		  linux_describe(r));
	snprintf(issued, sizeof(issued), "issued rwts: total=%u,%u,", blocks, blocks);
	cr_assert(strstr(r->console, issued), "fio did not write and verify every block (%s)\n%s", issued,
		  linux_describe(r));
}

/*
 * Removes the kernel's own log records ("[  74.408674] ...\n") from the
 * console text in place, wherever they start: printk writes straight to the
 * UART and may land in the middle of a line the guest's program is
 * writing. Returns how many it removed.
 */
unsigned linux_console_strip_kernel_log(char *text)
{
	char *w = text;
	unsigned n = 0;

	for (const char *r = text; *r;) {
		const char *p = r + 1;

		if (*r == '[') {
			while (*p == ' ')
				p++;
			while (*p >= '0' && *p <= '9')
				p++;
			if (*p == '.' && p[1] >= '0' && p[1] <= '9') {
				p++;
				while (*p >= '0' && *p <= '9')
					p++;
				if (p[0] == ']' && p[1] == ' ') {
					const char *end = strchr(p, '\n');

					r = end ? end + 1 : p + strlen(p);
					n++;
					continue;
				}
			}
		}
		*w++ = *r++;
	}
	*w = '\0';
	return n;
}
