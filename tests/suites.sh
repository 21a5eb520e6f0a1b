#!/usr/bin/env bash
# tests/suites.sh SUITE...   (make test)
#
# Runs each suite (a make target: unit-test, integration-test, linux-test),
# every one even when an earlier one failed, and ends with a table of the
# suites, their results and wall times, and every retry any of them made
# with its cause. Exits 0 only when every suite passed.
#
# A retry is announced by a line containing "SQUIB-RETRY:" (the Linux
# tests' boot retries, tests/svm-host/run.sh restarting a frozen test host);
# this script collects them from the suites' output. Nothing retries
# silently.
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
logdir=${SQUIB_SUITE_LOG_DIR:-build/test-logs}
mkdir -p "$logdir"
rm -f "$logdir"/*.log

sentinel=""
trap '[[ -z $sentinel ]] || kill "$sentinel" 2>/dev/null' EXIT

names=() results=() times=() counts=()
failed=0 npass=0 nfail=0
for suite in "$@"; do
	log=$logdir/$suite.log
	echo "==== $suite"
	start=$(date +%s)
	# make writes the log file (in the foreground: Ctrl-C reaches it) and
	# tail echoes it until make is done. A process a suite leaves behind
	# cannot hold this script up, as it could hold a pipe to tee open.
	: >"$log"
	sleep 2147483647 &
	sentinel=$!
	tail -n +1 -f --pid="$sentinel" "$log" &
	echo_pid=$!
	make --no-print-directory "$suite" >"$log" 2>&1
	rc=$?
	kill "$sentinel" # tail prints what is left, then ends
	wait "$echo_pid" 2>/dev/null
	sentinel=""
	t=$(($(date +%s) - start))
	# Criterion's closing line: "Synthesis: Tested: N | Passing: P | Failing: F | Crashing: C".
	# A suite of several checks (layout-test) prints one each: they add up.
	st=0 sp=0 sf=0 sc=0 synth=""
	while IFS= read -r line; do
		[[ $line =~ Tested:\ ([0-9]+)\ \|\ Passing:\ ([0-9]+)\ \|\ Failing:\ ([0-9]+)\ \|\ Crashing:\ ([0-9]+) ]] || continue
		st=$((st + BASH_REMATCH[1])) sp=$((sp + BASH_REMATCH[2]))
		sf=$((sf + BASH_REMATCH[3])) sc=$((sc + BASH_REMATCH[4]))
		synth="Tested: $st | Passing: $sp | Failing: $sf | Crashing: $sc"
	done < <(grep -a 'Synthesis: Tested' "$log")
	names+=("$suite") times+=("$t") counts+=("${synth:-no test summary}")
	if [[ -n $synth ]]; then
		npass=$((npass + sp))
		nfail=$((nfail + sf + sc))
	elif ((rc != 0)); then
		nfail=$((nfail + 1)) # the suite failed before its tests reported
	fi
	if ((rc == 0)); then
		results+=(passed)
	else
		results+=("FAILED ($rc)")
		failed=1
	fi
done

echo
echo "==== make test: summary"
printf '%-18s %-12s %8s  %s\n' suite result "time" tests
total=0
for i in "${!names[@]}"; do
	printf '%-18s %-12s %7ss  %s\n' "${names[$i]}" "${results[$i]}" "${times[$i]}" "${counts[$i]}"
	total=$((total + times[i]))
done
printf '%-18s %-12s %7ss\n' total "" "$total"
# Where the KVM suites ran: run.sh names the QEMU under the nested test
# host; run-kvm.sh says when it used this machine's /dev/kvm instead.
hosts=$(grep -ahE '^svm-host: QEMU: |^run-kvm: using ' "$logdir"/*.log 2>/dev/null | sort -u | sed 's/^/  /' || true)
[[ -z $hosts ]] || printf 'KVM host:\n%s\n' "$hosts"
retries=$(grep -ah 'SQUIB-RETRY:' "$logdir"/*.log 2>/dev/null | sed 's/.*SQUIB-RETRY: */  /' || true)
if [[ -n $retries ]]; then
	echo "retries (each with its cause):"
	printf '%s\n' "$retries"
else
	echo "retries: none"
fi
echo "tests: $npass passed, $nfail failed"
exit "$failed"
