#!/usr/bin/env bash
# make bench: prints figures and ratios; asserts nothing.
#   1. msgpack encode+decode ns per exit, ring records/s (this host)
#   2. exits per second for guest loops of PIO writes, MMIO reads of a scratch
#      slot and of the counter slot, PIO reads, through the rings and with
#      testdev answered inside the vCPU worker (the in-process baseline), in one
#      run of the same KVM (here, or inside the nested SVM test host).
#   3. virtio-blk MB/s and IOPS, virtio-net frames/s, measured in the test
#      guest, with the exits to userspace per I/O.
set -euo pipefail
out=${1:-build}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"

echo "== wire codec (host)"
"$out/bench/bench_wire"
echo "== rings between two processes (host)"
"$out/bench/bench_ring"
echo "== guest exits through squib (KVM)"
tests/run-kvm.sh "$out" tests/bench/exits.sh "$out"
echo "== virtio devices (KVM, measured in the guest)"
tests/run-kvm.sh "$out" tests/bench/virtio.sh "$out"
