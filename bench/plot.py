#!/usr/bin/python3
"""Bar charts of a benchmark run, one PNG per measure and scale.

    bench/plot.py bench/results/DATE-HOST.json OUTDIR [--prefix P] [--note TEXT]

Reads run-all.sh's results file (or bench_*.sh's JSON lines) and writes
OUTDIR/P-MEASURE-SCALE.png, P being the results file's name without .json
(DATE-HOST for run-all.sh's), so the figures can be redrawn without
rerunning the benchmarks.  Prints the files written, one a line.

Each bar is the median over the rounds, its error bar the range (min-max);
a series measured once has no error bar, and a baseline that run-all.sh
kept as a median alone is labelled so.  rempart, nft, iptables + ipset and
no filter stand side by side where the comparison has them.  Honest by
construction: the value axis starts at 0 with its unit on it; the caption
names the date, commit, machine and the run's settings (and says a
BENCH_QUICK run is a smoke run, not figures for the record); a measure that was
not taken is absent (marked "not measured"), never drawn as 0, and a figure
with no measure at all is not written.

Uses Debian's python3-matplotlib (mk/deps.mk BENCH_DEB_PACKAGES), hence
/usr/bin/python3.
"""
import argparse
import json
import os
import re
import sys
import textwrap

FILTERS = [('rempart', 'rempart'), ('nft', 'nft'), ('ipt', 'iptables + ipset'), ('none', 'no filter')]
COLOURS = {'rempart': '#1f77b4', 'rempart-part': '#9ecae1', 'nft': '#ff7f0e', 'ipt': '#2ca02c',
           'none': '#7f7f7f', 'trivial': '#bbbbbb', 'trie': '#d62728'}

# compare: MEASURE (file name) -> title, metric key, unit, divisor, extra rempart series
COMPARE = [
    ('load', 'Load from nothing', 'load_ms', 'ms', 1,
     [('load_policy_ms', 'rempart: policy alone')]),
    ('change', 'Change one rule', 'change_ms', 'ms', 1, []),
    ('kmem', 'Kernel memory (memcg)', 'kmem_bytes', 'MB', 1e6,
     [('kmem_bpf_bytes', 'rempart without wireguard-go')]),
    ('blocked-ns', 'Blocked flood: receive CPU per packet', 'blocked_ns_per_pkt', 'ns/packet', 1, []),
    ('blocked-pps', 'Blocked flood: packets taken at full speed', 'blocked_pps', 'million packets/s', 1e6, []),
    ('blocked-lossfree-pps', 'Blocked flood: highest rate without loss', 'blocked_lossfree_pps',
     'million packets/s', 1e6, []),
    ('allowed-ns', 'Allowed flood: receive CPU per packet', 'allowed_ns_per_pkt', 'ns/packet', 1, []),
    ('allowed-pps', 'Allowed flood: packets taken at full speed', 'allowed_pps', 'million packets/s', 1e6, []),
    ('fwd-ns', 'Forwarding site to cloud: CPU per packet', 'fwd_ns_per_pkt', 'ns/packet', 1, []),
    ('fwd-pps', 'Forwarding site to cloud: packets/s', 'fwd_pps', 'million packets/s', 1e6, []),
]
PROGRAMS = ['uplink_in', 'uplink_out', 'cloud_in', 'tunnel_in']


def load(path):
    text = open(path).read()
    try:
        d = json.loads(text)
        if isinstance(d, dict):
            return d.get('machine', {}), d.get('results', [])
    except ValueError:
        pass
    return {}, [json.loads(l) for l in text.splitlines() if l.startswith('{')]


class Figure:
    """One chart: groups along x, each a list of (label, colour, result or
    None, median_only) bars."""

    def __init__(self, measure, scale, title, unit, div=1):
        self.measure, self.scale, self.title, self.unit, self.div = measure, scale, title, unit, div
        self.groups = []

    def group(self, label, bars):
        self.groups.append((label, bars))

    def has_data(self):
        return any(measured(r) for _, bars in self.groups for _, _, r, _ in bars)


def measured(r):
    return r is not None and isinstance(r.get('value'), (int, float))


def compare_figures(by):
    scales = []
    for m in by:
        g = re.match(r'^([a-z0-9]+)_(load|change|kmem|blocked|allowed|fwd)_', m)
        if g and by[m].get('bench') == 'compare' and g.group(1) not in scales:
            scales.append(g.group(1))
    out = []
    for scale in scales:
        for measure, title, key, unit, div, extra in COMPARE:
            f = Figure(measure, scale, '%s, %s scale' % (title, scale), unit, div)
            bars = []
            for fid, label in FILTERS:
                r = by.get('%s_%s_%s' % (scale, key, fid))
                if fid == 'none' and r is None and key in ('load_ms', 'change_ms', 'kmem_bytes'):
                    continue        # not applicable: nothing to load without a filter
                bars.append((label, COLOURS[fid], r, False))
                if fid == 'rempart':
                    for k, lab in extra:
                        bars.append((lab, COLOURS['rempart-part'], by.get('%s_%s_rempart' % (scale, k)), False))
            f.group('', bars)
            out.append(f)
    return out


def dataplane_figures(by):
    counts = sorted({int(g.group(1)) for m in by for g in [re.match(r'^[a-z_]+_(?:ns|pps|xdp_pass)_(\d+)_rules$', m)]
                     if g and by[m].get('bench') == 'dataplane'})
    out = []
    for n in counts:
        for kind, title, unit, div in (('ns', 'Dataplane: time per packet (BPF_PROG_TEST_RUN)', 'ns/packet', 1),
                                       ('pps', 'Dataplane: packets per second (native XDP on a veth)',
                                        'million packets/s', 1e6)):
            f = Figure('dataplane-' + kind, '%d-rules' % n, '%s, %d rules' % (title, n), unit, div)
            for p in PROGRAMS:
                r = by.get('%s_%s_%d_rules' % (p, kind, n))
                b = by.get('xdp_pass_%s_with_%s_%d_rules' % (kind, p, n))
                if r is None and b is None:
                    continue
                f.group(p, [('rempart program', COLOURS['rempart'], r, False),
                            ('trivial XDP_PASS, same run', COLOURS['trivial'], b, False)])
            out.append(f)
        f = Figure('dataplane-veth-ns', '%d-rules' % n,
                   'Dataplane on a veth: ns above a trivial XDP_PASS, %d rules' % n, 'ns/frame')
        for p in PROGRAMS:
            r = by.get('%s_veth_ns_above_xdp_pass_%d_rules' % (p, n))
            if r is not None:
                f.group(p, [('rempart program less trivial XDP_PASS', COLOURS['rempart'], r, False)])
        out.append(f)
    return out


def geo_figures(by):
    out = []
    for pat in ('random', 'repeated'):
        f = Figure('geo', pat, 'Geo lookup: time per packet, %s addresses' % pat, 'ns/packet')
        for fam in ('v4', 'v6'):
            bars = [('rempart geo image', COLOURS['rempart'], by.get('%s_%s_pkt_geo' % (fam, pat)), False),
                    ('BPF LPM trie', COLOURS['trie'], by.get('%s_%s_pkt_trie' % (fam, pat)), False),
                    ('no lookup', COLOURS['none'], by.get('%s_%s_pkt_none' % (fam, pat)), False)]
            if any(r is not None for _, _, r, _ in bars):
                f.group('IPv' + fam[1], bars)
        out.append(f)
    return out


def audit_figures(by):
    out = []
    for m, r in by.items():
        g = re.match(r'^audit_([a-z0-9]+)_ms$', m)
        if not g or r.get('bench') != 'audit':
            continue
        scale = g.group(1)
        f = Figure('audit', scale, 'Audit, %s scale' % scale, 'ms')
        base = None
        if isinstance(r.get('baseline'), (int, float)):
            base = {'value': r['baseline'], 'rounds': r.get('rounds')}
        f.group('', [('rempart audit --json', COLOURS['rempart'], r, False),
                     ('rempart diff --json', COLOURS['rempart-part'], base, True),
                     ('rempart apply from nothing', COLOURS['trivial'], by.get('audit_%s_apply_ms' % scale), False)])
        out.append(f)
    return out


def tunnel_figures(by):
    f = Figure('tunnel-mbps', 'wireguard-go', 'TCP through a wireguard-go tunnel (iperf3)', 'Mbit/s')
    f.group('', [('no program', COLOURS['none'], by.get('tunnel_mbps_off'), False),
                 ('trivial XDP_PASS', COLOURS['trivial'], by.get('tunnel_mbps_xdp_pass'), False),
                 ('rempart', COLOURS['rempart'], by.get('tunnel_mbps_on'), False)])
    return [f]


def caption(machine, note):
    parts = []
    if machine.get('date'):
        parts.append(machine['date'])
    if machine.get('commit'):
        parts.append('commit ' + machine['commit'])
    host = machine.get('host')
    if host:
        parts.append('%s: %s, %s cores, Linux %s' % (host, machine.get('cpu', '?'), machine.get('cores', '?'),
                                                  machine.get('kernel', '?')))
    line = ' · '.join(parts) if parts else 'machine unknown (no "machine" in the results file)'
    settings = machine.get('settings') or ''
    if settings:
        line += '\nsettings: ' + settings
    if re.search(r'(^| )BENCH_QUICK=\S', settings):
        line += '\nBENCH_QUICK: a smoke run with tiny settings, not figures for the record'
    if note:
        line += '\n' + note
    return line


def fmt(v):
    return '%.3g' % v if abs(v) < 1000 else '{:,}'.format(round(v))


def rounds_text(rounds):
    """'3 rounds each', or per bar when they differ."""
    if rounds and all(n == rounds[0][1] and not mo for _, n, mo in rounds):
        return '%s rounds each' % rounds[0][1]
    return '; '.join('%s: %s rounds%s' % (lab, n, ', median only' if mo else '') for lab, n, mo in rounds)


def draw(f, path, cap):
    """Writes the figure; returns its value axis limits and its bar count
    (tests/bench/plot.sh)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    labels = []         # legend order, first seen
    for _, bars in f.groups:
        for lab, col, _, _ in bars:
            if lab not in [l for l, _ in labels]:
                labels.append((lab, col))
    nser = len(labels)
    width = 0.8 / max(nser, 1)
    fw = max(6.4, 1.6 + 1.1 * nser * len(f.groups))
    fig, ax = plt.subplots(figsize=(fw, 4.8))
    top = 0
    rounds = []
    for gi, (glabel, bars) in enumerate(f.groups):
        for lab, col, r, median_only in bars:
            si = [l for l, _ in labels].index(lab)
            x = gi + (si - (nser - 1) / 2) * width
            if not measured(r):
                ax.text(x, 0, 'not\nmeasured', ha='center', va='bottom', fontsize=7, color='#555555')
                continue
            v = r['value'] / f.div
            lo = r.get('min')
            hi = r.get('max')
            err = None
            if not median_only and isinstance(lo, (int, float)) and isinstance(hi, (int, float)) and \
                    (r.get('rounds') or 1) > 1:
                err = [[max(v - lo / f.div, 0)], [max(hi / f.div - v, 0)]]
                top = max(top, hi / f.div)
            top = max(top, v)
            ax.bar(x, v, width * 0.92, color=col, yerr=err, capsize=4, ecolor='black',
                   error_kw={'elinewidth': 1})
            ax.text(x, v, fmt(v), ha='center', va='bottom', fontsize=7,
                    bbox={'facecolor': 'white', 'alpha': 0.7, 'linewidth': 0, 'pad': 1})
            rounds.append(('%s%s' % (glabel + ' ' if glabel else '', lab), r.get('rounds', '?'), median_only))
    ax.set_ylim(0, top * 1.15 if top > 0 else 1)
    ax.set_ylabel(f.unit)
    ax.set_xticks(range(len(f.groups)))
    ax.set_xticklabels([g for g, _ in f.groups])
    if len(f.groups) == 1 and not f.groups[0][0]:
        ax.set_xticks([])
    ax.set_title(textwrap.fill(f.title, int(fw * 9.5)), fontsize=11)
    from matplotlib.patches import Patch
    ax.legend(handles=[Patch(color=c, label=l) for l, c in labels], fontsize=8, loc='upper left',
              bbox_to_anchor=(1.01, 1), borderaxespad=0)
    ax.grid(axis='y', alpha=0.3)
    ax.set_axisbelow(True)
    text = cap + '\nbar: median; error bar: min-max over the rounds (' + rounds_text(rounds) + ')'
    lines = [w for l in text.split('\n') for w in textwrap.wrap(l, int(fw * 100 / 5.3)) or ['']]
    fig.text(0.01, 0.01, '\n'.join(lines), fontsize=6.5, va='bottom', ha='left')
    fig.tight_layout(rect=(0, min(0.05 + 0.024 * len(lines), 0.4), 1, 1))
    fig.savefig(path, dpi=100)
    ylim = ax.get_ylim()
    nbars = len(ax.patches)
    plt.close(fig)
    return ylim, nbars


def main():
    ap = argparse.ArgumentParser(description='Bar charts of a benchmark results file.')
    ap.add_argument('results')
    ap.add_argument('outdir')
    ap.add_argument('--prefix', help='file name prefix (default: the results file name without .json)')
    ap.add_argument('--note', default='', help='a line for every caption (for example: smoke run, tiny settings)')
    a = ap.parse_args()
    machine, results = load(a.results)
    by = {}
    for r in results:
        if isinstance(r, dict) and r.get('metric'):
            by[r['metric']] = r
    prefix = a.prefix or re.sub(r'\.jsonl?$', '', os.path.basename(a.results))
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        sys.exit('plot.py: python3-matplotlib is missing (make bench installs it)')
    os.makedirs(a.outdir, exist_ok=True)
    cap = caption(machine, a.note)
    n = 0
    for f in compare_figures(by) + dataplane_figures(by) + geo_figures(by) + audit_figures(by) + tunnel_figures(by):
        if not f.has_data():
            continue
        path = os.path.join(a.outdir, '%s-%s-%s.png' % (prefix, f.measure, f.scale))
        draw(f, path, cap)
        print(path)
        n += 1
    print('plot.py: %d figures in %s' % (n, a.outdir), file=sys.stderr)


if __name__ == '__main__':
    main()
