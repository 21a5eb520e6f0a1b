#!/bin/sh
# Launch to readiness marker and the VMM's total PSS at that moment: squib
# vs QEMU microvm booting the same Debian kernel and initrd on the same KVM.
# Runs inside a host with /dev/kvm (tests/run-kvm.sh). POSIX sh (busybox).
#   linux_boot.sh OUT GUEST_DIR      BENCH_N runs each (default 5), median
out=${1:-build}
guest=${2:-build/linux-guest}
n=${BENCH_N:-5}
probe="$out/bench/boot_probe"
kernel="$guest/vmlinuz"
initrd="$guest/initramfs.cpio"
cmdline='console=ttyS0 quiet squib.run="sleep 120"'
marker=SQUIB-LINUX-READY
qemu=$(command -v qemu-system-x86_64 || true)
tmp=${TMPDIR:-/tmp}/squib-bench-boot.$$
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }

for cpus in 1 2; do
	: >"$tmp/squib" && : >"$tmp/qemu"
	i=0
	while [ "$i" -lt "$n" ]; do
		i=$((i + 1))
		"$probe" "$marker" 240 -- "$out/squib-monitor" start --kernel "$kernel" --initrd "$initrd" \
			--cpus "$cpus" --memory 256 --cmdline "$cmdline" >>"$tmp/squib" || echo "squib run $i failed" >&2
		if [ -n "$qemu" ]; then
			"$probe" "$marker" 240 -- "$qemu" -M microvm -enable-kvm -cpu host -smp "$cpus" -m 256 \
				-nodefaults -no-user-config -nographic -serial stdio -L /usr/share/qemu \
				-kernel "$kernel" -initrd "$initrd" -append "$cmdline" >>"$tmp/qemu" ||
				echo "qemu run $i failed" >&2
		fi
	done
	sb=$(field boot_ms <"$tmp/squib" | median)
	sp=$(field pss_kib <"$tmp/squib" | median)
	qb=$(field boot_ms <"$tmp/qemu" | median)
	qp=$(field pss_kib <"$tmp/qemu" | median)
	echo "-- $cpus vCPU, 256 MiB, median of $n (raw: squib boot_ms $(field boot_ms <"$tmp/squib" | tr '\n' ' ')| qemu $(field boot_ms <"$tmp/qemu" | tr '\n' ' '))"
	printf '%-14s %12s %12s %8s %6s\n' vmm "boot ms" "PSS KiB" procs "mms"
	printf '%-14s %12s %12s %8s %6s\n' squib "$sb" "$sp" "$(field procs <"$tmp/squib" | median)" \
		"$(field mms <"$tmp/squib" | median)"
	if [ -n "$qemu" ]; then
		printf '%-14s %12s %12s %8s %6s\n' "qemu microvm" "$qb" "$qp" "$(field procs <"$tmp/qemu" | median)" \
			"$(field mms <"$tmp/qemu" | median)"
		awk -v sb="$sb" -v qb="$qb" -v sp="$sp" -v qp="$qp" 'BEGIN {
			if (qb > 0 && qp > 0) printf "squib/qemu: boot time %.2fx, PSS %.2fx\n", sb / qb, sp / qp }'
	else
		echo "qemu-system-x86_64 is not installed: no comparison"
	fi
done
