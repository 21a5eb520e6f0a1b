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
		.fds = "while it builds: guest RAM (to load the guest) and every device's fds, which it creates; "
		       "once the VM process and the spawner hold theirs, only the console, each device's control "
		       "socket, doorbell and status page, the spawner's socket and its vCPU workers' pidfds "
		       "(device_workers_release_fds). Never a KVM fd. Its jail and filter are entered in vm_run, "
		       "before the first vCPU runs",
	},
	[ROLE_VCPU] = {
		.name = "vcpu",
		.profile = SANDBOX_ROLE_VCPU,
		.spawn = SPAWN_CLONE_VM,
		.clone_entry = vcpu_worker_main,
		.entry = "vcpu_worker_main (vcpu-worker/worker.c)",
		.spawned_by = "vcpu_workers_spawn (monitor/supervise/vcpu_workers.c), in the VM process, with "
			      "CLONE_PARENT: the monitor's child",
		.fds = "a copy of the VM process's table, closed down to its vCPU fd, the VM fd (held, unused: "
		       "KVM drops a VM's irqfds with its last VM fd), stderr, the monitor's doorbell and one "
		       "doorbell per device worker; everything else it needs (rings, routes, filter) is in its "
		       "worker region, prepared before the clone",
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
		.unfiltered = "it must fork, jail (sandbox/jail.h) and exec squib-device for every successor, "
			      "which needs the privileges it was started with; it reads only fixed-size requests "
			      "from the monitor and no guest data, and shares memory with no worker",
		.spawn = SPAWN_FORK,
		.entry = "spawner_main (monitor/supervise/spawner.c)",
		.spawned_by = "spawner_start (monitor/supervise/spawner.c), from device_workers_spawn before the "
			      "monitor enters its filter",
		.fds = "every device's fds (device_worker_fds) and its request socket; it closes the rest "
		       "and unmaps guest RAM. It creates no KVM object and never held one",
	},
	[ROLE_VM] = {
		.name = "vm",
		.profile = SANDBOX_ROLE_COUNT,
		.unfiltered = "it exists only while the VM is built: it opens /dev/kvm, creates the VM and vCPUs, "
			      "jails itself (sandbox/jail.h), clones the vCPU workers and exits before the start "
			      "gate opens, so no guest code ever runs while it lives",
		.spawn = SPAWN_FORK,
		.entry = "vm_process_main (monitor/vm_process.c), running build_kvm (monitor/vm.c)",
		.spawned_by = "vm_process_run (monitor/vm_process.c), from vm_build",
		.fds = "stdio, the monitor's and devices' doorbells and the eventfds KVM takes as irqfds and "
		       "ioeventfds; then /dev/kvm, the VM and vCPU fds it creates",
	},
	[ROLE_PIDNS_INIT] = {
		.name = "pidns-init",
		.profile = SANDBOX_ROLE_PIDNS_INIT,
		.spawn = SPAWN_FORK,
		.entry = "holder_main (monitor/supervise/spawner.c)",
		.spawned_by = "start_pid_namespace (monitor/supervise/spawner.c), the spawner's first child after "
			      "unshare(CLONE_NEWPID)",
		.fds = "stderr and the read end of a pipe whose write end the spawner holds",
	},
};
