# User-space delay and loss for the NAT lab's core router (this kernel has no tc netem).
# Runs in the core namespace; argv[1] = TUN device name. Policy routing (delay.ts) sends every
# packet the core forwards into this TUN; each packet is held for delay(src) + delay(dst) ms and
# dropped with probability 1 - (1-loss(src))(1-loss(dst)), then written back to the TUN, where
# the kernel routes it on by the main table. Rules come on stdin, one JSON line each:
# {"rules": [{"net": "11.77.16.0/24", "delay_ms": 40, "loss": 0.01}, ...]} (replaces all rules);
# each line is answered {"ok": n} on stdout. Prints {"ready": true} once the TUN is open.
# Exits when stdin closes or on SIGTERM. Debian's /usr/bin/python3, standard library only.
import fcntl
import heapq
import ipaddress
import json
import os
import random
import select
import signal
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000

name = sys.argv[1]
fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))

rules = []  # (network int, mask int, delay seconds, loss)
stats = {"forwarded": 0, "dropped": 0}
running = True


def stop(*_):
    global running
    running = False


signal.signal(signal.SIGTERM, stop)


def set_rules(spec):
    out = []
    for r in spec:
        net = ipaddress.ip_network(r["net"], strict=False)
        out.append((int(net.network_address), int(net.netmask), float(r.get("delay_ms", 0)) / 1000.0, float(r.get("loss", 0))))
    # Most specific first.
    out.sort(key=lambda x: -bin(x[1]).count("1"))
    return out


def restore_ttl(pkt):
    # The kernel decremented the TTL when it routed the packet into the TUN and will again when
    # it routes it on: give one back so that the core costs one hop, with or without delay.
    ttl = pkt[8]
    if ttl >= 255:
        return pkt
    ihl = (pkt[0] & 0x0F) * 4
    header = bytearray(pkt[:ihl])
    header[8] = ttl + 1
    header[10:12] = b"\x00\x00"
    total = 0
    for i in range(0, ihl, 2):
        total += (header[i] << 8) | header[i + 1]
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    header[10:12] = (~total & 0xFFFF).to_bytes(2, "big")
    return bytes(header) + pkt[ihl:]


def lookup(addr):
    for net, mask, delay, loss in rules:
        if addr & mask == net:
            return delay, loss
    return 0.0, 0.0


print(json.dumps({"ready": True}), flush=True)
queue = []  # (release time, seq, packet)
seq = 0
stdin_fd = sys.stdin.fileno()
buf = b""
while running:
    timeout = max(0.0, queue[0][0] - time.monotonic()) if queue else 0.5
    readable, _, _ = select.select([fd, stdin_fd], [], [], timeout)
    if stdin_fd in readable:
        chunk = os.read(stdin_fd, 65536)
        if not chunk:
            break
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            if line.strip():
                msg = json.loads(line)
                if "rules" in msg:
                    rules = set_rules(msg["rules"])
                print(json.dumps({"ok": len(rules), "stats": stats}), flush=True)
    if fd in readable:
        for _ in range(256):
            try:
                pkt = os.read(fd, 65535)
            except BlockingIOError:
                break
            if len(pkt) < 20 or pkt[0] >> 4 != 4:
                os.write(fd, pkt)
                continue
            pkt = restore_ttl(pkt)
            src = int.from_bytes(pkt[12:16], "big")
            dst = int.from_bytes(pkt[16:20], "big")
            d1, l1 = lookup(src)
            d2, l2 = lookup(dst)
            loss = 1 - (1 - l1) * (1 - l2)
            if loss > 0 and random.random() < loss:
                stats["dropped"] += 1
                continue
            delay = d1 + d2
            if delay <= 0 and not queue:
                os.write(fd, pkt)
                stats["forwarded"] += 1
                continue
            seq += 1
            heapq.heappush(queue, (time.monotonic() + delay, seq, pkt))
    now = time.monotonic()
    while queue and queue[0][0] <= now:
        _, _, pkt = heapq.heappop(queue)
        try:
            os.write(fd, pkt)
            stats["forwarded"] += 1
        except OSError:
            stats["dropped"] += 1
