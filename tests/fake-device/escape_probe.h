/* SPDX-License-Identifier: MIT */
/*
 * The escape probe (tests/fake-device, mode escape-probe): what a device
 * worker that has taken over its own code can reach, tried twice: under the
 * jail alone (standing in for a seccomp bypass) and under the real device
 * filter. One stderr line per probe and run:
 *   "escape-probe: <run>: <probe>: blocked (<how>)" or "... ESCAPED"
 * then one identity line, for the integration test to read.
 */
#ifndef SQUIB_TESTS_ESCAPE_PROBE_H
#define SQUIB_TESTS_ESCAPE_PROBE_H

#include <sys/types.h>

#include "sandbox/sandbox.h"

/* Runs every probe; monitor and other are pids of another VM's monitor and worker (0: none). */
void escape_probe_run(const struct sandbox_params *device_filter, pid_t monitor, pid_t other);

#endif
