/* SPDX-License-Identifier: MIT */
#include "monitor/kvm/kvm_vm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

/* Addresses KVM needs for its own pages on Intel hosts (ignored on AMD). */
#define KVM_TSS_ADDR 0xfffbd000UL
#define KVM_IDENTITY_MAP_ADDR 0xfffbc000ULL
#define CPUID_MAX_ENTRIES 256

int kvm_ioctl(int fd, unsigned long req, void *arg)
{
	int r;

	do {
		r = ioctl(fd, req, arg);
	} while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

static const struct {
	int cap;
	const char *name;
} required_caps[] = {
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP (in-kernel irqchip)" },
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
	{ KVM_CAP_VCPU_EVENTS, "KVM_CAP_VCPU_EVENTS" },
	{ KVM_CAP_SET_GUEST_DEBUG, "KVM_CAP_SET_GUEST_DEBUG" },
	{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD" },
	{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD" },
	{ KVM_CAP_IRQFD_RESAMPLE, "KVM_CAP_IRQFD_RESAMPLE (level-triggered virtio interrupts)" },
	{ KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE" },
	{ KVM_CAP_PIT2, "KVM_CAP_PIT2 (in-kernel i8254)" },
};

/* KVM_GET_MSR_INDEX_LIST: the MSRs this KVM saves and restores (and so lets userspace set). */
static int get_msr_index_list(struct kvm_vm *vm)
{
	struct kvm_msr_list probe = { .nmsrs = 0 };
	int r = kvm_ioctl(vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, &probe);

	if (r < 0 && r != -E2BIG)
		return r;
	if (probe.nmsrs == 0 || probe.nmsrs > 4096)
		return probe.nmsrs == 0 ? 0 : -EOVERFLOW;
	vm->msr_list = calloc(1, sizeof(*vm->msr_list) + probe.nmsrs * sizeof(uint32_t));
	if (!vm->msr_list)
		return -ENOMEM;
	vm->msr_list->nmsrs = probe.nmsrs;
	r = kvm_ioctl(vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, vm->msr_list);
	return r < 0 ? r : 0;
}

int kvm_vm_create(struct kvm_vm *vm, char *err, size_t err_len)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	int r;

	memset(vm, 0, sizeof(*vm));
	vm->vm_fd = -1;
	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		r = -errno;
		snprintf(err, err_len, "cannot open /dev/kvm: %s%s", strerror(-r),
			 r == -ENOENT ? " (is the kvm module loaded? this host may not offer KVM)" : "");
		return r;
	}
	r = kvm_ioctl(vm->kvm_fd, KVM_GET_API_VERSION, NULL);
	if (r != KVM_API_VERSION) {
		snprintf(err, err_len, "/dev/kvm speaks API version %d, squib needs %d", r, KVM_API_VERSION);
		goto fail_einval;
	}
	for (size_t i = 0; i < sizeof(required_caps) / sizeof(required_caps[0]); i++) {
		if (kvm_ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, (void *)(long)required_caps[i].cap) <= 0) {
			snprintf(err, err_len, "this KVM lacks %s, which squib needs", required_caps[i].name);
			goto fail_einval;
		}
	}
	r = kvm_ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, (void *)(long)KVM_CAP_MAX_VCPUS);
	if (r <= 0)
		r = kvm_ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, (void *)(long)KVM_CAP_NR_VCPUS);
	vm->max_vcpus = r > 0 ? (unsigned)r : 1;
	r = kvm_ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, NULL);
	if (r < (int)sizeof(struct kvm_run)) {
		snprintf(err, err_len, "KVM_GET_VCPU_MMAP_SIZE returned %d", r);
		goto fail_einval;
	}
	vm->run_size = (size_t)r;
	vm->pvm = access("/sys/module/kvm_pvm", F_OK) == 0 && access("/sys/module/kvm_intel", F_OK) != 0 &&
		  access("/sys/module/kvm_amd", F_OK) != 0;

	vm->supported_cpuid = calloc(1, sizeof(struct kvm_cpuid2) + CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2));
	if (!vm->supported_cpuid) {
		r = -ENOMEM;
		snprintf(err, err_len, "out of memory");
		goto fail;
	}
	vm->supported_cpuid->nent = CPUID_MAX_ENTRIES;
	r = kvm_ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, vm->supported_cpuid);
	if (r < 0) {
		snprintf(err, err_len, "KVM_GET_SUPPORTED_CPUID: %s", strerror(-r));
		goto fail;
	}

	r = get_msr_index_list(vm);
	if (r < 0) {
		snprintf(err, err_len, "KVM_GET_MSR_INDEX_LIST: %s", strerror(-r));
		goto fail;
	}

	r = kvm_ioctl(vm->kvm_fd, KVM_CREATE_VM, NULL);
	if (r < 0) {
		snprintf(err, err_len, "KVM_CREATE_VM: %s", strerror(-r));
		goto fail;
	}
	vm->vm_fd = r;
	if (fcntl(vm->vm_fd, F_SETFD, FD_CLOEXEC) < 0) {
		r = -errno;
		snprintf(err, err_len, "fcntl(vm fd): %s", strerror(-r));
		goto fail;
	}
	r = kvm_ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (void *)KVM_TSS_ADDR);
	if (r < 0) {
		snprintf(err, err_len, "KVM_SET_TSS_ADDR: %s", strerror(-r));
		goto fail;
	}
	if (kvm_ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, (void *)(long)KVM_CAP_SET_IDENTITY_MAP_ADDR) > 0) {
		uint64_t addr = KVM_IDENTITY_MAP_ADDR;

		r = kvm_ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &addr);
		if (r < 0) {
			snprintf(err, err_len, "KVM_SET_IDENTITY_MAP_ADDR: %s", strerror(-r));
			goto fail;
		}
	}
	r = kvm_ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, NULL);
	if (r < 0) {
		snprintf(err, err_len, "KVM_CREATE_IRQCHIP: %s", strerror(-r));
		goto fail;
	}
	/* The i8254 in the kernel, with port 0x61 (the PC speaker gate Linux
	 * uses to calibrate against the PIT) answered there too. */
	r = kvm_ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit);
	if (r < 0) {
		snprintf(err, err_len, "KVM_CREATE_PIT2: %s", strerror(-r));
		goto fail;
	}
	return 0;

fail_einval:
	r = -EINVAL;
fail:
	kvm_vm_destroy(vm);
	return r;
}

int kvm_vm_set_memory(struct kvm_vm *vm, uint32_t slot, uint64_t gpa, void *host, uint64_t size)
{
	struct kvm_userspace_memory_region region = {
		.slot = slot,
		.flags = 0,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)host,
	};

	int r = kvm_ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region);

	return r < 0 ? r : 0;
}

int kvm_vm_create_vcpu(struct kvm_vm *vm, unsigned index, bool all_runnable, struct kvm_vcpu_handle *out)
{
	struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_RUNNABLE };
	void *run;
	int fd, r;

	out->fd = -1;
	out->run = NULL;
	fd = kvm_ioctl(vm->vm_fd, KVM_CREATE_VCPU, (void *)(long)index);
	if (fd < 0)
		return fd;
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (run == MAP_FAILED) {
		r = -errno;
		close(fd);
		return r;
	}
	out->fd = fd;
	out->run = run;
	/* With the in-kernel LAPIC, application processors wait for INIT/SIPI
	 * (what Linux expects); raw guests start every vCPU at the entry point. */
	r = all_runnable ? kvm_ioctl(fd, KVM_SET_MP_STATE, &mp) : 0;
	if (r < 0) {
		kvm_vcpu_release(vm, out);
		return r;
	}
	return 0;
}

void kvm_vcpu_release(struct kvm_vm *vm, struct kvm_vcpu_handle *vcpu)
{
	if (vcpu->run)
		munmap(vcpu->run, vm->run_size);
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	vcpu->run = NULL;
	vcpu->fd = -1;
}

void kvm_vm_destroy(struct kvm_vm *vm)
{
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	free(vm->supported_cpuid);
	free(vm->msr_list);
	vm->vm_fd = vm->kvm_fd = -1;
	vm->supported_cpuid = NULL;
	vm->msr_list = NULL;
}

int kvm_vm_add_ioeventfd(struct kvm_vm *vm, uint64_t addr, uint32_t len, uint64_t datamatch, int fd)
{
	struct kvm_ioeventfd io = {
		.datamatch = datamatch,
		.addr = addr,
		.len = len,
		.fd = fd,
		.flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
	};

	int r = kvm_ioctl(vm->vm_fd, KVM_IOEVENTFD, &io);

	return r < 0 ? r : 0;
}

int kvm_vm_add_irqfd_resample(struct kvm_vm *vm, uint32_t gsi, int fd, int resample_fd)
{
	struct kvm_irqfd irq = {
		.fd = (uint32_t)fd,
		.gsi = gsi,
		.flags = KVM_IRQFD_FLAG_RESAMPLE,
		.resamplefd = (uint32_t)resample_fd,
	};

	int r = kvm_ioctl(vm->vm_fd, KVM_IRQFD, &irq);

	return r < 0 ? r : 0;
}

int kvm_vm_add_irqfd(struct kvm_vm *vm, uint32_t gsi, int fd)
{
	struct kvm_irqfd irq = {
		.fd = (uint32_t)fd,
		.gsi = gsi,
	};

	int r = kvm_ioctl(vm->vm_fd, KVM_IRQFD, &irq);

	return r < 0 ? r : 0;
}
