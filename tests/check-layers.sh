#!/usr/bin/env bash
# tests/check-layers.sh [ROOT]   (make layout-test, part of make test)
#
# Dependencies point down. Every #include "part/..." in a part's .c and .h
# files (subfolders included) must name the part itself or one it may use:
#
#   monitor        -> vcpu-worker proto common sandbox
#   vcpu-worker    -> proto common sandbox
#   device-worker  -> proto common sandbox
#   sandbox        -> proto common
#   proto          -> common
#   common         -> (nothing)
#
# Anything both sides of a process boundary must agree on lives in proto/
# or common/. Prints each sideways include as "file:line: part -> part
# (header)" and a criterion-style "Synthesis:" line (files checked, files
# clean) for tests/suites.sh; exits 1 when any is found.
#
# --self-test plants a sideways include in a scratch copy and checks that
# this script catches it (a check that cannot fail proves nothing).
set -uo pipefail

allowed() {
	case $1 in
	monitor) echo "monitor vcpu-worker proto common sandbox" ;;
	vcpu-worker) echo "vcpu-worker proto common sandbox" ;;
	device-worker) echo "device-worker proto common sandbox" ;;
	sandbox) echo "sandbox proto common" ;;
	proto) echo "proto common" ;;
	common) echo "common" ;;
	esac
}
parts="monitor vcpu-worker device-worker sandbox proto common"

check() {
	local root=$1 part file line inc target ok nfiles=0 nbad_files=0 bad
	for part in $parts; do
		[[ -d $root/$part ]] || { echo "layers: $root/$part is missing" >&2; return 2; }
		while IFS= read -r -d '' file; do
			nfiles=$((nfiles + 1))
			bad=0
			while IFS=: read -r line inc; do
				inc=${inc#*\"}
				inc=${inc%%\"*}
				target=${inc%%/*}
				[[ $inc == */* ]] || continue # a bare "x.h": the file's own folder
				case " $parts " in *" $target "*) ;; *) continue ;; esac
				ok=0
				for a in $(allowed "$part"); do [[ $a == "$target" ]] && ok=1; done
				if ((!ok)); then
					echo "${file#"$root"/}:$line: $part -> $target ($inc): sideways include"
					bad=1
				fi
			done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$file")
			nbad_files=$((nbad_files + bad))
		done < <(find "$root/$part" -name '*.[ch]' -print0)
	done
	echo "layers: $nfiles files, $nbad_files with sideways includes"
	echo "[====] Synthesis: Tested: $nfiles | Passing: $((nfiles - nbad_files)) | Failing: $nbad_files | Crashing: 0"
	((nbad_files == 0))
}

if [[ ${1:-} == --self-test ]]; then
	repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	scratch=$(mktemp -d)
	trap 'rm -rf "$scratch"' EXIT
	for part in $parts; do mkdir -p "$scratch/$part"; done
	printf '#include "proto/ring.h"\n#include "common/compiler.h"\n' >"$scratch/device-worker/ok.c"
	check "$scratch" >/dev/null || { echo "layers self-test: a clean tree was rejected" >&2; exit 1; }
	mkdir -p "$scratch/vcpu-worker/sub"
	printf '#include <stdio.h>\n  #  include "device-worker/models/x.h"\n' >"$scratch/vcpu-worker/sub/bad.h"
	out=$(check "$scratch") && { echo "layers self-test: a sideways include was not caught" >&2; exit 1; }
	[[ $out == *"vcpu-worker/sub/bad.h:2: vcpu-worker -> device-worker"* ]] ||
		{ echo "layers self-test: wrong report: $out" >&2; exit 1; }
	echo "layers self-test: a planted sideways include is caught"
	exit 0
fi

check "${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
