#!/bin/sh
# Runs inside a host with /dev/kvm (see tests/run-kvm.sh). POSIX sh: the
# nested test host only has busybox.
out=${1:-build}
mon="$out/squib-monitor"
guest=build/test-guest.bin
# 1,000,000 iterations on a real KVM host; the nested test host emulates
# every exit (~40-60 us each), so it runs fewer unless BENCH_N says otherwise.
if grep -q svm-host /proc/cmdline 2>/dev/null || [ -e /svm-host ]; then
	n=${BENCH_N:-20000}
	echo "(nested SVM test host: $n iterations per loop; set BENCH_N to change)"
else
	n=${BENCH_N:-1000000}
fi
con=/tmp/squib-bench-console.$$
run() { # workload mode -> ns_per_op
	if ! "$mon" start --testdev $2 --kernel "$guest" --cmdline "$1 n=$n" --console "$con" 2>/dev/null; then
		echo "bench: $1 $2 failed" >&2; cat "$con" >&2; echo 0; return
	fi
	sed -n 's/.*ns_per_op=\([0-9]*\).*/\1/p' "$con" | tail -1
}
printf '%-22s %14s %14s %14s %8s\n' workload "rings ns/exit" "inline ns/exit" "rings exits/s" ratio
for wl in bench-pio bench-mmio-read bench-mmio-counter bench-pio-read; do
	r=$(run "$wl" "")
	i=$(run "$wl" "--inline-testdev")
	if [ "${r:-0}" -gt 0 ] && [ "${i:-0}" -gt 0 ]; then
		awk -v w="$wl" -v r="$r" -v i="$i" 'BEGIN { printf "%-22s %14d %14d %14.0f %7.2fx\n", w, r, i, 1e9 / r, r / i }'
	fi
done
rm -f "$con"
