class_name PkarrRelayLobbyFilters
extends RefCounted
## The [code]filters[/code] and [code]sort[/code] of [code]lobby.browse[/code] /
## [code]lobby.watch[/code] for the relay backend, on lobby JSON (docs/rpc.md), with the
## sidecar's rules (sidecar/src/lobby/lobby-filters.ts): [code]openOnly[/code] (default true),
## [code]notFull[/code], [code]minPlayers[/code], [code]maxPlayers[/code],
## [code]nameContains[/code] (case-insensitive), [code]transport[/code], [code]custom[/code]
## ([code]{key: "value"}[/code] exact, or [code]{key: {min?, max?}}[/code] numeric); sorts
## [code]players[/code] (default), [code]freeSlots[/code], [code]newest[/code], [code]name[/code],
## ties by name then key.

## Accepted sorts.
const SORTS: Array[String] = ["players", "freeSlots", "newest", "name"]
const _FIELDS: Array[String] = ["notFull", "openOnly", "minPlayers", "maxPlayers", "nameContains",
		"transport", "custom"]


## Why [param filters] cannot be used ("" when they can).
static func problem(filters: Variant) -> String:
	if filters == null:
		return ""
	if not filters is Dictionary:
		return "filters must be an object"
	for key: Variant in filters:
		if not _FIELDS.has(str(key)):
			return "unknown filter %s (expected %s)" % [JSON.stringify(str(key).left(64)), ", ".join(_FIELDS)]
	var custom: Variant = (filters as Dictionary).get("custom", {})
	if not custom is Dictionary:
		return "custom must be an object"
	return ""


## [code]true[/code] when [param lobby] passes every filter.
static func matches(lobby: Dictionary, filters: Dictionary) -> bool:
	var players := int(lobby.get("players", 0))
	if bool(filters.get("openOnly", true)) and not bool(lobby.get("open", false)):
		return false
	if bool(filters.get("notFull", false)) and players >= int(lobby.get("maxPlayers", 0)):
		return false
	if filters.has("minPlayers") and players < int(filters["minPlayers"]):
		return false
	if filters.has("maxPlayers") and players > int(filters["maxPlayers"]):
		return false
	if filters.has("nameContains") \
			and not str(lobby.get("name", "")).to_lower().contains(str(filters["nameContains"]).to_lower()):
		return false
	if filters.has("transport"):
		var offered := false
		for endpoint: Variant in lobby.get("endpoints", []):
			offered = offered or (endpoint is Dictionary and endpoint.get("transport") == filters["transport"])
		if not offered:
			return false
	var custom: Dictionary = lobby.get("custom", {})
	var wanted: Dictionary = filters.get("custom", {})
	for key: Variant in wanted:
		if not custom.has(key):
			return false
		var value := str(custom[key])
		var condition: Variant = wanted[key]
		if condition is Dictionary:
			if not value.strip_edges().is_valid_float():
				return false
			var n := value.to_float()
			if condition.has("min") and n < float(condition["min"]):
				return false
			if condition.has("max") and n > float(condition["max"]):
				return false
		elif value != str(condition):
			return false
	return true


## [param lobbies] that pass [param filters], ordered by [param sort] (a new Array).
static func select(lobbies: Array, filters: Dictionary, sort: String = "players") -> Array:
	var kept := lobbies.filter(func(lobby: Dictionary) -> bool: return matches(lobby, filters))
	kept.sort_custom(func(a: Dictionary, b: Dictionary) -> bool: return _before(a, b, sort))
	return kept


static func _before(a: Dictionary, b: Dictionary, sort: String) -> bool:
	var ka: int = 0
	var kb: int = 0
	match sort:
		"players":
			ka = int(a["players"])
			kb = int(b["players"])
		"freeSlots":
			ka = int(a["maxPlayers"]) - int(a["players"])
			kb = int(b["maxPlayers"]) - int(b["players"])
		"newest":
			ka = int(str(a["timestamp"]))
			kb = int(str(b["timestamp"]))
	if ka != kb:
		return ka > kb
	var na := str(a["name"])
	var nb := str(b["name"])
	if na.nocasecmp_to(nb) != 0:
		return na.nocasecmp_to(nb) < 0
	return str(a["publicKey"]) < str(b["publicKey"])
