# ops_lib.sh — shared by the ops suites (source after tests/lib.sh).
#
# op_private_bpffs "$0" "$@": re-run the calling script in its own mount
# namespace with a fresh bpffs on /sys/fs/bpf, so that RP_PIN_DIR
# (/sys/fs/bpf/rempart) of these tests never meets another suite's (or the
# host's) pinned dataplane.  Network namespaces entered with `nsenter --net`
# keep this mount namespace (unlike `ip netns exec`, which remounts /sys).
op_private_bpffs() {
	if [ -z "${OP_PRIVATE_NS:-}" ]; then
		OP_PRIVATE_NS=1 exec unshare --mount --propagation private bash "$@"
	fi
	mount -t bpf bpf /sys/fs/bpf || { skip "$(basename "$1"): cannot mount bpffs"; exit 0; }
}
