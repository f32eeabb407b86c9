@tool
class_name PkarrStatus
extends RefCounted
## The state of the sidecar, as reported by [code]Pkarr.status()[/code].

## The sidecar's version.
var version: String = ""
## The sidecar's process id.
var pid: int = 0
## The directory holding its keys.
var data_dir: String = ""
## Whether it runs a DHT node.
var dht_enabled: bool = false
## How many DHT nodes its routing table knows.
var dht_nodes: int = 0
## The relays it uses.
var relays: PackedStringArray = PackedStringArray()
## How many keys it holds.
var keys: int = 0
## How many packets it keeps republishing.
var republishing: int = 0
## Seconds since it started.
var uptime_seconds: float = 0.0
## How reachable this machine is for other players (NAT type, public address, port mapping).
var nat: PkarrReachability = PkarrReachability.new()


## Reads the result of the sidecar's [code]status[/code] method.
static func from_dict(data: Dictionary) -> PkarrStatus:
	var status := PkarrStatus.new()
	status.version = PkarrJson.to_text(data.get("version"))
	status.pid = PkarrJson.to_int(data.get("pid"))
	status.data_dir = PkarrJson.to_text(data.get("dataDir"))
	var dht := PkarrJson.to_dict(data.get("dht"))
	status.dht_enabled = PkarrJson.to_bool(dht.get("enabled"))
	status.dht_nodes = PkarrJson.to_int(dht.get("nodes"))
	status.relays = PkarrJson.to_strings(data.get("relays"))
	status.keys = PkarrJson.to_int(data.get("keys"))
	status.republishing = PkarrJson.to_int(data.get("republishing"))
	var uptime: Variant = data.get("uptime")
	status.uptime_seconds = float(uptime) if (uptime is float or uptime is int) else 0.0
	status.nat = PkarrReachability.from_dict(PkarrJson.to_dict(data.get("nat")))
	return status
