# A group of libtorrent (rasterbar 2.0) Mainline DHT nodes in one process: for the NAT lab
# (test/natlab/dht-nodes.ts) and for the DHT benchmark (bench/dht-real.bench.ts).
# argv[1]: JSON with either
#   {"nodes": ["addr:port", ...]}             nodes bound to these addresses (the lab's WAN), or
#   {"count": n, "host": "127.0.0.1"}         n nodes on host, ports picked by the OS; prints
#                                             {"ports": [...]} once bound,
# plus optional "bootstrap": ["addr:port", ...] (other nodes to tell about), "min_table": k and
# "ready_seconds" (default 30). Each node is told about all the others and the bootstrap nodes with
# add_dht_node (not as bootstrap "routers": libtorrent never puts routers into its routing table),
# and no public bootstrap host is configured. Prints {"ready": [table sizes]} once every routing
# table holds min(min_table, (n-1)//2) nodes (or after ready_seconds, with the sizes reached), then
# {"status": [table sizes]} for each line read on stdin. Exits when stdin closes (the caller died) or
# on SIGTERM. Debian's /usr/bin/python3 + python3-libtorrent.
import json
import signal
import sys
import threading
import time

import libtorrent as lt


def address(text):
    host, port = text.rsplit(":", 1)
    return (host, int(port))


cfg = json.loads(sys.argv[1])
bound = [address(n) for n in cfg.get("nodes", [])]
count = len(bound) if bound else int(cfg["count"])
bootstrap = [address(b) for b in cfg.get("bootstrap", [])]
min_table = min(int(cfg.get("min_table", 1)), (count - 1) // 2 + len(bootstrap))
ready_seconds = float(cfg.get("ready_seconds", 30))

stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())


def settings(host, port):
    return {
        "listen_interfaces": f"{host}:{port}",
        "enable_dht": True,
        "dht_bootstrap_nodes": "",
        "dht_restrict_routing_ips": False,
        "dht_restrict_search_ips": False,
        "dht_enforce_node_id": False,
        "dht_ignore_dark_internet": False,
        "dht_prefer_verified_node_ids": False,
        # The lab's NATed hosts share one WAN address per site, and the benchmark's clients all
        # come from 127.0.0.1: no per-IP rate limit may block them.
        "dht_block_ratelimit": 100000,
        "dht_upload_rate_limit": 1000000,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_incoming_tcp": False,
        "enable_outgoing_tcp": False,
        "alert_mask": lt.alert.category_t.dht_notification,
    }


if bound:
    sessions = [lt.session(settings(h, p)) for (h, p) in bound]
    nodes = bound
else:
    host = cfg.get("host", "127.0.0.1")
    sessions = [lt.session(settings(host, 0)) for _ in range(count)]
    deadline = time.time() + 10
    while any(s.listen_port() == 0 for s in sessions) and time.time() < deadline:
        time.sleep(0.05)
    nodes = [(host, s.listen_port()) for s in sessions]
    print(json.dumps({"ports": [p for (_, p) in nodes]}), flush=True)


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


deadline = time.time() + ready_seconds
next_nudge = time.time() + 1
while not stop.is_set():
    now = refresh()
    if all(n >= min_table for n in now) or time.time() > deadline:
        print(json.dumps({"ready": now}), flush=True)
        break
    if time.time() > next_nudge:
        # A node whose first pings were lost (a loaded machine) waits for its next refresh,
        # tens of seconds away: hand it the others again.
        next_nudge = time.time() + 1
        for i, n in enumerate(now):
            if n < min_table:
                introduce(i)
    stop.wait(0.05)

threading.Thread(target=watch_stdin, daemon=True).start()
while not stop.is_set():
    refresh()
    stop.wait(1.0)
for s in sessions:
    s.pause()
