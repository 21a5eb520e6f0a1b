# shellcheck shell=bash
# Sourced by prepare.sh and run.sh: the one test of whether prepare.sh's
# kernel cache in DIR is complete (its QEMU, DIR/qemu/, is checked apart),
# and the one way both name a QEMU binary's version.
svm_host_cache_complete() {
	local dir=$1
	[[ -f $dir/stamp && -s $dir/vmlinuz && -x $dir/busybox && -s $dir/modules.order ]]
}

qemu_version() { # BINARY -> its version line ("QEMU emulator version 10.0.2 ...")
	"$1" --version 2>/dev/null | head -n 1
}
