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
cache_complete() {
	[[ -f $cache_dir/stamp && -s $cache_dir/vmlinuz && -x $cache_dir/busybox &&
		-s $cache_dir/modules.order ]]
}
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

# Swap the new cache in.
mkdir -p "$(dirname "$cache_dir")"
rm -rf "$cache_dir.new"
mv "$tmp/out" "$cache_dir.new"
rm -rf "$cache_dir"
mv "$cache_dir.new" "$cache_dir"
log "ready in $cache_dir: $kpkg $kver ($krel), busybox $bbver, modules: ${order[*]}"
