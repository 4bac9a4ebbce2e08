#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""check_layers.py — userspace/ keeps its layers (userspace/LAYERS).

  check_layers.py [--root DIR] [--objs BUILD/us]

Includes (always): every .c/.h lives in a folder that LAYERS declares; every
include of a userspace header names its folder ("lib/log.h"); a file
includes only its own folder and the folders LAYERS puts below it (a
sibling only where LAYERS orders the two with '<'); no include cycle between
files or between folders; each folder's README.md "May include:" line says
what LAYERS allows.

Calls (with --objs, the compiled objects of userspace/): no call cycle
between files or between folders (the symbols each object defines and
uses, from nm).

Each violation is printed as FILE:LINE: message; exit 1 if there is any.
"""
import argparse
import collections
import os
import re
import subprocess
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def parse_layers(path):
    """LAYERS -> (ordered folders, {folder: folders it may include}, {folder: rank})."""
    ranks = []          # list of lines; each line a list of chains; chain = [folders]
    for lineno, raw in enumerate(open(path), 1):
        line = raw.split('#', 1)[0].split()
        if not line:
            continue
        chains, cur, expect_name = [], [], True
        for tok in line:
            if tok == '<':
                if expect_name or not cur:
                    sys.exit(f"{path}:{lineno}: '<' without a folder before it")
                expect_name = True
                continue
            if not expect_name:         # a new sibling chain
                chains.append(cur)
                cur = []
            cur.append(tok)
            expect_name = False
        if expect_name:
            sys.exit(f"{path}:{lineno}: '<' without a folder after it")
        chains.append(cur)
        ranks.append(chains)
    allowed, below, order, rank = {}, set(), [], {}
    for r, chains in enumerate(ranks):
        here = set()
        for chain in chains:
            for i, f in enumerate(chain):
                if f in allowed or f in here:
                    sys.exit(f"{path}: folder {f} declared twice")
                allowed[f] = set(below) | set(chain[:i])
                here.add(f)
                order.append(f)
                rank[f] = r
        below |= here
    return order, allowed, rank


def sccs(nodes, edges):
    """Strongly connected components of more than one node (iterative Tarjan)."""
    index, low, onstack, stack, out, n = {}, {}, set(), [], [], [0]
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = n[0]
        n[0] += 1
        stack.append(root)
        onstack.add(root)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = n[0]
                    n[0] += 1
                    stack.append(w)
                    onstack.add(w)
                    work.append((w, iter(sorted(edges.get(w, ())))))
                    break
                if w in onstack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        onstack.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


def cycle_in(comp, edges):
    """A shortest cycle through the first node of COMP: [a, b, ..., a]."""
    start, members = comp[0], set(comp)
    prev, todo = {start: None}, [start]
    while todo:
        nxt = []
        for v in todo:
            for w in sorted(edges.get(v, ())):
                if w == start:
                    path = [v]
                    while prev[path[-1]] is not None:
                        path.append(prev[path[-1]])
                    return [start] + path[::-1][1:] + [start] if v != start else [start, start]
                if w in members and w not in prev:
                    prev[w] = v
                    nxt.append(w)
        todo = nxt
    return comp + [comp[0]]


def folder_of(rel):
    return os.path.dirname(rel)


def check_includes(root, order, allowed, rank, errors):
    files = []
    for d, _, names in os.walk(root):
        for name in names:
            if name.endswith(('.c', '.h')):
                files.append(os.path.relpath(os.path.join(d, name), root))
    files.sort()
    fedges = collections.defaultdict(set)       # file -> files
    dedges = collections.defaultdict(dict)      # folder -> {folder: "file:line"}
    n_inc = 0
    for rel in files:
        folder = folder_of(rel)
        if folder not in allowed:
            errors.append(f"userspace/{rel}:1: folder '{folder or '.'}' is not a layer of "
                          f"userspace/LAYERS")
            continue
        for lineno, line in enumerate(open(os.path.join(root, rel), errors='replace'), 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            inc = m.group(1)
            where = f"userspace/{rel}:{lineno}"
            if '/' not in inc:
                if os.path.exists(os.path.join(root, folder, inc)):
                    errors.append(f'{where}: #include "{inc}" names no folder '
                                  f'(write "{os.path.join(folder, inc)}")')
                continue        # outside userspace/ (bpf/, the skeletons, wireguard.h)
            if not os.path.exists(os.path.join(root, inc)):
                continue
            n_inc += 1
            target = folder_of(inc)
            fedges[rel].add(inc)
            if target == folder:
                continue
            dedges[folder].setdefault(target, where)
            if target not in allowed:
                errors.append(f'{where}: #include "{inc}": folder {target} is not a layer')
            elif target not in allowed[folder]:
                rel_rank = "above" if rank[target] > rank[folder] else "beside"
                errors.append(f'{where}: #include "{inc}": {target}/ is {rel_rank} '
                              f'{folder}/ in userspace/LAYERS ({folder}/ may include: '
                              f'{", ".join(f + "/" for f in order if f in allowed[folder]) or "nothing"})')
    for comp in sccs(sorted(fedges), fedges):
        cyc = cycle_in(comp, fedges)
        errors.append(f"userspace/{cyc[0]}:1: include cycle between files: {' -> '.join(cyc)}")
    for comp in sccs(sorted(dedges), dedges):
        cyc = cycle_in(comp, dedges)
        hops = " -> ".join(f"{b}/ ({dedges[a][b]})" for a, b in zip(cyc, cyc[1:]))
        errors.append(f"{dedges[cyc[0]][cyc[1]]}: include cycle between folders: {cyc[0]}/ -> {hops}")
    return len(files), n_inc


def check_readmes(root, order, allowed, errors):
    for f in order:
        readme = os.path.join(root, f, 'README.md')
        if not os.path.isdir(os.path.join(root, f)):
            continue        # declared for a layer still to come
        if not os.path.exists(readme):
            errors.append(f"userspace/{f}/README.md:1: missing (what the folder holds, "
                          f"and a 'May include:' line)")
            continue
        said = None
        for lineno, line in enumerate(open(readme), 1):
            if line.startswith('May include:'):
                words = {w.strip(' .`/\n') for w in line[len('May include:'):].split(',')}
                said = (lineno, words - {'', 'nothing'})
                break
        if said is None:
            errors.append(f"userspace/{f}/README.md:1: no 'May include:' line")
        elif said[1] != allowed[f]:
            want = ", ".join(x + "/" for x in order if x in allowed[f]) or "nothing"
            errors.append(f"userspace/{f}/README.md:{said[0]}: 'May include:' disagrees with "
                          f"userspace/LAYERS, which says: {want}")


def check_calls(root, objdir, errors):
    defs, uses, units = {}, collections.defaultdict(set), set()
    for d, _, names in os.walk(objdir):
        for name in names:
            path = os.path.join(d, name)
            unit = os.path.relpath(path, objdir)[:-2]
            # only the objects of today's sources: not embeddable-wg.o, not
            # what a file moved or removed since left behind
            if not name.endswith('.o') or not os.path.exists(os.path.join(root, unit + '.c')):
                continue
            units.add(unit)
            out = subprocess.run(['nm', path], capture_output=True, text=True, check=True).stdout
            for line in out.splitlines():
                p = line.split()
                if len(p) == 2 and p[0] == 'U':
                    uses[unit].add(p[1])
                elif len(p) == 3 and p[1] in 'TDBRVWG':
                    defs[p[2]] = unit
    if not defs:
        errors.append(f"{objdir}:1: no objects to read (build first)")
        return 0
    fedges, why = collections.defaultdict(set), {}
    for unit, syms in uses.items():
        for s in sorted(syms):
            d = defs.get(s)
            if d and d != unit:
                fedges[unit].add(d)
                why.setdefault((unit, d), s)
    for comp in sccs(sorted(fedges), fedges):
        cyc = cycle_in(comp, fedges)
        hops = " -> ".join(f"{b} ({why[(a, b)]})" for a, b in zip(cyc, cyc[1:]))
        errors.append(f"userspace/{cyc[0]}.c:1: call cycle between files: {cyc[0]} -> {hops}")
    dedges = collections.defaultdict(set)
    for a, bs in fedges.items():
        for b in bs:
            if folder_of(a) != folder_of(b):
                dedges[folder_of(a)].add(folder_of(b))
                why.setdefault((folder_of(a), folder_of(b)), f"{a} -> {b}: {why[(a, b)]}")
    for comp in sccs(sorted(dedges), dedges):
        cyc = cycle_in(comp, dedges)
        hops = " -> ".join(f"{b}/ ({why[(a, b)]})" for a, b in zip(cyc, cyc[1:]))
        errors.append(f"userspace/{cyc[0]}:1: call cycle between folders: {cyc[0]}/ -> {hops}")
    return len(units)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--root', default='userspace')
    ap.add_argument('--objs')
    args = ap.parse_args()
    order, allowed, rank = parse_layers(os.path.join(args.root, 'LAYERS'))
    errors = []
    n_files, n_inc = check_includes(args.root, order, allowed, rank, errors)
    check_readmes(args.root, order, allowed, errors)
    summary = f"{n_files} files, {n_inc} includes between them, {len(order)} layers"
    if args.objs:
        n_obj = check_calls(args.root, args.objs, errors)
        summary += f", calls between {n_obj} objects"
    for e in errors:
        print(e)
    if errors:
        print(f"check-layers: {len(errors)} violation(s) ({summary})", file=sys.stderr)
        return 1
    print(f"check-layers: ok ({summary})")
    return 0


if __name__ == '__main__':
    sys.exit(main())
