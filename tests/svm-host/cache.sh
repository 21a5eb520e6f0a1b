# shellcheck shell=bash
# Sourced by prepare.sh and run.sh: the one test of whether prepare.sh's
# kernel cache in DIR is complete (its QEMU, DIR/qemu/, is checked apart).
svm_host_cache_complete() {
	local dir=$1
	[[ -f $dir/stamp && -s $dir/vmlinuz && -x $dir/busybox && -s $dir/modules.order ]]
}
