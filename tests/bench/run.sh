#!/usr/bin/env bash
# make bench: prints figures and ratios; asserts nothing.
#   1. msgpack encode+decode ns per exit, ring records/s, virtio-blk's two
#      I/O engines device side only, and the restart gap of a device worker
#      (death to its successor's first completed request; this host)
#   2. exits per second for guest loops of PIO writes, MMIO reads of a scratch
#      slot and of the counter slot, PIO reads, through the rings and with
#      testdev answered inside the vCPU worker (the in-process baseline), in one
#      run of the same KVM (here, or inside the nested SVM test host).
#   3. virtio-blk MB/s and IOPS, virtio-net frames/s, measured in the test
#      guest, with the exits to userspace per I/O.
#   4. a device worker's death as the guest sees it: the test guest's longest
#      wait for a completion around 20 kills of blk0, and fio's bandwidth dip
#      around one kill under Linux (tests/bench/restart.sh)
#   5. Debian's kernel: launch to readiness marker and total PSS, squib vs
#      QEMU microvm (median of BENCH_N=5), on the same KVM.
set -euo pipefail
out=${1:-build}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"

echo "== wire codec (host)"
"$out/bench/bench_wire"
echo "== rings between two processes (host)"
"$out/bench/bench_ring"
echo "== virtio-blk I/O engines, device side only (host)"
# A criterion program (it drives the unit tests' fake driver): its figures,
# or everything it said when it failed.
blk_log=$(mktemp)
if "$out/bench/blk_engine" >"$blk_log" 2>&1; then
	grep -E '^(virtio-blk engines|  page cache|  cache=none)' "$blk_log"
else
	echo "blk_engine FAILED:"
	cat "$blk_log"
fi
rm -f "$blk_log"
echo "== device restart gap (host, no KVM)"
# A real squib-device killed and replaced 20 times; its own log lines only on failure.
gap_log=$(mktemp)
if "$out/bench/restart_gap" "$out/squib-device" 20 >"$gap_log" 2>&1; then
	grep -E '^restart gap' "$gap_log"
else
	echo "restart_gap FAILED:"
	cat "$gap_log"
fi
rm -f "$gap_log"
echo "== guest exits through squib (KVM)"
tests/run-kvm.sh "$out" tests/bench/exits.sh "$out"
echo "== virtio devices (KVM, measured in the guest)"
tests/run-kvm.sh "$out" tests/bench/virtio.sh "$out"
guest/linux/build.sh build/linux-guest >/dev/null
echo "== device restarts as the guest sees them (KVM)"
SQUIB_SVM_TIMEOUT=${SQUIB_SVM_TIMEOUT:-1800} SQUIB_EXTRA_PAYLOAD="$repo/build/linux-guest" \
	tests/run-kvm.sh "$out" tests/bench/restart.sh "$out" "$repo/build/linux-guest"
echo "== Linux boot: squib vs QEMU microvm (KVM)"
qemu_payload=""
if qemu=$(command -v qemu-system-x86_64); then
	qemu_payload="$qemu:/usr/share/qemu/qboot.rom:/usr/share/qemu/bios-microvm.bin:/usr/share/qemu/linuxboot_dma.bin"
fi
SQUIB_SVM_TIMEOUT=${SQUIB_SVM_TIMEOUT:-1800} SQUIB_EXTRA_PAYLOAD="$repo/build/linux-guest${qemu_payload:+:$qemu_payload}" \
	tests/run-kvm.sh "$out" tests/bench/linux_boot.sh "$out" "$repo/build/linux-guest"
