# A group of libtorrent (rasterbar 2.0, Debian's python3-libtorrent) Mainline DHT nodes on
# 127.0.0.1 for bench/dht-real.bench.ts. argv[1]: JSON {"count": n, "bootstrap": ["127.0.0.1:port", ...]}.
# Each node binds 127.0.0.1 on a port the OS picks and is told about the others and the bootstrap
# nodes (add_dht_node). Prints {"ports": [...]} once bound, then {"ready": [table sizes]} once every
# table holds min_table nodes (or after 20 s), then {"status": [...]} per stdin line. Exits when stdin
# closes or on SIGTERM. Settings as test/natlab/lt-dht-nodes.py (no public bootstrap, no IP limits).
import json
import signal
import sys
import threading
import time

import libtorrent as lt

cfg = json.loads(sys.argv[1])
count = int(cfg["count"])
bootstrap = [(b.rsplit(":", 1)[0], int(b.rsplit(":", 1)[1])) for b in cfg.get("bootstrap", [])]
min_table = int(cfg.get("min_table", 8))

stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())


def settings():
    return {
        "listen_interfaces": "127.0.0.1:0",
        "enable_dht": True,
        "dht_bootstrap_nodes": "",
        "dht_restrict_routing_ips": False,
        "dht_restrict_search_ips": False,
        "dht_enforce_node_id": False,
        "dht_ignore_dark_internet": False,
        "dht_prefer_verified_node_ids": False,
        "dht_block_ratelimit": 100000,
        "dht_upload_rate_limit": 1000000,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_incoming_tcp": False,
        "enable_outgoing_tcp": False,
        "alert_mask": lt.alert.category_t.dht_notification,
    }


sessions = [lt.session(settings()) for _ in range(count)]
deadline = time.time() + 10
while any(s.listen_port() == 0 for s in sessions) and time.time() < deadline:
    time.sleep(0.05)
ports = [s.listen_port() for s in sessions]
print(json.dumps({"ports": ports}), flush=True)
nodes = [("127.0.0.1", p) for p in ports]


def introduce(i):
    for j, other in enumerate(nodes):
        if j != i:
            sessions[i].add_dht_node(other)
    for b in bootstrap:
        sessions[i].add_dht_node(b)


for i in range(count):
    introduce(i)

sizes = [0] * count
lock = threading.Lock()


def refresh():
    for s in sessions:
        s.post_dht_stats()
    time.sleep(0.02)
    with lock:
        for i, s in enumerate(sessions):
            for a in s.pop_alerts():
                if isinstance(a, lt.dht_stats_alert):
                    sizes[i] = sum(b["num_nodes"] for b in a.routing_table)
        return list(sizes)


def watch_stdin():
    for _ in sys.stdin:
        print(json.dumps({"status": refresh()}), flush=True)
    stop.set()


deadline = time.time() + 20
next_nudge = time.time() + 1
while not stop.is_set():
    now = refresh()
    if all(n >= min_table for n in now) or time.time() > deadline:
        print(json.dumps({"ready": now}), flush=True)
        break
    if time.time() > next_nudge:
        next_nudge = time.time() + 1
        for i, n in enumerate(now):
            if n < min_table:
                introduce(i)
    stop.wait(0.1)

threading.Thread(target=watch_stdin, daemon=True).start()
while not stop.is_set():
    stop.wait(0.5)
for s in sessions:
    s.pause()
