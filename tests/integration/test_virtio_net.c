/* SPDX-License-Identifier: MIT */
/*
 * virtio-net end to end: a tap in a private network namespace, frames sent
 * from its host side with AF_PACKET reach the guest's driver and come back
 * byte for byte; frames the guest sends arrive intact.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tests/lib/harness.h"
#include "tests/lib/tap_netns.h"

TestSuite(virtio_net, .fini = squib_teardown);

#define TAP "sqtap0"
#define GUEST_MAC "52:54:00:aa:bb:01"

static void setup_or_skip(void)
{
	char why[256];

	if (!tap_netns_setup(TAP, why, sizeof(why)))
		cr_skip_test("no tap in a private network namespace here: %s", why);
}

/*
 * A private namespace with the tap, an AF_PACKET socket on it (open before
 * the guest can send), and the guest started on the tap with cmdline.
 * Returns the socket.
 */
static int start_on_tap(struct squib_run *r, const char *cmdline)
{
	char arg[64];
	int sock;

	setup_or_skip();
	sock = tap_packet_socket(TAP);
	squib_run_init(r);
	snprintf(arg, sizeof(arg), "tap=%s,mac=%s", TAP, GUEST_MAC);
	squib_start_guest(r, 1, true, cmdline, "--net", arg, NULL);
	return sock;
}

/* start_on_tap for net-echo, then waits until the guest has posted its receive buffers. */
static int start_echo(struct squib_run *r, const char *cmdline)
{
	int sock = start_on_tap(r, cmdline);

	cr_assert(squib_wait_console(r, "net-echo: ready mac=" GUEST_MAC, squib_timeout()), "%s",
		  squib_describe(r));
	return sock;
}


Test(virtio_net, echo_byte_for_byte)
{
	static struct squib_run r;
	const unsigned count = 16;
	int sock;

	sock = start_echo(&r, "net-echo count=16");
	for (unsigned i = 0; i < count; i++) {
		uint8_t frame[1514], back[2048];
		size_t size = 60 + (i * 97) % (1514 - 60);
		ssize_t n;

		tap_make_frame(frame, i, size);
		tap_send(sock, frame, size);
		n = tap_recv(sock, back, sizeof(back), squib_timeout());
		cr_assert_eq(n, (ssize_t)size, "frame %u: echo of %zu bytes came back as %zd\n%s", i, size, n,
			     squib_describe(&r));
		cr_assert(memcmp(frame, back, size) == 0, "frame %u: echo differs", i);
	}
	squib_finish(&r);
	squib_assert_pass(&r);
	cr_assert(strstr(r.console, "net-echo: echoed 16 frames"), "%s", squib_describe(&r));
	close(sock);
}

Test(virtio_net, guest_frames_arrive_intact)
{
	static struct squib_run r;
	static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0x01 };
	const unsigned count = 32, size = 200;
	int sock;

	sock = start_on_tap(&r, "net-send count=32 size=200");
	for (unsigned seq = 0; seq < count; seq++) {
		uint8_t f[2048];
		ssize_t n = tap_recv(sock, f, sizeof(f), squib_timeout());
		uint32_t got_seq;

		cr_assert_eq(n, (ssize_t)size, "frame %u: %zd bytes\n%s", seq, n, squib_describe(&r));
		for (int i = 0; i < 6; i++)
			cr_assert_eq(f[i], 0xff, "frame %u: destination not broadcast", seq);
		cr_assert(memcmp(f + 6, mac, 6) == 0, "frame %u: source is not the guest's MAC", seq);
		memcpy(&got_seq, f + 14, 4);
		cr_assert_eq(got_seq, seq, "frames out of order or lost: expected %u got %u", seq, got_seq);
		for (unsigned i = 18; i < size; i++)
			cr_assert_eq(f[i], (uint8_t)(seq + i), "frame %u byte %u", seq, i);
	}
	squib_finish(&r);
	squib_assert_pass(&r);
	close(sock);
}

/*
 * A burst sent without waiting: every frame comes back, in order. The device
 * stops reading the tap while the guest has no receive buffer, so frames
 * wait in the tap's queue instead of being dropped.
 */
Test(virtio_net, burst_echoed_without_drops)
{
	static struct squib_run r;
	static uint8_t frames[200][128];
	const unsigned count = 200;
	int sock;

	sock = start_echo(&r, "net-echo count=200");
	for (unsigned i = 0; i < count; i++)
		tap_send(sock, frames[i], tap_make_frame(frames[i], i, sizeof(frames[i])));
	for (unsigned i = 0; i < count; i++) {
		uint8_t back[2048];
		ssize_t n = tap_recv(sock, back, sizeof(back), squib_timeout());

		cr_assert_eq(n, (ssize_t)sizeof(frames[i]), "echo %u of %u: %zd bytes\n%s", i, count, n,
			     squib_describe(&r));
		cr_assert(memcmp(back, frames[i], sizeof(frames[i])) == 0, "echo %u differs (lost or reordered)", i);
	}
	squib_finish(&r);
	squib_assert_pass(&r);
	close(sock);
}

/* Malformed transmit chains put virtio-net in DEVICE_NEEDS_RESET; a reset brings it back. */
Test(virtio_net, hostile_chains_net)
{
	static struct squib_run r;
	int sock = start_on_tap(&r, "hostile dev=net");

	squib_finish(&r);
	squib_assert_pass(&r);
	close(sock);
}
