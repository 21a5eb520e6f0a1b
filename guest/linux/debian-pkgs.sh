# shellcheck shell=bash
# guest/linux/debian-pkgs.sh - sourced (bash) library: Debian's kernel and
# busybox packages, fetched and unpacked without installing them on the host.
#
# Used by guest/linux/build.sh (the default Linux guest) and
# tests/svm-host/prepare.sh (the nested test host). Callers run under `set -euo pipefail` and set
# DP_LOG_PREFIX before sourcing. Everything here is a function; nothing runs
# at source time. Results come back in DP_* globals:
#
#   dp_apt_update_once                 apt-get update, at most once per run
#   dp_need_tools CMD:PKG...           apt-get install PKG for each missing CMD
#   dp_resolve [FLAVOUR]               DP_KPKG DP_KVER DP_BBVER (linux-image-
#                                      <abi>-FLAVOUR the metapackage depends on,
#                                      busybox-static); updates lists if needed
#   dp_resolved                        true when all three are known
#   dp_download DIR                    apt-get download both .debs into DIR
#                                      (refreshes the lists once if stale)
#   dp_unpack DIR                      DIR/kernel, DIR/busybox extracted; sets
#                                      DP_MODDIR DP_KREL DP_VMLINUZ DP_BUSYBOX
#   dp_module_is_builtin NAME          true if modules.builtin lists NAME
#   dp_find_module NAME                path of NAME.ko[.xz|.zst|.gz] or empty
#   dp_lists_fingerprint               hash of apt lists + config (fast check)
#   dp_versions PKG...                 "PKG=VERSION ..." of the candidates (empty
#                                      VERSION when apt has none); one apt-cache
#   dp_download_pkgs DIR PKG...        apt-get download PKG=candidate into DIR
#   dp_lib_closure PKG...              PKG and every shared-library package
#                                      (Section libs) its Depends/Pre-Depends
#                                      reach through library packages only,
#                                      one a line; two apt-cache calls
#   dp_elf_closure ROOT OUTROOT FILE   FILE (a path inside the unpacked tree
#                                      ROOT) and the shared libraries it needs,
#                                      recursively, copied to the same paths
#                                      under OUTROOT (readelf NEEDED, looked up
#                                      in the needing object's RUNPATH/RPATH,
#                                      then in ROOT's lib directories)
#   dp_module_closure OUTDIR NAME...   NAME and its depends=, recursively,
#                                      decompressed into OUTDIR; DP_ORDER gets
#                                      the file names in load order (deps first)

DP_LOG_PREFIX=${DP_LOG_PREFIX:-debian-pkgs}
dp_log() { printf '%s: %s\n' "$DP_LOG_PREFIX" "$*" >&2; }
dp_die() { dp_log "error: $*"; exit 1; }

export DEBIAN_FRONTEND=noninteractive
DP_APT_UPDATED=0
dp_apt_update_once() {
	if [[ $DP_APT_UPDATED -eq 0 ]]; then
		dp_log "apt-get update"
		apt-get update -qq >&2 || dp_log "warning: apt-get update failed"
		DP_APT_UPDATED=1
	fi
}

dp_need_tools() { # CMD:PKG ...
	local spec missing=() apt_log
	for spec in "$@"; do
		command -v "${spec%%:*}" >/dev/null 2>&1 || missing+=("${spec#*:}")
	done
	[[ ${#missing[@]} -gt 0 ]] || return 0
	[[ $(id -u) -eq 0 ]] || dp_die "host tools: need root to apt-get install ${missing[*]}"
	dp_apt_update_once
	dp_log "installing ${missing[*]}"
	apt_log=$(mktemp)
	if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >"$apt_log" 2>&1; then
		tail -n 30 "$apt_log" >&2
		rm -f "$apt_log"
		dp_die "host tools: apt-get install ${missing[*]} failed"
	fi
	rm -f "$apt_log"
}

dp_candidate_version() { # PKG -> candidate version or empty
	apt-cache policy "$1" 2>/dev/null | awk '$1 == "Candidate:" { print $2; exit }'
}
dp_kernel_image_pkg() { # FLAVOUR -> versioned linux-image package the metapackage depends on
	apt-cache depends "linux-image-$1" 2>/dev/null |
		awk -v f="$1" '$1 == "Depends:" && $2 ~ ("^linux-image-[0-9].*-" f "$") { print $2; exit }'
}

DP_FLAVOUR=cloud-amd64
DP_KPKG="" DP_KVER="" DP_BBVER=""
dp_resolve_now() {
	DP_KPKG=$(dp_kernel_image_pkg "$DP_FLAVOUR" || true)
	DP_KVER=""
	if [[ -n $DP_KPKG ]]; then DP_KVER=$(dp_candidate_version "$DP_KPKG" || true); fi
	DP_BBVER=$(dp_candidate_version busybox-static || true)
}
dp_resolved() {
	[[ -n $DP_KPKG && -n $DP_KVER && $DP_KVER != "(none)" && -n $DP_BBVER && $DP_BBVER != "(none)" ]]
}
dp_resolve() { # [FLAVOUR]
	DP_FLAVOUR=${1:-cloud-amd64}
	[[ $DP_FLAVOUR =~ ^[a-z0-9][a-z0-9.+-]*$ ]] || dp_die "resolve: bad kernel flavour '$DP_FLAVOUR'"
	dp_resolve_now
	if ! dp_resolved; then
		dp_apt_update_once
		dp_resolve_now
	fi
}

dp_candidate_versions() { # PKG... -> "PKG VERSION" lines, one apt-cache call (none for unknown PKGs)
	apt-cache policy "$@" 2>/dev/null | awk '
		/^[^ ]/ { p = $0; sub(/:$/, "", p); sub(/:[a-z0-9]+$/, "", p); next }
		$1 == "Candidate:" && p != "" { print p, $2; p = "" }' || true
}
dp_versions() { # PKG... -> PKG=VERSION ...
	local p name ver pairs=()
	local -A v=()
	[[ $# -gt 0 ]] || { echo; return 0; }
	while read -r name ver; do v[$name]=$ver; done < <(dp_candidate_versions "$@")
	for p in "$@"; do pairs+=("$p=${v[$p]:-}"); done
	printf '%s\n' "${pairs[*]}"
}

_dp_download_specs() { # PKG... -> DP_SPECS (PKG=candidate), dies naming those without one
	local p name ver missing=()
	local -A v=()
	while read -r name ver; do v[$name]=$ver; done < <(dp_candidate_versions "$@")
	DP_SPECS=()
	for p in "$@"; do
		ver=${v[$p]:-}
		if [[ -z $ver || $ver == "(none)" ]]; then missing+=("$p"); else DP_SPECS+=("$p=$ver"); fi
	done
	[[ ${#missing[@]} -eq 0 ]] || return 1
}
dp_download_pkgs() { # DIR PKG...
	local dir=$1
	shift
	chmod 0755 "$dir"
	if id _apt >/dev/null 2>&1; then chown _apt "$dir" 2>/dev/null || true; fi
	if _dp_download_specs "$@"; then
		dp_log "downloading ${#DP_SPECS[@]} packages: ${DP_SPECS[*]}"
		(cd "$dir" && apt-get download -q "${DP_SPECS[@]}" >&2) && return 0
		[[ $DP_APT_UPDATED -eq 0 ]] || dp_die "download: apt-get download ${DP_SPECS[*]} failed"
	fi
	# No candidate, or stale lists naming files the mirror no longer has: refresh once.
	dp_apt_update_once
	_dp_download_specs "$@" || dp_die "download: apt has no candidate version for some of: $*"
	rm -f "$dir"/*.deb
	(cd "$dir" && apt-get download -q "${DP_SPECS[@]}" >&2) || dp_die "download: apt-get download ${DP_SPECS[*]} failed"
}

dp_lib_closure() { # PKG... -> PKG... and the library packages their Depends reach, one a line
	local deps real sections
	deps=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
		--no-replaces --no-enhances "$@" 2>/dev/null) || return 1
	# Package stanzas start in column 0; <virtual> ones have no Section.
	real=$(awk '/^[^ <]/ { print $1 }' <<<"$deps" | LC_ALL=C sort -u)
	[[ -n $real ]] || return 1
	# shellcheck disable=SC2086 # package names, one a word
	sections=$(apt-cache show --no-all-versions $real 2>/dev/null |
		awk '/^Package:/ { p = $2 } /^Section:/ { print p, $2 }' || true)
	# Breadth first from the PKGs, into a dependency only if it is a shared-library
	# package (Section libs, or oldlibs, in any component). Every alternative of a
	# "|Depends:" group that is a library is taken.
	awk -v roots="$*" '
		FNR == NR { if ($2 ~ /(^|\/)(old)?libs$/) lib[$1] = 1; next }
		/^[^ ]/ { cur = $1; next }
		$1 ~ /^\|?(Pre)?Depends:$/ { dep[cur] = dep[cur] " " $2 }
		END {
			n = split(roots, q, " ")
			for (i = 1; i <= n; i++) seen[q[i]] = 1
			for (i = 1; i <= n; i++) {
				m = split(dep[q[i]], d, " ")
				for (k = 1; k <= m; k++)
					if (!(d[k] in seen) && (d[k] in lib)) { seen[d[k]] = 1; q[++n] = d[k] }
			}
			for (i = 1; i <= n; i++) print q[i]
		}' <(printf '%s\n' "$sections") <(printf '%s\n' "$deps")
}

_dp_find_lib() { # ROOT NAME -> path inside ROOT (a regular file or a link to one)
	local d
	for d in lib/x86_64-linux-gnu usr/lib/x86_64-linux-gnu lib64 lib usr/lib; do
		if [[ -e $1/$d/$2 ]]; then
			printf '%s\n' "$d/$2"
			return 0
		fi
	done
	return 1
}

_dp_find_in_path() { # ROOT ORIGIN PATHLIST NAME -> path inside ROOT via a RUNPATH/RPATH list
	local root=$1 origin=$2 dir d
	local -a dirs
	IFS=: read -ra dirs <<<"$3"
	for dir in "${dirs[@]}"; do
		dir=${dir//\$\{ORIGIN\}/\/$origin}
		dir=${dir//\$ORIGIN/\/$origin}
		[[ $dir == /* ]] || continue # relative entries are relative to the cwd: ignored
		d=${dir#/}
		d=${d%/}
		if [[ -e $root/$d/$4 ]]; then
			printf '%s\n' "$d/$4"
			return 0
		fi
	done
	return 1
}

dp_elf_closure() { # ROOT OUTROOT FILE (relative to ROOT)
	local root=$1 out=$2 todo=("$3") f lib rel dyn rpath
	declare -A seen=()
	while [[ ${#todo[@]} -gt 0 ]]; do
		f=${todo[0]}
		todo=("${todo[@]:1}")
		[[ -z ${seen[$f]:-} ]] || continue
		seen[$f]=1
		mkdir -p "$out/$(dirname "$f")"
		cp -L "$root/$f" "$out/$f"
		dyn=$(readelf -d "$root/$f") || dp_die "userland: readelf -d $f failed"
		# ld.so looks in the object's own RUNPATH (else RPATH) before the
		# default directories: Ceph's libraries find theirs in .../ceph that way.
		rpath=$(sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p' <<<"$dyn")
		[[ -n $rpath ]] || rpath=$(sed -n 's/.*(RPATH).*\[\(.*\)\]/\1/p' <<<"$dyn")
		while read -r lib; do
			[[ -n $lib ]] || continue
			rel=""
			[[ -z $rpath ]] || rel=$(_dp_find_in_path "$root" "$(dirname "$f")" "$rpath" "$lib") || rel=""
			[[ -n $rel ]] || rel=$(_dp_find_lib "$root" "$lib") ||
				dp_die "userland: $f needs $lib, which no downloaded package has"
			todo+=("$rel")
		done < <(sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' <<<"$dyn")
	done
}

dp_download() { # DIR
	local dir=$1
	# apt-get download drops privileges to _apt; let it write there.
	chmod 0755 "$dir"
	if id _apt >/dev/null 2>&1; then chown _apt "$dir" 2>/dev/null || true; fi
	_dp_download_try() {
		dp_log "downloading $DP_KPKG=$DP_KVER busybox-static=$DP_BBVER"
		(cd "$dir" && apt-get download -q "$DP_KPKG=$DP_KVER" "busybox-static=$DP_BBVER" >&2)
	}
	if ! _dp_download_try; then
		# Stale package lists name files the mirror no longer has: refresh once.
		[[ $DP_APT_UPDATED -eq 0 ]] || dp_die "download: apt-get download failed"
		dp_apt_update_once
		dp_resolve_now
		dp_resolved || dp_die "download: cannot resolve packages after apt-get update"
		rm -f "$dir"/*.deb
		_dp_download_try || dp_die "download: apt-get download failed"
	fi
}

DP_MODDIR="" DP_KREL="" DP_VMLINUZ="" DP_BUSYBOX=""
dp_unpack() { # DIR (holding the two .debs) -> DIR/kernel DIR/busybox
	local dir=$1 cand
	local -a kdebs bbdebs moddirs
	shopt -s nullglob
	kdebs=("$dir"/linux-image-*.deb)
	bbdebs=("$dir"/busybox-static_*.deb)
	shopt -u nullglob
	[[ ${#kdebs[@]} -eq 1 && ${#bbdebs[@]} -eq 1 ]] ||
		dp_die "unpack: expected one kernel and one busybox .deb in $dir"
	dpkg-deb -x "${kdebs[0]}" "$dir/kernel" || dp_die "unpack: dpkg-deb -x ${kdebs[0]##*/} failed"
	dpkg-deb -x "${bbdebs[0]}" "$dir/busybox" || dp_die "unpack: dpkg-deb -x ${bbdebs[0]##*/} failed"

	# Kernel release = the single directory under lib/modules.
	shopt -s nullglob
	moddirs=("$dir"/kernel/lib/modules/*/ "$dir"/kernel/usr/lib/modules/*/)
	shopt -u nullglob
	[[ ${#moddirs[@]} -eq 1 ]] || dp_die "unpack: expected one lib/modules/<release> dir, found ${#moddirs[@]}"
	DP_MODDIR=${moddirs[0]%/}
	DP_KREL=${DP_MODDIR##*/}

	DP_VMLINUZ=""
	for cand in "$dir/kernel/boot/vmlinuz-$DP_KREL" "$dir/kernel/boot/vmlinuz" "$DP_MODDIR/vmlinuz"; do
		if [[ -f $cand ]]; then DP_VMLINUZ=$cand; break; fi
	done
	[[ -n $DP_VMLINUZ ]] || dp_die "unpack: vmlinuz not found in $DP_KPKG"

	DP_BUSYBOX=""
	for cand in "$dir/busybox/bin/busybox" "$dir/busybox/usr/bin/busybox"; do
		if [[ -f $cand ]]; then DP_BUSYBOX=$cand; break; fi
	done
	[[ -n $DP_BUSYBOX ]] || dp_die "unpack: busybox binary not found in busybox-static"
}

dp_module_is_builtin() { # NAME ('-' and '_' interchangeable)
	local f=$DP_MODDIR/modules.builtin pat=${1//[-_]/[-_]}
	[[ -f $f ]] || return 1
	# Lines look like kernel/drivers/virtio/virtio.ko
	LC_ALL=C grep -Eq "(^|/)$pat\.ko$" "$f"
}

dp_find_module() { # NAME -> path of NAME.ko[.xz|.zst|.gz] ('-' and '_' interchangeable)
	local pat=${1//[-_]/[-_]}
	find "$DP_MODDIR" -type f \( -name "$pat.ko" -o -name "$pat.ko.*" \) -print -quit
}

dp_module_plain() { # PATH DEST -> DEST is the uncompressed module
	case $1 in
	*.ko) cp "$1" "$2" ;;
	*.ko.xz) xz -dc "$1" >"$2" ;;
	*.ko.zst) zstd -qdc "$1" >"$2" ;;
	*.ko.gz) gzip -dc "$1" >"$2" ;;
	*) dp_die "modules: unknown module format: $1" ;;
	esac || dp_die "modules: cannot decompress $1"
}

dp_module_depends() { # KO (uncompressed) -> dependency names, one a line
	local deps
	if command -v modinfo >/dev/null 2>&1; then
		deps=$(modinfo -F depends "$1")
	else
		# .modinfo holds NUL-terminated key=value strings.
		deps=$(tr '\0' '\n' <"$1" | LC_ALL=C grep -a -m1 '^depends=' | cut -d= -f2- || true)
	fi
	tr ',' '\n' <<<"$deps" | sed '/^$/d'
}

DP_ORDER=()
declare -gA DP_STATE=() # name -> visiting|done
_dp_visit() { # OUTDIR NAME
	local out=$1 name=${2//-/_} file plain dep
	case ${DP_STATE[$name]:-} in
	done) return 0 ;;
	visiting) dp_die "modules: dependency cycle at $2" ;;
	esac
	[[ $2 =~ ^[A-Za-z0-9_-]+$ ]] || dp_die "modules: bad module name '$2'"
	DP_STATE[$name]=visiting
	file=$(dp_find_module "$2")
	[[ -n $file ]] || dp_die "modules: $2 not found under $DP_MODDIR (built in? then drop it)"
	plain="$out/$(basename "${file%.ko*}").ko"
	dp_module_plain "$file" "$plain"
	while IFS= read -r dep; do
		_dp_visit "$out" "$dep"
	done < <(dp_module_depends "$plain")
	DP_STATE[$name]="done"
	DP_ORDER+=("$(basename "$plain")")
}
dp_module_closure() { # OUTDIR NAME...
	local out=$1 m
	shift
	mkdir -p "$out"
	for m in "$@"; do _dp_visit "$out" "$m"; done
}

dp_lists_fingerprint() { # -> hash of the apt lists and configuration
	# apt-cache re-reads every list (there may be no pkgcache.bin) and takes
	# ~1.5 s here; candidate versions change only when these files do.
	{
		find /var/lib/apt/lists -maxdepth 1 -type f ! -name lock -printf '%f %s %T@\n'
		find /etc/apt -type f -printf '%p %s %T@\n'
	} 2>/dev/null | LC_ALL=C sort | sha256sum | cut -c1-16
}
