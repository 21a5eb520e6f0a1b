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
	snprintf(cmdline, sizeof(cmdline), "console=ttyS0 quiet squib.run=\"%s\"", b->run);
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

struct squib_run *linux_run(struct squib_run runs[LINUX_ATTEMPTS], const struct linux_boot *b)
{
	double t = b->timeout_s > 0 ? b->timeout_s : linux_timeout();

	for (int attempt = 0; attempt < LINUX_ATTEMPTS; attempt++) {
		struct squib_run *r = &runs[attempt];

		linux_start(r, b);
		if (squib_wait(r, t)) {
			linux_console_strip_cr(r);
			return r;
		}
		/* The SQUIB-RETRY line goes into make test's summary (tests/suites.sh). */
		cr_log_warn("SQUIB-RETRY: Linux boot (--cpus %u, squib.run=%s) attempt %d of %d did not end within %.0f s; %s "
			    "(its state dump is below)\n%s", b->cpus, b->run ? b->run : "(none)",
			    attempt + 1, LINUX_ATTEMPTS, t, attempt + 1 < LINUX_ATTEMPTS ? "booting again" : "giving up",
			    squib_describe(r));
	}
	cr_assert_fail("the Linux guest hung %d times (see the warnings above)", LINUX_ATTEMPTS);
	return NULL;
}

void linux_assert_ran(struct squib_run *r, unsigned cpus)
{
	char marker[64];

	cr_assert(strstr(r->console, "SQUIB-LINUX-READY uptime="), "no readiness marker\n%s", squib_describe(r));
	snprintf(marker, sizeof(marker), " nproc=%u\n", cpus);
	cr_assert(strstr(r->console, marker), "the guest does not see %u CPUs\n%s", cpus, squib_describe(r));
	cr_assert(strstr(r->console, "SQUIB-RUN-EXIT 0\n"), "the guest's command failed\n%s", squib_describe(r));
	cr_assert_eq(r->status, SQUIB_EXIT_OK, "poweroff must end the monitor with 0\n%s", squib_describe(r));
	cr_assert(kill(-r->pid, 0) < 0 && errno == ESRCH, "processes left behind\n%s", squib_describe(r));
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
