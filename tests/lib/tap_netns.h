/* SPDX-License-Identifier: MIT */
/*
 * A private network namespace with a tap for virtio-net tests, and an
 * AF_PACKET socket on the tap's host side: what the test sends there
 * reaches the guest, and what the guest sends arrives there.
 */
#ifndef SQUIB_TESTS_INTEGRATION_TAP_NETNS_H
#define SQUIB_TESTS_INTEGRATION_TAP_NETNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Moves the calling test process into a new network namespace (its
 * children, the monitor among them, follow), with IPv6 off so the kernel
 * sends no frames of its own, and creates the persistent tap name, up.
 * Returns false (with why) when namespaces or tun are not available here.
 */
bool tap_netns_setup(const char *name, char *why, size_t why_len);

/* An AF_PACKET socket bound to the tap (all protocols). Asserts. */
int tap_packet_socket(const char *name);

/* Sends one frame on the socket (towards the guest). Asserts. */
void tap_send(int sock, const void *frame, size_t len);

/*
 * Receives the next frame the guest sent with ethertype 0x88b5 (others are
 * skipped), waiting up to timeout_s. Returns its length, or -1 on timeout.
 */
ssize_t tap_recv(int sock, void *buf, size_t len, double timeout_s);

/*
 * A test frame of size bytes: broadcast, from a made-up host MAC
 * (02:00:00:00:00:99), ethertype 0x88b5, payload by index. Returns size.
 */
size_t tap_make_frame(uint8_t *f, unsigned index, size_t size);

#endif
