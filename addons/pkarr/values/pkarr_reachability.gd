@tool
class_name PkarrReachability
extends RefCounted
## How reachable this machine is for players on the internet, like a console's "NAT type".
##
## The sidecar finds it with no server: DHT nodes report the public address they see its game
## socket at (BEP42), the ports they report are compared, and a router port mapping (UPnP IGD,
## NAT-PMP, PCP) counts when one was made. Read it from [member PkarrStatus.nat]:
## [codeblock]
## var status: PkarrResult = await Pkarr.status()
## if status.is_ok():
##     var nat: PkarrReachability = status.value.nat
##     $NatLabel.text = "NAT: %s (%s)" % [nat.nat_type, nat.description]
## [/codeblock]

## Reachable as it is (no NAT, or a port forwarded by hand).
const PUBLIC := "public"
## The router mapped a port for us ([member mapping_protocol] says how).
const MAPPED := "mapped"
## Behind a cone NAT: players reach this machine through hole punching.
const CONE := "cone"
## Behind a symmetric NAT: hole punching works only with public or mapped players.
const SYMMETRIC := "symmetric"
## Not determined yet (no DHT node reported an address).
const UNKNOWN := "unknown"
## Every kind, in order from most to least reachable.
const KINDS: Array[String] = [PUBLIC, MAPPED, CONE, SYMMETRIC, UNKNOWN]

## One of [constant PUBLIC], [constant MAPPED], [constant CONE], [constant SYMMETRIC],
## [constant UNKNOWN].
var reachability: String = UNKNOWN
## The console-style summary: [code]"open"[/code], [code]"moderate"[/code],
## [code]"strict"[/code] or [code]"unknown"[/code].
var nat_type: String = "unknown"
## [code]true[/code] when players behind cone NATs can reach this machine by hole punching.
var punchable: bool = false
## The public address of the game socket ([code]"ip:port"[/code]), empty when unknown.
var public_address: String = ""
## How many DHT nodes agreed on [member public_address].
var voters: int = 0
## The router protocol that mapped the port ([code]"upnp"[/code], [code]"nat-pmp"[/code],
## [code]"pcp"[/code]), empty without a mapping.
var mapping_protocol: String = ""
## The mapped external address ([code]"ip:port"[/code]), empty without a mapping.
var mapping_address: String = ""
## One sentence for players: what this means and what they can do.
var description: String = ""


## Reads the [code]nat[/code] part of the sidecar's [code]status[/code] result; an absent or
## malformed part gives [constant UNKNOWN].
static func from_dict(data: Dictionary) -> PkarrReachability:
	var nat := PkarrReachability.new()
	var kind := PkarrJson.to_text(data.get("reachability"), UNKNOWN)
	nat.reachability = kind if kind in KINDS else UNKNOWN
	var summary := PkarrJson.to_text(data.get("natType"), "unknown")
	nat.nat_type = summary if summary in ["open", "moderate", "strict"] else "unknown"
	nat.punchable = PkarrJson.to_bool(data.get("punchable"))
	nat.public_address = PkarrJson.to_text(data.get("publicAddress"))
	nat.voters = PkarrJson.to_int(data.get("voters"))
	var mapping := PkarrJson.to_dict(data.get("mapping"))
	nat.mapping_protocol = PkarrJson.to_text(mapping.get("protocol"))
	var host := PkarrJson.to_text(mapping.get("externalHost"))
	var port := PkarrJson.to_int(mapping.get("externalPort"))
	nat.mapping_address = "%s:%d" % [host, port] if host != "" and port > 0 else ""
	nat.description = PkarrJson.to_text(data.get("description"))
	return nat


## [code]true[/code] when players anywhere can connect without hole punching.
func is_open() -> bool:
	return reachability == PUBLIC or reachability == MAPPED
