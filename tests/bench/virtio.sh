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
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" "$con" | tail -1; }

# Exits per I/O on the data path: the exits of a full run minus those of a
# one-batch run (boot, driver set-up, the clock), over the difference in I/Os.
printf '%-18s %10s %10s %8s %10s %10s %10s\n' benchmark MB/s IOPS ops "exits/op" "irqs/op" "kicks/op"
blk_run() { # mode bs qd bytes -> sets ops exits mbps iops irqs kicks; 1 on failure
	if ! "$mon" start --testdev --kernel "$guest" --disk "$img" --verbose --console "$con" \
		--cmdline "blk-bench mode=$1 bs=$2 qd=$3 bytes=$4" 2>"$err"; then
		echo "bench: blk-bench $1 failed" >&2; tail -5 "$con" "$err" >&2; return 1
	fi
	ops=$(sed -n 's/^bench blk-.* ops=\([0-9]*\).*/\1/p' "$con" | tail -1)
	mbps=$(field MBps); iops=$(field iops); irqs=$(field irqs); kicks=$(field ' kicks')
	exits=$(exits)
}
blk() { # mode bs qd
	blk_run "$1" "$2" "$3" $(($2 * $3)) || return
	o0=$ops; e0=$exits; i0=$irqs; k0=$kicks
	blk_run "$1" "$2" "$3" "$bytes" || return
	awk -v n="blk-$1 $(($2 / 1024))K" -v m="$mbps" -v i="$iops" -v o="$ops" -v e="$exits" -v o0="$o0" -v e0="$e0" \
		-v q="$irqs" -v q0="$i0" -v k="$kicks" -v k0="$k0" 'BEGIN { d = o - o0; if (d <= 0) d = 1;
		printf "%-18s %10s %10s %8s %10.2f %10.2f %10.2f\n", n, m, i, o, (e - e0) / d, (q - q0) / d, (k - k0) / d }'
}
blk seqwrite 65536 8
blk seqread 65536 8
blk randread 4096 16

net_run() { # frames -> sets ops exits fps irqs kicks; 1 on failure
	if ! "$out/bench/netns_tap" sqbench0 -- "$mon" start --testdev --kernel "$guest" --verbose \
		--net tap=sqbench0 --console "$con" --cmdline "net-bench count=$1 size=64" 2>"$err"; then
		echo "bench: net-bench failed" >&2; tail -5 "$con" "$err" >&2; return 1
	fi
	ops=$(sed -n 's/^bench net-.* frames=\([0-9]*\).*/\1/p' "$con" | tail -1)
	fps=$(field fps); irqs=$(field irqs); kicks=$(field ' kicks'); exits=$(exits)
}
if [ -x "$out/bench/netns_tap" ] && [ -e /dev/net/tun ]; then
	if net_run 64; then
		o0=$ops; e0=$exits; i0=$irqs; k0=$kicks
		if net_run "$frames"; then
			awk -v f="$fps" -v o="$ops" -v e="$exits" -v o0="$o0" -v e0="$e0" -v q="$irqs" -v q0="$i0" \
				-v k="$kicks" -v k0="$k0" 'BEGIN { d = o - o0; if (d <= 0) d = 1;
				printf "%-18s %10s %10s %8s %10.2f %10.2f %10.2f   (IOPS: frames/s)\n", "net-tx 64B", "-", f, o,
				(e - e0) / d, (q - q0) / d, (k - k0) / d }'
		fi
	fi
else
	echo "(net-bench skipped: no /dev/net/tun or netns_tap)"
fi
rm -rf "$tmp"
