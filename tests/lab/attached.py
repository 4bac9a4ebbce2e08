#!/usr/bin/python3
"""attached.py - which BPF programs the kernel runs on an interface, asked
of the kernel itself (not of rempart's pins): XDP from rtnetlink (`ip -j -d
link`), tcx ingress/egress with BPF_PROG_QUERY on the ifindex, cls_bpf
filters from `tc -j filter show`.  Run it in the interface's namespace.

  attached.py IFNAME...   one line per interface:
                          "IFNAME up|down ifindex=N xdp=NAME tc_in=NAME,.. tc_out=NAME,.."
                          ("-" for none; "absent" when there is no such link)
"""
import ctypes
import json
import os
import subprocess
import sys

BPF_PROG_QUERY = 16
BPF_PROG_GET_FD_BY_ID = 13
BPF_OBJ_GET_INFO_BY_FD = 15
BPF_TCX_INGRESS, BPF_TCX_EGRESS = 46, 47
SYS_BPF = {"x86_64": 321, "aarch64": 280}[os.uname().machine]
libc = ctypes.CDLL(None, use_errno=True)


def bpf(cmd, attr):
    buf = ctypes.create_string_buffer(bytes(attr), 160)
    r = libc.syscall(SYS_BPF, cmd, buf, 160)
    return r, buf


def tcx_progs(ifindex, attach_type):
    ids = (ctypes.c_uint32 * 16)()
    # union {target_fd; target_ifindex}, attach_type, query_flags, attach_flags,
    # prog_ids (u64), prog_cnt (u32), pad, ...
    attr = bytearray(160)
    attr[0:4] = ifindex.to_bytes(4, "little")
    attr[4:8] = attach_type.to_bytes(4, "little")
    attr[16:24] = ctypes.addressof(ids).to_bytes(8, "little")
    attr[24:28] = (16).to_bytes(4, "little")
    r, buf = bpf(BPF_PROG_QUERY, attr)
    if r < 0:
        return []  # no tcx here (kernel < 6.6) or nothing attached
    cnt = int.from_bytes(buf.raw[24:28], "little")
    return [prog_name(ids[i]) for i in range(min(cnt, 16))]


def prog_name(pid):
    attr = bytearray(160)
    attr[0:4] = pid.to_bytes(4, "little")
    fd, _ = bpf(BPF_PROG_GET_FD_BY_ID, attr)
    if fd < 0:
        return "id%d" % pid
    info = ctypes.create_string_buffer(256)
    attr = bytearray(160)
    attr[0:4] = fd.to_bytes(4, "little")
    attr[4:8] = (256).to_bytes(4, "little")
    attr[8:16] = ctypes.addressof(info).to_bytes(8, "little")
    r, _ = bpf(BPF_OBJ_GET_INFO_BY_FD, attr)
    os.close(fd)
    if r < 0:
        return "id%d" % pid
    # struct bpf_prog_info: type, id, tag[8], jited_prog_len, xlated_prog_len,
    # jited_prog_insns, xlated_prog_insns, load_time, created_by_uid,
    # nr_map_ids, map_ids, name[16] (offset 64)
    return info.raw[64:80].split(b"\0")[0].decode() or "id%d" % pid


def cls_progs(ifname, where):
    try:
        out = subprocess.run(["tc", "-j", "filter", "show", "dev", ifname, where],
                             capture_output=True, text=True, timeout=5).stdout
        filters = json.loads(out or "[]")
    except (OSError, ValueError, subprocess.SubprocessError):
        return []
    names = []
    for f in filters:
        opts = f.get("options") or {}
        if f.get("kind") == "bpf" and opts.get("bpf_name"):
            names.append(opts["bpf_name"].split(":")[0])
        elif f.get("kind") == "bpf" and opts.get("prog", {}).get("name"):
            names.append(opts["prog"]["name"])
    return names


def show(ifname):
    out = subprocess.run(["ip", "-j", "-d", "link", "show", "dev", ifname],
                         capture_output=True, text=True).stdout
    try:
        link = json.loads(out)[0]
    except (ValueError, IndexError):
        return "%s absent" % ifname
    ifindex = link["ifindex"]
    up = "up" if "UP" in link.get("flags", []) else "down"
    xdp = link.get("xdp", {}).get("prog", {}).get("name") or "-"
    if xdp == "-" and link.get("xdp", {}).get("prog", {}).get("id"):
        xdp = prog_name(link["xdp"]["prog"]["id"])
    tin = tcx_progs(ifindex, BPF_TCX_INGRESS) + cls_progs(ifname, "ingress")
    tout = tcx_progs(ifindex, BPF_TCX_EGRESS) + cls_progs(ifname, "egress")
    return "%s %s ifindex=%d xdp=%s tc_in=%s tc_out=%s" % (
        ifname, up, ifindex, xdp, ",".join(tin) or "-", ",".join(tout) or "-")


if __name__ == "__main__":
    for name in sys.argv[1:]:
        print(show(name))
