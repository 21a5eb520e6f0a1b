#!/usr/bin/env bash
# prepare.sh [CACHE_DIR]
#
# Fetches what tests/svm-host/run.sh needs to boot a throwaway QEMU (TCG)
# guest whose /dev/kvm is kvm_amd with nested paging:
#   CACHE_DIR/vmlinuz        Debian cloud kernel (linux-image-*-cloud-amd64)
#   CACHE_DIR/busybox        static busybox (busybox-static)
#   CACHE_DIR/modules/*.ko   irqbypass, kvm, kvm-amd and their dependencies
#   CACHE_DIR/modules.order  module file names, in load order
#   CACHE_DIR/kernel-version kernel release (uname -r inside the guest)
#   CACHE_DIR/stamp          package versions the cache was built from
#   CACHE_DIR/qemu/          the QEMU run.sh runs (below: "the emulator");
#                            kept until removed by hand (rm -rf it to fetch
#                            a newer one)
# Installs qemu-system-x86 and cpio on the host if missing. Idempotent: does
# nothing when the stamp matches the current package versions.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$script_dir/../.." && pwd)
cache_dir=${1:-$repo_root/build/svm-host}

# Debian's packages, fetched and unpacked without installing them: the same
# library guest/linux/build.sh uses for the default Linux guest.
export DP_LOG_PREFIX="svm-host prepare"
# shellcheck source=guest/linux/debian-pkgs.sh
. "$repo_root/guest/linux/debian-pkgs.sh"
# shellcheck source=tests/svm-host/cache.sh
. "$script_dir/cache.sh"
log() { dp_log "$*"; }
die() { dp_die "$*"; }

# Modules we need, loaded (with dependencies first) in this order. tun and
# af_packet are for the virtio-net tests (a tap, and AF_PACKET on its host
# side); a kernel that builds one of them in needs no module for it.
wanted_modules=(irqbypass kvm kvm-amd)
optional_modules=(tun af_packet)

# --- host tools -------------------------------------------------------------
dp_need_tools qemu-system-x86_64:qemu-system-x86 cpio:cpio

# --- the emulator -----------------------------------------------------------
# The test host needs a QEMU whose multi-threaded TCG delivers IPIs: Debian
# 12's QEMU 7.2 loses them (README.md: frozen hosts, a host kernel that
# panicked in CI three times running). A system QEMU of version
# $qemu_min_major or later is used as it is; an older one is left installed
# (its libraries serve the newer binary) and QEMU from <codename>-backports
# is unpacked into CACHE_DIR/qemu, with a private apt state, so the
# machine's package sources and installed packages stay as they were.
#   CACHE_DIR/qemu/qemu-system-x86_64  what run.sh runs (a wrapper that
#                                      points QEMU at its own firmware)
#   CACHE_DIR/qemu/stamp               where it came from, and its version
qemu_min_major=10
qemu_major() { # VERSION_LINE -> major version number, or nothing
	sed -n 's/.*version \([0-9][0-9]*\)\..*/\1/p' <<<"$1"
}
qemu_dir=$cache_dir/qemu
prepare_qemu() {
	local sys sys_version version major codename mirror list qtmp debs=() missing
	sys=$(command -v qemu-system-x86_64)
	sys_version=$(qemu_version "$sys")
	major=$(qemu_major "$sys_version")
	if [[ -n $major ]] && ((major >= qemu_min_major)); then
		mkdir -p "$qemu_dir"
		ln -sfn "$sys" "$qemu_dir/qemu-system-x86_64"
		printf 'system %s\n' "$sys_version" >"$qemu_dir/stamp"
		return 0
	fi
	codename=$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-}")
	[[ -n $codename ]] || { log "no VERSION_CODENAME in /etc/os-release"; return 1; }
	mirror=${SVM_HOST_BACKPORTS_MIRROR:-http://deb.debian.org/debian}
	qtmp=$(mktemp -d "${TMPDIR:-/tmp}/svm-host-qemu.XXXXXX")
	chmod 0755 "$qtmp"
	mkdir -p "$qtmp/lists/partial" "$qtmp/cache/archives/partial" "$qtmp/debs" "$qtmp/root"
	if id _apt >/dev/null 2>&1; then chown -R _apt "$qtmp/lists" "$qtmp/cache" "$qtmp/debs" 2>/dev/null || true; fi
	list="deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $codename-backports main"
	printf '%s\n' "$list" >"$qtmp/sources.list"
	local apt_private=(-o "Dir::Etc::SourceList=$qtmp/sources.list" -o Dir::Etc::SourceParts=/nonexistent
		-o "Dir::State::Lists=$qtmp/lists" -o "Dir::Cache=$qtmp/cache" -o Debug::NoLocking=1)
	log "fetching QEMU from $codename-backports (the system's is $sys_version)"
	if ! apt-get "${apt_private[@]}" update -qq >&2 ||
		! (cd "$qtmp/debs" && apt-get "${apt_private[@]}" download -q qemu-system-x86 qemu-system-data seabios >&2); then
		rm -rf "$qtmp"
		log "cannot fetch QEMU from $codename-backports ($mirror)"
		return 1
	fi
	shopt -s nullglob
	debs=("$qtmp"/debs/*.deb)
	shopt -u nullglob
	((${#debs[@]} == 3)) || { log "unexpected downloads: $(ls "$qtmp/debs")"; rm -rf "$qtmp"; return 1; }
	for d in "${debs[@]}"; do dpkg-deb -x "$d" "$qtmp/root"; done
	missing=$(ldd "$qtmp/root/usr/bin/qemu-system-x86_64" 2>&1 | awk '/not found/ { print $1 }' | tr '\n' ' ')
	if [[ -n $missing ]]; then
		log "QEMU from $codename-backports needs libraries this machine lacks: $missing"
		rm -rf "$qtmp"
		return 1
	fi
	version=$(qemu_version "$qtmp/root/usr/bin/qemu-system-x86_64")
	major=$(qemu_major "$version")
	if [[ -z $major ]] || ((major < qemu_min_major)); then
		log "$codename-backports has QEMU ${major:-of unknown version}, older than $qemu_min_major"
		rm -rf "$qtmp"
		return 1
	fi
	# The firmware QEMU looks for first: the package's own, then SeaBIOS's.
	cat >"$qtmp/root/qemu-system-x86_64" <<-EOF
	#!/bin/sh
	# generated by tests/svm-host/prepare.sh: QEMU from $codename-backports, with its own firmware
	here=\$(dirname "\$0")
	exec "\$here/usr/bin/qemu-system-x86_64" -L "\$here/usr/share/qemu" -L "\$here/usr/share/seabios" "\$@"
	EOF
	chmod 0755 "$qtmp/root/qemu-system-x86_64"
	printf 'backports %s\n' "$version" >"$qtmp/root/stamp"
	rm -rf "$qemu_dir"
	mkdir -p "$cache_dir"
	mv "$qtmp/root" "$qemu_dir"
	rm -rf "$qtmp"
	log "QEMU ready in $qemu_dir: $(cut -d' ' -f2- "$qemu_dir/stamp")"
}
if [[ ! -s $qemu_dir/stamp || ! -x $qemu_dir/qemu-system-x86_64 ]]; then
	if ! prepare_qemu; then
		rm -rf "$qemu_dir"
		log "warning: the test host runs on the system's QEMU ($(qemu_version qemu-system-x86_64)), which loses IPIs under SVM: expect frozen test hosts and their printed retries (tests/svm-host/README.md)"
	fi
fi

# --- resolve package versions -----------------------------------------------
cache_complete() { svm_host_cache_complete "$cache_dir"; }
dp_resolve cloud-amd64
if ! dp_resolved; then
	if cache_complete; then
		log "warning: cannot resolve package versions; keeping the cache in $cache_dir"
		exit 0
	fi
	[[ -n $DP_KPKG ]] || die "cannot resolve the package linux-image-cloud-amd64 depends on"
	die "no candidate version for $DP_KPKG or busybox-static"
fi

make_stamp() { stamp="kernel=$DP_KPKG=$DP_KVER busybox-static=$DP_BBVER modules=${wanted_modules[*]} optional=${optional_modules[*]}"; }
make_stamp
if cache_complete && [[ $(<"$cache_dir/stamp") == "$stamp" ]]; then
	log "cache up to date in $cache_dir ($DP_KPKG $DP_KVER)"
	exit 0
fi

# --- download, extract, resolve module dependencies --------------------------
tmp=$(mktemp -d "${TMPDIR:-/tmp}/svm-host-prepare.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
chmod 0755 "$tmp" # apt-get download drops privileges to _apt, which must reach debs/
mkdir "$tmp/debs"
dp_download "$tmp/debs"
make_stamp # a refresh inside dp_download may have resolved newer versions
dp_unpack "$tmp/debs"

mkdir -p "$tmp/out/modules"
DP_ORDER=()
dp_module_closure "$tmp/out/modules" "${wanted_modules[@]}"
for m in "${optional_modules[@]}"; do
	if [[ -n $(dp_find_module "$m") ]]; then
		dp_module_closure "$tmp/out/modules" "$m"
	else
		log "module $m: not a module (built in, or absent)"
	fi
done

cp "$DP_VMLINUZ" "$tmp/out/vmlinuz"
cp "$DP_BUSYBOX" "$tmp/out/busybox"
chmod 0755 "$tmp/out/busybox"
printf '%s\n' "${DP_ORDER[@]}" >"$tmp/out/modules.order"
printf '%s\n' "$DP_KREL" >"$tmp/out/kernel-version"
printf '%s\n' "$DP_KPKG=$DP_KVER" >"$tmp/out/kernel-package"
printf '%s\n' "$stamp" >"$tmp/out/stamp"

# Swap the new cache in, keeping the QEMU chosen above.
mkdir -p "$(dirname "$cache_dir")"
[[ ! -d $qemu_dir ]] || mv "$qemu_dir" "$tmp/out/qemu"
rm -rf "$cache_dir.new"
mv "$tmp/out" "$cache_dir.new"
rm -rf "$cache_dir"
mv "$cache_dir.new" "$cache_dir"
log "ready in $cache_dir: $DP_KPKG $DP_KVER ($DP_KREL), busybox $DP_BBVER, modules: ${DP_ORDER[*]}"
