/* SPDX-License-Identifier: MIT */
/* Guest console output, from the out ring to the console fd (console_output.h). */
#include "monitor/console/console_output.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "monitor/log.h"

#define CONSOLE_OUTPUT_BATCH PIPE_BUF /* bytes per write(2) */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int console_output_setup(struct console_output *o, int fd, struct console_ring *ring)
{
	struct stat st;
	char path[64];
	int own;

	memset(o, 0, sizeof(*o));
	o->fd = fd;
	o->ring = ring;
	o->wake_fd = -1;
	o->stuck_ms = CONSOLE_OUTPUT_STUCK_MS;
	o->kind = CONSOLE_OUTPUT_PLAIN;
	if (fd < 0 || fstat(fd, &st) < 0)
		return 0;
	if (S_ISSOCK(st.st_mode)) {
		o->kind = CONSOLE_OUTPUT_SOCKET;
		return 0;
	}
	if (!S_ISFIFO(st.st_mode) && !(S_ISCHR(st.st_mode) && isatty(fd)))
		return 0; /* a file or /dev/null: writes do not wait */
	/* O_NOCTTY: opening a terminal must not make it the monitor's controlling one. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	own = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (own >= 0) {
		o->fd = own;
		o->kind = CONSOLE_OUTPUT_PRIVATE;
		return 0;
	}
	o->kind = CONSOLE_OUTPUT_POLLED;
	return 0;
}

static void on_writable(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	console_output_drain(arg);
}

static void drop_pending(struct console_output *o, uint32_t n, const char *why)
{
	o->dropped += n;
	o->head += n;
	if (!o->drop_logged)
		mlog("console output fd %d %s: dropping guest output (counted)", o->fd, why);
	o->drop_logged = true;
}

static void stop_waiting(struct console_output *o)
{
	o->waiting = false;
	if (o->ev_writable)
		event_del(o->ev_writable);
	if (o->ev_stuck)
		event_del(o->ev_stuck);
}

/* The fd took nothing for stuck_ms: stop waiting for it. */
static void on_stuck(evutil_socket_t fd, short what, void *arg)
{
	struct console_output *o = arg;

	(void)fd;
	(void)what;
	if (!o->waiting)
		return;
	stop_waiting(o);
	o->stuck = true;
	if (!o->drop_logged)
		mlog("console output fd %d took nothing for %u ms: dropping guest output (counted) until it takes some again",
		     o->fd, o->stuck_ms);
	o->drop_logged = true;
	console_output_drain(o); /* drops what is pending, and wakes a blocked uart */
}

static void start_waiting(struct console_output *o)
{
	struct timeval tv = { .tv_sec = o->stuck_ms / 1000, .tv_usec = (o->stuck_ms % 1000) * 1000 };

	if (o->waiting)
		return;
	o->waiting = true;
	if (o->ev_writable)
		event_add(o->ev_writable, NULL);
	if (o->ev_stuck)
		event_add(o->ev_stuck, &tv);
}

int console_output_start(struct console_output *o, struct event_base *base)
{
	if (o->kind == CONSOLE_OUTPUT_PLAIN || !o->ring)
		return 0;
	o->ev_writable = event_new(base, o->fd, EV_WRITE | EV_PERSIST, on_writable, o);
	o->ev_stuck = evtimer_new(base, on_stuck, o);
	return o->ev_writable && o->ev_stuck ? 0 : -ENOMEM;
}

/* One write of at most n bytes. >0 written, 0 the fd takes nothing now, -errno failed. */
static ssize_t write_some(struct console_output *o, const uint8_t *p, size_t n)
{
	struct pollfd pfd = { .fd = o->fd, .events = POLLOUT };
	ssize_t w;

	if (n > CONSOLE_OUTPUT_BATCH)
		n = CONSOLE_OUTPUT_BATCH;
	if (o->kind == CONSOLE_OUTPUT_POLLED) {
		int r = poll(&pfd, 1, 0);

		if (r == 0 || (r < 0 && errno == EINTR))
			return 0;
		if (r < 0 || (pfd.revents & (POLLERR | POLLNVAL)))
			return r < 0 ? -errno : -EIO;
	}
	do {
		if (o->kind == CONSOLE_OUTPUT_SOCKET)
			w = send(o->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		else
			w = write(o->fd, p, n);
	} while (w < 0 && errno == EINTR);
	if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (w < 0)
		return -errno;
	return w == 0 ? -EIO : w;
}

void console_output_wake_uart(struct console_output *o)
{
	const uint64_t one = 1;

	/* Fails only when the counter would overflow: a wake-up is pending anyway. */
	if (o->wake_fd >= 0 && write(o->wake_fd, &one, sizeof(one)) == (ssize_t)sizeof(one))
		o->wakes++;
}

/* After head moved: publish it, and wake a uart that waits for room (the Dekker pair of console_ring.h). */
static void publish_head(struct console_output *o)
{
	console_ring_store(&o->ring->out_head, o->head);
	if (console_ring_load(&o->ring->out_blocked))
		console_output_wake_uart(o);
}

void console_output_drain(struct console_output *o)
{
	uint32_t tail, pending, start = o->head;

	if (!o->ring)
		return;
	/* Trust boundary: out_tail and the bytes are the uart worker's (maybe compromised); checked. */
	tail = console_ring_load(&o->ring->out_tail);
	if (!console_ring_pending(o->head, tail, CONSOLE_OUT_SIZE, &pending)) {
		if (!o->bad_logged)
			mlog("console: the uart worker published output index %u, impossible against %u; ignored",
			     tail, o->head);
		o->bad_logged = true;
		return;
	}
	while (pending > 0) {
		uint32_t off = o->head & (CONSOLE_OUT_SIZE - 1);
		uint32_t chunk = pending < CONSOLE_OUT_SIZE - off ? pending : CONSOLE_OUT_SIZE - off;
		ssize_t w;

		if (o->max_bytes && o->file_bytes + o->written >= o->max_bytes) {
			/* The file is full: the guest runs on, its output is counted and dropped. */
			if (!o->full_logged)
				mlog("console file reached --console-max %llu bytes: dropping further guest output (counted)",
				     (unsigned long long)o->max_bytes);
			o->full_logged = o->drop_logged = true;
			o->dropped += pending;
			o->head += pending;
			break;
		}
		if (o->max_bytes && chunk > o->max_bytes - o->file_bytes - o->written)
			chunk = (uint32_t)(o->max_bytes - o->file_bytes - o->written);
		w = o->fd >= 0 ? write_some(o, o->ring->out + off, chunk) : -EBADF;

		if (w > 0) {
			o->head += (uint32_t)w;
			o->written += (uint64_t)w;
			pending -= (uint32_t)w;
			o->stuck = false;
			if (o->waiting)
				stop_waiting(o);
			continue;
		}
		if (w < 0) {
			/* A broken fd (EPIPE, EIO, none at all): output has nowhere to go. */
			o->stuck = true;
			drop_pending(o, pending, o->fd < 0 ? "is absent" : "failed");
			break;
		}
		if (o->stuck) {
			drop_pending(o, pending, "takes nothing");
			break;
		}
		start_waiting(o);
		break;
	}
	if (o->head != start)
		publish_head(o);
}

void console_output_finish(struct console_output *o)
{
	uint64_t deadline = now_ms() + CONSOLE_OUTPUT_FINISH_MS, last = now_ms();
	uint32_t pending;

	stop_waiting(o);
	while (o->ring) {
		uint32_t before = o->head;
		uint64_t now, until;
		struct pollfd pfd = { .fd = o->fd, .events = POLLOUT };

		console_output_drain(o);
		stop_waiting(o); /* no event loop any more: wait here instead */
		if (!console_ring_pending(o->head, console_ring_load(&o->ring->out_tail), CONSOLE_OUT_SIZE, &pending) ||
		    pending == 0 || o->stuck)
			return;
		now = now_ms();
		if (o->head != before)
			last = now;
		until = last + o->stuck_ms < deadline ? last + o->stuck_ms : deadline;
		if (now >= until) {
			o->stuck = true; /* the next drain drops the rest */
			continue;
		}
		(void)poll(&pfd, 1, (int)(until - now));
	}
}

void console_output_teardown(struct console_output *o)
{
	if (o->ev_writable)
		event_free(o->ev_writable);
	if (o->ev_stuck)
		event_free(o->ev_stuck);
	o->ev_writable = o->ev_stuck = NULL;
	if (o->kind == CONSOLE_OUTPUT_PRIVATE && o->fd >= 0)
		close(o->fd);
	o->fd = -1;
	o->ring = NULL;
}
