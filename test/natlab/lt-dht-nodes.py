# A group of libtorrent (rasterbar 2.0) Mainline DHT nodes in one process, for the NAT lab.
# argv[1]: JSON {"nodes": ["addr:port", ...], "min_table": k}. Each node is told about all the
# others with add_dht_node (not as bootstrap "routers": libtorrent never puts routers into its
# routing table), and no public bootstrap host is configured. Prints one JSON line
# {"ready": [table sizes]} once every routing table holds min(min_table, (n-1)//2) nodes (or after 30 s, with
# the sizes reached), then {"status": [table sizes]} for each line read on stdin. Exits when stdin
# closes (the lab dies with its parent) or on SIGTERM. Debian's /usr/bin/python3 + python3-libtorrent.
import json
import signal
import sys
import threading
import time

import libtorrent as lt

cfg = json.loads(sys.argv[1])
nodes = [(n.rsplit(":", 1)[0], int(n.rsplit(":", 1)[1])) for n in cfg["nodes"]]
min_table = min(int(cfg.get("min_table", 1)), (len(nodes) - 1) // 2)

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
        # The lab's NATed hosts share one WAN address per site: no per-IP rate limit may block them.
        "dht_block_ratelimit": 100000,
        "dht_upload_rate_limit": 1000000,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "alert_mask": lt.alert.category_t.dht_notification,
    }


sessions = [lt.session(settings(h, p)) for (h, p) in nodes]
for i, s in enumerate(sessions):
    for j, other in enumerate(nodes):
        if j != i:
            s.add_dht_node(other)

sizes = [0] * len(sessions)
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


deadline = time.time() + 30
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
                for j, other in enumerate(nodes):
                    if j != i:
                        sessions[i].add_dht_node(other)
    stop.wait(0.05)

threading.Thread(target=watch_stdin, daemon=True).start()
while not stop.is_set():
    refresh()
    stop.wait(1.0)
for s in sessions:
    s.pause()
