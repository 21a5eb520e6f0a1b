/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of proto/ring.c: validation, FIFO and index wrap, back-pressure
 * and reply waits across processes, hostile peers, and a two-process stress
 * run in three configurations (spinning, never spinning, two slots).
 *
 * Forked children never use criterion asserts: they report through their
 * exit status (0 = success, anything else names the failed check), and die
 * with their parent (PR_SET_PDEATHSIG) or on alarm() instead of hanging.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/logging.h>

#include "common/raw_syscall.h"
#include "proto/ring.h"

/* ---- helpers ------------------------------------------------------------ */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Heap region of exactly ring_region_size(n) bytes: ASan sees any overrun. */
static void *heap_region(uint32_t nslots, size_t *size)
{
	void *mem = NULL;

	*size = ring_region_size(nslots);
	cr_assert_eq(posix_memalign(&mem, 64, *size), 0);
	memset(mem, 0, *size);
	cr_assert_eq(ring_region_init(mem, *size, nslots), 0);
	return mem;
}

/* MAP_SHARED anonymous region, shared with forked children. */
static void *shared_map(size_t size)
{
	void *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	cr_assert_neq(mem, MAP_FAILED);
	return mem;
}

static void *shared_region(uint32_t nslots, size_t *size)
{
	void *mem;

	*size = ring_region_size(nslots);
	mem = shared_map(*size);
	cr_assert_eq(ring_region_init(mem, *size, nslots), 0);
	return mem;
}

static int new_eventfd(void)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	cr_assert_geq(fd, 0);
	return fd;
}

/* Value of the eventfd counter (and resets it); 0 when not signalled. */
static uint64_t eventfd_take(int fd)
{
	uint64_t v = 0;

	if (read(fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
		return 0;
	return v;
}

static void fill(uint8_t *buf, uint32_t len, uint32_t salt)
{
	for (uint32_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(salt * 31u + i * 7u + (salt >> 8));
}

static bool check_fill(const uint8_t *buf, uint32_t len, uint32_t salt)
{
	for (uint32_t i = 0; i < len; i++)
		if (buf[i] != (uint8_t)(salt * 31u + i * 7u + (salt >> 8)))
			return false;
	return true;
}

/* Child setup: die with the test, never hang longer than secs. */
static void child_guard(unsigned secs)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	alarm(secs);
}

/* Waits until *word != 0 (a peer announced it sleeps), up to timeout_ms. */
static bool wait_nonzero(_Atomic uint32_t *word, long timeout_ms)
{
	double end = now_s() + (double)timeout_ms / 1000.0;

	while (atomic_load(word) == 0) {
		if (now_s() > end)
			return false;
		sleep_ms(1);
	}
	return true;
}

/* waitpid with a timeout; returns true and the status when the child ended. */
static bool wait_child(pid_t pid, int *status, long timeout_ms)
{
	double end = now_s() + (double)timeout_ms / 1000.0;

	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return true;
		if (r < 0 || now_s() > end)
			return false;
		sleep_ms(1);
	}
}

static void reap(pid_t pid)
{
	int status;

	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

static void assert_child_ok(pid_t pid, long timeout_ms)
{
	int status = 0;

	if (!wait_child(pid, &status, timeout_ms)) {
		reap(pid);
		cr_assert_fail("child %d did not finish within %ld ms", (int)pid, timeout_ms);
	}
	cr_assert(WIFEXITED(status), "child killed by signal %d", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	cr_assert_eq(WEXITSTATUS(status), 0, "child failed check %d", WEXITSTATUS(status));
}

/* ---- validation --------------------------------------------------------- */

Test(ring, region_size)
{
	cr_assert_eq(ring_region_size(2), RING_SLOTS_OFFSET + 2 * 128);
	cr_assert_eq(ring_region_size(RING_DEFAULT_SLOTS), RING_SLOTS_OFFSET + 256 * 128);
	cr_assert_eq(ring_region_size(RING_MAX_SLOTS), (size_t)RING_SLOTS_OFFSET + 65536u * 128u);
}

Test(ring, init_rejects_bad_arguments)
{
	size_t big = ring_region_size(RING_MAX_SLOTS);
	uint8_t *mem = shared_map(big + 4096);
	static const uint32_t bad[] = { 0, 1, 3, 6, 100, 255, RING_MAX_SLOTS * 2, 0x80000000u, 0xffffffffu };

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		cr_assert_eq(ring_region_init(mem, big, bad[i]), -EINVAL, "nslots %u", bad[i]);
	cr_assert_eq(ring_region_init(NULL, big, 8), -EINVAL);
	cr_assert_eq(ring_region_init(mem + 8, big, 8), -EINVAL, "misaligned");
	cr_assert_eq(ring_region_init(mem, ring_region_size(8) - 1, 8), -EINVAL, "size too small");
	cr_assert_eq(ring_region_init(mem, 100, 2), -EINVAL);

	cr_assert_eq(ring_region_init(mem, ring_region_size(2), 2), 0);
	cr_assert_eq(ring_region_init(mem, big, RING_MAX_SLOTS), 0);
	const struct ring_header *hdr = (const void *)mem;
	cr_assert_eq(hdr->magic, RING_MAGIC);
	cr_assert_eq(hdr->version, RING_VERSION);
	cr_assert_eq(hdr->nslots, RING_MAX_SLOTS);
	cr_assert_eq(atomic_load(&hdr->tail), 0);
	cr_assert_eq(atomic_load(&hdr->head), 0);
	munmap(mem, big + 4096);
}

/* Each case corrupts one header field; both sides must refuse. */
Test(ring, attach_rejects_bad_header)
{
	size_t size;
	uint8_t *mem = heap_region(8, &size);
	struct ring_header *hdr = (void *)mem;
	struct ring_producer p;
	struct ring_consumer c;
	int efd = new_eventfd();

	cr_assert_eq(ring_producer_attach(&p, mem, size, efd, 0), 0);
	cr_assert_eq(ring_consumer_attach(&c, mem, size), 0);

	hdr->magic = 0x12345678;
	cr_assert_eq(ring_producer_attach(&p, mem, size, efd, 0), -EINVAL, "bad magic");
	cr_assert_eq(ring_consumer_attach(&c, mem, size), -EINVAL, "bad magic");
	hdr->magic = RING_MAGIC;

	hdr->version = RING_VERSION + 1;
	cr_assert_eq(ring_producer_attach(&p, mem, size, efd, 0), -EINVAL, "bad version");
	cr_assert_eq(ring_consumer_attach(&c, mem, size), -EINVAL, "bad version");
	hdr->version = RING_VERSION;

	static const uint32_t bad[] = { 0, 1, 3, 6, 12, 16 /* too big for size */, RING_MAX_SLOTS * 2,
					0xffffffffu };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		hdr->nslots = bad[i];
		cr_assert_eq(ring_producer_attach(&p, mem, size, efd, 0), -EINVAL, "nslots %u", bad[i]);
		cr_assert_eq(ring_consumer_attach(&c, mem, size), -EINVAL, "nslots %u", bad[i]);
	}
	hdr->nslots = 8;

	cr_assert_eq(ring_producer_attach(&p, mem, size - 1, efd, 0), -EINVAL, "size too small");
	cr_assert_eq(ring_consumer_attach(&c, mem, size - 1), -EINVAL, "size too small");
	cr_assert_eq(ring_producer_attach(&p, mem, 64, efd, 0), -EINVAL, "size below header");
	cr_assert_eq(ring_consumer_attach(&c, mem, 0), -EINVAL, "size 0");
	cr_assert_eq(ring_producer_attach(&p, NULL, size, efd, 0), -EINVAL);
	cr_assert_eq(ring_consumer_attach(&c, NULL, size), -EINVAL);
	cr_assert_eq(ring_producer_attach(&p, mem, size, -1, 0), -EINVAL, "bad doorbell");

	/* Still fine once repaired. */
	cr_assert_eq(ring_producer_attach(&p, mem, size, efd, 0), 0);
	cr_assert_eq(ring_consumer_attach(&c, mem, size), 0);
	close(efd);
	free(mem);
}

Test(ring, attach_resumes_from_shared_indices)
{
	size_t size;
	uint8_t *mem = heap_region(16, &size);
	struct ring_header *hdr = (void *)mem;
	struct ring_producer p;
	struct ring_consumer c;

	atomic_store(&hdr->head, 1000);
	atomic_store(&hdr->tail, 1010);
	cr_assert_eq(ring_producer_attach(&p, mem, size, 0, 7), 0);
	cr_assert_eq(ring_consumer_attach(&c, mem, size), 0);
	cr_assert_eq(p.tail, 1010);
	cr_assert_eq(c.head, 1000);
	cr_assert_eq(p.nslots, 16);
	cr_assert_eq(p.mask, 15);
	cr_assert_eq(p.spin_iters, 7);
	cr_assert_eq(c.nslots, 16);
	cr_assert_eq(ring_pending(&c), 10);
	free(mem);
}

/* ---- single process ----------------------------------------------------- */

/*
 * A malformed reply taken back (ring_reject_reply): the next wait waits for
 * the successor's answer to the same request, still at the head; once head
 * moved past the request, nothing will answer it and the caller is told.
 */
/* A consumer's successor attaches, finds request seq at the head and answers it "ok". */
static void successor_answers_ok(uint8_t *mem, size_t size, uint32_t seq)
{
	struct ring_consumer successor;
	uint8_t out[RING_RECORD_MAX];
	uint32_t len, rseq;

	cr_assert_eq(ring_consumer_attach(&successor, mem, size), 0);
	cr_assert_eq(ring_peek(&successor, out, sizeof(out), &len, &rseq), 0);
	cr_assert_eq(rseq, seq);
	cr_assert_eq(ring_reply(&successor, rseq, "ok", 2), 0);
	ring_advance(&successor);
}

Test(ring, a_rejected_reply_is_waited_for_again)
{
	size_t size;
	uint8_t *mem = heap_region(8, &size);
	struct ring_header *hdr = (struct ring_header *)mem;
	struct ring_producer p;
	uint8_t rec[8] = { 1 }, out[RING_RECORD_MAX];
	uint32_t seq, len;
	int efd = new_eventfd();

	cr_assert_eq(ring_producer_attach(&p, mem, size, efd, 0), 0);
	cr_assert_eq(ring_push(&p, rec, sizeof(rec), &seq), 0);
	/* A lying consumer: a reply to seq with a length no reply has. */
	atomic_store(&hdr->reply_seq, seq + 1);
	hdr->reply_len = 0xfffffff0u;
	cr_assert_eq(ring_wait_reply(&p, seq, out, sizeof(out), &len), -EPROTO);
	cr_assert(ring_reject_reply(&p, seq), "the request is still at the head");
	/* The successor serves the head record and answers it properly. */
	successor_answers_ok(mem, size, seq);
	cr_assert_eq(ring_wait_reply(&p, seq, out, sizeof(out), &len), 0);
	cr_assert_eq(len, 2);
	cr_assert_eq(memcmp(out, "ok", 2), 0);
	/* Head past the request: a rejected reply will never be replaced. */
	cr_assert_not(ring_reject_reply(&p, seq));
	close(efd);
	free(mem);
}

/* No silent wedge: a reply that does not come within the deadline is -ETIMEDOUT, and the request stays. */
Test(ring, a_reply_wait_has_a_deadline)
{
	size_t size;
	uint8_t *mem = heap_region(8, &size);
	struct ring_producer p;
	uint8_t rec[8] = { 1 }, out[RING_RECORD_MAX];
	uint32_t seq, len;
	struct timespec t0, t1;
	int efd = new_eventfd();

	cr_assert_eq(ring_producer_attach(&p, mem, size, efd, 0), 0);
	cr_assert_eq(p.reply_deadline_s, 0, "no deadline unless asked");
	p.reply_deadline_s = 1;
	cr_assert_eq(ring_push(&p, rec, sizeof(rec), &seq), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cr_assert_eq(ring_wait_reply(&p, seq, out, sizeof(out), &len), -ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	cr_assert_geq((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000, 900,
		      "timed out before the deadline");
	/* A successor answers the request, which is still at the head: the wait that follows gets it. */
	successor_answers_ok(mem, size, seq);
	cr_assert_eq(ring_wait_reply(&p, seq, out, sizeof(out), &len), 0);
	cr_assert_eq(len, 2);
	close(efd);
	free(mem);
}

/*
 * Take, apply, complete: a record peeked is still the producer's until
 * ring_advance, so a consumer that dies in between leaves it for its
 * successor, which attaches at the shared head and gets the same record.
 */
Test(ring, peek_keeps_the_record_until_advance)
{
	size_t size;
	uint8_t *mem = heap_region(8, &size);
	struct ring_producer p;
	struct ring_consumer c, successor;
	uint8_t rec[RING_RECORD_MAX], out[RING_RECORD_MAX];
	uint32_t seq, len, pushed;
	int efd = new_eventfd();

	cr_assert_eq(ring_producer_attach(&p, mem, size, efd, 0), 0);
	cr_assert_eq(ring_consumer_attach(&c, mem, size), 0);
	cr_assert_eq(ring_peek(&c, out, sizeof(out), &len, &seq), -EAGAIN);
	fill(rec, 9, 1);
	cr_assert_eq(ring_push(&p, rec, 9, &pushed), 0);
	cr_assert_eq(ring_peek(&c, out, sizeof(out), &len, &seq), 0);
	cr_assert_eq(seq, pushed);
	cr_assert_eq(ring_peek(&c, out, sizeof(out), &len, &seq), 0, "peeking again gives it again");
	cr_assert_eq(seq, pushed);
	cr_assert_eq(atomic_load(&((struct ring_header *)mem)->head), 0, "head not published by a peek");

	/* The consumer dies here. Its successor resumes from the shared head. */
	cr_assert_eq(ring_consumer_attach(&successor, mem, size), 0);
	cr_assert_eq(ring_peek(&successor, out, sizeof(out), &len, &seq), 0);
	cr_assert_eq(seq, pushed);
	cr_assert_eq(len, 9);
	cr_assert(check_fill(out, len, 1));
	ring_advance(&successor);
	cr_assert_eq(atomic_load(&((struct ring_header *)mem)->head), 1);
	cr_assert_eq(ring_peek(&successor, out, sizeof(out), &len, &seq), -EAGAIN);
	cr_assert_eq(ring_pending(&successor), 0);
	close(efd);
	free(mem);
}

/*
 * A predecessor that scribbled on head: its successor resumes at the last
 * record when that may be an unanswered read, at tail otherwise; a
 * possible head is left alone.
 */
Test(ring, a_successor_repairs_an_impossible_head)
{
	size_t size;
	uint8_t *mem = heap_region(8, &size);
	struct ring_header *hdr = (struct ring_header *)(void *)mem;
	struct ring_producer p;
	struct ring_consumer c;
	uint8_t rec[RING_RECORD_MAX], out[RING_RECORD_MAX];
	uint32_t seq, len, pushed, was;
	int efd = new_eventfd();

	cr_assert_eq(ring_producer_attach(&p, mem, size, efd, 0), 0);
	fill(rec, 9, 1);
	for (unsigned i = 0; i < 3; i++)
		cr_assert_eq(ring_push(&p, rec, 9, &pushed), 0);
	cr_assert_eq(ring_consumer_attach(&c, mem, size), 0);
	cr_assert_not(ring_consumer_repair_head(&c, &was), "head 0 with 3 records is possible");
	cr_assert_eq(c.head, 0);

	atomic_store(&hdr->head, 0x80000000u); /* the predecessor's parting gift */
	cr_assert_eq(ring_consumer_attach(&c, mem, size), 0);
	cr_assert(ring_consumer_repair_head(&c, &was));
	cr_assert_eq(was, 0x80000000u);
	cr_assert_eq(c.head, pushed, "the last record may be a read waiting for its reply");
	cr_assert_eq(atomic_load(&hdr->head), pushed);
	cr_assert_eq(ring_peek(&c, out, sizeof(out), &len, &seq), 0);
	cr_assert_eq(seq, pushed);

	atomic_store(&hdr->reply_seq, pushed + 1); /* it was answered */
	atomic_store(&hdr->head, pushed + 100);
	cr_assert_eq(ring_consumer_attach(&c, mem, size), 0);
	cr_assert(ring_consumer_repair_head(&c, &was));
	cr_assert_eq(c.head, pushed + 1, "nothing waits: resume at tail");
	cr_assert_eq(ring_peek(&c, out, sizeof(out), &len, &seq), -EAGAIN);
	close(efd);
	free(mem);
}

Test(ring, fifo_and_empty)
{
	size_t size;
	uint8_t *mem = heap_region(8, &size);
	struct ring_producer p;
	struct ring_consumer c;
	uint8_t rec[RING_RECORD_MAX], *out = malloc(RING_RECORD_MAX);
	uint32_t seq, len;
	int efd = new_eventfd();

	cr_assert_eq(ring_producer_attach(&p, mem, size, efd, 0), 0);
	cr_assert_eq(ring_consumer_attach(&c, mem, size), 0);
	cr_assert_eq(ring_pop(&c, out, RING_RECORD_MAX, &len, &seq), -EAGAIN);
	cr_assert_eq(ring_pending(&c), 0);

	for (int round = 0; round < 3; round++) {
		for (uint32_t i = 0; i < 8; i++) {
			uint32_t n = 1 + (i * 17 + (uint32_t)round) % RING_RECORD_MAX;
			fill(rec, n, i + 100u * (uint32_t)round);
			cr_assert_eq(ring_push(&p, rec, n, &seq), 0);
			cr_assert_eq(seq, 8u * (uint32_t)round + i);
			cr_assert_eq(ring_pending(&c), i + 1);
		}
		for (uint32_t i = 0; i < 8; i++) {
			uint32_t n = 1 + (i * 17 + (uint32_t)round) % RING_RECORD_MAX;
			cr_assert_eq(ring_pop(&c, out, RING_RECORD_MAX, &len, &seq), 0);
			cr_assert_eq(len, n);
			cr_assert_eq(seq, 8u * (uint32_t)round + i);
			cr_assert(check_fill(out, len, i + 100u * (uint32_t)round));
		}
		cr_assert_eq(ring_pop(&c, out, RING_RECORD_MAX, &len, &seq), -EAGAIN);
	}
	/* Nobody slept: no doorbell, no wait. */
	cr_assert_eq(p.doorbells, 0);
	cr_assert_eq(p.full_waits, 0);
	cr_assert_eq(eventfd_take(efd), 0);
	/* The caller's buffer must hold any record. */
	cr_assert_eq(ring_push(&p, rec, 1, &seq), 0);
	cr_assert_eq(ring_pop(&c, out, RING_RECORD_MAX - 1, &len, &seq), -EINVAL);
	cr_assert_eq(ring_pop(&c, out, RING_RECORD_MAX, &len, &seq), 0);
	close(efd);
	free(out);
	free(mem);
}

Test(ring, record_size_limits)
{
	size_t size;
	uint8_t *mem = heap_region(4, &size);
	struct ring_header *hdr = (void *)mem;
	struct ring_producer p;
	struct ring_consumer c;
	uint8_t rec[RING_RECORD_MAX + 8], out[RING_RECORD_MAX];
	uint32_t seq = 77, len;

	cr_assert_eq(ring_producer_attach(&p, mem, size, 0, 0), 0);
	cr_assert_eq(ring_consumer_attach(&c, mem, size), 0);
	fill(rec, sizeof(rec), 5);
	cr_assert_eq(ring_push(&p, rec, 0, &seq), -EMSGSIZE);
	cr_assert_eq(ring_push(&p, rec, RING_RECORD_MAX + 1, &seq), -EMSGSIZE);
	cr_assert_eq(ring_push(&p, rec, 0xffffffffu, &seq), -EMSGSIZE);
	cr_assert_eq(seq, 77, "seq untouched on error");
	cr_assert_eq(atomic_load(&hdr->tail), 0, "nothing published");

	cr_assert_eq(ring_push(&p, rec, 1, &seq), 0);
	cr_assert_eq(ring_push(&p, rec, RING_RECORD_MAX, &seq), 0);
	cr_assert_eq(ring_pop(&c, out, sizeof(out), &len, &seq), 0);
	cr_assert_eq(len, 1);
	cr_assert_eq(out[0], rec[0]);
	cr_assert_eq(ring_pop(&c, out, sizeof(out), &len, &seq), 0);
	cr_assert_eq(len, RING_RECORD_MAX);
	cr_assert(check_fill(out, len, 5));

	cr_assert_eq(ring_reply(&c, seq, rec, RING_RECORD_MAX + 1), -EMSGSIZE);
	cr_assert_eq(atomic_load(&hdr->reply_seq), 0, "bad reply not published");
	cr_assert_eq(ring_reply(&c, seq, rec, RING_RECORD_MAX), 0);
	cr_assert_eq(ring_wait_reply(&p, seq, out, sizeof(out), &len), 0);
	cr_assert_eq(len, RING_RECORD_MAX);
	cr_assert(check_fill(out, len, 5));
	free(mem);
}

/*
 * Indices start 282 below the uint32_t wrap; batches of every size from 1 to
 * nslots go around the ring ~340 times across the wrap. Batch sizes cycle
 * 1..8 (36 records a cycle), so the 8th full ring (records 280..287) holds
 * indices 0xFFFFFFFE..5.
 */
Test(ring, wraps_past_uint32_indices)
{
	const uint32_t n = 8, start = 0u - 282u;
	size_t size;
	uint8_t *mem = heap_region(n, &size);
	struct ring_header *hdr = (void *)mem;
	struct ring_producer p;
	struct ring_consumer c;
	uint8_t rec[RING_RECORD_MAX], out[RING_RECORD_MAX];
	uint32_t seq, len, pushed = 0, popped = 0;
	bool crossed_full = false;

	atomic_store(&hdr->head, start);
	atomic_store(&hdr->tail, start);
	atomic_store(&hdr->reply_seq, start); /* the reply to seq start - 1 */
	cr_assert_eq(ring_producer_attach(&p, mem, size, 0, 0), 0);
	cr_assert_eq(ring_consumer_attach(&c, mem, size), 0);

	for (uint32_t round = 0; round < 600; round++) {
		uint32_t batch = 1 + round % n;
		for (uint32_t i = 0; i < batch; i++, pushed++) {
			uint32_t l = 1 + pushed % RING_RECORD_MAX;
			fill(rec, l, pushed);
			cr_assert_eq(ring_push(&p, rec, l, &seq), 0);
			cr_assert_eq(seq, start + pushed);
		}
		cr_assert_eq(ring_pending(&c), batch);
		if (batch == n && (uint32_t)(start + popped) > (uint32_t)(start + pushed))
			crossed_full = true; /* a full ring straddling the wrap */
		for (uint32_t i = 0; i < batch; i++, popped++) {
			cr_assert_eq(ring_pop(&c, out, sizeof(out), &len, &seq), 0);
			cr_assert_eq(seq, start + popped);
			cr_assert_eq(len, 1 + popped % RING_RECORD_MAX);
			cr_assert(check_fill(out, len, popped));
			/* Every 16th record is a read, answered right away,
			 * including seq 0xFFFFFFFF whose reply_seq wraps to 0. */
			if (popped % 16 == 15) {
				uint32_t r = seq ^ 0x5a5a5a5a, rl;
				cr_assert_eq(ring_reply(&c, seq, &r, sizeof(r)), 0);
				cr_assert_eq(ring_wait_reply(&p, seq, out, sizeof(out), &rl), 0);
				cr_assert_eq(rl, sizeof(r));
				memcpy(&r, out, sizeof(r));
				cr_assert_eq(r, seq ^ 0x5a5a5a5a);
			}
		}
		cr_assert_eq(ring_pop(&c, out, sizeof(out), &len, &seq), -EAGAIN);
	}
	cr_assert(crossed_full, "a full ring straddled the wrap");
	cr_assert_gt(pushed, 0x100u + 4 * n, "went past the wrap");
	cr_assert_eq(atomic_load(&hdr->tail), start + pushed);
	cr_assert_eq(atomic_load(&hdr->head), start + popped);
	cr_assert_eq(p.full_waits, 0);
	free(mem);
}

Test(ring, reply_round_trip)
{
	size_t size;
	uint8_t *mem = heap_region(4, &size);
	struct ring_header *hdr = (void *)mem;
	struct ring_producer p;
	struct ring_consumer c;
	uint8_t rec[RING_RECORD_MAX], out[RING_RECORD_MAX];
	uint32_t seq, rseq, len;

	cr_assert_eq(ring_producer_attach(&p, mem, size, 0, 0), 0);
	cr_assert_eq(ring_consumer_attach(&c, mem, size), 0);
	fill(rec, 40, 1);
	cr_assert_eq(ring_push(&p, rec, 40, &seq), 0);
	/* Waiting for something never sent is the caller's bug. */
	cr_assert_eq(ring_wait_reply(&p, seq + 1, out, sizeof(out), &len), -EINVAL);
	cr_assert_eq(ring_pop(&c, out, sizeof(out), &len, &rseq), 0);
	cr_assert_eq(rseq, seq);
	fill(rec, 33, 2);
	cr_assert_eq(ring_reply(&c, rseq, rec, 33), 0);
	cr_assert_eq(atomic_load(&hdr->reply_seq), seq + 1);
	memset(out, 0, sizeof(out));
	cr_assert_eq(ring_wait_reply(&p, seq, out, sizeof(out), &len), 0);
	cr_assert_eq(len, 33);
	cr_assert(check_fill(out, 33, 2));
	/* Empty replies are allowed (an acknowledgement). */
	cr_assert_eq(ring_push(&p, rec, 3, &seq), 0);
	cr_assert_eq(ring_pop(&c, out, sizeof(out), &len, &rseq), 0);
	cr_assert_eq(ring_reply(&c, rseq, NULL, 0), 0);
	cr_assert_eq(ring_wait_reply(&p, seq, out, sizeof(out), &len), 0);
	cr_assert_eq(len, 0);
	cr_assert_eq(p.reply_sleeps, 0);
	free(mem);
}

/* The doorbell rings exactly when the consumer announced that it sleeps. */
Test(ring, doorbell_only_when_consumer_sleeps)
{
	size_t size;
	uint8_t *mem = heap_region(8, &size);
	struct ring_header *hdr = (void *)mem;
	struct ring_producer p;
	struct ring_consumer c;
	uint8_t rec[8] = { 1 }, out[RING_RECORD_MAX];
	uint32_t seq, len;
	int efd = new_eventfd();

	cr_assert_eq(ring_producer_attach(&p, mem, size, efd, 0), 0);
	cr_assert_eq(ring_consumer_attach(&c, mem, size), 0);
	cr_assert(ring_consumer_prepare_sleep(&c), "empty ring: may sleep");
	cr_assert_neq(atomic_load(&hdr->consumer_sleeping), 0);
	cr_assert_eq(ring_push(&p, rec, sizeof(rec), &seq), 0);
	cr_assert_eq(p.doorbells, 1);
	cr_assert_eq(eventfd_take(efd), 1);
	/* The consumer has not woken up yet: one doorbell is enough. */
	cr_assert_eq(ring_push(&p, rec, sizeof(rec), &seq), 0);
	cr_assert_eq(p.doorbells, 1, "one doorbell per sleep");
	cr_assert_eq(eventfd_take(efd), 0);
	ring_consumer_end_sleep(&c);
	cr_assert_eq(atomic_load(&hdr->consumer_sleeping), 0);
	cr_assert_eq(ring_push(&p, rec, sizeof(rec), &seq), 0);
	cr_assert_eq(p.doorbells, 1, "awake consumer: no doorbell");
	cr_assert_eq(eventfd_take(efd), 0);
	/* Records pending: prepare_sleep refuses and leaves the flag clear. */
	cr_assert_not(ring_consumer_prepare_sleep(&c));
	cr_assert_eq(atomic_load(&hdr->consumer_sleeping), 0);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(ring_pop(&c, out, sizeof(out), &len, &seq), 0);
	/* Asleep again: the next record rings again. */
	cr_assert(ring_consumer_prepare_sleep(&c));
	cr_assert_eq(ring_push(&p, rec, sizeof(rec), &seq), 0);
	cr_assert_eq(p.doorbells, 2);
	cr_assert_eq(eventfd_take(efd), 1);
	ring_consumer_end_sleep(&c);
	close(efd);
	free(mem);
}

/* ---- blocking across processes ----------------------------------------- */

/* Generous: these only bound a failure; a passing test never waits this long. */
#define BLOCK_WAIT_MS 30000

/*
 * Producer in a child pushes into a full ring: it must announce that it
 * sleeps, stay blocked (tail unchanged, still running) until the parent
 * pops, then complete with the right seq and record.
 */
static void full_ring_blocks(uint32_t spin_iters)
{
	const uint32_t n = 4;
	size_t size;
	uint8_t *mem = shared_region(n, &size);
	struct ring_header *hdr = (void *)mem;
	struct ring_producer p;
	struct ring_consumer c;
	uint8_t rec[RING_RECORD_MAX], out[RING_RECORD_MAX];
	uint32_t seq, len;
	int efd = new_eventfd();

	cr_assert_eq(ring_producer_attach(&p, mem, size, efd, spin_iters), 0);
	cr_assert_eq(ring_consumer_attach(&c, mem, size), 0);
	for (uint32_t i = 0; i < n; i++) {
		fill(rec, 10 + i, i);
		cr_assert_eq(ring_push(&p, rec, 10 + i, &seq), 0);
	}
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		child_guard(BLOCK_WAIT_MS / 1000 * 2);
		fill(rec, 99, 1234);
		if (ring_push(&p, rec, 99, &seq) != 0)
			_exit(1);
		if (seq != n)
			_exit(2);
		if (p.full_waits != 1)
			_exit(3);
		_exit(0);
	}
	/* It went to sleep on head... */
	cr_assert(wait_nonzero(&hdr->producer_waits_space, BLOCK_WAIT_MS), "producer never announced sleep");
	sleep_ms(50);
	/* ...and stays blocked. */
	int status;
	cr_assert_eq(waitpid(pid, &status, WNOHANG), 0, "push on a full ring returned");
	cr_assert_eq(atomic_load(&hdr->tail), n);
	cr_assert_eq(ring_pop(&c, out, sizeof(out), &len, &seq), 0);
	cr_assert_eq(seq, 0);
	assert_child_ok(pid, BLOCK_WAIT_MS);
	cr_assert_eq(atomic_load(&hdr->producer_waits_space), 0, "flag cleared on wake");
	cr_assert_eq(atomic_load(&hdr->tail), n + 1);
	for (uint32_t i = 1; i <= n; i++) {
		cr_assert_eq(ring_pop(&c, out, sizeof(out), &len, &seq), 0);
		cr_assert_eq(seq, i);
	}
	cr_assert_eq(len, 99);
	cr_assert(check_fill(out, 99, 1234));
	close(efd);
	munmap(mem, size);
}

Test(ring, full_ring_blocks_producer, .timeout = 120)
{
	full_ring_blocks(0);
}

Test(ring, full_ring_blocks_producer_after_spinning, .timeout = 120)
{
	full_ring_blocks(10000);
}

/*
 * A child waits for the reply to a read: a reply to an older request must
 * not end the wait; the right one must, with its content.
 */
Test(ring, reply_wait_blocks_until_its_reply, .timeout = 120)
{
	size_t size;
	uint8_t *mem = shared_region(8, &size);
	struct ring_header *hdr = (void *)mem;
	struct ring_producer p;
	struct ring_consumer c;
	uint8_t rec[RING_RECORD_MAX], out[RING_RECORD_MAX];
	uint32_t seq0, seq1, seq, len;
	int efd = new_eventfd();

	cr_assert_eq(ring_producer_attach(&p, mem, size, efd, 0), 0);
	cr_assert_eq(ring_consumer_attach(&c, mem, size), 0);
	cr_assert_eq(ring_push(&p, "w", 1, &seq0), 0);
	cr_assert_eq(ring_push(&p, "r", 1, &seq1), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		child_guard(BLOCK_WAIT_MS / 1000 * 2);
		if (ring_wait_reply(&p, seq1, out, sizeof(out), &len) != 0)
			_exit(1);
		if (len != 77 || !check_fill(out, 77, 9))
			_exit(2);
		if (p.reply_sleeps != 1)
			_exit(3);
		_exit(0);
	}
	cr_assert(wait_nonzero(&hdr->producer_waits_reply, BLOCK_WAIT_MS), "producer never announced sleep");
	cr_assert_eq(ring_pop(&c, out, sizeof(out), &len, &seq), 0);
	cr_assert_eq(ring_pop(&c, out, sizeof(out), &len, &seq), 0);
	/* An older reply wakes it (flag set) but must not satisfy it. */
	fill(rec, 5, 1);
	cr_assert_eq(ring_reply(&c, seq0, rec, 5), 0);
	sleep_ms(50);
	int status;
	cr_assert_eq(waitpid(pid, &status, WNOHANG), 0, "an older reply ended the wait");
	cr_assert_neq(atomic_load(&hdr->producer_waits_reply), 0, "went back to sleep");
	fill(rec, 77, 9);
	cr_assert_eq(ring_reply(&c, seq1, rec, 77), 0);
	assert_child_ok(pid, BLOCK_WAIT_MS);
	cr_assert_eq(atomic_load(&hdr->producer_waits_reply), 0);
	close(efd);
	munmap(mem, size);
}

/* ---- hostile peers ------------------------------------------------------ */

Test(ring, consumer_rejects_impossible_tail)
{
	size_t size;
	uint8_t *mem = heap_region(8, &size);
	struct ring_header *hdr = (void *)mem;
	struct ring_consumer c;
	uint8_t *out = malloc(RING_RECORD_MAX);
	uint32_t seq = 0, len = 0;
	static const uint32_t bad_tail[] = { 9, 100, 0x80000000u, 0xffffffffu /* behind head */ };

	cr_assert_eq(ring_consumer_attach(&c, mem, size), 0);
	for (size_t i = 0; i < ARRAY_SIZE(bad_tail); i++) {
		atomic_store(&hdr->tail, bad_tail[i]);
		cr_assert_eq(ring_pop(&c, out, RING_RECORD_MAX, &len, &seq), -EPROTO, "tail %u", bad_tail[i]);
		cr_assert_eq(ring_pending(&c), 8, "impossible tail reads as full");
		cr_assert_not(ring_consumer_prepare_sleep(&c));
		cr_assert_eq(c.head, 0);
		cr_assert_eq(atomic_load(&hdr->head), 0);
	}
	/* The exact capacity is legal. */
	for (uint32_t i = 0; i < 8; i++) {
		c.slots[i].len = 1;
		c.slots[i].seq = i;
	}
	atomic_store(&hdr->tail, 8);
	for (uint32_t i = 0; i < 8; i++)
		cr_assert_eq(ring_pop(&c, out, RING_RECORD_MAX, &len, &seq), 0);
	free(out);
	free(mem);
}

Test(ring, consumer_rejects_bad_slot)
{
	size_t size;
	uint8_t *mem = heap_region(2, &size);
	struct ring_producer p;
	struct ring_consumer c;
	uint8_t rec[16];
	uint8_t *out = malloc(RING_RECORD_MAX); /* exact size: ASan catches overruns */
	uint32_t seq, len;
	static const uint32_t bad_len[] = { 0, RING_RECORD_MAX + 1, 128, 500, 0xffffffffu };

	cr_assert_eq(ring_producer_attach(&p, mem, size, 0, 0), 0);
	cr_assert_eq(ring_consumer_attach(&c, mem, size), 0);
	fill(rec, sizeof(rec), 3);
	cr_assert_eq(ring_push(&p, rec, sizeof(rec), &seq), 0);
	struct ring_slot *s = &c.slots[0];
	for (size_t i = 0; i < ARRAY_SIZE(bad_len); i++) {
		s->len = bad_len[i];
		cr_assert_eq(ring_pop(&c, out, RING_RECORD_MAX, &len, &seq), -EPROTO, "len %u", bad_len[i]);
		cr_assert_eq(c.head, 0, "bad record not consumed");
	}
	s->len = sizeof(rec);
	s->seq = 5; /* not the record's index */
	cr_assert_eq(ring_pop(&c, out, RING_RECORD_MAX, &len, &seq), -EPROTO);
	s->seq = 0;
	cr_assert_eq(ring_pop(&c, out, RING_RECORD_MAX, &len, &seq), 0);
	cr_assert_eq(len, sizeof(rec));
	cr_assert(check_fill(out, len, 3));
	/* A slot left over from a previous lap (tail published, slot not
	 * written): its seq is off by nslots. */
	atomic_store(&c.hdr->tail, 3); /* slots 1 and 2 (= slot 0 again) */
	c.slots[1].len = 4;
	c.slots[1].seq = 1;
	cr_assert_eq(ring_pop(&c, out, RING_RECORD_MAX, &len, &seq), 0);
	cr_assert_eq(ring_pop(&c, out, RING_RECORD_MAX, &len, &seq), -EPROTO, "stale slot");
	free(out);
	free(mem);
}

Test(ring, producer_rejects_impossible_head)
{
	size_t size;
	uint8_t *mem = heap_region(8, &size);
	struct ring_header *hdr = (void *)mem;
	struct ring_producer p;
	uint8_t rec[8] = { 0 };
	uint32_t seq;
	/* tail is 3 below: head ahead of tail, or more than nslots behind. */
	static const uint32_t bad_head[] = { 4, 5, 1000, 0x80000003u, 0xfffffffau };

	atomic_store(&hdr->head, 0);
	atomic_store(&hdr->tail, 3);
	cr_assert_eq(ring_producer_attach(&p, mem, size, 0, 0), 0);
	for (size_t i = 0; i < ARRAY_SIZE(bad_head); i++) {
		atomic_store(&hdr->head, bad_head[i]);
		cr_assert_eq(ring_push(&p, rec, sizeof(rec), &seq), -EPROTO, "head %u", bad_head[i]);
		cr_assert_eq(p.tail, 3);
		cr_assert_eq(atomic_load(&hdr->tail), 3, "nothing published");
	}
	atomic_store(&hdr->head, 3);
	cr_assert_eq(ring_push(&p, rec, sizeof(rec), &seq), 0);
	cr_assert_eq(seq, 3);
	free(mem);
}

/* A producer asleep on a full ring is woken with a garbage head. */
Test(ring, producer_rejects_impossible_head_while_waiting, .timeout = 120)
{
	size_t size;
	uint8_t *mem = shared_region(2, &size);
	struct ring_header *hdr = (void *)mem;
	struct ring_producer p;
	uint8_t rec[8] = { 0 };
	uint32_t seq;

	cr_assert_eq(ring_producer_attach(&p, mem, size, 0, 0), 0);
	cr_assert_eq(ring_push(&p, rec, sizeof(rec), &seq), 0);
	cr_assert_eq(ring_push(&p, rec, sizeof(rec), &seq), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		child_guard(BLOCK_WAIT_MS / 1000 * 2);
		_exit(ring_push(&p, rec, sizeof(rec), &seq) == -EPROTO ? 0 : 1);
	}
	cr_assert(wait_nonzero(&hdr->producer_waits_space, BLOCK_WAIT_MS));
	atomic_store(&hdr->head, 1000);
	(void)raw_futex_wake((const volatile uint32_t *)(volatile void *)&hdr->head, 1);
	assert_child_ok(pid, BLOCK_WAIT_MS);
	cr_assert_eq(atomic_load(&hdr->tail), 2);
	munmap(mem, size);
}

Test(ring, producer_rejects_bad_reply)
{
	size_t size;
	uint8_t *mem = heap_region(8, &size);
	struct ring_header *hdr = (void *)mem;
	struct ring_producer p;
	uint8_t rec[8] = { 0 };
	uint8_t *out = malloc(32);
	uint32_t seq, len = 12345;
	static const uint32_t bad_len[] = { 33, 64, RING_RECORD_MAX, RING_RECORD_MAX + 1, 500, 0xffffffffu };

	cr_assert_eq(ring_producer_attach(&p, mem, size, 0, 0), 0);
	cr_assert_eq(ring_push(&p, rec, sizeof(rec), &seq), 0);
	cr_assert_eq(ring_push(&p, rec, sizeof(rec), &seq), 0);
	cr_assert_eq(seq, 1);

	/* Length over cap (32) or RING_RECORD_MAX. */
	atomic_store(&hdr->reply_seq, seq + 1);
	for (size_t i = 0; i < ARRAY_SIZE(bad_len); i++) {
		hdr->reply_len = bad_len[i];
		cr_assert_eq(ring_wait_reply(&p, seq, out, 32, &len), -EPROTO, "reply_len %u", bad_len[i]);
		cr_assert_eq(len, 12345);
	}
	hdr->reply_len = 500;
	cr_assert_eq(ring_wait_reply(&p, seq, out, 1000, &len), -EPROTO, "cap over RING_RECORD_MAX");

	/* A reply to a request never sent (newer than anything pushed). */
	static const uint32_t newer[] = { 3, 4, 1000, 0x7fffffffu };
	hdr->reply_len = 4;
	for (size_t i = 0; i < ARRAY_SIZE(newer); i++) {
		atomic_store(&hdr->reply_seq, newer[i]);
		cr_assert_eq(ring_wait_reply(&p, seq, out, 32, &len), -EPROTO, "reply_seq %u", newer[i]);
		cr_assert_eq(atomic_load(&hdr->producer_waits_reply), 0);
	}
	/* The right one, finally. */
	atomic_store(&hdr->reply_seq, seq + 1);
	cr_assert_eq(ring_wait_reply(&p, seq, out, 32, &len), 0);
	cr_assert_eq(len, 4);
	free(out);
	free(mem);
}

/* ---- two-process stress -------------------------------------------------- */

/*
 * 1,000,000 records a run; SQUIB_RING_STRESS_RECORDS overrides (e.g. for the
 * nested TCG test host, which is ~20x slower). A lost wake-up shows as no
 * progress at all: the consumer's poll() gives up after STRESS_STALL_MS and
 * the producer dies of alarm(); the overall criterion timeout is only a
 * safety net, so a slow machine never fails a correct ring.
 */
#define STRESS_DEFAULT_RECORDS 1000000u
#define STRESS_READ_EVERY 16u
#define STRESS_STALL_MS 30000
#define STRESS_TIMEOUT_S 600

static uint32_t stress_records(void)
{
	const char *e = getenv("SQUIB_RING_STRESS_RECORDS");
	unsigned long v = e ? strtoul(e, NULL, 0) : 0;

	return v > 0 && v <= 100000000ul ? (uint32_t)v : STRESS_DEFAULT_RECORDS;
}

struct stress_cfg {
	const char *name;
	uint32_t nslots;
	uint32_t producer_spin;
	uint32_t consumer_spin;
	bool expect_sleeps; /* doorbells and reply sleeps must have happened */
	bool expect_full;   /* the producer must have found the ring full */
};

/* Indices start below the uint32_t wrap, so every run crosses it. */
#define STRESS_BASE 0xFFFF8000u

/* Written by the child producer, read by the parent after it exits. */
struct stress_shared {
	uint64_t doorbells, full_waits, reply_sleeps;
	uint32_t failed_at;
};

static uint32_t fnv1a(const uint8_t *b, uint32_t n)
{
	uint32_t h = 2166136261u;

	for (uint32_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

static uint32_t mix32(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352dU;
	x ^= x >> 15;
	x *= 0x846ca68bU;
	x ^= x >> 16;
	return x;
}

static bool stress_is_read(uint32_t i)
{
	return i % STRESS_READ_EVERY == STRESS_READ_EVERY - 1;
}

/* Record i: [index][fnv1a(payload)][payload], 9..RING_RECORD_MAX bytes. */
static uint32_t stress_record(uint32_t i, uint8_t *rec)
{
	uint32_t len = 9 + mix32(i) % (RING_RECORD_MAX - 8), x = mix32(i ^ 0xabcdef01u);

	for (uint32_t k = 8; k < len; k++) {
		x = x * 1103515245u + 12345u;
		rec[k] = (uint8_t)(x >> 16);
	}
	uint32_t sum = fnv1a(rec + 8, len - 8);
	memcpy(rec, &i, 4);
	memcpy(rec + 4, &sum, 4);
	return len;
}

/* Reply to read i: [~i][bytes], 4..RING_RECORD_MAX bytes. */
static uint32_t stress_reply(uint32_t i, uint8_t *rep)
{
	uint32_t len = 4 + i % (RING_RECORD_MAX - 3), v = ~i;

	memcpy(rep, &v, 4);
	fill(rep + 4, len - 4, i);
	return len;
}

static NORETURN void stress_producer(struct ring_producer *p, uint32_t base, uint32_t n,
				     struct stress_shared *sh)
{
	uint8_t rec[RING_RECORD_MAX], rep[RING_RECORD_MAX], got[RING_RECORD_MAX];
	uint32_t seq, len;
	int code = 0;

	child_guard(STRESS_TIMEOUT_S);
	for (uint32_t i = 0; i < n; i++) {
		len = stress_record(i, rec);
		if (ring_push(p, rec, len, &seq) != 0) {
			code = 1;
		} else if (seq != base + i) {
			code = 2;
		} else if (stress_is_read(i)) {
			uint32_t want = stress_reply(i, rep);
			if (ring_wait_reply(p, seq, got, sizeof(got), &len) != 0)
				code = 3;
			else if (len != want || memcmp(got, rep, len) != 0)
				code = 4;
		}
		if (code) {
			sh->failed_at = i;
			break;
		}
	}
	sh->doorbells = p->doorbells;
	sh->full_waits = p->full_waits;
	sh->reply_sleeps = p->reply_sleeps;
	_exit(code);
}

static void stress(const struct stress_cfg *cfg)
{
	const char *name = cfg->name;
	size_t size;
	uint8_t *mem = shared_region(cfg->nslots, &size);
	struct stress_shared *sh = shared_map(sizeof(*sh));
	struct ring_producer p;
	struct ring_consumer c;
	uint8_t rec[RING_RECORD_MAX], rep[RING_RECORD_MAX];
	uint32_t len, seq, next = 0, spins = 0, n = stress_records();
	uint64_t sleeps = 0, wakeups = 0, announces = 0;
	int efd = new_eventfd();
	double t0 = now_s();

	struct ring_header *hdr = (void *)mem;
	atomic_store(&hdr->head, STRESS_BASE);
	atomic_store(&hdr->tail, STRESS_BASE);
	atomic_store(&hdr->reply_seq, STRESS_BASE); /* the reply to STRESS_BASE - 1 */
	cr_assert_eq(ring_producer_attach(&p, mem, size, efd, cfg->producer_spin), 0);
	cr_assert_eq(ring_consumer_attach(&c, mem, size), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
		stress_producer(&p, STRESS_BASE, n, sh);

	while (next < n) {
		int r = ring_pop(&c, rec, sizeof(rec), &len, &seq);
		if (r == 0) {
			uint32_t idx, sum;
			memcpy(&idx, rec, 4);
			memcpy(&sum, rec + 4, 4);
			if (seq != STRESS_BASE + next || idx != next || len < 9 || sum != fnv1a(rec + 8, len - 8)) {
				reap(pid);
				cr_assert_fail("%s: record %u corrupt (seq %u idx %u len %u)", name, next, seq, idx,
					       len);
			}
			if (stress_is_read(next)) {
				uint32_t rl = stress_reply(next, rep);
				cr_assert_eq(ring_reply(&c, seq, rep, rl), 0, "%s: ring_reply", name);
			}
			next++;
			spins = 0;
			continue;
		}
		if (r != -EAGAIN) {
			reap(pid);
			cr_assert_fail("%s: ring_pop %d at record %u", name, r, next);
		}
		if (spins < cfg->consumer_spin) {
			spins++;
			cpu_relax();
			continue;
		}
		spins = 0;
		announces++;
		if (!ring_consumer_prepare_sleep(&c))
			continue;
		sleeps++;
		struct pollfd pfd = { .fd = efd, .events = POLLIN };
		int pr;
		do
			pr = poll(&pfd, 1, STRESS_STALL_MS);
		while (pr < 0 && errno == EINTR);
		if (pr <= 0) {
			reap(pid);
			cr_assert_fail("%s: consumer asleep %d ms at record %u: lost wake-up", name, STRESS_STALL_MS,
				       next);
		}
		wakeups += eventfd_take(efd);
		ring_consumer_end_sleep(&c);
	}
	double dt = now_s() - t0;
	int status = 0;
	if (!wait_child(pid, &status, STRESS_STALL_MS)) {
		reap(pid);
		cr_assert_fail("%s: producer did not exit", name);
	}
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "%s: producer failed (status %#x: exit code 1 push, 2 seq, 3 wait_reply, 4 reply bytes) at record %u",
		  name, status, sh->failed_at);
	cr_assert_eq(ring_pending(&c), 0, "%s", name);
	cr_log_info("ring stress %s: %u records in %.2f s (%.0f ns/record): doorbells %lu, consumer sleeps %lu "
		    "(eventfd count %lu), full waits %lu, reply sleeps %lu",
		    name, n, dt, dt * 1e9 / n, (unsigned long)sh->doorbells,
		    (unsigned long)sleeps, (unsigned long)wakeups, (unsigned long)sh->full_waits,
		    (unsigned long)sh->reply_sleeps);
	cr_assert_eq(atomic_load(&hdr->tail), STRESS_BASE + n, "%s", name);
	/* Every eventfd count came from a doorbell, and the producer rang at
	 * most once per announced sleep (not once per record). */
	cr_assert_leq(wakeups, sh->doorbells, "%s", name);
	cr_assert_leq(sh->doorbells, announces, "%s: more doorbells than sleeps", name);
	if (cfg->expect_sleeps) {
		cr_assert_gt(sleeps, 0, "%s: consumer slept", name);
		cr_assert_gt(sh->doorbells, 0, "%s: doorbell rung", name);
		cr_assert_gt(sh->reply_sleeps, 0, "%s: producer slept for replies", name);
	}
	if (cfg->expect_full)
		cr_assert_gt(sh->full_waits, 0, "%s: producer met a full ring", name);
	close(efd);
	munmap(sh, sizeof(*sh));
	munmap(mem, size);
}

/*
 * The three configurations run one after the other in a single test: each
 * uses both cores, and run side by side (criterion's --jobs) they would only
 * preempt each other's spinning (measured: 0.2 s alone vs 3.7 s in parallel
 * for the spinning run, which then sleeps on almost every read).
 */
Test(ring, stress_two_process, .timeout = STRESS_TIMEOUT_S)
{
	static const struct stress_cfg cfgs[] = {
		/* Spinning covers most waits: the fast path, both sides awake. */
		{ .name = "spinning", .nslots = RING_DEFAULT_SLOTS, .producer_spin = 1000, .consumer_spin = 1000 },
		/*
		 * No spinning at all: every empty ring, full ring and reply
		 * wait goes through flag + fence + re-check + sleep, hundreds
		 * of thousands of times. This is the lost-wake-up proof: one
		 * lost wake-up stalls the run and fails it. Eight slots, so
		 * that the ring fills too (a read every 16 records drains it,
		 * so a 256-slot ring would never be full).
		 */
		{ .name = "no-spin", .nslots = 8, .producer_spin = 0, .consumer_spin = 0, .expect_sleeps = true,
		  .expect_full = true },
		/* Two slots: the producer is constantly back-pressured. */
		{ .name = "two-slots", .nslots = 2, .producer_spin = 100, .consumer_spin = 100, .expect_full = true },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cfgs); i++)
		stress(&cfgs[i]);
}
