/* SPDX-License-Identifier: MIT */
/*
 * Building, running and releasing one VM. The phase order is the sandbox
 * order: acquire everything (files, KVM objects, RAM, rings, workers), then
 * narrow (the monitor's own seccomp filter), then let the guest run.
 */
#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/platform.h"
#include "common/raw_syscall.h"
#include "monitor/exit_status.h"
#include "monitor/boot/image_file.h"
#include "monitor/boot/kernel_format.h"
#include "monitor/boot/linux_boot.h"
#include "monitor/boot/raw_guest.h"
#include "monitor/kvm/vcpu_cpu.h"
#include "monitor/vm.h"
#include "monitor/vm_process.h"
#include "monitor/supervise/vm_cgroup.h"
#include "sandbox/jail.h"
#include "monitor/devices/virtio_devices.h"
#include "monitor/log.h"
#include "monitor/supervise/device_restart.h"
#include "monitor/supervise/device_workers.h"
#include "monitor/supervise/spawner.h"
#include "monitor/supervise/roles.h"
#include "monitor/supervise/supervisor.h"
#include "monitor/supervise/vcpu_workers.h"

extern const uint8_t squib_embedded_guest[];
extern const uint8_t squib_embedded_guest_end[];

/* The device models the monitor can attach, and the ranges each owns. */
static const struct device_spec uart_spec = {
	.name = "uart",
	.model = "uart",
	.console = true,
	.resumable = true, /* registers and console counts in a state region (device-worker/models/uart_model.h) */
	.nroutes = 1,
	.routes = { { ROUTE_SPACE_PIO, COM1_PORT_BASE, COM1_PORT_COUNT, 0 } },
};

static const struct device_spec testdev_spec = {
	.name = "testdev",
	.model = "testdev",
	.may_end_vm = true,
	.resumable = true, /* its registers live in a state region (device-worker/persist.h) */
	.nroutes = 4,
	.routes = {
		{ ROUTE_SPACE_PIO, TESTDEV_EXIT_PORT, 1, 0 },
		{ ROUTE_SPACE_PIO, TESTDEV_PIO_SCRATCH_PORT, TESTDEV_PIO_SCRATCH_SIZE, 0 },
		{ ROUTE_SPACE_PIO, TESTDEV_HYPERCALL_PORT, 1, ROUTE_FLAG_HYPERCALL },
		{ ROUTE_SPACE_MMIO, TESTDEV_MMIO_BASE, TESTDEV_MMIO_SIZE, 0 },
	},
};

/*
 * Reads --kernel and --initrd. Neither may be larger than guest RAM; the
 * loaders check the exact fit once they know where things go.
 */
static int load_boot_files(struct vm *vm, struct image_file *kernel, struct image_file *initrd)
{
	const struct vm_config *cfg = &vm->cfg;
	uint64_t ram = cfg->memory_mib << 20;
	char limit[64], err[512];
	const char *what;
	int r;

	if (!cfg->kernel_path) {
		kernel->data = squib_embedded_guest;
		kernel->len = (size_t)(squib_embedded_guest_end - squib_embedded_guest);
		return 0;
	}
	snprintf(limit, sizeof(limit), "the %llu MiB of guest RAM", (unsigned long long)cfg->memory_mib);
	r = image_file_map(cfg->kernel_path, "kernel", ram, limit, kernel, err, sizeof(err));
	if (r == 0 && cfg->initrd_path)
		r = image_file_map(cfg->initrd_path, "initrd", ram, limit, initrd, err, sizeof(err));
	if (r < 0) {
		mlog("%s", err);
		return r;
	}
	switch (kernel_format_detect(kernel->data, kernel->len, &what)) {
	case KERNEL_FORMAT_BZIMAGE:
		vm->linux_guest = true;
		break;
	case KERNEL_FORMAT_RAW:
		break;
	case KERNEL_FORMAT_OTHER:
		mlog("kernel %s is %s, not a Linux bzImage or a raw guest image", cfg->kernel_path, what);
		return -ENOEXEC;
	}
	if (vm->linux_guest) {
		struct bzimage_info info;

		/* Header errors now, before any KVM object exists. */
		r = bzimage_parse(kernel->data, kernel->len, &info, err, sizeof(err));
		if (r < 0) {
			mlog("kernel %s: %s", cfg->kernel_path, err);
			return r;
		}
	}
	if (cfg->initrd_path && !vm->linux_guest) {
		mlog("--initrd needs a Linux bzImage kernel; %s has no bzImage setup header (a raw image?)",
		     cfg->kernel_path);
		return -EINVAL;
	}
	return 0;
}

/* Puts the guest in RAM: a bzImage with its ACPI tables, or a raw image. */
static int load_guest(struct vm *vm, const struct image_file *kernel, const struct image_file *initrd)
{
	struct acpi_virtio_dev virtio[VIRTIO_MMIO_SLOTS];
	struct linux_boot_config lb = {
		.kernel = kernel->data,
		.kernel_len = kernel->len,
		.initrd = initrd->data,
		.initrd_len = initrd->len,
		.cmdline = vm->cfg.cmdline,
		.acpi = { .ncpus = vm->ncpus, .virtio = virtio, .com1 = true },
	};
	const char *what = vm->cfg.kernel_path ? vm->cfg.kernel_path : "the demo guest";
	char err[512];
	int r;

	if (!vm->linux_guest) {
		r = raw_guest_load(&vm->ram.mem, kernel->data, kernel->len, vm->cfg.cmdline, err, sizeof(err));
		if (r < 0)
			mlog("cannot load %s: %s", what, err);
		return r;
	}
	for (unsigned d = 0; d < vm->ndevices; d++) {
		const struct virtio_instance *v = &vm->devices[d].virtio;

		if (!vm->devices[d].is_virtio)
			continue;
		virtio[lb.acpi.nvirtio++] = (struct acpi_virtio_dev){
			.base = VIRTIO_MMIO_SLOT_BASE(v->slot),
			.size = VIRTIO_MMIO_WINDOW,
			.gsi = VIRTIO_MMIO_SLOT_GSI(v->slot),
		};
	}
	r = linux_boot_load(&vm->ram.mem, &lb, &vm->boot, err, sizeof(err));
	if (r < 0)
		mlog("cannot boot %s: %s", what, err);
	return r;
}

/* The device role's binary (monitor/supervise/roles.c): SQUIB_DEVICE_BINARY, beside us, or ../libexec/squib/. */
static int find_device_binary(struct vm *vm)
{
	const char *bin = process_roles[ROLE_DEVICE].exec_binary;
	const char *env = getenv("SQUIB_DEVICE_BINARY");
	char self[1024];
	ssize_t n;
	char *slash;

	if (env && *env) {
		snprintf(vm->device_binary, sizeof(vm->device_binary), "%s", env);
		return access(vm->device_binary, X_OK) == 0 ? 0 : -errno;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return -errno;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		return -ENOENT;
	*slash = '\0';
	snprintf(vm->device_binary, sizeof(vm->device_binary), "%s/%s", self, bin);
	if (access(vm->device_binary, X_OK) == 0)
		return 0;
	snprintf(vm->device_binary, sizeof(vm->device_binary), "%s/../libexec/squib/%s", self, bin);
	return access(vm->device_binary, X_OK) == 0 ? 0 : -ENOENT;
}

/*
 * Ports a PC has and a Linux kernel touches while booting, which squib
 * answers as absent without logging each (the ACPI tables say there is no
 * CMOS clock and one UART; the PCI bus is there but empty).
 */
static const struct route absent_ports[] = {
	{ ROUTE_SPACE_PIO, 0x70, 2, ROUTE_TARGET_PLATFORM_ABSENT, 0, 0, "cmos" },
	{ ROUTE_SPACE_PIO, 0x80, 1, ROUTE_TARGET_PLATFORM_ABSENT, 0, 0, "post" },
	{ ROUTE_SPACE_PIO, 0x2e8, 8, ROUTE_TARGET_PLATFORM_ABSENT, 0, 0, "com4" },
	{ ROUTE_SPACE_PIO, 0x2f8, 8, ROUTE_TARGET_PLATFORM_ABSENT, 0, 0, "com2" },
	{ ROUTE_SPACE_PIO, 0x3e8, 8, ROUTE_TARGET_PLATFORM_ABSENT, 0, 0, "com3" },
	{ ROUTE_SPACE_PIO, 0xcf8, 8, ROUTE_TARGET_PLATFORM_PCI_CONFIG, 0, 0, "pci-config" },
};

/* Each --fault names a device of this VM: attach it, or say which devices there are. */
static int attach_faults(struct vm *vm)
{
	for (unsigned i = 0; i < vm->cfg.nfaults; i++) {
		const struct fault_config *f = &vm->cfg.faults[i];
		struct device_instance *dev = NULL;

		for (unsigned d = 0; d < vm->ndevices && !dev; d++)
			if (!strcmp(vm->devices[d].spec->name, f->device))
				dev = &vm->devices[d];
		if (!dev) {
			char names[256] = "";
			size_t len = 0;

			for (unsigned d = 0; d < vm->ndevices && len < sizeof(names); d++)
				len += (size_t)snprintf(names + len, sizeof(names) - len, " %s", vm->devices[d].spec->name);
			mlog("--fault %s: this VM has no such device (it has:%s)", f->device, names);
			return -EINVAL;
		}
		if (dev->fault) {
			mlog("--fault %s given twice", f->device);
			return -EINVAL;
		}
		dev->fault = f;
	}
	return 0;
}

static int add_routes(struct vm *vm)
{
	const struct route power = { ROUTE_SPACE_PIO, PM1A_CNT_PORT, 2, ROUTE_TARGET_PLATFORM_POWER, 0, 0, "pm1a" };
	const struct route pm1_evt = { ROUTE_SPACE_PIO, PM1A_EVT_PORT, PM1A_EVT_LEN, ROUTE_TARGET_PLATFORM_PM1_EVT, 0, 0, "pm1a-evt" };
	const struct route reset = { ROUTE_SPACE_PIO, I8042_COMMAND_PORT, 1, ROUTE_TARGET_PLATFORM_RESET, 0, 0, "i8042" };
	int r;

	route_table_init(&vm->routes);
	r = route_table_add(&vm->routes, &power);
	if (r == 0)
		r = route_table_add(&vm->routes, &reset);
	if (r == 0 && vm->linux_guest)
		r = route_table_add(&vm->routes, &pm1_evt);
	for (size_t i = 0; i < ARRAY_SIZE(absent_ports) && r == 0 && vm->linux_guest; i++)
		r = route_table_add(&vm->routes, &absent_ports[i]);
	for (unsigned d = 0; d < vm->ndevices && r == 0; d++) {
		const struct device_spec *spec = vm->devices[d].spec;
		bool inline_dev = vm->inline_testdev && spec == &testdev_spec;

		for (unsigned i = 0; i < spec->nroutes && r == 0; i++) {
			struct route rt = {
				.space = spec->routes[i].space,
				.base = spec->routes[i].base,
				.len = spec->routes[i].len,
				.target = inline_dev ? ROUTE_TARGET_INLINE_TESTDEV : ROUTE_TARGET_DEVICE,
				.device = d,
				.flags = spec->routes[i].flags,
				.owner = spec->name,
			};
			r = route_table_add(&vm->routes, &rt);
		}
	}
	if (r < 0)
		mlog("cannot build the routing table: %s", strerror(-r));
	return r;
}

static int open_console(struct vm *vm)
{
	if (!vm->cfg.console_path) {
		vm->console_fd = 1;
		return 0;
	}
	/* 0600: a tenant's console is its own. O_NOFOLLOW: a symlink planted there is refused, not followed. */
	vm->console_fd = open(vm->cfg.console_path,
			      O_WRONLY | O_CREAT | (vm->cfg.console_append ? O_APPEND : O_TRUNC) | O_CLOEXEC | O_NOCTTY |
				      O_NOFOLLOW,
			      0600);
	if (vm->console_fd < 0) {
		int r = -errno;

		mlog("cannot open console file %s: %s%s", vm->cfg.console_path, strerror(-r),
		     r == -ELOOP ? " (it is a symlink: squib never writes a console through one)" : "");
		return r;
	}
	return 0;
}

static int alloc_vcpus(struct vm *vm)
{
	vm->vcpus = calloc(vm->ncpus, sizeof(*vm->vcpus));
	if (!vm->vcpus) {
		mlog("cannot allocate %u vCPUs: %s", vm->ncpus, strerror(ENOMEM));
		return -ENOMEM;
	}
	for (unsigned i = 0; i < vm->ncpus; i++) {
		vm->vcpus[i].index = i;
		vm->vcpus[i].pidfd = -1;
		vm->vcpus[i].kvm.fd = -1;
	}
	return 0;
}

/* In the VM process: each vCPU's KVM object, CPUID, MSRs, LAPIC and boot registers. */
static int create_vcpus(struct vm *vm)
{
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct vcpu_instance *v = &vm->vcpus[i];
		int r;

		const char *step = "KVM_CREATE_VCPU";
		unsigned nmsrs = 0;

		r = kvm_vm_create_vcpu(&vm->kvm, i, !vm->linux_guest, &v->kvm);
		if (r == 0) {
			step = "CPUID";
			r = vcpu_cpu_setup_cpuid(&vm->kvm, &v->kvm, i, vm->ncpus);
		}
		if (r == 0 && !vm->linux_guest) {
			step = "raw guest registers";
			r = raw_guest_setup_vcpu(v->kvm.fd, i, vm->ncpus, vm->ram.mem.size, vm->cfg.cmdline != NULL);
		}
		if (r == 0 && vm->linux_guest) {
			step = "MSRs";
			r = vcpu_cpu_setup_msrs(&vm->kvm, &v->kvm, &nmsrs);
		}
		if (r == 0 && vm->linux_guest) {
			step = "local APIC";
			r = vcpu_cpu_setup_lapic(&v->kvm);
		}
		if (r == 0 && vm->linux_guest && i == 0) {
			step = "boot registers";
			r = linux_boot_setup_bsp(v->kvm.fd, &vm->boot);
		}
		if (r < 0) {
			mlog("cannot create vCPU %u (%s): %s", i, step, strerror(-r));
			return r;
		}
		if (i == 0 && vm->cfg.verbose && vm->linux_guest)
			mlog("vcpu0: %u boot MSRs set", nmsrs);
	}
	return 0;
}

/*
 * The VM's jail (sandbox/jail.h) for the calling process, and with
 * new_pid_ns for the children it makes next. Two callers: the VM process,
 * once the KVM objects exist and the filters are compiled (the jail the
 * vCPU workers inherit, with a pid namespace of their own whose init is
 * vCPU 0's worker; KVM objects are fds, not paths, so they stay usable),
 * and the monitor before its filter (vm_run). Not jailed: the spawner,
 * which stays as started to jail each successor, and the boot loop of
 * --on-reboot restart and --cgroup-parent.
 */
static int jail_as_vm(const struct vm *vm, bool new_pid_ns, const char *who)
{
	struct jail_config jail = {
		.uid = vm->identity.uid,
		.gid = vm->identity.gid,
		.new_pid_ns = new_pid_ns,
	};
	char err[256];
	int r = jail_enter(&jail, err, sizeof(err));

	if (r < 0)
		mlog("cannot jail %s: %s", who, err);
	return r;
}

/* Can this host jail the VM's processes? Said once, up front, instead of by each worker. */
static int probe_jail(const struct vm *vm)
{
	struct jail_config jail = { .uid = vm->identity.uid, .gid = vm->identity.gid };
	char err[256];
	int r = jail_probe(&jail, err, sizeof(err));

	if (r < 0)
		mlog("cannot jail the VM's processes as uid %u gid %u: %s", (unsigned)jail.uid, (unsigned)jail.gid, err);
	return r;
}

/*
 * The VM process's part (monitor/vm_process.h): everything that needs the
 * VM's fd, then the vCPU workers. Runs in the child, on its copy of *vm;
 * logs what failed.
 */
static int build_kvm(struct vm *vm)
{
	char err[256];
	int r;

	r = kvm_vm_create(&vm->kvm, err, sizeof(err));
	if (r < 0) {
		mlog("%s", err);
		return r;
	}
	if (vm->ncpus > vm->kvm.max_vcpus) {
		mlog("--cpus %u: this KVM supports at most %u vCPUs", vm->ncpus, vm->kvm.max_vcpus);
		return -EINVAL;
	}
	r = kvm_vm_set_memory(&vm->kvm, 0, 0, vm->ram.mem.host_base, vm->ram.mem.size);
	if (r < 0) {
		mlog("cannot give KVM %llu MiB of guest RAM: %s", (unsigned long long)vm->cfg.memory_mib, strerror(-r));
		return r;
	}
	r = console_register_irq(&vm->console, &vm->kvm);
	if (r == 0)
		r = virtio_devices_wire(vm);
	if (r == 0)
		r = create_vcpus(vm);
	if (r == 0)
		r = vcpu_workers_attach_kvm(vm);
	if (r == 0)
		r = jail_as_vm(vm, true, "the vCPU workers");
	if (r == 0)
		r = vcpu_workers_spawn(vm);
	return r;
}

int vm_build(struct vm *vm, const struct vm_config *cfg)
{
	struct image_file kernel = { 0 }, initrd = { 0 };
	const unsigned long lines_before = mlog_lines();
	int r;

	memset(vm, 0, sizeof(*vm));
	vm->cfg = *cfg;
	vm->ncpus = cfg->cpus;
	vm->console_fd = -1;
	vm->monitor_doorbell_fd = -1;
	vm->spawner_fd = vm->spawner_pidfd = -1;
	vm->ram.fd = -1;
	vm->kvm.kvm_fd = vm->kvm.vm_fd = -1;
	vm->monitor_status.magic = WORKER_STATUS_MAGIC;
	atomic_store(&vm->monitor_status.denied_syscall, -1);

	vm->identity.lock_fd = -1;
	/* First: every process forked from here on is born in the VM's cgroup. */
	r = vm_cgroup_enter(cfg);
	if (r == 0)
		r = vm_identity_choose(cfg, &vm->identity);
	if (r == 0)
		r = probe_jail(vm);
	if (r == 0)
		r = load_boot_files(vm, &kernel, &initrd);
	if (r < 0)
		goto out;
	if (!vm->linux_guest && vm->ncpus > raw_guest_max_vcpus()) {
		mlog("--cpus %u: raw guests support at most %u vCPUs", vm->ncpus, raw_guest_max_vcpus());
		r = -EINVAL;
		goto out;
	}
	r = find_device_binary(vm);
	if (r < 0) {
		mlog("cannot find squib-device next to squib-monitor (or set SQUIB_DEVICE_BINARY): %s", strerror(-r));
		goto out;
	}
	r = guest_ram_create(&vm->ram, cfg->memory_mib << 20);
	if (r < 0) {
		mlog("cannot set up %llu MiB of guest RAM: %s", (unsigned long long)cfg->memory_mib, strerror(-r));
		goto out;
	}
	r = open_console(vm);
	if (r == 0)
		r = console_setup(&vm->console, vm->console_fd);
	if (r == 0 && cfg->console_path) {
		struct stat st;

		/* stdout is the operator's: never capped. A later boot (--on-reboot restart) appends. */
		vm->console.out.max_bytes = cfg->console_max;
		if (fstat(vm->console_fd, &st) == 0 && S_ISREG(st.st_mode))
			vm->console.out.file_bytes = (uint64_t)st.st_size;
	}
	if (r < 0)
		goto out;

	vm->devices[vm->ndevices++].spec = &uart_spec;
	if (cfg->testdev)
		vm->devices[vm->ndevices++].spec = &testdev_spec;
	for (unsigned d = 0; d < vm->ndevices; d++) {
		vm->devices[d].index = d;
		vm->devices[d].control_fd = vm->devices[d].status_fd = -1;
		vm->devices[d].doorbell_fd = vm->devices[d].control_child = vm->devices[d].persist_fd = -1;
	}
	r = virtio_devices_add(vm);
	if (r == 0)
		r = attach_faults(vm);
	if (r == 0)
		r = load_guest(vm, &kernel, &initrd);
	/* In guest RAM now: freed before the spawner forks, which would otherwise keep a private copy. */
	image_file_release(&kernel);
	image_file_release(&initrd);
	if (r < 0)
		goto out;
	if (cfg->inline_testdev) {
		vm->inline_testdev = calloc(1, sizeof(*vm->inline_testdev));
		if (!vm->inline_testdev) {
			r = -ENOMEM;
			mlog("cannot allocate the inline testdev: %s", strerror(-r));
			goto out;
		}
		testdev_init(vm->inline_testdev);
	}
	r = add_routes(vm);
	if (r < 0)
		goto out;
	vm->monitor_doorbell_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->monitor_doorbell_fd < 0) {
		r = -errno;
		mlog("cannot create the monitor's doorbell eventfd: %s", strerror(-r));
		goto out;
	}
	r = vm_shared_create(vm);
	if (r == 0)
		r = alloc_vcpus(vm);
	if (r == 0) {
		r = vm_wire_decoder_init(&vm->decoder);
		if (r < 0)
			mlog("cannot set up the monitor's exit decoder: %s", strerror(-r));
	}
	if (r == 0)
		r = device_workers_spawn(vm);
	if (r == 0)
		r = vcpu_workers_prepare(vm);
	if (r == 0)
		r = vm_process_run(vm, build_kvm);
	if (r == 0) {
		guest_ram_destroy(&vm->ram); /* the VM process maps it for KVM; the spawner holds the memfd */
		device_workers_release_fds(vm);
	}
out:
	/* The promise of vm.h: a failure is said in one line, even one a step below forgot. */
	if (r < 0 && r != -ECANCELED && mlog_lines() == lines_before)
		mlog("cannot build the VM: %s", strerror(-r));
	image_file_release(&kernel);
	image_file_release(&initrd);
	return r;
}

static void open_gate(struct vm *vm, uint32_t value)
{
	/* The monitor sleeps in its event loop: running vCPUs must ring its doorbell. */
	for (unsigned i = 0; value == VCPU_GATE_GO && vm->vcpus && i < vm->ncpus; i++)
		(void)ring_consumer_prepare_sleep(&vm->vcpus[i].monitor_ring);
	if (!vm->shared)
		return;
	atomic_store(&vm->shared->start_gate, value);
	(void)raw_futex_wake((volatile uint32_t *)&vm->shared->start_gate, INT32_MAX);
}

static void print_workers(const struct vm *vm)
{
	for (unsigned i = 0; i < vm->ncpus; i++)
		mlog("vcpu%u: worker pid %d", i, (int)vm->vcpus[i].pid);
	for (unsigned d = 0; d < vm->ndevices; d++)
		mlog("device %s: worker pid %d", vm->devices[d].spec->name, (int)vm->devices[d].pid);
}

static void print_stats(const struct vm *vm)
{
	for (unsigned i = 0; i < vm->ncpus; i++) {
		const struct vcpu_worker *w = vm->vcpus[i].worker;
		const struct vcpu_stats *s = &w->stats;
		uint64_t doorbells = 0, reply_sleeps = 0, full_waits = 0;

		/* The region is shared with the worker, which may have scribbled ndevices: the monitor's own count. */
		for (unsigned d = 0; d < vm->ndevices; d++) {
			doorbells += w->device_rings[d].doorbells;
			reply_sleeps += w->device_rings[d].reply_sleeps;
			full_waits += w->device_rings[d].full_waits;
		}
		mlog("vcpu%u: rings: %llu doorbells, %llu reply sleeps, %llu full-ring waits", i,
		     (unsigned long long)doorbells, (unsigned long long)reply_sleeps, (unsigned long long)full_waits);

		mlog("vcpu%u: %llu exits (pio %llu, mmio %llu, hypercalls %llu, debug %llu, int3 injected %llu), "
		     "unclaimed reads %llu, writes %llu",
		     i, (unsigned long long)s->exits, (unsigned long long)s->pio, (unsigned long long)s->mmio,
		     (unsigned long long)s->hypercalls, (unsigned long long)s->debug_exits,
		     (unsigned long long)s->int3_injected, (unsigned long long)s->unclaimed_reads,
		     (unsigned long long)s->unclaimed_writes);
	}
}

/* Room for the monitor's fds when it narrows: stdio, console, eventfds, sockets, pidfds, libevent's. */
#define MONITOR_MAX_HELD_FDS 256

/*
 * The fds the monitor holds now, just before it narrows: the only ones its
 * filter lets it read, write or close (it opens none afterwards, and it has
 * closed every fd it does not use: device_workers_release_fds). Listed from
 * /proc/self/fd because libevent's own (its epoll fd and signal socket pair)
 * have no public accessor. The number of fds, or -errno.
 */
static int list_held_fds(int *fds, int max)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0, self;

	if (!d)
		return -errno;
	self = dirfd(d);
	while ((e = readdir(d))) {
		char *end;
		long fd = strtol(e->d_name, &end, 10);

		if (e->d_name[0] == '.' || *end || fd < 0 || fd > INT_MAX || fd == self)
			continue;
		if (n == max) {
			closedir(d);
			return -EMFILE;
		}
		fds[n++] = (int)fd;
	}
	closedir(d);
	return n;
}

/* The monitor's filter parameters (sandbox.h): held fds, its sockets, its vCPU workers' pidfds. */
static int monitor_params(const struct vm *vm, struct sandbox_params *p, int *held, int *sockets, int *pidfds)
{
	unsigned nsockets = 0, npidfds = 0;
	int n = list_held_fds(held, MONITOR_MAX_HELD_FDS);

	if (n < 0)
		return n;
	memset(p, 0, sizeof(*p));
	p->log_fd = 2;
	p->held_fds = held;
	p->nheld_fds = (unsigned)n;
	sockets[nsockets++] = vm->spawner_fd;
	for (unsigned d = 0; d < vm->ndevices; d++)
		sockets[nsockets++] = vm->devices[d].control_fd;
	for (unsigned i = 0; vm->vcpus && i < vm->ncpus; i++)
		if (vm->vcpus[i].pidfd >= 0)
			pidfds[npidfds++] = vm->vcpus[i].pidfd;
	p->socket_fds = sockets;
	p->nsocket_fds = nsockets;
	p->signal_fds = pidfds;
	p->nsignal_fds = npidfds;
	return 0;
}

int vm_run(struct vm *vm)
{
	int held[MONITOR_MAX_HELD_FDS], sockets[1 + VCPU_MAX_DEVICES], pidfds[CLI_MAX_CPUS];
	struct sandbox_params params;
	int r;

	r = supervisor_setup(vm);
	if (r < 0) {
		mlog("cannot set up the event loop: %s", strerror(-r));
		open_gate(vm, VCPU_GATE_ABORT);
		return EXIT_SETUP_FAILED;
	}
	r = monitor_params(vm, &params, held, sockets, pidfds);
	if (r == 0)
		r = jail_as_vm(vm, false, "the monitor"); /* every fd it needs is open */
	if (r == 0)
		r = sandbox_enter(process_roles[ROLE_MONITOR].profile, &params, &vm->monitor_status);
	if (r < 0) {
		mlog("cannot enter the monitor's sandbox: %s", strerror(-r));
		open_gate(vm, VCPU_GATE_ABORT);
		vm_end(vm, EXIT_SETUP_FAILED, "aborting start-up");
	} else {
		if (vm->cfg.verbose)
			print_workers(vm);
		open_gate(vm, VCPU_GATE_GO);
	}
	if (!vm->ending || vm->ndevices)
		event_base_dispatch(vm->base);
	if (vm->cfg.verbose) {
		print_stats(vm);
		device_restarts_report(vm);
	}
	return vm->exit_status;
}

void vm_destroy(struct vm *vm)
{
	if (!vm->ending)
		open_gate(vm, VCPU_GATE_ABORT);
	if (vm->vcpus)
		vcpu_workers_kill_all(vm);
	/* The spawner kills and reaps whatever device worker is left, then exits. */
	spawner_stop(vm);
	supervisor_teardown(vm);
	/* The process exits next; the kernel releases fds and mappings. */
}
