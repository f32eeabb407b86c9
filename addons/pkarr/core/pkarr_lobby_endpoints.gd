class_name PkarrLobbyEndpoints
extends RefCounted
## How to reach a lobby, written and read like the sidecar's [code]encodeEndpoints[/code] /
## [code]parseEndpoints[/code] (pkarr's endpoints convention). Writing: per endpoint an SVCB
## record at [code]_<transport>[/code] (priority counting up per transport, [code]alpn[/code],
## [code]port[/code] and an address hint, target [code].[/code]; a domain host becomes the target
## instead), plus apex A/AAAA records for the addresses. Reading: SVCB records at
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


## The records (publish JSON) of [param endpoints] (each [code]{"transport", "host", "port",
## "alpn"?}[/code]) with [param ttl]: apex A/AAAA first, then the SVCB records. Failure:
## [code]INVALID_ARGUMENT[/code] naming the endpoint and the problem.
static func encode(endpoints: Variant, ttl: int) -> PkarrResult:
	if not endpoints is Array:
		return _invalid("endpoints must be a list")
	if (endpoints as Array).size() > MAX_ENDPOINTS:
		return _invalid("a lobby lists at most %d endpoints, got %d" % [MAX_ENDPOINTS, (endpoints as Array).size()])
	for i: int in (endpoints as Array).size():
		var problem := _endpoint_problem(endpoints[i])
		if problem != "":
			return _invalid("endpoint %d%s" % [i, problem])
	var apex: Array = []
	var services: Array = []
	var priorities := {}
	for endpoint: Dictionary in endpoints:
		var transport: String = endpoint["transport"]
		priorities[transport] = int(priorities.get(transport, 0)) + 1
		var ip := PkarrIp.canonical(endpoint["host"])
		var params := {}
		if endpoint.has("alpn"):
			params["alpn"] = (endpoint["alpn"] as Array).duplicate()
		params["port"] = int(endpoint["port"])
		if ip != "":
			var v4 := not PkarrIp.parse_ipv4(ip).is_empty()
			params["ipv4hint" if v4 else "ipv6hint"] = [ip]
			var seen := false
			for r: Dictionary in apex:
				seen = seen or r["address"] == ip
			if not seen:
				apex.append({"type": "A" if v4 else "AAAA", "name": "@", "ttl": ttl, "address": ip})
		services.append({"type": "SVCB", "name": "_" + transport, "ttl": ttl, "priority": priorities[transport],
				"target": "." if ip != "" else (endpoint["host"] as String).to_lower(), "params": params})
	return PkarrResult.success(apex + services)


## Why an endpoint is invalid (": ..." to append to its name), or "".
static func _endpoint_problem(endpoint: Variant) -> String:
	if not endpoint is Dictionary:
		return " must be an object"
	var e: Dictionary = endpoint
	var transport: Variant = e.get("transport")
	if not transport is String or not is_transport(transport) or transport == "lobby":
		return ": invalid transport %s (expected 1-16 characters a-z 0-9 -, starting with a letter, e.g. enet or ws)" % JSON.stringify(transport)
	var host: Variant = e.get("host")
	if not host is String or (PkarrIp.canonical(host) == "" and not _is_domain(host)):
		return ": invalid host %s (expected an IPv4/IPv6 address or a domain name)" % JSON.stringify(host)
	var port := PkarrDnsInput.integer(e.get("port"), 65535)
	if port < 1:
		return ": invalid port %s (expected 1-65535)" % JSON.stringify(e.get("port"))
	if e.has("alpn"):
		var alpn: Variant = e["alpn"]
		var ok: bool = alpn is Array and not (alpn as Array).is_empty()
		if ok:
			for id: Variant in alpn:
				ok = ok and id is String and _is_alpn_id(id)
		if not ok:
			return ": alpn must be a non-empty list of 1-64 printable ASCII characters each"
	return ""


static func _is_alpn_id(id: String) -> bool:
	if id.length() < 1 or id.length() > 64:
		return false
	for i: int in id.length():
		var c := id.unicode_at(i)
		if c < 0x21 or c > 0x7E:
			return false
	return true


## A domain name: 1-253 characters, labels of 1-63 letters, digits and inner hyphens.
static func _is_domain(host: String) -> bool:
	if host.length() < 1 or host.length() > 253:
		return false
	for label: String in host.split("."):
		if label.length() < 1 or label.length() > 63 or label.begins_with("-") or label.ends_with("-"):
			return false
		for i: int in label.length():
			var c := label.unicode_at(i) | 0x20
			if not ((c >= 0x61 and c <= 0x7A) or (label.unicode_at(i) >= 0x30 and label.unicode_at(i) <= 0x39) or label[i] == "-"):
				return false
	return true


static func _invalid(message: String) -> PkarrResult:
	return PkarrResult.failure(PkarrResult.INVALID_ARGUMENT, message)


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
