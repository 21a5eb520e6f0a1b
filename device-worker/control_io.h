/* SPDX-License-Identifier: MIT */
/*
 * Sending and receiving struct control_msg on the SOCK_SEQPACKET control
 * socket (proto/control.h). send(2) is sendto and recv(2) is recvfrom on
 * x86-64; both are in the device sandbox's allowlist (worker_loop.c).
 *
 * Threat note: a received message is checked for size only; the caller
 * checks its type, and treats anything unexpected as the monitor's bug.
 */
#ifndef SQUIB_DEVICE_CONTROL_IO_H
#define SQUIB_DEVICE_CONTROL_IO_H

#include <stdint.h>

#include "common/compiler.h"
#include "proto/control.h"

/*
 * Sends one message (blocking, MSG_NOSIGNAL, retried on EINTR). Few messages
 * are ever sent (READY, one VM_EXIT, at most one RING_ERROR per ring), so
 * the socket buffer never fills. 0 or -errno.
 */
int control_send(int fd, enum control_type type, uint32_t arg, int64_t value) MUST_USE;

/*
 * Receives one message without blocking. 0 with *m filled; -EAGAIN when
 * none is queued; -EBADMSG when the datagram was not exactly
 * sizeof(struct control_msg) bytes (it is consumed); -EPIPE when the peer
 * closed the socket (recv returned 0: a zero-length datagram is treated the
 * same, since the monitor never sends one); other -errno from recv.
 */
int control_recv(int fd, struct control_msg *m) MUST_USE;

#endif
