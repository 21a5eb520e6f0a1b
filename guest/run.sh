#!/usr/bin/env bash
# guest/run.sh OUT    (make run)
#
# Boots squib's default Linux guest interactively with 2 vCPUs: kernel log,
# a shell prompt on the serial console, typed commands. Ctrl-A x ends the VM.
# Where KVM comes from decides what runs:
#   - /dev/kvm backed by kvm_intel or kvm_amd: the Linux guest, directly;
#   - /dev/kvm backed by PVM (kvm_pvm, software virtualization), where
#     stock kernels cannot boot, or no usable /dev/kvm: the Linux guest
#     inside the nested SVM test host (tests/svm-host/), the way the Linux
#     tests run; slow (software emulation).
set -euo pipefail

out=${1:-build}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
monitor=$repo/$out/squib-monitor
guest=$repo/build/linux-guest
cpus=2
memory=512
cmdline="console=ttyS0"
linux_args=(start --kernel "$guest/vmlinuz" --initrd "$guest/initramfs.cpio.gz" --cpus "$cpus"
	--memory "$memory" --cmdline "$cmdline")

kvm_opens() { [[ -c /dev/kvm ]] && (exec 3<>/dev/kvm) 2>/dev/null; }

kvm_is_pvm() { [[ -d /sys/module/kvm_pvm ]] && [[ ! -d /sys/module/kvm_intel && ! -d /sys/module/kvm_amd ]]; }

guest/linux/build.sh "$guest"
if kvm_opens && ! kvm_is_pvm; then
	echo "make run: booting $(cat "$guest/kernel-version") with $cpus vCPUs; Ctrl-A x ends the VM"
	exec "$monitor" "${linux_args[@]}"
fi

if kvm_opens; then
	echo "make run: /dev/kvm here is PVM (software virtualization), which cannot boot a stock kernel; booting the Linux guest inside the nested SVM test host"
else
	echo "make run: no usable /dev/kvm on this host; booting the Linux guest inside the nested SVM test host"
fi
echo "make run: (QEMU software emulation: about a minute to the shell prompt, slow typing; Ctrl-A x ends the VM)"
exec tests/svm-host/run.sh --interactive --payload "$monitor" --payload "$repo/$out/squib-device" \
	--payload "$guest" -- "$monitor" "${linux_args[@]}"
