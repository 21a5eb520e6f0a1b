/* SPDX-License-Identifier: MIT */
/*
 * testdev: the test and benchmark device (platform.h "testdev").
 *
 * - MMIO window of TESTDEV_MMIO_SIZE bytes at TESTDEV_MMIO_BASE: 512 8-byte
 *   scratch slots. Reads return what was last written to those bytes. The
 *   slot at TESTDEV_COUNTER_OFFSET is read-only: it reads as a counter of
 *   the read accesses that touched it, including the current one (the first
 *   read returns 1), byte-sliced when the access covers only part of it.
 * - PIO: TESTDEV_EXIT_PORT (1-byte write ends the VM with that status) and a
 *   4-byte scratch register at TESTDEV_PIO_SCRATCH_PORT.
 * - Hypercalls (the vCPU worker turns doorbell writes into Hypercall exits).
 *
 * Freestanding: no libc calls, no memcpy, no allocation, raw syscalls only.
 *
 * Why it lives in common/: two processes run this register model. A device
 * worker serves it (device-worker/models/testdev_model.c), and with
 * --inline-testdev the vCPU worker runs it itself, with no ring and no
 * device process: the in-process baseline `make bench` measures the rings
 * against. Both include it from below, so no part includes another sideways.
 * The baseline costs two things, both confined to --inline-testdev: a device
 * model then parses guest bytes in the most exposed process, and that VM's
 * vCPU filter admits clock_gettime (the clock hypercall); every other VM's
 * vCPU filter does not (sandbox/sandbox.c).
 *
 * Threat note: offsets, widths and data come from the guest. Every access is
 * range-checked with overflow-safe arithmetic before touching the slots.
 */
#ifndef SQUIB_COMMON_TESTDEV_H
#define SQUIB_COMMON_TESTDEV_H

#include <stdbool.h>
#include <stdint.h>

#include "common/compiler.h"
#include "common/platform.h"

#define TESTDEV_PORT_FIRST TESTDEV_EXIT_PORT
#define TESTDEV_COUNTER_SIZE 8
/*
 * Data buffer sizes of one MMIO and one PIO access: the same as a VmExit's
 * (VM_MMIO_DATA_MAX, VM_PIO_DATA_MAX, proto/vmexit.h; the callers assert
 * it), spelled here because common/ includes nothing above it.
 */
#define TESTDEV_MMIO_DATA_MAX 8
#define TESTDEV_PIO_DATA_MAX 4

struct testdev {
	/* Little-endian scratch; the counter slot's bytes here are unused. */
	uint64_t slots[TESTDEV_SLOT_COUNT];
	uint64_t read_counter;
	uint8_t pio_scratch[TESTDEV_PIO_SCRATCH_SIZE];
};

/* Reset state: everything zero. */
void testdev_init(struct testdev *td);

/*
 * An MMIO access at offset (relative to TESTDEV_MMIO_BASE) of len bytes.
 * len must be 1, 2, 4 or 8; the access may be unaligned. An access that
 * does not lie wholly inside the window reads all ones and writes nothing.
 * A read fills data[0..len) and zeroes the rest of data[8].
 * 0, or -EINVAL for a bad width (a read then returns all ones).
 */
int testdev_mmio(struct testdev *td, uint64_t offset, bool write, uint8_t len,
		 uint8_t data[TESTDEV_MMIO_DATA_MAX]) MUST_USE;

/*
 * Does testdev own PIO accesses starting at port? (The exit port and the
 * scratch register; the hypercall doorbell never arrives as a Pio.)
 */
bool testdev_owns_port(uint16_t port);

/*
 * A PIO access of len bytes (1, 2 or 4) at an absolute port.
 * - TESTDEV_EXIT_PORT, 1-byte write: *exit_status = value (0..255). Other
 *   widths are ignored; reads return all ones.
 * - Scratch ports: bytes past the last scratch port read as ones and are
 *   not written.
 * A read fills data[0..len) and zeroes the rest of data[4].
 * 0; -EINVAL for a bad width, -ENOENT for a port testdev does not own (a
 * read then returns all ones). *exit_status is written only by an exit.
 */
int testdev_pio(struct testdev *td, uint16_t port, bool write, uint8_t len,
		uint8_t data[TESTDEV_PIO_DATA_MAX], int *exit_status) MUST_USE;

/*
 * TESTDEV_HC_SIGNATURE -> TESTDEV_SIGNATURE; TESTDEV_HC_SUM -> the sum of
 * the six args modulo 2^64; TESTDEV_HC_CLOCK -> host CLOCK_MONOTONIC in ns
 * (raw clock_gettime syscall; 0 if it fails); else TESTDEV_HC_UNKNOWN_RESULT.
 */
uint64_t testdev_hypercall(struct testdev *td, uint64_t func, const uint64_t args[6]);

#endif
