#!/bin/sh
# tests/svm-host/compare-qemu.sh N WORKLOAD [squib|qemu]
#
# Tells squib's faults from the emulator's: boots the default Linux guest
# (make guest) N times under squib and N times under QEMU's microvm, both on
# KVM inside the nested test host, alternating, with the same kernel, initrd,
# vCPUs, memory and command. One line per boot:
#   COMPARE <vmm> run <i> status=<exit status> <seconds>s ok=<yes|no>
# then, for a boot that was not ok, its last stderr and console bytes; and a
# count per VMM at the end. squib's status 5 is a guest triple fault; QEMU
# (-no-reboot) exits 0 at one, which shows as ok=no without the end marker.
#
# WORKLOAD: console  `seq 1 170000` on the serial console, 1 vCPU, 256 MiB
#                    (tests/linux/test_linux_serial_console.c)
#           fio      the fio verify job of tests/linux/test_linux_fio.c on a
#                    96 MiB virtio-blk disk, 2 vCPUs, 512 MiB
#
# Run it from the repository on the build machine; it starts the test host
# itself (tests/run-kvm.sh, with QEMU and its qboot firmware as payloads).
# SQUIB_SVM_TIMEOUT bounds the whole run (default 3600 s).
# A third argument runs one VMM only ("qemu": nothing of squib runs in that
# test host before a QEMU failure; "squib").
set -u

n=${1:-}
workload=${2:-}
case $n in '' | *[!0-9]*) echo "usage: $0 N console|fio [squib|qemu]" >&2; exit 2 ;; esac
vmms=${3:-squib qemu}
case $workload in console | fio) ;; *) echo "usage: $0 N console|fio [squib|qemu]" >&2; exit 2 ;; esac
case $vmms in "squib qemu" | squib | qemu) ;; *) echo "usage: $0 N console|fio [squib|qemu]" >&2; exit 2 ;; esac

if [ "${SQUIB_TEST_HOST:-}" != svm-tcg ]; then
	repo=$(cd "$(dirname "$0")/../.." && pwd)
	g=$repo/build/linux-guest
	[ -s "$g/vmlinuz" ] || { echo "compare-qemu: no Linux guest in $g: make guest" >&2; exit 1; }
	cd "$repo" || exit 1
	SQUIB_EXTRA_PAYLOAD="$repo/tests/svm-host/compare-qemu.sh:$g/vmlinuz:$g/initramfs.cpio:$g/initramfs-fio.cpio.gz:$(command -v qemu-system-x86_64):/usr/share/qemu/qboot.rom" \
		SQUIB_SVM_TIMEOUT=${SQUIB_SVM_TIMEOUT:-3600} SQUIB_SVM_RETRIES=0 \
		exec tests/run-kvm.sh build "$repo/tests/svm-host/compare-qemu.sh" "$n" "$workload" "$vmms"
fi

# Inside the test host from here on.
g=$PWD/build/linux-guest
fio_job="fio --name=verify --filename=/dev/vda --ioengine=libaio --direct=1 --rw=randwrite --bs=4k --iodepth=16 --size=64M --verify=crc32c --do_verify=1"
if [ "$workload" = console ]; then
	cpus=1 mem=256 initrd=$g/initramfs.cpio cmd="seq 1 170000" done_marker="SQUIB-RUN-EXIT 0"
else
	cpus=2 mem=512 initrd=$g/initramfs-fio.cpio.gz cmd=$fio_job done_marker="err= 0:"
fi
append="console=ttyS0 quiet nokaslr squib.run=\"$cmd\""
ok_squib=0 ok_qemu=0 i=1
while [ "$i" -le "$n" ]; do
	for vmm in $vmms; do
		out=/tmp/compare-$vmm-$i.console err=/tmp/compare-$vmm-$i.err img=/tmp/compare.img
		rm -f "$out" "$img"
		disk_squib="" disk_qemu=""
		if [ "$workload" = fio ]; then
			truncate -s 96M "$img"
			disk_squib="--disk $img"
			disk_qemu="-drive id=d,file=$img,format=raw,if=none -device virtio-blk-device,drive=d"
		fi
		start=$(date +%s)
		if [ $vmm = squib ]; then
			# shellcheck disable=SC2086 # disk_squib is two words or none
			timeout 1800 build/squib-monitor start --kernel "$g/vmlinuz" --initrd "$initrd" --cpus $cpus \
				--memory $mem $disk_squib --cmdline "$append" --console "$out" >"$err" 2>&1
			status=$?
		else
			# shellcheck disable=SC2086 # disk_qemu is several words or none
			timeout 1800 qemu-system-x86_64 -M microvm,acpi=on -enable-kvm -cpu host -m $mem -smp $cpus \
				-nodefaults -no-user-config -display none -no-reboot -monitor none \
				-bios /usr/share/qemu/qboot.rom -kernel "$g/vmlinuz" -initrd "$initrd" $disk_qemu \
				-append "$append" -serial "file:$out" </dev/null >"$err" 2>&1
			status=$?
		fi
		t=$(($(date +%s) - start))
		ok=no
		grep -q "SQUIB-RUN-EXIT 0" "$out" 2>/dev/null && grep -q "$done_marker" "$out" && ok=yes
		[ $ok = yes ] && eval "ok_$vmm=\$((ok_$vmm + 1))"
		echo "COMPARE $vmm run $i status=$status ${t}s ok=$ok"
		if [ $ok = no ]; then
			echo "--- $vmm stderr (tail):"
			tail -c 2500 "$err"
			echo "--- $vmm console (tail):"
			tail -c 600 "$out" 2>/dev/null
			echo
		fi
	done
	i=$((i + 1))
done
echo "COMPARE $workload: squib $ok_squib of $n ok, qemu $ok_qemu of $n ok"
