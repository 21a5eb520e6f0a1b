/* SPDX-License-Identifier: MIT */
/* The process role table (roles.h). */
#include "monitor/supervise/roles.h"

#include "vcpu-worker/worker.h"

const struct process_role process_roles[ROLE_COUNT] = {
	[ROLE_MONITOR] = {
		.name = "monitor",
		.profile = SANDBOX_ROLE_MONITOR,
		.spawn = SPAWN_NONE,
		.entry = "main (monitor/main.c), then vm_build and vm_run (monitor/vm.c)",
		.spawned_by = "the user (squib-monitor start)",
		.fds = "/dev/kvm, the VM and vCPU fds, guest RAM and every worker's fds (it creates them all); "
		       "its filter is entered in vm_run, before the first vCPU runs",
	},
	[ROLE_VCPU] = {
		.name = "vcpu",
		.profile = SANDBOX_ROLE_VCPU,
		.spawn = SPAWN_CLONE_VM,
		.clone_entry = vcpu_worker_main,
		.entry = "vcpu_worker_main (vcpu-worker/worker.c)",
		.spawned_by = "vcpu_workers_spawn (monitor/supervise/vcpu_workers.c)",
		.fds = "a copy of the monitor's table, closed down to its vCPU fd, stderr, the monitor's doorbell "
		       "and one doorbell per device worker; everything else it needs (rings, routes, filter) "
		       "is in its worker region, prepared before the clone",
	},
	[ROLE_DEVICE] = {
		.name = "device",
		.profile = SANDBOX_ROLE_DEVICE,
		.spawn = SPAWN_FORK_EXEC,
		.exec_binary = "squib-device",
		.entry = "main (device-worker/main.c): acquire, narrow, serve",
		.spawned_by = "the spawner (monitor/supervise/spawner.c) runs device_worker_exec "
			      "(monitor/supervise/device_workers.c), for the first worker and every successor",
		.fds = "--config-fd (a sealed memfd with its proto/device_config.h record), which names the rest: "
		       "guest RAM, one ring per vCPU, its doorbell, control socket and status page; its device-state "
		       "region (uart, testdev, virtio); the console rings, kick eventfd and IRQ 4 irqfd (uart); a "
		       "virtio device's queue ioeventfds, irqfd, resample eventfd and backend",
	},
	[ROLE_SPAWNER] = {
		.name = "spawner",
		.profile = SANDBOX_ROLE_COUNT,
		.unfiltered = "it must fork and exec squib-device, whose start-up (the dynamic loader, its "
			      "acquire phase) would run under any filter it had; it reads only fixed-size requests "
			      "from the monitor and no guest data. Its filter, uid and namespaces are issue 12's",
		.spawn = SPAWN_FORK,
		.entry = "spawner_main (monitor/supervise/spawner.c)",
		.spawned_by = "spawner_start (monitor/supervise/spawner.c), from device_workers_spawn before the "
			      "monitor enters its filter",
		.fds = "every device's fds (device_worker_fds) and its request socket; it closes the rest "
		       "(/dev/kvm, the VM and vCPU fds) and unmaps guest RAM",
	},
};
