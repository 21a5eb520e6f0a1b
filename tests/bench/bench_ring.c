/* SPDX-License-Identifier: MIT */
/*
 * bench_ring: throughput and latency of proto/ring.c between two processes.
 *
 *   gcc -O2 -I. -D_GNU_SOURCE tests/bench/bench_ring.c proto/ring.c -o /tmp/bench_ring
 *   /tmp/bench_ring [-n records] [-r round_trips] [-s spin_iters] [-p]
 *
 * The parent is the producer (a vCPU worker), a forked child the consumer (a
 * device worker: drain, spin, then poll() on the eventfd doorbell). For each
 * of spin_iters = S (default 4096, both sides) and 0 it measures
 *   - posted writes: n records of 32 bytes pushed back to back, then one read
 *     whose reply proves the consumer drained them all; time / n;
 *   - read round trips: push a read, wait for its 16-byte reply; time / r.
 * -p pins the producer to CPU 0 and the consumer to CPU 1. Figures are
 * printed, never asserted; they swing with host load (this project's CI
 * machines are 2-vCPU VMs where both a syscall and a pause-loop exit cost
 * about a microsecond).
 */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proto/ring.h"

#define REC_LEN 32u
#define REPLY_LEN 16u
#define KIND_WRITE 'W'
#define KIND_READ 'R'

struct shared_stats {
	uint64_t consumer_sleeps;
	uint64_t records;
};

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0)
		perror("bench_ring: sched_setaffinity");
}

static void die(const char *what, int err)
{
	fprintf(stderr, "bench_ring: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

/* Consumes `total` records, answering reads; exits the process. */
static void consumer(void *mem, size_t size, int efd, uint32_t spin, uint64_t total, struct shared_stats *st)
{
	struct ring_consumer c;
	uint8_t rec[RING_RECORD_MAX], rep[REPLY_LEN];
	uint32_t len, seq, spins = 0;
	uint64_t got = 0, sleeps = 0;
	int r;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if ((r = ring_consumer_attach(&c, mem, size)) != 0)
		die("consumer attach", r);
	memset(rep, 0xab, sizeof(rep));
	while (got < total) {
		r = ring_pop(&c, rec, sizeof(rec), &len, &seq);
		if (r == 0) {
			got++;
			spins = 0;
			if (rec[0] == KIND_READ) {
				memcpy(rep, &seq, sizeof(seq));
				if ((r = ring_reply(&c, seq, rep, sizeof(rep))) != 0)
					die("ring_reply", r);
			}
			continue;
		}
		if (r != -EAGAIN)
			die("ring_pop", r);
		if (spins < spin) {
			spins++;
			cpu_relax();
			continue;
		}
		spins = 0;
		if (!ring_consumer_prepare_sleep(&c))
			continue;
		sleeps++;
		struct pollfd pfd = { .fd = efd, .events = POLLIN };
		if (poll(&pfd, 1, 10000) <= 0)
			die("consumer poll (lost wake-up?)", ETIMEDOUT);
		uint64_t v;
		if (read(efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			die("eventfd read", errno);
		ring_consumer_end_sleep(&c);
	}
	st->consumer_sleeps = sleeps;
	st->records = got;
	_exit(0);
}

struct run {
	double ns;
	uint64_t doorbells, full_waits, reply_sleeps, consumer_sleeps;
};

/* One measurement: n posted writes + 1 read if !rt, else n round trips. */
static struct run run_once(uint32_t spin, uint64_t n, int round_trips, int do_pin)
{
	size_t size = ring_region_size(RING_DEFAULT_SLOTS);
	void *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct shared_stats *st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	uint64_t total = round_trips ? n : n + 1;
	struct ring_producer p;
	uint8_t rec[REC_LEN], rep[RING_RECORD_MAX];
	uint32_t seq, len;
	struct run out;
	int r, status;

	if (mem == MAP_FAILED || st == MAP_FAILED || efd < 0)
		die("setup", errno);
	if ((r = ring_region_init(mem, size, RING_DEFAULT_SLOTS)) != 0)
		die("ring_region_init", r);
	if ((r = ring_producer_attach(&p, mem, size, efd, spin)) != 0)
		die("producer attach", r);
	pid_t pid = fork();
	if (pid < 0)
		die("fork", errno);
	if (pid == 0) {
		if (do_pin)
			pin(1);
		consumer(mem, size, efd, spin, total, st);
	}
	if (do_pin)
		pin(0);
	memset(rec, 0x5a, sizeof(rec));
	usleep(20000); /* let the consumer start (and go to sleep) */

	double t0 = now_ns();
	if (!round_trips) {
		rec[0] = KIND_WRITE;
		for (uint64_t i = 0; i < n; i++)
			if ((r = ring_push(&p, rec, REC_LEN, &seq)) != 0)
				die("ring_push", r);
	}
	rec[0] = KIND_READ;
	for (uint64_t i = 0; i < (round_trips ? n : 1); i++) {
		if ((r = ring_push(&p, rec, REC_LEN, &seq)) != 0)
			die("ring_push", r);
		if ((r = ring_wait_reply(&p, seq, rep, sizeof(rep), &len)) != 0)
			die("ring_wait_reply", r);
		if (len != REPLY_LEN || memcmp(rep, &seq, sizeof(seq)) != 0)
			die("bad reply", EPROTO);
	}
	double t1 = now_ns();

	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die("consumer failed", ECHILD);
	if (st->records != total)
		die("consumer count", EPROTO);
	out.ns = (t1 - t0) / (double)n;
	out.doorbells = p.doorbells;
	out.full_waits = p.full_waits;
	out.reply_sleeps = p.reply_sleeps;
	out.consumer_sleeps = st->consumer_sleeps;
	close(efd);
	munmap(st, sizeof(*st));
	munmap(mem, size);
	return out;
}

static void report(int round_trips, uint64_t n, uint32_t spin, const struct run *r)
{
	printf("ring: %s %llu %s (spin %u): %.0f ns/%s, %.2f M/s, doorbells=%llu consumer_sleeps=%llu "
	       "full_waits=%llu reply_sleeps=%llu\n",
	       round_trips ? "read round trip," : "posted", (unsigned long long)n, round_trips ? "reads" : "records",
	       spin, r->ns, round_trips ? "read" : "record", 1e3 / r->ns, (unsigned long long)r->doorbells,
	       (unsigned long long)r->consumer_sleeps, (unsigned long long)r->full_waits,
	       (unsigned long long)r->reply_sleeps);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	uint64_t n = 1000000, rt = 100000;
	uint32_t spin = 4096;
	int do_pin = 0, opt;

	while ((opt = getopt(argc, argv, "n:r:s:p")) != -1) {
		switch (opt) {
		case 'n':
			n = strtoull(optarg, NULL, 0);
			break;
		case 'r':
			rt = strtoull(optarg, NULL, 0);
			break;
		case 's':
			spin = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'p':
			do_pin = 1;
			break;
		default:
			fprintf(stderr, "usage: %s [-n records] [-r round_trips] [-s spin_iters] [-p]\n", argv[0]);
			return 2;
		}
	}
	if (n == 0 || rt == 0) {
		fprintf(stderr, "bench_ring: -n and -r must be > 0\n");
		return 2;
	}
	const uint32_t spins[2] = { spin, 0 };
	for (int i = 0; i < 2; i++) {
		struct run r = run_once(spins[i], n, 0, do_pin);
		report(0, n, spins[i], &r);
	}
	for (int i = 0; i < 2; i++) {
		struct run r = run_once(spins[i], rt, 1, do_pin);
		report(1, rt, spins[i], &r);
	}
	return 0;
}
