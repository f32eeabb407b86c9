class_name PkarrLobbyWriter
extends RefCounted
## Writes a lobby record like the sidecar's [code]encodeLobby[/code] / [code]signLobby[/code]
## (docs/lobby.md), so a game without the sidecar can host: the [code]_lobby[/code] TXT
## attributes, then the endpoints ([method PkarrLobbyEndpoints.encode]). The lobby is a
## Dictionary with the sidecar's LobbyInfo fields: [code]game gameVersion name players maxPlayers
## open endpoints[/code], optional [code]custom beaconPort reach admission ttl[/code]. Everything
## is validated first ([code]INVALID_ARGUMENT[/code] with the reason, nothing clamped).

const DEFAULT_TTL := 60
const MAX_ATTRIBUTE_BYTES := 255


## The records (publish JSON) of [param lobby]. Failure: [code]INVALID_ARGUMENT[/code].
static func encode(lobby: Variant) -> PkarrResult:
	if not lobby is Dictionary:
		return _invalid("a lobby must be an object")
	var info: Dictionary = lobby
	var problem := _problem(info)
	if problem != "":
		return _invalid(problem)
	var ttl := int(info.get("ttl", DEFAULT_TTL))
	var attributes: Array = [
		["v", PkarrLobbyRecord.SCHEMA_VERSION], ["game", info["game"]], ["gv", info["gameVersion"]],
		["name", info["name"]], ["players", str(int(info["players"]))], ["max", str(int(info["maxPlayers"]))],
		["open", "1" if info["open"] else "0"],
	]
	if info.has("beaconPort"):
		attributes.append(["beacon", str(int(info["beaconPort"]))])
	if info.has("reach"):
		attributes.append(["reach", info["reach"]])
	if info.get("admission", false) == true:
		attributes.append(["admit", "1"])
	for key: String in _js_key_order(info.get("custom", {})):
		attributes.append([PkarrLobbyRecord.CUSTOM_PREFIX + key, info["custom"][key]])
	var strings: Array = []
	for pair: Array in attributes:
		var text := "%s=%s" % [pair[0], pair[1]]
		var size := PkarrBytes.utf8(text).size()
		if not PkarrLobbyRecord.is_attribute_key(pair[0]):
			return _invalid("invalid lobby key %s: expected 1-32 characters from a-z 0-9 _ -" % JSON.stringify(pair[0]))
		if size > MAX_ATTRIBUTE_BYTES:
			return PkarrResult.failure(PkarrResult.INVALID_ARGUMENT, "lobby value of %s is too long: \"%s=…\" is %d bytes, %d over the %d-byte TXT string limit"
					% [pair[0], pair[0], size, size - MAX_ATTRIBUTE_BYTES, MAX_ATTRIBUTE_BYTES], {"key": pair[0], "size": size, "limit": MAX_ATTRIBUTE_BYTES})
		strings.append(text)
	var endpoints := PkarrLobbyEndpoints.encode(info["endpoints"], ttl)
	if not endpoints.is_ok():
		return endpoints
	var records: Array = [{"type": "TXT", "name": PkarrLobbyRecord.RECORD_NAME, "ttl": ttl, "strings": strings}]
	return PkarrResult.success(records + (endpoints.value as Array))


## The DNS message of [param lobby] for the host key [param z32] (sign it, then publish). Over
## the 1000-byte limit: [code]PACKET_TOO_LARGE[/code] with [code]lobbyError = LOBBY_TOO_LARGE[/code].
static func encode_dns(lobby: Variant, z32: String) -> PkarrResult:
	var records := encode(lobby)
	if not records.is_ok():
		return records
	var dns := PkarrSignedPacket.encode_dns(records.value, z32)
	if dns.error_code == PkarrResult.PACKET_TOO_LARGE:
		var size: int = dns.error_data.get("size", 0)
		return PkarrResult.failure(PkarrResult.PACKET_TOO_LARGE, "lobby record is %d bytes, %d over the %d-byte limit: shorten name or custom data"
				% [size, size - PkarrSignedPacket.MAX_DNS_BYTES, PkarrSignedPacket.MAX_DNS_BYTES],
				{"size": size, "limit": PkarrSignedPacket.MAX_DNS_BYTES, "lobbyError": "LOBBY_TOO_LARGE"})
	return dns


## Why the lobby's fields are invalid, or "" (the sidecar's checks, in its order).
static func _problem(info: Dictionary) -> String:
	var game: Variant = info.get("game")
	var version: Variant = info.get("gameVersion")
	if not game is String or not PkarrLobbyRecord.is_game_id(game):
		return "invalid game id %s (1-64 characters from A-Z a-z 0-9 . _ -)" % JSON.stringify(game)
	if not version is String or not PkarrLobbyRecord.is_game_version(version):
		return "invalid game version %s (1-32 characters from A-Z a-z 0-9 . _ + -)" % JSON.stringify(version)
	if not info.get("name") is String:
		return "name must be a string"
	var name_problem := PkarrLobbyRecord.name_problem(info["name"])
	if name_problem != "":
		return name_problem
	var max_players := PkarrDnsInput.integer(info.get("maxPlayers"), PkarrLobbyRecord.MAX_PLAYERS)
	if max_players < 1:
		return "invalid max players %s (1-%d)" % [JSON.stringify(info.get("maxPlayers")), PkarrLobbyRecord.MAX_PLAYERS]
	var players := PkarrDnsInput.integer(info.get("players"), max_players)
	if players < 0:
		return "invalid player count %s (0-%d, at most max players)" % [JSON.stringify(info.get("players")), max_players]
	if not info.get("open") is bool:
		return "open must be true or false"
	if info.has("beaconPort") and PkarrDnsInput.integer(info["beaconPort"], 65535) < 1:
		return "invalid beacon port %s" % JSON.stringify(info["beaconPort"])
	if info.has("admission") and not info["admission"] is bool:
		return "admission must be true or false"
	if info.has("reach") and not (info["reach"] is String and PkarrLobbyRecord.NAT_TYPES.has(info["reach"])):
		return "invalid reach %s (%s)" % [JSON.stringify(info["reach"]), ", ".join(PkarrLobbyRecord.NAT_TYPES)]
	var custom: Variant = info.get("custom", {})
	if not custom is Dictionary:
		return "custom must be an object"
	for key: Variant in custom:
		if not key is String or not PkarrLobbyRecord.is_custom_key(key):
			return "invalid custom key %s (1-30 characters from a-z 0-9 _ -)" % JSON.stringify(key)
		if not custom[key] is String:
			return "custom value of %s must be a string" % key
	if info.has("ttl") and PkarrDnsInput.integer(info["ttl"], 3600) < 10:
		return "invalid lobby TTL %s (10-3600 seconds)" % JSON.stringify(info["ttl"])
	return ""


## The keys of [param custom] in JavaScript's property order: array-index keys ascending, then
## the others in insertion order (what the sidecar's Object.entries gives).
static func _js_key_order(custom: Dictionary) -> Array:
	var indexes: Array = []
	var others: Array = []
	for key: String in custom:
		var index := key.length() <= 10 and key.is_valid_int() and (key == "0" or not key.begins_with("0")) \
				and not key.begins_with("+") and not key.begins_with("-") and key.to_int() < 4294967295
		if index:
			indexes.append(key)
		else:
			others.append(key)
	indexes.sort_custom(func(a: String, b: String) -> bool: return a.to_int() < b.to_int())
	return indexes + others


static func _invalid(message: String) -> PkarrResult:
	return PkarrResult.failure(PkarrResult.INVALID_ARGUMENT, message)
