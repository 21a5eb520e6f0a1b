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

log() { printf 'svm-host prepare: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Modules we need, loaded (with dependencies first) in this order. tun and
# af_packet are for the virtio-net tests (a tap, and AF_PACKET on its host
# side); a kernel that builds one of them in needs no module for it.
wanted_modules=(irqbypass kvm kvm-amd)
optional_modules=(tun af_packet)

export DEBIAN_FRONTEND=noninteractive
apt_updated=0
apt_update_once() {
	if [[ $apt_updated -eq 0 ]]; then
		log "apt-get update"
		apt-get update -qq >&2 || log "warning: apt-get update failed"
		apt_updated=1
	fi
}

# --- host tools -------------------------------------------------------------
missing_pkgs=()
command -v qemu-system-x86_64 >/dev/null 2>&1 || missing_pkgs+=(qemu-system-x86)
command -v cpio >/dev/null 2>&1 || missing_pkgs+=(cpio)
if [[ ${#missing_pkgs[@]} -gt 0 ]]; then
	[[ $(id -u) -eq 0 ]] || die "need root to install: ${missing_pkgs[*]}"
	apt_update_once
	log "installing ${missing_pkgs[*]}"
	apt_log=$(mktemp)
	if ! apt-get install -y -q --no-install-recommends "${missing_pkgs[@]}" >"$apt_log" 2>&1; then
		tail -n 30 "$apt_log" >&2
		rm -f "$apt_log"
		die "apt-get install ${missing_pkgs[*]} failed"
	fi
	rm -f "$apt_log"
fi

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
qemu_version() { # BINARY -> its version line ("QEMU emulator version 10.0.2 ...")
	"$1" --version 2>/dev/null | head -n 1
}
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
candidate_version() { # PKG -> candidate version or empty
	apt-cache policy "$1" 2>/dev/null | awk '$1 == "Candidate:" { print $2; exit }'
}
kernel_image_pkg() { # versioned linux-image package the metapackage depends on
	apt-cache depends linux-image-cloud-amd64 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9].*-cloud-amd64$/ { print $2; exit }'
}

resolve_versions() {
	kpkg=$(kernel_image_pkg || true)
	kver=""
	if [[ -n $kpkg ]]; then kver=$(candidate_version "$kpkg"); fi
	bbver=$(candidate_version busybox-static)
}
resolve_versions
if [[ -z $kver || $kver == "(none)" || -z $bbver || $bbver == "(none)" ]]; then
	apt_update_once
	resolve_versions
fi
# shellcheck source=tests/svm-host/cache.sh
. "$script_dir/cache.sh"
cache_complete() { svm_host_cache_complete "$cache_dir"; }
if [[ -z $kpkg || -z $kver || $kver == "(none)" || -z $bbver || $bbver == "(none)" ]]; then
	if cache_complete; then
		log "warning: cannot resolve package versions; keeping the cache in $cache_dir"
		exit 0
	fi
	[[ -n $kpkg ]] || die "cannot resolve the package linux-image-cloud-amd64 depends on"
	die "no candidate version for $kpkg or busybox-static"
fi

make_stamp() { stamp="kernel=$kpkg=$kver busybox-static=$bbver modules=${wanted_modules[*]} optional=${optional_modules[*]}"; }
make_stamp
if cache_complete && [[ $(<"$cache_dir/stamp") == "$stamp" ]]; then
	log "cache up to date in $cache_dir ($kpkg $kver)"
	exit 0
fi

# --- download and extract ---------------------------------------------------
tmp=$(mktemp -d "${TMPDIR:-/tmp}/svm-host-prepare.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# apt-get download drops privileges to _apt; let it write here.
chmod 0755 "$tmp"
mkdir "$tmp/debs"
if id _apt >/dev/null 2>&1; then chown _apt "$tmp/debs" 2>/dev/null || true; fi

download() {
	log "downloading $kpkg=$kver busybox-static=$bbver"
	(cd "$tmp/debs" && apt-get download -q "$kpkg=$kver" "busybox-static=$bbver" >&2)
}
if ! download; then
	# Stale package lists name files the mirror no longer has: refresh once.
	[[ $apt_updated -eq 0 ]] || die "apt-get download failed"
	apt_update_once
	resolve_versions
	make_stamp
	download || die "apt-get download failed"
fi

shopt -s nullglob
kdebs=("$tmp"/debs/linux-image-*.deb)
bbdebs=("$tmp"/debs/busybox-static_*.deb)
shopt -u nullglob
[[ ${#kdebs[@]} -eq 1 && ${#bbdebs[@]} -eq 1 ]] || die "unexpected downloads: $(ls "$tmp/debs")"

dpkg-deb -x "${kdebs[0]}" "$tmp/kernel"
dpkg-deb -x "${bbdebs[0]}" "$tmp/busybox"

# Kernel release = the single directory under lib/modules.
shopt -s nullglob
moddirs=("$tmp"/kernel/lib/modules/*/ "$tmp"/kernel/usr/lib/modules/*/)
shopt -u nullglob
[[ ${#moddirs[@]} -eq 1 ]] || die "expected one lib/modules/<release> dir, found ${#moddirs[@]}"
moddir=${moddirs[0]%/}
krel=${moddir##*/}

vmlinuz=""
for cand in "$tmp/kernel/boot/vmlinuz-$krel" "$tmp/kernel/boot/vmlinuz" "$moddir/vmlinuz"; do
	if [[ -f $cand ]]; then vmlinuz=$cand; break; fi
done
[[ -n $vmlinuz ]] || die "vmlinuz not found in $kpkg"

bb=""
for cand in "$tmp/busybox/bin/busybox" "$tmp/busybox/usr/bin/busybox"; do
	if [[ -f $cand ]]; then bb=$cand; break; fi
done
[[ -n $bb ]] || die "busybox binary not found in busybox-static"

# --- resolve module dependencies --------------------------------------------
find_module() { # NAME -> path of NAME.ko[.xz|.zst|.gz] ('-' and '_' interchangeable)
	local pat=${1//[-_]/[-_]}
	find "$moddir" -type f \( -name "$pat.ko" -o -name "$pat.ko.*" \) -print -quit
}
module_plain() { # PATH DEST -> DEST is the uncompressed module
	case $1 in
	*.ko) cp "$1" "$2" ;;
	*.ko.xz) xz -dc "$1" >"$2" ;;
	*.ko.zst) zstd -qdc "$1" >"$2" ;;
	*.ko.gz) gzip -dc "$1" >"$2" ;;
	*) die "unknown module format: $1" ;;
	esac
}
module_depends() { # KO -> dependency names, one a line
	local deps
	if command -v modinfo >/dev/null 2>&1; then
		deps=$(modinfo -F depends "$1")
	else
		# .modinfo holds NUL-terminated key=value strings.
		deps=$(tr '\0' '\n' <"$1" | LC_ALL=C grep -a -m1 '^depends=' | cut -d= -f2- || true)
	fi
	tr ',' '\n' <<<"$deps" | sed '/^$/d'
}

mkdir -p "$tmp/out/modules"
order=()
declare -A state=() # name -> visiting|done
visit() {
	local name=${1//-/_} file plain dep
	case ${state[$name]:-} in
	done) return 0 ;;
	visiting) die "module dependency cycle at $1" ;;
	esac
	state[$name]=visiting
	file=$(find_module "$1")
	[[ -n $file ]] || die "module $1 not found under $moddir (built in? then drop it)"
	plain="$tmp/out/modules/$(basename "${file%.ko*}").ko"
	module_plain "$file" "$plain"
	while IFS= read -r dep; do
		visit "$dep"
	done < <(module_depends "$plain")
	state[$name]="done"
	order+=("$(basename "$plain")")
}
for m in "${wanted_modules[@]}"; do visit "$m"; done
for m in "${optional_modules[@]}"; do
	if [[ -n $(find_module "$m") ]]; then visit "$m"; else log "module $m: not a module (built in, or absent)"; fi
done

cp "$vmlinuz" "$tmp/out/vmlinuz"
cp "$bb" "$tmp/out/busybox"
chmod 0755 "$tmp/out/busybox"
printf '%s\n' "${order[@]}" >"$tmp/out/modules.order"
printf '%s\n' "$krel" >"$tmp/out/kernel-version"
printf '%s\n' "$kpkg=$kver" >"$tmp/out/kernel-package"
printf '%s\n' "$stamp" >"$tmp/out/stamp"

# Swap the new cache in, keeping the QEMU chosen above.
mkdir -p "$(dirname "$cache_dir")"
[[ ! -d $qemu_dir ]] || mv "$qemu_dir" "$tmp/out/qemu"
rm -rf "$cache_dir.new"
mv "$tmp/out" "$cache_dir.new"
rm -rf "$cache_dir"
mv "$cache_dir.new" "$cache_dir"
log "ready in $cache_dir: $kpkg $kver ($krel), busybox $bbver, modules: ${order[*]}"
