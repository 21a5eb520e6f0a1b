/* SPDX-License-Identifier: MIT */
/*
 * boot_probe MARKER [TIMEOUT_S] -- CMD ARGS...
 *
 * Starts CMD in its own process group with stdout and stderr on a pipe,
 * waits for a line containing MARKER, and prints
 *   boot_ms=<launch to marker> pss_kib=<sum of Pss over the group> procs=<n>
 * then kills the group. The Pss of every process of the group is read from
 * /proc/PID/smaps_rollup at the moment the marker arrived, each address
 * space once (group_pss). Exit 1 with a
 * message if the marker does not come (timeout, or CMD ended).
 */
#include <dirent.h>
#include <linux/kcmp.h>
#include <stdbool.h>
#include <sys/syscall.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Pss (KiB) of pid from smaps_rollup; -1 when unreadable. */
static long pss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Pss: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* Process group and tgid of pid from /proc/PID/stat and status; false if gone. */
static int pgrp_of(pid_t pid, pid_t *pgrp, pid_t *tgid)
{
	char path[64], buf[512], *p;
	FILE *f;
	int pg = -1, tg = -1;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f || !fgets(buf, sizeof(buf), f)) {
		if (f)
			fclose(f);
		return -ENOENT;
	}
	fclose(f);
	p = strrchr(buf, ')'); /* comm may hold spaces */
	if (!p || sscanf(p + 2, "%*c %*d %d", &pg) != 1)
		return -EINVAL;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	while (f && fgets(buf, sizeof(buf), f))
		if (sscanf(buf, "Tgid: %d", &tg) == 1)
			break;
	if (f)
		fclose(f);
	*pgrp = pg;
	*tgid = tg;
	return 0;
}

/* Do a and b share one address space? kcmp(2) KCMP_VM; false when it cannot tell. */
static int same_mm(pid_t a, pid_t b)
{
	return syscall(SYS_kcmp, a, b, KCMP_VM, 0, 0) == 0;
}

#define MAX_MMS 64

/*
 * Sums Pss over the distinct address spaces of the group. squib's vCPU
 * workers are clone(CLONE_VM) tasks: each has its own pid but the
 * monitor's mm, and smaps_rollup of each reports that whole mm, so an mm
 * is counted once (kcmp KCMP_VM). Pages shared between different mms (the
 * guest RAM memfd mapped by the monitor and every device worker) are
 * already split by Pss.
 */
static void group_pss(pid_t group, long *total, int *procs, int *mms)
{
	DIR *d = opendir("/proc");
	pid_t counted[MAX_MMS];
	struct dirent *e;

	*total = 0;
	*procs = 0;
	*mms = 0;
	while (d && (e = readdir(d))) {
		pid_t pid = (pid_t)atoi(e->d_name), pg, tg;
		bool dup = false;
		long k;

		if (pid <= 0 || pgrp_of(pid, &pg, &tg) < 0 || pg != group)
			continue;
		(*procs)++;
		for (int i = 0; i < *mms && !dup; i++)
			dup = same_mm(pid, counted[i]);
		if (dup || *mms == MAX_MMS)
			continue;
		counted[(*mms)++] = pid;
		k = pss_kib(pid);
		if (k > 0)
			*total += k;
	}
	if (d)
		closedir(d);
}

int main(int argc, char **argv)
{
	const char *marker;
	double timeout = 300, start, deadline;
	char buf[65536];
	size_t have = 0;
	int pipefd[2], argi = 2;
	pid_t pid;

	if (argc < 4)
		goto usage;
	marker = argv[1];
	if (strcmp(argv[2], "--")) {
		timeout = atof(argv[2]);
		argi = 3;
	}
	if (argi >= argc || strcmp(argv[argi], "--") || argi + 1 >= argc || timeout <= 0)
		goto usage;
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		perror("boot_probe: pipe");
		return 1;
	}
	start = now_s();
	pid = fork();
	if (pid < 0) {
		perror("boot_probe: fork");
		return 1;
	}
	if (pid == 0) {
		setpgid(0, 0);
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		execvp(argv[argi + 1], argv + argi + 1);
		perror("boot_probe: exec");
		_exit(127);
	}
	setpgid(pid, pid);
	close(pipefd[1]);
	deadline = start + timeout;
	for (;;) {
		struct pollfd p = { .fd = pipefd[0], .events = POLLIN };
		double left = deadline - now_s();
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)(left * 1000) + 1) <= 0) {
			fprintf(stderr, "boot_probe: no '%s' within %.0f s; last output:\n%.*s\n", marker, timeout,
				(int)(have > 2000 ? 2000 : have), buf + (have > 2000 ? have - 2000 : 0));
			kill(-pid, SIGKILL);
			waitpid(pid, NULL, 0);
			return 1;
		}
		if (have == sizeof(buf) - 1) { /* keep the tail */
			memmove(buf, buf + sizeof(buf) / 2, have - sizeof(buf) / 2);
			have -= sizeof(buf) / 2;
		}
		n = read(pipefd[0], buf + have, sizeof(buf) - 1 - have);
		if (n <= 0) {
			fprintf(stderr, "boot_probe: the command ended before '%s'; last output:\n%.*s\n", marker,
				(int)(have > 2000 ? 2000 : have), buf + (have > 2000 ? have - 2000 : 0));
			waitpid(pid, NULL, 0);
			return 1;
		}
		have += (size_t)n;
		buf[have] = '\0';
		if (strstr(buf, marker)) {
			double ms = (now_s() - start) * 1000;
			long total;
			int procs, mms;

			group_pss(pid, &total, &procs, &mms);
			printf("boot_ms=%.1f pss_kib=%ld procs=%d mms=%d\n", ms, total, procs, mms);
			kill(-pid, SIGKILL);
			waitpid(pid, NULL, 0);
			return 0;
		}
	}
usage:
	fprintf(stderr, "usage: boot_probe MARKER [TIMEOUT_S] -- CMD ARGS...\n");
	return 2;
}
