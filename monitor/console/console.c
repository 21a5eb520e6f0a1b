/* SPDX-License-Identifier: MIT */
#include "monitor/console/console.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "monitor/exit_status.h"
#include "monitor/kvm/guest_ram.h"
#include "monitor/kvm/kvm_vm.h"
#include "monitor/log.h"

/*
 * The one piece of process-wide state: the atexit handler gets no
 * argument, so it finds the console to restore here. Set once by
 * console_setup, before the terminal is changed.
 */
static struct console *atexit_console;

/*
 * Puts the saved termios back on fd 0. tcsetattr(TCSANOW) is
 * ioctl(0, TCSETS): the monitor's seccomp filter allows exactly that (and
 * TCSETSW) on fd 0. TCSANOW rather than TCSADRAIN: a stopped terminal
 * (Ctrl-S) would never drain.
 */
static void restore_terminal(struct console *c)
{
	if (!c->raw)
		return;
	c->raw = false;
	(void)tcsetattr(STDIN_FILENO, TCSANOW, &c->saved);
}

static void restore_at_exit(void)
{
	if (atexit_console)
		restore_terminal(atexit_console);
}

/* True when stdin is a terminal this process may switch to raw mode. */
static bool may_go_raw(void)
{
	pid_t fg;

	if (!isatty(STDIN_FILENO))
		return false;
	fg = tcgetpgrp(STDIN_FILENO);
	/* Not our controlling terminal (ENOTTY): no job control to respect. */
	if (fg < 0)
		return errno == ENOTTY;
	/* In the background, tcsetattr and read would stop us with SIGTTOU/SIGTTIN. */
	return fg == getpgrp();
}

static int go_raw(struct console *c)
{
	struct termios t;

	if (tcgetattr(STDIN_FILENO, &c->saved) < 0)
		return -errno;
	t = c->saved;
	t.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON | IXOFF);
	t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
	t.c_cflag &= ~(tcflag_t)(CSIZE | PARENB);
	t.c_cflag |= CS8;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	/* c_oflag untouched: the host terminal keeps its output processing. */
	c->raw = true; /* before the change: a signal or exit in between still restores */
	if (tcsetattr(STDIN_FILENO, TCSANOW, &t) < 0) {
		c->raw = false;
		return -errno;
	}
	return 0;
}

/* The console rings (proto/console_ring.h) and the eventfd the uart worker kicks. */
static int rings_setup(struct console *c)
{
	void *p = NULL;
	int r;

	r = shared_memfd_create("squib-console", CONSOLE_RING_REGION_SIZE, &c->ring_fd, &p);
	if (r < 0) {
		mlog("cannot create the console rings: %s", strerror(-r));
		return r;
	}
	c->ring = p;
	c->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->kick_fd < 0) {
		r = -errno;
		mlog("cannot create the console's kick eventfd: %s", strerror(-r));
		return r;
	}
	return 0;
}

int console_register_irq(const struct console *c, struct kvm_vm *kvm)
{
	int r = kvm_vm_add_irqfd(kvm, CONSOLE_IRQ, c->irq_fd);

	if (r < 0)
		mlog("cannot register the console's irqfd on GSI %d: %s", CONSOLE_IRQ, strerror(-r));
	return r;
}

int console_setup(struct console *c, int output_fd)
{
	struct sigaction sa;
	struct stat st;
	int fl, r;

	c->irq_fd = c->ring_fd = c->kick_fd = -1;
	c->out.fd = c->out.wake_fd = -1;
	atexit_console = c;
	if (atexit(restore_at_exit) != 0)
		return -ENOMEM;
	/* A write to a console pipe whose reader went away must fail with EPIPE, not kill the monitor. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) < 0)
		return -errno;

	c->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->irq_fd < 0) {
		r = -errno;
		mlog("cannot create the console's irqfd: %s", strerror(-r));
		return r;
	}
	r = rings_setup(c);
	if (r == 0)
		r = console_output_setup(&c->out, output_fd, c->ring);
	if (r < 0)
		return r;

	/*
	 * Only what epoll can watch and that can carry typed input: a
	 * terminal, a pipe or a socket. Not /dev/null or a regular file (epoll
	 * refuses them, and libevent would print a warning).
	 */
	fl = fcntl(STDIN_FILENO, F_GETFL);
	c->input = fl >= 0 && (fl & O_ACCMODE) != O_WRONLY && fstat(STDIN_FILENO, &st) == 0 &&
		   (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || isatty(STDIN_FILENO));
	if (c->input && isatty(STDIN_FILENO) && !may_go_raw())
		c->input = false; /* a background job: leave the terminal to the foreground */
	if (c->input && isatty(STDIN_FILENO)) {
		r = go_raw(c);
		if (r < 0)
			mlog("cannot switch the terminal to raw mode: %s", strerror(-r));
	}
	return 0;
}

/*
 * Moves what the in ring has room for; true when nothing is left. Trust
 * boundary: in_head is the uart worker's; an impossible one leaves no room.
 */
static bool flush_pending(struct console *c)
{
	uint32_t tail = c->ring->in_tail, used, room;
	size_t moved = 0;

	if (!console_ring_pending(console_ring_load(&c->ring->in_head), tail, CONSOLE_IN_SIZE, &used))
		return false;
	room = CONSOLE_IN_SIZE - used;
	while (c->pending_off < c->pending_len && room > 0) {
		c->ring->in[tail & (CONSOLE_IN_SIZE - 1)] = c->pending[c->pending_off++];
		tail++;
		room--;
		moved++;
	}
	if (moved) {
		console_ring_store(&c->ring->in_tail, tail);
		console_output_wake_uart(&c->out);
	}
	if (c->pending_off < c->pending_len)
		return false;
	c->pending_off = c->pending_len = 0;
	return true;
}

static void stop_reading(struct console *c)
{
	if (c->ev_stdin)
		event_del(c->ev_stdin);
	c->input = false;
}

/* The uart worker published output, or took typed input. */
static void on_kick(evutil_socket_t fd, short what, void *arg)
{
	struct console *c = arg;
	uint64_t count;

	(void)what;
	(void)!read(fd, &count, sizeof(count)); /* resets the eventfd; EAGAIN: nothing to reset */
	console_output_drain(&c->out);
	if (!c->input_waits || !flush_pending(c))
		return;
	c->input_waits = false;
	if (c->input) /* false once the VM ends (console_stop) */
		event_add(c->ev_stdin, NULL);
}

static void on_stdin(evutil_socket_t fd, short what, void *arg)
{
	struct console *c = arg;
	uint8_t in[sizeof(c->pending) - 1];
	size_t used, out_len;
	bool quit;
	ssize_t n;

	(void)what;
	n = read(fd, in, sizeof(in));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		/* EOF, or stdin failed: no more input (and no busy loop on a readable EOF). */
		stop_reading(c);
		return;
	}
	used = console_escape_feed(&c->esc, in, (size_t)n, c->pending, &out_len, &quit);
	(void)used;
	c->pending_off = 0;
	c->pending_len = out_len;
	if (quit) {
		(void)flush_pending(c);
		c->quit(c->quit_ctx);
		return;
	}
	if (!flush_pending(c)) {
		/* The ring is full: stdin waits until the uart worker takes bytes (its kick). */
		event_del(c->ev_stdin);
		c->input_waits = true;
	}
}

int console_start(struct console *c, struct event_base *base, int wake_fd, void (*quit)(void *ctx), void *quit_ctx)
{
	int r;

	c->quit = quit;
	c->quit_ctx = quit_ctx;
	c->out.wake_fd = wake_fd;
	if (!c->ring)
		return 0;
	r = console_output_start(&c->out, base);
	if (r < 0)
		return r;
	c->ev_kick = event_new(base, c->kick_fd, EV_READ | EV_PERSIST, on_kick, c);
	if (!c->ev_kick || event_add(c->ev_kick, NULL) < 0)
		return -ENOMEM;
	if (!c->input)
		return 0;
	c->ev_stdin = event_new(base, STDIN_FILENO, EV_READ | EV_PERSIST, on_stdin, c);
	if (!c->ev_stdin)
		return -ENOMEM;
	/* Not expected (console_setup checked the kind of fd), but then simply no input. */
	if (event_add(c->ev_stdin, NULL) < 0)
		c->input = false;
	return 0;
}

void console_stop(struct console *c)
{
	stop_reading(c);
	restore_terminal(c);
}

void console_teardown(struct console *c)
{
	console_stop(c);
	console_output_finish(&c->out);
	console_output_teardown(&c->out);
	if (c->ev_stdin)
		event_free(c->ev_stdin);
	if (c->ev_kick)
		event_free(c->ev_kick);
	c->ev_stdin = c->ev_kick = NULL;
	if (c->ring) {
		/* Set up (rings_setup): both fds are ours, the kick one may be -1. */
		munmap(c->ring, CONSOLE_RING_REGION_SIZE);
		if (c->ring_fd >= 0) /* closed early once the spawner holds it (device_workers_release_fds) */
			close(c->ring_fd);
		if (c->kick_fd >= 0)
			close(c->kick_fd);
		c->ring_fd = c->kick_fd = -1;
	}
	c->ring = NULL;
}
