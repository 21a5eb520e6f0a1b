#!/usr/bin/env bash
# guest/linux/build.sh [CACHE_DIR]    (make guest-linux)
#
# Builds squib's default Linux guest from Debian's own packages, without
# installing them on the host: the kernel linux-image-cloud-amd64 depends on
# and busybox-static. Leaves in CACHE_DIR (default <repo>/build/linux-guest):
#   vmlinuz            the bzImage
#   initramfs.cpio     newc cpio, uncompressed (preferred: no gunzip at boot)
#   initramfs.cpio.gz  the same, gzip -9
#   kernel-version     uname -r of the guest
#   modules.order      the modules in the initramfs, in load order
#   initramfs-fio.cpio.gz  initramfs.cpio.gz followed by a second gzipped cpio,
#                      the fio layer: Debian's /usr/bin/fio and its shared
#                      libraries (readelf NEEDED, recursively), for the one
#                      Linux test that runs fio; the default guest is unchanged
#   stamp              package versions and a hash of the inputs; a second run
#                      with nothing changed does nothing
# Installs cpio (and gzip, xz-utils, zstd, dpkg, diffutils) on the host if missing.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$script_dir/../.." && pwd)
cache_dir=${1:-$repo_root/build/linux-guest}
[[ -n $cache_dir && $cache_dir != / ]] || { echo "linux-guest: bad CACHE_DIR" >&2; exit 2; }
case $cache_dir in /*) ;; *) cache_dir=$PWD/$cache_dir ;; esac
cache_dir=${cache_dir%/}

export DP_LOG_PREFIX="linux-guest"
# shellcheck source=guest/linux/debian-pkgs.sh
. "$script_dir/debian-pkgs.sh"
log() { dp_log "$@"; }
die() { dp_die "$@"; }

# Modules for the virtio devices squib offers, loaded dependencies first.
# Whichever the kernel builds in are skipped (noted once). ext4 and crc32c
# (ext4's checksums, requested at mount time, not a depends=) let /init mount
# an ext4 /dev/vda. virtio_pci is not for squib (virtio-mmio) but lets the
# same image use QEMU's virtio-pci disks and NICs when testing it there.
wanted_modules=(virtio virtio_ring virtio_mmio virtio_blk failover net_failover
	virtio_net rng-core virtio_rng crc32c_generic ext4 virtio_pci)
# What busybox lacks: mkfs.ext4 (busybox's mke2fs makes ext2 only), from
# e2fsprogs, with the shared libraries it needs (readelf NEEDED, recursively).
userland_pkgs=(e2fsprogs libext2fs2 libcom-err2 libblkid1 libuuid1 libc6)
# The fio layer's packages: fio and the shared-library packages its Depends
# reach (through library packages only: not python3 and what it pulls in),
# resolved by dp_lib_closure; ~60 packages with Debian 12's fio, Ceph's and
# GlusterFS's client libraries among them.
fio_pkgs=()

step="host tools"
dp_need_tools cpio:cpio gzip:gzip dpkg-deb:dpkg apt-get:apt sha256sum:coreutils readelf:binutils cmp:diffutils

inputs_hash() {
	cat "$script_dir/build.sh" "$script_dir/debian-pkgs.sh" "$script_dir/init" | sha256sum | cut -c1-16
}
cache_complete() {
	[[ -f $cache_dir/stamp && -s $cache_dir/vmlinuz && -s $cache_dir/initramfs.cpio &&
		-s $cache_dir/initramfs.cpio.gz && -s $cache_dir/initramfs-fio.cpio.gz ]]
}
# Fast path: same apt lists and configuration, same inputs as when the image
# was built or last checked, so the same packages.
fastpath="lists=$(dp_lists_fingerprint) inputs=$(inputs_hash)"
if cache_complete && [[ -f $cache_dir/fastpath && $(<"$cache_dir/fastpath") == "$fastpath" ]]; then
	log "up to date in $cache_dir ($(<"$cache_dir/kernel-version"))"
	exit 0
fi
write_fastpath() { # DIR: after any apt-get update, the lists are final
	printf 'lists=%s inputs=%s\n' "$(dp_lists_fingerprint)" "$(inputs_hash)" >"$1/fastpath.tmp"
	mv -f "$1/fastpath.tmp" "$1/fastpath"
}

step="resolve"
dp_resolve cloud-amd64
resolve_fio() {
	fio_pkgs=()
	mapfile -t fio_pkgs < <(dp_lib_closure fio || true)
	[[ ${#fio_pkgs[@]} -gt 1 && ${fio_pkgs[0]} == fio ]]
}
if dp_resolved && ! resolve_fio; then
	dp_apt_update_once
	resolve_fio || fio_pkgs=()
fi
make_stamp() {
	stamp="kernel=$DP_KPKG=$DP_KVER busybox-static=$DP_BBVER $(dp_versions "${userland_pkgs[@]}") modules=${wanted_modules[*]} fio-layer=[$(dp_versions "${fio_pkgs[@]}")] inputs=$(inputs_hash)"
}
if ! dp_resolved || [[ ${#fio_pkgs[@]} -eq 0 ]]; then
	if cache_complete; then
		log "warning: cannot resolve package versions; keeping the image in $cache_dir"
		exit 0
	fi
	[[ -n $DP_KPKG ]] || die "resolve: cannot find the package linux-image-cloud-amd64 depends on"
	dp_resolved || die "resolve: no candidate version for $DP_KPKG or busybox-static"
	die "resolve: cannot find fio and the library packages it depends on (apt-cache depends --recurse fio)"
fi
make_stamp
if cache_complete && [[ $(<"$cache_dir/stamp") == "$stamp" ]]; then
	write_fastpath "$cache_dir"
	log "up to date in $cache_dir ($DP_KPKG $DP_KVER)"
	exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/linux-guest.XXXXXX")
trap 'rm -rf "$tmp" "$cache_dir.new"' EXIT
chmod 0755 "$tmp" # apt-get download runs as _apt and must reach $tmp/debs
trap 'die "$step: failed (line $LINENO)"' ERR
trap 'exit 130' INT TERM HUP

step="download"
mkdir "$tmp/debs"
dp_download "$tmp/debs"
make_stamp # the versions may have changed if the lists were refreshed

step="unpack"
dp_unpack "$tmp/debs"
case $DP_KREL in *[!A-Za-z0-9._+-]*) die "unpack: odd kernel release '$DP_KREL'" ;; esac

step="userland"
mkdir "$tmp/userdebs" "$tmp/userland"
dp_download_pkgs "$tmp/userdebs" "${userland_pkgs[@]}"
for deb in "$tmp"/userdebs/*.deb; do dpkg-deb -x "$deb" "$tmp/userland"; done
mke2fs_path=$(cd "$tmp/userland" && find . -path '*sbin/mke2fs' -type f | head -n 1)
[[ -n $mke2fs_path ]] || die "userland: e2fsprogs has no mke2fs"
root=$tmp/root
dp_elf_closure "$tmp/userland" "$root" "${mke2fs_path#./}"
# The program's PT_INTERP; libc6 has it in lib/x86_64-linux-gnu.
interp=$(readelf -l "$tmp/userland/${mke2fs_path#./}" | sed -n 's/.*interpreter: \(.*\)\]/\1/p')
[[ $interp == /lib64/ld-linux-x86-64.so.2 ]] || die "userland: unexpected interpreter '$interp'"
if [[ ! -e $root$interp ]]; then
	mkdir -p "$root/lib64"
	ln -s /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$root$interp"
fi
# mke2fs picks its defaults from its name (mkfs.ext4 -> ext4) and
# /etc/mke2fs.conf. It replaces busybox's ext2-only mke2fs applet.
mkdir -p "$root/etc" "$root/$(dirname "${mke2fs_path#./}")"
ln -s mke2fs "$root/$(dirname "${mke2fs_path#./}")/mkfs.ext4"
cp "$tmp/userland/etc/mke2fs.conf" "$root/etc/mke2fs.conf"

step="modules"
present=() skipped=()
for m in "${wanted_modules[@]}"; do
	if [[ -n $(dp_find_module "$m") ]]; then
		present+=("$m")
	elif dp_module_is_builtin "$m"; then
		skipped+=("$m(built in)")
	else
		skipped+=("$m(absent)")
	fi
done
[[ ${#skipped[@]} -eq 0 ]] || log "not modules, skipped: ${skipped[*]}"
dp_module_closure "$root/lib/modules" "${present[@]}"

step="initramfs tree"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,mnt,tmp,root,etc}
chmod 1777 "$root/tmp"
chmod 0700 "$root/root"
install -m 0755 "$DP_BUSYBOX" "$root/bin/busybox"
install -m 0755 "$script_dir/init" "$root/init"
printf '%s\n' "${DP_ORDER[@]}" >"$root/lib/modules/load-order"
printf '%s\n' "$DP_KREL" >"$root/etc/kernel-version"
# Applet links, made now so /init need not run `busybox --install` at boot.
# The busybox is a static x86-64 binary: ask it for its applets if it runs
# here, else /init installs the links itself.
if applets=$("$root/bin/busybox" --list-full 2>/dev/null) && [[ -n $applets ]]; then
	while IFS= read -r a; do
		[[ $a =~ ^(usr/)?s?bin/[^/]+$ && $a != */. && $a != */.. ]] || continue
		[[ -e $root/$a || -L $root/$a ]] && continue
		ln -s /bin/busybox "$root/$a"
	done <<<"$applets"
else
	log "cannot run busybox here: /init will run busybox --install -s at boot"
fi
# /dev/console, so the kernel can give /init its console before devtmpfs is up.
mknod -m 0600 "$root/dev/console" c 5 1 2>/dev/null || log "no mknod: /init reopens /dev/console itself"

step="cpio"
out=$tmp/out
mkdir "$out"
cpio_flags=(--null -o -H newc -R 0:0 --quiet)
if cpio --help 2>/dev/null | grep -q -- --reproducible; then cpio_flags+=(--reproducible); fi
make_cpio() { # TREE OUT
	# Same inputs, same bytes: fixed mtimes, sorted names, no inode/device numbers.
	find "$1" -exec touch -h -d @0 {} +
	(cd "$1" && find . -mindepth 1 -print0 | LC_ALL=C sort -z | cpio "${cpio_flags[@]}") >"$2"
}
make_cpio "$root" "$out/initramfs.cpio"
gzip -9 -n -c "$out/initramfs.cpio" >"$out/initramfs.cpio.gz"
cp "$DP_VMLINUZ" "$out/vmlinuz"
if [[ -f $DP_MODDIR/../../../boot/config-$DP_KREL ]]; then
	cp "$DP_MODDIR/../../../boot/config-$DP_KREL" "$out/kernel-config"
fi
printf '%s\n' "$DP_KREL" >"$out/kernel-version"
printf '%s\n' "${DP_ORDER[@]}" >"$out/modules.order"

step="fio layer"
# A second cpio after the base one: Linux unpacks every archive of a
# concatenated initrd over the same rootfs, each compressed or not.
mkdir "$tmp/fiodebs" "$tmp/fioland" "$tmp/fio"
dp_download_pkgs "$tmp/fiodebs" "${fio_pkgs[@]}"
make_stamp # as after the first download
for deb in "$tmp"/fiodebs/*.deb; do
	dpkg-deb -x "$deb" "$tmp/fioland" || die "fio layer: dpkg-deb -x ${deb##*/} failed"
done
[[ -f $tmp/fioland/usr/bin/fio ]] || die "fio layer: the fio package has no usr/bin/fio"
fio_interp=$(readelf -l "$tmp/fioland/usr/bin/fio" | sed -n 's/.*interpreter: \(.*\)\]/\1/p')
[[ $fio_interp == "$interp" ]] || die "fio layer: fio's interpreter is '$fio_interp', the base has '$interp'"
dp_elf_closure "$tmp/fioland" "$tmp/fio" usr/bin/fio
# Whatever the base already has byte for byte (libc6's libc.so.6, the
# libblkid1, libuuid1 and libcom-err2 of mkfs.ext4) stays out of the layer.
while IFS= read -r -d '' f; do
	if [[ -f $root/$f ]] && cmp -s "$root/$f" "$tmp/fio/$f"; then rm -f "$tmp/fio/$f"; fi
done < <(cd "$tmp/fio" && find . -type f -print0)
find "$tmp/fio" -mindepth 1 -type d -empty -delete
# The layer's directories (the kernel does not make missing parents) are
# applied over the base's: same mode.
find "$tmp/fio" -type d -exec chmod 0755 {} +
fio_files=$(find "$tmp/fio" -type f | wc -l)
make_cpio "$tmp/fio" "$tmp/fio-layer.cpio"
gzip -9 -n -c "$tmp/fio-layer.cpio" >"$tmp/fio-layer.cpio.gz"
cat "$out/initramfs.cpio.gz" "$tmp/fio-layer.cpio.gz" >"$out/initramfs-fio.cpio.gz"
fio_sizes="$fio_files files, cpio $(stat -c %s "$tmp/fio-layer.cpio") bytes, gzip $(stat -c %s "$tmp/fio-layer.cpio.gz")"
printf '%s\n' "$stamp" >"$out/stamp"
write_fastpath "$out"

step="install"
# Swap the new image in: a reader sees the old cache or the new one.
mkdir -p "$(dirname "$cache_dir")"
rm -rf "$cache_dir.new"
mv "$out" "$cache_dir.new"
if [[ -d $cache_dir ]]; then
	rm -rf "$cache_dir.old"
	mv "$cache_dir" "$cache_dir.old"
fi
mv "$cache_dir.new" "$cache_dir"
rm -rf "$cache_dir.old"
log "ready in $cache_dir: $DP_KPKG $DP_KVER ($DP_KREL), busybox $DP_BBVER"
log "initramfs: $(stat -c %s "$cache_dir/initramfs.cpio") bytes, gzip $(stat -c %s "$cache_dir/initramfs.cpio.gz"); modules: ${DP_ORDER[*]}"
log "fio layer (${#fio_pkgs[@]} packages): $fio_sizes; initramfs-fio.cpio.gz $(stat -c %s "$cache_dir/initramfs-fio.cpio.gz") bytes"
