#!/usr/bin/env bash
# run.sh [OPTIONS] -- COMMAND [ARGS...]
#
# Runs COMMAND inside a throwaway Linux guest of QEMU's software emulator
# (TCG) whose CPU has SVM + NPT, so that the guest's /dev/kvm is kvm_amd.
# Lets squib's KVM tests run on machines without a usable /dev/kvm.
#
# Options:
#   --timeout SECS   wall-clock limit per attempt, boot included (default 600)
#   --retries N      extra attempts after a timeout or a guest crash (default 1)
#   --mem MIB        guest memory (default 3072)
#   --smp N          guest CPUs (default 2)
#   --payload PATH   copy PATH (file or directory) into the guest at the same
#                    absolute path, plus the shared libraries its ELF files
#                    need (repeatable)
#   --env NAME=VALUE set an environment variable for COMMAND (repeatable)
#   --cache DIR      prepare.sh's cache (default: $SVM_HOST_CACHE or
#                    <repo>/build/svm-host); prepared on first use
#   -v, --verbose    also copy the whole guest console to stderr
#   --interactive    COMMAND gets this terminal: the guest's serial console
#                    is QEMU's stdio, and COMMAND runs on it with a
#                    controlling tty (no timeout, no retry; make run uses it)
#
# COMMAND runs in the host's current directory (created in the guest if
# missing), with stdin from /dev/null, stdout and stderr merged into a pipe
# that is streamed to this script's stdout. Extra kernel parameters may be
# given in $SVM_HOST_APPEND, extra QEMU arguments (split on blanks) in
# $SVM_HOST_QEMU_ARGS. Before COMMAND, kvm-hold (kvm-hold.c) opens one idle
# VM for the host's lifetime; SVM_HOST_KVM_HOLD=0 leaves it out. A host that
# stops beating its heartbeat for SVM_HOST_HEARTBEAT_LIMIT s (240) counts
# as frozen, like a timeout, and so does a host that has not started COMMAND
# SVM_HOST_BOOT_LIMIT s (180) after QEMU did. SVM_HOST_QEMU names the QEMU
# binary (default: the one prepare.sh chose, see tests/svm-host/README.md).
# SVM_HOST_CPUS lists the host CPUs QEMU runs on (taskset; default one CPU,
# "all" for none pinned; README "One host CPU").
#
# Exit status: COMMAND's; 124 if every attempt timed out; 125 if /dev/kvm is
# missing inside the guest, or the guest / QEMU died before COMMAND finished,
# or setting up failed; 2 for a usage error.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$script_dir/../.." && pwd)

timeout=600
retries=1
mem=3072
smp=2
verbose=0
interactive=0
cache_dir=${SVM_HOST_CACHE:-$repo_root/build/svm-host}
payloads=()
envs=()

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }
msg() { printf 'svm-host: %s\n' "$*" >&2; }
die() { msg "error: $*"; exit 125; }
usage_error() { msg "$* (see --help)"; exit 2; }
need_arg() { [[ $# -ge 2 ]] || usage_error "option $1 needs an argument"; }
is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }

while [[ $# -gt 0 ]]; do
	case $1 in
	--timeout) need_arg "$@"; timeout=$2; shift 2 ;;
	--retries) need_arg "$@"; retries=$2; shift 2 ;;
	--mem) need_arg "$@"; mem=$2; shift 2 ;;
	--smp) need_arg "$@"; smp=$2; shift 2 ;;
	--payload) need_arg "$@"; payloads+=("$2"); shift 2 ;;
	--env) need_arg "$@"; envs+=("$2"); shift 2 ;;
	--cache) need_arg "$@"; cache_dir=$2; shift 2 ;;
	--timeout=* | --retries=* | --mem=* | --smp=* | --payload=* | --env=* | --cache=*)
		set -- "${1%%=*}" "${1#*=}" "${@:2}" ;;
	-v | --verbose) verbose=1; shift ;;
	--interactive) interactive=1; shift ;;
	-h | --help) usage; exit 0 ;;
	--) shift; break ;;
	*) usage_error "unknown option: $1" ;;
	esac
done
[[ $# -gt 0 ]] || usage_error "no COMMAND given"
if ! is_uint "$timeout" || ((timeout == 0)); then usage_error "--timeout must be a positive integer"; fi
if ! is_uint "$retries"; then usage_error "--retries must be a non-negative integer"; fi
if ! is_uint "$mem" || ((mem < 256)); then usage_error "--mem must be an integer >= 256 (MiB)"; fi
if ! is_uint "$smp" || ((smp == 0)); then usage_error "--smp must be a positive integer"; fi
for e in "${envs[@]}"; do
	[[ $e =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || usage_error "--env wants NAME=VALUE, got: $e"
done
cache_dir=$(realpath -m -- "$cache_dir")

# --- cache ------------------------------------------------------------------
# shellcheck source=tests/svm-host/cache.sh
. "$script_dir/cache.sh"
if ! svm_host_cache_complete "$cache_dir" || [[ ! -s $cache_dir/qemu/stamp ]] ||
	! command -v qemu-system-x86_64 >/dev/null 2>&1 || ! command -v cpio >/dev/null 2>&1; then
	"$script_dir/prepare.sh" "$cache_dir" || die "prepare.sh failed"
fi
# prepare.sh's QEMU (version 10 or later; 7.2 loses IPIs), else the system's.
qemu_bin=qemu-system-x86_64
[[ ! -x $cache_dir/qemu/qemu-system-x86_64 ]] || qemu_bin=$cache_dir/qemu/qemu-system-x86_64
qemu_bin=${SVM_HOST_QEMU:-$qemu_bin}
if [[ -n ${SVM_HOST_QEMU:-} || ! -s $cache_dir/qemu/stamp ]]; then
	msg "QEMU: $qemu_bin ($(qemu_version "$qemu_bin"))"
else
	msg "QEMU: $(<"$cache_dir/qemu/stamp")"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/svm-host.XXXXXX")
qemu_pid=""
# shellcheck disable=SC2317 # called through the EXIT trap
cleanup() {
	if [[ -n $qemu_pid ]]; then
		kill "$qemu_pid" 2>/dev/null || true
		wait "$qemu_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- host paths for the initramfs --------------------------------------------
# The initramfs is two concatenated cpio archives: host files archived in
# place (no copies), then a generated tree ($root: /init, busybox, modules).
# Every host path keeps its absolute location. Symbolic links met on the way
# (e.g. /lib -> usr/lib, /lib64/ld-linux-x86-64.so.2 -> ...) are archived as
# links and their targets added too, so both the link and the real path
# resolve inside. Parent directories are listed before their contents, as
# the kernel's unpacker needs.
root=$tmp/root
mkdir -p "$root"
declare -A added=()  # "MODE:path" -> resolved path
declare -A listed=() # host path -> 1 when in the archive list
declare -A links=()  # host symlink -> its target
host_list=()
dynamic=0

list_host() { # PATH: archive this host path (not its contents)
	if [[ $1 != / && -z ${listed[$1]:-} ]]; then
		listed[$1]=1
		host_list+=("${1#/}")
	fi
}

is_elf() {
	local magic=""
	[[ -f $1 && ! -L $1 ]] || return 1
	IFS= LC_ALL=C read -r -d '' -n 4 magic <"$1" 2>/dev/null || true
	[[ $magic == $'\177ELF' ]]
}

add_libs() { # ELF -> add the shared libraries ldd says it needs
	local out lib
	out=$(LC_ALL=C ldd "$1" 2>/dev/null) || return 0 # static, or not loadable here
	dynamic=1
	while IFS= read -r lib; do
		case $lib in
		"!"*) msg "warning: $1 needs ${lib#!}, not found on the host" ;;
		# ldd lists the whole closure, so the libraries need no ldd of their own.
		/*) add_path "$lib" lib 0 ;;
		esac
	done < <(awk '$2 == "=>" && $3 == "not" { print "!" $1; next }
		$2 == "=>" && $3 ~ /^\// { print $3; next }
		$1 ~ /^\// { print $1 }' <<<"$out")
}

# add_path ABS_PATH MODE DEPTH
#   MODE: copy (a file, or a directory tree, plus the libraries of its ELF
#   files), lib (a file only), mkdir (just the directory).
# Sets add_path_phys to the host path with every symbolic link resolved.
add_path_phys=""
add_path() {
	local path=$1 mode=$2 depth=$3 phys="" cand target i n f key
	local -a comps
	((depth < 40)) || die "too many levels of symbolic links at $path"
	if [[ $path == *//* || $path == */./* || $path == */../* || $path == */. ||
		$path == */.. || $path == ?*/ ]]; then
		path=$(realpath -ms -- "$path") # lexical normalisation only
	fi
	key="$mode:$path"
	if [[ -n ${added[$key]:-} ]]; then
		add_path_phys=${added[$key]}
		return 0
	fi
	added[$key]=$path # provisional, in case of a link cycle
	IFS=/ read -ra comps <<<"${path#/}"
	n=${#comps[@]}
	for ((i = 0; i < n; i++)); do
		cand=$phys/${comps[i]}
		if [[ -L $cand ]]; then
			if [[ -z ${links[$cand]:-} ]]; then
				links[$cand]=$(readlink -- "$cand")
				list_host "$cand"
			fi
			target=${links[$cand]}
			[[ $target == /* ]] || target=$phys/$target
			if ((i < n - 1)); then
				add_path "$target" mkdir $((depth + 1))
			else
				add_path "$target" "$mode" $((depth + 1))
				added[$key]=$add_path_phys
				return 0
			fi
			phys=$add_path_phys
			[[ $phys != / ]] || phys=""
		else
			phys=$cand
			if ((i < n - 1)); then list_host "$phys"; fi
		fi
	done
	[[ -n $phys ]] || phys=/
	added[$key]=$phys
	if [[ $mode == mkdir ]]; then
		[[ -d $phys ]] || die "not a directory: $1"
		list_host "$phys"
	elif [[ -d $phys ]]; then
		[[ $mode == copy ]] || die "not a file: $1"
		while IFS= read -r -d '' f; do
			list_host "$f"
			if is_elf "$f"; then add_libs "$f"; fi
		done < <(find "$phys" -print0)
	elif [[ -e $phys ]]; then
		list_host "$phys"
		if [[ $mode == copy ]] && is_elf "$phys"; then add_libs "$phys"; fi
	else
		die "not found: $1"
	fi
	add_path_phys=$phys
}

# POSIX shell single-quoting (busybox sh runs the generated scripts).
shquote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

# --- build the initramfs ----------------------------------------------------
cwd=$PWD
for p in "${payloads[@]}"; do
	[[ $p == /* ]] || p=$cwd/$p
	[[ -e $p || -L $p ]] || die "payload not found: $p"
	add_path "$p" copy 0
done
# ldd names the dynamic loader too; add the usual one explicitly anyway.
if [[ $dynamic -eq 1 && -e /lib64/ld-linux-x86-64.so.2 ]]; then
	add_path /lib64/ld-linux-x86-64.so.2 lib 0
fi
# Standard directories, mirroring the host's merged-/usr symlinks, and the
# cwd's skeleton.
for d in /bin /sbin /lib /lib64 /usr/bin /usr/sbin /etc "$cwd"; do
	if [[ -d $d ]]; then add_path "$d" mkdir 0; fi
done

mkdir -p "$root"/{proc,sys,dev,tmp,run,var/tmp,etc,root} "$root/svm-host/bin" "$root/svm-host/modules"
chmod 1777 "$root/tmp" "$root/var/tmp"
cp "$cache_dir/busybox" "$root/svm-host/bin/busybox"
# kvm-hold (kvm-hold.c says why): built static, once per source change.
if [[ ! -x $cache_dir/kvm-hold || $script_dir/kvm-hold.c -nt $cache_dir/kvm-hold ]]; then
	cc -O2 -static -Wall -Wextra -Werror -o "$tmp/kvm-hold" "$script_dir/kvm-hold.c" ||
		die "cannot build $script_dir/kvm-hold.c (a C compiler and static libc: build-essential)"
	mv -f "$tmp/kvm-hold" "$cache_dir/kvm-hold"
fi
cp "$cache_dir/kvm-hold" "$root/svm-host/bin/kvm-hold"
ln -s busybox "$root/svm-host/bin/sh"
for l in /bin/sh /usr/bin/env; do
	# Where no payload put one, at the real location of the host's directory.
	d=/svm-host
	if [[ -d ${l%/*} ]]; then
		add_path "${l%/*}" mkdir 0
		d=${add_path_phys%/}
	fi
	if [[ -z ${listed[$d/${l##*/}]:-} ]]; then
		mkdir -p "$root$d"
		ln -sfn /svm-host/bin/busybox "$root$d/${l##*/}"
	fi
done
[[ -n ${listed[/etc/passwd]:-} ]] || printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
[[ -n ${listed[/etc/group]:-} ]] || printf 'root:x:0:\ntty:x:5:\n' >"$root/etc/group"
while IFS= read -r m; do
	[[ -n $m ]] || continue
	cp "$cache_dir/modules/$m" "$root/svm-host/modules/$m"
done <"$cache_dir/modules.order"
cp "$cache_dir/modules.order" "$root/svm-host/modules.order"

# kvm_amd's module parameters (e.g. vgif=0), from SVM_HOST_KVM_AMD_ARGS.
kvm_amd_args=${SVM_HOST_KVM_AMD_ARGS:-}
[[ $kvm_amd_args =~ ^[A-Za-z0-9_=,\ -]*$ ]] || die "SVM_HOST_KVM_AMD_ARGS: only name=value words, got: $kvm_amd_args"

# The heartbeat (init, /dev/ttyS1 -> $tmp/heartbeat): every heartbeat_every
# seconds; none for SVM_HOST_HEARTBEAT_LIMIT seconds (default 240) while
# COMMAND runs means the host is frozen (tests/svm-host/README.md).
heartbeat_every=15
heartbeat_limit=${SVM_HOST_HEARTBEAT_LIMIT:-240}
# A host boots and starts COMMAND in 2-7 s, 20 s on a loaded machine; one
# that has not after SVM_HOST_BOOT_LIMIT s hung while booting (seen: both
# CPUs looping in the kernel, no console, no sysrq answer).
boot_limit=${SVM_HOST_BOOT_LIMIT:-180}
is_uint "$boot_limit" && ((boot_limit >= 30)) ||
	die "SVM_HOST_BOOT_LIMIT must be an integer >= 30 (seconds)"
is_uint "$heartbeat_limit" && ((heartbeat_limit >= 4 * heartbeat_every)) ||
	die "SVM_HOST_HEARTBEAT_LIMIT must be an integer >= $((4 * heartbeat_every)) (seconds)"

# Which of this machine's CPUs QEMU runs on (SVM_HOST_CPUS, a taskset list;
# "all" leaves it unpinned). Default: one, the first this script may use.
# With both TCG threads running at once on an idle machine, the emulated
# SVM corrupted state: the test host's own kernel overflowed its stack in
# an exception loop 14 s into a fio run, and guest triple faults came far
# more often than beside a CPU hog (tests/svm-host/README.md, "One host
# CPU"). On one host CPU the two emulated CPUs take turns.
pin_cpus=${SVM_HOST_CPUS:-}
if [[ -z $pin_cpus ]]; then
	pin_cpus=$(taskset -pc $$ 2>/dev/null | sed -n 's/.*: *\([0-9]*\).*/\1/p')
	[[ -n $pin_cpus ]] || pin_cpus=all # no taskset: nothing to pin with
fi
[[ $pin_cpus == all || $pin_cpus =~ ^[0-9][0-9,-]*$ ]] ||
	die "SVM_HOST_CPUS: a CPU list such as 0 or 0-1, or all; got: $pin_cpus"
pin_cmd=()
if [[ $pin_cpus != all ]]; then
	command -v taskset >/dev/null || die "SVM_HOST_CPUS=$pin_cpus needs taskset (util-linux)"
	pin_cmd=(taskset -c "$pin_cpus")
fi
msg "QEMU: runs on host CPUs $pin_cpus (SVM_HOST_CPUS)"

token="SVMHOST-$(od -An -tx8 -N8 /dev/urandom | tr -d ' \n')"

{
	printf '# generated by tests/svm-host/run.sh\n'
	printf 'export HOME=/root\n'
	for e in "${envs[@]}"; do
		printf 'export %s=%s\n' "${e%%=*}" "$(shquote "${e#*=}")"
	done
	printf 'cd %s || exit 125\n' "$(shquote "$cwd")"
	printf 'exec'
	for a in "$@"; do printf ' %s' "$(shquote "$a")"; done
	printf '\n'
} >"$root/svm-host/cmd"

cat >"$root/init" <<EOF
#!/svm-host/bin/busybox sh
# generated by tests/svm-host/run.sh
bb=/svm-host/bin/busybox
\$bb mount -t proc proc /proc
\$bb --install -s /svm-host/bin
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/svm-host/bin
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
# / is the initramfs's tmpfs: /tmp (which may hold payloads) is already tmpfs.
ln -s /proc/self/fd /dev/fd
ln -s /proc/self/fd/0 /dev/stdin
ln -s /proc/self/fd/1 /dev/stdout
ln -s /proc/self/fd/2 /dev/stderr
while read -r m; do
	args=""
	[ "\$m" = kvm-amd.ko ] && args="$kvm_amd_args"
	insmod "/svm-host/modules/\$m" \$args || echo "svm-host: insmod \$m \$args failed"
done </svm-host/modules.order
if [ ! -c /dev/kvm ]; then
	echo "$token-NOKVM"
	poweroff -f
fi
# One idle VM for the host's lifetime (kvm-hold.c): no SVM enable/disable
# IPI rounds and no LAPIC static-key patching when the tests' VMs come and go.
if [ "${SVM_HOST_KVM_HOLD:-1}" = 1 ]; then
	mkfifo /svm-host/hold
	/svm-host/bin/kvm-hold >/svm-host/hold &
	read -r hold_line </svm-host/hold
	[ "\$hold_line" = "kvm-hold: ready" ] || echo "svm-host: kvm-hold did not start; the tests' VMs enable SVM themselves"
fi
dmesg -n 1
dmesg -c >/dev/null
if [ $interactive = 1 ]; then
	# COMMAND owns the console (ttyS0, QEMU's stdio) as its controlling tty.
	setsid cttyhack sh /svm-host/cmd
	echo "svm-host: COMMAND exited with status \$?"
	poweroff -f
fi
# A heartbeat on the second serial port (a file run.sh watches): a host
# whose timers stop firing stops beating, and is declared frozen long before
# the attempt's timeout.
(while :; do echo beat; sleep $heartbeat_every; done) >/dev/ttyS1 2>/dev/null &
# COMMAND writes into a pipe (not the tty); a process it leaves behind may
# keep the pipe open, so stop waiting for EOF 2 s after COMMAND exits.
mkfifo /svm-host/out
cat /svm-host/out &
cat_pid=\$!
echo "$token-BEGIN"
sh /svm-host/cmd </dev/null >/svm-host/out 2>&1
status=\$?
(sleep 2; kill -PIPE \$cat_pid 2>/dev/null) &
wait \$cat_pid 2>/dev/null
echo "$token-END \$status"
# Kernel (and /dev/kmsg) warnings and errors logged while COMMAND ran; run.sh
# shows them on stderr.
dmesg -r | grep -E '^<([0-4]|[89]|1[0-2])>'
echo "$token-DONE"
poweroff -f
EOF
chmod 0755 "$root/init"

{
	if [[ ${#host_list[@]} -gt 0 ]]; then
		(cd / && printf '%s\0' "${host_list[@]}" | cpio -o -0 -H newc -R 0:0 --quiet)
	fi
	(cd "$root" && find . -mindepth 1 -print0 | LC_ALL=C sort -z | cpio -o -0 -H newc -R 0:0 --quiet)
} >"$tmp/initramfs.cpio"

# --- boot -------------------------------------------------------------------
append="console=ttyS0 quiet panic=-1 rdinit=/init tsc=reliable no_timer_check sysrq_always_enabled=1"
append+=" mitigations=off nokaslr cryptomgr.notests 8250.nr_uarts=2"
append+=" i8042.noaux i8042.nokbd i8042.nopnp random.trust_cpu=on"
# No khugepaged: each collapse is a TLB-flush IPI round, and the emulated
# machine loses IPIs (README.md: a host stuck in khugepaged for 52 s+).
append+=" transparent_hugepage=never"
append+=${SVM_HOST_APPEND:+ $SVM_HOST_APPEND}

qemu_cmd=(
	"${pin_cmd[@]}" "$qemu_bin" -accel "tcg,thread=${SVM_HOST_TCG_THREAD:-multi}" -cpu "EPYC,+svm,+npt"
	-smp "$smp" -m "$mem" -nodefaults -no-user-config -display none
	-serial stdio -serial "file:$tmp/heartbeat" -no-reboot -monitor "unix:$tmp/hmp.sock,server=on,wait=off"
	-kernel "$cache_dir/vmlinuz" -initrd "$tmp/initramfs.cpio" -append "$append"
)
if [[ -n ${SVM_HOST_QEMU_ARGS:-} ]]; then
	read -ra extra <<<"$SVM_HOST_QEMU_ARGS"
	qemu_cmd+=("${extra[@]}")
fi

if ((interactive)); then
	# The terminal goes straight to the guest's serial port: QEMU puts it in
	# raw mode and restores it; signal=off passes Ctrl-C on as a byte.
	for i in "${!qemu_cmd[@]}"; do
		if [[ ${qemu_cmd[$i]} == -serial ]]; then
			qemu_cmd[i+1]=chardev:console0
			break # the first serial port; the second is the heartbeat
		fi
	done
	qemu_cmd+=(-chardev stdio,id=console0,signal=off)
	rc=0
	"${qemu_cmd[@]}" || rc=$?
	exit "$rc"
fi

mkfifo "$tmp/console" "$tmp/serial-in"
# The serial port's input: nothing is typed in normal runs; on a timeout
# run.sh types sysrq keys after a break (frozen_host_evidence). Opened
# read-write so it never blocks and QEMU never sees EOF.
exec {serial_in}<>"$tmp/serial-in"

# Seconds since the host's last heartbeat (since the attempt began, before the first).
heartbeat_age() {
	local now beat
	printf -v now '%(%s)T' -1
	beat=$(stat -c %Y "$tmp/heartbeat" 2>/dev/null) || beat=$attempt_epoch
	((beat >= attempt_epoch)) || beat=$attempt_epoch
	echo $((now - beat))
}

# attempt N -> sets $result: "status <n>", "nokvm", "timeout", "stopped beating", "died"
attempt() {
	local log=$tmp/console.$1 line chunk partial="" deadline now left wait status="" rc
	: >"$log"
	rm -f "$tmp/hmp.sock" "$tmp/heartbeat"
	printf -v attempt_epoch '%(%s)T' -1
	"${qemu_cmd[@]}" <&"$serial_in" >"$tmp/console" 2>"$tmp/qemu.err" &
	qemu_pid=$!
	exec {con}<"$tmp/console"
	deadline=$((SECONDS + timeout))
	local state=boot attempt_start=$SECONDS
	result=died
	while :; do
		now=$SECONDS
		left=$((deadline - now))
		if ((left <= 0)); then
			[[ $state == end ]] || result=timeout
			break
		fi
		# Wake at least every 10 s to look at the heartbeat. A read that
		# times out keeps what it got of a line (bash saves it in chunk).
		wait=$((left < 10 ? left : 10))
		chunk=""
		if IFS= read -r -t "$wait" -u "$con" chunk; then
			line=$partial$chunk
			partial=""
		else
			rc=$?
			if ((rc > 128)); then
				partial+=$chunk
				if ((SECONDS >= deadline)); then
					[[ $state == end ]] || result=timeout
					break
				fi
				if [[ $state == run ]] && (($(heartbeat_age) > heartbeat_limit)); then
					result="stopped beating"
					break
				fi
				if [[ $state == boot ]] && ((SECONDS - attempt_start > boot_limit)); then
					result="never finished booting"
					break
				fi
				continue
			fi
			line=$partial$chunk
			partial=""
			[[ -n $line ]] || break # EOF: QEMU exited
		fi
		line=${line%$'\r'}
		printf '%s\n' "$line" >>"$log"
		((verbose == 0)) || printf '%s\n' "$line" >&2
		case $state in
		boot)
			case $line in
			*"$token-BEGIN"*) state=run ;;
			*"$token-NOKVM"*) result=nokvm; break ;;
			esac
			;;
		run)
			if [[ $line == *"$token-END "* ]]; then
				status=${line##*"$token-END "}
				line=${line%%"$token-END "*}
				[[ -z $line ]] || printf '%s' "$line"
				is_uint "$status" || break
				result="status $status"
				state=end
				# Only the kernel's log is left: wait for it briefly.
				((deadline <= SECONDS + 10)) || deadline=$((SECONDS + 10))
				continue
			fi
			printf '%s\n' "$line"
			;;
		end)
			[[ $line != *"$token-DONE"* ]] || break
			msg "guest kernel: $line"
			;;
		esac
	done
	case $result in timeout | "stopped beating" | "never finished booting") frozen_host_evidence "$log" ;; esac
	exec {con}<&-
	kill "$qemu_pid" 2>/dev/null || true
	wait "$qemu_pid" 2>/dev/null || true
	qemu_pid=""
}

# A timed-out test host: before it is killed, collect what shows where it
# hung (tests/svm-host/README.md, "When the test host hangs"):
#   - QEMU's view of every emulated CPU (HMP `info registers -a`): the
#     instruction pointer, and whether the CPU is in the host kernel, in
#     COMMAND or inside a nested guest;
#   - the host kernel's view, if it still answers: sysrq on the serial
#     console (break, then 9: console log level 9, l: backtraces of the
#     active CPUs, w: blocked tasks), read for a few seconds more.
# Written to stderr and into the attempt's console log.
frozen_host_evidence() { # LOG
	local log=$1 line regs
	regs=$("$script_dir/hmp.pl" "$tmp/hmp.sock" "info registers -a" 2>&1) || true
	msg "QEMU's CPUs now (info registers -a):"
	printf '%s\n' "$regs" | grep -E '^(CPU#|RIP=|CS =|CR0=|EFER=)' >&2 || printf '%s\n' "$regs" | head -n 20 >&2
	for key in 9 l w; do
		"$script_dir/hmp.pl" "$tmp/hmp.sock" "chardev-send-break serial0" >/dev/null 2>&1 || true
		sleep 0.2
		printf '%s' "$key" >&"$serial_in"
		sleep 1
	done
	: >"$tmp/sysrq.$try_no"
	while IFS= read -r -t 8 -u "$con" line; do
		printf '%s\n' "${line%$'\r'}" >>"$tmp/sysrq.$try_no"
	done
	cat "$tmp/sysrq.$try_no" >>"$log"
	if grep -q 'sysrq' "$tmp/sysrq.$try_no"; then
		msg "the test host's kernel answered sysrq (l: CPU backtraces, w: blocked tasks):"
		sed -n '/sysrq/,$p' "$tmp/sysrq.$try_no" | head -n 200 >&2
	else
		msg "the test host's kernel did not answer sysrq within 8 s: it is frozen as a whole"
	fi
}

last_lines() {
	tail -n 20 "$tmp/console.$1" >&2
	local err
	err=$(grep -v -e 'TCG doesn.t support requested feature' -e 'terminating on signal' \
		"$tmp/qemu.err" 2>/dev/null | tail -n 10 || true)
	if [[ -n $err ]]; then
		msg "qemu stderr:"
		printf '%s\n' "$err" >&2
	fi
}

tries=$((retries + 1))
final=125
for ((try = 1; try <= tries; try++)); do
	try_no=$try
	start=$SECONDS
	attempt "$try"
	case $result in
	"status "*)
		exit "${result#status }"
		;;
	nokvm)
		msg "/dev/kvm is missing inside the guest (kvm_amd did not load); last console lines:"
		last_lines "$try"
		exit 125
		;;
	*)
		case $result in
		timeout) why="timed out after $((SECONDS - start)) s" final=124 ;;
		"stopped beating")
			why="frozen: no heartbeat for over $heartbeat_limit s ($((SECONDS - start)) s into the attempt)"
			final=124
			;;
		"never finished booting") why="frozen: COMMAND had not started $boot_limit s after QEMU did" final=124 ;;
		*) why="guest exited before COMMAND finished" final=125 ;; # died
		esac
		msg "$why; last console lines:"
		last_lines "$try"
		;;
	esac
	if ((try < tries)); then
		msg "retrying (attempt $((try + 1)) of $tries)"
		# Collected by tests/suites.sh into make test's summary.
		echo "SQUIB-RETRY: svm-host: the nested test host $result (attempt $try of $tries); whole command run again" >&2
	fi
done
exit "$final"
