#!/bin/sh
# virtio throughput measured inside the test guest (blk-bench, net-bench),
# and the exits to userspace per I/O from the monitor's --verbose counters.
# Runs inside a host with /dev/kvm (tests/run-kvm.sh). POSIX sh (busybox).
out=${1:-build}
mon="$out/squib-monitor"
guest=build/test-guest.bin
if grep -q svm-host /proc/cmdline 2>/dev/null || [ -e /svm-host ]; then
	mib=${BENCH_BLK_MIB:-8}
	frames=${BENCH_NET_FRAMES:-4096}
	echo "(nested SVM test host: blk $mib MiB per run, net $frames frames; BENCH_BLK_MIB / BENCH_NET_FRAMES change it)"
else
	mib=${BENCH_BLK_MIB:-256}
	frames=${BENCH_NET_FRAMES:-200000}
fi
tmp=${TMPDIR:-/tmp}/squib-bench-virtio.$$
mkdir -p "$tmp"
con=$tmp/console
err=$tmp/stderr
img=$tmp/disk.img
dd if=/dev/zero of="$img" bs=1048576 count="$mib" 2>/dev/null
bytes=$((mib * 1048576))

# exits: the sum of every vCPU's "N exits" in --verbose statistics.
exits() { sed -n 's/.*: \([0-9]*\) exits (.*/\1/p' "$err" | awk '{ s += $1 } END { print s + 0 }'; }

printf '%-16s %12s %12s %10s %14s\n' benchmark MB/s IOPS ops "exits/op"
blk() { # mode bs qd
	if ! "$mon" start --testdev --kernel "$guest" --disk "$img" --verbose --console "$con" \
		--cmdline "blk-bench mode=$1 bs=$2 qd=$3 bytes=$bytes" 2>"$err"; then
		echo "bench: blk-bench $1 failed" >&2; tail -5 "$con" "$err" >&2; return
	fi
	line=$(grep '^bench blk-' "$con" | tail -1)
	mbps=$(echo "$line" | sed -n 's/.*MBps=\([0-9.]*\).*/\1/p')
	iops=$(echo "$line" | sed -n 's/.*iops=\([0-9]*\).*/\1/p')
	ops=$(echo "$line" | sed -n 's/.*ops=\([0-9]*\)$/\1/p')
	awk -v n="blk-$1 $2" -v m="$mbps" -v i="$iops" -v o="$ops" -v e="$(exits)" \
		'BEGIN { printf "%-16s %12s %12s %10s %14.2f\n", n, m, i, o, (o > 0 ? e / o : 0) }'
}
blk seqwrite 65536 8
blk seqread 65536 8
blk randread 4096 16

if [ -x "$out/bench/netns_tap" ] && [ -e /dev/net/tun ]; then
	if "$out/bench/netns_tap" sqbench0 -- "$mon" start --testdev --kernel "$guest" --verbose \
		--net tap=sqbench0 --console "$con" --cmdline "net-bench count=$frames size=64" 2>"$err"; then
		line=$(grep '^bench net-' "$con" | tail -1)
		fps=$(echo "$line" | sed -n 's/.*fps=\([0-9.]*\).*/\1/p')
		n=$(echo "$line" | sed -n 's/.*frames=\([0-9]*\).*/\1/p')
		awk -v f="$fps" -v o="$n" -v e="$(exits)" \
			'BEGIN { printf "%-16s %12s %12s %10s %14.2f   (frames/s in IOPS)\n", "net-tx 64B", "-", f, o, (o > 0 ? e / o : 0) }'
	else
		echo "bench: net-bench failed" >&2; tail -5 "$con" "$err" >&2
	fi
else
	echo "(net-bench skipped: no /dev/net/tun or netns_tap)"
fi
rm -rf "$tmp"
