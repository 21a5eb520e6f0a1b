#!/bin/sh
# tests/soak.sh N integration|linux FILTER
#
# Runs the KVM tests that match the criterion FILTER (for example
# 'virtio/smp_io_from_every_vcpu' or 'linux_net/*') N times in a row, in one
# KVM host (tests/run-kvm.sh: directly on a real one, else one nested test
# host for all N), and counts. One line per run:
#   SOAK <filter> run <i> ok|FAIL|RETRIED <seconds>s
# A run is ok only when every matching test passed without a SQUIB-RETRY;
# RETRIED means it passed after a printed retry (an emulator fault), which
# the count keeps apart. A run that is not ok is followed by its output.
# The last line: SOAK <filter>: <ok> ok, <retried> retried, <failed> failed of <N>.
# The exit status is 0 only when all N were ok.
#
# This is how the issue-9 counts (50 runs of the 4-vCPU virtio test, 10 of
# the Linux console and network tests, 20 of fio) are taken; put load on
# the machine beside it to take them under load. Build first (make all
# build/tests/integration-tests build/tests/linux-tests, make guest for
# the Linux suite). SQUIB_SVM_TIMEOUT bounds the whole soak (default 7200 s).
set -u

n=${1:-}
suite=${2:-}
filter=${3:-}
usage() { echo "usage: $0 N integration|linux FILTER" >&2; exit 2; }
case $n in '' | *[!0-9]*) usage ;; esac
[ "$n" -gt 0 ] || usage
case $suite in integration | linux) ;; *) usage ;; esac
[ -n "$filter" ] || usage
bin=build/tests/$suite-tests

if [ -z "${SQUIB_SOAK_INSIDE:-}" ]; then
	repo=$(cd "$(dirname "$0")/.." && pwd)
	cd "$repo" || exit 1
	[ -x "$bin" ] || { echo "soak: $bin is not built (make all $bin)" >&2; exit 1; }
	extra=$repo/tests/soak.sh
	if [ "$suite" = linux ]; then
		g=$repo/build/linux-guest
		[ -s "$g/vmlinuz" ] || { echo "soak: no Linux guest in $g (make guest)" >&2; exit 1; }
		extra=$extra:$g:$(command -v e2fsck):$(command -v debugfs)
		export SQUIB_LINUX_GUEST="$g"
	fi
	# run.sh passes only the variables it is told about: the marker goes on
	# the command line, as an env(1) prefix.
	SQUIB_EXTRA_PAYLOAD=$extra SQUIB_SVM_TIMEOUT=${SQUIB_SVM_TIMEOUT:-7200} SQUIB_SVM_RETRIES=0 \
		exec tests/run-kvm.sh build env SQUIB_SOAK_INSIDE=1 "$repo/tests/soak.sh" "$n" "$suite" "$filter"
fi

# Where /dev/kvm works (inside the test host, or on a real KVM host) from here on.
ok=0 retried=0 failed=0 i=1
log=${TMPDIR:-/tmp}/soak.$$.log
while [ "$i" -le "$n" ]; do
	start=$(date +%s)
	"$bin" --jobs=1 --ignore-warnings --filter "$filter" >"$log" 2>&1
	rc=$?
	t=$(($(date +%s) - start))
	if [ $rc = 0 ] && grep -q "Failing: 0 | Crashing: 0" "$log" && ! grep -q "Tested: 0 " "$log"; then
		if grep -q "SQUIB-RETRY" "$log"; then
			retried=$((retried + 1)) result=RETRIED
		else
			ok=$((ok + 1)) result=ok
		fi
	else
		failed=$((failed + 1)) result=FAIL
	fi
	echo "SOAK $filter run $i $result ${t}s"
	[ $result = ok ] || grep -v '^\[SKIP\]' "$log" | tail -n 80
	i=$((i + 1))
done
rm -f "$log"
echo "SOAK $filter: $ok ok, $retried retried, $failed failed of $n"
[ "$ok" = "$n" ]
