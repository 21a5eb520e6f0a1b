/* SPDX-License-Identifier: MIT */
/*
 * What a device worker is given: one versioned, typed record, encoded with
 * msgpack into a sealed memfd the monitor creates and squib-device inherits
 * (`squib-device --config-fd N`, the whole command line). It replaces a
 * hand-built argv: both sides share this one struct and codec, and the
 * record's fds are the worker's whole inheritance.
 *
 * Wire form (DEVICE_CONFIG_VERSION 1): a msgpack map, string keys, at most
 * one of each:
 *
 *   key           type            required  meaning
 *   version       uint            yes       DEVICE_CONFIG_VERSION
 *   model         str             yes       device model ([a-z0-9-], 1-32)
 *   name          str             yes       device name ([A-Za-z0-9._-], 1-32): logs, comm
 *   ram_fd        uint            yes       guest RAM memfd
 *   ram_size      uint            yes       its size in bytes (> 0)
 *   control_fd    uint            yes       SOCK_SEQPACKET to the monitor
 *   status_fd     uint            yes       the worker status page memfd
 *   doorbell_fd   uint            yes       its doorbell eventfd
 *   ring_fds      array of uint   yes       one ring memfd per vCPU (1..DEVICE_CONFIG_MAX_RINGS)
 *   ring_size     uint            yes       each ring region's size (> 0)
 *   poll_us       uint            no        busy-poll window, 0..SPIN_MAX_POLL_US (default SPIN_DEFAULT_POLL_US)
 *   restart       uint            no        0 for the device's first worker, n for its n-th successor
 *                                           (resume from the device state; default 0)
 *   fault_how     uint            no        --fault: enum device_fault_how (default 0, none)
 *   fault_after   uint            no        --fault: fail after this many requests (first worker)
 *   fault_every   uint            no        --fault: and each successor after this many (with fault_repeat)
 *   fault_repeat  uint            no        --fault: 1 when successors fail too (every= given), else 0
 *   console_fd    uint            no        the console rings memfd (proto/console_ring.h)
 *   console_kick_fd uint          no        eventfd waking the monitor for console output
 *   irq_fd        uint            no        KVM irqfd
 *   state_fd      uint            no        virtio device-state memfd
 *   mmio_base     uint            no        virtio-mmio window (8-aligned)
 *   notify_fds    array of uint   no        one ioeventfd per queue (<= DEVICE_CONFIG_MAX_NOTIFY)
 *   resample_fd   uint            no        the irqfd's resample eventfd
 *   backend_fd    uint            no        disk image or tap
 *   params        array of str    no        model parameters, KEY or KEY=VALUE (<= DEVICE_CONFIG_MAX_PARAMS)
 *
 * Trust: the monitor writes the record; the worker decodes it as it would
 * any input from another process (device_config_decode checks every type,
 * range, count and string, rejects unknown and repeated keys, and that no
 * fd is given twice). Which keys a model needs is the device worker's
 * business (device-worker/device.h, DEVICE_NEEDS_*), checked after decoding.
 */
#ifndef SQUIB_PROTO_DEVICE_CONFIG_H
#define SQUIB_PROTO_DEVICE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"
#include "proto/virtio_devices.h"

#define DEVICE_CONFIG_VERSION 1u
#define DEVICE_CONFIG_MAX_BYTES 4096u /* an encoded record never needs more */
#define DEVICE_CONFIG_NAME_MAX 32u
#define DEVICE_CONFIG_MODEL_MAX 32u
#define DEVICE_CONFIG_MAX_RINGS 64u /* vCPUs */
#define DEVICE_CONFIG_MAX_NOTIFY VIRTIO_MAX_QUEUES
#define DEVICE_CONFIG_MAX_PARAMS 8u
#define DEVICE_CONFIG_PARAM_MAX 64u

/*
 * How a worker fails on purpose (squib-monitor start --fault; README "Fault
 * injection"): SIGKILL, a real SIGSEGV, abort(), a syscall its filter denies,
 * garbage where its ring's reply goes, or random bytes over its device state
 * before it kills itself.
 */
enum device_fault_how {
	DEVICE_FAULT_NONE = 0,
	DEVICE_FAULT_KILL,
	DEVICE_FAULT_SEGV,
	DEVICE_FAULT_ABORT,
	DEVICE_FAULT_SYSCALL,
	DEVICE_FAULT_GARBAGE_RING,
	DEVICE_FAULT_SCRIBBLE_STATE,
	DEVICE_FAULT_COUNT
};

/* "kill", "segv", "abort", "syscall", "garbage-ring", "scribble-state" ("none" for 0); NULL out of range. */
const char *device_fault_how_name(enum device_fault_how how);
/* The kind called name (not "none"): 0, or -EINVAL. */
int device_fault_how_parse(const char *name, enum device_fault_how *how) MUST_USE;

struct device_config {
	uint32_t version;
	char model[DEVICE_CONFIG_MODEL_MAX + 1];
	char name[DEVICE_CONFIG_NAME_MAX + 1];
	int ram_fd;
	uint64_t ram_size;
	int control_fd;
	int status_fd;
	int doorbell_fd;
	int ring_fds[DEVICE_CONFIG_MAX_RINGS];
	unsigned nrings;
	uint64_t ring_size;
	uint32_t poll_us;
	uint32_t restart; /* 0: first worker; n: the n-th successor, resumes from the device state */
	uint32_t fault_how;   /* enum device_fault_how: a --fault to carry out, or DEVICE_FAULT_NONE */
	uint32_t fault_after; /* requests before the first worker fails */
	uint32_t fault_every; /* requests before each successor fails, when fault_repeat */
	uint32_t fault_repeat;/* 1: successors fail too (every= given); 0: only the first worker */
	/* Optional fds: -1 when absent. */
	int console_fd;
	int console_kick_fd;
	int irq_fd;
	int state_fd;
	int resample_fd;
	int backend_fd;
	bool has_mmio_base;
	uint64_t mmio_base;
	int notify_fds[DEVICE_CONFIG_MAX_NOTIFY];
	unsigned nnotify;
	char params[DEVICE_CONFIG_MAX_PARAMS][DEVICE_CONFIG_PARAM_MAX + 1];
	unsigned nparams;
};

/* Version set, every optional fd -1, poll_us at its default, the rest zero. */
void device_config_init(struct device_config *c);

/*
 * Checks c as the decoder would (strings, ranges, counts, distinct fds).
 * 0, or -EINVAL with a message naming the field in err.
 */
int device_config_check(const struct device_config *c, char *err, size_t err_len) MUST_USE;

/*
 * Encodes c (which must pass device_config_check) into buf. 0 with *len
 * set; -EINVAL (with err) for a config that does not pass the check; -E2BIG
 * when buf is too small.
 */
int device_config_encode(const struct device_config *c, uint8_t *buf, size_t cap, size_t *len, char *err,
			 size_t err_len) MUST_USE;

/*
 * Decodes and checks len bytes of hostile input into *out. 0, or -EBADMSG
 * (not a msgpack map, a wrong type, an unknown or repeated key, trailing
 * bytes), -EPROTONOSUPPORT (another version) or -EINVAL (a value out of
 * range, a missing key, an fd given twice) or -ENOMEM, each with a message in err.
 */
int device_config_decode(const uint8_t *buf, size_t len, struct device_config *out, char *err,
			 size_t err_len) MUST_USE;

#endif
