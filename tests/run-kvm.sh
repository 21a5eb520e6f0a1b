#!/usr/bin/env bash
# run-kvm.sh OUT COMMAND [ARGS...]
#
# Runs COMMAND where a usable /dev/kvm exists: directly when this host has
# one, otherwise inside the nested SVM test host (tests/svm-host/), a QEMU
# TCG guest whose /dev/kvm is kvm_amd. A PVM /dev/kvm does not count (below).
# OUT is the build directory whose binaries COMMAND uses (build or
# build/san); it is copied into the test host at the same path. Exits with
# COMMAND's status.
#
# On QEMU 7.2 the nested test host froze as a whole now and then (about 1
# run in 6): an IPI round (code patching, KVM enabling SVM) that never
# completed under its multi-threaded TCG (tests/svm-host/README.md has the
# evidence), so the host now runs on QEMU 10 (prepare.sh) with kvm-hold
# avoiding the rounds KVM causes. For what is left, run.sh collects QEMU's
# CPU registers and the kernel's sysrq output, kills it after
# SQUIB_SVM_TIMEOUT seconds (default 300; the Makefile gives the integration
# run 1200 and the Linux tests 2400) or once its heartbeat stops, and retries up to SQUIB_SVM_RETRIES
# times (default 2), printing a SQUIB-RETRY line each time.
set -euo pipefail

out=$1
shift
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

kvm_usable() {
	[ -c /dev/kvm ] || return 1
	# Opening fails with ENODEV when the module is loaded but not bound.
	(exec 3<>/dev/kvm) 2>/dev/null
}

# PVM (kvm_pvm, software virtualization) does not count as a usable
# /dev/kvm here: it runs guests that are not built for PVM (squib's test
# guest, a stock kernel) by instruction emulation, some 100 times slower
# (a blk-verify request took 0.3 s; a stock kernel does not finish booting),
# and it delivers injected events differently from VMX and SVM. The tests
# would measure PVM's emulator, not squib. SQUIB_USE_PVM=1 runs on it anyway.
kvm_is_pvm() {
	[ -d /sys/module/kvm_pvm ] && [ ! -d /sys/module/kvm_intel ] && [ ! -d /sys/module/kvm_amd ]
}

if [ "${SQUIB_FORCE_SVM_HOST:-0}" != 1 ] && kvm_usable; then
	if ! kvm_is_pvm || [ "${SQUIB_USE_PVM:-0}" = 1 ]; then
		echo "run-kvm: using this machine's /dev/kvm" >&2
		exec env SQUIB_BUILD="$out" "$@"
	fi
	echo "run-kvm: /dev/kvm here is PVM, which emulates non-PVM guests instruction by instruction; running in the nested SVM test host (tests/svm-host)" >&2
else
	echo "run-kvm: this host has no usable /dev/kvm; running in the nested SVM test host (tests/svm-host)" >&2
fi

payload=("--payload" "$repo/$out/squib-monitor" "--payload" "$repo/$out/squib-device"
	 "--payload" "$repo/build/test-guest.bin")
[ -d "$repo/$out/tests" ] && payload+=("--payload" "$repo/$out/tests")
[ -d "$repo/$out/bench" ] && payload+=("--payload" "$repo/$out/bench")
[ -d "$repo/tests/bench" ] && payload+=("--payload" "$repo/tests/bench")
# SQUIB_EXTRA_PAYLOAD: more paths, ':'-separated (the Linux guest, e2fsck, ...).
IFS=: read -ra extra <<<"${SQUIB_EXTRA_PAYLOAD:-}"
for p in "${extra[@]}"; do
	[ -n "$p" ] && payload+=("--payload" "$p")
done
exec "$repo/tests/svm-host/run.sh" --timeout "${SQUIB_SVM_TIMEOUT:-300}" --retries "${SQUIB_SVM_RETRIES:-2}" "${payload[@]}" \
	--env "SQUIB_BUILD=$out" --env "SQUIB_TEST_HOST=svm-tcg" --env "SQUIB_TEST_TIMEOUT=${SQUIB_TEST_TIMEOUT:-120}" \
	${ASAN_OPTIONS:+--env "ASAN_OPTIONS=$ASAN_OPTIONS"} ${BENCH_N:+--env "BENCH_N=$BENCH_N"} \
	${BENCH_BLK_MIB:+--env "BENCH_BLK_MIB=$BENCH_BLK_MIB"} ${SQUIB_LINUX_GUEST:+--env "SQUIB_LINUX_GUEST=$SQUIB_LINUX_GUEST"} \
	${SQUIB_LINUX_TIMEOUT:+--env "SQUIB_LINUX_TIMEOUT=$SQUIB_LINUX_TIMEOUT"} ${BENCH_NET_FRAMES:+--env "BENCH_NET_FRAMES=$BENCH_NET_FRAMES"} \
	${BENCH_RESTART_KILLS:+--env "BENCH_RESTART_KILLS=$BENCH_RESTART_KILLS"} ${BENCH_DEBUG:+--env "BENCH_DEBUG=$BENCH_DEBUG"} -- "$@"
