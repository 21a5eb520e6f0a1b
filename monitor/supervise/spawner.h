/* SPDX-License-Identifier: MIT */
/*
 * The device-worker spawner: a small process forked off the monitor after
 * every device's resources exist and before the monitor narrows (its filter
 * has no fork or execve). Its only job is to start, stop and reap device
 * workers when the monitor asks; it is the parent of every device worker,
 * the first ones and every successor after a crash, so a restart uses the
 * same process-role entry (roles.c, ROLE_SPAWNER and ROLE_DEVICE) and the
 * same fds as the first start.
 *
 * It owns a copy of each device's fds (guest RAM, rings, doorbell, control
 * socket's worker end, status page, device-state memfd, ioeventfds, irqfd,
 * backend, console) and nothing else: at start it closes every other fd
 * (/dev/kvm, the VM and vCPU fds) and unmaps guest RAM. It never reads
 * guest-controlled data.
 *
 * Protocol: fixed-size struct spawner_msg records on a SOCK_SEQPACKET pair.
 *   monitor -> spawner: SPAWNER_SPAWN d (start device d's worker; refused
 *                       while one is alive), SPAWNER_KILL d (SIGKILL it).
 *   spawner -> monitor: SPAWNER_SPAWNED d pid, SPAWNER_SPAWN_FAILED d err,
 *                       SPAWNER_DIED d pid code status (waitid's si_code
 *                       and si_status; for SIGSYS the monitor reads the
 *                       denied syscall from the device's status page).
 * Trust boundary: the monitor shares its memory with the vCPU workers, so
 * the spawner treats every request as possibly forged: a wrong size or type
 * or a device index out of range is ignored with a log line. What a forged
 * request can do: start a device's worker (only if none is alive; with
 * that device's own fixed configuration), or kill one (which the device
 * survives by restarting). It cannot name a binary, an fd or an argument.
 */
#ifndef SQUIB_MONITOR_SPAWNER_H
#define SQUIB_MONITOR_SPAWNER_H

#include <stdint.h>
#include <sys/types.h>

#include "common/compiler.h"

struct vm;

enum spawner_msg_type {
	SPAWNER_SPAWN = 1,
	SPAWNER_KILL,
	SPAWNER_SPAWNED,
	SPAWNER_SPAWN_FAILED,
	SPAWNER_DIED,
};

struct spawner_msg {
	uint32_t type;   /* enum spawner_msg_type */
	uint32_t device; /* index into vm->devices */
	int32_t pid;     /* SPAWNED, DIED */
	int32_t code;    /* DIED: si_code (CLD_EXITED, CLD_KILLED, CLD_DUMPED) */
	int32_t status;  /* DIED: exit status or signal; SPAWN_FAILED: -errno */
	uint32_t restart;/* SPAWNED: 0 for the first worker, n for the n-th successor */
};

/*
 * Forks the spawner. Precondition: every device's resources exist
 * (device_workers.c) and no vCPU worker has been cloned yet. 0, or -errno
 * with a log line. The monitor keeps vm->spawner_fd (the request socket)
 * and vm->spawner_pid / spawner_pidfd (its own child).
 */
int spawner_start(struct vm *vm) MUST_USE;

/* Sends one request. 0 or -errno (the spawner is gone). */
int spawner_request(struct vm *vm, enum spawner_msg_type type, unsigned device) MUST_USE;

/*
 * Receives one event: 0, -EAGAIN (none, with nonblocking), -EPIPE (the
 * spawner closed its end), -EPROTO (a record of the wrong size or type).
 * Blocking when wait_ms >= 0 (up to wait_ms; -ETIMEDOUT), else nonblocking.
 */
int spawner_receive(struct vm *vm, struct spawner_msg *msg, int wait_ms) MUST_USE;

/* Closes the request socket (the spawner then kills and reaps every worker and exits) and reaps it. */
void spawner_stop(struct vm *vm);

#endif
