#!/bin/sh
# A device worker's death as the guest sees it, end to end on this KVM:
#   1. the test guest's blk-verify (queue depth 8) while blk0's worker is
#      SIGKILLed 20 times: death -> successor ready and death -> its first
#      completed request (the monitor's log lines), median and worst of 20;
#      and the guest's longest wait for a completion (testdev's clock), with
#      the kills and in the same run without them.
#   2. Debian's fio (randwrite 4k, queue depth 16, direct) on virtio-blk,
#      bandwidth logged every 250 ms, blk0's worker killed once mid-run:
#      the median bandwidth, the lowest 250 ms window, and how long it
#      stayed below half the median.
# Runs inside a host with /dev/kvm (tests/run-kvm.sh). POSIX sh (busybox).
#   restart.sh OUT GUEST_DIR
out=${1:-build}
guest=${2:-build/linux-guest}
mon="$out/squib-monitor"
kills=${BENCH_RESTART_KILLS:-20}
tmp=${TMPDIR:-/tmp}/squib-bench-restart.$$
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) printf "%.1f\n", v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
worst() { sort -n | tail -1; }
count() { n=$(grep -c "$1" "$2" 2>/dev/null); echo "${n:-0}"; }
# Waits up to $3 s for file $2 to hold at least $1 lines matching $4.
wait_lines() {
	t=0
	while [ "$(count "$4" "$2")" -lt "$1" ]; do
		t=$((t + 1))
		[ "$t" -gt $(($3 * 10)) ] && return 1
		sleep 0.1
	done
}
# The live worker of device $1 (its process name; busybox has no pgrep).
worker() {
	for c in /proc/[0-9]*/comm; do
		[ "$(cat "$c" 2>/dev/null)" = "squib-dev-$1" ] && { p=${c#/proc/}; echo "${p%/comm}"; return; }
	done
}

# blk-verify with kills: kills -> $tmp/con.$1, $tmp/err.$1
blk_run() {
	n=$1
	con="$tmp/con.$n"
	err="$tmp/err.$n"
	dd if=/dev/zero of="$tmp/disk.img" bs=1048576 count=4 2>/dev/null
	rm -f "$tmp/in"
	mkfifo "$tmp/in"
	"$mon" start --testdev --kernel build/test-guest.bin --disk "$tmp/disk.img" --restart-budget 64/60 \
		--console "$con" --cmdline "blk-verify passes=0 qd=8 stalls=250" <"$tmp/in" 2>"$err" &
	pid=$!
	exec 3>"$tmp/in"
	wait_lines 1 "$con" 60 "blk-verify: capacity" || echo "bench: blk-verify did not start" >&2
	sleep 1
	k=0
	while [ "$k" -lt "$n" ]; do
		victim=$(worker blk0)
		[ -n "$victim" ] && kill -KILL "$victim"
		k=$((k + 1))
		wait_lines "$k" "$err" 30 "device blk0 restarted" || { echo "bench: restart $k not seen" >&2; break; }
		sleep 0.4
	done
	[ "$n" -eq 0 ] && sleep 8
	echo x >&3
	exec 3>&-
	wait "$pid" || echo "bench: blk-verify with $n kills failed (status $?)" >&2
}

echo "-- blk0 worker SIGKILLed $kills times under the test guest's blk-verify (qd 8)"
blk_run 0
blk_run "$kills"
ready=$(sed -n 's/.*device blk0 restarted: worker pid [0-9]* ready \([0-9.]*\) ms after.*/\1/p' "$tmp/err.$kills")
served=$(sed -n 's/.*device blk0 served its first request \([0-9.]*\) ms after.*/\1/p' "$tmp/err.$kills")
longest() { sed -n 's/^blk-verify: longest gap between completions \([0-9]*\) us.*/\1/p' "$1" | awk '{ printf "%.1f", $1 / 1000 }'; }
printf '%-50s %10s %10s %6s\n' "ms" median worst n
printf '%-50s %10s %10s %6s\n' "death -> successor ready" "$(echo "$ready" | median)" \
	"$(echo "$ready" | worst)" "$(echo "$ready" | grep -c .)"
printf '%-50s %10s %10s %6s\n' "death -> its first completed request" "$(echo "$served" | median)" \
	"$(echo "$served" | worst)" "$(echo "$served" | grep -c .)"
printf '%-50s %10s %10s\n' "guest's longest wait for a completion, 20 kills" - "$(longest "$tmp/con.$kills")"
printf '%-50s %10s %10s\n' "guest's longest wait for a completion, no kills" - "$(longest "$tmp/con.0")"
grep -q "PASS" "$tmp/con.$kills" || { echo "bench: blk-verify with kills did not pass" >&2; tail -5 "$tmp/con.$kills" "$tmp/err.$kills" >&2; }

echo "-- fio randwrite 4k qd16 on virtio-blk (Linux, 2 vCPUs), blk0 killed once mid-run"
fio_log="$tmp/fio.con"
dd if=/dev/zero of="$tmp/fio.img" bs=1048576 count=1 seek=95 2>/dev/null
job='echo FIO-START; fio --name=dip --filename=/dev/vda --ioengine=libaio --direct=1 --rw=randwrite --bs=4k --iodepth=16 --size=64M --time_based --runtime=20 --write_bw_log=/tmp/dip --log_avg_msec=250 >/dev/null && cat /tmp/dip_bw.1.log'
"$mon" start --kernel "$guest/vmlinuz" --initrd "$guest/initramfs-fio.cpio.gz" --cpus 2 --memory 512 \
	--disk "$tmp/fio.img" --console "$fio_log" --cmdline "console=ttyS0 quiet squib.run=\"$job\"" 2>"$tmp/fio.err" &
pid=$!
if wait_lines 1 "$fio_log" 600 FIO-START; then
	sleep 10
	victim=$(worker blk0)
	[ -n "$victim" ] && kill -KILL "$victim"
fi
wait "$pid" || echo "bench: the fio run failed (status $?)" >&2
# bw log lines: "msec, KiB/s, direction, bs, offset"
tr -d '\r' <"$fio_log" | awk -F', *' '/^[0-9]+, [0-9]+, 1,/ { print $2 }' >"$tmp/bw"
tr -d '\r' <"$fio_log" | awk -F', *' '/^[0-9]+, [0-9]+, 1,/ { print $1, $2 }' >"$tmp/bw.t"
if [ -n "${BENCH_DEBUG:-}" ]; then
	echo "debug: console tail" >&2; tail -20 "$fio_log" >&2; echo "debug: bw head" >&2; head -5 "$tmp/bw" >&2
fi
if [ -s "$tmp/bw" ]; then
	med=$(median <"$tmp/bw")
	awk -v med="$med" '{ if (min == "" || $1 < min) min = $1; if ($1 < med / 2) low++; n++ }
		END { pct = 0; if (med > 0) pct = 100 * min / med  # (busybox: a ">" among printf arguments is a redirection)
			printf "median %.0f KiB/s over %d windows of 250 ms; lowest window %.0f KiB/s (%.0f%% of the median); %.2f s below half of it\n",
			med, n, min, pct, low * 0.25 }' "$tmp/bw"
	# The kill lands about 10 s into fio's run (10 s after FIO-START, plus fio's own start-up).
	awk -v med="$med" '$1 >= 9500 && $1 <= 12000 { if (min == "" || $2 < min) min = $2 }
		END { pct = 0; if (med > 0) pct = 100 * min / med
			printf "lowest window 9.5-12 s into the run, where the kill landed: %.0f KiB/s (%.0f%% of the median)\n", min, pct }' "$tmp/bw.t"
	sed -n 's/.*device blk0 served its first request \([0-9.]*\) ms after.*/\1/p' "$tmp/fio.err" |
		awk '{ print "death -> first completed request: " $1 " ms" }'
	grep -c "device blk0 restarted" "$tmp/fio.err" | awk '{ print "restarts during the run: " $1 }'
else
	echo "bench: no fio bandwidth log on the console" >&2
	tail -5 "$fio_log" "$tmp/fio.err" >&2
fi
