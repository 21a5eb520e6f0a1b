/* SPDX-License-Identifier: MIT */
/*
 * Booting squib's default Linux guest (guest/linux/, `make guest`) in the
 * Linux tests: Debian's own kernel and drivers against squib's devices.
 *
 * Every boot has a deadline. The nested test host hangs inside a guest now
 * and then for reasons not found (about 1 run in 8 in the first probes; in
 * squib's CI, twice in a row after the long console test, each time after
 * the guest's command had finished and before its poweroff), and its
 * guests triple-fault now and then (README "Linux tests"), so a boot that
 * times out, or triple-faults there, is reported with its state dump and
 * tried again, up to LINUX_ATTEMPTS boots, before it counts as a failure.
 */
#ifndef SQUIB_TESTS_LINUX_LINUX_GUEST_H
#define SQUIB_TESTS_LINUX_LINUX_GUEST_H

#include <stdbool.h>
#include <stddef.h>

#include "tests/lib/harness.h"

/* The guest's directory: $SQUIB_LINUX_GUEST, else build/linux-guest. */
const char *linux_guest_dir(void);

/* Seconds a boot may take: $SQUIB_LINUX_TIMEOUT, else 120 (boots take 5-20 s in the nested host). */
double linux_timeout(void);

/*
 * One boot's description: cpus, memory, the command /init runs
 * (squib.run, no '"' in it), extra monitor arguments (NULL-terminated,
 * may be NULL), the initrd.
 */
struct linux_boot {
	unsigned cpus;
	unsigned memory_mib;
	const char *run;
	const char *const *extra;
	double timeout_s; /* 0: linux_timeout() */
	/*
	 * NULL: the default initramfs.cpio. A bare name is a file of
	 * linux_guest_dir() (e.g. "initramfs-fio.cpio.gz", the base with the fio
	 * layer, guest/linux/README.md); a name with a '/' is used as it is.
	 */
	const char *initrd;
};

/* Starts the boot in run (initialised here). Asserts the guest files exist. */
void linux_start(struct squib_run *run, const struct linux_boot *b);

/*
 * Boots b in runs[0] and waits for it; if that attempt times out (or
 * triple-faults in the nested test host: linux_retry_emulator_fault), prints
 * why and boots again in the next run, LINUX_ATTEMPTS boots at most. Returns the run that finished (asserts
 * one did), its console with the tty's \r removed (lines end in \n).
 * runs must have static storage (squib_teardown).
 */
#define LINUX_ATTEMPTS 3
struct squib_run *linux_run(struct squib_run runs[LINUX_ATTEMPTS], const struct linux_boot *b);

/*
 * For a run of boot b, attempt number attempt (from 0), that has ended:
 * true (printing a SQUIB-RETRY line with its dump) when it ended in a guest
 * triple fault inside the nested test host and attempts are left, so the
 * caller boots again; false otherwise (on a real KVM host, always).
 */
bool linux_retry_emulator_fault(struct squib_run *r, const struct linux_boot *b, int attempt);

/* Removes the tty's \r from a finished run's console text (lines end in \n). */
void linux_console_strip_cr(struct squib_run *r);
/*
 * Removes the kernel's own log records ("[  74.408674] ...\n") from console
 * text in place, wherever they start (printk may land mid-line). Returns
 * how many it removed.
 */
unsigned linux_console_strip_kernel_log(char *text);

/*
 * squib_describe, then for every kernel rip in the monitor's state dumps
 * and triple-fault reports, the kernel function it is in. The symbols come
 * from the guest's /proc/kallsyms, fetched by one extra boot the first time
 * a failure needs them (Debian ships no System.map; the tests boot with
 * nokaslr, so the addresses agree).
 */
const char *linux_describe(struct squib_run *r);

/*
 * Asserts a boot went the whole way: the readiness marker with nproc
 * equal to cpus, `SQUIB-RUN-EXIT 0`, exit status 0, no process of the
 * monitor's group left.
 */
void linux_assert_ran(struct squib_run *r, unsigned cpus);

/*
 * Asserts a fio job named verify (--verify=crc32c --do_verify=1) ran clean:
 * it started, reported no verify error ("verify: bad magic header ...",
 * "crc32c: verify failed ...", "fio: pid=N, err=84/file:verify.c"; its own
 * lines start "verify: (g=0)" and "verify: (groupid=0"), ended with err= 0,
 * and wrote and verified blocks blocks.
 */
void linux_assert_fio_verified(struct squib_run *r, unsigned blocks);

/* A fresh directory for a test's own files (disk images); removed by linux_scratch_remove. */
const char *linux_scratch_dir(void);
void linux_scratch_remove(const char *dir);

/* The bytes `seq 1 n` prints; len gets their number. malloc'd. */
char *seq_text(unsigned long n, size_t *len);

/* FNV-1a over a whole file; asserts it can be read. */
unsigned long long file_hash(const char *path);

/* Runs a shell command in the test host; returns its exit status (-1 if it could not run). */
int host_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
