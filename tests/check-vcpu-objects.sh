#!/usr/bin/env bash
# tests/check-vcpu-objects.sh OBJ...   (make layout-test, part of make test)
#
# The code that runs in vCPU workers (the freestanding objects the Makefile
# names: common/, proto/ minus its hosted files, vcpu-worker/) calls no
# third-party parser: `nm -u` of those objects may name no msgpack symbol.
# Replies from devices reach vCPU workers as fixed records (proto/reply.h);
# VmExits leave them as msgpack through the header-inline packer only. The
# stack protector's __stack_chk_fail is refused too: those objects run in
# tasks without TLS (docs/DESIGN.md, "vCPU workers are freestanding").
#
# Prints each offending object and symbol and a criterion-style "Synthesis:"
# line; exits 1 when any is found. --self-test plants an object that calls
# msgpack_unpack and checks that this script catches it.
set -uo pipefail

scan() {
	local bad=0 n=0 o syms
	for o in "$@"; do
		n=$((n + 1))
		syms=$(nm -u "$o" | awk '{print $NF}' | grep -E '^(msgpack_|__stack_chk_fail)' || true)
		if [ -n "$syms" ]; then
			bad=$((bad + 1))
			for s in $syms; do echo "$o: calls $s"; done
		fi
	done
	if [ "$n" -eq 0 ]; then
		echo "check-vcpu-objects: no objects named" >&2
		return 2
	fi
	echo "[====] Synthesis: Tested: $n | Passing: $((n - bad)) | Failing: $bad | Crashing: 0 (vCPU-side objects)"
	[ "$bad" -eq 0 ]
}

if [ "${1:-}" = --self-test ]; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	printf 'int msgpack_unpack(void);\nint planted(void);\nint planted(void) { return msgpack_unpack(); }\n' >"$tmp/p.c"
	cc -c "$tmp/p.c" -o "$tmp/p.o" || exit 1
	if scan "$tmp/p.o" >/dev/null; then
		echo "check-vcpu-objects self-test: a planted msgpack_unpack call was not caught" >&2
		exit 1
	fi
	exit 0
fi
scan "$@"
