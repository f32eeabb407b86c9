class_name PkarrRelayParams
extends RefCounted
## The sidecar's first check of a call's by-name params, for the relay backend: a field the method
## does not take (a typo such as [code]republsh[/code]) or a field of the wrong type fails with
## [method PkarrResult.invalid_params] naming the field, as over the sidecar's RPC, instead of being
## ignored or coerced. Each method checks values and ranges itself.

## The fields each method takes: the sidecar's lists, field for field (test/relay-params.test.ts
## compares them with a running sidecar's answers).
const FIELDS := {
	"status": [],
	"keys.generate": ["name"],
	"keys.list": [],
	"keys.import": ["name", "secretKey", "overwrite"],
	"keys.export": ["name"],
	"keys.delete": ["name"],
	"publish": ["key", "records", "republish"],
	"resolve": ["publicKey", "policy"],
	"republish.add": ["publicKey", "key"],
	"republish.remove": ["publicKey"],
	"republish.list": [],
	"shutdown": [],
	"lobby.host": ["key", "game", "gameVersion", "name", "maxPlayers", "players", "port", "transport",
		"servers", "address", "endpoints", "custom", "public", "beacon", "directory", "ttl", "beaconPort",
		"beaconPublicPort", "nat", "map", "punch", "open", "admission", "createKey"],
	"lobby.update": ["key", "players", "maxPlayers", "name", "open", "custom"],
	"lobby.close": ["key", "lingerSeconds"],
	"lobby.hosted": [],
	"lobby.get": ["code", "game", "gameVersion", "allowClosed"],
	"lobby.browse": ["game", "gameVersion", "filters", "sort", "knownKeys", "topic", "directory", "confirm",
		"lan"],
	"lobby.watch": ["game", "gameVersion", "filters", "sort", "knownKeys", "topic", "directory", "confirm",
		"lan", "intervalSeconds"],
	"lobby.refresh": ["watchId"],
	"lobby.unwatch": ["watchId"],
	"lobby.join": ["code", "game", "gameVersion", "transport", "timeoutMs"]
}

## Fields that are strings wherever they appear.
const STRINGS: Array[String] = ["name", "key", "secretKey", "publicKey", "policy", "code", "game",
		"gameVersion", "watchId", "transport", "address", "sort"]
## Fields that are [code]true[/code] or [code]false[/code] wherever they appear.
const BOOLS: Array[String] = ["overwrite", "republish", "allowClosed", "topic", "directory", "confirm",
		"lan", "public", "beacon", "nat", "map", "punch", "open", "admission", "createKey"]
## Fields that are whole numbers wherever they appear (a float such as 8.0 is one; 8.5 is not).
const INTEGERS: Array[String] = ["maxPlayers", "players", "port", "ttl", "beaconPort", "beaconPublicPort",
		"lingerSeconds", "intervalSeconds", "timeoutMs"]


## The failure of [param params] for [param method], or [code]null[/code] when every field is one
## the method takes, of the right type. Methods not listed are not checked here.
static func problem(method: String, params: Dictionary) -> PkarrResult:
	if not FIELDS.has(method):
		return null
	var allowed: Array = FIELDS[method]
	for field: Variant in params:
		var name := str(field).left(64)
		if not field is String or not allowed.has(field):
			return PkarrResult.invalid_params(name, "this method takes no params" if allowed.is_empty()
					else "unknown field %s (expected %s)" % [JSON.stringify(name), ", ".join(allowed)])
		var value: Variant = params[field]
		if STRINGS.has(field) and not value is String:
			return PkarrResult.invalid_params(name, "%s must be a string" % name)
		if BOOLS.has(field) and not value is bool:
			return PkarrResult.invalid_params(name, "%s must be true or false" % name)
		if INTEGERS.has(field) and not is_integer(value):
			return PkarrResult.invalid_params(name, "%s must be an integer" % name)
	return null


## [code]true[/code] for an int, or a float holding a whole number (JSON numbers reach GDScript as
## floats).
static func is_integer(value: Variant) -> bool:
	return value is int or (value is float and is_finite(value) and value == floorf(value))
