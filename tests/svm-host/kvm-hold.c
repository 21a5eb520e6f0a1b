/* SPDX-License-Identifier: MIT */
/*
 * kvm-hold: keeps one idle KVM VM open for the nested test host's lifetime,
 * so that the VMs the tests create and destroy never take KVM through its
 * global 0 <-> 1 transitions. Built (static) and started by run.sh.
 *
 * Why (tests/svm-host/README.md has the evidence): on every such
 * transition KVM enables or disables SVM on every CPU with an IPI round
 * (hardware_enable_all / hardware_disable_all), and each new vCPU flips the
 * LAPIC static keys apic_hw_disabled / apic_sw_disabled, which patches the
 * kernel's text with text_poke_bp (int3, IPI round, new bytes). Under
 * QEMU's multi-threaded TCG those IPI rounds sometimes never complete: the
 * host froze in kvm_destroy_vm -> on_each_cpu_cond_mask for 470 s while the
 * other CPU ran on. A VM that stays open keeps SVM enabled; its vCPU, whose
 * LAPIC is left hardware-disabled (APIC base MSR without the enable bit)
 * and software-disabled (SPIV as reset), holds both static keys' counts
 * above zero, so later vCPUs only move the counts and patch nothing.
 *
 * Prints "kvm-hold: ready" once everything is in place, then sleeps until
 * killed. Exits 1 with a message naming the step that failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define MSR_IA32_APICBASE 0x1b
#define APICBASE_BSP (1u << 8)
#define APICBASE_DEFAULT 0xfee00000u

static int fail(const char *what)
{
	fprintf(stderr, "kvm-hold: %s: %s\n", what, strerror(errno));
	return 1;
}

int main(void)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[1];
	} msrs;
	int kvm, vm, vcpu;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return fail("open /dev/kvm");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return fail("KVM_CREATE_VM");
	if (ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0)
		return fail("KVM_CREATE_IRQCHIP");
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return fail("KVM_CREATE_VCPU");
	memset(&msrs, 0, sizeof(msrs));
	msrs.hdr.nmsrs = 1;
	msrs.e[0].index = MSR_IA32_APICBASE;
	msrs.e[0].data = APICBASE_DEFAULT | APICBASE_BSP; /* no enable bit: hardware-disabled */
	if (ioctl(vcpu, KVM_SET_MSRS, &msrs) != 1)
		return fail("KVM_SET_MSRS (APIC base, disabled)");
	printf("kvm-hold: ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
