/* SPDX-License-Identifier: MIT */
/*
 * Guest console output on the monitor's side (monitor/console/console_output.c):
 * the out ring written to a pipe through a private non-blocking description,
 * waiting for a slow reader without blocking, giving up on a stuck one,
 * waking a uart that waits for room, and refusing an impossible index.
 */
#include <criterion/criterion.h>
#include <event2/event.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "monitor/console/console_output.h"
#include "tests/unit/console_peer.h"

static struct {
	struct console_peer peer;
	struct console_output out;
	struct event_base *base;
	int r, w; /* the console: a pipe */
	int wake; /* the uart's doorbell */
} fx;

static void setup(void)
{
	int p[2];

	memset(&fx, 0, sizeof(fx));
	console_peer_init(&fx.peer);
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	fx.r = p[0];
	fx.w = p[1];
	fx.wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	fx.base = event_base_new();
	cr_assert(fx.wake >= 0 && fx.base);
	cr_assert_eq(console_output_setup(&fx.out, fx.w, fx.peer.ring), 0);
	fx.out.wake_fd = fx.wake;
	cr_assert_eq(console_output_start(&fx.out, fx.base), 0);
}

static void teardown(void)
{
	console_output_teardown(&fx.out);
	event_base_free(fx.base);
	console_peer_fini(&fx.peer);
	close(fx.r);
	if (fx.w >= 0)
		close(fx.w);
	close(fx.wake);
}

TestSuite(console_output, .init = setup, .fini = teardown);

/* The uart publishes n bytes (i * 3 from byte `from` on). */
static void guest_prints(uint32_t from, uint32_t n)
{
	struct console_ring *ring = fx.peer.ring;
	uint32_t tail = ring->out_tail;

	for (uint32_t i = 0; i < n; i++)
		ring->out[(tail + i) & (CONSOLE_OUT_SIZE - 1)] = (uint8_t)((from + i) * 3);
	console_ring_store(&ring->out_tail, tail + n);
}

static size_t read_all(uint8_t *buf, size_t cap)
{
	size_t got = 0;
	ssize_t n;

	while (got < cap && (n = read(fx.r, buf + got, cap - got)) > 0)
		got += (size_t)n;
	return got;
}

static void fill_pipe(void)
{
	static char junk[65536];
	int fl = fcntl(fx.w, F_GETFL);

	fcntl(fx.w, F_SETFL, fl | O_NONBLOCK);
	while (write(fx.w, junk, sizeof(junk)) > 0)
		;
	fcntl(fx.w, F_SETFL, fl);
}

static void drain_pipe(void)
{
	static char junk[65536];
	int fl = fcntl(fx.r, F_GETFL);

	fcntl(fx.r, F_SETFL, fl | O_NONBLOCK);
	while (read(fx.r, junk, sizeof(junk)) > 0)
		;
	fcntl(fx.r, F_SETFL, fl);
}

Test(console_output, a_pipe_is_reopened_non_blocking_and_the_users_fd_is_left_alone)
{
	cr_assert_eq(fx.out.kind, CONSOLE_OUTPUT_PRIVATE);
	cr_assert_neq(fx.out.fd, fx.w);
	cr_assert(fcntl(fx.out.fd, F_GETFL) & O_NONBLOCK);
	cr_assert_not(fcntl(fx.w, F_GETFL) & O_NONBLOCK, "the shared description stays blocking");
}

Test(console_output, output_reaches_the_fd_in_order_and_head_is_published)
{
	uint8_t got[300];

	guest_prints(0, 300);
	console_output_drain(&fx.out);
	cr_assert_eq(fx.peer.ring->out_head, 300);
	cr_assert_eq(read_all(got, sizeof(got)), 300);
	for (unsigned i = 0; i < 300; i++)
		cr_assert_eq(got[i], (uint8_t)(i * 3));
	cr_assert_eq(fx.out.written, 300);
}

Test(console_output, the_ring_wraps)
{
	static uint8_t got[CONSOLE_OUT_SIZE];
	size_t n = 0;

	console_ring_store(&fx.peer.ring->out_tail, CONSOLE_OUT_SIZE - 10);
	console_ring_store(&fx.peer.ring->out_head, CONSOLE_OUT_SIZE - 10);
	fx.out.head = CONSOLE_OUT_SIZE - 10;
	guest_prints(0, 30);
	console_output_drain(&fx.out);
	n = read_all(got, 30);
	cr_assert_eq(n, 30);
	for (unsigned i = 0; i < 30; i++)
		cr_assert_eq(got[i], (uint8_t)(i * 3), "byte %u", i);
}

Test(console_output, a_full_console_is_waited_for_without_blocking_and_nothing_is_lost)
{
	static uint8_t got[1000];

	fill_pipe();
	guest_prints(0, 1000);
	console_output_drain(&fx.out); /* returns: the fd is non-blocking */
	cr_assert(fx.out.waiting);
	cr_assert_eq(fx.out.written, 0);
	drain_pipe();
	cr_assert_eq(event_base_loop(fx.base, EVLOOP_ONCE | EVLOOP_NONBLOCK), 0);
	cr_assert_not(fx.out.waiting);
	cr_assert_eq(read_all(got, sizeof(got)), 1000);
	for (unsigned i = 0; i < 1000; i++)
		cr_assert_eq(got[i], (uint8_t)(i * 3), "byte %u", i);
	cr_assert_eq(fx.out.dropped, 0);
}

Test(console_output, a_stuck_console_is_given_up_on_and_recovers)
{
	struct timeval tv = { 0, 100 * 1000 };
	uint8_t c;

	fx.out.stuck_ms = 30;
	fill_pipe();
	guest_prints(0, 10);
	console_output_drain(&fx.out);
	cr_assert(fx.out.waiting);
	console_ring_store(&fx.peer.ring->out_blocked, 1); /* the uart waits for room */
	cr_assert_eq(event_base_loopexit(fx.base, &tv), 0);
	cr_assert_eq(event_base_dispatch(fx.base), 0);
	cr_assert(fx.out.stuck, "the stuck timer fired");
	cr_assert_eq(fx.out.dropped, 10);
	cr_assert_eq(fx.peer.ring->out_head, 10, "dropped bytes free the ring");
	cr_assert_eq(console_peer_kicks(&(struct console_peer){ .kick = fx.wake }), 1, "the blocked uart is woken");
	guest_prints(10, 1);
	console_output_drain(&fx.out);
	cr_assert_eq(fx.out.dropped, 11, "while stuck, what the fd does not take at once is dropped");
	drain_pipe();
	guest_prints(11, 1);
	console_output_drain(&fx.out);
	cr_assert_not(fx.out.stuck, "a write went through: lossless again");
	cr_assert_eq(read(fx.r, &c, 1), 1);
	cr_assert_eq(c, (uint8_t)(11 * 3));
}

Test(console_output, an_impossible_tail_is_ignored)
{
	console_ring_store(&fx.peer.ring->out_tail, CONSOLE_OUT_SIZE + 1);
	console_output_drain(&fx.out);
	cr_assert(fx.out.bad_logged);
	cr_assert_eq(fx.out.written + fx.out.dropped, 0);
	cr_assert_eq(fx.peer.ring->out_head, 0);
}

Test(console_output, finish_waits_for_a_slow_reader)
{
	static uint8_t got[2000];
	pid_t pid;

	fill_pipe();
	guest_prints(0, 2000);
	console_output_drain(&fx.out);
	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };

		static char junk[65536];
		size_t left = sizeof(junk); /* what fill_pipe put in: the pipe's whole capacity */
		ssize_t n;

		nanosleep(&ts, NULL);
		while (left > 0 && (n = read(fx.r, junk, left)) > 0)
			left -= (size_t)n;
		_exit(0);
	}
	console_output_finish(&fx.out);
	waitpid(pid, NULL, 0);
	cr_assert_eq(fx.out.dropped, 0);
	cr_assert_eq(fx.out.written, 2000);
	cr_assert_eq(read_all(got, sizeof(got)), 2000);
	cr_assert_eq(got[1999], (uint8_t)(1999 * 3));
}

Test(console_output, finish_gives_up_on_a_stuck_console)
{
	struct timespec t0, t1;
	double ms;

	fx.out.stuck_ms = 50;
	fill_pipe();
	guest_prints(0, 20);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	console_output_finish(&fx.out);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	cr_assert_lt(ms, 1000.0, "finish waited %.0f ms", ms);
	cr_assert_eq(fx.out.dropped, 20);
}

Test(console_output, a_closed_reader_drops_without_a_signal)
{
	signal(SIGPIPE, SIG_IGN); /* as console_setup does */
	close(fx.r);
	fx.r = open("/dev/null", O_RDONLY);
	guest_prints(0, 5);
	console_output_drain(&fx.out); /* EPIPE, SIGPIPE ignored by the monitor (console_setup) */
	cr_assert_eq(fx.out.dropped, 5);
}

Test(console_output, a_regular_file_is_written_as_is)
{
	char path[] = "/tmp/squib-console-XXXXXX";
	int fd = mkstemp(path);
	struct console_output o;
	char buf[8] = { 0 };

	cr_assert_geq(fd, 0);
	unlink(path);
	cr_assert_eq(console_output_setup(&o, fd, fx.peer.ring), 0);
	cr_assert_eq(o.kind, CONSOLE_OUTPUT_PLAIN);
	cr_assert_eq(o.fd, fd);
	guest_prints(0, 4);
	console_output_drain(&o);
	cr_assert_eq(pread(fd, buf, sizeof(buf), 0), 4);
	console_output_teardown(&o);
	close(fd);
}

Test(console_output, a_socket_is_written_with_send_dontwait)
{
	int sv[2];
	struct console_output o;
	char buf[8];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	cr_assert_eq(console_output_setup(&o, sv[0], fx.peer.ring), 0);
	cr_assert_eq(o.kind, CONSOLE_OUTPUT_SOCKET);
	guest_prints(0, 3);
	console_output_drain(&o);
	cr_assert_eq(read(sv[1], buf, sizeof(buf)), 3);
	console_output_teardown(&o);
	close(sv[0]);
	close(sv[1]);
}
