#!/usr/bin/env bash
# tests/check-references.sh [ROOT]   (make layout-test, part of make test)
#
# Every path the project's text names must exist: a comment, README or
# Makefile line that says "see monitor/boot/bzimage.c" or
# "docs/DESIGN.md, \"Some section\"" must lead somewhere after files move.
# Checked: paths under the project's folders (monitor/, vcpu-worker/,
# device-worker/, proto/, common/, sandbox/, tests/, guest/, docs/) ending
# in .c .h .md .sh .S .ld .pl .py, in every tracked text file; and for
# docs/DESIGN.md "Section" references, that the section heading exists.
# Globs (monitor/*.c) and paths inside build/ are not references; the
# tests/check-*.sh scripts are skipped (their self-tests name planted paths).
#
# --self-test plants a dangling reference and checks it is caught.
set -uo pipefail

check() {
	local root=$1 bad=0 n=0 ref file sec
	cd "$root" || return 2
	while IFS= read -r ref; do
		n=$((n + 1))
		file=${ref#*:}
		[[ -e $file ]] && continue
		echo "${ref%%:*}: names $file, which does not exist"
		bad=$((bad + 1))
	done < <(git ls-files -z -- . ':!tests/check-*.sh' 2>/dev/null | xargs -0 grep -IoE '(^|[^A-Za-z0-9_./-])(monitor|vcpu-worker|device-worker|proto|common|sandbox|tests|guest|docs)/[A-Za-z0-9_./-]+\.(c|h|md|sh|S|ld|pl|py)\b' 2>/dev/null |
		sed -E 's/:[^A-Za-z0-9_.\/-]?((monitor|vcpu-worker|device-worker|proto|common|sandbox|tests|guest|docs)\/)/:\1/' | sort -u)
	while IFS= read -r ref; do
		n=$((n + 1))
		sec=${ref#*DESIGN.md, \"}
		sec=${sec%%\"*}
		grep -qxF "## $sec" docs/DESIGN.md || grep -qxF "### $sec" docs/DESIGN.md && continue
		echo "${ref%%:*}: names the section \"$sec\" of docs/DESIGN.md, which has no such heading"
		bad=$((bad + 1))
	done < <(git ls-files -z -- . ':!tests/check-*.sh' 2>/dev/null | xargs -0 grep -IoE 'DESIGN\.md, "[^"]+"' 2>/dev/null | sort -u)
	echo "references: $n checked, $bad dangling"
	echo "[====] Synthesis: Tested: $n | Passing: $((n - bad)) | Failing: $bad | Crashing: 0"
	((bad == 0))
}

if [[ ${1:-} == --self-test ]]; then
	scratch=$(mktemp -d)
	trap 'rm -rf "$scratch"' EXIT
	(
		cd "$scratch" && git init -q && mkdir -p monitor docs &&
			printf '## Real\n' >docs/DESIGN.md &&
			printf '/* see monitor/a.c and docs/DESIGN.md, "Real" */\n' >monitor/a.c &&
			git add -A
	) || exit 1
	check "$scratch" >/dev/null || { echo "references self-test: a clean tree was rejected" >&2; exit 1; }
	printf '/* see monitor/gone.c; docs/DESIGN.md, "Missing" */\n' >"$scratch/monitor/b.c"
	(cd "$scratch" && git add -A) || exit 1
	out=$(check "$scratch") && { echo "references self-test: dangling references were not caught" >&2; exit 1; }
	[[ $out == *"monitor/b.c: names monitor/gone.c"* && $out == *'section "Missing"'* ]] ||
		{ echo "references self-test: wrong report: $out" >&2; exit 1; }
	echo "references self-test: planted dangling references are caught"
	exit 0
fi

check "${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
