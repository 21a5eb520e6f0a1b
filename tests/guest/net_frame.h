/* SPDX-License-Identifier: MIT */
/*
 * The test frame of net-send and net-bench, size bytes (60..1514):
 *   bytes  0..5   ff:ff:ff:ff:ff:ff (broadcast)
 *   bytes  6..11  the device's MAC
 *   bytes 12..13  ethertype 0x88b5 (big-endian: 0x88, 0xb5; IEEE local experimental)
 *   bytes 14..17  le32 sequence number seq (0, 1, 2, ... per run)
 *   byte  i >= 18 (seq + i) & 0xff, i being the offset in the frame
 */
#ifndef SQUIB_GUEST_NET_FRAME_H
#define SQUIB_GUEST_NET_FRAME_H

#include <stdint.h>

struct net_dev;

#define NET_FRAME_ETHERTYPE 0x88b5
#define NET_FRAME_PAYLOAD_AT 18

void net_frame_build(uint8_t *frame, uint32_t size, const uint8_t *src_mac, uint32_t seq);

/*
 * The common start of net-send and net-bench (vCPU 0): reads size= (default
 * 64, 60..1514) and opens virtio-net device net= with the driver parameters
 * of the command line. A bad size or a failed open is reported as check
 * `what` and ends the run (finish()). Returns the frame size.
 */
uint32_t net_frame_workload_open(struct net_dev *n, const char *what);

#endif
