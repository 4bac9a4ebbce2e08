#!/bin/bash
# Where rempart's kernel memory goes (issue 18, docs/dataplane.md "Where the
# memory goes"): for each scale (bench/gen/gen.py), `rempart apply` into a
# fresh network namespace with a private BPF filesystem, the way
# bench/bench_compare.sh loads it, then
#   - kmem: memory.kmem.usage_in_bytes of a child memory cgroup (v1) the
#     apply ran in, once its wireguard-go processes are stopped (BPF maps,
#     programs and links only: bench_compare's kmem_bpf_bytes_rempart);
#   - every pinned map (bpftool map show pinned): its memlock, which the
#     kernel computes from the map's allocation, grouped by map (the flow
#     tables of all tenants summed, both families).
# Prints one table per scale on stderr and JSON lines on stdout
# ({"bench": "kmem", "metric": "SCALE_kmem_bpf_bytes_rempart" | "SCALE_map_NAME_bytes", ...}).
# A smoke measure (one round): the record is bench_compare's.
#
# Environment: KMEM_SCALES="small large", BUILD, REMPART.  Needs root,
# bpftool, a memory cgroup v1 hierarchy (else no kmem figure); only
# namespaces named kmem* that it creates.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
REMPART=${REMPART:-$BUILD/rempart}
SCALES=${KMEM_SCALES:-small large}
NS=kmem$$
log() { echo "bench_kmem: $(date -u +%T) $*" >&2; }
if [ "$(id -u)" != 0 ]; then log "needs root (namespaces, BPF)"; exit 0; fi
command -v bpftool >/dev/null || { log "bpftool missing"; exit 0; }
[ -x "$REMPART" ] || { log "$REMPART missing: make"; exit 1; }

W=$(mktemp -d /tmp/kmem-bench.XXXXXX)
CG=/sys/fs/cgroup/memory/kmem-bench-$$
HAVE_MEMCG=0
down_ns() {
	local p
	[ -e "$W/mnt" ] && nsenter --net=/run/netns/$NS --mount="$W/mnt" "$REMPART" -c "$W/cfg" down >/dev/null 2>&1
	for p in $(ip netns pids $NS 2>/dev/null); do kill "$p" 2>/dev/null; done
	ip netns del $NS 2>/dev/null
	[ -e "$W/mnt" ] && { umount "$W/mnt" 2>/dev/null; rm -f "$W/mnt"; }
	[ -d "$CG/load" ] && { echo 0 > "$CG/load/memory.force_empty" 2>/dev/null; rmdir "$CG/load" 2>/dev/null; }
}
cleanup() {
	down_ns
	umount "$W" 2>/dev/null
	rmdir "$CG" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mount --bind "$W" "$W" && mount --make-private "$W" || exit 1
if mkdir -p "$CG" 2>/dev/null && [ -e "$CG/memory.kmem.usage_in_bytes" ]; then HAVE_MEMCG=1; fi

one_scale() {
	local scale=$1 t p k=null
	rm -rf "$W/cfg"
	python3 "$TOP/bench/gen/gen.py" "$scale" "$W/cfg" --rempart "$REMPART" >/dev/null 2>&1 ||
		{ log "$scale: gen failed"; return 1; }
	ip netns add $NS || return 1
	ip -n $NS link set lo up
	ip netns exec $NS sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	ip link add cmpup netns $NS type veth peer name cmpupx netns $NS || return 1
	ip -n $NS link set cmpup up
	ip -n $NS addr add 192.0.2.1/24 dev cmpup
	ip -n $NS addr add 2001:db8::1/64 dev cmpup nodad
	for t in $(ls "$W/cfg/tenants.d" | sed 's/\.ini$//'); do
		ip link add cl-$t netns $NS type veth peer name cx-$t netns $NS || return 1
		ip -n $NS link set cl-$t up
	done
	touch "$W/mnt"
	nsenter --net=/run/netns/$NS unshare --mount="$W/mnt" --propagation private sh -c \
		'mount -t sysfs sysfs /sys && mount -t bpf bpf /sys/fs/bpf && mkdir -p /run/wireguard && mount -t tmpfs -o mode=0700 tmpfs /run/wireguard' ||
		return 1
	[ $HAVE_MEMCG = 1 ] && mkdir -p "$CG/load"
	log "$scale: rempart apply"
	(
		[ $HAVE_MEMCG = 1 ] && echo $BASHPID > "$CG/load/cgroup.procs"
		exec nsenter --net=/run/netns/$NS --mount="$W/mnt" "$REMPART" -c "$W/cfg" apply
	) >"$W/apply.log" 2>&1 || { log "$scale: apply failed"; head -5 "$W/apply.log" >&2; return 1; }
	# what stays once the tunnels' wireguard-go processes are gone
	for p in $(ip netns pids $NS); do kill "$p" 2>/dev/null; done
	for p in $(seq 50); do [ -z "$(ip netns pids $NS)" ] && break; sleep 0.1; done
	sleep 0.5
	[ $HAVE_MEMCG = 1 ] && k=$(cat "$CG/load/memory.kmem.usage_in_bytes")
	nsenter --net=/run/netns/$NS --mount="$W/mnt" python3 - "$scale" "$k" <<'PY'
import json, os, re, subprocess, sys
scale, kmem = sys.argv[1], sys.argv[2]
seen, groups = set(), {}
for root, dirs, files in os.walk('/sys/fs/bpf'):
    for f in sorted(files):
        path = os.path.join(root, f)
        r = subprocess.run(['bpftool', '-j', 'map', 'show', 'pinned', path],
                           capture_output=True, text=True)
        if r.returncode:
            continue		# a program or a link
        todo = [json.loads(r.stdout)]
        while todo:
            m = todo.pop()
            if m['id'] in seen:
                continue
            seen.add(m['id'])
            if m.get('type') == 'array_of_maps':	# inner maps not pinned (the geo database's)
                d = subprocess.run(['bpftool', '-j', 'map', 'dump', 'id', str(m['id'])],
                                   capture_output=True, text=True)
                for it in (json.loads(d.stdout) if not d.returncode else []):
                    v = it.get('formatted', it).get('value', it.get('value'))
                    if isinstance(v, list):
                        v = int.from_bytes(bytes(int(x, 16) for x in v[:4]), 'little')
                    if isinstance(v, int) and v not in seen:
                        s = subprocess.run(['bpftool', '-j', 'map', 'show', 'id', str(v)],
                                           capture_output=True, text=True)
                        if not s.returncode:
                            todo.append(json.loads(s.stdout))
            name = m.get('name', f)
            g = re.sub(r'^rp_flow[46]_\d+$', 'flow tables (v4 + v6)', name)
            e = groups.setdefault(g, [0, 0, 0])
            e[0] += 1
            e[1] += m['max_entries']
            e[2] += m.get('bytes_memlock', 0)
rows = sorted(groups.items(), key=lambda kv: -kv[1][2])
total = sum(v[2] for _, v in rows)
w = sys.stderr.write
w(f"\n{scale}: {len(seen)} maps, memlock {total / 1e6:.2f} MB, memcg kmem "
  f"{'n/a' if kmem == 'null' else f'{int(kmem) / 1e6:.2f} MB'} (wireguard-go stopped)\n")
w(f"{'map':32} {'maps':>5} {'entries':>10} {'MB':>8}\n")
for g, (n, e, b) in rows:
    w(f"{g:32} {n:>5} {e:>10} {b / 1e6:>8.2f}\n")
if kmem != 'null':
    print(json.dumps({"bench": "kmem", "metric": f"{scale}_kmem_bpf_bytes_rempart", "unit": "bytes",
                      "rounds": 1, "value": int(kmem)}))
print(json.dumps({"bench": "kmem", "metric": f"{scale}_memlock_bytes_rempart", "unit": "bytes",
                  "rounds": 1, "value": total, "maps": len(seen)}))
for g, (n, e, b) in rows:
    print(json.dumps({"bench": "kmem", "metric": f"{scale}_map_{re.sub(r'[^a-z0-9_]+', '_', g)}_bytes",
                      "unit": "bytes", "value": b, "maps": n, "entries": e}))
PY
}

for s in $SCALES; do
	one_scale "$s" || log "$s: failed"
	down_ns
done
exit 0
