@tool
class_name PkarrLobbyEndpoint
extends RefCounted
## One way to reach a lobby's game server: a transport, a host and a port.
##
## A lobby lists its endpoints as SVCB records ([code]_enet[/code], [code]_ws[/code], ...); the
## sidecar reads them back into [code]{transport, host, port, alpn?}[/code], which this class
## holds. Pick one with [method PkarrLobby.get_endpoint] and connect your
## [MultiplayerPeer] to it:
## [codeblock]
## var enet: PkarrLobbyEndpoint = lobby.get_endpoint("enet")
## if enet != null:
##     var peer := ENetMultiplayerPeer.new()
##     peer.create_client(enet.host, enet.port)
## [/codeblock]

## The transport name, e.g. [code]"enet"[/code] or [code]"ws"[/code].
var transport: String = ""
## An IP address (IPv4 or IPv6) or a domain name.
var host: String = ""
## The port, 1-65535.
var port: int = 0
## Application protocol ids published with the endpoint (often empty).
var alpn: PackedStringArray = PackedStringArray()


## An endpoint from its parts.
static func create(endpoint_transport: String, endpoint_host: String,
		endpoint_port: int) -> PkarrLobbyEndpoint:
	var endpoint := PkarrLobbyEndpoint.new()
	endpoint.transport = endpoint_transport
	endpoint.host = endpoint_host
	endpoint.port = endpoint_port
	return endpoint


## Reads the sidecar's JSON shape [code]{transport, host, port, alpn?}[/code].
static func from_dict(data: Dictionary) -> PkarrLobbyEndpoint:
	var endpoint := PkarrLobbyEndpoint.new()
	endpoint.transport = PkarrJson.to_text(data.get("transport"))
	endpoint.host = PkarrJson.to_text(data.get("host"))
	endpoint.port = PkarrJson.to_int(data.get("port"))
	endpoint.alpn = PkarrJson.to_strings(data.get("alpn"))
	return endpoint


## The JSON shape the sidecar accepts in [code]lobby.host[/code]'s [code]endpoints[/code].
func to_dict() -> Dictionary:
	var data := {"transport": transport, "host": host, "port": port}
	if not alpn.is_empty():
		data["alpn"] = Array(alpn)
	return data


## [code]host:port[/code], with IPv6 addresses in brackets.
func get_address() -> String:
	if host.contains(":"):
		return "[%s]:%d" % [host, port]
	return "%s:%d" % [host, port]


## A URL for the endpoint, e.g. [code]enet://203.0.113.7:7777[/code] or
## [code]ws://203.0.113.7:8080[/code].
func to_url() -> String:
	return "%s://%s" % [transport, get_address()]


## Same as [method to_url].
func _to_string() -> String:
	return to_url()
