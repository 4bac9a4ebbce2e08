#!/usr/bin/python3
"""labnet.py - the lab's traffic tools (Debian's /usr/bin/python3; scapy only
for the packet-shape senders).

  serve NAME LOG --tcp P,P --udp P,P   answer "NAME\n" on every port, IPv4 and
                                       IPv6; log "proto src sport dport" lines
  probe tcp|udp HOST PORT [--src A] [--timeout S]
                                       print what answered (the responder's
                                       NAME) or "timeout"/"refused"/"error: ..";
                                       exit 0 only when something answered
  shape KIND --iface IF --dst-mac M --src A --dst B [--dport N] [--count N]
                                       send one odd-shaped frame (see SHAPES)
  stream udp HOST PORT --sport N --until FILE [--interval S] [--src A]
                                       send a datagram every S seconds (0.005)
                                       until FILE exists; print how many
  raw tcp|udp --src A --dst B --sport S --dport D [--flags F] [--hosts N]
      [--ports N] [--count N] [--pairs] IPv4 through a raw socket, routed as
                                       the namespace routes it (no scapy):
                                       --hosts/--ports sweep dst and dport
                                       upwards from --dst/--dport (N x N
                                       packets, --count rounds)
"""
import argparse
import os
import socket
import sys
import threading
import time


def log_line(path, lock, text):
    with lock:
        with open(path, "a") as f:
            f.write(text + "\n")


def serve_tcp(name, port, logpath, lock):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port))
    s.listen(64)
    while True:
        c, addr = s.accept()
        try:
            src = addr[0].removeprefix("::ffff:")
            log_line(logpath, lock, "tcp %s %d %d" % (src, addr[1], port))
            c.sendall((name + "\n").encode())
        except OSError:
            pass
        finally:
            c.close()


def sender_port(data, port):
    """The source port the lab's sender says it used ("lab ... PORT" in the
    payload), which NAT on the way may have changed; else the one seen."""
    words = data.split(b"\n", 1)[0].split()
    if len(words) >= 3 and words[0] == b"lab" and words[-1].isdigit():
        return int(words[-1])
    return port


def serve_udp(name, port, logpath, lock):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port))
    while True:
        data, addr = s.recvfrom(4096)
        src = addr[0].removeprefix("::ffff:")
        log_line(logpath, lock, "udp %s %d %d" % (src, sender_port(data, addr[1]), port))
        try:
            s.sendto((name + "\n").encode(), addr)
        except OSError:
            pass


def ports(text):
    return [int(p) for p in text.split(",") if p] if text else []


def cmd_serve(a):
    lock = threading.Lock()
    open(a.log, "a").close()
    threads = []
    for p in ports(a.tcp):
        threads.append(threading.Thread(target=serve_tcp, args=(a.name, p, a.log, lock), daemon=True))
    for p in ports(a.udp):
        threads.append(threading.Thread(target=serve_udp, args=(a.name, p, a.log, lock), daemon=True))
    for t in threads:
        t.start()
    # readiness: the caller waits for this line in the log
    log_line(a.log, lock, "ready")
    for t in threads:
        t.join()
    return 0


def cmd_probe(a):
    fam = socket.AF_INET6 if ":" in a.host else socket.AF_INET
    kind = socket.SOCK_STREAM if a.proto == "tcp" else socket.SOCK_DGRAM
    s = socket.socket(fam, kind)
    s.settimeout(a.timeout)
    try:
        if a.src:
            s.setsockopt(socket.SOL_IP, 19, 1)  # IP_FREEBIND: spoofed sources
            if fam == socket.AF_INET6:
                s.setsockopt(socket.IPPROTO_IPV6, 78, 1)  # IPV6_FREEBIND
            s.bind((a.src, a.sport))
        elif a.sport:
            s.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", a.sport))
        if a.proto == "tcp":
            s.connect((a.host, a.port))
            data = s.recv(256)
        else:
            # the port in the payload: the responder logs it even when NAT
            # changed the packet's (sender_port)
            s.sendto(b"lab probe %d\n" % a.sport if a.sport else b"lab probe\n", (a.host, a.port))
            data, _ = s.recvfrom(256)
        print(data.decode(errors="replace").strip() or "empty")
        return 0
    except socket.timeout:
        print("timeout")
    except ConnectionRefusedError:
        print("refused")
    except OSError as e:
        print("error: %s" % (e.strerror or e))
    finally:
        s.close()
    return 1


def cmd_stream(a):
    """A steady trickle of datagrams from one source port, so that a test
    can count in the receiver's log whether any got through in any window
    (e.g. while the gateway is being reconfigured or torn down)."""
    fam = socket.AF_INET6 if ":" in a.host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    if a.src:
        s.setsockopt(socket.SOL_IP, 19, 1)  # IP_FREEBIND: a spoofed source
        if fam == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, 78, 1)  # IPV6_FREEBIND
    s.bind((a.src or ("::" if fam == socket.AF_INET6 else "0.0.0.0"), a.sport))
    n = 0
    while not os.path.exists(a.until):
        try:
            # the port last: the responder logs it (sender_port)
            s.sendto(b"lab stream %d %d\n" % (n, a.sport), (a.host, a.port))
            n += 1
        except OSError:
            pass  # no route for a moment: keep trying
        time.sleep(a.interval)
    print(n)
    return 0


# Packet shapes (docs/policy.md "Parsing").  Each builds one or more frames with scapy
# and sends them on --iface at L2 towards --dst-mac.
def cmd_shape(a):
    import logging
    logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
    from scapy.all import (Ether, Dot1Q, Dot1AD, IP, IPv6, UDP, TCP, ICMP,
                           IPOption_NOP, IPOption_RR, IPv6ExtHdrHopByHop,
                           IPv6ExtHdrDestOpt, IPv6ExtHdrRouting,
                           IPv6ExtHdrFragment, Raw, fragment, sendp,
                           get_if_hwaddr)
    v6 = ":" in a.dst
    payload = Raw(b"lab shape %s %d\n" % (a.kind.encode(), a.sport))
    eth = Ether(src=get_if_hwaddr(a.iface), dst=a.dst_mac)
    l3 = IPv6(src=a.src, dst=a.dst) if v6 else IP(src=a.src, dst=a.dst)
    l4 = UDP(sport=a.sport, dport=a.dport)
    frames = []
    k = a.kind
    if k == "plain":
        frames = [eth / l3 / l4 / payload]
    elif k == "ipopts":  # IPv4 with options (NOP + record route)
        frames = [eth / IP(src=a.src, dst=a.dst, options=[IPOption_NOP(), IPOption_RR()]) / l4 / payload]
    elif k == "ext":  # IPv6 hop-by-hop + destination options + routing(type 0, no segments left)
        frames = [eth / l3 / IPv6ExtHdrHopByHop() / IPv6ExtHdrDestOpt() / l4 / payload]
    elif k == "ext7":  # 7 extension headers: more than RP_MAX_IPV6_EXT
        h = IPv6ExtHdrHopByHop()
        for _ in range(6):
            h = h / IPv6ExtHdrDestOpt()
        frames = [eth / l3 / h / l4 / payload]
    elif k == "vlan":  # an 802.1Q tag on an untagged attachment
        frames = [eth / Dot1Q(vlan=a.vlan) / l3 / l4 / payload]
    elif k == "qinq":
        frames = [eth / Dot1AD(vlan=a.vlan) / Dot1Q(vlan=a.vlan) / l3 / l4 / payload]
    elif k in ("frags", "frag-later-only", "frag-first-only"):
        # the port first (sender_port: NAT to a share changes the seen one)
        big = l4 / Raw(b"lab shape %s %d\n" % (k.encode(), a.sport) + b"x" * 1200)
        if v6:
            fid = 0x1234 + a.sport
            full = bytes(IPv6(src=a.src, dst=a.dst) / big)[40:]  # UDP with its checksum
            first = eth / IPv6(src=a.src, dst=a.dst) / IPv6ExtHdrFragment(id=fid, m=1, offset=0, nh=17) / Raw(full[:608])
            later = eth / IPv6(src=a.src, dst=a.dst) / IPv6ExtHdrFragment(id=fid, m=0, offset=608 // 8, nh=17) / Raw(full[608:])
            parts = [first, later]
        else:
            ipp = IP(src=a.src, dst=a.dst, id=0x1234 + a.sport) / big
            parts = [eth / f for f in fragment(ipp, fragsize=600)]
        if k == "frags":
            frames = parts
        elif k == "frag-later-only":
            frames = parts[1:]
        else:
            frames = parts[:1]
    elif k == "trunc":  # IPv4/IPv6 header cut short
        raw = bytes(l3 / l4 / payload)
        frames = [eth / Raw(raw[:14])]
        frames[0].type = 0x86DD if v6 else 0x0800
    elif k == "tcp-syn":
        frames = [eth / l3 / TCP(sport=a.sport, dport=a.dport, flags="S")]
    elif k == "icmp":
        frames = [eth / l3 / ICMP()]
    elif k == "icmperr":  # --src tells --dst "fragmentation needed" (v6: packet
        # too big) about the UDP packet --dst sent from --sport to --src:--dport
        from scapy.all import ICMPv6PacketTooBig
        if v6:
            quoted = IPv6(src=a.dst, dst=a.src, hlim=63) / UDP(sport=a.sport, dport=a.dport)
            frames = [eth / l3 / ICMPv6PacketTooBig(mtu=1280) / quoted]
        else:
            quoted = IP(src=a.dst, dst=a.src, ttl=63) / UDP(sport=a.sport, dport=a.dport)
            frames = [eth / l3 / ICMP(type=3, code=4, nexthopmtu=1280) / quoted]
    elif k == "nd":  # neighbour/router discovery or redirect (ICMPv6 133-137), hop limit 255
        from scapy.all import (ICMPv6ND_RS, ICMPv6ND_RA, ICMPv6ND_NS, ICMPv6ND_NA,
                               ICMPv6ND_Redirect)
        body = {133: ICMPv6ND_RS(), 134: ICMPv6ND_RA(), 135: ICMPv6ND_NS(tgt=a.dst),
                136: ICMPv6ND_NA(tgt=a.src, R=0, S=0, O=1),
                137: ICMPv6ND_Redirect(tgt=a.src, dst=a.dst)}[a.icmp_type]
        frames = [eth / IPv6(src=a.src, dst=a.dst, hlim=255) / body]
    else:
        print("unknown shape %s" % k, file=sys.stderr)
        return 1
    for _ in range(a.count):
        sendp(frames, iface=a.iface, verbose=False)
    print("sent %d frame(s) of %s" % (len(frames) * a.count, k))
    return 0


def csum(data):
    if len(data) % 2:
        data += b"\0"
    t = sum(int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2))
    while t >> 16:
        t = (t & 0xffff) + (t >> 16)
    return ~t & 0xffff


def cmd_raw(a):
    import struct
    src = socket.inet_aton(a.src)
    base = int.from_bytes(socket.inet_aton(a.dst), "big")
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    flags = {"S": 0x02, "A": 0x10, "SA": 0x12, "R": 0x04, "F": 0x01, "PA": 0x18}.get(a.flags, 0x10)
    sent = 0
    # --pairs: ports j, j+1, j, j+1: each flow seen twice, the second time
    # not right after itself (a state table that notes the last flow still
    # looks it up)
    order = [j + d for j in range(0, a.ports - 1, 2) for d in (0, 1, 0, 1)] if a.pairs else range(a.ports)
    for _ in range(a.count):
        for h in range(a.hosts):
            dst = (base + h).to_bytes(4, "big")
            for j in order:
                dport = (a.dport + j - 1) % 65535 + 1
                if a.proto == "udp":
                    l4 = struct.pack("!HHHH", a.sport, dport, 8 + 4, 0) + b"lab!"
                    proto = 17
                else:
                    hdr = struct.pack("!HHIIBBHHH", a.sport, dport, 1, 0, 5 << 4, flags, 8192, 0, 0)
                    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(hdr))
                    c = csum(pseudo + hdr)
                    l4 = hdr[:16] + struct.pack("!H", c) + hdr[18:]
                    proto = 6
                ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 0, 0, 64, proto, 0, src, dst)
                ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
                try:
                    s.sendto(ip + l4, (socket.inet_ntoa(dst), 0))
                    sent += 1
                except OSError:
                    pass
    print("sent %d" % sent)
    return 0


# shaper SOCK: a long-lived sender (scapy is imported once) in the namespace;
# `shape --via SOCK ...` hands it one request and waits for its answer.
def cmd_shaper(a):
    import contextlib
    import io
    import json
    try:
        os.unlink(a.sock)
    except FileNotFoundError:
        pass
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(a.sock)
    os.chmod(a.sock, 0o600)
    import logging
    logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
    import scapy.all  # noqa: F401  (the import is the slow part: do it once)
    print("ready", flush=True)
    while True:
        data, peer = s.recvfrom(65536)
        argv = json.loads(data)
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                rc = cmd_shape(shape_parser().parse_args(argv))
        except Exception as e:  # report, keep serving
            rc, out = 1, io.StringIO("error: %s" % e)
        try:
            s.sendto(json.dumps([rc, out.getvalue()]).encode(), peer)
        except OSError:
            pass


def shape_via(a, argv):
    import json
    import tempfile
    c = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    me = tempfile.mktemp(prefix="labnet-", dir=os.path.dirname(a.via))
    c.bind(me)
    try:
        c.settimeout(30)
        c.sendto(json.dumps(argv).encode(), a.via)
        rc, out = json.loads(c.recv(65536))
        print(out, end="")
        return rc
    finally:
        c.close()
        os.unlink(me)


def shape_parser():
    s = argparse.ArgumentParser(prog="labnet.py shape")
    s.add_argument("kind")
    s.add_argument("--iface", required=True)
    s.add_argument("--dst-mac", required=True)
    s.add_argument("--src", required=True)
    s.add_argument("--dst", required=True)
    s.add_argument("--sport", type=int, default=40000)
    s.add_argument("--dport", type=int, default=53)
    s.add_argument("--vlan", type=int, default=999)
    s.add_argument("--count", type=int, default=1)
    s.add_argument("--icmp-type", type=int, default=135)
    s.add_argument("--via")
    return s


def main():
    p = argparse.ArgumentParser(prog="labnet.py")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("name")
    s.add_argument("log")
    s.add_argument("--tcp", default="")
    s.add_argument("--udp", default="")
    s = sub.add_parser("probe")
    s.add_argument("proto", choices=["tcp", "udp"])
    s.add_argument("host")
    s.add_argument("port", type=int)
    s.add_argument("--src")
    s.add_argument("--sport", type=int, default=0)
    s.add_argument("--timeout", type=float, default=1.5)
    s = sub.add_parser("stream")
    s.add_argument("proto", choices=["udp"])
    s.add_argument("host")
    s.add_argument("port", type=int)
    s.add_argument("--sport", type=int, required=True)
    s.add_argument("--until", required=True)
    s.add_argument("--interval", type=float, default=0.005)
    s.add_argument("--src")
    sub.add_parser("shape", add_help=False)
    s = sub.add_parser("raw")
    s.add_argument("proto", choices=["tcp", "udp"])
    s.add_argument("--src", required=True)
    s.add_argument("--dst", required=True)
    s.add_argument("--sport", type=int, required=True)
    s.add_argument("--dport", type=int, required=True)
    s.add_argument("--flags", default="A")
    s.add_argument("--hosts", type=int, default=1)
    s.add_argument("--ports", type=int, default=1)
    s.add_argument("--count", type=int, default=1)
    s.add_argument("--pairs", action="store_true")
    s = sub.add_parser("shaper")
    s.add_argument("sock")
    if len(sys.argv) > 1 and sys.argv[1] == "shape":
        a = shape_parser().parse_args(sys.argv[2:])
        if a.via:
            argv = [x for i, x in enumerate(sys.argv[2:]) if x != "--via" and (i == 0 or sys.argv[2:][i - 1] != "--via")]
            return shape_via(a, argv)
        return cmd_shape(a)
    a = p.parse_args()
    return {"serve": cmd_serve, "probe": cmd_probe, "shaper": cmd_shaper,
            "stream": cmd_stream, "raw": cmd_raw}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
