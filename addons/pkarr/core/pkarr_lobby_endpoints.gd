class_name PkarrLobbyEndpoints
extends RefCounted
## How to reach a lobby, read from its decoded records like the sidecar's
## [code]parseEndpoints[/code] (pkarr's endpoints convention): SVCB records at
## [code]_<transport>.<z32>[/code] (priority ≥ 1, with a non-zero [code]port[/code]), ordered by
## priority per transport; target [code].[/code] gives one endpoint per hinted address, or per
## apex A then AAAA when the record has no hint; another target is the host. At most 16
## endpoints, no duplicates. Never fails: unusable records are skipped.

## Most endpoints a reader keeps.
const MAX_ENDPOINTS := 16
const _TRANSPORT_FIRST := "abcdefghijklmnopqrstuvwxyz"
const _TRANSPORT_CHARS := "abcdefghijklmnopqrstuvwxyz0123456789-"


## [code]true[/code] for a transport name: a-z first, then up to 15 of a-z 0-9 -.
static func is_transport(text: String) -> bool:
	if text.length() < 1 or text.length() > 16 or not _TRANSPORT_FIRST.contains(text[0]):
		return false
	for c: String in text:
		if not _TRANSPORT_CHARS.contains(c):
			return false
	return true


## The endpoints of lobby [param z32]: an Array of [code]{"transport", "host", "port"}[/code]
## (plus [code]"alpn"[/code] when the record has one), in the sidecar's order.
static func parse(records: Array, z32: String) -> Array:
	var suffix := "." + z32
	var by_transport := {}
	for record: Dictionary in records:
		var name: String = record.get("name", "")
		if record.get("type") != "SVCB" or not name.ends_with(suffix) or not name.begins_with("_"):
			continue
		var transport := name.substr(1, name.length() - 1 - suffix.length())
		if not is_transport(transport) or record.get("priority", 0) == 0:
			continue
		if not by_transport.has(transport):
			by_transport[transport] = []
		(by_transport[transport] as Array).append(record)
	var apex := apex_addresses(records, z32)
	var out: Array = []
	var seen := {}
	for transport: String in by_transport:
		for record: Dictionary in _by_priority(by_transport[transport]):
			var params: Dictionary = record.get("params", {})
			var port: int = params.get("port", 0)
			if port == 0:
				continue
			var hints := _hints(params)
			var target: String = record.get("target", ".")
			var hosts: Array = [target] if target != "." else hints if not hints.is_empty() else apex
			for host: String in hosts:
				var id := "%s|%s|%d" % [transport, host, port]
				if seen.has(id) or out.size() >= MAX_ENDPOINTS:
					continue
				seen[id] = true
				var endpoint := {"transport": transport, "host": host, "port": port}
				if params.has("alpn"):
					endpoint["alpn"] = (params["alpn"] as Array).duplicate()
				out.append(endpoint)
	return out


## The apex A then AAAA addresses of lobby [param z32].
static func apex_addresses(records: Array, z32: String) -> Array:
	var out: Array = []
	for type: String in ["A", "AAAA"]:
		for record: Dictionary in records:
			if record.get("type") == type and record.get("name") == z32:
				out.append(_canonical(record["address"]))
	return out


## Every address the lobby claims (apex A/AAAA, then SVCB hints), canonical, without duplicates.
static func addresses(records: Array, z32: String) -> Array:
	var out := apex_addresses(records, z32)
	for record: Dictionary in records:
		if record.get("type") == "SVCB":
			for address: String in _hints(record.get("params", {})):
				if not out.has(address):
					out.append(address)
	var unique: Array = []
	for address: String in out:
		if not unique.has(address):
			unique.append(address)
	return unique


static func _hints(params: Dictionary) -> Array:
	var out: Array = []
	for key: String in ["ipv4hint", "ipv6hint"]:
		for address: String in params.get(key, []):
			out.append(_canonical(address))
	return out


static func _canonical(address: String) -> String:
	var text := PkarrIp.canonical(address)
	return address if text == "" else text


## A stable sort by priority (JavaScript's sort is stable; Godot's is not).
static func _by_priority(records: Array) -> Array:
	var out: Array = []
	for record: Dictionary in records:
		var at := out.size()
		while at > 0 and (out[at - 1] as Dictionary)["priority"] > record["priority"]:
			at -= 1
		out.insert(at, record)
	return out
