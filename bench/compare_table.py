#!/usr/bin/env python3
"""Markdown tables of the comparison (bench_compare.sh) from a results file.

    bench/compare_table.py bench/results/DATE-HOST.json   (run-all.sh output)
    bench/compare_table.py FILE.jsonl                     (bench_compare.sh lines)

One table per scale: one row per measure, one column per filter (median,
[min-max]), and rempart's ratio to nftables (how many times better).
"""
import json
import sys

FILTERS = ['rempart', 'nft', 'ipt', 'none']
ROWS = [
    ('load_ms', 'load from nothing (ms)'),
    ('load_policy_ms', '… rempart: the policy alone (config, geo, BPF) (ms)'),
    ('load_tunnels_ms', '… rempart: the tunnels alone (links, routes, wireguard-go, NAT) (ms)'),
    ('change_ms', 'change one rule (ms)'),
    ('kmem_bytes', 'kernel memory, memcg (MB)'),
    ('kmem_bpf_bytes', '… rempart without its wireguard-go tunnels (MB)'),
    ('slab_kb', 'Slab change, system-wide (MB)'),
    ('blocked_ns_per_pkt', 'blocked flood: receive CPU per packet (ns)'),
    ('blocked_pps', 'blocked flood: packets/s taken at full speed'),
    ('blocked_lossfree_pps', 'blocked flood: highest rate without loss (pps)'),
    ('allowed_ns_per_pkt', 'allowed flood: receive CPU per packet (ns)'),
    ('allowed_pps', 'allowed flood: packets/s taken at full speed'),
    ('fwd_ns_per_pkt', 'forwarding site→cloud: CPU per packet (ns)'),
    ('fwd_pps', 'forwarding site→cloud: packets/s'),
]


def load(path):
    text = open(path).read()
    try:
        return [r for r in json.loads(text)['results'] if r.get('bench') in ('compare', 'compare_wg')]
    except (ValueError, KeyError, TypeError):
        return [json.loads(l) for l in text.splitlines() if l.startswith('{')]


def fmt(r, key):
    v = r.get('value')
    if v is None:
        return 'n/m'
    scale = 1
    if key in ('kmem_bytes', 'kmem_bpf_bytes'):
        scale = 1 / 1e6
    elif key == 'slab_kb':
        scale = 1 / 1024
    g = lambda x: ('%.3g' % (x * scale)) if abs(x * scale) < 1000 else '%d' % round(x * scale)
    s = g(v)
    if r.get('rounds', 1) > 1 and r.get('min') is not None:
        s += ' [%s–%s]' % (g(r['min']), g(r['max']))
    return s


def main():
    allres = load(sys.argv[1])
    res = [r for r in allres if r.get('bench') == 'compare']
    wg = [r for r in allres if r.get('bench') == 'compare_wg']
    by = {r['metric']: r for r in res}
    scales = []
    for r in res:
        s = r['metric'].split('_', 1)[0]
        if s not in scales:
            scales.append(s)
    for s in scales:
        pol = by.get(s + '_policy', {})
        print('### %s%s\n' % (s, (': ' + pol['note']) if pol.get('note') else ''))
        print('| measure | rempart | nftables | iptables + ipset | no filter | rempart vs nft |')
        print('| --- | ---: | ---: | ---: | ---: | ---: |')
        for key, label in ROWS:
            cells = []
            any_ = False
            for f in FILTERS:
                r = by.get('%s_%s_%s' % (s, key, f))
                cells.append(fmt(r, key) if r else '')
                any_ = any_ or r is not None
            if not any_:
                continue
            rr = by.get('%s_%s_rempart' % (s, key), {})
            ratio = rr.get('ratio')
            print('| %s | %s | %s |' % (label, ' | '.join(cells), ('%.2f×' % ratio) if ratio and ratio > 0 else ''))
        print()
    if wg:
        print('### WireGuard tunnel (wireguard-go), small config\n')
        print('| measure | median | min | max | rounds | ratio on/off |')
        print('| --- | ---: | ---: | ---: | ---: | ---: |')
        for r in wg:
            print('| %s (%s) | %s | %s | %s | %s | %s |' % (r['metric'], r.get('unit', ''), r.get('value'), r.get('min'),
                  r.get('max'), r.get('rounds'), r.get('ratio', '')))
        print()


if __name__ == '__main__':
    main()
